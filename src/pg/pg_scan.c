/*-------------------------------------------------------------------------
 *
 * pg_source.c
 *	  The PostgreSQL source: connect with libpq, discover tables from the
 *	  system catalogs, stream rows in order-column order with COPY TO STDOUT.
 *
 * Rows come from COPY (SELECT ... WHERE key > position ORDER BY key LIMIT n)
 * TO STDOUT.  One such query serves consecutive batches of a table (up to
 * PG_COPY_CHUNK_ROWS rows): between two batches it is parked, held back by
 * TCP, and the next batch takes it up where the last one ended, so the
 * source goes on reading while the target commits.  The sink takes the
 * COPY text lines as they are (scan_next_line); only the order column's
 * value is un-escaped, for the position.
 *
 * This is the only file that talks to a source PostgreSQL server.  Every
 * libpq return value is checked; the connection, any open result and the
 * wait event set are released by a memory context callback, so an ERROR
 * anywhere leaks nothing.  All waits for the server go through the latch,
 * so a worker waiting for its source still answers SIGTERM and notices the
 * postmaster's death.
 *
 * The session is set up so that every value comes out in a text that the
 * target reads back to the same value: client_encoding UTF8, DateStyle ISO,
 * IntervalStyle postgres, extra_float_digits 3, TimeZone UTC, bytea_output
 * hex, lc_monetary C, and search_path pg_catalog (so that format_type
 * qualifies every type that is not built in); enable_sort is off for the
 * COPY queries, so that ordered reads go through the key's index and never
 * sort a table.
 *
 * Type mapping (source type -> target type):
 *
 *	built-in types (pg_catalog), arrays	the same type, format_type of the
 *	and ranges of them					source: numeric(p,s), timestamptz,
 *										bytea, jsonb, int4range, text[], ...
 *	money								money (read as numeric, so the text
 *										does not depend on lc_monetary)
 *	domain								its base type, with the base's
 *										typmod (the domain's constraints
 *										are not copied)
 *	enum								text (the label)
 *	composite type						text (the row literal "(1,x)")
 *	range / multirange not built in		text
 *	reg* (regclass, regtype, ...)		text (names, which need not exist
 *										on the target)
 *	arrays of the above					text[] / base type[]
 *	other types (from extensions:		the same type, schema-qualified
 *	citext, hstore, ...)				("public.citext"): the target needs
 *										the same extension in that schema
 *
 * Generated columns are not copied (nor created on the target); dropped
 * columns are not seen.  Partitioned tables are copied once, through their
 * root; partitions are never listed.  Inheritance children are separate
 * tables: a parent is read with ONLY.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "libpq-fe.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "config.h"
#include "order_key.h"
#include "privileges.h"
#include "source.h"

#define PG_CONNECT_TIMEOUT_SECS 10
#define PG_MIN_SERVER_VERSION 120000
#define PG_COPY_CHUNK_ROWS 1000000	/* rows a COPY query reads at most */

/* What a scan needs to know about a table, found by list_tables. */
typedef struct PgTableInfo
{
	char	   *schema;
	char	   *tb;
	char	   *relation;		/* [ONLY] "schema"."tb" */
	char	   *select_list;	/* quoted columns, money cast to numeric */
	char	  **key_casts;		/* per key column: type to cast a resume value to, or NULL */
} PgTableInfo;

struct Source
{
	PGconn	   *conn;
	MemoryContext cxt;			/* holds this struct and the scan state */
	MemoryContextCallback callback;
	char	   *server;			/* "host:port", for messages */
	char	   *password;		/* only to scrub it from libpq's messages */
	PGresult   *res;			/* a result being read, or NULL */
	WaitEventSet *wes;			/* latch, postmaster death, socket readable */
	List	   *tables;			/* PgTableInfo of the listed tables */
	bool		sort_off;		/* enable_sort is off (set before the first COPY) */

