/*-------------------------------------------------------------------------
 *
 * config_ini.c
 *	  The ini text of a task config (ape-dts's task_config.ini) as its
 *	  key = value lines.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "config_ini.h"

static char *
trim(char *s)
{
	char	   *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

char *
ini_lower(const char *s)
{
	char	   *r = pstrdup(s);
	char	   *c;

	for (c = r; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c += 'a' - 'A';
	return r;
}

List *
ini_parse(const char *text)
{
	List	   *items = NIL;
	char	   *copy = pstrdup(text);
	char	   *line = copy;
	char	   *section = NULL;
	int			lineno = 0;

	/* a UTF-8 byte order mark is allowed at the start */
	if ((unsigned char) line[0] == 0xEF && (unsigned char) line[1] == 0xBB &&
		(unsigned char) line[2] == 0xBF)
		line += 3;

	while (line != NULL)
	{
		char	   *next = strchr(line, '\n');
		char	   *s;
		char	   *sep;
		IniItem    *item;

		if (next != NULL)
			*next++ = '\0';
		lineno++;
		s = trim(line);
		line = next;

		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[')
		{
			char	   *end = strchr(s, ']');

			if (end == NULL || *trim(end + 1) != '\0')
				ereport(ERROR,
						(errcode(ERRCODE_SYNTAX_ERROR),
						 errmsg("syntax error in task config at line %d: malformed section header", lineno)));
			*end = '\0';
			section = ini_lower(trim(s + 1));
			continue;
		}
		sep = strpbrk(s, "=:");
		if (sep == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("syntax error in task config at line %d: expected key=value", lineno)));
		if (section == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("syntax error in task config at line %d: key outside of any [section]", lineno)));
		*sep = '\0';
		item = palloc(sizeof(IniItem));
		item->section = section;
		item->key = ini_lower(trim(s));
		item->value = pstrdup(trim(sep + 1));
		item->lineno = lineno;
		if (item->key[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("syntax error in task config at line %d: empty key", lineno)));
		if (strlen(item->value) != strcspn(item->value, "\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f"))
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("invalid value for key \"%s\" in section [%s]: control characters are not allowed",
							item->key, item->section)));
		items = lappend(items, item);
	}
	return items;
}
