/*-------------------------------------------------------------------------
 *
 * mysql_conn.c
 *	  The MySQL / MariaDB source's connection: parse the URL, connect and
 *	  set up the session, the non-blocking forms of the client calls that
 *	  may wait and the wait on the socket and the latch, the release
 *	  callback, client errors, and quoting names and literals.
 *
 * See mysql_internal.h for how the MySQL source works as a whole.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "mysql_internal.h"

#define MYSQL_CONNECT_TIMEOUT_SECS 10
#define MYSQL_IO_TIMEOUT_SECS 600
#define MYSQL_NET_TIMEOUT_SECS 3600

/*
 * The stack of the client library's coroutine, on which a non-blocking call
 * runs until it suspends.  Its default (60 KiB) is tight for a TLS
 * handshake; signal handlers that arrive while the call runs use it too.
 */
#define MYSQL_NB_STACK_SIZE (256 * 1024)

/*
 * Finish the non-blocking call that an ERROR (a cancel, raised by
 * CHECK_FOR_INTERRUPTS in mysql_wait) left suspended: mysql_close must not
 * run under it, which would write COM_QUIT into the middle of a request and
 * drop the memory the call holds.  The socket is shut down first
 * (mariadb_cancel), so that nothing more goes to the server or comes from
 * it, and the call is resumed with MYSQL_WAIT_TIMEOUT: every read or write
 * it waits in fails at once, as at the library's own timeout, and the call
 * returns with an error.  Nothing here waits or raises an ERROR (this runs
 * in a memory context callback).  A call still suspended after many rounds
 * (none is known to) is left to mysql_close, which frees its stack.
 */
static void
nb_abandon(Source *s)
{
	int			status = 1;
	int			rounds;

	/* it returns nonzero also when it did shut the socket: nothing to check */
	(void) mariadb_cancel(s->conn);
	for (rounds = 0; status != 0 && rounds < 1000; rounds++)
	{
		switch (s->nb_call)
		{
			case NB_CONNECT:
				{
					MYSQL	   *ret;

					status = mysql_real_connect_cont(&ret, s->conn, MYSQL_WAIT_TIMEOUT);
					break;
				}
			case NB_QUERY:
				{
					int			ret;

					status = mysql_real_query_cont(&ret, s->conn, MYSQL_WAIT_TIMEOUT);
					break;
				}
			case NB_STORE:
				{
					MYSQL_RES  *ret = NULL;

					status = mysql_store_result_cont(&ret, s->conn, MYSQL_WAIT_TIMEOUT);
					if (status == 0 && ret != NULL)
						mysql_free_result(ret); /* stored: reads nothing */
					break;
				}
			case NB_FETCH:
				{
					MYSQL_ROW	row;

					status = mysql_fetch_row_cont(&row, s->nb_res, MYSQL_WAIT_TIMEOUT);
					break;
				}
			case NB_FREE:
				/* frees nb_res when it returns */
				status = mysql_free_result_cont(s->nb_res, MYSQL_WAIT_TIMEOUT);
				break;
			case NB_NONE:
				status = 0;
				break;
		}
	}
	s->nb_call = NB_NONE;
	s->nb_res = NULL;
}

/*
 * Memory context reset callback: free open results and close the
 * connection.  An unfinished streaming result is detached from the
 * connection first, so that freeing it does not read the rest of the rows.
 */
static void
mysql_source_release(void *arg)
{
	Source	   *s = (Source *) arg;

	if (s->nb_call != NB_NONE)
		nb_abandon(s);
	if (s->wes)
	{
		FreeWaitEventSet(s->wes);
		s->wes = NULL;
	}
	if (s->meta_res)
	{
		mysql_free_result(s->meta_res);
		s->meta_res = NULL;
	}
	if (s->scan_res)
	{
		if (!s->scan_done)
			s->scan_res->handle = NULL;
		mysql_free_result(s->scan_res);
		s->scan_res = NULL;
	}
	if (s->conn)
	{
		mysql_close(s->conn);
		s->conn = NULL;
	}
}

