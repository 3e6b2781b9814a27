/*-------------------------------------------------------------------------
 *
 * mongo_source.c
 *	  The MongoDB source: connect with libmongoc, discover collections, and
 *	  stream each collection's documents in _id order, one sorted cursor a
 *	  collection, as relaxed extended JSON.
 *
 * This is the only file that includes libmongoc / libbson headers.  Every
 * client-library return value is checked; the client, any open cursor and
 * any metadata handle are released by a memory context callback, so an
 * ERROR anywhere leaks nothing.  Every document from the server is
 * validated before it is read, and nothing in it is trusted.
 *
 * A collection becomes the table (_id jsonb primary key, doc jsonb not
 * null).  An existing target table decides the columns instead (see
 * columns_from_target in source.h): _id gets the _id, a json/jsonb column
 * named doc the whole document, any other column the top-level field of
 * its name.  Values, as JSON (relaxed extended JSON, every BSON type
 * recoverable):
 *
 *	BSON						JSON
 *	--------------------------	------------------------------------------
 *	double						a number with a point or exponent digits
 *								written out (2.0, 0.001), so it stays a
 *								double; NaN, Infinity, -Infinity, -0.0 as
 *								{"$numberDouble":"..."}
 *	int32						a number
 *	int64						a number; beyond +-2^53 {"$numberLong":"..."}
 *	decimal128					{"$numberDecimal":"..."}
 *	string						a string (a NUL character is an ERROR:
 *								PostgreSQL cannot store it)
 *	document, array				object, array (jsonb orders keys its own
 *								way; a key twice in one document is an
 *								ERROR, jsonb would keep one)
 *	binary						{"$binary":{"base64":"...","subType":"hh"}}
 *	ObjectId					{"$oid":"<24 hex>"}
 *	bool, null					true / false, null
 *	date						{"$date":"2024-01-02T03:04:05.678Z"} for
 *								years 1970..9999, else
 *								{"$date":{"$numberLong":"<ms>"}}
 *	timestamp					{"$timestamp":{"t":<u32>,"i":<u32>}}
 *	regex						{"$regularExpression":{"pattern":..,"options":..}}
 *	symbol, code, code w/scope	{"$symbol":..}, {"$code":..}, {"$code":..,"$scope":{..}}
 *	dbPointer, undefined		{"$dbPointer":{"$ref":..,"$id":{"$oid":..}}}, {"$undefined":true}
 *	MinKey, MaxKey				{"$minKey":1}, {"$maxKey":1}
 *
 * Order and positions.  Documents are read sorted by _id, which MongoDB
 * orders across types (MinKey, undefined, null, numbers, strings and
 * symbols, objects, arrays, binData, ObjectId, bool, date, timestamp,
 * regex, dbPointer, code, code w/scope, MaxKey).  A query after a value v
 * is {$or: [{_id: {$gt: v}}, {_id: {$type: [the later types]}}]}, because
 * $gt only matches v's own type bracket.  One cursor streams a whole
 * collection: a batch that starts where the previous one ended goes on
 * reading it, and only a resume elsewhere issues a new query.  When the
 * server ends a cursor, a query after the last document makes sure nothing
 * follows (FerretDB ends a cursor killed during a getMore as if it were
 * done); documents out of _id order are an ERROR.  A position
 * is written as 24 hex digits for an ObjectId and as ape-dts's tagged JSON
 * otherwise ({"String":"b"}, {"Int32":2}, {"Int64":2},
 * {"CanonicalExtJson":{...}}); both are read back.
 *
 * FerretDB (the test bed's server) closes the connection when a query
 * holds a value of a type it cannot store (Decimal128, MinKey, MaxKey,
 * NaN, code, ...) and rejects their $type codes; such values cannot be in
 * its collections, so against FerretDB they are left out of queries (a
 * Decimal128 position reads the numbers and skips those up to it here).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include <mongoc/mongoc.h>

#include "common/base64.h"
#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "config.h"
#include "source.h"

/* Defaults unless the URL sets them: fail fast on an unreachable server. */
#define MONGO_SERVER_SELECTION_TIMEOUT_MS 5000
#define MONGO_CONNECT_TIMEOUT_MS 5000

/* Deepest nesting of documents and arrays read (MongoDB allows 100). */
#define MONGO_MAX_DEPTH 200

/* Longest _id shown in a message, in bytes. */
#define MONGO_MESSAGE_ID_LEN 200

/* How a target column's value is rendered. */
typedef enum ColKind
{
	CK_JSON,					/* json, jsonb: relaxed extended JSON */
	CK_TEXT,					/* anything else: plain text of a scalar */
	CK_BYTEA,					/* binary as \x hex */
	CK_UUID,					/* binary subtype 3 or 4 as a UUID */
	CK_TSTZ,					/* a date as timestamp with time zone */
	CK_TS,						/* a date as timestamp in UTC */
	CK_DATE						/* a date as its UTC day */
} ColKind;

/* Where a target column's value comes from. */
typedef enum ColFrom
{
	CF_ID,						/* the _id */
	CF_DOC,						/* the whole document */
	CF_FIELD					/* the top-level field of the column's name */
} ColFrom;

typedef struct ColConv
{
	ColFrom		from;
	ColKind		kind;
	char	   *field;
} ColConv;

/* Whether a collection has a default collation other than simple. */
typedef struct CollationInfo
{
	char	   *db;
	char	   *coll;
	bool		collated;
} CollationInfo;

static void remember_collation(Source *s, const char *db, const char *coll, bool collated);

struct Source
{
	MemoryContext cxt;			/* holds this struct and the scan state */
	MemoryContextCallback callback;
	mongoc_uri_t *uri;
	mongoc_client_t *client;
	char	   *server;			/* host:port list, for messages */
	char	   *password;		/* scrubbed from messages; NULL if none */
	char	   *raw_password;	/* as the URL spells it */
	bool		is_ferretdb;
	List	   *collations;		/* CollationInfo of the collections seen */
	int32		batch_size;		/* documents per getMore */

	/* metadata handles, released by the callback on ERROR */
	char	  **meta_names;
	mongoc_database_t *meta_db;
	mongoc_cursor_t *meta_cursor;

	/* the open stream of one collection */
	char	   *schema;
	char	   *tb;
	mongoc_collection_t *coll;
	mongoc_cursor_t *cursor;
	bool		stream_open;	/* schema/tb name an open stream */
	bool		cursor_done;	/* the stream has no more documents */
	bool		end_checked;	/* its end is being checked by a new query */
	bool		from_start;		/* the stream began at the collection's start */
	int64		stream_rows;	/* documents it returned */
	bson_t		last_id;		/* {"_id": the last _id returned or resumed after} */
	bool		have_last;
	char	   *last_position;	/* its position text, NULL until asked for */
	bool		skip_numbers;	/* FerretDB, after a Decimal128: skip numbers <= skip_upto */
	Datum		skip_upto;		/* numeric */

	/* the current scan */
	bool		scanning;
	int64		scan_limit;
	int64		scan_rows;
	int			ncols;
	ColConv    *cols;
	int		   *offsets;
	MemoryContext row_cxt;		/* reset for every document */
	const bson_t *cur_doc;		/* the document being converted, for messages */
};

/* JSON output state. */
typedef struct JsonOut
{
	StringInfo	buf;
	bool		canonical;		/* canonical extended JSON, else relaxed */
	bool		lenient;		/* for messages: escape, never fail */
	Source	   *s;				/* collection and document, for messages */
	int			depth;
	const char *path[MONGO_MAX_DEPTH + 1];	/* keys down to the value */
} JsonOut;

static void append_json_value(JsonOut *o, const bson_iter_t *it);
static void append_json_document(JsonOut *o, const bson_iter_t *it, bool array);
static void append_json_elements(JsonOut *o, bson_iter_t *child, bool array);
static char *position_text(Source *s);

static bool mongoc_initialized = false;

/*
 * libmongoc's own log lines (warnings about the server and the like) go to
 * the server's stderr, never through ereport, which could longjmp out of
 * the library.  Debug and trace levels are dropped.
 */
static void
mongo_log_handler(mongoc_log_level_t level, const char *domain,
				  const char *message, void *user_data)
{
	if (level <= MONGOC_LOG_LEVEL_WARNING)
		write_stderr("ape_resume: libmongoc %s: %s: %s\n",
					 mongoc_log_level_str(level), domain, message);
}

