/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The launcher: a background worker, registered when ape_resume is in
 *	  shared_preload_libraries, that keeps the tasks of the database named
 *	  by ape_resume.database going.
 *
 * After a server start or a crash restart it finds the tasks whose workers
 * died with the server (state running, no live worker) and resumes them
 * from the catalog, once: the state moves from running to pending in a
 * single conditional UPDATE, so nothing else can resume them twice.  Then,
 * every second, it starts tasks that wait for a free worker slot, oldest
 * first.  Like pg_cron's launcher, it restarts after a crash by itself.
 *
 * Resuming after a server start happens once per server start: a flag in
 * shared memory (reset only when the postmaster reinitializes it, at a
 * start or a crash restart) keeps a launcher that restarted alone from
 * resuming tasks whose workers were terminated on purpose; those are marked
 * interrupted.  An ERROR in a pass is logged and the next pass comes after
 * a longer nap: the launcher does not die of it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "ape_resume.h"
#include "catalog.h"
#include "privileges.h"
#include "task_state.h"
#include "worker.h"

#define LAUNCHER_NAP_MS 1000

static bool launcher_registered = false;

/* In shared memory: has a launcher of this server start resumed orphans? */
typedef struct LauncherShared
{
	pg_atomic_uint32 orphans_resumed;
} LauncherShared;

static LauncherShared *launcher_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
launcher_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(LauncherShared)));
}

static void
launcher_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	launcher_shared = ShmemInitStruct("ape_resume launcher", sizeof(LauncherShared), &found);
	if (!found)
		pg_atomic_init_u32(&launcher_shared->orphans_resumed, 0);
	LWLockRelease(AddinShmemInitLock);
}

PGDLLEXPORT void ape_launcher_main(Datum main_arg);

void
ape_launcher_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "ape_resume");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "ape_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, APE_LAUNCHER_TYPE);
	snprintf(worker.bgw_type, BGW_MAXLEN, APE_LAUNCHER_TYPE);
	RegisterBackgroundWorker(&worker);
	launcher_registered = true;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = launcher_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = launcher_shmem_startup;
}

/* Can a task of this database wait in the queue for a worker slot? */
bool
ape_launcher_serves_this_database(void)
{
	return launcher_registered && ape_resume_database != NULL &&
		get_database_oid(ape_resume_database, true) == MyDatabaseId;
}

/* Tasks as (id, name, owner) rows of a query. */
typedef struct QueuedTask
{
	int64		id;
	char	   *name;
	Oid			owner;
} QueuedTask;

static List *
fetch_tasks(const char *sql)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	List	   *tasks = NIL;
	uint64		i;

	catalog_as_owner_begin(&cu);
	if (SPI_execute(sql, false, 0) < 0)
		elog(ERROR, "could not read ape_resume.task");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old = MemoryContextSwitchTo(cxt);
		QueuedTask *t = palloc(sizeof(QueuedTask));
		bool		isnull;

		t->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		t->name = SPI_getvalue(tup, desc, 2);
		t->owner = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
		tasks = lappend(tasks, t);
		MemoryContextSwitchTo(old);
	}
	catalog_as_owner_end(&cu);
	return tasks;
}

/*
 * Tasks whose workers are all gone while the catalog says they run: back
 * to pending, to be started again (first pass), or marked interrupted.
 */
static void
handle_orphans(bool resume)
{
	List	   *tasks;
	ListCell   *lc;

	tasks = fetch_tasks("SELECT id, name, owner FROM ape_resume.task "
						"WHERE database = (SELECT oid FROM pg_catalog.pg_database "
						"                  WHERE datname = pg_catalog.current_database()) "
						"AND (state = 'running' OR (state = 'pending' AND worker_pid IS NOT NULL)) "
						"ORDER BY id");
	foreach(lc, tasks)
	{
		QueuedTask *t = lfirst(lc);
		TaskRow		row;

		if (!catalog_task_get_by_id(t->id, &row) || task_workers_alive(&row))
			continue;
		if (resume)
		{
			if (task_state_requeue(&row))
				ereport(LOG,
						(errmsg("ape_resume launcher: resuming task \"%s\", interrupted by a server restart",
								t->name)));
		}
		else if (task_state_mark_interrupted(&row) != NULL)
			ereport(LOG,
					(errmsg("ape_resume launcher: task \"%s\" lost its workers; it is interrupted",
							t->name)));
	}
}

/* Start queued tasks, oldest first, while there is room. */
static void
start_queued(void)
{
	List	   *tasks;
	ListCell   *lc;

	tasks = fetch_tasks("SELECT id, name, owner FROM ape_resume.task "
						"WHERE database = (SELECT oid FROM pg_catalog.pg_database "
						"                  WHERE datname = pg_catalog.current_database()) "
						"AND state = 'pending' AND worker_pid IS NULL ORDER BY id");
	foreach(lc, tasks)
	{
		QueuedTask *t = lfirst(lc);

		if (task_worker_launch(t->id, t->name, t->owner, false, true) == 0)
			break;				/* no room: try again later */
		ereport(LOG, (errmsg("ape_resume launcher: started queued task \"%s\"", t->name)));
	}
}

/* One pass: orphans, then the queue. */
static void
launcher_pass(int *nap)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (OidIsValid(get_extension_oid("ape_resume", true)))
	{
		bool		first = pg_atomic_read_u32(&launcher_shared->orphans_resumed) == 0;

		/* the tasks that were running when the server went down */
		handle_orphans(first);
		start_queued();
		PopActiveSnapshot();
		CommitTransactionCommand();
		if (first)
			pg_atomic_write_u32(&launcher_shared->orphans_resumed, 1);
	}
	else
	{
		*nap = 10 * LAUNCHER_NAP_MS;	/* CREATE EXTENSION not run yet */
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
}

void
ape_launcher_main(Datum main_arg)
{
	MemoryContext pass_cxt;

	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(ape_resume_database, NULL, 0);
	ape_worker_pin_session();
	pgstat_report_appname(APE_LAUNCHER_TYPE);

	pass_cxt = AllocSetContextCreate(TopMemoryContext, "ape_resume launcher pass",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		int			nap = LAUNCHER_NAP_MS;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		MemoryContextSwitchTo(pass_cxt);
		PG_TRY();
		{
			launcher_pass(&nap);
		}
		PG_CATCH();
		{
			/* as a backend's main loop does: report, clean up, go on */
			EmitErrorReport();
			FlushErrorState();
			AbortOutOfAnyTransaction();
			nap = 10 * LAUNCHER_NAP_MS;
		}
		PG_END_TRY();
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(pass_cxt);
		pgstat_report_activity(STATE_IDLE, NULL);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 nap, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
