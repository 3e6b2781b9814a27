/*-------------------------------------------------------------------------
 *
 * check.c
 *	  Check tasks ([sinker] sink_type=check): prove a copy.
 *
 * A check task lists, filters and routes tables as a copy does, and for
 * each table reads the source in key order (the copy's own extraction:
 * where_conditions, ignore_cols, col_map, the same text values) and the
 * target in the same key order through its key, and merges the two:
 *
 *	  a source row whose key the target lacks		missing	(miss.log)
 *	  a key on both sides whose columns differ		different (diff.log)
 *	  a target row whose key the source lacks		extra	(extra.log)
 *
 * A source value is compared after the copy's own conversion, the input
 * function of the target column's type, with the type's equality (floats
 * by their exact text, types without equality by their text), so a copy
 * that was right compares equal.
 *
 * Batches are checkpointed like a copy's: the rows compared, the counts
 * found and the log lines (at most check_log_max_rows of each kind, in
 * ape_resume.check_row) commit with the table's position in one
 * transaction, so a check resumed after a stop or a crash counts no row
 * twice.  The log files are written from the catalog when a worker ends.
 *
 * The merge needs both sides in one order: keys of types that order the
 * same everywhere (numbers, dates and times, uuid, bytea, bool).  A key
 * with another column (text, whose collations differ between MySQL and
 * PostgreSQL; a Mongo _id) is looked up instead: each batch's source rows
 * are fetched at the target by key (= ANY), the keys compared are kept
 * in ape_resume.check_key with the batch, and at the table's end the
 * target's rows whose key is not among them are the extra ones.  A table
 * without a key is compared as a multiset: row count and a sum of row
 * hashes, with a note.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

#include "check.h"
#include "chunk.h"
#include "order_key.h"
#include "privileges.h"
#include "task_run.h"

/* Target rows fetched at a time from the check's cursor. */
#define CHECK_FETCH_ROWS 1000

/* First key of the advisory lock of a task's check logs. */
#define CHECK_LOG_LOCK_CLASS 1095779651	/* "APEC" */

/* A column of the checked table: the source's, and its target's type. */
typedef struct CheckCol
{
	const char *src_name;
	const char *dst_name;
	Oid			typid;
	int32		typmod;
	Oid			collation;
	FmgrInfo	input;
	Oid			ioparam;
	FmgrInfo	output;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	FmgrInfo   *cmp;			/* the key's columns: btree order */
} CheckCol;

typedef struct CheckTable
{
	const SourceTable *table;
	const char *dst_schema;
	const char *dst_tb;
	bool		exists;			/* the target table exists */
	bool		renamed;		/* the router gave it other names */
	CheckCol   *cols;			/* one a source column */
	char	   *select_list;	/* the target's columns, in source order */
	char	   *key_list;		/* the key's target columns */
	int			sample_percent;
	bool		lookup;			/* its key cannot be merged in order: looked up */
} CheckTable;

/* What a batch found. */
typedef struct CheckFound
{
	int64		compared;
	int64		missing;
	int64		different;
	int64		extra;
	List	   *lines[3];		/* miss, diff, extra: CheckLine */
	int64		room[3];		/* lines each log still takes */
} CheckFound;

typedef struct CheckLine
{
	char	   *line;
	char	   *revise_sql;
} CheckLine;

enum
{
	FOUND_MISS,
	FOUND_DIFF,
	FOUND_EXTRA
};

static const char *const found_kind[] = {"miss", "diff", "extra"};

/* ---------------------------------------------------------------------
 * The target's side
 * ---------------------------------------------------------------------
 */

/*
 * Does a key column of this type order its values the same at the source
 * and at the target, whatever the collations?
 */
static bool
merge_orderable(Oid typid)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case OIDOID:
		case NUMERICOID:
		case FLOAT4OID:
		case FLOAT8OID:
		case BOOLOID:
		case DATEOID:
		case TIMEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
		case UUIDOID:
		case BYTEAOID:
			return true;
	}
	return false;
}