/* ERROR for a failed client call, with the server's message. */
void
mysql_error_report(Source *s, const char *what)
{
	unsigned int err = mysql_errno(s->conn);

	ereport(ERROR,
			(errcode(err == CR_SERVER_GONE_ERROR || err == CR_SERVER_LOST ?
					 ERRCODE_CONNECTION_FAILURE :
					 ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("%s on MySQL server \"%s\" failed: %s",
					what, s->server, mysql_error(s->conn))));
}

/*
 * Wait for what a suspended non-blocking call asks for (status: its
 * MYSQL_WAIT_* bits) and return what came, for its _cont function.
 *
 * The latch is waited on too, and every wakeup of it runs
 * CHECK_FOR_INTERRUPTS, as libpqwalreceiver does with libpq: SIGTERM
 * (pg_terminate_backend, a fast shutdown) ends the worker and a cancel
 * raises an ERROR right away, however long the server takes; the death of
 * the postmaster ends it too.  A stop_task signal (SIGUSR2) only sets the
 * latch: as with the PostgreSQL source, the batch ends at the next row
 * (batch_feed_more), so the wait goes on.
 *
 * MYSQL_WAIT_TIMEOUT in status asks for the library's own timeout of this
 * step (connect, read or write, set with mysql_options), whose length
 * mysql_get_timeout_value_ms tells: once it has passed, the answer is
 * MYSQL_WAIT_TIMEOUT and the call fails as its blocking form would.  Latch
 * wakeups do not move that deadline.
 *
 * Before the connection is made the library may switch sockets (one per
 * address of the host), so until then each wait asks mysql_get_socket;
 * afterwards the socket is fixed and s->wes, made once, serves every wait.
 * MYSQL_WAIT_EXCEPT has no latch event; the library asks for it only on
 * Windows.
 */
static int
mysql_wait(Source *s, int status)
{
	bool		timed = (status & MYSQL_WAIT_TIMEOUT) != 0;
	TimestampTz deadline = 0;
	uint32		want = 0;

	if (status & MYSQL_WAIT_READ)
		want |= WL_SOCKET_READABLE;
	if (status & MYSQL_WAIT_WRITE)
		want |= WL_SOCKET_WRITEABLE;
	if (timed)
		deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
											   (int64) mysql_get_timeout_value_ms(s->conn));

	CHECK_FOR_INTERRUPTS();
	for (;;)
	{
		long		timeout = -1;
		uint32		events;
		int			ready = 0;

		if (timed)
		{
			timeout = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
			if (timeout <= 0)
				return MYSQL_WAIT_TIMEOUT;
		}

		if (s->wes != NULL && want != 0)
		{
			WaitEvent	event;

			if (want != s->wes_sock_events)
			{
				ModifyWaitEvent(s->wes, s->wes_sock_pos, want, NULL);
				s->wes_sock_events = want;
			}
			if (WaitEventSetWait(s->wes, timeout, &event, 1, PG_WAIT_EXTENSION) == 0)
				events = WL_TIMEOUT;
			else
				events = event.events;
		}
		else
		{
			pgsocket	sock = (pgsocket) mysql_get_socket(s->conn);
			int			wake = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;
			bool		no_socket = false;

			if (want != 0 && sock != PGINVALID_SOCKET)
				wake |= want;
			else if (want != 0)
			{
				/* no socket to wait on (none known to happen): retry soon */
				no_socket = true;
				if (timeout < 0 || timeout > 10)
					timeout = 10;
			}
			if (timeout >= 0)
				wake |= WL_TIMEOUT;
			events = WaitLatchOrSocket(MyLatch, wake, sock, timeout, PG_WAIT_EXTENSION);
			if (no_socket && (events & WL_TIMEOUT))
				events = want;
		}

		if (events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		if (events & WL_SOCKET_READABLE)
			ready |= MYSQL_WAIT_READ;
		if (events & WL_SOCKET_WRITEABLE)
			ready |= MYSQL_WAIT_WRITE;
		ready &= status;
		if (ready != 0)
			return ready;
		/* the latch, or the timeout: the deadline is checked above */
	}
}

/*
 * Start a non-blocking call.  A connection whose last call an ERROR left
 * unfinished cannot take another one (the library would mix them up); it
 * is reported as lost, so that the copy reconnects.  Nothing is known to
 * use a connection after such an ERROR: this is a safeguard.
 */
static void
nb_begin(Source *s, NbCall call, MYSQL_RES *res)
{
	if (s->nb_call != NB_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("connection to MySQL server \"%s\" is unusable after an interrupted request",
						s->server)));
	s->nb_call = call;
	s->nb_res = res;
}

