/*-------------------------------------------------------------------------
 *
 * mongo_position.c
 *	  The MongoDB source's positions: MongoDB's order of BSON types, the
 *	  query for the documents after a position, a position's text and
 *	  its parsing, _id comparison, and what FerretDB cannot store.
 *
 * Order and positions, and FerretDB's limits, are described in
 * mongo_internal.h.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "mongo_internal.h"

/*
 * MongoDB's order of types (canonicalizeBSONType): types of one rank
 * compare by value, $gt matches only its own rank.
 */
int
mongo_type_rank(bson_type_t type)
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
					s->schema, s->tb, mongo_position_text(s), detail)));
}

/*
 * Build the query for the documents after the position in s->last_id.
 * Returns false when nothing can follow it.
 */
bool
mongo_build_resume_filter(Source *s, bson_t *filter)
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
	rank = mongo_type_rank(bson_iter_type(&v));
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

/*
 * The position text of the last _id: 24 hex digits for an ObjectId,
 * ape-dts's tagged JSON otherwise.
 */
char *
mongo_position_text(Source *s)
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
				mongo_append_json_string(&o, str, len);
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
			mongo_append_json_value(&o, &it);
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
void
mongo_parse_position(Source *s, const SourceTable *t, const char *text)
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

/*
 * Compare two _id values in MongoDB's order: -1, 0, 1, or 2 when this
 * code does not know (documents, arrays, Decimal128, regex, code).
 */
int
mongo_compare_ids(const bson_iter_t *a, const bson_iter_t *b)
{
	int			ra = mongo_type_rank(bson_iter_type(a));
	int			rb = mongo_type_rank(bson_iter_type(b));

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
bool
mongo_number_at_most(const bson_iter_t *it, Datum upto)
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
