/*-------------------------------------------------------------------------
 *
 * position_file.c
 *	  position.log, finished.log and resume.config: parsing and formatting
 *	  their lines, reading and appending the files, and the SQL function
 *	  ape_resume.load_resume_config().
 *
 * Every byte of a file is treated as hostile: a line that does not parse
 * (bad JSON, NUL bytes, invalid UTF-8, a cut-off last line, ...) becomes a
 * line with an error text, and reading goes on with the next line.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "ape_resume.h"
#include "position.h"
#include "privileges.h"

/* Longest line read; past it the line is an error and is skipped. */
#define POSITION_MAX_LINE (64 * 1024 * 1024)

const char *
position_kind_name(PositionKind kind)
{
	switch (kind)
	{
		case POSITION_NONE:
			return "None";
		case POSITION_SNAPSHOT:
			return "RdbSnapshot";
		case POSITION_SNAPSHOT_FINISHED:
			return "RdbSnapshotFinished";
	}
	return "None";
}

static char *
trim_span(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	return s;
}

/* Parse "YYYY-MM-DD HH:MM:SS[.ffffff]" (UTC); false if it is not one. */
static bool
parse_log_timestamp(const char *s, TimestampTz *result)
{
	struct pg_tm tm;
	int			n = 0;
	fsec_t		fsec = 0;
	Timestamp	ts;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) < 19 ||
		sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
			   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
		n != 19)
		return false;
	if (s[n] == '.')
	{
		int			digits = 0;

		for (n++; s[n] >= '0' && s[n] <= '9'; n++, digits++)
			if (digits < 6)
				fsec = fsec * 10 + (s[n] - '0');
		if (digits == 0 || digits > 9)
			return false;
		for (; digits < 6; digits++)
			fsec *= 10;
	}
	if (s[n] != '\0')
		return false;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
		tm.tm_mday > day_tab[isleap(tm.tm_year)][tm.tm_mon - 1] ||
		tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
		return false;
	if (tm2timestamp(&tm, fsec, NULL, &ts) != 0)
		return false;
	*result = (TimestampTz) ts;
	return true;
}

/*
 * Parse one line (len bytes, without its newline; text is modified).
 * Blank lines give an entry-less line with neither error nor tag: callers
 * skip them.
 */
void
position_line_parse(char *text, size_t len, PositionLine *line)
{
	char	   *brace;
	char	   *prefix;
	char	   *error = NULL;

	line->tag = NULL;
	line->has_logged_at = false;
	line->error = NULL;
	line->blank = false;
	memset(&line->entry, 0, sizeof(PositionEntry));

	if (len > 0 && text[len - 1] == '\r')
		len--;
	if (memchr(text, '\0', len) != NULL)
	{
		line->error = "line contains a NUL byte";
		return;
	}
	text[len] = '\0';
	if (!pg_verify_mbstr(PG_UTF8, text, (int) len, true))
	{
		line->error = "line is not valid UTF-8";
		return;
	}

	brace = strchr(text, '{');
	if (brace == NULL)
	{
		if (*trim_span(text, text + len) != '\0')
			line->error = "no JSON object on the line";
		else
			line->blank = true;
		return;
	}

	/* before the object: an optional timestamp and tag, separated by '|' */
	prefix = text;
	*brace = '\0';
	while (prefix != NULL)
	{
		char	   *bar = strchr(prefix, '|');
		char	   *part;

		if (bar != NULL)
			*bar = '\0';
		part = trim_span(prefix, prefix + strlen(prefix));
		prefix = bar ? bar + 1 : NULL;
		if (*part == '\0')
			continue;
		if (strcmp(part, "current_position") == 0)
			line->tag = "current_position";
		else if (strcmp(part, "checkpoint_position") == 0)
			line->tag = "checkpoint_position";
		else if (!line->has_logged_at && line->tag == NULL &&
				 parse_log_timestamp(part, &line->logged_at))
			line->has_logged_at = true;
		else if (!line->has_logged_at && line->tag == NULL && isdigit((unsigned char) *part))
		{
			line->error = psprintf("invalid timestamp \"%.40s\"", part);
			return;
		}
		else
		{
			line->error = psprintf("unexpected text \"%.40s\" before the JSON object", part);
			return;
		}
	}
	*brace = '{';

	if (!position_json_parse(brace, len - (brace - text), &line->entry, &error))
		line->error = error;
}