static void
check_table_init(CheckTable *ct, const TaskConfig *config, const SourceTable *table,
				 const char *dst_schema, const char *dst_tb)
{
	Oid			nsp = get_namespace_oid(dst_schema, true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(dst_tb, nsp) : InvalidOid;
	StringInfoData sel;
	StringInfoData keys;

	memset(ct, 0, sizeof(CheckTable));
	ct->table = table;
	ct->dst_schema = dst_schema;
	ct->dst_tb = dst_tb;
	ct->exists = OidIsValid(relid);
	ct->renamed = strcmp(dst_schema, table->schema) != 0 || strcmp(dst_tb, table->tb) != 0;
	ct->sample_percent = config->check_sample_percent;
	ct->cols = palloc0(sizeof(CheckCol) * Max(table->ncolumns, 1));
	initStringInfo(&sel);
	initStringInfo(&keys);
	for (int i = 0; i < table->ncolumns; i++)
	{
		CheckCol   *c = &ct->cols[i];
		Oid			func;
		bool		varlena;
		TypeCacheEntry *tc;

		c->src_name = table->columns[i].name;
		c->dst_name = source_column_target(&table->columns[i]);
		if (i > 0)
			appendStringInfoString(&sel, ", ");
		appendStringInfoString(&sel, quote_identifier(c->dst_name));
		if (!ct->exists)
			continue;
		{
			AttrNumber	att = get_attnum(relid, c->dst_name);

			if (att == InvalidAttrNumber)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("target table \"%s\".\"%s\" has no column \"%s\" for source table \"%s\".\"%s\"",
								dst_schema, dst_tb, c->dst_name, table->schema, table->tb),
						 errhint("A check compares the columns the copy wrote; check the router's col_map.")));
			get_atttypetypmodcoll(relid, att, &c->typid, &c->typmod, &c->collation);
		}
		getTypeInputInfo(c->typid, &func, &c->ioparam);
		fmgr_info(func, &c->input);
		getTypeOutputInfo(c->typid, &func, &varlena);
		fmgr_info(func, &c->output);
		get_typlenbyvalalign(c->typid, &c->typlen, &c->typbyval, &c->typalign);
		tc = lookup_type_cache(c->typid, TYPECACHE_CMP_PROC_FINFO);
		if (OidIsValid(tc->cmp_proc_finfo.fn_oid))
			c->cmp = &tc->cmp_proc_finfo;
	}
	for (int k = 0; k < table->nkeys && ct->exists; k++)
	{
		CheckCol   *c = &ct->cols[table->key_cols[k]];

		if (k > 0)
			appendStringInfoString(&keys, ", ");
		appendStringInfoString(&keys, quote_identifier(c->dst_name));
		if (c->cmp == NULL || !merge_orderable(c->typid))
			ct->lookup = true;
	}
	ct->select_list = sel.data;
	ct->key_list = keys.data;
}

/* A source value as the target's type (the copy's conversion). */
static Datum
src_datum(const CheckCol *c, const char *text)
{
	/* the source's text is UTF-8, as COPY (ENCODING 'UTF8') takes it */
	char	   *server = pg_any_to_server(text, strlen(text), PG_UTF8);

	return InputFunctionCall((FmgrInfo *) &c->input, server, c->ioparam, c->typmod);
}

static char *
dst_text(const CheckCol *c, Datum d)
{
	return OutputFunctionCall((FmgrInfo *) &c->output, d);
}

/* Is a row's key in the sample (sample_percent, by the hash of its key's text)? */
static bool
in_sample(const CheckTable *ct, char **key_texts)
{
	uint32		h = 0;

	if (ct->sample_percent >= 100)
		return true;
	for (int k = 0; k < ct->table->nkeys; k++)
		h = hash_combine(h, key_texts[k] == NULL ? 0x9e3779b9
						 : hash_bytes((const unsigned char *) key_texts[k], strlen(key_texts[k])));
	return h % 100 < (uint32) ct->sample_percent;
}

/* ---------------------------------------------------------------------
 * Log lines, in ape-dts's JSON forms
 * ---------------------------------------------------------------------
 */

static void
json_text_or_null(StringInfo buf, const char *text)
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
		json_text_or_null(buf, texts[i]);
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

static char *
sql_target(const CheckTable *ct)
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

static void
found_missing(CheckFound *f, const CheckTable *ct, const TaskConfig *config, char **src,
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
		appendStringInfo(&sql, "INSERT INTO %s (%s) VALUES (", sql_target(ct), ct->select_list);
		for (int i = 0; i < ct->table->ncolumns; i++)
			appendStringInfo(&sql, "%s%s", i > 0 ? ", " : "",
							 src[i] ? sql_literal(src[i]) : "NULL");
		appendStringInfoString(&sql, ");");
		l->revise_sql = sql.data;
	}
	MemoryContextSwitchTo(old);
}

static void
found_extra(CheckFound *f, const CheckTable *ct, const TaskConfig *config, char **dst,
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
		appendStringInfo(&sql, "DELETE FROM %s", sql_target(ct));
		sql_key_where(&sql, ct, dst);
		appendStringInfoChar(&sql, ';');
		l->revise_sql = sql.data;
	}
	MemoryContextSwitchTo(old);
}

