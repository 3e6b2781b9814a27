/*-------------------------------------------------------------------------
 *
 * pg_structure.c
 *	  The PostgreSQL source's structures of a table (structure.h): what
 *	  pg_dump would recreate of a copied table after its data, read from
 *	  the source's catalogs (its types and what is not copied of its
 *	  schemas: pg_schema.c).
 *
 *	  index				pg_get_indexdef (partial, expression, GIN / GiST /
 *						BRIN / hash, INCLUDE, operator classes, collations),
 *						on the target's name
 *	  check, exclusion	pg_get_constraintdef; a check NOT VALID, then
 *	  foreign key		validated; a foreign key on the referenced table's
 *						target name, when the task copies that table
 *	  default			pg_get_expr; nextval of a sequence of the table on
 *						its target name
 *	  identity			GENERATED ... AS IDENTITY with the sequence's
 *						options, restarted past the data
 *	  sequence			owned by or used in a default: CREATE SEQUENCE with
 *						its options, OWNED BY; its last_value / is_called
 *						set last (sequence_value)
 *	  generated column	ADD COLUMN ... GENERATED ALWAYS AS (...) STORED: the
 *						target computes it
 *	  comment			of the table and its columns
 *
 * The source's text (an index or constraint definition, a default) is
 * parsed by the target's parser: a definition must be one statement of
 * the expected kind, its table name is replaced at the parser's location
 * by the target's, and structure.c checks the result again.  A table with
 * columns renamed or left out (col_map, ignore_cols) gets none of what
 * names its columns in an expression: those are listed as not copied.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include "catalog/namespace.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"

#include "name_filter.h"
#include "pg_internal.h"
#include "sink.h"
#include "structure.h"
#include "table_rule.h"


/*
 * Secondary indexes: name, definition, unique, key column names (NULL for
 * an expression part), partial, has an expression, valid; the indexes of
 * constraints (primary key, unique, exclusion) are made with those.
 */
static const char *const indexes_sql =
"SELECT ci.relname, pg_catalog.pg_get_indexdef(i.indexrelid), i.indisunique,"
"       (SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord)"
"          FROM pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY k(attnum, ord)"
"          LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid"
"               AND a.attnum OPERATOR(pg_catalog.=) k.attnum"
"         WHERE k.ord OPERATOR(pg_catalog.<=) i.indnkeyatts)::pg_catalog.text[],"
"       i.indpred IS NOT NULL OR i.indexprs IS NOT NULL,"
"       i.indisvalid,"
"       EXISTS (SELECT 1 FROM pg_catalog.pg_constraint co"
"                WHERE co.conindid OPERATOR(pg_catalog.=) i.indexrelid"
"                  AND co.conrelid OPERATOR(pg_catalog.=) i.indrelid"
"                  AND co.contype IN ('p', 'x')),"
"       i.indnkeyatts OPERATOR(pg_catalog.<) i.indnatts"
"  FROM pg_catalog.pg_index i"
"  JOIN pg_catalog.pg_class ci ON ci.oid OPERATOR(pg_catalog.=) i.indexrelid"
" WHERE i.indrelid OPERATOR(pg_catalog.=) " PG_TABLE_OID
" ORDER BY ci.relname COLLATE \"C\"";

/* Check, foreign-key and exclusion constraints. */
static const char *const constraints_sql =
"SELECT co.conname, co.contype, pg_catalog.pg_get_constraintdef(co.oid), co.convalidated,"
"       fn.nspname, fc.relname,"
"       (SELECT pg_catalog.array_agg(a.attname) FROM pg_catalog.unnest(co.confkey) k(attnum)"
"          JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) co.confrelid"
"               AND a.attnum OPERATOR(pg_catalog.=) k.attnum)::pg_catalog.text[]"
"  FROM pg_catalog.pg_constraint co"
"  LEFT JOIN pg_catalog.pg_class fc ON fc.oid OPERATOR(pg_catalog.=) co.confrelid"
"  LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid OPERATOR(pg_catalog.=) fc.relnamespace"
" WHERE co.conrelid OPERATOR(pg_catalog.=) " PG_TABLE_OID
"   AND co.contype IN ('c', 'f', 'x') AND co.conislocal"
" ORDER BY co.conname COLLATE \"C\"";

