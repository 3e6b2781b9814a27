/*-------------------------------------------------------------------------
 *
 * position_json.c
 *	  The JSON objects of position lines, read and written with json-c.
 *
 * This file and table_rule_json.c alone include json-c's headers (its
 * json_object clashes with PostgreSQL's).  Every json-c object is released before a
 * function returns or raises an error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include <json.h>

#include "position.h"

#define POSITION_JSON_MAX_DEPTH 64

/*
 * A copy of JSON string v into *out; false for a string holding \u0000,
 * an error for the caller to name: C text would end there, and the value
 * used would not be the file's.
 */
static bool
dup_string(struct json_object *v, char **out)
{
	const char *str = json_object_get_string(v);
	int			len = json_object_get_string_len(v);

	if (memchr(str, '\0', len) != NULL)
		return false;
	*out = pnstrdup(str, len);
	return true;
}

/* A member that must be a JSON string (or null when null_ok). */
static bool
get_string(struct json_object *obj, const char *key, bool required,
		   bool null_ok, char **out, char **error)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v))
	{
		if (required)
			*error = psprintf("missing key \"%s\"", key);
		return !required;
	}
	if (v == NULL)
	{
		if (!null_ok)
			*error = psprintf("key \"%s\" is null, expected a string", key);
		return null_ok;
	}
	if (!json_object_is_type(v, json_type_string))
	{
		*error = psprintf("key \"%s\" is a JSON %s, expected a string",
						  key, json_type_to_name(json_object_get_type(v)));
		return false;
	}
	if (!dup_string(v, out))
	{
		*error = psprintf("key \"%s\" holds a NUL character", key);
		return false;
	}
	return true;
}

/* One [col, value] pair of order_key. */
static bool
get_key_pair(struct json_object *pair, char **col, char **value, char **error)
{
	struct json_object *c;
	struct json_object *v;

	if (!json_object_is_type(pair, json_type_array) ||
		json_object_array_length(pair) != 2)
	{
		*error = pstrdup("an order_key entry must be a [column, value] array");
		return false;
	}
	c = json_object_array_get_idx(pair, 0);
	v = json_object_array_get_idx(pair, 1);
	if (!json_object_is_type(c, json_type_string))
	{
		*error = pstrdup("an order_key column must be a string");
		return false;
	}
	if (v != NULL && !json_object_is_type(v, json_type_string))
	{
		*error = pstrdup("an order_key value must be a string or null");
		return false;
	}
	*value = NULL;
	if (!dup_string(c, col))
	{
		*error = pstrdup("an order_key column holds a NUL character");
		return false;
	}
	if (v != NULL && !dup_string(v, value))
	{
		*error = pstrdup("an order_key value holds a NUL character");
		return false;
	}
	return true;
}

static bool
get_order_key(struct json_object *ok, PositionEntry *entry, char **error)
{
	struct json_object *single;
	struct json_object *composite;

	entry->order_key_form = true;
	if (json_object_object_get_ex(ok, "single", &single))
	{
		entry->nkeys = 1;
		entry->order_cols = palloc(sizeof(char *));
		entry->values = palloc(sizeof(char *));
		return get_key_pair(single, &entry->order_cols[0], &entry->values[0], error);
	}
	if (json_object_object_get_ex(ok, "composite", &composite) &&
		json_object_is_type(composite, json_type_array) &&
		json_object_array_length(composite) > 0)
	{
		int			n = (int) json_object_array_length(composite);
		int			i;

		if (n > 32)
		{
			*error = pstrdup("an order_key may have at most 32 columns");
			return false;
		}
		entry->nkeys = n;
		entry->order_cols = palloc(n * sizeof(char *));
		entry->values = palloc(n * sizeof(char *));
		for (i = 0; i < n; i++)
			if (!get_key_pair(json_object_array_get_idx(composite, i),
							  &entry->order_cols[i], &entry->values[i], error))
				return false;
		return true;
	}
	*error = pstrdup("order_key must be {\"single\":[col,value]} or {\"composite\":[[col,value],...]}");
	return false;
}

static bool
entry_from_object(struct json_object *obj, PositionEntry *entry, char **error)
{
	char	   *type;
	struct json_object *ok;

	if (!json_object_is_type(obj, json_type_object))
	{
		*error = pstrdup("the position is not a JSON object");
		return false;
	}
	if (!get_string(obj, "type", true, false, &type, error))
		return false;
	if (strcmp(type, "None") == 0)
	{
		entry->kind = POSITION_NONE;
		return true;
	}
	if (strcmp(type, "RdbSnapshot") == 0)
		entry->kind = POSITION_SNAPSHOT;
	else if (strcmp(type, "RdbSnapshotFinished") == 0)
		entry->kind = POSITION_SNAPSHOT_FINISHED;
	else
	{
		*error = psprintf("unknown position type \"%s\"", type);
		return false;
	}
	if (!get_string(obj, "db_type", false, false, &entry->db_type, error) ||
		!get_string(obj, "schema", true, false, &entry->schema, error) ||
		!get_string(obj, "tb", true, false, &entry->tb, error))
		return false;
	if (entry->kind == POSITION_SNAPSHOT_FINISHED)
		return true;

	if (json_object_object_get_ex(obj, "order_key", &ok) && ok != NULL)
		return get_order_key(ok, entry, error);

	entry->nkeys = 1;
	entry->order_cols = palloc(sizeof(char *));
	entry->values = palloc(sizeof(char *));
	return get_string(obj, "order_col", true, false, &entry->order_cols[0], error) &&
		get_string(obj, "value", true, true, &entry->values[0], error);
}

