/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The background workers that run a task: launch, start-up, and the
 *	  bookkeeping of their state in the catalog.
 *
 * Modelled on PostgreSQL's logical replication workers and pg_cron: dynamic
 * workers that never restart by themselves (BGW_NEVER_RESTART), get their
 * arguments through bgw_extra, and record their pids in ape_resume.worker.
 * A task's first worker (the coordinator) discovers the tables, applies the
 * resume rules and launches up to parallel_size - 1 helpers; then every
 * worker claims tables one at a time until none is left.  The last worker
 * to leave records the task's outcome.  A pid is only trusted while the
 * postmaster says it belongs to one of our workers, so pid reuse cannot
 * fool the "is it running" check.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "executor/spi.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/backend_status.h"
#include "storage/lock.h"
#include "utils/snapmgr.h"

#include "catalog.h"
#include "check.h"
#include "checkpoint.h"
#include "config.h"
#include "privileges.h"
#include "task_run.h"
#include "task_state.h"
#include "worker.h"

/* What a worker is told at launch, through bgw_extra. */
typedef struct TaskWorkerArgs
{
	int64		task_id;
	Oid			database;
	Oid			owner;
	TransactionId start_xid;	/* the transaction that launched it */
	bool		helper;			/* not the task's coordinator */
} TaskWorkerArgs;

/* Set by SIGUSR2: stop_task wants the current batch to end now. */
volatile sig_atomic_t ape_stop_signalled = false;

PGDLLEXPORT void ape_task_worker_main(Datum main_arg);

static void
stop_signal_handler(SIGNAL_ARGS)
{
	int			save_errno = errno;

	ape_stop_signalled = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/*
 * The ape_resume task workers that have a backend status entry: with
 * want > 0, whether that pid is one of them instead.
 */
static int
count_task_workers(int want, bool *found)
{
	int			n = 0;
	int			nbackends;

	if (found)
		*found = false;
	/* the counts of other backends now, not at the transaction's start */
	pgstat_clear_backend_activity_snapshot();
	nbackends = pgstat_fetch_stat_numbackends();
	for (int i = 1; i <= nbackends; i++)
	{
		LocalPgBackendStatus *l = pgstat_fetch_stat_local_beentry(i);
		const char *type;

		if (l == NULL || l->backendStatus.st_backendType != B_BG_WORKER)
			continue;
		type = GetBackgroundWorkerTypeByPid(l->backendStatus.st_procpid);
		if (type == NULL || strcmp(type, APE_TASK_WORKER_TYPE) != 0)
			continue;
		n++;
		if (found && l->backendStatus.st_procpid == want)
			*found = true;
	}
	return n;
}

int
task_workers_running(void)
{
	return count_task_workers(0, NULL);
}

/*
 * Wait until a worker just started has its backend status entry, so that
 * the next launch counts it (a worker appears there only once it has
 * connected); give up when it dies first or after 10 s.
 */
static void
wait_until_counted(BackgroundWorkerHandle *handle, pid_t pid)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 10000);

	for (;;)
	{
		pid_t		now;
		bool		found;

		if (GetBackgroundWorkerPid(handle, &now) != BGWH_STARTED)
			return;
		(void) count_task_workers(pid, &found);
		if (found || GetCurrentTimestamp() >= deadline)
			return;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Launches are serialized server-wide, from counting the running workers
 * to the new one being counted, by a session-level advisory lock held only
 * that long (not until the caller's commit).
 */
#define APE_LAUNCH_LOCK_KEY 0x41504503

static void
launch_lock(bool acquire)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, InvalidOid, APE_LAUNCH_LOCK_KEY, 0, 2);
	if (acquire)
		(void) LockAcquire(&tag, ExclusiveLock, true, false);
	else
		(void) LockRelease(&tag, ExclusiveLock, true);
}

