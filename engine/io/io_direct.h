/*
 * io_direct.h — what O_DIRECT asks of a caller, in one place.
 *
 * A file opened with IO_DIRECT (io.h) bypasses the page cache: the block
 * cache is then the only cache.  Linux requires the buffer address, the
 * file offset and the length of every read and write on it to be multiples
 * of the device's logical block size.  We align to IO_DIRECT_ALIGN, which
 * covers 512-byte and 4 KiB devices alike, rather than ask each file
 * system (statx STATX_DIOALIGN needs 6.1+ and is not on every file system).
 *
 * Reads: a table block at [off, off + n) is read as the aligned span that
 * covers it (io_span_of), into an aligned buffer; the block starts `skip`
 * bytes in.  Reading past the end of the file is fine: the read is short.
 * Writes: a sequential writer keeps an aligned buffer and writes whole
 * aligned chunks; the last partial chunk is written padded with zeros and
 * the file then truncated to its true length.
 */
#ifndef LSM_IO_DIRECT_H
#define LSM_IO_DIRECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define IO_DIRECT_ALIGN 4096u

typedef struct io_span {
    uint64_t off; /* aligned start */
    size_t len;   /* aligned length */
    size_t skip;  /* where the wanted bytes start within the span */
} io_span;

static inline uint64_t io_align_down(uint64_t x) { return x & ~(uint64_t)(IO_DIRECT_ALIGN - 1); }
static inline uint64_t io_align_up(uint64_t x)
{
    return (x + IO_DIRECT_ALIGN - 1) & ~(uint64_t)(IO_DIRECT_ALIGN - 1);
}

/* The aligned span covering [off, off + n). */
static inline io_span io_span_of(uint64_t off, size_t n)
{
    io_span s;
    s.off = io_align_down(off);
    s.len = (size_t)(io_align_up(off + n) - s.off);
    s.skip = (size_t)(off - s.off);
    return s;
}

/* A buffer of n bytes (rounded up to IO_DIRECT_ALIGN) at an aligned
 * address, freed with free().  NULL on ENOMEM. */
static inline void *io_aligned_alloc(size_t n)
{
    void *p = NULL;
    size_t len = (size_t)io_align_up(n ? n : 1);
    return posix_memalign(&p, IO_DIRECT_ALIGN, len) == 0 ? p : NULL;
}

#endif
