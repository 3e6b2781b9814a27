/*-------------------------------------------------------------------------
 *
 * task_state.c
 *	  The state machine of tasks, their workers and their tables: every
 *	  change of ape_resume.task.state, of ape_resume.worker and of a table's
 *	  claim (ape_resume.position.worker_pid) is made here.
 *
 * Task states (ape_resume.task.state)
 *
 *	  pending ---------> running ---------> finished | failed | stopped
 *	     ^   coordinator          last live                 |
 *	     |   (begin_run)          worker leaves             |
 *	     +------------------------------------------------- +
 *	     |   resume_task (from stopped, failed, interrupted)
 *	     |
 *	  running, or pending with a launched worker, whose workers are all
 *	  dead (crash, SIGKILL, FATAL at start-up): interrupted (or finished,
 *	  when every table was committed finished and no worker failed), or
 *	  pending again when the launcher restarts it after a server restart.
 *
 * Who moves each, and how
 *
 *	  - start_task inserts the row as pending (catalog_task_insert).
 *	  - resume_task: one UPDATE ... WHERE state IN ('stopped', 'failed',
 *		'interrupted').  Two concurrent calls: the second waits for the
 *		first's row lock, re-checks the WHERE against the committed row
 *		(READ COMMITTED) and finds it pending: it fails, launching nothing.
 *	  - whoever launches a coordinator records its pid in worker_pid in the
 *		launching transaction; the coordinator waits for that transaction
 *		and then moves pending -> running only WHERE state = 'pending' AND
 *		worker_pid = its own pid.  So there is one coordinator per run: a
 *		second worker launched for the task finds the row taken and exits.
 *	  - stop_task only sets stop_requested; workers see it between batches.
 *	  - a worker leaving takes the task row's lock first (the UPDATE of
 *		last_error), then deletes its ape_resume.worker row and the rows of
 *		workers that are dead (a helper that died at start-up), then records
 *		the outcome if no worker is left.  The task row lock orders the
 *		leaves: exactly one worker sees none left.
 *	  - interrupted / requeue: only by a caller that found every worker of
 *		the task dead, and only WHERE the state is still an orphan state.
 *
 * Table states (ape_resume.position.state)
 *
 *	  pending -> copying (claimed: worker_pid = the claimant) -> finished
 *	  pending | copying -> skipped (the resume rules found it finished)
 *	  pending | copying -> failed, with the reason in error: the source
 *		table is gone (at the start of a run, or when a worker claims it);
 *		the task copies the others and ends failed; the next run registers
 *		the table again as pending.
 *
 *	  - A claim is taken by a conditional UPDATE (worker_pid IS NULL), only
 *		while the task is running.  A table cut into chunks (chunk.c) is
 *		never claimed whole: its chunks are, each the same way, and their
 *		checkpoints are fenced by the chunk's claim.
 *	  - Claims are released only at the start of a run, and only those not
 *		held by a worker of this run.
 *	  - Every checkpoint (a batch of rows and the table's position, in one
 *		transaction) updates the position row WHERE worker_pid = the
 *		committing worker (checkpoint_commit_position), and fails when no
 *		row matches: a worker that lost its claim rolls its batch back
 *		instead of writing it.
 *
 * A task whose tables are all finished is finished only once the objects
 * of their structures (structure.c) are made: pending ones leave it
 * stopped (or interrupted), and its next run makes them.
 *
 * Isolation: every statement here assumes READ COMMITTED (a conditional
 * UPDATE re-checks the committed row; SKIP LOCKED needs it): workers force
 * it in their session (ape_worker_pin_session), and start_task and
 * resume_task refuse to run in a REPEATABLE READ or SERIALIZABLE
 * transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "catalog.h"
#include "privileges.h"
#include "task_state.h"
#include "worker.h"

/* Run one statement on a task row, with the task id as $1; rows it hit. */
static uint64
task_update(const char *sql, int64 id, int nextra, Oid *extra_types,
			Datum *extra_args, const char *extra_nulls)
{
	CatalogUser cu;
	Oid			argtypes[4] = {INT8OID};
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	int			i;
	int			rc;
	uint64		processed;

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
		elog(ERROR, "could not update the ape_resume catalog: %s", SPI_result_code_string(rc));
	processed = SPI_processed;
	catalog_as_owner_end(&cu);
	return processed;
}

