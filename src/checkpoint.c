/*-------------------------------------------------------------------------
 *
 * checkpoint.c
 *	  A table's progress in the catalog and in the log files.
 *
 * A checkpoint writes the table's position row in the same transaction as
 * the rows it covers, so the catalog is never behind or ahead of the data;
 * the position.log line is appended only after that commit, so the file is
 * never ahead of it (it may lag after a crash, which resume tolerates).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "checkpoint.h"
#include "resume.h"
#include "order_key.h"
#include "position.h"
#include "privileges.h"

/*
 * The plans of the catalog statements of a worker, prepared once: they run
 * at every checkpoint.  Keyed by the statement's text, a string constant.
 */
#define MAX_CATALOG_PLANS 32

typedef struct CatalogPlanEntry
{
	const char *sql;
	SPIPlanPtr	plan;
} CatalogPlanEntry;

static CatalogPlanEntry catalog_plans[MAX_CATALOG_PLANS];
static int	ncatalog_plans = 0;

static SPIPlanPtr
catalog_plan(const char *sql, int nargs, Oid *types)
{
	SPIPlanPtr	plan;
	int			i;

	for (i = 0; i < ncatalog_plans; i++)
		if (catalog_plans[i].sql == sql)
			return catalog_plans[i].plan;
	plan = SPI_prepare(sql, nargs, types);
	if (plan == NULL)
		elog(ERROR, "could not prepare an ape_resume catalog statement: %s",
			 SPI_result_code_string(SPI_result));
	if (ncatalog_plans < MAX_CATALOG_PLANS && SPI_keepplan(plan) == 0)
	{
		catalog_plans[ncatalog_plans].sql = sql;
		catalog_plans[ncatalog_plans].plan = plan;
		ncatalog_plans++;
	}
	return plan;
}

uint64
checkpoint_exec(const char *sql, int nargs, Oid *types, Datum *args, const char *nulls,
			 int expected)
{
	CatalogUser cu;
	int			rc;
	uint64		processed;

	catalog_as_owner_begin(&cu);
	rc = SPI_execute_plan(catalog_plan(sql, nargs, types), args, nulls, false, 0);
	if (rc != expected)
		elog(ERROR, "could not update the ape_resume catalog: %s", SPI_result_code_string(rc));
	processed = SPI_processed;
	catalog_as_owner_end(&cu);
	return processed;
}

/*
 * The rows of a table kept per position that a position on another order
 * key ($6) voids: chunks, and a check's keys and log lines.  String
 * constants, each a plan of catalog_plan's.
 */
#define DELETE_ON_OTHER_KEY(catalog_table) \
	"DELETE FROM ape_resume." catalog_table " c USING ape_resume.position p " \
	"WHERE c.task_id = $1 AND c.schema = $2 AND c.tb = $3 " \
	"AND p.task_id = c.task_id AND p.schema = c.schema AND p.tb = c.tb " \
	"AND p.key_cols IS DISTINCT FROM $6"

static const char *const delete_on_other_key[] = {
	DELETE_ON_OTHER_KEY("chunk"),
	DELETE_ON_OTHER_KEY("check_key"),
	DELETE_ON_OTHER_KEY("check_row"),
};

