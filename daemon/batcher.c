/* batcher.c — see batcher.h. */
#include "batcher.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "config.h"
#include "lsm.h"
#include "session.h"
#include "validate.h"

#define GROUP_MAX_REQS 512              /* writes per group */
#define GROUP_MAX_BYTES (8u << 20)      /* encoded bytes per group */
/* A write of more encoded bytes is applied alone, by the apart thread: its
 * copy and parse take milliseconds per MiB, which the sessions sharing the
 * worker must not wait for (the engine's own group limit is 1 MiB too). */
#define APART_MIN_BYTES (1u << 20)
/* Groups in flight per worker.  More than one lets a group write while
 * another syncs; more make more, smaller groups: more lsm_write calls and
 * thread wake-ups for the same syncs (docs/architecture.md, "Threads"). */
#define COMMITTERS 2

/* Validation (shm/validate.h) refuses what the engine would refuse. */
_Static_assert(SHM_MAX_BATCH_BYTES == LSM_MAX_BATCH_BYTES, "batch limits agree");
_Static_assert(SHM_MIN_ENTRY_BYTES == LSM_BATCH_ENTRY_OVERHEAD + 1, "smallest entry agrees");
/* So a group never reaches the engine's limit. */
_Static_assert((uint64_t)GROUP_MAX_BYTES + APART_MIN_BYTES < LSM_MAX_BATCH_BYTES, "group bound");

/* An intrusive FIFO under mu (the handed groups, the large writes).  The
 * node is the first member of what it links, so a node is its item. */
typedef struct qnode {
    struct qnode *next;
} qnode;

typedef struct fifo {
    qnode *head, *tail;
} fifo;

typedef struct pending_write {
    session *s;      /* holds a reference until acknowledged */
    uint32_t tag;
} pending_write;

typedef struct group {
    qnode node;               /* [mu] in the handed queue; first member */
    lsm_batch *batch;
    pending_write pend[GROUP_MAX_REQS];
    int npend;
    bool sync;
    /* Some session in it had writes in a group in flight when they were
     * added: it is started only once no group is in flight, so that session's
     * writes reach lsm_write in the order it sent them. */
    bool ordered;
    size_t bytes;
    struct group *next;       /* [mu] in the free list */
} group;

/* A large write waiting for the apart thread. */
typedef struct apart_job {
    qnode node;               /* [mu] in the apart queue; first member */
    session *s;               /* holds a reference until acknowledged */
    struct shm_sqe q;
} apart_job;

struct batcher {
    daemon_ctx *d;
    int index;
    uint32_t *kick;
    size_t max_request;       /* config max_request_bytes */
    group slots[COMMITTERS + 1];
    group *filling;           /* worker: the group taking writes */

    pthread_t threads[COMMITTERS];
    int nthreads;
    pthread_t apart_thread;
    bool apart_started;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;   /* committers: a group was handed, or stop */
    pthread_cond_t apart_cv;  /* apart thread: a job was queued, or stop */
    pthread_cond_t done_cv;   /* worker: a handed group or a job finished */
    fifo apart_queue;         /* [mu] large writes, not taken yet */
    int apart_pending;        /* [mu] queued or being applied */
    fifo queue;               /* [mu] handed groups, not taken by a committer yet */
    group *free_list;         /* [mu] groups neither filling nor in flight */
    int inflight;             /* [mu] handed and not finished */
    bool want_kick;           /* [mu] the worker has a group waiting for a finish */
    bool stop;                /* [mu] */

    _Atomic uint64_t groups, writes;
};

static void reset(group *grp)
{
    lsm_batch_clear(grp->batch);
    grp->npend = 0;
    grp->sync = false;
    grp->ordered = false;
    grp->bytes = 0;
}

/* Writes grp with one lsm_write and acknowledges every request in it.
 * Runs in a committer, or in the worker (a group without sync, settle,
 * drain).  Each request is acknowledged only after lsm_write returned, so
 * after its group is applied (and, with LSM_SYNC, durable). */
