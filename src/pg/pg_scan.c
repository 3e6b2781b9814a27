/*-------------------------------------------------------------------------
 *
 * pg_scan.c
 *	  The PostgreSQL source's scans: COPY (SELECT ...) TO STDOUT queries
 *	  in order-key order, started after a position, parked between batches
 *	  and taken up by the next one, cancelled when not; COPY text rows
 *	  split and un-escaped, or passed on as lines with only their key
 *	  values un-escaped; and pg_source_ops, the only name seen outside
 *	  src/pg/.
 *
 * See pg_internal.h for how the PostgreSQL source works as a whole.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "order_key.h"
#include "pg_internal.h"

#define PG_COPY_CHUNK_ROWS 1000000	/* rows a COPY query reads at most */

static void bad_copy_row(Source *s, const char *why) pg_attribute_noreturn();

/* "reading table "s"."t"" */
static char *
reading_what(const char *schema, const char *tb)
{
	return psprintf("reading table \"%s\".\"%s\"", schema, tb);
}

/* Append a string literal for the source server. */
static void
append_literal(Source *s, StringInfo sql, const char *value)
{
	char	   *q = PQescapeLiteral(s->conn, value, strlen(value));

	if (q == NULL)
		pg_error_report(s, NULL, "quoting a resume value");
	appendStringInfoString(sql, q);
	PQfreemem(q);
}

/* KeyAppendIdent of order_key.h */
static void
append_key_ident(void *arg, StringInfo sql, const char *name)
{
	pg_append_ident(arg, sql, name);
}

/*
 * KeyAppendValue of order_key.h: a quoted literal, which the source
 * coerces to the column's type as it parses the statement.
 */
static void
append_key_value(void *arg, StringInfo sql, const SourceTable *t, int k, const char *value)
{
	Source	   *s = arg;

	append_literal(s, sql, value);
	if (s->scan_info->key_casts[k])
		appendStringInfo(sql, "::%s", s->scan_info->key_casts[k]);
}

/* Room for the order key's values of the scan's rows. */
static void
set_scan_keys(Source *s, int nkeys)
{
	MemoryContext old = MemoryContextSwitchTo(s->cxt);

	for (int k = 0; k < s->nkeys; k++)
		pfree(s->keys[k].data);
	if (s->keys)
	{
		pfree(s->keys);
		pfree(s->key_data);
	}
	s->nkeys = nkeys;
	s->keys = palloc(sizeof(StringInfoData) * Max(nkeys, 1));
	s->key_data = palloc(sizeof(char *) * Max(nkeys, 1));
	for (int k = 0; k < nkeys; k++)
	{
		initStringInfo(&s->keys[k]);
		s->key_data[k] = s->keys[k].data;
	}
	MemoryContextSwitchTo(old);
}

/* Are t's columns those of info's select list, in its order? */
static bool
same_columns(const SourceTable *t, const PgTableInfo *info)
{
	if (t->ncolumns != info->ncols)
		return false;
	for (int i = 0; i < t->ncolumns; i++)
		if (strcmp(t->columns[i].name, info->col_names[i]) != 0)
			return false;
	return true;
}

/*
 * Start a COPY (SELECT ...) TO STDOUT of the scan's table: ordered by the
 * order key, after position after, at most chunk_limit rows.  The resume
 * value is a quoted literal that the source coerces to the column's type
 * as it parses the statement, so a value that does not fit fails before
 * any row is sent.
 */