/*
 * Parse one JSON object (len bytes, no NUL inside) into *entry.  Returns
 * false with *error set when the text is not a valid position.
 */
/*
 * Parse one JSON value of a line (trailing blanks allowed); NULL with
 * *error set on bad input.  The caller releases the object.
 */
static struct json_object *
parse_line_json(const char *json, size_t len, char **error)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t		end;

	*error = NULL;
	if (len > INT_MAX)
	{
		*error = pstrdup("line is too long");
		return NULL;
	}
	tok = json_tokener_new_ex(POSITION_JSON_MAX_DEPTH);
	if (tok == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, json, (int) len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue)
	{
		*error = pstrdup("invalid JSON: unexpected end of line");
		json_tokener_free(tok);
		return NULL;
	}
	if (jerr != json_tokener_success)
	{
		*error = psprintf("invalid JSON: %s", json_tokener_error_desc(jerr));
		json_tokener_free(tok);
		if (obj)
			json_object_put(obj);
		return NULL;
	}
	json_tokener_free(tok);
	while (end < len && (json[end] == ' ' || json[end] == '\t'))
		end++;
	if (end < len)
	{
		*error = pstrdup("invalid JSON: unexpected text after the object");
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

bool
position_json_parse(const char *json, size_t len, PositionEntry *entry, char **error)
{
	struct json_object *obj;
	bool		ok;

	memset(entry, 0, sizeof(PositionEntry));
	obj = parse_line_json(json, len, error);
	if (obj == NULL)
		return false;
	ok = entry_from_object(obj, entry, error);
	json_object_put(obj);
	return ok;
}

/* The members of a definitions.log line after schema and tb, in order. */
static const char *const definition_keys[POSITION_DEFINITION_N] = {
	"source", "where_conditions", "ignore_cols", "col_map", "target"
};

char *
position_json_definition(const char *schema, const char *tb, char *const *def)
{
	struct json_object *obj = json_object_new_object();
	char	   *result;

	json_object_object_add(obj, "schema", json_object_new_string(schema));
	json_object_object_add(obj, "tb", json_object_new_string(tb));
	for (int i = 0; i < POSITION_DEFINITION_N; i++)
		json_object_object_add(obj, definition_keys[i], json_object_new_string(def[i]));
	result = pstrdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
													JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
	return result;
}

bool
position_json_definition_parse(const char *json, size_t len, char **schema, char **tb,
							   char **def, char **error)
{
	struct json_object *obj = parse_line_json(json, len, error);
	bool		ok;

	if (obj == NULL)
		return false;
	ok = json_object_is_type(obj, json_type_object);
	if (!ok)
		*error = pstrdup("not a JSON object");
	ok = ok && get_string(obj, "schema", true, false, schema, error) &&
		get_string(obj, "tb", true, false, tb, error);
	for (int i = 0; ok && i < POSITION_DEFINITION_N; i++)
		ok = get_string(obj, definition_keys[i], true, false, &def[i], error);
	json_object_put(obj);
	return ok;
}

static struct json_object *
new_string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* Append the entry's JSON in ape-dts's key order. */
void
position_json_append(StringInfo buf, const PositionEntry *entry)
{
	struct json_object *obj = json_object_new_object();
	const char *text;

	json_object_object_add(obj, "type",
						   json_object_new_string(position_kind_name(entry->kind)));
	if (entry->kind != POSITION_NONE)
	{
		json_object_object_add(obj, "db_type", new_string_or_null(entry->db_type));
		json_object_object_add(obj, "schema", json_object_new_string(entry->schema));
		json_object_object_add(obj, "tb", json_object_new_string(entry->tb));
	}
	if (entry->kind == POSITION_SNAPSHOT && !entry->order_key_form && entry->nkeys == 1)
	{
		json_object_object_add(obj, "order_col", json_object_new_string(entry->order_cols[0]));
		json_object_object_add(obj, "value", new_string_or_null(entry->values[0]));
	}
	else if (entry->kind == POSITION_SNAPSHOT)
	{
		struct json_object *ok = json_object_new_object();
		int			i;

		if (entry->nkeys == 1)
		{
			struct json_object *pair = json_object_new_array();

			json_object_array_add(pair, json_object_new_string(entry->order_cols[0]));
			json_object_array_add(pair, new_string_or_null(entry->values[0]));
			json_object_object_add(ok, "single", pair);
		}
		else
		{
			struct json_object *list = json_object_new_array();

			for (i = 0; i < entry->nkeys; i++)
			{
				struct json_object *pair = json_object_new_array();

				json_object_array_add(pair, json_object_new_string(entry->order_cols[i]));
				json_object_array_add(pair, new_string_or_null(entry->values[i]));
				json_object_array_add(list, pair);
			}
			json_object_object_add(ok, "composite", list);
		}
		json_object_object_add(obj, "order_key", ok);
	}
	text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
										  JSON_C_TO_STRING_NOSLASHESCAPE);
	appendStringInfoString(buf, text);
	json_object_put(obj);
}

/* A JSON array of strings (NULL elements as null), as text. */
char *
position_json_string_array(char **items, int n)
{
	struct json_object *arr = json_object_new_array();
	char	   *result;
	int			i;

	for (i = 0; i < n; i++)
		json_object_array_add(arr, new_string_or_null(items[i]));
	result = pstrdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
													JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return result;
}
