/*
 * iter_lane.h — a worker's iterator lane: one thread per worker that
 * serves the iterator requests (ITER_OPEN, ITER_NEXT, ITER_SCAN, ITER_PIECE) of
 * sessions whose scans read files, so the worker's other sessions do not
 * wait for a scan's block reads (issue 12: another client's in-memory
 * gets went from p99 3.5 us to 8 ms beside a cold scan).
 *
 * The rule (iter_lane_wants): a session's iterator request goes to the
 * lane when its previous one waited for the disk: ITER_LANE_READ_NS
 * (50 us) or more for file reads in all, ITER_LANE_DISK_NS (10 us) or
 * more per read on average (lsm_thread_read_ns and lsm_thread_reads,
 * measured around iter_op on whichever thread ran it; s->iter_cold).
 * Time, not a count of block cache misses: a block the page cache holds
 * costs a few microseconds to read (make bench's "in memory" database is
 * twice its block cache, so a third of its seeks, and a readseq's first
 * pass, read such blocks), and handing those off costs more than the
 * reads (on 2 CPUs, readseq's first pass ran at half speed); a read from
 * the disk costs the other sessions its device latency (~60 us here,
 * ~4 ms for a page of a cold scan).  So scans served from memory stay on
 * the worker and pay no hand-off; a cold scan costs the worker its first
 * page, and returns to it once a page is quick again.  ITER_CLOSE always stays on the worker (it reads nothing; the
 * iterator is freed after the reply, iter_ops.h).
 *
 * Runs: the requests a session has queued behind the first one the lane
 * wants, up to the first request that is not an iterator request, go to
 * the lane with it as one job: a client with many scans in flight pays
 * one hand-off per turn, not one per scan.
 *
 * Hold: while its requests are in the lane the session is held
 * (iter_lane_held): the worker takes none of its requests, so its order
 * holds, and does not detach it even when it dies (the worker leaves it
 * for a later pass).  Everything else of the worker is served on.  The
 * lane runs iter_op, posts the completion, wakes the client, frees the
 * iterators the request retired, releases the hold and kicks the worker
 * (shm_server_kick on its kick word), which may then serve or detach the
 * session.  A job holds a session reference, so the segment stays mapped
 * if the client is killed meanwhile (the reply then goes nowhere).
 *
 * Ownership: the session's iterator table, its need_wake and iter_cold
 * belong to the serving worker, and to the lane while the session is held.
 * The hand-over is ordered by the lane's mutex (worker to lane) and by the
 * release store that ends the hold, paired with the acquire load in
 * iter_lane_held (lane to worker).
 *
 * One lane thread per worker serves its jobs one at a time, in the order
 * taken: two cold scanners of one worker share it (they wait for each
 * other, not the worker's other sessions).
 *
 * Thread safety: iter_lane_add, iter_lane_drain and iter_lane_free from
 * the owning worker thread; iter_lane_held and iter_lane_pages from any.
 */
#ifndef LSMD_ITER_LANE_H
#define LSMD_ITER_LANE_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"
#include "iter_ops.h"
#include "protocol.h"
#include "session.h"

typedef struct iter_lane iter_lane;

/* Starts the lane thread (named lsmd-iN), which kicks *kick when it ends a
 * hold.  Errors: -ENOMEM, -errno of pthread_create. */
int iter_lane_new(daemon_ctx *d, int worker_index, uint32_t *kick, iter_lane **out);

/* Drains (iter_lane_drain), stops the thread and frees l.  NULL: no-op. */
void iter_lane_free(iter_lane *l);

/* A request waited for the disk when its file reads took this long in
 * all, and this long each on average (the page cache serves a 4 KiB read
 * in 1-5 us). */
#define ITER_LANE_READ_NS 50000u
#define ITER_LANE_DISK_NS 10000u

/* Whether q (a validated request of s) goes to the lane: an ITER_OPEN,
 * ITER_NEXT or ITER_SCAN of a session whose last iterator request waited
 * ITER_LANE_READ_NS or more for file reads.  The iterator requests of s that follow q go with it (a run); the
 * worker serves none of s's requests after them until the lane is done.
 * REQUIRES: the serving worker, s not held. */
bool iter_lane_wants(const session *s, const struct shm_sqe *q);

/* Whether q is an iterator request (ITER_OPEN, ITER_NEXT, ITER_SCAN,
 * ITER_CLOSE): may continue a run. */
bool iter_lane_is_iter(const struct shm_sqe *q);

/* Serves iterator request q of s on the calling worker thread (iter_op
 * with the worker's retired list) and notes in s->iter_cold whether it
 * waited ITER_LANE_READ_NS or more for file reads.  REQUIRES: the serving worker, s not held. */
void iter_lane_inline(daemon_ctx *d, iter_retired *r, session *s, const struct shm_sqe *q);

/* Hands the run q[0..n-1] (n >= 1, in order) to the lane; s is held until
 * their completions are posted.  Returns 0, or -ENOMEM (no memory for the
 * job: nothing was done, the caller serves them inline).
 * REQUIRES: iter_lane_wants(s, &q[0]), the others iter_lane_is_iter; s's
 * client already woken for the completions posted before q (the lane owns
 * need_wake from here). */
int iter_lane_add(iter_lane *l, session *s, const struct shm_sqe *q, unsigned n);

/* Whether a request of s is in the lane (any thread; acquire). */
bool iter_lane_held(const session *s);

/* Waits until every request handed so far is served and its hold ended.
 * Returns how many were pending when called. */
unsigned iter_lane_drain(iter_lane *l);

/* Requests the lane has served (stats; any thread). */
uint64_t iter_lane_pages(const iter_lane *l);

#endif