static void
start_copy(Source *s, char *const *after)
{
	const PgTableInfo *info = s->scan_info;
	const SourceTable *t = s->scan_table;
	StringInfoData sql;
	PGresult   *res;

	/*
	 * Ordered reads go through the key's index, never a sort of the table.
	 * Set only now: the catalog queries of list_tables need their sorts.
	 */
	if (!s->sort_off)
	{
		(void) pg_run_query(s, "SELECT pg_catalog.set_config('enable_sort', 'off', false)",
						 0, NULL, PGRES_TUPLES_OK, "setting up the session");
		pg_clear_result(s);
		s->sort_off = true;
	}

	initStringInfo(&sql);
	if (same_columns(t, info))
		appendStringInfo(&sql, "COPY (SELECT %s FROM %s", info->select_list, info->relation);
	else
	{
		/* some columns only (the key's, to cut the table into chunks) */
		appendStringInfoString(&sql, "COPY (SELECT ");
		for (int i = 0; i < t->ncolumns; i++)
		{
			int			j = 0;

			while (j < info->ncols && strcmp(info->col_names[j], t->columns[i].name) != 0)
				j++;
			if (j == info->ncols)
				elog(ERROR, "column \"%s\" of table \"%s\".\"%s\" is not a copied column",
					 t->columns[i].name, t->schema, t->tb);
			appendStringInfo(&sql, "%s%s", i > 0 ? ", " : "", info->col_items[j]);
		}
		appendStringInfo(&sql, " FROM %s", info->relation);
	}
	/* (k1, k2) > (v1, v2): an index condition of the key's index */
	order_key_append_where(&sql, t, after, KEYSET_ROW, append_key_ident,
						   append_key_value, s);
	if (t->nkeys > 0)
	{
		appendStringInfoString(&sql, " ORDER BY ");
		order_key_append_columns(&sql, t, append_key_ident, s);
		if (s->chunk_limit > 0)
			appendStringInfo(&sql, " LIMIT " INT64_FORMAT, s->chunk_limit);
	}
	appendStringInfoString(&sql, ") TO STDOUT");

	/*
	 * The extended protocol takes one statement only: whatever a condition
	 * holds, this runs no second one.
	 */
	if (PQsendQueryParams(s->conn, sql.data, 0, NULL, NULL, NULL, NULL, 0) == 0)
		pg_error_report(s, NULL, s->scan_what);
	pfree(sql.data);
	res = pg_get_result(s, s->scan_what);
	if (res == NULL)
		pg_error_report(s, NULL, s->scan_what);
	if (PQresultStatus(res) != PGRES_COPY_OUT)
	{
		const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		s->res = res;
		if (after != NULL && sqlstate && strncmp(sqlstate, "22", 2) == 0)
		{
			char	   *msg = pg_clean_message(s, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));

			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid resume value \"%s\" for column \"%s\" of table \"%s\".\"%s\"",
							order_key_values_text(t->nkeys, after),
							order_key_names_text(t), t->schema, t->tb),
					 errdetail("The source server says: %s", msg)));
		}
		pg_error_report(s, res, s->scan_what);
	}
	PQclear(res);
	s->res = NULL;
	s->copy_open = true;
	s->chunk_rows = 0;
}

/*
 * Stop the running COPY: cancel it on the server and drop the rest of its
 * data.
 */
static void
cancel_copy(Source *s)
{
	PGcancel   *cancel;
	char		errbuf[256];
	char	   *buf;
	int			len;
	PGresult   *res;

	if (!s->copy_open)
		return;
	if (s->row)
	{
		PQfreemem(s->row);
		s->row = NULL;
	}
	cancel = PQgetCancel(s->conn);
	if (cancel == NULL)
		pg_error_report(s, NULL, s->scan_what);
	if (PQcancel(cancel, errbuf, sizeof(errbuf)) == 0)
	{
		PQfreeCancel(cancel);
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not cancel %s on PostgreSQL server \"%s\": %s",
						s->scan_what, s->server, pg_clean_message(s, errbuf))));
	}
	PQfreeCancel(cancel);
	/* drop what was sent before the cancel arrived */
	for (;;)
	{
		len = PQgetCopyData(s->conn, &buf, 1);
		if (len > 0)
		{
			PQfreemem(buf);
			continue;
		}
		if (len == 0)
		{
			pg_wait_and_consume(s, s->scan_what);
			continue;
		}
		break;
	}
	s->copy_open = false;
	/* a cancelled COPY ends with query_canceled: expected */
	while ((res = pg_get_result(s, s->scan_what)) != NULL)
	{
		const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		if (PQresultStatus(res) != PGRES_COMMAND_OK &&
			!(sqlstate && strcmp(sqlstate, "57014") == 0))
		{
			s->res = res;
			pg_error_report(s, res, s->scan_what);
		}
		PQclear(res);
	}
	if (PQstatus(s->conn) != CONNECTION_OK)
		pg_error_report(s, NULL, s->scan_what);
}

/*
 * Start streaming a table's rows ordered by its order column, after
 * position after, at most limit rows.  A parked COPY of the same table that
 * stopped right at after goes on; any other is cancelled first.
 */
static void
pg_source_scan_begin(Source *s, const SourceTable *t,
					 char *const *after, int64 limit)
{
	const PgTableInfo *info;

	if (s->scan_active)
		elog(ERROR, "a PostgreSQL scan is already in progress");
	if (t->nkeys == 0 && (after != NULL || limit != 0))
		elog(ERROR, "table \"%s\".\"%s\" has no order key to resume on",
			 t->schema, t->tb);
	info = pg_table_info(s, t);

	if (s->copy_open)
	{
		if (s->scan_info == info && s->scan_table == t && t->nkeys > 0 &&
			after != NULL && s->nkeys == t->nkeys &&
			order_key_equal(t->nkeys, after, s->key_data))
		{
			s->scan_active = true;
			s->scan_limit = limit;
			s->scan_rows = 0;
			return;
		}
		cancel_copy(s);
	}

	s->scan_info = info;
	s->scan_table = t;
	s->scan_ncols = t->ncolumns;
	if (s->scan_what)
		pfree(s->scan_what);
	s->scan_what = MemoryContextStrdup(s->cxt, reading_what(t->schema, t->tb));
	s->scan_limit = limit;
	s->scan_rows = 0;
	/* a whole number of batches a query, so that chunks end with batches */
	s->chunk_limit = limit > 0 ? Max(limit, (PG_COPY_CHUNK_ROWS / limit) * limit) : 0;
	set_scan_keys(s, t->nkeys);
	start_copy(s, after);
	s->scan_active = true;
}

