/*
 * db_getq.c — lsm_getq: gets for an event loop (lsm.h).  Each get is a
 * get_op (get_op.h) in a slot; its block reads go to the queue's own
 * io_queue, at most one per get at a time, so an io_queue as deep as the
 * get queue always has room.  A get that finishes without I/O (start or
 * poll) goes on the finished list and the eventfd is signalled, so an event
 * loop that waits only on lsm_getq_fd never misses it.
 *
 * Batching: a block read is held instead of submitted while the queue is
 * plugged (lsm_getq_plug) and while poll advances gets; the held reads go
 * to the io_queue together, in one submission, at unplug and at the end of
 * poll (when not plugged).  Without it every cold get was one
 * io_uring_enter: a worker starting 64 gets in a turn made 64 system calls.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "db/db_impl.h"
#include "db/get_op.h"
#include "lsm.h"

typedef struct getq_slot {
    get_op op;
    void *user;
    int status; /* once finished */
} getq_slot;

struct lsm_getq {
    lsm_db *db;
    io_queue *q;
    unsigned depth;
    getq_slot *slots;
    unsigned *free_list, nfree;      /* slots not in use */
    unsigned *fin, fin_head, fin_n;  /* finished, in order, ring of depth */
    unsigned pending;                /* started, not yet returned by poll */
    io_op **held;                    /* reads prepared, not yet submitted */
    unsigned nheld;
    bool plugged, polling;           /* hold reads meanwhile */
};

int lsm_getq_new(lsm_db *db, unsigned depth, lsm_getq **out)
{
    if (!db || !out || depth == 0 || depth > 4096)
        return -EINVAL;
    lsm_getq *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->db = db;
    g->depth = depth;
    g->slots = calloc(depth, sizeof *g->slots);
    g->free_list = calloc(depth, sizeof *g->free_list);
    g->fin = calloc(depth, sizeof *g->fin);
    g->held = calloc(depth, sizeof *g->held);
    int rc = -ENOMEM;
    if (!g->slots || !g->free_list || !g->fin || !g->held ||
        (rc = io_queue_new(db->io, depth, &g->q))) {
        free(g->slots);
        free(g->free_list);
        free(g->fin);
        free(g->held);
        free(g);
        return rc;
    }
    for (unsigned i = 0; i < depth; i++)
        g->free_list[i] = depth - 1 - i;
    g->nfree = depth;
    *out = g;
    return 0;
}

int lsm_getq_fd(const lsm_getq *g)
{
    return io_queue_fd(g->q);
}

unsigned lsm_getq_pending(const lsm_getq *g)
{
    return g->pending;
}

static void wake(lsm_getq *g)
{
    int fd = io_queue_fd(g->q);
    if (fd >= 0)
        eventfd_write(fd, 1);
}

static void finished(lsm_getq *g, getq_slot *s)
{
    s->status = get_op_finish(&s->op);
    g->fin[(g->fin_head + g->fin_n++) % g->depth] = (unsigned)(s - g->slots);
}

/* Runs s's get until it finishes (onto the finished list) or has a read in
 * flight or held; returns 1 if it finished. */
static int step(lsm_getq *g, getq_slot *s)
{
    while (get_op_run(&s->op) == GET_OP_NEEDS_IO) {
        io_op *io = get_op_prepare_read(&s->op);
        if (!io)
            break; /* done, with the error */
        if (g->plugged || g->polling) {
            g->held[g->nheld++] = io; /* at most one per get: depth */
            return 0;
        }
        int rc = io_queue_submit(g->q, &io, 1);
        if (rc == 0)
            return 0;
        get_op_read_done(&s->op, rc);
    }
    finished(g, s);
    return 1;
}

/* Submits the held reads in one batch.  If the submission fails, each of
 * their gets takes the error (and finishes, or tries its next read alone:
 * called neither plugged nor polling, step submits instead of holding, so
 * g->held is not appended to while it is walked). */
