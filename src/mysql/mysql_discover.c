/*-------------------------------------------------------------------------
 *
 * mysql_discover.c
 *	  The MySQL / MariaDB source's discovery: the databases and base
 *	  tables a filter selects, from information_schema; each table's
 *	  columns with their PostgreSQL types (the mapping of
 *	  mysql_internal.h), its keys and its order key.
 *
 * See mysql_internal.h for how the MySQL source works as a whole.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"

#include "mysql_internal.h"
#include "order_key.h"

/* " WHERE <schema_col> = '<schema>' AND TABLE_NAME = '<tb>'", escaped. */
static void
append_where_table(Source *s, StringInfo sql, const char *schema_col, const SourceTable *t)
{
	appendStringInfo(sql, " WHERE %s = ", schema_col);
	mysql_append_literal(s, sql, t->schema, strlen(t->schema));
	appendStringInfoString(sql, " AND TABLE_NAME = ");
	mysql_append_literal(s, sql, t->tb, strlen(t->tb));
}

/*
 * Run a metadata query and store its (small) result; the caller reads it
 * and calls meta_done.  The result is freed by the callback on ERROR.
 */
static MYSQL_RES *
meta_query_what(Source *s, const char *sql, const char *what, const char *what_read)
{
	Assert(s->meta_res == NULL);
	if (mysql_nb_real_query(s, sql, strlen(sql)) != 0)
		mysql_error_report(s, what);
	s->meta_res = mysql_nb_store_result(s);
	if (s->meta_res == NULL)
		mysql_error_report(s, what_read);
	return s->meta_res;
}

MYSQL_RES *
mysql_meta_query(Source *s, const char *sql)
{
	return meta_query_what(s, sql, "a query of information_schema",
						   "reading a result of information_schema");
}

/* A stored result: freeing it reads nothing. */
void
mysql_meta_done(Source *s)
{
	mysql_free_result(s->meta_res);
	s->meta_res = NULL;
}

/*
 * Next metadata row, or NULL at the end (ERROR on a read error).  The
 * result is stored: this reads nothing from the server.
 */
MYSQL_ROW
mysql_meta_next(Source *s)
{
	MYSQL_ROW	row = mysql_fetch_row(s->meta_res);

	if (row == NULL && mysql_errno(s->conn) != 0)
		mysql_error_report(s, "reading a result of information_schema");
	return row;
}

/* The lower-case leading word of a COLUMN_TYPE, e.g. "int" of "int(10) unsigned". */
static char *
type_word(const char *column_type)
{
	int			n = strcspn(column_type, "( ");
	char	   *w = pnstrdup(column_type, n);
	char	   *p;

	for (p = w; *p; p++)
		*p = pg_ascii_tolower((unsigned char) *p);
	return w;
}

