/*-------------------------------------------------------------------------
 *
 * task_run.c
 *	  Running a task inside its worker: connect to the source, discover the
 *	  tables, and copy each one in checkpointed batches.
 *
 * Each batch is one local transaction holding the batch's rows and the
 * table's catalog position; its position.log line follows the commit.  A
 * table without an order column is copied in one transaction with its
 * finished marker, so a crash leaves nothing of it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "check.h"
#include "checkpoint.h"
#include "chunk.h"
#include "config.h"
#include "order_key.h"
#include "rate_limit.h"
#include "resume.h"
#include "sink.h"
#include "source.h"
#include "structure.h"
#include "task_run.h"
#include "task_state.h"
#include "worker.h"

/* A batch being fed from the source into COPY. */
typedef struct BatchFeed
{
	const SourceOps *ops;
	Source	   *source;
	const SourceTable *table;
	int64		limit;			/* rows at most, 0: all */
	TimestampTz deadline;		/* end the batch early after this */
	int64		rows;
	StringInfoData *last_key;	/* order key of the last row fed, nkeys values */
	const char **line_keys;		/* scan_next_line's key values, nkeys */
	int		   *line_key_lens;
	bool		exhausted;		/* the source had no more rows */
} BatchFeed;

/* The worker's share of [extractor] max_rps and max_mbps, for all its tables. */
static RateLimit worker_rate;

void
task_rate_batch(int64 task_id, const TaskConfig *config)
{
	/*
	 * No more workers can read at once than parallel_size and the units
	 * left, which only ever decrease.
	 */
	if (rate_limit_active(&worker_rate))
		rate_limit_share(&worker_rate, Min(config->parallel_size, checkpoint_tables_left(task_id)));
}

void
task_rate_row(int64 bytes)
{
	rate_limit_row(&worker_rate, bytes);
}

/* May the batch take another row? */
static bool
batch_feed_more(BatchFeed *feed)
{
	CHECK_FOR_INTERRUPTS();
	if (feed->limit > 0 && feed->rows >= feed->limit)
		return false;
	/* stop_task signalled: end the batch, the checkpoint then stops */
	if (ape_stop_signalled && feed->table->nkeys > 0)
		return false;
	/* the clock is read every 256 rows: it costs more than a row */
	if (feed->rows > 0 && feed->table->nkeys > 0 && (feed->rows & 255) == 0 &&
		GetCurrentTimestamp() >= feed->deadline)
		return false;
	return true;
}

/*
 * The order key's values of the row just read become the feed's last key.
 * A NULL cannot be a position (the next scan would run WHERE key > ''): an
 * ERROR naming the table and column, before the batch commits.
 */
static void
feed_key_value(BatchFeed *feed, int k, const char *value, int len)
{
	if (value == NULL)
		order_key_null_error(feed->table, k);
	resetStringInfo(&feed->last_key[k]);
	appendBinaryStringInfo(&feed->last_key[k], value, len);
}

/* The same as batch_feed_next, for a source's COPY text lines. */
static bool
batch_feed_line(void *arg, const char **line, int *len)
{
	BatchFeed  *feed = arg;

	if (!batch_feed_more(feed))
		return false;
	if (!feed->ops->scan_next_line(feed->source, line, len, feed->line_keys,
								   feed->line_key_lens))
	{
		feed->exhausted = true;
		return false;
	}
	feed->rows++;
	for (int k = 0; k < feed->table->nkeys; k++)
		feed_key_value(feed, k, feed->line_keys[k], feed->line_key_lens[k]);
	rate_limit_row(&worker_rate, *len);
	return true;
}

static bool
batch_feed_next(void *arg, char **values, int *lengths)
{
	BatchFeed  *feed = arg;

	if (!batch_feed_more(feed))
		return false;
	if (!feed->ops->scan_next(feed->source, values, lengths))
	{
		feed->exhausted = true;
		return false;
	}
	feed->rows++;
	for (int k = 0; k < feed->table->nkeys; k++)
		feed_key_value(feed, k, values[feed->table->key_cols[k]],
					   lengths[feed->table->key_cols[k]]);
	if (rate_limit_active(&worker_rate))
	{
		int64		bytes = 0;

		for (int i = 0; i < feed->table->ncolumns; i++)
			bytes += values[i] ? lengths[i] : 0;
		rate_limit_row(&worker_rate, bytes);
	}
	return true;
}

