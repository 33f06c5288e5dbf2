/* write_group.c — see write_group.h. */
#include "write_group.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "log.h"
#include "session.h"

#define GROUP_MAX_REQS 512              /* writes per group */
#define GROUP_MAX_BYTES (8u << 20)      /* encoded bytes per group */

typedef struct pending_write {
    session *s;      /* holds a reference until acknowledged */
    uint32_t tag;
} pending_write;

typedef struct group {
    lsm_batch *batch;
    pending_write pend[GROUP_MAX_REQS];
    int npend;
    bool sync;
    size_t bytes;
} group;

struct wgroup {
    daemon_ctx *d;
    int index;
    uint32_t *kick;
    group g[2];
    int cur;                  /* worker: the filling group */
    char *scratch;            /* worker: private copy of an encoded batch */
    size_t scratch_cap;

    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* committer: a group arrived; worker: it is done */
    group *handed;            /* [mu] the group at the committer, NULL = idle */
    bool stop;                /* [mu] */

    _Atomic uint64_t groups, writes;
};

/* Writes grp with one lsm_write and acknowledges every request in it.
 * Runs in the committer, or in the worker while the committer is idle. */
static void commit(wgroup *wg, group *grp)
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
        /* Release: wgroup_settle's acquire load sees the writes applied. */
        atomic_fetch_sub_explicit(&s->pending_writes, 1, memory_order_release);
        session_unref(s);
    }
    atomic_fetch_add_explicit(&wg->groups, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&wg->writes, (uint64_t)grp->npend, memory_order_relaxed);
    lsm_batch_clear(grp->batch);
    grp->npend = 0;
    grp->sync = false;
    grp->bytes = 0;
}

static void *committer_main(void *arg)
{
    wgroup *wg = arg;
    char name[16];
    snprintf(name, sizeof name, "lsmd-c%d", wg->index);
    pthread_setname_np(pthread_self(), name);
    pthread_mutex_lock(&wg->mu);
    for (;;) {
        while (!wg->handed && !wg->stop)
            pthread_cond_wait(&wg->cv, &wg->mu);
        group *grp = wg->handed;
        if (!grp)
            break;
        pthread_mutex_unlock(&wg->mu);
        commit(wg, grp);
        pthread_mutex_lock(&wg->mu);
        wg->handed = NULL;
        pthread_cond_broadcast(&wg->cv);
        pthread_mutex_unlock(&wg->mu);
        shm_server_kick(wg->kick); /* the worker hands over the next group */
        pthread_mutex_lock(&wg->mu);
    }
    pthread_mutex_unlock(&wg->mu);
    return NULL;
}

static void wait_idle(wgroup *wg)
{
    pthread_mutex_lock(&wg->mu);
    while (wg->handed)
        pthread_cond_wait(&wg->cv, &wg->mu);
    pthread_mutex_unlock(&wg->mu);
}

/* Starts the filling group.  REQUIRES: the committer is idle. */
static void start_group(wgroup *wg)
{
    group *grp = &wg->g[wg->cur];
    if (grp->npend == 0)
        return;
    if (!grp->sync) {
        /* No fdatasync to wait for: one write(2), done here. */
        commit(wg, grp);
        return;
    }
    pthread_mutex_lock(&wg->mu);
    wg->handed = grp;
    pthread_cond_signal(&wg->cv);
    pthread_mutex_unlock(&wg->mu);
    wg->cur ^= 1;
}

void wgroup_flush(wgroup *wg)
{
    if (wg->g[wg->cur].npend == 0)
        return;
    pthread_mutex_lock(&wg->mu);
    bool idle = wg->handed == NULL;
    pthread_mutex_unlock(&wg->mu);
    if (idle)
        start_group(wg);
}

void wgroup_settle(wgroup *wg, session *s)
{
    if (atomic_load_explicit(&s->pending_writes, memory_order_acquire) == 0)
        return;
    wait_idle(wg);
    /* What is left of s is in the filling group: commit it now, here. */
    if (atomic_load_explicit(&s->pending_writes, memory_order_acquire) != 0)
        commit(wg, &wg->g[wg->cur]);
}

void wgroup_drain(wgroup *wg)
{
    wait_idle(wg);
    commit(wg, &wg->g[wg->cur]);
}

/* An encoded batch could not be appended whole (out of memory): nothing of
 * the filling group may be written; every request in it fails. */
static void fail_filling(wgroup *wg, int rc)
{
    group *grp = &wg->g[wg->cur];
    for (int i = 0; i < grp->npend; i++) {
        session *s = grp->pend[i].s;
        struct shm_cqe c = { .tag = grp->pend[i].tag, .status = rc };
        session_post(s, &c);
        session_wake(s);
        atomic_fetch_sub_explicit(&s->pending_writes, 1, memory_order_release);
        session_unref(s);
    }
    lsm_batch_clear(grp->batch);
    grp->npend = 0;
    grp->sync = false;
    grp->bytes = 0;
}

