/*-------------------------------------------------------------------------
 *
 * structure_run.c
 *	  Making the objects of the schema after the data (structure.h): each
 *	  claimed with its row's lock, made in a subtransaction of a
 *	  transaction of its own that also records its state, in the order of
 *	  the phases; a worker with no table left waits for the others'.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_type.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "checkpoint.h"
#include "name_filter.h"
#include "privileges.h"
#include "sink.h"
#include "structure.h"
#include "structure_internal.h"
#include "task_run.h"
#include "worker.h"

/* First key of the advisory lock a task's foreign keys take in turn. */
#define APE_FK_LOCK_CLASS 0x41504546

/* A claimed object. */
typedef struct ClaimedObject
{
	int64		id;
	int64		task_id;
	char	   *kind;
	char	   *name;
	char	   *ddl;
	char	   *dst_schema;
	char	   *dst_tb;
	char	   *schema;
	char	   *tb;
	char	  **args;
	int			nargs;
	char	   *ref_schema;		/* a foreign key's referenced table, source names */
	char	   *ref_tb;
} ClaimedObject;

/* a table of the task is done: finished or skipped */
#define TABLE_DONE(schema, tb) \
	"EXISTS (SELECT 1 FROM ape_resume.position p WHERE p.task_id = s.task_id " \
	"        AND p.schema = " schema " AND p.tb = " tb " AND p.state IN ('finished', 'skipped'))"

/*
 * Claim the next object that can be created now, locking its row until
 * the transaction ends.  schema, tb not NULL: only that table's phase 1.
 */
static bool
claim_object(int64 task_id, const char *schema, const char *tb, ClaimedObject *o)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};
	bool		found;

	args[0] = Int64GetDatum(task_id);
	if (schema)
	{
		args[1] = CStringGetTextDatum(schema);
		args[2] = CStringGetTextDatum(tb);
	}
	else
		nulls[1] = nulls[2] = 'n';
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT s.id, s.kind, s.name, s.ddl, s.dst_schema, s.dst_tb, "
							  "s.schema, s.tb, s.args, s.ref_schema, s.ref_tb "
							  "FROM ape_resume.structure s "
							  "WHERE s.task_id = $1 AND s.state = 'pending' "
							  "AND ($2::text IS NULL OR (s.schema = $2 AND s.tb = $3 AND s.phase = 1)) "
							  "AND " TABLE_DONE("s.schema", "s.tb") " "
							  "AND (s.phase <> 2 OR s.ref_tb IS NULL OR (" TABLE_DONE("s.ref_schema", "s.ref_tb") " "
							  "     AND NOT EXISTS (SELECT 1 FROM ape_resume.structure x WHERE x.task_id = s.task_id "
							  "     AND x.state = 'pending' AND x.phase = 1 AND x.schema IN (s.schema, s.ref_schema) "
							  "     AND x.tb IN (s.tb, s.ref_tb)))) "
							  "AND (s.phase <> 3 OR (NOT EXISTS (SELECT 1 FROM ape_resume.position p "
							  "     WHERE p.task_id = s.task_id AND p.state NOT IN ('finished', 'skipped')) "
							  "     AND NOT EXISTS (SELECT 1 FROM ape_resume.structure x WHERE x.task_id = s.task_id "
							  "     AND x.state = 'pending' AND x.phase < 3))) "
							  "AND EXISTS (SELECT 1 FROM ape_resume.task t WHERE t.id = $1 AND t.state = 'running') "
							  "ORDER BY s.phase, s.id LIMIT 1 FOR UPDATE OF s SKIP LOCKED",
							  3, (Oid[]) {INT8OID, TEXTOID, TEXTOID}, args, nulls,
							  false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.structure");
	found = SPI_processed > 0;
	if (found)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *v;

		o->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		o->task_id = task_id;
		o->kind = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 2));
		o->name = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 3));
		v = SPI_getvalue(tup, desc, 4);
		o->ddl = v ? MemoryContextStrdup(cxt, v) : NULL;
		o->dst_schema = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 5));
		o->dst_tb = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 6));
		o->schema = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 7));
		o->tb = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 8));
		o->args = catalog_get_text_array(tup, desc, 9, &o->nargs, cxt);
		v = SPI_getvalue(tup, desc, 10);
		o->ref_schema = v ? MemoryContextStrdup(cxt, v) : NULL;
		v = SPI_getvalue(tup, desc, 11);
		o->ref_tb = v ? MemoryContextStrdup(cxt, v) : NULL;
	}
	catalog_as_owner_end(&cu);
	return found;
}

