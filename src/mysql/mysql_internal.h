/*-------------------------------------------------------------------------
 *
 * mysql_internal.h
 *	  The MySQL / MariaDB source: connect with MariaDB Connector/C, discover
 *	  tables from information_schema, stream rows in order-key order.  This
 *	  header holds what the files of src/mysql/ share: the private struct
 *	  Source, how a column's values are converted, and the functions one of
 *	  them calls in another.
 *
 * The files of src/mysql/ are the only ones that include the client
 * library's headers (through this one).  Every client-library return value
 * is checked; the connection and any open result set are released by a
 * memory context callback, so an ERROR anywhere leaks nothing.
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
 * when the table is finished, in the server log and, through the source's
 * reporter, default.log); year 0000 becomes 0001 BC (the same proleptic
 * year); timestamps are read in UTC and get "+00"; bit(n) becomes n
 * '0'/'1' characters; binary values become "\x" and lowercase hex; float
 * and double values are read as "col + 0e0", the exact double, since MySQL
 * renders a float with 6 digits.
 *
 * The files:
 *	mysql_conn.c		connect, the URL, session settings, the non-blocking
 *						calls and their waits, the release callback, client
 *						errors, quoting
 *	mysql_discover.c	databases and tables, columns and their type mapping,
 *						keys and the order key
 *	mysql_values.c		resume values as SQL literals, fetched values
 *						converted for PostgreSQL, zero dates
 *	mysql_scan.c		scans, mysql_source_ops
 *	mysql_structure.c	indexes, foreign keys, checks, defaults, identities
 *						and comments as PostgreSQL DDL (structure.h); what
 *						is not copied of a database
 *	mysql_translate.c	MySQL's string literals, CHECK expressions, ENUM
 *						labels and defaults as PostgreSQL's
 *
 *-------------------------------------------------------------------------
 */

#ifndef APE_MYSQL_INTERNAL_H
#define APE_MYSQL_INTERNAL_H

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
#include "storage/latch.h"

#include "config.h"
#include "source.h"

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
	SourceReport report;		/* where warnings go besides the server log */

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
	char	   *zd_schema;
	char	   *zd_tb;
	int			zd_ncols;
	int64	   *zero_dates;		/* per column, since the last report */
	bool	   *zd_warned;		/* per column: first zero date reported */
};

/* mysql_conn.c */
extern Source *mysql_source_connect(const TaskConfig *config, const SourceReport *report);
extern void mysql_error_report(Source *s, const char *what);
extern int	mysql_nb_real_query(Source *s, const char *sql, unsigned long len);
extern MYSQL_RES *mysql_nb_store_result(Source *s);
extern MYSQL_ROW mysql_nb_fetch_row(Source *s, MYSQL_RES *res);
extern void mysql_nb_free_result(Source *s, MYSQL_RES **resp);
extern void mysql_append_literal(Source *s, StringInfo sql, const char *str, size_t len);
extern void mysql_append_ident(StringInfo sql, const char *name);

/* mysql_discover.c */
extern ColInfo mysql_classify(const char *source_type, const char *pg_type);

/*
 * A metadata query whose (small) result is stored: read it with
 * mysql_meta_next (NULL at the end), then mysql_meta_done.  The result is
 * freed by the release callback on ERROR.
 */
extern MYSQL_RES *mysql_meta_query(Source *s, const char *sql);
extern MYSQL_ROW mysql_meta_next(Source *s);
extern void mysql_meta_done(Source *s);
extern List *mysql_source_list_tables(Source *s, const NameFilter *filter,
									   const List *kept);

/* mysql_structure.c */
extern List *mysql_source_list_structures(Source *s, const SourceTable *t,
										  const TaskConfig *config, const char *dst_schema,
										  const char *dst_tb);
extern List *mysql_source_list_schema_objects(Source *s, const TaskConfig *config,
											  const List *tables);

/* mysql_translate.c */
/* Column name of t (source name), NULL when the copy leaves it out. */
extern const SourceColumn *mysql_copied_column(const SourceTable *t, const char *name);
extern char *mysql_translate_check(const SourceTable *t, const char *expr, char **why);
extern char *mysql_enum_labels(const char *column_type);
extern char *mysql_translate_default(Source *s, const SourceColumn *c, const char *def,
									 const char *extra, char **why);

/* mysql_values.c */
/* mysql_chunk.c */
extern bool mysql_source_key_int_range(Source *s, const SourceTable *t, int64 *min, int64 *max);

extern void mysql_append_after_value(void *arg, StringInfo sql, const SourceTable *t,
									 int k, const char *value);
extern void mysql_convert_row(Source *s, MYSQL_ROW row, const unsigned long *lens,
							  char **values, int *lengths);
extern void mysql_report_zero_dates(Source *s);

#endif							/* APE_MYSQL_INTERNAL_H */
