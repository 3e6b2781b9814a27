/*-------------------------------------------------------------------------
 *
 * resume.c
 *	  The resume rules: where each table of a task starts.
 *
 * Strongest first: a finished entry anywhere (catalog, finished.log,
 * resume.config) skips the table; then the catalog position of this task
 * (and of the task that last wrote the resume log dir); then a
 * current_position line of position.log; then any other position line
 * (position.log before resume.config).  Within one kind a later line beats
 * an earlier one.  A position on other columns than the table's order key
 * (all of them, in key order) is ignored, with a line saying so.
 *
 * The files are read once per run into an array sorted by table, so that a
 * decision is a binary search whatever the size of position.log.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "checkpoint.h"
#include "order_key.h"
#include "position.h"
#include "privileges.h"
#include "resume.h"
#include "task_run.h"
#include "table_rule.h"

/* Kinds of position lines, weakest first. */
typedef enum MarkRank
{
	RANK_RESUME_CONFIG,			/* a position line of resume.config */
	RANK_LOG_OTHER,				/* any other position line of position.log */
	RANK_LOG_CURRENT,			/* a current_position line of position.log */
	RANK_FINISHED				/* a finished entry in any file */
} MarkRank;

/* One usable line of a file. */
typedef struct FileMark
{
	char	   *schema;
	char	   *tb;
	MarkRank	rank;
	ResumeOrigin origin;
	int			line_no;
	int			nkeys;
	char	  **order_cols;
	char	  **values;
	bool		used;			/* its table is one of the task's */
} FileMark;

/* One table's row in the catalog. */
typedef struct CatalogMark
{
	char	   *schema;
	char	   *tb;
	bool		own;			/* of this task, not of its predecessor */
	bool		finished;
	int			ncols;
	char	  **key_cols;		/* the order key it was copied on */
	int			nvalues;
	char	  **values;			/* its position, NULL: none */
	int			ndef;
	char	  **definition;		/* TABLE_DEF_N strings, NULL: not known (before 0.4.0) */
} CatalogMark;

/* The last definitions.log line of a table of the log dir resumed from. */
typedef struct FileDefinition
{
	char	   *schema;
	char	   *tb;
	char	  **definition;		/* TABLE_DEF_N strings */
} FileDefinition;

struct ResumeInputs
{
	const TaskConfig *config;
	List	   *file_defs;		/* of FileDefinition *, a table's last line first */
	int64		pred_id;		/* the predecessor whose catalog rows were read, 0: none */
	bool		log;
	bool		quiet;			/* no WARNING for missing or bad lines */
	FileMark   *marks;
	int			nmarks;
	int			maxmarks;
	CatalogMark *cat;
	int			ncat;
	MemoryContext cxt;
};

/* State of one file being read. */
typedef struct ReadState
{
	ResumeInputs *in;
	const char *path;
	ResumeOrigin origin;
} ReadState;

const char *
resume_action_name(ResumeAction action)
{
	switch (action)
	{
		case RESUME_FULL:
			return "full";
		case RESUME_FROM_VALUE:
			return "resume";
		case RESUME_SKIP:
			return "skip";
		case RESUME_REFUSE:
			return "refuse";
	}
	return "?";
}

const char *
resume_origin_name(ResumeOrigin origin)
{
	switch (origin)
	{
		case ORIGIN_NONE:
			return NULL;
		case ORIGIN_CATALOG:
			return "catalog";
		case ORIGIN_POSITION_LOG:
			return "position.log";
		case ORIGIN_FINISHED_LOG:
			return "finished.log";
		case ORIGIN_RESUME_CONFIG:
			return "resume.config";
	}
	return NULL;
}

/* default.log only: the callers raised their WARNINGs themselves. */
static void
resume_log(ResumeInputs *in, const char *level, const char *msg)
{
	if (in->log)
		task_file_log(in->config, level, msg);
}