/*
 * Memory context reset callback: destroy cursors, handles and the client,
 * in that order (a cursor still open is killed on the server).
 */
static void
mongo_source_release(void *arg)
{
	Source	   *s = (Source *) arg;

	if (s->meta_cursor)
		mongoc_cursor_destroy(s->meta_cursor);
	s->meta_cursor = NULL;
	if (s->meta_db)
		mongoc_database_destroy(s->meta_db);
	s->meta_db = NULL;
	if (s->meta_names)
		bson_strfreev(s->meta_names);
	s->meta_names = NULL;
	if (s->cursor)
		mongoc_cursor_destroy(s->cursor);
	s->cursor = NULL;
	if (s->coll)
		mongoc_collection_destroy(s->coll);
	s->coll = NULL;
	if (s->client)
		mongoc_client_destroy(s->client);
	s->client = NULL;
	if (s->uri)
		mongoc_uri_destroy(s->uri);
	s->uri = NULL;
	bson_destroy(&s->last_id);
}

/* A message from the client library with any password replaced. */
static char *
scrub(const Source *s, const char *msg)
{
	const char *secrets[2];
	char	   *out = pstrdup(msg);
	int			i;

	secrets[0] = s ? s->password : NULL;
	secrets[1] = s ? s->raw_password : NULL;
	for (i = 0; i < 2; i++)
	{
		StringInfoData buf;
		const char *p;
		const char *hit;
		size_t		n;

		if (secrets[i] == NULL || (n = strlen(secrets[i])) == 0)
			continue;
		initStringInfo(&buf);
		for (p = out; (hit = strstr(p, secrets[i])) != NULL; p = hit + n)
		{
			appendBinaryStringInfo(&buf, p, hit - p);
			appendStringInfoString(&buf, "*****");
		}
		appendStringInfoString(&buf, p);
		out = buf.data;
	}
	return out;
}

/* Is this error a lost server, connection or server-side cursor? */
static bool
is_connection_error(const bson_error_t *error)
{
	if (error->domain == MONGOC_ERROR_STREAM ||
		error->domain == MONGOC_ERROR_SERVER_SELECTION ||
		error->domain == MONGOC_ERROR_PROTOCOL)
		return true;
	if (error->domain == MONGOC_ERROR_SERVER || error->domain == MONGOC_ERROR_QUERY)
	{
		switch (error->code)
		{
			case 6:				/* HostUnreachable */
			case 7:				/* HostNotFound */
			case 43:			/* CursorNotFound */
			case 89:			/* NetworkTimeout */
			case 91:			/* ShutdownInProgress */
			case 189:			/* PrimarySteppedDown */
			case 9001:			/* SocketException */
			case 10107:			/* NotWritablePrimary */
			case 11600:			/* InterruptedAtShutdown */
			case 11602:			/* InterruptedDueToReplStateChange */
			case 13435:			/* NotPrimaryNoSecondaryOk */
			case 13436:			/* NotPrimaryOrSecondary */
				return true;
		}
	}
	return false;
}

/*
 * ERROR for a failed client call.  A lost connection or server cursor is a
 * connection failure, which the worker retries from the last checkpoint.
 */
static void
mongo_error_report(Source *s, const char *what, const bson_error_t *error)
{
	bool		cursor_lost = (error->domain == MONGOC_ERROR_SERVER ||
							   error->domain == MONGOC_ERROR_QUERY) && error->code == 43;

	ereport(ERROR,
			(errcode(is_connection_error(error) ? ERRCODE_CONNECTION_FAILURE :
					 ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("%s on MongoDB server \"%s\" failed: %s",
					what, s->server, scrub(s, error->message)),
			 cursor_lost ?
			 errdetail("The server no longer knows the cursor: it was killed, timed out, or its collection was dropped.") : 0,
			 cursor_lost ?
			 errhint("Nothing read from it after the last checkpoint was kept; the copy goes on from there.") : 0));
}

/* The password part of a URL's user info as written, or NULL. */
static char *
url_raw_password(const char *url)
{
	const char *p = strstr(url, "://");
	const char *end;
	const char *at = NULL;
	const char *colon;
	const char *q;

	if (p == NULL)
		return NULL;
	p += 3;
	end = p + strcspn(p, "/?#");
	for (q = p; q < end; q++)
		if (*q == '@')
			at = q;
	if (at == NULL)
		return NULL;
	colon = memchr(p, ':', at - p);
	if (colon == NULL)
		return NULL;
	return pnstrdup(colon + 1, at - colon - 1);
}

/* "host:port,host:port" of a URI, or its SRV name. */
static char *
uri_servers(const mongoc_uri_t *uri)
{
	const mongoc_host_list_t *h;
	StringInfoData buf;

	initStringInfo(&buf);
	for (h = mongoc_uri_get_hosts(uri); h != NULL; h = h->next)
	{
		if (buf.len > 0)
			appendStringInfoChar(&buf, ',');
		appendStringInfoString(&buf, h->host_and_port);
	}
	if (buf.len == 0 && mongoc_uri_get_srv_hostname(uri))
		appendStringInfoString(&buf, mongoc_uri_get_srv_hostname(uri));
	return buf.data;
}

/*
 * Connect to the server of the config's URL.  The URL's own options are
 * kept; serverSelectionTimeoutMS and connectTimeoutMS default to 5 s, so an
 * unreachable server fails fast.  A buildInfo command checks the
 * connection and tells whether the server is FerretDB.
 */
static Source *
mongo_source_connect(const TaskConfig *config)
{
	Source	   *s;
	bson_error_t error;
	bson_t		cmd;
	bson_t		reply;
	bson_iter_t it;
	bool		ok;

	if (!mongoc_initialized)
	{
		mongoc_log_set_handler(mongo_log_handler, NULL);
		mongoc_init();
		mongoc_initialized = true;
	}

	s = palloc0(sizeof(Source));
	s->cxt = CurrentMemoryContext;
	s->raw_password = url_raw_password(config->url);
	s->server = "?";
	s->batch_size = config->extract_batch_size > 0 ? config->extract_batch_size : 0;
	bson_init(&s->last_id);
	s->row_cxt = AllocSetContextCreate(s->cxt, "ape_resume mongo row",
									   ALLOCSET_DEFAULT_SIZES);
	s->callback.func = mongo_source_release;
	s->callback.arg = s;
	MemoryContextRegisterResetCallback(s->cxt, &s->callback);

	s->uri = mongoc_uri_new_with_error(config->url, &error);
	if (s->uri == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid MongoDB source url \"%s\"", url_mask_password(config->url)),
				 errdetail("%s", scrub(s, error.message))));
	if (mongoc_uri_get_password(s->uri))
		s->password = pstrdup(mongoc_uri_get_password(s->uri));
	s->server = uri_servers(s->uri);
	if (!mongoc_uri_has_option(s->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
		mongoc_uri_set_option_as_int32(s->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
									   MONGO_SERVER_SELECTION_TIMEOUT_MS);
	if (!mongoc_uri_has_option(s->uri, MONGOC_URI_CONNECTTIMEOUTMS))
		mongoc_uri_set_option_as_int32(s->uri, MONGOC_URI_CONNECTTIMEOUTMS,
									   MONGO_CONNECT_TIMEOUT_MS);
	if (!mongoc_uri_has_option(s->uri, MONGOC_URI_APPNAME))
		(void) mongoc_uri_set_appname(s->uri, "ape_resume");

	s->client = mongoc_client_new_from_uri_with_error(s->uri, &error);
	if (s->client == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to MongoDB server \"%s\": %s",
						s->server, scrub(s, error.message))));
	if (!mongoc_client_set_error_api(s->client, MONGOC_ERROR_API_VERSION_2))
		elog(ERROR, "could not set the libmongoc error API");

	bson_init(&cmd);
	BSON_APPEND_INT32(&cmd, "buildInfo", 1);
	ok = mongoc_client_command_simple(s->client, "admin", &cmd, NULL, &reply, &error);
	bson_destroy(&cmd);
	if (ok)
		s->is_ferretdb = bson_iter_init_find(&it, &reply, "ferretdbVersion");
	bson_destroy(&reply);
	if (!ok)
		ereport(ERROR,
				(errcode(error.domain == MONGOC_ERROR_CLIENT &&
						 error.code == MONGOC_ERROR_CLIENT_AUTHENTICATE ?
						 ERRCODE_INVALID_PASSWORD :
						 ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to MongoDB server \"%s\": %s",
						s->server, scrub(s, error.message))));
	return s;
}

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
	t->order_col = 0;
	t->primary_key = list_make1(t->columns[0].name);
	t->unique_keys = NIL;
	t->rows_estimated = -1;
	t->columns_from_target = true;
	return t;
}