/*
 * Columns: name, identity, generated, default expression, comment, type,
 * and the sequence the column owns (serial, identity) or its default uses:
 * schema, name, owned, type, start, increment, min, max, cache, cycle,
 * last_value (NULL: never called, or not readable), readable.
 */
static const char *const columns_sql =
"SELECT a.attname, a.attidentity, a.attgenerated,"
"       pg_catalog.pg_get_expr(d.adbin, d.adrelid),"
"       pg_catalog.col_description(a.attrelid, a.attnum),"
"       pg_catalog.format_type(a.atttypid, a.atttypmod),"
"       sn.nspname, sc.relname, sq.owned,"
"       pg_catalog.format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin,"
"       s.seqmax, s.seqcache, s.seqcycle, ps.last_value,"
"       sq.seq IS NOT NULL AND pg_catalog.has_sequence_privilege(sq.seq, 'SELECT,USAGE')"
"  FROM pg_catalog.pg_attribute a"
"  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid OPERATOR(pg_catalog.=) a.attrelid"
"       AND d.adnum OPERATOR(pg_catalog.=) a.attnum"
"  LEFT JOIN LATERAL ("
"       SELECT dep.objid AS seq, true AS owned FROM pg_catalog.pg_depend dep"
"        WHERE dep.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
"          AND dep.refobjid OPERATOR(pg_catalog.=) a.attrelid"
"          AND dep.refobjsubid OPERATOR(pg_catalog.=) a.attnum"
"          AND dep.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
"          AND dep.deptype IN ('a', 'i')"
"          AND EXISTS (SELECT 1 FROM pg_catalog.pg_sequence q WHERE q.seqrelid OPERATOR(pg_catalog.=) dep.objid)"
"       UNION ALL"
"       SELECT dep.refobjid, false FROM pg_catalog.pg_depend dep"
"        WHERE dep.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass"
"          AND dep.objid OPERATOR(pg_catalog.=) d.oid"
"          AND dep.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
"          AND EXISTS (SELECT 1 FROM pg_catalog.pg_sequence q WHERE q.seqrelid OPERATOR(pg_catalog.=) dep.refobjid)"
"       ORDER BY 2 DESC LIMIT 1) sq ON true"
"  LEFT JOIN pg_catalog.pg_sequence s ON s.seqrelid OPERATOR(pg_catalog.=) sq.seq"
"  LEFT JOIN pg_catalog.pg_class sc ON sc.oid OPERATOR(pg_catalog.=) sq.seq"
"  LEFT JOIN pg_catalog.pg_namespace sn ON sn.oid OPERATOR(pg_catalog.=) sc.relnamespace"
"  LEFT JOIN pg_catalog.pg_sequences ps ON ps.schemaname OPERATOR(pg_catalog.=) sn.nspname"
"       AND ps.sequencename OPERATOR(pg_catalog.=) sc.relname"
" WHERE a.attrelid OPERATOR(pg_catalog.=) " PG_TABLE_OID
"   AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped"
" ORDER BY a.attnum";

static const char *const table_comment_sql =
"SELECT pg_catalog.obj_description(" PG_TABLE_OID ", 'pg_class')";

/* A result of nfields columns, as asked (else PQgetvalue could return NULL). */
void
pg_check_fields(Source *s, PGresult *res, int nfields, const char *what)
{
	if (PQnfields(res) != nfields)
	{
		pg_clear_result(s);
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("PostgreSQL server \"%s\" answered a query of the %s with %d columns, not %d",
						s->server, what, PQnfields(res), nfields)));
	}
}