/* Append a timestamp as the log files have it: UTC, microseconds. */
void
position_append_timestamp(StringInfo buf, TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm((Timestamp) ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	appendStringInfo(buf, "%04d-%02d-%02d %02d:%02d:%02d.%06d",
					 tm.tm_year, tm.tm_mon, tm.tm_mday,
					 tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
}

/* Format a line as ape-dts writes it: "ts | tag | json" or "ts | json". */
void
position_line_format(StringInfo buf, TimestampTz logged_at, const char *tag,
					 const PositionEntry *entry)
{
	position_append_timestamp(buf, logged_at);
	appendStringInfoString(buf, " | ");
	if (tag != NULL)
		appendStringInfo(buf, "%s | ", tag);
	position_json_append(buf, entry);
}

/*
 * Open path to read or to append to, and fstat it into st; ERROR
 * naming the file when it cannot be opened or is not a regular file (a
 * directory, a FIFO, a device, or with O_NOFOLLOW a symbolic link).
 */
static int
open_regular_file(const char *path, int flags, bool append, struct stat *st)
{
	int			fd = OpenTransientFile(path, flags | PG_BINARY);
	int			save_errno = errno;

	if (fd < 0)
	{
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\"%s: %m", path, append ? " for appending" : ""),
				 save_errno == ELOOP ? errdetail("The file is a symbolic link.") : 0));
	}
	if (fstat(fd, st) != 0)
	{
		save_errno = errno;
		CloseTransientFile(fd);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", path)));
	}
	if (!S_ISREG(st->st_mode))
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("could not %s file \"%s\": it is %s", append ? "append to" : "read", path,
						S_ISDIR(st->st_mode) ? "a directory" : "not a regular file")));
	}
	return fd;
}

/* What read_lines does with one line of buf (without its newline). */
typedef void (*LineHandler) (StringInfo buf, bool too_long, bool has_newline, int line_no,
							 void *arg);

typedef struct PositionReader
{
	PositionLineCallback callback;
	void	   *arg;
} PositionReader;

/* Parse one line as a position line and call the reader's callback. */
static void
position_file_line(StringInfo buf, bool too_long, bool has_newline, int line_no, void *arg)
{
	PositionReader *r = arg;
	PositionLine line;

	memset(&line, 0, sizeof(line));
	if (too_long)
		line.error = psprintf("line is longer than %d bytes", POSITION_MAX_LINE);
	else
		position_line_parse(buf->data, buf->len, &line);
	line.line_no = line_no;
	line.torn = (!has_newline && line.error != NULL);
	if (line.torn)
		line.error = psprintf("last line is incomplete (no newline at end of file): %s",
							  line.error);
	if (!line.blank)
		r->callback(&line, r->arg);
}

typedef struct RawReader
{
	RawLineCallback callback;
	void	   *arg;
} RawReader;

/* Hand one line that is not blank to the raw reader's callback. */
static void
raw_file_line(StringInfo buf, bool too_long, bool has_newline, int line_no, void *arg)
{
	RawReader  *r = arg;

	if (!too_long && strspn(buf->data, " \t\r") == (size_t) buf->len)
		return;
	r->callback(buf->data, buf->len, line_no, has_newline && !too_long, r->arg);
}

/*
 * Read a file line by line, calling handler for each line.  Each call
 * runs in a memory context that is reset afterwards.  A missing or
 * unreadable file, or anything but a regular file (a directory, a FIFO, a
 * device such as /dev/zero), raises an ERROR; the file is opened without
 * blocking so that a FIFO cannot hang the backend.
 */
static void
read_lines(const char *path, LineHandler handler, void *arg)
{
	struct stat st;
	int			fd;
	char	   *chunk;
	StringInfoData buf;
	MemoryContext line_cxt;
	MemoryContext old_cxt;
	int			line_no = 0;
	bool		too_long = false;

	fd = open_regular_file(path, O_RDONLY | O_NONBLOCK, false, &st);

	line_cxt = AllocSetContextCreate(CurrentMemoryContext, "position file line",
									 ALLOCSET_DEFAULT_SIZES);
	chunk = palloc(BLCKSZ);
	initStringInfo(&buf);
	for (;;)
	{
		ssize_t		n;
		ssize_t		i;

		CHECK_FOR_INTERRUPTS();
		n = read(fd, chunk, BLCKSZ);
		if (n < 0)
		{
			int			save_errno = errno;

			if (save_errno == EINTR)
				continue;
			CloseTransientFile(fd);
			errno = save_errno;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", path)));
		}
		if (n == 0)
			break;
		for (i = 0; i < n; i++)
		{
			if (chunk[i] != '\n')
			{
				if (buf.len >= POSITION_MAX_LINE)
					too_long = true;
				else
					appendStringInfoChar(&buf, chunk[i]);
				continue;
			}
			old_cxt = MemoryContextSwitchTo(line_cxt);
			handler(&buf, too_long, true, ++line_no, arg);
			MemoryContextSwitchTo(old_cxt);
			MemoryContextReset(line_cxt);
			resetStringInfo(&buf);
			too_long = false;
			CHECK_FOR_INTERRUPTS();
		}
	}
	if (buf.len > 0 || too_long)
	{
		old_cxt = MemoryContextSwitchTo(line_cxt);
		handler(&buf, too_long, false, ++line_no, arg);
		MemoryContextSwitchTo(old_cxt);
	}
	CloseTransientFile(fd);
	pfree(chunk);
	pfree(buf.data);
	MemoryContextDelete(line_cxt);
}