static void
nb_end(Source *s)
{
	s->nb_call = NB_NONE;
	s->nb_res = NULL;
	if (s->nb_sql)
	{
		pfree(s->nb_sql);
		s->nb_sql = NULL;
	}
}

/*
 * The non-blocking forms of the client calls that may wait: each starts the
 * call and resumes it after each wait until it returns, with the result of
 * the blocking call.  On an ERROR in mysql_wait the call stays suspended;
 * see nb_abandon.
 */
static MYSQL *
nb_real_connect(Source *s, const char *host, const char *user,
				const char *password, unsigned int port)
{
	MYSQL	   *ret;
	int			status;

	nb_begin(s, NB_CONNECT, NULL);
	status = mysql_real_connect_start(&ret, s->conn, host, user, password, NULL,
									  port, NULL, 0);
	while (status != 0)
		status = mysql_real_connect_cont(&ret, s->conn, mysql_wait(s, status));
	nb_end(s);
	return ret;
}

int
mysql_nb_real_query(Source *s, const char *sql, unsigned long len)
{
	int			ret;
	int			status;

	nb_begin(s, NB_QUERY, NULL);

	/*
	 * The library reads the statement while it sends it, maybe after a
	 * wait: a copy in the connection's context outlives a caller's memory
	 * that an ERROR frees before nb_abandon runs.
	 */
	s->nb_sql = MemoryContextAlloc(s->cxt, len + 1);
	memcpy(s->nb_sql, sql, len);
	s->nb_sql[len] = '\0';
	status = mysql_real_query_start(&ret, s->conn, s->nb_sql, len);
	while (status != 0)
		status = mysql_real_query_cont(&ret, s->conn, mysql_wait(s, status));
	nb_end(s);
	return ret;
}

MYSQL_RES *
mysql_nb_store_result(Source *s)
{
	MYSQL_RES  *ret;
	int			status;

	nb_begin(s, NB_STORE, NULL);
	status = mysql_store_result_start(&ret, s->conn);
	while (status != 0)
		status = mysql_store_result_cont(&ret, s->conn, mysql_wait(s, status));
	nb_end(s);
	return ret;
}

/* mysql_fetch_row of a streamed (mysql_use_result) result */
MYSQL_ROW
mysql_nb_fetch_row(Source *s, MYSQL_RES *res)
{
	MYSQL_ROW	ret;
	int			status;

	nb_begin(s, NB_FETCH, res);
	status = mysql_fetch_row_start(&ret, res);
	while (status != 0)
		status = mysql_fetch_row_cont(&ret, res, mysql_wait(s, status));
	nb_end(s);
	return ret;
}

/*
 * mysql_free_result of a streamed result, which reads the rows not read
 * yet.  *resp is cleared before the call starts: if an ERROR interrupts
 * it, nb_abandon finishes it and the result is freed once.
 */
void
mysql_nb_free_result(Source *s, MYSQL_RES **resp)
{
	MYSQL_RES  *res = *resp;
	int			status;

	nb_begin(s, NB_FREE, res);
	*resp = NULL;
	status = mysql_free_result_start(res);
	while (status != 0)
		status = mysql_free_result_cont(res, mysql_wait(s, status));
	nb_end(s);
}

