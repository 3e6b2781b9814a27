/*-------------------------------------------------------------------------
 *
 * rate_limit.c
 *	  A worker's source read rate limit: a virtual clock that each row
 *	  moves on by its cost in time; when it runs ahead of the real clock,
 *	  the worker waits on its latch until the real clock catches up.
 *
 * The clock never lags more than RATE_BURST_USECS behind: time spent
 * elsewhere (between tables, in a checkpoint) does not pile up into a
 * burst later.  Each worker takes max / workers (rate_limit_share), so the
 * task as a whole never reads faster than max.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/timestamp.h"

#include "rate_limit.h"
#include "worker.h"

#define RATE_BURST_USECS 100000.0

void
rate_limit_init(RateLimit *rl, int max_rps, int max_mbps, int workers)
{
	memset(rl, 0, sizeof(RateLimit));
	rl->max_rps = max_rps;
	rl->max_mbps = max_mbps;
	rate_limit_share(rl, workers);
}

void
rate_limit_share(RateLimit *rl, int workers)
{
	if (workers < 1)
		workers = 1;
	rl->row_usecs = rl->max_rps > 0 ? 1e6 * workers / rl->max_rps : 0;
	rl->byte_usecs = rl->max_mbps > 0 ?
		1e6 * workers / ((double) rl->max_mbps * 1024 * 1024) : 0;
}

void
rate_limit_row(RateLimit *rl, int64 bytes)
{
	double		now;

	if (!rate_limit_active(rl))
		return;
	now = (double) GetCurrentTimestamp();
	if (rl->next_ok < now - RATE_BURST_USECS)
		rl->next_ok = now - RATE_BURST_USECS;
	rl->next_ok += rl->row_usecs + rl->byte_usecs * (double) bytes;

	while (now < rl->next_ok && !ape_stop_signalled)
	{
		long		ms = (long) ((rl->next_ok - now) / 1000.0) + 1;
		int			rc;

		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   ms, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		now = (double) GetCurrentTimestamp();
	}
}
