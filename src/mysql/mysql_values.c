/*-------------------------------------------------------------------------
 *
 * mysql_values.c
 *	  The MySQL / MariaDB source's values: a resume value checked against
 *	  its key column and written as a MySQL literal, and the values of a
 *	  fetched row converted to PostgreSQL input text (bit, binary, zero
 *	  dates and year 0000, UTF-8 checks), with the zero dates counted and
 *	  reported.
 *
 * See mysql_internal.h for how the MySQL source works as a whole.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include <errno.h>
#include <limits.h>

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "mysql_internal.h"

/* ERROR for a resume value that does not fit its key column. */
static void
bad_after_value(const SourceTable *t, int col, const char *value, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid resume value \"%s\" for column \"%s\" of table \"%s\".\"%s\"",
					value, t->columns[col].name, t->schema, t->tb),
			 errdetail("Expected %s.", expected)));
}

/* Does str match a pattern where '9' is a digit and other chars are literal? */
static bool
matches_digits(const char *str, const char *pattern)
{
	for (; *pattern; pattern++, str++)
	{
		if (*pattern == '9' ? !(*str >= '0' && *str <= '9') : *str != *pattern)
			return false;
	}
	return *str == '\0';
}

/* Is str "" or "." and 1 to 6 digits? */
static bool
fraction_ok(const char *str)
{
	int			n = 0;

	if (*str == '\0')
		return true;
	if (*str++ != '.')
		return false;
	for (; *str >= '0' && *str <= '9'; str++)
		n++;
	return *str == '\0' && n >= 1 && n <= 6;
}

/*
 * A date or datetime text as scan_next produces it ("-infinity" for a zero
 * date, " BC" for year 0000) back to MySQL's text; NULL when malformed.
 */
static char *
unconvert_datetime(const char *value, bool with_time, bool with_tz)
{
	char	   *v = pstrdup(value);
	size_t		len = strlen(v);
	bool		bc = false;

	if (strcmp(v, "-infinity") == 0)
		return with_time ? "0000-00-00 00:00:00" : "0000-00-00";
	if (len > 3 && strcmp(v + len - 3, " BC") == 0)
	{
		bc = true;
		v[len -= 3] = '\0';
	}
	/* "+00" as scan_next writes it; without it, UTC as MySQL shows it */
	if (with_tz && len >= 3 && strcmp(v + len - 3, "+00") == 0)
		v[len -= 3] = '\0';
	if (with_time)
	{
		if (len < 19 || !matches_digits(pnstrdup(v, 19), "9999-99-99 99:99:99") ||
			!fraction_ok(v + 19))
			return NULL;
	}
	else if (!matches_digits(v, "9999-99-99"))
		return NULL;
	if (bc)
	{
		if (strncmp(v, "0001", 4) != 0)
			return NULL;
		memcpy(v, "0000", 4);
	}
	return v;
}

