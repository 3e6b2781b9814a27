/*-------------------------------------------------------------------------
 *
 * sink.c
 *	  The local target of a copy: creating target tables and ingesting rows
 *	  through COPY FROM with a data-source callback, as PostgreSQL's
 *	  logical-replication table sync does (tablesync.c).
 *
 * Rows arrive as text in PostgreSQL's input format (see source.h) and are
 * framed here, one row at a time, as COPY's binary format when every
 * column's type has a fast encoder (copy_binary.c), else as COPY text
 * lines, so a table of any size is ingested in the memory of one row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "commands/copy.h"
#include "common/hashfn.h"
#include "commands/copyfrom_internal.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_relation.h"
#include "parser/parse_type.h"
#include "tcop/tcopprot.h"
#include "utils/inval.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "copy_binary.h"
#include "privileges.h"
#include "sink.h"
#include "sink_internal.h"
#include "structure.h"

/* First key of the advisory lock taken while a target schema is created. */
#define APE_SCHEMA_LOCK_CLASS 0x41504552

char *
sink_qualified_name(const char *schema, const char *tb)
{
	return psprintf("%s.%s", quote_identifier(schema), quote_identifier(tb));
}

static char *
column_list(List *names)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, names)
	{
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, quote_identifier(lfirst(lc)));
	}
	return buf.data;
}

void
sink_run_ddl(const char *sql)
{
	int			rc;
	int			nestlevel;

	/* one statement per call: nothing built here may smuggle in a second */
	if (list_length(pg_parse_query(sql)) != 1)
		elog(ERROR, "statement \"%s\" is not exactly one statement", sql);
	nestlevel = pinned_spi_connect();

	rc = SPI_execute(sql, false, 0);
	if (rc < 0)
		elog(ERROR, "could not run \"%s\": %s", sql, SPI_result_code_string(rc));
	pinned_spi_finish(nestlevel);
}

/*
 * The target type of a column as SQL built from its resolved OID and
 * typmod, schema-qualified: the type text of a source (a PostgreSQL
 * source's format_type, which a hostile server or a man in the middle
 * controls) is parsed as a type name and nothing else.
 */
char *
sink_type_sql(const char *pg_type, const char *column)
{
	Oid			typid;
	int32		typmod;
	Oid			elem;
	char		typtype;

	parseTypeString(pg_type, &typid, &typmod, false);
	/*
	 * Sources name base types, ranges, enums and arrays of those, and the
	 * domains and composite types the task made (structure.c, their checks
	 * vetted); any other domain, even as an array's element, would run its
	 * CHECK's functions, a composite's input those of its attributes' types.
	 */
	for (elem = typid; OidIsValid(get_element_type(elem)); elem = get_element_type(elem))
		;
	typtype = get_typtype(elem);
	if (typtype == TYPTYPE_PSEUDO || !structure_type_is_safe(typid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("type %s of column \"%s\" is not a base type",
						format_type_be_qualified(typid), column)));
	return format_type_extended(typid, typmod,
								FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY);
}

/*
 * " COLLATE <collation>" for a column whose source gave a collation that
 * the target has, written from the target's catalog; "" otherwise (the
 * source's structures list a collation the target lacks, see
 * pg_structure.c).
 */
static const char *
target_collation_sql(const SourceColumn *col)
{
	Oid			coll;
	HeapTuple	tup;
	char	   *sql;

	if (col->collation_name == NULL)
		return "";
	coll = get_collation_oid(list_make2(makeString(col->collation_schema),
										makeString(col->collation_name)), true);
	if (!OidIsValid(coll))
		return "";
	tup = SearchSysCache1(COLLOID, ObjectIdGetDatum(coll));
	if (!HeapTupleIsValid(tup))
		return "";
	sql = psprintf(" COLLATE %s.%s",
				   quote_identifier(get_namespace_name(((Form_pg_collation) GETSTRUCT(tup))->collnamespace)),
				   quote_identifier(NameStr(((Form_pg_collation) GETSTRUCT(tup))->collname)));
	ReleaseSysCache(tup);
	return sql;
}

/*
 * For a source whose rows have no fixed columns (a Mongo collection,
 * columns_from_target): an existing target table's columns, every one not
 * dropped or generated, replace the table's, by name and type, and the
 * source fills each from its rows.  The order column must be among them.
 */