/* Decode %XX escapes of a URL part; NULL on a malformed escape or a NUL. */
static char *
percent_decode(const char *p, int len)
{
	StringInfoData out;
	int			i;

	initStringInfo(&out);
	for (i = 0; i < len; i++)
	{
		if (p[i] == '%')
		{
			int			v = 0;
			int			j;

			if (i + 2 >= len)
				return NULL;
			for (j = 1; j <= 2; j++)
			{
				char		c = p[i + j];

				v <<= 4;
				if (c >= '0' && c <= '9')
					v |= c - '0';
				else if (c >= 'a' && c <= 'f')
					v |= c - 'a' + 10;
				else if (c >= 'A' && c <= 'F')
					v |= c - 'A' + 10;
				else
					return NULL;
			}
			if (v == 0)
				return NULL;
			appendStringInfoChar(&out, (char) v);
			i += 2;
		}
		else
			appendStringInfoChar(&out, p[i]);
	}
	return out.data;
}

/* ERROR for a source URL that does not parse, showing it masked. */
static void
bad_url(const char *url, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid MySQL source url \"%s\": %s", url_mask_password(url), detail)));
}

/* TLS settings of a MySQL source: the URL's, then the config's keys. */
typedef struct MysqlTls
{
	SslMode		mode;			/* SSL_MODE_UNSET: no TLS */
	char	   *ca;
	char	   *cert;
	char	   *key;
} MysqlTls;

/*
 * The options of the URL's query string, as ape-dts (sqlx) reads them:
 * ssl-mode (disabled, preferred, required, verify_ca, verify_identity),
 * ssl-ca, ssl-cert, ssl-key; statement-cache-capacity has no effect here.
 * Any other option is an ERROR: dropping it could change how the
 * connection is secured.
 */
static void
parse_mysql_options(const char *url, const char *q, MysqlTls *tls)
{
	while (q != NULL && *q != '\0')
	{
		size_t		n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		char	   *name;
		char	   *value;

		if (n == 0)
		{
			q++;
			continue;
		}
		if (eq == NULL)
			bad_url(url, psprintf("Option \"%s\" has no value.", pnstrdup(q, n)));
		name = percent_decode(q, eq - q);
		value = percent_decode(eq + 1, q + n - eq - 1);
		if (name == NULL || value == NULL)
			bad_url(url, "An option has a malformed %-escape.");
		if (pg_strcasecmp(name, "ssl-mode") == 0)
		{
			if (pg_strcasecmp(value, "disabled") == 0)
				tls->mode = SSL_MODE_DISABLE;

			/*
			 * preferred is taken as required: Connector/C has no TLS that
			 * may fall back to plaintext (MYSQL_OPT_SSL_ENFORCE off turns
			 * TLS off), and a silent fallback is what TLS is asked for to
			 * prevent.
			 */
			else if (pg_strcasecmp(value, "preferred") == 0 ||
					 pg_strcasecmp(value, "required") == 0)
				tls->mode = SSL_MODE_REQUIRE;
			else if (pg_strcasecmp(value, "verify_ca") == 0)
				tls->mode = SSL_MODE_VERIFY_CA;
			else if (pg_strcasecmp(value, "verify_identity") == 0)
				tls->mode = SSL_MODE_VERIFY_FULL;
			else
				bad_url(url, psprintf("Option ssl-mode is \"%s\"; expected disabled, preferred, required, verify_ca or verify_identity.",
									  value));
		}
		else if (pg_strcasecmp(name, "ssl-ca") == 0)
			tls->ca = value;
		else if (pg_strcasecmp(name, "ssl-cert") == 0)
			tls->cert = value;
		else if (pg_strcasecmp(name, "ssl-key") == 0)
			tls->key = value;
		else if (pg_strcasecmp(name, "statement-cache-capacity") != 0)
			bad_url(url, psprintf("Option \"%s\" is not supported; the options are ssl-mode, ssl-ca, ssl-cert, ssl-key and statement-cache-capacity.",
								  name));
		q += n;
	}
}

