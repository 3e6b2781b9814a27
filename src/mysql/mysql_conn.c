/*-------------------------------------------------------------------------
 *
 * mysql_source.c
 *	  The MySQL / MariaDB source: connect with MariaDB Connector/C, discover
 *	  tables from information_schema, stream rows in order-column order.
 *
 * This is the only file that includes the client library's headers.  Every
 * client-library return value is checked; the connection and any open
 * result set are released by a memory context callback, so an ERROR
 * anywhere leaks nothing.
 *
 * Every call that may wait for the server (connect, query, reading a result,
 * dropping the rest of a streamed one) goes through the non-blocking API of
 * MariaDB Connector/C: the call suspends where it would block, and
 * mysql_wait waits on the socket and the latch, as the PostgreSQL source
 * does with libpq.  So a worker waiting for its source (a query behind a
 * lock, a server that stopped sending) still answers SIGTERM
 * (pg_terminate_backend, a fast shutdown) and a cancel at once, and notices
 * the postmaster's death, instead of sitting in recv() until the read
 * timeout.  The library's own timeouts still apply: mysql_wait enforces
 * them.
 *
 * Type mapping (source type -> PostgreSQL type), lossless:
 *
 *	MySQL / MariaDB					PostgreSQL
 *	-------------------------------	----------------------------------
 *	tinyint, tinyint unsigned		smallint
 *	smallint						smallint
 *	smallint unsigned				integer
 *	mediumint (signed/unsigned)		integer
 *	int								integer
 *	int unsigned					bigint
 *	bigint							bigint
 *	bigint unsigned					numeric(20,0)
 *	decimal(p,s)					numeric(p,s)
 *	float							real
 *	double							double precision
 *	bit(n)							bit(n)
 *	year							smallint
 *	date							date
 *	datetime(p)						timestamp(p) without time zone
 *	timestamp(p)					timestamp(p) with time zone
 *	time(p)							interval (MySQL TIME spans +-838:59:59)
 *	char(n), varchar(n)				char(n), varchar(n) (n in characters)
 *	char(0), varchar(0)				text
 *	tinytext, text, mediumtext,
 *	longtext						text
 *	binary, varbinary, tinyblob,
 *	blob, mediumblob, longblob		bytea
 *	enum, set						text
 *	json (MariaDB: longtext with a
 *	CHECK (json_valid(`col`)))		jsonb
 *	anything else (geometry, ...)	ERROR
 *
 * Values: zero dates ('0000-00-00', or month or day 00) become -infinity
 * (a WARNING at the first of each column, and one with the column's count
 * when the table is finished, in the server log and default.log); year 0000
 * becomes 0001 BC (the same proleptic year); timestamps are read in UTC and
 * get "+00"; bit(n) becomes n '0'/'1' characters; binary values become "\x"
 * and lowercase hex; float and double values are read as "col + 0e0", the
 * exact double, since MySQL renders a float with 6 digits.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <limits.h>

/*
 * MariaDB's ma_list.h (pulled in by mysql.h) declares list_length,
 * list_delete and list_free, which clash with PostgreSQL's pg_list.h: give
 * its declarations other names while mysql.h is read.  No LIST function of
 * the client library is used here.
 */
#define list_length ma_list_length
#define list_delete ma_list_delete
#define list_free ma_list_free
#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#undef list_length
#undef list_delete
#undef list_free
#undef list_rest
#undef list_push
#undef list_pop

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "checkpoint.h"
#include "config.h"
#include "order_key.h"
#include "source.h"

#define MYSQL_CONNECT_TIMEOUT_SECS 10
#define MYSQL_IO_TIMEOUT_SECS 600
#define MYSQL_NET_TIMEOUT_SECS 3600

/*
 * The stack of the client library's coroutine, on which a non-blocking call
 * runs until it suspends.  Its default (60 KiB) is tight for a TLS
 * handshake; signal handlers that arrive while the call runs use it too.
 */
#define MYSQL_NB_STACK_SIZE (256 * 1024)

/* The non-blocking call of the client library in progress, if any. */
typedef enum NbCall
{
	NB_NONE,
	NB_CONNECT,					/* mysql_real_connect */
	NB_QUERY,					/* mysql_real_query */
	NB_STORE,					/* mysql_store_result */
	NB_FETCH,					/* mysql_fetch_row of a streamed result */
	NB_FREE						/* mysql_free_result of a streamed result */
} NbCall;

/* How a column's values are checked and converted. */
typedef enum ColKind
{
	CK_INT,						/* integer types */
	CK_DECIMAL,
	CK_FLOAT,					/* float, double */
	CK_BIT,
	CK_YEAR,
	CK_DATE,
	CK_DATETIME,
	CK_TIMESTAMP,
	CK_TIME,
	CK_TEXT,					/* char, varchar, text types: UTF-8 checked */
	CK_ENUM,					/* enum, set: UTF-8 checked */
	CK_JSON,					/* UTF-8 checked */
	CK_BINARY,
	CK_UNSUPPORTED
} ColKind;