	/*
	 * The current scan.  One COPY query serves several batches (up to
	 * PG_COPY_CHUNK_ROWS rows): between two batches it is parked, and the
	 * next scan_begin of the same table after the last row read takes it
	 * up again, so the source keeps streaming while the target commits.
	 */
	bool		scan_active;	/* between scan_begin and scan_end */
	bool		copy_open;		/* a COPY is running (maybe parked) */
	const PgTableInfo *scan_info;
	const SourceTable *scan_table;
	char	   *scan_what;		/* "reading table ...", for messages */
	int			scan_ncols;
	int64		scan_limit;		/* rows of this batch at most, 0: all */
	int64		scan_rows;		/* rows of this batch so far */
	int64		chunk_limit;	/* the COPY's LIMIT, 0: none */
	int64		chunk_rows;		/* rows of the COPY so far */
	char	   *row;			/* libpq's buffer of the current row */
	StringInfoData *keys;		/* the order key's values of the last row */
	char	  **key_data;		/* keys[k].data, as a position */
	int			nkeys;
};

static void pg_error_report(Source *s, PGresult *res, const char *what) pg_attribute_noreturn();
static void bad_copy_row(Source *s, const char *why) pg_attribute_noreturn();

/*
 * Memory context reset callback: free the open result, the wait event set
 * and close the connection.  Closing the socket of a COPY in progress ends
 * it on the server side.
 */
static void
pg_source_release(void *arg)
{
	Source	   *s = (Source *) arg;

	if (s->row)
	{
		PQfreemem(s->row);
		s->row = NULL;
	}
	if (s->res)
	{
		PQclear(s->res);
		s->res = NULL;
	}
	if (s->wes)
	{
		FreeWaitEventSet(s->wes);
		s->wes = NULL;
	}
	if (s->conn)
	{
		PQfinish(s->conn);
		s->conn = NULL;
	}
}

/*
 * A libpq message fit for an error report: without its trailing newline,
 * and with the password (should libpq ever quote it) masked.
 */
static char *
clean_message(Source *s, const char *msg)
{
	StringInfoData buf;
	const char *p;
	size_t		pwlen = s && s->password ? strlen(s->password) : 0;

	if (msg == NULL || msg[0] == '\0')
		return pstrdup("no message from libpq");
	initStringInfo(&buf);
	p = msg;
	while (*p)
	{
		if (pwlen >= 3 && strncmp(p, s->password, pwlen) == 0)
		{
			appendStringInfoString(&buf, "*****");
			p += pwlen;
		}
		else
			appendStringInfoChar(&buf, *p++);
	}
	while (buf.len > 0 && (buf.data[buf.len - 1] == '\n' || buf.data[buf.len - 1] == ' '))
		buf.data[--buf.len] = '\0';
	return buf.data;
}

/*
 * ERROR for a failed libpq call or a failed statement ("what" failed),
 * with the server's message.  The SQLSTATE of the source's error is kept
 * (permission denied stays 42501); a broken connection is
 * ERRCODE_CONNECTION_FAILURE.  res, if not NULL, is cleared first.
 */
