/*-------------------------------------------------------------------------
 *
 * check_log.c
 *	  What a check found, as ape-dts's log lines (miss.log, diff.log,
 *	  extra.log) and repair statements (sql.log): built for each row found,
 *	  kept in ape_resume.check_row with the batch that found them (at most
 *	  check_log_max_rows of each kind), and written to the files from the
 *	  catalog.  See check.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "check.h"
#include "check_internal.h"
#include "checkpoint.h"
#include "privileges.h"
#include "task_run.h"

static const char *const found_kind[] = {"miss", "diff", "extra"};

/* ---------------------------------------------------------------------
 * Log lines, in ape-dts's JSON forms
 * ---------------------------------------------------------------------
 */

void
check_json_text(StringInfo buf, const char *text)
{
	if (text == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, text);
}

static void
line_begin(StringInfo buf, const CheckTable *ct)
{
	appendStringInfoString(buf, "{\"schema\":");
	escape_json(buf, ct->table->schema);
	appendStringInfoString(buf, ",\"tb\":");
	escape_json(buf, ct->table->tb);
	if (ct->renamed)
	{
		appendStringInfoString(buf, ",\"target_schema\":");
		escape_json(buf, ct->dst_schema);
		appendStringInfoString(buf, ",\"target_tb\":");
		escape_json(buf, ct->dst_tb);
	}
}

/* ,"<name>":{"col":"value",...} of texts (one a column, NULL: null) */
static void
json_row(StringInfo buf, const char *name, const CheckTable *ct, char **texts, bool keys_only)
{
	const SourceTable *t = ct->table;
	int			n = keys_only ? t->nkeys : t->ncolumns;

	appendStringInfo(buf, ",\"%s\":{", name);
	for (int j = 0; j < n; j++)
	{
		int			i = keys_only ? t->key_cols[j] : j;

		if (j > 0)
			appendStringInfoChar(buf, ',');
		escape_json(buf, ct->cols[i].src_name);
		appendStringInfoChar(buf, ':');
		check_json_text(buf, texts[i]);
	}
	appendStringInfoChar(buf, '}');
}

/*
 * A value as an SQL literal on one line that the target parses back to the
 * same text: E'...' with its backslashes, quotes and control characters
 * escaped when it has any, else '...'.
 */
