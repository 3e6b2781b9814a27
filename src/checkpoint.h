/*-------------------------------------------------------------------------
 *
 * checkpoint.h
 *	  A table's progress: its ape_resume.position and ape_resume.finished
 *	  catalog rows (written in the transaction of the rows they describe)
 *	  and their mirror lines in position.log and finished.log.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_CHECKPOINT_H
#define APE_CHECKPOINT_H

#include "config.h"
#include "source.h"

/*
 * Run a catalog statement as the extension's owner, its plan prepared once
 * (sql: a string constant); ERROR unless SPI returns expected.  Returns
 * the rows it processed.
 */
extern uint64 checkpoint_exec(const char *sql, int nargs, Oid *types, Datum *args,
							  const char *nulls, int expected);

/*
 * Record (or refresh) a table of a task as pending, with its target names
 * and the definition of its copy (resume_table_definition).
 */
extern void checkpoint_table_register(int64 task_id, const SourceTable *table,
									  const char *dst_schema, const char *dst_tb,
									  char **definition);
extern void checkpoint_set_tables_total(int64 task_id, int ntables);

/*
 * Record that the task took up the positions of task pred_id: pred_id may
 * not resume any more (its own positions are behind the target's rows).
 */
extern void checkpoint_set_taken_up(int64 task_id, int64 pred_id);
extern bool checkpoint_stop_requested(int64 task_id);

/*
 * In the caller's transaction: the table's new position after rows_added
 * rows, and with finished also its finished row.
 */
/*
 * In the transaction of a batch: the table's new position, the rows it
 * added, whether the table is finished, whether rows after the position
 * may still be in the target (see sink_copy_rows_replacing).
 */
extern void checkpoint_commit_position(int64 task_id, const SourceTable *table,
									   char *const *value, int64 rows_added,
									   bool finished, bool replacing);

/* A resume position decided from files or another task's catalog. */
extern void checkpoint_set_resume(int64 task_id, const SourceTable *table,
								  char *const *value, bool replacing);

/* A table a worker took: copy it from value (NULL: from the start). */
typedef struct ClaimedTable
{
	char	   *schema;
	char	   *tb;
	char	   *dst_schema;
	char	   *dst_tb;
	char	  **value;			/* a position: nvalues values of the order key */
	int			nvalues;
	char	  **key_cols;		/* the order key the catalog knows: nkey_cols names */
	int			nkey_cols;
	bool		replacing;
	char	   *pending_keys;	/* keys to add when the table is complete */
	int			chunk;			/* a chunk of the table (chunk.h), 0: the whole table */
	char	   *lo;				/* the chunk's range, NULL: no bound */
	char	   *hi;
	bool		table_done;		/* out: this claim's copy completed the table */
} ClaimedTable;

/*
 * In the transaction that created the target: keys to add at its end,
 * remembered with the table's position and with the target table itself
 * (ape_resume.target_keys), so that a later task completing the table
 * (after drop_task, from the same log_dir) adds them too.
 */
extern void checkpoint_set_pending_keys(int64 task_id, const SourceTable *table,
										const char *dst_schema, const char *dst_tb,
										const char *ddl);

/* The keys remembered for an existing target table, or NULL. */
extern char *checkpoint_target_pending_keys(const char *dst_schema, const char *dst_tb);

/* In the transaction that added them: forget them. */
extern void checkpoint_target_keys_added(const char *dst_schema, const char *dst_tb);

/* The table's committed position; false if it is not in the catalog. */
extern bool checkpoint_table_position(int64 task_id, const SourceTable *table,
									  char ***value, bool *replacing);

/* Units of work left: tables not finished or skipped yet, or their chunks. */
extern int	checkpoint_tables_left(int64 task_id);

/*
 * The order keys the catalog registered the task's tables on, as
 * SourceKeptKeys (see source.h) allocated in the current memory context;
 * NIL for a task without tables yet (task_id 0: none).
 */
extern List *checkpoint_kept_keys(int64 task_id);

/* After the commit: the mirror lines. */
/* A table skipped as finished elsewhere: finished in the catalog too. */
extern void checkpoint_mark_skipped(int64 task_id, const SourceTable *table);

/*
 * position.log lines of checkpoints, kept in lines until the commits they
 * follow are durable, then appended in one write.
 */
extern void checkpoint_format_position(StringInfo lines, const TaskConfig *config,
									   const SourceTable *table, char *const *value);
extern void checkpoint_append_positions(const TaskConfig *config, StringInfo lines);

extern void checkpoint_log_position(const TaskConfig *config, const SourceTable *table,
									char *const *value);
extern void checkpoint_log_finished(const TaskConfig *config, const SourceTable *table);

/* default.log and the server log: "ts - LEVEL - [pid] - message" */
/* A line of default.log that also goes to the server log (WARN, ERROR: as WARNINGs). */
extern void task_log(const TaskConfig *config, const char *level, const char *fmt,...) pg_attribute_printf(3, 4);

/* A line of default.log only: for what the caller reported to the server already. */
extern void task_file_log(const TaskConfig *config, const char *level, const char *msg);

#endif							/* APE_CHECKPOINT_H */