/* Classify a column by its source type (COLUMN_TYPE) and target type. */
ColInfo
mysql_classify(const char *source_type, const char *pg_type)
{
	ColInfo		ci;
	char	   *w = type_word(source_type);

	memset(&ci, 0, sizeof(ci));
	ci.is_unsigned = strstr(source_type, "unsigned") != NULL;
	ci.kind = CK_UNSUPPORTED;

	if (strcmp(w, "tinyint") == 0 || strcmp(w, "smallint") == 0 ||
		strcmp(w, "mediumint") == 0 || strcmp(w, "int") == 0 ||
		strcmp(w, "integer") == 0 || strcmp(w, "bigint") == 0)
	{
		int			bits = w[0] == 't' ? 8 : w[0] == 's' ? 16 :
			w[0] == 'm' ? 24 : w[0] == 'b' ? 64 : 32;

		ci.kind = CK_INT;
		if (bits == 64)
		{
			ci.min = PG_INT64_MIN;
			ci.max = PG_INT64_MAX;
			ci.umax = PG_UINT64_MAX;
		}
		else
		{
			ci.min = -((int64) 1 << (bits - 1));
			ci.max = ((int64) 1 << (bits - 1)) - 1;
			ci.umax = ((uint64) 1 << bits) - 1;
		}
	}
	else if (strcmp(w, "decimal") == 0 || strcmp(w, "numeric") == 0)
		ci.kind = CK_DECIMAL;
	else if (strcmp(w, "float") == 0 || strcmp(w, "double") == 0 ||
			 strcmp(w, "real") == 0)
		ci.kind = CK_FLOAT;
	else if (strcmp(w, "bit") == 0)
	{
		ci.kind = CK_BIT;
		ci.bits = 1;
		if (source_type[3] == '(')
			ci.bits = atoi(source_type + 4);
	}
	else if (strcmp(w, "year") == 0)
		ci.kind = CK_YEAR;
	else if (strcmp(w, "date") == 0)
		ci.kind = CK_DATE;
	else if (strcmp(w, "datetime") == 0)
		ci.kind = CK_DATETIME;
	else if (strcmp(w, "timestamp") == 0)
		ci.kind = CK_TIMESTAMP;
	else if (strcmp(w, "time") == 0)
		ci.kind = CK_TIME;
	else if (strcmp(w, "char") == 0 || strcmp(w, "varchar") == 0 ||
			 strcmp(w, "tinytext") == 0 || strcmp(w, "text") == 0 ||
			 strcmp(w, "mediumtext") == 0 || strcmp(w, "longtext") == 0)
		ci.kind = pg_type && strcmp(pg_type, "jsonb") == 0 ? CK_JSON : CK_TEXT;
	else if (strcmp(w, "enum") == 0 || strcmp(w, "set") == 0)
		ci.kind = CK_ENUM;
	else if (strcmp(w, "json") == 0)
		ci.kind = CK_JSON;
	else if (strcmp(w, "binary") == 0 || strcmp(w, "varbinary") == 0 ||
			 strcmp(w, "tinyblob") == 0 || strcmp(w, "blob") == 0 ||
			 strcmp(w, "mediumblob") == 0 || strcmp(w, "longblob") == 0)
		ci.kind = CK_BINARY;
	pfree(w);
	return ci;
}

/*
 * The PostgreSQL type for a column from its information_schema.COLUMNS
 * row, or NULL when the type is not supported.
 */
static char *
map_type(const char *data_type, const char *column_type, bool is_json,
		 const char *num_prec, const char *num_scale, const char *dt_prec,
		 const char *char_len)
{
	ColInfo		ci = mysql_classify(column_type, is_json ? "jsonb" : NULL);
	char	   *w = type_word(data_type);
	int			prec = dt_prec ? atoi(dt_prec) : 0;

	switch (ci.kind)
	{
		case CK_INT:
			if (w[0] == 't')
				return "smallint";
			if (w[0] == 's')
				return ci.is_unsigned ? "integer" : "smallint";
			if (w[0] == 'm')
				return "integer";
			if (w[0] == 'b')
				return ci.is_unsigned ? "numeric(20,0)" : "bigint";
			return ci.is_unsigned ? "bigint" : "integer";
		case CK_DECIMAL:
			if (num_prec == NULL || num_scale == NULL)
				return NULL;
			return psprintf("numeric(%d,%d)", atoi(num_prec), atoi(num_scale));
		case CK_FLOAT:
			return strcmp(w, "float") == 0 ? "real" : "double precision";
		case CK_BIT:
			return psprintf("bit(%d)", ci.bits);
		case CK_YEAR:
			return "smallint";
		case CK_DATE:
			return "date";
		case CK_DATETIME:
			return psprintf("timestamp(%d) without time zone", prec);
		case CK_TIMESTAMP:
			return psprintf("timestamp(%d) with time zone", prec);
		case CK_TIME:
			return "interval";
		case CK_TEXT:
			if ((strcmp(w, "char") == 0 || strcmp(w, "varchar") == 0) &&
				char_len && atol(char_len) > 0)
				return psprintf("%s(%ld)", w, atol(char_len));
			return "text";
		case CK_ENUM:
			return "text";
		case CK_JSON:
			return "jsonb";
		case CK_BINARY:
			return "bytea";
		case CK_UNSUPPORTED:
			break;
	}
	return NULL;
}

