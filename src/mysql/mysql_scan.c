/*-------------------------------------------------------------------------
 *
 * mysql_scan.c
 *	  The MySQL / MariaDB source's scans: one streamed SELECT a table in
 *	  order-key order through the key's index, parked between batches and
 *	  taken up by the next one; and mysql_source_ops, the only name seen
 *	  outside src/mysql/.
 *
 * See mysql_internal.h for how the MySQL source works as a whole.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "mysql_internal.h"
#include "order_key.h"

/* KeyAppendIdent of order_key.h */
static void
append_key_ident(void *arg, StringInfo sql, const char *name)
{
	mysql_append_ident(sql, name);
}

/*
 * Free the scan's result.  Rows not read yet are read and dropped by
 * mysql_free_result (a parked query that is not taken up again), which
 * waits for the server as long as it sends them: non-blocking.
 */
static void
free_scan(Source *s)
{
	if (s->scan_res == NULL)
		return;
	mysql_nb_free_result(s, &s->scan_res);
	s->scan_table = NULL;
	if (mysql_errno(s->conn) != 0)
		mysql_error_report(s, psprintf("reading table \"%s\".\"%s\"",
									   s->scan_schema, s->scan_tb));
}

/* Did the parked query stop right at position after? */
static bool
keys_equal(Source *s, char *const *after)
{
	for (int k = 0; k < s->scan_nkeys; k++)
		if (strcmp(after[k], s->scan_keys[k].data) != 0)
			return false;
	return true;
}

/*
 * Start streaming a table's rows: SELECT the columns ordered by the order
 * key, after position after, at most limit rows.  mysql_use_result streams:
 * rows are read from the socket as scan_next asks for them.
 */
static void
mysql_source_scan_begin(Source *s, const SourceTable *t,
						char *const *after, int64 limit)
{
	MemoryContext old;
	StringInfoData sql;
	int			i;

	if (s->scan_active)
		elog(ERROR, "a MySQL scan is already in progress");
	if (t->nkeys == 0 && (after != NULL || limit != 0))
		elog(ERROR, "table \"%s\".\"%s\" has no order key to resume on",
			 t->schema, t->tb);

	/*
	 * One query streams a whole table: a batch that stopped at after
	 * left it parked (see scan_end), and the next batch reads on, so the
	 * source never waits for a new query between checkpoints.  A parked
	 * query that does not continue here is finished off first.
	 */
	if (s->scan_res)
	{
		if (s->scan_table == t && t->nkeys > 0 && after != NULL &&
			s->scan_nkeys == t->nkeys && keys_equal(s, after))
		{
			s->scan_active = true;
			s->scan_limit = limit;
			s->scan_rows = 0;
			return;
		}
		free_scan(s);
	}

	old = MemoryContextSwitchTo(s->cxt);
	if (s->scan_cols)
		pfree(s->scan_cols);
	if (s->offsets)
		pfree(s->offsets);
	if (s->scan_colnames)
	{
		for (i = 0; i < s->scan_ncols; i++)
			pfree(s->scan_colnames[i]);
		pfree(s->scan_colnames);
	}
	s->scan_ncols = t->ncolumns;
	s->scan_colnames = palloc0(sizeof(char *) * Max(t->ncolumns, 1));
	for (i = 0; i < t->ncolumns; i++)
		s->scan_colnames[i] = pstrdup(t->columns[i].name);
	s->scan_cols = palloc0(sizeof(ColInfo) * Max(t->ncolumns, 1));
	s->offsets = palloc0(sizeof(int) * Max(t->ncolumns, 1));
	for (i = 0; i < t->ncolumns; i++)
		s->scan_cols[i] = mysql_classify(t->columns[i].source_type,
								   t->columns[i].pg_type);
	if (s->zd_schema == NULL || strcmp(s->zd_schema, t->schema) != 0 ||
		strcmp(s->zd_tb, t->tb) != 0 || s->zd_ncols != t->ncolumns)
	{
		if (s->zd_schema)
		{
			pfree(s->zd_schema);
			pfree(s->zd_tb);
			pfree(s->zero_dates);
			pfree(s->zd_warned);
		}
		s->zd_schema = pstrdup(t->schema);
		s->zd_tb = pstrdup(t->tb);
		s->zd_ncols = t->ncolumns;
		s->zero_dates = palloc0(sizeof(int64) * Max(t->ncolumns, 1));
		s->zd_warned = palloc0(sizeof(bool) * Max(t->ncolumns, 1));
	}
	if (s->scan_schema)
		pfree(s->scan_schema);
	if (s->scan_tb)
		pfree(s->scan_tb);
	s->scan_schema = pstrdup(t->schema);
	s->scan_tb = pstrdup(t->tb);
	if (s->scan_keys)
	{
		for (i = 0; i < s->scan_nkeys; i++)
			pfree(s->scan_keys[i].data);
		pfree(s->scan_keys);
	}
	s->scan_nkeys = t->nkeys;
	s->scan_keys = palloc(sizeof(StringInfoData) * Max(t->nkeys, 1));
	for (i = 0; i < t->nkeys; i++)
		initStringInfo(&s->scan_keys[i]);
	MemoryContextSwitchTo(old);
	s->scan_limit = limit;
	s->scan_rows = 0;
	s->scan_done = false;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (i = 0; i < t->ncolumns; i++)
	{
		if (i > 0)
			appendStringInfoString(&sql, ", ");

		/*
		 * MySQL renders a float with 6 significant digits and a float(m,d)
		 * or double(m,d) with d decimals, which is not the value stored
		 * (16777216 shows as 16777200): "+ 0e0" turns the value exactly
		 * into a double, which MySQL renders with the shortest digits that
		 * read back to it.
		 */
		if (s->scan_cols[i].kind == CK_FLOAT)
			appendStringInfoChar(&sql, '(');
		mysql_append_ident(&sql, t->columns[i].name);
		if (s->scan_cols[i].kind == CK_FLOAT)
			appendStringInfoString(&sql, " + 0e0)");
	}
	appendStringInfoString(&sql, " FROM ");
	mysql_append_ident(&sql, t->schema);
	appendStringInfoChar(&sql, '.');
	mysql_append_ident(&sql, t->tb);
	if (t->nkeys > 0)
	{
		/*
		 * The key's index, whatever the optimizer estimates: a range scan
		 * in key order, never a full scan and a sort.  MariaDB does not
		 * make an index range of a row comparison: the predicate is
		 * expanded.
		 */
		if (t->key_index)
		{
			appendStringInfoString(&sql, " FORCE INDEX (");
			mysql_append_ident(&sql, t->key_index);
			appendStringInfoChar(&sql, ')');
		}
	}
	order_key_append_where(&sql, t, after, KEYSET_EXPANDED, append_key_ident,
						   mysql_append_after_value, s);
	if (t->nkeys > 0)
	{
		appendStringInfoString(&sql, " ORDER BY ");
		order_key_append_columns(&sql, t, append_key_ident, NULL);
	}

	/* waits until the server starts sending (a lock may hold it back) */
	if (mysql_nb_real_query(s, sql.data, sql.len) != 0)
		mysql_error_report(s, psprintf("reading table \"%s\".\"%s\"",
									   t->schema, t->tb));
	/* reads nothing: mysql_nb_real_query read the column definitions */
	s->scan_res = mysql_use_result(s->conn);
	if (s->scan_res == NULL)
		mysql_error_report(s, psprintf("reading table \"%s\".\"%s\"",
									   t->schema, t->tb));
	if (mysql_num_fields(s->scan_res) != (unsigned int) t->ncolumns)
		elog(ERROR, "MySQL returned %u columns for table \"%s\".\"%s\", expected %d",
			 mysql_num_fields(s->scan_res), t->schema, t->tb, t->ncolumns);
	pfree(sql.data);
	s->scan_table = t;
	s->scan_active = true;
}