void
checkpoint_table_register(int64 task_id, const SourceTable *table,
						  const char *dst_schema, const char *dst_tb, char **definition)
{
	Oid			types[8] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, INT8OID,
	TEXTARRAYOID};
	Datum		args[8];
	char		nulls[8] = "        ";

	args[0] = Int64GetDatum(task_id);
	args[1] = CStringGetTextDatum(table->schema);
	args[2] = CStringGetTextDatum(table->tb);
	args[3] = CStringGetTextDatum(dst_schema);
	args[4] = CStringGetTextDatum(dst_tb);
	if (table->nkeys > 0)
		args[5] = catalog_text_array(table->nkeys, order_key_names(table));
	else
		nulls[5] = 'n';
	args[6] = Int64GetDatum(table->rows_estimated);
	if (table->rows_estimated < 0)
		nulls[6] = 'n';
	args[7] = catalog_text_array(TABLE_DEF_N, definition);
	/* chunks, and a check's log lines, on another key mean nothing on this one */
	for (int i = 0; i < lengthof(delete_on_other_key); i++)
		checkpoint_exec(delete_on_other_key[i], 8, types, args, nulls, SPI_OK_DELETE);
	checkpoint_exec("INSERT INTO ape_resume.position "
				 "(task_id, schema, tb, dst_schema, dst_tb, key_cols, rows_estimated, definition) "
				 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
				 "ON CONFLICT (task_id, schema, tb) DO UPDATE SET "
				 "dst_schema = EXCLUDED.dst_schema, dst_tb = EXCLUDED.dst_tb, "
				 "definition = EXCLUDED.definition, "
				 "rows_estimated = EXCLUDED.rows_estimated, "
				 /* a position on another key means nothing on this one */
				 "key_values = CASE WHEN position.key_cols IS NOT DISTINCT FROM EXCLUDED.key_cols "
				 "  THEN position.key_values END, "
				 "rows_copied = CASE WHEN position.key_cols IS NOT DISTINCT FROM EXCLUDED.key_cols "
				 "  THEN position.rows_copied ELSE 0 END, "
				 "replacing = position.replacing AND "
				 "  position.key_cols IS NOT DISTINCT FROM EXCLUDED.key_cols, "
				 "chunks = CASE WHEN position.key_cols IS NOT DISTINCT FROM EXCLUDED.key_cols "
				 "  THEN position.chunks END, "
				 /* and a check's findings, counted from the position on */
				 "rows_missing = CASE WHEN position.key_cols IS NOT DISTINCT FROM EXCLUDED.key_cols "
				 "  THEN position.rows_missing ELSE 0 END, "
				 "rows_different = CASE WHEN position.key_cols IS NOT DISTINCT FROM EXCLUDED.key_cols "
				 "  THEN position.rows_different ELSE 0 END, "
				 "rows_extra = CASE WHEN position.key_cols IS NOT DISTINCT FROM EXCLUDED.key_cols "
				 "  THEN position.rows_extra ELSE 0 END, "
				 "check_note = CASE WHEN position.key_cols IS NOT DISTINCT FROM EXCLUDED.key_cols "
				 "  THEN position.check_note END, "
				 "key_cols = EXCLUDED.key_cols, "
				 /* a table that failed alone (it had vanished) is tried again */
				 "state = CASE WHEN position.state = 'failed' THEN 'pending' "
				 "  ELSE position.state END, "
				 "error = NULL",
				 8, types, args, nulls, SPI_OK_INSERT);
}

void
checkpoint_set_tables_total(int64 task_id, int ntables)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		args[2];

	args[0] = Int64GetDatum(task_id);
	args[1] = Int32GetDatum(ntables);
	checkpoint_exec("UPDATE ape_resume.task SET tables_total = $2 WHERE id = $1",
				 2, types, args, NULL, SPI_OK_UPDATE);
}