static void commit(batcher *wg, group *grp)
{
    if (grp->npend == 0)
        return;
    int rc = lsm_write(wg->d->db, grp->batch, grp->sync ? LSM_SYNC : 0);
    if (rc)
        log_debug("worker %d: group of %d writes failed: %s", wg->index, grp->npend,
                  lsm_strerror(rc));
    for (int i = 0; i < grp->npend; i++) {
        struct shm_cqe c = { .tag = grp->pend[i].tag, .status = rc };
        session_post(grp->pend[i].s, &c);
    }
    for (int i = 0; i < grp->npend; i++) {
        session *s = grp->pend[i].s;
        if (i + 1 == grp->npend || grp->pend[i + 1].s != s)
            session_wake(s);
        /* Release: pairs with the acquire loads in batcher_settle and
         * batcher_add: a count seen lower means the writes are applied. */
        atomic_fetch_sub_explicit(&s->writes.pending, 1, memory_order_release);
        session_unref(s);
    }
    atomic_fetch_add_explicit(&wg->groups, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&wg->writes, (uint64_t)grp->npend, memory_order_relaxed);
    reset(grp);
}

static void fifo_push(fifo *f, qnode *n)
{
    n->next = NULL;
    if (f->tail)
        f->tail->next = n;
    else
        f->head = n;
    f->tail = n;
}

/* The loop of a pipeline thread: takes f's items in order, runs each
 * without mu, then finish with mu held, and wakes the waiters on done_cv;
 * returns once stop is set and f is empty. */
static void serve_fifo(batcher *wg, fifo *f, pthread_cond_t *cv, void (*run)(batcher *, qnode *),
                       void (*finish)(batcher *, qnode *))
{
    pthread_mutex_lock(&wg->mu);
    for (;;) {
        while (!f->head && !wg->stop)
            pthread_cond_wait(cv, &wg->mu);
        qnode *n = f->head;
        if (!n)
            break;
        f->head = n->next;
        if (!f->head)
            f->tail = NULL;
        pthread_mutex_unlock(&wg->mu);
        run(wg, n);
        pthread_mutex_lock(&wg->mu);
        finish(wg, n);
        pthread_cond_broadcast(&wg->done_cv);
    }
    pthread_mutex_unlock(&wg->mu);
}

static void commit_node(batcher *wg, qnode *n)
{
    commit(wg, (group *)n);
}

/* REQUIRES: mu held. */
static void committed(batcher *wg, qnode *n)
{
    group *grp = (group *)n;
    wg->inflight--;
    grp->next = wg->free_list;
    wg->free_list = grp;
    if (wg->want_kick) {
        /* The worker holds a group back until now. */
        wg->want_kick = false;
        pthread_mutex_unlock(&wg->mu);
        shm_server_kick(wg->kick);
        pthread_mutex_lock(&wg->mu);
    }
}

/* A committer: takes handed groups in order and commits them.  Several run
 * at once, so a group is written (and joins the engine's next shared
 * fdatasync) while earlier ones still wait for theirs. */
static void *committer_main(void *arg)
{
    batcher *wg = arg;
    serve_fifo(wg, &wg->queue, &wg->work_cv, commit_node, committed);
    return NULL;
}

/* Waits until at most n groups are in flight. */
static void wait_inflight(batcher *wg, int n)
{
    pthread_mutex_lock(&wg->mu);
    while (wg->inflight > n)
        pthread_cond_wait(&wg->done_cv, &wg->mu);
    pthread_mutex_unlock(&wg->mu);
}

/* Starts the filling group: inline when it needs no sync (one write(2), no
 * reason to hand it off), else at a committer.  Returns false, leaving it
 * filling, when it must wait for a group in flight (it is ordered after
 * one, or every committer is busy); the committer that finishes then kicks
 * the worker. */
static bool try_start(batcher *wg)
{
    group *grp = wg->filling;
    if (grp->npend == 0)
        return true;
    pthread_mutex_lock(&wg->mu);
    bool blocked = grp->ordered && wg->inflight > 0;
    if (!blocked && !grp->sync) {
        pthread_mutex_unlock(&wg->mu);
        commit(wg, grp);
        return true;
    }
    if (blocked || !wg->free_list) {
        wg->want_kick = true;
        pthread_mutex_unlock(&wg->mu);
        return false;
    }
    wg->filling = wg->free_list;
    wg->free_list = wg->filling->next;
    fifo_push(&wg->queue, &grp->node);
    wg->inflight++;
    pthread_cond_signal(&wg->work_cv);
    pthread_mutex_unlock(&wg->mu);
    return true;
}

