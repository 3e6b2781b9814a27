/*-------------------------------------------------------------------------
 *
 * pg_discover.c
 *	  The PostgreSQL source's discovery: the tables and partitioned
 *	  tables a filter selects, from the system catalogs; each table's
 *	  columns with their target types (the mapping of pg_internal.h), its
 *	  keys and its order key; and what a scan needs to know of a table,
 *	  looked up again after a reconnect.
 *
 * See pg_internal.h for how the PostgreSQL source works as a whole.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "order_key.h"
#include "pg_internal.h"

/*
 * Columns of a table, in attnum order, each with its target type.  Domains
 * are replaced by their base type and array elements looked into (the
 * recursive part), then the mapping of the file header comment applies.
 */
static const char *const columns_sql =
"WITH RECURSIVE strip(attnum, tid, tmod, arr, depth) AS ("
"  SELECT a.attnum, a.atttypid, a.atttypmod, false, 0"
"    FROM pg_catalog.pg_attribute a"
"   WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped"
"  UNION ALL"
"  SELECT s.attnum,"
"         CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.typelem END,"
"         CASE WHEN t.typtype = 'd' AND s.tmod = -1 THEN t.typtypmod ELSE s.tmod END,"
"         s.arr OR t.typtype <> 'd', s.depth + 1"
"    FROM strip s JOIN pg_catalog.pg_type t ON t.oid = s.tid"
"   WHERE s.depth < 64 AND (t.typtype = 'd' OR (NOT s.arr AND t.typelem <> 0"
"         AND EXISTS (SELECT 1 FROM pg_catalog.pg_type e"
"                      WHERE e.oid = t.typelem AND e.typarray = t.oid)))"
"), base AS ("
"  SELECT DISTINCT ON (attnum) attnum, tid, tmod, arr"
"    FROM strip ORDER BY attnum, depth DESC"
")"
" SELECT a.attname, a.attnotnull, a.attgenerated <> '',"
"        pg_catalog.format_type(a.atttypid, a.atttypmod),"
"        CASE WHEN bt.typtype IN ('e', 'c')"
"               OR (bt.typtype IN ('r', 'm') AND bn.nspname <> 'pg_catalog')"
"               OR (bn.nspname = 'pg_catalog' AND bt.typname IN"
"                   ('regclass', 'regcollation', 'regconfig', 'regdictionary',"
"                    'regnamespace', 'regoper', 'regoperator', 'regproc',"
"                    'regprocedure', 'regrole', 'regtype'))"
"             THEN 'text'"
"             ELSE pg_catalog.format_type(b.tid, b.tmod) END"
"          || CASE WHEN b.arr THEN '[]' ELSE '' END,"
"        bn.nspname = 'pg_catalog' AND bt.typname = 'money',"
"        b.arr,"
"        bt.typtype = 'c' AND NOT b.arr,"
"        pg_catalog.format_type(a.atttypid, NULL),"
"        own.nspname, own.typname, own.arr, coll.nspname, coll.collname"
"   FROM pg_catalog.pg_attribute a"
"   LEFT JOIN LATERAL ("
"        SELECT cn.nspname, c.collname FROM pg_catalog.pg_collation c"
"          JOIN pg_catalog.pg_namespace cn ON cn.oid OPERATOR(pg_catalog.=) c.collnamespace"
"          JOIN pg_catalog.pg_type ct ON ct.oid OPERATOR(pg_catalog.=) a.atttypid"
"         WHERE c.oid OPERATOR(pg_catalog.=) a.attcollation"
"           AND a.attcollation OPERATOR(pg_catalog.<>) ct.typcollation) coll ON true"
"   LEFT JOIN LATERAL ("
"        SELECT n.nspname, t.typname, t.oid <> at.oid AS arr"
"          FROM pg_catalog.pg_type at"
"          JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) CASE WHEN at.typcategory = 'A'"
"               AND at.typelem <> 0 THEN at.typelem ELSE at.oid END"
"          JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace"
"         WHERE at.oid OPERATOR(pg_catalog.=) a.atttypid AND t.typtype IN ('e', 'd', 'c', 'r')"
"           AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
"           AND (t.typtype <> 'c' OR EXISTS (SELECT 1 FROM pg_catalog.pg_class r"
"                WHERE r.oid OPERATOR(pg_catalog.=) t.typrelid AND r.relkind = 'c'))"
"           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e"
"                WHERE e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass"
"                  AND e.objid OPERATOR(pg_catalog.=) t.oid AND e.deptype = 'e')) own ON true"
"   JOIN base b ON b.attnum = a.attnum"
"   JOIN pg_catalog.pg_type bt ON bt.oid = b.tid"
"   JOIN pg_catalog.pg_namespace bn ON bn.oid = bt.typnamespace"
"  WHERE a.attrelid = $1"
"  ORDER BY a.attnum";

