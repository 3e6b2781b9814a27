/*-------------------------------------------------------------------------
 *
 * copy_binary.c
 *	  Rows of PostgreSQL input text framed as COPY's binary format.
 *
 * Sources hand over each value as the text that the column type's input
 * function takes.  COPY's text format makes COPY split and de-escape every
 * line and run an input function per value; for the common types the text
 * is converted here, with a few integer operations, into the type's binary
 * send format, and COPY only has to run the (cheap) receive functions.  On
 * the benchmark table this takes about a third off COPY's own time.
 *
 * Exactness comes first: a fast encoder accepts only the plain forms it
 * fully understands (digits, ISO dates, "\x" hex) and hands every other
 * value (infinity, BC dates, exponents, stray spaces, ...) to the type's
 * own input function followed by its send function, so a value always
 * means what COPY's text format would make of it, and a bad value fails
 * with the same error.  A table with a column of any other type (domains,
 * arrays, enums, extension types) is ingested through COPY's text format.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <math.h>

#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "port/pg_bswap.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "copy_binary.h"

bool		ape_resume_binary_copy = true;

/* The signature that starts a COPY binary file. */
static const char binary_signature[11] = "PGCOPY\n\377\r\n\0";

/* Numeric's send format: base-10000 digits, and the sign words. */
#define NUMERIC_SEND_POS	0x0000
#define NUMERIC_SEND_NEG	0x4000
#define NUMERIC_MAX_TEXT_DIGITS 1000

typedef enum FastKind
{
	FK_INT2,
	FK_INT4,
	FK_INT8,
	FK_NUMERIC,
	FK_FLOAT4,
	FK_FLOAT8,
	FK_BOOL,
	FK_DATE,
	FK_TIMESTAMP,
	FK_TIMESTAMPTZ,
	FK_INTERVAL,
	FK_BIT,
	FK_TEXT,					/* text, varchar, bpchar, json: the bytes */
	FK_BYTEA,
	FK_JSONB
} FastKind;

typedef struct CopyBinaryColumn
{
	FastKind	kind;
	Oid			ioparam;
	int32		typmod;
	FmgrInfo	input;			/* for values the fast encoder leaves */
	FmgrInfo	send;
} CopyBinaryColumn;

struct CopyBinaryEncoder
{
	int			ncolumns;
	CopyBinaryColumn *columns;
	int			current;		/* column being encoded, -1: none */
	MemoryContext fallback_cxt; /* reset after each value it encodes */
};

static bool
fast_kind_of(Oid typid, FastKind *kind)
{
	switch (typid)
	{
		case INT2OID:
			*kind = FK_INT2;
			break;
		case INT4OID:
			*kind = FK_INT4;
			break;
		case INT8OID:
			*kind = FK_INT8;
			break;
		case NUMERICOID:
			*kind = FK_NUMERIC;
			break;
		case FLOAT4OID:
			*kind = FK_FLOAT4;
			break;
		case FLOAT8OID:
			*kind = FK_FLOAT8;
			break;
		case BOOLOID:
			*kind = FK_BOOL;
			break;
		case DATEOID:
			*kind = FK_DATE;
			break;
		case TIMESTAMPOID:
			*kind = FK_TIMESTAMP;
			break;
		case TIMESTAMPTZOID:
			*kind = FK_TIMESTAMPTZ;
			break;
		case INTERVALOID:
			*kind = FK_INTERVAL;
			break;
		case BITOID:
		case VARBITOID:
			*kind = FK_BIT;
			break;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case JSONOID:
			*kind = FK_TEXT;
			break;
		case BYTEAOID:
			*kind = FK_BYTEA;
			break;
		case JSONBOID:
			*kind = FK_JSONB;
			break;
		default:
			return false;
	}
	return true;
}

