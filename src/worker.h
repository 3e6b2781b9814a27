/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The background workers that run tasks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_WORKER_H
#define APE_WORKER_H

#include <signal.h>

#include "catalog.h"

#define APE_TASK_WORKER_TYPE "ape_resume task"
#define APE_LAUNCHER_TYPE "ape_resume launcher"

/* Set in a worker when stop_task signals it: end the batch now. */
extern volatile sig_atomic_t ape_stop_signalled;

/*
 * Launch a worker of a task, from the current transaction, as role owner;
 * the worker waits for that transaction to commit before it reads the
 * catalog.  A helper is recorded in ape_resume.worker, a coordinator in the
 * task row.  Returns its pid; when ape_resume.max_workers or the free
 * background worker slots leave no room, returns 0 with queue_ok (the
 * launcher starts it later), ERROR otherwise.
 */
extern int	task_worker_launch(int64 task_id, const char *task_name, Oid owner,
							   bool helper, bool queue_ok);

/*
 * Is pid one of our task workers, running now?  Pid reuse cannot fool it:
 * the postmaster knows which of its children are our workers.
 */
extern bool task_worker_alive(int pid);

/* Is any worker of the task running? */
extern bool task_workers_alive(const TaskRow *task);

/* Ask the task's workers to end their current batch now (stop_task). */
extern void task_workers_signal_stop_at_commit(const TaskRow *task);

/* Task workers running now, over all tasks and databases. */
extern int	task_workers_running(void);

/* Force the session settings every ape_resume background worker relies on. */
extern void ape_worker_pin_session(void);

/* The launcher (src/launcher.c): registered when preloaded. */
extern void ape_launcher_register(void);
extern bool ape_launcher_serves_this_database(void);

#endif							/* APE_WORKER_H */