int
task_worker_launch(int64 task_id, const char *task_name, Oid owner, bool helper,
				   bool queue_ok)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	TaskWorkerArgs args;
	volatile pid_t pid = 0;

	memset(&worker, 0, sizeof(worker));
	memset(&args, 0, sizeof(args));
	args.task_id = task_id;
	args.database = MyDatabaseId;
	args.owner = owner;
	args.start_xid = GetTopTransactionId();
	args.helper = helper;

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

	launch_lock(true);
	PG_TRY();
	{
		if (task_workers_running() >= ape_resume_max_workers)
		{
			if (queue_ok)
				pid = 0;
			else
				ereport(ERROR,
						(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
						 errmsg("could not start a worker for task \"%s\": ape_resume.max_workers (%d) workers are busy",
								task_name, ape_resume_max_workers),
						 errhint("Wait for other tasks to finish, raise ape_resume.max_workers, or preload ape_resume so that tasks wait their turn.")));
		}
		else if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		{
			if (queue_ok)
				pid = 0;
			else
				ereport(ERROR,
						(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
						 errmsg("could not start a worker for task \"%s\": no free background worker slot",
								task_name),
						 errhint("Raise max_worker_processes (now %d), or wait for other tasks to finish.",
								 max_worker_processes)));
		}
		else
		{
			pid_t		started;
			BgwHandleStatus status = WaitForBackgroundWorkerStartup(handle, &started);

			if (status == BGWH_POSTMASTER_DIED)
				ereport(ERROR,
						(errcode(ERRCODE_ADMIN_SHUTDOWN),
						 errmsg("could not start a worker for task \"%s\": the postmaster died", task_name)));
			if (status == BGWH_STOPPED && helper && queue_ok)
				pid = 0;		/* a helper that died at once (a connection limit, say) */
			else if (status != BGWH_STARTED)
				ereport(ERROR,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg("could not start a worker for task \"%s\"", task_name),
						 errhint("See the server log.")));
			else
			{
				pid = started;
				wait_until_counted(handle, started);
			}
		}
	}
	PG_FINALLY();
	{
		launch_lock(false);
	}
	PG_END_TRY();
	if (pid == 0)
		return 0;
	if (helper)
		task_state_worker_add(task_id, (int) pid);
	else
		task_state_set_launched(task_id, (int) pid);
	return (int) pid;
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

bool
task_workers_alive(const TaskRow *task)
{
	ListCell   *lc;

	if (task_worker_alive(task->worker_pid))
		return true;
	foreach(lc, task_state_worker_pids(task->id))
		if (task_worker_alive(lfirst_int(lc)))
			return true;
	return false;
}

/*
 * Pids to signal when the current transaction commits (a List in
 * TopMemoryContext): a worker that gets SIGUSR2 checks the catalog for the
 * stop request, so the signal must not arrive before the request is visible.
 */
static List *stop_pids = NIL;
static bool stop_callback_registered = false;

static void
stop_at_commit_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	(void) arg;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			foreach(lc, stop_pids)
				if (task_worker_alive(lfirst_int(lc)))
					(void) kill(lfirst_int(lc), SIGUSR2);
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PARALLEL_COMMIT:
			break;
		default:
			return;
	}
	list_free(stop_pids);
	stop_pids = NIL;
}