/* Can a column of this kind order and resume a scan consistently? */
static bool
kind_can_order(ColKind kind)
{
	/*
	 * Floats print inexactly, enum and set sort by index but compare as
	 * strings, json has no order: none of them can resume a scan.
	 */
	return kind != CK_FLOAT && kind != CK_ENUM && kind != CK_JSON &&
		kind != CK_UNSUPPORTED;
}

/*
 * Columns of a table, with json detection on MariaDB, the table's rule of
 * the filter applied (see source_table_apply_rule).
 */
static void
load_columns(Source *s, SourceTable *t, const NameFilter *filter)
{
	StringInfoData sql;
	List	   *json_cols = NIL;
	MYSQL_RES  *res;
	MYSQL_ROW	row;
	int			n;

	initStringInfo(&sql);

	if (s->is_mariadb)
	{
		appendStringInfoString(&sql,
							   "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE"
							   " FROM information_schema.CHECK_CONSTRAINTS");
		append_where_table(s, &sql, "CONSTRAINT_SCHEMA", t);
		mysql_meta_query(s, sql.data);
		while ((row = mysql_meta_next(s)) != NULL)
		{
			if (row[0] && row[1] && row[2] &&
				strcmp(row[0], t->schema) == 0 && strcmp(row[1], t->tb) == 0)
				json_cols = lappend(json_cols, pstrdup(row[2]));
		}
		mysql_meta_done(s);
	}

	resetStringInfo(&sql);
	appendStringInfoString(&sql,
						   "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE,"
						   " COLUMN_TYPE, IS_NULLABLE, NUMERIC_PRECISION,"
						   " NUMERIC_SCALE, DATETIME_PRECISION,"
						   " CHARACTER_MAXIMUM_LENGTH"
						   " FROM information_schema.COLUMNS");
	append_where_table(s, &sql, "TABLE_SCHEMA", t);
	appendStringInfoString(&sql, " ORDER BY ORDINAL_POSITION");
	res = mysql_meta_query(s, sql.data);
	t->columns = palloc0(sizeof(SourceColumn) * Max(mysql_num_rows(res), 1));
	n = 0;
	while ((row = mysql_meta_next(s)) != NULL)
	{
		SourceColumn *c;
		bool		is_json = false;
		ListCell   *lc;

		if (row[0] == NULL || row[1] == NULL || row[2] == NULL ||
			row[3] == NULL || row[4] == NULL || row[5] == NULL ||
			strcmp(row[0], t->schema) != 0 || strcmp(row[1], t->tb) != 0)
			continue;
		c = &t->columns[n++];
		c->name = pstrdup(row[2]);
		c->source_type = pstrdup(row[4]);
		c->not_null = strcmp(row[5], "NO") == 0;

		if (pg_strcasecmp(row[3], "longtext") == 0)
		{
			StringInfoData want;

			initStringInfo(&want);
			appendStringInfoString(&want, "json_valid(");
			mysql_append_ident(&want, c->name);
			appendStringInfoChar(&want, ')');
			foreach(lc, json_cols)
			{
				if (strcmp((char *) lfirst(lc), want.data) == 0)
					is_json = true;
			}
		}
		/* NULL: a type that cannot be copied, an ERROR unless ignored */
		c->pg_type = map_type(row[3], row[4], is_json, row[6], row[7], row[8],
							  row[9]);
	}
	mysql_meta_done(s);
	t->ncolumns = n;

	source_table_apply_rule(t, filter, NULL);
	for (int i = 0; i < t->ncolumns; i++)
		if (t->columns[i].pg_type == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column \"%s\" of table \"%s\".\"%s\" has type \"%s\", which cannot be copied",
							t->columns[i].name, t->schema, t->tb, t->columns[i].source_type),
					 errhint("Leave it out with ignore_cols in section [filter].")));
}

