/*-------------------------------------------------------------------------
 *
 * pg_internal.h
 *	  The PostgreSQL source: connect with libpq, discover tables from the
 *	  system catalogs, stream rows in order-key order with COPY TO STDOUT.
 *	  This header holds what the files of src/pg/ share: the private
 *	  struct Source, what a scan knows of a table, and the functions one of
 *	  them calls in another.
 *
 * Rows come from COPY (SELECT ... WHERE key > position ORDER BY key LIMIT n)
 * TO STDOUT.  One such query serves consecutive batches of a table (up to
 * PG_COPY_CHUNK_ROWS rows): between two batches it is parked, held back by
 * TCP, and the next batch takes it up where the last one ended, so the
 * source goes on reading while the target commits.  The sink takes the
 * COPY text lines as they are (scan_next_line); only the order key's
 * values are un-escaped, for the position.
 *
 * The files of src/pg/ are the only ones that talk to a source PostgreSQL
 * server, and the only ones that include libpq's headers (through this
 * one).  Every libpq return value is checked; the connection, any open
 * result and the wait event set are released by a memory context callback,
 * so an ERROR anywhere leaks nothing.  All waits for the server go through
 * the latch, so a worker waiting for its source still answers SIGTERM and
 * notices the postmaster's death.
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
 * The files:
 *	pg_conn.c			connect and set up the session, the URL and the
 *						password rule, statements and their results, waits
 *						on the latch and the socket, the release callback,
 *						libpq errors, quoting names
 *	pg_discover.c		tables, columns and their target types, keys and
 *						the order key, what a scan needs to know of a table
 *	pg_scan.c			COPY queries (started, parked, taken up, cancelled),
 *						COPY text rows and their key values, pg_source_ops
 *	pg_structure.c		indexes, constraints, defaults, identities,
 *						sequences, generated columns and comments as DDL on
 *						the target (structure.h)
 *	pg_schema.c			the source's own types a table uses; what is not
 *						copied of the schemas
 *
 *-------------------------------------------------------------------------
 */

#ifndef APE_PG_INTERNAL_H
#define APE_PG_INTERNAL_H

#include "libpq-fe.h"

#include "lib/stringinfo.h"
#include "storage/latch.h"

#include "config.h"
#include "source.h"

/* What a scan needs to know about a table, found by list_tables. */
typedef struct PgTableInfo
{
	char	   *schema;
	char	   *tb;
	char	   *relation;		/* [ONLY] "schema"."tb" */
	char	   *select_list;	/* quoted columns, money cast to numeric */
	int			ncols;			/* the columns of select_list: */
	char	  **col_names;		/* each column's name */
	char	  **col_items;		/* and its item of select_list */
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
	const NameFilter *filter;	/* the task's, from its config */
	const char *last_type_schema;	/* pg_schema.c: the schema of the type being read */
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

/* pg_chunk.c */
extern bool pg_source_key_int_range(Source *s, const SourceTable *t, int64 *min, int64 *max);

/* pg_conn.c */
extern Source *pg_source_connect(const TaskConfig *config, const SourceReport *report);
extern char *pg_source_identity(const TaskConfig *config);
extern char *pg_clean_message(Source *s, const char *msg);
extern void pg_error_report(Source *s, PGresult *res, const char *what) pg_attribute_noreturn();
extern void pg_wait_and_consume(Source *s, const char *what);
extern PGresult *pg_get_result(Source *s, const char *what);
extern PGresult *pg_run_query(Source *s, const char *sql, int nparams,
							  const char *const *params, ExecStatusType expect,
							  const char *what);
extern void pg_clear_result(Source *s);
extern void pg_append_ident(Source *s, StringInfo sql, const char *name);

/* pg_discover.c */
extern List *pg_source_list_tables(Source *s, const NameFilter *filter,
									   const List *kept);
extern const PgTableInfo *pg_table_info(Source *s, const SourceTable *t);

/* pg_structure.c */
/* a catalog query's table oid, as $1 (schema) and $2 (table name) name it */
#define PG_TABLE_OID \
	"(SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n " \
	"  ON n.oid OPERATOR(pg_catalog.=) c.relnamespace " \
	" WHERE n.nspname OPERATOR(pg_catalog.=) $1 AND c.relname OPERATOR(pg_catalog.=) $2)"

/* A result of nfields columns, as asked: an ERROR otherwise. */
extern void pg_check_fields(Source *s, PGresult *res, int nfields, const char *what);
/* A catalog query of table t ($1, $2: PG_TABLE_OID) of nfields columns; clear s->res after. */
extern PGresult *pg_table_query(Source *s, const SourceTable *t, const char *sql,
								const char *what, int nfields);
extern char *pg_value_or_null(PGresult *res, int r, int c);
/* A text[] in its output form as a List of char *, NULLs as NULL. */
extern List *pg_text_array_items(const char *text);
extern List *pg_source_list_structures(Source *s, const SourceTable *t,
									   const TaskConfig *config, const char *dst_schema,
									   const char *dst_tb);

/* pg_schema.c */
extern List *pg_source_list_schema_objects(Source *s, const TaskConfig *config,
										   const List *tables);
extern List *pg_source_list_types(Source *s, const SourceTable *t, const TaskConfig *config);

#endif							/* APE_PG_INTERNAL_H */