/*
 * The document count of a collection from collStats (metadata only, also
 * on FerretDB, where a count scans the collection), -1 if unknown.
 */
static int64
collection_count(Source *s, const char *name)
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
		t->rows_estimated = collection_count(s, t->tb);
	}
	mongoc_database_destroy(s->meta_db);
	s->meta_db = NULL;
	return tables;
}

/*
 * The collections of the user databases that the filter selects, sorted
 * by (database, collection).  admin, local and config, and system.*
 * collections, are never copied.
 */
static List *
mongo_source_list_tables(Source *s, const NameFilter *filter)
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

/*
 * MongoDB's order of types (canonicalizeBSONType): types of one rank
 * compare by value, $gt matches only its own rank.
 */
static int
type_rank(bson_type_t type)
{
	switch (type)
	{
		case BSON_TYPE_MINKEY:
			return 0;
		case BSON_TYPE_UNDEFINED:
			return 1;
		case BSON_TYPE_NULL:
			return 2;
		case BSON_TYPE_DOUBLE:
		case BSON_TYPE_INT32:
		case BSON_TYPE_INT64:
		case BSON_TYPE_DECIMAL128:
			return 3;
		case BSON_TYPE_UTF8:
		case BSON_TYPE_SYMBOL:
			return 4;
		case BSON_TYPE_DOCUMENT:
			return 5;
		case BSON_TYPE_ARRAY:
			return 6;
		case BSON_TYPE_BINARY:
			return 7;
		case BSON_TYPE_OID:
			return 8;
		case BSON_TYPE_BOOL:
			return 9;
		case BSON_TYPE_DATE_TIME:
			return 10;
		case BSON_TYPE_TIMESTAMP:
			return 11;
		case BSON_TYPE_REGEX:
			return 12;
		case BSON_TYPE_DBPOINTER:
			return 13;
		case BSON_TYPE_CODE:
			return 14;
		case BSON_TYPE_CODEWSCOPE:
			return 15;
		case BSON_TYPE_MAXKEY:
			return 16;
		default:
			return -1;
	}
}

/* The $type codes of each rank, and whether FerretDB knows the type. */
static const struct
{
	int			rank;
	int			code;
	bool		ferretdb;
}			type_codes[] =
{
	{0, -1, false},				/* minKey */
	{1, 6, false},				/* undefined */
	{2, 10, true},				/* null */
	{3, 1, true},				/* double */
	{3, 16, true},				/* int */
	{3, 18, true},				/* long */
	{3, 19, false},				/* decimal */
	{4, 2, true},				/* string */
	{4, 14, false},				/* symbol */
	{5, 3, true},				/* object */
	{6, 4, true},				/* array */
	{7, 5, true},				/* binData */
	{8, 7, true},				/* objectId */
	{9, 8, true},				/* bool */
	{10, 9, true},				/* date */
	{11, 17, true},				/* timestamp */
	{12, 11, true},				/* regex */
	{13, 12, false},			/* dbPointer */
	{14, 13, false},			/* javascript */
	{15, 15, false},			/* javascriptWithScope */
	{16, 127, false},			/* maxKey */
};

/*
 * Append the $type codes of ranks first..16 (that the server knows) to an
 * array; returns how many.
 */
static int
append_type_codes(Source *s, bson_t *array, int first, int n)
{
	int			i;

	for (i = 0; i < lengthof(type_codes); i++)
	{
		char		key[16];

		if (type_codes[i].rank < first || (s->is_ferretdb && !type_codes[i].ferretdb))
			continue;
		snprintf(key, sizeof(key), "%d", n++);
		BSON_APPEND_INT32(array, key, type_codes[i].code);
	}
	return n;
}

/* Could FerretDB store (and so compare with) this value? */
static bool
ferretdb_can_store(const bson_iter_t *it)
{
	bson_iter_t child;

	switch (bson_iter_type(it))
	{
		case BSON_TYPE_DOUBLE:
			return isfinite(bson_iter_double(it));
		case BSON_TYPE_UTF8:
		case BSON_TYPE_BINARY:
		case BSON_TYPE_OID:
		case BSON_TYPE_BOOL:
		case BSON_TYPE_DATE_TIME:
		case BSON_TYPE_NULL:
		case BSON_TYPE_REGEX:
		case BSON_TYPE_INT32:
		case BSON_TYPE_TIMESTAMP:
		case BSON_TYPE_INT64:
			return true;
		case BSON_TYPE_DOCUMENT:
		case BSON_TYPE_ARRAY:
			if (!bson_iter_recurse(it, &child))
				return false;
			while (bson_iter_next(&child))
				if (!ferretdb_can_store(&child))
					return false;
			return true;
		default:
			return false;
	}
}

/* What follows a value of its own rank. */
typedef enum SameRank
{
	SAME_NONE,					/* nothing */
	SAME_GT,					/* {$gt: v} */
	SAME_GT_STRING,				/* {$gt: v's text as a string} (a symbol on FerretDB) */
	SAME_ALL_NUMBERS,			/* every number but NaN: {$gte: -Infinity} */
	SAME_NUMBERS_SKIPPED		/* every number, those <= v skipped here */
} SameRank;

/* ERROR for a position of a type the server cannot compare with. */
static void
bad_position_type(Source *s, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot resume collection \"%s\".\"%s\" after _id position \"%s\": %s",
					s->schema, s->tb, position_text(s), detail)));
}

/*
 * Build the query for the documents after the position in s->last_id.
 * Returns false when nothing can follow it.
 */
