/*-------------------------------------------------------------------------
 *
 * mysql_chunk.c
 *	  What cutting a MySQL table into chunks needs (chunk.c): the range of
 *	  an integer key's first column.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "mysql_internal.h"

/* "FROM db.tb FORCE INDEX (key) WHERE " for the queries below */
static void
append_from(StringInfo sql, const SourceTable *t)
{
	appendStringInfoString(sql, " FROM ");
	mysql_append_ident(sql, t->schema);
	appendStringInfoChar(sql, '.');
	mysql_append_ident(sql, t->tb);
	if (t->key_index)
	{
		appendStringInfoString(sql, " FORCE INDEX (");
		mysql_append_ident(sql, t->key_index);
		appendStringInfoChar(sql, ')');
	}
}

static bool
parse_int64(const char *text, int64 *v)
{
	char	   *end;

	if (text == NULL)
		return false;
	errno = 0;
	*v = strtoi64(text, &end, 10);
	return errno == 0 && end != text && *end == '\0';
}

bool
mysql_source_key_int_range(Source *s, const SourceTable *t, int64 *min, int64 *max)
{
	const char *col = t->columns[t->key_cols[0]].name;
	StringInfoData sql;
	MYSQL_ROW	row;
	bool		found = false;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT MIN(");
	mysql_append_ident(&sql, col);
	appendStringInfoString(&sql, "), MAX(");
	mysql_append_ident(&sql, col);
	appendStringInfoChar(&sql, ')');
	append_from(&sql, t);
	mysql_meta_query(s, sql.data);
	if (mysql_num_fields(s->meta_res) != 2)
		elog(ERROR, "MySQL returned %u columns for the key range of table \"%s\".\"%s\", expected 2",
			 mysql_num_fields(s->meta_res), t->schema, t->tb);
	row = mysql_meta_next(s);
	/* NULLs: an empty table; an unsigned value past bigint: not an int64 */
	if (row != NULL && parse_int64(row[0], min) && parse_int64(row[1], max))
		found = true;
	mysql_meta_done(s);
	pfree(sql.data);
	return found;
}
