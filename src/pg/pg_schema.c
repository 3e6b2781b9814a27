/*-------------------------------------------------------------------------
 *
 * pg_schema.c
 *	  The PostgreSQL source's schema-wide structures (structure.h): the
 *	  types of its own that a copied table uses (enums, domains, composite
 *	  and range types), with their definitions, in the order they need;
 *	  and what the task does not copy of its schemas (views, routines,
 *	  triggers, policies, grants, unused types), listed as not copied.
 *
 *	  Type definitions are built from the source's catalog and checked by
 *	  the target's parser before they run (structure_check_ddl): a type
 *	  is made only of base types, enums and types the task made.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "name_filter.h"
#include "pg_internal.h"
#include "structure.h"

/*
 * What is not copied of the schemas of the tables: $1 the schemas, $2 and
 * $3 the copied tables (schema, name).  Rows: kind, schema, table or NULL,
 * name, why, definition.
 */
static const char *const schema_objects_sql =
"WITH copied(s, t) AS (SELECT * FROM ROWS FROM (pg_catalog.unnest($2::pg_catalog.text[]),"
"                                               pg_catalog.unnest($3::pg_catalog.text[])))"
" SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized_view' END, n.nspname, NULL, c.relname,"
"        'views are not copied: create it by hand from its definition',"
"        pg_catalog.pg_get_viewdef(c.oid)"
"   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
"  WHERE c.relkind IN ('v', 'm') AND n.nspname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])"
"    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.objid OPERATOR(pg_catalog.=) c.oid AND e.deptype = 'e')"
" UNION ALL"
" SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,"
"        n.nspname, NULL, p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',"
"        'functions and procedures are not copied: create them with their definition',"
"        NULL"
"   FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace"
"  WHERE n.nspname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])"
"    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.objid OPERATOR(pg_catalog.=) p.oid"
"                    AND e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass"
"                    AND e.deptype IN ('e', 'i'))"
" UNION ALL"
" SELECT 'trigger', n.nspname, c.relname, g.tgname,"
"        'triggers are not copied: create the function and the trigger by hand',"
"        pg_catalog.pg_get_triggerdef(g.oid)"
"   FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) g.tgrelid"
"   JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
"   JOIN copied ON copied.s OPERATOR(pg_catalog.=) n.nspname AND copied.t OPERATOR(pg_catalog.=) c.relname"
"  WHERE NOT g.tgisinternal"
" UNION ALL"
" SELECT 'policy', n.nspname, c.relname, po.polname,"
"        'row-level security policies are not copied', NULL"
"   FROM pg_catalog.pg_policy po JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) po.polrelid"
"   JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
"   JOIN copied ON copied.s OPERATOR(pg_catalog.=) n.nspname AND copied.t OPERATOR(pg_catalog.=) c.relname"
" UNION ALL"
" SELECT 'grant', n.nspname, c.relname, c.relname,"
"        'grants are not copied: the target has its own roles', c.relacl::pg_catalog.text"
"   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
"   JOIN copied ON copied.s OPERATOR(pg_catalog.=) n.nspname AND copied.t OPERATOR(pg_catalog.=) c.relname"
"  WHERE c.relacl IS NOT NULL"
" UNION ALL"
" SELECT 'type', n.nspname, NULL, t.typname,"
"        'types are made only for the copied tables that use them (with the type kind of do_structures)',"
"        pg_catalog.format_type(t.oid, NULL)"
"   FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace"
"  WHERE n.nspname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])"
"    AND (t.typtype IN ('e', 'd', 'r')"
"         OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_catalog.pg_class r"
"                                       WHERE r.oid OPERATOR(pg_catalog.=) t.typrelid AND r.relkind = 'c')))"
"    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.objid OPERATOR(pg_catalog.=) t.oid AND e.deptype = 'e')"
" ORDER BY 1, 2, 4";

