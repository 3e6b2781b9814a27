/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  The ape_resume.task catalog table: one row a task.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_CATALOG_H
#define APE_CATALOG_H

#include "access/htup.h"
#include "access/tupdesc.h"

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

/*
 * ERROR unless the task id (0: one being started) may run: no other task
 * took it up (resumed from its positions, see checkpoint_set_taken_up),
 * and, resuming from the catalog by a [global] task_id
 * (resume_type=from_target), no other task of that task_id is pending or
 * running.
 */
extern void catalog_check_task_id(const TaskConfig *config, int64 id);

/* Fetch a task by name; false when there is none. */
extern bool catalog_task_get(const char *name, TaskRow *row);

/* Fetch a task by id; false when there is none. */
extern bool catalog_task_get_by_id(int64 id, TaskRow *row);

/* Fetch a task by name or raise an ERROR naming it. */
extern void catalog_task_get_or_error(const char *name, TaskRow *row);

/* A text[] datum of n strings (an order key's names or a position's values). */
extern Datum catalog_text_array(int n, char *const *items);

/*
 * The strings of text[] column col of an SPI row, copied into cxt; NULL
 * for SQL NULL.  *n receives their number; a NULL element is an ERROR (the
 * catalog never holds one).
 */
extern char **catalog_get_text_array(HeapTuple tuple, TupleDesc desc, int col, int *n,
									 MemoryContext cxt);

#endif							/* APE_CATALOG_H */
