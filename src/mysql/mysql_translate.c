/*-------------------------------------------------------------------------
 *
 * mysql_translate.c
 *	  MySQL's text as PostgreSQL's, for the structures of mysql_structure.c:
 *	  string literals (quotes doubled or backslash-escaped), a CHECK
 *	  expression token by token, an ENUM's labels, a column default for
 *	  the column's target type.  Whatever has no translation with the same
 *	  meaning is refused with the reason, never approximated.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "mysql_internal.h"

/* Column name of t (source name), or NULL when the copy leaves it out. */
const SourceColumn *
mysql_copied_column(const SourceTable *t, const char *name)
{
	int			i = name ? source_column_index(t, name) : -1;

	return i >= 0 ? &t->columns[i] : NULL;
}

/*
 * The value of a MySQL string literal whose quote character q starts at
 * *pp (a quote doubled or backslash-escaped inside), *pp moved past its
 * end.  NULL, with *why, for an unterminated one or a NUL character.
 */
static char *
string_value(const char **pp, char **why)
{
	const char *p = *pp;
	char		q = *p;
	StringInfoData val;

	initStringInfo(&val);
	for (p++;; p++)
	{
		if (*p == '\0')
		{
			*why = "an unterminated string";
			return NULL;
		}
		if (*p == '\\' && p[1] != '\0')
		{
			p++;
			switch (*p)
			{
				case 'n':
					appendStringInfoChar(&val, '\n');
					break;
				case 't':
					appendStringInfoChar(&val, '\t');
					break;
				case 'r':
					appendStringInfoChar(&val, '\r');
					break;
				case 'b':
					appendStringInfoChar(&val, '\b');
					break;
				case 'Z':
					appendStringInfoChar(&val, '\032');
					break;
				case '0':
					*why = "a string with a NUL character, which PostgreSQL cannot store";
					return NULL;
				case '%':
				case '_':
					/* MySQL keeps the backslash of these */
					appendStringInfoChar(&val, '\\');
					appendStringInfoChar(&val, *p);
					break;
				default:
					appendStringInfoChar(&val, *p);
					break;
			}
		}
		else if (*p == q && p[1] == q)
			appendStringInfoChar(&val, *p++);
		else if (*p == q)
			break;
		else
			appendStringInfoChar(&val, *p);
	}
	*pp = p + 1;
	return val.data;
}

/*
 * A MySQL CHECK expression as PostgreSQL's, token by token: `names` of
 * the table's columns (their target names), strings re-quoted, numbers,
 * the operators and words both read the same way.  NULL, with *why, when
 * a token has no such translation (MySQL's ||, &&, XOR, REGEXP, a
 * function other than a few whose meaning is the same, /, which divides
 * exactly in MySQL and truncates integers in PostgreSQL, ...).
 */