/* Run a catalog query of the table; the caller reads and clears s->res. */
PGresult *
pg_table_query(Source *s, const SourceTable *t, const char *sql, const char *what, int nfields)
{
	const char *params[2] = {t->schema, t->tb};
	PGresult   *res = pg_run_query(s, sql, 2, params, PGRES_TUPLES_OK,
								   psprintf("reading the %s of table \"%s\".\"%s\"", what,
											t->schema, t->tb));

	pg_check_fields(s, res, nfields, what);
	return res;
}

char *
pg_value_or_null(PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? NULL : pstrdup(PQgetvalue(res, r, c));
}

/*
 * Does the task rename or leave out a column of t?  Then an expression of
 * the source names columns the target does not have.
 */
static bool
table_columns_changed(const TaskConfig *config, const SourceTable *t)
{
	const TableRule *rule = table_rule_find(config->filter.table_rules, t->schema, t->tb);

	return rule != NULL && (rule->ignore_cols != NIL || rule->col_map != NIL);
}

/* A text[] of the source (its output form) as a List of char *, NULLs as NULL. */
List *
pg_text_array_items(const char *text)
{
	List	   *items = NIL;
	const char *p = text;

	if (text == NULL || *p++ != '{')
		return NIL;
	while (*p && *p != '}')
	{
		StringInfoData item;
		bool		quoted = *p == '"';

		initStringInfo(&item);
		if (quoted)
		{
			for (p++; *p && *p != '"'; p++)
			{
				if (*p == '\\' && p[1])
					p++;
				appendStringInfoChar(&item, *p);
			}
			if (*p == '"')
				p++;
			items = lappend(items, item.data);
		}
		else
		{
			while (*p && *p != ',' && *p != '}')
				appendStringInfoChar(&item, *p++);
			items = lappend(items, strcmp(item.data, "NULL") == 0 ? NULL : item.data);
		}
		if (*p == ',')
			p++;
	}
	return items;
}

/* Are cols (target names) the columns of a key the table was created with? */
static bool
is_created_key(const SourceTable *t, List *cols)
{
	ListCell   *lc;

	foreach(lc, t->unique_keys)
	{
		List	   *key = lfirst(lc);
		ListCell   *a,
				   *b;
		bool		same = list_length(key) == list_length(cols);

		if (!same)
			continue;
		forboth(a, key, b, cols)
		{
			int			i = lfirst(b) ? source_column_index(t, lfirst(b)) : -1;

			if (i < 0 || strcmp(lfirst(a), source_column_target(&t->columns[i])) != 0)
				same = false;
		}
		if (same)
			return true;
	}
	return false;
}

/* The source's CREATE INDEX on the target table, or NULL with *why. */
static char *
retarget_index(const char *def, const SourceTable *t, const char *dst_schema,
			   const char *dst_tb, char **why)
{
	List	   *stmts;
	IndexStmt  *ix;
	char	   *sql;

	stmts = pg_parse_query(def);
	if (list_length(stmts) != 1 || !IsA(linitial_node(RawStmt, stmts)->stmt, IndexStmt))
	{
		*why = "its definition is not one CREATE INDEX";
		return NULL;
	}
	ix = (IndexStmt *) linitial_node(RawStmt, stmts)->stmt;
	sql = structure_splice(def, ix->relation->location, quote_qualified_identifier(t->schema, t->tb),
						   quote_qualified_identifier(dst_schema, dst_tb));
	if (sql == NULL)
		*why = "its definition does not name the table as expected";
	return sql;
}

