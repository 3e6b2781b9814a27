/*-------------------------------------------------------------------------
 *
 * chunk.c
 *	  One big table, many workers: key-range chunks with their own
 *	  checkpoints.
 *
 * With [extractor] parallel_type=chunk, the coordinator cuts each table
 * above split_tables_larger_than into key ranges on the first column of its
 * order key, once, before any worker starts on it (chunk_boundaries,
 * chunk_register): the boundaries are catalog rows, so a resume uses the
 * same chunks.  A chunk is then a unit of work like a table (task_state.c
 * claims both, largest first): one worker copies it in batches, each
 * committing its rows with the chunk's position (chunk_commit), fenced by
 * the chunk's claim.
 *
 * The table's own position row, locked by every chunk's checkpoint (which
 * orders them), sums the chunks' rows and holds the table's low watermark:
 * the highest position at or below which every chunk is committed, the
 * position of the lowest unfinished chunk (or, when that one has none yet,
 * the last position of the finished chunks before it).  That is what
 * position.log gets, in the legacy or order_key form, so that ape-dts and a
 * task resuming from the files read it; such a task copies past it through
 * the replace path.  The checkpoint of the last chunk finds every other one
 * finished (it holds the table row's lock, and each of its statements sees
 * what committed before): in that transaction the table is finished and
 * its keys are added.
 *
 * Preparing the target (creating it, the empty-target check) happens once a
 * table, in the first transaction of the first chunk to start, under the
 * table row's lock (chunk_table_begin).
 *
 * Boundaries: for a unique integer key whose values fill most of the range
 * between its smallest and largest (two reads of its index), evenly: no
 * range can then hold much more than its share.  Otherwise (a sparse key,
 * which may be skewed; other types; a composite key), at the quantiles of a
 * sample read through the key's index: every k-th key of an ordered scan
 * of the key columns alone.  The sources' statistics were tried and left:
 * InnoDB's range estimates are off by a factor of two past a few pages
 * and capped at half the table, and a PostgreSQL table may never have been
 * analyzed.  Mongo collections are not split (see README.md).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "checkpoint.h"
#include "chunk.h"
#include "order_key.h"
#include "privileges.h"
#include "task_run.h"
#include "worker.h"

/*
 * An integer key with at least this share of the values between its
 * smallest and largest: dense, cut evenly.
 */
#define DENSE_KEY 0.8

/* Samples of the key walk, per chunk wanted. */
#define SAMPLES_PER_CHUNK 32

int
chunk_count(const TaskConfig *config, const SourceTable *table)
{
	int64		size;
	int64		threshold;
	int64		n;

	if (!config->parallel_chunk || table->nkeys == 0 || config->db_type == SOURCE_MONGO)
		return 0;
	size = config->split_bytes > 0 ? table->bytes_estimated : table->rows_estimated;
	threshold = config->split_bytes > 0 ? config->split_bytes : config->split_rows;
	if (threshold <= 0 || size <= threshold)
		return 0;
	n = (size - 1) / threshold + 1;
	n = Max(n, config->parallel_size);
	return (int) Min(n, MAX_CHUNKS);
}

/*
 * Is the first order-key column of t an integer of PostgreSQL's, whose
 * every value in range the source takes?  (Not MySQL's YEAR, a smallint
 * here whose values are 0 and 1901 to 2155.)
 */
static bool
key_is_integer(const SourceTable *t)
{
	const SourceColumn *c = &t->columns[t->key_cols[0]];

	if (c->source_type != NULL && pg_strncasecmp(c->source_type, "year", 4) == 0)
		return false;
	return strcmp(c->pg_type, "smallint") == 0 || strcmp(c->pg_type, "integer") == 0 ||
		strcmp(c->pg_type, "bigint") == 0;
}

static bool
parse_int64(const char *text, int64 *v)
{
	char	   *end;

	errno = 0;
	*v = strtoi64(text, &end, 10);
	return errno == 0 && end != text && *end == '\0';
}

/* lo + (hi - lo) * i / n, without overflow (lo <= hi, 0 <= i <= n) */
static int64
int_between(int64 lo, int64 hi, int i, int n)
{
	uint64		span = (uint64) hi - (uint64) lo;
	uint64		off = span / n * i + (span % n) * i / n;

	return (int64) ((uint64) lo + off);
}

