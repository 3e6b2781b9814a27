/*-------------------------------------------------------------------------
 *
 * name_filter.c
 *	  Parsing and matching of the [filter] and [router] name lists.
 *
 * A list is comma-separated.  Each entry is "db" or "db.tb"; an unquoted
 * part may use the wildcards * and ?, a part quoted with the source's quote
 * character (` for MySQL and Mongo, " for PostgreSQL) is a literal name and
 * may contain '.', ',', '*' and the quote itself doubled.  ignore_* lists
 * beat do_* lists.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "name_filter.h"

typedef struct NameScanner
{
	const char *p;
	char		quote;
} NameScanner;

static void
skip_spaces(NameScanner *s)
{
	while (*s->p == ' ' || *s->p == '\t')
		s->p++;
}

/*
 * Scan one name part, stopping before any character in stop (outside
 * quotes).  Returns false and sets *error on bad input.
 */
static bool
scan_part(NameScanner *s, const char *stop, NamePart *out, char **error)
{
	StringInfoData buf;

	initStringInfo(&buf);
	skip_spaces(s);
	if (*s->p == s->quote)
	{
		s->p++;
		for (;;)
		{
			if (*s->p == '\0')
			{
				*error = psprintf("unterminated quoted name %c%s", s->quote, buf.data);
				return false;
			}
			if (*s->p == s->quote)
			{
				if (s->p[1] == s->quote)
				{
					appendStringInfoChar(&buf, s->quote);
					s->p += 2;
					continue;
				}
				s->p++;
				break;
			}
			appendStringInfoChar(&buf, *s->p++);
		}
		if (buf.len == 0)
		{
			*error = pstrdup("empty quoted name");
			return false;
		}
		out->literal = true;
	}
	else
	{
		while (*s->p != '\0' && strchr(stop, *s->p) == NULL)
		{
			if (*s->p == s->quote)
			{
				*error = psprintf("unexpected %c inside name \"%s\": quote the whole name",
								  s->quote, buf.data);
				return false;
			}
			appendStringInfoChar(&buf, *s->p++);
		}
		while (buf.len > 0 && (buf.data[buf.len - 1] == ' ' || buf.data[buf.len - 1] == '\t'))
			buf.data[--buf.len] = '\0';
		if (buf.len == 0)
		{
			*error = pstrdup("empty name");
			return false;
		}
		out->literal = false;
	}
	skip_spaces(s);
	out->text = buf.data;
	return true;
}

/*
 * Scan "db" or "db.tb" into *pattern; stop holds the characters that end
 * the whole name (a dot ends a part).
 */
static bool
scan_name(NameScanner *s, const char *stop, bool want_tb, NamePattern *pattern,
		  char **error)
{
	char	   *part_stop = psprintf("%s.", stop);

	if (!scan_part(s, part_stop, &pattern->db, error))
		return false;
	pattern->has_tb = false;
	if (want_tb)
	{
		if (*s->p != '.')
		{
			*error = psprintf("expected db.tb, found \"%s\" without a table part",
							  pattern->db.text);
			return false;
		}
		s->p++;
		if (!scan_part(s, part_stop, &pattern->tb, error))
			return false;
		pattern->has_tb = true;
	}
	if (*s->p == '.')
	{
		*error = psprintf("unexpected \".\" after \"%s\": quote a name that contains a dot",
						  want_tb ? pattern->tb.text : pattern->db.text);
		return false;
	}
	return true;
}

static bool
at_list_end(NameScanner *s, char **error)
{
	if (*s->p == ',')
	{
		s->p++;
		return false;
	}
	if (*s->p != '\0')
		*error = psprintf("unexpected \"%c\"", *s->p);
	return true;
}

static bool
is_blank(const char *text)
{
	for (; *text; text++)
		if (*text != ' ' && *text != '\t')
			return false;
	return true;
}

List *
name_pattern_list_parse(const char *text, char quote, bool want_tb, char **error)
{
	NameScanner s = {text, quote};
	List	   *result = NIL;

	*error = NULL;
	if (text == NULL || is_blank(text))
		return NIL;
	for (;;)
	{
		NamePattern *pattern = palloc0(sizeof(NamePattern));

		if (!scan_name(&s, ",", want_tb, pattern, error))
			return NIL;
		result = lappend(result, pattern);
		if (at_list_end(&s, error))
			break;
	}
	return *error ? NIL : result;
}

