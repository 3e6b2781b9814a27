/*-------------------------------------------------------------------------
 *
 * resume.h
 *	  Where each table of a task starts: the resume rules of DESIGN.md over
 *	  the catalog, position.log, finished.log and resume.config.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_RESUME_RULES_H
#define APE_RESUME_RULES_H

#include "config.h"
#include "source.h"

typedef enum ResumeAction
{
	RESUME_FULL,				/* copy from the beginning */
	RESUME_FROM_VALUE,			/* copy the rows after value */
	RESUME_SKIP,				/* finished already */
	RESUME_REFUSE				/* its rows were copied under other settings */
} ResumeAction;

typedef enum ResumeOrigin
{
	ORIGIN_NONE,				/* nothing known about the table */
	ORIGIN_CATALOG,
	ORIGIN_POSITION_LOG,
	ORIGIN_FINISHED_LOG,
	ORIGIN_RESUME_CONFIG
} ResumeOrigin;

typedef struct ResumeDecision
{
	ResumeAction action;
	ResumeOrigin origin;
	char	  **value;			/* RESUME_FROM_VALUE: the last copied key, nkeys values */
	int			line_no;		/* the deciding line of a file, 0 otherwise */
	bool		own;			/* ORIGIN_CATALOG: this task's own row */
	char	   *note;			/* positions that were ignored, and why; RESUME_REFUSE: why */
} ResumeDecision;

/*
 * What makes the rows of a table's copy, as the catalog keeps it with the
 * table's position (position.definition): a resume whose config changes
 * any of it would mix two different copies.
 */
#define TABLE_DEF_SOURCE		0	/* the source server and database */
#define TABLE_DEF_WHERE			1	/* [filter] where_conditions */
#define TABLE_DEF_IGNORE_COLS	2	/* [filter] ignore_cols */
#define TABLE_DEF_COL_MAP		3	/* [router] col_map */
#define TABLE_DEF_TARGET		4	/* the target table ([router] db_map, tb_map) */
#define TABLE_DEF_N				5

/* The definition of a table's copy under config: TABLE_DEF_N strings. */
extern char **resume_table_definition(const TaskConfig *config, const SourceTable *table);

/* Everything known about past progress, read once per run. */
typedef struct ResumeInputs ResumeInputs;

/*
 * Read the catalog (of task_id, and of the task that last wrote the resume
 * log dir) and, when the config asks to resume from files, position.log,
 * finished.log and resume.config.  Runs in a transaction.  With RESUME_LOG,
 * the decisions and skipped lines go to default.log as well as the server
 * log.
 */
#define RESUME_LOG		0x01	/* decisions to default.log too */
#define RESUME_QUIET	0x02	/* no WARNING on missing files or bad lines */

extern ResumeInputs *resume_inputs_load(const TaskConfig *config, int64 task_id,
										int flags);

/*
 * The other task whose catalog rows the inputs hold (the one that wrote
 * the log dir resumed from, or the newest of the task_id), 0 if none: the
 * run takes it up.
 */
extern int64 resume_inputs_predecessor(ResumeInputs *inputs);

/* Decide where one table starts. */
extern void resume_decide(ResumeInputs *inputs, const SourceTable *table,
						  ResumeDecision *decision);

/* Append to position.log / finished.log what a crash kept from them. */
extern void resume_repair_logs(const TaskConfig *config, int64 task_id, List *tables);

/*
 * Append to the log dir's definitions.log what makes the rows of the
 * table's copy, for a later task that resumes from the log dir: when a
 * run starts writing a table's rows, not before (a run that fails before
 * must not make its settings those of the rows already there).
 */
extern void resume_log_definition(const TaskConfig *config, const SourceTable *table);

/* Tell which tables the files name that the task does not copy. */
extern void resume_report_unused(ResumeInputs *inputs);

/* ERROR now, naming the key, when a resume file named by config is unusable. */
extern void resume_check_files(const TaskConfig *config);

extern const char *resume_action_name(ResumeAction action);
extern const char *resume_origin_name(ResumeOrigin origin);

#endif							/* APE_RESUME_RULES_H */
