/*-------------------------------------------------------------------------
 *
 * task_api.c
 *	  The SQL functions that manage tasks: start_task, stop_task,
 *	  resume_task, wait_task, drop_task, parse_config and resume_plan.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "chunk.h"
#include "config.h"
#include "order_key.h"
#include "privileges.h"
#include "resume.h"
#include "sink.h"
#include "structure.h"
#include "task_run.h"
#include "task_state.h"
#include "worker.h"

#define WAIT_POLL_MS 200

PG_FUNCTION_INFO_V1(start_task);
PG_FUNCTION_INFO_V1(stop_task);
PG_FUNCTION_INFO_V1(resume_task);
PG_FUNCTION_INFO_V1(wait_task);
PG_FUNCTION_INFO_V1(drop_task);
PG_FUNCTION_INFO_V1(parse_config);
PG_FUNCTION_INFO_V1(resume_plan);

static Datum start_task_impl(PG_FUNCTION_ARGS);
static Datum parse_config_impl(PG_FUNCTION_ARGS);
static Datum resume_plan_impl(PG_FUNCTION_ARGS);

static bool
state_is_active(const char *state)
{
	return strcmp(state, "pending") == 0 || strcmp(state, "running") == 0;
}

/*
 * The checks of start_task and resume_task (a free log_dir, a task not yet
 * resumed) read what other sessions committed: not in a transaction whose
 * snapshot is older than their statements.  See task_state.c.
 */
static void
check_read_committed(const char *function)
{
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run in a REPEATABLE READ or SERIALIZABLE transaction", function),
				 errhint("Call it in a READ COMMITTED transaction.")));
}

/*
 * Launch the coordinator of a task recorded in this transaction, as the
 * task's owner whoever calls (a superuser resuming another role's task does
 * not lend it superuser rights); where the
 * launcher serves this database, a task with no free worker slot waits in
 * the queue instead.
 */
static void
launch_or_queue(int64 id, const char *name, Oid owner)
{
	if (task_worker_launch(id, name, owner, false,
						   ape_launcher_serves_this_database()) != 0)
		return;
	if (task_workers_running() == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start a worker for task \"%s\": no free background worker slot", name),
				 errdetail("No ape_resume worker is running that could free one."),
				 errhint("Raise max_worker_processes (now %d) and restart the server.",
						 max_worker_processes)));
	ereport(NOTICE,
				(errmsg("task \"%s\" waits for a free worker slot", name),
				 errdetail("ape_resume.max_workers is %d; the launcher starts the task when a worker is free.",
						   ape_resume_max_workers)));
}

/*
 * start_task(task_name, config): validate the config, record the task and
 * launch its worker.  Any error leaves nothing behind.
 */
static Datum
start_task_impl(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *config_text = text_to_cstring(PG_GETARG_TEXT_PP(1));
	TaskConfig *config;
	int64		id;

	check_file_privileges("start tasks", true);
	check_read_committed("start_task");
	config = task_config_parse(config_text, name);
	sink_citus_check_config(config);
	resume_check_files(config);
	id = catalog_task_insert(name, config_text, config);
	launch_or_queue(id, name, GetUserId());
	PG_RETURN_INT64(id);
}

/* stop_task(task_name): ask a pending or running task to stop. */
Datum
stop_task(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TaskRow		task;

	catalog_task_get_or_error(name, &task);
	check_task_owner(name, task.owner);
	if (!state_is_active(task.state))
		PG_RETURN_BOOL(false);
	task_state_request_stop(task.id);
	task_workers_signal_stop_at_commit(&task);
	PG_RETURN_BOOL(true);
}

/* resume_task(task_name): continue a stopped, failed or interrupted task. */
Datum
resume_task(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TaskRow		task;
	TaskConfig *config;

	check_file_privileges("resume tasks", true);
	check_read_committed("resume_task");
	catalog_task_get_or_error(name, &task);
	check_task_owner(name, task.owner);
	if (state_is_active(task.state) && !task_workers_alive(&task))
	{
		const char *state = task_state_mark_interrupted(&task);

		if (state)
			task.state = pstrdup(state);
	}
	if (state_is_active(task.state))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("task \"%s\" is already %s", name, task.state)));
	if (strcmp(task.state, "finished") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("task \"%s\" has already finished", name),
				 errhint("Drop it with ape_resume.drop_task() and start it again for a new copy.")));
	/* the config must still be valid (paths resolve against today's work_dir) */
	config = task_config_parse(task.config, name);
	catalog_check_log_dir_free(config->log_dir, task.id);
	catalog_check_task_id(config, task.id);
	/* conditional: of two concurrent resumes, the second finds it pending */
	if (!task_state_resume(task.id))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("task \"%s\" is already pending or running", name),
				 errdetail("Another session resumed it meanwhile.")));
	launch_or_queue(task.id, name, task.owner);
	PG_RETURN_INT64(task.id);
}

/*
 * wait_task(task_name, timeout_s): block until the task is finished, failed
 * or stopped and return that state; ERROR on timeout.
 */