char *
mysql_translate_check(const SourceTable *t, const char *expr, char **why)
{
	static const char *const words[] = {
		"and", "or", "not", "in", "between", "is", "null", "like", "true", "false",
		"char_length", "character_length", "lower", "upper", "abs", "coalesce",
		"nullif", "greatest", "least", "floor", "ceil", "ceiling", "round", "mod"
	};
	StringInfoData out;
	const char *p = expr;

	initStringInfo(&out);
	while (*p)
	{
		unsigned char ch = (unsigned char) *p;

		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
		{
			appendStringInfoChar(&out, ' ');
			p++;
		}
		else if (ch == '`')
		{
			StringInfoData name;
			const SourceColumn *c;

			initStringInfo(&name);
			for (p++;; p++)
			{
				if (*p == '\0')
				{
					*why = "an unterminated quoted name";
					return NULL;
				}
				if (*p == '`' && p[1] == '`')
					appendStringInfoChar(&name, *p++);
				else if (*p == '`')
					break;
				else
					appendStringInfoChar(&name, *p);
			}
			p++;
			c = mysql_copied_column(t, name.data);
			if (c == NULL)
			{
				*why = psprintf("it uses column \"%s\", which is not copied", name.data);
				return NULL;
			}
			appendStringInfoString(&out, quote_identifier(source_column_target(c)));
		}
		else if (ch == '\'' || ch == '"')
		{
			char	   *val = string_value(&p, why);

			if (val == NULL)
				return NULL;
			appendStringInfoString(&out, quote_literal_cstr(val));
		}
		else if (isdigit(ch) || (ch == '.' && isdigit((unsigned char) p[1])))
		{
			while (isdigit((unsigned char) *p) || *p == '.' || *p == 'e' || *p == 'E' ||
				   ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E')))
				appendStringInfoChar(&out, *p++);
		}
		else if (isalpha(ch) || ch == '_')
		{
			const char *start = p;
			char	   *word;
			int			i;

			while (isalnum((unsigned char) *p) || *p == '_')
				p++;
			word = pnstrdup(start, p - start);
			for (char *w = word; *w; w++)
				*w = pg_ascii_tolower((unsigned char) *w);
			for (i = 0; i < lengthof(words); i++)
				if (strcmp(word, words[i]) == 0)
					break;
			if (i == lengthof(words))
			{
				*why = psprintf("\"%s\" has no translation", word);
				return NULL;
			}
			/* functions by their pg_catalog names (coalesce ... least are syntax) */
			if (i >= 10 && (i < 15 || i > 18))
				appendStringInfo(&out, "pg_catalog.%s", word);
			else
				appendStringInfoString(&out, word);
		}
		else if (strchr("()+-*%,", ch))
		{
			appendStringInfoChar(&out, ch);
			p++;
		}
		else if (ch == '<' || ch == '>' || ch == '=' || ch == '!')
		{
			const char *start = p;
			char	   *op;

			while (*p == '<' || *p == '>' || *p == '=' || *p == '!')
				p++;
			op = pnstrdup(start, p - start);
			if (strcmp(op, "=") != 0 && strcmp(op, "<>") != 0 && strcmp(op, "!=") != 0 &&
				strcmp(op, "<") != 0 && strcmp(op, ">") != 0 && strcmp(op, "<=") != 0 &&
				strcmp(op, ">=") != 0)
			{
				*why = psprintf("operator \"%s\" has no translation", op);
				return NULL;
			}
			appendStringInfoString(&out, op);
		}
		else
		{
			*why = psprintf("\"%c\" has no translation", ch);
			return NULL;
		}
	}
	return out.data;
}

/*
 * The labels of an enum('a','b''c') column type, quoted for PostgreSQL
 * (COLUMN_TYPE escapes them as string literals).
 */
char *
mysql_enum_labels(const char *column_type)
{
	const char *p = strchr(column_type, '(');
	StringInfoData out;
	char	   *why;

	if (p == NULL)
		return NULL;
	initStringInfo(&out);
	p++;
	while (*p == '\'')
	{
		char	   *label = string_value(&p, &why);

		if (label == NULL)
			return NULL;
		appendStringInfo(&out, "%s%s", out.len ? ", " : "", quote_literal_cstr(label));
		if (*p == ',')
			p++;
	}
	if (*p != ')' || out.len == 0)
		return NULL;
	return out.data;
}

/*
 * A column's default as PostgreSQL SQL for the column's target type, or
 * NULL with *why.  MariaDB 10.2.7+ quotes literals ('abc'), MySQL marks
 * expressions in EXTRA (DEFAULT_GENERATED).
 */
char *
mysql_translate_default(Source *s, const SourceColumn *c, const char *def, const char *extra,
				  char **why)
{
	bool		literal;
	char	   *v;
	char	   *lower;
	ColInfo		ci = mysql_classify(c->source_type, c->pg_type);

	lower = pstrdup(def);
	for (char *p = lower; *p; p++)
		*p = pg_ascii_tolower((unsigned char) *p);
	if (s->is_mariadb)
		literal = def[0] == '\'' || strncmp(def, "b'", 2) == 0 ||
			(def[0] != '\0' && strspn(def, "-+0123456789.eE") == strlen(def));
	else
		/* MySQL before 8.0.13 does not mark CURRENT_TIMESTAMP as an expression */
		literal = (extra == NULL || strstr(extra, "DEFAULT_GENERATED") == NULL) &&
			strncmp(lower, "current_timestamp", 17) != 0 && strncmp(lower, "now(", 4) != 0;
	if (literal)
	{
		if (s->is_mariadb && def[0] == '\'')
		{
			const char *p = def;

			v = string_value(&p, why);
			if (v == NULL)
				return NULL;
		}
		else
			v = pstrdup(def);
		switch (ci.kind)
		{
			case CK_DATE:
			case CK_DATETIME:
			case CK_TIMESTAMP:
				/* a zero date, as the copy writes it */
				if (strncmp(v, "0000-00-00", 10) == 0 || (strlen(v) >= 10 && (strncmp(v + 5, "00", 2) == 0 || strncmp(v + 8, "00", 2) == 0)))
					v = "-infinity";
				break;
			case CK_BINARY:
				{
					StringInfoData hex;

					initStringInfo(&hex);
					appendStringInfoString(&hex, "\\x");
					for (const char *p = v; *p; p++)
						appendStringInfo(&hex, "%02x", (unsigned char) *p);
					v = hex.data;
					break;
				}
			case CK_BIT:
				{
					/* b'101' of a bit(8): MySQL's value is 00000101 */
					char	   *digits = strncmp(def, "b'", 2) == 0 ?
						pnstrdup(def + 2, strcspn(def + 2, "'")) : v;
					int			n = strlen(digits);

					if (strspn(digits, "01") != n || n > ci.bits)
					{
						*why = psprintf("the bit default %s does not translate", def);
						return NULL;
					}
					{
						StringInfoData padded;

						initStringInfo(&padded);
						for (int k = n; k < ci.bits; k++)
							appendStringInfoChar(&padded, '0');
						appendStringInfoString(&padded, digits);
						v = padded.data;
					}
					break;
				}
			default:
				break;
		}
		return psprintf("%s::%s", quote_literal_cstr(v), c->pg_type);
	}
	if (strncmp(lower, "current_timestamp", 17) == 0 || strncmp(lower, "now(", 4) == 0 ||
		strncmp(lower, "localtimestamp", 14) == 0)
	{
		const char *paren = strchr(lower, '(');
		int			prec = paren ? atoi(paren + 1) : 0;

		if (prec < 0 || prec > 6)
			prec = 6;
		if (ci.kind == CK_TIMESTAMP)
			return psprintf("CURRENT_TIMESTAMP(%d)", prec);
		if (ci.kind == CK_DATETIME)
			return psprintf("LOCALTIMESTAMP(%d)", prec);
		if (ci.kind == CK_DATE)
			return pstrdup("CURRENT_DATE");
	}
	if ((strcmp(lower, "curdate()") == 0 || strcmp(lower, "current_date()") == 0 ||
		 strcmp(lower, "current_date") == 0) && ci.kind == CK_DATE)
		return pstrdup("CURRENT_DATE");
	*why = psprintf("the expression default %s does not translate", def);
	return NULL;
}

