/*-------------------------------------------------------------------------
 *
 * sink.h
 *	  The local target: target tables, and rows ingested through
 *	  PostgreSQL's COPY machinery.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_SINK_H
#define APE_SINK_H

#include "fmgr.h"
#include "source.h"

/*
 * Make sure the target table exists: create its schema and the table with
 * the source's columns when missing; check that an existing one has every
 * source column.  Runs in the caller's transaction.  For a table it
 * created, returns the ALTER TABLE that adds the source's keys (run it with
 * sink_add_keys when the table is complete), else NULL; *created says
 * whether it created the table.
 */
extern char *sink_prepare_table(const SourceTable *table, const char *dst_schema,
								const char *dst_tb, bool *created);

/*
 * Run one statement (exactly one: an ERROR otherwise) as the current user,
 * under the pinned search_path.
 */
extern void sink_run_ddl(const char *sql);

/* Is there a relation dst_schema.dst_tb? */
extern bool sink_table_exists(const char *dst_schema, const char *dst_tb);

/* Create a target schema if it is not there (workers of a task serialized). */
extern void sink_create_schema(const char *schema);

/*
 * A column type, the text a source gave (pg_type of SourceColumn), as SQL
 * built from its resolved OID and typmod, schema-qualified: ERROR for a
 * domain, a composite or a pseudo-type, or a type the target lacks.
 */
extern char *sink_type_sql(const char *pg_type, const char *column);

/* Add the keys of a complete table (the DDL from sink_prepare_table). */
extern void sink_add_keys(const SourceTable *table, const char *ddl);

/*
 * [citus]: a table ape_resume just created distributed or made a reference
 * table, as distribution_columns or reference_tables say (nothing for the
 * others); true for a reference table, whose keys are added at once: added
 * after its rows, in the transaction that copied them, Citus's DDL on the
 * coordinator's own placement waits for that transaction's COPY (a
 * distributed deadlock, which Citus cancels).  The check that Citus is
 * there when a key of [citus] is set.
 */
struct TaskConfig;
extern bool sink_citus_distribute(const struct TaskConfig *config, const SourceTable *table,
								  const char *dst_schema, const char *dst_tb);
extern void sink_citus_check_config(const struct TaskConfig *config);

/*
 * The [citus] settings of the task's tables, checked before anything is
 * made: each distribution column there and in the keys, no table in both
 * lists, colocated tables distributed by columns of one type.
 */
extern void sink_citus_check_tables(const struct TaskConfig *config, List *tables);

/* Is the target table a table of Citus's (distributed or reference)? */
extern bool sink_is_citus_target(const char *dst_schema, const char *dst_tb);

/*
 * A statement against a table of Citus's is about to run in this
 * transaction: it commits synchronously, and a lost connection in it is a
 * worker node's (sink_citus_in_transaction).
 */
extern void sink_citus_statement(void);

/* A statement reads a table of Citus's: a lost connection may be a node's. */
extern void sink_citus_touched(void);

/*
 * On a Citus coordinator: finish or roll back the two-phase transactions a
 * crash left on the worker nodes (Citus's recover_prepared_transactions),
 * so that a run starts from what the nodes hold; nothing elsewhere.
 */
extern void sink_recover_citus(void);

/*
 * Has the current transaction written to a table of Citus's?  A lost
 * connection in it may be a worker node's, not the source's.
 */
extern bool sink_citus_in_transaction(void);

/* Does the target table hold any row? */
extern bool sink_table_has_rows(const char *dst_schema, const char *dst_tb);

/*
 * Where replacing rows may stop (see sink_replace_bound): the highest order
 * value the target holds, when the column's type orders the same at the
 * source and the target (numbers, dates and times).
 */
typedef struct ReplaceBound
{
	bool		empty;			/* the target holds no row: nothing to replace */
	bool		bounded;		/* false: replace to the end of the table */
	bool		past;			/* reached only past max (a composite key's first column) */
	Oid			typid;
	Datum		max;
	Oid			typinput;
	Oid			typioparam;
	FmgrInfo   *cmp;
} ReplaceBound;

extern void sink_replace_bound(const SourceTable *table, const char *dst_schema,
							   const char *dst_tb, ReplaceBound *bound);

/* Has a batch that ended at order value value (of the key's first column) passed the bound? */
extern bool sink_replace_bound_reached(const ReplaceBound *bound, const char *value);

/* Rows are pulled from a feed: returns false at its end. */
typedef bool (*SinkRowFeed) (void *arg, char **values, int *lengths);

/*
 * Insert rows pulled from feed into the target table with COPY, in the
 * caller's transaction.  Returns the number of rows.
 */
extern uint64 sink_copy_rows(const SourceTable *table, const char *dst_schema,
							 const char *dst_tb, SinkRowFeed feed, void *arg);

/* Rows as lines of COPY text format (see scan_next_line in source.h). */
typedef bool (*SinkLineFeed) (void *arg, const char **line, int *len);

/* The same as sink_copy_rows, for rows that come as COPY text lines. */
extern uint64 sink_copy_lines(const SourceTable *table, const char *dst_schema,
							  const char *dst_tb, SinkLineFeed feed, void *arg);

/*
 * The same for rows that may already be in the target (a resume from a
 * lagging log): rows with the same order-column value are replaced.
 * *replaced is the number of rows that were already there.
 */
extern uint64 sink_copy_rows_replacing(const SourceTable *table, const char *dst_schema,
									   const char *dst_tb, SinkRowFeed feed, void *arg,
									   uint64 *replaced);

#endif							/* APE_SINK_H */
