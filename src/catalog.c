/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Reads and writes of the ape_resume.task catalog table, through SPI,
 *	  as the extension's owner (see privileges.c), and the conversions of
 *	  the catalog's text[] columns (order keys and positions).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "catalog.h"
#include "privileges.h"

static char *
copy_value(MemoryContext cxt, HeapTuple tuple, TupleDesc desc, int col)
{
	char	   *v = SPI_getvalue(tuple, desc, col);

	return v ? MemoryContextStrdup(cxt, v) : NULL;
}

/* advisory lock spaces (first key) of the starts and resumes */
#define LOCK_SPACE_TASK_NAME	0x41504501
#define LOCK_SPACE_LOG_DIR		0x41504502
#define LOCK_SPACE_TASK_ID		0x41504503

/*
 * In the owner context: a transaction-level advisory lock on a name, which
 * serializes the starts and resumes that use it until they commit, without
 * blocking the workers' updates of the task table.
 */
static void
lock_name(int space, const char *name)
{
	Oid			argtypes[2] = {INT4OID, TEXTOID};
	Datum		args[2];

	args[0] = Int32GetDatum(space);
	args[1] = CStringGetTextDatum(name);
	if (SPI_execute_with_args("SELECT pg_catalog.pg_advisory_xact_lock($1, pg_catalog.hashtext($2))",
							  2, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not lock \"%s\"", name);
}

/* In the owner context: see catalog_check_log_dir_free. */
static void
log_dir_check_free(const char *log_dir, int64 except_id)
{
	Oid			argtypes[2] = {TEXTOID, INT8OID};
	Datum		args[2];
	int			rc;

	lock_name(LOCK_SPACE_LOG_DIR, log_dir);
	args[0] = CStringGetTextDatum(log_dir);
	args[1] = Int64GetDatum(except_id);
	/* not read-only: a snapshot taken after the lock, of what others committed */
	rc = SPI_execute_with_args("SELECT name FROM ape_resume.task "
							   "WHERE log_dir = $1 AND id <> $2 AND state IN ('pending', 'running')",
							   2, argtypes, args, NULL, false, 1);
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

/*
 * In the owner context: see catalog_check_task_id.  The first name that
 * query (with $1 the task_id, $2 id) finds, or NULL.
 */
static char *
task_id_other(const char *task_id, int64 id, const char *query)
{
	Oid			argtypes[2] = {TEXTOID, INT8OID};
	Datum		args[2];
	int			rc;

	args[0] = CStringGetTextDatum(task_id);
	args[1] = Int64GetDatum(id);
	rc = SPI_execute_with_args(query, 2, argtypes, args, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.task: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

static void
task_id_check(const TaskConfig *config, int64 id)
{
	char	   *other;

	/* a task another one took up goes on in that one only */
	if (id != 0 &&
		(other = task_id_other("", id,
							   "SELECT taken_up_by FROM ape_resume.task "
							   "WHERE id = $2 AND taken_up_by IS NOT NULL")) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the task was taken up by task \"%s\", which resumed from its positions", other),
				 errdetail("Its target holds rows copied after its own positions; resuming it would copy them again."),
				 errhint("Resume task \"%s\" instead.", other)));
	if (config->task_id == NULL)
		return;
	lock_name(LOCK_SPACE_TASK_ID, config->task_id);
	/* two tasks of one task_id at once would copy the same rows */
	if (config->resume_type != NULL && strcmp(config->resume_type, "catalog") == 0 &&
		(other = task_id_other(config->task_id, id,
							   "SELECT name FROM ape_resume.task WHERE task_id = $1 AND id <> $2 "
							   "AND state IN ('pending', 'running')")) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("task \"%s\" of task_id \"%s\" is running", other, config->task_id),
				 errhint("Stop it first: tasks of one task_id resume from each other's positions.")));
}

void
catalog_check_task_id(const TaskConfig *config, int64 id)
{
	CatalogUser cu;

	catalog_as_owner_begin(&cu);
	task_id_check(config, id);
	catalog_as_owner_end(&cu);
}

void
catalog_check_log_dir_free(const char *log_dir, int64 except_id)
{
	CatalogUser cu;

	catalog_as_owner_begin(&cu);
	log_dir_check_free(log_dir, except_id);
	catalog_as_owner_end(&cu);
}

int64
catalog_task_insert(const char *name, const char *config_text,
					const TaskConfig *config)
{
	CatalogUser cu;
	Oid			argtypes[8] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, OIDOID, TEXTOID, TEXTOID};
	Datum		args[8];
	char		nulls[9] = "        ";
	bool		isnull;
	int64		id;
	int			rc;

	catalog_as_owner_begin(&cu);

	/* serialize the starts of a name and of a log_dir */
	lock_name(LOCK_SPACE_TASK_NAME, name);
	args[0] = CStringGetTextDatum(name);
	rc = SPI_execute_with_args("SELECT 1 FROM ape_resume.task WHERE name = $1",
							   1, argtypes, args, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.task: %s", SPI_result_code_string(rc));
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("task \"%s\" already exists", name),
				 errhint("Use ape_resume.resume_task() to continue it, or ape_resume.drop_task() to forget it.")));

	log_dir_check_free(config->log_dir, 0);
	task_id_check(config, 0);

	args[0] = CStringGetTextDatum(name);
	args[1] = CStringGetTextDatum(config_text);
	args[2] = CStringGetTextDatum(source_kind_name(config->db_type));
	args[3] = CStringGetTextDatum(url_mask_password(config->url));
	args[4] = CStringGetTextDatum(config->log_dir);
	args[5] = ObjectIdGetDatum(cu.save_userid);
	args[6] = config->task_id ? CStringGetTextDatum(config->task_id) : (Datum) 0;
	nulls[6] = config->task_id ? ' ' : 'n';
	args[7] = CStringGetTextDatum(config->check ? "check" : "copy");
	nulls[7] = ' ';
	rc = SPI_execute_with_args("INSERT INTO ape_resume.task "
							   "(name, config, db_type, source_url, log_dir, owner, database, task_id, kind) "
							   "VALUES ($1, $2, $3, $4, $5, $6, "
							   "(SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()), $7, $8) "
							   "RETURNING id",
							   8, argtypes, args, nulls, false, 1);
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

Datum
catalog_text_array(int n, char *const *items)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

char **
catalog_get_text_array(HeapTuple tuple, TupleDesc desc, int col, int *n, MemoryContext cxt)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, col, &isnull);
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	char	  **result;

	*n = 0;
	if (isnull)
		return NULL;
	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &nelems);
	result = MemoryContextAlloc(cxt, sizeof(char *) * Max(nelems, 1));
	for (int i = 0; i < nelems; i++)
	{
		if (nulls[i])
			elog(ERROR, "a position in the ape_resume catalog holds a null element");
		result[i] = MemoryContextStrdup(cxt, TextDatumGetCString(elems[i]));
	}
	*n = nelems;
	return result;
}