CopyBinaryEncoder *
copy_binary_prepare(Relation rel, List *attnames)
{
	TupleDesc	desc = RelationGetDescr(rel);
	CopyBinaryEncoder *enc;
	ListCell   *lc;
	int			n = 0;
	int			enc_client = pg_get_client_encoding();

	/* receive functions convert text from the client encoding */
	if (!ape_resume_binary_copy || GetDatabaseEncoding() != PG_UTF8 ||
		(enc_client != PG_UTF8 && enc_client != PG_SQL_ASCII))
		return NULL;

	enc = palloc0(sizeof(CopyBinaryEncoder));
	enc->ncolumns = list_length(attnames);
	enc->columns = palloc0(sizeof(CopyBinaryColumn) * Max(enc->ncolumns, 1));
	enc->current = -1;
	foreach(lc, attnames)
	{
		const char *name = strVal(lfirst(lc));
		CopyBinaryColumn *col = &enc->columns[n++];
		Form_pg_attribute att = NULL;
		Oid			input;
		Oid			send;
		bool		isvarlena;

		for (int i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute a = TupleDescAttr(desc, i);

			if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0)
			{
				att = a;
				break;
			}
		}
		/* COPY reports a missing column itself */
		if (att == NULL || !fast_kind_of(att->atttypid, &col->kind))
		{
			pfree(enc->columns);
			pfree(enc);
			return NULL;
		}
		col->typmod = att->atttypmod;
		getTypeInputInfo(att->atttypid, &input, &col->ioparam);
		getTypeBinaryOutputInfo(att->atttypid, &send, &isvarlena);
		fmgr_info(input, &col->input);
		fmgr_info(send, &col->send);
	}
	enc->fallback_cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "ape_resume binary COPY value",
											  ALLOCSET_SMALL_SIZES);
	return enc;
}

static inline void
put16(StringInfo buf, uint16 v)
{
	uint16		n = pg_hton16(v);

	appendBinaryStringInfo(buf, (const char *) &n, sizeof(n));
}

static inline void
put32(StringInfo buf, uint32 v)
{
	uint32		n = pg_hton32(v);

	appendBinaryStringInfo(buf, (const char *) &n, sizeof(n));
}

static inline void
put64(StringInfo buf, uint64 v)
{
	uint64		n = pg_hton64(v);

	appendBinaryStringInfo(buf, (const char *) &n, sizeof(n));
}

/* The value's bytes as they are: the binary form of text-like types. */
static inline void
put_bytes(StringInfo buf, const char *v, int len)
{
	put32(buf, (uint32) len);
	appendBinaryStringInfo(buf, v, len);
}

void
copy_binary_header(StringInfo buf)
{
	appendBinaryStringInfo(buf, binary_signature, sizeof(binary_signature));
	put32(buf, 0);				/* flags */
	put32(buf, 0);				/* header extension length */
}

void
copy_binary_trailer(StringInfo buf)
{
	put16(buf, (uint16) -1);
}

int
copy_binary_failed_column(const CopyBinaryEncoder *enc)
{
	return enc->current;
}

/* An ASCII digit, whatever the locale. */
static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* n ASCII digits at v, or -1 when one is not a digit. */
static inline int
digits(const char *v, int n)
{
	int			r = 0;

	for (int i = 0; i < n; i++)
	{
		if (!is_digit(v[i]))
			return -1;
		r = r * 10 + (v[i] - '0');
	}
	return r;
}

/* [-]digits, at most 19 of them, in the range of int64. */
static bool
parse_int64(const char *v, int len, int64 *out)
{
	uint64		acc = 0;
	bool		neg = false;
	int			i = 0;

	if (len > 0 && v[0] == '-')
	{
		neg = true;
		i = 1;
	}
	if (i >= len || len - i > 19)
		return false;
	for (; i < len; i++)
	{
		if (!is_digit(v[i]))
			return false;
		acc = acc * 10 + (v[i] - '0');
	}
	if (neg)
	{
		if (acc > (uint64) PG_INT64_MAX + 1)
			return false;
		*out = acc == (uint64) PG_INT64_MAX + 1 ? PG_INT64_MIN : -(int64) acc;
	}
	else
	{
		if (acc > (uint64) PG_INT64_MAX)
			return false;
		*out = (int64) acc;
	}
	return true;
}