/*
 * Unique indexes of a table, one row a key column: index name, primary,
 * column name (NULL for an expression), NOT NULL, generated, and whether
 * the index column is in the column's own order: the default operator
 * class, ascending with NULLs last, the column's collation (then ORDER BY
 * the column and a row comparison on it are a range of the index).
 * Partial and invalid indexes are left out, INCLUDE columns too.
 */
static const char *const keys_sql =
"SELECT ci.relname, i.indisprimary, a.attname, a.attnotnull,"
"       a.attgenerated <> '',"
"       COALESCE(oc.opcdefault, false) AND k.opt OPERATOR(pg_catalog.=) 0"
"       AND k.coll OPERATOR(pg_catalog.=) a.attcollation"
"  FROM pg_catalog.pg_index i"
"  JOIN pg_catalog.pg_class ci ON ci.oid = i.indexrelid"
"  CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(i.indkey::pg_catalog.int2[]),"
"                                 pg_catalog.unnest(i.indclass::pg_catalog.oid[]),"
"                                 pg_catalog.unnest(i.indoption::pg_catalog.int2[]),"
"                                 pg_catalog.unnest(i.indcollation::pg_catalog.oid[]))"
"       WITH ORDINALITY AS k(attnum, opc, opt, coll, ord)"
"  LEFT JOIN pg_catalog.pg_attribute a"
"         ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0"
"  LEFT JOIN pg_catalog.pg_opclass oc ON oc.oid = k.opc"
" WHERE i.indrelid = $1 AND i.indisunique AND i.indisvalid AND i.indisready"
"   AND i.indpred IS NULL AND k.ord <= i.indnkeyatts"
" ORDER BY i.indisprimary DESC, ci.relname COLLATE \"C\", i.indexrelid, k.ord";

/*
 * Does the column hold no NULL?  false also when the table cannot be read
 * (the copy of that table will say why).  A KeyNoNullCheck (order_key.h).
 */
