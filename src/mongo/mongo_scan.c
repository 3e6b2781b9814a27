/*-------------------------------------------------------------------------
 *
 * mongo_scan.c
 *	  The MongoDB source's scans: one sorted cursor a collection, read on
 *	  across batches, each document checked and converted for the target
 *	  columns; and mongo_source_ops, the only name seen outside src/mongo/.
 *
 * See mongo_internal.h for how the MongoDB source works as a whole.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "mongo_internal.h"

/* Close the open stream. */
static void
stream_close(Source *s)
{
	if (s->cursor)
		mongoc_cursor_destroy(s->cursor);
	s->cursor = NULL;
	if (s->coll)
		mongoc_collection_destroy(s->coll);
	s->coll = NULL;
	s->stream_open = false;
	s->cursor_done = false;
	s->end_checked = false;
	s->from_start = false;
	s->stream_rows = 0;
	s->skip_numbers = false;
	s->have_last = false;
	bson_reinit(&s->last_id);
	if (s->last_position)
		pfree(s->last_position);
	s->last_position = NULL;
}

/*
 * Did a stream that began at the collection's start return as many
 * documents as the collection holds?  Asked on FerretDB only, where the
 * query after the last document that checks an end scans the whole
 * collection (it filters nothing but equality in SQLite); collStats counts
 * cheaply there.  On MongoDB that query is one index seek.
 */
static bool
stream_complete(Source *s)
{
	int64		n;

	if (!s->is_ferretdb || !s->from_start)
		return false;
	s->meta_db = mongoc_client_get_database(s->client, s->schema);
	n = mongo_collection_count(s, s->tb);
	mongoc_database_destroy(s->meta_db);
	s->meta_db = NULL;
	/* 0: empty, or dropped meanwhile: the query after the end tells which */
	return n > 0 && s->stream_rows >= n;
}

/*
 * Open the sorted query of the stream's collection after s->last_id, or
 * from its start without one.
 */
static void
stream_query(Source *s)
{
	bson_t		filter;
	bson_t		opts;
	bson_t		sort;
	bool		collated;

	/* first what may raise an ERROR: the bson documents below are malloc'd */
	collated = mongo_is_collated(s);
	if (s->cursor)
		mongoc_cursor_destroy(s->cursor);
	s->cursor = NULL;
	s->skip_numbers = false;
	if (s->have_last)
	{
		if (!mongo_build_resume_filter(s, &filter))
		{
			s->cursor_done = true;
			return;
		}
	}
	else
		bson_init(&filter);
	bson_init(&opts);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "_id", 1);
	bson_append_document_end(&opts, &sort);
	if (s->batch_size > 0)
		BSON_APPEND_INT32(&opts, "batchSize", s->batch_size);
	if (collated)
	{
		bson_t		collation;

		/* _ids in bytewise order, as the worker compares them */
		BSON_APPEND_DOCUMENT_BEGIN(&opts, "collation", &collation);
		BSON_APPEND_UTF8(&collation, "locale", "simple");
		bson_append_document_end(&opts, &collation);
		/* the _id index has the other collation: the sort may need disk */
		BSON_APPEND_BOOL(&opts, "allowDiskUse", true);
	}
	if (s->coll == NULL)
		s->coll = mongoc_client_get_collection(s->client, s->schema, s->tb);
	s->cursor = mongoc_collection_find_with_opts(s->coll, &filter, &opts, NULL);
	bson_destroy(&opts);
	bson_destroy(&filter);
}

/*
 * Start a batch of a collection's documents in _id order after the
 * position after (one value: _id), at most limit.  When after is where the
 * open stream of this collection stopped, the batch goes on reading that
 * cursor; otherwise a new sorted query starts after it.
 */
