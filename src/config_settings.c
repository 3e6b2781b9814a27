/*-------------------------------------------------------------------------
 *
 * config_settings.c
 *	  The effective settings of a parsed task config, defaults filled in,
 *	  paths resolved, the password masked: what parse_config() shows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "config.h"
#include "name_filter.h"
#include "source_url.h"
#include "table_rule.h"

/* do_structures as parse_config shows it: table and every kind chosen. */
static char *
structures_to_string(int bits)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "table");
	if (bits & STRUCT_DEFAULT)
		appendStringInfoString(&buf, ",default");
	if (bits & STRUCT_CONSTRAINT)
		appendStringInfoString(&buf, ",constraint");
	if (bits & STRUCT_INDEX)
		appendStringInfoString(&buf, ",index");
	if (bits & STRUCT_SEQUENCE)
		appendStringInfoString(&buf, ",sequence");
	if (bits & STRUCT_COMMENT)
		appendStringInfoString(&buf, ",comment");
	if (bits & STRUCT_TYPE)
		appendStringInfoString(&buf, ",type");
	return buf.data;
}

static char *
patterns_to_string(List *patterns, char quote)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, patterns)
	{
		if (buf.len > 0)
			appendStringInfoChar(&buf, ',');
		appendStringInfoString(&buf, name_pattern_to_string(lfirst(lc), quote));
	}
	return buf.data;
}

static List *
add_setting(List *list, const char *section, const char *key, char *value)
{
	ConfigSetting *s = palloc(sizeof(ConfigSetting));

	s->section = section;
	s->key = key;
	s->value = value;
	return lappend(list, s);
}

const char *
ssl_mode_name(SslMode mode)
{
	switch (mode)
	{
		case SSL_MODE_UNSET:
			return "";
		case SSL_MODE_DISABLE:
			return "disable";
		case SSL_MODE_REQUIRE:
			return "require";
		case SSL_MODE_VERIFY_CA:
			return "verify_ca";
		case SSL_MODE_VERIFY_FULL:
			return "verify_full";
	}
	return "";
}

/* The rules of one kind, "d"."t": value; ..., NULL if none. */
static char *
table_rules_to_string(const List *rules, TableRuleKind kind)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, rules)
	{
		const TableRule *r = lfirst(lc);
		char	   *text = table_rule_text(r, kind);

		if (text[0] == '\0')
			continue;
		appendStringInfo(&buf, kind == TABLE_RULE_WHERE ? "%s%s.%s: (%s)" : "%s%s.%s: %s",
						 buf.len > 0 ? "; " : "",
						 quote_identifier(r->db), quote_identifier(r->tb), text);
	}
	return buf.len > 0 ? buf.data : NULL;
}