static void
add_mark(ReadState *rs, const PositionLine *line, MarkRank rank)
{
	ResumeInputs *in = rs->in;
	MemoryContext old = MemoryContextSwitchTo(in->cxt);
	FileMark   *m;
	int			i;

	if (in->nmarks == in->maxmarks)
	{
		in->maxmarks = in->maxmarks ? in->maxmarks * 2 : 64;
		in->marks = in->marks ? repalloc_huge(in->marks, sizeof(FileMark) * in->maxmarks)
			: palloc(sizeof(FileMark) * in->maxmarks);
	}
	m = &in->marks[in->nmarks++];
	m->schema = pstrdup(line->entry.schema);
	m->tb = pstrdup(line->entry.tb);
	m->rank = rank;
	m->origin = rs->origin;
	m->line_no = line->line_no;
	m->nkeys = 0;
	m->order_cols = NULL;
	m->values = NULL;
	m->used = false;
	if (rank != RANK_FINISHED)
	{
		m->nkeys = line->entry.nkeys;
		m->order_cols = palloc0(sizeof(char *) * Max(m->nkeys, 1));
		m->values = palloc0(sizeof(char *) * Max(m->nkeys, 1));
		for (i = 0; i < m->nkeys; i++)
		{
			m->order_cols[i] = line->entry.order_cols[i] ? pstrdup(line->entry.order_cols[i]) : NULL;
			m->values[i] = line->entry.values[i] ? pstrdup(line->entry.values[i]) : NULL;
		}
	}
	MemoryContextSwitchTo(old);
}

static void
read_line_cb(const PositionLine *line, void *arg)
{
	ReadState  *rs = arg;

	if (line->error != NULL)
	{
		/* a torn last line is what a crash mid-write leaves: expected */
		if (!line->torn && !rs->in->quiet)
		{
			char	   *msg = psprintf("skipping line %d of file \"%s\": %s",
									   line->line_no, rs->path, line->error);

			ereport(WARNING, (errmsg_internal("%s", msg)));
			resume_log(rs->in, "WARN", msg);
		}
		return;
	}
	switch (line->entry.kind)
	{
		case POSITION_NONE:
			break;
		case POSITION_SNAPSHOT_FINISHED:
			add_mark(rs, line, RANK_FINISHED);
			break;
		case POSITION_SNAPSHOT:
			if (rs->origin == ORIGIN_RESUME_CONFIG)
				add_mark(rs, line, RANK_RESUME_CONFIG);
			else if (rs->origin == ORIGIN_POSITION_LOG)
				add_mark(rs, line, line->tag && strcmp(line->tag, "current_position") == 0
						 ? RANK_LOG_CURRENT : RANK_LOG_OTHER);
			/* positions in finished.log mean nothing */
			break;
	}
}

/*
 * Read one file into the marks.  A missing log file is a WARNING (a task
 * that never checkpointed leaves none); a missing resume.config, which the
 * user named, and anything unreadable are errors.
 */
static void
read_file(ResumeInputs *in, const char *path, ResumeOrigin origin, bool missing_ok)
{
	ReadState	rs;
	struct stat st;

	if (stat(path, &st) != 0 && errno == ENOENT)
	{
		char	   *msg;

		if (!missing_ok)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("resume file \"%s\" does not exist", path),
					 errdetail("It is named by resume_config_file in section [resumer].")));
		if (in->quiet)
			return;
		msg = psprintf("resumer, file \"%s\" does not exist: nothing resumed from it", path);
		ereport(WARNING, (errmsg_internal("%s", msg)));
		resume_log(in, "WARN", msg);
		return;
	}
	rs.in = in;
	rs.path = path;
	rs.origin = origin;
	position_file_read(path, read_line_cb, &rs);
}

/* Order marks by table, then strongest first. */
static int
mark_cmp(const void *a, const void *b)
{
	const FileMark *x = a;
	const FileMark *y = b;
	int			c;

	c = strcmp(x->schema, y->schema);
	if (c == 0)
		c = strcmp(x->tb, y->tb);
	if (c == 0)
		c = (int) y->rank - (int) x->rank;
	if (c == 0)
		c = y->line_no - x->line_no;
	return c;
}

static int
table_cmp(const char *schema, const char *tb, const char *s2, const char *t2)
{
	int			c = strcmp(schema, s2);

	return c != 0 ? c : strcmp(tb, t2);
}