/* Append the literal of resume value value for key column k, checked. */
void
mysql_append_after_value(void *arg, StringInfo sql, const SourceTable *t, int k, const char *value)
{
	Source	   *s = arg;
	int			col = t->key_cols[k];
	const ColInfo *ci = &s->scan_cols[col];
	const char *p;
	char	   *lit;

	switch (ci->kind)
	{
		case CK_INT:
			{
				char	   *end;

				p = value;
				if (*p == '+' || *p == '-')
					p++;
				if (*p == '\0' || strspn(p, "0123456789") != strlen(p))
					bad_after_value(t, col, value, "an integer");
				errno = 0;
				if (ci->is_unsigned)
				{
					uint64		u;

					if (value[0] == '-')
						bad_after_value(t, col, value, "an integer of the column's range");
					u = strtou64(value, &end, 10);
					if (errno != 0 || *end != '\0' || u > ci->umax)
						bad_after_value(t, col, value, "an integer of the column's range");
				}
				else
				{
					int64		i = strtoi64(value, &end, 10);

					if (errno != 0 || *end != '\0' || i < ci->min || i > ci->max)
						bad_after_value(t, col, value, "an integer of the column's range");
				}
				appendStringInfoString(sql, value);
				return;
			}
		case CK_DECIMAL:
			p = value;
			if (*p == '+' || *p == '-')
				p++;
			{
				size_t		d1 = strspn(p, "0123456789");
				size_t		d2 = 0;

				if (p[d1] == '.')
					d2 = strspn(p + d1 + 1, "0123456789");
				if (d1 == 0 ||
					p[d1 + (p[d1] == '.' ? 1 + d2 : 0)] != '\0' ||
					(p[d1] == '.' && d2 == 0))
					bad_after_value(t, col, value, "a decimal number");
			}
			appendStringInfoString(sql, value);
			return;
		case CK_YEAR:
			if (!matches_digits(value, "9999") && !matches_digits(value, "9"))
				bad_after_value(t, col, value, "a year of four digits");
			appendStringInfoString(sql, value);
			return;
		case CK_BIT:
			if (strlen(value) != ci->bits || strspn(value, "01") != strlen(value))
				bad_after_value(t, col, value, psprintf("%d bits (0 or 1)", ci->bits));
			appendStringInfo(sql, "b'%s'", value);
			return;
		case CK_DATE:
		case CK_DATETIME:
		case CK_TIMESTAMP:
			lit = unconvert_datetime(value, ci->kind != CK_DATE,
									 ci->kind == CK_TIMESTAMP);
			if (lit == NULL)
				bad_after_value(t, col, value,
								ci->kind == CK_DATE ? "a date YYYY-MM-DD" :
								ci->kind == CK_DATETIME ?
								"a datetime YYYY-MM-DD HH:MM:SS[.ffffff]" :
								"a timestamp YYYY-MM-DD HH:MM:SS[.ffffff][+00] (UTC)");
			mysql_append_literal(s, sql, lit, strlen(lit));
			return;
		case CK_TIME:
			p = value;
			if (*p == '-')
				p++;
			{
				size_t		h = strspn(p, "0123456789");

				if (h < 2 || h > 3 || !matches_digits(pnstrdup(p + h, 6), ":99:99") ||
					!fraction_ok(p + h + 6))
					bad_after_value(t, col, value, "a time [-]HH:MM:SS[.ffffff]");
			}
			mysql_append_literal(s, sql, value, strlen(value));
			return;
		case CK_TEXT:
			mysql_append_literal(s, sql, value, strlen(value));
			return;
		case CK_BINARY:
			{
				size_t		len = strlen(value);

				if (len < 2 || value[0] != '\\' || value[1] != 'x' ||
					len % 2 != 0 ||
					strspn(value + 2, "0123456789abcdefABCDEF") != len - 2)
					bad_after_value(t, col, value, "bytea hex text \\x...");
				appendStringInfo(sql, "X'%s'", value + 2);
				return;
			}
		case CK_FLOAT:
		case CK_ENUM:
		case CK_JSON:
		case CK_UNSUPPORTED:
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("column \"%s\" of table \"%s\".\"%s\" cannot order a resumable copy",
					t->columns[col].name, t->schema, t->tb)));
}

/* ERROR for a text value that is not valid UTF-8. */
static void
bad_text(Source *s, int col)
{
	ereport(ERROR,
			(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
			 errmsg("table \"%s\".\"%s\" column \"%s\": a value holds a NUL character or invalid UTF-8",
					s->scan_schema, s->scan_tb, s->scan_colnames[col]),
			 errdetail("PostgreSQL text cannot hold it.")));
}

/*
 * Whether the zero date v (month or day 00) of column col cannot be a
 * value of the order key: every zero date becomes -infinity, and a
 * position of -infinity reads back as the all-zero date.  Only that one
 * (no other digit than 0) keeps its place in the key's order and stays
 * apart from the key's other values; any other, like 2024-05-00, would
 * share -infinity with it and sort where it does not belong.
 */
static bool
zero_date_is_lossy(Source *s, int col, const char *v, int len)
{
	bool		in_key = false;

	for (int k = 0; k < s->scan_nkeys; k++)
		if (s->scan_table->key_cols[k] == col)
			in_key = true;
	if (!in_key)
		return false;
	for (int i = 0; i < len; i++)
		if (v[i] >= '1' && v[i] <= '9')
			return true;
	return false;
}

/*
 * Append a date/datetime/timestamp value of column col converted for
 * PostgreSQL: zero dates become -infinity (counted, and the first of a
 * column reported at once), year 0000 becomes 0001 BC.
 */
