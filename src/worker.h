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

/*
 * Is pid one of our task workers, running now?  Pid reuse cannot fool it:
 * the postmaster knows which of its children are our workers.
 */
extern bool task_worker_alive(int pid);

#endif							/* APE_WORKER_H */