static List *
plan_indexes(Source *s, const SourceTable *t, const TaskConfig *config,
			 const char *dst_schema, const char *dst_tb)
{
	PGresult   *res = pg_table_query(s, t, indexes_sql, "indexes", 8);
	List	   *defs = NIL;
	bool		changed = table_columns_changed(config, t);

	for (int r = 0; r < PQntuples(res); r++)
	{
		char	   *name = PQgetvalue(res, r, 0);
		char	   *def = PQgetvalue(res, r, 1);
		bool		unique = strcmp(PQgetvalue(res, r, 2), "t") == 0;
		List	   *cols = pg_text_array_items(pg_value_or_null(res, r, 3));
		bool		expr = strcmp(PQgetvalue(res, r, 4), "t") == 0;
		bool		valid = strcmp(PQgetvalue(res, r, 5), "t") == 0;
		bool		of_constraint = strcmp(PQgetvalue(res, r, 6), "t") == 0;
		char	   *why = NULL;
		char	   *ddl;
		ListCell   *lc;

		/* a primary key or an exclusion constraint makes its own index */
		if (of_constraint)
			continue;
		/* the keys the table was created with (sink.c) */
		if (unique && !expr && is_created_key(t, cols))
			continue;
		if (!valid)
		{
			defs = lappend(defs, structure_not_copied("index", name, STRUCT_INDEX,
													  "the index is not valid at the source (a failed CREATE INDEX CONCURRENTLY)", def));
			continue;
		}
		foreach(lc, cols)
			if (lfirst(lc) != NULL && source_column_index(t, lfirst(lc)) < 0)
				why = psprintf("column \"%s\" of the index is not copied", (char *) lfirst(lc));
		if (why == NULL && changed)
			why = "the table's columns are renamed or left out (col_map, ignore_cols): its definition names the source's";
		ddl = why ? NULL : retarget_index(def, t, dst_schema, dst_tb, &why);
		if (ddl == NULL)
			defs = lappend(defs, structure_not_copied("index", name, STRUCT_INDEX, why, def));
		else
			defs = lappend(defs, structure_new("index", name, STRUCT_PHASE_TABLE, STRUCT_INDEX, ddl));
	}
	pg_clear_result(s);
	return defs;
}

/* sql, adding a foreign key, with the referenced table's target name; NULL with *why. */
static char *
retarget_foreign_key(const char *sql, const char *ref_schema, const char *ref_tb,
					 const TaskConfig *config, char **why)
{
	List	   *stmts = pg_parse_query(sql);
	AlterTableStmt *alter;
	AlterTableCmd *cmd;
	Constraint *con;
	char	   *dst_schema;
	char	   *dst_tb;
	char	   *out;

	if (list_length(stmts) != 1 || !IsA(linitial_node(RawStmt, stmts)->stmt, AlterTableStmt))
	{
		*why = "its definition does not parse as one constraint";
		return NULL;
	}
	alter = (AlterTableStmt *) linitial_node(RawStmt, stmts)->stmt;
	if (list_length(alter->cmds) != 1)
	{
		*why = "its definition does not parse as one constraint";
		return NULL;
	}
	cmd = linitial_node(AlterTableCmd, alter->cmds);
	if (cmd->subtype != AT_AddConstraint || !IsA(cmd->def, Constraint) ||
		((Constraint *) cmd->def)->contype != CONSTR_FOREIGN)
	{
		*why = "its definition is not a foreign key";
		return NULL;
	}
	con = (Constraint *) cmd->def;
	name_filter_route(&config->filter, ref_schema, ref_tb, &dst_schema, &dst_tb);
	out = structure_splice(sql, con->pktable->location, quote_qualified_identifier(ref_schema, ref_tb),
						   quote_qualified_identifier(dst_schema, dst_tb));
	if (out == NULL)
		*why = "its definition does not name the referenced table as expected";
	return out;
}

