/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Reads and writes of the ape_resume.task catalog table, through SPI,
 *	  as the extension's owner (see privileges.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "catalog.h"
#include "privileges.h"

static char *
copy_value(MemoryContext cxt, HeapTuple tuple, TupleDesc desc, int col)
{
	char	   *v = SPI_getvalue(tuple, desc, col);

	return v ? MemoryContextStrdup(cxt, v) : NULL;
}

/* In the owner context: see catalog_check_log_dir_free. */
static void
log_dir_check_free(const char *log_dir, int64 except_id)
{
	Oid			argtypes[2] = {TEXTOID, INT8OID};
	Datum		args[2];
	int			rc;

	args[0] = CStringGetTextDatum(log_dir);
	args[1] = Int64GetDatum(except_id);
	rc = SPI_execute_with_args("SELECT name FROM ape_resume.task "
							   "WHERE log_dir = $1 AND id <> $2 AND state IN ('pending', 'running')",
							   2, argtypes, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.task: %s", SPI_result_code_string(rc));
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("log directory \"%s\" is in use by running task \"%s\"",
						log_dir,
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
				 errhint("Give each task its own log_dir in section [runtime].")));
}

void
catalog_check_log_dir_free(const char *log_dir, int64 except_id)
{
	CatalogUser cu;

	catalog_as_owner_begin(&cu);
	/* serialized with starts, as catalog_task_insert is */
	if (SPI_execute("LOCK TABLE ape_resume.task IN SHARE ROW EXCLUSIVE MODE",
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not lock ape_resume.task");
	log_dir_check_free(log_dir, except_id);
	catalog_as_owner_end(&cu);
}

int64
catalog_task_insert(const char *name, const char *config_text,
					const TaskConfig *config)
{
	CatalogUser cu;
	Oid			argtypes[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, OIDOID};
	Datum		args[6];
	bool		isnull;
	int64		id;
	int			rc;

	catalog_as_owner_begin(&cu);

	/* serialize starts, so that two of them cannot take one log_dir */
	if (SPI_execute("LOCK TABLE ape_resume.task IN SHARE ROW EXCLUSIVE MODE",
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not lock ape_resume.task");

	args[0] = CStringGetTextDatum(name);
	rc = SPI_execute_with_args("SELECT 1 FROM ape_resume.task WHERE name = $1",
							   1, argtypes, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.task: %s", SPI_result_code_string(rc));
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("task \"%s\" already exists", name),
				 errhint("Use ape_resume.resume_task() to continue it, or ape_resume.drop_task() to forget it.")));

	log_dir_check_free(config->log_dir, 0);

	args[0] = CStringGetTextDatum(name);
	args[1] = CStringGetTextDatum(config_text);
	args[2] = CStringGetTextDatum(source_kind_name(config->db_type));
	args[3] = CStringGetTextDatum(url_mask_password(config->url));
	args[4] = CStringGetTextDatum(config->log_dir);
	args[5] = ObjectIdGetDatum(cu.save_userid);
	rc = SPI_execute_with_args("INSERT INTO ape_resume.task "
							   "(name, config, db_type, source_url, log_dir, owner, database) "
							   "VALUES ($1, $2, $3, $4, $5, $6, "
							   "(SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())) "
							   "RETURNING id",
							   6, argtypes, args, NULL, false, 1);
	if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not insert into ape_resume.task: %s", SPI_result_code_string(rc));
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	catalog_as_owner_end(&cu);
	return id;
}

/* Fetch the task row matching where ($1 of type argtype); false if none. */
static bool
task_fetch(const char *where, Oid argtype, Datum arg, TaskRow *row)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;
	int			rc;
	bool		found;

	catalog_as_owner_begin(&cu);
	rc = SPI_execute_with_args(psprintf("SELECT id, name, config, state, log_dir, owner, database, "
										"stop_requested, last_error, worker_pid, xmin "
										"FROM ape_resume.task WHERE %s", where),
							   1, &argtype, &arg, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.task: %s", SPI_result_code_string(rc));
	found = SPI_processed > 0;
	if (found)
	{
		tuple = SPI_tuptable->vals[0];
		desc = SPI_tuptable->tupdesc;
		row->id = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
		row->name = copy_value(cxt, tuple, desc, 2);
		row->config = copy_value(cxt, tuple, desc, 3);
		row->state = copy_value(cxt, tuple, desc, 4);
		row->log_dir = copy_value(cxt, tuple, desc, 5);
		row->owner = DatumGetObjectId(SPI_getbinval(tuple, desc, 6, &isnull));
		row->database = DatumGetObjectId(SPI_getbinval(tuple, desc, 7, &isnull));
		row->stop_requested = DatumGetBool(SPI_getbinval(tuple, desc, 8, &isnull));
		row->last_error = copy_value(cxt, tuple, desc, 9);
		{
			Datum		d = SPI_getbinval(tuple, desc, 10, &isnull);

			row->worker_pid = isnull ? 0 : DatumGetInt32(d);
		}
		row->xmin = DatumGetTransactionId(SPI_getbinval(tuple, desc, 11, &isnull));
	}
	catalog_as_owner_end(&cu);
	return found;
}

bool
catalog_task_get(const char *name, TaskRow *row)
{
	return task_fetch("name = $1", TEXTOID, CStringGetTextDatum(name), row);
}

bool
catalog_task_get_by_id(int64 id, TaskRow *row)
{
	return task_fetch("id = $1", INT8OID, Int64GetDatum(id), row);
}

void
catalog_task_get_or_error(const char *name, TaskRow *row)
{
	if (!catalog_task_get(name, row))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("task \"%s\" does not exist", name)));
}

/* Run one statement on a task row, with the task id as $1. */
static void
task_update(const char *sql, int64 id, int nextra, Oid *extra_types,
			Datum *extra_args, const char *extra_nulls)
{
	CatalogUser cu;
	Oid			argtypes[4] = {INT8OID};
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	int			i;
	int			rc;

	Assert(nextra <= 3);
	args[0] = Int64GetDatum(id);
	for (i = 0; i < nextra; i++)
	{
		argtypes[i + 1] = extra_types[i];
		args[i + 1] = extra_args[i];
		nulls[i + 1] = extra_nulls[i];
	}
	catalog_as_owner_begin(&cu);
	rc = SPI_execute_with_args(sql, nextra + 1, argtypes, args, nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "could not update ape_resume.task: %s", SPI_result_code_string(rc));
	catalog_as_owner_end(&cu);
}

void
catalog_task_set_state(int64 id, const char *state, const char *last_error)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	char		nulls[2] = {' ', ' '};

	args[0] = CStringGetTextDatum(state);
	if (last_error)
		args[1] = CStringGetTextDatum(last_error);
	else
		nulls[1] = 'n';
	task_update("UPDATE ape_resume.task SET state = $2, last_error = $3, "
								"finished_at = CASE WHEN $2 IN ('finished', 'failed', 'stopped') "
				"THEN pg_catalog.now() ELSE NULL END, "
				"stop_requested = CASE WHEN $2 IN ('pending', 'running') THEN false ELSE stop_requested END "
				"WHERE id = $1",
				id, 2, types, args, nulls);
}

