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
	int			bit;			/* the STRUCT_* bits of do_structures it needs, 0: always */
	char	   *sequence;		/* a sequence of dst_schema it makes or uses, or NULL */
	bool		made;			/* made when registered (a sequence) */
	char	   *schema;			/* an object not of the table registered with (a */
	char	   *tb;				/* view, a routine: tb NULL): its source names */
	/* structure_plan only: */
	char	   *dst_schema;
	char	   *dst_tb;
	const char *action;			/* "create", "done" or "not_copied" */
	bool		from_catalog;	/* a row of the task's catalog, else planned now */
} StructureDef;

/* A StructureDef to be created. */
extern StructureDef *structure_new(const char *kind, const char *name, int phase, int bit,
								   char *ddl);

/* A StructureDef listed as not copied, with why (and the source's definition, if any). */
extern StructureDef *structure_not_copied(const char *kind, const char *name, int bit,
										  const char *why, const char *definition);

/*
 * The target name of a secondary index of a source that names indexes per
 * table (MySQL): "<table>_<index>_idx", never one of the names PostgreSQL
 * gives keys (_pkey, _key), and free in the schema, also among the
 * indexes planned there and not made yet, and among taken (the names
 * chosen for the table so far, String nodes), to which it is added.
 */
extern char *structure_index_name(const char *dst_schema, const char *dst_tb,
								  const char *src_name, List **taken);

/*
 * The comment of target table dst_schema.dst_tb (of source table tb), or
 * with column not NULL of its column (source name; dst_column its target
 * name), named "tb" or "tb.column".
 */
extern StructureDef *structure_comment(const char *dst_schema, const char *dst_tb, const char *tb,
									   const char *column, const char *dst_column,
									   const char *text);

/* "ALTER TABLE <target> ADD CONSTRAINT <name> <def>" */
extern char *structure_constraint_ddl(const char *dst_schema, const char *dst_tb,
									  const char *name, const char *def);

/*
 * ddl, adding constraint name of the target, made NOT VALID and then
 * validated: the rows are checked after the data, as pg_dump's users do.
 */
extern char *structure_validated(const char *ddl, const char *dst_schema, const char *dst_tb,
								 const char *name);

/*
 * sql with the name that starts at byte location (a RangeVar's), which
 * must read expect there, replaced by replacement (an "ONLY " before it
 * dropped); NULL when sql does not read expect there.
 */
extern char *structure_splice(const char *sql, int location, const char *expect,
							  const char *replacement);

/*
 * In the transaction that created the target table dst_schema.dst_tb of
 * source table table: record its objects (StructureDefs) as pending or
 * not_copied rows of the task, those do_structures leaves out skipped.
 * Each definition is checked first (structure_vet); a sequence is made at
 * once, with its table, unless a relation of its name is there already
 * that the task did not make (then it and what uses it are not copied).
 */
extern void structure_register(int64 task_id, const TaskConfig *config, const char *schema,
							   const char *tb, const char *dst_schema, const char *dst_tb,
							   List *defs);

/*
 * Run fn(arg) in a subtransaction: false, with the error's message in
 * *why, when it raised an ERROR (a cancel or a shutdown goes on up).
 */
extern bool structure_try(void (*fn) (void *), void *arg, char **why);

/*
 * Check every definition that is to be made (structure_check_ddl): one
 * that fails the check is not copied, with the reason.
 */
extern void structure_vet(List *defs, const TaskConfig *config, const char *dst_schema,
						  const char *dst_tb);

/*
 * For resume_plan: the objects of task task_id in the catalog (0: a new
 * task, none), and for every table of tables that has none there and
 * whose target does not exist, those its source would plan; then the
 * objects of the schemas not copied.  StructureDefs with schema, tb,
 * dst_schema, dst_tb and action set, in the order they would be made.
 */
extern List *structure_plan(int64 task_id, const TaskConfig *config, const SourceOps *ops,
							Source *source, List *tables);

/*
 * Before a table is created: make the types of the source's own its
 * columns use (defs: kind "type", from the source's list_types, each
 * before those that use it), each in a subtransaction, unless one of its
 * name is there: a type the task made is used again, one it did not make
 * is not used.  A type row of the task says which (made: done, else
 * not_copied and why).  Then the columns whose own_type is usable get it
 * as pg_type; the others keep the mapping.  Nothing without the type kind
 * in do_structures.
 */
extern void structure_make_types(int64 task_id, const TaskConfig *config, List *defs,
								 SourceTable *table);

/* Was type typid (or its array type) made, or found made, by this worker's task? */
extern bool structure_type_is_made(Oid typid);

/*
 * May a created table's column (or a type the task makes) have type
 * typid?  A base type, an enum, a type the task made, or an array or a
 * range of such; not a domain or a composite type the task did not make,
 * whose input could run functions of the target's.
 */
extern bool structure_type_is_safe(Oid typid);

/* At the start of a run: failed objects are tried again. */
extern void structure_retry_failed(int64 task_id);

/*
 * Create the objects of the task that can be created now, each in a
 * transaction of its own (the caller is in none): with table not NULL only
 * those of that table's phase 1, else any whose phase allows, waiting for
 * those of the tables other live workers still copy.  Returns
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
 * Is ddl exactly what an object of kind makes, on target dst_schema.dst_tb
 * (a foreign key: referencing ref_schema.ref_tb, the target of a table of
 * the task)?  Its expressions (a check, a default, an index's) may call
 * only functions and operators of pg_catalog that are not volatile (a
 * default also nextval, clock_timestamp, random, gen_random_uuid), cast
 * only to pg_catalog's types and hold no subquery: they run as the task's
 * owner.  An ERROR saying what is wrong otherwise.
 */
extern void structure_check_ddl(const char *kind, const char *ddl, const char *dst_schema,
								const char *dst_tb, const char *ref_schema, const char *ref_tb);

#endif							/* APE_STRUCTURE_H */
