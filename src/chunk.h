/*-------------------------------------------------------------------------
 *
 * chunk.h
 *	  One big table, many workers: a table cut into key ranges (chunks) on
 *	  the first column of its order key, each a unit of work with its own
 *	  catalog position (ape_resume.chunk).  See chunk.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_CHUNK_H
#define APE_CHUNK_H

#include "config.h"
#include "source.h"

/* At most this many chunks a table. */
#define MAX_CHUNKS 1024

/*
 * How many chunks the config wants table cut into: 0 when it is not to be
 * split (parallel_type=table, no order key, a Mongo source, below
 * split_tables_larger_than), else max(parallel_size, size / threshold).
 */
extern int	chunk_count(const TaskConfig *config, const SourceTable *table);

/*
 * In the coordinator, before any worker starts: cut each table of tables
 * the config wants split (chunk_count), that is still to be copied, not
 * from a lagging log, and not split yet, at boundaries read from the
 * source (each above the table's position), and record its chunks; the
 * first starts at the table's position.  Outside any transaction.
 */
extern void chunk_plan_tables(int64 task_id, const TaskConfig *config, const SourceOps *ops,
							  Source *source, List *tables);

/* A copy of table restricted to the chunk [lo, hi) (NULL: no bound). */
extern SourceTable *chunk_source_table(const SourceTable *table, const char *lo,
									   const char *hi);

/*
 * In the transaction of a chunk's batch (fenced by the chunk's claim): the
 * chunk's new position after rows_added rows, finished or not; the table's
 * rows and low watermark.  Returns true when this made the table complete
 * (every chunk finished): the caller adds its keys in the same
 * transaction, and the table is recorded finished.  *watermark receives
 * the table's new low watermark when it moved, else NULL; *pending_keys
 * the keys the catalog holds for the table (NULL: none).  ERROR when the
 * table is no longer being copied (another worker failed it).
 */
extern bool chunk_commit(int64 task_id, const SourceTable *table, int chunk,
						 char *const *value, int64 rows_added, bool finished,
						 char ***watermark, char **pending_keys);

/* The chunk's committed position (NULL: none); false if it is gone. */
extern bool chunk_position(int64 task_id, const SourceTable *table, int chunk, char ***value);

/*
 * In the transaction before a chunk's first batch: lock the table's
 * position row (the chunks of a table prepare it one at a time) and tell
 * whether no row of it was committed yet (the target must then be empty);
 * marks it started.  The caller takes a new snapshot after it, to see
 * what the chunk that held the lock before committed.
 */
extern bool chunk_table_begin(int64 task_id, const SourceTable *table);

/*
 * A task that takes over the catalog positions of task pred_id: the
 * chunks of pred_id's table become this task's (claims released).
 */
extern void chunk_take_over(int64 task_id, int64 pred_id, const SourceTable *table);

/* A chunk as the catalog has it, for resume_plan. */
typedef struct ChunkRow
{
	int			chunk;
	int			nchunks;
	char	   *lo;				/* NULL: no bound */
	char	   *hi;
	char	  **value;			/* its position, NULL: none */
	bool		finished;
} ChunkRow;

/* The chunks of a table of a task (ChunkRows, in order); NIL if it is not split. */
extern List *chunk_rows(int64 task_id, const SourceTable *table);

#endif							/* APE_CHUNK_H */
