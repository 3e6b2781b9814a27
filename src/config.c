/*-------------------------------------------------------------------------
 *
 * config.c
 *	  Parse and validate an ape-dts task_config.ini text.
 *
 * The ini syntax is that of ape-dts: [section] headers, key=value (or
 * key: value) lines, whole-line comments starting with # or ;, no inline
 * comments (values such as URLs may contain ; and #).  Section and key
 * names are case-insensitive, values are kept as written, trimmed.
 *
 * Debian's libinih was considered and rejected: it is built with a 200-byte
 * line limit and splits longer lines (long do_tbs lists, URLs with options)
 * into garbage instead of reporting them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <limits.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "config.h"
#include "config_ini.h"
#include "config_value.h"
#include "table_rule.h"

typedef enum ConfigKeyKind
{
	CK_NO_EFFECT,				/* known to ape-dts, no effect here: NOTICE */
	CK_DB_TYPE,
	CK_EXTRACT_TYPE,
	CK_URL,
	CK_USERNAME,
	CK_PASSWORD,
	CK_SSL_MODE,
	CK_SSL_CA_PATH,
	CK_EXTRACT_BATCH,
	CK_EXTRACT_PARALLEL_TYPE,
	CK_EXTRACT_PARALLEL_SIZE,
	CK_SPLIT_LARGER_THAN,
	CK_MAX_RPS,
	CK_MAX_MBPS,
	CK_PIPELINE_MAX_RPS,
	CK_SINK_TYPE,
	CK_CHECK_BATCH,
	CK_CHECK_SAMPLE_PERCENT,
	CK_CHECK_FULL_ROW,
	CK_CHECK_REVISE_SQL,
	CK_CHECK_REVISE_FULL_ROW,
	CK_CHECK_LOG_DIR,
	CK_CHECK_LOG_MAX_ROWS,
	CK_CHECK_OUTPUT_TYPE,
	CK_SAMPLE_INTERVAL,
	CK_SINK_BATCH,
	CK_DO_DBS,
	CK_IGNORE_DBS,
	CK_DO_TBS,
	CK_IGNORE_TBS,
	CK_DO_EVENTS,
	CK_WHERE_CONDITIONS,
	CK_IGNORE_COLS,
	CK_DB_MAP,
	CK_TB_MAP,
	CK_COL_MAP,
	CK_PARALLEL_SIZE,
	CK_TB_PARALLEL_SIZE,
	CK_CHECKPOINT_SECS,
	CK_BUFFER_SIZE,
	CK_LOG_DIR,
	CK_LOG_LEVEL,
	CK_RESUME_FROM_LOG,
	CK_RESUME_TYPE,
	CK_RESUME_LOG_DIR,
	CK_RESUME_CONFIG_FILE,
	CK_TASK_ID,
	CK_LUA_CODE_FILE,
	CK_DO_STRUCTURES,
	CK_CONFLICT_POLICY,
	CK_CITUS_DISTRIBUTION,
	CK_CITUS_REFERENCE
} ConfigKeyKind;

typedef struct ConfigKey
{
	const char *section;
	const char *key;			/* NULL: every key of the section */
	ConfigKeyKind kind;
	const char *why;			/* CK_NO_EFFECT: the reason, or NULL */
} ConfigKey;

#define CDC_ONLY "It matters only for change data capture; ape_resume copies snapshots."
#define TARGET_LOCAL "The target is always the local database."
#define CATALOG_POSITIONS "Positions are kept in ape_resume's catalog in the local database."

/*
 * Every key of both ape-dts generations that ape_resume knows.  A key that
 * changes which rows or columns are copied, where they go, or how the
 * source connection is authenticated or secured is implemented or refused;
 * only keys without an effect on the result are CK_NO_EFFECT.
 */
