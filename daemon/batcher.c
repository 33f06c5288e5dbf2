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
#include "wal_syncer.h"

#define GROUP_MAX_REQS 512              /* writes per group */
#define GROUP_MAX_BYTES (8u << 20)      /* encoded bytes per group */
/* A write of more encoded bytes is applied alone, by the apart thread: its
 * copy and parse take milliseconds per MiB, which the sessions sharing the
 * worker must not wait for (the engine's own group limit is 1 MiB too). */
#define APART_MIN_BYTES (1u << 20)

/* Validation (shm/validate.h) refuses what the engine would refuse. */
_Static_assert(SHM_MAX_BATCH_BYTES == LSM_MAX_BATCH_BYTES, "batch limits agree");
_Static_assert(SHM_MIN_ENTRY_BYTES == LSM_BATCH_ENTRY_OVERHEAD + 1, "smallest entry agrees");
/* So a group never reaches the engine's limit. */
_Static_assert((uint64_t)GROUP_MAX_BYTES + APART_MIN_BYTES < LSM_MAX_BATCH_BYTES, "group bound");

typedef struct pending_write {
    session *s;      /* holds a reference until acknowledged */
    uint32_t tag;
    bool sync;
} pending_write;

/* A large write waiting for the apart thread. */
typedef struct apart_job {
    struct apart_job *next;   /* [mu] in the apart queue */
    session *s;               /* holds a reference until acknowledged */
    struct shm_sqe q;
    char *owned;              /* a put staged in pieces (put_pieces.h): its
                                 key then value, freed once applied; NULL:
                                 the write is in the arena */
    uint32_t klen;
    uint64_t vlen;
} apart_job;

struct batcher {
    daemon_ctx *d;
    int index;
    uint32_t *kick;
    size_t max_request;       /* config max_request_bytes */

    /* The filling group: worker only. */
    lsm_batch *batch;
    pending_write pend[GROUP_MAX_REQS];
    wal_ack acks[GROUP_MAX_REQS]; /* apply()'s scratch */
    int npend;
    size_t bytes;

    pthread_t apart_thread;
    bool apart_started;
    pthread_mutex_t mu;
    pthread_cond_t apart_cv;  /* apart thread: a job was queued, or stop */
    pthread_cond_t done_cv;   /* worker: a job finished */
    apart_job *apart_head, *apart_tail; /* [mu] large writes, not taken yet */
    int apart_pending;        /* [mu] queued or being applied */
    bool stop;                /* [mu] */

    _Atomic uint64_t groups, writes;
};

/* Acknowledges the writes of a group applied at WAL position pos with
 * status rc: the synced ones (rc 0) through the syncer, once durable; the
 * others now (the client of a run of them is woken once). */
static void acknowledge(batcher *wg, const pending_write *pend, int n, int rc, uint64_t pos,
                        wal_ack *acks)
{
    int nsync = 0;
    for (int i = 0; i < n; i++) {
        if (rc == 0 && pend[i].sync) {
            acks[nsync++] = (wal_ack){ pend[i].s, pend[i].tag };
            continue;
        }
        struct shm_cqe c = { .tag = pend[i].tag, .status = rc };
        session_post(pend[i].s, &c);
    }
    for (int i = 0; i < n; i++) {
        if (rc == 0 && pend[i].sync)
            continue;
        session *s = pend[i].s;
        int j = i + 1;
        while (j < n && rc == 0 && pend[j].sync)
            j++;
        if (j == n || pend[j].s != s)
            session_wake(s);
        atomic_fetch_sub_explicit(&s->writes.pending, 1, memory_order_release);
        session_unref(s);
    }
    /* The references of the synced ones go with them. */
    wal_syncer_add(wg->d->syncer, acks, nsync, pos);
}

/* Applies the filling group with one lsm_write_pos, without waiting for
 * an fdatasync, and acknowledges it (acknowledge()).  Worker only. */
static void apply(batcher *wg)
{
    if (wg->npend == 0)
        return;
    uint64_t pos = 0;
    int rc = lsm_write_pos(wg->d->db, wg->batch, 0, &pos);
    if (rc)
        log_debug("worker %d: group of %d writes failed: %s", wg->index, wg->npend,
                  lsm_strerror(rc));
    for (int i = 0; i < wg->npend; i++)
        wg->pend[i].s->writes.filling = 0;
    acknowledge(wg, wg->pend, wg->npend, rc, pos, wg->acks);
    atomic_fetch_add_explicit(&wg->groups, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&wg->writes, (uint64_t)wg->npend, memory_order_relaxed);
    lsm_batch_clear(wg->batch);
    wg->npend = 0;
    wg->bytes = 0;
}

void batcher_flush(batcher *wg)
{
    apply(wg);
}

void batcher_settle(batcher *wg, session *s)
{
    if (s->writes.filling)
        apply(wg);
}

