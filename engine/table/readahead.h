/*
 * readahead.h — a sequential reader over [start, end) of one file that
 * keeps several chunk reads in flight on an io_queue and hands out byte
 * ranges from them.
 *
 * Why: a compaction reads each input once, front to back.  One io_read per
 * 4 KiB block makes the disk wait for the merge and the merge wait for the
 * disk; a window of a few MiB split into a few reads in flight lets both
 * run at once and lets the device see large requests (cf. RocksDB's
 * compaction_readahead_size, LevelDB has none).
 *
 * The window
 *   Up to `chunks` reads are held at once (in flight or done and not yet
 *   consumed), each at most window / chunks bytes.  Sizes ramp up: the
 *   first chunk after a (re)start is small and each next one doubles, and
 *   only two chunks are held until the consumer has finished one, so an
 *   input that a merge positions but does not read yet (a level's later
 *   files) costs little memory and I/O.  A chunk is refilled with the next
 *   part of the file as soon as the consumer has moved past it.
 *   Every chunk's offset and length are multiples of IO_DIRECT_ALIGN and
 *   its buffer is aligned (io_direct.h), so a file opened with IO_DIRECT
 *   is read correctly without a separate path; the last chunk may reach
 *   past `end` (a short read there is normal).
 *
 * Access pattern: readahead_get at increasing offsets is the fast path.
 * A request before the held chunks or past the submitted ones (a seek)
 * drops the window (waiting for its reads in flight) and restarts there.
 * A range that straddles chunks, or is larger than one, is copied into a
 * buffer of the reader's own; one inside a chunk is handed out in place.
 *
 * Errors are sticky: a failed chunk read (its -errno) or a range the file
 * ends inside (LSM_ECORRUPT) is returned by this and every later call, so a
 * caller never sees bytes from a failed read.
 *
 * Sharing a queue: many readers (a compaction's inputs) may share one
 * io_queue; whichever reader reaps marks the chunks of every reader done
 * (io_op.user points to the chunk).  Such a queue must carry readahead
 * operations only.  A queue and its readers belong to one thread.
 */
#ifndef LSM_READAHEAD_H
#define LSM_READAHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "io/io.h"
#include "io/io_queue.h"

/* Default window per reader and reads it is split into. */
#define READAHEAD_DEFAULT_WINDOW (2u << 20)
#define READAHEAD_DEFAULT_CHUNKS 4u
#define READAHEAD_MAX_CHUNKS 16u
/* The first chunk after a (re)start (then doubling up to window/chunks). */
#define READAHEAD_FIRST_CHUNK (64u << 10)

/* How an iterator reads ahead: the queue its reads go through (not owned)
 * and the window.  window 0 or q NULL: no read-ahead. */
typedef struct readahead_cfg {
    io_queue *q;
    size_t window;   /* bytes held per reader, >= IO_DIRECT_ALIGN */
    unsigned chunks; /* 1..READAHEAD_MAX_CHUNKS reads the window is split into */
} readahead_cfg;

typedef struct readahead readahead;

/* A reader of f's bytes [start, end) through cfg->q (f must be a file of
 * the queue's lsm_io and outlive the reader).  Nothing is read before the
 * first readahead_get.  Errors: -EINVAL (bad cfg), -ENOMEM. */
int readahead_new(lsm_file *f, uint64_t start, uint64_t end, const readahead_cfg *cfg,
                  readahead **out);

/* Points *out at the n bytes at off (REQUIRES: start <= off, off + n <= end),
 * waiting for the reads that hold them.  The bytes stay valid until the
 * next call on ra or readahead_free.  Returns 0, -errno of a failed read
 * or of the queue, LSM_ECORRUPT when the file ends before off + n, -ENOMEM,
 * -EINVAL (outside [start, end)). */
int readahead_get(readahead *ra, uint64_t off, size_t n, const char **out);

/* Chunk reads submitted and bytes they asked for, since readahead_new. */
uint64_t readahead_reads(const readahead *ra);
uint64_t readahead_bytes(const readahead *ra);

/* Waits for ra's reads in flight and frees it (NULL is fine). */
void readahead_free(readahead *ra);

#endif