static void
found_different(CheckFound *f, const CheckTable *ct, const TaskConfig *config,
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
		json_text_or_null(&buf, src[i]);
		appendStringInfoString(&buf, ",\"dst\":");
		json_text_or_null(&buf, dst[i]);
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
		appendStringInfo(&sql, "UPDATE %s SET ", sql_target(ct));
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
 * The merge of a batch
 * ---------------------------------------------------------------------
 */

/* A source batch: rows of texts, in key order. */
typedef struct SrcBatch
{
	int			nrows;
	int			room;
	char	 ***rows;
} SrcBatch;

static void
src_batch_add(SrcBatch *b, int ncols, char **values, int *lengths)
{
	char	  **row = palloc(sizeof(char *) * Max(ncols, 1));

	for (int i = 0; i < ncols; i++)
		row[i] = values[i] ? pnstrdup(values[i], lengths[i]) : NULL;
	if (b->nrows == b->room)
	{
		b->room = Max(64, b->room * 2);
		b->rows = b->rows ? repalloc(b->rows, sizeof(char **) * b->room)
			: palloc(sizeof(char **) * b->room);
	}
	b->rows[b->nrows++] = row;
}

/* Compare a source row's key with a target row's: <0, 0, >0. */
static int
key_cmp(const CheckTable *ct, Datum *src_keys, HeapTuple tup, TupleDesc desc)
{
	for (int k = 0; k < ct->table->nkeys; k++)
	{
		int			i = ct->table->key_cols[k];
		const CheckCol *c = &ct->cols[i];
		bool		isnull;
		Datum		d = SPI_getbinval(tup, desc, i + 1, &isnull);
		int32		r;

		if (isnull)
			return -1;			/* a NULL key at the target: after every key */
		r = DatumGetInt32(FunctionCall2Coll(c->cmp, c->collation, src_keys[k], d));
		if (r != 0)
			return r;
	}
	return 0;
}

/* The target row's values as texts. */
static char **
dst_texts(const CheckTable *ct, HeapTuple tup, TupleDesc desc)
{
	char	  **texts = palloc(sizeof(char *) * Max(ct->table->ncolumns, 1));

	for (int i = 0; i < ct->table->ncolumns; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(tup, desc, i + 1, &isnull);

		texts[i] = isnull ? NULL : dst_text(&ct->cols[i], d);
	}
	return texts;
}

/* Compare the columns of a source row and a target row of one key. */
static void
compare_rows(CheckFound *f, const CheckTable *ct, const TaskConfig *config, char **src,
			 HeapTuple tup, TupleDesc desc, MemoryContext cxt)
{
	int			n = ct->table->ncolumns;
	bool	   *differs = palloc0(sizeof(bool) * Max(n, 1));
	bool		any = false;

	for (int i = 0; i < n; i++)
	{
		const CheckCol *c = &ct->cols[i];
		bool		isnull;
		Datum		d = SPI_getbinval(tup, desc, i + 1, &isnull);

		/*
		 * The same value, bit for bit, as the copy would have stored: -0 is
		 * not 0, '1 day' is not '24 hours'.
		 */
		if (src[i] == NULL || isnull)
			differs[i] = (src[i] == NULL) != isnull;
		else
			differs[i] = !datum_image_eq(src_datum(c, src[i]), d, c->typbyval, c->typlen);
		any |= differs[i];
	}
	if (any)
		found_different(f, ct, config, src, dst_texts(ct, tup, desc), differs, cxt);
}

/*
 * Merge a batch of source rows (after position after) with the target's
 * rows of the same key range: (after, the batch's last key], or to the
 * end when the source has no more rows.
 */
static void
merge_batch(CheckFound *f, const CheckTable *ct, const TaskConfig *config, SrcBatch *b,
			char **after, bool to_end)
{
	const SourceTable *t = ct->table;
	MemoryContext cxt = CurrentMemoryContext;
	StringInfoData sql;
	StringInfoData conds;
	Oid		   *types = palloc(sizeof(Oid) * (2 * t->nkeys + 2));
	Datum	   *args = palloc(sizeof(Datum) * (2 * t->nkeys + 2));
	int			nargs = 0;
	char	  **last = b->nrows > 0 ? b->rows[b->nrows - 1] : NULL;
	Portal		portal;
	int			nestlevel;
	int			i = 0;
	uint64		fetched = 0;
	uint64		pos = 0;
	bool		done = false;
	MemoryContext row_cxt;
	MemoryContext key_cxt;
	Datum	   *src_keys = palloc(sizeof(Datum) * Max(t->nkeys, 1));
	int			src_keys_of = -1;
	char	  **key = palloc(sizeof(char *) * Max(t->nkeys, 1));

	if (!ct->exists)
	{
		for (i = 0; i < b->nrows; i++)
		{
			for (int k = 0; k < t->nkeys; k++)
				key[k] = b->rows[i][t->key_cols[k]];
			/* no target table: its types are not known, the source's text is hashed */
			if (!in_sample(ct, key))
				continue;
			f->compared++;
			found_missing(f, ct, config, b->rows[i], cxt);
		}
		return;
	}

	/* the conditions of the batch's key range, ANDed */
	initStringInfo(&conds);
	/* a chunk: its range of the key's first column */
	for (int bound = 0; bound < 2; bound++)
	{
		const char *v = bound == 0 ? t->range_lo : t->range_hi;
		const CheckCol *c = &ct->cols[t->key_cols[0]];

		if (v == NULL)
			continue;
		appendStringInfo(&conds, "%s%s %s $%d", nargs == 0 ? "" : " AND ",
						 quote_identifier(c->dst_name), bound == 0 ? ">=" : "<", nargs + 1);
		types[nargs] = c->typid;
		args[nargs++] = src_datum(c, v);
	}
	for (int bound = 0; bound < 2; bound++)
	{
		char	  **v = bound == 0 ? after : (!to_end ? last : NULL);

		if (v == NULL)
			continue;
		appendStringInfo(&conds, "%s(%s) %s (", nargs == 0 ? "" : " AND ", ct->key_list,
						 bound == 0 ? ">" : "<=");
		for (int k = 0; k < t->nkeys; k++)
		{
			const CheckCol *c = &ct->cols[t->key_cols[k]];

			appendStringInfo(&conds, "%s$%d", k > 0 ? ", " : "", nargs + 1);
			types[nargs] = c->typid;
			args[nargs++] = src_datum(c, bound == 0 ? v[k] : v[t->key_cols[k]]);
		}
		appendStringInfoChar(&conds, ')');
	}
	if (!to_end && last == NULL)
		return;					/* no source row, more to come: nothing to merge */

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s FROM %s", ct->select_list, sql_target(ct));
	/*
	 * At the table's end (its last chunk's), target rows with a NULL in the
	 * key too: no range takes them, and they sort last (extra).
	 */
	if (to_end && t->range_hi == NULL && conds.len > 0)
	{
		appendStringInfo(&sql, " WHERE (%s)", conds.data);
		for (int k = 0; k < t->nkeys; k++)
			appendStringInfo(&sql, " OR %s IS NULL",
							 quote_identifier(ct->cols[t->key_cols[k]].dst_name));
	}
	else if (conds.len > 0)
		appendStringInfo(&sql, " WHERE %s", conds.data);
	appendStringInfo(&sql, " ORDER BY %s", ct->key_list);
	row_cxt = AllocSetContextCreate(cxt, "ape_resume check row", ALLOCSET_SMALL_SIZES);
	key_cxt = AllocSetContextCreate(cxt, "ape_resume check key", ALLOCSET_SMALL_SIZES);

	nestlevel = pinned_spi_connect();
	MemoryContextSwitchTo(cxt);
	portal = SPI_cursor_open_with_args(NULL, sql.data, nargs, types, args, NULL, true, 0);
	MemoryContextSwitchTo(cxt);
	if (portal == NULL)
		elog(ERROR, "could not read %s: %s", sql_target(ct), SPI_result_code_string(SPI_result));
	for (;;)
	{
		HeapTuple	tup = NULL;
		char	  **src = i < b->nrows ? b->rows[i] : NULL;
		int			c;

		CHECK_FOR_INTERRUPTS();
		/* the next target row, fetched CHECK_FETCH_ROWS at a time */
		if (!done && pos == fetched)
		{
			if (SPI_tuptable)
				SPI_freetuptable(SPI_tuptable);
			SPI_cursor_fetch(portal, true, CHECK_FETCH_ROWS);
			MemoryContextSwitchTo(cxt);
			fetched = SPI_processed;
			pos = 0;
			done = fetched == 0;
		}
		if (!done)
			tup = SPI_tuptable->vals[pos];
		if (src == NULL && tup == NULL)
			break;
		/* a source row's key as the target's type, once a row */
		if (src != NULL && src_keys_of != i)
		{
			MemoryContextReset(key_cxt);
			MemoryContextSwitchTo(key_cxt);
			for (int k = 0; k < t->nkeys; k++)
				src_keys[k] = src_datum(&ct->cols[t->key_cols[k]], src[t->key_cols[k]]);
			src_keys_of = i;
		}
		/* what one step allocates goes with it; the lines kept are the batch's */
		MemoryContextSwitchTo(row_cxt);
		c = src == NULL ? 1 : tup == NULL ? -1 : key_cmp(ct, src_keys, tup, SPI_tuptable->tupdesc);
		if (c <= 0)
		{
			for (int k = 0; k < t->nkeys; k++)
				key[k] = ct->sample_percent < 100
					? dst_text(&ct->cols[t->key_cols[k]], src_keys[k]) : src[t->key_cols[k]];
			if (in_sample(ct, key))
			{
				f->compared++;
				if (c < 0)
					found_missing(f, ct, config, src, cxt);
				else
					compare_rows(f, ct, config, src, tup, SPI_tuptable->tupdesc, cxt);
			}
			i++;
		}
		else
		{
			char	  **dst = dst_texts(ct, tup, SPI_tuptable->tupdesc);

			for (int k = 0; k < t->nkeys; k++)
				key[k] = dst[t->key_cols[k]];
			if (in_sample(ct, key))
				found_extra(f, ct, config, dst, cxt);
		}
		if (c >= 0)
			pos++;
		MemoryContextSwitchTo(cxt);
		MemoryContextReset(row_cxt);
	}
	SPI_cursor_close(portal);
	pinned_spi_finish(nestlevel);
	MemoryContextSwitchTo(cxt);
	MemoryContextDelete(row_cxt);
	MemoryContextDelete(key_cxt);
}

/* ---------------------------------------------------------------------
 * Keys that cannot be merged in order: looked up
 * ---------------------------------------------------------------------
 */

/* The JSON array of a row's key texts (as the target prints them). */
static char *
key_json(const CheckTable *ct, char **key_texts)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int k = 0; k < ct->table->nkeys; k++)
	{
		if (k > 0)
			appendStringInfoChar(&buf, ',');
		json_text_or_null(&buf, key_texts[k]);
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

typedef struct KeyEntry
{
	const char *key;
	int			index;
} KeyEntry;

static int
key_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const KeyEntry *) a)->key, ((const KeyEntry *) b)->key);
}

