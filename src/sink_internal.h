/*-------------------------------------------------------------------------
 *
 * sink_internal.h
 *	  What sink.c (the target, rows in through COPY) and sink_citus.c (rows
 *	  into a Citus table, through Citus's COPY path) share.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_SINK_INTERNAL_H
#define APE_SINK_INTERNAL_H

#include "lib/stringinfo.h"

#include "sink.h"

/* "schema"."tb", quoted where needed */
extern char *sink_qualified_name(const char *schema, const char *tb);

/*
 * The batch into the session's temporary stage of a target (its column
 * types, none of its constraints; made once, emptied at each commit, made
 * again after an abort): the stage's name in pg_temp; *cols the batch's
 * target columns, quoted, *rows the rows staged.
 */
extern char *sink_stage_batch(const SourceTable *table, const char *dst_schema,
							  const char *dst_tb, SinkRowFeed feed, SinkLineFeed line_feed,
							  void *arg, char **cols, uint64 *rows);

/* INSERT INTO target (cols) the stage's rows, identity values as staged; the rows inserted. */
extern uint64 sink_insert_staged(const char *target, const char *cols, const char *stage);

/* sink_citus.c */
extern bool sink_is_citus_table(Oid relid);
extern void sink_citus_settle(const char *target);
extern uint64 sink_copy_into_citus(const SourceTable *table, const char *dst_schema,
								   const char *dst_tb, SinkRowFeed feed, SinkLineFeed line_feed,
								   void *arg);

#endif							/* APE_SINK_INTERNAL_H */