static char *
sql_literal(const char *v)
{
	StringInfoData buf;
	bool		plain = true;

	for (const unsigned char *p = (const unsigned char *) v; *p; p++)
		if (*p == '\\' || *p < 0x20 || *p == 0x7f)
			plain = false;
	if (plain)
		return quote_literal_cstr(v);
	initStringInfo(&buf);
	appendStringInfoString(&buf, "E'");
	for (const unsigned char *p = (const unsigned char *) v; *p; p++)
	{
		if (*p == '\\')
			appendStringInfoString(&buf, "\\\\");
		else if (*p == '\'')
			appendStringInfoString(&buf, "''");
		else if (*p == '\n')
			appendStringInfoString(&buf, "\\n");
		else if (*p == '\r')
			appendStringInfoString(&buf, "\\r");
		else if (*p == '\t')
			appendStringInfoString(&buf, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			appendStringInfo(&buf, "\\x%02x", *p);
		else
			appendStringInfoChar(&buf, (char) *p);
	}
	appendStringInfoChar(&buf, '\'');
	return buf.data;
}

/* "WHERE k1 = 'v1' AND k2 = 'v2'" of a row's key texts */
static void
sql_key_where(StringInfo sql, const CheckTable *ct, char **texts)
{
	for (int k = 0; k < ct->table->nkeys; k++)
	{
		int			i = ct->table->key_cols[k];

		if (texts[i] == NULL)
			appendStringInfo(sql, "%s%s IS NULL", k == 0 ? " WHERE " : " AND ",
							 quote_identifier(ct->cols[i].dst_name));
		else
			appendStringInfo(sql, "%s%s = %s", k == 0 ? " WHERE " : " AND ",
							 quote_identifier(ct->cols[i].dst_name), sql_literal(texts[i]));
	}
}

char *
check_sql_target(const CheckTable *ct)
{
	return psprintf("%s.%s", quote_identifier(ct->dst_schema), quote_identifier(ct->dst_tb));
}

/*
 * A line of kind for the batch's log lines, in cxt; NULL when the batch
 * has as many as a log may hold (the counts go on).
 */
static CheckLine *
new_line(CheckFound *f, int kind, const TaskConfig *config, MemoryContext cxt)
{
	CheckLine  *l;
	MemoryContext old;

	if (list_length(f->lines[kind]) >= f->room[kind])
		return NULL;
	old = MemoryContextSwitchTo(cxt);
	l = palloc0(sizeof(CheckLine));
	f->lines[kind] = lappend(f->lines[kind], l);
	MemoryContextSwitchTo(old);
	return l;
}

void
check_found_missing(CheckFound *f, const CheckTable *ct, const TaskConfig *config, char **src,
			  MemoryContext cxt)
{
	StringInfoData buf;
	CheckLine  *l;
	MemoryContext old;

	f->missing++;
	if ((l = new_line(f, FOUND_MISS, config, cxt)) == NULL)
		return;
	old = MemoryContextSwitchTo(cxt);
	initStringInfo(&buf);
	line_begin(&buf, ct);
	json_row(&buf, "id_col_values", ct, src, true);
	if (config->check_full_row)
		json_row(&buf, "src_row", ct, src, false);
	appendStringInfoChar(&buf, '}');
	l->line = buf.data;
	if (config->check_revise_sql)
	{
		StringInfoData sql;

		initStringInfo(&sql);
		appendStringInfo(&sql, "INSERT INTO %s (%s) VALUES (", check_sql_target(ct), ct->select_list);
		for (int i = 0; i < ct->table->ncolumns; i++)
			appendStringInfo(&sql, "%s%s", i > 0 ? ", " : "",
							 src[i] ? sql_literal(src[i]) : "NULL");
		appendStringInfoString(&sql, ");");
		l->revise_sql = sql.data;
	}
	MemoryContextSwitchTo(old);
}

void
check_found_extra(CheckFound *f, const CheckTable *ct, const TaskConfig *config, char **dst,
			MemoryContext cxt)
{
	StringInfoData buf;
	CheckLine  *l;
	MemoryContext old;

	f->extra++;
	if ((l = new_line(f, FOUND_EXTRA, config, cxt)) == NULL)
		return;
	old = MemoryContextSwitchTo(cxt);
	initStringInfo(&buf);
	line_begin(&buf, ct);
	json_row(&buf, "id_col_values", ct, dst, true);
	if (config->check_full_row)
		json_row(&buf, "dst_row", ct, dst, false);
	appendStringInfoChar(&buf, '}');
	l->line = buf.data;
	if (config->check_revise_sql)
	{
		StringInfoData sql;

		initStringInfo(&sql);
		appendStringInfo(&sql, "DELETE FROM %s", check_sql_target(ct));
		sql_key_where(&sql, ct, dst);
		appendStringInfoChar(&sql, ';');
		l->revise_sql = sql.data;
	}
	MemoryContextSwitchTo(old);
}

void
check_found_different(CheckFound *f, const CheckTable *ct, const TaskConfig *config,
				char **src, char **dst, const bool *differs, MemoryContext cxt)
{
	StringInfoData buf;
	CheckLine  *l;
	bool		first = true;
	MemoryContext old;

	f->different++;
	if ((l = new_line(f, FOUND_DIFF, config, cxt)) == NULL)
		return;
	old = MemoryContextSwitchTo(cxt);
	initStringInfo(&buf);
	line_begin(&buf, ct);
	json_row(&buf, "id_col_values", ct, src, true);
	appendStringInfoString(&buf, ",\"diff_col_values\":{");
	for (int i = 0; i < ct->table->ncolumns; i++)
	{
		if (!differs[i])
			continue;
		if (!first)
			appendStringInfoChar(&buf, ',');
		first = false;
		escape_json(&buf, ct->cols[i].src_name);
		appendStringInfoString(&buf, ":{\"src\":");
		check_json_text(&buf, src[i]);
		appendStringInfoString(&buf, ",\"dst\":");
		check_json_text(&buf, dst[i]);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoChar(&buf, '}');
	if (config->check_full_row)
	{
		json_row(&buf, "src_row", ct, src, false);
		json_row(&buf, "dst_row", ct, dst, false);
	}
	appendStringInfoChar(&buf, '}');
	l->line = buf.data;
	if (config->check_revise_sql)
	{
		StringInfoData sql;

		first = true;
		initStringInfo(&sql);
		appendStringInfo(&sql, "UPDATE %s SET ", check_sql_target(ct));
		for (int i = 0; i < ct->table->ncolumns; i++)
		{
			if (!differs[i])
				continue;
			appendStringInfo(&sql, "%s%s = %s", first ? "" : ", ",
							 quote_identifier(ct->cols[i].dst_name),
							 src[i] ? sql_literal(src[i]) : "NULL");
			first = false;
		}
		sql_key_where(&sql, ct, src);
		appendStringInfoChar(&sql, ';');
		l->revise_sql = sql.data;
	}
	MemoryContextSwitchTo(old);
}

/* ---------------------------------------------------------------------
 * The catalog
 * ---------------------------------------------------------------------
 */

/* The lines each log of the task still takes (the batch keeps no more). */
void
check_log_room(int64 task_id, const TaskConfig *config, CheckFound *f)
{
	CatalogUser cu;
	Oid			types[1] = {INT8OID};
	Datum		args[1];

	args[0] = Int64GetDatum(task_id);
	for (int kind = 0; kind < 3; kind++)
		f->room[kind] = config->check_log_max_rows;
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT kind, pg_catalog.count(*) FROM ape_resume.check_row "
							  "WHERE task_id = $1 GROUP BY kind",
							  1, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.check_row");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		char	   *kind = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
		bool		isnull;
		int64		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));

		for (int k = 0; k < 3; k++)
			if (strcmp(kind, found_kind[k]) == 0)
				f->room[k] = Max(config->check_log_max_rows - n, 0);
	}
	catalog_as_owner_end(&cu);
}

