/*-------------------------------------------------------------------------
 *
 * config_value.h
 *	  One value of a task config read as what its key takes (an integer, a
 *	  list of names, a JSON list of table rules, ...); bad input is an ERROR
 *	  naming the value, its key and its section.  config.c says which key
 *	  takes what.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_CONFIG_VALUE_H
#define APE_CONFIG_VALUE_H

#include "config.h"
#include "config_ini.h"
#include "table_rule.h"

/* ERROR: the item's value is invalid; why says what was expected. */
extern void config_bad_value(const IniItem *item, const char *why) pg_attribute_noreturn();

extern int	config_parse_int(const IniItem *item, int min, int max);
extern bool config_parse_bool(const IniItem *item);

/* [extractor] split_tables_larger_than, into config->split_rows or split_bytes */
extern void config_parse_split(const IniItem *item, TaskConfig *config);

/* [filter] do_structures: the STRUCT_ bits */
extern int	config_parse_structures(const IniItem *item);

/* do_dbs / do_tbs ... (NamePattern *), db_map / tb_map (NameRoute *) */
extern List *config_parse_patterns(const IniItem *item, SourceKind kind, bool want_tb);
extern List *config_parse_routes(const IniItem *item, SourceKind kind, bool want_tb);

/* A JSON list of table rules of one kind, merged with config's */
extern List *config_parse_table_rules(const IniItem *item, const TaskConfig *config,
									  TableRuleKind kind);

/* A directory, absolute (relative: under ape_resume.work_dir); NULL if empty */
extern char *config_parse_dir(const IniItem *item);

#endif							/* APE_CONFIG_VALUE_H */