void batcher_flush(batcher *wg)
{
    try_start(wg);
}

/* How many of s's writes the filling group holds, counting no further
 * than `limit`. */
static uint32_t filling_count(const group *grp, const session *s, uint32_t limit)
{
    uint32_t n = 0;
    for (int i = grp->npend - 1; i >= 0 && n < limit; i--)
        n += grp->pend[i].s == s;
    return n;
}

void batcher_settle(batcher *wg, session *s)
{
    if (atomic_load_explicit(&s->writes.pending, memory_order_acquire) == 0)
        return;
    group *grp = wg->filling;
    uint32_t mine = filling_count(grp, s, UINT32_MAX);
    /* First s's writes in flight (earlier groups): writes.pending drops to
     * what the filling group holds.  The committer decrements before it
     * broadcasts under mu, so checking under mu loses no wake-up. */
    pthread_mutex_lock(&wg->mu);
    while (atomic_load_explicit(&s->writes.pending, memory_order_acquire) > mine)
        pthread_cond_wait(&wg->done_cv, &wg->mu);
    pthread_mutex_unlock(&wg->mu);
    if (mine == 0)
        return;
    /* The rest is in the filling group: commit it now, here (after every
     * group in flight if it is ordered after one). */
    if (grp->ordered)
        wait_inflight(wg, 0);
    commit(wg, grp);
}

void batcher_drain(batcher *wg)
{
    pthread_mutex_lock(&wg->mu);
    while (wg->apart_pending > 0)
        pthread_cond_wait(&wg->done_cv, &wg->mu);
    pthread_mutex_unlock(&wg->mu);
    wait_inflight(wg, 0);
    commit(wg, wg->filling);
}

static void refuse(session *s, const struct shm_sqe *q, int rc)
{
    struct shm_cqe c = { .tag = q->tag, .status = rc };
    session_post(s, &c);
    session_wake(s);
}

/* Encoded bytes q adds to a batch. */
static size_t request_bytes(const struct shm_sqe *q)
{
    if (q->opcode == SHM_OP_WRITE_BATCH)
        return q->val_len;
    return LSM_BATCH_ENTRY_OVERHEAD + (size_t)q->key_len + q->val_len;
}

bool batcher_apart(const struct shm_sqe *q)
{
    bool write = q->opcode == SHM_OP_PUT || q->opcode == SHM_OP_DELETE ||
                 q->opcode == SHM_OP_WRITE_BATCH;
    return write && request_bytes(q) > APART_MIN_BYTES;
}

/* Appends q's entries to b, whole or not at all, straight from the arena:
 * a put or delete as one entry; a batch's payload copied once into b and
 * checked there (lsm_batch_append_encoded), so a client rewriting it
 * meanwhile changes nothing and a malformed one leaves the other requests
 * in b untouched.  Returns 0, -EINVAL (malformed batch) or -ENOMEM.
 * REQUIRES: q validated. */
static int load(session *s, const struct shm_sqe *q, lsm_batch *b)
{
    const char *arena = shm_session_arena(s->shm);
    if (q->opcode == SHM_OP_PUT)
        return lsm_batch_put(b, arena + q->key_off, q->key_len, arena + q->val_off,
                             q->val_len);
    if (q->opcode == SHM_OP_DELETE)
        return lsm_batch_delete(b, arena + q->key_off, q->key_len);
    int rc = lsm_batch_append_encoded(b, arena + q->val_off, q->val_len, (uint32_t)q->arg1);
    return rc == LSM_ECORRUPT ? -EINVAL : rc;
}

/* The apart thread's work on one large write: its own batch (the one copy),
 * freed before the acknowledgement, so nothing of its size stays
 * resident. */