static void
convert_datetime(Source *s, int col, StringInfo buf, const char *v, int len,
				 bool tz)
{
	if (len < 10 || (strncmp(v + 5, "00", 2) == 0) ||
		(strncmp(v + 8, "00", 2) == 0))
	{
		if (zero_date_is_lossy(s, col, v, len))
		{
			char	   *shown = pnstrdup(v, Min(len, 26));

			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("table \"%s\".\"%s\" column \"%s\": zero date \"%s\" in the order key",
							s->scan_schema, s->scan_tb, s->scan_colnames[col], shown),
					 errdetail("PostgreSQL has no zero dates: it would become -infinity, a value other zero dates of the key become too, so rows could not be told apart and the copy could not resume exactly."),
					 errhint("Correct the date at the source (to a real date, or to 0000-00-00 00:00:00 if it is the only one) and resume the task.")));
		}
		appendStringInfoString(buf, "-infinity");
		s->zero_dates[col]++;
		if (!s->zd_warned[col])
		{
			char	   *shown = pnstrdup(v, Min(len, 26));

			s->zd_warned[col] = true;
			source_warning(&s->report,
						   psprintf("table \"%s\".\"%s\" column \"%s\": zero date \"%s\" copied as -infinity",
									s->scan_schema, s->scan_tb, s->scan_colnames[col], shown),
						   "PostgreSQL has no zero dates; a date whose month or day is 00 becomes -infinity. The count follows when the table is finished.");
			pfree(shown);
		}
		return;
	}
	if (strncmp(v, "0000", 4) == 0)
	{
		appendStringInfoString(buf, "0001");
		appendBinaryStringInfo(buf, v + 4, len - 4);
		appendStringInfoString(buf, tz ? "+00 BC" : " BC");
		return;
	}
	appendBinaryStringInfo(buf, v, len);
	if (tz)
		appendStringInfoString(buf, "+00");
}

/*
 * Convert the values of a fetched row (row, lens: as the client library
 * returned them) to PostgreSQL input text: values[i] and lengths[i] point
 * to the library's buffer where a value is taken as it is, into s->buf
 * where it is converted.  Valid until the next row.
 */
void
mysql_convert_row(Source *s, MYSQL_ROW row, const unsigned long *lens,
				  char **values, int *lengths)
{
	int			i;

	resetStringInfo(&s->buf);
	for (i = 0; i < s->scan_ncols; i++)
	{
		const ColInfo *ci = &s->scan_cols[i];
		const char *v = row[i];
		int			len = (int) lens[i];
		StringInfo	buf = &s->buf;

		s->offsets[i] = -1;
		values[i] = row[i];
		lengths[i] = len;
		if (v == NULL)
			continue;			/* a NULL key value: see feed_key_value */
		switch (ci->kind)
		{
			case CK_TEXT:
			case CK_ENUM:
			case CK_JSON:
				if (!pg_verify_mbstr(PG_UTF8, v, len, true))
					bad_text(s, i);
				break;
			case CK_BIT:
				s->offsets[i] = buf->len;
				for (int b = ci->bits - 1; b >= 0; b--)
				{
					int			byte = len - 1 - b / 8;
					int			bit = byte >= 0 ?
						(((unsigned char) v[byte]) >> (b % 8)) & 1 : 0;

					appendStringInfoChar(buf, bit ? '1' : '0');
				}
				break;
			case CK_BINARY:
				s->offsets[i] = buf->len;
				appendStringInfoString(buf, "\\x");
				enlargeStringInfo(buf, 2 * len);
				buf->len += hex_encode(v, len, buf->data + buf->len);
				buf->data[buf->len] = '\0';
				break;
			case CK_DATE:
			case CK_DATETIME:
			case CK_TIMESTAMP:
				s->offsets[i] = buf->len;
				convert_datetime(s, i, buf, v, len, ci->kind == CK_TIMESTAMP);
				break;
			default:
				break;
		}
		if (s->offsets[i] >= 0)
		{
			lengths[i] = buf->len - s->offsets[i];
			appendStringInfoChar(buf, '\0');
		}
	}
	/* the buffer is complete: point into it */
	for (i = 0; i < s->scan_ncols; i++)
		if (s->offsets[i] >= 0)
			values[i] = s->buf.data + s->offsets[i];
}

/*
 * At the end of a table: a WARNING for each column with zero dates, how
 * many became -infinity, and the counts start again.
 */
void
mysql_report_zero_dates(Source *s)
{
	for (int i = 0; i < s->zd_ncols; i++)
	{
		if (s->zero_dates[i] == 0)
			continue;
		source_warning(&s->report,
					   psprintf("table \"%s\".\"%s\" column \"%s\": " INT64_FORMAT " zero date%s copied as -infinity",
								s->scan_schema, s->scan_tb, s->scan_colnames[i], s->zero_dates[i],
								s->zero_dates[i] == 1 ? "" : "s"),
					   NULL);
		s->zero_dates[i] = 0;
		s->zd_warned[i] = false;
	}
}