static List *
plan_constraints(Source *s, const SourceTable *t, const TaskConfig *config,
				 const char *dst_schema, const char *dst_tb)
{
	PGresult   *res = pg_table_query(s, t, constraints_sql, "constraints", 7);
	List	   *defs = NIL;
	bool		changed = table_columns_changed(config, t);

	for (int r = 0; r < PQntuples(res); r++)
	{
		char	   *name = pstrdup(PQgetvalue(res, r, 0));
		char		type = PQgetvalue(res, r, 1)[0];
		char	   *def = pstrdup(PQgetvalue(res, r, 2));
		bool		validated = strcmp(PQgetvalue(res, r, 3), "t") == 0;
		char	   *ref_schema = pg_value_or_null(res, r, 4);
		char	   *ref_tb = pg_value_or_null(res, r, 5);
		const char *kind = type == 'c' ? "check" : type == 'f' ? "foreign_key" : "exclusion";
		char	   *sql = structure_constraint_ddl(dst_schema, dst_tb, name, def);
		char	   *why = NULL;
		char	   *ddl = NULL;
		StructureDef *d;

		if (changed)
			why = "the table's columns are renamed or left out (col_map, ignore_cols): its definition names the source's";
		else if (type == 'f' && (ref_schema == NULL || ref_tb == NULL))
			why = "the referenced table is not known";
		else if (type == 'f' && !name_filter_wants_table(&config->filter, ref_schema, ref_tb))
			why = psprintf("it references table \"%s\".\"%s\", which the task does not copy",
						   ref_schema, ref_tb);
		else if (type == 'f')
			ddl = retarget_foreign_key(sql, ref_schema, ref_tb, config, &why);
		else
			ddl = sql;
		if (ddl == NULL)
		{
			defs = lappend(defs, structure_not_copied(kind, name, STRUCT_CONSTRAINT, why, def));
			continue;
		}
		/* checked row by row after the data: added NOT VALID, then validated */
		if (type != 'x' && validated)
			ddl = structure_validated(ddl, dst_schema, dst_tb, name);
		d = structure_new(kind, name, type == 'f' ? STRUCT_PHASE_REFS : STRUCT_PHASE_TABLE,
						  STRUCT_CONSTRAINT, ddl);
		if (type == 'f')
		{
			d->ref_schema = ref_schema;
			d->ref_tb = ref_tb;
		}
		defs = lappend(defs, d);
	}
	pg_clear_result(s);
	return defs;
}

typedef struct TypeSql
{
	const char *type;
	const char *column;
	char	   *sql;
} TypeSql;

static void
type_sql(void *arg)
{
	TypeSql    *t = arg;

	t->sql = sink_type_sql(t->type, t->column);
}

/* A column type as sink_type_sql makes it, or NULL with *why (the target lacks it, say). */
static char *
type_sql_or_why(const char *type, const char *column, char **why)
{
	TypeSql		t = {type, column, NULL};
	char	   *msg;

	if (!structure_try(type_sql, &t, &msg))
	{
		*why = psprintf("its type %s: %s", type, msg);
		return NULL;
	}
	return t.sql;
}

/* An integer of the source's catalog: digits and a sign only. */
static const char *
number(PGresult *res, int r, int c)
{
	const char *v = PQgetvalue(res, r, c);

	if (PQgetisnull(res, r, c) || v[0] == '\0' || strspn(v, "-0123456789") != strlen(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("the source's catalog holds \"%s\" where a number belongs", v)));
	return v;
}

/*
 * A sequence's options, from columns 9 (type) .. 15 (cycle); an
 * identity's sequence takes its type from its column.
 */
static char *
sequence_options(PGresult *res, int r, const char *column, bool with_type)
{
	return psprintf("%s%s INCREMENT BY %s MINVALUE %s MAXVALUE %s START WITH %s CACHE %s %sCYCLE",
					with_type ? "AS " : "",
					with_type ? sink_type_sql(PQgetvalue(res, r, 9), column) : "", number(res, r, 11),
					number(res, r, 12), number(res, r, 13), number(res, r, 10),
					number(res, r, 14), strcmp(PQgetvalue(res, r, 15), "t") == 0 ? "" : "NO ");
}