const SourceOps *
source_ops_for(SourceKind kind)
{
	switch (kind)
	{
		case SOURCE_MYSQL:
			return &mysql_source_ops;
		case SOURCE_PG:
			return &pg_source_ops;
		case SOURCE_MONGO:
			return &mongo_source_ops;
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("copying from a %s source is not available in this build of ape_resume",
					source_kind_name(kind))));
	return NULL;
}

/*
 * Transactions of the worker.  Both keep the caller's memory context
 * current, so what is allocated inside a transaction (the parsed config, a
 * table's progress) outlives it; the caller never works in a transaction's
 * own context.
 */
void
task_xact_begin(void)
{
	MemoryContext cxt = CurrentMemoryContext;

	/* what a trigger's SET changed in the last batch does not reach this one */
	ape_worker_pin_session();
	/* now() of the catalog updates: the time of this transaction */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	MemoryContextSwitchTo(cxt);
	PushActiveSnapshot(GetTransactionSnapshot());
}

bool
task_batch_begin(int64 task_id)
{
	/*
	 * stop_task signals after its request commits: a signal that comes
	 * after this reset finds the request in the check below.
	 */
	ape_stop_signalled = false;
	task_xact_begin();
	if (!checkpoint_stop_requested(task_id))
		return true;
	task_xact_commit();
	return false;
}

void
task_xact_commit(void)
{
	MemoryContext cxt = CurrentMemoryContext;

	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
}

/*
 * Batches commit asynchronously (synchronous_commit off: the catalog row and
 * the rows are in the same WAL, so a crash keeps or loses them together); a
 * position.log line is written only once its commit is durable, so the file
 * is never ahead of the data, even after an OS crash.
 */
static void
append_durable_positions(const TaskConfig *config, StringInfo pending, XLogRecPtr lsn)
{
	if (!XLogRecPtrIsInvalid(lsn))
		XLogFlush(lsn);
	checkpoint_append_positions(config, pending);
}

/*
 * Copy one table from after (NULL: from the start).  With replacing, rows
 * after "after" may already be in the target (the resume position came from
 * a log that lags): they are replaced up to the highest key the target
 * holds (numbers, dates and times), or to the end of the table.
 * Returns false when a stop was requested before the table finished.
 */
