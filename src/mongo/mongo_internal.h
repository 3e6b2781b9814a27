/*-------------------------------------------------------------------------
 *
 * mongo_internal.h
 *	  The MongoDB source: connect with libmongoc, discover collections, and
 *	  stream each collection's documents in _id order, one sorted cursor a
 *	  collection, as relaxed extended JSON.  This header holds what the
 *	  files of src/mongo/ share: the private struct Source and the
 *	  functions one of them calls in another.
 *
 * The files of src/mongo/ are the only ones that include libmongoc /
 * libbson headers (through this one).  Every client-library return value
 * is checked; the client, any open cursor and any metadata handle are
 * released by a memory context callback, so an ERROR anywhere leaks
 * nothing.  Every document from the server is validated before it is
 * read, and nothing in it is trusted.
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
 * The files:
 *	mongo_conn.c		connect, the release callback, client errors, log lines
 *	mongo_discover.c	databases and collections, counts, collations
 *	mongo_json.c		BSON to JSON and to a typed column's text
 *	mongo_position.c	type order, resume queries, position text, _id order
 *	mongo_scan.c		streams and scans, mongo_source_ops
 *	mongo_structure.c	secondary indexes as expression indexes on the
 *						document (structure.h)
 *
 *-------------------------------------------------------------------------
 */

#ifndef APE_MONGO_INTERNAL_H
#define APE_MONGO_INTERNAL_H

#include <mongoc/mongoc.h>

#include "lib/stringinfo.h"

#include "config.h"
#include "source.h"

/* Deepest nesting of documents and arrays read (MongoDB allows 100). */
#define MONGO_MAX_DEPTH 200

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
	mongoc_collection_t *meta_coll;
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

/* mongo_conn.c */
extern Source *mongo_source_connect(const TaskConfig *config, const SourceReport *report);
extern void mongo_error_report(Source *s, const char *what, const bson_error_t *error);

/* mongo_discover.c */
extern List *mongo_source_list_tables(Source *s, const NameFilter *filter,
									   const List *kept);
extern int64 mongo_collection_count(Source *s, const char *name);
extern void mongo_check_collection_exists(Source *s);
extern bool mongo_is_collated(Source *s);

/* mongo_structure.c */
extern List *mongo_source_list_structures(Source *s, const SourceTable *t,
										  const TaskConfig *config, const char *dst_schema,
										  const char *dst_tb);

/* mongo_json.c */
extern char *mongo_message_id(Source *s);
extern void mongo_append_json_string(JsonOut *o, const char *str, size_t len);
extern void mongo_append_json_value(JsonOut *o, const bson_iter_t *it);
extern void mongo_append_json_top(JsonOut *o, const bson_t *doc);
extern bool mongo_append_typed_value(JsonOut *o, const bson_iter_t *it, ColKind kind);

/* mongo_position.c */
extern int	mongo_type_rank(bson_type_t type);
extern bool mongo_build_resume_filter(Source *s, bson_t *filter);
extern char *mongo_position_text(Source *s);
extern void mongo_parse_position(Source *s, const SourceTable *t, const char *text);
extern int	mongo_compare_ids(const bson_iter_t *a, const bson_iter_t *b);
extern bool mongo_number_at_most(const bson_iter_t *it, Datum upto);

#endif							/* APE_MONGO_INTERNAL_H */
