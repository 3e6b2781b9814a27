/*-------------------------------------------------------------------------
 *
 * task_state.h
 *	  The state machine of tasks, workers and table claims; its invariants
 *	  are written at the top of task_state.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_TASK_STATE_H
#define APE_TASK_STATE_H

#include "nodes/pg_list.h"

#include "catalog.h"
#include "checkpoint.h"

/* stopped, failed or interrupted -> pending; false if it was in no such state */
extern bool task_state_resume(int64 id);
extern void task_state_request_stop(int64 id);
extern void task_state_drop(int64 id);

/* Record the pid of the coordinator launched for a task. */
extern void task_state_set_launched(int64 id, int pid);

/*
 * In the coordinator: pending -> running, if this process is the worker
 * launched for the run; also makes it the run's only worker so far.
 */
extern bool task_state_begin_run(int64 id);

/*
 * A task whose workers all died (the caller checked): mark it interrupted
 * (or finished, when its tables all were) and return that state, or put it
 * back in the queue.  NULL / false if its state changed meanwhile.
 */
extern const char *task_state_mark_interrupted(const TaskRow *seen);
extern bool task_state_requeue(const TaskRow *seen);

/* The workers of a task (ape_resume.worker). */
extern void task_state_worker_add(int64 task_id, int pid);
extern List *task_state_worker_pids(int64 task_id);

/*
 * A worker of a task leaves, with the error that ended it or NULL.  The
 * last one to leave records the task's outcome: failed if any worker
 * failed, stopped if tables remain, finished otherwise.  Returns that
 * state, or NULL when other workers are still at work.
 */
extern const char *task_state_worker_leave(int64 task_id, int pid, const char *error);

/* Is pid a worker of the task's current run (a row in ape_resume.worker)? */
extern bool task_state_worker_registered(int64 task_id, int pid);

/* Take the next table no worker copies (largest first); false if none. */
extern bool task_state_claim_table(int64 task_id, ClaimedTable *claimed);

/* At the start of a run: release the claims of workers not in it. */
extern void task_state_release_claims(int64 task_id);

/* At the start of a run: pending tables not among tables (the source's) fail. */
extern void task_state_fail_vanished(int64 task_id, List *tables);

/* A table this worker claimed fails alone, with the reason. */
extern void task_state_fail_table(int64 task_id, const char *schema, const char *tb,
								  const char *error);

#endif							/* APE_TASK_STATE_H */