/*
 * Parse mysql://[user[:password]@]host[:port][/db][?opts]: user and
 * password percent-decoded, port 3306 by default, db ignored, the options
 * into tls (see parse_mysql_options).
 */
static void
parse_mysql_url(const char *url, char **user, char **password, char **host,
				unsigned int *port, MysqlTls *tls)
{
	const char *p;
	const char *end;
	const char *at;
	const char *hp;
	const char *hend;

	*user = NULL;
	*password = NULL;
	*port = 3306;

	if (pg_strncasecmp(url, "mysql://", 8) != 0)
		bad_url(url, "The url must start with \"mysql://\".");
	p = url + 8;
	end = p + strcspn(p, "/?#");

	/* the last '@' before the path ends the user info */
	at = NULL;
	for (hp = p; hp < end; hp++)
		if (*hp == '@')
			at = hp;
	if (at)
	{
		const char *colon = memchr(p, ':', at - p);

		if (colon)
		{
			*user = percent_decode(p, colon - p);
			*password = percent_decode(colon + 1, at - colon - 1);
		}
		else
			*user = percent_decode(p, at - p);
		if (*user == NULL || (colon && *password == NULL))
			bad_url(url, "The user or password has a malformed %-escape.");
		if ((*user)[0] == '\0')
			*user = NULL;
		hp = at + 1;
	}
	else
		hp = p;

	/* host, maybe [IPv6] */
	if (*hp == '[')
	{
		const char *close = memchr(hp, ']', end - hp);

		if (close == NULL)
			bad_url(url, "An IPv6 host address lacks its closing \"]\".");
		*host = pnstrdup(hp + 1, close - hp - 1);
		hend = close + 1;
	}
	else
	{
		hend = memchr(hp, ':', end - hp);
		if (hend == NULL)
			hend = end;
		*host = pnstrdup(hp, hend - hp);
	}
	if ((*host)[0] == '\0')
		bad_url(url, "The url names no host.");

	if (hend < end)
	{
		long		v;
		const char *q;

		if (*hend != ':' || hend + 1 == end)
			bad_url(url, "The port must follow the host after a \":\".");
		v = 0;
		for (q = hend + 1; q < end; q++)
		{
			if (*q < '0' || *q > '9' || v > 65535)
				bad_url(url, "The port must be a number from 1 to 65535.");
			v = v * 10 + (*q - '0');
		}
		if (v < 1 || v > 65535)
			bad_url(url, "The port must be a number from 1 to 65535.");
		*port = (unsigned int) v;
	}
	if (strchr(end, '#') != NULL)
		bad_url(url, "A MySQL source url has no fragment (\"#...\").");
	parse_mysql_options(url, strchr(end, '?') ? strchr(end, '?') + 1 : NULL, tls);
}

/*
 * Set the client library's TLS options.  require: encrypted, whatever the
 * certificate; verify_ca: and the certificate signed by the CA; verify_full:
 * and issued for the host connected to.  Connector/C never falls back to
 * plaintext once MYSQL_OPT_SSL_ENFORCE is set; the cipher is checked after
 * the connection all the same (mysql_check_tls).
 */
