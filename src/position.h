/*-------------------------------------------------------------------------
 *
 * position.h
 *	  Lines of position.log, finished.log and resume.config: the ape-dts
 *	  formats, read and written byte-compatibly.
 *
 *	  2024-10-10 04:04:08.152044 | current_position | {"type":"RdbSnapshot",...}
 *	  2024-10-10 04:04:07.803422 | {"type":"RdbSnapshotFinished",...}
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_POSITION_H
#define APE_POSITION_H

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

typedef enum PositionKind
{
	POSITION_NONE,				/* {"type":"None"} */
	POSITION_SNAPSHOT,			/* RdbSnapshot: a table's last copied key */
	POSITION_SNAPSHOT_FINISHED	/* RdbSnapshotFinished: a table is done */
} PositionKind;

/* The JSON object of a line. */
typedef struct PositionEntry
{
	PositionKind kind;
	char	   *db_type;		/* may be NULL */
	char	   *schema;
	char	   *tb;
	int			nkeys;			/* key columns: 1, or more for a composite key */
	char	  **order_cols;
	char	  **values;			/* an element may be NULL (JSON null) */
	bool		order_key_form; /* the newer "order_key" form */
} PositionEntry;

/* A whole line, parsed. */
typedef struct PositionLine
{
	int			line_no;		/* physical line number, from 1 */
	const char *tag;			/* current_position, checkpoint_position or NULL */
	bool		has_logged_at;
	TimestampTz logged_at;
	PositionEntry entry;		/* valid when error is NULL */
	const char *error;			/* why the line was not usable */
	bool		torn;			/* the last line, cut short by a crash */
	bool		blank;			/* nothing but white space: callers skip it */
} PositionLine;

typedef void (*PositionLineCallback) (const PositionLine *line, void *arg);

/* position_json.c: the JSON object, through json-c */
extern bool position_json_parse(const char *json, size_t len,
								PositionEntry *entry, char **error);
extern void position_json_append(StringInfo buf, const PositionEntry *entry);
extern char *position_json_string_array(char **items, int n);

/*
 * A line of definitions.log, ape_resume's own file in a log dir: what made
 * the rows of a table's copy (resume.h, TABLE_DEF_*), as one JSON object
 * {"schema":..,"tb":..,"source":..,"where_conditions":..,"ignore_cols":..,
 * "col_map":..,"target":..}.
 */
#define POSITION_DEFINITION_N 5
extern char *position_json_definition(const char *schema, const char *tb, char *const *def);
extern bool position_json_definition_parse(const char *json, size_t len, char **schema,
										   char **tb, char **def, char **error);

/* position_file.c */
extern const char *position_kind_name(PositionKind kind);
extern void position_append_timestamp(StringInfo buf, TimestampTz ts);
extern void position_line_parse(char *text, size_t len, PositionLine *line);
extern void position_line_format(StringInfo buf, TimestampTz logged_at,
								 const char *tag, const PositionEntry *entry);
extern void position_file_read(const char *path, PositionLineCallback callback,
							   void *arg);

/*
 * The same for lines of another format: callback gets each line that is
 * not blank as it is (without its newline); complete is false for a line
 * longer than the limit (text then holds its start) or the last line
 * without a newline.
 */
typedef void (*RawLineCallback) (const char *text, size_t len, int line_no, bool complete,
								 void *arg);
extern void position_file_read_raw(const char *path, RawLineCallback callback, void *arg);
extern void position_file_append(const char *path, const char *line, bool sync);

#endif							/* APE_POSITION_H */