typedef struct ColInfo
{
	ColKind		kind;
	bool		is_unsigned;
	int			bits;			/* CK_BIT: n */
	int64		min;			/* CK_INT signed range */
	int64		max;
	uint64		umax;			/* CK_INT unsigned range */
} ColInfo;

struct Source
{
	MYSQL	   *conn;
	MemoryContext cxt;			/* holds this struct and the scan state */
	MemoryContextCallback callback;
	char	   *server;			/* "host:port", for messages */
	bool		is_mariadb;
	MYSQL_RES  *meta_res;		/* a metadata result being read, or NULL */

	/*
	 * The non-blocking call under way.  It stays set when an ERROR (a
	 * cancel) leaves mysql_wait while the call is suspended: the release
	 * callback then finishes the call before it closes the connection.
	 */
	NbCall		nb_call;
	MYSQL_RES  *nb_res;			/* NB_FETCH, NB_FREE: the result */
	char	   *nb_sql;			/* NB_QUERY: our copy of the statement */
	WaitEventSet *wes;			/* latch, postmaster death, socket: after connect */
	int			wes_sock_pos;	/* the socket's event in wes */
	uint32		wes_sock_events;	/* what wes waits for on the socket */

	/* the current scan */
	MYSQL_RES  *scan_res;
	bool		scan_done;		/* scan_next returned false */
	bool		scan_active;	/* between scan_begin and scan_end */
	const SourceTable *scan_table;	/* the table of scan_res */
	StringInfoData *scan_keys;	/* order key of the last row returned */
	int			scan_nkeys;
	char	   *scan_schema;
	char	   *scan_tb;
	int			scan_ncols;
	ColInfo    *scan_cols;
	char	  **scan_colnames;
	int64		scan_limit;
	int64		scan_rows;
	StringInfoData buf;			/* converted values of the current row */
	int		   *offsets;		/* of converted values in buf, -1: as is */

	/* zero dates counted per column over consecutive scans of one table */
	const TaskConfig *config;	/* for default.log */
	char	   *zd_schema;
	char	   *zd_tb;
	int			zd_ncols;
	int64	   *zero_dates;		/* per column, since the last report */
	bool	   *zd_warned;		/* per column: first zero date reported */
};

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
static void
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

static int
nb_real_query(Source *s, const char *sql, unsigned long len)
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

static MYSQL_RES *
nb_store_result(Source *s)
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
static MYSQL_ROW
nb_fetch_row(Source *s, MYSQL_RES *res)
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
static void
nb_free_result(Source *s, MYSQL_RES **resp)
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
			 errmsg("invalid MySQL source url \"%s\"", url_mask_password(url)),
			 errdetail("%s", detail)));
}

/*
 * Parse mysql://[user[:password]@]host[:port][/db][?opts]: user and
 * password percent-decoded, port 3306 by default, db and options ignored.
 */
static void
parse_mysql_url(const char *url, char **user, char **password, char **host,
				unsigned int *port)
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
}

/*
 * Run a statement that returns no rows.  When it fails with the error
 * number tolerated (0: none), return false instead of raising an ERROR.
 */
static bool
run_command_tolerating(Source *s, const char *sql, unsigned int tolerated)
{
	if (nb_real_query(s, sql, strlen(sql)) != 0)
	{
		if (tolerated != 0 && mysql_errno(s->conn) == tolerated)
			return false;
		mysql_error_report(s, psprintf("statement \"%s\"", sql));
	}
	/* a statement without a result set leaves none */
	if (mysql_field_count(s->conn) != 0)
	{
		MYSQL_RES  *res = nb_store_result(s);

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
static Source *
mysql_source_connect(const TaskConfig *config)
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
	pgsocket	sock;

	parse_mysql_url(config->url, &user, &password, &host, &port);

	s = palloc0(sizeof(Source));
	s->cxt = CurrentMemoryContext;
	s->config = config;
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
		mysql_options(s->conn, MYSQL_OPT_NONBLOCK, &nb_stack) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not set MySQL client options: %s",
						mysql_error(s->conn))));

	if (nb_real_connect(s, host, user, password, port) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to MySQL server \"%s\": %s",
						s->server, mysql_error(s->conn))));
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
static void
append_literal(Source *s, StringInfo sql, const char *str, size_t len)
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

/* " WHERE <schema_col> = '<schema>' AND TABLE_NAME = '<tb>'", escaped. */
static void
append_where_table(Source *s, StringInfo sql, const char *schema_col, const SourceTable *t)
{
	appendStringInfo(sql, " WHERE %s = ", schema_col);
	append_literal(s, sql, t->schema, strlen(t->schema));
	appendStringInfoString(sql, " AND TABLE_NAME = ");
	append_literal(s, sql, t->tb, strlen(t->tb));
}

