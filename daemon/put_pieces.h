/*
 * put_pieces.h — SHM_OP_PUT_PIECE: a put whose key and value do not fit
 * the client's large region (a 64 MiB value through a 2 MiB region: the
 * segment never grows) arrives in pieces; the session stages them in one
 * buffer until the last, which goes to the batcher as one put applied
 * apart (protocol.h "Big entries"; docs/shm-protocol.md).
 *
 * Memory: at most one staged value per session, key + value at most
 * LSM_MAX_KEY_SIZE + LSM_MAX_VALUE_SIZE, charged to the uid's
 * max_arena_bytes_per_uid (uid_quota.h) from its first piece until it is
 * handed to the batcher, dropped by a piece out of sequence, or the
 * session ends.  Handed over, the buffer lives until the put is applied,
 * and the session is held meanwhile (batcher.h), so it cannot stage
 * another: a session holds one such buffer at a time.
 *
 * Thread safety: the serving worker thread only (s->staged is its alone,
 * as the iterator table).
 */
#ifndef LSMD_PUT_PIECES_H
#define LSMD_PUT_PIECES_H

#include "batcher.h"
#include "protocol.h"
#include "session.h"

/* Serves q, a validated PUT_PIECE of s: stages its piece and posts its
 * completion, or, for the last piece, hands the whole put to wg, which
 * applies and acknowledges it (then s is held until it is applied).
 * REQUIRES: !batcher_held(s). */
void put_piece_serve(batcher *wg, session *s, const struct shm_sqe *q);

/* Frees what s has staged and gives its charge back (the worker's detach
 * of an ended session). */
void put_piece_drop(session *s);

#endif