bool
checkpoint_stop_requested(int64 task_id)
{
	CatalogUser cu;
	Oid			types[1] = {INT8OID};
	Datum		args[1];
	bool		stop = false;
	bool		isnull;

	args[0] = Int64GetDatum(task_id);
	catalog_as_owner_begin(&cu);
	if (SPI_execute_plan(catalog_plan("SELECT stop_requested OR last_error IS NOT NULL "
									  "FROM ape_resume.task WHERE id = $1", 1, types),
						 args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.task");
	if (SPI_processed > 0)
		stop = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	catalog_as_owner_end(&cu);
	return stop;
}

void
checkpoint_commit_position(int64 task_id, const SourceTable *table, char *const *value,
						   int64 rows_added, bool finished, bool replacing)
{
	Oid			types[8] = {INT8OID, TEXTOID, TEXTOID, TEXTARRAYOID, INT8OID, BOOLOID, BOOLOID, INT4OID};
	Datum		args[8];
	char		nulls[9] = "        ";

	args[0] = Int64GetDatum(task_id);
	args[1] = CStringGetTextDatum(table->schema);
	args[2] = CStringGetTextDatum(table->tb);
	if (value)
		args[3] = catalog_text_array(table->nkeys, value);
	else
		nulls[3] = 'n';
	args[4] = Int64GetDatum(rows_added);
	args[5] = BoolGetDatum(finished);
	args[6] = BoolGetDatum(replacing);
	args[7] = Int32GetDatum(MyProcPid);
	/* fenced by the claim: see task_state.c */
	if (checkpoint_exec("UPDATE ape_resume.position SET "
				 "key_values = coalesce($4, key_values), rows_copied = rows_copied + $5, "
				 "replacing = $7 AND NOT $6, "
				 "pending_keys = CASE WHEN $6 THEN NULL ELSE pending_keys END, "
				 "worker_pid = CASE WHEN $6 THEN NULL ELSE worker_pid END, "
				 "state = CASE WHEN $6 THEN 'finished' ELSE 'copying' END, "
				 "started_at = coalesce(started_at, pg_catalog.now()), "
				 "updated_at = pg_catalog.clock_timestamp() "
				 "WHERE task_id = $1 AND schema = $2 AND tb = $3 AND worker_pid = $8",
					 8, types, args, nulls, SPI_OK_UPDATE) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("worker %d no longer holds table \"%s\".\"%s\" of its task",
						MyProcPid, table->schema, table->tb),
				 errdetail("Another run of the task took the table over; this batch is rolled back.")));
	if (finished)
		checkpoint_exec("INSERT INTO ape_resume.finished (task_id, schema, tb, rows_copied, finished_at) "
					 "SELECT task_id, schema, tb, rows_copied, pg_catalog.clock_timestamp() "
					 "FROM ape_resume.position "
					 "WHERE task_id = $1 AND schema = $2 AND tb = $3",
					 3, types, args, nulls, SPI_OK_INSERT);
}

void
checkpoint_mark_skipped(int64 task_id, const SourceTable *table)
{
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		args[3];

	args[0] = Int64GetDatum(task_id);
	args[1] = CStringGetTextDatum(table->schema);
	args[2] = CStringGetTextDatum(table->tb);
	checkpoint_exec("UPDATE ape_resume.position SET state = 'skipped', "
				 "updated_at = pg_catalog.clock_timestamp() "
				 "WHERE task_id = $1 AND schema = $2 AND tb = $3 AND state <> 'finished'",
				 3, types, args, NULL, SPI_OK_UPDATE);
	checkpoint_exec("INSERT INTO ape_resume.finished (task_id, schema, tb, rows_copied, finished_at) "
				 "SELECT task_id, schema, tb, rows_copied, pg_catalog.clock_timestamp() "
				 "FROM ape_resume.position "
				 "WHERE task_id = $1 AND schema = $2 AND tb = $3 "
				 "ON CONFLICT DO NOTHING",
				 3, types, args, NULL, SPI_OK_INSERT);
}

void
checkpoint_set_resume(int64 task_id, const SourceTable *table, char *const *value,
					  bool replacing)
{
	Oid			types[5] = {INT8OID, TEXTOID, TEXTOID, TEXTARRAYOID, BOOLOID};
	Datum		args[5];

	args[0] = Int64GetDatum(task_id);
	args[1] = CStringGetTextDatum(table->schema);
	args[2] = CStringGetTextDatum(table->tb);
	args[3] = catalog_text_array(table->nkeys, value);
	args[4] = BoolGetDatum(replacing);
	checkpoint_exec("UPDATE ape_resume.position SET key_values = $4, replacing = $5 "
				 "WHERE task_id = $1 AND schema = $2 AND tb = $3",
				 5, types, args, NULL, SPI_OK_UPDATE);
}

bool
checkpoint_table_position(int64 task_id, const SourceTable *table, char ***value,
						  bool *replacing)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		args[3];
	bool		found;

	args[0] = Int64GetDatum(task_id);
	args[1] = CStringGetTextDatum(table->schema);
	args[2] = CStringGetTextDatum(table->tb);
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT key_values, replacing FROM ape_resume.position "
							  "WHERE task_id = $1 AND schema = $2 AND tb = $3",
							  3, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.position");
	found = SPI_processed > 0;
	if (found)
	{
		bool		isnull;
		int			n;

		*value = catalog_get_text_array(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
										&n, cxt);
		if (*value != NULL && n != table->nkeys)
			elog(ERROR, "the catalog position of table \"%s\".\"%s\" has %d values, its order key %d columns",
				 table->schema, table->tb, n, table->nkeys);
		*replacing = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												2, &isnull));
	}
	catalog_as_owner_end(&cu);
	return found;
}

/* the oid of target table $1.$2, in the statements below */
#define TARGET_RELID \
	"(SELECT c.oid FROM pg_catalog.pg_class c " \
	"  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " \
	" WHERE n.nspname = $1 AND c.relname = $2)"

