/*-------------------------------------------------------------------------
 *
 * pg_conn.c
 *	  The PostgreSQL source's connection: parse the URL, apply the
 *	  password rule for owners that are not superusers, connect and set
 *	  up the session; run statements and wait for their results on the
 *	  latch and the socket; the release callback, libpq errors, and
 *	  quoting names.
 *
 * See pg_internal.h for how the PostgreSQL source works as a whole.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "pg_internal.h"
#include "privileges.h"

#define PG_CONNECT_TIMEOUT_SECS 10
#define PG_MIN_SERVER_VERSION 120000

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
char *
pg_clean_message(Source *s, const char *msg)
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
void
pg_error_report(Source *s, PGresult *res, const char *what)
{
	int			code = ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
	char	   *msg;
	char	   *detail = NULL;
	char	   *hint = NULL;

	if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY))
	{
		const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		msg = pg_clean_message(s, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
		if (PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL))
			detail = pg_clean_message(s, PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
		if (PQresultErrorField(res, PG_DIAG_MESSAGE_HINT))
			hint = pg_clean_message(s, PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
		if (sqlstate && strlen(sqlstate) == 5)
			code = MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2],
								 sqlstate[3], sqlstate[4]);
		/* the source server shut down or crashed: the connection is lost */
		if (code == ERRCODE_ADMIN_SHUTDOWN || code == ERRCODE_CRASH_SHUTDOWN ||
			code == ERRCODE_CANNOT_CONNECT_NOW)
			code = ERRCODE_CONNECTION_FAILURE;
	}
	else
		msg = pg_clean_message(s, PQerrorMessage(s->conn));
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

/*
 * Wait until the connection's socket is readable (or the latch is set),
 * handling interrupts.  Then read what arrived.
 */
void
pg_wait_and_consume(Source *s, const char *what)
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
PGresult *
pg_get_result(Source *s, const char *what)
{
	while (PQisBusy(s->conn))
		pg_wait_and_consume(s, what);
	return PQgetResult(s->conn);
}

/*
 * Run a statement with text parameters and wait for its result, which must
 * have status expect.  The result stays in s->res until pg_clear_result (or
 * the release callback).
 */
PGresult *
pg_run_query(Source *s, const char *sql, int nparams, const char *const *params,
		  ExecStatusType expect, const char *what)
{
	PGresult   *res;
	PGresult   *extra;

	Assert(s->res == NULL);
	if (PQsendQueryParams(s->conn, sql, nparams, NULL, params, NULL, NULL, 0) == 0)
		pg_error_report(s, NULL, what);
	res = pg_get_result(s, what);
	if (res == NULL)
		pg_error_report(s, NULL, what);
	s->res = res;
	/* the connection is ready again after the last (NULL) result */
	while ((extra = pg_get_result(s, what)) != NULL)
		PQclear(extra);
	if (PQresultStatus(res) != expect)
		pg_error_report(s, res, what);
	return res;
}

void
pg_clear_result(Source *s)
{
	if (s->res)
		PQclear(s->res);
	s->res = NULL;
}

/* Append a name quoted for the source server. */
void
pg_append_ident(Source *s, StringInfo sql, const char *name)
{
	char	   *q = PQescapeIdentifier(s->conn, name, strlen(name));

	if (q == NULL)
		pg_error_report(s, NULL, psprintf("quoting the name \"%s\"", name));
	appendStringInfoString(sql, q);
	PQfreemem(q);
}

/* The values of a parsed connection string that say where it connects. */
typedef struct ConninfoParts
{
	const char *host;
	const char *hostaddr;
	const char *port;
	const char *dbname;
	const char *user;
	const char *password;
} ConninfoParts;

/* Fill parts from opts (NULL for a keyword without a value); valid while opts is. */
static void
conninfo_parts(const PQconninfoOption *opts, ConninfoParts *parts)
{
	memset(parts, 0, sizeof(ConninfoParts));
	for (const PQconninfoOption *o = opts; o->keyword; o++)
	{
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "host") == 0)
			parts->host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			parts->hostaddr = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			parts->port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			parts->dbname = o->val;
		else if (strcmp(o->keyword, "user") == 0)
			parts->user = o->val;
		else if (strcmp(o->keyword, "password") == 0)
			parts->password = o->val;
	}
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
	ConninfoParts parts;
	const char *host;

	if (opts == NULL)
	{
		char	   *detail = errmsg_pq ? pstrdup(errmsg_pq) : pstrdup("out of memory");

		if (errmsg_pq)
			PQfreemem(errmsg_pq);
		/* the password is not known: mask the URL's userinfo in libpq's words */
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid PostgreSQL source url \"%s\": %s", url_mask_password(url),
						strstr(detail, "@") ? "libpq cannot parse it" :
						pg_clean_message(NULL, detail))));
	}
	conninfo_parts(opts, &parts);
	host = parts.host ? parts.host : parts.hostaddr;
	if (parts.password)
		s->password = pstrdup(parts.password);
	s->server = psprintf(host && strchr(host, ':') && !strchr(host, '/') ? "[%s]:%s" : "%s:%s",
						 host ? host : "localhost", parts.port ? parts.port : "5432");
	PQconninfoFree(opts);
}