/* Is column col, a nullable key column, without NULL now?  (order_key.h) */
static bool
mysql_column_has_no_null(void *arg, const SourceTable *t, int col)
{
	Source	   *s = arg;
	StringInfoData sql;
	bool		has_null;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT 1 FROM ");
	mysql_append_ident(&sql, t->schema);
	appendStringInfoChar(&sql, '.');
	mysql_append_ident(&sql, t->tb);
	appendStringInfoString(&sql, " WHERE ");
	mysql_append_ident(&sql, t->columns[col].name);
	appendStringInfoString(&sql, " IS NULL LIMIT 1");
	mysql_meta_query(s, sql.data);
	has_null = mysql_meta_next(s) != NULL;
	mysql_meta_done(s);
	pfree(sql.data);
	return !has_null;
}

/*
 * Primary key, unique keys and the order key of a table.  A key can order
 * the copy when every column has a type that orders the same way as its
 * text compares at the source (kind_can_order) and the index holds whole
 * columns (no prefix) in ascending order and the optimizer may use it
 * (not IGNORED or INVISIBLE): then "ORDER BY key" and the keyset
 * predicate are a range scan of that index.
 */
static void
load_keys(Source *s, SourceTable *t, const List *kept)
{
	StringInfoData sql;
	MYSQL_ROW	row;
	KeyCandidate *cur = NULL;
	bool		cur_unique = false;
	bool		cur_usable = true;
	List	   *candidates = NIL;

	initStringInfo(&sql);
	appendStringInfoString(&sql,
						   "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE,"
						   " SEQ_IN_INDEX, COLUMN_NAME, SUB_PART, COLLATION, ");
	/*
	 * An index the optimizer must not use (MariaDB 10.6's IGNORED, MySQL
	 * 8's INVISIBLE) cannot be forced: its key cannot order the copy.
	 */
	if (s->is_mariadb && mysql_get_server_version(s->conn) >= 100600)
		appendStringInfoString(&sql, "IGNORED = 'YES'");
	else if (!s->is_mariadb && mysql_get_server_version(s->conn) >= 80000)
		appendStringInfoString(&sql, "IS_VISIBLE = 'NO'");
	else
		appendStringInfoString(&sql, "0");
	appendStringInfoString(&sql, " FROM information_schema.STATISTICS");
	append_where_table(s, &sql, "TABLE_SCHEMA", t);
	appendStringInfoString(&sql, " ORDER BY INDEX_NAME, SEQ_IN_INDEX");
	mysql_meta_query(s, sql.data);

	/* one extra round with row == NULL flushes the last index */
	for (;;)
	{
		row = mysql_meta_next(s);
		if (row && (row[0] == NULL || row[1] == NULL || row[2] == NULL ||
					row[3] == NULL || strcmp(row[0], t->schema) != 0 ||
					strcmp(row[1], t->tb) != 0))
			continue;
		if (cur && (row == NULL || strcmp(cur->index, row[2]) != 0))
		{
			if (cur_unique && cur_usable && cur->cols != NIL)
				candidates = order_key_add_candidate(t, candidates, cur);
			cur = NULL;
		}
		if (row == NULL)
			break;
		if (cur == NULL)
		{
			cur = palloc0(sizeof(KeyCandidate));
			cur->index = pstrdup(row[2]);
			cur->primary = strcmp(row[2], "PRIMARY") == 0;
			cur->orderable = true;
			cur_unique = strcmp(row[3], "0") == 0;
			cur_usable = true;
		}
		if (row[5] == NULL || source_column_index(t, row[5]) < 0)
			cur_usable = false; /* an index on an expression */
		else
		{
			int			col = source_column_index(t, row[5]);

			cur->cols = lappend_int(cur->cols, col);
			if (row[6] != NULL || row[7] == NULL || strcmp(row[7], "A") != 0 ||
				row[8] == NULL || strcmp(row[8], "0") != 0 ||
				!kind_can_order(mysql_classify(t->columns[col].source_type,
										 t->columns[col].pg_type).kind))
				cur->orderable = false;
		}
	}
	mysql_meta_done(s);
	pfree(sql.data);

	/* index names sorted by the query: the first by strcmp wins a rule */
	order_key_choose(t, candidates, kept, mysql_column_has_no_null, s);
}