static void
mongo_source_scan_begin(Source *s, const SourceTable *t, char *const *after,
						int64 limit)
{
	MemoryContext old;
	int			i;
	bool		same_stream;
	const char *after_value = after ? after[0] : NULL;

	if (s->scanning)
		elog(ERROR, "a MongoDB scan is already in progress");
	if (t->nkeys != 1)
		elog(ERROR, "collection \"%s\".\"%s\" has no _id column", t->schema, t->tb);

	same_stream = s->stream_open && after_value != NULL && s->have_last &&
		strcmp(s->schema, t->schema) == 0 && strcmp(s->tb, t->tb) == 0 &&
		strcmp(after_value, mongo_position_text(s)) == 0;

	old = MemoryContextSwitchTo(s->cxt);
	if (!same_stream)
	{
		stream_close(s);
		if (s->schema)
			pfree(s->schema);
		if (s->tb)
			pfree(s->tb);
		s->schema = pstrdup(t->schema);
		s->tb = pstrdup(t->tb);
		if (after_value)
		{
			mongo_parse_position(s, t, after_value);
			s->last_position = pstrdup(after_value);
		}
		mongo_check_collection_exists(s);
		stream_query(s);
		s->stream_open = true;
		s->from_start = after_value == NULL;
	}

	/* how each target column is filled */
	if (s->cols)
	{
		for (i = 0; i < s->ncols; i++)
			if (s->cols[i].field)
				pfree(s->cols[i].field);
		pfree(s->cols);
	}
	if (s->offsets)
		pfree(s->offsets);
	s->ncols = t->ncolumns;
	s->cols = palloc0(sizeof(ColConv) * Max(t->ncolumns, 1));
	s->offsets = palloc0(sizeof(int) * Max(t->ncolumns, 1));
	for (i = 0; i < t->ncolumns; i++)
	{
		const char *name = t->columns[i].name;
		const char *type = t->columns[i].pg_type;
		ColConv    *c = &s->cols[i];

		if (strcmp(type, "jsonb") == 0 || strcmp(type, "json") == 0)
			c->kind = CK_JSON;
		else if (strcmp(type, "bytea") == 0)
			c->kind = CK_BYTEA;
		else if (strcmp(type, "uuid") == 0)
			c->kind = CK_UUID;
		else if (strncmp(type, "timestamp", 9) == 0)
			c->kind = strstr(type, "with time zone") ? CK_TSTZ : CK_TS;
		else if (strcmp(type, "date") == 0)
			c->kind = CK_DATE;
		else
			c->kind = CK_TEXT;
		if (i == t->key_cols[0])
			c->from = CF_ID;
		else if (strcmp(name, "doc") == 0 && c->kind == CK_JSON)
			c->from = CF_DOC;
		else
		{
			c->from = CF_FIELD;
			c->field = pstrdup(name);
		}
	}
	MemoryContextSwitchTo(old);
	s->scanning = true;
	s->scan_limit = limit;
	s->scan_rows = 0;
}

/* ERROR for a document the server sent that is not what it should be. */
static void
bad_document(Source *s, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("MongoDB server \"%s\" returned an invalid document for collection \"%s\".\"%s\": %s",
					s->server, s->schema, s->tb, detail)));
}

/*
 * Next document, converted for the target columns.  The values point into
 * memory of the row context, reset at the next call.
 */