static void apply_apart(batcher *wg, apart_job *j)
{
    session *s = j->s;
    lsm_batch *b = lsm_batch_new();
    int rc = b ? load(s, &j->q, b) : -ENOMEM;
    if (rc == 0)
        rc = lsm_write(wg->d->db, b, (j->q.flags & SHM_SQ_SYNC) ? LSM_SYNC : 0);
    lsm_batch_free(b);
    if (rc)
        log_debug("worker %d: large write of client %llu failed: %s", wg->index,
                  (unsigned long long)s->id, lsm_strerror(rc));
    struct shm_cqe c = { .tag = j->q.tag, .status = rc };
    session_post(s, &c);
    session_wake(s);
    atomic_fetch_sub_explicit(&s->writes.pending, 1, memory_order_release);
    /* Release: pairs with the acquire load in batcher_held; the worker serves
     * s again only once its write is applied (and acknowledged). */
    atomic_store_explicit(&s->writes.alone, false, memory_order_release);
    shm_server_kick(wg->kick);
    session_unref(s);
    free(j);
    atomic_fetch_add_explicit(&wg->groups, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&wg->writes, 1, memory_order_relaxed);
}

static void apply_node(batcher *wg, qnode *n)
{
    apply_apart(wg, (apart_job *)n); /* frees the job */
}

/* REQUIRES: mu held. */
static void applied(batcher *wg, qnode *n)
{
    (void)n; /* freed */
    wg->apart_pending--;
}

/* The apart thread: applies large writes one at a time, in the order the
 * worker took them. */
static void *apart_main(void *arg)
{
    batcher *wg = arg;
    serve_fifo(wg, &wg->apart_queue, &wg->apart_cv, apply_node, applied);
    return NULL;
}

/* Hands a large write of s to the apart thread, after s's earlier writes
 * (so they reach lsm_write first).  s is then held (batcher_held) until the
 * write is acknowledged: its later requests wait in its ring, so its order
 * and its reads of its own writes are kept without holding anyone else. */
static void add_apart(batcher *wg, session *s, const struct shm_sqe *q)
{
    apart_job *j = malloc(sizeof *j);
    if (!j) {
        refuse(s, q, -ENOMEM);
        return;
    }
    batcher_settle(wg, s);
    *j = (apart_job){ .s = s, .q = *q };
    session_ref(s);
    atomic_fetch_add_explicit(&s->writes.pending, 1, memory_order_relaxed);
    atomic_store_explicit(&s->writes.alone, true, memory_order_relaxed);
    pthread_mutex_lock(&wg->mu);
    fifo_push(&wg->apart_queue, &j->node);
    wg->apart_pending++;
    pthread_cond_signal(&wg->apart_cv);
    pthread_mutex_unlock(&wg->mu);
}

bool batcher_held(const session *s)
{
    return atomic_load_explicit(&s->writes.alone, memory_order_acquire);
}

void batcher_add(batcher *wg, session *s, const struct shm_sqe *q)
{
    if (q->opcode == SHM_OP_WRITE_BATCH && q->arg1 == 0 && q->val_len == 0) {
        refuse(s, q, 0); /* an empty batch: a successful no-op */
        return;
    }
    if (q->opcode == SHM_OP_WRITE_BATCH && q->val_len > wg->max_request) {
        log_warn_limited("client %llu (pid %d): WRITE_BATCH of %u bytes refused "
                         "(max_request_bytes is %zu)", (unsigned long long)s->id,
                         (int)s->pid, q->val_len, wg->max_request);
        refuse(s, q, -E2BIG);
        return;
    }
    if (batcher_apart(q)) {
        add_apart(wg, s, q);
        return;
    }
    size_t n = request_bytes(q);
    group *grp = wg->filling;
    if (grp->npend == GROUP_MAX_REQS || (grp->npend > 0 && grp->bytes + n > GROUP_MAX_BYTES)) {
        /* It does not fit: wait until the group may start, then start it;
         * q opens the next one. */
        wait_inflight(wg, grp->ordered ? 0 : COMMITTERS - 1);
        try_start(wg); /* cannot fail now: only this thread hands groups */
        grp = wg->filling;
    }
    /* Only this thread raises the count, and committers only lower it: a
     * stale value errs towards ordering. */
    uint32_t before = atomic_load_explicit(&s->writes.pending, memory_order_acquire);
    int rc = load(s, q, grp->batch);
    if (rc) {
        refuse(s, q, rc); /* fails alone: the group is as it was */
        return;
    }
    /* Earlier writes of s not in this group are in flight: this group
     * must reach lsm_write after them. */
    if (before > 0 && !grp->ordered && filling_count(grp, s, before) < before)
        grp->ordered = true;
    session_ref(s);
    atomic_fetch_add_explicit(&s->writes.pending, 1, memory_order_relaxed);
    grp->pend[grp->npend++] = (pending_write){ s, q->tag };
    grp->sync |= (q->flags & SHM_SQ_SYNC) != 0;
    grp->bytes += n;
}

