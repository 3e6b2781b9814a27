/*-------------------------------------------------------------------------
 *
 * source.h
 *	  The interface every kind of source server implements: connect,
 *	  discover the tables a filter selects, and stream a table's rows in
 *	  order-key order, in batches that start after a given position.
 *
 * One folder per source kind (src/mysql/, src/pg/, src/mongo/) implements
 * SourceOps; it alone includes its client library's headers.  Values cross
 * this interface as text in PostgreSQL's input format for the column's
 * target type, so the sink never needs to know the source's types.
 *
 * Besides its ERRORs, a source tells the user things (a value it had to
 * change, say) as WARNINGs, with source_warning: the WARNING goes to the
 * client and the server log, and the same message to the reporter that
 * connect was given, if any (the worker's writes it into the task's
 * default.log); a source never writes the task's files itself.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_SOURCE_H
#define APE_SOURCE_H

#include "config.h"

typedef struct SourceColumn
{
	char	   *name;			/* source column name */
	char	   *dst_name;		/* target column name ([router] col_map), NULL: name */
	char	   *pg_type;		/* target column type, SQL text, e.g. "numeric(20,0)" */
	char	   *source_type;	/* the source's type, for messages and README */
	bool		not_null;
	/*
	 * A PostgreSQL source's own type of the column (an enum, a domain, a
	 * composite or range type of its schemas, or an array of one), as the
	 * target names it once the task made it (structure.h); pg_type is the
	 * mapping used otherwise.  NULL: none.
	 */
	char	   *own_type;
	char	   *own_type_schema;	/* the type's source schema and name */
	char	   *own_type_name;
	/* a PostgreSQL source's column collation other than its type's, or NULL */
	char	   *collation_schema;
	char	   *collation_name;
} SourceColumn;

typedef struct SourceTable
{
	char	   *schema;			/* source database / schema, exactly */
	char	   *tb;				/* source table / collection, exactly */
	int			ncolumns;
	SourceColumn *columns;
	/*
	 * The order key (see order_key.h): the columns, in key order, whose
	 * values order the copy and make its positions.  nkeys 0: none, the
	 * table is copied in one transaction.
	 */
	int			nkeys;
	int		   *key_cols;		/* indexes in columns */
	char	   *key_index;		/* the source's index on the key, NULL if the source needs none */
	List	   *primary_key;	/* column names (char *), NIL if none */
	List	   *unique_keys;	/* List of Lists of column names */
	int64		rows_estimated; /* from the source's statistics, -1 if unknown */
	int64		bytes_estimated;	/* the table's size at the source, -1 if unknown */
	/*
	 * A chunk of the table (chunk.h): only rows whose first key column is
	 * >= range_lo and < range_hi (texts of values as positions hold them;
	 * NULL: no bound).  Both NULL: the whole table.
	 */
	char	   *range_lo;
	char	   *range_hi;
	char	   *where;			/* [filter] where_conditions of the table, NULL: none */
	bool		columns_from_target;	/* an existing target table's columns replace these (Mongo) */
} SourceTable;

typedef struct Source Source;	/* a connection, private to each kind */

/*
 * An order key a task holds a position on: the table's key column names,
 * in key order.  Discovery keeps it as the table's order key as long as
 * the table still has it as a key that can order a copy (an index that
 * can scan it, NOT NULL columns or, for one nullable column, no NULL in
 * it), whatever the rules would choose today: a release whose rules
 * differ, or an index added at the source, must not turn a half-copied
 * table into one that starts again on a target that holds rows.
 */
typedef struct SourceKeptKey
{
	char	   *schema;
	char	   *tb;
	int			ncols;
	char	  **cols;
} SourceKeptKey;

/*
 * Where a source's warnings go besides the server log: fn(arg, level,
 * message), level "WARN", message the WARNING's primary message.
 */
typedef void (*SourceReportFn) (void *arg, const char *level, const char *message);

typedef struct SourceReport
{
	SourceReportFn fn;			/* NULL: none */
	void	   *arg;			/* for fn; must outlive the connection */
} SourceReport;