/* A run's ape_resume.worker rows go: a new run, or one that is over. */
static void
forget_workers(int64 id)
{
	(void) task_update("DELETE FROM ape_resume.worker WHERE task_id = $1", id, 0, NULL, NULL, NULL);
}

bool
task_state_resume(int64 id)
{
	return task_update("UPDATE ape_resume.task SET state = 'pending', last_error = NULL, "
					   "finished_at = NULL, stop_requested = false, worker_pid = NULL "
					   "WHERE id = $1 AND state IN ('stopped', 'failed', 'interrupted')",
					   id, 0, NULL, NULL, NULL) > 0;
}

void
task_state_request_stop(int64 id)
{
	(void) task_update("UPDATE ape_resume.task SET stop_requested = true WHERE id = $1",
					   id, 0, NULL, NULL, NULL);
}

void
task_state_drop(int64 id)
{
	(void) task_update("DELETE FROM ape_resume.task WHERE id = $1", id, 0, NULL, NULL, NULL);
}

void
task_state_set_launched(int64 id, int pid)
{
	Oid			types[1] = {INT4OID};
	Datum		args[1];

	args[0] = Int32GetDatum(pid);
	(void) task_update("UPDATE ape_resume.task SET worker_pid = $2 WHERE id = $1",
					   id, 1, types, args, " ");
}

bool
task_state_begin_run(int64 id)
{
	Oid			types[1] = {INT4OID};
	Datum		args[1];

	args[0] = Int32GetDatum(MyProcPid);
	if (task_update("UPDATE ape_resume.task SET state = 'running', "
					"started_at = pg_catalog.now(), finished_at = NULL, last_error = NULL "
					"WHERE id = $1 AND state = 'pending' AND worker_pid = $2",
					id, 1, types, args, " ") == 0)
		return false;
	/* a new run: forget the workers of an earlier one, all dead */
	forget_workers(id);
	task_state_worker_add(id, MyProcPid);
	return true;
}

/*
 * Every table of the run committed finished or skipped, and no worker
 * failed: the outcome is known even though no worker recorded it.
 */
#define TASK_STATE_ALL_FINISHED \
	"(t.last_error IS NULL " \
	" AND t.started_at <= (SELECT pg_catalog.max(f.finished_at) FROM ape_resume.finished f " \
	"                      WHERE f.task_id = t.id) " \
	" AND EXISTS (SELECT 1 FROM ape_resume.position p WHERE p.task_id = t.id) " \
	" AND NOT EXISTS (SELECT 1 FROM ape_resume.position p WHERE p.task_id = t.id " \
	"                 AND p.state NOT IN ('finished', 'skipped')) " \
	" AND t.tables_total = (SELECT pg_catalog.count(*) FROM ape_resume.position p " \
	"                       WHERE p.task_id = t.id) " \
	" AND NOT EXISTS (SELECT 1 FROM ape_resume.structure s WHERE s.task_id = t.id " \
	"                 AND s.state = 'pending'))"

/* The states of a task whose workers may have died without a word. */
#define ORPHAN_STATES "(state = 'running' OR (state = 'pending' AND worker_pid IS NOT NULL))"

/*
 * The state and coordinator the caller saw when it found every worker dead
 * ($2, $3): the change applies only if the row is still that one, not a
 * run another session started meanwhile.
 */
#define SEEN_ROW "state = $2 AND worker_pid IS NOT DISTINCT FROM $3"

static void
seen_args(const TaskRow *seen, Oid *types, Datum *args, char *nulls)
{
	types[0] = INT8OID;
	types[1] = TEXTOID;
	types[2] = INT4OID;
	args[0] = Int64GetDatum(seen->id);
	args[1] = CStringGetTextDatum(seen->state);
	args[2] = Int32GetDatum(seen->worker_pid);
	nulls[0] = nulls[1] = ' ';
	nulls[2] = seen->worker_pid == 0 ? 'n' : ' ';
	nulls[3] = '\0';
}

