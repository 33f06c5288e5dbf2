/*
 * batcher.h — a worker's group-commit pipeline: it batches the writes of
 * the worker's clients into groups, one lsm_write each.  (The engine has
 * its own group commit inside lsm_write, db/db_write.c; this one sits in
 * front of it, across one worker's clients.)
 *
 * The writes (PUT, DELETE, WRITE_BATCH) a worker takes from its clients
 * go into one lsm_batch, the "filling" group.  At the end of each pass
 * the group is started with one lsm_write: inline when it needs no sync
 * (one write(2), no reason to hand it off), else by one of the worker's
 * committer threads (two).  So two groups are in flight at once: the
 * worker hands over a new group while the previous one still waits for
 * its fdatasync, its WAL bytes are written at once and ride on the
 * engine's next shared sync (db/db_write.c, sync_wal_upto) together with the
 * groups of the other workers, instead of waiting a whole sync for the
 * committer to come back.  While both committers are busy the filling
 * group keeps growing.
 *
 *      worker:      [fill G1] hand [fill G2] hand [fill G3 ........] hand
 *      committer a:           [write G1, sync ......, ack G1] [write G3 ..
 *      committer b:                     [write G2, wait, sync ....., ack G2]
 *
 * Order: the engine applies lsm_write calls in the order they enter it,
 * and groups at different committers may enter in any order.  So a group
 * that holds a write of a session with writes still in flight in an
 * earlier group is "ordered": it starts only once no group is in flight
 * (it keeps filling meanwhile).  Groups in flight together thus never
 * share a session, and each session's writes reach lsm_write in the order
 * it submitted them.  A client with one write at a time (the usual case)
 * never makes a group ordered.  Each write is acknowledged only after its
 * lsm_write returned: applied, and with LSM_SYNC durable.
 * batcher_settle() runs before any other request of a session that has
 * writes in flight, so a client reads its own writes and its snapshots
 * include them.
 *
 * Large writes (more than 1 MiB encoded: a big value or batch) do not join
 * a group: they are applied alone by the worker's apart thread, which
 * copies, parses and lsm_writes them while the worker keeps serving its
 * other sessions.  Their session is held meanwhile (batcher_held): the
 * worker takes none of its requests until the large write is
 * acknowledged, so the session's order and its reads of its own writes
 * hold without anyone else waiting.  (The engine still applies one write
 * at a time: other writes wait for the large one's WAL append and
 * memtable insertion inside lsm_write (docs/tuning.md, "The service"):
 * bounded by max_request_bytes for a batch, by the 64 MiB value limit for
 * a put.)
 *
 * Isolation: every request is validated against the engine's limits
 * before it joins a group (shm/validate.h; a WRITE_BATCH above the
 * config's max_request_bytes gets -E2BIG), a batch is checked whole
 * as it is appended (lsm_batch_append_encoded: all or nothing), and a request that does not fit the filling
 * group starts the next one: a refused request fails only itself.
 *
 * Memory: groups hold at most GROUP_MAX_BYTES plus one request of up to
 * 1 MiB, so the three group batches stay under 30 MiB per worker; the apart thread frees its buffers after each
 * write.
 *
 * Copies: a put's key and value go once from the arena into the batch
 * (engine memory) before anything checksums or logs them; an encoded batch
 * is copied whole, once, into the group's batch, then validated there.
 *
 * Per-client state (writes in flight, held apart) lives in each session,
 * in client_writes.h's struct, which only this unit changes.
 *
 * Thread safety: all calls from the owning worker thread (batcher_apart,
 * batcher_held and batcher_pending from any); the committer and apart
 * threads are internal.  Completions are posted under each session's mu.
 */
#ifndef LSMD_BATCHER_H
#define LSMD_BATCHER_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"
#include "protocol.h"

struct session;
typedef struct batcher batcher;

/* Starts the committer threads; one bumps *kick (shm_server_kick) when it
 * finishes a group the worker was holding back for it.
 * Errors: -ENOMEM, -errno of pthread_create. */
int batcher_new(daemon_ctx *d, int worker_index, uint32_t *kick, batcher **out);

/* Commits whatever is pending, stops the committers and frees g. */
void batcher_free(batcher *g);

/* Adds a validated PUT, DELETE or WRITE_BATCH of s to the filling group,
 * or hands it to the apart thread when batcher_apart(q) (s is then held).
 * Refusals are completed here and fail only q: -E2BIG (a batch above
 * max_request_bytes), -EINVAL (a malformed batch), -ENOMEM.
 * REQUIRES: !batcher_held(s). */
void batcher_add(batcher *g, struct session *s, const struct shm_sqe *q);

/* Whether q (any validated request) is a write applied alone: the worker
 * takes no request of its session after it until it is acknowledged. */
bool batcher_apart(const struct shm_sqe *q);

/* Whether s has a large write being applied apart: the worker must not
 * take s's requests now; the apart thread kicks the worker when it clears. */
bool batcher_held(const struct session *s);

/* End of a pass: starts the filling group unless it must wait for a group
 * in flight (it is ordered after one, or every committer is busy). */
void batcher_flush(batcher *g);

/* Returns once every write of s taken so far is acknowledged (waits for
 * s's groups in flight, then commits the filling group here if it holds
 * writes of s). */
void batcher_settle(batcher *g, struct session *s);

/* Returns once every write taken so far, large ones included, is
 * acknowledged (shutdown). */
void batcher_drain(batcher *g);

/* Whether s has writes taken and not yet acknowledged (for the serving
 * worker's wait policy; any thread, the answer may be stale). */
bool batcher_pending(const struct session *s);

/* Counters: groups committed and writes in them. */
void batcher_counters(const batcher *g, uint64_t *groups, uint64_t *writes);

#endif