static void stop_committers(batcher *wg)
{
    pthread_mutex_lock(&wg->mu);
    wg->stop = true;
    pthread_cond_broadcast(&wg->work_cv);
    pthread_cond_broadcast(&wg->apart_cv);
    pthread_mutex_unlock(&wg->mu);
    for (int i = 0; i < wg->nthreads; i++)
        pthread_join(wg->threads[i], NULL);
    if (wg->apart_started)
        pthread_join(wg->apart_thread, NULL);
}

static void destroy(batcher *wg)
{
    for (int i = 0; i <= COMMITTERS; i++)
        lsm_batch_free(wg->slots[i].batch);
    pthread_mutex_destroy(&wg->mu);
    pthread_cond_destroy(&wg->work_cv);
    pthread_cond_destroy(&wg->apart_cv);
    pthread_cond_destroy(&wg->done_cv);
    free(wg);
}

int batcher_new(daemon_ctx *d, int worker_index, uint32_t *kick, batcher **out)
{
    batcher *wg = calloc(1, sizeof *wg);
    if (!wg)
        return -ENOMEM;
    wg->d = d;
    wg->index = worker_index;
    wg->kick = kick;
    wg->max_request = d->cfg->max_request_bytes;
    pthread_mutex_init(&wg->mu, NULL);
    pthread_cond_init(&wg->work_cv, NULL);
    pthread_cond_init(&wg->apart_cv, NULL);
    pthread_cond_init(&wg->done_cv, NULL);
    int rc = 0;
    for (int i = 0; i <= COMMITTERS; i++) {
        wg->slots[i].batch = lsm_batch_new();
        if (!wg->slots[i].batch)
            rc = -ENOMEM;
        if (i > 0) {
            wg->slots[i].next = wg->free_list;
            wg->free_list = &wg->slots[i];
        }
    }
    wg->filling = &wg->slots[0];
    for (int i = 0; i < COMMITTERS && rc == 0; i++) {
        rc = -pthread_create(&wg->threads[i], NULL, committer_main, wg);
        if (rc == 0) {
            char name[16];
            snprintf(name, sizeof name, "lsmd-c%d.%d", worker_index, i);
            pthread_setname_np(wg->threads[i], name);
            wg->nthreads++;
        }
    }
    if (rc == 0) {
        rc = -pthread_create(&wg->apart_thread, NULL, apart_main, wg);
        if (rc == 0) {
            char name[16];
            snprintf(name, sizeof name, "lsmd-a%d", worker_index);
            pthread_setname_np(wg->apart_thread, name);
            wg->apart_started = true;
        }
    }
    if (rc) {
        stop_committers(wg);
        destroy(wg);
        return rc;
    }
    *out = wg;
    return 0;
}

void batcher_free(batcher *wg)
{
    if (!wg)
        return;
    batcher_drain(wg);
    stop_committers(wg);
    destroy(wg);
}

bool batcher_pending(const session *s)
{
    return atomic_load_explicit(&s->writes.pending, memory_order_relaxed) != 0;
}

void batcher_counters(const batcher *wg, uint64_t *groups, uint64_t *writes)
{
    *groups = atomic_load_explicit(&wg->groups, memory_order_relaxed);
    *writes = atomic_load_explicit(&wg->writes, memory_order_relaxed);
}
