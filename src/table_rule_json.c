/*-------------------------------------------------------------------------
 *
 * table_rule_json.c
 *	  Parsing of ape-dts's per-table JSON settings (where_conditions,
 *	  ignore_cols, col_map) into TableRules (table_rule.h).
 *
 * json-c parses the lists; every json-c object is released before an
 * error is reported (json-c allocates with malloc), and its headers stay in
 * this file and position_json.c (its json_object clashes with
 * PostgreSQL's).  The rest of the rules' code is in table_rule.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <json.h>

#include "table_rule.h"

#define JSON_PREFIX "json:"

static const char *const kind_field[] = {"condition", "ignore_cols", "col_map", "column"};

static TableRule *
rule_for(List **rules, const char *db, const char *tb)
{
	ListCell   *lc;
	TableRule  *r;

	foreach(lc, *rules)
	{
		r = lfirst(lc);
		if (strcmp(r->db, db) == 0 && strcmp(r->tb, tb) == 0)
			return r;
	}
	r = palloc0(sizeof(TableRule));
	r->db = pstrdup(db);
	r->tb = pstrdup(tb);
	*rules = lappend(*rules, r);
	return r;
}

/* A JSON string as a C string; NULL if it is not a string or holds a NUL. */
static char *
json_cstring(struct json_object *v)
{
	const char *s;
	int			len;

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	len = json_object_get_string_len(v);
	if (s == NULL || (int) strlen(s) != len)
		return NULL;
	return pstrdup(s);
}

/* A name of the list: a non-empty string no longer than a PostgreSQL name. */
static char *
json_name(struct json_object *v)
{
	char	   *s = json_cstring(v);

	if (s == NULL || s[0] == '\0' || strlen(s) >= NAMEDATALEN)
		return NULL;
	return s;
}

/*
 * "d.u": a table's source names, split at the last dot (a database name may
 * hold dots, a table name may not here)
 */
static bool
split_table_name(const char *text, char **db, char **tb)
{
	const char *dot = strrchr(text, '.');

	if (dot == NULL || dot == text || dot[1] == '\0' ||
		dot - text >= NAMEDATALEN || strlen(dot + 1) >= NAMEDATALEN)
		return false;
	*db = pnstrdup(text, dot - text);
	*tb = pstrdup(dot + 1);
	return true;
}

/* A [citus] distribution_columns entry: column, colocate_with, shard_count. */
static void
parse_distribution(TableRule *r, struct json_object *entry, struct json_object *column,
				   const char *db, const char *tb, char **error)
{
	struct json_object *v;

	if (r->dist_column != NULL)
	{
		*error = psprintf("table \"%s\".\"%s\" has more than one entry", db, tb);
		return;
	}
	r->dist_column = json_name(column);
	if (r->dist_column == NULL)
	{
		*error = psprintf("the column of table \"%s\".\"%s\" is not a column name", db, tb);
		return;
	}
	if (json_object_object_get_ex(entry, "colocate_with", &v))
	{
		char	   *with = json_cstring(v);

		if (with == NULL || !split_table_name(with, &r->colocate_db, &r->colocate_tb))
		{
			*error = psprintf("colocate_with of table \"%s\".\"%s\" is not a table's name as \"db.tb\"",
							  db, tb);
			return;
		}
	}
	if (json_object_object_get_ex(entry, "shard_count", &v))
	{
		if (!json_object_is_type(v, json_type_int) ||
			json_object_get_int64(v) < 1 || json_object_get_int64(v) > 64000)
		{
			*error = psprintf("shard_count of table \"%s\".\"%s\" is not an integer from 1 to 64000",
							  db, tb);
			return;
		}
		r->shard_count = (int) json_object_get_int64(v);
	}
	if (r->colocate_db != NULL && r->shard_count > 0)
		*error = psprintf("table \"%s\".\"%s\" has both colocate_with and shard_count (a colocated table has the shards of the other)",
						  db, tb);
	else if (r->colocate_db != NULL && strcmp(r->colocate_db, db) == 0 && strcmp(r->colocate_tb, tb) == 0)
		*error = psprintf("table \"%s\".\"%s\" is to be colocated with itself", db, tb);
}

/*
 * The values of one entry, checked; *error set on bad input.  Nothing here
 * raises an ERROR: the caller releases the json-c objects first.
 */