/* ERROR for COPY data that does not have the shape asked for. */
static void
bad_copy_row(Source *s, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("unexpected COPY data from PostgreSQL server \"%s\" for table \"%s\".\"%s\": %s",
					s->server, s->scan_info->schema, s->scan_info->tb, why)));
}

/* Value of a hex digit, -1 if c is none. */
static inline int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Un-escape the COPY text of one value, [p, end), into out (which may be p:
 * the result is never longer).  The escapes are those COPY FROM reads
 * (CopyReadAttributesText).  Returns the length written.
 */
static int
unescape_copy_text(Source *s, const char *p, const char *end, char *out)
{
	char	   *w = out;

	while (p < end)
	{
		char		c = *p++;

		if (c != '\\')
		{
			*w++ = c;
			continue;
		}
		if (p == end)
			bad_copy_row(s, "a value ends with a backslash");
		c = *p++;
		switch (c)
		{
			case 'b':
				*w++ = '\b';
				break;
			case 'f':
				*w++ = '\f';
				break;
			case 'n':
				*w++ = '\n';
				break;
			case 'r':
				*w++ = '\r';
				break;
			case 't':
				*w++ = '\t';
				break;
			case 'v':
				*w++ = '\v';
				break;
			case '0':
			case '1':
			case '2':
			case '3':
			case '4':
			case '5':
			case '6':
			case '7':
				{
					int			v = c - '0';

					if (p < end && *p >= '0' && *p <= '7')
					{
						v = (v << 3) + (*p++ - '0');
						if (p < end && *p >= '0' && *p <= '7')
							v = (v << 3) + (*p++ - '0');
					}
					*w++ = (char) (v & 0377);
					break;
				}
			case 'x':
				if (p < end && hex_value(*p) >= 0)
				{
					int			v = hex_value(*p++);

					if (p < end && hex_value(*p) >= 0)
						v = (v << 4) + hex_value(*p++);
					*w++ = (char) v;
				}
				else
					*w++ = 'x';
				break;
			default:
				*w++ = c;
				break;
		}
	}
	return (int) (w - out);
}

/*
 * Split one row of COPY text format into its values, in place: every
 * value is un-escaped where it stands and NUL-terminated where its
 * delimiter was.  \N alone is NULL.  A raw tab or newline is always a
 * delimiter: COPY TO escapes those in values.
 */
static void
decode_copy_row(Source *s, char *row, int len, char **values, int *lengths)
{
	char	   *p = row;
	char	   *end = row + len;
	int			col = 0;

	if (len < 1 || end[-1] != '\n')
		bad_copy_row(s, "a row does not end with a newline");
	for (;;)
	{
		char	   *start = p;
		char		delim;

		if (col >= s->scan_ncols)
			bad_copy_row(s, "a row has more values than columns");
		/* most values have no backslash: skip to the delimiter */
		p += strcspn(p, "\t\n\\");
		if (*p == '\\')
		{
			char	   *fend = p + strcspn(p, "\t\n");

			if (fend - start == 2 && p == start && p[1] == 'N')
			{
				values[col] = NULL;
				lengths[col] = 0;
			}
			else
			{
				lengths[col] = (int) (p - start) + unescape_copy_text(s, p, fend, p);
				values[col] = start;
			}
			p = fend;
		}
		else
		{
			values[col] = start;
			lengths[col] = (int) (p - start);
		}
		delim = *p;
		if (delim != '\t' && delim != '\n')
			bad_copy_row(s, "a value is not followed by a delimiter");
		if (values[col])
			values[col][lengths[col]] = '\0';
		col++;
		p++;
		if (delim == '\n')
			break;
	}
	if (col != s->scan_ncols)
		bad_copy_row(s, "a row has fewer values than columns");
	if (p != end)
		bad_copy_row(s, "a row has data after its newline");
}

/* Read the end of a COPY: its final result must be a success. */
static void
finish_copy(Source *s)
{
	PGresult   *res;

	s->copy_open = false;
	while ((res = pg_get_result(s, s->scan_what)) != NULL)
	{
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			s->res = res;
			pg_error_report(s, res, s->scan_what);
		}
		PQclear(res);
	}
}

/*
 * Read the next row of the scan into s->row (libpq's buffer,
 * NUL-terminated); its length, or -1 at the end of the batch or of the
 * table.  A COPY that ends with its LIMIT reached is followed by the next
 * one, after the last row read.
 */