/*
 * In the batch's transaction: the counts, and the lines while their
 * kind's log has room (the task's lock on its log lines keeps the cap
 * exact between workers).
 */
void
check_commit_found(int64 task_id, const TaskConfig *config, const SourceTable *table,
			 const CheckFound *f, const char *note)
{
	Oid			types[7] = {INT8OID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID, TEXTOID};
	Datum		args[7];
	char		nulls[8] = "       ";
	int64		room[3];

	args[0] = Int64GetDatum(task_id);
	args[1] = CStringGetTextDatum(table->schema);
	args[2] = CStringGetTextDatum(table->tb);
	args[3] = Int64GetDatum(f->missing);
	args[4] = Int64GetDatum(f->different);
	args[5] = Int64GetDatum(f->extra);
	if (note)
		args[6] = CStringGetTextDatum(note);
	else
		nulls[6] = 'n';
	checkpoint_exec("UPDATE ape_resume.position SET rows_missing = rows_missing + $4, "
					"rows_different = rows_different + $5, rows_extra = rows_extra + $6, "
					"check_note = coalesce($7, check_note) "
					"WHERE task_id = $1 AND schema = $2 AND tb = $3",
					7, types, args, nulls, SPI_OK_UPDATE);
	if (f->lines[0] == NIL && f->lines[1] == NIL && f->lines[2] == NIL)
		return;
	checkpoint_exec("SELECT pg_catalog.pg_advisory_xact_lock(" CppAsString2(CHECK_LOG_LOCK_CLASS) ", "
					"($1 % 2147483647)::pg_catalog.int4)",
					1, types, args, NULL, SPI_OK_SELECT);
	/* under the lock: what other workers committed meanwhile */
	{
		CheckFound	now;

		check_log_room(task_id, config, &now);
		for (int kind = 0; kind < 3; kind++)
			room[kind] = now.room[kind];
	}
	for (int kind = 0; kind < 3; kind++)
	{
		Oid			ltypes[6] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
		Datum		largs[6];
		char		lnulls[7] = "      ";
		ListCell   *lc;

		largs[0] = args[0];
		largs[1] = args[1];
		largs[2] = args[2];
		largs[3] = CStringGetTextDatum(found_kind[kind]);
		foreach(lc, f->lines[kind])
		{
			CheckLine  *l = lfirst(lc);

			if (room[kind]-- <= 0)
				break;			/* the log is full: the counts go on */
			largs[4] = CStringGetTextDatum(l->line);
			lnulls[5] = l->revise_sql ? ' ' : 'n';
			if (l->revise_sql)
				largs[5] = CStringGetTextDatum(l->revise_sql);
			checkpoint_exec("INSERT INTO ape_resume.check_row (task_id, schema, tb, kind, line, revise_sql) "
							"VALUES ($1, $2, $3, $4, $5, $6)",
							6, ltypes, largs, lnulls, SPI_OK_INSERT);
		}
	}
}

/* ---------------------------------------------------------------------
 * The log files
 * ---------------------------------------------------------------------
 */

/* Write path whole, through a temporary file renamed over it. */
static void
write_file(const char *path, const char *data, int len)
{
	char	   *tmp = psprintf("%s.tmp", path);
	FILE	   *f = AllocateFile(tmp, PG_BINARY_W);

	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create check log \"%s\": %m", tmp)));
	if (len > 0 && fwrite(data, 1, len, f) != (size_t) len)
	{
		int			save = errno;

		FreeFile(f);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write check log \"%s\": %m", tmp)));
	}
	if (FreeFile(f) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write check log \"%s\": %m", tmp)));
	durable_rename(tmp, path, ERROR);
}