static const ConfigKey config_keys[] = {
	{"global", "task_id", CK_TASK_ID},
	{"extractor", "db_type", CK_DB_TYPE},
	{"extractor", "extract_type", CK_EXTRACT_TYPE},
	{"extractor", "url", CK_URL},
	{"extractor", "username", CK_USERNAME},
	{"extractor", "password", CK_PASSWORD},
	{"extractor", "ssl_mode", CK_SSL_MODE},
	{"extractor", "ssl_ca_path", CK_SSL_CA_PATH},
	{"extractor", "batch_size", CK_EXTRACT_BATCH},
	{"extractor", "parallel_type", CK_EXTRACT_PARALLEL_TYPE},
	{"extractor", "parallel_size", CK_EXTRACT_PARALLEL_SIZE},
	{"extractor", "split_tables_larger_than", CK_SPLIT_LARGER_THAN},
	{"extractor", "max_rps", CK_MAX_RPS},
	{"extractor", "max_mbps", CK_MAX_MBPS},
	{"extractor", "partition_cols", CK_NO_EFFECT, "ape_resume cuts a table into chunks on the first column of its order key."},
	{"extractor", "max_connections", CK_NO_EFFECT, "Each worker holds one source connection."},
	{"extractor", "connection_timeout_secs", CK_NO_EFFECT, NULL},
	{"extractor", "app_name", CK_NO_EFFECT, NULL},
	{"extractor", "sample_interval", CK_SAMPLE_INTERVAL},
	{"extractor", "is_direct_connection", CK_NO_EFFECT, NULL},
	{"extractor", "heartbeat_interval_secs", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "keepalive_interval_secs", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "heartbeat_tb", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "binlog_filename", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "binlog_position", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "server_id", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "gtid_enabled", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "gtid_set", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "binlog_heartbeat_interval_secs", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "binlog_timeout_secs", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "keepalive_idle_secs", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "start_time_utc", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "end_time_utc", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "slot_name", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "pub_name", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "start_lsn", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "recreate_slot_if_exists", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "ddl_meta_tb", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "source", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "resume_token", CK_NO_EFFECT, CDC_ONLY},
	{"extractor", "start_timestamp", CK_NO_EFFECT, CDC_ONLY},
	{"sinker", "db_type", CK_NO_EFFECT, TARGET_LOCAL},
	{"sinker", "sink_type", CK_SINK_TYPE},
	{"sinker", "url", CK_NO_EFFECT, TARGET_LOCAL},
	{"sinker", "username", CK_NO_EFFECT, TARGET_LOCAL},
	{"sinker", "password", CK_NO_EFFECT, TARGET_LOCAL},
	{"sinker", "ssl_mode", CK_NO_EFFECT, TARGET_LOCAL},
	{"sinker", "ssl_ca_path", CK_NO_EFFECT, TARGET_LOCAL},
	{"sinker", "batch_size", CK_SINK_BATCH},
	{"sinker", "max_connections", CK_NO_EFFECT, NULL},
	{"sinker", "connection_timeout_secs", CK_NO_EFFECT, NULL},
	{"sinker", "app_name", CK_NO_EFFECT, NULL},
	{"sinker", "is_direct_connection", CK_NO_EFFECT, NULL},
	{"sinker", "is_cluster", CK_NO_EFFECT, NULL},
	{"sinker", "max_rps", CK_NO_EFFECT, "Rows are written as fast as they are read; [extractor] max_rps limits the source."},
	{"sinker", "max_mbps", CK_NO_EFFECT, "Rows are written as fast as they are read; [extractor] max_mbps limits the source."},
	{"sinker", "conflict_policy", CK_CONFLICT_POLICY},
	{"sinker", "replace", CK_NO_EFFECT, "A copy never writes over a row: a table copied from its start needs an empty target."},
	{"sinker", "disable_foreign_key_checks", CK_NO_EFFECT, NULL},
	{"sinker", "transaction_isolation", CK_NO_EFFECT, NULL},
	{"filter", "do_dbs", CK_DO_DBS},
	{"filter", "ignore_dbs", CK_IGNORE_DBS},
	{"filter", "do_tbs", CK_DO_TBS},
	{"filter", "ignore_tbs", CK_IGNORE_TBS},
	{"filter", "do_events", CK_DO_EVENTS},
	{"filter", "where_conditions", CK_WHERE_CONDITIONS},
	{"filter", "ignore_cols", CK_IGNORE_COLS},
	{"filter", "do_structures", CK_DO_STRUCTURES},
	{"filter", "do_ddls", CK_NO_EFFECT, CDC_ONLY},
	{"filter", "do_dcls", CK_NO_EFFECT, CDC_ONLY},
	{"filter", "ignore_cmds", CK_NO_EFFECT, CDC_ONLY},
	{"router", "db_map", CK_DB_MAP},
	{"router", "tb_map", CK_TB_MAP},
	{"router", "col_map", CK_COL_MAP},
	{"router", "topic_map", CK_NO_EFFECT, "It matters only for a Kafka target."},
	{"parallelizer", "parallel_size", CK_PARALLEL_SIZE},
	{"parallelizer", "parallel_type", CK_NO_EFFECT, "Each worker copies whole tables; [extractor] parallel_size says how many at once."},
	{"parallelizer", "rebalance_strategy", CK_NO_EFFECT, NULL},
	{"parallelizer", "rebalance_cost", CK_NO_EFFECT, NULL},
	{"parallelizer", "rebalance_max_partitions_per_sinker", CK_NO_EFFECT, NULL},
	{"parallelizer", "rebalance_min_partition_rows", CK_NO_EFFECT, NULL},
	{"parallelizer", "rebalance_split_skew_ratio", CK_NO_EFFECT, NULL},
	{"pipeline", "checkpoint_interval_secs", CK_CHECKPOINT_SECS},
	{"pipeline", "buffer_size", CK_BUFFER_SIZE},
	{"pipeline", "max_rps", CK_PIPELINE_MAX_RPS},
	{"pipeline", "buffer_memory_mb", CK_NO_EFFECT, NULL},
	{"pipeline", "batch_sink_interval_secs", CK_NO_EFFECT, NULL},
	{"pipeline", "counter_time_window_secs", CK_NO_EFFECT, NULL},
	{"pipeline", "counter_max_sub_count", CK_NO_EFFECT, NULL},
	{"pipeline", "pipeline_type", CK_NO_EFFECT, NULL},
	{"runtime", "log_dir", CK_LOG_DIR},
	{"runtime", "log_level", CK_LOG_LEVEL},
	{"runtime", "tb_parallel_size", CK_TB_PARALLEL_SIZE},
	{"runtime", "log4rs_file", CK_NO_EFFECT, "ape_resume writes default.log itself."},
	{"runtime", "check_result_stdout_only", CK_NO_EFFECT, NULL},
	{"resumer", "resume_from_log", CK_RESUME_FROM_LOG},
	{"resumer", "resume_type", CK_RESUME_TYPE},
	{"resumer", "resume_log_dir", CK_RESUME_LOG_DIR},
	{"resumer", "log_dir", CK_RESUME_LOG_DIR},
	{"resumer", "resume_config_file", CK_RESUME_CONFIG_FILE},
	{"resumer", "config_file", CK_RESUME_CONFIG_FILE},
	{"resumer", "table_full_name", CK_NO_EFFECT, CATALOG_POSITIONS},
	{"resumer", "url", CK_NO_EFFECT, CATALOG_POSITIONS},
	{"resumer", "db_type", CK_NO_EFFECT, CATALOG_POSITIONS},
	{"resumer", "username", CK_NO_EFFECT, CATALOG_POSITIONS},
	{"resumer", "password", CK_NO_EFFECT, CATALOG_POSITIONS},
	{"resumer", "ssl_mode", CK_NO_EFFECT, CATALOG_POSITIONS},
	{"resumer", "ssl_ca_path", CK_NO_EFFECT, CATALOG_POSITIONS},
	{"resumer", "is_direct_connection", CK_NO_EFFECT, CATALOG_POSITIONS},
	{"resumer", "max_connections", CK_NO_EFFECT, CATALOG_POSITIONS},
	{"processor", "lua_code_file", CK_LUA_CODE_FILE},
	/* ours: distributing the tables ape_resume creates on a Citus coordinator */
	{"citus", "distribution_columns", CK_CITUS_DISTRIBUTION},
	{"citus", "reference_tables", CK_CITUS_REFERENCE},
	/* check tasks ([sinker] sink_type=check): both generations of ape-dts */
	{"checker", "batch_size", CK_CHECK_BATCH},
	{"checker", "sample_percent", CK_CHECK_SAMPLE_PERCENT},
	{"checker", "output_full_row", CK_CHECK_FULL_ROW},
	{"checker", "output_revise_sql", CK_CHECK_REVISE_SQL},
	{"checker", "revise_match_full_row", CK_CHECK_REVISE_FULL_ROW},
	{"checker", "check_log_dir", CK_CHECK_LOG_DIR},
	{"checker", "check_log_max_rows", CK_CHECK_LOG_MAX_ROWS},
	{"checker", "check_log_file_size", CK_NO_EFFECT, "The check logs are capped by check_log_max_rows."},
	{"checker_output", "output_full_row", CK_CHECK_FULL_ROW},
	{"checker_output", "output_revise_sql", CK_CHECK_REVISE_SQL},
	{"checker_output", "revise_match_full_row", CK_CHECK_REVISE_FULL_ROW},
	{"checker_output", "check_log_dir", CK_CHECK_LOG_DIR},
	{"checker_output", "check_log_max_rows", CK_CHECK_LOG_MAX_ROWS},
	{"checker_output", "check_log_file_size", CK_NO_EFFECT, "The check logs are capped by check_log_max_rows."},
	{"checker_output", "output_type", CK_CHECK_OUTPUT_TYPE},
	{"checker", NULL, CK_NO_EFFECT, "It matters only for change data capture or a checker of its own."},
	{"checker_cdc", NULL, CK_NO_EFFECT, CDC_ONLY},
	{"checker_output", NULL, CK_NO_EFFECT, "ape_resume writes the check logs to files only."},
	{"metacenter", NULL, CK_NO_EFFECT, CDC_ONLY},
	{"data_marker", NULL, CK_NO_EFFECT, CDC_ONLY},
	{"tracing", NULL, CK_NO_EFFECT, NULL},
	{"metrics", NULL, CK_NO_EFFECT, NULL},
	{"precheck", NULL, CK_NO_EFFECT, NULL},
};

