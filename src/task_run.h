/*-------------------------------------------------------------------------
 *
 * task_run.h
 *	  Running a task inside its worker: discovery, the resume plan, and the
 *	  copy of each table.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_TASK_RUN_H
#define APE_TASK_RUN_H

#include "catalog.h"
#include "config.h"
#include "source.h"

/*
 * Run the task to its end.  Returns the final state ("finished" or
 * "stopped"); raises an ERROR when the task fails.
 */
extern const char *task_run(TaskRow *task, bool helper);

/*
 * A transaction of a worker, pinned session settings, its snapshot
 * pushed; both keep the caller's memory context current, so what is
 * allocated inside outlives the transaction.
 */
extern void task_xact_begin(void);
extern void task_xact_commit(void);

/*
 * A batch's transaction begins, unless the task is to stop: then false,
 * and no transaction is open.
 */
extern bool task_batch_begin(int64 task_id);

/*
 * The task's [extractor] max_rps and max_mbps, shared by its workers: at
 * the start of a batch (in a transaction), then for each row read.
 */
extern void task_rate_batch(int64 task_id, const TaskConfig *config);
extern void task_rate_row(int64 bytes);

/* The source implementation for a db_type (ERROR when not built in). */
extern const SourceOps *source_ops_for(SourceKind kind);

#endif							/* APE_TASK_RUN_H */