static bool
copy_table(TaskRow *task, TaskConfig *config, const SourceOps *ops, Source *source,
		   const SourceTable *whole, ClaimedTable *claimed)
{
	const char *dst_schema = claimed->dst_schema;
	const char *dst_tb = claimed->dst_tb;
	char	  **after = claimed->value;
	bool		replacing = claimed->replacing && claimed->chunk == 0;
	char	  **pending_keys = &claimed->pending_keys;
	/* a chunk: the table's rows of its key range */
	const SourceTable *table = claimed->chunk > 0
		? chunk_source_table(whole, claimed->lo, claimed->hi) : whole;
	bool		fresh;
	BatchFeed	feed;
	MemoryContext batch_cxt = AllocSetContextCreate(CurrentMemoryContext,
													"ape_resume batch",
													ALLOCSET_DEFAULT_SIZES);
	MemoryContext old_cxt;
	char	  **value = order_key_copy(table->nkeys, after);
	bool		finished = false;
	uint64		replaced_total = 0;
	ReplaceBound bound;
	StringInfoData pending;		/* position.log lines not yet durable */
	XLogRecPtr	pending_lsn = InvalidXLogRecPtr;
	char	   *created_keys;
	bool		created;

	initStringInfo(&pending);
	memset(&feed, 0, sizeof(feed));
	feed.ops = ops;
	feed.source = source;
	feed.table = table;
	feed.last_key = palloc(sizeof(StringInfoData) * Max(table->nkeys, 1));
	for (int k = 0; k < table->nkeys; k++)
		initStringInfo(&feed.last_key[k]);
	feed.line_keys = palloc0(sizeof(char *) * Max(table->nkeys, 1));
	feed.line_key_lens = palloc0(sizeof(int) * Max(table->nkeys, 1));

	claimed->table_done = false;
	task_xact_begin();
	/*
	 * The target is prepared once a table: a chunk's first transaction
	 * holds the table row's lock, so its other chunks wait for it.
	 */
	if (claimed->chunk > 0)
	{
		fresh = chunk_table_begin(task->id, whole);
		/* what the chunk that held the lock made: the target, its keys */
		PopActiveSnapshot();
		PushActiveSnapshot(GetTransactionSnapshot());
	}
	else
		fresh = after == NULL;
	/* a table to create: first the types of the source's own it uses */
	if (ops->list_types && !sink_table_exists(dst_schema, dst_tb) && source_table_has_own_types(table))
		structure_make_types(task->id, config, ops->list_types(source, table, config),
							 unconstify(SourceTable *, table));
	created_keys = sink_prepare_table(table, dst_schema, dst_tb, &created);
	if (created && sink_citus_distribute(config, table, dst_schema, dst_tb) && created_keys)
	{
		sink_add_keys(table, created_keys);
		created_keys = NULL;
	}
	/* the rest of a created table's schema follows its data */
	if (created && ops->list_structures)
		structure_register(task->id, config, table->schema, table->tb, dst_schema, dst_tb,
						   ops->list_structures(source, table, config, dst_schema, dst_tb));
	if (created_keys != NULL)
	{
		/* remembered with the table, for whichever run completes it */
		checkpoint_set_pending_keys(task->id, table, dst_schema, dst_tb, created_keys);
		*pending_keys = created_keys;
	}
	else if (*pending_keys == NULL)
		/* created by a task since dropped: its keys are still to be added */
		*pending_keys = checkpoint_target_pending_keys(dst_schema, dst_tb);
	if (replacing && table->nkeys > 0)
	{
		sink_replace_bound(table, dst_schema, dst_tb, &bound);
		if (bound.empty)
			replacing = false;
	}
	else
		replacing = false;
	if (fresh && sink_table_has_rows(dst_schema, dst_tb))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("target table \"%s\".\"%s\" is not empty", dst_schema, dst_tb),
				 errdetail("Source table \"%s\".\"%s\" is copied from its beginning.",
						   table->schema, table->tb),
				 errhint("Truncate or drop the target table for a fresh copy, or resume from a position.")));
	task_xact_commit();
	/* rows are written from now on: under these settings (a table's once, not a chunk's) */
	if (claimed->chunk == 0 || fresh)
		resume_log_definition(config, table);

	while (!finished)
	{
		uint64		rows;
		char	  **mark;

		old_cxt = MemoryContextSwitchTo(batch_cxt);
		if (!task_batch_begin(task->id))
		{
			MemoryContextSwitchTo(old_cxt);
			MemoryContextDelete(batch_cxt);
			append_durable_positions(config, &pending, pending_lsn);
			return false;
		}
		feed.rows = 0;
		feed.exhausted = false;
		task_rate_batch(task->id, config);
		if (table->nkeys > 0)
		{
			feed.limit = config->checkpoint_rows;
			feed.deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														(int64) config->checkpoint_interval_secs * 1000);
			ops->scan_begin(source, table, value, feed.limit);
		}
		else
		{
			feed.limit = 0;
			feed.deadline = DT_NOEND;
			ops->scan_begin(source, table, NULL, 0);
		}
		if (replacing)
		{
			uint64		replaced;

			rows = sink_copy_rows_replacing(table, dst_schema, dst_tb,
											batch_feed_next, &feed, &replaced);
			replaced_total += replaced;
			/*
			 * Past the highest key in the target (or at the end of the
			 * table): no later row can be there.  A batch with rows new to
			 * the target proves nothing: rows may have been added at the
			 * source inside the range copied already.
			 */
			if (feed.exhausted ||
				(feed.rows > 0 && sink_replace_bound_reached(&bound, feed.last_key[0].data)))
			{
				replacing = false;
				task_log(config, "INFO",
						 "replaced " UINT64_FORMAT " rows of \"%s\".\"%s\" that were already in the target after the resume position",
						 replaced_total, table->schema, table->tb);
			}
		}
		else if (ops->scan_next_line)
			rows = sink_copy_lines(table, dst_schema, dst_tb, batch_feed_line, &feed);
		else
			rows = sink_copy_rows(table, dst_schema, dst_tb, batch_feed_next, &feed);
		ops->scan_end(source);
		Assert(rows == (uint64) feed.rows);

		/* a batch shorter than asked for, or the whole table: the end */
		finished = feed.exhausted || table->nkeys == 0;
		MemoryContextSwitchTo(old_cxt);
		if (table->nkeys > 0 && feed.rows > 0)
		{
			order_key_free(table->nkeys, value);
			value = palloc(sizeof(char *) * table->nkeys);
			for (int k = 0; k < table->nkeys; k++)
				value[k] = ops->position_value
					? ops->position_value(source, table, k, feed.last_key[k].data,
										  feed.last_key[k].len)
					: pstrdup(feed.last_key[k].data);
		}
		/*
		 * What the checkpoint allocates (catalog arguments, the position
		 * line) lives until the end of the batch: a billion rows make a
		 * million batches.
		 */
		MemoryContextSwitchTo(batch_cxt);
		if (claimed->chunk > 0)
		{
			/* the table's position.log line: its low watermark, when it moved */
			char	   *keys;

			mark = NULL;
			claimed->table_done = chunk_commit(task->id, whole, claimed->chunk, value,
											   (int64) rows, finished, &mark, &keys);
			/* the keys of the table as its creator recorded them */
			if (keys != NULL)
				*pending_keys = keys;
		}
		else
		{
			claimed->table_done = finished;
			mark = table->nkeys > 0 && rows > 0 ? value : NULL;
			checkpoint_commit_position(task->id, table, table->nkeys > 0 ? value : NULL,
									   (int64) rows, finished, replacing);
		}
		/* the keys of a table we created, in the transaction of its end */
		if (claimed->table_done && *pending_keys != NULL)
		{
			sink_add_keys(table, *pending_keys);
			checkpoint_target_keys_added(dst_schema, dst_tb);
		}
		task_xact_commit();

		if (mark != NULL)
		{
			checkpoint_format_position(&pending, config, table, mark);
			pending_lsn = XactLastCommitEnd;
			/* the WAL writer made it durable already: no wait */
			if (GetFlushRecPtr(NULL) >= pending_lsn)
				checkpoint_append_positions(config, &pending);
		}
		MemoryContextSwitchTo(old_cxt);
		MemoryContextReset(batch_cxt);
		pgstat_report_activity(STATE_RUNNING, NULL);
	}
	append_durable_positions(config, &pending, XactLastCommitEnd);
	if (claimed->table_done)
	{
		checkpoint_log_finished(config, table);
		task_log(config, "INFO", "finished table \"%s\".\"%s\"", table->schema, table->tb);
	}
	else
		task_log(config, "INFO", "finished chunk %d of table \"%s\".\"%s\"",
				 claimed->chunk, table->schema, table->tb);
	MemoryContextDelete(batch_cxt);
	return true;
}

