/*
 * batch_format.h — the encoded form of a write batch, shared by the engine
 * (wal/batch.c: an lsm_batch holds it, the WAL stores it as a record
 * payload) and the client library (libclient/client_batch.c: an lsmd_batch
 * holds it, WRITE_BATCH sends it to the daemon as is).  The prose, a
 * diagram, the validity rules and a worked example are in
 * docs/wal-format.md, "Payload"; change both together.
 *
 *   batch = count entries, back to back (count travels beside the bytes:
 *           in the WAL record header, in a WRITE_BATCH request's arg1)
 *   entry = type u8 | key_length u32 | value_length u32 | key | value
 *           (integers little-endian)
 *
 * Valid: type BATCH_TYPE_PUT or BATCH_TYPE_DELETE; key_length
 * 1 .. LSM_MAX_KEY_SIZE; value_length 0 .. LSM_MAX_VALUE_SIZE and 0 for a
 * delete; at most BATCH_MAX_BYTES in all; exactly count entries and no
 * bytes after them.  batch_iterate() (wal/batch.h) is the one checker.
 *
 * Self-contained (only lsm.h), since the client library builds with it:
 * the little-endian coding it needs is here, not in base/coding.h.
 */
#ifndef LSM_BATCH_FORMAT_H
#define LSM_BATCH_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "lsm.h"

/* ---- entry header (docs/wal-format.md, "Payload") ---------------------- */
#define BATCH_ENTRY_HEADER_SIZE 9
#define BATCH_ENTRY_OFF_TYPE 0 /* BATCH_TYPE_* */
#define BATCH_ENTRY_OFF_KLEN 1 /* 1 .. LSM_MAX_KEY_SIZE */
#define BATCH_ENTRY_OFF_VLEN 5 /* 0 .. LSM_MAX_VALUE_SIZE; 0 for a delete */

/* Entry types: the engine's enum value_type (base/dbformat.h, asserted
 * equal in wal/batch.c), which also orders versions of one key. */
#define BATCH_TYPE_DELETE 0
#define BATCH_TYPE_PUT 1

/* Largest encoded batch: lsm.h's limit, also the largest WAL payload. */
#define BATCH_MAX_BYTES ((size_t)LSM_MAX_BATCH_BYTES)

_Static_assert(BATCH_ENTRY_HEADER_SIZE == LSM_BATCH_ENTRY_OVERHEAD,
               "lsm.h states the entry overhead");

static inline void batch_put_u32(char *p, uint32_t v)
{
    unsigned char *b = (unsigned char *)p;
    b[0] = (unsigned char)v; b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16); b[3] = (unsigned char)(v >> 24);
}

static inline uint32_t batch_get_u32(const char *p)
{
    const unsigned char *b = (const unsigned char *)p;
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
           ((uint32_t)b[3] << 24);
}

/* Writes an entry header at p (BATCH_ENTRY_HEADER_SIZE bytes); the key and
 * then the value follow it. */
static inline void batch_entry_header_encode(char *p, unsigned type, uint32_t klen,
                                             uint32_t vlen)
{
    p[BATCH_ENTRY_OFF_TYPE] = (char)type;
    batch_put_u32(p + BATCH_ENTRY_OFF_KLEN, klen);
    batch_put_u32(p + BATCH_ENTRY_OFF_VLEN, vlen);
}

/* Whether an entry header's fields are within the rules above. */
static inline int batch_entry_header_valid(unsigned type, uint32_t klen, uint32_t vlen)
{
    return klen >= 1 && klen <= LSM_MAX_KEY_SIZE && vlen <= LSM_MAX_VALUE_SIZE &&
           (type == BATCH_TYPE_PUT || (type == BATCH_TYPE_DELETE && vlen == 0));
}

#endif