/* One line of definitions.log: a bad one is skipped, with a WARNING. */
static void
read_definition_cb(const char *text, size_t len, int line_no, bool complete, void *arg)
{
	ReadState  *rs = arg;
	ResumeInputs *in = rs->in;
	char	   *schema;
	char	   *tb;
	char	   *def[TABLE_DEF_N];
	char	   *error = NULL;
	MemoryContext old;
	FileDefinition *fd;

	StaticAssertStmt(TABLE_DEF_N == POSITION_DEFINITION_N, "definition fields");
	if (!complete || !position_json_definition_parse(text, len, &schema, &tb, def, &error))
	{
		char	   *msg = psprintf("resumer, line %d of \"%s\" skipped: %s", line_no, rs->path,
								   complete ? error : "it is incomplete or too long");

		if (!in->quiet)
		{
			ereport(WARNING, (errmsg_internal("%s", msg)));
			resume_log(in, "WARN", msg);
		}
		return;
	}
	old = MemoryContextSwitchTo(in->cxt);
	fd = palloc(sizeof(FileDefinition));
	fd->schema = pstrdup(schema);
	fd->tb = pstrdup(tb);
	fd->definition = palloc(sizeof(char *) * TABLE_DEF_N);
	for (int i = 0; i < TABLE_DEF_N; i++)
		fd->definition[i] = pstrdup(def[i]);
	/* the last line of a table wins: it goes first */
	in->file_defs = lcons(fd, in->file_defs);
	MemoryContextSwitchTo(old);
}

/* Read definitions.log of the log dir resumed from, if there is one. */
static void
read_definitions(ResumeInputs *in, const char *path)
{
	ReadState	rs;
	struct stat st;

	if (stat(path, &st) != 0 && errno == ENOENT)
		return;
	rs.in = in;
	rs.path = path;
	rs.origin = ORIGIN_NONE;
	position_file_read_raw(path, read_definition_cb, &rs);
}

/* The definition definitions.log holds for a table, NULL if none. */
static char **
file_definition(ResumeInputs *in, const SourceTable *table)
{
	ListCell   *lc;

	foreach(lc, in->file_defs)
	{
		FileDefinition *fd = lfirst(lc);

		if (table_cmp(fd->schema, fd->tb, table->schema, table->tb) == 0)
			return fd->definition;
	}
	return NULL;
}

void
resume_log_definition(const TaskConfig *config, const SourceTable *table)
{
	position_file_append(psprintf("%s/definitions.log", config->log_dir),
						 position_json_definition(table->schema, table->tb,
												  resume_table_definition(config, table)),
						 true);
}


