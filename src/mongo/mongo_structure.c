/*-------------------------------------------------------------------------
 *
 * mongo_structure.c
 *	  The MongoDB source's structures (structure.h): a collection's
 *	  secondary indexes on plain fields become btree expression indexes on
 *	  the document column of its table, ((doc -> 'a')), a dotted path
 *	  ((doc #> '{a,b}')), compound in order, descending parts kept.
 *
 *	  What does not carry over is listed as not copied, with the reason:
 *	  unique indexes (jsonb equality is not BSON's: 1 and 1.0, key order),
 *	  text, 2d, 2dsphere and hashed indexes, TTL (expireAfterSeconds),
 *	  partial indexes, and indexes with a collation.  An index on a field
 *	  that holds arrays (multikey) indexes the whole array as one jsonb
 *	  value, which serves equality on the array, not on its elements.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include "commands/defrem.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "mongo_internal.h"
#include "structure.h"

/* The jsonb expression of a field path on the doc column. */
static char *
path_expression(const char *path)
{
	StringInfoData out;
	const char *p;

	if (strchr(path, '.') == NULL)
		return psprintf("(doc OPERATOR(pg_catalog.->) %s)", quote_literal_cstr(path));
	initStringInfo(&out);
	appendStringInfoString(&out, "{");
	for (p = path; *p; p++)
	{
		/* an element of a text[] literal, double-quoted */
		if (p == path || p[-1] == '.')
			appendStringInfoChar(&out, '"');
		if (*p == '.')
		{
			appendStringInfoString(&out, "\",");
			continue;
		}
		if (*p == '"' || *p == '\\')
			appendStringInfoChar(&out, '\\');
		appendStringInfoChar(&out, *p);
	}
	appendStringInfoString(&out, "\"}");
	return psprintf("(doc OPERATOR(pg_catalog.#>) %s::pg_catalog.text[])",
					quote_literal_cstr(out.data));
}

/* A StructureDef of one listIndexes entry. */
static StructureDef *
plan_index(const bson_t *info, const char *dst_schema, const char *dst_tb, List **taken)
{
	bson_iter_t it;
	bson_iter_t key;
	const char *src_name;
	char	   *name;
	StringInfoData parts;

	if (!bson_iter_init_find(&it, info, "name") || !BSON_ITER_HOLDS_UTF8(&it))
		return NULL;
	src_name = bson_iter_utf8(&it, NULL);
	if (strcmp(src_name, "_id_") == 0)
		return NULL;			/* the primary key */
	if (!pg_verifymbstr(src_name, strlen(src_name), true))
		return NULL;
	name = structure_index_name(dst_schema, dst_tb, src_name, taken);
	if (bson_iter_init_find(&it, info, "unique") && bson_iter_as_bool(&it))
		return structure_not_copied("index", name, STRUCT_INDEX,
									"a unique index: jsonb equality is not BSON's (1 and 1.0, key order)", NULL);
	if (bson_iter_init_find(&it, info, "expireAfterSeconds"))
		return structure_not_copied("index", name, STRUCT_INDEX,
									"a TTL index: PostgreSQL does not expire rows", NULL);
	if (bson_iter_init_find(&it, info, "partialFilterExpression"))
		return structure_not_copied("index", name, STRUCT_INDEX,
									"a partial index: its filter does not translate", NULL);
	if (bson_iter_init_find(&it, info, "collation"))
		return structure_not_copied("index", name, STRUCT_INDEX,
									"an index with a collation: jsonb compares strings by code point", NULL);
	if (!bson_iter_init_find(&it, info, "key") || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
		!bson_iter_recurse(&it, &key))
		return structure_not_copied("index", name, STRUCT_INDEX, "its key could not be read", NULL);

	initStringInfo(&parts);
	while (bson_iter_next(&key))
	{
		const char *field = bson_iter_key(&key);
		bool		desc;

		if (BSON_ITER_HOLDS_UTF8(&key))
			return structure_not_copied("index", name, STRUCT_INDEX,
										psprintf("a \"%s\" index: PostgreSQL has no such index on a document",
												 bson_iter_utf8(&key, NULL)), NULL);
		if (!BSON_ITER_HOLDS_NUMBER(&key) || bson_iter_as_double(&key) == 0.0)
			return structure_not_copied("index", name, STRUCT_INDEX, "its key could not be read", NULL);
		if (field[0] == '\0' || field[0] == '$' || strstr(field, "..") ||
			field[strlen(field) - 1] == '.' || !pg_verifymbstr(field, strlen(field), true))
			return structure_not_copied("index", name, STRUCT_INDEX,
										"a key on a field path that does not translate", NULL);
		desc = bson_iter_as_double(&key) < 0;
		appendStringInfo(&parts, "%s%s%s", parts.len ? ", " : "", path_expression(field),
						 desc ? " DESC" : "");
	}
	if (parts.len == 0)
		return structure_not_copied("index", name, STRUCT_INDEX, "its key is empty", NULL);
	return structure_new("index", name, STRUCT_PHASE_TABLE, STRUCT_INDEX,
						 psprintf("CREATE INDEX %s ON %s.%s (%s)", quote_identifier(name),
								  quote_identifier(dst_schema), quote_identifier(dst_tb),
								  parts.data));
}

List *
mongo_source_list_structures(Source *s, const SourceTable *t, const TaskConfig *config,
							 const char *dst_schema, const char *dst_tb)
{
	List	   *defs = NIL;
	List	   *taken = NIL;
	const bson_t *info;
	bson_error_t error;

	s->meta_coll = mongoc_client_get_collection(s->client, t->schema, t->tb);
	s->meta_cursor = mongoc_collection_find_indexes_with_opts(s->meta_coll, NULL);
	while (mongoc_cursor_next(s->meta_cursor, &info))
	{
		StructureDef *d;

		CHECK_FOR_INTERRUPTS();
		d = plan_index(info, dst_schema, dst_tb, &taken);
		if (d)
			defs = lappend(defs, d);
	}
	if (mongoc_cursor_error(s->meta_cursor, &error))
		mongo_error_report(s, psprintf("listing the indexes of collection \"%s\".\"%s\"",
									   t->schema, t->tb), &error);
	mongoc_cursor_destroy(s->meta_cursor);
	s->meta_cursor = NULL;
	mongoc_collection_destroy(s->meta_coll);
	s->meta_coll = NULL;
	return defs;
}