/*
 * The connection to the source, in a memory context of its own, so that a
 * lost one is closed (by the source's reset callback) before the next.
 */
typedef struct SourceConn
{
	const SourceOps *ops;
	TaskConfig *config;
	SourceReport report;		/* the source's warnings: default.log too */
	MemoryContext parent;		/* the run's: cxt outlives a claim's context */
	MemoryContext cxt;
	Source	   *source;
} SourceConn;

/* SourceReportFn of the worker: a line of the task's default.log. */
static void
source_report_to_log(void *arg, const char *level, const char *message)
{
	task_file_log((const TaskConfig *) arg, level, message);
}

static void
source_open(SourceConn *conn)
{
	MemoryContext old;

	conn->cxt = AllocSetContextCreate(conn->parent, "ape_resume source",
									  ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(conn->cxt);
	conn->source = conn->ops->connect(conn->config, &conn->report);
	MemoryContextSwitchTo(old);
}

static void
source_close(SourceConn *conn)
{
	if (conn->cxt)
		MemoryContextDelete(conn->cxt);
	conn->cxt = NULL;
	conn->source = NULL;
}

/* Sleep ms, whatever sets the latch meanwhile. */
static void
nap(int ms)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	for (;;)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);

		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Run what (connect, or copy a claimed table) and, when the source
 * connection is lost or cannot be made, wait and reconnect, SOURCE_RETRIES
 * times with a doubling delay, then fail naming the table.  A copy
 * continues from the catalog position, which the lost batch did not move.
 */
#define SOURCE_RETRIES 5
#define SOURCE_RETRY_FIRST_MS 1000