void
checkpoint_set_pending_keys(int64 task_id, const SourceTable *table, const char *dst_schema,
							const char *dst_tb, const char *ddl)
{
	Oid			types[4] = {INT8OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		args[4];

	args[0] = Int64GetDatum(task_id);
	args[1] = CStringGetTextDatum(table->schema);
	args[2] = CStringGetTextDatum(table->tb);
	args[3] = CStringGetTextDatum(ddl);
	checkpoint_exec("UPDATE ape_resume.position SET pending_keys = $4 "
				 "WHERE task_id = $1 AND schema = $2 AND tb = $3",
				 4, types, args, NULL, SPI_OK_UPDATE);
	/* and with the target table itself, for a task that outlives this one */
	args[0] = CStringGetTextDatum(dst_schema);
	args[1] = CStringGetTextDatum(dst_tb);
	args[2] = CStringGetTextDatum(ddl);
	checkpoint_exec("INSERT INTO ape_resume.target_keys (dst_schema, dst_tb, relid, ddl) "
				 "SELECT $1, $2, " TARGET_RELID ", $3 "
				 "ON CONFLICT (dst_schema, dst_tb) DO UPDATE SET relid = EXCLUDED.relid, "
				 "ddl = EXCLUDED.ddl",
				 3, types + 1, args, NULL, SPI_OK_INSERT);
}

char *
checkpoint_target_pending_keys(const char *dst_schema, const char *dst_tb)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	char	   *ddl = NULL;

	args[0] = CStringGetTextDatum(dst_schema);
	args[1] = CStringGetTextDatum(dst_tb);
	catalog_as_owner_begin(&cu);
	/* the same table, not one created since under its names */
	if (SPI_execute_with_args("SELECT ddl FROM ape_resume.target_keys "
							  "WHERE dst_schema = $1 AND dst_tb = $2 AND relid = " TARGET_RELID,
							  2, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.target_keys");
	if (SPI_processed > 0)
		ddl = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	catalog_as_owner_end(&cu);
	return ddl;
}

void
checkpoint_target_keys_added(const char *dst_schema, const char *dst_tb)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2];

	args[0] = CStringGetTextDatum(dst_schema);
	args[1] = CStringGetTextDatum(dst_tb);
	checkpoint_exec("DELETE FROM ape_resume.target_keys WHERE dst_schema = $1 AND dst_tb = $2",
				 2, types, args, NULL, SPI_OK_DELETE);
}

void
checkpoint_set_taken_up(int64 task_id, int64 pred_id)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		args[2];

	args[0] = Int64GetDatum(task_id);
	args[1] = Int64GetDatum(pred_id);
	checkpoint_exec("UPDATE ape_resume.task SET taken_up_by = "
				 "(SELECT name FROM ape_resume.task WHERE id = $1) WHERE id = $2",
				 2, types, args, NULL, SPI_OK_UPDATE);
	/*
	 * and the objects of the tables it created (structure.c): this task
	 * makes those still to make, and knows the sequences it made
	 */
	checkpoint_exec("UPDATE ape_resume.structure s SET task_id = $1 "
				 "WHERE s.task_id = $2 AND s.dst_schema IS NOT NULL "
				 "AND NOT EXISTS (SELECT 1 FROM ape_resume.structure x WHERE x.task_id = $1 "
				 "                AND x.schema = s.schema AND x.tb = s.tb)",
				 2, types, args, NULL, SPI_OK_UPDATE);
}

int
checkpoint_tables_left(int64 task_id)
{
	CatalogUser cu;
	Oid			types[1] = {INT8OID};
	Datum		args[1];
	bool		isnull;
	int			n;

	args[0] = Int64GetDatum(task_id);
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT count(*) FROM ape_resume.position p "
							  "LEFT JOIN ape_resume.chunk c ON c.task_id = p.task_id "
							  "  AND c.schema = p.schema AND c.tb = p.tb AND c.state <> 'finished' "
							  "WHERE p.task_id = $1 AND p.state IN ('pending', 'copying') "
							  "AND (p.chunks IS NULL OR c.chunk IS NOT NULL)",
							  1, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.position");
	n = (int) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	catalog_as_owner_end(&cu);
	return n;
}

List *
checkpoint_kept_keys(int64 task_id)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	Oid			types[1] = {INT8OID};
	Datum		args[1];
	List	   *kept = NIL;

	if (task_id == 0)
		return NIL;
	args[0] = Int64GetDatum(task_id);
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT schema, tb, key_cols FROM ape_resume.position "
							  "WHERE task_id = $1 AND key_cols IS NOT NULL",
							  1, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.position");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		SourceKeptKey *k = MemoryContextAlloc(cxt, sizeof(SourceKeptKey));
		MemoryContext old;

		k->schema = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 1));
		k->tb = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 2));
		k->cols = catalog_get_text_array(tup, desc, 3, &k->ncols, cxt);
		old = MemoryContextSwitchTo(cxt);
		kept = lappend(kept, k);
		MemoryContextSwitchTo(old);
	}
	catalog_as_owner_end(&cu);
	return kept;
}

