/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  Background workers that run tasks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_WORKER_H
#define APE_WORKER_H

#define APE_TASK_WORKER_TYPE "ape_resume task"

/*
 * Launch the worker of a task recorded in the current transaction; the
 * worker waits for that transaction to commit before it reads the task.
 */
extern void task_worker_launch(int64 task_id, const char *task_name);

/* Is a worker of this task running now? */
extern bool task_worker_alive(int64 task_id);

#endif							/* APE_WORKER_H */