void
check_write_logs(TaskRow *task, const TaskConfig *config)
{
	char	   *dir = config->check_log_dir ? pstrdup(config->check_log_dir)
		: psprintf("%s/check", config->log_dir);
	StringInfoData files[4];	/* miss, diff, extra, sql */
	static const char *const names[4] = {"miss.log", "diff.log", "extra.log", "sql.log"};
	CatalogUser cu;
	Oid			types[1] = {INT8OID};
	Datum		args[1];
	int			sql_count = 0;
	MemoryContext cxt = CurrentMemoryContext;

	if (pg_mkdir_p(dir, S_IRWXU) != 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create check log directory \"%s\": %m", dir)));
	for (int i = 0; i < 4; i++)
		initStringInfo(&files[i]);
	/* the statements' text is UTF-8, whatever psql's client encoding */
	appendStringInfoString(&files[3], "SET client_encoding = 'UTF8';\n");
	args[0] = Int64GetDatum(task->id);

	task_xact_begin();
	checkpoint_exec("SELECT pg_catalog.pg_advisory_xact_lock(" CppAsString2(CHECK_LOG_LOCK_CLASS) ", "
					"($1 % 2147483647)::pg_catalog.int4)",
					1, types, args, NULL, SPI_OK_SELECT);
	catalog_as_owner_begin(&cu);
	/* not read-only: what committed before the lock was ours */
	if (SPI_execute_with_args("SELECT kind, line, revise_sql FROM ape_resume.check_row "
							  "WHERE task_id = $1 ORDER BY id",
							  1, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.check_row");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		char	   *kind = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
		char	   *line = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);
		char	   *sql = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3);
		int			i = strcmp(kind, "miss") == 0 ? 0 : strcmp(kind, "diff") == 0 ? 1 : 2;

		CHECK_FOR_INTERRUPTS();
		appendStringInfo(&files[i], "%s\n", line);
		if (sql != NULL)
		{
			appendStringInfo(&files[3], "%s\n", sql);
			sql_count++;
		}
	}
	/* the summary: ape-dts's keys, and ours */
	if (SPI_execute_with_args("SELECT pg_catalog.json_build_object("
							  "'start_time', pg_catalog.to_char(t.started_at AT TIME ZONE 'UTC', "
							  "  'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"'), "
							  "'end_time', pg_catalog.to_char(pg_catalog.clock_timestamp() AT TIME ZONE 'UTC', "
							  "  'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"'), "
							  "'is_consistent', coalesce(sum(p.rows_missing + p.rows_different + p.rows_extra), 0) = 0 "
							  "  AND pg_catalog.bool_and(p.state IN ('finished', 'skipped')), "
							  "'miss_count', coalesce(sum(p.rows_missing), 0), "
							  "'diff_count', coalesce(sum(p.rows_different), 0), "
							  "'extra_count', coalesce(sum(p.rows_extra), 0), "
							  "'sql_count', $2::pg_catalog.int4, "
							  "'rows_checked', coalesce(sum(p.rows_copied), 0), "
							  "'tables_checked', pg_catalog.count(*) FILTER (WHERE p.state = 'finished'), "
							  "'tables_total', pg_catalog.count(p.*), "
							  "'notes', coalesce(pg_catalog.json_agg(pg_catalog.json_build_object("
							  "    'schema', p.schema, 'tb', p.tb, 'note', p.check_note)) "
							  "  FILTER (WHERE p.check_note IS NOT NULL), '[]'::pg_catalog.json))::text "
							  "FROM ape_resume.task t LEFT JOIN ape_resume.position p ON p.task_id = t.id "
							  "WHERE t.id = $1 GROUP BY t.started_at",
							  2, (Oid[]) {INT8OID, INT4OID},
							  (Datum[]) {args[0], Int32GetDatum(sql_count)},
							  NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the check's counts");
	{
		char	   *summary = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0],
																	SPI_tuptable->tupdesc, 1));

		catalog_as_owner_end(&cu);
		summary = psprintf("%s\n", summary);
		for (int i = 0; i < 4; i++)
			if (i < 3 || config->check_revise_sql)
				write_file(psprintf("%s/%s", dir, names[i]), files[i].data, files[i].len);
		write_file(psprintf("%s/summary.log", dir), summary, strlen(summary));
	}
	task_xact_commit();
}
