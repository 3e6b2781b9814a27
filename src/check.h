/*-------------------------------------------------------------------------
 *
 * check.h
 *	  Check tasks ([sinker] sink_type=check): compare each table's rows at
 *	  the source with the target's, row by row, in key order, and write
 *	  ape-dts's check logs.  See check.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_CHECK_H
#define APE_CHECK_H

#include "catalog.h"
#include "checkpoint.h"
#include "config.h"
#include "source.h"

/*
 * Compare the claimed table from its position on, in checkpointed
 * batches (the rows compared and what was found, committed with the
 * position).  Returns false when a stop was requested before its end.
 */
extern bool check_table(TaskRow *task, TaskConfig *config, const SourceOps *ops,
						Source *source, const SourceTable *table, ClaimedTable *claimed);

/*
 * (Re)write the check logs of the task from its catalog: miss.log,
 * diff.log, extra.log, sql.log (with output_revise_sql) and summary.log,
 * in the check log dir.  Every worker does it when it ends; the last one
 * leaves them complete.
 */
extern void check_write_logs(TaskRow *task, const TaskConfig *config);

#endif							/* APE_CHECK_H */