static void refuse(session *s, const struct shm_sqe *q, int rc)
{
    struct shm_cqe c = { .tag = q->tag, .status = rc };
    session_post(s, &c);
    session_wake(s);
}

static int add_entry(void *ctx, enum value_type type, slice key, slice value)
{
    return batch_put_raw(ctx, type, key, value);
}

/* Appends q's payload to b.  Returns 0, or the refusal (nothing appended
 * unless the return is -ENOMEM from the middle of a batch: *partial). */
static int append(wgroup *wg, session *s, lsm_batch *b, const struct shm_sqe *q,
                  bool *partial)
{
    const char *arena = shm_session_arena(s->shm);
    *partial = false;
    if (q->opcode == SHM_OP_PUT)
        return lsm_batch_put(b, arena + q->key_off, q->key_len, arena + q->val_off,
                             q->val_len);
    if (q->opcode == SHM_OP_DELETE)
        return lsm_batch_delete(b, arena + q->key_off, q->key_len);
    if (q->arg1 > UINT32_MAX)
        return -EINVAL;
    if (q->val_len > wg->scratch_cap) {
        size_t cap = wg->scratch_cap ? wg->scratch_cap : 4096;
        while (cap < q->val_len)
            cap *= 2;
        char *p = realloc(wg->scratch, cap);
        if (!p)
            return -ENOMEM;
        wg->scratch = p;
        wg->scratch_cap = cap;
    }
    memcpy(wg->scratch, arena + q->val_off, q->val_len);
    slice payload = slice_make(wg->scratch, q->val_len);
    if (batch_iterate(payload, (uint32_t)q->arg1, NULL, NULL) != 0)
        return -EINVAL; /* malformed: refused before anything is appended */
    int rc = batch_iterate(payload, (uint32_t)q->arg1, add_entry, b);
    *partial = rc != 0;
    return rc;
}

void wgroup_add(wgroup *wg, session *s, const struct shm_sqe *q)
{
    if (q->opcode == SHM_OP_WRITE_BATCH && q->arg1 == 0 && q->val_len == 0) {
        refuse(s, q, 0); /* an empty batch: a successful no-op */
        return;
    }
    group *grp = &wg->g[wg->cur];
    if (grp->npend == GROUP_MAX_REQS || grp->bytes >= GROUP_MAX_BYTES) {
        /* Full: wait for the committer, then start this one. */
        wait_idle(wg);
        start_group(wg);
        grp = &wg->g[wg->cur];
    }
    bool partial;
    int rc = append(wg, s, grp->batch, q, &partial);
    if (rc) {
        refuse(s, q, rc);
        if (partial)
            fail_filling(wg, rc);
        return;
    }
    session_ref(s);
    atomic_fetch_add_explicit(&s->pending_writes, 1, memory_order_relaxed);
    grp->pend[grp->npend++] = (pending_write){ s, q->tag };
    grp->sync |= (q->flags & SHM_SQ_SYNC) != 0;
    grp->bytes += (size_t)q->key_len + q->val_len;
}

int wgroup_new(daemon_ctx *d, int worker_index, uint32_t *kick, wgroup **out)
{
    wgroup *wg = calloc(1, sizeof *wg);
    if (!wg)
        return -ENOMEM;
    wg->d = d;
    wg->index = worker_index;
    wg->kick = kick;
    pthread_mutex_init(&wg->mu, NULL);
    pthread_cond_init(&wg->cv, NULL);
    wg->g[0].batch = lsm_batch_new();
    wg->g[1].batch = lsm_batch_new();
    int rc = (wg->g[0].batch && wg->g[1].batch) ? 0 : -ENOMEM;
    if (rc == 0)
        rc = -pthread_create(&wg->thread, NULL, committer_main, wg);
    if (rc) {
        lsm_batch_free(wg->g[0].batch);
        lsm_batch_free(wg->g[1].batch);
        free(wg);
        return rc;
    }
    wg->started = true;
    *out = wg;
    return 0;
}

void wgroup_free(wgroup *wg)
{
    if (!wg)
        return;
    wgroup_drain(wg);
    pthread_mutex_lock(&wg->mu);
    wg->stop = true;
    pthread_cond_signal(&wg->cv);
    pthread_mutex_unlock(&wg->mu);
    if (wg->started)
        pthread_join(wg->thread, NULL);
    lsm_batch_free(wg->g[0].batch);
    lsm_batch_free(wg->g[1].batch);
    pthread_mutex_destroy(&wg->mu);
    pthread_cond_destroy(&wg->cv);
    free(wg->scratch);
    free(wg);
}

void wgroup_counters(const wgroup *wg, uint64_t *groups, uint64_t *writes)
{
    *groups = atomic_load_explicit(&wg->groups, memory_order_relaxed);
    *writes = atomic_load_explicit(&wg->writes, memory_order_relaxed);
}