static void
take_target_columns(SourceTable *table, Oid relid, const char *dst_schema, const char *dst_tb)
{
	/* they live as long as the table (a worker's claims come and go) */
	MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(table));
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	SourceColumn *cols = palloc0(sizeof(SourceColumn) * Max(desc->natts, 1));
	int		   *key_cols = palloc(sizeof(int) * Max(table->nkeys, 1));
	int			n = 0;
	int			i;

	for (int k = 0; k < table->nkeys; k++)
		key_cols[k] = -1;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || att->attgenerated)
			continue;
		cols[n].name = pstrdup(NameStr(att->attname));
		cols[n].pg_type = format_type_with_typemod(att->atttypid, att->atttypmod);
		cols[n].source_type = table->columns[table->key_cols[0]].source_type;
		cols[n].not_null = att->attnotnull;
		for (int k = 0; k < table->nkeys; k++)
			if (strcmp(cols[n].name, table->columns[table->key_cols[k]].name) == 0)
				key_cols[k] = n;
		n++;
	}
	table_close(rel, AccessShareLock);
	for (int k = 0; k < table->nkeys; k++)
		if (key_cols[k] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("target table %s has no column \"%s\" for source table \"%s\".\"%s\"",
							sink_qualified_name(dst_schema, dst_tb),
							table->columns[table->key_cols[k]].name, table->schema, table->tb),
					 errhint("Add the column, or drop the target table to let ape_resume create it.")));
	table->columns = cols;
	table->ncolumns = n;
	table->key_cols = key_cols;
	MemoryContextSwitchTo(old);
}

bool
sink_table_exists(const char *dst_schema, const char *dst_tb)
{
	Oid			nsp = get_namespace_oid(dst_schema, true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid(dst_tb, nsp));
}

void
sink_create_schema(const char *schema)
{
	/*
	 * Workers of one task may create a schema at once: serialize them,
	 * since IF NOT EXISTS does not protect against a concurrent CREATE.
	 */
	sink_run_ddl(psprintf("SELECT pg_catalog.pg_advisory_xact_lock(%d, pg_catalog.hashtext(%s))",
					 APE_SCHEMA_LOCK_CLASS, quote_literal_cstr(schema)));
	/* see what the lock's previous holder committed */
	AcceptInvalidationMessages();
	InvalidateCatalogSnapshot();
	sink_run_ddl(psprintf("CREATE SCHEMA IF NOT EXISTS %s", quote_identifier(schema)));
	CommandCounterIncrement();
}

char *
sink_prepare_table(const SourceTable *table, const char *dst_schema, const char *dst_tb,
				   bool *created)
{
	Oid			nsp = get_namespace_oid(dst_schema, true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(dst_tb, nsp) : InvalidOid;
	MemoryContext cxt = CurrentMemoryContext;
	StringInfoData sql;
	StringInfoData keys;
	ListCell   *lc;
	int			i;

	*created = false;
	if (OidIsValid(relid))
	{
		if (table->columns_from_target)
		{
			take_target_columns(unconstify(SourceTable *, table), relid, dst_schema, dst_tb);
			return NULL;
		}
		/* an existing table is used as it is: its columns matched by name */
		for (i = 0; i < table->ncolumns; i++)
		{
			const char *name = source_column_target(&table->columns[i]);
			AttrNumber	att = get_attnum(relid, name);

			if (att == InvalidAttrNumber)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("target table %s has no column \"%s\" for source table \"%s\".\"%s\"",
								sink_qualified_name(dst_schema, dst_tb), name,
								table->schema, table->tb),
						 errhint("Add the column, or drop the target table to let ape_resume create it.")));
		}
		return NULL;
	}

	if (!OidIsValid(nsp))
		sink_create_schema(dst_schema);

	initStringInfo(&sql);

	/*
	 * The keys are added when the table is complete: building an index from
	 * sorted rows once costs less than maintaining it row by row.
	 */
	initStringInfo(&keys);
	if (table->primary_key != NIL)
		appendStringInfo(&keys, "ADD PRIMARY KEY (%s)", column_list(table->primary_key));
	foreach(lc, table->unique_keys)
		appendStringInfo(&keys, "%sADD UNIQUE (%s)", keys.len > 0 ? ", " : "",
						 column_list(lfirst(lc)));
	/* a type the target lacks (an extension's): say which table it is */
	PG_TRY();
	{
		appendStringInfo(&sql, "CREATE TABLE %s (", sink_qualified_name(dst_schema, dst_tb));
		for (i = 0; i < table->ncolumns; i++)
		{
			SourceColumn *col = &table->columns[i];

			appendStringInfo(&sql, "%s%s %s%s%s", i > 0 ? ", " : "",
							 quote_identifier(source_column_target(col)), sink_type_sql(col->pg_type, col->name),
							 target_collation_sql(col), col->not_null ? " NOT NULL" : "");
		}
		appendStringInfoChar(&sql, ')');
		sink_run_ddl(sql.data);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(edata->sqlerrcode),
				 errmsg("could not create target table %s for source table \"%s\".\"%s\": %s",
						sink_qualified_name(dst_schema, dst_tb), table->schema, table->tb,
						edata->message),
				 edata->detail ? errdetail("%s", edata->detail) : 0,
				 edata->hint ? errhint("%s", edata->hint) : 0));
	}
	PG_END_TRY();
	CommandCounterIncrement();
	*created = true;
	if (keys.len == 0)
		return NULL;
	return psprintf("ALTER TABLE %s %s", sink_qualified_name(dst_schema, dst_tb), keys.data);
}

