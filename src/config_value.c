/*-------------------------------------------------------------------------
 *
 * config_value.c
 *	  One value of a task config read as what its key takes
 *	  (config_value.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <limits.h>

#include "utils/builtins.h"

#include "config_value.h"

void
config_bad_value(const IniItem *item, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value \"%s\" for key \"%s\" in section [%s]",
					item->value, item->key, item->section),
			 errdetail_internal("%s", why)));
}

int
config_parse_int(const IniItem *item, int min, int max)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(item->value, &end, 10);
	if (item->value[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		config_bad_value(item, psprintf("Expected an integer from %d to %d.", min, max));
	return (int) v;
}

bool
config_parse_bool(const IniItem *item)
{
	bool		result;

	if (!parse_bool(item->value, &result))
		config_bad_value(item, "Expected true or false.");
	return result;
}

/*
 * [extractor] split_tables_larger_than: a number of rows ("2000000"), or a
 * size with one of PostgreSQL's units ("500MB", "2GB"; kB, MB, GB, TB).
 */
void
config_parse_split(const IniItem *item, TaskConfig *config)
{
	static const struct
	{
		const char *unit;
		int64		bytes;
	}			units[] = {
		{"kB", INT64CONST(1) << 10},
		{"MB", INT64CONST(1) << 20},
		{"GB", INT64CONST(1) << 30},
		{"TB", INT64CONST(1) << 40},
	};
	char	   *end;
	int64		v;

	errno = 0;
	v = strtoi64(item->value, &end, 10);
	if (errno != 0 || end == item->value || v < 1 || !isdigit((unsigned char) item->value[0]))
		config_bad_value(item, "Expected a number of rows, or a size such as 500MB (units kB, MB, GB, TB).");
	while (*end == ' ')
		end++;
	config->split_rows = 0;
	config->split_bytes = 0;
	if (*end == '\0')
	{
		config->split_rows = v;
		return;
	}
	for (int i = 0; i < lengthof(units); i++)
		if (strcmp(end, units[i].unit) == 0)
		{
			if (v > PG_INT64_MAX / units[i].bytes)
				config_bad_value(item, "The size is too large.");
			config->split_bytes = v * units[i].bytes;
			return;
		}
	config_bad_value(item, "Expected a number of rows, or a size such as 500MB (units kB, MB, GB, TB).");
}

/*
 * [filter] do_structures: a comma list of what follows a created table's
 * data, ape-dts's names; empty or "*": everything.  "table", "database",
 * "schema" (and Mongo's "collection") name what is always created.
 */
int
config_parse_structures(const IniItem *item)
{
	static const struct
	{
		const char *name;
		int			bits;
	}			names[] = {
		{"*", STRUCT_ALL},
		{"table", 0},
		{"database", 0},
		{"schema", 0},
		{"collection", 0},
		{"default", STRUCT_DEFAULT},
		{"constraint", STRUCT_CONSTRAINT},
		{"index", STRUCT_INDEX},
		{"sequence", STRUCT_SEQUENCE},
		{"comment", STRUCT_COMMENT},
		{"type", STRUCT_TYPE},
	};
	char	   *copy = pstrdup(item->value);
	char	   *tok;
	char	   *save = NULL;
	int			bits = 0;
	bool		any = false;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
	{
		char	   *name = ini_lower(tok);
		char	   *end;
		int			i;

		while (*name == ' ' || *name == '\t')
			name++;
		end = name + strlen(name);
		while (end > name && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*name == '\0')
			continue;
		for (i = 0; i < lengthof(names); i++)
			if (strcmp(names[i].name, name) == 0)
				break;
		if (i == lengthof(names))
			config_bad_value(item, psprintf("\"%s\" is not a kind of structure: expected a comma list of table, default, constraint, index, sequence, comment, type, or *.", name));
		bits |= names[i].bits;
		any = true;
	}
	return any ? bits : STRUCT_ALL;
}

List *
config_parse_patterns(const IniItem *item, SourceKind kind, bool want_tb)
{
	char	   *error;
	List	   *list = name_pattern_list_parse(item->value, source_quote_char(kind),
											   want_tb, &error);

	if (error != NULL)
		config_bad_value(item, psprintf("%s.", error));
	return list;
}

List *
config_parse_routes(const IniItem *item, SourceKind kind, bool want_tb)
{
	char	   *error;
	List	   *list = name_route_list_parse(item->value, source_quote_char(kind),
											 want_tb, &error);

	if (error != NULL)
		config_bad_value(item, psprintf("%s.", error));
	return list;
}

List *
config_parse_table_rules(const IniItem *item, const TaskConfig *config, TableRuleKind kind)
{
	char	   *error;
	List	   *rules = table_rules_parse(config->filter.table_rules, kind, item->value,
										  config->db_type == SOURCE_MYSQL, &error);

	if (error != NULL)
		config_bad_value(item, psprintf("The value is ape-dts's JSON list, as in "
								 "%s=json:[{\"db\":\"d\",\"tb\":\"t\",%s}]; %s.",
								 item->key,
								 kind == TABLE_RULE_WHERE ? "\"condition\":\"f_0 > 1\"" :
								 kind == TABLE_RULE_IGNORE_COLS ? "\"ignore_cols\":[\"f_2\"]" :
								 kind == TABLE_RULE_COL_MAP ? "\"col_map\":{\"f_0\":\"dst_f_0\"}" :
								 "\"column\":\"tenant_id\"",
								 error));
	return rules;
}

char *
config_parse_dir(const IniItem *item)
{
	if (item->value[0] == '\0')
		return NULL;
	return ape_resolve_path(item->value);
}

