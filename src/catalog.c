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

	args[0] = CStringGetTextDatum(config->log_dir);
	rc = SPI_execute_with_args("SELECT name FROM ape_resume.task "
							   "WHERE log_dir = $1 AND state IN ('pending', 'running')",
							   1, argtypes, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.task: %s", SPI_result_code_string(rc));
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("log directory \"%s\" is in use by running task \"%s\"",
						config->log_dir,
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
				 errhint("Give each task its own log_dir in section [runtime].")));

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
										"stop_requested, last_error, worker_pid "
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

bool
catalog_task_mark_interrupted(int64 id, int pid)
{
	CatalogUser cu;
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		args[2];
	int			rc;
	bool		marked;

	args[0] = Int64GetDatum(id);
	args[1] = Int32GetDatum(pid);
	catalog_as_owner_begin(&cu);
	rc = SPI_execute_with_args("UPDATE ape_resume.task SET state = 'interrupted', "
							   "last_error = 'the worker ended without recording an outcome' "
							   "WHERE id = $1 AND worker_pid = $2 "
							   "AND state IN ('pending', 'running')",
							   2, types, args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "could not update ape_resume.task: %s", SPI_result_code_string(rc));
	marked = SPI_processed > 0;
	catalog_as_owner_end(&cu);
	return marked;
}