const char *
task_state_mark_interrupted(const TaskRow *seen)
{
	CatalogUser cu;
	Oid			types[3];
	Datum		args[3];
	char		nulls[4];
	const char *state = NULL;

	seen_args(seen, types, args, nulls);
	catalog_as_owner_begin(&cu);
	/* finished: the run committed every table finished, then lost a helper */
	if (SPI_execute_with_args("UPDATE ape_resume.task t SET "
							  "state = CASE WHEN " TASK_STATE_ALL_FINISHED " "
							  "  THEN 'finished' ELSE 'interrupted' END, "
							  "last_error = CASE WHEN " TASK_STATE_ALL_FINISHED " THEN NULL "
							  "  ELSE 'the workers ended without recording an outcome "
							  "(server crash, immediate shutdown or a killed worker)' END, "
							  "finished_at = CASE WHEN " TASK_STATE_ALL_FINISHED " "
							  "  THEN pg_catalog.now() END, "
							  "worker_pid = NULL "
							  "WHERE id = $1 AND " ORPHAN_STATES " AND " SEEN_ROW " RETURNING state",
							  3, types, args, nulls, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not update ape_resume.task");
	if (SPI_processed > 0)
		state = strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
					   "finished") == 0 ? "finished" : "interrupted";
	catalog_as_owner_end(&cu);
	if (state)
		forget_workers(seen->id);
	return state;
}

bool
task_state_requeue(const TaskRow *seen)
{
	Oid			types[3];
	Datum		args[3];
	char		nulls[4];
	bool		done;

	seen_args(seen, types, args, nulls);
	done = task_update("UPDATE ape_resume.task SET state = 'pending', worker_pid = NULL, "
					   "last_error = NULL, stop_requested = false "
					   "WHERE id = $1 AND " ORPHAN_STATES " AND " SEEN_ROW,
					   seen->id, 2, types + 1, args + 1, nulls + 1) > 0;
	if (done)
		forget_workers(seen->id);
	return done;
}

void
task_state_worker_add(int64 task_id, int pid)
{
	Oid			types[1] = {INT4OID};
	Datum		args[1];

	args[0] = Int32GetDatum(pid);
	(void) task_update("INSERT INTO ape_resume.worker (task_id, pid) VALUES ($1, $2) "
					   "ON CONFLICT DO NOTHING",
					   task_id, 1, types, args, " ");
}

List *
task_state_worker_pids(int64 task_id)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	Oid			types[1] = {INT8OID};
	Datum		args[1];
	List	   *pids = NIL;
	uint64		i;

	args[0] = Int64GetDatum(task_id);
	catalog_as_owner_begin(&cu);
	/* not read-only: what other sessions committed now, not at our snapshot */
	if (SPI_execute_with_args("SELECT pid FROM ape_resume.worker WHERE task_id = $1",
							  1, types, args, NULL, false, 0) != SPI_OK_SELECT)
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

const char *
task_state_worker_leave(int64 task_id, int pid, const char *error)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	Oid			types[3] = {INT8OID, INT4OID, TEXTOID};
	Datum		args[3];
	char		nulls[3] = {' ', ' ', error ? ' ' : 'n'};
	const char *state = NULL;
	bool		isnull;
	int			rc;
	List	   *others;
	ListCell   *lc;

	args[0] = Int64GetDatum(task_id);
	args[1] = Int32GetDatum(pid);
	args[2] = error ? CStringGetTextDatum(error) : (Datum) 0;
	catalog_as_owner_begin(&cu);
	/*
	 * First the task row's lock: it orders the leaves of all workers.  A
	 * worker that is not (or no longer) one of the run's touches nothing.
	 */
	rc = SPI_execute_with_args("UPDATE ape_resume.task SET last_error = CASE WHEN EXISTS "
							   "  (SELECT 1 FROM ape_resume.worker w WHERE w.task_id = $1 AND w.pid = $2) "
							   "  THEN coalesce(last_error, $3) ELSE last_error END "
							   "WHERE id = $1",
							   3, types, args, nulls, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "could not update ape_resume.task: %s", SPI_result_code_string(rc));
	rc = SPI_execute_with_args("DELETE FROM ape_resume.worker WHERE task_id = $1 AND pid = $2",
							   2, types, args, nulls, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "could not update ape_resume.worker: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
	{
		/* not one of the run's workers (its error was not recorded either) */
		catalog_as_owner_end(&cu);
		elog(LOG, "ape_resume worker %d left task %lld, of which it was not a worker",
			 pid, (long long) task_id);
		return NULL;
	}
	catalog_as_owner_end(&cu);

	/* a helper that died at start-up (a connection limit) left its row */
	others = task_state_worker_pids(task_id);
	catalog_as_owner_begin(&cu);
	foreach(lc, others)
	{
		if (task_worker_alive(lfirst_int(lc)))
			continue;
		args[1] = Int32GetDatum(lfirst_int(lc));
		if (SPI_execute_with_args("DELETE FROM ape_resume.worker WHERE task_id = $1 AND pid = $2",
								  2, types, args, nulls, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not update ape_resume.worker");
	}
	rc = SPI_execute_with_args("UPDATE ape_resume.task SET "
							   "state = CASE WHEN last_error IS NOT NULL THEN 'failed' "
							   "  WHEN EXISTS (SELECT 1 FROM ape_resume.position p WHERE p.task_id = $1 "
							   "               AND p.state IN ('pending', 'copying')) "
							   "  THEN 'stopped' "
							   "  WHEN EXISTS (SELECT 1 FROM ape_resume.position p WHERE p.task_id = $1 "
							   "               AND p.state = 'failed') "
							   "  THEN 'failed' "
							   "  WHEN EXISTS (SELECT 1 FROM ape_resume.structure s WHERE s.task_id = $1 "
							   "               AND s.state = 'pending') "
							   "  THEN 'stopped' ELSE 'finished' END, "
							   "last_error = coalesce(last_error, "
							   "  (SELECT pg_catalog.format('table %I.%I failed: %s', p.schema, p.tb, p.error) "
							   "   FROM ape_resume.position p WHERE p.task_id = $1 AND p.state = 'failed' "
							   "   AND NOT EXISTS (SELECT 1 FROM ape_resume.position q WHERE q.task_id = $1 "
							   "                   AND q.state IN ('pending', 'copying')) "
							   "   ORDER BY p.schema, p.tb LIMIT 1)), "
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

/*
 * The next unit of work no worker holds, largest first: a table copied
 * whole, or a chunk of a split one (chunk.c).  Not locked: the claim
 * below re-checks it.
 */
static bool
next_unit(int64 task_id, char **schema, char **tb, int *chunk)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	Oid			types[1] = {INT8OID};
	Datum		args[1];
	bool		found;

	args[0] = Int64GetDatum(task_id);
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT u.schema, u.tb, u.chunk FROM ("
							  "  SELECT p.schema, p.tb, 0 AS chunk, p.rows_estimated "
							  "  FROM ape_resume.position p "
							  "  WHERE p.task_id = $1 AND p.state IN ('pending', 'copying') "
							  "  AND p.worker_pid IS NULL AND p.chunks IS NULL "
							  "  UNION ALL "
							  "  SELECT c.schema, c.tb, c.chunk, c.rows_estimated "
							  "  FROM ape_resume.chunk c JOIN ape_resume.position p "
							  "    ON p.task_id = c.task_id AND p.schema = c.schema AND p.tb = c.tb "
							  "  WHERE c.task_id = $1 AND c.state <> 'finished' AND c.worker_pid IS NULL "
							  "  AND p.state IN ('pending', 'copying') AND p.chunks IS NOT NULL) u "
							  "WHERE EXISTS (SELECT 1 FROM ape_resume.task t "
							  "              WHERE t.id = $1 AND t.state = 'running') "
							  "ORDER BY u.rows_estimated DESC NULLS LAST, u.schema, u.tb, u.chunk LIMIT 1",
							  1, types, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.position");
	found = SPI_processed > 0;
	if (found)
	{
		bool		isnull;

		*schema = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
		*tb = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
		*chunk = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	}
	catalog_as_owner_end(&cu);
	return found;
}

bool
task_state_claim_table(int64 task_id, ClaimedTable *claimed)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	Oid			types[5] = {INT8OID, INT4OID, TEXTOID, TEXTOID, INT4OID};
	Datum		args[5];
	char	   *schema;
	char	   *tb;
	int			chunk;

	/* another worker may claim the unit first: then the next one */
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (!next_unit(task_id, &schema, &tb, &chunk))
			return false;
		args[0] = Int64GetDatum(task_id);
		args[1] = Int32GetDatum(MyProcPid);
		args[2] = CStringGetTextDatum(schema);
		args[3] = CStringGetTextDatum(tb);
		args[4] = Int32GetDatum(chunk);
		catalog_as_owner_begin(&cu);
		if (chunk == 0)
		{
			if (SPI_execute_with_args("UPDATE ape_resume.position p SET worker_pid = $2, state = 'copying', "
									  "started_at = coalesce(p.started_at, pg_catalog.clock_timestamp()), "
									  "updated_at = pg_catalog.clock_timestamp() "
									  "WHERE p.task_id = $1 AND p.schema = $3 AND p.tb = $4 "
									  "AND p.worker_pid IS NULL AND p.chunks IS NULL "
									  "AND p.state IN ('pending', 'copying') "
									  "RETURNING p.schema, p.tb, p.dst_schema, p.dst_tb, p.key_values, "
									  "p.replacing, p.pending_keys, p.key_cols, NULL::text, NULL::text",
									  4, types, args, NULL, false, 1) != SPI_OK_UPDATE_RETURNING)
				elog(ERROR, "could not update ape_resume.position");
		}
		else if (SPI_execute_with_args("UPDATE ape_resume.chunk c SET worker_pid = $2, state = 'copying', "
									   "started_at = coalesce(c.started_at, pg_catalog.clock_timestamp()), "
									   "updated_at = pg_catalog.clock_timestamp() "
									   "FROM ape_resume.position p "
									   "WHERE c.task_id = $1 AND c.schema = $3 AND c.tb = $4 AND c.chunk = $5 "
									   "AND c.worker_pid IS NULL AND c.state <> 'finished' "
									   "AND p.task_id = c.task_id AND p.schema = c.schema AND p.tb = c.tb "
									   "AND p.state IN ('pending', 'copying') "
									   "RETURNING p.schema, p.tb, p.dst_schema, p.dst_tb, c.key_values, "
									   "false, p.pending_keys, p.key_cols, c.lo, c.hi",
									   5, types, args, NULL, false, 1) != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "could not update ape_resume.chunk");
		if (SPI_processed > 0)
			break;
		catalog_as_owner_end(&cu);
	}

	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *v;
		bool		isnull;

		memset(claimed, 0, sizeof(ClaimedTable));
		claimed->schema = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 1));
		claimed->tb = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 2));
		claimed->dst_schema = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 3));
		claimed->dst_tb = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 4));
		claimed->value = catalog_get_text_array(tup, desc, 5, &claimed->nvalues, cxt);
		claimed->replacing = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
		v = SPI_getvalue(tup, desc, 7);
		claimed->pending_keys = v ? MemoryContextStrdup(cxt, v) : NULL;
		claimed->key_cols = catalog_get_text_array(tup, desc, 8, &claimed->nkey_cols, cxt);
		claimed->chunk = chunk;
		v = SPI_getvalue(tup, desc, 9);
		claimed->lo = v ? MemoryContextStrdup(cxt, v) : NULL;
		v = SPI_getvalue(tup, desc, 10);
		claimed->hi = v ? MemoryContextStrdup(cxt, v) : NULL;
	}
	catalog_as_owner_end(&cu);
	return true;
}