/* The catalog rows of this task and of its predecessor in the log dir. */
static void
load_catalog(ResumeInputs *in, int64 task_id)
{
	CatalogUser cu;
	Oid			types[6] = {INT8OID, BOOLOID, TEXTOID, TEXTOID, OIDOID, TEXTOID};
	Datum		args[6];
	char		nulls[7] = "      ";
	bool		from_catalog = in->config->resume_type != NULL &&
		strcmp(in->config->resume_type, "catalog") == 0 && in->config->task_id != NULL;
	int			rc;
	uint64		i;

	args[0] = Int64GetDatum(task_id);
	args[1] = BoolGetDatum(in->config->resume_from_log);
	args[2] = CStringGetTextDatum(in->config->resume_log_dir);
	args[3] = from_catalog ? CStringGetTextDatum(in->config->task_id) : (Datum) 0;
	nulls[3] = from_catalog ? ' ' : 'n';
	catalog_as_owner_begin(&cu);
	args[4] = ObjectIdGetDatum(cu.save_userid);
	/* a check never takes up a copy's positions, nor a copy a check's */
	args[5] = CStringGetTextDatum(in->config->check ? "check" : "copy");

	/*
	 * The predecessor: the newest other task that wrote the log dir resumed
	 * from, or (resume_type=from_target with a [global] task_id, as ape-dts
	 * keeps positions by task_id) the newest other task of that task_id
	 * that is not running, among those of roles the user belongs to; of
	 * the same kind (copy or check).
	 */
	rc = SPI_execute_with_args("WITH pred AS ("
							   "  SELECT max(id) AS id FROM ape_resume.task "
							   "  WHERE id <> $1 AND kind = $6 AND (($2 AND log_dir = $3) OR "
							   "   (task_id = $4 AND state NOT IN ('pending', 'running') AND "
							   "    pg_catalog.pg_has_role($5, owner, 'USAGE')))) "
							   "SELECT p.schema, p.tb, p.task_id = $1, "
							   "EXISTS (SELECT 1 FROM ape_resume.finished f WHERE "
							   "f.task_id = p.task_id AND f.schema = p.schema AND f.tb = p.tb), "
							   "p.key_cols, p.key_values, p.definition, p.task_id "
							   "FROM ape_resume.position p "
							   "WHERE p.task_id = $1 OR p.task_id = (SELECT id FROM pred) "
							   "ORDER BY 3 DESC",
							   6, types, args, nulls, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.position: %s", SPI_result_code_string(rc));
	in->ncat = (int) SPI_processed;
	in->cat = MemoryContextAllocZero(in->cxt, sizeof(CatalogMark) * Max(in->ncat, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		CatalogMark *c = &in->cat[i];
		bool		isnull;

		c->schema = MemoryContextStrdup(in->cxt, SPI_getvalue(tup, desc, 1));
		c->tb = MemoryContextStrdup(in->cxt, SPI_getvalue(tup, desc, 2));
		c->own = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		c->finished = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
		c->key_cols = catalog_get_text_array(tup, desc, 5, &c->ncols, in->cxt);
		c->values = catalog_get_text_array(tup, desc, 6, &c->nvalues, in->cxt);
		c->definition = catalog_get_text_array(tup, desc, 7, &c->ndef, in->cxt);
		if (!c->own)
			in->pred_id = DatumGetInt64(SPI_getbinval(tup, desc, 8, &isnull));
		if (c->ndef != TABLE_DEF_N)
			c->definition = NULL;
	}
	catalog_as_owner_end(&cu);
}

ResumeInputs *
resume_inputs_load(const TaskConfig *config, int64 task_id, int flags)
{
	ResumeInputs *in = palloc0(sizeof(ResumeInputs));

	in->config = config;
	in->log = (flags & RESUME_LOG) != 0;
	in->quiet = (flags & RESUME_QUIET) != 0;
	in->cxt = CurrentMemoryContext;

	load_catalog(in, task_id);
	if (config->resume_from_log)
	{
		read_file(in, psprintf("%s/position.log", config->resume_log_dir),
				  ORIGIN_POSITION_LOG, true);
		read_file(in, psprintf("%s/finished.log", config->resume_log_dir),
				  ORIGIN_FINISHED_LOG, true);
		read_definitions(in, psprintf("%s/definitions.log", config->resume_log_dir));
	}
	if (config->resume_config_file)
		read_file(in, config->resume_config_file, ORIGIN_RESUME_CONFIG, false);
	if (in->nmarks > 1)
		qsort(in->marks, in->nmarks, sizeof(FileMark), mark_cmp);
	return in;
}

int64
resume_inputs_predecessor(ResumeInputs *in)
{
	return in->pred_id;
}

/* Index of the first (strongest) mark of a table, or -1. */
static int
first_mark(ResumeInputs *in, const char *schema, const char *tb)
{
	int			lo = 0;
	int			hi = in->nmarks;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (table_cmp(in->marks[mid].schema, in->marks[mid].tb, schema, tb) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < in->nmarks &&
		table_cmp(in->marks[lo].schema, in->marks[lo].tb, schema, tb) == 0)
		return lo;
	return -1;
}

/* Does a position hold a JSON null? */
static bool
has_null(int n, char *const *values)
{
	for (int i = 0; i < n; i++)
		if (values[i] == NULL)
			return true;
	return false;
}

/* Note why a position was ignored, in the plan and in default.log. */
static void
add_note(ResumeInputs *in, const SourceTable *table, StringInfo notes, const char *msg)
{
	if (notes->len > 0)
		appendStringInfoString(notes, "; ");
	appendStringInfoString(notes, msg);
	if (in->log)
		task_log(in->config, "INFO", "resumer, schema: %s, tb: %s, %s",
				 table->schema, table->tb, msg);
}

/* Order columns, for messages: "a" or "a, b" */
static char *
key_text(int n, char *const *cols)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < n; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", cols[i] ? cols[i] : "null");
	return n > 0 ? buf.data : "(none)";
}

/* Why a position on other columns is ignored. */
static char *
not_the_key(const SourceTable *table)
{
	if (table->nkeys == 0)
		return "the table has no order key";
	return psprintf("the order key is %s",
					key_text(table->nkeys, order_key_names(table)));
}

/*
 * The source server and database of the config, without credentials or
 * options: the source's own reading (PostgreSQL: libpq's), or the URL's.
 */
static char *
source_identity(const TaskConfig *config)
{
	const SourceOps *ops = source_ops_for(config->db_type);

	if (ops->identity != NULL)
		return ops->identity(config);
	return url_server_identity(config->url, config->db_type);
}

char **
resume_table_definition(const TaskConfig *config, const SourceTable *table)
{
	const TableRule *rule = table_rule_find(config->filter.table_rules, table->schema, table->tb);
	char	  **def = palloc0(sizeof(char *) * TABLE_DEF_N);
	char	   *dst_schema;
	char	   *dst_tb;

	def[TABLE_DEF_SOURCE] = source_identity(config);
	def[TABLE_DEF_WHERE] = table_rule_text(rule, TABLE_RULE_WHERE);
	def[TABLE_DEF_IGNORE_COLS] = table_rule_text(rule, TABLE_RULE_IGNORE_COLS);
	def[TABLE_DEF_COL_MAP] = table_rule_text(rule, TABLE_RULE_COL_MAP);
	name_filter_route(&config->filter, table->schema, table->tb, &dst_schema, &dst_tb);
	def[TABLE_DEF_TARGET] = psprintf("%s.%s", quote_identifier(dst_schema), quote_identifier(dst_tb));
	return def;
}

/*
 * Why a table whose rows a catalog row says were copied under definition
 * old cannot resume under def; NULL if it can.
 */
static char *
definition_changed(const SourceTable *table, char **old, char **def)
{
	static const char *const what[TABLE_DEF_N] = {
		"source server or database ([extractor] url)",
		"where_conditions of section [filter]",
		"ignore_cols of section [filter]",
		"col_map of section [router]",
		"target table ([router] db_map, tb_map)"
	};

	if (old == NULL)
		return NULL;
	for (int i = 0; i < TABLE_DEF_N; i++)
		if (strcmp(old[i], def[i]) != 0)
			return psprintf("table \"%s\".\"%s\" cannot resume: its %s changed since its rows were copied: was \"%s\", is \"%s\"",
							table->schema, table->tb, what[i], old[i], def[i]);
	return NULL;
}

/* Make d a refusal for the reason why, also in default.log. */
static void
refuse(ResumeInputs *in, ResumeDecision *d, char *why)
{
	d->action = RESUME_REFUSE;
	d->note = why;
	d->value = NULL;
	if (in->log)
		task_log(in->config, "ERROR", "resumer, %s", why);
}

/*
 * A decision taken from the log dir's position.log or finished.log: the
 * rows were copied under the settings of its definitions.log, if it has
 * a line for the table.  Other ones: refuse (and true).
 */
static bool
refused_by_file_definition(ResumeInputs *in, const SourceTable *table, char **def,
						   ResumeDecision *d)
{
	char	   *why;

	if (d->origin != ORIGIN_POSITION_LOG && d->origin != ORIGIN_FINISHED_LOG)
		return false;
	why = definition_changed(table, file_definition(in, table), def);
	if (why == NULL)
		return false;
	refuse(in, d, why);
	return true;
}

void
resume_decide(ResumeInputs *in, const SourceTable *table, ResumeDecision *d)
{
	StringInfoData notes;
	int			first = first_mark(in, table->schema, table->tb);
	char	  **def;
	int			i;

	for (i = first; i >= 0 && i < in->nmarks &&
		 table_cmp(in->marks[i].schema, in->marks[i].tb, table->schema, table->tb) == 0; i++)
		in->marks[i].used = true;

	memset(d, 0, sizeof(ResumeDecision));
	d->action = RESUME_FULL;
	d->origin = ORIGIN_NONE;
	initStringInfo(&notes);

	/* rows copied under other settings (this task's, or its predecessor's) */
	def = resume_table_definition(in->config, table);
	for (i = 0; i < in->ncat; i++)
	{
		CatalogMark *c = &in->cat[i];
		char	   *why;

		if (table_cmp(c->schema, c->tb, table->schema, table->tb) != 0 ||
			(!c->finished && c->values == NULL))
			continue;
		why = definition_changed(table, c->definition, def);
		if (why != NULL)
		{
			d->origin = ORIGIN_CATALOG;
			d->own = c->own;
			refuse(in, d, why);
			return;
		}
	}

	/* finished anywhere: skip */
	for (i = 0; i < in->ncat && d->action != RESUME_SKIP; i++)
		if (in->cat[i].finished &&
			table_cmp(in->cat[i].schema, in->cat[i].tb, table->schema, table->tb) == 0)
		{
			d->action = RESUME_SKIP;
			d->origin = ORIGIN_CATALOG;
			d->own = in->cat[i].own;
		}
	if (d->action != RESUME_SKIP && first >= 0 && in->marks[first].rank == RANK_FINISHED)
	{
		d->action = RESUME_SKIP;
		d->origin = in->marks[first].origin;
		d->line_no = in->marks[first].line_no;
	}
	if (in->log)
		task_log(in->config, "INFO", "resumer, check finished: schema: %s, tb: %s, result: %s",
				 table->schema, table->tb, d->action == RESUME_SKIP ? "true" : "false");
	if (d->action == RESUME_SKIP)
	{
		(void) refused_by_file_definition(in, table, def, d);
		return;
	}

	/* the catalog: own rows sort first */
	for (i = 0; i < in->ncat && d->action == RESUME_FULL; i++)
	{
		CatalogMark *c = &in->cat[i];

		if (table_cmp(c->schema, c->tb, table->schema, table->tb) != 0 || c->values == NULL)
			continue;
		if (!order_key_matches(table, c->ncols, c->key_cols) || c->nvalues != c->ncols)
		{
			add_note(in, table, &notes,
					 psprintf("catalog position on %s ignored: %s",
							  key_text(c->ncols, c->key_cols), not_the_key(table)));
			continue;
		}
		d->action = RESUME_FROM_VALUE;
		d->origin = ORIGIN_CATALOG;
		d->own = c->own;
		d->value = c->values;
	}

	/* then the files, strongest first */
	for (i = first; d->action == RESUME_FULL && i >= 0 && i < in->nmarks; i++)
	{
		FileMark   *m = &in->marks[i];

		if (table_cmp(m->schema, m->tb, table->schema, table->tb) != 0)
			break;
		if (!order_key_matches(table, m->nkeys, m->order_cols))
		{
			add_note(in, table, &notes,
					 psprintf("position on %s at line %d of %s ignored: %s",
							  key_text(m->nkeys, m->order_cols), m->line_no,
							  resume_origin_name(m->origin), not_the_key(table)));
			continue;
		}
		if (has_null(m->nkeys, m->values))
		{
			add_note(in, table, &notes,
					 psprintf("position at line %d of %s ignored: its value is null",
							  m->line_no, resume_origin_name(m->origin)));
			continue;
		}
		d->action = RESUME_FROM_VALUE;
		d->origin = m->origin;
		d->value = m->values;
		d->line_no = m->line_no;
	}
	d->note = notes.len > 0 ? notes.data : NULL;

	if (refused_by_file_definition(in, table, def, d))
		return;

	if (in->log && table->nkeys > 0)
	{
		const char *v = order_key_values_text(table->nkeys, d->value);

		task_log(in->config, "INFO",
				 "resumer, get resume value, schema: %s, tb: %s, col: %s, result: %s%s%s",
				 table->schema, table->tb, order_key_names_text(table),
				 v ? "Some(\"" : "None", v ? v : "", v ? "\")" : "");
	}
}

/*
 * After every table was decided: say which tables the files name that the
 * task does not copy (a typo in resume.config, a table dropped at the
 * source, a filter that changed).  Nothing fails on it.
 */
void
resume_report_unused(ResumeInputs *in)
{
	int			i;

	for (i = 0; i < in->nmarks; i++)
	{
		FileMark   *m = &in->marks[i];
		char	   *msg;

		if (m->used || (i > 0 && table_cmp(m->schema, m->tb, in->marks[i - 1].schema,
											in->marks[i - 1].tb) == 0))
			continue;
		msg = psprintf("resumer, table \"%s\".\"%s\" named at line %d of %s is not copied by this task: "
					   "it does not exist at the source or is not selected by the filter",
					   m->schema, m->tb, m->line_no, resume_origin_name(m->origin));
		ereport(m->origin == ORIGIN_RESUME_CONFIG ? WARNING : LOG, (errmsg_internal("%s", msg)));
		resume_log(in, m->origin == ORIGIN_RESUME_CONFIG ? "WARN" : "INFO", msg);
	}
}

void
resume_check_files(const TaskConfig *config)
{
	struct stat st;

	if (config->resume_config_file)
	{
		const char *path = config->resume_config_file;

		if (stat(path, &st) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not use resume_config_file \"%s\" of section [resumer]: %m", path)));
		if (S_ISDIR(st.st_mode))
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("resume_config_file \"%s\" of section [resumer] is a directory", path),
					 errhint("Name the resume.config file, not its folder.")));
		if (access(path, R_OK) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read resume_config_file \"%s\" of section [resumer]: %m", path)));
	}
	if (config->resume_from_log && stat(config->resume_log_dir, &st) == 0 &&
		!S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("resume log dir \"%s\" of section [resumer] is not a directory",
						config->resume_log_dir)));
}