static void
set_object_state(int64 id, const char *state, const char *error)
{
	CatalogUser cu;
	Datum		args[3];
	char		nulls[3] = {' ', ' ', error ? ' ' : 'n'};

	args[0] = Int64GetDatum(id);
	args[1] = CStringGetTextDatum(state);
	args[2] = error ? CStringGetTextDatum(error) : (Datum) 0;
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("UPDATE ape_resume.structure SET state = $2, error = $3, "
							  "updated_at = pg_catalog.clock_timestamp() WHERE id = $1",
							  3, (Oid[]) {INT8OID, TEXTOID, TEXTOID}, args, nulls,
							  false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update ape_resume.structure");
	catalog_as_owner_end(&cu);
}

/*
 * An identity's value, past the copied data: the column's maximum at the
 * target and the source's next value (args[1], MySQL's AUTO_INCREMENT
 * counter), whichever is further.
 */
static void
restart_identity(const ClaimedObject *o)
{
	const char *col = o->args[0];
	char	   *qualified = psprintf("%s.%s", quote_identifier(o->dst_schema),
									 quote_identifier(o->dst_tb));
	int			nestlevel;
	char	   *max = NULL;
	char	   *restart;

	nestlevel = pinned_spi_connect();
	if (SPI_execute(psprintf("SELECT (pg_catalog.max(%s) OPERATOR(pg_catalog.+) 1)::pg_catalog.text FROM %s",
							 quote_identifier(col), qualified), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the maximum of column \"%s\" of %s", col, qualified);
	if (SPI_processed > 0)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (v)
			max = pstrdup(v);
	}
	pinned_spi_finish(nestlevel);
	restart = max;
	if (o->nargs > 1 && o->args[1] != NULL &&
		(restart == NULL ||
		 DatumGetInt32(DirectFunctionCall2(numeric_cmp,
										   DirectFunctionCall3(numeric_in, CStringGetDatum(o->args[1]),
															   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)),
										   DirectFunctionCall3(numeric_in, CStringGetDatum(restart),
															   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)))) > 0))
		restart = o->args[1];
	if (restart == NULL)
		return;
	/* digits only: both come from numbers */
	if (strspn(restart, "-0123456789") != strlen(restart))
		elog(ERROR, "invalid identity value \"%s\" for column \"%s\" of %s", restart, col, qualified);
	sink_run_ddl(psprintf("ALTER TABLE %s ALTER COLUMN %s RESTART WITH %s",
						   qualified, quote_identifier(col), restart));
}

/*
 * A sequence's value, last: args are the sequence's qualified name (in the
 * table's schema), the source's last_value ("" when the source role could
 * not read it), is_called, the column of the table it belongs to ("" for
 * none) and its increment.  The value is the source's, or past the
 * column's data if that is further (the source may have moved on since
 * the value was read, or the column be filled past it); the ddl only
 * shows it.
 */