static void submit_held(lsm_getq *g)
{
    if (g->nheld == 0)
        return;
    unsigned n = g->nheld;
    g->nheld = 0;
    int rc = io_queue_submit(g->q, g->held, n);
    if (rc == 0)
        return;
    bool any = false;
    for (unsigned i = 0; i < n; i++) {
        getq_slot *s = (getq_slot *)((get_op *)g->held[i]->user); /* op is first */
        get_op_read_done(&s->op, rc);
        any |= step(g, s) == 1;
    }
    if (any)
        wake(g);
}

void lsm_getq_plug(lsm_getq *g)
{
    g->plugged = true;
}

void lsm_getq_unplug(lsm_getq *g)
{
    g->plugged = false;
    submit_held(g);
}

int lsm_getq_start(lsm_getq *g, const lsm_snapshot *snap, const void *key, size_t klen,
                   void *buf, size_t cap, void *user)
{
    if (!g || (!buf && cap))
        return -EINVAL;
    if (g->nfree == 0)
        return -EAGAIN;
    getq_slot *s = &g->slots[g->free_list[g->nfree - 1]];
    int rc = get_op_start(&s->op, g->db, snap, key, klen, buf, cap);
    if (rc)
        return rc;
    g->nfree--;
    g->pending++;
    s->user = user;
    if (step(g, s))
        wake(g);
    return 0;
}

size_t lsm_getq_poll(lsm_getq *g, lsm_get_result *out, size_t max)
{
    io_op *done[64];
    size_t got;
    g->polling = true; /* the next reads of the gets advanced here: one batch */
    do {
        got = io_queue_reap(g->q, done, 64, 0, NULL);
        for (size_t k = 0; k < got; k++) {
            getq_slot *s = (getq_slot *)((get_op *)done[k]->user); /* op is first */
            get_op_read_done(&s->op, done[k]->res);
            step(g, s);
        }
    } while (got == 64);
    g->polling = false;
    if (!g->plugged)
        submit_held(g);
    size_t n = 0;
    while (n < max && g->fin_n) {
        unsigned i = g->fin[g->fin_head];
        g->fin_head = (g->fin_head + 1) % g->depth;
        g->fin_n--;
        getq_slot *s = &g->slots[i];
        lsm_get_result *r = &out[n++];
        r->user = s->user;
        r->status = s->status;
        r->value = NULL;
        r->value_len = 0;
        if (s->status == 0 || s->status == LSM_ETOOSMALL)
            r->value_len = s->op.vlen;
        if (s->status == 0)
            r->value = s->op.buf ? s->op.buf : get_op_value(&s->op, &r->value_len);
        g->free_list[g->nfree++] = i;
        g->pending--;
    }
    /* More finished than max: keep the eventfd readable for them. */
    if (g->fin_n)
        wake(g);
    return n;
}

void lsm_getq_destroy(lsm_getq *g)
{
    if (!g)
        return;
    /* Held reads never reached the kernel: their gets are dropped. */
    for (unsigned i = 0; i < g->nheld; i++)
        get_op_cancel(g->held[i]->user);
    g->nheld = 0;
    /* Wait for the reads in flight; their gets are dropped. */
    while (io_queue_inflight(g->q)) {
        io_op *done[64];
        int err = 0;
        size_t got = io_queue_reap(g->q, done, 64, 1, &err);
        if (got == 0 && err)
            return; /* the queue failed: its buffers may still be written,
                       so it and the gets are left behind, not freed */
        for (size_t k = 0; k < got; k++)
            get_op_cancel(done[k]->user);
    }
    /* Finished results never polled: their malloc'd values. */
    while (g->fin_n) {
        getq_slot *s = &g->slots[g->fin[g->fin_head]];
        g->fin_head = (g->fin_head + 1) % g->depth;
        g->fin_n--;
        if (s->status == 0 && !s->op.buf)
            free(s->op.value);
    }
    io_queue_destroy(g->q);
    free(g->slots);
    free(g->free_list);
    free(g->fin);
    free(g->held);
    free(g);
}