/* Even integer boundaries in (low, max], strictly ascending. */
static List *
int_boundaries(int64 low, int64 max, int n)
{
	List	   *bounds = NIL;
	int64		prev = low;

	for (int i = 1; i < n; i++)
	{
		int64		v = int_between(low, max, i, n);

		if (v > prev)
		{
			bounds = lappend(bounds, psprintf(INT64_FORMAT, v));
			prev = v;
		}
	}
	return bounds;
}

/*
 * Boundaries from a sample read through the key's index: an ordered scan
 * of the key columns only, every step-th first value kept (the step
 * doubles when the sample grows past its room), then the n quantiles of
 * the sample.  Values are texts as scan_next gives them, ascending; one
 * equal to the previous is dropped.
 */
static List *
sampled_boundaries(const SourceOps *ops, Source *source, const SourceTable *table,
				   char *const *after, int n)
{
	SourceTable *keys = palloc0(sizeof(SourceTable));
	char	  **values = palloc(sizeof(char *) * table->nkeys);
	int		   *lengths = palloc(sizeof(int) * table->nkeys);
	int			room = SAMPLES_PER_CHUNK * n;
	char	  **sample = palloc(sizeof(char *) * (room + 1));
	int			nsample = 0;
	int64		step;
	int64		seen = 0;
	List	   *bounds = NIL;
	char	   *last = NULL;

	/* the table with its key columns only */
	*keys = *table;
	keys->ncolumns = table->nkeys;
	keys->columns = palloc(sizeof(SourceColumn) * table->nkeys);
	keys->key_cols = palloc(sizeof(int) * table->nkeys);
	for (int k = 0; k < table->nkeys; k++)
	{
		keys->columns[k] = table->columns[table->key_cols[k]];
		keys->key_cols[k] = k;
	}
	keys->range_lo = keys->range_hi = NULL;
	step = Max(1, table->rows_estimated / room);

	ops->scan_begin(source, keys, after, 0);
	while (ops->scan_next(source, values, lengths))
	{
		CHECK_FOR_INTERRUPTS();
		/* stop_task: the table is not cut now (the next run does it) */
		if (ape_stop_signalled)
		{
			ops->scan_end(source);
			return NIL;
		}
		if (seen++ % step != 0 || values[0] == NULL)
			continue;
		if (nsample == room)
		{
			/* thin out: every other one, and twice the step from now on */
			for (int i = 0; i < room / 2; i++)
				sample[i] = sample[2 * i];
			nsample = room / 2;
			step *= 2;
		}
		sample[nsample++] = pnstrdup(values[0], lengths[0]);
	}
	ops->scan_end(source);

	for (int i = 1; i < n && nsample > 0; i++)
	{
		char	   *v = sample[(int64) nsample * i / n];

		if (after != NULL && strcmp(v, after[0]) == 0)
			continue;
		if (last != NULL && strcmp(v, last) == 0)
			continue;
		bounds = lappend(bounds, v);
		last = v;
	}
	return bounds;
}

/*
 * Up to n - 1 values of the first key column that cut the rows after
 * position after (NULL: all) into n ranges of about as many rows,
 * ascending, each above after's first value.  Reads the source, outside
 * any local transaction.
 */
static List *
chunk_boundaries(const SourceOps *ops, Source *source, const SourceTable *table,
				 char *const *after, int n)
{
	int64		min;
	int64		max;
	int64		low;

	if (n < 2 || table->nkeys == 0)
		return NIL;
	if (key_is_integer(table))
	{
		if (ops->key_int_range == NULL || !ops->key_int_range(source, table, &min, &max))
			return NIL;
		low = min;
		if (after != NULL)
		{
			int64		a;

			if (!parse_int64(after[0], &a))
				return NIL;
			low = Max(low, a);
		}
		if (low >= max)
			return NIL;

		/*
		 * A unique integer key whose values fill most of their range cannot
		 * be skewed: no range holds more rows than its width.  Even cuts.
		 */
		if (table->nkeys == 1 && table->rows_estimated > 0 &&
			(double) table->rows_estimated >= DENSE_KEY * ((double) max - (double) min + 1))
			return int_boundaries(low, max, n);
		/* a sparse key may be skewed: the sample knows */
		return sampled_boundaries(ops, source, table, after, n);
	}

	/*
	 * Rows already copied: only an integer key cuts them safely.  Texts that
	 * differ may be equal keys (a case-insensitive collation): a boundary
	 * equal to the position would make the next chunk copy rows again.
	 */
	if (after != NULL)
		return NIL;
	return sampled_boundaries(ops, source, table, after, n);
}

