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
 * Here: a table's check, the target's side, the merge.  check_lookup.c:
 * the keys looked up.  check_log.c: the log lines, their catalog rows and
 * the files.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "check.h"
#include "check_internal.h"
#include "chunk.h"
#include "order_key.h"
#include "privileges.h"
#include "task_run.h"

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
Datum
check_src_datum(const CheckCol *c, const char *text)
{
	/* the source's text is UTF-8, as COPY (ENCODING 'UTF8') takes it */
	char	   *server = pg_any_to_server(text, strlen(text), PG_UTF8);

	return InputFunctionCall((FmgrInfo *) &c->input, server, c->ioparam, c->typmod);
}

char *
check_dst_text(const CheckCol *c, Datum d)
{
	return OutputFunctionCall((FmgrInfo *) &c->output, d);
}

/* Is a row's key in the sample (sample_percent, by the hash of its key's text)? */
bool
check_in_sample(const CheckTable *ct, char **key_texts)
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
 * The merge of a batch
 * ---------------------------------------------------------------------
 */

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
char **
check_dst_texts(const CheckTable *ct, HeapTuple tup, TupleDesc desc)
{
	char	  **texts = palloc(sizeof(char *) * Max(ct->table->ncolumns, 1));

	for (int i = 0; i < ct->table->ncolumns; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(tup, desc, i + 1, &isnull);

		texts[i] = isnull ? NULL : check_dst_text(&ct->cols[i], d);
	}
	return texts;
}

/* Compare the columns of a source row and a target row of one key. */
void
check_compare_rows(CheckFound *f, const CheckTable *ct, const TaskConfig *config, char **src,
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
			differs[i] = !datum_image_eq(check_src_datum(c, src[i]), d, c->typbyval, c->typlen);
		any |= differs[i];
	}
	if (any)
		check_found_different(f, ct, config, src, check_dst_texts(ct, tup, desc), differs, cxt);
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
			if (!check_in_sample(ct, key))
				continue;
			f->compared++;
			check_found_missing(f, ct, config, b->rows[i], cxt);
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
		args[nargs++] = check_src_datum(c, v);
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
			args[nargs++] = check_src_datum(c, bound == 0 ? v[k] : v[t->key_cols[k]]);
		}
		appendStringInfoChar(&conds, ')');
	}
	if (!to_end && last == NULL)
		return;					/* no source row, more to come: nothing to merge */

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s FROM %s", ct->select_list, check_sql_target(ct));
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
		elog(ERROR, "could not read %s: %s", check_sql_target(ct), SPI_result_code_string(SPI_result));
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
				src_keys[k] = check_src_datum(&ct->cols[t->key_cols[k]], src[t->key_cols[k]]);
			src_keys_of = i;
		}
		/* what one step allocates goes with it; the lines kept are the batch's */
		MemoryContextSwitchTo(row_cxt);
		c = src == NULL ? 1 : tup == NULL ? -1 : key_cmp(ct, src_keys, tup, SPI_tuptable->tupdesc);
		if (c <= 0)
		{
			for (int k = 0; k < t->nkeys; k++)
				key[k] = ct->sample_percent < 100
					? check_dst_text(&ct->cols[t->key_cols[k]], src_keys[k]) : src[t->key_cols[k]];
			if (check_in_sample(ct, key))
			{
				f->compared++;
				if (c < 0)
					check_found_missing(f, ct, config, src, cxt);
				else
					check_compare_rows(f, ct, config, src, tup, SPI_tuptable->tupdesc, cxt);
			}
			i++;
		}
		else
		{
			char	  **dst = check_dst_texts(ct, tup, SPI_tuptable->tupdesc);

			for (int k = 0; k < t->nkeys; k++)
				key[k] = dst[t->key_cols[k]];
			if (check_in_sample(ct, key))
				check_found_extra(f, ct, config, dst, cxt);
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
				: check_dst_text(&ct->cols[i], check_src_datum(&ct->cols[i], pnstrdup(values[i], lengths[i])));
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
																	   check_sql_target(ct)),
													   0, NULL, NULL, NULL, true, 0);

		if (portal == NULL)
			elog(ERROR, "could not read %s", check_sql_target(ct));
		for (;;)
		{
			SPI_cursor_fetch(portal, true, CHECK_FETCH_ROWS);
			if (SPI_processed == 0)
				break;
			for (uint64 r = 0; r < SPI_processed; r++)
			{
				CHECK_FOR_INTERRUPTS();
				old = MemoryContextSwitchTo(row_cxt);
				dst_sum += row_hash(ct, check_dst_texts(ct, SPI_tuptable->vals[r], SPI_tuptable->tupdesc));
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
		check_log_room(task->id, config, &found);
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
				check_lookup_batch(&found, &ct, config, &batch, task->id);
				/* a chunked table's extra rows: when its last chunk ends, below */
				if (finished && claimed->chunk == 0)
					check_lookup_extras(&found, &ct, config, task->id);
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
				check_lookup_extras(&found, &ct, config, task->id);
			check_commit_found(task->id, config, table, &found, note);
		}
		else
		{
			check_commit_found(task->id, config, table, &found, note);
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