void
sink_replace_bound(const SourceTable *table, const char *dst_schema, const char *dst_tb,
				   ReplaceBound *bound)
{
	MemoryContext cxt = CurrentMemoryContext;
	/* a composite key: bounded by its first column */
	const char *col = source_column_target(&table->columns[table->key_cols[0]]);
	Oid			relid = get_relname_relid(dst_tb, get_namespace_oid(dst_schema, false));
	AttrNumber	attnum = OidIsValid(relid) ? get_attnum(relid, col) : InvalidAttrNumber;
	TypeCacheEntry *tc = NULL;
	char		category = TYPCATEGORY_INVALID;
	bool		preferred;
	int			nestlevel;
	int			rc;
	bool		isnull;
	Datum		max;

	memset(bound, 0, sizeof(ReplaceBound));
	/* rows with the max first value may follow it in the other columns */
	bound->past = table->nkeys > 1;
	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("target table %s has no column \"%s\"", sink_qualified_name(dst_schema, dst_tb), col)));
	bound->typid = get_atttype(relid, attnum);
	if (sink_is_citus_table(relid))
		sink_citus_settle(sink_qualified_name(dst_schema, dst_tb));
	/* a text key's order depends on a collation: replace to the end */
	get_type_category_preferred(bound->typid, &category, &preferred);
	if (category == TYPCATEGORY_NUMERIC || category == TYPCATEGORY_DATETIME)
	{
		tc = lookup_type_cache(bound->typid, TYPECACHE_CMP_PROC_FINFO);
		bound->bounded = OidIsValid(tc->cmp_proc_finfo.fn_oid);
	}
	if (!bound->bounded)
	{
		bound->empty = !sink_table_has_rows(dst_schema, dst_tb);
		return;
	}

	nestlevel = pinned_spi_connect();
	/* the type's default btree order, as the copy's ORDER BY: no max() needed */
	rc = SPI_execute(psprintf("SELECT %s FROM %s ORDER BY 1 DESC NULLS LAST LIMIT 1",
							  quote_identifier(col), sink_qualified_name(dst_schema, dst_tb)),
					 true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read target table %s: %s",
			 sink_qualified_name(dst_schema, dst_tb), SPI_result_code_string(rc));
	if (SPI_processed == 0)
	{
		bound->empty = true;
		pinned_spi_finish(nestlevel);
		return;
	}
	max = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		bound->bounded = false;	/* only NULLs: replace to the end */
	else
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);
		int16		typlen;
		bool		typbyval;

		get_typlenbyval(bound->typid, &typlen, &typbyval);
		bound->max = datumCopy(max, typbyval, typlen);
		bound->cmp = palloc(sizeof(FmgrInfo));
		fmgr_info_copy(bound->cmp, &tc->cmp_proc_finfo, cxt);
		getTypeInputInfo(bound->typid, &bound->typinput, &bound->typioparam);
		MemoryContextSwitchTo(old);
	}
	pinned_spi_finish(nestlevel);
}

