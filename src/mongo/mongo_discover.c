/*-------------------------------------------------------------------------
 *
 * mongo_discover.c
 *	  The MongoDB source's discovery: list the databases and collections
 *	  a filter selects, their document counts and default collations, and
 *	  look a collection up again while it is being copied.
 *
 * See mongo_internal.h for how the MongoDB source works as a whole.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "mongo_internal.h"

/* Whether a collection has a default collation other than simple. */
typedef struct CollationInfo
{
	char	   *db;
	char	   *coll;
	bool		collated;
} CollationInfo;

static void remember_collation(Source *s, const char *db, const char *coll, bool collated);

/* ERROR for a name from the server that PostgreSQL cannot hold. */
static void
check_name(const char *name, size_t len, const char *what, const char *db)
{
	if (len == 0 || memchr(name, '\0', len) != NULL ||
		!pg_verify_mbstr(PG_UTF8, name, (int) len, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("MongoDB server returned an invalid %s name%s%s%s",
						what, db ? " in database \"" : "", db ? db : "", db ? "\"" : ""),
				 errdetail("Names must be non-empty UTF-8 text.")));
}

/* A collection as a table: (_id jsonb primary key, doc jsonb not null). */
static SourceTable *
collection_table(const char *db, const char *name)
{
	SourceTable *t = palloc0(sizeof(SourceTable));

	t->schema = pstrdup(db);
	t->tb = pstrdup(name);
	t->ncolumns = 2;
	t->columns = palloc0(sizeof(SourceColumn) * 2);
	t->columns[0].name = pstrdup("_id");
	t->columns[0].pg_type = "jsonb";
	t->columns[0].source_type = "BSON value";
	t->columns[0].not_null = true;
	t->columns[1].name = pstrdup("doc");
	t->columns[1].pg_type = "jsonb";
	t->columns[1].source_type = "BSON document";
	t->columns[1].not_null = true;
	/* _id orders the copy */
	t->nkeys = 1;
	t->key_cols = palloc(sizeof(int));
	t->key_cols[0] = 0;
	t->primary_key = list_make1(t->columns[0].name);
	t->unique_keys = NIL;
	t->rows_estimated = -1;
	t->bytes_estimated = -1;
	t->columns_from_target = true;
	return t;
}

/*
 * The document count of a collection from collStats (metadata only, also
 * on FerretDB, where a count scans the collection), -1 if unknown.
 */
int64
mongo_collection_count(Source *s, const char *name)
{
	bson_t		cmd;
	bson_t		reply;
	bson_error_t error;
	bson_iter_t it;
	int64		n = -1;

	bson_init(&cmd);
	BSON_APPEND_UTF8(&cmd, "collStats", name);
	if (mongoc_database_command_simple(s->meta_db, &cmd, NULL, &reply, &error) &&
		bson_iter_init_find(&it, &reply, "count") && BSON_ITER_HOLDS_NUMBER(&it))
		n = bson_iter_as_int64(&it);
	bson_destroy(&reply);
	bson_destroy(&cmd);
	return n < 0 ? -1 : n;
}

/*
 * Does a listCollections entry show a default collation other than simple?
 * The server then sorts string _ids by it, unless a find asks for the
 * simple collation.
 */
static bool
has_default_collation(const bson_t *info)
{
	bson_iter_t it;
	bson_iter_t locale;

	if (!bson_iter_init(&it, info) ||
		!bson_iter_find_descendant(&it, "options.collation.locale", &locale))
		return false;
	return !(BSON_ITER_HOLDS_UTF8(&locale) &&
			 strcmp(bson_iter_utf8(&locale, NULL), "simple") == 0);
}

/* The collections of one database that the filter selects. */
static List *
list_collections(Source *s, const char *db, const NameFilter *filter)
{
	List	   *tables = NIL;
	const bson_t *info;
	bson_error_t error;
	ListCell   *lc;

	s->meta_db = mongoc_client_get_database(s->client, db);
	s->meta_cursor = mongoc_database_find_collections_with_opts(s->meta_db, NULL);
	while (mongoc_cursor_next(s->meta_cursor, &info))
	{
		bson_iter_t it;
		const char *name;
		uint32_t	len;

		CHECK_FOR_INTERRUPTS();
		if (!bson_iter_init_find(&it, info, "name") || !BSON_ITER_HOLDS_UTF8(&it))
			continue;
		name = bson_iter_utf8(&it, &len);
		check_name(name, len, "collection", db);
		/* views and time series are not plain collections */
		if (bson_iter_init_find(&it, info, "type") && BSON_ITER_HOLDS_UTF8(&it) &&
			strcmp(bson_iter_utf8(&it, NULL), "collection") != 0)
			continue;
		if (strncmp(name, "system.", 7) == 0)
			continue;
		if (!name_filter_wants_table(filter, db, name))
			continue;
		tables = lappend(tables, collection_table(db, name));
		remember_collation(s, db, name, has_default_collation(info));
	}
	if (mongoc_cursor_error(s->meta_cursor, &error))
		mongo_error_report(s, psprintf("listing the collections of database \"%s\"", db),
						   &error);
	mongoc_cursor_destroy(s->meta_cursor);
	s->meta_cursor = NULL;

	foreach(lc, tables)
	{
		SourceTable *t = lfirst(lc);

		CHECK_FOR_INTERRUPTS();
		t->rows_estimated = mongo_collection_count(s, t->tb);
	}
	mongoc_database_destroy(s->meta_db);
	s->meta_db = NULL;
	return tables;
}