static void
set_tls_options(Source *s, const MysqlTls *tls)
{
	my_bool		on = 1;
	bool		ok = true;

	if (tls->mode == SSL_MODE_DISABLE || tls->mode == SSL_MODE_UNSET)
		return;
	if ((tls->mode == SSL_MODE_VERIFY_CA || tls->mode == SSL_MODE_VERIFY_FULL) && tls->ca == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ssl_mode %s for MySQL server \"%s\" needs a CA certificate",
						ssl_mode_name(tls->mode), s->server),
				 errhint("Set ssl_ca_path in section [extractor], or ssl-ca in the url.")));
	ok &= mysql_options(s->conn, MYSQL_OPT_SSL_ENFORCE, &on) == 0;
	if (tls->ca)
		ok &= mysql_options(s->conn, MYSQL_OPT_SSL_CA, tls->ca) == 0;
	if (tls->cert)
		ok &= mysql_options(s->conn, MYSQL_OPT_SSL_CERT, tls->cert) == 0;
	if (tls->key)
		ok &= mysql_options(s->conn, MYSQL_OPT_SSL_KEY, tls->key) == 0;
	if (tls->mode == SSL_MODE_VERIFY_FULL)
		ok &= mysql_options(s->conn, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on) == 0;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not set MySQL client TLS options: %s", mysql_error(s->conn))));
}

/*
 * Run a statement that returns no rows.  When it fails with the error
 * number tolerated (0: none), return false instead of raising an ERROR.
 */
static bool
run_command_tolerating(Source *s, const char *sql, unsigned int tolerated)
{
	if (mysql_nb_real_query(s, sql, strlen(sql)) != 0)
	{
		if (tolerated != 0 && mysql_errno(s->conn) == tolerated)
			return false;
		mysql_error_report(s, psprintf("statement \"%s\"", sql));
	}
	/* a statement without a result set leaves none */
	if (mysql_field_count(s->conn) != 0)
	{
		MYSQL_RES  *res = mysql_nb_store_result(s);

		if (res == NULL)
			mysql_error_report(s, psprintf("statement \"%s\"", sql));
		mysql_free_result(res); /* stored: reads nothing */
	}
	return true;
}

static void
run_command(Source *s, const char *sql)
{
	(void) run_command_tolerating(s, sql, 0);
}

/* Run SET statement sql, unless the server does not know its variable. */
static void
run_setting_if_known(Source *s, const char *sql)
{
	(void) run_command_tolerating(s, sql, ER_UNKNOWN_SYSTEM_VARIABLE);
}

/*
 * Connect to the source server of the config and prepare the session: no
 * statement time limit, UTC, an sql_mode that changes no value, utf8mb4,
 * long timeouts.
 */
