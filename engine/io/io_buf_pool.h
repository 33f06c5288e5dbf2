/*
 * io_buf_pool.h — aligned I/O buffers kept for reuse across files.
 *
 * Why: a compaction opens a file_writer per output table and a read-ahead
 * window per input table, each with a few buffers of 64 KiB to 1 MiB.
 * Allocated fresh, buffers that large come from mmap and go back with
 * munmap, so every table costs its buffers' page faults again; in a
 * virtual machine a fault is expensive, and a full compaction spent a
 * seventh of its CPU in them (docs/tuning.md, "Compaction").  The pool
 * keeps freed buffers, already faulted in, for the next file.
 *
 * Size classes: powers of two from IO_BUF_POOL_MIN to IO_BUF_POOL_MAX; a
 * request is rounded up to its class.  Larger requests bypass the pool.
 * Each class keeps at most IO_BUF_POOL_CLASS_BYTES of idle buffers (the
 * rest are freed), so the pool never holds more than a few tens of MiB.
 * Buffers are aligned to IO_DIRECT_ALIGN (io_direct.h).
 *
 * Thread safety: every call may be made from any thread (one mutex; a
 * call per table or chunk, far from any per-key path).
 */
#ifndef LSM_IO_BUF_POOL_H
#define LSM_IO_BUF_POOL_H

#include <stddef.h>

#define IO_BUF_POOL_MIN ((size_t)64 << 10)
#define IO_BUF_POOL_MAX ((size_t)1 << 20)
#define IO_BUF_POOL_CLASS_BYTES ((size_t)8 << 20)

/* An aligned buffer of at least n bytes; *cap gets its real size, which
 * must be passed back to io_buf_put.  NULL on ENOMEM. */
void *io_buf_get(size_t n, size_t *cap);

/* Returns p (from io_buf_get, with its cap) to the pool or frees it.
 * NULL is fine. */
void io_buf_put(void *p, size_t cap);

/* Bytes of idle buffers the pool keeps in the class of cap (0 for a size
 * outside the classes). */
size_t io_buf_pool_idle(size_t cap);

#endif