static bool
with_source_retries(TaskRow *task, SourceConn *conn, const SourceTable *table,
					ClaimedTable *claimed)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile int attempt;
	volatile int delay_ms = SOURCE_RETRY_FIRST_MS;
	const char *what = table ? psprintf("copying table \"%s\".\"%s\"", table->schema, table->tb)
		: "connecting";

	for (attempt = 1;; attempt++)
	{
		volatile bool done = false;
		volatile bool lost = false;

		PG_TRY();
		{
			if (conn->source == NULL)
				source_open(conn);
			/*
			 * The position is a position on the catalog's key: a worker
			 * that found another key at the source (a NULL came into a
			 * nullable key, an index changed) must not read after it.
			 */
			if (table && (claimed->value != NULL || claimed->chunk > 0) &&
				((claimed->value != NULL && claimed->nvalues != table->nkeys) ||
				 table->nkeys == 0 ||
				 !order_key_matches(table, claimed->nkey_cols, claimed->key_cols)))
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("the order key of table \"%s\".\"%s\" changed at the source during the task",
								table->schema, table->tb),
						 errdetail("The task's position is on %s, the table's order key is now %s.",
								   claimed->key_cols ? order_key_values_text(claimed->nkey_cols, claimed->key_cols) : "no key",
								   table->nkeys > 0 ? order_key_names_text(table) : "none")));
			if (table && conn->config->check)
				done = check_table(task, conn->config, conn->ops, conn->source, table, claimed);
			else if (table)
				done = copy_table(task, conn->config, conn->ops, conn->source, table, claimed);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			/* a Citus worker node lost is no source lost: the task fails, to be resumed */
			if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_CONNECTION_EXCEPTION ||
				sink_citus_in_transaction())
				PG_RE_THROW();
			FlushErrorState();
			AbortOutOfAnyTransaction();
			MemoryContextSwitchTo(cxt);
			if (attempt > SOURCE_RETRIES)
				ereport(ERROR,
						(errcode(edata->sqlerrcode),
						 errmsg("lost the source while %s: %s", what, edata->message),
						 errdetail("Reconnecting failed %d times over %d seconds.",
								   SOURCE_RETRIES, (SOURCE_RETRY_FIRST_MS / 1000) * ((1 << SOURCE_RETRIES) - 1)),
						 errhint("Resume the task with ape_resume.resume_task() once the source is back.")));
			task_log(conn->config, "WARN", "source lost while %s: %s; retrying in %d ms (%d of %d)",
					 what, edata->message, delay_ms, attempt, SOURCE_RETRIES);
			FreeErrorData(edata);
			lost = true;
		}
		PG_END_TRY();
		if (!lost)
			return done;

		source_close(conn);
		nap(delay_ms);
		delay_ms *= 2;

		/* continue from what was committed */
		if (table)
		{
			task_xact_begin();
			if (claimed->chunk > 0 ? !chunk_position(task->id, table, claimed->chunk, &claimed->value)
				: !checkpoint_table_position(task->id, table, &claimed->value, &claimed->replacing))
				elog(ERROR, "table \"%s\".\"%s\" vanished from the catalog", table->schema, table->tb);
			claimed->nvalues = table->nkeys;
			task_xact_commit();
		}
	}
}

/*
 * The coordinator's part: register the tables, apply the resume rules and
 * record what they decided in the catalog, where every worker finds it.
 */
