/*-------------------------------------------------------------------------
 *
 * rate_limit.h
 *	  [extractor] max_rps and max_mbps: a worker never reads faster than
 *	  its share of the task's limits from the source.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_RATE_LIMIT_H
#define APE_RATE_LIMIT_H

#include "datatype/timestamp.h"

typedef struct RateLimit
{
	int			max_rps;		/* the task's limits, 0: none */
	int			max_mbps;
	double		row_usecs;		/* microseconds a row takes, 0: no limit */
	double		byte_usecs;		/* microseconds a byte takes, 0: no limit */
	double		next_ok;		/* when the next row may be read (usecs since epoch) */
} RateLimit;

/*
 * Set up the limits of one worker: max_rps rows and max_mbps MiB a second
 * for the task (0: no limit), shared evenly by at most workers workers.
 */
extern void rate_limit_init(RateLimit *rl, int max_rps, int max_mbps, int workers);

/*
 * Take 1 / workers of the task's limits: workers is the most workers of
 * the task that may read at once (at least 1).  Each worker sets it
 * before each batch from the tables left, a number that never grows, so
 * that the shares of the workers reading at once never add up to more
 * than the limit.
 */
extern void rate_limit_share(RateLimit *rl, int workers);

/* Is any limit set? */
static inline bool
rate_limit_active(const RateLimit *rl)
{
	return rl->row_usecs > 0 || rl->byte_usecs > 0;
}

/*
 * Account for one row of bytes bytes just read and wait, if the limits ask
 * for it, until the next row may be read.  The wait ends early for a
 * stop_task (the batch then ends) and for interrupts.
 */
extern void rate_limit_row(RateLimit *rl, int64 bytes);

#endif							/* APE_RATE_LIMIT_H */