Datum
wait_task(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int			timeout_s = PG_GETARG_INT32(1);
	TimestampTz deadline;
	TaskRow		task;
	const char *final;

	if (timeout_s < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout_s must not be negative")));
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("wait_task cannot run in a REPEATABLE READ or SERIALIZABLE transaction"),
				 errhint("It would never see the task's state change.")));

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), (int64) timeout_s * 1000);
	for (;;)
	{
		catalog_task_get_or_error(name, &task);
		check_task_owner(name, task.owner);
		if (!state_is_active(task.state))
			PG_RETURN_TEXT_P(cstring_to_text(task.state));
		/* its workers wait for this transaction: it would wait for ever */
		if (TransactionIdIsCurrentTransactionId(task.xmin))
			ereport(ERROR,
					(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					 errmsg("cannot wait for task \"%s\" in the transaction that started, resumed or stopped it", name),
					 errhint("Commit first, then call ape_resume.wait_task().")));
		/*
		 * Workers that died (crash, SIGKILL) recorded no outcome.  Where the
		 * launcher serves this database it resumes or marks such tasks.
		 */
		if (!ape_launcher_serves_this_database() && !task_workers_alive(&task) &&
			(final = task_state_mark_interrupted(&task)) != NULL)
			PG_RETURN_TEXT_P(cstring_to_text(final));
		if (GetCurrentTimestamp() >= deadline)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("timed out after %d seconds waiting for task \"%s\"", timeout_s, name),
					 errdetail("The task is %s.", task.state)));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 WAIT_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* drop_task(task_name): forget a task that is not running. */
Datum
drop_task(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TaskRow		task;

	catalog_task_get_or_error(name, &task);
	check_task_owner(name, task.owner);
	if (state_is_active(task.state) && task_workers_alive(&task))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("task \"%s\" is %s", name, task.state),
				 errhint("Stop it with ape_resume.stop_task() and wait for it first.")));
	task_state_drop(task.id);
	PG_RETURN_VOID();
}

/*
 * parse_config(config, task_name): validate config text without starting
 * anything, and show the effective settings (password masked).
 */