void
catalog_task_request_stop(int64 id)
{
	task_update("UPDATE ape_resume.task SET stop_requested = true WHERE id = $1",
				id, 0, NULL, NULL, NULL);
}

void
catalog_task_delete(int64 id)
{
	task_update("DELETE FROM ape_resume.task WHERE id = $1", id, 0, NULL, NULL, NULL);
}

void
catalog_task_set_running(int64 id, int pid)
{
	Oid			types[1] = {INT4OID};
	Datum		args[1];

	args[0] = Int32GetDatum(pid);
	task_update("UPDATE ape_resume.task SET state = 'running', worker_pid = $2, "
				"started_at = pg_catalog.now(), finished_at = NULL, last_error = NULL "
				"WHERE id = $1",
				id, 1, types, args, " ");
}

void
catalog_task_set_worker(int64 id, int pid)
{
	Oid			types[1] = {INT4OID};
	Datum		args[1];

	args[0] = Int32GetDatum(pid);
	task_update("UPDATE ape_resume.task SET worker_pid = $2 WHERE id = $1",
				id, 1, types, args, " ");
}

/* The states of a task whose workers may have died without a word. */
#define ORPHAN_STATES "(state = 'running' OR (state = 'pending' AND worker_pid IS NOT NULL))"

static bool
task_update_if(const char *sql, int64 id)
{
	CatalogUser cu;
	Oid			types[1] = {INT8OID};
	Datum		args[1];
	int			rc;
	bool		done;

	args[0] = Int64GetDatum(id);
	catalog_as_owner_begin(&cu);
	rc = SPI_execute_with_args(sql, 1, types, args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "could not update ape_resume.task: %s", SPI_result_code_string(rc));
	done = SPI_processed > 0;
	if (done && SPI_execute_with_args("DELETE FROM ape_resume.worker WHERE task_id = $1",
									  1, types, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not update ape_resume.worker");
	catalog_as_owner_end(&cu);
	return done;
}

bool
catalog_task_mark_interrupted(int64 id)
{
	return task_update_if("UPDATE ape_resume.task SET state = 'interrupted', worker_pid = NULL, "
						  "last_error = 'the workers ended without recording an outcome "
						  "(server crash, immediate shutdown or a killed worker)' "
						  "WHERE id = $1 AND " ORPHAN_STATES, id);
}

bool
catalog_task_requeue(int64 id)
{
	return task_update_if("UPDATE ape_resume.task SET state = 'pending', worker_pid = NULL, "
						  "last_error = NULL, stop_requested = false "
						  "WHERE id = $1 AND " ORPHAN_STATES, id);
}

void
catalog_worker_add(int64 task_id, int pid)
{
	Oid			types[1] = {INT4OID};
	Datum		args[1];

	args[0] = Int32GetDatum(pid);
	task_update("INSERT INTO ape_resume.worker (task_id, pid) VALUES ($1, $2) "
				"ON CONFLICT DO NOTHING",
				task_id, 1, types, args, " ");
}

void
catalog_worker_clear(int64 task_id)
{
	task_update("DELETE FROM ape_resume.worker WHERE task_id = $1", task_id, 0, NULL, NULL, NULL);
}

List *
catalog_worker_pids(int64 task_id)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	Oid			types[1] = {INT8OID};
	Datum		args[1];
	List	   *pids = NIL;
	uint64		i;

	args[0] = Int64GetDatum(task_id);
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT pid FROM ape_resume.worker WHERE task_id = $1",
							  1, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.worker");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int			pid = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
													  SPI_tuptable->tupdesc, 1, &isnull));
		MemoryContext old = MemoryContextSwitchTo(cxt);

		pids = lappend_int(pids, pid);
		MemoryContextSwitchTo(old);
	}
	catalog_as_owner_end(&cu);
	return pids;
}

