/*
 * parked.h — a worker's gets, served without ever waiting for the disk.
 *
 * A GET is first tried with lsm_get_into_cached (engine/lsm.h): a get
 * the engine answers from memory (memtables, cached blocks) is replied to
 * at once, in the same turn, at the cost of the synchronous path (no
 * queue, no eventfd write: in-memory gets pay nothing for parking).  A get
 * that misses the block cache is started again on the worker's lsm_getq,
 * which leaves its block read in flight: the request is parked here (an entry of a small table, the getq's user pointer) and
 * the worker goes on serving its other clients; the reply is posted, with
 * the request's tag, when parked_poll finds the get finished.  A client's
 * gets may therefore complete out of order; its writes keep their order,
 * and a get started after an acknowledged write sees it (the get's view
 * is taken at start, after batcher_settle applied the client's writes).
 *
 * The value is copied by the engine straight into the client's arena
 * (the request's out_off / out_cap), as the synchronous path did; a value
 * longer than out_cap is LSM_ETOOSMALL with r0 = its length, the same
 * reply as before.
 *
 * What a parked entry holds until its get completes:
 *   - a session reference (session_ref): the segment stays mapped, so the
 *     engine never writes into an unmapped arena even when the client
 *     detached or was killed meanwhile; the reply of a dying session is
 *     dropped, then the reference;
 *   - a registry reader reference on its snapshot (snapreg_ref), so the
 *     engine snapshot outlives the get even when the last holder released
 *     it or died (snapreg_drop_holder at detach);
 *   - a private copy of the key (the engine keeps pointing at it).
 *
 * Waiting (docs/architecture.md, "Where a request waits"): the worker
 * sleeps in futex_waitv on its clients' rings and its kick word, which an
 * eventfd cannot join.  So a completion watcher thread per worker bridges
 * the getq's eventfd to the kick word, and only while the worker sleeps
 * with gets parked: parked_sleep_begin arms it (and re-polls, so nothing
 * that completed before is missed), the watcher then polls the eventfd
 * and kicks the worker when it becomes readable.  While the worker is
 * awake the watcher sleeps on its own futex and costs nothing; the worker
 * polls the getq (lsm_getq_poll: a look at the completion ring, no system
 * call) once per pass instead.  In-memory gets never involve the watcher.
 *
 * Placement: parked_new must be called on the worker thread after its
 * NUMA binding: the table, the key copies and the watcher (which inherits
 * the worker's CPU mask) are then on the worker's node.
 *
 * Thread safety: everything but the watcher is the worker thread's.
 */
#ifndef LSMD_PARKED_H
#define LSMD_PARKED_H

#include <stdint.h>

#include "daemon.h"
#include "protocol.h"

struct session;
typedef struct parked parked;

/* Gets in flight per worker (see parked_get: PARKED_FULL). */
#define PARKED_DEPTH 256u

/* A table for a worker whose kick word is *kick (the watcher kicks it).
 * Errors: -ENOMEM, lsm_getq_new's, -errno of pthread_create. */
int parked_new(daemon_ctx *d, uint32_t *kick, parked **out);

/* Waits for the reads still in flight, drops their replies and what the
 * entries hold, stops the watcher, frees p.  NULL is a no-op.  Must run
 * before the snapshot registry and the database are closed. */
void parked_free(parked *p);

/* Serves GET q of s (validated; the caller has applied s's earlier
 * writes): replies at once when the engine answers from memory
 * (PARKED_ANSWERED, also for an error), else parks it (PARKED_PARKED).
 * A reply is posted with session_post and s->need_wake set (the worker
 * wakes the client at the end of its turn).  PARKED_FULL: every entry has
 * a get in flight; nothing was done, the caller serves the get itself
 * (synchronously). */
enum parked_how { PARKED_ANSWERED, PARKED_PARKED, PARKED_FULL };
enum parked_how parked_get(parked *p, struct session *s, const struct shm_sqe *q);

/* Posts the replies of every finished get (waking their clients) and
 * returns how many finished.  Never blocks. */
unsigned parked_poll(parked *p);

/* Around a turn over the sessions: the block reads of the gets parked in
 * between go to the kernel together, at unplug (lsm_getq_plug).  Nothing
 * parked meanwhile is in flight before unplug, so the worker unplugs
 * before it polls or sleeps. */
void parked_plug(parked *p);
void parked_unplug(parked *p);

/* Gets parked (started, reply not yet posted). */
unsigned parked_count(const parked *p);

/* A watcher thread kicks the worker when a parked read completes (false
 * when the get queue has no eventfd: the worker must poll). */
bool parked_watched(const parked *p);

/* Around the worker's sleep when parked_count() > 0: arms the watcher and
 * polls once more; returns the replies that poll posted (then do not
 * sleep, call parked_sleep_end).  parked_sleep_end disarms it. */
unsigned parked_sleep_begin(parked *p);
void parked_sleep_end(parked *p);

#endif