/* [-]digits[.digits] as numeric's send format. */
static bool
put_numeric(StringInfo buf, const char *v, int len)
{
	int			i = 0;
	int			ip,
				nint,
				fp,
				nfrac = 0;
	int			lead,
				ngroups_int,
				ngroups_frac,
				pos;
	bool		neg = false;

	if (len > 0 && v[0] == '-')
	{
		neg = true;
		i = 1;
	}
	ip = i;
	while (i < len && is_digit(v[i]))
		i++;
	nint = i - ip;
	fp = i;
	if (i < len && v[i] == '.')
	{
		fp = ++i;
		while (i < len && is_digit(v[i]))
			i++;
		nfrac = i - fp;
	}
	if (i != len || nint + nfrac == 0 ||
		nint > NUMERIC_MAX_TEXT_DIGITS || nfrac > NUMERIC_MAX_TEXT_DIGITS)
		return false;
	while (nint > 0 && v[ip] == '0')
	{
		ip++;
		nint--;
	}
	lead = (4 - nint % 4) % 4;
	ngroups_int = (nint + 3) / 4;
	ngroups_frac = (nfrac + 3) / 4;

	put32(buf, (uint32) (8 + 2 * (ngroups_int + ngroups_frac)));
	put16(buf, (uint16) (ngroups_int + ngroups_frac));
	put16(buf, (uint16) (int16) (ngroups_int - 1));	/* weight */
	put16(buf, neg ? NUMERIC_SEND_NEG : NUMERIC_SEND_POS);
	put16(buf, (uint16) nfrac); /* dscale */
	pos = -lead;
	for (int g = 0; g < ngroups_int; g++)
	{
		int			d = 0;

		for (int k = 0; k < 4; k++, pos++)
			d = d * 10 + (pos >= 0 ? v[ip + pos] - '0' : 0);
		put16(buf, (uint16) d);
	}
	pos = 0;
	for (int g = 0; g < ngroups_frac; g++)
	{
		int			d = 0;

		for (int k = 0; k < 4; k++, pos++)
			d = d * 10 + (pos < nfrac ? v[fp + pos] - '0' : 0);
		put16(buf, (uint16) d);
	}
	return true;
}

/* The float8 (or float4) strtod reads completely, finite, without ERANGE. */
static bool
put_float(StringInfo buf, const char *v, int len, bool single)
{
	char		tmp[64];
	char	   *end;

	if (len <= 0 || len >= (int) sizeof(tmp))
		return false;
	memcpy(tmp, v, len);
	tmp[len] = '\0';
	errno = 0;
	if (single)
	{
		union
		{
			float4		f;
			uint32		i;
		}			u;

		u.f = strtof(tmp, &end);
		if (end != tmp + len || errno != 0 || isinf(u.f) || isnan(u.f))
			return false;
		put32(buf, 4);
		put32(buf, u.i);
	}
	else
	{
		union
		{
			float8		f;
			uint64		i;
		}			u;

		u.f = strtod(tmp, &end);
		if (end != tmp + len || errno != 0 || isinf(u.f) || isnan(u.f))
			return false;
		put32(buf, 8);
		put64(buf, u.i);
	}
	return true;
}

/* YYYY-MM-DD, year 1 to 9999, a real day: days since 2000-01-01. */
static bool
parse_date(const char *v, int len, int *days)
{
	int			y,
				m,
				d;

	if (len < 10 || v[4] != '-' || v[7] != '-')
		return false;
	y = digits(v, 4);
	m = digits(v + 5, 2);
	d = digits(v + 8, 2);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > day_tab[isleap(y)][m - 1])
		return false;
	*days = date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
	return true;
}

/*
 * HH:MM:SS[.ffffff] at v (hours of nh digits, under 24 when day_time),
 * then nothing but the suffix: microseconds.
 */