/* Next row, each value converted to PostgreSQL input text. */
static bool
mysql_source_scan_next(Source *s, char **values, int *lengths)
{
	MYSQL_ROW	row;
	unsigned long *lens;
	int			i;

	CHECK_FOR_INTERRUPTS();
	if (!s->scan_active || s->scan_res == NULL)
		elog(ERROR, "no MySQL scan in progress");
	if (s->scan_done)
		return false;
	row = mysql_nb_fetch_row(s, s->scan_res);
	if (row == NULL)
	{
		if (mysql_errno(s->conn) != 0)
			mysql_error_report(s, psprintf("reading table \"%s\".\"%s\"",
										   s->scan_schema, s->scan_tb));
		s->scan_done = true;
		return false;
	}
	lens = mysql_fetch_lengths(s->scan_res);
	if (lens == NULL)
		mysql_error_report(s, psprintf("reading table \"%s\".\"%s\"",
									   s->scan_schema, s->scan_tb));
	s->scan_rows++;

	mysql_convert_row(s, row, lens, values, lengths);
	for (i = 0; i < s->scan_nkeys; i++)
	{
		int			col = s->scan_table->key_cols[i];

		resetStringInfo(&s->scan_keys[i]);
		if (values[col] != NULL)
			appendBinaryStringInfo(&s->scan_keys[i], values[col], lengths[col]);
	}
	return true;
}

/*
 * End a scan.  Unread rows of a stopped scan are read and dropped by
 * mysql_free_result.  At the last batch of a table (fewer rows than the
 * limit), a WARNING tells how many zero dates became -infinity.
 */
static void
mysql_source_scan_end(Source *s)
{
	bool		last_batch;

	if (!s->scan_active)
		return;
	s->scan_active = false;
	last_batch = s->scan_done;
	/* rows remain: the query is parked for the next batch */
	if (!last_batch && s->scan_nkeys > 0)
		return;
	free_scan(s);
	if (!last_batch)
		return;
	mysql_report_zero_dates(s);
}

const SourceOps mysql_source_ops = {
	.connect = mysql_source_connect,
	.list_tables = mysql_source_list_tables,
	.scan_begin = mysql_source_scan_begin,
	.scan_next = mysql_source_scan_next,
	.scan_end = mysql_source_scan_end,
	.list_structures = mysql_source_list_structures,
	.list_schema_objects = mysql_source_list_schema_objects,
	.key_int_range = mysql_source_key_int_range,
};
