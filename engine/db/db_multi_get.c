/*
 * db_multi_get.c — lsm_multi_get: every key's lookup (get_op.h) runs as far
 * as memory allows; the block reads that missed the cache then go to the
 * disk in one submission, and each key moves on as its block arrives
 * (perhaps to another read: a filter's false positive sends it to the next
 * level).  Keys that want the same block (file, offset) share one read: the
 * first is the leader; the others wait on it and, once its block is in the
 * cache (pinned by the leader), find it there.  Without a cache to find it
 * in (capacity 0) they read it themselves next round.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "db/db_impl.h"
#include "db/get_op.h"
#include "db/get_queues.h"
#include "db/superversion.h"
#include "lsm.h"

/* ---- leaders by (file, offset): open addressing ----------------------- */

#define TOMB ((get_op *)1)

/* A leader under the block it reads.  The block is stored, not computed
 * from the op each time: a read that fails finishes the op, which resets
 * its candidate position, so get_op_file() would then name another file
 * and the entry could neither be removed nor told apart from a leader of
 * that other file's block. */
typedef struct lead {
    uint64_t file, off;
    get_op *op; /* NULL: empty; TOMB: removed */
} lead;

typedef struct lead_table {
    lead *slot;
    size_t cap, live, used; /* used counts tombstones too */
} lead_table;

static size_t lead_hash(uint64_t file, uint64_t off)
{
    uint64_t h = (file * 0x9E3779B97F4A7C15ull) ^ (off * 0xC2B2AE3D27D4EB4Full);
    return (size_t)(h ^ (h >> 29));
}

static lead *lead_find(lead_table *t, uint64_t file, uint64_t off, bool for_insert)
{
    size_t i = lead_hash(file, off) & (t->cap - 1);
    lead *tomb = NULL;
    for (;; i = (i + 1) & (t->cap - 1)) {
        lead *e = &t->slot[i];
        if (!e->op)
            return for_insert && tomb ? tomb : e;
        if (e->op == TOMB) {
            if (!tomb)
                tomb = e;
        } else if (e->file == file && e->off == off) {
            return e;
        }
    }
}

/* Drops the tombstones when they crowd the table (live <= cap / 4). */
static void lead_rebuild(lead_table *t)
{
    lead *old = t->slot;
    size_t cap = t->cap;
    if (!(t->slot = calloc(cap, sizeof *t->slot))) {
        t->slot = old; /* keep the crowded one: still correct, cap > live */
        return;
    }
    t->used = t->live;
    for (size_t i = 0; i < cap; i++)
        if (old[i].op && old[i].op != TOMB)
            *lead_find(t, old[i].file, old[i].off, true) = old[i];
    free(old);
}

static void lead_insert(lead_table *t, get_op *op, uint64_t file, uint64_t off)
{
    lead *s = lead_find(t, file, off, true);
    if (!s->op)
        t->used++;
    *s = (lead){ file, off, op };
    t->live++;
    if (t->used > t->cap / 4 * 3)
        lead_rebuild(t);
}

static void lead_remove(lead_table *t, get_op *op, uint64_t file, uint64_t off)
{
    lead *s = lead_find(t, file, off, false);
    if (s->op == op) {
        s->op = TOMB;
        t->live--;
    }
}

/* ---- the call ------------------------------------------------------------ */

typedef struct mg {
    get_op *ops;
    get_op **run, **want; /* to advance; leaders whose read waits for room */
    size_t nrun, nwant, left;
    lead_table leads;
    void **values;
    size_t *value_lens;
    int *statuses;
} mg;

static void complete(mg *m, get_op *op)
{
    size_t i = (size_t)(op - m->ops);
    int rc = get_op_finish(op);
    m->statuses[i] = rc;
    if (rc == 0)
        m->values[i] = get_op_value(op, &m->value_lens[i]);
    m->left--;
}

/* A leader is no longer reading its block (file, off): it and its
 * followers go back to the run list, the followers to look for the block
 * in the cache first. */
static void leader_gone(mg *m, get_op *op, uint64_t file, uint64_t off)
{
    lead_remove(&m->leads, op, file, off);
    m->run[m->nrun++] = op;
    get_op *f = op->next_waiter;
    op->next_waiter = NULL;
    for (; f; f = f->next_waiter) {
        get_op_retry_cached(f);
        m->run[m->nrun++] = f;
    }
}

/* A leader's read completed with res (or failed to start). */
static void read_done(mg *m, get_op *op, long res)
{
    uint64_t file = get_op_file(op), off = op->h.offset;
    get_op_read_done(op, res); /* before the followers look: pins the block */
    leader_gone(m, op, file, off);
}

/* Advances every op on the run list; those that need a block join its
 * leader or become one. */