static void
plan_tables(TaskRow *task, TaskConfig *config, const SourceOps *ops, Source *source,
			List *tables)
{
	ResumeInputs *inputs;
	ListCell   *lc;

	ResumeDecision *decisions = palloc0(sizeof(ResumeDecision) * Max(list_length(tables), 1));
	int			n;

	task_xact_begin();
	/* a check writes no position.log: its positions are the catalog's */
	if (!config->check)
		resume_repair_logs(config, task->id, tables);
	inputs = resume_inputs_load(config, task->id, RESUME_LOG);

	/*
	 * Decided before the tables are registered, which records their
	 * definitions: a table whose rows were copied under other settings
	 * fails the task, and the catalog keeps what it had.
	 */
	n = 0;
	foreach(lc, tables)
	{
		ResumeDecision *d = &decisions[n++];

		resume_decide(inputs, lfirst(lc), d);
		if (d->action == RESUME_REFUSE)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("%s", d->note),
					 errdetail("Its target holds rows copied under the earlier setting; a resume under this one would mix two different copies."),
					 errhint("Resume with the earlier setting, or copy the table again into an empty target with a new task and log_dir.")));
	}
	foreach(lc, tables)
	{
		SourceTable *table = lfirst(lc);
		char	   *dst_schema;
		char	   *dst_tb;

		name_filter_route(&config->filter, table->schema, table->tb, &dst_schema, &dst_tb);
		checkpoint_table_register(task->id, table, dst_schema, dst_tb,
								  resume_table_definition(config, table));
	}
	checkpoint_set_tables_total(task->id, list_length(tables));
	/* the predecessor's positions are this task's now: it must not resume too */
	if (resume_inputs_predecessor(inputs) != 0)
		checkpoint_set_taken_up(task->id, resume_inputs_predecessor(inputs));
	task_state_release_claims(task->id);
	/* the batches a crash left prepared on Citus's nodes: decided before a row is read */
	sink_recover_citus();
	task_state_fail_vanished(task->id, tables);
	structure_retry_failed(task->id);
	task_xact_commit();

	n = 0;
	foreach(lc, tables)
	{
		SourceTable *table = lfirst(lc);
		ResumeDecision d = decisions[n++];

		if (d.action == RESUME_SKIP)
		{
			task_xact_begin();
			checkpoint_mark_skipped(task->id, table);
			task_xact_commit();
			/* keep this log dir's finished.log complete for a later resume */
			if (!config->check && !(d.origin == ORIGIN_FINISHED_LOG &&
				  strcmp(config->resume_log_dir, config->log_dir) == 0) &&
				!(d.origin == ORIGIN_CATALOG && d.own))
				checkpoint_log_finished(config, table);
		}
		else if (d.action == RESUME_FROM_VALUE && !(d.origin == ORIGIN_CATALOG && d.own))
		{
			/*
			 * From a file, rows after the position may be in the target
			 * already: they are replaced.  Another task's catalog is exact.
			 */
			task_xact_begin();
			checkpoint_set_resume(task->id, table, d.value, d.origin != ORIGIN_CATALOG);
			task_xact_commit();
		}
		/*
		 * The chunks of the task that wrote the log dir are exact: this
		 * task's now (its table position, the low watermark, may be none
		 * while later chunks hold rows).
		 */
		if (d.action != RESUME_SKIP && resume_inputs_predecessor(inputs) != 0)
		{
			task_xact_begin();
			chunk_take_over(task->id, resume_inputs_predecessor(inputs), table);
			task_xact_commit();
		}
	}
	resume_report_unused(inputs);

	/* big tables cut into chunks, before any worker starts */
	chunk_plan_tables(task->id, config, ops, source, tables);

	/* what the task does not copy of its schemas, listed once */
	if (ops->list_schema_objects && !config->check)
	{
		task_xact_begin();
		structure_register(task->id, config, NULL, NULL, NULL, NULL,
						   ops->list_schema_objects(source, config, tables));
		task_xact_commit();
	}
}

/* Start helpers so that parallel_size workers copy at once. */
static void
launch_helpers(TaskRow *task, TaskConfig *config)
{
	int			wanted;
	int			started = 0;

	task_xact_begin();
	wanted = Min(config->parallel_size, checkpoint_tables_left(task->id)) - 1;
	while (started < wanted &&
		   task_worker_launch(task->id, task->name, task->owner, true, true) != 0)
		started++;
	task_xact_commit();
	if (wanted > 0)
		task_log(config, "INFO", "task %s: %d workers at once%s", task->name, started + 1,
				 started < wanted ? " (no more free workers: ape_resume.max_workers or max_worker_processes)" : "");
}

static SourceTable *
find_table(List *tables, const char *schema, const char *tb)
{
	ListCell   *lc;

	foreach(lc, tables)
	{
		SourceTable *table = lfirst(lc);

		if (strcmp(table->schema, schema) == 0 && strcmp(table->tb, tb) == 0)
			return table;
	}
	return NULL;
}

/*
 * A worker's run ends: a check's logs are written from the catalog (the
 * last worker to end leaves them complete).
 */
static const char *
run_end(TaskRow *task, TaskConfig *config, const char *state)
{
	if (config->check)
		check_write_logs(task, config);
	if (strcmp(state, "stopped") == 0)
		task_log(config, "INFO", "task %s stopped", task->name);
	return state;
}