static void
pg_error_report(Source *s, PGresult *res, const char *what)
{
	int			code = ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
	char	   *msg;
	char	   *detail = NULL;
	char	   *hint = NULL;

	if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY))
	{
		const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		msg = clean_message(s, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
		if (PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL))
			detail = clean_message(s, PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
		if (PQresultErrorField(res, PG_DIAG_MESSAGE_HINT))
			hint = clean_message(s, PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
		if (sqlstate && strlen(sqlstate) == 5)
			code = MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2],
								 sqlstate[3], sqlstate[4]);
		/* the source server shut down or crashed: the connection is lost */
		if (code == ERRCODE_ADMIN_SHUTDOWN || code == ERRCODE_CRASH_SHUTDOWN ||
			code == ERRCODE_CANNOT_CONNECT_NOW)
			code = ERRCODE_CONNECTION_FAILURE;
	}
	else
		msg = clean_message(s, PQerrorMessage(s->conn));
	if (PQstatus(s->conn) == CONNECTION_BAD)
		code = ERRCODE_CONNECTION_FAILURE;
	if (res)
	{
		if (res == s->res)
			s->res = NULL;
		PQclear(res);
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg("%s on PostgreSQL server \"%s\" failed: %s", what, s->server, msg),
			 detail ? errdetail("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0));
}

/* "reading table "s"."t"" */
static char *
reading_what(const char *schema, const char *tb)
{
	return psprintf("reading table \"%s\".\"%s\"", schema, tb);
}

/*
 * Wait until the connection's socket is readable (or the latch is set),
 * handling interrupts.  Then read what arrived.
 */
static void
wait_and_consume(Source *s, const char *what)
{
	WaitEvent	event;

	(void) WaitEventSetWait(s->wes, -1, &event, 1, PG_WAIT_EXTENSION);
	if (event.events & WL_LATCH_SET)
		ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	if (PQconsumeInput(s->conn) == 0)
		pg_error_report(s, NULL, what);
}

/* The next result of the statement sent, waiting for it; NULL at the end. */
static PGresult *
get_result(Source *s, const char *what)
{
	while (PQisBusy(s->conn))
		wait_and_consume(s, what);
	return PQgetResult(s->conn);
}

/*
 * Run a statement with text parameters and wait for its result, which must
 * have status expect.  The result stays in s->res until clear_result (or
 * the release callback).
 */
static PGresult *
run_query(Source *s, const char *sql, int nparams, const char *const *params,
		  ExecStatusType expect, const char *what)
{
	PGresult   *res;
	PGresult   *extra;

	Assert(s->res == NULL);
	if (PQsendQueryParams(s->conn, sql, nparams, NULL, params, NULL, NULL, 0) == 0)
		pg_error_report(s, NULL, what);
	res = get_result(s, what);
	if (res == NULL)
		pg_error_report(s, NULL, what);
	s->res = res;
	/* the connection is ready again after the last (NULL) result */
	while ((extra = get_result(s, what)) != NULL)
		PQclear(extra);
	if (PQresultStatus(res) != expect)
		pg_error_report(s, res, what);
	return res;
}

static void
clear_result(Source *s)
{
	if (s->res)
		PQclear(s->res);
	s->res = NULL;
}

/* Append a name quoted for the source server. */
static void
append_ident(Source *s, StringInfo sql, const char *name)
{
	char	   *q = PQescapeIdentifier(s->conn, name, strlen(name));

	if (q == NULL)
		pg_error_report(s, NULL, psprintf("quoting the name \"%s\"", name));
	appendStringInfoString(sql, q);
	PQfreemem(q);
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

/*
 * "host:port" of a connection string, for messages, and its password (to
 * scrub it from libpq's messages).  ERROR, with the URL masked, when libpq
 * cannot parse it.
 */
static void
parse_pg_url(Source *s, const char *url)
{
	char	   *errmsg_pq = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &errmsg_pq);
	PQconninfoOption *o;
	const char *host = NULL;
	const char *port = NULL;

	if (opts == NULL)
	{
		char	   *detail = errmsg_pq ? pstrdup(errmsg_pq) : pstrdup("out of memory");

		if (errmsg_pq)
			PQfreemem(errmsg_pq);
		/* the password is not known: mask the URL's userinfo in libpq's words */
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid PostgreSQL source url \"%s\"", url_mask_password(url)),
				 errdetail("%s", strstr(detail, "@") ? "libpq cannot parse it." :
						   clean_message(NULL, detail))));
	}
	for (o = opts; o->keyword; o++)
	{
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0 && host == NULL)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "password") == 0)
			s->password = pstrdup(o->val);
	}
	s->server = psprintf(host && strchr(host, ':') && !strchr(host, '/') ? "[%s]:%s" : "%s:%s",
						 host ? host : "localhost", port ? port : "5432");
	PQconninfoFree(opts);
}

/* Does the connection string set a non-empty password? */
static bool
url_has_password(const char *url)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	PQconninfoOption *o;
	bool		found = false;

	if (opts == NULL)
		return false;
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL && o->val[0] != '\0')
			found = true;
	PQconninfoFree(opts);
	return found;
}

/*
 * As dblink does: a task owned by a role that is not a superuser must
 * authenticate with the password of its URL.  Otherwise it could connect
 * as the server's OS user (~postgres/.pgpass, peer or trust auth) to a
 * server that role cannot reach itself.  Before the connection: a password
 * in the URL; after it: the server asked for it.
 */
static void
check_password_used(Source *s, const char *url, bool connected)
{
	if (current_user_is_superuser())
		return;
	if (!connected && !url_has_password(url))
		ereport(ERROR,
				(errcode(ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED),
				 errmsg("could not connect to PostgreSQL server \"%s\": password is required: "
						"the task's owner is not a superuser, so its source URL must contain the password",
						s->server)));
	if (connected && !PQconnectionUsedPassword(s->conn))
		ereport(ERROR,
				(errcode(ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED),
				 errmsg("could not connect to PostgreSQL server \"%s\": password is required: "
						"the task's owner is not a superuser, and the server did not ask for the password",
						s->server),
				 errhint("Connect over TCP to a server with password authentication for this user.")));
}

