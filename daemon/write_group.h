/*
 * write_group.h — a worker's group-commit pipeline.
 *
 * The writes (PUT, DELETE, WRITE_BATCH) a worker takes from its clients
 * go into one lsm_batch, the "filling" group.  At the end of each pass
 * the group is committed with one lsm_write: inline when it needs no sync
 * (one write(2), no reason to hand it off), else by the worker's committer
 * thread, so that while one group waits for its fdatasync the worker keeps
 * serving and the next group fills with every write that arrives meanwhile
 * (the classic group-commit pipeline: groups grow with the sync latency).
 * The engine merges the groups of several workers' committers again.
 *
 *      worker:    [fill G1] hand [fill G2 ..........] hand [fill G3 ...
 *      committer:           [write+sync G1, ack all] [write+sync G2, ack all]
 *
 * Order: a session's writes are committed in the order it submitted them
 * (one group at a time is at the committer, groups go in order), and
 * wgroup_settle() runs before any other request of a session that has
 * writes in flight, so a client reads its own writes and its snapshots
 * include them.
 *
 * Copies: a put's key and value go once from the arena into the batch
 * (engine memory) before anything checksums or logs them; an encoded batch
 * is copied whole into private memory first, then validated and parsed.
 *
 * Thread safety: all calls from the owning worker thread; the committer
 * thread is internal.  Completions are posted under each session's mu.
 */
#ifndef LSMD_WRITE_GROUP_H
#define LSMD_WRITE_GROUP_H

#include <stdint.h>

#include "daemon.h"
#include "protocol.h"

struct session;
typedef struct wgroup wgroup;

/* Starts the committer thread; it bumps *kick (shm_server_kick) whenever it
 * finishes a group so the worker hands over the next one.
 * Errors: -ENOMEM, -errno of pthread_create. */
int wgroup_new(daemon_ctx *d, int worker_index, uint32_t *kick, wgroup **out);

/* Commits whatever is pending, stops the committer and frees g. */
void wgroup_free(wgroup *g);

/* Adds a validated PUT, DELETE or WRITE_BATCH of s to the filling group;
 * refusals (-EINVAL for a malformed batch, -ENOMEM) are completed here. */
void wgroup_add(wgroup *g, struct session *s, const struct shm_sqe *q);

/* End of a pass: starts the filling group if the committer is idle. */
void wgroup_flush(wgroup *g);

/* Returns once every write of s taken so far is acknowledged. */
void wgroup_settle(wgroup *g, struct session *s);

/* Returns once every write taken so far is acknowledged (shutdown). */
void wgroup_drain(wgroup *g);

/* Counters: groups committed and writes in them. */
void wgroup_counters(const wgroup *g, uint64_t *groups, uint64_t *writes);

#endif
