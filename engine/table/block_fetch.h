/*
 * block_fetch.h — one read of a table's bytes, buffered or direct, as an
 * io_op that a caller either runs at once (block_fetch_sync) or submits to
 * an io_queue among others (a multi-get, a compaction's read-ahead).
 *
 * Buffered: the op reads exactly [off, off + n) into the caller's dst.
 * Direct (the file was opened with IO_DIRECT): O_DIRECT needs an aligned
 * buffer, offset and length (io_direct.h), so the op reads the aligned span
 * covering the bytes into a buffer it allocates, and the bytes start `skip`
 * into it.  Either way block_fetch_data() is where the bytes are once
 * block_fetch_finish() accepted the read.
 *
 * A read that ends before off + n (the file is shorter than the index
 * says) is LSM_ECORRUPT, a failed one its -errno: never bytes that are not
 * the file's.  Usage:
 *
 *   block_fetch bf;
 *   rc = block_fetch_prepare(&bf, f, direct, off, n, dst);   // fills bf.op
 *   ... submit &bf.op, reap it ... or: res = block_fetch_sync(io, &bf);
 *   rc = block_fetch_finish(&bf, bf.op.res);
 *   use block_fetch_data(&bf) [n bytes]; block_fetch_release(&bf);
 */
#ifndef LSM_BLOCK_FETCH_H
#define LSM_BLOCK_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/io.h"
#include "io/io_queue.h"

typedef struct block_fetch {
    io_op op;      /* the read; op.user is the caller's */
    char *dst;     /* buffered: the caller's buffer (op.buf) */
    char *span;    /* direct: the aligned buffer op.buf (owned), else NULL */
    size_t skip;   /* where the bytes start in op.buf */
    size_t n;      /* the bytes wanted */
} block_fetch;

/* Prepares the read of [off, off + n) of f.  direct: f was opened with
 * IO_DIRECT (dst unused, may be NULL); else dst holds n bytes and must stay
 * valid until the read is finished.  Errors: -ENOMEM (nothing to release). */
int block_fetch_prepare(block_fetch *bf, lsm_file *f, bool direct, uint64_t off, size_t n,
                        char *dst);

/* Runs the prepared read now, through io's blocking read; returns what an
 * io_queue would put in op.res (also stored there). */
long block_fetch_sync(lsm_io *io, block_fetch *bf);

/* Judges the read's result res: 0 (the n bytes are at block_fetch_data),
 * LSM_ECORRUPT (the file ended before them), or res when it is a -errno. */
int block_fetch_finish(const block_fetch *bf, long res);

/* The n bytes; valid until block_fetch_release (buffered: dst). */
static inline const char *block_fetch_data(const block_fetch *bf)
{
    return (const char *)bf->op.buf + bf->skip;
}

/* Frees what prepare allocated (the aligned span); safe to call twice. */
void block_fetch_release(block_fetch *bf);

/* prepare + sync + finish, then the bytes copied to dst (n bytes): for
 * reads whose destination is not the aligned span (footer, meta blocks,
 * an iterator's block buffer).  Returns as block_fetch_finish, or
 * -ENOMEM. */
int block_fetch_read_into(lsm_io *io, lsm_file *f, bool direct, uint64_t off, size_t n,
                          char *dst);

#endif