/* The first entry of key in entries (n, sorted), or NULL. */
static KeyEntry *
key_find(KeyEntry *entries, int n, const char *key)
{
	KeyEntry	probe = {key, 0};
	KeyEntry   *e = n > 0 ? bsearch(&probe, entries, n, sizeof(KeyEntry), key_entry_cmp) : NULL;

	while (e != NULL && e > entries && strcmp(e[-1].key, key) == 0)
		e--;
	return e;
}

/* keys[0 .. n) as a text[] */
static Datum
text_array(char **keys, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(keys[i]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* In the batch's transaction: the keys compared, for the extra rows at the end. */
static void
record_keys(int64 task_id, const SourceTable *table, char **keys, int n)
{
	Oid			types[4] = {INT8OID, TEXTOID, TEXTOID, TEXTARRAYOID};
	Datum		args[4];

	if (n == 0)
		return;
	args[0] = Int64GetDatum(task_id);
	args[1] = CStringGetTextDatum(table->schema);
	args[2] = CStringGetTextDatum(table->tb);
	args[3] = text_array(keys, n);
	checkpoint_exec("INSERT INTO ape_resume.check_key (task_id, schema, tb, key) "
					"SELECT $1, $2, $3, pg_catalog.sha256(pg_catalog.convert_to(k, 'UTF8')) "
					"FROM pg_catalog.unnest($4) AS k ON CONFLICT DO NOTHING",
					4, types, args, NULL, SPI_OK_INSERT);
}

/* Which of keys[0 .. n) the check compared at the source (recorded). */
static bool *
keys_recorded(int64 task_id, const SourceTable *table, char **keys, int n)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	Oid			types[4] = {INT8OID, TEXTOID, TEXTOID, TEXTARRAYOID};
	Datum		args[4];
	bool	   *found = palloc0(sizeof(bool) * Max(n, 1));
	KeyEntry   *entries = palloc(sizeof(KeyEntry) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		entries[i].key = keys[i];
		entries[i].index = i;
	}
	qsort(entries, n, sizeof(KeyEntry), key_entry_cmp);
	args[0] = Int64GetDatum(task_id);
	args[1] = CStringGetTextDatum(table->schema);
	args[2] = CStringGetTextDatum(table->tb);
	args[3] = text_array(keys, n);
	/* not read-only: the keys this transaction recorded too */
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT k FROM pg_catalog.unnest($4) AS k "
							  "WHERE EXISTS (SELECT 1 FROM ape_resume.check_key c "
							  "  WHERE c.task_id = $1 AND c.schema = $2 AND c.tb = $3 "
							  "  AND c.key = pg_catalog.sha256(pg_catalog.convert_to(k, 'UTF8')))",
							  4, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.check_key");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		char	   *key = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);

		/* every row of that key (a key held twice is extra, once, by lookup_batch) */
		for (KeyEntry *e = key_find(entries, n, key); e != NULL && e < entries + n &&
			 strcmp(e->key, key) == 0; e++)
			found[e->index] = true;
	}
	catalog_as_owner_end(&cu);
	MemoryContextSwitchTo(cxt);
	return found;
}