/* args $1..$3 of the statements on a table of a task */
static void
table_args(Datum *args, int64 task_id, const SourceTable *table)
{
	args[0] = Int64GetDatum(task_id);
	args[1] = CStringGetTextDatum(table->schema);
	args[2] = CStringGetTextDatum(table->tb);
}

/*
 * In a transaction: may the table still be split?  It may when it is to
 * be copied (pending or copying), not from a lagging log (replacing), and
 * not split yet.  *after receives its committed position (NULL: none).
 */
static bool
chunk_table_splittable(int64 task_id, const SourceTable *table, char ***after)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		args[3];
	bool		ok = false;

	*after = NULL;
	table_args(args, task_id, table);
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT key_values FROM ape_resume.position "
							  "WHERE task_id = $1 AND schema = $2 AND tb = $3 "
							  "AND state IN ('pending', 'copying') AND NOT replacing "
							  "AND chunks IS NULL AND worker_pid IS NULL",
							  3, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.position");
	if (SPI_processed > 0)
	{
		int			n;

		ok = true;
		*after = catalog_get_text_array(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &n, cxt);
		if (*after != NULL && n != table->nkeys)
			ok = false;
	}
	catalog_as_owner_end(&cu);
	return ok;
}

/*
 * In a transaction: record the chunks of table cut at bounds (texts, see
 * chunk_boundaries); the first starts at the table's position.  Nothing
 * when bounds is NIL.
 */
static void
chunk_register(int64 task_id, const SourceTable *table, List *bounds)
{
	Oid			types[7] = {INT8OID, TEXTOID, TEXTOID, INT4OID, TEXTOID, TEXTOID, INT8OID};
	Datum		args[7];
	char		nulls[8] = "       ";
	int			n = list_length(bounds) + 1;

	if (bounds == NIL)
		return;
	table_args(args, task_id, table);
	args[3] = Int32GetDatum(n);
	/* the table is split once, before any worker took it */
	if (checkpoint_exec("UPDATE ape_resume.position SET chunks = $4 "
						"WHERE task_id = $1 AND schema = $2 AND tb = $3 "
						"AND chunks IS NULL AND worker_pid IS NULL",
						4, types, args, nulls, SPI_OK_UPDATE) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\".\"%s\" was taken by a worker while it was being cut into chunks",
						table->schema, table->tb)));
	for (int i = 1; i <= n; i++)
	{
		args[3] = Int32GetDatum(i);
		nulls[4] = i == 1 ? 'n' : ' ';
		if (i > 1)
			args[4] = CStringGetTextDatum(list_nth(bounds, i - 2));
		nulls[5] = i == n ? 'n' : ' ';
		if (i < n)
			args[5] = CStringGetTextDatum(list_nth(bounds, i - 1));
		args[6] = Int64GetDatum(Max(table->rows_estimated, 0) / n);
		/* the first chunk starts where the table's copy is */
		checkpoint_exec("INSERT INTO ape_resume.chunk "
						"(task_id, schema, tb, chunk, lo, hi, key_values, rows_estimated) "
						"SELECT p.task_id, p.schema, p.tb, $4, $5, $6, "
						"  CASE WHEN $4 = 1 THEN p.key_values END, $7 "
						"FROM ape_resume.position p "
						"WHERE p.task_id = $1 AND p.schema = $2 AND p.tb = $3",
						7, types, args, nulls, SPI_OK_INSERT);
	}
}

