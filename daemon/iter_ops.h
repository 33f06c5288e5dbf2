/*
 * iter_ops.h — a worker's iterator requests: ITER_OPEN, ITER_NEXT,
 * ITER_CLOSE, ITER_SCAN and ITER_PIECE (protocol.h "Iterator pages",
 * "Scans" and "Big entries";
 * docs/shm-protocol.md).
 *
 * An iterator the client may continue lives in the session's table
 * (session.h: it counts against DAEMON_MAX_ITERS_PER_CLIENT and
 * max_iters_per_uid).  One that is done with (closed, exhausted, or an
 * ITER_SCAN whose page is all the client wanted) goes to the worker's
 * retired list instead, and is freed by iter_retired_release after the
 * turn's replies are posted and the client woken: freeing an engine
 * iterator (a merge over the memtables and every level, its blocks
 * unpinned, its view dropped) is work no reply waits for.  An ITER_SCAN
 * that leaves nothing open never enters the table, so short scans are not
 * limited by the iterators the client holds.
 *
 * Thread safety: the thread that owns the session's iterator table and
 * need_wake: its worker, or the worker's iterator lane while the session
 * is held there (iter_lane.h, "Ownership").  Each of them has its own
 * retired list.
 */
#ifndef LSMD_ITER_OPS_H
#define LSMD_ITER_OPS_H

#include <stdint.h>

#include "protocol.h"
#include "session.h"

/* Iterators done with in this turn, not yet freed. */
typedef struct iter_retired {
    session_iter *v;
    uint32_t n, cap;
} iter_retired;

/* Serves q, a validated ITER_OPEN, ITER_NEXT, ITER_CLOSE, ITER_SCAN or ITER_PIECE of
 * s, and posts its completion (s->need_wake is set; the caller wakes the
 * client at the end of its turn). */
void iter_op(daemon_ctx *d, iter_retired *r, session *s, const struct shm_sqe *q);

/* Frees every retired iterator (the list stays allocated). */
void iter_retired_release(daemon_ctx *d, iter_retired *r);

/* Releases what is left and frees the list itself. */
void iter_retired_free(daemon_ctx *d, iter_retired *r);

#endif
