/*-------------------------------------------------------------------------
 *
 * task_run.c
 *	  Running a task inside its worker.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "config.h"
#include "task_run.h"

const char *
task_run(TaskRow *task)
{
	TaskConfig *config = task_config_parse(task->config, task->name);

	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("copying from a %s source is not available in this build of ape_resume",
					source_kind_name(config->db_type))));
	return "failed";
}