void
task_state_release_claims(int64 task_id)
{
	/* fenced: a worker that lost its claim cannot commit (see the top) */
	(void) task_update("UPDATE ape_resume.position SET worker_pid = NULL "
					   "WHERE task_id = $1 AND worker_pid IS NOT NULL "
					   "AND worker_pid NOT IN (SELECT w.pid FROM ape_resume.worker w "
					   "                       WHERE w.task_id = $1)",
					   task_id, 0, NULL, NULL, NULL);
	(void) task_update("UPDATE ape_resume.chunk SET worker_pid = NULL "
					   "WHERE task_id = $1 AND worker_pid IS NOT NULL "
					   "AND worker_pid NOT IN (SELECT w.pid FROM ape_resume.worker w "
					   "                       WHERE w.task_id = $1)",
					   task_id, 0, NULL, NULL, NULL);
}

void
task_state_fail_vanished(int64 task_id, List *tables)
{
	CatalogUser cu;
	Oid			types[3] = {INT8OID, TEXTARRAYOID, TEXTARRAYOID};
	Datum		args[3];
	Datum	   *schemas;
	Datum	   *tbs;
	int			n = list_length(tables);
	int			i = 0;
	ListCell   *lc;

	schemas = palloc(sizeof(Datum) * Max(n, 1));
	tbs = palloc(sizeof(Datum) * Max(n, 1));
	foreach(lc, tables)
	{
		SourceTable *t = lfirst(lc);

		schemas[i] = CStringGetTextDatum(t->schema);
		tbs[i] = CStringGetTextDatum(t->tb);
		i++;
	}
	args[0] = Int64GetDatum(task_id);
	args[1] = PointerGetDatum(construct_array(schemas, n, TEXTOID, -1, false, TYPALIGN_INT));
	args[2] = PointerGetDatum(construct_array(tbs, n, TEXTOID, -1, false, TYPALIGN_INT));
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("UPDATE ape_resume.position p SET state = 'failed', worker_pid = NULL, "
							  "error = 'the source table no longer exists (an earlier run found it)', "
							  "updated_at = pg_catalog.clock_timestamp() "
							  "WHERE p.task_id = $1 AND p.state IN ('pending', 'copying') "
							  "AND NOT EXISTS (SELECT 1 FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS l(s, t) "
							  "                WHERE l.s = p.schema AND l.t = p.tb)",
							  3, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update ape_resume.position");
	catalog_as_owner_end(&cu);
}

void
task_state_fail_table(int64 task_id, const char *schema, const char *tb, const char *error)
{
	CatalogUser cu;
	Oid			types[5] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, INT4OID};
	Datum		args[5];

	args[0] = Int64GetDatum(task_id);
	args[1] = CStringGetTextDatum(schema);
	args[2] = CStringGetTextDatum(tb);
	args[3] = CStringGetTextDatum(error);
	args[4] = Int32GetDatum(MyProcPid);
	catalog_as_owner_begin(&cu);
	/* fenced by the claim (of the table, or of one of its chunks) */
	if (SPI_execute_with_args("UPDATE ape_resume.position SET state = 'failed', worker_pid = NULL, "
							  "error = $4, updated_at = pg_catalog.clock_timestamp() "
							  "WHERE task_id = $1 AND schema = $2 AND tb = $3 "
							  "AND (worker_pid = $5 OR chunks IS NOT NULL)",
							  5, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update ape_resume.position");
	catalog_as_owner_end(&cu);
}

bool
task_state_worker_registered(int64 task_id, int pid)
{
	CatalogUser cu;
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		args[2];
	bool		found;

	args[0] = Int64GetDatum(task_id);
	args[1] = Int32GetDatum(pid);
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT 1 FROM ape_resume.worker WHERE task_id = $1 AND pid = $2",
							  2, types, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.worker");
	found = SPI_processed > 0;
	catalog_as_owner_end(&cu);
	return found;
}