/*
 * A crash between a commit and its log line leaves position.log or
 * finished.log behind the catalog.  When a task runs again, append what
 * they miss, so that the files agree with the catalog (and with the data)
 * for whoever resumes from them later.
 */
void
resume_repair_logs(const TaskConfig *config, int64 task_id, List *tables)
{
	TaskConfig	own = *config;
	ResumeInputs *in;
	ListCell   *lc;

	own.resume_from_log = true;
	own.resume_log_dir = config->log_dir;
	own.resume_config_file = NULL;
	in = resume_inputs_load(&own, task_id, RESUME_QUIET);

	foreach(lc, tables)
	{
		SourceTable *table = lfirst(lc);
		CatalogMark *c = NULL;
		int			first = first_mark(in, table->schema, table->tb);
		bool		logged_finished = false;
		char	  **logged_value = NULL;
		int			i;

		for (i = 0; i < in->ncat; i++)
			if (in->cat[i].own &&
				table_cmp(in->cat[i].schema, in->cat[i].tb, table->schema, table->tb) == 0)
				c = &in->cat[i];
		if (c == NULL)
			continue;
		for (i = first; i >= 0 && i < in->nmarks &&
			 table_cmp(in->marks[i].schema, in->marks[i].tb, table->schema, table->tb) == 0; i++)
		{
			if (in->marks[i].rank == RANK_FINISHED && in->marks[i].origin == ORIGIN_FINISHED_LOG)
				logged_finished = true;
			if (in->marks[i].rank == RANK_LOG_CURRENT && logged_value == NULL &&
				order_key_matches(table, in->marks[i].nkeys, in->marks[i].order_cols) &&
				!has_null(in->marks[i].nkeys, in->marks[i].values))
				logged_value = in->marks[i].values;
		}
		if (c->values != NULL && order_key_matches(table, c->ncols, c->key_cols) &&
			c->nvalues == table->nkeys &&
			(logged_value == NULL || !order_key_equal(table->nkeys, logged_value, c->values)))
		{
			checkpoint_log_position(config, table, c->values);
			task_log(config, "INFO", "position.log was behind the catalog for \"%s\".\"%s\": appended its position %s",
					 table->schema, table->tb, order_key_values_text(table->nkeys, c->values));
		}
		if (c->finished && !logged_finished)
		{
			checkpoint_log_finished(config, table);
			task_log(config, "INFO", "finished.log was missing finished table \"%s\".\"%s\": appended",
					 table->schema, table->tb);
		}
	}
}