static void
set_sequence_value(const ClaimedObject *o)
{
	List	   *names;
	int			nestlevel;
	char	   *bound = NULL;
	bool		ascending;
	char	   *value;
	bool		called;

	if (o->nargs != 5)
		elog(ERROR, "sequence value %s has %d arguments", o->name, o->nargs);
	names = stringToQualifiedNameList(o->args[0]);
	if (list_length(names) != 2 || strcmp(strVal(linitial(names)), o->dst_schema) != 0)
		elog(ERROR, "sequence %s is not in schema \"%s\"", o->args[0], o->dst_schema);
	ascending = strtoi64(o->args[4], NULL, 10) > 0;
	value = o->args[1][0] ? o->args[1] : NULL;
	called = strcmp(o->args[2], "t") == 0;
	nestlevel = pinned_spi_connect();
	if (o->args[3][0])
	{
		if (SPI_execute(psprintf("SELECT pg_catalog.%s(%s)::pg_catalog.int8::pg_catalog.text FROM %s.%s",
								 ascending ? "max" : "min", quote_identifier(o->args[3]),
								 quote_identifier(o->dst_schema), quote_identifier(o->dst_tb)),
						true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read column \"%s\" of the target", o->args[3]);
		if (SPI_processed > 0)
			bound = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	}
	if (bound != NULL &&
		(value == NULL ||
		 (ascending ? strtoi64(bound, NULL, 10) >= strtoi64(value, NULL, 10)
		  : strtoi64(bound, NULL, 10) <= strtoi64(value, NULL, 10))))
	{
		value = bound;
		called = true;
	}
	if (value != NULL &&
		SPI_execute_with_args("SELECT pg_catalog.setval($1::pg_catalog.text::pg_catalog.regclass, $2, $3)",
							  3, (Oid[]) {TEXTOID, INT8OID, BOOLOID},
							  (Datum[]) {CStringGetTextDatum(o->args[0]),
							  Int64GetDatum(strtoi64(value, NULL, 10)), BoolGetDatum(called)},
							  NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not set the value of sequence %s", o->args[0]);
	pinned_spi_finish(nestlevel);
}

/* Does the claimed foreign key reference a table of Citus's? */
static bool
references_citus(const ClaimedObject *o, const TaskConfig *config)
{
	char	   *ref_schema;
	char	   *ref_tb;

	if (o->ref_schema == NULL)
		return false;
	name_filter_route(&config->filter, o->ref_schema, o->ref_tb, &ref_schema, &ref_tb);
	return sink_is_citus_target(ref_schema, ref_tb);
}

/* Create one claimed object, in the caller's (sub)transaction. */
static void
create_object(const ClaimedObject *o, const TaskConfig *config)
{
	char	   *ref_schema = NULL;
	char	   *ref_tb = NULL;

	if (strcmp(o->kind, "sequence_value") == 0)
	{
		set_sequence_value(o);
		return;
	}
	if (o->ref_schema)
	{
		name_filter_route(&config->filter, o->ref_schema, o->ref_tb, &ref_schema, &ref_tb);
		/*
		 * One foreign key of the task at a time: two that lock the same
		 * two tables in turn (a -> b, b -> a) would deadlock.
		 */
		sink_run_ddl(psprintf("SELECT pg_catalog.pg_advisory_xact_lock(%d, %d)",
							   APE_FK_LOCK_CLASS, (int32) (o->task_id & 0x7fffffff)));
	}
	structure_check_ddl(o->kind, o->ddl, o->dst_schema, o->dst_tb, ref_schema, ref_tb);
	if (o->dst_tb != NULL && sink_is_citus_target(o->dst_schema, o->dst_tb))
		sink_citus_statement();
	structure_run_statements(o->ddl);
	if (strcmp(o->kind, "identity") == 0 && o->nargs > 0)
		restart_identity(o);
}

void
structure_check_failed(int64 task_id, const TaskConfig *config)
{
	CatalogUser cu;
	char	   *first = NULL;
	int64		n = 0;

	if (config->structure_conflict_ignore)
		return;
	task_xact_begin();
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT pg_catalog.count(*) OVER (), "
							  "pg_catalog.format('%s %I of table %I.%I: %s', kind, name, schema, tb, error) "
							  "FROM ape_resume.structure WHERE task_id = $1 AND state = 'failed' "
							  "ORDER BY id LIMIT 1",
							  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(task_id)},
							  NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.structure");
	if (SPI_processed > 0)
	{
		bool		isnull;

		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		first = pstrdup(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
	}
	catalog_as_owner_end(&cu);
	task_xact_commit();
	if (n > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not create " INT64_FORMAT " structure objects, the first: %s", n, first),
				 errdetail("The data is copied; view ape_resume.structures lists the objects and their errors."),
				 errhint("Fix the cause and resume the task, which tries them again, or set conflict_policy=ignore in section [sinker] to finish without them.")));
}

/* How long a worker with no table left waits between looks for objects. */
#define STRUCTURE_WAIT_MS 200

/*
 * Do other live workers of the task copy tables (whose objects will be
 * ready when they finish)?
 */
static bool
others_copying(int64 task_id)
{
	CatalogUser cu;
	List	   *pids = NIL;
	ListCell   *lc;

	catalog_as_owner_begin(&cu);
	/* a table's worker, or the worker of one of its chunks */
	if (SPI_execute_with_args("SELECT DISTINCT x.pid FROM ("
							  "  SELECT p.worker_pid AS pid, p.schema, p.tb FROM ape_resume.position p "
							  "  WHERE p.task_id = $1 AND p.state IN ('pending', 'copying') "
							  "  UNION ALL "
							  "  SELECT c.worker_pid, c.schema, c.tb FROM ape_resume.chunk c "
							  "  JOIN ape_resume.position p ON p.task_id = c.task_id "
							  "    AND p.schema = c.schema AND p.tb = c.tb "
							  "  WHERE c.task_id = $1 AND c.state <> 'finished' "
							  "  AND p.state IN ('pending', 'copying')) x "
							  "WHERE x.pid <> $2 "
							  "AND x.pid IN (SELECT w.pid FROM ape_resume.worker w WHERE w.task_id = $1) "
							  "AND EXISTS (SELECT 1 FROM ape_resume.structure s WHERE s.task_id = $1 "
							  "            AND s.schema = x.schema AND s.tb = x.tb AND s.state = 'pending')",
							  2, (Oid[]) {INT8OID, INT4OID},
							  (Datum[]) {Int64GetDatum(task_id), Int32GetDatum(MyProcPid)},
							  NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.position");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int			pid = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

		pids = lappend_int(pids, pid);
	}
	catalog_as_owner_end(&cu);
	/* a worker ended by pg_terminate_backend leaves its rows: it is not waited for */
	foreach(lc, pids)
		if (task_worker_alive(lfirst_int(lc)))
			return true;
	return false;
}

bool
structure_run_ready(int64 task_id, const TaskConfig *config, const SourceTable *table)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "ape_resume structure",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);

	for (;;)
	{
		ClaimedObject o;
		ResourceOwner owner;
		ErrorData  *edata = NULL;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(cxt);
		task_xact_begin();
		if (checkpoint_stop_requested(task_id))
		{
			task_xact_commit();
			MemoryContextSwitchTo(old);
			MemoryContextDelete(cxt);
			return false;
		}
		/* the types its objects may cast to: those the task made by now */
		structure_load_made_types(task_id);
		if (!claim_object(task_id, table ? table->schema : NULL, table ? table->tb : NULL, &o))
		{
			/*
			 * Nothing to make now.  A worker with no table left helps with
			 * the objects of the tables others still copy, as they finish.
			 */
			bool		wait = table == NULL && others_copying(task_id);

			task_xact_commit();
			if (!wait)
				break;
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 STRUCTURE_WAIT_MS, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			continue;
		}
		pgstat_report_activity(STATE_RUNNING, o.ddl);

		owner = CurrentResourceOwner;
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			create_object(&o, config);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
		PG_END_TRY();

		if (edata == NULL)
		{
			set_object_state(o.id, "done", NULL);
			task_xact_commit();
			task_log(config, "INFO", "created %s %s of table \"%s\".\"%s\"",
					 o.kind, quote_identifier(o.name), o.schema, o.tb);
			continue;
		}
		/*
		 * A foreign key Citus cannot enforce (between tables not
		 * colocated): not copied.  Anything else Citus refuses (a unique
		 * index without the distribution column) fails, as anywhere.
		 */
		if ((edata->sqlerrcode == ERRCODE_FEATURE_NOT_SUPPORTED ||
			 edata->sqlerrcode == ERRCODE_INVALID_TABLE_DEFINITION) &&
			strcmp(o.kind, "foreign_key") == 0 && o.dst_tb != NULL &&
			(sink_is_citus_target(o.dst_schema, o.dst_tb) || references_citus(&o, config)))
		{
			char	   *why = psprintf("Citus cannot make it on its table: %s%s%s", edata->message,
									   edata->detail ? ": " : "", edata->detail ? edata->detail : "");

			set_object_state(o.id, "not_copied", why);
			task_xact_commit();
			task_log(config, "WARN", "%s \"%s\" of table \"%s\".\"%s\" is not copied: %s",
					 o.kind, o.name, o.schema, o.tb, why);
			continue;
		}
		set_object_state(o.id, "failed", edata->message);
		task_xact_commit();
		task_log(config, "WARN", "could not create %s \"%s\" of table \"%s\".\"%s\": %s",
				 o.kind, o.name, o.schema, o.tb, edata->message);
	}
	pgstat_report_activity(STATE_RUNNING, NULL);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return true;
}
