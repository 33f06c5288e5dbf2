/*
 * io_uring_queue.c — the io_uring backend's io_queue (io_queue.h): many
 * operations in flight on a ring of the queue's own.
 *
 * One ring per queue, sized for depth SQEs (the CQ is twice that), so an
 * operation in flight always has an SQE free for its next piece and the
 * CQ never overflows: at most depth operations are in flight and each has
 * at most one SQE or CQE outstanding.  The queue's eventfd is registered
 * with the ring (io_uring_register_eventfd), so the kernel signals it for
 * every CQE.
 *
 * Submission: io_queue_submit prepares one SQE per operation (user_data =
 * the io_op) and enters the kernel once for the batch.  The ring is set up
 * with IORING_SETUP_SUBMIT_ALL where the kernel has it (5.18+), so one bad
 * operation does not stop the rest of the batch from being submitted.
 *
 * Completion (io_queue_reap): a CQE is matched to its io_op by user_data.
 * While in flight, op->res holds the bytes done so far; a short read is
 * resubmitted for the rest until n bytes or a read of 0 (end of file), a
 * short write likewise (a write of 0 is -EIO, as in the blocking calls),
 * and a CQE of -EINTR or -EAGAIN (the operation did not run) is
 * resubmitted as it was.  Resubmissions are prepared while the CQ is
 * drained and entered before reap returns, or with the wait
 * (io_uring_submit_and_wait), so nothing is left sitting in the SQ.
 *
 * Ordering: the operations of a batch, and of different batches, run
 * concurrently in any order (no IOSQE_IO_LINK, no drain): a SYNC covers the
 * writes that had completed when it was submitted (io_queue.h).
 *
 * Errors of the ring itself (io_uring_enter failing with anything but
 * EINTR, EAGAIN or EBUSY, which never happens on a healthy ring) make the
 * queue dead: submit and reap report that -errno from then on.
 */
#include <errno.h>
#include <liburing.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "io/io_internal.h"
#include "io/io_queue.h"

/* SQE lengths are 32-bit; larger operations go in pieces of this size. */
#define UQ_MAX_CHUNK (1u << 30)

struct uring_queue {
    io_queue q;
    struct io_uring ring;
    unsigned pend_mask; /* counter kinds among the SQEs not yet entered */
    int dead;           /* 0, or the ring's own -errno */
};

static inline unsigned kmask(int k) { return k < 0 ? 0 : 1u << k; }

static int op_kind(const io_op *op) { return io_stat_kind_of(op->f->cls, op->code); }

/* Prepares op's next piece: from op->res bytes done to the end. */
static void prep(struct uring_queue *uq, io_op *op)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&uq->ring);
    /* Never NULL: the SQ has room for depth SQEs and every operation in
     * flight has at most one prepared and not yet entered. */
    size_t done = (size_t)op->res;
    size_t left = op->n - done;
    unsigned chunk = (unsigned)(left < UQ_MAX_CHUNK ? left : UQ_MAX_CHUNK);
    switch (op->code) {
    case IO_OP_READ:
        io_uring_prep_read(sqe, op->f->fd, (char *)op->buf + done, chunk, op->off + done);
        break;
    case IO_OP_WRITE:
        io_uring_prep_write(sqe, op->f->fd, (const char *)op->buf + done, chunk,
                            op->off + done);
        break;
    case IO_OP_SYNC:
        io_uring_prep_fsync(sqe, op->f->fd, IORING_FSYNC_DATASYNC);
        break;
    }
    io_uring_sqe_set_data(sqe, op);
    uq->pend_mask |= kmask(op_kind(op));
}

static void submitted(struct uring_queue *uq, int rc)
{
    if (rc > 0) {
        io_stat_submission(uq->q.io, uq->pend_mask);
        uq->pend_mask = 0;
    }
}

/* Enters every prepared SQE.  Returns 0 or the ring's -errno (dead). */
static int flush(struct uring_queue *uq)
{
    while (io_uring_sq_ready(&uq->ring) > 0) {
        int rc = io_uring_submit(&uq->ring);
        submitted(uq, rc);
        if (rc >= 0 || rc == -EINTR)
            continue;
        if (rc == -EAGAIN || rc == -EBUSY) {
            sched_yield(); /* kernel short of memory: try again */
            continue;
        }
        return uq->dead = rc;
    }
    return 0;
}