static bool
parse_time(const char *v, int len, int nh, bool day_time, const char *suffix,
		   int64 *usecs)
{
	int			slen = strlen(suffix);
	int			h,
				mi,
				s,
				i;
	int64		frac = 0;

	if (len < nh + 6 || v[nh] != ':' || v[nh + 3] != ':')
		return false;
	h = digits(v, nh);
	mi = digits(v + nh + 1, 2);
	s = digits(v + nh + 4, 2);
	if (h < 0 || mi < 0 || mi > 59 || s < 0 || s > 59 || (day_time && h > 23))
		return false;
	i = nh + 6;
	if (i < len && v[i] == '.')
	{
		int			nf = 0;

		for (i++; i < len && is_digit(v[i]); i++)
		{
			if (++nf > 6)
				return false;	/* rounding: left to the input function */
			frac = frac * 10 + (v[i] - '0');
		}
		if (nf == 0)
			return false;
		for (; nf < 6; nf++)
			frac *= 10;
	}
	if (len - i != slen || memcmp(v + i, suffix, slen) != 0)
		return false;
	*usecs = (((int64) h * MINS_PER_HOUR + mi) * SECS_PER_MINUTE + s) * USECS_PER_SEC + frac;
	return true;
}

/* YYYY-MM-DD HH:MM:SS[.ffffff] and the suffix ("+00": UTC). */
static bool
put_timestamp(StringInfo buf, const char *v, int len, const char *suffix)
{
	int			days;
	int64		usecs;

	if (len < 19 || v[10] != ' ' || !parse_date(v, 10, &days) ||
		!parse_time(v + 11, len - 11, 2, true, suffix, &usecs))
		return false;
	put32(buf, 8);
	put64(buf, (uint64) ((int64) days * USECS_PER_DAY + usecs));
	return true;
}

/* [-]H...H:MM:SS[.ffffff] (MySQL's time): an interval of that many hours. */
static bool
put_interval(StringInfo buf, const char *v, int len)
{
	bool		neg = len > 0 && v[0] == '-';
	const char *t = v + (neg ? 1 : 0);
	int			tlen = len - (neg ? 1 : 0);
	const char *colon = memchr(t, ':', tlen);
	int64		usecs;

	if (colon == NULL || colon - t < 1 || colon - t > 6 ||
		!parse_time(t, tlen, colon - t, false, "", &usecs))
		return false;
	put32(buf, 16);
	put64(buf, (uint64) (neg ? -usecs : usecs));
	put32(buf, 0);				/* days */
	put32(buf, 0);				/* months */
	return true;
}

/* '0' and '1' characters: bit and bit varying. */
static bool
put_bits(StringInfo buf, const char *v, int len)
{
	int			nbytes = (len + 7) / 8;
	int			start;

	if (len <= 0)
		return false;
	for (int i = 0; i < len; i++)
		if (v[i] != '0' && v[i] != '1')
			return false;
	put32(buf, (uint32) (4 + nbytes));
	put32(buf, (uint32) len);
	start = buf->len;
	enlargeStringInfo(buf, nbytes);
	memset(buf->data + start, 0, nbytes);
	for (int i = 0; i < len; i++)
		if (v[i] == '1')
			buf->data[start + i / 8] |= (char) (0x80 >> (i % 8));
	buf->len += nbytes;
	buf->data[buf->len] = '\0';
	return true;
}

static inline int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "\x" and pairs of hex digits: the bytes. */
static bool
put_bytea_hex(StringInfo buf, const char *v, int len)
{
	int			n = (len - 2) / 2;
	int			start;

	if (len < 2 || v[0] != '\\' || v[1] != 'x' || (len & 1) != 0)
		return false;
	put32(buf, (uint32) n);
	start = buf->len;
	enlargeStringInfo(buf, n);
	for (int i = 0; i < n; i++)
	{
		int			hi = hex_value((unsigned char) v[2 + 2 * i]);
		int			lo = hex_value((unsigned char) v[3 + 2 * i]);

		if (hi < 0 || lo < 0)
		{
			buf->len = start - 4;	/* take the length word back */
			buf->data[buf->len] = '\0';
			return false;
		}
		buf->data[start + i] = (char) (hi << 4 | lo);
	}
	buf->len += n;
	buf->data[buf->len] = '\0';
	return true;
}