static bool
build_resume_filter(Source *s, bson_t *filter)
{
	bson_iter_t v;
	int			rank;
	SameRank	same = SAME_GT;
	bson_t		later;
	int			nlater;
	bson_t		cond;
	bson_t		or;
	bson_t		arm;
	bson_t		types;

	if (!bson_iter_init_find(&v, &s->last_id, "_id"))
		elog(ERROR, "no MongoDB position to resume after");
	rank = type_rank(bson_iter_type(&v));
	if (rank < 0)
		bad_position_type(s, "the value is not a BSON value");

	switch (bson_iter_type(&v))
	{
		case BSON_TYPE_MINKEY:
		case BSON_TYPE_UNDEFINED:
		case BSON_TYPE_NULL:
		case BSON_TYPE_MAXKEY:
			same = SAME_NONE;
			break;
		case BSON_TYPE_DOUBLE:
			if (isnan(bson_iter_double(&v)))
				same = SAME_ALL_NUMBERS;
			break;
		case BSON_TYPE_DECIMAL128:
			{
				bson_decimal128_t dec;
				char		str[BSON_DECIMAL128_STRING];

				if (!bson_iter_decimal128(&v, &dec))
					elog(ERROR, "could not read a Decimal128 position");
				bson_decimal128_to_string(&dec, str);
				if (strcmp(str, "NaN") == 0)
					same = SAME_ALL_NUMBERS;
				else if (s->is_ferretdb)
				{
					MemoryContext old = MemoryContextSwitchTo(s->cxt);

					same = SAME_NUMBERS_SKIPPED;
					s->skip_upto = DirectFunctionCall3(numeric_in, CStringGetDatum(str),
													   ObjectIdGetDatum(InvalidOid),
													   Int32GetDatum(-1));
					MemoryContextSwitchTo(old);
				}
			}
			break;
		case BSON_TYPE_SYMBOL:
			if (s->is_ferretdb)
				same = SAME_GT_STRING;
			break;
		case BSON_TYPE_DBPOINTER:
		case BSON_TYPE_CODE:
		case BSON_TYPE_CODEWSCOPE:
			/* FerretDB stores none: nothing of their rank can follow */
			if (s->is_ferretdb)
				same = SAME_NONE;
			break;
		case BSON_TYPE_DOCUMENT:
		case BSON_TYPE_ARRAY:
			if (s->is_ferretdb && !ferretdb_can_store(&v))
				bad_position_type(s, "it holds a BSON type that FerretDB cannot store or compare with");
			break;
		default:
			break;
	}

	/* the later ranks' $type codes; the numbers too when they are filtered here */
	bson_init(&later);
	if (same == SAME_NUMBERS_SKIPPED)
	{
		nlater = append_type_codes(s, &later, 3, 0);
		same = SAME_NONE;
		s->skip_numbers = true;
	}
	else
		nlater = append_type_codes(s, &later, rank + 1, 0);

	if (same == SAME_NONE && nlater == 0)
	{
		bson_destroy(&later);
		return false;
	}

	bson_init(filter);
	bson_init(&cond);
	switch (same)
	{
		case SAME_GT:
			bson_append_iter(&cond, "$gt", 3, &v);
			break;
		case SAME_GT_STRING:
			{
				uint32_t	len;
				const char *str = bson_iter_symbol(&v, &len);

				bson_append_utf8(&cond, "$gt", 3, str, (int) len);
			}
			break;
		case SAME_ALL_NUMBERS:
			BSON_APPEND_DOUBLE(&cond, "$gte", -INFINITY);
			break;
		case SAME_NONE:
		case SAME_NUMBERS_SKIPPED:
			break;
	}
	if (same != SAME_NONE && nlater > 0)
	{
		BSON_APPEND_ARRAY_BEGIN(filter, "$or", &or);
		BSON_APPEND_DOCUMENT_BEGIN(&or, "0", &arm);
		BSON_APPEND_DOCUMENT(&arm, "_id", &cond);
		bson_append_document_end(&or, &arm);
		BSON_APPEND_DOCUMENT_BEGIN(&or, "1", &arm);
		BSON_APPEND_DOCUMENT_BEGIN(&arm, "_id", &types);
		BSON_APPEND_ARRAY(&types, "$type", &later);
		bson_append_document_end(&arm, &types);
		bson_append_document_end(&or, &arm);
		bson_append_array_end(filter, &or);
	}
	else if (same != SAME_NONE)
		BSON_APPEND_DOCUMENT(filter, "_id", &cond);
	else
	{
		BSON_APPEND_DOCUMENT_BEGIN(filter, "_id", &types);
		BSON_APPEND_ARRAY(&types, "$type", &later);
		bson_append_document_end(filter, &types);
	}
	bson_destroy(&cond);
	bson_destroy(&later);
	return true;
}

/* ---------------------------------------------------------------------
 * Documents to text
 * ---------------------------------------------------------------------
 */

/* The _id of the document being converted, as short JSON for messages. */
static char *
message_id(Source *s)
{
	JsonOut		o;
	StringInfoData buf;
	bson_iter_t it;

	if (s->cur_doc == NULL || !bson_iter_init_find(&it, s->cur_doc, "_id"))
		return "(no _id)";
	memset(&o, 0, sizeof(o));
	initStringInfo(&buf);
	o.buf = &buf;
	o.lenient = true;
	o.s = s;
	append_json_value(&o, &it);
	if (buf.len > MONGO_MESSAGE_ID_LEN)
	{
		buf.len = pg_encoding_mbcliplen(PG_UTF8, buf.data, buf.len, MONGO_MESSAGE_ID_LEN);
		buf.data[buf.len] = '\0';
		appendStringInfoString(&buf, "...");
	}
	return buf.data;
}

/* The dotted path of keys down to the value being converted. */
static char *
json_path(const JsonOut *o)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 1; i <= o->depth && i <= MONGO_MAX_DEPTH; i++)
	{
		if (buf.len > 0)
			appendStringInfoChar(&buf, '.');
		appendStringInfoString(&buf, o->path[i] ? o->path[i] : "?");
	}
	return buf.len > 0 ? buf.data : pstrdup("_id");
}

/* ERROR for a document that cannot be copied as it is. */
static void
json_fail(JsonOut *o, int code, const char *detail)
{
	Source	   *s = o->s;

	ereport(ERROR,
			(errcode(code),
			 errmsg("document with _id %s of collection \"%s\".\"%s\" cannot be copied: field \"%s\" %s",
					message_id(s), s->schema, s->tb, json_path(o), detail),
			 errhint("Change the document at the source, then resume the task.")));
}

/*
 * Append a JSON string.  It must be UTF-8 without NUL characters, which
 * jsonb and text cannot hold; in lenient mode (messages) those are escaped.
 */