/* Append a name quoted with backticks, backticks in it doubled. */
static void
append_ident(StringInfo sql, const char *name)
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

/*
 * Run a metadata query and store its (small) result; the caller reads it
 * and calls meta_done.  The result is freed by the callback on ERROR.
 */
static MYSQL_RES *
meta_query(Source *s, const char *sql)
{
	Assert(s->meta_res == NULL);
	if (nb_real_query(s, sql, strlen(sql)) != 0)
		mysql_error_report(s, "a query of information_schema");
	s->meta_res = nb_store_result(s);
	if (s->meta_res == NULL)
		mysql_error_report(s, "reading a result of information_schema");
	return s->meta_res;
}

/* A stored result: freeing it reads nothing. */
static void
meta_done(Source *s)
{
	mysql_free_result(s->meta_res);
	s->meta_res = NULL;
}

/*
 * Next metadata row, or NULL at the end (ERROR on a read error).  The
 * result is stored: this reads nothing from the server.
 */
static MYSQL_ROW
meta_next(Source *s)
{
	MYSQL_ROW	row = mysql_fetch_row(s->meta_res);

	if (row == NULL && mysql_errno(s->conn) != 0)
		mysql_error_report(s, "reading a result of information_schema");
	return row;
}

/* The lower-case leading word of a COLUMN_TYPE, e.g. "int" of "int(10) unsigned". */
static char *
type_word(const char *column_type)
{
	int			n = strcspn(column_type, "( ");
	char	   *w = pnstrdup(column_type, n);
	char	   *p;

	for (p = w; *p; p++)
		*p = pg_ascii_tolower((unsigned char) *p);
	return w;
}

/* Classify a column by its source type (COLUMN_TYPE) and target type. */
static ColInfo
classify(const char *source_type, const char *pg_type)
{
	ColInfo		ci;
	char	   *w = type_word(source_type);

	memset(&ci, 0, sizeof(ci));
	ci.is_unsigned = strstr(source_type, "unsigned") != NULL;
	ci.kind = CK_UNSUPPORTED;

	if (strcmp(w, "tinyint") == 0 || strcmp(w, "smallint") == 0 ||
		strcmp(w, "mediumint") == 0 || strcmp(w, "int") == 0 ||
		strcmp(w, "integer") == 0 || strcmp(w, "bigint") == 0)
	{
		int			bits = w[0] == 't' ? 8 : w[0] == 's' ? 16 :
			w[0] == 'm' ? 24 : w[0] == 'b' ? 64 : 32;

		ci.kind = CK_INT;
		if (bits == 64)
		{
			ci.min = PG_INT64_MIN;
			ci.max = PG_INT64_MAX;
			ci.umax = PG_UINT64_MAX;
		}
		else
		{
			ci.min = -((int64) 1 << (bits - 1));
			ci.max = ((int64) 1 << (bits - 1)) - 1;
			ci.umax = ((uint64) 1 << bits) - 1;
		}
	}
	else if (strcmp(w, "decimal") == 0 || strcmp(w, "numeric") == 0)
		ci.kind = CK_DECIMAL;
	else if (strcmp(w, "float") == 0 || strcmp(w, "double") == 0 ||
			 strcmp(w, "real") == 0)
		ci.kind = CK_FLOAT;
	else if (strcmp(w, "bit") == 0)
	{
		ci.kind = CK_BIT;
		ci.bits = 1;
		if (source_type[3] == '(')
			ci.bits = atoi(source_type + 4);
	}
	else if (strcmp(w, "year") == 0)
		ci.kind = CK_YEAR;
	else if (strcmp(w, "date") == 0)
		ci.kind = CK_DATE;
	else if (strcmp(w, "datetime") == 0)
		ci.kind = CK_DATETIME;
	else if (strcmp(w, "timestamp") == 0)
		ci.kind = CK_TIMESTAMP;
	else if (strcmp(w, "time") == 0)
		ci.kind = CK_TIME;
	else if (strcmp(w, "char") == 0 || strcmp(w, "varchar") == 0 ||
			 strcmp(w, "tinytext") == 0 || strcmp(w, "text") == 0 ||
			 strcmp(w, "mediumtext") == 0 || strcmp(w, "longtext") == 0)
		ci.kind = pg_type && strcmp(pg_type, "jsonb") == 0 ? CK_JSON : CK_TEXT;
	else if (strcmp(w, "enum") == 0 || strcmp(w, "set") == 0)
		ci.kind = CK_ENUM;
	else if (strcmp(w, "json") == 0)
		ci.kind = CK_JSON;
	else if (strcmp(w, "binary") == 0 || strcmp(w, "varbinary") == 0 ||
			 strcmp(w, "tinyblob") == 0 || strcmp(w, "blob") == 0 ||
			 strcmp(w, "mediumblob") == 0 || strcmp(w, "longblob") == 0)
		ci.kind = CK_BINARY;
	pfree(w);
	return ci;
}