bool
sink_replace_bound_reached(const ReplaceBound *bound, const char *value)
{
	Datum		v;
	int			cmp;

	if (!bound->bounded)
		return false;
	/* the value was just written to that column: its input takes it */
	v = OidInputFunctionCall(bound->typinput, unconstify(char *, value), bound->typioparam, -1);
	cmp = DatumGetInt32(FunctionCall2Coll(bound->cmp, InvalidOid, v, bound->max));
	return bound->past ? cmp > 0 : cmp >= 0;
}

bool
sink_table_has_rows(const char *dst_schema, const char *dst_tb)
{
	bool		has_rows;
	int			rc;
	int			nestlevel;

	if (sink_is_citus_target(dst_schema, dst_tb))
		sink_citus_touched();
	nestlevel = pinned_spi_connect();
	rc = SPI_execute(psprintf("SELECT 1 FROM %s LIMIT 1", sink_qualified_name(dst_schema, dst_tb)),
					 true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read %s: %s", sink_qualified_name(dst_schema, dst_tb),
			 SPI_result_code_string(rc));
	has_rows = SPI_processed > 0;
	pinned_spi_finish(nestlevel);
	return has_rows;
}

/* State of the COPY in progress: the data-source callback takes no argument. */
typedef struct CopyFeedState
{
	SinkRowFeed feed;
	SinkLineFeed line_feed;		/* instead of feed: rows as COPY text */
	void	   *arg;
	CopyBinaryEncoder *binary;	/* NULL: COPY text */
	CopyFromState cstate;		/* once BeginCopyFrom has returned */
	uint64		binary_rows;	/* rows framed in binary */
	uint64		binary_bytes;	/* their bytes */
	int			recent_biggest; /* the largest row of the last call framing rows */
	int			ncolumns;
	char	  **values;
	int		   *lengths;
	StringInfoData buf;			/* COPY data not yet handed over */
	int			pos;
	bool		done;
	bool		in_callback;	/* an error now comes from the feed or encoder */
} CopyFeedState;

static CopyFeedState *copy_feed = NULL;

/* The bytes COPY's text format escapes, and their escape letters. */
static const char copy_escape[256] = {
	['\\'] = '\\', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'
};

/* Append one value escaped for COPY's text format. */
static void
append_copy_value(StringInfo buf, const char *v, int len)
{
	const unsigned char *p = (const unsigned char *) v;
	const unsigned char *end = p + len;
	const unsigned char *start = p;

	for (; p < end; p++)
	{
		char		esc = copy_escape[*p];

		if (likely(esc == 0))
			continue;
		appendBinaryStringInfo(buf, (const char *) start, p - start);
		appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, esc);
		start = p + 1;
	}
	appendBinaryStringInfo(buf, (const char *) start, end - start);
}

/*
 * Re-throw the current error, a value that the input function of its
 * column rejected (a data exception), with the source table and column in
 * its message: the message is what a failed task shows, and COPY names them
 * only in the error's context.  Other errors (a cancel, out of memory) are
 * re-thrown as they are.  in_callback: the value was rejected while the
 * data-source callback framed it, ahead of the row COPY is reading, so
 * COPY's context (line and column) would point elsewhere: it is dropped.
 */
static void
rethrow_naming_column(const SourceTable *table, const char *attname, bool in_callback,
					  MemoryContext cxt)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_DATA_EXCEPTION)
	{
		edata->message = psprintf("table \"%s\".\"%s\" column \"%s\": %s",
								  table->schema, table->tb, attname, edata->message);
		if (in_callback)
			edata->context = NULL;
	}
	ReThrowError(edata);
}

/*
 * COPY flushes its buffered rows at 1000 rows or 64 kB of input, counting a
 * row's input by line_buf, which PostgreSQL 15 leaves unused (data NULL) in
 * binary format: rows of 16 MB would be buffered by the thousand.  Tell it
 * the size of the rows being parsed: the larger of the average and of the
 * largest row recently framed (the buffer runs ahead of COPY by a read).
 */