static void
append_json_string(JsonOut *o, const char *str, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const char *p;
	const char *end = str + len;
	const char *run = str;
	bool		valid = pg_verify_mbstr(PG_UTF8, str, (int) len, true);

	if (!valid && !o->lenient)
		json_fail(o, memchr(str, '\0', len) ? ERRCODE_UNTRANSLATABLE_CHARACTER :
				  ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
				  memchr(str, '\0', len) ?
				  "holds a string with a NUL character, which PostgreSQL cannot store" :
				  "holds a string that is not valid UTF-8");
	appendStringInfoChar(o->buf, '"');
	for (p = str; p < end; p++)
	{
		unsigned char c = (unsigned char) *p;
		const char *esc = NULL;

		if (c >= 0x20 && c != '"' && c != '\\' && (valid || c < 0x80))
			continue;
		appendBinaryStringInfo(o->buf, run, p - run);
		run = p + 1;
		switch (c)
		{
			case '"':
				esc = "\\\"";
				break;
			case '\\':
				esc = "\\\\";
				break;
			case '\n':
				esc = "\\n";
				break;
			case '\r':
				esc = "\\r";
				break;
			case '\t':
				esc = "\\t";
				break;
			case '\b':
				esc = "\\b";
				break;
			case '\f':
				esc = "\\f";
				break;
		}
		if (esc)
			appendStringInfoString(o->buf, esc);
		else if (c < 0x20)
			appendStringInfo(o->buf, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		else
		{
			/* lenient: a byte of invalid UTF-8 */
			appendStringInfo(o->buf, "\\\\x%c%c", hex[c >> 4], hex[c & 15]);
		}
	}
	appendBinaryStringInfo(o->buf, run, end - run);
	appendStringInfoChar(o->buf, '"');
}

/*
 * Append a finite double as a decimal that always has a point and never
 * an exponent (2.0, 0.001, 100000000000000000000.0): the shortest digits
 * that read back as the same double, in a form that jsonb keeps a
 * non-integer.  -0.0 is the caller's business.
 */
static void
append_double_decimal(StringInfo buf, double d)
{
	char		tmp[DOUBLE_SHORTEST_DECIMAL_LEN];
	char		digits[DOUBLE_SHORTEST_DECIMAL_LEN];
	int			ndigits = 0;
	int			point = -1;
	int			exp10 = 0;
	int			pos;
	int			i;
	const char *p = tmp;

	double_to_shortest_decimal_buf(d, tmp);
	if (*p == '-')
	{
		appendStringInfoChar(buf, '-');
		p++;
	}
	for (; *p != '\0' && *p != 'e' && *p != 'E'; p++)
	{
		if (*p == '.')
			point = ndigits;
		else
			digits[ndigits++] = *p;
	}
	if (point < 0)
		point = ndigits;
	if (*p == 'e' || *p == 'E')
		exp10 = atoi(p + 1);
	pos = point + exp10;
	if (pos <= 0)
	{
		appendStringInfoString(buf, "0.");
		for (i = 0; i < -pos; i++)
			appendStringInfoChar(buf, '0');
		appendBinaryStringInfo(buf, digits, ndigits);
	}
	else if (pos >= ndigits)
	{
		appendBinaryStringInfo(buf, digits, ndigits);
		for (i = ndigits; i < pos; i++)
			appendStringInfoChar(buf, '0');
		appendStringInfoString(buf, ".0");
	}
	else
	{
		appendBinaryStringInfo(buf, digits, pos);
		appendStringInfoChar(buf, '.');
		appendBinaryStringInfo(buf, digits + pos, ndigits - pos);
	}
}

/* Days since 1970-01-01 to a proleptic Gregorian date (year 0 = 1 BC). */
static void
civil_from_days(int64 z, int64 *y, int *m, int *d)
{
	int64		era;
	int64		doe;
	int64		yoe;
	int64		doy;
	int64		mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

typedef struct DateParts
{
	int64		year;
	int			month;
	int			day;
	int			hour;
	int			minute;
	int			second;
	int			ms;
} DateParts;

/* Milliseconds since the epoch, UTC, to calendar parts. */
static DateParts
date_parts(int64 ms)
{
	DateParts	p;
	int64		days = ms / 86400000;
	int64		rem = ms % 86400000;

	if (rem < 0)
	{
		rem += 86400000;
		days--;
	}
	civil_from_days(days, &p.year, &p.month, &p.day);
	p.hour = (int) (rem / 3600000);
	p.minute = (int) (rem / 60000 % 60);
	p.second = (int) (rem / 1000 % 60);
	p.ms = (int) (rem % 1000);
	return p;
}

/* Append binary data as base64. */
static void
append_base64(StringInfo buf, const uint8_t *data, uint32_t len)
{
	int			n = pg_b64_enc_len((int) len);
	int			written;

	enlargeStringInfo(buf, n + 1);
	written = pg_b64_encode((const char *) data, (int) len, buf->data + buf->len, n);
	if (written < 0)
		elog(ERROR, "could not encode binary data as base64");
	buf->len += written;
	buf->data[buf->len] = '\0';
}

/* Append bytes as lowercase hex. */
static void
append_hex(StringInfo buf, const uint8_t *data, uint32_t len)
{
	enlargeStringInfo(buf, (int) len * 2);
	buf->len += hex_encode((const char *) data, len, buf->data + buf->len);
	buf->data[buf->len] = '\0';
}

/* Append a key: "name": */
static void
append_json_key(JsonOut *o, const char *key)
{
	append_json_string(o, key, strlen(key));
	appendStringInfoChar(o->buf, ':');
}

/* {"$numberDouble":"..."} */
static void
append_number_double(JsonOut *o, double d)
{
	appendStringInfoString(o->buf, "{\"$numberDouble\":\"");
	if (isnan(d))
		appendStringInfoString(o->buf, "NaN");
	else if (isinf(d))
		appendStringInfoString(o->buf, d > 0 ? "Infinity" : "-Infinity");
	else if (d == 0 && signbit(d))
		appendStringInfoString(o->buf, "-0.0");
	else
		append_double_decimal(o->buf, d);
	appendStringInfoString(o->buf, "\"}");
}

/* Append one BSON value as extended JSON. */
static void
append_json_value(JsonOut *o, const bson_iter_t *it)
{
	StringInfo	buf = o->buf;
	uint32_t	len;
	const char *str;

	switch (bson_iter_type(it))
	{
		case BSON_TYPE_DOUBLE:
			{
				double		d = bson_iter_double(it);

				if (o->canonical || !isfinite(d) || (d == 0 && signbit(d)))
					append_number_double(o, d);
				else
					append_double_decimal(buf, d);
			}
			break;
		case BSON_TYPE_UTF8:
			str = bson_iter_utf8(it, &len);
			append_json_string(o, str, len);
			break;
		case BSON_TYPE_DOCUMENT:
			append_json_document(o, it, false);
			break;
		case BSON_TYPE_ARRAY:
			append_json_document(o, it, true);
			break;
		case BSON_TYPE_BINARY:
			{
				bson_subtype_t subtype;
				const uint8_t *data;

				bson_iter_binary(it, &subtype, &len, &data);
				appendStringInfoString(buf, "{\"$binary\":{\"base64\":\"");
				append_base64(buf, data, len);
				appendStringInfo(buf, "\",\"subType\":\"%02x\"}}", (unsigned) subtype & 0xff);
			}
			break;
		case BSON_TYPE_UNDEFINED:
			appendStringInfoString(buf, "{\"$undefined\":true}");
			break;
		case BSON_TYPE_OID:
			{
				char		hex[25];

				bson_oid_to_string(bson_iter_oid(it), hex);
				appendStringInfo(buf, "{\"$oid\":\"%s\"}", hex);
			}
			break;
		case BSON_TYPE_BOOL:
			appendStringInfoString(buf, bson_iter_bool(it) ? "true" : "false");
			break;
		case BSON_TYPE_DATE_TIME:
			{
				int64		ms = bson_iter_date_time(it);

				if (!o->canonical && ms >= 0 && ms <= INT64CONST(253402300799999))
				{
					DateParts	p = date_parts(ms);

					appendStringInfo(buf, "{\"$date\":\"%04d-%02d-%02dT%02d:%02d:%02d",
									 (int) p.year, p.month, p.day, p.hour, p.minute, p.second);
					if (p.ms != 0)
						appendStringInfo(buf, ".%03d", p.ms);
					appendStringInfoString(buf, "Z\"}");
				}
				else
					appendStringInfo(buf, "{\"$date\":{\"$numberLong\":\"" INT64_FORMAT "\"}}", ms);
			}
			break;
		case BSON_TYPE_NULL:
			appendStringInfoString(buf, "null");
			break;
		case BSON_TYPE_REGEX:
			{
				const char *options;

				str = bson_iter_regex(it, &options);
				appendStringInfoString(buf, "{\"$regularExpression\":{\"pattern\":");
				append_json_string(o, str, strlen(str));
				appendStringInfoString(buf, ",\"options\":");
				append_json_string(o, options, strlen(options));
				appendStringInfoString(buf, "}}");
			}
			break;
		case BSON_TYPE_DBPOINTER:
			{
				const char *coll;
				const bson_oid_t *oid;
				char		hex[25];

				bson_iter_dbpointer(it, &len, &coll, &oid);
				appendStringInfoString(buf, "{\"$dbPointer\":{\"$ref\":");
				append_json_string(o, coll, len);
				bson_oid_to_string(oid, hex);
				appendStringInfo(buf, ",\"$id\":{\"$oid\":\"%s\"}}}", hex);
			}
			break;
		case BSON_TYPE_CODE:
			str = bson_iter_code(it, &len);
			appendStringInfoString(buf, "{\"$code\":");
			append_json_string(o, str, len);
			appendStringInfoChar(buf, '}');
			break;
		case BSON_TYPE_SYMBOL:
			str = bson_iter_symbol(it, &len);
			appendStringInfoString(buf, "{\"$symbol\":");
			append_json_string(o, str, len);
			appendStringInfoChar(buf, '}');
			break;
		case BSON_TYPE_CODEWSCOPE:
			{
				uint32_t	scope_len;
				const uint8_t *scope;
				bson_t		scope_doc;
				bson_iter_t scope_it;

				str = bson_iter_codewscope(it, &len, &scope_len, &scope);
				appendStringInfoString(buf, "{\"$code\":");
				append_json_string(o, str, len);
				appendStringInfoString(buf, ",\"$scope\":");
				if (!bson_init_static(&scope_doc, scope, scope_len) ||
					!bson_iter_init(&scope_it, &scope_doc))
				{
					if (!o->lenient)
						json_fail(o, ERRCODE_DATA_CORRUPTED,
								  "holds code whose scope is not a valid BSON document");
					appendStringInfoChar(buf, '?');
				}
				else
					append_json_elements(o, &scope_it, false);
				appendStringInfoChar(buf, '}');
			}
			break;
		case BSON_TYPE_INT32:
			if (o->canonical)
				appendStringInfo(buf, "{\"$numberInt\":\"%d\"}", bson_iter_int32(it));
			else
				appendStringInfo(buf, "%d", bson_iter_int32(it));
			break;
		case BSON_TYPE_TIMESTAMP:
			{
				uint32_t	t;
				uint32_t	i;

				bson_iter_timestamp(it, &t, &i);
				appendStringInfo(buf, "{\"$timestamp\":{\"t\":%u,\"i\":%u}}", t, i);
			}
			break;
		case BSON_TYPE_INT64:
			{
				int64		v = bson_iter_int64(it);

				if (o->canonical || v > (INT64CONST(1) << 53) || v < -(INT64CONST(1) << 53))
					appendStringInfo(buf, "{\"$numberLong\":\"" INT64_FORMAT "\"}", v);
				else
					appendStringInfo(buf, INT64_FORMAT, v);
			}
			break;
		case BSON_TYPE_DECIMAL128:
			{
				bson_decimal128_t dec;
				char		str128[BSON_DECIMAL128_STRING];

				if (!bson_iter_decimal128(it, &dec))
					json_fail(o, ERRCODE_DATA_CORRUPTED, "holds a Decimal128 value that cannot be read");
				bson_decimal128_to_string(&dec, str128);
				appendStringInfo(buf, "{\"$numberDecimal\":\"%s\"}", str128);
			}
			break;
		case BSON_TYPE_MAXKEY:
			appendStringInfoString(buf, "{\"$maxKey\":1}");
			break;
		case BSON_TYPE_MINKEY:
			appendStringInfoString(buf, "{\"$minKey\":1}");
			break;
		default:
			if (o->lenient)
			{
				appendStringInfoChar(buf, '?');
				break;
			}
			json_fail(o, ERRCODE_DATA_CORRUPTED,
					  psprintf("has the unknown BSON type 0x%02x", (unsigned) bson_iter_type(it)));
	}
}

/* qsort comparator of keys */
static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * Append the elements of a document or array as a JSON object or array.
 * A key that appears twice in one document is an ERROR: jsonb would keep
 * one value only.
 */
static void
append_json_elements(JsonOut *o, bson_iter_t *child, bool array)
{
	bool		first = true;
	const char **keys = NULL;
	int			nkeys = 0;
	int			maxkeys = 0;

	check_stack_depth();
	o->depth++;
	if (o->depth > MONGO_MAX_DEPTH)
	{
		if (o->lenient)
		{
			o->depth--;
			appendStringInfoString(o->buf, "...");
			return;
		}
		json_fail(o, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
				  psprintf("nests documents and arrays deeper than %d levels", MONGO_MAX_DEPTH));
	}
	appendStringInfoChar(o->buf, array ? '[' : '{');
	while (bson_iter_next(child))
	{
		const char *key = bson_iter_key(child);

		if (!first)
			appendStringInfoChar(o->buf, ',');
		first = false;
		o->path[o->depth] = key;
		if (!array)
		{
			if (!o->lenient)
			{
				if (nkeys == maxkeys)
				{
					maxkeys = maxkeys ? maxkeys * 2 : 16;
					keys = keys ? repalloc(keys, sizeof(char *) * maxkeys) :
						palloc(sizeof(char *) * maxkeys);
				}
				keys[nkeys++] = key;
			}
			append_json_key(o, key);
		}
		append_json_value(o, child);
	}
	if (child->err_off != 0 && !o->lenient)
		json_fail(o, ERRCODE_DATA_CORRUPTED, "is not valid BSON");
	appendStringInfoChar(o->buf, array ? ']' : '}');
	if (nkeys > 1)
	{
		int			i;

		qsort(keys, nkeys, sizeof(char *), key_cmp);
		for (i = 1; i < nkeys; i++)
			if (strcmp(keys[i - 1], keys[i]) == 0)
			{
				o->path[o->depth] = keys[i];
				json_fail(o, ERRCODE_DUPLICATE_JSON_OBJECT_KEY_VALUE,
						  "appears twice in its document, and jsonb would keep one value only");
			}
	}
	if (keys)
		pfree(keys);
	o->depth--;
}

/* Append a document or array value as a JSON object or array. */
static void
append_json_document(JsonOut *o, const bson_iter_t *it, bool array)
{
	bson_iter_t child;

	if (!bson_iter_recurse(it, &child))
	{
		if (o->lenient)
		{
			appendStringInfoChar(o->buf, '?');
			return;
		}
		json_fail(o, ERRCODE_DATA_CORRUPTED, "is not valid BSON");
	}
	append_json_elements(o, &child, array);
}

/* Append a whole top-level document as a JSON object. */
static void
append_json_top(JsonOut *o, const bson_t *doc)
{
	bson_iter_t child;

	if (!bson_iter_init(&child, doc))
		json_fail(o, ERRCODE_DATA_CORRUPTED, "is not valid BSON");
	o->depth = 0;
	append_json_elements(o, &child, false);
}

/* Append a date as PostgreSQL timestamp / date input text. */
static void
append_pg_date(StringInfo buf, int64 ms, ColKind kind)
{
	DateParts	p = date_parts(ms);
	bool		bc = p.year <= 0;
	int64		year = bc ? 1 - p.year : p.year;

	appendStringInfo(buf, "%04" INT64_MODIFIER "d-%02d-%02d", year, p.month, p.day);
	if (kind != CK_DATE)
		appendStringInfo(buf, " %02d:%02d:%02d.%03d%s", p.hour, p.minute, p.second, p.ms,
						 kind == CK_TS ? "" : "+00");
	if (bc)
		appendStringInfoString(buf, " BC");
}

/*
 * Append a value as the text of a typed target column: a string as
 * itself, a number as digits, an ObjectId as hex, a date as a timestamp,
 * binary as bytea or uuid text where the column wants that, anything else
 * as extended JSON.  Returns false for SQL NULL (null, undefined).
 */
static bool
append_typed_value(JsonOut *o, const bson_iter_t *it, ColKind kind)
{
	StringInfo	buf = o->buf;
	uint32_t	len;
	const char *str;

	if (kind == CK_JSON)
	{
		append_json_value(o, it);
		return true;
	}
	switch (bson_iter_type(it))
	{
		case BSON_TYPE_NULL:
		case BSON_TYPE_UNDEFINED:
			return false;
		case BSON_TYPE_UTF8:
		case BSON_TYPE_SYMBOL:
		case BSON_TYPE_CODE:
			if (bson_iter_type(it) == BSON_TYPE_UTF8)
				str = bson_iter_utf8(it, &len);
			else if (bson_iter_type(it) == BSON_TYPE_SYMBOL)
				str = bson_iter_symbol(it, &len);
			else
				str = bson_iter_code(it, &len);
			if (!pg_verify_mbstr(PG_UTF8, str, (int) len, true))
				json_fail(o, memchr(str, '\0', len) ? ERRCODE_UNTRANSLATABLE_CHARACTER :
						  ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
						  memchr(str, '\0', len) ?
						  "holds a string with a NUL character, which PostgreSQL cannot store" :
						  "holds a string that is not valid UTF-8");
			appendBinaryStringInfo(buf, str, len);
			return true;
		case BSON_TYPE_OID:
			{
				char		hex[25];

				bson_oid_to_string(bson_iter_oid(it), hex);
				appendStringInfoString(buf, hex);
				return true;
			}
		case BSON_TYPE_INT32:
			appendStringInfo(buf, "%d", bson_iter_int32(it));
			return true;
		case BSON_TYPE_INT64:
			appendStringInfo(buf, INT64_FORMAT, bson_iter_int64(it));
			return true;
		case BSON_TYPE_DOUBLE:
			{
				double		d = bson_iter_double(it);
				char		tmp[DOUBLE_SHORTEST_DECIMAL_LEN];

				if (isnan(d))
					appendStringInfoString(buf, "NaN");
				else if (isinf(d))
					appendStringInfoString(buf, d > 0 ? "Infinity" : "-Infinity");
				else if (d == floor(d) && fabs(d) < 9007199254740992.0)
					appendStringInfo(buf, "%.0f", d);
				else
				{
					double_to_shortest_decimal_buf(d, tmp);
					appendStringInfoString(buf, tmp);
				}
				return true;
			}
		case BSON_TYPE_DECIMAL128:
			{
				bson_decimal128_t dec;
				char		str128[BSON_DECIMAL128_STRING];

				if (!bson_iter_decimal128(it, &dec))
					json_fail(o, ERRCODE_DATA_CORRUPTED, "holds a Decimal128 value that cannot be read");
				bson_decimal128_to_string(&dec, str128);
				appendStringInfoString(buf, str128);
				return true;
			}
		case BSON_TYPE_BOOL:
			appendStringInfoString(buf, bson_iter_bool(it) ? "true" : "false");
			return true;
		case BSON_TYPE_DATE_TIME:
			append_pg_date(buf, bson_iter_date_time(it), kind == CK_TEXT ? CK_TSTZ :
						   kind == CK_BYTEA || kind == CK_UUID ? CK_TSTZ : kind);
			return true;
		case BSON_TYPE_BINARY:
			{
				bson_subtype_t subtype;
				const uint8_t *data;

				bson_iter_binary(it, &subtype, &len, &data);
				if (kind == CK_BYTEA)
				{
					appendStringInfoString(buf, "\\x");
					append_hex(buf, data, len);
					return true;
				}
				if (kind == CK_UUID && len == 16 &&
					(subtype == BSON_SUBTYPE_UUID || subtype == BSON_SUBTYPE_UUID_DEPRECATED))
				{
					int			start = buf->len;

					append_hex(buf, data, len);
					/* 8-4-4-4-12 */
					enlargeStringInfo(buf, 5);
					memmove(buf->data + start + 24, buf->data + start + 20, 12);
					buf->data[start + 23] = '-';
					memmove(buf->data + start + 19, buf->data + start + 16, 4);
					buf->data[start + 18] = '-';
					memmove(buf->data + start + 14, buf->data + start + 12, 4);
					buf->data[start + 13] = '-';
					memmove(buf->data + start + 9, buf->data + start + 8, 4);
					buf->data[start + 8] = '-';
					buf->len = start + 36;
					buf->data[buf->len] = '\0';
					return true;
				}
				append_json_value(o, it);
				return true;
			}
		default:
			append_json_value(o, it);
			return true;
	}
}

/* ---------------------------------------------------------------------
 * Positions
 * ---------------------------------------------------------------------
 */

/*
 * The position text of the last _id: 24 hex digits for an ObjectId,
 * ape-dts's tagged JSON otherwise.
 */
static char *
position_text(Source *s)
{
	bson_iter_t it;
	JsonOut		o;
	StringInfoData buf;
	MemoryContext old;

	if (s->last_position)
		return s->last_position;
	if (!s->have_last || !bson_iter_init_find(&it, &s->last_id, "_id"))
		elog(ERROR, "no MongoDB document was read to take a position from");

	old = MemoryContextSwitchTo(s->cxt);
	initStringInfo(&buf);
	memset(&o, 0, sizeof(o));
	o.buf = &buf;
	o.s = s;
	o.canonical = true;
	switch (bson_iter_type(&it))
	{
		case BSON_TYPE_OID:
			{
				char		hex[25];

				bson_oid_to_string(bson_iter_oid(&it), hex);
				appendStringInfoString(&buf, hex);
			}
			break;
		case BSON_TYPE_UTF8:
			{
				uint32_t	len;
				const char *str = bson_iter_utf8(&it, &len);

				appendStringInfoString(&buf, "{\"String\":");
				append_json_string(&o, str, len);
				appendStringInfoChar(&buf, '}');
			}
			break;
		case BSON_TYPE_INT32:
			appendStringInfo(&buf, "{\"Int32\":%d}", bson_iter_int32(&it));
			break;
		case BSON_TYPE_INT64:
			appendStringInfo(&buf, "{\"Int64\":" INT64_FORMAT "}", bson_iter_int64(&it));
			break;
		default:
			appendStringInfoString(&buf, "{\"CanonicalExtJson\":");
			append_json_value(&o, &it);
			appendStringInfoChar(&buf, '}');
			break;
	}
	MemoryContextSwitchTo(old);
	s->last_position = buf.data;
	return s->last_position;
}

/* ERROR for a position text that cannot be read. */
static void
bad_position(const SourceTable *t, const char *text, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid resume value \"%s\" for column \"_id\" of collection \"%s\".\"%s\": %s",
					text, t->schema, t->tb, detail),
			 errhint("A MongoDB position is 24 hex digits (an ObjectId) or ape-dts's tagged JSON: "
					 "{\"ObjectId\":\"...\"}, {\"String\":\"...\"}, {\"Int32\":n}, {\"Int64\":n}, "
					 "{\"CanonicalExtJson\":<extended JSON value>}.")));
}

