/*-------------------------------------------------------------------------
 *
 * structure_internal.h
 *	  What the files of the schema after the data share (structure.c,
 *	  structure_check.c, structure_types.c, structure_run.c); the rest of
 *	  ape_resume uses structure.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_STRUCTURE_INTERNAL_H
#define APE_STRUCTURE_INTERNAL_H

/* Does the catalog query sql, given $1 task_id, $2 and $3, find a row? */
extern bool structure_catalog_finds(const char *sql, int64 task_id, const char *arg2,
									const char *arg3);

/*
 * Run the statements of ddl (checked: structure_check_ddl) one by one, as
 * the current user (the task's owner), pinned.
 */
extern void structure_run_statements(const char *ddl);

/*
 * The types the task made, as the catalog says, become the list of made
 * types (structure_type_is_made): what an aborted transaction left there
 * is gone, and a later run of the task knows them.
 */
extern void structure_load_made_types(int64 task_id);

#endif							/* APE_STRUCTURE_INTERNAL_H */