/*
 * A worker of a task leaves, with the error that ended it or NULL.  The
 * last one to leave records the task's outcome: failed if any worker
 * failed, stopped if tables remain, finished otherwise.  Returns that
 * state, or NULL when other workers are still at work.
 */
const char *
catalog_worker_leave(int64 task_id, int pid, const char *error)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	Oid			types[3] = {INT8OID, INT4OID, TEXTOID};
	Datum		args[3];
	char		nulls[3] = {' ', ' ', error ? ' ' : 'n'};
	const char *state = NULL;
	bool		isnull;
	int			rc;

	args[0] = Int64GetDatum(task_id);
	args[1] = Int32GetDatum(pid);
	args[2] = error ? CStringGetTextDatum(error) : (Datum) 0;
	catalog_as_owner_begin(&cu);
	rc = SPI_execute_with_args("UPDATE ape_resume.task SET last_error = coalesce(last_error, $3) "
							   "WHERE id = $1",
							   3, types, args, nulls, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "could not update ape_resume.task: %s", SPI_result_code_string(rc));
	rc = SPI_execute_with_args("DELETE FROM ape_resume.worker WHERE task_id = $1 AND pid = $2",
							   2, types, args, nulls, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "could not update ape_resume.worker: %s", SPI_result_code_string(rc));
	rc = SPI_execute_with_args("UPDATE ape_resume.task SET "
							   "state = CASE WHEN last_error IS NOT NULL THEN 'failed' "
							   "  WHEN EXISTS (SELECT 1 FROM ape_resume.position p WHERE p.task_id = $1 "
							   "               AND p.state NOT IN ('finished', 'skipped')) "
							   "  THEN 'stopped' ELSE 'finished' END, "
							   "finished_at = pg_catalog.now(), worker_pid = NULL, stop_requested = false "
							   "WHERE id = $1 AND state = 'running' "
							   "AND NOT EXISTS (SELECT 1 FROM ape_resume.worker w WHERE w.task_id = $1) "
							   "RETURNING state",
							   1, types, args, nulls, false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not update ape_resume.task: %s", SPI_result_code_string(rc));
	if (SPI_processed > 0)
		state = MemoryContextStrdup(cxt, TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0],
																		   SPI_tuptable->tupdesc, 1,
																		   &isnull)));
	catalog_as_owner_end(&cu);
	return state;
}