/*
 * Compare a batch of source rows with the target's rows of the same keys,
 * looked up by key (= ANY, or IN unnest for a composite key), whatever the
 * order each side keeps; record the keys compared.
 */
static void
lookup_batch(CheckFound *f, const CheckTable *ct, const TaskConfig *config, SrcBatch *b,
			 int64 task_id)
{
	const SourceTable *t = ct->table;
	MemoryContext cxt = CurrentMemoryContext;
	int			nk = t->nkeys;
	int			m = 0;
	Datum	  **karr = palloc(sizeof(Datum *) * nk);
	char	  **keys = palloc(sizeof(char *) * Max(b->nrows, 1));
	int		   *row_of = palloc(sizeof(int) * Max(b->nrows, 1));
	char	  **norm = palloc(sizeof(char *) * nk);
	StringInfoData sql;
	Oid		   *types = palloc(sizeof(Oid) * nk);
	Datum	   *args = palloc(sizeof(Datum) * nk);
	KeyEntry   *entries;
	char	 ***dsts;
	SPITupleTable *tt;
	uint64		nt;
	int			nestlevel;

	for (int k = 0; k < nk; k++)
		karr[k] = palloc(sizeof(Datum) * Max(b->nrows, 1));
	for (int r = 0; r < b->nrows; r++)
	{
		for (int k = 0; k < nk; k++)
		{
			const CheckCol *c = &ct->cols[t->key_cols[k]];
			const char *v = b->rows[r][t->key_cols[k]];

			karr[k][m] = ct->exists ? src_datum(c, v) : (Datum) 0;
			norm[k] = ct->exists ? dst_text(c, karr[k][m]) : (char *) v;
		}
		if (!in_sample(ct, norm))
			continue;
		keys[m] = key_json(ct, norm);
		row_of[m++] = r;
	}
	f->compared += m;
	if (m == 0)
		return;
	if (!ct->exists)
	{
		for (int j = 0; j < m; j++)
			found_missing(f, ct, config, b->rows[row_of[j]], cxt);
		record_keys(task_id, t, keys, m);
		return;
	}

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s FROM %s WHERE ", ct->select_list, sql_target(ct));
	/*
	 * The key's columns, each by its type; a type without an array type (an
	 * array, a composite) by its text, which then reads the whole table.
	 */
	{
		StringInfoData cols;

		initStringInfo(&cols);
		for (int k = 0; k < nk; k++)
		{
			const CheckCol *c = &ct->cols[t->key_cols[k]];

			types[k] = get_array_type(c->typid);
			appendStringInfo(&cols, "%s%s%s", k > 0 ? ", " : "", quote_identifier(c->dst_name),
							 OidIsValid(types[k]) ? "" : "::pg_catalog.text");
			if (OidIsValid(types[k]))
				args[k] = PointerGetDatum(construct_array(karr[k], m, c->typid, c->typlen,
														  c->typbyval, c->typalign));
			else
			{
				char	  **texts = palloc(sizeof(char *) * m);

				for (int j = 0; j < m; j++)
					texts[j] = dst_text(c, karr[k][j]);
				types[k] = TEXTARRAYOID;
				args[k] = text_array(texts, m);
			}
		}
		if (nk == 1)
			appendStringInfo(&sql, "%s = ANY ($1)", cols.data);
		else
		{
			appendStringInfo(&sql, "(%s) IN (SELECT * FROM ROWS FROM (", cols.data);
			for (int k = 0; k < nk; k++)
				appendStringInfo(&sql, "%spg_catalog.unnest($%d)", k > 0 ? ", " : "", k + 1);
			appendStringInfoString(&sql, "))");
		}
	}

	nestlevel = pinned_spi_connect();
	if (SPI_execute_with_args(sql.data, nk, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read %s", sql_target(ct));
	MemoryContextSwitchTo(cxt);
	tt = SPI_tuptable;
	nt = SPI_processed;
	entries = palloc(sizeof(KeyEntry) * Max(nt, 1));
	dsts = palloc(sizeof(char **) * Max(nt, 1));
	for (uint64 i = 0; i < nt; i++)
	{
		dsts[i] = dst_texts(ct, tt->vals[i], tt->tupdesc);
		for (int k = 0; k < nk; k++)
			norm[k] = dsts[i][t->key_cols[k]];
		entries[i].key = key_json(ct, norm);
		entries[i].index = (int) i;
	}
	qsort(entries, nt, sizeof(KeyEntry), key_entry_cmp);
	/* a key the target holds twice (no unique index): the copies after the first are extra */
	for (uint64 i = 1; i < nt; i++)
	{
		if (strcmp(entries[i].key, entries[i - 1].key) != 0)
			continue;
		for (int k = 0; k < nk; k++)
			norm[k] = dsts[entries[i].index][t->key_cols[k]];
		if (in_sample(ct, norm))
			found_extra(f, ct, config, dsts[entries[i].index], cxt);
	}
	for (int j = 0; j < m; j++)
	{
		KeyEntry   *e = key_find(entries, (int) nt, keys[j]);

		CHECK_FOR_INTERRUPTS();
		if (e == NULL)
			found_missing(f, ct, config, b->rows[row_of[j]], cxt);
		else
			compare_rows(f, ct, config, b->rows[row_of[j]], tt->vals[e->index], tt->tupdesc, cxt);
	}
	pinned_spi_finish(nestlevel);
	MemoryContextSwitchTo(cxt);
	record_keys(task_id, t, keys, m);
}

/*
 * At the end of a looked-up table: its target rows whose key the check
 * did not compare at the source are extra.  Then its keys go.
 */
static void
lookup_extras(CheckFound *f, const CheckTable *ct, const TaskConfig *config, int64 task_id)
{
	const SourceTable *t = ct->table;
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext fetch_cxt;
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		args[3];

	if (ct->exists)
	{
		int			nestlevel = pinned_spi_connect();
		Portal		portal = SPI_cursor_open_with_args(NULL, psprintf("SELECT %s FROM %s", ct->select_list,
																	   sql_target(ct)),
													   0, NULL, NULL, NULL, true, 0);
		char	  **norm = palloc(sizeof(char *) * t->nkeys);

		MemoryContextSwitchTo(cxt);
		if (portal == NULL)
			elog(ERROR, "could not read %s", sql_target(ct));
		fetch_cxt = AllocSetContextCreate(cxt, "ape_resume check extras", ALLOCSET_DEFAULT_SIZES);
		for (;;)
		{
			SPITupleTable *tt;
			uint64		nt;
			char	 ***dst;
			char	  **keys;
			bool	   *sampled;
			bool	   *recorded;

			SPI_cursor_fetch(portal, true, CHECK_FETCH_ROWS);
			MemoryContextSwitchTo(cxt);
			tt = SPI_tuptable;
			nt = SPI_processed;
			if (nt == 0)
				break;
			MemoryContextSwitchTo(fetch_cxt);
			dst = palloc(sizeof(char **) * nt);
			keys = palloc(sizeof(char *) * nt);
			sampled = palloc(sizeof(bool) * nt);
			for (uint64 i = 0; i < nt; i++)
			{
				CHECK_FOR_INTERRUPTS();
				dst[i] = dst_texts(ct, tt->vals[i], tt->tupdesc);
				for (int k = 0; k < t->nkeys; k++)
					norm[k] = dst[i][t->key_cols[k]];
				keys[i] = key_json(ct, norm);
				sampled[i] = in_sample(ct, norm);
			}
			recorded = keys_recorded(task_id, t, keys, (int) nt);
			MemoryContextSwitchTo(fetch_cxt);
			for (uint64 i = 0; i < nt; i++)
				if (sampled[i] && !recorded[i])
					found_extra(f, ct, config, dst[i], cxt);
			MemoryContextSwitchTo(cxt);
			MemoryContextReset(fetch_cxt);
			SPI_freetuptable(tt);
		}
		SPI_cursor_close(portal);
		pinned_spi_finish(nestlevel);
		MemoryContextSwitchTo(cxt);
		MemoryContextDelete(fetch_cxt);
	}
	args[0] = Int64GetDatum(task_id);
	args[1] = CStringGetTextDatum(t->schema);
	args[2] = CStringGetTextDatum(t->tb);
	checkpoint_exec("DELETE FROM ape_resume.check_key WHERE task_id = $1 AND schema = $2 AND tb = $3",
					3, types, args, NULL, SPI_OK_DELETE);
}

/* ---------------------------------------------------------------------
 * Tables without a key: multisets
 * ---------------------------------------------------------------------
 */

/* The hash of a row, its values as the target's type's text. */
static uint64
row_hash(const CheckTable *ct, char **texts)
{
	uint64		h = 0;

	for (int i = 0; i < ct->table->ncolumns; i++)
	{
		/* a NULL: a seed of its own, no text can hash like it */
		if (texts[i] == NULL)
			h = hash_combine64(h, hash_bytes_uint32_extended((uint32) i, UINT64CONST(0x9e3779b97f4a7c15)));
		else
			h = hash_combine64(h, hash_bytes_extended((const unsigned char *) texts[i],
													  strlen(texts[i]), i));
	}
	return h;
}

static void
check_multiset(const SourceOps *ops, Source *source, const CheckTable *ct,
			   int64 *src_count, int64 *dst_count, bool *equal)
{
	const SourceTable *t = ct->table;
	char	  **values = palloc(sizeof(char *) * Max(t->ncolumns, 1));
	int		   *lengths = palloc(sizeof(int) * Max(t->ncolumns, 1));
	char	  **texts = palloc(sizeof(char *) * Max(t->ncolumns, 1));
	MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "ape_resume check row",
												  ALLOCSET_SMALL_SIZES);
	MemoryContext old;
	uint64		src_sum = 0;
	uint64		dst_sum = 0;

	*src_count = *dst_count = 0;
	ops->scan_begin(source, t, NULL, 0);
	while (ops->scan_next(source, values, lengths))
	{
		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(row_cxt);
		for (int i = 0; i < t->ncolumns; i++)
			texts[i] = values[i] == NULL ? NULL : !ct->exists ? pnstrdup(values[i], lengths[i])
				: dst_text(&ct->cols[i], src_datum(&ct->cols[i], pnstrdup(values[i], lengths[i])));
		src_sum += row_hash(ct, texts);
		(*src_count)++;
		MemoryContextSwitchTo(old);
		MemoryContextReset(row_cxt);
	}
	ops->scan_end(source);
	if (ct->exists)
	{
		int			nestlevel = pinned_spi_connect();
		Portal		portal = SPI_cursor_open_with_args(NULL, psprintf("SELECT %s FROM %s", ct->select_list,
																	   sql_target(ct)),
													   0, NULL, NULL, NULL, true, 0);

		if (portal == NULL)
			elog(ERROR, "could not read %s", sql_target(ct));
		for (;;)
		{
			SPI_cursor_fetch(portal, true, CHECK_FETCH_ROWS);
			if (SPI_processed == 0)
				break;
			for (uint64 r = 0; r < SPI_processed; r++)
			{
				CHECK_FOR_INTERRUPTS();
				old = MemoryContextSwitchTo(row_cxt);
				dst_sum += row_hash(ct, dst_texts(ct, SPI_tuptable->vals[r], SPI_tuptable->tupdesc));
				(*dst_count)++;
				MemoryContextSwitchTo(old);
				MemoryContextReset(row_cxt);
			}
			SPI_freetuptable(SPI_tuptable);
		}
		SPI_cursor_close(portal);
		pinned_spi_finish(nestlevel);
	}
	MemoryContextDelete(row_cxt);
	*equal = *src_count == *dst_count && src_sum == dst_sum;
}

/* ---------------------------------------------------------------------
 * The catalog
 * ---------------------------------------------------------------------
 */

/* The lines each log of the task still takes (the batch keeps no more). */
static void
log_room(int64 task_id, const TaskConfig *config, CheckFound *f)
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
static void
commit_found(int64 task_id, const TaskConfig *config, const SourceTable *table,
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

		log_room(task_id, config, &now);
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
 * A table's check
 * ---------------------------------------------------------------------
 */

bool
check_table(TaskRow *task, TaskConfig *config, const SourceOps *ops, Source *source,
			const SourceTable *table, ClaimedTable *claimed)
{
	MemoryContext batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "ape_resume check batch",
													ALLOCSET_DEFAULT_SIZES);
	MemoryContext old_cxt;
	char	  **value = order_key_copy(table->nkeys, claimed->value);
	CheckTable	ct;
	bool		finished = false;
	/* a chunk: the table's rows of its key range, at both sides */
	const SourceTable *scan = claimed->chunk > 0
		? chunk_source_table(table, claimed->lo, claimed->hi) : table;
	char	  **values = palloc(sizeof(char *) * Max(table->ncolumns, 1));
	int		   *lengths = palloc(sizeof(int) * Max(table->ncolumns, 1));

	claimed->table_done = false;
	task_xact_begin();
	check_table_init(&ct, config, scan, claimed->dst_schema, claimed->dst_tb);
	task_xact_commit();

	while (!finished)
	{
		CheckFound	found;
		SrcBatch	batch;
		const char *note = NULL;

		old_cxt = MemoryContextSwitchTo(batch_cxt);
		if (!task_batch_begin(task->id))
		{
			MemoryContextSwitchTo(old_cxt);
			MemoryContextDelete(batch_cxt);
			return false;
		}
		memset(&found, 0, sizeof(found));
		memset(&batch, 0, sizeof(batch));
		log_room(task->id, config, &found);
		if (table->nkeys == 0)
		{
			int64		src_count;
			int64		dst_count;
			bool		equal;

			check_multiset(ops, source, &ct, &src_count, &dst_count, &equal);
			found.compared = src_count;
			found.missing = Max(src_count - dst_count, 0);
			found.extra = Max(dst_count - src_count, 0);
			note = psprintf("no key: compared as multisets, %s (source " INT64_FORMAT " rows, target " INT64_FORMAT ")",
							equal ? "equal" : "different", src_count, dst_count);
			if (!equal && src_count == dst_count)
				found.different = 1;
			finished = true;
		}
		else
		{
			task_rate_batch(task->id, config);
			ops->scan_begin(source, scan, value, config->checkpoint_rows);
			while (batch.nrows < config->checkpoint_rows &&
				   ops->scan_next(source, values, lengths))
			{
				int64		bytes = 0;

				CHECK_FOR_INTERRUPTS();
				for (int k = 0; k < table->nkeys; k++)
					if (values[table->key_cols[k]] == NULL)
						order_key_null_error(table, k);
				src_batch_add(&batch, table->ncolumns, values, lengths);
				for (int i = 0; i < table->ncolumns; i++)
					bytes += values[i] ? lengths[i] : 0;
				task_rate_row(bytes);
			}
			ops->scan_end(source);
			finished = batch.nrows < config->checkpoint_rows;
			if (ct.lookup)
			{
				lookup_batch(&found, &ct, config, &batch, task->id);
				/* a chunked table's extra rows: when its last chunk ends, below */
				if (finished && claimed->chunk == 0)
					lookup_extras(&found, &ct, config, task->id);
			}
			else
				merge_batch(&found, &ct, config, &batch, value, finished);
		}
		MemoryContextSwitchTo(old_cxt);
		if (batch.nrows > 0)
		{
			char	  **last = batch.rows[batch.nrows - 1];

			order_key_free(table->nkeys, value);
			value = palloc(sizeof(char *) * table->nkeys);
			for (int k = 0; k < table->nkeys; k++)
				value[k] = pstrdup(last[table->key_cols[k]]);
		}
		MemoryContextSwitchTo(batch_cxt);
		if (claimed->chunk > 0)
		{
			char	  **mark;
			char	   *keys;

			claimed->table_done = chunk_commit(task->id, table, claimed->chunk, value,
											   found.compared, finished, &mark, &keys);
			/*
			 * The last chunk: the table's rows that no chunk's source had,
			 * read before the task's lock on its log lines is taken.
			 */
			if (claimed->table_done && ct.lookup)
				lookup_extras(&found, &ct, config, task->id);
			commit_found(task->id, config, table, &found, note);
		}
		else
		{
			commit_found(task->id, config, table, &found, note);
			checkpoint_commit_position(task->id, table, table->nkeys > 0 ? value : NULL,
									   found.compared, finished, false);
			claimed->table_done = finished;
		}
		task_xact_commit();
		MemoryContextSwitchTo(old_cxt);
		MemoryContextReset(batch_cxt);
		pgstat_report_activity(STATE_RUNNING, NULL);
	}
	if (claimed->table_done)
		task_log(config, "INFO", "checked table \"%s\".\"%s\"", table->schema, table->tb);
	else
		task_log(config, "INFO", "checked chunk %d of table \"%s\".\"%s\"", claimed->chunk,
				 table->schema, table->tb);
	MemoryContextDelete(batch_cxt);
	return true;
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