/* One value by its fast encoder; false: it is not in a form it takes. */
static bool
put_fast(const CopyBinaryColumn *col, StringInfo buf, const char *v, int len)
{
	int64		i64;
	int			days;

	switch (col->kind)
	{
		case FK_INT2:
			if (!parse_int64(v, len, &i64) || i64 < PG_INT16_MIN || i64 > PG_INT16_MAX)
				return false;
			put32(buf, 2);
			put16(buf, (uint16) (int16) i64);
			return true;
		case FK_INT4:
			if (!parse_int64(v, len, &i64) || i64 < PG_INT32_MIN || i64 > PG_INT32_MAX)
				return false;
			put32(buf, 4);
			put32(buf, (uint32) (int32) i64);
			return true;
		case FK_INT8:
			if (!parse_int64(v, len, &i64))
				return false;
			put32(buf, 8);
			put64(buf, (uint64) i64);
			return true;
		case FK_NUMERIC:
			return put_numeric(buf, v, len);
		case FK_FLOAT4:
			return put_float(buf, v, len, true);
		case FK_FLOAT8:
			return put_float(buf, v, len, false);
		case FK_BOOL:
			if (len != 1 || (v[0] != 't' && v[0] != 'f'))
				return false;
			put32(buf, 1);
			appendStringInfoChar(buf, v[0] == 't' ? 1 : 0);
			return true;
		case FK_DATE:
			if (len != 10 || !parse_date(v, len, &days))
				return false;
			put32(buf, 4);
			put32(buf, (uint32) days);
			return true;
		case FK_TIMESTAMP:
			return put_timestamp(buf, v, len, "");
		case FK_TIMESTAMPTZ:
			return put_timestamp(buf, v, len, "+00");
		case FK_INTERVAL:
			return put_interval(buf, v, len);
		case FK_BIT:
			return put_bits(buf, v, len);
		case FK_TEXT:
			put_bytes(buf, v, len);
			return true;
		case FK_BYTEA:
			return put_bytea_hex(buf, v, len);
		case FK_JSONB:
			put32(buf, (uint32) len + 1);
			appendStringInfoChar(buf, 1);	/* jsonb's send format version */
			appendBinaryStringInfo(buf, v, len);
			return true;
	}
	return false;
}

/*
 * One value through the type's input and send functions, as COPY's text
 * format would read it: the text is checked as the encoding first.
 */
static void
put_by_functions(CopyBinaryEncoder *enc, CopyBinaryColumn *col, StringInfo buf,
				 const char *v, int len)
{
	MemoryContext old;
	Datum		datum;
	bytea	   *out;

	(void) pg_verify_mbstr(PG_UTF8, v, len, false);
	old = MemoryContextSwitchTo(enc->fallback_cxt);
	datum = InputFunctionCall(&col->input, pnstrdup(v, len), col->ioparam, col->typmod);
	out = SendFunctionCall(&col->send, datum);
	put_bytes(buf, VARDATA(out), VARSIZE(out) - VARHDRSZ);
	MemoryContextSwitchTo(old);
	MemoryContextReset(enc->fallback_cxt);
}

void
copy_binary_append_row(CopyBinaryEncoder *enc, StringInfo buf, char **values,
					   const int *lengths)
{
	put16(buf, (uint16) enc->ncolumns);
	for (int i = 0; i < enc->ncolumns; i++)
	{
		CopyBinaryColumn *col = &enc->columns[i];

		if (values[i] == NULL)
		{
			put32(buf, (uint32) -1);
			continue;
		}
		enc->current = i;
		if (!put_fast(col, buf, values[i], lengths[i]))
			put_by_functions(enc, col, buf, values[i], lengths[i]);
	}
	enc->current = -1;
}