/*
 * The PostgreSQL type for a column from its information_schema.COLUMNS
 * row, or NULL when the type is not supported.
 */
static char *
map_type(const char *data_type, const char *column_type, bool is_json,
		 const char *num_prec, const char *num_scale, const char *dt_prec,
		 const char *char_len)
{
	ColInfo		ci = classify(column_type, is_json ? "jsonb" : NULL);
	char	   *w = type_word(data_type);
	int			prec = dt_prec ? atoi(dt_prec) : 0;

	switch (ci.kind)
	{
		case CK_INT:
			if (w[0] == 't')
				return "smallint";
			if (w[0] == 's')
				return ci.is_unsigned ? "integer" : "smallint";
			if (w[0] == 'm')
				return "integer";
			if (w[0] == 'b')
				return ci.is_unsigned ? "numeric(20,0)" : "bigint";
			return ci.is_unsigned ? "bigint" : "integer";
		case CK_DECIMAL:
			if (num_prec == NULL || num_scale == NULL)
				return NULL;
			return psprintf("numeric(%d,%d)", atoi(num_prec), atoi(num_scale));
		case CK_FLOAT:
			return strcmp(w, "float") == 0 ? "real" : "double precision";
		case CK_BIT:
			return psprintf("bit(%d)", ci.bits);
		case CK_YEAR:
			return "smallint";
		case CK_DATE:
			return "date";
		case CK_DATETIME:
			return psprintf("timestamp(%d) without time zone", prec);
		case CK_TIMESTAMP:
			return psprintf("timestamp(%d) with time zone", prec);
		case CK_TIME:
			return "interval";
		case CK_TEXT:
			if ((strcmp(w, "char") == 0 || strcmp(w, "varchar") == 0) &&
				char_len && atol(char_len) > 0)
				return psprintf("%s(%ld)", w, atol(char_len));
			return "text";
		case CK_ENUM:
			return "text";
		case CK_JSON:
			return "jsonb";
		case CK_BINARY:
			return "bytea";
		case CK_UNSUPPORTED:
			break;
	}
	return NULL;
}

/* Can a column of this kind order and resume a scan consistently? */
static bool
kind_can_order(ColKind kind)
{
	/*
	 * Floats print inexactly, enum and set sort by index but compare as
	 * strings, json has no order: none of them can resume a scan.
	 */
	return kind != CK_FLOAT && kind != CK_ENUM && kind != CK_JSON &&
		kind != CK_UNSUPPORTED;
}

/* Columns of a table, with json detection on MariaDB. */
static void
load_columns(Source *s, SourceTable *t)
{
	StringInfoData sql;
	List	   *json_cols = NIL;
	MYSQL_RES  *res;
	MYSQL_ROW	row;
	int			n;

	initStringInfo(&sql);

	if (s->is_mariadb)
	{
		appendStringInfoString(&sql,
							   "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE"
							   " FROM information_schema.CHECK_CONSTRAINTS");
		append_where_table(s, &sql, "CONSTRAINT_SCHEMA", t);
		meta_query(s, sql.data);
		while ((row = meta_next(s)) != NULL)
		{
			if (row[0] && row[1] && row[2] &&
				strcmp(row[0], t->schema) == 0 && strcmp(row[1], t->tb) == 0)
				json_cols = lappend(json_cols, pstrdup(row[2]));
		}
		meta_done(s);
	}

	resetStringInfo(&sql);
	appendStringInfoString(&sql,
						   "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE,"
						   " COLUMN_TYPE, IS_NULLABLE, NUMERIC_PRECISION,"
						   " NUMERIC_SCALE, DATETIME_PRECISION,"
						   " CHARACTER_MAXIMUM_LENGTH"
						   " FROM information_schema.COLUMNS");
	append_where_table(s, &sql, "TABLE_SCHEMA", t);
	appendStringInfoString(&sql, " ORDER BY ORDINAL_POSITION");
	res = meta_query(s, sql.data);
	t->columns = palloc0(sizeof(SourceColumn) * Max(mysql_num_rows(res), 1));
	n = 0;
	while ((row = meta_next(s)) != NULL)
	{
		SourceColumn *c;
		bool		is_json = false;
		ListCell   *lc;

		if (row[0] == NULL || row[1] == NULL || row[2] == NULL ||
			row[3] == NULL || row[4] == NULL || row[5] == NULL ||
			strcmp(row[0], t->schema) != 0 || strcmp(row[1], t->tb) != 0)
			continue;
		c = &t->columns[n++];
		c->name = pstrdup(row[2]);
		c->source_type = pstrdup(row[4]);
		c->not_null = strcmp(row[5], "NO") == 0;

		if (pg_strcasecmp(row[3], "longtext") == 0)
		{
			StringInfoData want;

			initStringInfo(&want);
			appendStringInfoString(&want, "json_valid(");
			append_ident(&want, c->name);
			appendStringInfoChar(&want, ')');
			foreach(lc, json_cols)
			{
				if (strcmp((char *) lfirst(lc), want.data) == 0)
					is_json = true;
			}
		}
		c->pg_type = map_type(row[3], row[4], is_json, row[6], row[7], row[8],
							  row[9]);
		if (c->pg_type == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column \"%s\" of table \"%s\".\"%s\" has type \"%s\", which cannot be copied",
							c->name, t->schema, t->tb, c->source_type)));
	}
	meta_done(s);
	t->ncolumns = n;
}

