/*
 * io_fault_queue.c — the fault backend's io_queue (io_queue.h): the base
 * backend's queue, with faults injected per operation.
 *
 * Every operation submitted counts as one operation for io_fault_arm
 * (the descriptor window does not apply: a queued operation opens
 * nothing).  The one that trips fails here, alone, with res = -err, and
 * never reaches the base; the rest of its batch goes to the base queue in
 * one submission and completes there with its real result.  The failed
 * ones are handed back by the next reap, first, and the base queue's
 * eventfd (which this queue shares) is signalled for them.
 *
 * Power loss: a SYNC completed through the queue makes its file durable up
 * to the size the file had when the SYNC was submitted, as fault_sync
 * does for the blocking call; a queued WRITE never moves the durable
 * length.  The operations of a batch run in any order, so a SYNC does not
 * cover writes submitted in its own batch (io_queue.h, "Ordering").
 *
 * Files: the caller's ops name fault files; the base sees a shadow io_op
 * per operation (one slot each, depth slots) naming the base file.
 *
 * Locking: submit holds the backend's gate shared, like a blocking data
 * call (fault_op_begin and the size of a SYNC's file); reap takes only mu,
 * to raise durable lengths.  The queue itself belongs to one thread at a
 * time (io_queue.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "io/io_fault_internal.h"
#include "io/io_queue.h"

struct fq_slot {
    io_op shadow;          /* what the base queue sees; shadow.user = slot */
    io_op *op;             /* the caller's */
    struct fault_ino *ino;
    uint64_t sync_len;     /* SYNC: the file's size at submit */
    struct fq_slot *next;  /* free list */
};

struct fault_queue {
    io_queue q;             /* q.efd is the base queue's */
    io_queue *base;
    struct fq_slot *slots, *free;
    io_op **batch;          /* depth shadows, for one base submission */
    io_op **failed;         /* ops failed here, not yet reaped: a FIFO */
    unsigned fhead, fcount;
};

static void failed_push(struct fault_queue *fq, io_op *op)
{
    fq->failed[(fq->fhead + fq->fcount++) % fq->q.depth] = op;
}

static int fq_submit(io_queue *q, io_op *const *ops, size_t n)
{
    struct fault_queue *fq = (struct fault_queue *)q;
    struct fault_io *fi = fio(q->io);
    unsigned failed_before = fq->fcount;
    size_t nb = 0;
    pthread_rwlock_rdlock(&fi->gate);
    for (size_t i = 0; i < n; i++) {
        io_op *op = ops[i];
        struct fault_file *ff = ffile(op->f);
        uint64_t size = 0;
        int rc = fault_op_begin(fi);
        if (rc == 0 && op->code == IO_OP_SYNC)
            rc = fi->base->ops->size(fi->base, ff->bf, &size);
        if (rc) {
            op->res = rc;
            failed_push(fq, op);
            continue;
        }
        struct fq_slot *s = fq->free;
        fq->free = s->next;
        s->shadow = (io_op){ .code = op->code, .f = ff->bf, .buf = op->buf, .n = op->n,
                             .off = op->off, .user = s };
        s->op = op;
        s->ino = ff->ino;
        s->sync_len = size;
        fq->batch[nb++] = &s->shadow;
    }
    int rc = nb ? io_queue_submit(fq->base, fq->batch, nb) : 0;
    pthread_rwlock_unlock(&fi->gate);
    if (rc) {
        /* None started: take the batch back (its operations stay counted). */
        for (size_t i = 0; i < nb; i++) {
            struct fq_slot *s = fq->batch[i]->user;
            s->next = fq->free;
            fq->free = s;
        }
        fq->fcount = failed_before;
        return rc;
    }
    q->inflight += (unsigned)n;
    if (fq->fcount > failed_before && q->efd >= 0) {
        uint64_t one = 1;
        (void)!write(q->efd, &one, sizeof one);
    }
    return 0;
}

static size_t fq_reap(io_queue *q, io_op **done, size_t max, size_t wait_nr, int *err)
{
    struct fault_queue *fq = (struct fault_queue *)q;
    size_t got = 0;
    while (got < max && fq->fcount > 0) {
        done[got++] = fq->failed[fq->fhead];
        fq->fhead = (fq->fhead + 1) % q->depth;
        fq->fcount--;
    }
    if (got < max && io_queue_inflight(fq->base) > 0) {
        size_t want = wait_nr > got ? wait_nr - got : 0;
        size_t k = io_queue_reap(fq->base, done + got, max - got, want, err);
        for (size_t i = got; i < got + k; i++) {
            struct fq_slot *s = done[i]->user;
            io_op *op = s->op;
            op->res = s->shadow.res;
            if (op->code == IO_OP_SYNC && op->res == 0)
                fault_durable_at_least(fio(q->io), s->ino, s->sync_len);
            done[i] = op;
            s->next = fq->free;
            fq->free = s;
        }
        got += k;
    }
    q->inflight -= (unsigned)got;
    return got;
}

static void fq_destroy(io_queue *q)
{
    struct fault_queue *fq = (struct fault_queue *)q;
    io_queue_destroy(fq->base);
    free(fq->slots);
    free(fq->batch);
    free(fq->failed);
    free(fq);
}

static const struct io_queue_ops fault_queue_ops = {
    .submit = fq_submit,
    .reap = fq_reap,
    .destroy = fq_destroy,
};

int fault_queue_new(lsm_io *io, unsigned depth, io_queue **out)
{
    struct fault_io *fi = fio(io);
    struct fault_queue *fq = calloc(1, sizeof *fq);
    if (!fq)
        return -ENOMEM;
    fq->slots = calloc(depth, sizeof *fq->slots);
    fq->batch = calloc(depth, sizeof *fq->batch);
    fq->failed = calloc(depth, sizeof *fq->failed);
    int rc = fq->slots && fq->batch && fq->failed ? 0 : -ENOMEM;
    if (rc == 0)
        rc = io_queue_new(fi->base, depth, &fq->base);
    if (rc) {
        free(fq->slots);
        free(fq->batch);
        free(fq->failed);
        free(fq);
        return rc;
    }
    for (unsigned i = 0; i < depth; i++) {
        fq->slots[i].next = fq->free;
        fq->free = &fq->slots[i];
    }
    fq->q.ops = &fault_queue_ops;
    fq->q.io = io;
    fq->q.depth = depth;
    fq->q.efd = fq->base->efd;
    *out = &fq->q;
    return 0;
}
