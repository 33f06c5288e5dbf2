/*
 * validate.h — the daemon's defence against a hostile client segment.
 *
 * Rules (docs/shm-protocol.md, "Hostile clients"):
 *   1. A descriptor is read ONCE from the ring into private memory
 *      (shm_sqe_read); only that copy is validated and used, so a client
 *      rewriting the descriptor after the check changes nothing.
 *   2. Every offset/length pair must lie inside the arena (checked in 64-bit
 *      arithmetic: no wrap-around), the key and value lengths must respect
 *      the engine limits, the opcode must be known, unknown flag bits and
 *      reserved fields must be zero, and each opcode's required fields must
 *      be present (table in validate.c).  A WRITE_BATCH payload is at most
 *      SHM_MAX_BATCH_BYTES and its entry count must fit it (below), so no
 *      request the engine would refuse reaches a shared write group.
 *   3. Payload bytes (keys, values, batches, option strings) are copied once
 *      into daemon memory before they are parsed, checksummed or logged; a
 *      client that rewrites them mid-request corrupts only its own request.
 *   4. Output goes only to [out_off, out_off + out_cap) of the arena.
 *   5. Ring indices the client writes are checked by ring.h (-EPROTO: the
 *      session ends); a refused descriptor only fails its own request.
 *
 * Thread safety: pure functions.
 */
#ifndef LSM_SHM_VALIDATE_H
#define LSM_SHM_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

/* The engine's limit on one encoded batch (LSM_MAX_BATCH_BYTES in lsm.h,
 * the largest WAL record payload; daemon/batcher.c asserts they agree).  A
 * WRITE_BATCH above it is refused with -E2BIG before anything reads its
 * payload. */
#define SHM_MAX_BATCH_BYTES (UINT32_C(1) << 30)

/* The smallest encoded entry: a 9-byte entry header
 * (LSM_BATCH_ENTRY_OVERHEAD) and a 1-byte key (a delete).  A WRITE_BATCH claiming more than val_len / SHM_MIN_ENTRY_BYTES
 * entries, or entries without payload (or payload without entries), is
 * malformed (-EINVAL). */
#define SHM_MIN_ENTRY_BYTES 10u

/* Copies the 64 bytes at shared into *priv, once (a volatile-safe memcpy
 * followed by a compiler barrier so later code cannot re-read shared). */
void shm_sqe_read(const void *shared, struct shm_sqe *priv);

/* Validates a private descriptor against an arena of arena_bytes bytes.
 * Returns 0, -EOPNOTSUPP (unknown opcode, or NOP), -E2BIG (a WRITE_BATCH
 * payload inside the arena but above SHM_MAX_BATCH_BYTES, a MULTI_GET of
 * more than SHM_MGET_MAX_KEYS keys) or -EINVAL
 * (anything else); *why (when not NULL) gets a static description for the
 * log, e.g. "key range outside the arena". */
int shm_validate_sqe(const struct shm_sqe *sqe, uint64_t arena_bytes,
                     const char **why);

/* The reason for a refusal in words a user reads (the completion carries
 * it, protocol.h "Reasons"): the sizes for a key or value of the wrong
 * length ("empty key", "key of 65537 bytes exceeds the 65536-byte
 * limit"), else "OPCODE: why".  Writes at most cap bytes with the NUL. */
void shm_validate_explain(const struct shm_sqe *sqe, const char *why, char *buf, size_t cap);

/* The key-size refusal alone, for the client library's own check: "empty
 * key" or "key of N bytes exceeds the 65536-byte limit". */
void shm_key_reason(char *buf, size_t cap, size_t klen);

/* True when [off, off + len) lies inside an arena of arena_bytes bytes. */
static inline int shm_range_ok(uint32_t off, uint32_t len, uint64_t arena_bytes)
{
    return (uint64_t)off + (uint64_t)len <= arena_bytes;
}

/* Validates an iterator page (client side, trusting the daemon less than
 * blindly): walks `bytes` bytes holding `count` entries.  Returns 0 or
 * -EPROTO. */
int shm_page_check(const void *page, uint64_t bytes, uint32_t count);

/* Walks a MULTI_GET key list (the PRIVATE copy of a validated
 * descriptor's key range: shm_validate_sqe has checked its count and size):
 * n entries [u32 len][key], each key 1 .. LSM_MAX_KEY_SIZE bytes, filling
 * bytes exactly.  Sets keys[i] (pointing into list) and lens[i].  Returns
 * 0 or -EINVAL with *why (when not NULL) saying what is wrong. */
int shm_mget_keys_parse(const void *list, uint64_t bytes, uint32_t n, const void **keys,
                        size_t *lens, const char **why);

/* Client side: checks a MULTI_GET reply of `bytes` bytes (cqe.r1) at out
 * (cap bytes asked for) for n keys: the table fits, statuses are 0 or
 * negative, only LSM_ETOOSMALL and 0 carry a length, and the values of the
 * found keys fill the rest exactly.  Returns 0 or -EPROTO. */
int shm_mget_reply_check(const void *out, uint64_t cap, uint32_t n, uint64_t bytes);

/* Name of an opcode for logs ("GET"), "?" when unknown. */
const char *shm_op_name(unsigned op);

#endif
