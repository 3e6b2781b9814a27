/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The background worker that runs a task: launch, start-up, and the
 *	  bookkeeping of its state in ape_resume.task.
 *
 * Modelled on PostgreSQL's logical replication workers and pg_cron: a
 * dynamic worker that never restarts by itself (BGW_NEVER_RESTART), gets
 * its arguments through bgw_extra, and records its pid in the catalog.  A
 * pid is only trusted while the postmaster says it belongs to one of our
 * workers, so pid reuse cannot fool the "is it running" check.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "catalog.h"
#include "privileges.h"
#include "task_run.h"
#include "worker.h"

/* What a worker is told at launch, through bgw_extra. */
typedef struct TaskWorkerArgs
{
	int64		task_id;
	Oid			database;
	Oid			owner;
	TransactionId start_xid;	/* the transaction that recorded the task */
} TaskWorkerArgs;

PGDLLEXPORT void ape_task_worker_main(Datum main_arg);

void
task_worker_launch(int64 task_id, const char *task_name)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	TaskWorkerArgs args;
	pid_t		pid;
	BgwHandleStatus status;

	memset(&worker, 0, sizeof(worker));
	args.task_id = task_id;
	args.database = MyDatabaseId;
	args.owner = GetUserId();
	args.start_xid = GetTopTransactionId();

	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "ape_resume");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "ape_task_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "ape_resume task %s", task_name);
	snprintf(worker.bgw_type, BGW_MAXLEN, APE_TASK_WORKER_TYPE);
	worker.bgw_main_arg = Int64GetDatum(task_id);
	memcpy(worker.bgw_extra, &args, sizeof(args));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start a worker for task \"%s\": no free background worker slot",
						task_name),
				 errhint("Raise max_worker_processes (now %d), or wait for other tasks to finish.",
						 max_worker_processes)));
	status = WaitForBackgroundWorkerStartup(handle, &pid);
	if (status == BGWH_POSTMASTER_DIED)
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("could not start a worker for task \"%s\": the postmaster died", task_name)));
	if (status != BGWH_STARTED)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not start a worker for task \"%s\"", task_name),
				 errhint("See the server log.")));
	catalog_task_set_worker(task_id, (int) pid);
}

bool
task_worker_alive(int pid)
{
	const char *type;

	if (pid <= 0)
		return false;
	type = GetBackgroundWorkerTypeByPid(pid);
	return type != NULL && strcmp(type, APE_TASK_WORKER_TYPE) == 0;
}

/* Record the outcome of a run in a transaction of its own. */
static void
finish_run(int64 task_id, const char *state, const char *error)
{
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	catalog_task_set_state(task_id, state, error);
	PopActiveSnapshot();
	CommitTransactionCommand();
}

void
ape_task_worker_main(Datum main_arg)
{
	TaskWorkerArgs args;
	TaskRow		task;
	bool		found;
	MemoryContext run_cxt;
	const char *outcome;

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(args.database, args.owner, 0);

	/* the task row is visible once the transaction that made it commits */
	if (TransactionIdIsValid(args.start_xid))
		XactLockTableWait(args.start_xid, NULL, NULL, XLTW_None);

	/* the task row lives as long as the run, not only its transaction */
	run_cxt = AllocSetContextCreate(TopMemoryContext, "ape_resume task run",
									ALLOCSET_DEFAULT_SIZES);
	StartTransactionCommand();
	MemoryContextSwitchTo(run_cxt);
	PushActiveSnapshot(GetTransactionSnapshot());
	found = catalog_task_get_by_id(args.task_id, &task);
	if (found && strcmp(task.state, "pending") == 0)
	{
		catalog_task_set_running(task.id, MyProcPid);
		pgstat_report_appname(psprintf("ape_resume %s", task.name));
	}
	else
		found = false;
	PopActiveSnapshot();
	CommitTransactionCommand();
	if (!found)
		proc_exit(0);			/* dropped, aborted or taken by another worker */

	PG_TRY();
	{
		MemoryContextSwitchTo(run_cxt);
		outcome = task_run(&task);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(run_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		ereport(LOG,
				(errmsg("ape_resume task \"%s\" failed: %s", task.name, edata->message)));
		finish_run(task.id, "failed", edata->message);
		proc_exit(1);
	}
	PG_END_TRY();
	finish_run(task.id, outcome, NULL);
	proc_exit(0);
}