static int
read_copy_row(Source *s)
{
	char	   *buf = NULL;
	int			len;

	if (!s->scan_active)
		elog(ERROR, "no PostgreSQL scan in progress");
	if (s->row)
	{
		PQfreemem(s->row);
		s->row = NULL;
	}
	if (!s->copy_open || (s->scan_limit > 0 && s->scan_rows >= s->scan_limit))
		return -1;
	for (;;)
	{
		len = PQgetCopyData(s->conn, &buf, 1);
		if (len > 0)
			break;
		if (len == 0)
		{
			pg_wait_and_consume(s, s->scan_what);
			continue;
		}
		if (len == -2)
			pg_error_report(s, NULL, s->scan_what);	/* the connection failed */
		finish_copy(s);
		if (s->chunk_limit > 0 && s->chunk_rows == s->chunk_limit)
		{
			/* the table may have more: the next chunk */
			start_copy(s, s->key_data);
			continue;
		}
		return -1;
	}
	s->row = buf;
	s->scan_rows++;
	s->chunk_rows++;
	return len;
}

/* Remember key value k of the row read, [p, end) escaped. */
static void
remember_key(Source *s, int k, const char *p, const char *end)
{
	StringInfo	key = &s->keys[k];

	resetStringInfo(key);
	enlargeStringInfo(key, end - p);
	key->len = unescape_copy_text(s, p, end, key->data);
	key->data[key->len] = '\0';
	s->key_data[k] = key->data;
}

/* Next row: the values of COPY text, un-escaped. */
static bool
pg_source_scan_next(Source *s, char **values, int *lengths)
{
	int			len = read_copy_row(s);

	if (len < 0)
		return false;
	decode_copy_row(s, s->row, len, values, lengths);
	for (int k = 0; k < s->nkeys; k++)
	{
		int			col = s->scan_table->key_cols[k];

		resetStringInfo(&s->keys[k]);
		if (values[col] != NULL)
			appendBinaryStringInfo(&s->keys[k], values[col], lengths[col]);
		s->key_data[k] = s->keys[k].data;
	}
	return true;
}

/*
 * Next row as the COPY text line the source sent, for the sink to take as
 * it is; only the order key's values are un-escaped, into s->keys.
 */
static bool
pg_source_scan_next_line(Source *s, const char **line, int *len,
						 const char **key_values, int *key_lens)
{
	const SourceTable *t = s->scan_table;
	int			n = read_copy_row(s);
	int			last = -1;
	const char *p;
	const char *end;

	if (n < 0)
		return false;
	*line = s->row;
	*len = n;
	if (t->nkeys == 0)
		return true;

	p = s->row;
	end = s->row + n;
	if (n < 1 || end[-1] != '\n')
		bad_copy_row(s, "a row does not end with a newline");
	for (int k = 0; k < t->nkeys; k++)
		last = Max(last, t->key_cols[k]);
	for (int i = 0; i <= last; i++)
	{
		const char *field_end = p + strcspn(p, "\t\n");

		for (int k = 0; k < t->nkeys; k++)
		{
			if (t->key_cols[k] != i)
				continue;
			if (field_end - p == 2 && p[0] == '\\' && p[1] == 'N')
			{
				key_values[k] = NULL;	/* NULL */
				key_lens[k] = 0;
				continue;
			}
			remember_key(s, k, p, field_end);
			key_values[k] = s->keys[k].data;
			key_lens[k] = s->keys[k].len;
		}
		if (i < last)
		{
			if (*field_end != '\t')
				bad_copy_row(s, "a row has fewer values than columns");
			p = field_end + 1;
		}
	}
	return true;
}

/*
 * End a scan (a batch).  A COPY that has more rows is parked for the next
 * batch (see scan_begin); libpq's buffer and the socket's hold what the
 * source sent meanwhile, and the source waits when they are full.
 */
static void
pg_source_scan_end(Source *s)
{
	if (!s->scan_active)
		return;
	if (s->row)
	{
		PQfreemem(s->row);
		s->row = NULL;
	}
	s->scan_active = false;
	/* a table without an order column cannot be taken up again */
	if (s->copy_open && s->scan_table->nkeys == 0)
		cancel_copy(s);
}

const SourceOps pg_source_ops = {
	.connect = pg_source_connect,
	.list_tables = pg_source_list_tables,
	.scan_begin = pg_source_scan_begin,
	.scan_next = pg_source_scan_next,
	.scan_end = pg_source_scan_end,
	.scan_next_line = pg_source_scan_next_line,
	.identity = pg_source_identity,
	.list_structures = pg_source_list_structures,
	.list_schema_objects = pg_source_list_schema_objects,
	.list_types = pg_source_list_types,
	.key_int_range = pg_source_key_int_range,
};
