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

/*
 * Run the task to its end.  Returns the final state ("finished" or
 * "stopped"); raises an ERROR when the task fails.
 */
extern const char *task_run(TaskRow *task);

#endif							/* APE_TASK_RUN_H */