static bool
column_has_no_null(void *arg, const SourceTable *t, int col)
{
	Source	   *s = arg;
	const PgTableInfo *info = llast(s->tables);
	StringInfoData sql;
	PGresult   *res;
	bool		no_null = false;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT NOT EXISTS (SELECT 1 FROM %s WHERE ", info->relation);
	pg_append_ident(s, &sql, t->columns[col].name);
	appendStringInfoString(&sql, " IS NULL)");
	if (PQsendQuery(s->conn, sql.data) == 0)
		pg_error_report(s, NULL, "checking a unique key for NULLs");
	while ((res = pg_get_result(s, "checking a unique key for NULLs")) != NULL)
	{
		s->res = res;
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			no_null = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		else if (PQresultStatus(res) == PGRES_FATAL_ERROR &&
				 PQstatus(s->conn) == CONNECTION_OK)
			no_null = false;
		else
			pg_error_report(s, res, "checking a unique key for NULLs");
		pg_clear_result(s);
	}
	pfree(sql.data);
	return no_null;
}

/*
 * Load the columns, keys and order key of one table, and remember what a
 * scan needs (PgTableInfo, appended to s->tables).  Returns false (with a
 * WARNING) for a table that has no column to copy.
 */
static bool
load_table(Source *s, SourceTable *t, const char *oid, char relkind,
		   const NameFilter *filter, const List *kept)
{
	const char *params[1] = {oid};
	PGresult   *res;
	PgTableInfo *info;
	StringInfoData sel;
	StringInfoData rel;
	char	  **casts;
	bool	   *composite;
	char	  **cast_types;
	int			nrows;
	int			n = 0;
	KeyCandidate *cur = NULL;
	bool		cur_usable = true;
	List	   *candidates = NIL;
	MemoryContext old;
	int		   *from;

	/* columns */
	res = pg_run_query(s, columns_sql, 1, params, PGRES_TUPLES_OK,
					psprintf("reading the columns of table \"%s\".\"%s\"", t->schema, t->tb));
	nrows = PQntuples(res);
	t->columns = palloc0(sizeof(SourceColumn) * Max(nrows, 1));
	casts = palloc0(sizeof(char *) * Max(nrows, 1));
	composite = palloc0(sizeof(bool) * Max(nrows, 1));
	cast_types = palloc0(sizeof(char *) * Max(nrows, 1));
	for (int r = 0; r < nrows; r++)
	{
		SourceColumn *c;

		if (PQgetisnull(res, r, 0) || PQgetisnull(res, r, 3) || PQgetisnull(res, r, 4))
			continue;
		if (strcmp(PQgetvalue(res, r, 2), "t") == 0)
			continue;			/* generated: computed on the source */
		c = &t->columns[n];
		c->name = pstrdup(PQgetvalue(res, r, 0));
		c->not_null = strcmp(PQgetvalue(res, r, 1), "t") == 0;
		c->source_type = pstrdup(PQgetvalue(res, r, 3));
		c->pg_type = pstrdup(PQgetvalue(res, r, 4));
		if (strcmp(PQgetvalue(res, r, 5), "t") == 0)
			casts[n] = strcmp(PQgetvalue(res, r, 6), "t") == 0 ?
				"pg_catalog.numeric[]" : "pg_catalog.numeric";
		composite[n] = strcmp(PQgetvalue(res, r, 7), "t") == 0;
		cast_types[n] = pstrdup(PQgetvalue(res, r, 8));
		if (!PQgetisnull(res, r, 9) && !PQgetisnull(res, r, 10))
		{
			/* the type itself, once the task made it (in a schema of its name) */
			c->own_type_schema = pstrdup(PQgetvalue(res, r, 9));
			c->own_type_name = pstrdup(PQgetvalue(res, r, 10));
			c->own_type = psprintf("%s.%s%s", quote_identifier(c->own_type_schema),
								   quote_identifier(c->own_type_name),
								   strcmp(PQgetvalue(res, r, 11), "t") == 0 ? "[]" : "");
		}
		if (!PQgetisnull(res, r, 12) && !PQgetisnull(res, r, 13))
		{
			c->collation_schema = pstrdup(PQgetvalue(res, r, 12));
			c->collation_name = pstrdup(PQgetvalue(res, r, 13));
		}
		n++;
	}
	pg_clear_result(s);
	t->ncolumns = n;
	source_table_apply_rule(t, filter, &from);
	for (int i = 0; i < t->ncolumns; i++)
	{
		casts[i] = casts[from[i]];
		composite[i] = composite[from[i]];
		cast_types[i] = cast_types[from[i]];
	}
	if (t->ncolumns == 0)
	{
		ereport(WARNING,
				(errmsg("table \"%s\".\"%s\" is not copied: it has no column to copy",
						t->schema, t->tb)));
		return false;
	}

	/* keys: one extra round with r == nrows flushes the last index */
	res = pg_run_query(s, keys_sql, 1, params, PGRES_TUPLES_OK,
					psprintf("reading the keys of table \"%s\".\"%s\"", t->schema, t->tb));
	nrows = PQntuples(res);
	for (int r = 0; r <= nrows; r++)
	{
		const char *index = r < nrows ? PQgetvalue(res, r, 0) : NULL;

		if (cur && (index == NULL || strcmp(cur->index, index) != 0))
		{
			if (cur_usable && cur->cols != NIL)
				candidates = order_key_add_candidate(t, candidates, cur);
			cur = NULL;
		}
		if (index == NULL)
			break;
		if (cur == NULL)
		{
			cur = palloc0(sizeof(KeyCandidate));
			cur->index = pstrdup(index);
			cur->primary = strcmp(PQgetvalue(res, r, 1), "t") == 0;
			cur->orderable = true;
			cur_usable = true;
		}
		if (PQgetisnull(res, r, 2) || strcmp(PQgetvalue(res, r, 4), "t") == 0 ||
			source_column_index(t, PQgetvalue(res, r, 2)) < 0)
			cur_usable = false; /* an expression or a column not copied (generated) */
		else
			cur->cols = lappend_int(cur->cols, source_column_index(t, PQgetvalue(res, r, 2)));
		if (strcmp(PQgetvalue(res, r, 5), "t") != 0)
			cur->orderable = false;
	}
	pg_clear_result(s);

	/* what the scans need, kept with the connection */
	old = MemoryContextSwitchTo(s->cxt);
	info = palloc0(sizeof(PgTableInfo));
	info->schema = pstrdup(t->schema);
	info->tb = pstrdup(t->tb);
	initStringInfo(&rel);
	if (relkind != 'p')
		appendStringInfoString(&rel, "ONLY ");
	pg_append_ident(s, &rel, t->schema);
	appendStringInfoChar(&rel, '.');
	pg_append_ident(s, &rel, t->tb);
	info->relation = rel.data;
	initStringInfo(&sel);
	info->ncols = t->ncolumns;
	info->col_names = palloc(sizeof(char *) * Max(t->ncolumns, 1));
	info->col_items = palloc(sizeof(char *) * Max(t->ncolumns, 1));
	for (int i = 0; i < t->ncolumns; i++)
	{
		int			start;

		if (i > 0)
			appendStringInfoString(&sel, ", ");
		start = sel.len;
		pg_append_ident(s, &sel, t->columns[i].name);
		if (casts[i])
			appendStringInfo(&sel, "::%s", casts[i]);
		info->col_names[i] = pstrdup(t->columns[i].name);
		info->col_items[i] = pstrdup(sel.data + start);
	}
	info->select_list = sel.data;
	s->tables = lappend(s->tables, info);
	MemoryContextSwitchTo(old);

	/*
	 * The table's where_conditions: EXPLAIN fails on a condition the
	 * server does not take, naming the table, and estimates its rows.
	 */
	if (t->where != NULL)
	{
		char	   *sql = psprintf("EXPLAIN SELECT 1 FROM %s WHERE (%s)", info->relation, t->where);
		const char *rows;

		res = pg_run_query(s, sql, 0, NULL, PGRES_TUPLES_OK,
						   psprintf("where_conditions of section [filter] for table \"%s\".\"%s\"",
									t->schema, t->tb));
		rows = PQntuples(res) > 0 ? strstr(PQgetvalue(res, 0, 0), " rows=") : NULL;
		if (rows != NULL)
			t->rows_estimated = strtoi64(rows + 6, NULL, 10);
		pg_clear_result(s);
		pfree(sql);
	}

	/* primary key first, then by index name: the query's order */
	order_key_choose(t, candidates, kept, column_has_no_null, s);
	/* the source's planner finds the index itself (enable_sort is off) */
	t->key_index = NULL;

	old = MemoryContextSwitchTo(s->cxt);
	info->key_casts = palloc0(sizeof(char *) * Max(t->nkeys, 1));
	for (int k = 0; k < t->nkeys; k++)
		/* an unknown literal cannot become an anonymous record */
		if (composite[t->key_cols[k]])
			info->key_casts[k] = pstrdup(cast_types[t->key_cols[k]]);
	MemoryContextSwitchTo(old);
	return true;
}

/* Does a name pattern part hold a wildcard? */
static bool
part_has_wildcard(const NamePart *part)
{
	return !part->literal && strpbrk(part->text, "*?") != NULL;
}

/*
 * A table that do_tbs names without a wildcard must be there: ERROR
 * otherwise (unless ignore_tbs or ignore_dbs leaves it out anyway).  res
 * holds the listing query's rows (schema in column 1, table in column 2).
 */
static void
check_named_tables(Source *s, PGresult *res, const NameFilter *filter)
{
	ListCell   *lc;

	if (filter->named_may_be_missing)
		return;
	foreach(lc, filter->do_tbs)
	{
		NamePattern *p = lfirst(lc);
		bool		found = false;

		if (!p->has_tb || part_has_wildcard(&p->db) || part_has_wildcard(&p->tb) ||
			!name_filter_wants_db(filter, p->db.text) ||
			!name_filter_wants_table(filter, p->db.text, p->tb.text))
			continue;
		for (int r = 0; r < PQntuples(res) && !found; r++)
			found = name_part_matches(&p->db, PQgetvalue(res, r, 1)) &&
				name_part_matches(&p->tb, PQgetvalue(res, r, 2));
		if (!found)
		{
			pg_clear_result(s);
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("table \"%s\".\"%s\" named in do_tbs of section [filter] does not exist on PostgreSQL server \"%s\"",
							p->db.text, p->tb.text, s->server),
					 errhint("Only tables and partitioned tables are copied; a partition is copied through its partitioned table.")));
		}
	}
}