/*
 * The collections of the user databases that the filter selects, sorted
 * by (database, collection).  admin, local and config, and system.*
 * collections, are never copied.  kept is not needed: the order key of a
 * collection is always _id.
 */
List *
mongo_source_list_tables(Source *s, const NameFilter *filter, const List *kept)
{
	bson_error_t error;
	List	   *dbs = NIL;
	List	   *tables = NIL;
	ListCell   *lc;
	int			i;

	s->meta_names = mongoc_client_get_database_names_with_opts(s->client, NULL, &error);
	if (s->meta_names == NULL)
		mongo_error_report(s, "listing databases", &error);
	for (i = 0; s->meta_names[i] != NULL; i++)
	{
		const char *db = s->meta_names[i];

		check_name(db, strlen(db), "database", NULL);
		if (strcmp(db, "admin") == 0 || strcmp(db, "local") == 0 ||
			strcmp(db, "config") == 0)
			continue;
		if (name_filter_wants_db(filter, db))
			dbs = lappend(dbs, pstrdup(db));
	}
	bson_strfreev(s->meta_names);
	s->meta_names = NULL;

	foreach(lc, dbs)
		tables = list_concat(tables, list_collections(s, lfirst(lc), filter));
	list_sort(tables, source_table_cmp);
	return tables;
}

/* Does the collection exist (now)? */
static bool
collection_exists(Source *s, const char *db, const char *name)
{
	bson_t		opts;
	bson_t		filter;
	const bson_t *info;
	bson_error_t error;
	bool		found = false;

	s->meta_db = mongoc_client_get_database(s->client, db);
	bson_init(&opts);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "filter", &filter);
	BSON_APPEND_UTF8(&filter, "name", name);
	bson_append_document_end(&opts, &filter);
	s->meta_cursor = mongoc_database_find_collections_with_opts(s->meta_db, &opts);
	bson_destroy(&opts);
	while (mongoc_cursor_next(s->meta_cursor, &info))
		found = true;
	if (mongoc_cursor_error(s->meta_cursor, &error))
		mongo_error_report(s, psprintf("looking up collection \"%s\".\"%s\"", db, name), &error);
	mongoc_cursor_destroy(s->meta_cursor);
	s->meta_cursor = NULL;
	mongoc_database_destroy(s->meta_db);
	s->meta_db = NULL;
	return found;
}

/* ERROR unless the collection of the stream exists. */
void
mongo_check_collection_exists(Source *s)
{
	if (!collection_exists(s, s->schema, s->tb))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("collection \"%s\".\"%s\" does not exist on MongoDB server \"%s\"",
						s->schema, s->tb, s->server),
				 errdetail("It was listed when the task started; it may have been dropped since.")));
}

static void
remember_collation(Source *s, const char *db, const char *coll, bool collated)
{
	MemoryContext old = MemoryContextSwitchTo(s->cxt);
	CollationInfo *c = palloc(sizeof(CollationInfo));

	c->db = pstrdup(db);
	c->coll = pstrdup(coll);
	c->collated = collated;
	s->collations = lappend(s->collations, c);
	MemoryContextSwitchTo(old);
}

/*
 * Has the collection being scanned a default collation (see
 * has_default_collation)?  Known from the listing, or asked of the server
 * (a connection made again after the source was lost has listed nothing).
 */
bool
mongo_is_collated(Source *s)
{
	ListCell   *lc;
	mongoc_database_t *db;
	mongoc_cursor_t *cursor;
	const bson_t *info;
	bson_error_t error;
	bson_t		opts;
	bson_t		filter;
	bool		collated = false;

	foreach(lc, s->collations)
	{
		CollationInfo *c = lfirst(lc);

		if (strcmp(c->db, s->schema) == 0 && strcmp(c->coll, s->tb) == 0)
			return c->collated;
	}
	bson_init(&opts);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "filter", &filter);
	BSON_APPEND_UTF8(&filter, "name", s->tb);
	bson_append_document_end(&opts, &filter);
	db = mongoc_client_get_database(s->client, s->schema);
	cursor = mongoc_database_find_collections_with_opts(db, &opts);
	bson_destroy(&opts);
	while (mongoc_cursor_next(cursor, &info))
		collated = collated || has_default_collation(info);
	if (mongoc_cursor_error(cursor, &error))
	{
		mongoc_cursor_destroy(cursor);
		mongoc_database_destroy(db);
		mongo_error_report(s, psprintf("reading the options of collection \"%s\".\"%s\"",
									   s->schema, s->tb), &error);
	}
	mongoc_cursor_destroy(cursor);
	mongoc_database_destroy(db);
	remember_collation(s, s->schema, s->tb, collated);
	return collated;
}