/* Is column col, a nullable key column, without NULL now?  (order_key.h) */
static bool
mysql_column_has_no_null(void *arg, const SourceTable *t, int col)
{
	Source	   *s = arg;
	StringInfoData sql;
	bool		has_null;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT 1 FROM ");
	append_ident(&sql, t->schema);
	appendStringInfoChar(&sql, '.');
	append_ident(&sql, t->tb);
	appendStringInfoString(&sql, " WHERE ");
	append_ident(&sql, t->columns[col].name);
	appendStringInfoString(&sql, " IS NULL LIMIT 1");
	meta_query(s, sql.data);
	has_null = meta_next(s) != NULL;
	meta_done(s);
	pfree(sql.data);
	return !has_null;
}

/* The index of column name in t->columns, or -1. */
static int
column_index(const SourceTable *t, const char *name)
{
	for (int i = 0; i < t->ncolumns; i++)
		if (strcmp(t->columns[i].name, name) == 0)
			return i;
	return -1;
}

/*
 * Primary key, unique keys and the order key of a table.  A key can order
 * the copy when every column has a type that orders the same way as its
 * text compares at the source (kind_can_order) and the index holds whole
 * columns (no prefix) in ascending order: then "ORDER BY key" and the
 * keyset predicate are a range scan of that index.
 */
static void
load_keys(Source *s, SourceTable *t)
{
	StringInfoData sql;
	MYSQL_ROW	row;
	KeyCandidate *cur = NULL;
	bool		cur_unique = false;
	bool		cur_usable = true;
	List	   *candidates = NIL;

	initStringInfo(&sql);
	appendStringInfoString(&sql,
						   "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE,"
						   " SEQ_IN_INDEX, COLUMN_NAME, SUB_PART, COLLATION"
						   " FROM information_schema.STATISTICS");
	append_where_table(s, &sql, "TABLE_SCHEMA", t);
	appendStringInfoString(&sql, " ORDER BY INDEX_NAME, SEQ_IN_INDEX");
	meta_query(s, sql.data);

	/* one extra round with row == NULL flushes the last index */
	for (;;)
	{
		row = meta_next(s);
		if (row && (row[0] == NULL || row[1] == NULL || row[2] == NULL ||
					row[3] == NULL || strcmp(row[0], t->schema) != 0 ||
					strcmp(row[1], t->tb) != 0))
			continue;
		if (cur && (row == NULL || strcmp(cur->index, row[2]) != 0))
		{
			if (cur_unique && cur_usable && cur->cols != NIL)
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
		if (row == NULL)
			break;
		if (cur == NULL)
		{
			cur = palloc0(sizeof(KeyCandidate));
			cur->index = pstrdup(row[2]);
			cur->primary = strcmp(row[2], "PRIMARY") == 0;
			cur->orderable = true;
			cur_unique = strcmp(row[3], "0") == 0;
			cur_usable = true;
		}
		if (row[5] == NULL || column_index(t, row[5]) < 0)
			cur_usable = false; /* an index on an expression */
		else
		{
			int			col = column_index(t, row[5]);

			cur->cols = lappend_int(cur->cols, col);
			if (row[6] != NULL || row[7] == NULL || strcmp(row[7], "A") != 0 ||
				!kind_can_order(classify(t->columns[col].source_type,
										 t->columns[col].pg_type).kind))
				cur->orderable = false;
		}
	}
	meta_done(s);
	pfree(sql.data);

	/* index names sorted by the query: the first by strcmp wins a rule */
	order_key_choose(t, candidates, mysql_column_has_no_null, s);
}

/*
 * The base tables of the user databases that the filter selects, with
 * their columns, keys and order column, sorted by (schema, tb).
 */
static List *
mysql_source_list_tables(Source *s, const NameFilter *filter)
{
	List	   *dbs = NIL;
	List	   *tables = NIL;
	MYSQL_ROW	row;
	ListCell   *lc;
	StringInfoData sql;

	meta_query(s, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"
			   " WHERE SCHEMA_NAME NOT IN"
			   " ('mysql', 'information_schema', 'performance_schema', 'sys')");
	while ((row = meta_next(s)) != NULL)
	{
		if (row[0] && name_filter_wants_db(filter, row[0]))
			dbs = lappend(dbs, pstrdup(row[0]));
	}
	meta_done(s);

	initStringInfo(&sql);
	foreach(lc, dbs)
	{
		char	   *db = lfirst(lc);
		List	   *found = NIL;
		ListCell   *lc2;

		resetStringInfo(&sql);
		appendStringInfoString(&sql,
							   "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS"
							   " FROM information_schema.TABLES"
							   " WHERE TABLE_TYPE = 'BASE TABLE'"
							   " AND TABLE_SCHEMA = ");
		append_literal(s, &sql, db, strlen(db));
		meta_query(s, sql.data);
		while ((row = meta_next(s)) != NULL)
		{
			SourceTable *t;

			if (row[0] == NULL || row[1] == NULL || strcmp(row[0], db) != 0 ||
				!name_filter_wants_table(filter, db, row[1]))
				continue;
			t = palloc0(sizeof(SourceTable));
			t->schema = db;
			t->tb = pstrdup(row[1]);
			t->rows_estimated = row[2] ? strtoll(row[2], NULL, 10) : -1;
			found = lappend(found, t);
		}
		meta_done(s);

		foreach(lc2, found)
		{
			SourceTable *t = lfirst(lc2);

			CHECK_FOR_INTERRUPTS();
			load_columns(s, t);
			load_keys(s, t);
			tables = lappend(tables, t);
		}
	}
	list_sort(tables, source_table_cmp);
	return tables;
}

/* ERROR for a resume value that does not fit its key column. */
static void
bad_after_value(const SourceTable *t, int col, const char *value, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid resume value \"%s\" for column \"%s\" of table \"%s\".\"%s\"",
					value, t->columns[col].name, t->schema, t->tb),
			 errdetail("Expected %s.", expected)));
}

