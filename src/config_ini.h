/*-------------------------------------------------------------------------
 *
 * config_ini.h
 *	  The ini text of a task config as its key = value lines: what
 *	  config.c then reads key by key.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_CONFIG_INI_H
#define APE_CONFIG_INI_H

#include "nodes/pg_list.h"

/* One key = value line of the ini text. */
typedef struct IniItem
{
	char	   *section;
	char	   *key;
	char	   *value;
	int			lineno;
} IniItem;

/*
 * Split ini text into IniItems, in the text's order, section and key in
 * lower case; raises a syntax ERROR naming the line.
 */
extern List *ini_parse(const char *text);

/* A copy of s with ASCII letters in lower case (names in a config). */
extern char *ini_lower(const char *s);

#endif							/* APE_CONFIG_INI_H */