static void
tell_row_size(CopyFeedState *st)
{
	StringInfo	line_buf;

	if (st->binary == NULL || st->cstate == NULL || st->binary_rows == 0)
		return;
	line_buf = &st->cstate->line_buf;
	if (line_buf->data != NULL)
		return;					/* in use: not the PostgreSQL 15 we know */
	line_buf->len = (int) Min(Max(st->binary_bytes / st->binary_rows,
								  (uint64) st->recent_biggest),
							  (uint64) INT_MAX);
}

static int
copy_read_cb(void *outbuf, int minread, int maxread)
{
	CopyFeedState *st = copy_feed;
	int			avail;
	int			biggest = 0;	/* the largest row framed in this call */

	st->in_callback = true;
	/* keep the buffer small: drop what was handed over */
	if (st->pos > 0 && st->buf.len - st->pos < maxread)
	{
		memmove(st->buf.data, st->buf.data + st->pos, st->buf.len - st->pos);
		st->buf.len -= st->pos;
		st->buf.data[st->buf.len] = '\0';
		st->pos = 0;
	}
	/* hand over as much as COPY takes at once, not one row a call */
	while (!st->done && st->buf.len - st->pos < maxread)
	{
		int			i;
		if (st->line_feed)
		{
			const char *line;
			int			len;

			if (!st->line_feed(st->arg, &line, &len))
			{
				st->done = true;
				break;
			}
			appendBinaryStringInfo(&st->buf, line, len);
			continue;
		}
		if (!st->feed(st->arg, st->values, st->lengths))
		{
			st->done = true;
			if (st->binary)
				copy_binary_trailer(&st->buf);
			break;
		}
		if (st->binary)
		{
			int			before = st->buf.len;

			copy_binary_append_row(st->binary, &st->buf, st->values, st->lengths);
			st->binary_rows++;
			st->binary_bytes += st->buf.len - before;
			biggest = Max(biggest, st->buf.len - before);
			continue;
		}
		for (i = 0; i < st->ncolumns; i++)
		{
			if (i > 0)
				appendStringInfoChar(&st->buf, '\t');
			if (st->values[i] == NULL)
				appendStringInfoString(&st->buf, "\\N");
			else
				append_copy_value(&st->buf, st->values[i], st->lengths[i]);
		}
		appendStringInfoChar(&st->buf, '\n');
	}
	avail = Min(st->buf.len - st->pos, maxread);
	memcpy(outbuf, st->buf.data + st->pos, avail);
	st->pos += avail;

	if (biggest > 0)
		st->recent_biggest = biggest;
	tell_row_size(st);
	st->in_callback = false;
	return avail;
}