/*
 * The tables and partitioned tables of the user schemas that the filter
 * selects (partitions are copied through their root), with their columns,
 * keys and order column, sorted by (schema, tb).
 */
List *
pg_source_list_tables(Source *s, const NameFilter *filter, const List *kept)
{
	typedef struct Found
	{
		SourceTable *table;
		char	   *oid;
		char		relkind;
	} Found;
	PGresult   *res;
	List	   *found = NIL;
	List	   *tables = NIL;
	ListCell   *lc;
	int			nrows;

	res = pg_run_query(s,
					"SELECT c.oid, n.nspname, c.relname, c.relkind,"
					"       CASE WHEN c.relkind = 'p' THEN"
					"         (SELECT CASE WHEN count(*) FILTER (WHERE l.reltuples >= 0) = 0"
					"                      THEN -1"
					"                      ELSE sum(l.reltuples) FILTER (WHERE l.reltuples >= 0) END"
					"            FROM pg_catalog.pg_partition_tree(c.oid) pt"
					"            JOIN pg_catalog.pg_class l ON l.oid = pt.relid"
					"           WHERE pt.isleaf)"
					"       ELSE c.reltuples END::pg_catalog.int8,"
					"       CASE WHEN c.relkind = 'p' THEN"
					"         (SELECT sum(pg_catalog.pg_table_size(pt.relid))"
					"            FROM pg_catalog.pg_partition_tree(c.oid) pt WHERE pt.isleaf)"
					"       ELSE pg_catalog.pg_table_size(c.oid) END::pg_catalog.int8"
					"  FROM pg_catalog.pg_class c"
					"  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
					" WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition"
					"   AND n.nspname <> 'information_schema'"
					"   AND n.nspname !~ '^pg_'",
					0, NULL, PGRES_TUPLES_OK, "listing the tables");
	nrows = PQntuples(res);
	check_named_tables(s, res, filter);
	for (int r = 0; r < nrows; r++)
	{
		Found	   *f;
		const char *schema = PQgetvalue(res, r, 1);
		const char *tb = PQgetvalue(res, r, 2);

		if (!name_filter_wants_db(filter, schema) ||
			!name_filter_wants_table(filter, schema, tb))
			continue;
		f = palloc0(sizeof(Found));
		f->table = palloc0(sizeof(SourceTable));
		f->table->schema = pstrdup(schema);
		f->table->tb = pstrdup(tb);
		f->table->rows_estimated = PQgetisnull(res, r, 4) ? -1 :
			strtoi64(PQgetvalue(res, r, 4), NULL, 10);
		f->table->bytes_estimated = PQgetisnull(res, r, 5) ? -1 :
			strtoi64(PQgetvalue(res, r, 5), NULL, 10);
		f->oid = pstrdup(PQgetvalue(res, r, 0));
		f->relkind = PQgetvalue(res, r, 3)[0];
		found = lappend(found, f);
	}
	pg_clear_result(s);

	foreach(lc, found)
	{
		Found	   *f = lfirst(lc);

		CHECK_FOR_INTERRUPTS();
		if (load_table(s, f->table, f->oid, f->relkind, filter, kept))
			tables = lappend(tables, f->table);
	}
	list_sort(tables, source_table_cmp);
	return tables;
}