static void advance(mg *m)
{
    size_t nrun = m->nrun;
    m->nrun = 0;
    for (size_t k = 0; k < nrun; k++) {
        get_op *op = m->run[k];
        op->next_waiter = NULL;
        if (get_op_run(op) == GET_OP_DONE) {
            complete(m, op);
            continue;
        }
        uint64_t file = get_op_file(op), off = op->h.offset;
        lead *s = lead_find(&m->leads, file, off, false);
        if (s->op) {
            op->next_waiter = s->op->next_waiter;
            s->op->next_waiter = op;
        } else {
            lead_insert(&m->leads, op, file, off);
            m->want[m->nwant++] = op;
        }
    }
}

/* Starts as many waiting leaders' reads as the queue has room for, in one
 * submission. */
static void submit(mg *m, io_queue *q)
{
    io_op *batch[GET_QUEUE_DEPTH];
    get_op *who[GET_QUEUE_DEPTH];
    size_t room = io_queue_room(q), k = 0, nb = 0;
    for (; k < m->nwant && nb < room; k++) {
        get_op *op = m->want[k];
        uint64_t file = get_op_file(op), off = op->h.offset;
        io_op *io = get_op_prepare_read(op);
        if (!io) { /* op is done, with the error; its followers try alone */
            leader_gone(m, op, file, off);
            continue;
        }
        batch[nb] = io;
        who[nb++] = op;
    }
    memmove(m->want, m->want + k, (m->nwant - k) * sizeof *m->want);
    m->nwant -= k;
    if (nb == 0)
        return;
    int rc = io_queue_submit(q, batch, nb);
    if (rc)
        for (size_t i = 0; i < nb; i++)
            read_done(m, who[i], rc);
}

int lsm_multi_get(lsm_db *db, const lsm_snapshot *snap, size_t n, const void *const *keys,
                  const size_t *key_lens, void **values, size_t *value_lens, int *statuses)
{
    if (!db || n > LSM_MULTI_GET_MAX ||
        (n && (!keys || !key_lens || !values || !value_lens || !statuses)))
        return -EINVAL;
    if (n == 0)
        return 0;
    mg m = { .values = values, .value_lens = value_lens, .statuses = statuses };
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    io_queue *q = NULL;
    int rc = -ENOMEM;
    if (n > SIZE_MAX / (sizeof(get_op) + 2 * sizeof(get_op *)) ||
        !(m.ops = malloc(n * sizeof *m.ops)) || !(m.run = malloc(n * sizeof *m.run)) ||
        !(m.want = malloc(n * sizeof *m.want)) ||
        !(m.leads.slot = calloc(cap, sizeof *m.leads.slot)) ||
        (rc = db_get_queue_take(db, &q)) != 0)
        goto out;
    m.leads.cap = cap;
    /* One view for every key, as the snapshot a NULL snap stands for. */
    superversion *sv = db_sv_acquire(db);
    /* Pairs with the leader's release store of last_seq. */
    uint64_t seq = snap ? snap->seq : atomic_load_explicit(&db->last_seq, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        values[i] = NULL;
        value_lens[i] = 0;
        statuses[i] = get_op_start_in(&m.ops[i], db, sv, seq, keys[i], key_lens[i], NULL, 0);
        if (statuses[i] == 0) {
            m.run[m.nrun++] = &m.ops[i];
            m.left++;
        }
    }
    db_sv_release(sv);
    while (m.left) {
        advance(&m);
        submit(&m, q);
        if (m.nrun || !m.left)
            continue;
        if (m.nwant == 0 && io_queue_inflight(q) == 0) {
            /* Nothing to run, start or reap, yet keys are unfinished: a
             * bookkeeping bug.  Fail them rather than spin. */
            log_error("multi-get: %zu keys stranded with no read in flight", m.left);
            for (size_t i = 0; i < n; i++)
                if (statuses[i] == 0 && !values[i]) { /* started, unfinished */
                    statuses[i] = -EIO;
                    get_op_cancel(&m.ops[i]);
                }
            break;
        }
        io_op *done[GET_QUEUE_DEPTH];
        int err;
        size_t got = io_queue_reap(q, done, GET_QUEUE_DEPTH, 1, &err);
        if (got == 0 && err) {
            /* The queue itself failed with reads in flight: their buffers
             * may still be written, so those ops (and the queue) are left
             * behind rather than freed; every unfinished key fails. */
            for (size_t i = 0; i < n; i++) {
                get_op *op = &m.ops[i];
                if (statuses[i] != 0 || values[i] || get_op_is_done(op))
                    continue; /* finished, or never started */
                statuses[i] = err;
                if (!get_op_in_flight(op))
                    get_op_cancel(op);
            }
            free(m.leads.slot);
            free(m.want);
            free(m.run);
            return 0;
        }
        for (size_t k = 0; k < got; k++)
            read_done(&m, done[k]->user, done[k]->res);
    }
    db_get_queue_give(db, q);
    rc = 0;
out:
    free(m.leads.slot);
    free(m.want);
    free(m.run);
    free(m.ops);
    return rc;
}