/* sink_copy_rows and sink_copy_lines: rows from feed or line_feed. */
static uint64
copy_into(const SourceTable *table, const char *dst_schema, const char *dst_tb,
		  SinkRowFeed feed, SinkLineFeed line_feed, void *arg)
{
	RangeVar   *rv = makeRangeVar(pstrdup(dst_schema), pstrdup(dst_tb), -1);
	Relation	rel;
	ParseState *pstate;
	CopyFromState volatile cstate;
	MemoryContext cxt = CurrentMemoryContext;
	List	   *attnames = NIL;
	CopyFeedState *st;
	List	   *options;
	uint64		rows;
	AclResult	aclresult;
	int			i;

	rel = table_openrv(rv, RowExclusiveLock);
	if (sink_is_citus_table(RelationGetRelid(rel)))
	{
		table_close(rel, NoLock);
		return sink_copy_into_citus(table, dst_schema, dst_tb, feed, line_feed, arg);
	}
	aclresult = pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_INSERT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, get_relkind_objtype(rel->rd_rel->relkind),
					   RelationGetRelationName(rel));
	if (check_enable_rls(RelationGetRelid(rel), InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot copy into table %s: row-level security is enabled for it",
						sink_qualified_name(dst_schema, dst_tb))));

	for (i = 0; i < table->ncolumns; i++)
		attnames = lappend(attnames, makeString((char *) source_column_target(&table->columns[i])));

	/* allocated, not local: read in PG_CATCH after changes in PG_TRY */
	st = palloc0(sizeof(CopyFeedState));
	st->feed = feed;
	st->line_feed = line_feed;
	st->arg = arg;
	st->ncolumns = table->ncolumns;
	st->values = palloc0(sizeof(char *) * table->ncolumns);
	st->lengths = palloc0(sizeof(int) * table->ncolumns);
	initStringInfo(&st->buf);
	if (feed != NULL)
		st->binary = copy_binary_prepare(rel, attnames);
	elog(DEBUG1, "batch of source table \"%s\".\"%s\" goes into %s through COPY's %s format",
		 table->schema, table->tb, sink_qualified_name(dst_schema, dst_tb),
		 st->binary ? "binary" : "text");
	if (st->binary)
	{
		/* BeginCopyFrom reads the header at once */
		copy_binary_header(&st->buf);
		options = list_make1(makeDefElem("format", (Node *) makeString("binary"), -1));
	}
	else
	{
		/* sources hand over UTF-8; COPY converts to the database encoding */
		options = list_make1(makeDefElem("encoding", (Node *) makeString("UTF8"), -1));
	}

	pstate = make_parsestate(NULL);
	(void) addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, NULL, false, false);
	copy_feed = st;
	cstate = NULL;
	PG_TRY();
	{
		cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, copy_read_cb, attnames,
							   options);
		st->cstate = cstate;
		tell_row_size(st);
		rows = CopyFrom(cstate);
		EndCopyFrom(cstate);
	}
	PG_CATCH();
	{
		copy_feed = NULL;
		/* a value its column's input (or receive) function rejected */
		if (st->in_callback)
		{
			int			col = st->binary ? copy_binary_failed_column(st->binary) : -1;

			if (col >= 0)
				rethrow_naming_column(table, source_column_target(&table->columns[col]), true, cxt);
		}
		else if (cstate != NULL && cstate->cur_attname != NULL)
			rethrow_naming_column(table, cstate->cur_attname, false, cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	copy_feed = NULL;
	free_parsestate(pstate);
	table_close(rel, NoLock);
	pfree(st->buf.data);
	pfree(st);
	return rows;
}

uint64
sink_copy_rows(const SourceTable *table, const char *dst_schema, const char *dst_tb,
			   SinkRowFeed feed, void *arg)
{
	return copy_into(table, dst_schema, dst_tb, feed, NULL, arg);
}

uint64
sink_copy_lines(const SourceTable *table, const char *dst_schema, const char *dst_tb,
				SinkLineFeed feed, void *arg)
{
	return copy_into(table, dst_schema, dst_tb, NULL, feed, arg);
}

void
sink_add_keys(const SourceTable *table, const char *ddl)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		sink_run_ddl(ddl);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(edata->sqlerrcode),
				 errmsg("could not add the keys of source table \"%s\".\"%s\" to its target: %s",
						table->schema, table->tb, edata->message),
				 edata->detail ? errdetail("%s", edata->detail) : 0));
	}
	PG_END_TRY();
	CommandCounterIncrement();
}

/*
 * The equality operator of the default btree operator class of a target
 * column's type, schema-qualified (OPERATOR(schema.=)), as ri_triggers.c
 * writes its operators: the statement resolves nothing through a path.
 */
static char *
equality_operator(const char *dst_schema, const char *dst_tb, const char *column)
{
	Oid			relid = get_relname_relid(dst_tb, get_namespace_oid(dst_schema, false));
	AttrNumber	att = get_attnum(relid, column);
	Oid			typid = OidIsValid(relid) && att != InvalidAttrNumber
		? get_atttype(relid, att) : InvalidOid;
	TypeCacheEntry *tc;
	HeapTuple	tup;
	Form_pg_operator op;
	char	   *result;

	if (!OidIsValid(typid))
		elog(ERROR, "column \"%s\" of %s not found", column, sink_qualified_name(dst_schema, dst_tb));
	tc = lookup_type_cache(typid, TYPECACHE_EQ_OPR);
	if (!OidIsValid(tc->eq_opr))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("could not identify an equality operator for type %s of column \"%s\" of %s",
						format_type_be(typid), column, sink_qualified_name(dst_schema, dst_tb))));
	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(tc->eq_opr));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", tc->eq_opr);
	op = (Form_pg_operator) GETSTRUCT(tup);
	result = psprintf("OPERATOR(%s.%s)", quote_identifier(get_namespace_name(op->oprnamespace)),
					  NameStr(op->oprname));
	ReleaseSysCache(tup);
	return result;
}