static bool
mongo_source_scan_next(Source *s, char **values, int *lengths)
{
	const bson_t *doc;
	bson_error_t error;
	bson_iter_t id;
	bson_iter_t last;
	size_t		err_offset;
	MemoryContext old;
	StringInfo	buf;
	JsonOut		o;
	int			i;

	CHECK_FOR_INTERRUPTS();
	if (!s->scanning)
		elog(ERROR, "no MongoDB scan in progress");
	if (s->scan_limit > 0 && s->scan_rows >= s->scan_limit)
		return false;

	for (;;)
	{
		if (s->cursor_done)
			return false;
		if (!mongoc_cursor_next(s->cursor, &doc))
		{
			if (mongoc_cursor_error(s->cursor, &error))
				mongo_error_report(s, psprintf("reading collection \"%s\".\"%s\"", s->schema, s->tb),
								   &error);
			if (s->end_checked || stream_complete(s))
			{
				s->cursor_done = true;
				return false;
			}

			/*
			 * The server says this is the end.  A cursor it killed may end
			 * like this too (FerretDB does, racing with a getMore): make
			 * sure, with the collection still there and a query after the
			 * last document that finds nothing.
			 */
			s->end_checked = true;
			mongo_check_collection_exists(s);
			stream_query(s);
			continue;
		}
		if (s->end_checked)
		{
			s->end_checked = false;
			ereport(WARNING,
					(errmsg("the cursor of collection \"%s\".\"%s\" on MongoDB server \"%s\" ended early, "
							"after _id %s; reading on from there",
							s->schema, s->tb, s->server, s->have_last ? mongo_position_text(s) : "(none)")));
		}
		MemoryContextReset(s->row_cxt);
		s->cur_doc = NULL;
		if (!bson_validate(doc, BSON_VALIDATE_NONE, &err_offset))
			bad_document(s, psprintf("the BSON is corrupt at byte %zu", err_offset));
		if (!bson_iter_init_find(&id, doc, "_id"))
			bad_document(s, "a document has no _id");
		s->cur_doc = doc;

		/* FerretDB after a Decimal128: the numbers up to it were read too */
		if (s->skip_numbers)
		{
			if (mongo_type_rank(bson_iter_type(&id)) == 3)
			{
				old = MemoryContextSwitchTo(s->row_cxt);
				if (mongo_number_at_most(&id, s->skip_upto))
				{
					MemoryContextSwitchTo(old);
					CHECK_FOR_INTERRUPTS();
					continue;
				}
				MemoryContextSwitchTo(old);
			}
			s->skip_numbers = false;
		}
		break;
	}

	/* what a resume builds on: _id strictly ascending */
	if (s->have_last && bson_iter_init_find(&last, &s->last_id, "_id"))
	{
		int			c = mongo_compare_ids(&last, &id);

		if (c == 0 || c == 1)
		{
			old = MemoryContextSwitchTo(s->row_cxt);
			bad_document(s, psprintf("_id %s came after _id position %s, out of _id order "
									 "(a resume could skip or repeat documents)",
									 mongo_message_id(s), mongo_position_text(s)));
		}
	}
	s->stream_rows++;
	bson_reinit(&s->last_id);
	if (!bson_append_iter(&s->last_id, "_id", 3, &id))
		elog(ERROR, "could not keep the _id of a MongoDB document");
	s->have_last = true;
	if (s->last_position)
		pfree(s->last_position);
	s->last_position = NULL;

	old = MemoryContextSwitchTo(s->row_cxt);
	buf = makeStringInfo();
	memset(&o, 0, sizeof(o));
	o.buf = buf;
	o.s = s;
	for (i = 0; i < s->ncols; i++)
	{
		ColConv    *c = &s->cols[i];
		bson_iter_t it;
		bool		has_value = true;

		s->offsets[i] = buf->len;
		o.depth = 0;
		switch (c->from)
		{
			case CF_ID:
				o.path[1] = "_id";
				o.depth = 1;
				has_value = mongo_append_typed_value(&o, &id, c->kind);
				o.depth = 0;
				break;
			case CF_DOC:
				mongo_append_json_top(&o, doc);
				break;
			case CF_FIELD:
				if (!bson_iter_init_find(&it, doc, c->field))
					has_value = false;
				else
				{
					o.path[1] = c->field;
					o.depth = 1;
					has_value = mongo_append_typed_value(&o, &it, c->kind);
					o.depth = 0;
				}
				break;
		}
		if (!has_value)
		{
			buf->len = s->offsets[i];
			buf->data[buf->len] = '\0';
			s->offsets[i] = -1;
			lengths[i] = 0;
			continue;
		}
		lengths[i] = buf->len - s->offsets[i];
		appendStringInfoChar(buf, '\0');
	}
	/* the buffer is complete: point into it */
	for (i = 0; i < s->ncols; i++)
		values[i] = s->offsets[i] >= 0 ? buf->data + s->offsets[i] : NULL;
	MemoryContextSwitchTo(old);
	s->scan_rows++;
	return true;
}

/*
 * End a batch.  The cursor stays open for the next batch of the
 * collection; an exhausted one is closed on the server already.
 */
static void
mongo_source_scan_end(Source *s)
{
	s->scanning = false;
	s->cur_doc = NULL;
	if (s->cursor_done && s->cursor)
	{
		mongoc_cursor_destroy(s->cursor);
		s->cursor = NULL;
	}
}

/* The position of the last document returned (see mongo_position_text). */
static char *
mongo_source_position_value(Source *s, const SourceTable *t, int k, const char *value,
							int length)
{
	return pstrdup(mongo_position_text(s));
}

const SourceOps mongo_source_ops = {
	.connect = mongo_source_connect,
	.list_tables = mongo_source_list_tables,
	.scan_begin = mongo_source_scan_begin,
	.scan_next = mongo_source_scan_next,
	.scan_end = mongo_source_scan_end,
	.position_value = mongo_source_position_value,
	.list_structures = mongo_source_list_structures,
};