/*
 * The server and database a connection string names, as libpq reads it
 * (user info, query options, service files aside): "pg://host:port/db",
 * for the definition of a copy (resume.h).  The URL's user counts for a
 * database it does not name; a host list stays as written.
 */
char *
pg_source_identity(const TaskConfig *config)
{
	PQconninfoOption *opts = PQconninfoParse(config->url, NULL);
	ConninfoParts parts;
	const char *user;
	char	   *result;

	if (opts == NULL)
		return pstrdup("pg://?");
	conninfo_parts(opts, &parts);
	user = config->username ? config->username : parts.user;
	result = psprintf("pg://%s:%s/%s",
					  parts.host ? parts.host : parts.hostaddr ? parts.hostaddr : "localhost",
					  parts.port ? parts.port : "5432",
					  parts.dbname ? parts.dbname : user ? user : "");
	PQconninfoFree(opts);
	return result;
}

/* Does the connection string set a non-empty password? */
static bool
url_has_password(const char *url)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	ConninfoParts parts;

	if (opts == NULL)
		return false;
	conninfo_parts(opts, &parts);
	PQconninfoFree(opts);
	return parts.password != NULL;
}

/*
 * As dblink does: a task owned by a role that is not a superuser must
 * authenticate with the password of its URL.  Otherwise it could connect
 * as the server's OS user (~postgres/.pgpass, peer or trust auth) to a
 * server that role cannot reach itself.  Before the connection: a password
 * in the URL; after it: the server asked for it.
 */
static void
check_password_used(Source *s, const TaskConfig *config, bool connected)
{
	if (current_user_is_superuser())
		return;
	if (!connected && config->password == NULL && !url_has_password(config->url))
		ereport(ERROR,
				(errcode(ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED),
				 errmsg("could not connect to PostgreSQL server \"%s\": password is required: "
						"the task's owner is not a superuser, so its source URL or [extractor] password must give the password",
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
Source *
pg_source_connect(const TaskConfig *config, const SourceReport *report)
{
	Source	   *s;
	const char *keys[12];
	const char *vals[12];
	int			n = 0;
	PostgresPollingStatusType status;
	TimestampTz deadline;
	char	   *timeout_str = psprintf("%d", PG_CONNECT_TIMEOUT_SECS);

	s = palloc0(sizeof(Source));
	s->cxt = CurrentMemoryContext;
	s->filter = &config->filter;
	parse_pg_url(s, config->url);
	if (config->password != NULL)
		s->password = pstrdup(config->password);

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
	/* [extractor] username and password beat the URL's, as in ape-dts */
	if (config->username != NULL)
	{
		keys[n] = "user";
		vals[n++] = config->username;
	}
	if (config->password != NULL)
	{
		keys[n] = "password";
		vals[n++] = config->password;
	}
	/* [extractor] ssl_mode and ssl_ca_path beat the URL's sslmode, sslrootcert */
	if (config->ssl_mode != SSL_MODE_UNSET)
	{
		keys[n] = "sslmode";
		vals[n++] = config->ssl_mode == SSL_MODE_DISABLE ? "disable" :
			config->ssl_mode == SSL_MODE_REQUIRE ? "require" :
			config->ssl_mode == SSL_MODE_VERIFY_CA ? "verify-ca" : "verify-full";
	}
	if (config->ssl_ca_path != NULL && config->ssl_mode != SSL_MODE_DISABLE)
	{
		keys[n] = "sslrootcert";
		vals[n++] = config->ssl_ca_path;
	}
	keys[n] = "fallback_application_name";
	vals[n++] = "ape_resume";
	keys[n] = "client_encoding";
	vals[n++] = "UTF8";
	keys[n] = NULL;
	vals[n] = NULL;

	check_password_used(s, config, false);
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
						s->server, pg_clean_message(s, PQerrorMessage(s->conn)))));
	check_password_used(s, config, true);
	if (config->ssl_mode != SSL_MODE_UNSET && config->ssl_mode != SSL_MODE_DISABLE &&
		!PQsslInUse(s->conn))
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to PostgreSQL server \"%s\": the connection is not encrypted, and ssl_mode is %s",
						s->server, ssl_mode_name(config->ssl_mode))));

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

	(void) pg_run_query(s,
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
	pg_clear_result(s);
	return s;
}