void
chunk_plan_tables(int64 task_id, const TaskConfig *config, const SourceOps *ops,
				  Source *source, List *tables)
{
	ListCell   *lc;

	foreach(lc, tables)
	{
		SourceTable *table = lfirst(lc);
		int			nchunks = chunk_count(config, table);
		char	  **after;
		List	   *bounds;
		bool		splittable;

		if (nchunks == 0)
			continue;
		task_xact_begin();
		splittable = chunk_table_splittable(task_id, table, &after);
		task_xact_commit();
		if (!splittable)
			continue;
		bounds = chunk_boundaries(ops, source, table, after, nchunks);
		task_xact_begin();
		chunk_register(task_id, table, bounds);
		task_xact_commit();
		if (bounds != NIL)
			task_log(config, "INFO", "table \"%s\".\"%s\": %d chunks",
					 table->schema, table->tb, list_length(bounds) + 1);
	}
}

SourceTable *
chunk_source_table(const SourceTable *table, const char *lo, const char *hi)
{
	SourceTable *t = palloc(sizeof(SourceTable));

	*t = *table;
	t->range_lo = lo ? pstrdup(lo) : NULL;
	t->range_hi = hi ? pstrdup(hi) : NULL;
	return t;
}

bool
chunk_table_begin(int64 task_id, const SourceTable *table)
{
	CatalogUser cu;
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		args[3];
	bool		fresh = false;
	bool		isnull;

	table_args(args, task_id, table);
	catalog_as_owner_begin(&cu);
	/* the lock every chunk's checkpoint takes too */
	/* no row of the table was committed: no position, no chunk begun */
	if (SPI_execute_with_args("SELECT p.key_values IS NULL "
							  "AND NOT EXISTS (SELECT 1 FROM ape_resume.chunk c "
							  "  WHERE c.task_id = p.task_id AND c.schema = p.schema AND c.tb = p.tb "
							  "  AND (c.key_values IS NOT NULL OR c.state = 'finished')) "
							  "FROM ape_resume.position p "
							  "WHERE p.task_id = $1 AND p.schema = $2 AND p.tb = $3 FOR NO KEY UPDATE",
							  3, types, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.position");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\".\"%s\" is no longer in the catalog of its task",
						table->schema, table->tb)));
	fresh = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	catalog_as_owner_end(&cu);
	checkpoint_exec("UPDATE ape_resume.position SET state = 'copying', "
					"started_at = coalesce(started_at, pg_catalog.clock_timestamp()), "
					"updated_at = pg_catalog.clock_timestamp() "
					"WHERE task_id = $1 AND schema = $2 AND tb = $3 AND state = 'pending'",
					3, types, args, NULL, SPI_OK_UPDATE);
	return fresh;
}