static Datum
parse_config_impl(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name;
	TaskConfig *config;
	ListCell   *lc;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("config must not be null")));
	name = PG_ARGISNULL(1) ? "task" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	config = task_config_parse(text_to_cstring(PG_GETARG_TEXT_PP(0)), name);

	InitMaterializedSRF(fcinfo, 0);
	foreach(lc, task_config_settings(config))
	{
		ConfigSetting *s = lfirst(lc);
		Datum		values[3];
		bool		nulls[3] = {false, false, s->value == NULL};

		values[0] = CStringGetTextDatum(s->section);
		values[1] = CStringGetTextDatum(s->key);
		values[2] = s->value ? CStringGetTextDatum(s->value) : (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}

/*
 * resume_plan(task_name, config): the dry run of a start (or, with a null
 * config, of resume_task on an existing task).  Connects to the source to
 * list the tables, reads the catalog and the resume files, and returns one
 * row a table: what would happen, from which value, decided by what.
 * Copies nothing and writes no file.
 */
static Datum
resume_plan_impl(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name;
	TaskRow		task;
	bool		exists;
	TaskConfig *config;
	const SourceOps *ops;
	Source	   *source;
	List	   *tables;
	ResumeInputs *inputs;
	ListCell   *lc;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("task name must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	check_file_privileges("plan tasks", false);
	exists = catalog_task_get(name, &task);
	if (exists)
		check_task_owner(name, task.owner);
	if (PG_ARGISNULL(1) && !exists)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("task \"%s\" does not exist", name),
				 errhint("Give the config of the task to plan.")));
	config = task_config_parse(PG_ARGISNULL(1) ? task.config
							   : text_to_cstring(PG_GETARG_TEXT_PP(1)), name);
	ops = source_ops_for(config->db_type);
	/* resume_plan writes no file: no reporter */
	source = ops->connect(config, NULL);
	/* the keys the task's run will keep */
	tables = ops->list_tables(source, &config->filter,
							  exists ? checkpoint_kept_keys(task.id) : NIL);
	source_check_rules_used(&config->filter, tables);
	resume_check_files(config);
	inputs = resume_inputs_load(config, exists ? task.id : 0, 0);

	InitMaterializedSRF(fcinfo, 0);
	foreach(lc, tables)
	{
		SourceTable *table = lfirst(lc);
		ResumeDecision d;
		char	   *dst_schema;
		char	   *dst_tb;
		Datum		values[13];
		bool		nulls[13];
		const char *origin;
		ListCell   *lc2;
		List	   *chunks;

		resume_decide(inputs, table, &d);
		name_filter_route(&config->filter, table->schema, table->tb, &dst_schema, &dst_tb);
		origin = resume_origin_name(d.origin);
		memset(nulls, 0, sizeof(nulls));
		values[0] = CStringGetTextDatum(table->schema);
		values[1] = CStringGetTextDatum(table->tb);
		values[2] = CStringGetTextDatum(dst_schema);
		values[3] = CStringGetTextDatum(dst_tb);
		/* a composite key's names and values: JSON arrays, as in progress */
		if (table->nkeys > 0)
			values[4] = CStringGetTextDatum(order_key_names_text(table));
		else
			nulls[4] = true;
		values[5] = CStringGetTextDatum(resume_action_name(d.action));
		if (d.value)
			values[6] = CStringGetTextDatum(order_key_values_text(table->nkeys, d.value));
		else
			nulls[6] = true;
		if (origin)
			values[7] = CStringGetTextDatum(origin);
		else
			nulls[7] = true;
		if (d.line_no > 0)
			values[8] = Int32GetDatum(d.line_no);
		else
			nulls[8] = true;
		if (d.note)
			values[9] = CStringGetTextDatum(d.note);
		else
			nulls[9] = true;
		values[10] = CStringGetTextDatum("table");
		nulls[11] = nulls[12] = true;
		/* a table to be cut into chunks by this run */
		chunks = chunk_rows(exists ? task.id : 0, table);
		if (d.action != RESUME_SKIP && chunk_count(config, table) > 0 && chunks == NIL &&
			!(d.action == RESUME_FROM_VALUE && d.origin != ORIGIN_CATALOG))
		{
			values[9] = CStringGetTextDatum(psprintf("%s%scut into up to %d chunks",
													 d.note ? d.note : "", d.note ? "; " : "",
													 chunk_count(config, table)));
			nulls[9] = false;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);

		/* the chunks of a table cut already: each resumes on its own */
		if (d.action == RESUME_SKIP)
			continue;
		foreach(lc2, chunks)
		{
			ChunkRow   *c = lfirst(lc2);

			values[5] = CStringGetTextDatum(c->finished ? "skip" : c->value ? "resume" : "full");
			nulls[6] = c->value == NULL;
			if (c->value)
				values[6] = CStringGetTextDatum(order_key_values_text(table->nkeys, c->value));
			values[7] = CStringGetTextDatum("catalog");
			nulls[7] = false;
			nulls[8] = true;
			values[9] = CStringGetTextDatum(psprintf("rows of %s from %s to %s",
													 order_key_names(table)[0],
													 c->lo ? c->lo : "the first",
													 c->hi ? psprintf("%s (excluded)", c->hi) : "the last"));
			nulls[9] = false;
			values[10] = CStringGetTextDatum("chunk");
			values[11] = CStringGetTextDatum(psprintf("%d of %d", c->chunk, c->nchunks));
			nulls[11] = false;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	/* then the objects after the data: the dry run of the schema */
	foreach(lc, structure_plan(exists ? task.id : 0, config, ops, source, tables))
	{
		StructureDef *o = lfirst(lc);
		Datum		values[13];
		bool		nulls[13];

		memset(nulls, true, sizeof(nulls));
		values[0] = CStringGetTextDatum(o->schema);
		nulls[0] = false;
		if (o->tb)
		{
			values[1] = CStringGetTextDatum(o->tb);
			nulls[1] = false;
		}
		if (o->dst_schema)
		{
			values[2] = CStringGetTextDatum(o->dst_schema);
			nulls[2] = false;
		}
		if (o->dst_tb)
		{
			values[3] = CStringGetTextDatum(o->dst_tb);
			nulls[3] = false;
		}
		values[5] = CStringGetTextDatum(o->action);
		nulls[5] = false;
		if (o->from_catalog)
		{
			values[7] = CStringGetTextDatum("catalog");
			nulls[7] = false;
		}
		if (o->not_copied)
		{
			values[9] = CStringGetTextDatum(o->not_copied);
			nulls[9] = false;
		}
		values[10] = CStringGetTextDatum(o->kind);
		values[11] = CStringGetTextDatum(o->name);
		nulls[10] = nulls[11] = false;
		if (o->ddl)
		{
			values[12] = CStringGetTextDatum(o->ddl);
			nulls[12] = false;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	resume_report_unused(inputs);
	PG_RETURN_VOID();
}

/*
 * The config text of these functions holds the source password: an error
 * must not copy the statement into the server log (log_min_error_statement).
 */
static Datum
call_hiding_statement(PGFunction fn, FunctionCallInfo fcinfo)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile Datum result = (Datum) 0;

	PG_TRY();
	{
		result = fn(fcinfo);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		edata->hide_stmt = true;
		ReThrowError(edata);
	}
	PG_END_TRY();
	return result;
}

Datum
start_task(PG_FUNCTION_ARGS)
{
	return call_hiding_statement(start_task_impl, fcinfo);
}

Datum
parse_config(PG_FUNCTION_ARGS)
{
	return call_hiding_statement(parse_config_impl, fcinfo);
}

Datum
resume_plan(PG_FUNCTION_ARGS)
{
	return call_hiding_statement(resume_plan_impl, fcinfo);
}