/* Does str match a pattern where '9' is a digit and other chars are literal? */
static bool
matches_digits(const char *str, const char *pattern)
{
	for (; *pattern; pattern++, str++)
	{
		if (*pattern == '9' ? !(*str >= '0' && *str <= '9') : *str != *pattern)
			return false;
	}
	return *str == '\0';
}

/* Is str "" or "." and 1 to 6 digits? */
static bool
fraction_ok(const char *str)
{
	int			n = 0;

	if (*str == '\0')
		return true;
	if (*str++ != '.')
		return false;
	for (; *str >= '0' && *str <= '9'; str++)
		n++;
	return *str == '\0' && n >= 1 && n <= 6;
}

/*
 * A date or datetime text as scan_next produces it ("-infinity" for a zero
 * date, " BC" for year 0000) back to MySQL's text; NULL when malformed.
 */
static char *
unconvert_datetime(const char *value, bool with_time, bool with_tz)
{
	char	   *v = pstrdup(value);
	size_t		len = strlen(v);
	bool		bc = false;

	if (strcmp(v, "-infinity") == 0)
		return with_time ? "0000-00-00 00:00:00" : "0000-00-00";
	if (len > 3 && strcmp(v + len - 3, " BC") == 0)
	{
		bc = true;
		v[len -= 3] = '\0';
	}
	/* "+00" as scan_next writes it; without it, UTC as MySQL shows it */
	if (with_tz && len >= 3 && strcmp(v + len - 3, "+00") == 0)
		v[len -= 3] = '\0';
	if (with_time)
	{
		if (len < 19 || !matches_digits(pnstrdup(v, 19), "9999-99-99 99:99:99") ||
			!fraction_ok(v + 19))
			return NULL;
	}
	else if (!matches_digits(v, "9999-99-99"))
		return NULL;
	if (bc)
	{
		if (strncmp(v, "0001", 4) != 0)
			return NULL;
		memcpy(v, "0000", 4);
	}
	return v;
}

