/*-------------------------------------------------------------------------
 *
 * mongo_json.c
 *	  The MongoDB source's documents to text: BSON values as relaxed (or
 *	  canonical) extended JSON, and as the PostgreSQL input text of a
 *	  typed target column (dates, numbers, bytea, uuid).
 *
 * The BSON to JSON table is in mongo_internal.h.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include <math.h>

#include "common/base64.h"
#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "mongo_internal.h"

/* Longest _id shown in a message, in bytes. */
#define MONGO_MESSAGE_ID_LEN 200

static void append_json_document(JsonOut *o, const bson_iter_t *it, bool array);
static void append_json_elements(JsonOut *o, bson_iter_t *child, bool array);

/* The _id of the document being converted, as short JSON for messages. */
char *
mongo_message_id(Source *s)
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
	mongo_append_json_value(&o, &it);
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
					mongo_message_id(s), s->schema, s->tb, json_path(o), detail),
			 errhint("Change the document at the source, then resume the task.")));
}

/*
 * Append a JSON string.  It must be UTF-8 without NUL characters, which
 * jsonb and text cannot hold; in lenient mode (messages) those are escaped.
 */
void
mongo_append_json_string(JsonOut *o, const char *str, size_t len)
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
	mongo_append_json_string(o, key, strlen(key));
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
void
mongo_append_json_value(JsonOut *o, const bson_iter_t *it)
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
			mongo_append_json_string(o, str, len);
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
				mongo_append_json_string(o, str, strlen(str));
				appendStringInfoString(buf, ",\"options\":");
				mongo_append_json_string(o, options, strlen(options));
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
				mongo_append_json_string(o, coll, len);
				bson_oid_to_string(oid, hex);
				appendStringInfo(buf, ",\"$id\":{\"$oid\":\"%s\"}}}", hex);
			}
			break;
		case BSON_TYPE_CODE:
			str = bson_iter_code(it, &len);
			appendStringInfoString(buf, "{\"$code\":");
			mongo_append_json_string(o, str, len);
			appendStringInfoChar(buf, '}');
			break;
		case BSON_TYPE_SYMBOL:
			str = bson_iter_symbol(it, &len);
			appendStringInfoString(buf, "{\"$symbol\":");
			mongo_append_json_string(o, str, len);
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
				mongo_append_json_string(o, str, len);
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
		mongo_append_json_value(o, child);
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
void
mongo_append_json_top(JsonOut *o, const bson_t *doc)
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
bool
mongo_append_typed_value(JsonOut *o, const bson_iter_t *it, ColKind kind)
{
	StringInfo	buf = o->buf;
	uint32_t	len;
	const char *str;

	if (kind == CK_JSON)
	{
		mongo_append_json_value(o, it);
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
				mongo_append_json_value(o, it);
				return true;
			}
		default:
			mongo_append_json_value(o, it);
			return true;
	}
}