/*
 * Like sink_copy_rows, for rows that may already be in the target: a resume
 * from a log file whose position lags what an earlier run committed.  The
 * rows go through the target's stage (sink_stage_batch); target rows with
 * the same order-column value are deleted before the batch is inserted, so
 * they are replaced, not duplicated.  *replaced is set to the number of rows
 * that were there.
 */
uint64
sink_copy_rows_replacing(const SourceTable *table, const char *dst_schema,
						 const char *dst_tb, SinkRowFeed feed, void *arg,
						 uint64 *replaced)
{
	char	   *target = sink_qualified_name(dst_schema, dst_tb);
	StringInfoData same_key;
	char	   *stage;
	char	   *cols;
	uint64		rows;
	int			rc;
	int			nestlevel;

	Assert(table->nkeys > 0);
	/* t.k1 OPERATOR(s.=) s.k1 AND ...: every column of the order key */
	initStringInfo(&same_key);
	for (int k = 0; k < table->nkeys; k++)
	{
		const char *name = source_column_target(&table->columns[table->key_cols[k]]);
		const char *qname = quote_identifier(name);

		appendStringInfo(&same_key, "%st.%s %s s.%s", k > 0 ? " AND " : "", qname,
						 equality_operator(dst_schema, dst_tb, name), qname);
	}
	stage = sink_stage_batch(table, dst_schema, dst_tb, feed, NULL, arg, &cols, &rows);

	/* on Citus: Citus plans both statements, the stage pulled to the nodes */
	if (sink_is_citus_table(RangeVarGetRelid(makeRangeVar(pstrdup(dst_schema), pstrdup(dst_tb), -1),
											 NoLock, false)))
		sink_citus_statement();
	nestlevel = pinned_spi_connect();
	rc = SPI_execute(psprintf("DELETE FROM %s t USING pg_temp.%s s WHERE %s",
							  target, stage, same_key.data), false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "could not delete replaced rows of %s: %s", target,
			 SPI_result_code_string(rc));
	*replaced = SPI_processed;
	pinned_spi_finish(nestlevel);
	(void) sink_insert_staged(target, cols, stage);
	return rows;
}

char *
sink_stage_batch(const SourceTable *table, const char *dst_schema, const char *dst_tb,
				 SinkRowFeed feed, SinkLineFeed line_feed, void *arg,
				 char **cols, uint64 *rows)
{
	List	   *names = NIL;
	Oid			relid = RangeVarGetRelid(makeRangeVar(pstrdup(dst_schema), pstrdup(dst_tb), -1),
										 NoLock, false);
	char	   *stage;

	for (int i = 0; i < table->ncolumns; i++)
		names = lappend(names, (char *) source_column_target(&table->columns[i]));
	*cols = column_list(names);
	/* a stage a target and column list (two source tables may go to one target) */
	stage = psprintf("ape_resume_stage_%u_%08x", relid,
					 hash_bytes((const unsigned char *) *cols, (int) strlen(*cols)));
	if (!OidIsValid(RangeVarGetRelid(makeRangeVar("pg_temp", stage, -1), NoLock, true)))
	{
		sink_run_ddl(psprintf("CREATE TEMP TABLE %s ON COMMIT DELETE ROWS AS SELECT %s FROM %s WITH NO DATA",
							  stage, *cols, sink_qualified_name(dst_schema, dst_tb)));
		CommandCounterIncrement();
	}
	*rows = line_feed != NULL
		? sink_copy_lines(table, "pg_temp", stage, line_feed, arg)
		: sink_copy_rows(table, "pg_temp", stage, feed, arg);
	CommandCounterIncrement();
	return stage;
}

uint64
sink_insert_staged(const char *target, const char *cols, const char *stage)
{
	uint64		inserted;
	int			rc;
	int			nestlevel = pinned_spi_connect();

	/* the identity values COPY would take (GENERATED ALWAYS) taken as well */
	rc = SPI_execute(psprintf("INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM pg_temp.%s",
							  target, cols, cols, stage), false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not insert into %s: %s", target, SPI_result_code_string(rc));
	inserted = SPI_processed;
	pinned_spi_finish(nestlevel);
	return inserted;
}