/*
 * Read a position text into s->last_id: 24 hex digits, or
 * {"ObjectId":"hex"}, {"String":"s"}, {"Symbol":"s"}, {"JavaScriptCode":"s"},
 * {"Int32":n}, {"Int64":n}, {"DateTime":<date>}, {"Timestamp":<timestamp>},
 * {"CanonicalExtJson":<any extended JSON value>}.
 */
static void
parse_position(Source *s, const SourceTable *t, const char *text)
{
	size_t		len = strlen(text);
	bson_t		parsed;
	bson_error_t error;
	bson_iter_t it;
	const char *tag;
	const char *problem = NULL;
	bson_type_t type;

	bson_reinit(&s->last_id);
	s->have_last = false;
	if (len == 24 && bson_oid_is_valid(text, 24))
	{
		bson_oid_t	oid;

		bson_oid_init_from_string(&oid, text);
		BSON_APPEND_OID(&s->last_id, "_id", &oid);
		s->have_last = true;
		return;
	}
	if (len == 0 || text[0] != '{')
		bad_position(t, text, "it is neither 24 hex digits nor a JSON object");
	if (!bson_init_from_json(&parsed, text, (ssize_t) len, &error))
		bad_position(t, text, psprintf("it is not valid JSON (%s)", error.message));

	if (!bson_iter_init(&it, &parsed) || !bson_iter_next(&it))
		problem = "the JSON object is empty";
	else
	{
		tag = bson_iter_key(&it);
		type = bson_iter_type(&it);
		if (strcmp(tag, "ObjectId") == 0)
		{
			if (type == BSON_TYPE_OID)
				bson_append_iter(&s->last_id, "_id", 3, &it);
			else if (type == BSON_TYPE_UTF8 &&
					 bson_oid_is_valid(bson_iter_utf8(&it, NULL), strlen(bson_iter_utf8(&it, NULL))) &&
					 strlen(bson_iter_utf8(&it, NULL)) == 24)
			{
				bson_oid_t	oid;

				bson_oid_init_from_string(&oid, bson_iter_utf8(&it, NULL));
				BSON_APPEND_OID(&s->last_id, "_id", &oid);
			}
			else
				problem = "an ObjectId must be 24 hex digits";
		}
		else if (strcmp(tag, "String") == 0 || strcmp(tag, "Symbol") == 0 ||
				 strcmp(tag, "JavaScriptCode") == 0)
		{
			uint32_t	slen;
			const char *str;

			if (type != BSON_TYPE_UTF8)
				problem = "the value must be a JSON string";
			else
			{
				str = bson_iter_utf8(&it, &slen);
				if (tag[0] == 'S' && tag[1] == 't')
					bson_append_utf8(&s->last_id, "_id", 3, str, (int) slen);
				else if (tag[0] == 'S')
					bson_append_symbol(&s->last_id, "_id", 3, str, (int) slen);
				else
					bson_append_code(&s->last_id, "_id", 3, str);
			}
		}
		else if (strcmp(tag, "Int32") == 0 || strcmp(tag, "Int64") == 0)
		{
			if (type != BSON_TYPE_INT32 && type != BSON_TYPE_INT64)
				problem = "the value must be a JSON integer";
			else if (tag[3] == '6')
				BSON_APPEND_INT64(&s->last_id, "_id", bson_iter_as_int64(&it));
			else if (bson_iter_as_int64(&it) < PG_INT32_MIN || bson_iter_as_int64(&it) > PG_INT32_MAX)
				problem = "the value is out of the range of Int32";
			else
				BSON_APPEND_INT32(&s->last_id, "_id", (int32) bson_iter_as_int64(&it));
		}
		else if (strcmp(tag, "DateTime") == 0)
		{
			if (type == BSON_TYPE_DATE_TIME)
				bson_append_iter(&s->last_id, "_id", 3, &it);
			else if (type == BSON_TYPE_INT32 || type == BSON_TYPE_INT64)
				BSON_APPEND_DATE_TIME(&s->last_id, "_id", bson_iter_as_int64(&it));
			else
				problem = "a DateTime must be {\"$date\":...} or milliseconds since 1970";
		}
		else if (strcmp(tag, "Timestamp") == 0)
		{
			if (type == BSON_TYPE_TIMESTAMP)
				bson_append_iter(&s->last_id, "_id", 3, &it);
			else
				problem = "a Timestamp must be {\"$timestamp\":{\"t\":...,\"i\":...}}";
		}
		else if (strcmp(tag, "CanonicalExtJson") == 0)
			bson_append_iter(&s->last_id, "_id", 3, &it);
		else
			problem = "its key is not ObjectId, String, Symbol, JavaScriptCode, Int32, Int64, DateTime, Timestamp or CanonicalExtJson";
		if (problem == NULL && bson_iter_next(&it))
			problem = "the JSON object has more than one key";
	}
	bson_destroy(&parsed);
	if (problem)
	{
		bson_reinit(&s->last_id);
		bad_position(t, text, problem);
	}
	s->have_last = true;
}