List *
name_route_list_parse(const char *text, char quote, bool want_tb, char **error)
{
	NameScanner s = {text, quote};
	List	   *result = NIL;

	*error = NULL;
	if (text == NULL || is_blank(text))
		return NIL;
	for (;;)
	{
		NamePattern src;
		NamePattern dst;
		NameRoute  *route;

		if (!scan_name(&s, ":,", want_tb, &src, error))
			return NIL;
		if (*s.p != ':')
		{
			*error = psprintf("expected \":\" after \"%s\"", src.db.text);
			return NIL;
		}
		s.p++;
		if (!scan_name(&s, ",", want_tb, &dst, error))
			return NIL;
		if (!src.db.literal && strpbrk(src.db.text, "*?") != NULL)
		{
			*error = psprintf("wildcards are not allowed in a map: \"%s\"", src.db.text);
			return NIL;
		}
		if (want_tb && !src.tb.literal && strpbrk(src.tb.text, "*?") != NULL)
		{
			*error = psprintf("wildcards are not allowed in a map: \"%s\"", src.tb.text);
			return NIL;
		}
		route = palloc0(sizeof(NameRoute));
		route->src_db = src.db.text;
		route->dst_schema = dst.db.text;
		if (want_tb)
		{
			route->src_tb = src.tb.text;
			route->dst_tb = dst.tb.text;
		}
		result = lappend(result, route);
		if (at_list_end(&s, error))
			break;
	}
	return *error ? NIL : result;
}

/* Glob match with * (any run) and ? (one byte); case-sensitive. */
static bool
wildcard_match(const char *pattern, const char *name)
{
	const char *star = NULL;
	const char *resume = NULL;

	while (*name)
	{
		if (*pattern == '*')
		{
			star = pattern++;
			resume = name;
		}
		else if (*pattern == '?' || *pattern == *name)
		{
			pattern++;
			name++;
		}
		else if (star != NULL)
		{
			pattern = star + 1;
			name = ++resume;
		}
		else
			return false;
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}

bool
name_part_matches(const NamePart *part, const char *name)
{
	if (part->literal)
		return strcmp(part->text, name) == 0;
	return wildcard_match(part->text, name);
}

static bool
any_db_matches(List *patterns, const char *db)
{
	ListCell   *lc;

	foreach(lc, patterns)
	{
		NamePattern *p = lfirst(lc);

		if (name_part_matches(&p->db, db))
			return true;
	}
	return false;
}

static bool
any_table_matches(List *patterns, const char *db, const char *tb)
{
	ListCell   *lc;

	foreach(lc, patterns)
	{
		NamePattern *p = lfirst(lc);

		if (name_part_matches(&p->db, db) && name_part_matches(&p->tb, tb))
			return true;
	}
	return false;
}

bool
name_filter_wants_db(const NameFilter *filter, const char *db)
{
	if (any_db_matches(filter->ignore_dbs, db))
		return false;
	/* a database is worth listing if any do_* entry may select one of its tables */
	return any_db_matches(filter->do_dbs, db) || any_db_matches(filter->do_tbs, db);
}

bool
name_filter_wants_table(const NameFilter *filter, const char *db, const char *tb)
{
	if (any_db_matches(filter->ignore_dbs, db) ||
		any_table_matches(filter->ignore_tbs, db, tb))
		return false;
	return any_db_matches(filter->do_dbs, db) ||
		any_table_matches(filter->do_tbs, db, tb);
}

void
name_filter_route(const NameFilter *filter, const char *db, const char *tb,
				  char **dst_schema, char **dst_tb)
{
	ListCell   *lc;

	foreach(lc, filter->tb_map)
	{
		NameRoute  *r = lfirst(lc);

		if (strcmp(r->src_db, db) == 0 && strcmp(r->src_tb, tb) == 0)
		{
			*dst_schema = pstrdup(r->dst_schema);
			*dst_tb = pstrdup(r->dst_tb);
			return;
		}
	}
	*dst_tb = pstrdup(tb);
	foreach(lc, filter->db_map)
	{
		NameRoute  *r = lfirst(lc);

		if (strcmp(r->src_db, db) == 0)
		{
			*dst_schema = pstrdup(r->dst_schema);
			return;
		}
	}
	*dst_schema = pstrdup(db);
}

static void
append_part(StringInfo buf, const NamePart *part, char quote)
{
	const char *c;

	if (!part->literal)
	{
		appendStringInfoString(buf, part->text);
		return;
	}
	appendStringInfoChar(buf, quote);
	for (c = part->text; *c; c++)
	{
		if (*c == quote)
			appendStringInfoChar(buf, quote);
		appendStringInfoChar(buf, *c);
	}
	appendStringInfoChar(buf, quote);
}

char *
name_pattern_to_string(const NamePattern *pattern, char quote)
{
	StringInfoData buf;

	initStringInfo(&buf);
	append_part(&buf, &pattern->db, quote);
	if (pattern->has_tb)
	{
		appendStringInfoChar(&buf, '.');
		append_part(&buf, &pattern->tb, quote);
	}
	return buf.data;
}
