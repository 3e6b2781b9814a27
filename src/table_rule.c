/*-------------------------------------------------------------------------
 *
 * table_rule.c
 *	  The per-table settings of a task config (table_rule.h): finding a
 *	  table's rule, its columns' names, its text, and the lexical check of
 *	  a row condition.  table_rule_json.c parses them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "table_rule.h"

bool
table_rules_distribute(const List *rules)
{
	ListCell   *lc;

	foreach(lc, rules)
		if (((const TableRule *) lfirst(lc))->dist_column != NULL)
			return true;
	return false;
}

const TableRule *
table_rule_find(const List *rules, const char *db, const char *tb)
{
	ListCell   *lc;

	foreach(lc, rules)
	{
		const TableRule *r = lfirst(lc);

		if (strcmp(r->db, db) == 0 && strcmp(r->tb, tb) == 0)
			return r;
	}
	return NULL;
}

bool
table_rule_ignores(const TableRule *rule, const char *col)
{
	ListCell   *lc;

	if (rule == NULL)
		return false;
	foreach(lc, rule->ignore_cols)
		if (strcmp(lfirst(lc), col) == 0)
			return true;
	return false;
}

const char *
table_rule_target_name(const TableRule *rule, const char *col)
{
	ListCell   *lc;

	if (rule == NULL)
		return col;
	foreach(lc, rule->col_map)
	{
		ColumnRename *cr = lfirst(lc);

		if (strcmp(cr->src, col) == 0)
			return cr->dst;
	}
	return col;
}

char *
table_rule_text(const TableRule *rule, TableRuleKind kind)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	if (rule == NULL)
		return buf.data;
	if (kind == TABLE_RULE_WHERE && rule->where != NULL)
		appendStringInfoString(&buf, rule->where);
	else if (kind == TABLE_RULE_IGNORE_COLS)
		foreach(lc, rule->ignore_cols)
			appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "",
							 quote_identifier(lfirst(lc)));
	else if (kind == TABLE_RULE_COL_MAP)
		foreach(lc, rule->col_map)
		{
			ColumnRename *cr = lfirst(lc);

			appendStringInfo(&buf, "%s%s -> %s", buf.len > 0 ? ", " : "",
							 quote_identifier(cr->src), quote_identifier(cr->dst));
		}
	else if (kind == TABLE_RULE_DISTRIBUTION && rule->dist_column != NULL)
	{
		appendStringInfoString(&buf, quote_identifier(rule->dist_column));
		if (rule->colocate_db != NULL)
			appendStringInfo(&buf, " colocated with %s.%s", quote_identifier(rule->colocate_db),
							 quote_identifier(rule->colocate_tb));
		if (rule->shard_count > 0)
			appendStringInfo(&buf, ", %d shards", rule->shard_count);
	}
	return buf.data;
}

static bool
is_ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '$' || (unsigned char) c >= 0x80;
}

/*
 * Skip a quoted string or name starting at *p (on its opening quote):
 * the quote doubled stands for itself, and with backslash a backslash
 * escapes the next character.  false if it is not terminated.
 */
static bool
skip_quoted(const char **p, char quote, bool backslash)
{
	const char *c = *p + 1;

	for (;;)
	{
		if (*c == '\0')
			return false;
		if (backslash && *c == '\\')
		{
			if (c[1] == '\0')
				return false;
			c += 2;
			continue;
		}
		if (*c == quote)
		{
			if (c[1] == quote)
			{
				c += 2;
				continue;
			}
			*p = c + 1;
			return true;
		}
		c++;
	}
}

const char *
sql_condition_problem(const char *text, bool backslash_escapes)
{
	const char *p = text;
	int			depth = 0;
	bool		any = false;

	/*
	 * No control character but tab and line ends, anywhere: MariaDB ends a
	 * "--" comment's dashes with any of them, and no condition needs one.
	 */
	for (p = text; *p; p++)
		if (((unsigned char) *p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') ||
			*p == 0x7f)
			return "it holds a control character";
	p = text;

	while (*p)
	{
		char		c = *p;

		if (c == '\'' || c == '"' || (c == '`' && backslash_escapes))
		{
			/*
			 * MySQL (sql_mode without NO_BACKSLASH_ESCAPES): backslash
			 * escapes in '' and "" strings.  PostgreSQL: only in E'' strings.
			 */
			bool		backslash = backslash_escapes ? c != '`' :
				(c == '\'' && p > text && (p[-1] == 'E' || p[-1] == 'e') &&
				 (p - 1 == text || !is_ident_char(p[-2])));

			if (!skip_quoted(&p, c, backslash))
				return c == '\'' ? "a string is not terminated" : "a quoted name is not terminated";
			any = true;
			continue;
		}
		if (c == '$' && !backslash_escapes && (p == text || !is_ident_char(p[-1])))
		{
			/* a PostgreSQL dollar-quoted string: $tag$ ... $tag$ */
			const char *q = p + 1;

			while (*q && is_ident_char(*q) && *q != '$' && !(q == p + 1 && *q >= '0' && *q <= '9'))
				q++;
			if (*q == '$')
			{
				size_t		taglen = q - p + 1;
				const char *end = q + 1;

				for (;;)
				{
					end = strchr(end, '$');
					if (end == NULL)
						return "a dollar-quoted string is not terminated";
					if (strncmp(end, p, taglen) == 0)
						break;
					end++;
				}
				p = end + taglen;
				any = true;
				continue;
			}
		}
		if (c == ';')
			return "it holds a \";\" (a second statement)";
		if ((c == '-' && p[1] == '-' &&
			 (!backslash_escapes || p[2] == '\0' || p[2] == ' ' || p[2] == '\t' ||
			  p[2] == '\n' || p[2] == '\r')) ||
			(c == '/' && p[1] == '*') || (c == '#' && backslash_escapes))
			return "it holds a comment";
		if (c == '(')
			depth++;
		else if (c == ')' && --depth < 0)
			return "a \")\" closes a parenthesis it did not open";
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			any = true;
		p++;
	}
	if (depth > 0)
		return "a \"(\" is not closed";
	if (!any)
		return "it is empty";
	return NULL;
}