List *
task_config_settings(const TaskConfig *c)
{
	List	   *l = NIL;
	char		quote = source_quote_char(c->db_type);

	l = add_setting(l, "global", "task_id", c->task_id ? pstrdup(c->task_id) : NULL);
	l = add_setting(l, "extractor", "db_type", pstrdup(source_kind_name(c->db_type)));
	l = add_setting(l, "extractor", "url", url_mask_password(c->url));
	l = add_setting(l, "extractor", "username", c->username ? pstrdup(c->username) : NULL);
	l = add_setting(l, "extractor", "password", c->password ? pstrdup("*****") : NULL);
	l = add_setting(l, "extractor", "ssl_mode",
					c->ssl_mode != SSL_MODE_UNSET ? pstrdup(ssl_mode_name(c->ssl_mode)) : NULL);
	l = add_setting(l, "extractor", "ssl_ca_path", c->ssl_ca_path ? pstrdup(c->ssl_ca_path) : NULL);
	l = add_setting(l, "extractor", "batch_size", psprintf("%d", c->extract_batch_size));
	l = add_setting(l, "extractor", "parallel_type", pstrdup(c->parallel_chunk ? "chunk" : "table"));
	l = add_setting(l, "extractor", "parallel_size", psprintf("%d", c->parallel_size));
	l = add_setting(l, "extractor", "split_tables_larger_than",
					c->split_bytes > 0 ? psprintf(INT64_FORMAT "kB", c->split_bytes / 1024)
					: psprintf(INT64_FORMAT, c->split_rows));
	l = add_setting(l, "extractor", "max_rps", psprintf("%d", c->max_rps));
	l = add_setting(l, "extractor", "max_mbps", psprintf("%d", c->max_mbps));
	l = add_setting(l, "sinker", "sink_type", pstrdup(c->check ? "check" : "write"));
	l = add_setting(l, "sinker", "batch_size", psprintf("%d", c->checkpoint_rows));
	l = add_setting(l, "sinker", "conflict_policy",
					pstrdup(c->structure_conflict_ignore ? "ignore" : "interrupt"));
	l = add_setting(l, "filter", "do_dbs", patterns_to_string(c->filter.do_dbs, quote));
	l = add_setting(l, "filter", "ignore_dbs", patterns_to_string(c->filter.ignore_dbs, quote));
	l = add_setting(l, "filter", "do_tbs", patterns_to_string(c->filter.do_tbs, quote));
	l = add_setting(l, "filter", "ignore_tbs", patterns_to_string(c->filter.ignore_tbs, quote));
	l = add_setting(l, "filter", "where_conditions",
					table_rules_to_string(c->filter.table_rules, TABLE_RULE_WHERE));
	l = add_setting(l, "filter", "ignore_cols",
					table_rules_to_string(c->filter.table_rules, TABLE_RULE_IGNORE_COLS));
	l = add_setting(l, "filter", "do_structures", structures_to_string(c->do_structures));
	l = add_setting(l, "router", "db_map", psprintf("%d entries", list_length(c->filter.db_map)));
	l = add_setting(l, "router", "tb_map", psprintf("%d entries", list_length(c->filter.tb_map)));
	l = add_setting(l, "router", "col_map",
					table_rules_to_string(c->filter.table_rules, TABLE_RULE_COL_MAP));
	if (c->citus)
	{
		l = add_setting(l, "citus", "distribution_columns",
						table_rules_to_string(c->filter.table_rules, TABLE_RULE_DISTRIBUTION));
		l = add_setting(l, "citus", "reference_tables", patterns_to_string(c->citus_reference, quote));
	}
	if (c->check)
	{
		l = add_setting(l, "checker", "batch_size", psprintf("%d", c->checkpoint_rows));
		l = add_setting(l, "checker", "sample_percent", psprintf("%d", c->check_sample_percent));
		l = add_setting(l, "checker_output", "output_full_row", pstrdup(c->check_full_row ? "true" : "false"));
		l = add_setting(l, "checker_output", "output_revise_sql", pstrdup(c->check_revise_sql ? "true" : "false"));
		l = add_setting(l, "checker_output", "check_log_dir",
						c->check_log_dir ? pstrdup(c->check_log_dir) : psprintf("%s/check", c->log_dir));
		l = add_setting(l, "checker_output", "check_log_max_rows", psprintf("%d", c->check_log_max_rows));
	}
	l = add_setting(l, "parallelizer", "parallel_size", psprintf("%d", c->parallel_size));
	l = add_setting(l, "pipeline", "checkpoint_interval_secs", psprintf("%d", c->checkpoint_interval_secs));
	l = add_setting(l, "pipeline", "buffer_size", psprintf("%d", c->buffer_size));
	l = add_setting(l, "runtime", "log_dir", pstrdup(c->log_dir));
	l = add_setting(l, "runtime", "log_level", pstrdup(c->log_level));
	l = add_setting(l, "resumer", "resume_type",
					pstrdup(c->resume_type == NULL ? "dummy" :
							strcmp(c->resume_type, "catalog") == 0 ? "from_target" : c->resume_type));
	l = add_setting(l, "resumer", "resume_from_log", pstrdup(c->resume_from_log ? "true" : "false"));
	l = add_setting(l, "resumer", "resume_log_dir", pstrdup(c->resume_log_dir));
	l = add_setting(l, "resumer", "resume_config_file",
					c->resume_config_file ? pstrdup(c->resume_config_file) : NULL);
	return l;
}
