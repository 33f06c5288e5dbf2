/*
 * batch.h — write batches (lsm_batch, public in lsm.h) and the encoded
 * payload format they share with the WAL and the client library
 * (wal/batch_format.h; docs/wal-format.md, "Payload").
 *
 * An lsm_batch keeps its entries already encoded as a WAL payload, so the
 * WAL record is written straight from the batch's bytes:
 *
 *   buf: [ WAL_HEADER_SIZE bytes of headroom ][ entry 0 ][ entry 1 ] ...
 *
 * The headroom lets wal_writer_append_frame() put the record header in
 * front of the payload and issue one write without copying the payload
 * (batch_frame()).  Growth is amortized (capacity doubles); put and delete
 * do one bounds check and two memcpy's, no per-entry allocation.
 * lsm_batch_clear() keeps the capacity, so a reused batch stops allocating.
 *
 * Limits: keys 1 B .. LSM_MAX_KEY_SIZE, values 0 .. LSM_MAX_VALUE_SIZE, and
 * the encoded payload at most BATCH_MAX_BYTES (1 GiB, WAL_MAX_PAYLOAD);
 * anything beyond is refused with -EINVAL (-E2BIG from
 * lsm_batch_append_encoded) and leaves the batch unchanged.
 *
 * Thread safety: a batch belongs to one thread at a time.  batch_iterate()
 * only reads its arguments and is safe anywhere.
 */
#ifndef LSM_BATCH_H
#define LSM_BATCH_H

#include <stdint.h>

#include "base/dbformat.h"
#include "lsm.h"
#include "base/slice.h"
#include "wal/batch_format.h"
#include "wal/wal_format.h"

/* Public (lsm.h):
 *   lsm_batch *lsm_batch_new(void);            NULL on ENOMEM
 *   int  lsm_batch_put(b, key, klen, val, vlen);   -EINVAL, -ENOMEM
 *   int  lsm_batch_delete(b, key, klen);           -EINVAL, -ENOMEM
 *   void lsm_batch_clear(b);                   empties, keeps capacity
 *   void lsm_batch_free(b);                    NULL is a no-op
 *   int  lsm_batch_append_encoded(b, data, len, count);
 *                          -EINVAL, -E2BIG, LSM_ECORRUPT, -ENOMEM
 * -EINVAL: b or key NULL, klen outside 1..LSM_MAX_KEY_SIZE, vlen above
 * LSM_MAX_VALUE_SIZE, val NULL with vlen > 0, or the batch would pass
 * BATCH_MAX_BYTES.  The reason is logged. */

/* Appends one entry of the given type (a delete takes an empty value).
 * Same checks and errors as lsm_batch_put. */
int batch_put_raw(lsm_batch *b, enum value_type type, slice key, slice value);

/* Number of entries. */
uint32_t batch_count(const lsm_batch *b);

/* The encoded entries (a WAL payload), valid until the batch is next
 * changed or freed. */
slice batch_payload(const lsm_batch *b);

/* The payload preceded by WAL_HEADER_SIZE bytes of scratch room that the
 * caller may overwrite (wal_writer_append_frame() puts the record header
 * there).  Valid until the batch is next changed or freed; the payload
 * bytes must not be modified through it. */
char *batch_frame(lsm_batch *b);

/* Appends src's entries to dst (group commit: the leader merges its
 * followers' batches into one record).  dst != src.
 * Errors: -EINVAL (the result would pass BATCH_MAX_BYTES), -ENOMEM; dst is
 * unchanged on error. */
int batch_append(lsm_batch *dst, const lsm_batch *src);

/* Called for each entry by batch_iterate; key and value point into the
 * payload.  A nonzero return stops the walk and is returned. */
typedef int (*batch_entry_fn)(void *ctx, enum value_type type, slice key, slice value);

/* Walks an encoded payload, calling fn (which may be NULL: validate only)
 * for each entry in order.  Returns 0, fn's first nonzero return, or
 * LSM_ECORRUPT if the payload is malformed (truncated entry, unknown type,
 * key or value size outside the limits, a delete with a value) or does not
 * hold exactly count entries.  Entries before a malformed one have already
 * been passed to fn: validate first (fn NULL) where that matters.
 * Used for WAL replay, memtable insertion and the WAL reader's checks. */
int batch_iterate(slice payload, uint32_t count, batch_entry_fn fn, void *ctx);

#endif
