/*-------------------------------------------------------------------------
 *
 * check_lookup.c
 *	  A check's tables whose key cannot be merged in order (text under
 *	  collations that differ between source and target, a Mongo _id, ...):
 *	  each batch's source rows are looked up at the target by key, the keys
 *	  compared kept in ape_resume.check_key with the batch, and the target's
 *	  rows whose key is not among them are the extra ones, found when the
 *	  table ends.  See check.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "check_internal.h"
#include "checkpoint.h"
#include "privileges.h"

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
		check_json_text(&buf, key_texts[k]);
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

		/* every row of that key (a key held twice is extra, once, by check_lookup_batch) */
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
void
check_lookup_batch(CheckFound *f, const CheckTable *ct, const TaskConfig *config, SrcBatch *b,
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

			karr[k][m] = ct->exists ? check_src_datum(c, v) : (Datum) 0;
			norm[k] = ct->exists ? check_dst_text(c, karr[k][m]) : (char *) v;
		}
		if (!check_in_sample(ct, norm))
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
			check_found_missing(f, ct, config, b->rows[row_of[j]], cxt);
		record_keys(task_id, t, keys, m);
		return;
	}

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s FROM %s WHERE ", ct->select_list, check_sql_target(ct));
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
					texts[j] = check_dst_text(c, karr[k][j]);
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
		elog(ERROR, "could not read %s", check_sql_target(ct));
	MemoryContextSwitchTo(cxt);
	tt = SPI_tuptable;
	nt = SPI_processed;
	entries = palloc(sizeof(KeyEntry) * Max(nt, 1));
	dsts = palloc(sizeof(char **) * Max(nt, 1));
	for (uint64 i = 0; i < nt; i++)
	{
		dsts[i] = check_dst_texts(ct, tt->vals[i], tt->tupdesc);
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
		if (check_in_sample(ct, norm))
			check_found_extra(f, ct, config, dsts[entries[i].index], cxt);
	}
	for (int j = 0; j < m; j++)
	{
		KeyEntry   *e = key_find(entries, (int) nt, keys[j]);

		CHECK_FOR_INTERRUPTS();
		if (e == NULL)
			check_found_missing(f, ct, config, b->rows[row_of[j]], cxt);
		else
			check_compare_rows(f, ct, config, b->rows[row_of[j]], tt->vals[e->index], tt->tupdesc, cxt);
	}
	pinned_spi_finish(nestlevel);
	MemoryContextSwitchTo(cxt);
	record_keys(task_id, t, keys, m);
}

/*
 * At the end of a looked-up table: its target rows whose key the check
 * did not compare at the source are extra.  Then its keys go.
 */
void
check_lookup_extras(CheckFound *f, const CheckTable *ct, const TaskConfig *config, int64 task_id)
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
																	   check_sql_target(ct)),
													   0, NULL, NULL, NULL, true, 0);
		char	  **norm = palloc(sizeof(char *) * t->nkeys);

		MemoryContextSwitchTo(cxt);
		if (portal == NULL)
			elog(ERROR, "could not read %s", check_sql_target(ct));
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
				dst[i] = check_dst_texts(ct, tt->vals[i], tt->tupdesc);
				for (int k = 0; k < t->nkeys; k++)
					norm[k] = dst[i][t->key_cols[k]];
				keys[i] = key_json(ct, norm);
				sampled[i] = check_in_sample(ct, norm);
			}
			recorded = keys_recorded(task_id, t, keys, (int) nt);
			MemoryContextSwitchTo(fetch_cxt);
			for (uint64 i = 0; i < nt; i++)
				if (sampled[i] && !recorded[i])
					check_found_extra(f, ct, config, dst[i], cxt);
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