/* Read a position file: see position.h. */
void
position_file_read(const char *path, PositionLineCallback callback, void *arg)
{
	PositionReader r = {callback, arg};

	read_lines(path, position_file_line, &r);
}

/* Read a file of another format line by line: see position.h. */
void
position_file_read_raw(const char *path, RawLineCallback callback, void *arg)
{
	RawReader	r = {callback, arg};

	read_lines(path, raw_file_line, &r);
}

/*
 * Append one line (and a newline) in a single write; with sync, fsync the
 * file.  Creates the file when missing; refuses a symbolic link or anything
 * but a regular file.  A file whose last line is torn (no newline) gets one
 * first, so that the torn line stays the only bad one.
 */
void
position_file_append(const char *path, const char *line, bool sync)
{
	StringInfoData buf;
	int			fd;
	char	   *p;
	int			left;

	struct stat st;
	char		last;

	/* O_NOFOLLOW: a symlink planted in a shared log dir redirects nothing */
	fd = open_regular_file(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW, true, &st);
	initStringInfo(&buf);
	/* a line torn by a crash mid-write must not swallow this one */
	if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n')
		appendStringInfoChar(&buf, '\n');
	appendStringInfo(&buf, "%s\n", line);
	p = buf.data;
	left = buf.len;
	while (left > 0)
	{
		ssize_t		n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			int			save_errno = errno;

			CloseTransientFile(fd);
			errno = n < 0 ? save_errno : ENOSPC;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write to file \"%s\": %m", path)));
		}
		p += n;
		left -= n;
	}
	if (sync && pg_fsync(fd) != 0)
	{
		int			save_errno = errno;

		CloseTransientFile(fd);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", path)));
	}
	if (CloseTransientFile(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", path)));
	pfree(buf.data);
}

/* SQL: load_resume_config(path) */

typedef struct LoadState
{
	Tuplestorestate *store;
	TupleDesc	desc;
} LoadState;

static void
load_line(const PositionLine *line, void *arg)
{
	LoadState  *state = arg;
	Datum		values[10];
	bool		nulls[10];
	const PositionEntry *e = &line->entry;

	memset(nulls, true, sizeof(nulls));
	values[0] = Int32GetDatum(line->line_no);
	nulls[0] = false;
	if (line->tag)
	{
		values[1] = CStringGetTextDatum(line->tag);
		nulls[1] = false;
	}
	if (line->has_logged_at)
	{
		values[2] = TimestampTzGetDatum(line->logged_at);
		nulls[2] = false;
	}
	if (line->error)
	{
		values[9] = CStringGetTextDatum(line->error);
		nulls[9] = false;
	}
	else
	{
		values[3] = CStringGetTextDatum(position_kind_name(e->kind));
		nulls[3] = false;
		if (e->db_type)
		{
			values[4] = CStringGetTextDatum(e->db_type);
			nulls[4] = false;
		}
		if (e->schema)
		{
			values[5] = CStringGetTextDatum(e->schema);
			values[6] = CStringGetTextDatum(e->tb);
			nulls[5] = nulls[6] = false;
		}
		if (e->nkeys == 1)
		{
			values[7] = CStringGetTextDatum(e->order_cols[0]);
			nulls[7] = false;
			if (e->values[0])
			{
				values[8] = CStringGetTextDatum(e->values[0]);
				nulls[8] = false;
			}
		}
		else if (e->nkeys > 1)
		{
			values[7] = CStringGetTextDatum(position_json_string_array(e->order_cols, e->nkeys));
			values[8] = CStringGetTextDatum(position_json_string_array(e->values, e->nkeys));
			nulls[7] = nulls[8] = false;
		}
	}
	tuplestore_putvalues(state->store, state->desc, values, nulls);
}

PG_FUNCTION_INFO_V1(load_resume_config);

Datum
load_resume_config(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LoadState	state;
	char	   *path;

	check_file_privileges("read resume files", false);
	path = ape_resolve_path(text_to_cstring(PG_GETARG_TEXT_PP(0)));

	InitMaterializedSRF(fcinfo, 0);
	state.store = rsinfo->setResult;
	state.desc = rsinfo->setDesc;
	position_file_read(path, load_line, &state);
	PG_RETURN_VOID();
}
