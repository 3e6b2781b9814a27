/*-------------------------------------------------------------------------
 *
 * pg_chunk.c
 *	  What cutting a PostgreSQL table into chunks needs (chunk.c): the
 *	  range of an integer key's first column.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "pg_internal.h"

static char *
what_of(const SourceTable *t)
{
	return psprintf("estimating the key range of table \"%s\".\"%s\"", t->schema, t->tb);
}

bool
pg_source_key_int_range(Source *s, const SourceTable *t, int64 *min, int64 *max)
{
	const PgTableInfo *info = pg_table_info(s, t);
	StringInfoData sql;
	PGresult   *res;
	bool		found;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT pg_catalog.min(");
	pg_append_ident(s, &sql, t->columns[t->key_cols[0]].name);
	appendStringInfoString(&sql, ")::pg_catalog.int8, pg_catalog.max(");
	pg_append_ident(s, &sql, t->columns[t->key_cols[0]].name);
	appendStringInfo(&sql, ")::pg_catalog.int8 FROM %s", info->relation);
	res = pg_run_query(s, sql.data, 0, NULL, PGRES_TUPLES_OK, what_of(t));
	pg_check_fields(s, res, 2, "key range");
	found = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) && !PQgetisnull(res, 0, 1);
	if (found)
	{
		*min = strtoi64(PQgetvalue(res, 0, 0), NULL, 10);
		*max = strtoi64(PQgetvalue(res, 0, 1), NULL, 10);
	}
	pg_clear_result(s);
	pfree(sql.data);
	return found;
}