bool
chunk_commit(int64 task_id, const SourceTable *table, int chunk, char *const *value,
			 int64 rows_added, bool finished, char ***watermark, char **pending_keys)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	Oid			types[7] = {INT8OID, TEXTOID, TEXTOID, INT4OID, TEXTARRAYOID, INT8OID, BOOLOID};
	Datum		args[8];
	char		nulls[9] = "        ";
	char	  **before;
	char	  **after;
	int			n;
	bool		done;
	bool		isnull;

	table_args(args, task_id, table);
	args[3] = Int32GetDatum(chunk);
	if (value)
		args[4] = catalog_text_array(table->nkeys, value);
	else
		nulls[4] = 'n';
	args[5] = Int64GetDatum(rows_added);
	args[6] = BoolGetDatum(finished);
	args[7] = Int32GetDatum(MyProcPid);
	{
		Oid			ctypes[8] = {INT8OID, TEXTOID, TEXTOID, INT4OID, TEXTARRAYOID, INT8OID,
		BOOLOID, INT4OID};

		/* fenced by the chunk's claim, as a table's checkpoint is */
		if (checkpoint_exec("UPDATE ape_resume.chunk SET "
							"key_values = coalesce($5, key_values), rows_copied = rows_copied + $6, "
							"state = CASE WHEN $7 THEN 'finished' ELSE 'copying' END, "
							"worker_pid = CASE WHEN $7 THEN NULL ELSE worker_pid END, "
							"started_at = coalesce(started_at, pg_catalog.now()), "
							"updated_at = pg_catalog.clock_timestamp() "
							"WHERE task_id = $1 AND schema = $2 AND tb = $3 AND chunk = $4 "
							"AND worker_pid = $8",
							8, ctypes, args, nulls, SPI_OK_UPDATE) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("worker %d no longer holds chunk %d of table \"%s\".\"%s\" of its task",
							MyProcPid, chunk, table->schema, table->tb),
					 errdetail("Another run of the task took the chunk over; this batch is rolled back.")));
	}

	/*
	 * The table row's lock orders the checkpoints of its chunks; each
	 * statement after it sees what the others committed before.  NO KEY
	 * UPDATE, as an UPDATE takes: the rows a batch inserts that reference
	 * the table row (a check's keys and log lines) hold KEY SHARE on it,
	 * which FOR UPDATE would wait for, each worker for the other.
	 */
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT key_values FROM ape_resume.position "
							  "WHERE task_id = $1 AND schema = $2 AND tb = $3 FOR NO KEY UPDATE",
							  3, types, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.position");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\".\"%s\" is no longer in the catalog of its task",
						table->schema, table->tb)));
	before = catalog_get_text_array(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &n, cxt);
	if (SPI_execute_with_args("WITH c AS (SELECT chunk, state, key_values FROM ape_resume.chunk "
							  "           WHERE task_id = $1 AND schema = $2 AND tb = $3), "
							  "open AS (SELECT pg_catalog.min(chunk) AS m FROM c WHERE state <> 'finished') "
							  "UPDATE ape_resume.position p SET "
							  "rows_copied = p.rows_copied + $6, "
							  "key_values = coalesce("
							  "  (SELECT c.key_values FROM c, open WHERE c.chunk = open.m), "
							  "  (SELECT c.key_values FROM c, open WHERE (open.m IS NULL OR c.chunk < open.m) "
							  "   AND c.key_values IS NOT NULL ORDER BY c.chunk DESC LIMIT 1)), "
							  "state = 'copying', "
							  "started_at = coalesce(p.started_at, pg_catalog.now()), "
							  "updated_at = pg_catalog.clock_timestamp() "
							  "WHERE p.task_id = $1 AND p.schema = $2 AND p.tb = $3 "
							  "AND p.state IN ('pending', 'copying') "
							  "RETURNING p.key_values, (SELECT open.m IS NULL FROM open), p.pending_keys",
							  6, types, args, nulls, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not update ape_resume.position");
	/* another chunk's worker failed the table (its source table vanished) */
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\".\"%s\" is no longer being copied", table->schema, table->tb),
				 errdetail("Another worker of the task failed or finished it; this batch of chunk %d is rolled back.",
						   chunk)));
	after = catalog_get_text_array(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &n, cxt);
	done = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	{
		char	   *keys = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);

		*pending_keys = keys ? MemoryContextStrdup(cxt, keys) : NULL;
	}
	catalog_as_owner_end(&cu);

	*watermark = NULL;
	if (after != NULL && n == table->nkeys &&
		(before == NULL || !order_key_equal(table->nkeys, before, after)))
		*watermark = after;

	if (done)
	{
		/* the table is complete: finished, in the transaction of its last rows */
		checkpoint_exec("UPDATE ape_resume.position SET state = 'finished', "
						"pending_keys = NULL, replacing = false "
						"WHERE task_id = $1 AND schema = $2 AND tb = $3",
						3, types, args, NULL, SPI_OK_UPDATE);
		checkpoint_exec("INSERT INTO ape_resume.finished (task_id, schema, tb, rows_copied, finished_at) "
						"SELECT task_id, schema, tb, rows_copied, pg_catalog.clock_timestamp() "
						"FROM ape_resume.position "
						"WHERE task_id = $1 AND schema = $2 AND tb = $3",
						3, types, args, NULL, SPI_OK_INSERT);
	}
	return done;
}

bool
chunk_position(int64 task_id, const SourceTable *table, int chunk, char ***value)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	Oid			types[4] = {INT8OID, TEXTOID, TEXTOID, INT4OID};
	Datum		args[4];
	bool		found;

	table_args(args, task_id, table);
	args[3] = Int32GetDatum(chunk);
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT key_values FROM ape_resume.chunk "
							  "WHERE task_id = $1 AND schema = $2 AND tb = $3 AND chunk = $4",
							  4, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.chunk");
	found = SPI_processed > 0;
	if (found)
	{
		int			n;

		*value = catalog_get_text_array(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &n, cxt);
		if (*value != NULL && n != table->nkeys)
			elog(ERROR, "the catalog position of chunk %d of table \"%s\".\"%s\" has %d values, its order key %d columns",
				 chunk, table->schema, table->tb, n, table->nkeys);
	}
	catalog_as_owner_end(&cu);
	return found;
}