/* Append the literal of resume value value for key column k, checked. */
static void
append_after_value(void *arg, StringInfo sql, const SourceTable *t, int k, const char *value)
{
	Source	   *s = arg;
	int			col = t->key_cols[k];
	const ColInfo *ci = &s->scan_cols[col];
	const char *p;
	char	   *lit;

	switch (ci->kind)
	{
		case CK_INT:
			{
				char	   *end;

				p = value;
				if (*p == '+' || *p == '-')
					p++;
				if (*p == '\0' || strspn(p, "0123456789") != strlen(p))
					bad_after_value(t, col, value, "an integer");
				errno = 0;
				if (ci->is_unsigned)
				{
					uint64		u;

					if (value[0] == '-')
						bad_after_value(t, col, value, "an integer of the column's range");
					u = strtou64(value, &end, 10);
					if (errno != 0 || *end != '\0' || u > ci->umax)
						bad_after_value(t, col, value, "an integer of the column's range");
				}
				else
				{
					int64		i = strtoi64(value, &end, 10);

					if (errno != 0 || *end != '\0' || i < ci->min || i > ci->max)
						bad_after_value(t, col, value, "an integer of the column's range");
				}
				appendStringInfoString(sql, value);
				return;
			}
		case CK_DECIMAL:
			p = value;
			if (*p == '+' || *p == '-')
				p++;
			{
				size_t		d1 = strspn(p, "0123456789");
				size_t		d2 = 0;

				if (p[d1] == '.')
					d2 = strspn(p + d1 + 1, "0123456789");
				if (d1 == 0 ||
					p[d1 + (p[d1] == '.' ? 1 + d2 : 0)] != '\0' ||
					(p[d1] == '.' && d2 == 0))
					bad_after_value(t, col, value, "a decimal number");
			}
			appendStringInfoString(sql, value);
			return;
		case CK_YEAR:
			if (!matches_digits(value, "9999") && !matches_digits(value, "9"))
				bad_after_value(t, col, value, "a year of four digits");
			appendStringInfoString(sql, value);
			return;
		case CK_BIT:
			if (strlen(value) != ci->bits || strspn(value, "01") != strlen(value))
				bad_after_value(t, col, value, psprintf("%d bits (0 or 1)", ci->bits));
			appendStringInfo(sql, "b'%s'", value);
			return;
		case CK_DATE:
		case CK_DATETIME:
		case CK_TIMESTAMP:
			lit = unconvert_datetime(value, ci->kind != CK_DATE,
									 ci->kind == CK_TIMESTAMP);
			if (lit == NULL)
				bad_after_value(t, col, value,
								ci->kind == CK_DATE ? "a date YYYY-MM-DD" :
								ci->kind == CK_DATETIME ?
								"a datetime YYYY-MM-DD HH:MM:SS[.ffffff]" :
								"a timestamp YYYY-MM-DD HH:MM:SS[.ffffff][+00] (UTC)");
			append_literal(s, sql, lit, strlen(lit));
			return;
		case CK_TIME:
			p = value;
			if (*p == '-')
				p++;
			{
				size_t		h = strspn(p, "0123456789");

				if (h < 2 || h > 3 || !matches_digits(pnstrdup(p + h, 6), ":99:99") ||
					!fraction_ok(p + h + 6))
					bad_after_value(t, col, value, "a time [-]HH:MM:SS[.ffffff]");
			}
			append_literal(s, sql, value, strlen(value));
			return;
		case CK_TEXT:
			append_literal(s, sql, value, strlen(value));
			return;
		case CK_BINARY:
			{
				size_t		len = strlen(value);

				if (len < 2 || value[0] != '\\' || value[1] != 'x' ||
					len % 2 != 0 ||
					strspn(value + 2, "0123456789abcdefABCDEF") != len - 2)
					bad_after_value(t, col, value, "bytea hex text \\x...");
				appendStringInfo(sql, "X'%s'", value + 2);
				return;
			}
		case CK_FLOAT:
		case CK_ENUM:
		case CK_JSON:
		case CK_UNSUPPORTED:
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("column \"%s\" of table \"%s\".\"%s\" cannot order a resumable copy",
					t->columns[col].name, t->schema, t->tb)));
}

/* KeyAppendIdent of order_key.h */
static void
append_key_ident(void *arg, StringInfo sql, const char *name)
{
	append_ident(sql, name);
}

/*
 * Start streaming a table's rows: SELECT the columns ordered by the order
 * column, after after_value, at most limit rows.  mysql_use_result streams:
 * rows are read from the socket as scan_next asks for them.
 */
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
	nb_free_result(s, &s->scan_res);
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
		s->scan_cols[i] = classify(t->columns[i].source_type,
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
		append_ident(&sql, t->columns[i].name);
		if (s->scan_cols[i].kind == CK_FLOAT)
			appendStringInfoString(&sql, " + 0e0)");
	}
	appendStringInfoString(&sql, " FROM ");
	append_ident(&sql, t->schema);
	appendStringInfoChar(&sql, '.');
	append_ident(&sql, t->tb);
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
			append_ident(&sql, t->key_index);
			appendStringInfoChar(&sql, ')');
		}
		if (after != NULL)
		{
			appendStringInfoString(&sql, " WHERE ");
			order_key_append_after(&sql, t, after, KEYSET_EXPANDED, append_key_ident,
								   append_after_value, s);
		}
		appendStringInfoString(&sql, " ORDER BY ");
		order_key_append_columns(&sql, t, append_key_ident, NULL);
	}

	/* waits until the server starts sending (a lock may hold it back) */
	if (nb_real_query(s, sql.data, sql.len) != 0)
		mysql_error_report(s, psprintf("reading table \"%s\".\"%s\"",
									   t->schema, t->tb));
	/* reads nothing: nb_real_query read the column definitions */
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

/* ERROR for a text value that is not valid UTF-8. */
static void
bad_text(Source *s, int col)
{
	ereport(ERROR,
			(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
			 errmsg("table \"%s\".\"%s\" column \"%s\": a value holds a NUL character or invalid UTF-8",
					s->scan_schema, s->scan_tb, s->scan_colnames[col]),
			 errdetail("PostgreSQL text cannot hold it.")));
}

/*
 * Append a date/datetime/timestamp value of column col converted for
 * PostgreSQL: zero dates become -infinity (counted, and the first of a
 * column reported at once), year 0000 becomes 0001 BC.
 */