static int uq_submit(io_queue *q, io_op *const *ops, size_t n)
{
    struct uring_queue *uq = (struct uring_queue *)q;
    if (uq->dead)
        return uq->dead;
    for (size_t i = 0; i < n; i++) {
        ops[i]->res = 0;
        prep(uq, ops[i]);
        io_stat_ops(q->io, op_kind(ops[i]), 1, 1);
    }
    q->inflight += (unsigned)n;
    return flush(uq);
}

/* Takes one CQE's result for op.  Returns 1 when op is finished (op->res
 * final), 0 when its next piece was prepared. */
static int complete(struct uring_queue *uq, io_op *op, int res)
{
    if (res == -EINTR || res == -EAGAIN) {
        prep(uq, op); /* it did not run */
        return 0;
    }
    if (res < 0) {
        op->res = res;
        return 1;
    }
    if (op->code == IO_OP_SYNC) {
        op->res = 0;
        return 1;
    }
    op->res += res;
    if ((size_t)op->res >= op->n)
        return 1;
    if (res == 0) {
        if (op->code == IO_OP_WRITE)
            op->res = -EIO; /* no progress and no error: do not spin */
        return 1;           /* a read: end of file */
    }
    prep(uq, op);
    return 0;
}

static size_t uq_reap(io_queue *q, io_op **done, size_t max, size_t wait_nr, int *err)
{
    struct uring_queue *uq = (struct uring_queue *)q;
    size_t got = 0;
    int rc = uq->dead;
    while (rc == 0) {
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&uq->ring, head, cqe) {
            if (got == max)
                break;
            seen++;
            io_op *op = io_uring_cqe_get_data(cqe);
            if (complete(uq, op, cqe->res))
                done[got++] = op;
        }
        io_uring_cq_advance(&uq->ring, seen);
        if (got >= wait_nr)
            break;
        /* Each operation still to finish posts at least one more CQE. */
        unsigned want = (unsigned)(wait_nr - got);
        if (io_uring_sq_ready(&uq->ring) > 0) {
            rc = io_uring_submit_and_wait(&uq->ring, want);
            submitted(uq, rc);
        } else {
            rc = io_uring_wait_cqe_nr(&uq->ring, &cqe, want);
        }
        if (rc >= 0 || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY)
            rc = 0;
        else
            uq->dead = rc;
    }
    if (rc == 0)
        rc = flush(uq); /* the resubmissions prepared above */
    q->inflight -= (unsigned)got;
    if (err)
        *err = rc;
    return got;
}

static void uq_destroy(io_queue *q)
{
    struct uring_queue *uq = (struct uring_queue *)q;
    uring_ring_exit(&uq->ring);
    close(q->efd);
    free(uq);
}

static const struct io_queue_ops uring_queue_ops = {
    .submit = uq_submit,
    .reap = uq_reap,
    .destroy = uq_destroy,
};

int uring_queue_new(lsm_io *io, unsigned depth, io_queue **out)
{
    struct uring_queue *uq = calloc(1, sizeof *uq);
    if (!uq)
        return -ENOMEM;
    int rc = uring_ring_init(depth, &uq->ring, IORING_SETUP_SUBMIT_ALL);
    if (rc == -EINVAL) /* before 5.18 */
        rc = uring_ring_init(depth, &uq->ring, 0);
    if (rc < 0) {
        free(uq);
        return rc;
    }
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0)
        rc = -errno;
    else
        rc = io_uring_register_eventfd(&uq->ring, efd);
    if (rc < 0) {
        if (efd >= 0)
            close(efd);
        uring_ring_exit(&uq->ring);
        free(uq);
        return rc;
    }
    uq->q.ops = &uring_queue_ops;
    uq->q.io = io;
    uq->q.depth = depth;
    uq->q.efd = efd;
    *out = &uq->q;
    return 0;
}