void
task_workers_signal_stop_at_commit(const TaskRow *task)
{
	List	   *pids = task_state_worker_pids(task->id);
	MemoryContext old;

	if (!stop_callback_registered)
	{
		RegisterXactCallback(stop_at_commit_callback, NULL);
		stop_callback_registered = true;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	stop_pids = list_concat(stop_pids, pids);
	MemoryContextSwitchTo(old);
}

/*
 * The settings a worker's session depends on, forced over what ALTER ROLE
 * ... SET and ALTER DATABASE ... SET put there, as the logical replication
 * apply worker does for its own session.  At PGC_S_SESSION, the level of a
 * SET: a trigger of a target table that runs SET changes them until the
 * next batch, whose transaction starts by pinning them again (begin_xact):
 *
 *	search_path						pinned: no name resolves through a path
 *									another role controls
 *	default_transaction_isolation	read committed: claims use FOR UPDATE
 *									SKIP LOCKED and every batch must see
 *									what other workers committed
 *	default_transaction_read_only	off
 *	statement_timeout, lock_timeout,
 *	idle_in_transaction_session_timeout	0: a batch or an index build is
 *									not cut at an arbitrary moment
 *	DateStyle, IntervalStyle, TimeZone, extra_float_digits
 *									ISO / postgres / UTC / 1: values pass
 *									through text
 *	session_replication_role		origin: the target's triggers and
 *									foreign keys fire as for any writer
 *	transform_null_equals			off
 */
void
ape_worker_pin_session(void)
{
	static const char *const settings[][2] = {
		{"search_path", APE_PINNED_SEARCH_PATH},
		{"default_transaction_isolation", "read committed"},
		{"default_transaction_read_only", "off"},
		{"statement_timeout", "0"},
		{"lock_timeout", "0"},
		{"idle_in_transaction_session_timeout", "0"},
		{"DateStyle", "ISO, MDY"},
		{"IntervalStyle", "postgres"},
		{"TimeZone", "UTC"},
		{"extra_float_digits", "1"},
		{"session_replication_role", "origin"},
		{"transform_null_equals", "off"},
		/* values as a check prints them: the same in every run */
		{"bytea_output", "hex"},
		{"lc_monetary", "C"},
	};
	int			i;

	for (i = 0; i < lengthof(settings); i++)
		SetConfigOption(settings[i][0], settings[i][1], PGC_SUSET, PGC_S_SESSION);
}

/*
 * Write the error that ended this worker to the task's default.log too; a
 * check's logs, what it found until then.
 */
static void
log_failure(TaskRow *task, const char *message)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		TaskConfig *config = task_config_parse(task->config, task->name);

		/* the server log has it already (the caller's LOG line) */
		task_file_log(config, "ERROR", psprintf("task %s failed: %s", task->name, message));
		if (config->check)
			check_write_logs(task, config);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		AbortOutOfAnyTransaction();
		MemoryContextSwitchTo(cxt);
	}
	PG_END_TRY();
}

void
ape_task_worker_main(Datum main_arg)
{
	TaskWorkerArgs args;
	TaskRow		task;
	bool		found;
	MemoryContext run_cxt;
	char	   *volatile error = NULL;
	const char *final;

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
	pqsignal(SIGTERM, die);
	pqsignal(SIGUSR2, stop_signal_handler);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(args.database, args.owner, 0);
	ape_worker_pin_session();

	/* the catalog rows are visible once the transaction that launched us commits */
	if (TransactionIdIsValid(args.start_xid))
		XactLockTableWait(args.start_xid, NULL, NULL, XLTW_None);

	/* the task row lives as long as the run, not only its transaction */
	run_cxt = AllocSetContextCreate(TopMemoryContext, "ape_resume task run",
									ALLOCSET_DEFAULT_SIZES);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	MemoryContextSwitchTo(run_cxt);
	PushActiveSnapshot(GetTransactionSnapshot());
	found = catalog_task_get_by_id(args.task_id, &task);
	cache_superuser();
	if (found && !args.helper && task_state_begin_run(task.id))
		task.state = "running";
	else if (found && args.helper && strcmp(task.state, "running") == 0 &&
			 task_state_worker_registered(task.id, MyProcPid))
		 /* registered by the coordinator, in the transaction that committed */ ;
	else
	{
		if (found && args.helper)
			(void) task_state_worker_leave(task.id, MyProcPid, NULL);
		found = false;
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	if (!found)
		proc_exit(0);			/* dropped, stopped or taken by another worker */
	pgstat_report_appname(psprintf("ape_resume %s", task.name));

	PG_TRY();
	{
		MemoryContextSwitchTo(run_cxt);
		(void) task_run(&task, args.helper);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(run_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		error = edata->message ? edata->message : "unknown error";
		ereport(LOG,
				(errmsg("ape_resume task \"%s\" failed: %s", task.name, error)));
		log_failure(&task, error);
	}
	PG_END_TRY();

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	MemoryContextSwitchTo(run_cxt);
	PushActiveSnapshot(GetTransactionSnapshot());
	final = task_state_worker_leave(task.id, MyProcPid, error);
	PopActiveSnapshot();
	CommitTransactionCommand();
	if (final)
		ereport(LOG,
				(errmsg("ape_resume task \"%s\" %s", task.name, final)));
	proc_exit(error ? 1 : 0);
}
