/*-------------------------------------------------------------------------
 *
 * config.h
 *	  A task's configuration: ape-dts task_config.ini text, parsed and
 *	  validated.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_CONFIG_H
#define APE_CONFIG_H

#include "ape_resume.h"
#include "name_filter.h"
#include "source_url.h"

/* [extractor] ssl_mode: TLS to the source. */
typedef enum SslMode
{
	SSL_MODE_UNSET,				/* the URL's own options decide */
	SSL_MODE_DISABLE,
	SSL_MODE_REQUIRE,			/* encrypted, the certificate not checked */
	SSL_MODE_VERIFY_CA,			/* and signed by the CA */
	SSL_MODE_VERIFY_FULL		/* and for the host name connected to */
} SslMode;

/*
 * [filter] do_structures: what of a created target table's schema follows
 * its data (see structure.h).  Tables, with their primary and unique keys,
 * are always created.
 */
#define STRUCT_DEFAULT		0x01	/* column defaults */
#define STRUCT_CONSTRAINT	0x02	/* foreign keys, checks, exclusions */
#define STRUCT_INDEX		0x04	/* secondary indexes */
#define STRUCT_SEQUENCE		0x08	/* identities, sequences and their values */
#define STRUCT_COMMENT		0x10	/* table and column comments */
#define STRUCT_TYPE			0x20	/* a PostgreSQL source's own types, generated columns */
#define STRUCT_ALL			0x3f

/* [checker_output] check_log_max_rows by default (ape-dts's) */
#define DEFAULT_CHECK_LOG_ROWS	1000

/* parallel_type=chunk without split_tables_larger_than: tables above this */
#define DEFAULT_SPLIT_ROWS	100000

typedef struct TaskConfig
{
	SourceKind	db_type;
	char	   *url;			/* holds the password: never show it; with
								 * [extractor] username and password merged
								 * (MySQL, Mongo; a PostgreSQL source takes
								 * them as libpq keywords) */
	char	   *username;		/* [extractor] username, NULL: none */
	char	   *password;		/* [extractor] password, NULL: none; never show it */
	SslMode		ssl_mode;
	char	   *ssl_ca_path;	/* absolute, or NULL */
	int			max_rps;		/* rows a second from the source, 0: no limit */
	int			max_mbps;		/* MiB a second from the source, 0: no limit */
	char	   *task_id;		/* [global] task_id, NULL: none */
	const char *resume_type;	/* "from_log", "catalog" or NULL (none) */
	int			extract_batch_size; /* rows per source query */
	int			checkpoint_rows;	/* rows per checkpoint ([sinker] batch_size) */
	NameFilter	filter;
	int			parallel_size;
	/*
	 * [extractor] parallel_type=chunk: a table above split_rows rows or
	 * split_bytes bytes (one of them is 0) is cut into key-range chunks.
	 */
	bool		parallel_chunk;
	int64		split_rows;
	int64		split_bytes;
	int			checkpoint_interval_secs;
	int			buffer_size;
	char	   *log_dir;		/* absolute */
	char	   *log_level;
	bool		resume_from_log;
	char	   *resume_log_dir; /* absolute */
	char	   *resume_config_file; /* absolute, or NULL */
	int			do_structures;	/* [filter] do_structures: STRUCT_* bits */
	/* a check task ([sinker] sink_type=check, check.h) */
	bool		check;
	int			check_batch;	/* [checker] batch_size, 0: the copy's batch */
	int			check_sample_percent;	/* 1 .. 100: rows compared, by key hash */
	bool		check_full_row; /* output_full_row: src_row / dst_row */
	bool		check_revise_sql;	/* output_revise_sql: sql.log */
	int			check_log_max_rows; /* lines of each check log at most */
	char	   *check_log_dir;	/* absolute; NULL: <log_dir>/check */
	bool		structure_conflict_ignore;	/* [sinker] conflict_policy=ignore */
	/* [citus]: the tables ape_resume creates, distributed (see sink_citus.c) */
	List	   *citus_reference;	/* reference_tables: NamePattern *, source names */
	bool		citus;			/* a key of [citus] is set: Citus is required */
} TaskConfig;

/* One effective setting, for ape_resume.parse_config(). */
typedef struct ConfigSetting
{
	const char *section;
	const char *key;
	char	   *value;			/* passwords masked */
} ConfigSetting;

/*
 * Parse and validate config text for the named task.  Raises an ERROR that
 * names section and key for a bad value; unknown keys give a NOTICE.
 */
extern TaskConfig *task_config_parse(const char *text, const char *task_name);

/* The effective settings of a parsed config, defaults filled in. */
extern List *task_config_settings(const TaskConfig *config);

/* Validate a task name (it names the default log directory). */
extern void task_name_check(const char *task_name);

/* The character that quotes a literal name for this kind of source. */
extern char source_quote_char(SourceKind kind);

/* The name of an ssl_mode, as the config writes it ("" for unset). */
extern const char *ssl_mode_name(SslMode mode);

#endif							/* APE_CONFIG_H */