/*
 * Connect to the source server of the config and prepare the session.
 * The URL is handed to libpq whole (postgres://user:pass@host:port/db?...);
 * our settings before it are defaults the URL may override, the ones
 * after it (client_encoding) are forced.
 */
static Source *
pg_source_connect(const TaskConfig *config)
{
	Source	   *s;
	const char *keys[8];
	const char *vals[8];
	int			n = 0;
	PostgresPollingStatusType status;
	TimestampTz deadline;
	char	   *timeout_str = psprintf("%d", PG_CONNECT_TIMEOUT_SECS);

	s = palloc0(sizeof(Source));
	s->cxt = CurrentMemoryContext;
	parse_pg_url(s, config->url);

	keys[n] = "connect_timeout";
	vals[n++] = timeout_str;
	keys[n] = "keepalives_idle";
	vals[n++] = "60";
	keys[n] = "keepalives_interval";
	vals[n++] = "10";
	keys[n] = "keepalives_count";
	vals[n++] = "6";
	keys[n] = "dbname";
	vals[n++] = config->url;
	keys[n] = "fallback_application_name";
	vals[n++] = "ape_resume";
	keys[n] = "client_encoding";
	vals[n++] = "UTF8";
	keys[n] = NULL;
	vals[n] = NULL;

	check_password_used(s, config->url, false);
	s->conn = PQconnectStartParams(keys, vals, 1);
	if (s->conn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not initialize a PostgreSQL client connection")));
	s->callback.func = pg_source_release;
	s->callback.arg = s;
	MemoryContextRegisterResetCallback(s->cxt, &s->callback);

	/* as libpqwalreceiver does: poll, waiting on the latch and the socket */
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   PG_CONNECT_TIMEOUT_SECS * 1000);
	status = PQstatus(s->conn) == CONNECTION_BAD ? PGRES_POLLING_FAILED :
		PGRES_POLLING_WRITING;
	while (status != PGRES_POLLING_OK && status != PGRES_POLLING_FAILED)
	{
		int			io_flag = status == PGRES_POLLING_READING ?
			WL_SOCKET_READABLE : WL_SOCKET_WRITEABLE;
		long		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
																deadline);
		int			rc;

		if (remaining <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
					 errmsg("could not connect to PostgreSQL server \"%s\": timeout after %d seconds",
							s->server, PG_CONNECT_TIMEOUT_SECS)));
		rc = WaitLatchOrSocket(MyLatch,
							   WL_EXIT_ON_PM_DEATH | WL_LATCH_SET | WL_TIMEOUT | io_flag,
							   PQsocket(s->conn), remaining, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		if (rc & io_flag)
			status = PQconnectPoll(s->conn);
	}
	if (status != PGRES_POLLING_OK || PQstatus(s->conn) != CONNECTION_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to PostgreSQL server \"%s\": %s",
						s->server, clean_message(s, PQerrorMessage(s->conn)))));
	check_password_used(s, config->url, true);

	if (PQserverVersion(s->conn) < PG_MIN_SERVER_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("PostgreSQL server \"%s\" has version %d, ape_resume needs 12 or later",
						s->server, PQserverVersion(s->conn))));
	if (PQclientEncoding(s->conn) != PG_UTF8)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not set client_encoding UTF8 on PostgreSQL server \"%s\"",
						s->server)));

	s->wes = CreateWaitEventSet(s->cxt, 3);
	AddWaitEventToSet(s->wes, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(s->wes, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(s->wes, WL_SOCKET_READABLE, PQsocket(s->conn), NULL, NULL);

	(void) run_query(s,
					"SELECT pg_catalog.set_config('search_path', 'pg_catalog', false),"
					" pg_catalog.set_config('DateStyle', 'ISO', false),"
					" pg_catalog.set_config('IntervalStyle', 'postgres', false),"
					" pg_catalog.set_config('extra_float_digits', '3', false),"
					" pg_catalog.set_config('TimeZone', 'UTC', false),"
					" pg_catalog.set_config('bytea_output', 'hex', false),"
					" pg_catalog.set_config('lc_monetary', 'C', false),"
					" pg_catalog.set_config('standard_conforming_strings', 'on', false),"
					" pg_catalog.set_config('statement_timeout', '0', false),"
					" pg_catalog.set_config('lock_timeout', '0', false),"
					" pg_catalog.set_config('idle_in_transaction_session_timeout', '0', false)",
					0, NULL, PGRES_TUPLES_OK, "setting up the session");
	clear_result(s);
	return s;
}

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
"        pg_catalog.format_type(a.atttypid, NULL)"
"   FROM pg_catalog.pg_attribute a"
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

/* Is the column copied (not generated)?  Its index in t->columns, or -1. */
static int
column_index(const SourceTable *t, const char *name)
{
	for (int i = 0; i < t->ncolumns; i++)
		if (strcmp(t->columns[i].name, name) == 0)
			return i;
	return -1;
}

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
	append_ident(s, &sql, t->columns[col].name);
	appendStringInfoString(&sql, " IS NULL)");
	if (PQsendQuery(s->conn, sql.data) == 0)
		pg_error_report(s, NULL, "checking a unique key for NULLs");
	while ((res = get_result(s, "checking a unique key for NULLs")) != NULL)
	{
		s->res = res;
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			no_null = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		else if (PQresultStatus(res) == PGRES_FATAL_ERROR &&
				 PQstatus(s->conn) == CONNECTION_OK)
			no_null = false;
		else
			pg_error_report(s, res, "checking a unique key for NULLs");
		clear_result(s);
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
load_table(Source *s, SourceTable *t, const char *oid, char relkind)
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

	/* columns */
	res = run_query(s, columns_sql, 1, params, PGRES_TUPLES_OK,
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
		n++;
	}
	clear_result(s);
	t->ncolumns = n;
	if (n == 0)
	{
		ereport(WARNING,
				(errmsg("table \"%s\".\"%s\" is not copied: it has no column to copy",
						t->schema, t->tb)));
		return false;
	}

	/* keys: one extra round with r == nrows flushes the last index */
	res = run_query(s, keys_sql, 1, params, PGRES_TUPLES_OK,
					psprintf("reading the keys of table \"%s\".\"%s\"", t->schema, t->tb));
	nrows = PQntuples(res);
	for (int r = 0; r <= nrows; r++)
	{
		const char *index = r < nrows ? PQgetvalue(res, r, 0) : NULL;

		if (cur && (index == NULL || strcmp(cur->index, index) != 0))
		{
			if (cur_usable && cur->cols != NIL)
			{
				List	   *names = NIL;
				ListCell   *lc;

				foreach(lc, cur->cols)
					names = lappend(names, t->columns[lfirst_int(lc)].name);
				if (cur->primary)
					t->primary_key = names;
				else
					t->unique_keys = lappend(t->unique_keys, names);
				candidates = lappend(candidates, cur);
			}
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
			column_index(t, PQgetvalue(res, r, 2)) < 0)
			cur_usable = false; /* an expression or a column not copied */
		else
			cur->cols = lappend_int(cur->cols, column_index(t, PQgetvalue(res, r, 2)));
		if (strcmp(PQgetvalue(res, r, 5), "t") != 0)
			cur->orderable = false;
	}
	clear_result(s);

	/* what the scans need, kept with the connection */
	old = MemoryContextSwitchTo(s->cxt);
	info = palloc0(sizeof(PgTableInfo));
	info->schema = pstrdup(t->schema);
	info->tb = pstrdup(t->tb);
	initStringInfo(&rel);
	if (relkind != 'p')
		appendStringInfoString(&rel, "ONLY ");
	append_ident(s, &rel, t->schema);
	appendStringInfoChar(&rel, '.');
	append_ident(s, &rel, t->tb);
	info->relation = rel.data;
	initStringInfo(&sel);
	for (int i = 0; i < t->ncolumns; i++)
	{
		if (i > 0)
			appendStringInfoString(&sel, ", ");
		append_ident(s, &sel, t->columns[i].name);
		if (casts[i])
			appendStringInfo(&sel, "::%s", casts[i]);
	}
	info->select_list = sel.data;
	s->tables = lappend(s->tables, info);
	MemoryContextSwitchTo(old);

	/* primary key first, then by index name: the query's order */
	order_key_choose(t, candidates, column_has_no_null, s);
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
			clear_result(s);
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
static List *
pg_source_list_tables(Source *s, const NameFilter *filter)
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

	res = run_query(s,
					"SELECT c.oid, n.nspname, c.relname, c.relkind,"
					"       CASE WHEN c.relkind = 'p' THEN"
					"         (SELECT CASE WHEN count(*) FILTER (WHERE l.reltuples >= 0) = 0"
					"                      THEN -1"
					"                      ELSE sum(l.reltuples) FILTER (WHERE l.reltuples >= 0) END"
					"            FROM pg_catalog.pg_partition_tree(c.oid) pt"
					"            JOIN pg_catalog.pg_class l ON l.oid = pt.relid"
					"           WHERE pt.isleaf)"
					"       ELSE c.reltuples END::pg_catalog.int8"
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
		f->oid = pstrdup(PQgetvalue(res, r, 0));
		f->relkind = PQgetvalue(res, r, 3)[0];
		found = lappend(found, f);
	}
	clear_result(s);

	foreach(lc, found)
	{
		Found	   *f = lfirst(lc);

		CHECK_FOR_INTERRUPTS();
		if (load_table(s, f->table, f->oid, f->relkind))
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
static const PgTableInfo *
table_info(Source *s, const SourceTable *t)
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

	res = run_query(s,
					"SELECT c.oid, c.relkind FROM pg_catalog.pg_class c"
					"  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
					" WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
					2, params, PGRES_TUPLES_OK,
					psprintf("looking up table \"%s\".\"%s\"", t->schema, t->tb));
	if (PQntuples(res) != 1)
	{
		clear_result(s);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("source table \"%s\".\"%s\" no longer exists on PostgreSQL server \"%s\"",
						t->schema, t->tb, s->server)));
	}
	oid = pstrdup(PQgetvalue(res, 0, 0));
	relkind = PQgetvalue(res, 0, 1)[0];
	clear_result(s);

	now = palloc0(sizeof(SourceTable));
	now->schema = t->schema;
	now->tb = t->tb;
	if (!load_table(s, now, oid, relkind) || now->ncolumns != t->ncolumns ||
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

/* KeyAppendIdent of order_key.h */
static void
append_key_ident(void *arg, StringInfo sql, const char *name)
{
	append_ident(arg, sql, name);
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
		(void) run_query(s, "SELECT pg_catalog.set_config('enable_sort', 'off', false)",
						 0, NULL, PGRES_TUPLES_OK, "setting up the session");
		clear_result(s);
		s->sort_off = true;
	}

	initStringInfo(&sql);
	appendStringInfo(&sql, "COPY (SELECT %s FROM %s", info->select_list, info->relation);
	if (t->nkeys > 0)
	{
		/* (k1, k2) > (v1, v2): an index condition of the key's index */
		if (after != NULL)
		{
			appendStringInfoString(&sql, " WHERE ");
			order_key_append_after(&sql, t, after, KEYSET_ROW, append_key_ident,
								   append_key_value, s);
		}
		appendStringInfoString(&sql, " ORDER BY ");
		order_key_append_columns(&sql, t, append_key_ident, s);
		if (s->chunk_limit > 0)
			appendStringInfo(&sql, " LIMIT " INT64_FORMAT, s->chunk_limit);
	}
	appendStringInfoString(&sql, ") TO STDOUT");

	if (PQsendQuery(s->conn, sql.data) == 0)
		pg_error_report(s, NULL, s->scan_what);
	pfree(sql.data);
	res = get_result(s, s->scan_what);
	if (res == NULL)
		pg_error_report(s, NULL, s->scan_what);
	if (PQresultStatus(res) != PGRES_COPY_OUT)
	{
		const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		s->res = res;
		if (after != NULL && sqlstate && strncmp(sqlstate, "22", 2) == 0)
		{
			char	   *msg = clean_message(s, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));

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
						s->scan_what, s->server, clean_message(s, errbuf))));
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
			wait_and_consume(s, s->scan_what);
			continue;
		}
		break;
	}
	s->copy_open = false;
	/* a cancelled COPY ends with query_canceled: expected */
	while ((res = get_result(s, s->scan_what)) != NULL)
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
	info = table_info(s, t);

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
	while ((res = get_result(s, s->scan_what)) != NULL)
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
			wait_and_consume(s, s->scan_what);
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
};