void
chunk_take_over(int64 task_id, int64 pred_id, const SourceTable *table)
{
	Oid			types[4] = {INT8OID, TEXTOID, TEXTOID, INT8OID};
	Datum		args[4];

	table_args(args, task_id, table);
	args[3] = Int64GetDatum(pred_id);
	if (checkpoint_exec("INSERT INTO ape_resume.chunk "
						"(task_id, schema, tb, chunk, lo, hi, key_values, state, rows_copied, "
						" rows_estimated, started_at, updated_at) "
						"SELECT $1, c.schema, c.tb, c.chunk, c.lo, c.hi, c.key_values, "
						"  CASE WHEN c.state = 'finished' THEN 'finished' ELSE 'pending' END, "
						"  c.rows_copied, c.rows_estimated, c.started_at, c.updated_at "
						"FROM ape_resume.chunk c "
						"WHERE c.task_id = $4 AND c.schema = $2 AND c.tb = $3 "
						"AND NOT EXISTS (SELECT 1 FROM ape_resume.chunk o "
						"                WHERE o.task_id = $1 AND o.schema = $2 AND o.tb = $3) "
						/* on the same key, into the same target, not replaced meanwhile */
						"AND EXISTS (SELECT 1 FROM ape_resume.position p, ape_resume.position q "
						"            WHERE p.task_id = $1 AND p.schema = $2 AND p.tb = $3 "
						"            AND q.task_id = $4 AND q.schema = $2 AND q.tb = $3 "
						"            AND q.chunks IS NOT NULL AND q.state IN ('pending', 'copying') "
						"            AND p.state IN ('pending', 'copying') AND p.chunks IS NULL "
						"            AND p.key_cols IS NOT DISTINCT FROM q.key_cols "
						"            AND p.dst_schema = q.dst_schema AND p.dst_tb = q.dst_tb)",
						4, types, args, NULL, SPI_OK_INSERT) == 0)
		return;
	/* its rows are in the target: the table's position is its watermark */
	checkpoint_exec("UPDATE ape_resume.position p SET chunks = q.chunks, "
					"rows_copied = q.rows_copied, key_values = q.key_values, "
					"state = 'copying', replacing = false "
					"FROM ape_resume.position q "
					"WHERE p.task_id = $1 AND p.schema = $2 AND p.tb = $3 "
					"AND q.task_id = $4 AND q.schema = $2 AND q.tb = $3",
					4, types, args, NULL, SPI_OK_UPDATE);
}

List *
chunk_rows(int64 task_id, const SourceTable *table)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		args[3];
	List	   *result = NIL;

	if (task_id == 0)
		return NIL;
	table_args(args, task_id, table);
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT c.chunk, p.chunks, c.lo, c.hi, c.key_values, c.state = 'finished' "
							  "FROM ape_resume.chunk c JOIN ape_resume.position p "
							  "  ON p.task_id = c.task_id AND p.schema = c.schema AND p.tb = c.tb "
							  "WHERE c.task_id = $1 AND c.schema = $2 AND c.tb = $3 ORDER BY c.chunk",
							  3, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.chunk");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		ChunkRow   *r = MemoryContextAllocZero(cxt, sizeof(ChunkRow));
		char	   *v;
		bool		isnull;
		int			n;
		MemoryContext old;

		r->chunk = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		r->nchunks = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		v = SPI_getvalue(tup, desc, 3);
		r->lo = v ? MemoryContextStrdup(cxt, v) : NULL;
		v = SPI_getvalue(tup, desc, 4);
		r->hi = v ? MemoryContextStrdup(cxt, v) : NULL;
		r->value = catalog_get_text_array(tup, desc, 5, &n, cxt);
		if (r->value != NULL && n != table->nkeys)
			r->value = NULL;
		r->finished = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
		old = MemoryContextSwitchTo(cxt);
		result = lappend(result, r);
		MemoryContextSwitchTo(old);
	}
	catalog_as_owner_end(&cu);
	return result;
}