/*
 * The scan information of a table.  A connection made again after a lost
 * one has not listed the tables: it looks the table up, and checks that
 * its columns are still those of the listing.
 */
const PgTableInfo *
pg_table_info(Source *s, const SourceTable *t)
{
	const char *params[2] = {t->schema, t->tb};
	PGresult   *res;
	SourceTable *now;
	char	   *oid;
	char		relkind;
	int			i;

	/* the latest listing wins */
	for (i = list_length(s->tables) - 1; i >= 0; i--)
	{
		PgTableInfo *info = list_nth(s->tables, i);

		if (strcmp(info->schema, t->schema) == 0 && strcmp(info->tb, t->tb) == 0)
			return info;
	}

	res = pg_run_query(s,
					"SELECT c.oid, c.relkind FROM pg_catalog.pg_class c"
					"  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
					" WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
					2, params, PGRES_TUPLES_OK,
					psprintf("looking up table \"%s\".\"%s\"", t->schema, t->tb));
	if (PQntuples(res) != 1)
	{
		pg_clear_result(s);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("source table \"%s\".\"%s\" no longer exists on PostgreSQL server \"%s\"",
						t->schema, t->tb, s->server)));
	}
	oid = pstrdup(PQgetvalue(res, 0, 0));
	relkind = PQgetvalue(res, 0, 1)[0];
	pg_clear_result(s);

	now = palloc0(sizeof(SourceTable));
	now->schema = t->schema;
	now->tb = t->tb;
	if (!load_table(s, now, oid, relkind, s->filter, order_key_kept_of(t)) ||
		now->ncolumns != t->ncolumns ||
		now->nkeys != t->nkeys ||
		memcmp(now->key_cols, t->key_cols, sizeof(int) * t->nkeys) != 0)
		i = -1;
	else
	{
		for (i = 0; i < t->ncolumns; i++)
			if (strcmp(now->columns[i].name, t->columns[i].name) != 0 ||
				strcmp(now->columns[i].pg_type, t->columns[i].pg_type) != 0)
				break;
	}
	if (i != t->ncolumns)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("source table \"%s\".\"%s\" changed while it was copied",
						t->schema, t->tb),
				 errdetail("Its columns or keys are not those found when the task started.")));
	return llast(s->tables);
}