void batcher_drain(batcher *wg)
{
    pthread_mutex_lock(&wg->mu);
    while (wg->apart_pending > 0)
        pthread_cond_wait(&wg->done_cv, &wg->mu);
    pthread_mutex_unlock(&wg->mu);
    apply(wg);
    wal_syncer_flush(wg->d->syncer);
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
    if (q->opcode == SHM_OP_PUT_PIECE) /* the last piece is the put */
        return q->arg1 + q->val_len == q->arg0;
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
 * resident.  Applied without waiting for a sync, like a group. */
static void apply_apart(batcher *wg, apart_job *j)
{
    session *s = j->s;
    lsm_batch *b = lsm_batch_new();
    uint64_t pos = 0;
    int rc = !b ? -ENOMEM
             : j->owned ? lsm_batch_put(b, j->owned, j->klen, j->owned + j->klen, j->vlen)
                        : load(s, &j->q, b);
    free(j->owned);
    j->owned = NULL;
    if (rc == 0)
        rc = lsm_write_pos(wg->d->db, b, 0, &pos);
    lsm_batch_free(b);
    if (rc)
        log_debug("worker %d: large write of client %llu failed: %s", wg->index,
                  (unsigned long long)s->id, lsm_strerror(rc));
    /* The write is handed on (to the syncer when synced) before the worker
     * may serve s again, so a later synced write of s cannot reach the
     * syncer first and be acknowledged before this one.  Our own reference
     * keeps s alive across the acknowledgement, which drops the write's.
     * Release: pairs with the acquire load in batcher_held. */
    session_ref(s);
    pending_write pw = { s, j->q.tag, (j->q.flags & SHM_SQ_SYNC) != 0 };
    wal_ack ack;
    acknowledge(wg, &pw, 1, rc, pos, &ack);
    atomic_store_explicit(&s->writes.alone, false, memory_order_release);
    shm_server_kick(wg->kick);
    session_unref(s);
    free(j);
    atomic_fetch_add_explicit(&wg->groups, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&wg->writes, 1, memory_order_relaxed);
}

/* The apart thread: applies large writes one at a time, in the order the
 * worker took them; returns once stop is set and none is left. */
static void *apart_main(void *arg)
{
    batcher *wg = arg;
    pthread_mutex_lock(&wg->mu);
    for (;;) {
        while (!wg->apart_head && !wg->stop)
            pthread_cond_wait(&wg->apart_cv, &wg->mu);
        apart_job *j = wg->apart_head;
        if (!j)
            break;
        wg->apart_head = j->next;
        if (!wg->apart_head)
            wg->apart_tail = NULL;
        pthread_mutex_unlock(&wg->mu);
        apply_apart(wg, j); /* frees j */
        pthread_mutex_lock(&wg->mu);
        wg->apart_pending--;
        pthread_cond_broadcast(&wg->done_cv);
    }
    pthread_mutex_unlock(&wg->mu);
    return NULL;
}

/* Hands a large write of s to the apart thread, after s's earlier writes
 * (so they reach the engine first).  s is then held (batcher_held) until
 * the write is applied: its later requests wait in its ring, so its order
 * and its reads of its own writes are kept without holding anyone else. */
static void add_apart(batcher *wg, session *s, const struct shm_sqe *q, char *owned,
                      uint32_t klen, uint64_t vlen)
{
    apart_job *j = malloc(sizeof *j);
    if (!j) {
        free(owned);
        refuse(s, q, -ENOMEM);
        return;
    }
    batcher_settle(wg, s);
    *j = (apart_job){ .s = s, .q = *q, .owned = owned, .klen = klen, .vlen = vlen };
    session_ref(s);
    atomic_fetch_add_explicit(&s->writes.pending, 1, memory_order_relaxed);
    atomic_store_explicit(&s->writes.alone, true, memory_order_relaxed);
    pthread_mutex_lock(&wg->mu);
    if (wg->apart_tail)
        wg->apart_tail->next = j;
    else
        wg->apart_head = j;
    wg->apart_tail = j;
    wg->apart_pending++;
    pthread_cond_signal(&wg->apart_cv);
    pthread_mutex_unlock(&wg->mu);
}

void batcher_add_owned(batcher *wg, session *s, const struct shm_sqe *q, char *buf,
                       uint32_t klen, uint64_t vlen)
{
    add_apart(wg, s, q, buf, klen, vlen);
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
        add_apart(wg, s, q, NULL, 0, 0);
        return;
    }
    size_t n = request_bytes(q);
    if (wg->npend == GROUP_MAX_REQS || (wg->npend > 0 && wg->bytes + n > GROUP_MAX_BYTES))
        apply(wg); /* it does not fit: q opens the next group */
    int rc = load(s, q, wg->batch);
    if (rc) {
        refuse(s, q, rc); /* fails alone: the group is as it was */
        return;
    }
    session_ref(s);
    atomic_fetch_add_explicit(&s->writes.pending, 1, memory_order_relaxed);
    s->writes.filling++;
    wg->pend[wg->npend++] = (pending_write){ s, q->tag, (q->flags & SHM_SQ_SYNC) != 0 };
    wg->bytes += n;
}

static void stop_apart(batcher *wg)
{
    pthread_mutex_lock(&wg->mu);
    wg->stop = true;
    pthread_cond_broadcast(&wg->apart_cv);
    pthread_mutex_unlock(&wg->mu);
    if (wg->apart_started)
        pthread_join(wg->apart_thread, NULL);
}

static void destroy(batcher *wg)
{
    lsm_batch_free(wg->batch);
    pthread_mutex_destroy(&wg->mu);
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
    pthread_cond_init(&wg->apart_cv, NULL);
    pthread_cond_init(&wg->done_cv, NULL);
    wg->batch = lsm_batch_new();
    int rc = wg->batch ? 0 : -ENOMEM;
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
        stop_apart(wg);
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
    stop_apart(wg);
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
