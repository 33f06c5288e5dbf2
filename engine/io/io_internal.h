/*
 * io_internal.h — what the fd-based backends (io_posix.c, io_uring.c) share.
 * Not part of the I/O contract (io.h); the fault backend does not use it.
 *
 * Both backends hand out the same lsm_file: a heap cell holding the file
 * descriptor, so the io_uring backend reuses the POSIX open/close/size/
 * truncate, which have no asynchronous benefit.
 */
#ifndef LSM_IO_INTERNAL_H
#define LSM_IO_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "io/io.h"
#include "io/io_queue.h"

/* What a file is, for the per-kind counters (io.h): set by
 * posix_file_open from the name's suffix (base/filenames.h). */
enum io_file_class {
    IO_FILE_OTHER,
    IO_FILE_WAL,   /* "*.log" */
    IO_FILE_TABLE, /* "*.sst" */
};

struct lsm_file {
    int fd;
    int direct; /* opened with IO_DIRECT */
    enum io_file_class cls;
};

/* The counter kind of an operation on a file of class c, or IO_STAT_NONE. */
static inline int io_stat_kind_of(enum io_file_class c, enum io_op_code code)
{
    if (c == IO_FILE_WAL)
        return code == IO_OP_WRITE ? IO_STAT_WAL_WRITE
             : code == IO_OP_SYNC  ? IO_STAT_WAL_SYNC : IO_STAT_NONE;
    if (c == IO_FILE_TABLE)
        return code == IO_OP_READ  ? IO_STAT_TABLE_READ
             : code == IO_OP_WRITE ? IO_STAT_TABLE_WRITE : IO_STAT_NONE;
    return IO_STAT_NONE;
}

/* Counts nops operations of kind k (IO_STAT_NONE: nothing) on io, issued
 * through a ring (ring != 0) or inline. */
static inline void io_stat_ops(lsm_io *io, int k, int ring, unsigned nops)
{
    if (k < 0)
        return;
    atomic_fetch_add_explicit(&io->stat[k][0], nops, memory_order_relaxed);
    atomic_fetch_add_explicit(&io->stat[k][ring ? 1 : 2], nops, memory_order_relaxed);
}

/* Counts one io_uring_enter that submitted, of the kinds in mask (bit k
 * for kind k). */
static inline void io_stat_submission(lsm_io *io, unsigned mask)
{
    atomic_fetch_add_explicit(&io->stat_submissions, 1, memory_order_relaxed);
    for (int k = 0; k < IO_STAT_KINDS; k++)
        if (mask & (1u << k))
            atomic_fetch_add_explicit(&io->stat[k][3], 1, memory_order_relaxed);
}

/* Opens path with the flags io.h gives mode (IO_CREATE: O_CREAT|O_TRUNC|
 * O_RDWR with permission bits perm; IO_READ: O_RDONLY; IO_APPEND: O_RDWR;
 * always O_CLOEXEC; IO_DIRECT adds O_DIRECT).  Errors: -EINVAL (mode), -errno, -ENOMEM. */
int posix_file_open(const char *path, int mode, unsigned perm, lsm_file **out);
/* Closes and frees f; returns 0 or -errno (f is freed in every case). */
int posix_file_close(lsm_file *f);
int posix_file_truncate(lsm_file *f, uint64_t size);
int posix_file_size(lsm_file *f, uint64_t *out);

/* io_uring.c: every ring is set up and torn down through these, under
 * one process-wide mutex.  Why: liburing maps a ring's queues with raw
 * system calls that ThreadSanitizer does not see, so a ring mapped where
 * another thread's ring was just unmapped looked like a race between the
 * two threads (in SAN=thread runs of compactions and flushes).  The mutex
 * orders the two; rings are made per thread or per queue, never per I/O,
 * so it costs nothing that matters.  Return as io_uring_queue_init. */
struct io_uring;
int uring_ring_init(unsigned depth, struct io_uring *ring, unsigned flags);
void uring_ring_exit(struct io_uring *ring);

/* io_uring_queue.c: the io_uring backend's queue_new op (io_queue.h), a
 * queue with its own ring over io's files. */
int uring_queue_new(lsm_io *io, unsigned depth, io_queue **out);

#endif
