/*-------------------------------------------------------------------------
 *
 * name_filter.h
 *	  The [filter] and [router] sections of a task config: lists of
 *	  database and table names with wildcards and quoted literal names.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NAME_FILTER_H
#define NAME_FILTER_H

#include "nodes/pg_list.h"

/* One part of a name pattern: a literal name or a wildcard pattern. */
typedef struct NamePart
{
	char	   *text;
	bool		literal;		/* quoted: matched exactly */
} NamePart;

/* "db" or "db.tb", each part literal or with * and ? wildcards. */
typedef struct NamePattern
{
	NamePart	db;
	NamePart	tb;
	bool		has_tb;
} NamePattern;

/* A [router] entry: "src_db:dst_schema" or "src_db.src_tb:dst_schema.dst_tb". */
typedef struct NameRoute
{
	char	   *src_db;
	char	   *src_tb;			/* NULL in db_map */
	char	   *dst_schema;
	char	   *dst_tb;			/* NULL in db_map */
} NameRoute;

typedef struct NameFilter
{
	List	   *do_dbs;			/* of NamePattern * */
	List	   *ignore_dbs;
	List	   *do_tbs;
	List	   *ignore_tbs;
	List	   *db_map;			/* of NameRoute * */
	List	   *tb_map;
	List	   *table_rules;	/* of TableRule * (table_rule.h) */
	/*
	 * Set by a run that continues a task: a table do_tbs names that is gone
	 * at the source is no ERROR of the listing; it fails alone (see
	 * task_state_fail_vanished).
	 */
	bool		named_may_be_missing;
} NameFilter;

/*
 * Parse a comma-separated list of "db" (want_tb false) or "db.tb" (true)
 * patterns.  quote is the character that quotes a literal name (` or ").
 * On bad input returns NIL and sets *error to a description.
 */
extern List *name_pattern_list_parse(const char *text, char quote, bool want_tb,
									 char **error);

/* Parse db_map (want_tb false) or tb_map (true); NIL and *error on bad input. */
extern List *name_route_list_parse(const char *text, char quote, bool want_tb,
								   char **error);

extern bool name_part_matches(const NamePart *part, const char *name);

/* Does the filter select the database at all / the table? */
extern bool name_filter_wants_db(const NameFilter *filter, const char *db);
extern bool name_filter_wants_table(const NameFilter *filter, const char *db,
									const char *tb);

/* Apply the router: the target schema and table for a source table. */
extern void name_filter_route(const NameFilter *filter, const char *db,
							  const char *tb, char **dst_schema, char **dst_tb);

/* Render a pattern back as text, quoting literal parts. */
extern char *name_pattern_to_string(const NamePattern *pattern, char quote);

#endif							/* NAME_FILTER_H */