/* ---------------------------------------------------------------------
 * Scans
 * ---------------------------------------------------------------------
 */

/*
 * Compare two _id values in MongoDB's order: -1, 0, 1, or 2 when this
 * code does not know (documents, arrays, Decimal128, regex, code).
 */
static int
compare_ids(const bson_iter_t *a, const bson_iter_t *b)
{
	int			ra = type_rank(bson_iter_type(a));
	int			rb = type_rank(bson_iter_type(b));

	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (ra)
	{
		case 0:
		case 1:
		case 2:
		case 16:
			return 0;
		case 3:
			{
				bson_type_t ta = bson_iter_type(a);
				bson_type_t tb = bson_iter_type(b);

				if (ta == BSON_TYPE_DECIMAL128 || tb == BSON_TYPE_DECIMAL128)
					return 2;
				if (ta != BSON_TYPE_DOUBLE && tb != BSON_TYPE_DOUBLE)
				{
					int64		x = bson_iter_as_int64(a);
					int64		y = bson_iter_as_int64(b);

					return x < y ? -1 : x > y ? 1 : 0;
				}
				else
				{
					/* long double holds every int64 exactly */
					long double x = ta == BSON_TYPE_DOUBLE ? bson_iter_double(a) :
					(long double) bson_iter_as_int64(a);
					long double y = tb == BSON_TYPE_DOUBLE ? bson_iter_double(b) :
					(long double) bson_iter_as_int64(b);

					/* NaN sorts before every number */
					if (isnan(x) || isnan(y))
						return isnan(x) && isnan(y) ? 0 : isnan(x) ? -1 : 1;
					return x < y ? -1 : x > y ? 1 : 0;
				}
			}
		case 4:
			{
				uint32_t	la;
				uint32_t	lb;
				const char *sa = bson_iter_type(a) == BSON_TYPE_UTF8 ?
				bson_iter_utf8(a, &la) : bson_iter_symbol(a, &la);
				const char *sb = bson_iter_type(b) == BSON_TYPE_UTF8 ?
				bson_iter_utf8(b, &lb) : bson_iter_symbol(b, &lb);
				int			c = memcmp(sa, sb, Min(la, lb));

				if (c != 0)
					return c < 0 ? -1 : 1;
				return la < lb ? -1 : la > lb ? 1 : 0;
			}
		case 7:
			{
				bson_subtype_t sta;
				bson_subtype_t stb;
				uint32_t	la;
				uint32_t	lb;
				const uint8_t *da;
				const uint8_t *db;
				int			c;

				bson_iter_binary(a, &sta, &la, &da);
				bson_iter_binary(b, &stb, &lb, &db);
				if (la != lb)
					return la < lb ? -1 : 1;
				if (sta != stb)
					return (int) sta < (int) stb ? -1 : 1;
				c = memcmp(da, db, la);
				return c < 0 ? -1 : c > 0 ? 1 : 0;
			}
		case 8:
			{
				int			c = bson_oid_compare(bson_iter_oid(a), bson_iter_oid(b));

				return c < 0 ? -1 : c > 0 ? 1 : 0;
			}
		case 9:
			return (int) bson_iter_bool(a) - (int) bson_iter_bool(b);
		case 10:
			{
				int64		x = bson_iter_date_time(a);
				int64		y = bson_iter_date_time(b);

				return x < y ? -1 : x > y ? 1 : 0;
			}
		case 11:
			{
				uint32_t	ta;
				uint32_t	ia;
				uint32_t	tb;
				uint32_t	ib;

				bson_iter_timestamp(a, &ta, &ia);
				bson_iter_timestamp(b, &tb, &ib);
				if (ta != tb)
					return ta < tb ? -1 : 1;
				return ia < ib ? -1 : ia > ib ? 1 : 0;
			}
		default:
			return 2;
	}
}

