/*
 * io_queue.h — many I/Os in flight from one caller.
 *
 * io.h's calls block until their one operation is done.  An io_queue takes
 * a batch of operations in one submission (one io_uring_enter on the
 * io_uring backend) and hands them back as they complete, in any order, so
 * a multi-get can wait for 32 block reads at once and a compaction can keep
 * its read-ahead and write-behind moving while it merges.
 *
 * A queue belongs to one thread at a time (no locking inside); create one
 * per issuing thread or per event loop.  Its depth bounds the operations in
 * flight: submit more than io_queue_room() and it returns -EAGAIN having
 * queued none.
 *
 * Backends
 *   io_uring  its own ring (not the thread's blocking one), so completions
 *             of this queue never mix with another caller's; a batch is
 *             one io_uring_enter (io_uring_queue.c).  io_queue_fd() is an
 *             eventfd registered with the ring.
 *   others    (posix, and any backend without a queue_new op) the generic
 *             queue: every operation runs inline, synchronously, at submit,
 *             through the backend's blocking calls, and is handed back by
 *             the next reap.  Same results, no overlap.  Its eventfd is
 *             signalled at submit.
 *   fault     wraps its base's queue; every operation counts as one
 *             operation for io_fault_arm, and the one that trips fails
 *             alone, with its own res, while the others of the batch reach
 *             the disk.
 *
 * Ordering: the operations of a batch, and of batches in flight together,
 * may run concurrently and complete in any order.  A SYNC makes durable
 * the writes to its file that had completed (been reaped) before it was
 * submitted; a write submitted with it, or after it, is not covered.
 *
 * Results: a read's res is the byte count (short only at end of file, the
 * backend resubmits short reads), a write's is n (all-or-error: short
 * writes are finished inside the queue), a sync's 0; failures are -errno.
 * An op must stay valid (and its buffer untouched) from submit until reap
 * returns it.
 */
#ifndef LSM_IO_QUEUE_H
#define LSM_IO_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "io/io.h"

enum io_op_code {
    IO_OP_READ,
    IO_OP_WRITE,
    IO_OP_SYNC, /* fdatasync of f; buf, n and off unused */
};

typedef struct io_op {
    enum io_op_code code;
    lsm_file *f;
    void *buf;
    size_t n;
    uint64_t off;
    long res;   /* set on completion (see above) */
    void *user; /* the caller's; untouched */
} io_op;

typedef struct io_queue io_queue;

/* The table a backend's queue fills; callers use the io_queue_* calls. */
struct io_queue_ops {
    int (*submit)(io_queue *q, io_op *const *ops, size_t n);
    size_t (*reap)(io_queue *q, io_op **done, size_t max, size_t wait_nr, int *err);
    void (*destroy)(io_queue *q);
};

/* Every queue embeds this as its first member. */
struct io_queue {
    const struct io_queue_ops *ops;
    lsm_io *io;
    unsigned depth;
    unsigned inflight; /* submitted, not yet reaped */
    int efd;           /* eventfd, or -1 */
};

/* A queue on io for up to depth (1..4096) operations in flight.
 * Errors: -EINVAL, -ENOMEM, the ring's setup -errno. */
int io_queue_new(lsm_io *io, unsigned depth, io_queue **out);

/* Frees q.  REQUIRES: nothing in flight (reap it all first). */
void io_queue_destroy(io_queue *q);

/* How many more operations may be submitted now. */
static inline unsigned io_queue_room(const io_queue *q) { return q->depth - q->inflight; }
static inline unsigned io_queue_inflight(const io_queue *q) { return q->inflight; }

/* Starts ops[0..n) in one submission.  Returns 0, -EAGAIN (n > room: none
 * started), or the queue's own -errno (none started; except that an
 * io_uring queue whose ring fails inside io_uring_enter, which a healthy
 * ring never does, is dead from then on: io_uring_queue.c).  A failure of one
 * operation is its res, never this return. */
int io_queue_submit(io_queue *q, io_op *const *ops, size_t n);

/* Moves up to max completed operations to done[], waiting until at least
 * wait_nr (<= inflight) have completed; wait_nr 0 never blocks.  Returns
 * the count; *err (if not NULL) is set to 0 or to the queue's own -errno
 * (EINTR is retried inside). */
size_t io_queue_reap(io_queue *q, io_op **done, size_t max, size_t wait_nr, int *err);

/* An eventfd that becomes readable when completions may be waiting (read
 * it to clear it, then reap with wait_nr 0), for an event loop's poll. */
static inline int io_queue_fd(const io_queue *q) { return q->efd; }

/* For backends: the generic queue over io's blocking calls. */
int io_queue_new_inline(lsm_io *io, unsigned depth, io_queue **out);

#endif