const char *
task_run(TaskRow *task, bool helper)
{
	TaskConfig *config;
	const SourceOps *ops;
	SourceConn	conn;
	List	   *tables;
	List	   *kept;
	bool		resumed;
	MemoryContext claim_cxt;
	MemoryContext run_cxt;

	task_xact_begin();
	config = task_config_parse(task->config, task->name);
	task_xact_commit();
	rate_limit_init(&worker_rate, config->max_rps, config->max_mbps, config->parallel_size);
	ops = source_ops_for(config->db_type);
	SetConfigOption("synchronous_commit", "off", PGC_USERSET, PGC_S_SESSION);

	if (pg_mkdir_p(config->log_dir, S_IRWXU) != 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create log directory \"%s\": %m", config->log_dir)));

	/*
	 * A first run fails at once on a source it cannot reach (a wrong host or
	 * password); a run that continues a task (after a restart, say) waits
	 * for the source like a copy that lost it.
	 */
	task_xact_begin();
	resumed = helper || checkpoint_tables_left(task->id) > 0;
	/* outlives the transaction: the run's context */
	kept = checkpoint_kept_keys(task->id);
	task_xact_commit();
	memset(&conn, 0, sizeof(conn));
	conn.ops = ops;
	conn.config = config;
	conn.parent = CurrentMemoryContext;
	conn.report.fn = source_report_to_log;
	conn.report.arg = config;
	if (resumed)
		(void) with_source_retries(task, &conn, NULL, NULL);
	else
		source_open(&conn);
	config->filter.named_may_be_missing = resumed;
	tables = ops->list_tables(conn.source, &config->filter, kept);
	source_check_rules_used(&config->filter, tables);
	if (!helper)
	{
		task_log(config, "INFO", "task %s: %d tables selected", task->name, list_length(tables));
		task_xact_begin();
		sink_citus_check_tables(config, tables);
		task_xact_commit();
		plan_tables(task, config, ops, conn.source, tables);
		launch_helpers(task, config);
	}

	/* what a claim allocates goes with it: a table of 1,000 chunks */
	claim_cxt = AllocSetContextCreate(CurrentMemoryContext, "ape_resume claim",
									  ALLOCSET_DEFAULT_SIZES);
	run_cxt = MemoryContextSwitchTo(claim_cxt);
	for (;;)
	{
		ClaimedTable claimed;
		SourceTable *table;
		bool		got;

		MemoryContextReset(claim_cxt);
		task_xact_begin();
		if (checkpoint_stop_requested(task->id))
		{
			task_xact_commit();
			MemoryContextSwitchTo(run_cxt);
			return run_end(task, config, "stopped");
		}
		got = task_state_claim_table(task->id, &claimed);
		task_xact_commit();
		if (!got)
			break;

		table = find_table(tables, claimed.schema, claimed.tb);
		if (table == NULL)
		{
			/* gone since the coordinator listed it: the others go on */
			task_xact_begin();
			task_state_fail_table(task->id, claimed.schema, claimed.tb,
								  "the source table no longer exists (found when the task started)");
			task_xact_commit();
			task_log(config, "WARN", "source table \"%s\".\"%s\" no longer exists: skipped, the task will end failed",
					 claimed.schema, claimed.tb);
			continue;
		}
		if (claimed.chunk > 0)
			pgstat_report_appname(psprintf("ape_resume %s %s.%s #%d", task->name, table->schema,
										   table->tb, claimed.chunk));
		else
			pgstat_report_appname(psprintf("ape_resume %s %s.%s", task->name, table->schema, table->tb));
		/* a chunk that did not complete its table leaves its objects for later */
		if (!with_source_retries(task, &conn, table, &claimed) ||
			(claimed.table_done && !structure_run_ready(task->id, config, table)))
		{
			MemoryContextSwitchTo(run_cxt);
			return run_end(task, config, "stopped");
		}
	}
	MemoryContextSwitchTo(run_cxt);
	MemoryContextDelete(claim_cxt);
	/* the objects that wait for other tables: whoever finishes last makes them */
	if (!structure_run_ready(task->id, config, NULL))
		return run_end(task, config, "stopped");
	structure_check_failed(task->id, config);
	if (!helper)
		task_log(config, "INFO", "task %s: every table is %s or taken by a worker", task->name,
				 config->check ? "checked" : "copied");
	return run_end(task, config, "finished");
}