typedef struct SourceOps
{
	/*
	 * Connect to the source of the config.  ERROR (never showing the
	 * password) when that fails.  The connection is closed when the current
	 * memory context is reset or deleted, so an ERROR leaks nothing.
	 * report (NULL: none) is where the connection's warnings go besides
	 * the server log; the source keeps a copy of it.
	 */
	Source	   *(*connect) (const TaskConfig *config, const SourceReport *report);

	/*
	 * The tables the filter selects, sorted by (schema, tb).  kept: the
	 * SourceKeptKeys of the task (NIL: none), see above.
	 */
	List	   *(*list_tables) (Source *source, const NameFilter *filter, const List *kept);

	/*
	 * Start streaming rows of table in order-key order, only rows whose key
	 * is greater than after (NULL: from the start; else nkeys values,
	 * compared as a row: the first column first), at most limit rows (0: no
	 * limit).  A table without an order key is streamed whole (after must
	 * be NULL, limit 0).  Each value of after is the text of a value as
	 * scan_next returned it for its key column (or as a position file holds
	 * it); a value that does not fit the column's type is an ERROR naming
	 * table and column.
	 */
	void		(*scan_begin) (Source *source, const SourceTable *table,
							   char *const *after, int64 limit);

	/*
	 * Next row: values[i] is the text of column i in PostgreSQL input
	 * format, or NULL for SQL NULL; lengths[i] its length in bytes.  Valid
	 * until the next call.  Returns false at the end of the scan.
	 */
	bool		(*scan_next) (Source *source, char **values, int *lengths);

	/* End the scan (also after an early stop). */
	void		(*scan_end) (Source *source);

	/*
	 * Optional (NULL: the text itself).  The text of a position value, as
	 * the catalog, position.log and scan_begin's after hold it, for the
	 * value of key column k (0 .. nkeys - 1) as scan_next returned it (for
	 * Mongo: 24-hex for an ObjectId, ape-dts's tagged JSON otherwise).
	 * Called once per batch.
	 */
	char	   *(*position_value) (Source *source, const SourceTable *table, int k,
								   const char *value, int length);

	/*
	 * Optional fast path: when set, batches are read with it instead of
	 * scan_next (except a batch that replaces rows already in the target,
	 * which needs the values).  *line and *len receive the next row as one
	 * line of COPY's text format (values tab-separated, \N for NULL,
	 * backslash escapes as COPY TO writes them, a newline at the end), for
	 * the sink to take as it is.  For each key column k (0 .. nkeys - 1 of
	 * the scan's table, the column key_cols[k]), key_values[k] receives its
	 * value as scan_next would return it (un-escaped; NULL for SQL NULL)
	 * and key_lens[k] its length in bytes; the caller's arrays have nkeys
	 * entries, and a table without an order key leaves them as they are.
	 * All of it is valid until the next call.  Returns false at the end of
	 * the scan.
	 */
	bool		(*scan_next_line) (Source *source, const char **line, int *len,
								   const char **key_values, int *key_lens);

	/*
	 * Optional (NULL: none), for cutting a table into chunks (chunk.c):
	 * the smallest and largest values of the first order-key column of
	 * table, an integer (smallint, integer, bigint), read through its
	 * index; false when the table is empty.
	 */
	bool		(*key_int_range) (Source *source, const SourceTable *table,
								  int64 *min, int64 *max);

	/*
	 * Optional (NULL: the URL's host part, see resume.c): the server and
	 * database of the config's source, without credentials or options, as
	 * "<db_type>://host:port[/database]".  No connection is made.
	 */
	char	   *(*identity) (const TaskConfig *config);

	/*
	 * Optional (NULL: none).  The rest of the structure of table beyond its
	 * columns and keys, for its target dst_schema.dst_tb that the task has
	 * just created: a List of StructureDefs (structure.h) with DDL on the
	 * target names (config's router for a table referenced).
	 */
	List	   *(*list_structures) (Source *source, const SourceTable *table,
									const TaskConfig *config, const char *dst_schema,
									const char *dst_tb);

	/*
	 * Optional (NULL: none).  What the task does not copy of the databases
	 * or schemas of tables (views, triggers, routines, events, ...): a
	 * List of StructureDefs listed as not copied, each with its schema
	 * (and tb for an object of a table).
	 */
	List	   *(*list_schema_objects) (Source *source, const TaskConfig *config,
										const List *tables);

	/*
	 * Optional (NULL: none).  The types of the source's own that table's
	 * columns use (own_type of SourceColumn), with those they are made of,
	 * each before those that use it: StructureDefs of kind "type", with
	 * their schema (source), name and dst_schema, made before the table
	 * (structure_make_types).
	 */
	List	   *(*list_types) (Source *source, const SourceTable *table,
							   const TaskConfig *config);
} SourceOps;

/* source.c */

/* list_sort comparator of SourceTables: (schema, tb) by strcmp. */
extern int	source_table_cmp(const ListCell *a, const ListCell *b);

/* The index of column name in t->columns, or -1 (strcmp). */
extern int	source_column_index(const SourceTable *t, const char *name);

/* Has a column of t a type of the source's own (own_type)? */
static inline bool
source_table_has_own_types(const SourceTable *t)
{
	for (int i = 0; i < t->ncolumns; i++)
		if (t->columns[i].own_type != NULL)
			return true;
	return false;
}

/* The target column name of a column. */
static inline const char *
source_column_target(const SourceColumn *c)
{
	return c->dst_name ? c->dst_name : c->name;
}

/*
 * Apply the table's rule of [filter] where_conditions, ignore_cols and
 * [router] col_map (table_rule.h) to its columns just read, before its keys
 * are: the ignored columns are left out (so a key on one is no key of the
 * copy), the others get their target names, t->where its condition.  An
 * ignored or renamed column the table lacks is an ERROR naming both.  When
 * old_index is not NULL, it receives a palloc'd array: for each column
 * kept, its index before.
 */
extern void source_table_apply_rule(SourceTable *t, const NameFilter *filter,
									int **old_index);

/*
 * After a listing: a table named in where_conditions, ignore_cols or
 * col_map that tables lacks is an ERROR when the filters select it (it
 * does not exist at the source), a WARNING otherwise.
 */
extern void source_check_rules_used(const NameFilter *filter, const List *tables);

/*
 * A WARNING of a source: errmsg message, errdetail detail (NULL: none);
 * the message (without the detail) also goes to report->fn, if report and
 * fn are not NULL, at level "WARN".
 */
extern void source_warning(const SourceReport *report, const char *message,
						   const char *detail);

extern const SourceOps mysql_source_ops;
extern const SourceOps pg_source_ops;
extern const SourceOps mongo_source_ops;

#endif							/* APE_SOURCE_H */