/* Is a number _id at most the Decimal128 position (FerretDB skip)? */
static bool
number_at_most(const bson_iter_t *it, Datum upto)
{
	char	   *text;
	Datum		n;

	if (bson_iter_type(it) == BSON_TYPE_DOUBLE)
	{
		double		d = bson_iter_double(it);

		if (isnan(d))
			return true;
		if (isinf(d))
			return d < 0;
		/* every digit of the double: exact */
		text = psprintf("%.1100f", d);
	}
	else
		text = psprintf(INT64_FORMAT, bson_iter_as_int64(it));
	n = DirectFunctionCall3(numeric_in, CStringGetDatum(text),
							ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, n, upto)) <= 0;
}

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
	n = collection_count(s, s->tb);
	mongoc_database_destroy(s->meta_db);
	s->meta_db = NULL;
	/* 0: empty, or dropped meanwhile: the query after the end tells which */
	return n > 0 && s->stream_rows >= n;
}

/* ERROR unless the collection of the stream exists. */
static void
check_collection_exists(Source *s)
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
static bool
is_collated(Source *s)
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
	collated = is_collated(s);
	if (s->cursor)
		mongoc_cursor_destroy(s->cursor);
	s->cursor = NULL;
	s->skip_numbers = false;
	if (s->have_last)
	{
		if (!build_resume_filter(s, &filter))
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
 * Start a batch of a collection's documents in _id order after
 * after_value, at most limit.  When after_value is where the open stream of
 * this collection stopped, the batch goes on reading that cursor;
 * otherwise a new sorted query starts after after_value.
 */
static void
mongo_source_scan_begin(Source *s, const SourceTable *t, const char *after_value,
						int64 limit)
{
	MemoryContext old;
	int			i;
	bool		same_stream;

	if (s->scanning)
		elog(ERROR, "a MongoDB scan is already in progress");
	if (t->order_col < 0)
		elog(ERROR, "collection \"%s\".\"%s\" has no _id column", t->schema, t->tb);

	same_stream = s->stream_open && after_value != NULL && s->have_last &&
		strcmp(s->schema, t->schema) == 0 && strcmp(s->tb, t->tb) == 0 &&
		strcmp(after_value, position_text(s)) == 0;

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
			parse_position(s, t, after_value);
			s->last_position = pstrdup(after_value);
		}
		check_collection_exists(s);
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
		if (i == t->order_col)
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
			check_collection_exists(s);
			stream_query(s);
			continue;
		}
		if (s->end_checked)
		{
			s->end_checked = false;
			ereport(WARNING,
					(errmsg("the cursor of collection \"%s\".\"%s\" on MongoDB server \"%s\" ended early, "
							"after _id %s; reading on from there",
							s->schema, s->tb, s->server, s->have_last ? position_text(s) : "(none)")));
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
			if (type_rank(bson_iter_type(&id)) == 3)
			{
				old = MemoryContextSwitchTo(s->row_cxt);
				if (number_at_most(&id, s->skip_upto))
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
		int			c = compare_ids(&last, &id);

		if (c == 0 || c == 1)
		{
			old = MemoryContextSwitchTo(s->row_cxt);
			bad_document(s, psprintf("_id %s came after _id position %s, out of _id order "
									 "(a resume could skip or repeat documents)",
									 message_id(s), position_text(s)));
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
				has_value = append_typed_value(&o, &id, c->kind);
				o.depth = 0;
				break;
			case CF_DOC:
				append_json_top(&o, doc);
				break;
			case CF_FIELD:
				if (!bson_iter_init_find(&it, doc, c->field))
					has_value = false;
				else
				{
					o.path[1] = c->field;
					o.depth = 1;
					has_value = append_typed_value(&o, &it, c->kind);
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

/* The position of the last document returned (see position_text). */
static char *
mongo_source_position_value(Source *s, const SourceTable *t, const char *value,
							int length)
{
	return pstrdup(position_text(s));
}

const SourceOps mongo_source_ops = {
	.connect = mongo_source_connect,
	.list_tables = mongo_source_list_tables,
	.scan_begin = mongo_source_scan_begin,
	.scan_next = mongo_source_scan_next,
	.scan_end = mongo_source_scan_end,
	.position_value = mongo_source_position_value,
};
