/*
 * batcher.h — a worker's write path, first step of two: it gathers the
 * writes of the worker's clients into groups and applies each group with
 * one lsm_write_pos, on the worker thread, without waiting for an
 * fdatasync.  (The engine has its own group commit inside lsm_write,
 * db/db_write.c; this one sits in front of it, across one worker's
 * clients.)
 *
 * The writes (PUT, DELETE, WRITE_BATCH) a worker takes from its clients
 * go into one lsm_batch, the "filling" group.  At the end of each pass
 * (batcher_flush), or when it is full, or before another request of a
 * session with writes in it (batcher_settle, read-your-writes), the
 * worker applies it: one WAL write(2) and the memtable insertions.  Then
 *   - each write without SHM_SQ_SYNC is acknowledged at once;
 *   - each synced write goes to the database's syncer (wal_syncer.h) with
 *     the group's WAL position: its one thread makes the WAL durable up to
 *     there (one fdatasync for every worker's writes handed meanwhile) and
 *     acknowledges them.
 * So a worker never waits for an fdatasync, and its other clients never
 * wait for one client's synced writes.
 *
 *      worker:  [fill G1][apply G1, ack unsynced][fill G2][apply G2 ...
 *      syncer:            [fdatasync to G1 ........][ack G1][fdatasync to G2 ...
 *
 * Order: one thread (the worker) applies a session's writes, in the order
 * the session sent them, so they reach the engine in that order by
 * construction.  A synced write is acknowledged only once durable; an
 * unsynced one once applied (it may be acknowledged before an earlier
 * synced write of its session, which it follows in the WAL).
 * batcher_settle runs before any other request of a session with writes
 * in the filling group, so a client reads its own writes and its
 * snapshots include them.
 *
 * Large writes (more than 1 MiB encoded: a big value or batch) do not join
 * a group: they are applied alone by the worker's apart thread, which
 * copies, parses and applies them (also without waiting for a sync) while
 * the worker keeps serving its other sessions: that copy and parse take
 * milliseconds per MiB, up to 64 MiB for a value, which the other
 * sessions must not wait for.  Their session is held meanwhile
 * (batcher_held): the worker takes none of its requests until the large
 * write is applied, so the session's order and its reads of its own
 * writes hold without anyone else waiting.  (The engine still applies one
 * write at a time: other writes wait for the large one's WAL append and
 * memtable insertion inside lsm_write (docs/tuning.md, "The service").)
 *
 * Isolation: every request is validated against the engine's limits
 * before it joins a group (shm/validate.h; a WRITE_BATCH above the
 * config's max_request_bytes gets -E2BIG), a batch is checked whole as it
 * is appended (lsm_batch_append_encoded: all or nothing), and a request
 * that does not fit the filling group starts the next one: a refused
 * request fails only itself.
 *
 * Memory: the group holds at most GROUP_MAX_BYTES (8 MiB) plus one
 * request of up to 1 MiB; the apart thread frees its buffers after each
 * write.
 *
 * Copies: a put's key and value go once from the arena into the batch
 * (engine memory) before anything checksums or logs them; a client's
 * encoded batch (WRITE_BATCH) is copied whole, once, into the group's
 * batch as it is encoded and validated there (lsm_batch_append_encoded),
 * never re-encoded entry by entry.
 *
 * Per-client state (writes not yet acknowledged, in the filling group,
 * held apart) lives in each session, in client_writes.h's struct.
 *
 * Thread safety: all calls from the owning worker thread (batcher_apart,
 * batcher_held and batcher_pending from any); the apart thread is
 * internal.  Completions are posted under each session's mu.
 */
#ifndef LSMD_BATCHER_H
#define LSMD_BATCHER_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"
#include "protocol.h"

struct session;
typedef struct batcher batcher;

/* Starts the apart thread, which bumps *kick (shm_server_kick) when it has
 * applied a large write (its session may be served again).  Synced writes
 * go to d->syncer.  Errors: -ENOMEM, -errno of pthread_create. */
int batcher_new(daemon_ctx *d, int worker_index, uint32_t *kick, batcher **out);

/* Drains (batcher_drain), stops the apart thread and frees g. */
void batcher_free(batcher *g);

/* Adds a validated PUT, DELETE or WRITE_BATCH of s to the filling group,
 * or hands it to the apart thread when batcher_apart(q) (s is then held).
 * Refusals are completed here and fail only q: -E2BIG (a batch above
 * max_request_bytes), -EINVAL (a malformed batch), -ENOMEM.
 * REQUIRES: !batcher_held(s). */
void batcher_add(batcher *g, struct session *s, const struct shm_sqe *q);

/* As batcher_add for the put that q, the last PUT_PIECE of s, completes:
 * buf (malloc'd: klen bytes of key, then vlen of value) is the staged put
 * (put_pieces.h), which the batcher owns from now on and frees once it is
 * applied; always apart.  Acknowledged with q's tag and SYNC flag.
 * REQUIRES: !batcher_held(s). */
void batcher_add_owned(batcher *g, struct session *s, const struct shm_sqe *q, char *buf,
                       uint32_t klen, uint64_t vlen);

/* Whether q (any validated request) is a write applied alone: the worker
 * takes no request of its session after it until it is acknowledged. */
bool batcher_apart(const struct shm_sqe *q);

/* Whether s has a large write being applied apart: the worker must not
 * take s's requests now; the apart thread kicks the worker once it is
 * applied. */
bool batcher_held(const struct session *s);

/* End of a pass: applies the filling group (without waiting for a sync). */
void batcher_flush(batcher *g);

/* Returns once every write of s taken so far is applied: applies the
 * filling group if it holds writes of s (never waits for a sync). */
void batcher_settle(batcher *g, struct session *s);

/* Returns once every write taken so far, large ones included, is applied
 * and acknowledged, synced ones included (shutdown). */
void batcher_drain(batcher *g);

/* Whether s has writes taken and not yet acknowledged (for the serving
 * worker's wait policy; any thread, the answer may be stale). */
bool batcher_pending(const struct session *s);

/* Counters: groups applied (a large write counts as one) and writes in
 * them. */
void batcher_counters(const batcher *g, uint64_t *groups, uint64_t *writes);

#endif