static void
parse_entry(List **rules, TableRuleKind kind, struct json_object *entry, int n,
			bool backslash_escapes, char **error)
{
	struct json_object *v;
	char	   *db;
	char	   *tb;
	TableRule  *r;
	struct json_object_iterator it;
	struct json_object_iterator end;

	if (!json_object_is_type(entry, json_type_object))
	{
		*error = psprintf("entry %d is not a JSON object", n);
		return;
	}
	db = json_object_object_get_ex(entry, "db", &v) ? json_cstring(v) : NULL;
	tb = json_object_object_get_ex(entry, "tb", &v) ? json_cstring(v) : NULL;
	if (db == NULL || tb == NULL || db[0] == '\0' || tb[0] == '\0')
	{
		*error = psprintf("entry %d lacks \"db\" or \"tb\" (non-empty strings)", n);
		return;
	}
	it = json_object_iter_begin(entry);
	end = json_object_iter_end(entry);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
	{
		const char *field = json_object_iter_peek_name(&it);

		if (strcmp(field, "db") != 0 && strcmp(field, "tb") != 0 &&
			strcmp(field, kind_field[kind]) != 0 &&
			!(kind == TABLE_RULE_DISTRIBUTION &&
			  (strcmp(field, "colocate_with") == 0 || strcmp(field, "shard_count") == 0)))
		{
			*error = psprintf("entry %d (table \"%s\".\"%s\") has an unknown field \"%s\"",
							  n, db, tb, field);
			return;
		}
	}
	if (!json_object_object_get_ex(entry, kind_field[kind], &v))
	{
		*error = psprintf("entry %d (table \"%s\".\"%s\") lacks \"%s\"",
						  n, db, tb, kind_field[kind]);
		return;
	}
	r = rule_for(rules, db, tb);
	switch (kind)
	{
		case TABLE_RULE_WHERE:
			{
				char	   *cond = json_cstring(v);
				const char *problem;

				if (r->where != NULL)
				{
					*error = psprintf("table \"%s\".\"%s\" has more than one entry", db, tb);
					return;
				}
				if (cond == NULL)
				{
					*error = psprintf("the condition of table \"%s\".\"%s\" is not a string", db, tb);
					return;
				}
				problem = sql_condition_problem(cond, backslash_escapes);
				if (problem != NULL)
				{
					*error = psprintf("the condition of table \"%s\".\"%s\" is not one SQL expression: %s",
									  db, tb, problem);
					return;
				}
				r->where = cond;
				break;
			}
		case TABLE_RULE_IGNORE_COLS:
			{
				size_t		len;

				if (r->ignore_cols != NIL)
				{
					*error = psprintf("table \"%s\".\"%s\" has more than one entry", db, tb);
					return;
				}
				if (!json_object_is_type(v, json_type_array))
				{
					*error = psprintf("ignore_cols of table \"%s\".\"%s\" is not a JSON array", db, tb);
					return;
				}
				len = json_object_array_length(v);
				for (size_t i = 0; i < len; i++)
				{
					char	   *col = json_name(json_object_array_get_idx(v, i));

					if (col == NULL)
					{
						*error = psprintf("ignore_cols of table \"%s\".\"%s\" holds something that is not a column name",
										  db, tb);
						return;
					}
					r->ignore_cols = lappend(r->ignore_cols, col);
				}
				break;
			}
		case TABLE_RULE_COL_MAP:
			{
				if (r->col_map != NIL)
				{
					*error = psprintf("table \"%s\".\"%s\" has more than one entry", db, tb);
					return;
				}
				if (!json_object_is_type(v, json_type_object))
				{
					*error = psprintf("col_map of table \"%s\".\"%s\" is not a JSON object", db, tb);
					return;
				}
				it = json_object_iter_begin(v);
				end = json_object_iter_end(v);
				for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
				{
					const char *src = json_object_iter_peek_name(&it);
					ColumnRename *cr = palloc(sizeof(ColumnRename));
					ListCell   *lc;

					cr->src = pstrdup(src);
					cr->dst = json_name(json_object_iter_peek_value(&it));
					if (cr->src[0] == '\0' || cr->dst == NULL)
					{
						*error = psprintf("col_map of table \"%s\".\"%s\" maps \"%s\" to something that is not a column name",
										  db, tb, src);
						return;
					}
					foreach(lc, r->col_map)
					{
						ColumnRename *other = lfirst(lc);

						if (strcmp(other->dst, cr->dst) == 0)
						{
							*error = psprintf("col_map of table \"%s\".\"%s\" maps both \"%s\" and \"%s\" to \"%s\"",
											  db, tb, other->src, cr->src, cr->dst);
							return;
						}
					}
					r->col_map = lappend(r->col_map, cr);
				}
				break;
			}
		case TABLE_RULE_DISTRIBUTION:
			parse_distribution(r, entry, v, db, tb, error);
			break;
	}
}

List *
table_rules_parse(List *rules, TableRuleKind kind, const char *text,
				  bool backslash_escapes, char **error)
{
	struct json_tokener *tok;
	struct json_object *root;
	List	   *result = list_copy(rules);
	size_t		len;

	*error = NULL;
	while (*text == ' ' || *text == '\t')
		text++;
	if (strncmp(text, JSON_PREFIX, strlen(JSON_PREFIX)) == 0)
		text += strlen(JSON_PREFIX);
	if (*text == '\0')
		return rules;

	tok = json_tokener_new();
	if (tok == NULL)
	{
		*error = pstrdup("out of memory");
		return rules;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, text, (int) strlen(text));
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
		json_tokener_get_parse_end(tok) != strlen(text))
	{
		*error = psprintf("it is not a JSON array: %s at character %d",
						  root == NULL ? json_tokener_error_desc(json_tokener_get_error(tok)) :
						  "text after the array", (int) json_tokener_get_parse_end(tok) + 1);
		json_object_put(root);
		json_tokener_free(tok);
		return rules;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(root, json_type_array))
	{
		*error = pstrdup("it is not a JSON array");
		json_object_put(root);
		return rules;
	}
	len = json_object_array_length(root);
	for (size_t i = 0; i < len && *error == NULL; i++)
		parse_entry(&result, kind, json_object_array_get_idx(root, i), (int) i + 1,
					backslash_escapes, error);
	json_object_put(root);
	if (*error != NULL)
		return rules;
	return result;
}