#define DEFAULT_EXTRACT_BATCH	10000
#define DEFAULT_CHECKPOINT_SECS 10
#define DEFAULT_BUFFER_SIZE		16384
#define MAX_BATCH_ROWS			100000000

static const ConfigKey *
find_key(const IniItem *item)
{
	int			i;

	for (i = 0; i < lengthof(config_keys); i++)
		if (strcmp(config_keys[i].section, item->section) == 0 &&
			(config_keys[i].key == NULL || strcmp(config_keys[i].key, item->key) == 0))
			return &config_keys[i];
	return NULL;
}

char
source_quote_char(SourceKind kind)
{
	return kind == SOURCE_PG ? '"' : '`';
}

void
task_name_check(const char *task_name)
{
	const char *c;

	if (task_name == NULL || task_name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("task name must not be empty")));
	if (strlen(task_name) > 200)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("task name is too long"),
				 errdetail("A task name may have at most 200 bytes.")));
	if (strcmp(task_name, ".") == 0 || strcmp(task_name, "..") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid task name \"%s\"", task_name)));
	for (c = task_name; *c; c++)
		if (*c == '/' || (unsigned char) *c < 0x20 || *c == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid task name \"%s\"", task_name),
					 errdetail("A task name names its default log directory: it may not contain \"/\" or control characters.")));
}

