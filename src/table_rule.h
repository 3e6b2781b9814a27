/*-------------------------------------------------------------------------
 *
 * table_rule.h
 *	  The per-table settings of a task config, ape-dts's JSON lists:
 *	  [filter] where_conditions and ignore_cols, [router] col_map, and a
 *	  key of ours, [citus] distribution_columns.
 *
 * Each entry names one source table exactly (no wildcards, source names,
 * as ape-dts matches them):
 *
 *	  where_conditions=json:[{"db":"d","tb":"t","condition":"f_0 > 1"}]
 *	  ignore_cols=json:[{"db":"d","tb":"t","ignore_cols":["f_2"]}]
 *	  col_map=json:[{"db":"d","tb":"t","col_map":{"f_0":"dst_f_0"}}]
 *	  distribution_columns=json:[{"db":"d","tb":"t","column":"tenant_id",
 *								  "colocate_with":"d.u","shard_count":8}]
 *
 * The "json:" prefix is optional, as in ape-dts.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_TABLE_RULE_H
#define APE_TABLE_RULE_H

#include "nodes/pg_list.h"

/* A [router] col_map entry of one table: a source column's target name. */
typedef struct ColumnRename
{
	char	   *src;
	char	   *dst;
} ColumnRename;

/* The settings of one source table; a table without any has none. */
typedef struct TableRule
{
	char	   *db;
	char	   *tb;
	char	   *where;			/* a SQL condition of the source, NULL: none */
	List	   *ignore_cols;	/* of char *: source columns left out */
	List	   *col_map;		/* of ColumnRename * */
	/* [citus] distribution_columns: a table ape_resume creates, distributed */
	char	   *dist_column;	/* the source column, NULL: not distributed */
	char	   *colocate_db;	/* colocate_with, source names; NULL: Citus's default */
	char	   *colocate_tb;
	int			shard_count;	/* 0: citus.shard_count */
} TableRule;

typedef enum TableRuleKind
{
	TABLE_RULE_WHERE,			/* where_conditions */
	TABLE_RULE_IGNORE_COLS,		/* ignore_cols */
	TABLE_RULE_COL_MAP,			/* col_map */
	TABLE_RULE_DISTRIBUTION		/* distribution_columns */
} TableRuleKind;

/*
 * Parse the JSON list of one key into rules (merged with the rules of the
 * other keys).  quote_backslash: the source's string literals take
 * backslash escapes (MySQL).  On bad input returns rules unchanged and
 * sets *error to a description naming the entry.
 */
extern List *table_rules_parse(List *rules, TableRuleKind kind, const char *text,
							   bool backslash_escapes, char **error);

/* Does a rule distribute its table ([citus] distribution_columns)? */
extern bool table_rules_distribute(const List *rules);

/* The rule of a source table, NULL if it has none. */
extern const TableRule *table_rule_find(const List *rules, const char *db, const char *tb);

/* Does the rule leave column col out? */
extern bool table_rule_ignores(const TableRule *rule, const char *col);

/* The target name of source column col: its col_map name, or col. */
extern const char *table_rule_target_name(const TableRule *rule, const char *col);

/*
 * One key of a rule as text, "" if the rule (NULL: none) has none: the
 * condition as written, ignore_cols as "a, b", col_map as "a -> x, b -> y",
 * names quoted where they need it.
 */
extern char *table_rule_text(const TableRule *rule, TableRuleKind kind);

/*
 * Is text one SQL expression that can be put in parentheses after WHERE?
 * NULL if so, else why not: a ';', a comment, an unbalanced parenthesis or
 * an unterminated quoted string or name.  This is a lexical check; the
 * source's parser checks the rest.
 */
extern const char *sql_condition_problem(const char *text, bool backslash_escapes);

#endif							/* APE_TABLE_RULE_H */