Source *
mysql_source_connect(const TaskConfig *config, const SourceReport *report)
{
	Source	   *s;
	char	   *user;
	char	   *password;
	char	   *host;
	unsigned int port;
	unsigned int connect_timeout = MYSQL_CONNECT_TIMEOUT_SECS;
	unsigned int io_timeout = MYSQL_IO_TIMEOUT_SECS;
	my_bool		off = 0;
	unsigned int local_infile = 0;
	size_t		nb_stack = MYSQL_NB_STACK_SIZE;
	unsigned int protocol = MYSQL_PROTOCOL_TCP;
	pgsocket	sock;
	MysqlTls	tls;

	memset(&tls, 0, sizeof(tls));
	parse_mysql_url(config->url, &user, &password, &host, &port, &tls);
	/* the config's keys beat the URL's options, as in ape-dts */
	if (config->ssl_mode != SSL_MODE_UNSET)
		tls.mode = config->ssl_mode;
	if (config->ssl_ca_path != NULL && tls.mode != SSL_MODE_DISABLE)
		tls.ca = config->ssl_ca_path;

	s = palloc0(sizeof(Source));
	s->cxt = CurrentMemoryContext;
	if (report)
		s->report = *report;
	s->server = psprintf(strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
	initStringInfo(&s->buf);

	s->conn = mysql_init(NULL);
	if (s->conn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not initialize a MySQL client connection")));
	s->callback.func = mysql_source_release;
	s->callback.arg = s;
	MemoryContextRegisterResetCallback(s->cxt, &s->callback);

	if (mysql_options(s->conn, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout) != 0 ||
		mysql_options(s->conn, MYSQL_OPT_READ_TIMEOUT, &io_timeout) != 0 ||
		mysql_options(s->conn, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout) != 0 ||
		mysql_options(s->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4") != 0 ||
		mysql_options(s->conn, MYSQL_OPT_RECONNECT, &off) != 0 ||
		mysql_options(s->conn, MYSQL_OPT_LOCAL_INFILE, &local_infile) != 0 ||
		mysql_options(s->conn, MYSQL_OPT_PROTOCOL, &protocol) != 0 ||
		mysql_options(s->conn, MYSQL_OPT_NONBLOCK, &nb_stack) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not set MySQL client options: %s",
						mysql_error(s->conn))));

	set_tls_options(s, &tls);

	if (nb_real_connect(s, host, user, password, port) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to MySQL server \"%s\": %s",
						s->server, mysql_error(s->conn))));
	if (tls.mode != SSL_MODE_UNSET && tls.mode != SSL_MODE_DISABLE &&
		mysql_get_ssl_cipher(s->conn) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to MySQL server \"%s\": the connection is not encrypted, and ssl_mode is %s",
						s->server, ssl_mode_name(tls.mode))));
	if (password)
	{
		memset(password, 0, strlen(password));
		pfree(password);
	}

	/* from now on the socket stays the same: one wait event set serves */
	sock = (pgsocket) mysql_get_socket(s->conn);
	if (sock == PGINVALID_SOCKET)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to MySQL server \"%s\": the client library has no socket",
						s->server)));
	s->wes = CreateWaitEventSet(s->cxt, 3);
	AddWaitEventToSet(s->wes, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(s->wes, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	s->wes_sock_events = WL_SOCKET_READABLE;
	s->wes_sock_pos = AddWaitEventToSet(s->wes, s->wes_sock_events, sock, NULL, NULL);

	s->is_mariadb = strstr(mysql_get_server_info(s->conn), "MariaDB") != NULL;

	/*
	 * No statement time limit, whatever the server or the user's account
	 * sets: one SELECT streams a whole table, for as long as the copy of the
	 * table takes, and a limit would kill it (and every retry of it) at the
	 * same point.  MariaDB calls the limit max_statement_time, MySQL 5.7.8
	 * and later max_execution_time (for SELECTs), MySQL 5.7.4 to 5.7.7 and
	 * Percona Server max_statement_time too; a server fails the name it
	 * does not know with ER_UNKNOWN_SYSTEM_VARIABLE, which is ignored.
	 * First, so that the metadata queries are not limited either.
	 */
	run_setting_if_known(s, "SET SESSION max_statement_time = 0");
	run_setting_if_known(s, "SET SESSION max_execution_time = 0");
	run_command(s, "SET time_zone = '+00:00'");
	run_command(s, "SET sql_mode = ''");
	run_command(s, "SET NAMES utf8mb4");
	run_command(s, psprintf("SET net_write_timeout = %d, net_read_timeout = %d",
							MYSQL_NET_TIMEOUT_SECS, MYSQL_NET_TIMEOUT_SECS));
	return s;
}

/* Append str as a quoted, escaped string literal. */
void
mysql_append_literal(Source *s, StringInfo sql, const char *str, size_t len)
{
	char	   *esc = palloc(len * 2 + 1);
	unsigned long n;

	n = mysql_real_escape_string(s->conn, esc, str, len);
	if (n == (unsigned long) -1)
		mysql_error_report(s, "escaping a string");
	appendStringInfoChar(sql, '\'');
	appendBinaryStringInfo(sql, esc, n);
	appendStringInfoChar(sql, '\'');
	pfree(esc);
}

/* Append a name quoted with backticks, backticks in it doubled. */
void
mysql_append_ident(StringInfo sql, const char *name)
{
	const char *p;

	appendStringInfoChar(sql, '`');
	for (p = name; *p; p++)
	{
		if (*p == '`')
			appendStringInfoChar(sql, '`');
		appendStringInfoChar(sql, *p);
	}
	appendStringInfoChar(sql, '`');
}