/* A text[] literal of the strings, for a query parameter. */
static char *
text_array_literal(List *items)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	foreach(lc, items)
	{
		appendStringInfoString(&buf, buf.len > 1 ? ",\"" : "\"");
		for (const char *p = lfirst(lc); *p; p++)
		{
			if (*p == '"' || *p == '\\')
				appendStringInfoChar(&buf, '\\');
			appendStringInfoChar(&buf, *p);
		}
		appendStringInfoChar(&buf, '"');
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

List *
pg_source_list_schema_objects(Source *s, const TaskConfig *config, const List *tables)
{
	List	   *schemas = NIL;
	List	   *tschemas = NIL;
	List	   *tnames = NIL;
	List	   *defs = NIL;
	const char *params[3];
	PGresult   *res;
	ListCell   *lc;

	foreach(lc, tables)
	{
		const SourceTable *t = lfirst(lc);
		ListCell   *lc2;
		bool		seen = false;

		foreach(lc2, schemas)
			if (strcmp(lfirst(lc2), t->schema) == 0)
				seen = true;
		if (!seen)
			schemas = lappend(schemas, t->schema);
		tschemas = lappend(tschemas, t->schema);
		tnames = lappend(tnames, t->tb);
	}
	if (schemas == NIL)
		return NIL;
	params[0] = text_array_literal(schemas);
	params[1] = text_array_literal(tschemas);
	params[2] = text_array_literal(tnames);
	res = pg_run_query(s, schema_objects_sql, 3, params, PGRES_TUPLES_OK,
					   "reading the views, routines, triggers and types of the schemas");
	pg_check_fields(s, res, 6, "views, routines, triggers and types");
	for (int r = 0; r < PQntuples(res); r++)
	{
		StructureDef *d;

		/* views by the filter's names, as tables are */
		if (strcmp(PQgetvalue(res, r, 0), "view") == 0 || strcmp(PQgetvalue(res, r, 0), "materialized_view") == 0)
			if (!name_filter_wants_table(&config->filter, PQgetvalue(res, r, 1), PQgetvalue(res, r, 3)))
				continue;
		d = structure_not_copied(pstrdup(PQgetvalue(res, r, 0)), PQgetvalue(res, r, 3), 0,
								 PQgetvalue(res, r, 4), pg_value_or_null(res, r, 5));
		d->schema = pstrdup(PQgetvalue(res, r, 1));
		d->tb = pg_value_or_null(res, r, 2);
		defs = lappend(defs, d);
	}
	pg_clear_result(s);
	return defs;
}

/*
 * The types of the source's schemas that the table's columns use, with
 * the types they are made of, deepest first: type, schema, name, kind
 * (e, d, c, r).
 */
static const char *const types_sql =
"WITH RECURSIVE deps(oid, depth) AS ("
"  SELECT a.atttypid, 0 FROM pg_catalog.pg_attribute a"
"   WHERE a.attrelid OPERATOR(pg_catalog.=) " PG_TABLE_OID
"     AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped"
"  UNION"
"  SELECT x.oid, d.depth OPERATOR(pg_catalog.+) 1"
"    FROM deps d JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) d.oid"
"   CROSS JOIN LATERAL ("
"        SELECT t.typelem WHERE t.typcategory = 'A' AND t.typelem <> 0"
"        UNION ALL SELECT t.typbasetype WHERE t.typtype = 'd'"
"        UNION ALL SELECT a2.atttypid FROM pg_catalog.pg_attribute a2"
"         WHERE t.typtype = 'c' AND a2.attrelid OPERATOR(pg_catalog.=) t.typrelid"
"           AND a2.attnum OPERATOR(pg_catalog.>) 0 AND NOT a2.attisdropped"
"        UNION ALL SELECT r.rngsubtype FROM pg_catalog.pg_range r"
"         WHERE r.rngtypid OPERATOR(pg_catalog.=) t.oid) x(oid)"
"   WHERE d.depth OPERATOR(pg_catalog.<) 16"
")"
" SELECT t.oid, n.nspname, t.typname, t.typtype"
"   FROM deps d JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) d.oid"
"   JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace"
"  WHERE t.typtype IN ('e', 'd', 'c', 'r') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
"    AND (t.typtype <> 'c' OR EXISTS (SELECT 1 FROM pg_catalog.pg_class r"
"         WHERE r.oid OPERATOR(pg_catalog.=) t.typrelid AND r.relkind = 'c'))"
"    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e"
"         WHERE e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass"
"           AND e.objid OPERATOR(pg_catalog.=) t.oid AND e.deptype = 'e')"
"  GROUP BY t.oid, n.nspname, t.typname, t.typtype"
"  ORDER BY pg_catalog.max(d.depth) DESC, n.nspname, t.typname";

/* enum: its labels in order, as a text[] */
static const char *const enum_sql =
"SELECT pg_catalog.array_agg(e.enumlabel ORDER BY e.enumsortorder)::pg_catalog.text[]"
"  FROM pg_catalog.pg_enum e WHERE e.enumtypid OPERATOR(pg_catalog.=) $1::pg_catalog.oid";

/* domain: base type, NOT NULL, default, collation if not the base's; then its checks */
static const char *const domain_sql =
"SELECT pg_catalog.format_type(t.typbasetype, t.typtypmod), t.typnotnull,"
"       pg_catalog.pg_get_expr(t.typdefaultbin, 0),"
"       CASE WHEN t.typcollation <> b.typcollation THEN"
"            (SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(c.collname)"
"               FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace cn"
"                 ON cn.oid OPERATOR(pg_catalog.=) c.collnamespace"
"              WHERE c.oid OPERATOR(pg_catalog.=) t.typcollation) END"
"  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_type b ON b.oid OPERATOR(pg_catalog.=) t.typbasetype"
" WHERE t.oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid";

static const char *const domain_checks_sql =
"SELECT c.conname, pg_catalog.pg_get_constraintdef(c.oid) FROM pg_catalog.pg_constraint c"
" WHERE c.contypid OPERATOR(pg_catalog.=) $1::pg_catalog.oid AND c.contype = 'c' ORDER BY c.conname";

/* composite: its attributes, with a collation that is not their type's */
static const char *const composite_sql =
"SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),"
"       CASE WHEN a.attcollation <> t.typcollation THEN"
"            (SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(c.collname)"
"               FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace cn"
"                 ON cn.oid OPERATOR(pg_catalog.=) c.collnamespace"
"              WHERE c.oid OPERATOR(pg_catalog.=) a.attcollation) END"
"  FROM pg_catalog.pg_type ct JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) ct.typrelid"
"  JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid"
" WHERE ct.oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid AND a.attnum OPERATOR(pg_catalog.>) 0"
"   AND NOT a.attisdropped ORDER BY a.attnum";

/* range: subtype, its operator class and collation if set, canonical and subtype_diff, multirange */
static const char *const range_sql =
"SELECT pg_catalog.format_type(r.rngsubtype, NULL),"
"       (SELECT pg_catalog.quote_ident(on_.nspname) || '.' || pg_catalog.quote_ident(o.opcname)"
"          FROM pg_catalog.pg_opclass o JOIN pg_catalog.pg_namespace on_"
"            ON on_.oid OPERATOR(pg_catalog.=) o.opcnamespace"
"         WHERE o.oid OPERATOR(pg_catalog.=) r.rngsubopc AND NOT o.opcdefault),"
"       CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> st.typcollation THEN"
"            (SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(c.collname)"
"               FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace cn"
"                 ON cn.oid OPERATOR(pg_catalog.=) c.collnamespace"
"              WHERE c.oid OPERATOR(pg_catalog.=) r.rngcollation) END,"
"       CASE WHEN r.rngcanonical <> 0 THEN r.rngcanonical::pg_catalog.regproc::pg_catalog.text END,"
"       CASE WHEN r.rngsubdiff <> 0 THEN r.rngsubdiff::pg_catalog.regproc::pg_catalog.text END,"
"       (SELECT m.typname FROM pg_catalog.pg_type m WHERE m.oid OPERATOR(pg_catalog.=) r.rngmultitypid)"
"  FROM pg_catalog.pg_range r JOIN pg_catalog.pg_type st ON st.oid OPERATOR(pg_catalog.=) r.rngsubtype"
" WHERE r.rngtypid OPERATOR(pg_catalog.=) $1::pg_catalog.oid";

static PGresult *
type_query(Source *s, const char *sql, const char *oid, int nfields, const char *what)
{
	const char *params[1] = {oid};
	PGresult   *res = pg_run_query(s, sql, 1, params, PGRES_TUPLES_OK,
								   psprintf("reading type %s", what));

	pg_check_fields(s, res, nfields, what);
	return res;
}

/* The CREATE statement of one type, or NULL with *why. */
static char *
type_ddl(Source *s, const char *oid, const char *qname, char kind, char **why, List **extra)
{
	StringInfoData out;
	PGresult   *res;

	initStringInfo(&out);
	switch (kind)
	{
		case 'e':
			{
				ListCell   *lc;

				res = type_query(s, enum_sql, oid, 1, qname);
				appendStringInfo(&out, "CREATE TYPE %s AS ENUM (", qname);
				foreach(lc, pg_text_array_items(pg_value_or_null(res, 0, 0)))
				{
					if (lfirst(lc) == NULL)
						continue;
					appendStringInfo(&out, "%s%s", out.data[out.len - 1] == '(' ? "" : ", ",
									 quote_literal_cstr(lfirst(lc)));
				}
				appendStringInfoChar(&out, ')');
				pg_clear_result(s);
				break;
			}
		case 'd':
			res = type_query(s, domain_sql, oid, 4, qname);
			if (PQntuples(res) != 1)
			{
				pg_clear_result(s);
				*why = "its definition could not be read";
				return NULL;
			}
			appendStringInfo(&out, "CREATE DOMAIN %s AS %s", qname, PQgetvalue(res, 0, 0));
			if (!PQgetisnull(res, 0, 3))
				appendStringInfo(&out, " COLLATE %s", PQgetvalue(res, 0, 3));
			if (!PQgetisnull(res, 0, 2))
				appendStringInfo(&out, " DEFAULT %s", PQgetvalue(res, 0, 2));
			if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
				appendStringInfoString(&out, " NOT NULL");
			pg_clear_result(s);
			res = type_query(s, domain_checks_sql, oid, 2, qname);
			for (int r = 0; r < PQntuples(res); r++)
			{
				const char *def = PQgetvalue(res, r, 1);
				size_t		len = strlen(def);

				/*
				 * A check NOT VALID at the source: the copied rows need not
				 * hold it, and CREATE DOMAIN has no NOT VALID: listed
				 */
				if (len > 10 && strcmp(def + len - 10, " NOT VALID") == 0)
				{
					StructureDef *d = structure_not_copied("check", psprintf("%s.%s", qname, PQgetvalue(res, r, 0)),
														   STRUCT_TYPE,
														   "a NOT VALID check of a domain: the copied rows need not hold it; add it with ALTER DOMAIN ... ADD CONSTRAINT ... NOT VALID",
														   def);

					d->schema = (char *) s->last_type_schema;
					*extra = lappend(*extra, d);
					continue;
				}
				appendStringInfo(&out, " CONSTRAINT %s %s", quote_identifier(PQgetvalue(res, r, 0)), def);
			}
			pg_clear_result(s);
			break;
		case 'c':
			res = type_query(s, composite_sql, oid, 3, qname);
			appendStringInfo(&out, "CREATE TYPE %s AS (", qname);
			for (int r = 0; r < PQntuples(res); r++)
			{
				appendStringInfo(&out, "%s%s %s", r > 0 ? ", " : "",
								 quote_identifier(PQgetvalue(res, r, 0)), PQgetvalue(res, r, 1));
				if (!PQgetisnull(res, r, 2))
					appendStringInfo(&out, " COLLATE %s", PQgetvalue(res, r, 2));
			}
			appendStringInfoChar(&out, ')');
			pg_clear_result(s);
			break;
		case 'r':
			res = type_query(s, range_sql, oid, 6, qname);
			if (PQntuples(res) != 1)
			{
				pg_clear_result(s);
				*why = "its definition could not be read";
				return NULL;
			}
			/* a function of the source's as canonical or subtype_diff: not ours to make */
			for (int c = 3; c <= 4; c++)
				if (!PQgetisnull(res, 0, c) && strncmp(PQgetvalue(res, 0, c), "pg_catalog.", 11) != 0 &&
					strchr(PQgetvalue(res, 0, c), '.') != NULL)
				{
					*why = psprintf("its %s function %s is not one of pg_catalog's",
									c == 3 ? "canonical" : "subtype_diff", PQgetvalue(res, 0, c));
					pg_clear_result(s);
					return NULL;
				}
			appendStringInfo(&out, "CREATE TYPE %s AS RANGE (SUBTYPE = %s", qname, PQgetvalue(res, 0, 0));
			if (!PQgetisnull(res, 0, 1))
				appendStringInfo(&out, ", SUBTYPE_OPCLASS = %s", PQgetvalue(res, 0, 1));
			if (!PQgetisnull(res, 0, 2))
				appendStringInfo(&out, ", COLLATION = %s", PQgetvalue(res, 0, 2));
			if (!PQgetisnull(res, 0, 3))
				appendStringInfo(&out, ", CANONICAL = %s", PQgetvalue(res, 0, 3));
			if (!PQgetisnull(res, 0, 4))
				appendStringInfo(&out, ", SUBTYPE_DIFF = %s", PQgetvalue(res, 0, 4));
			if (!PQgetisnull(res, 0, 5))
				appendStringInfo(&out, ", MULTIRANGE_TYPE_NAME = %s.%s",
								 quote_identifier(s->last_type_schema), quote_identifier(PQgetvalue(res, 0, 5)));
			appendStringInfoChar(&out, ')');
			pg_clear_result(s);
			break;
		default:
			*why = "a kind of type ape_resume does not make";
			return NULL;
	}
	return out.data;
}

List *
pg_source_list_types(Source *s, const SourceTable *t, const TaskConfig *config)
{
	PGresult   *res = pg_table_query(s, t, types_sql, "types", 4);
	List	   *rows = NIL;
	List	   *defs = NIL;
	List	   *extra = NIL;
	ListCell   *lc;

	for (int r = 0; r < PQntuples(res); r++)
	{
		char	  **row = palloc(sizeof(char *) * 4);

		for (int c = 0; c < 4; c++)
			row[c] = pstrdup(PQgetvalue(res, r, c));
		rows = lappend(rows, row);
	}
	pg_clear_result(s);
	foreach(lc, rows)
	{
		char	  **row = lfirst(lc);
		char	   *dst_schema;
		char	   *ignored;
		char	   *why = NULL;
		char	   *ddl = NULL;
		StructureDef *d;

		CHECK_FOR_INTERRUPTS();
		name_filter_route(&config->filter, row[1], row[2], &dst_schema, &ignored);
		/* the source's definitions name types by their own schema */
		if (strcmp(dst_schema, row[1]) != 0)
			why = psprintf("its schema is routed to \"%s\" (db_map): types are made only in a schema of their own schema's name",
						   dst_schema);
		else
		{
			s->last_type_schema = row[1];
			ddl = type_ddl(s, row[0], quote_qualified_identifier(row[1], row[2]), row[3][0], &why, &extra);
		}
		d = ddl ? structure_new("type", row[2], STRUCT_PHASE_TABLE, STRUCT_TYPE, ddl)
			: structure_not_copied("type", row[2], STRUCT_TYPE, why, NULL);
		d->schema = row[1];
		d->tb = NULL;
		d->dst_schema = dst_schema;
		defs = lappend(defs, d);
	}
	/* what of the types is not made: listed with them */
	foreach(lc, extra)
		((StructureDef *) lfirst(lc))->dst_schema = ((StructureDef *) lfirst(lc))->schema;
	return list_concat(defs, extra);
}