/*
 * Check the table's where_conditions on the source and estimate the rows
 * it selects: EXPLAIN fails on a condition the server does not take
 * (naming the table), and its rows column is the optimizer's estimate of
 * the rows read (a range condition on a key makes it close).
 */
static void
check_where(Source *s, SourceTable *t)
{
	StringInfoData sql;
	MYSQL_ROW	row;
	unsigned int nfields;
	MYSQL_FIELD *fields;
	int64		rows = 0;
	bool		known = false;
	char	   *what;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "EXPLAIN SELECT 1 FROM ");
	mysql_append_ident(&sql, t->schema);
	appendStringInfoChar(&sql, '.');
	mysql_append_ident(&sql, t->tb);
	appendStringInfo(&sql, " WHERE (%s)", t->where);
	what = psprintf("where_conditions of section [filter] for table \"%s\".\"%s\"",
					t->schema, t->tb);
	meta_query_what(s, sql.data, what, what);
	nfields = mysql_num_fields(s->meta_res);
	fields = mysql_fetch_fields(s->meta_res);
	while ((row = mysql_meta_next(s)) != NULL)
	{
		for (unsigned int i = 0; i < nfields && fields != NULL; i++)
			if (pg_strcasecmp(fields[i].name, "rows") == 0 && row[i] != NULL)
			{
				rows += strtoll(row[i], NULL, 10);
				known = true;
			}
	}
	mysql_meta_done(s);
	pfree(sql.data);
	if (known && t->rows_estimated >= 0)
		t->rows_estimated = Min(rows, t->rows_estimated);
}

/*
 * The base tables of the user databases that the filter selects, with
 * their columns, keys and order column, sorted by (schema, tb).
 */
List *
mysql_source_list_tables(Source *s, const NameFilter *filter, const List *kept)
{
	List	   *dbs = NIL;
	List	   *tables = NIL;
	MYSQL_ROW	row;
	ListCell   *lc;
	StringInfoData sql;

	mysql_meta_query(s, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"
			   " WHERE SCHEMA_NAME NOT IN"
			   " ('mysql', 'information_schema', 'performance_schema', 'sys')");
	while ((row = mysql_meta_next(s)) != NULL)
	{
		if (row[0] && name_filter_wants_db(filter, row[0]))
			dbs = lappend(dbs, pstrdup(row[0]));
	}
	mysql_meta_done(s);

	initStringInfo(&sql);
	foreach(lc, dbs)
	{
		char	   *db = lfirst(lc);
		List	   *found = NIL;
		ListCell   *lc2;

		resetStringInfo(&sql);
		appendStringInfoString(&sql,
							   "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS, DATA_LENGTH"
							   " FROM information_schema.TABLES"
							   " WHERE TABLE_TYPE = 'BASE TABLE'"
							   " AND TABLE_SCHEMA = ");
		mysql_append_literal(s, &sql, db, strlen(db));
		mysql_meta_query(s, sql.data);
		while ((row = mysql_meta_next(s)) != NULL)
		{
			SourceTable *t;

			if (row[0] == NULL || row[1] == NULL || strcmp(row[0], db) != 0 ||
				!name_filter_wants_table(filter, db, row[1]))
				continue;
			t = palloc0(sizeof(SourceTable));
			t->schema = db;
			t->tb = pstrdup(row[1]);
			t->rows_estimated = row[2] ? strtoll(row[2], NULL, 10) : -1;
			t->bytes_estimated = row[3] ? strtoll(row[3], NULL, 10) : -1;
			found = lappend(found, t);
		}
		mysql_meta_done(s);

		foreach(lc2, found)
		{
			SourceTable *t = lfirst(lc2);

			CHECK_FOR_INTERRUPTS();
			load_columns(s, t, filter);
			if (t->ncolumns == 0)
			{
				/* every column in ignore_cols */
				ereport(WARNING,
						(errmsg("table \"%s\".\"%s\" is not copied: it has no column to copy",
								t->schema, t->tb)));
				continue;
			}
			if (t->where != NULL)
				check_where(s, t);
			load_keys(s, t, kept);
			tables = lappend(tables, t);
		}
	}
	list_sort(tables, source_table_cmp);
	return tables;
}