static List *
plan_columns(Source *s, const SourceTable *t, const TaskConfig *config,
			 const char *dst_schema, const char *dst_tb)
{
	PGresult   *res = pg_table_query(s, t, columns_sql, "column defaults", 18);
	List	   *defs = NIL;
	char	   *tname = quote_qualified_identifier(dst_schema, dst_tb);
	bool		changed = table_columns_changed(config, t);

	for (int r = 0; r < PQntuples(res); r++)
	{
		char	   *col = pstrdup(PQgetvalue(res, r, 0));
		char		identity = PQgetvalue(res, r, 1)[0];
		char		generated = PQgetvalue(res, r, 2)[0];
		char	   *expr = pg_value_or_null(res, r, 3);
		char	   *comment = pg_value_or_null(res, r, 4);
		char	   *seq_schema = pg_value_or_null(res, r, 6);
		char	   *seq_name = pg_value_or_null(res, r, 7);
		bool		owned = !PQgetisnull(res, r, 8) && strcmp(PQgetvalue(res, r, 8), "t") == 0;
		int			i = source_column_index(t, col);
		const char *qcol;
		char	   *dst_seq = NULL;
		StructureDef *d;

		if (generated == 's')
		{
			char	   *why = changed ? "the table's columns are renamed or left out (col_map, ignore_cols): its expression names the source's" : NULL;
			char	   *type = why ? NULL : type_sql_or_why(PQgetvalue(res, r, 5), col, &why);

			/* part of the table: whatever do_structures says */
			if (why == NULL)
				defs = lappend(defs, structure_new("generated", col, STRUCT_PHASE_TABLE, 0,
												   psprintf("ALTER TABLE %s ADD COLUMN %s %s GENERATED ALWAYS AS (%s) STORED",
															tname, quote_identifier(col), type, expr)));
			else
				defs = lappend(defs, structure_not_copied("generated", col, 0, why, expr));
			if (comment != NULL && why == NULL)
				defs = lappend(defs, structure_comment(dst_schema, dst_tb, t->tb, col, col, comment));
			continue;
		}
		if (i < 0)
			continue;			/* not copied (ignore_cols) */
		qcol = quote_identifier(source_column_target(&t->columns[i]));
		/* a collation the target lacks: the column was made without it (sink.c) */
		if (t->columns[i].collation_name &&
			!OidIsValid(get_collation_oid(list_make2(makeString(t->columns[i].collation_schema),
													 makeString(t->columns[i].collation_name)), true)))
			defs = lappend(defs, structure_not_copied("collation", col, 0,
													  psprintf("collation %s.%s is not at the target: the column has its type's default",
															   quote_identifier(t->columns[i].collation_schema),
															   quote_identifier(t->columns[i].collation_name)),
													  NULL));

		if (seq_name != NULL)
		{
			bool		readable = strcmp(PQgetvalue(res, r, 17), "t") == 0;
			bool		called = readable && !PQgetisnull(res, r, 16);
			const char *value = !readable ? "" : called ? number(res, r, 16) : number(res, r, 10);
			bool		seen = false;
			ListCell   *lc;

			/* in the table's schema, as the table's own */
			dst_seq = quote_qualified_identifier(dst_schema, seq_name);
			foreach(lc, defs)
				if (((StructureDef *) lfirst(lc))->sequence &&
					strcmp(((StructureDef *) lfirst(lc))->sequence, seq_name) == 0)
					seen = true;
			/* a sequence of the column's default: made with the table (structure.c) */
			if (identity == '\0' && !seen)
			{
				d = structure_new("sequence", seq_name, STRUCT_PHASE_TABLE, STRUCT_SEQUENCE,
								  owned ? psprintf("CREATE SEQUENCE %s %s;\nALTER SEQUENCE %s OWNED BY %s.%s",
												   dst_seq, sequence_options(res, r, col, true), dst_seq, tname, qcol)
								  : psprintf("CREATE SEQUENCE %s %s", dst_seq, sequence_options(res, r, col, true)));
				d->sequence = seq_name;
				defs = lappend(defs, d);
			}
			/*
			 * Its value (an identity's too), last: the source's when the
			 * source role may read it, and past the data of the column it
			 * belongs to.
			 */
			if (!seen)
			{
				d = structure_new("sequence_value", seq_name, STRUCT_PHASE_LAST, STRUCT_SEQUENCE,
								  readable ? psprintf("SELECT pg_catalog.setval(%s, %s, %s) -- or past the column's data",
													  quote_literal_cstr(dst_seq), value, called ? "true" : "false")
								  : psprintf("SELECT pg_catalog.setval(%s, <past the column's data>) -- the source role may not read the sequence",
											 quote_literal_cstr(dst_seq)));
				d->sequence = seq_name;
				d->args = list_make5(dst_seq, pstrdup(value), pstrdup(called ? "t" : "f"),
									 owned ? pstrdup(source_column_target(&t->columns[i])) : pstrdup(""),
									 pstrdup(number(res, r, 11)));
				defs = lappend(defs, d);
			}
		}
		if (identity == 'a' || identity == 'd')
		{
			if (seq_name == NULL)
				defs = lappend(defs, structure_not_copied("identity", col, STRUCT_SEQUENCE,
														  "the identity's sequence could not be read", NULL));
			else
				defs = lappend(defs, structure_new("identity", col, STRUCT_PHASE_TABLE, STRUCT_SEQUENCE,
												   psprintf("ALTER TABLE %s ALTER COLUMN %s ADD GENERATED %s AS IDENTITY (SEQUENCE NAME %s%s)",
															tname, qcol, identity == 'a' ? "ALWAYS" : "BY DEFAULT",
															dst_seq, sequence_options(res, r, col, false))));
		}
		else if (expr != NULL)
		{
			char	   *ddl = NULL;
			char	   *why = NULL;
			bool		uses_seq = false;

			/* nextval of the column's sequence: on its target name */
			if (seq_name && strcmp(expr, psprintf("nextval(%s::regclass)",
												  quote_literal_cstr(quote_qualified_identifier(seq_schema, seq_name)))) == 0)
			{
				ddl = psprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT pg_catalog.nextval(%s::pg_catalog.regclass)",
							   tname, qcol, quote_literal_cstr(dst_seq));
				uses_seq = true;
			}
			else if (changed)
				why = "the table's columns are renamed or left out (col_map, ignore_cols): its expression may name the source's";
			else if (strcmp(t->columns[i].source_type, t->columns[i].pg_type) != 0 &&
					 strcmp(t->columns[i].source_type, "money") != 0)
				why = psprintf("the column's type %s is copied as %s: the default is one of the source's type",
							   t->columns[i].source_type, t->columns[i].pg_type);
			else if (seq_name)
				why = "it uses a sequence in an expression ape_resume does not rewrite";
			else
				ddl = psprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s", tname, qcol, expr);
			if (ddl)
			{
				/* nextval needs the sequence too */
				d = structure_new("default", col, STRUCT_PHASE_TABLE,
								  uses_seq ? STRUCT_DEFAULT | STRUCT_SEQUENCE : STRUCT_DEFAULT, ddl);
				d->sequence = uses_seq ? seq_name : NULL;
				defs = lappend(defs, d);
			}
			else
				defs = lappend(defs, structure_not_copied("default", col, STRUCT_DEFAULT, why, expr));
		}
		if (comment != NULL)
			defs = lappend(defs, structure_comment(dst_schema, dst_tb, t->tb, col,
												   source_column_target(&t->columns[i]), comment));
	}
	pg_clear_result(s);

	res = pg_table_query(s, t, table_comment_sql, "comment", 1);
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		defs = lappend(defs, structure_comment(dst_schema, dst_tb, t->tb, NULL, NULL,
											   PQgetvalue(res, 0, 0)));
	pg_clear_result(s);
	return defs;
}

List *
pg_source_list_structures(Source *s, const SourceTable *t, const TaskConfig *config,
						  const char *dst_schema, const char *dst_tb)
{
	List	   *defs = NIL;

	defs = list_concat(defs, plan_columns(s, t, config, dst_schema, dst_tb));
	defs = list_concat(defs, plan_indexes(s, t, config, dst_schema, dst_tb));
	defs = list_concat(defs, plan_constraints(s, t, config, dst_schema, dst_tb));
	return defs;
}
