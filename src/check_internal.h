/*-------------------------------------------------------------------------
 *
 * check_internal.h
 *	  What the files of check tasks share: check.c (a table's check, its
 *	  merge in key order), check_lookup.c (keys looked up), check_log.c
 *	  (the log lines, their catalog rows and files).
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_CHECK_INTERNAL_H
#define APE_CHECK_INTERNAL_H

#include "access/htup.h"
#include "access/tupdesc.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

#include "config.h"
#include "source.h"

/* Target rows fetched at a time from the check's cursor. */
#define CHECK_FETCH_ROWS 1000

/* First key of the advisory lock of a task's check logs. */
#define CHECK_LOG_LOCK_CLASS 1095779651	/* "APEC" */

/* A column of the checked table: the source's, and its target's type. */
typedef struct CheckCol
{
	const char *src_name;
	const char *dst_name;
	Oid			typid;
	int32		typmod;
	Oid			collation;
	FmgrInfo	input;
	Oid			ioparam;
	FmgrInfo	output;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	FmgrInfo   *cmp;			/* the key's columns: btree order */
} CheckCol;

typedef struct CheckTable
{
	const SourceTable *table;
	const char *dst_schema;
	const char *dst_tb;
	bool		exists;			/* the target table exists */
	bool		renamed;		/* the router gave it other names */
	CheckCol   *cols;			/* one a source column */
	char	   *select_list;	/* the target's columns, in source order */
	char	   *key_list;		/* the key's target columns */
	int			sample_percent;
	bool		lookup;			/* its key cannot be merged in order: looked up */
} CheckTable;

/* What a batch found. */
typedef struct CheckFound
{
	int64		compared;
	int64		missing;
	int64		different;
	int64		extra;
	List	   *lines[3];		/* miss, diff, extra: CheckLine */
	int64		room[3];		/* lines each log still takes */
} CheckFound;

typedef struct CheckLine
{
	char	   *line;
	char	   *revise_sql;
} CheckLine;

enum
{
	FOUND_MISS,
	FOUND_DIFF,
	FOUND_EXTRA
};

/* A source batch: rows of texts, in key order. */
typedef struct SrcBatch
{
	int			nrows;
	int			room;
	char	 ***rows;
} SrcBatch;

/* check.c: the target's side */
extern Datum check_src_datum(const CheckCol *c, const char *text);
extern char *check_dst_text(const CheckCol *c, Datum d);
extern char **check_dst_texts(const CheckTable *ct, HeapTuple tup, TupleDesc desc);
extern bool check_in_sample(const CheckTable *ct, char **key_texts);
extern void check_compare_rows(CheckFound *f, const CheckTable *ct, const TaskConfig *config,
							   char **src, HeapTuple tup, TupleDesc desc, MemoryContext cxt);

/* check_lookup.c */
extern void check_lookup_batch(CheckFound *f, const CheckTable *ct, const TaskConfig *config,
							   SrcBatch *b, int64 task_id);
extern void check_lookup_extras(CheckFound *f, const CheckTable *ct, const TaskConfig *config,
								int64 task_id);

/* check_log.c: what a batch found, as log lines */
extern void check_json_text(StringInfo buf, const char *text);
extern char *check_sql_target(const CheckTable *ct);
extern void check_found_missing(CheckFound *f, const CheckTable *ct, const TaskConfig *config,
								char **src, MemoryContext cxt);
extern void check_found_extra(CheckFound *f, const CheckTable *ct, const TaskConfig *config,
							  char **dst, MemoryContext cxt);
extern void check_found_different(CheckFound *f, const CheckTable *ct, const TaskConfig *config,
								  char **src, char **dst, const bool *differs, MemoryContext cxt);
extern void check_log_room(int64 task_id, const TaskConfig *config, CheckFound *f);
extern void check_commit_found(int64 task_id, const TaskConfig *config, const SourceTable *table,
							   const CheckFound *f, const char *note);

#endif							/* APE_CHECK_INTERNAL_H */