static char *
log_path(const TaskConfig *config, const char *file)
{
	return psprintf("%s/%s", config->log_dir, file);
}

void
checkpoint_format_position(StringInfo buf, const TaskConfig *config, const SourceTable *table,
						   char *const *value)
{
	PositionEntry entry;
	PositionEntry none;
	TimestampTz now = GetCurrentTimestamp();

	memset(&entry, 0, sizeof(entry));
	entry.kind = POSITION_SNAPSHOT;
	entry.db_type = (char *) source_kind_name(config->db_type);
	entry.schema = table->schema;
	entry.tb = table->tb;
	/* a composite key in ape-dts's order_key form (see position_json.c) */
	entry.nkeys = table->nkeys;
	entry.order_cols = order_key_names(table);
	entry.values = (char **) value;
	memset(&none, 0, sizeof(none));
	none.kind = POSITION_NONE;

	if (buf->len > 0)
		appendStringInfoChar(buf, '\n');
	position_line_format(buf, now, "current_position", &entry);
	appendStringInfoChar(buf, '\n');
	position_line_format(buf, now, "checkpoint_position", &none);
}

void
checkpoint_append_positions(const TaskConfig *config, StringInfo lines)
{
	if (lines->len == 0)
		return;
	position_file_append(log_path(config, "position.log"), lines->data, false);
	resetStringInfo(lines);
}

void
checkpoint_log_position(const TaskConfig *config, const SourceTable *table, char *const *value)
{
	StringInfoData lines;

	initStringInfo(&lines);
	checkpoint_format_position(&lines, config, table, value);
	checkpoint_append_positions(config, &lines);
	pfree(lines.data);
}

void
checkpoint_log_finished(const TaskConfig *config, const SourceTable *table)
{
	PositionEntry entry;
	StringInfoData line;

	memset(&entry, 0, sizeof(entry));
	entry.kind = POSITION_SNAPSHOT_FINISHED;
	entry.db_type = (char *) source_kind_name(config->db_type);
	entry.schema = table->schema;
	entry.tb = table->tb;
	initStringInfo(&line);
	position_line_format(&line, GetCurrentTimestamp(), NULL, &entry);
	position_file_append(log_path(config, "finished.log"), line.data, true);
	pfree(line.data);
}

static int
log_level_rank(const char *level)
{
	if (strcmp(level, "error") == 0)
		return 0;
	if (strcmp(level, "warn") == 0)
		return 1;
	if (strcmp(level, "info") == 0)
		return 2;
	if (strcmp(level, "debug") == 0)
		return 3;
	return 4;
}

/*
 * msg with every control character written as a C escape (\n, \t, \x1b),
 * so that a source's table or column name cannot forge a line of
 * default.log or of the server log.
 */
static char *
escape_controls(const char *msg)
{
	StringInfoData out;
	const unsigned char *p;

	for (p = (const unsigned char *) msg; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			break;
	if (*p == '\0')
		return (char *) msg;
	initStringInfo(&out);
	for (p = (const unsigned char *) msg; *p; p++)
	{
		if (*p == '\n')
			appendStringInfoString(&out, "\\n");
		else if (*p == '\r')
			appendStringInfoString(&out, "\\r");
		else if (*p == '\t')
			appendStringInfoString(&out, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			appendStringInfo(&out, "\\x%02x", *p);
		else
			appendStringInfoChar(&out, (char) *p);
	}
	return out.data;
}

void
task_log(const TaskConfig *config, const char *level, const char *fmt,...)
{
	StringInfoData msg;
	char	   *lower = asc_tolower(level, strlen(level));

	initStringInfo(&msg);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&msg, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&msg, needed);
	}
	/* warnings and errors stand out in the server log too */
	ereport(strcmp(lower, "warn") == 0 || strcmp(lower, "error") == 0 ? WARNING : LOG,
			(errmsg_internal("ape_resume: %s", escape_controls(msg.data))));
	task_file_log(config, level, msg.data);
}

void
task_file_log(const TaskConfig *config, const char *level, const char *msg)
{
	StringInfoData line;

	if (log_level_rank(asc_tolower(level, strlen(level))) > log_level_rank(config->log_level))
		return;
	initStringInfo(&line);
	position_append_timestamp(&line, GetCurrentTimestamp());
	appendStringInfo(&line, " - %s - [%d] - %s", level, MyProcPid, escape_controls(msg));
	position_file_append(log_path(config, "default.log"), line.data, false);
}
