/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  The ape_resume.task catalog table: one row a task.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_CATALOG_H
#define APE_CATALOG_H

#include "config.h"

typedef struct TaskRow
{
	int64		id;
	char	   *name;
	char	   *config;			/* holds the password */
	char	   *state;
	char	   *log_dir;
	Oid			owner;
	Oid			database;
	bool		stop_requested;
	int			worker_pid;		/* 0 when none recorded */
	char	   *last_error;
	TransactionId xmin;			/* the transaction that last wrote the row */
} TaskRow;

/*
 * Record a new task (state pending).  Errors if the name is taken or a
 * task that is pending or running writes to the same log_dir.
 */
extern int64 catalog_task_insert(const char *name, const char *config_text,
								 const TaskConfig *config);

/*
 * ERROR unless no other pending or running task than except_id (0: none)
 * writes to log_dir.
 */
extern void catalog_check_log_dir_free(const char *log_dir, int64 except_id);

/* Fetch a task by name; false when there is none. */
extern bool catalog_task_get(const char *name, TaskRow *row);

/* Fetch a task by id; false when there is none. */
extern bool catalog_task_get_by_id(int64 id, TaskRow *row);

/* Fetch a task by name or raise an ERROR naming it. */
extern void catalog_task_get_or_error(const char *name, TaskRow *row);

extern void catalog_task_set_state(int64 id, const char *state,
								   const char *last_error);
/* Mark a task running in worker pid. */
extern void catalog_task_set_running(int64 id, int pid);
/* Record the pid of the worker launched for a task. */
extern void catalog_task_set_worker(int64 id, int pid);

/*
 * Mark a pending or running task whose worker pid is gone as interrupted;
 * false when the task had meanwhile recorded another state.
 */
/*
 * A task whose workers all died (the caller checked): mark it interrupted,
 * or put it back in the queue.  False if its state changed meanwhile.
 */
extern bool catalog_task_mark_interrupted(int64 id);
extern bool catalog_task_requeue(int64 id);
extern void catalog_task_request_stop(int64 id);
extern void catalog_task_delete(int64 id);

/* The workers of a task (ape_resume.worker). */
extern void catalog_worker_add(int64 task_id, int pid);
extern void catalog_worker_clear(int64 task_id);
extern List *catalog_worker_pids(int64 task_id);
extern const char *catalog_worker_leave(int64 task_id, int pid, const char *error);

#endif							/* APE_CATALOG_H */