/*
 * What a check task may not do, and its defaults: it compares, so it
 * copies nothing and makes no schema; it resumes from its own catalog.
 */
static void
check_config_finish(TaskConfig *config)
{
	if (config->resume_type != NULL && strcmp(config->resume_type, "catalog") == 0 &&
		config->task_id != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a check task does not take up another task's positions"),
				 errdetail("resume_type=from_target with [global] task_id continues an earlier task of that task_id; a check resumes its own catalog positions (resume_task)."),
				 errhint("Leave out resume_type in section [resumer], or task_id in section [global].")));
	if (config->resume_from_log || config->resume_config_file != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a check task does not resume from log files"),
				 errdetail("It resumes from its own catalog positions (resume_task)."),
				 errhint("Leave out resume_from_log, resume_type=from_log and resume_config_file in section [resumer].")));
	if (config->check_batch > 0)
		config->checkpoint_rows = config->check_batch;
	config->do_structures = 0;
}

TaskConfig *
task_config_parse(const char *text, const char *task_name)
{
	TaskConfig *config = palloc0(sizeof(TaskConfig));
	List	   *items = ini_parse(text);
	const IniItem *db_type_item = NULL;
	const IniItem *url_item = NULL;
	const IniItem *extract_parallel = NULL;
	List	   *check_items = NIL;	/* the checker's keys, given */
	const IniItem *tb_parallel = NULL;
	const IniItem *max_rps = NULL;
	const IniItem *pipeline_max_rps = NULL;
	const IniItem *resume_from_log = NULL;
	int			sink_batch = 0;
	ListCell   *lc;

	task_name_check(task_name);

	/* the quote character of names depends on db_type: find it first */
	foreach(lc, items)
	{
		IniItem    *item = lfirst(lc);

		if (strcmp(item->section, "extractor") == 0 && strcmp(item->key, "db_type") == 0)
			db_type_item = item;
	}
	if (db_type_item == NULL || db_type_item->value[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("missing key \"db_type\" in section [extractor]"),
				 errhint("Set db_type to mysql, pg or mongo.")));
	if (strcmp(db_type_item->value, "mysql") == 0)
		config->db_type = SOURCE_MYSQL;
	else if (strcmp(db_type_item->value, "pg") == 0)
		config->db_type = SOURCE_PG;
	else if (strcmp(db_type_item->value, "mongo") == 0)
		config->db_type = SOURCE_MONGO;
	else
		config_bad_value(db_type_item, "Expected mysql, pg or mongo.");

	config->extract_batch_size = DEFAULT_EXTRACT_BATCH;
	config->parallel_size = 1;
	config->checkpoint_interval_secs = DEFAULT_CHECKPOINT_SECS;
	config->buffer_size = DEFAULT_BUFFER_SIZE;
	config->log_level = pstrdup("info");
	config->do_structures = STRUCT_ALL;
	config->split_rows = DEFAULT_SPLIT_ROWS;
	config->check_sample_percent = 100;
	config->check_log_max_rows = DEFAULT_CHECK_LOG_ROWS;

	foreach(lc, items)
	{
		IniItem    *item = lfirst(lc);
		const ConfigKey *key = find_key(item);
		ListCell   *lc2;

		/* a later line with the same key wins */
		for_each_cell(lc2, items, lnext(items, lc))
		{
			IniItem    *later = lfirst(lc2);

			if (strcmp(later->section, item->section) == 0 &&
				strcmp(later->key, item->key) == 0)
				break;
		}
		if (lc2 != NULL)
		{
			ereport(NOTICE,
					(errmsg("key \"%s\" in section [%s] is set more than once; line %d is used",
							item->key, item->section, ((IniItem *) lfirst(lc2))->lineno)));
			continue;
		}

		if (key == NULL)
		{
			ereport(NOTICE,
					(errmsg("unknown key \"%s\" in section [%s] is ignored",
							item->key, item->section)));
			continue;
		}

		if (key->kind >= CK_CHECK_BATCH && key->kind <= CK_CHECK_OUTPUT_TYPE && item->value[0] != '\0')
			check_items = lappend(check_items, item);
		switch (key->kind)
		{
			case CK_NO_EFFECT:
				if (item->value[0] != '\0')
					ereport(NOTICE,
							(errmsg("key \"%s\" in section [%s] has no effect in ape_resume",
									item->key, item->section),
							 key->why ? errdetail("%s", key->why) : 0));
				break;
			case CK_DB_TYPE:
				break;			/* handled above */
			case CK_EXTRACT_TYPE:
				if (item->value[0] != '\0' && strcmp(item->value, "snapshot") != 0)
					config_bad_value(item, "Only snapshot extraction is supported.");
				break;
			case CK_URL:
				url_item = item;
				break;
			case CK_USERNAME:
				if (item->value[0] != '\0')
					config->username = item->value;
				break;
			case CK_PASSWORD:
				if (item->value[0] != '\0')
					config->password = item->value;
				break;
			case CK_SSL_MODE:
				if (strcmp(item->value, "disable") == 0)
					config->ssl_mode = SSL_MODE_DISABLE;
				else if (strcmp(item->value, "require") == 0)
					config->ssl_mode = SSL_MODE_REQUIRE;
				else if (strcmp(item->value, "verify_ca") == 0)
					config->ssl_mode = SSL_MODE_VERIFY_CA;
				else if (strcmp(item->value, "verify_full") == 0)
					config->ssl_mode = SSL_MODE_VERIFY_FULL;
				else
					config_bad_value(item, "Expected disable, require, verify_ca or verify_full.");
				break;
			case CK_SSL_CA_PATH:
				if (item->value[0] != '\0')
					config->ssl_ca_path = ape_resolve_path(item->value);
				break;
			case CK_EXTRACT_BATCH:
				if (item->value[0] != '\0')
					config->extract_batch_size = config_parse_int(item, 1, MAX_BATCH_ROWS);
				break;
			case CK_EXTRACT_PARALLEL_TYPE:
				if (strcmp(item->value, "chunk") == 0)
				{
					config->parallel_chunk = true;
					if (config->db_type == SOURCE_MONGO)
						ereport(NOTICE,
								(errmsg("parallel_type \"chunk\" in section [extractor] does not split MongoDB collections"),
								 errdetail("Each collection is copied by one worker; several collections are copied at once."),
								 errhint("See README.md, section \"One big table, many workers\".")));
				}
				else if (item->value[0] == '\0' || strcmp(item->value, "table") == 0)
					config->parallel_chunk = false;
				else
					config_bad_value(item, "Expected table or chunk.");
				break;
			case CK_SPLIT_LARGER_THAN:
				if (item->value[0] != '\0')
					config_parse_split(item, config);
				break;
			case CK_EXTRACT_PARALLEL_SIZE:
				extract_parallel = item;
				break;
			case CK_TB_PARALLEL_SIZE:
				tb_parallel = item;
				break;
			case CK_PARALLEL_SIZE:
				if (item->value[0] != '\0')
					config->parallel_size = config_parse_int(item, 1, 1024);
				break;
			case CK_MAX_RPS:
				if (item->value[0] != '\0')
					max_rps = item;
				break;
			case CK_PIPELINE_MAX_RPS:
				if (item->value[0] != '\0')
					pipeline_max_rps = item;
				break;
			case CK_MAX_MBPS:
				if (item->value[0] != '\0')
					config->max_mbps = config_parse_int(item, 0, 4095);
				break;
			case CK_SINK_TYPE:
				if (strcmp(item->value, "check") == 0)
					config->check = true;
				else if (item->value[0] != '\0' && strcmp(item->value, "write") != 0)
					config_bad_value(item, "Expected write (copy the rows into the local database) or check (compare them).");
				break;
			case CK_CHECK_BATCH:
				if (item->value[0] != '\0')
					config->check_batch = config_parse_int(item, 1, MAX_BATCH_ROWS);
				break;
			case CK_CHECK_SAMPLE_PERCENT:
				if (item->value[0] != '\0')
					config->check_sample_percent = config_parse_int(item, 1, 100);
				break;
			case CK_CHECK_FULL_ROW:
				if (item->value[0] != '\0')
					config->check_full_row = config_parse_bool(item);
				break;
			case CK_CHECK_REVISE_SQL:
				if (item->value[0] != '\0')
					config->check_revise_sql = config_parse_bool(item);
				break;
			case CK_CHECK_REVISE_FULL_ROW:
				if (item->value[0] != '\0' && config_parse_bool(item))
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("revise_match_full_row in section [%s] is not supported", item->section),
							 errdetail("The repair statements of sql.log find a row by its key.")));
				break;
			case CK_CHECK_LOG_DIR:
				if (item->value[0] != '\0')
					config->check_log_dir = config_parse_dir(item);
				break;
			case CK_CHECK_LOG_MAX_ROWS:
				if (item->value[0] != '\0')
					config->check_log_max_rows = config_parse_int(item, 1, INT_MAX);
				break;
			case CK_CHECK_OUTPUT_TYPE:
				if (item->value[0] != '\0' && strcmp(item->value, "logs") != 0)
					config_bad_value(item, "Expected logs: ape_resume writes the check logs to files.");
				break;
			case CK_SAMPLE_INTERVAL:
				if (item->value[0] != '\0' && strcmp(item->value, "1") != 0)
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("sample_interval in section [extractor] is not supported"),
							 errhint("Use sample_percent in section [checker]: a sample by the hash of the key, the same in every run.")));
				break;
			case CK_SINK_BATCH:
				if (item->value[0] != '\0')
					sink_batch = config_parse_int(item, 1, MAX_BATCH_ROWS);
				break;
			case CK_DO_DBS:
				config->filter.do_dbs = config_parse_patterns(item, config->db_type, false);
				break;
			case CK_IGNORE_DBS:
				config->filter.ignore_dbs = config_parse_patterns(item, config->db_type, false);
				break;
			case CK_DO_TBS:
				config->filter.do_tbs = config_parse_patterns(item, config->db_type, true);
				break;
			case CK_IGNORE_TBS:
				config->filter.ignore_tbs = config_parse_patterns(item, config->db_type, true);
				break;
			case CK_DO_EVENTS:
				break;			/* a snapshot copies rows: accepted as ape-dts does */
			case CK_WHERE_CONDITIONS:
				config->filter.table_rules = config_parse_table_rules(item, config, TABLE_RULE_WHERE);
				break;
			case CK_IGNORE_COLS:
				config->filter.table_rules = config_parse_table_rules(item, config, TABLE_RULE_IGNORE_COLS);
				break;
			case CK_COL_MAP:
				config->filter.table_rules = config_parse_table_rules(item, config, TABLE_RULE_COL_MAP);
				break;
			case CK_DB_MAP:
				config->filter.db_map = config_parse_routes(item, config->db_type, false);
				break;
			case CK_TB_MAP:
				config->filter.tb_map = config_parse_routes(item, config->db_type, true);
				break;
			case CK_CHECKPOINT_SECS:
				if (item->value[0] != '\0')
					config->checkpoint_interval_secs = config_parse_int(item, 1, 86400);
				break;
			case CK_BUFFER_SIZE:
				if (item->value[0] != '\0')
					config->buffer_size = config_parse_int(item, 1, MAX_BATCH_ROWS);
				break;
			case CK_LOG_DIR:
				config->log_dir = config_parse_dir(item);
				break;
			case CK_LOG_LEVEL:
				if (item->value[0] != '\0')
				{
					char	   *level = ini_lower(item->value);

					if (strcmp(level, "error") != 0 && strcmp(level, "warn") != 0 &&
						strcmp(level, "info") != 0 && strcmp(level, "debug") != 0 &&
						strcmp(level, "trace") != 0)
						config_bad_value(item, "Expected error, warn, info, debug or trace.");
					config->log_level = level;
				}
				break;
			case CK_RESUME_FROM_LOG:
				if (item->value[0] != '\0' && config_parse_bool(item))
					resume_from_log = item;
				break;
			case CK_RESUME_TYPE:
				if (strcmp(item->value, "from_log") == 0)
					config->resume_type = "from_log";
				else if (strcmp(item->value, "from_target") == 0 ||
						 strcmp(item->value, "from_db") == 0)
					config->resume_type = "catalog";
				else if (item->value[0] != '\0' && strcmp(item->value, "dummy") != 0)
					config_bad_value(item, "Expected from_log, from_target, from_db or dummy.");
				else
					config->resume_type = NULL;
				break;
			case CK_RESUME_LOG_DIR:
				config->resume_log_dir = config_parse_dir(item);
				break;
			case CK_RESUME_CONFIG_FILE:
				if (item->value[0] != '\0')
					config->resume_config_file = ape_resolve_path(item->value);
				break;
			case CK_TASK_ID:
				if (item->value[0] != '\0')
				{
					if (strlen(item->value) > 200)
						config_bad_value(item, "A task_id may have at most 200 bytes.");
					config->task_id = item->value;
				}
				break;
			case CK_DO_STRUCTURES:
				config->do_structures = config_parse_structures(item);
				break;
			case CK_CONFLICT_POLICY:
				if (strcmp(item->value, "ignore") == 0)
					config->structure_conflict_ignore = true;
				else if (item->value[0] != '\0' && strcmp(item->value, "interrupt") != 0)
					config_bad_value(item, "Expected interrupt or ignore.");
				else
					config->structure_conflict_ignore = false;
				break;
			case CK_CITUS_DISTRIBUTION:
				config->filter.table_rules = config_parse_table_rules(item, config, TABLE_RULE_DISTRIBUTION);
				config->citus |= table_rules_distribute(config->filter.table_rules);
				break;
			case CK_CITUS_REFERENCE:
				config->citus_reference = config_parse_patterns(item, config->db_type, true);
				config->citus |= config->citus_reference != NIL;
				break;
			case CK_LUA_CODE_FILE:
				if (item->value[0] != '\0')
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("key \"lua_code_file\" in section [processor] is not supported"),
							 errdetail("ape_resume copies rows as they are; it runs no Lua processor.")));
				break;
		}
	}

	/* as ape-dts: [extractor] parallel_size, even empty, beats the legacy key */
	if (extract_parallel != NULL || tb_parallel != NULL)
	{
		const IniItem *item = extract_parallel ? extract_parallel : tb_parallel;

		config->parallel_size = item->value[0] != '\0' ? config_parse_int(item, 1, 1024) : 1;
	}
	if (max_rps != NULL || pipeline_max_rps != NULL)
		config->max_rps = config_parse_int(max_rps ? max_rps : pipeline_max_rps, 0, INT_MAX);
	if (resume_from_log != NULL && config->resume_type != NULL &&
		strcmp(config->resume_type, "catalog") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("keys \"resume_from_log\" and \"resume_type\" in section [resumer] contradict each other"),
				 errhint("Use resume_type alone: from_log reads the log files, from_target keeps to the catalog.")));
	if (resume_from_log != NULL)
		config->resume_type = "from_log";
	config->resume_from_log = config->resume_type != NULL &&
		strcmp(config->resume_type, "from_log") == 0;

	if (url_item == NULL || url_item->value[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("missing key \"url\" in section [extractor]")));
	if (!url_has_scheme(url_item->value, config->db_type))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for key \"url\" in section [extractor]"),
				 errdetail("A %s source URL starts with %s.",
						   source_kind_name(config->db_type),
						   config->db_type == SOURCE_MYSQL ? "mysql://" :
						   config->db_type == SOURCE_PG ? "postgres://" : "mongodb://")));
	config->url = url_item->value;
	/*
	 * libpq reads a user info with '?' or '#' in it, as no URL parser does:
	 * a PostgreSQL source takes the keys as its user and password keywords.
	 */
	if ((config->username != NULL || config->password != NULL) && config->db_type != SOURCE_PG)
		config->url = url_with_credentials(config->url, config->username, config->password);
	foreach(lc, config->filter.table_rules)
	{
		const TableRule *r = lfirst(lc);

		if (config->db_type == SOURCE_MONGO &&
			(r->where != NULL || r->ignore_cols != NIL || r->col_map != NIL))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("keys \"where_conditions\", \"ignore_cols\" and \"col_map\" are not supported for a MongoDB source"),
					 errdetail("A collection is copied whole, each document into one jsonb column.")));
	}

	if (config->filter.do_dbs == NIL && config->filter.do_tbs == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("task config selects no tables"),
				 errhint("Set do_dbs or do_tbs in section [filter], for example do_dbs=* for every database.")));

	config->checkpoint_rows = sink_batch > 0 ? sink_batch : config->extract_batch_size;
	if (config->check)
		check_config_finish(config);
	else
	{
		/* a copy: the checker's keys are checked, and do nothing */
		foreach(lc, check_items)
		{
			IniItem    *item = lfirst(lc);

			ereport(NOTICE,
					(errmsg("key \"%s\" in section [%s] has no effect in ape_resume",
							item->key, item->section),
					 errdetail("It matters only for check tasks ([sinker] sink_type=check).")));
		}
	}
	if (config->log_dir == NULL)
		config->log_dir = ape_resolve_path(task_name);
	if (config->resume_log_dir == NULL)
		config->resume_log_dir = pstrdup(config->log_dir);
	return config;
}
