/*-------------------------------------------------------------------------
 *
 * structure.h
 *	  The rest of a created table's schema, after its data: secondary
 *	  indexes, foreign keys, checks, defaults, identities, sequences and
 *	  comments, each a row of ape_resume.structure created in a transaction
 *	  of its own; and what cannot be recreated, listed as not copied.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_STRUCTURE_H
#define APE_STRUCTURE_H

#include "config.h"
#include "source.h"

/* When an object can be created (ape_resume.structure.phase). */
#define STRUCT_PHASE_TABLE	1		/* its table is finished */
#define STRUCT_PHASE_REFS	2		/* and the table it references */
#define STRUCT_PHASE_LAST	3		/* every table of the task is */

/*
 * One object of a source table's (or schema's) structure, as a source
 * plans it for the target.  ddl is built by the source from names quoted
 * with quote_identifier and values quoted with quote_literal; it is
 * checked (structure_check_ddl) before it is recorded and again before it
 * runs.
 */
typedef struct StructureDef
{
	const char *kind;			/* "index", "foreign_key", "check", "default",
								 * "identity", "sequence", "comment",
								 * "trigger", "view", ... */
	char	   *name;			/* the object's name (at the target, when created) */
	int			phase;			/* STRUCT_PHASE_* */
	char	   *ddl;			/* statements separated by ";\n"; NULL: none */
	char	   *ref_schema;		/* STRUCT_PHASE_REFS: the source table referenced */
	char	   *ref_tb;
	List	   *args;			/* char *: what the kind needs when created */
	char	   *not_copied;		/* why it is not created; NULL: it is */
	int			bit;			/* the STRUCT_* of do_structures it belongs to, 0: always */
	char	   *schema;			/* an object not of the table registered with (a */
	char	   *tb;				/* view, a routine: tb NULL): its source names */
} StructureDef;

/* A StructureDef to be created. */
extern StructureDef *structure_new(const char *kind, const char *name, int phase, int bit,
								   char *ddl);

/* A StructureDef listed as not copied, with why (and the source's definition, if any). */
extern StructureDef *structure_not_copied(const char *kind, const char *name, int bit,
										  const char *why, const char *definition);

/*
 * In the transaction that created the target table dst_schema.dst_tb of
 * source table table: record its objects (StructureDefs) as pending or
 * not_copied rows of the task, those do_structures leaves out skipped.
 */
extern void structure_register(int64 task_id, const TaskConfig *config, const char *schema,
							   const char *tb, const char *dst_schema, const char *dst_tb,
							   List *defs);

/* At the start of a run: failed objects are tried again. */
extern void structure_retry_failed(int64 task_id);

/*
 * Create the objects of the task that can be created now, each in a
 * transaction of its own (the caller is in none): with table not NULL only
 * those of that table's phase 1, else any whose phase allows.  Returns
 * false when a stop was requested.  A failed object is recorded as failed,
 * with a WARNING, and the run goes on: see structure_check_failed.
 */
extern bool structure_run_ready(int64 task_id, const TaskConfig *config,
								const SourceTable *table);

/*
 * At the end of a worker's run (the data committed): unless [sinker]
 * conflict_policy=ignore, an ERROR when an object of the task failed.
 */
extern void structure_check_failed(int64 task_id, const TaskConfig *config);

/*
 * Is ddl made of allowed statements on target dst_schema.dst_tb only?  An
 * ERROR saying what is wrong otherwise.
 */
extern void structure_check_ddl(const char *ddl, const char *dst_schema, const char *dst_tb);

#endif							/* APE_STRUCTURE_H */
