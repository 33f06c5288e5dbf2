/*
 * multi_get.h — SHM_OP_MULTI_GET on a worker: n keys in one request, read
 * with the engine's lsm_multi_get (every block read that misses the cache
 * goes to the disk in one submission), the values written once into the
 * client's arena.  Wire format: shm/protocol.h and docs/shm-protocol.md,
 * "Multi-get".
 *
 * How a request is served:
 *   1. the snapshot (arg0, when not 0) is referenced in the registry, so
 *      every key reads the same view; with arg0 0 lsm_multi_get takes one
 *      view for each chunk below (one view per request when n fits a chunk);
 *   2. a key list above the daemon's max_request_bytes is refused (-E2BIG;
 *      the client splits), otherwise it is copied once into daemon memory
 *      and walked there (shm_mget_keys_parse: -EINVAL on a bad list);
 *   3. the keys go to lsm_multi_get in chunks of MULTI_GET_CHUNK; each
 *      found value is copied into the output after the results table if it
 *      fits in what is left, else its status is LSM_ETOOSMALL with its
 *      length.  After a chunk in which a value did not fit, the keys left
 *      are not looked up (-EAGAIN): the client asks for them again.
 *
 * Memory: the daemon holds the key list (at most max_request_bytes) and at
 * most one chunk's values at a time (lsm_multi_get returns malloc'd copies).
 *
 * Known limitation: the worker waits for the chunk's reads (one parallel
 * batch, on the engine's I/O queue) before it serves its other clients; a
 * later change can park a multi-get like a single get.
 *
 * Thread safety: called on the worker thread that owns the session.
 */
#ifndef LSMD_MULTI_GET_H
#define LSMD_MULTI_GET_H

#include "daemon.h"
#include "protocol.h"
#include "session.h"

/* Keys handed to one lsm_multi_get call: the engine's I/O queue depth
 * (GET_QUEUE_DEPTH, 128) twice over, so the queue stays full. */
#define MULTI_GET_CHUNK 256u

/* Serves q (a validated SHM_OP_MULTI_GET of session s) and fills *c, its
 * completion, for the caller to post. */
void multi_get_serve(daemon_ctx *d, session *s, const struct shm_sqe *q, struct shm_cqe *c);

#endif
