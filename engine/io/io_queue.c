/*
 * io_queue.c — io_queue_new's dispatch and the generic inline queue.
 * See io_queue.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "io/io_queue.h"

#define IO_QUEUE_MAX_DEPTH 4096u

int io_queue_new(lsm_io *io, unsigned depth, io_queue **out)
{
    if (!io || !out || depth == 0 || depth > IO_QUEUE_MAX_DEPTH)
        return -EINVAL;
    if (io->ops->queue_new)
        return io->ops->queue_new(io, depth, out);
    return io_queue_new_inline(io, depth, out);
}

void io_queue_destroy(io_queue *q)
{
    if (q)
        q->ops->destroy(q);
}

int io_queue_submit(io_queue *q, io_op *const *ops, size_t n)
{
    if (n == 0)
        return 0;
    if (n > io_queue_room(q))
        return -EAGAIN;
    return q->ops->submit(q, ops, n);
}

size_t io_queue_reap(io_queue *q, io_op **done, size_t max, size_t wait_nr, int *err)
{
    if (err)
        *err = 0;
    if (wait_nr > q->inflight)
        wait_nr = q->inflight;
    if (wait_nr > max)
        wait_nr = max;
    if (max == 0 || q->inflight == 0)
        return 0;
    return q->ops->reap(q, done, max, wait_nr, err);
}

/* ---- the generic queue: each operation runs at submit ------------------- */

struct inline_queue {
    io_queue q;
    io_op **ready; /* completed, not yet reaped: a FIFO of depth slots */
    unsigned head, count;
};

static long run_inline(lsm_io *io, io_op *op)
{
    switch (op->code) {
    case IO_OP_READ:
        return io_read(io, op->f, op->buf, op->n, op->off);
    case IO_OP_WRITE: {
        int rc = io_write(io, op->f, op->buf, op->n, op->off);
        return rc ? rc : (long)op->n;
    }
    case IO_OP_SYNC:
        return io_sync(io, op->f);
    }
    return -EINVAL;
}

static int inline_submit(io_queue *q, io_op *const *ops, size_t n)
{
    struct inline_queue *iq = (struct inline_queue *)q;
    for (size_t i = 0; i < n; i++) {
        ops[i]->res = run_inline(q->io, ops[i]);
        iq->ready[(iq->head + iq->count++) % q->depth] = ops[i];
    }
    q->inflight += (unsigned)n;
    if (q->efd >= 0) {
        uint64_t one = 1;
        (void)!write(q->efd, &one, sizeof one);
    }
    return 0;
}

static size_t inline_reap(io_queue *q, io_op **done, size_t max, size_t wait_nr, int *err)
{
    (void)wait_nr; /* everything in flight has already completed */
    (void)err;
    struct inline_queue *iq = (struct inline_queue *)q;
    size_t got = 0;
    while (got < max && iq->count > 0) {
        done[got++] = iq->ready[iq->head];
        iq->head = (iq->head + 1) % q->depth;
        iq->count--;
    }
    q->inflight -= (unsigned)got;
    return got;
}

static void inline_destroy(io_queue *q)
{
    struct inline_queue *iq = (struct inline_queue *)q;
    if (q->efd >= 0)
        close(q->efd);
    free(iq->ready);
    free(iq);
}

static const struct io_queue_ops inline_ops = {
    .submit = inline_submit,
    .reap = inline_reap,
    .destroy = inline_destroy,
};

int io_queue_new_inline(lsm_io *io, unsigned depth, io_queue **out)
{
    struct inline_queue *iq = calloc(1, sizeof *iq);
    if (!iq || !(iq->ready = calloc(depth, sizeof *iq->ready))) {
        free(iq);
        return -ENOMEM;
    }
    iq->q.ops = &inline_ops;
    iq->q.io = io;
    iq->q.depth = depth;
    iq->q.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (iq->q.efd < 0) {
        int err = errno;
        free(iq->ready);
        free(iq);
        return -err;
    }
    *out = &iq->q;
    return 0;
}