static void
convert_datetime(Source *s, int col, StringInfo buf, const char *v, int len,
				 bool tz)
{
	if (len < 10 || (strncmp(v + 5, "00", 2) == 0) ||
		(strncmp(v + 8, "00", 2) == 0))
	{
		appendStringInfoString(buf, "-infinity");
		s->zero_dates[col]++;
		if (!s->zd_warned[col])
		{
			char	   *shown = pnstrdup(v, Min(len, 26));

			s->zd_warned[col] = true;
			ereport(WARNING,
					(errmsg("table \"%s\".\"%s\" column \"%s\": zero date \"%s\" copied as -infinity",
							s->scan_schema, s->scan_tb, s->scan_colnames[col], shown),
					 errdetail("PostgreSQL has no zero dates; a date whose month or day is 00 becomes -infinity. The count follows when the table is finished.")));
			task_file_log(s->config, "WARN",
						  psprintf("table \"%s\".\"%s\" column \"%s\": zero date \"%s\" copied as -infinity",
								   s->scan_schema, s->scan_tb, s->scan_colnames[col], shown));
			pfree(shown);
		}
		return;
	}
	if (strncmp(v, "0000", 4) == 0)
	{
		appendStringInfoString(buf, "0001");
		appendBinaryStringInfo(buf, v + 4, len - 4);
		appendStringInfoString(buf, tz ? "+00 BC" : " BC");
		return;
	}
	appendBinaryStringInfo(buf, v, len);
	if (tz)
		appendStringInfoString(buf, "+00");
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
	row = nb_fetch_row(s, s->scan_res);
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

	resetStringInfo(&s->buf);
	for (i = 0; i < s->scan_ncols; i++)
	{
		const ColInfo *ci = &s->scan_cols[i];
		const char *v = row[i];
		int			len = (int) lens[i];
		StringInfo	buf = &s->buf;

		s->offsets[i] = -1;
		values[i] = row[i];
		lengths[i] = len;
		if (v == NULL)
			continue;			/* a NULL order value: see feed_order_value */
		switch (ci->kind)
		{
			case CK_TEXT:
			case CK_ENUM:
			case CK_JSON:
				if (!pg_verify_mbstr(PG_UTF8, v, len, true))
					bad_text(s, i);
				break;
			case CK_BIT:
				s->offsets[i] = buf->len;
				for (int b = ci->bits - 1; b >= 0; b--)
				{
					int			byte = len - 1 - b / 8;
					int			bit = byte >= 0 ?
						(((unsigned char) v[byte]) >> (b % 8)) & 1 : 0;

					appendStringInfoChar(buf, bit ? '1' : '0');
				}
				break;
			case CK_BINARY:
				s->offsets[i] = buf->len;
				appendStringInfoString(buf, "\\x");
				enlargeStringInfo(buf, 2 * len);
				buf->len += hex_encode(v, len, buf->data + buf->len);
				buf->data[buf->len] = '\0';
				break;
			case CK_DATE:
			case CK_DATETIME:
			case CK_TIMESTAMP:
				s->offsets[i] = buf->len;
				convert_datetime(s, i, buf, v, len, ci->kind == CK_TIMESTAMP);
				break;
			default:
				break;
		}
		if (s->offsets[i] >= 0)
		{
			lengths[i] = buf->len - s->offsets[i];
			appendStringInfoChar(buf, '\0');
		}
	}
	/* the buffer is complete: point into it */
	for (i = 0; i < s->scan_ncols; i++)
		if (s->offsets[i] >= 0)
			values[i] = s->buf.data + s->offsets[i];
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
	for (int i = 0; i < s->zd_ncols; i++)
	{
		if (s->zero_dates[i] == 0)
			continue;
		ereport(WARNING,
				(errmsg_plural("table \"%s\".\"%s\" column \"%s\": " INT64_FORMAT " zero date copied as -infinity",
							   "table \"%s\".\"%s\" column \"%s\": " INT64_FORMAT " zero dates copied as -infinity",
							   s->zero_dates[i],
							   s->scan_schema, s->scan_tb, s->scan_colnames[i],
							   s->zero_dates[i])));
		task_file_log(s->config, "WARN",
					  psprintf("table \"%s\".\"%s\" column \"%s\": " INT64_FORMAT " zero date%s copied as -infinity",
							   s->scan_schema, s->scan_tb, s->scan_colnames[i], s->zero_dates[i],
							   s->zero_dates[i] == 1 ? "" : "s"));
		s->zero_dates[i] = 0;
		s->zd_warned[i] = false;
	}
}

const SourceOps mysql_source_ops = {
	.connect = mysql_source_connect,
	.list_tables = mysql_source_list_tables,
	.scan_begin = mysql_source_scan_begin,
	.scan_next = mysql_source_scan_next,
	.scan_end = mysql_source_scan_end,
};
