/*
 * uid_quota.c — see uid_quota.h.
 *
 * The uids with something charged sit in a small array, searched linearly:
 * there are as many as uids with a session attached, a handful in practice
 * and at most max_clients.
 */
#include "uid_quota.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct uid_use {
    uid_t uid;
    uint64_t used[UIDQ_NRES];
} uid_use;

struct uidq {
    pthread_mutex_t mu;
    uint64_t limit[UIDQ_NRES];
    uid_t exempt;
    uid_use *u;          /* [mu] */
    size_t n, cap;       /* [mu] */
};

int uidq_new(const uint64_t limits[UIDQ_NRES], uid_t exempt, uidq **out)
{
    uidq *q = calloc(1, sizeof *q);
    if (!q)
        return -ENOMEM;
    pthread_mutex_init(&q->mu, NULL);
    memcpy(q->limit, limits, sizeof q->limit);
    q->exempt = exempt;
    *out = q;
    return 0;
}

void uidq_free(uidq *q)
{
    if (!q)
        return;
    free(q->u);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

/* REQUIRES: mu held. */
static uid_use *find(uidq *q, uid_t uid)
{
    for (size_t i = 0; i < q->n; i++)
        if (q->u[i].uid == uid)
            return &q->u[i];
    return NULL;
}

/* uid's entry, added when absent.  NULL on ENOMEM.  REQUIRES: mu held. */
static uid_use *find_or_add(uidq *q, uid_t uid)
{
    uid_use *e = find(q, uid);
    if (e)
        return e;
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 8;
        uid_use *a = realloc(q->u, cap * sizeof *a);
        if (!a)
            return NULL;
        q->u = a;
        q->cap = cap;
    }
    e = &q->u[q->n++];
    memset(e, 0, sizeof *e);
    e->uid = uid;
    return e;
}

/* Drops e when nothing is charged to it.  REQUIRES: mu held. */
static void maybe_remove(uidq *q, uid_use *e)
{
    for (int r = 0; r < UIDQ_NRES; r++)
        if (e->used[r])
            return;
    *e = q->u[--q->n];
}

int uidq_take(uidq *q, uid_t uid, uidq_res r, uint64_t n)
{
    if (!q)
        return 0;
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    uid_use *e = find_or_add(q, uid);
    if (!e) {
        rc = -ENOMEM;
    } else {
        uint64_t used = e->used[r], lim = q->limit[r];
        /* "n > lim - used" rather than "used + n > lim": no overflow. */
        bool over = uid != q->exempt && lim && (used > lim || n > lim - used);
        if (over || n > UINT64_MAX - used)
            rc = r == UIDQ_ARENA_BYTES ? -ENOMEM : -EMFILE;
        else
            e->used[r] = used + n;
        maybe_remove(q, e);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void uidq_give(uidq *q, uid_t uid, uidq_res r, uint64_t n)
{
    if (!q || n == 0)
        return;
    pthread_mutex_lock(&q->mu);
    uid_use *e = find(q, uid);
    if (e) {
        e->used[r] -= n < e->used[r] ? n : e->used[r];
        maybe_remove(q, e);
    }
    pthread_mutex_unlock(&q->mu);
}

uint64_t uidq_used(uidq *q, uid_t uid, uidq_res r)
{
    if (!q)
        return 0;
    pthread_mutex_lock(&q->mu);
    uid_use *e = find(q, uid);
    uint64_t v = e ? e->used[r] : 0;
    pthread_mutex_unlock(&q->mu);
    return v;
}

uint64_t uidq_limit(const uidq *q, uidq_res r)
{
    return q ? q->limit[r] : 0;
}

const char *uidq_key(uidq_res r)
{
    static const char *const keys[UIDQ_NRES] = {
        [UIDQ_SESSIONS] = "max_clients_per_uid",
        [UIDQ_ITERS] = "max_iters_per_uid",
        [UIDQ_SNAPSHOTS] = "max_snapshots_per_uid",
        [UIDQ_ARENA_BYTES] = "max_arena_bytes_per_uid",
    };
    return (unsigned)r < UIDQ_NRES ? keys[r] : "?";
}
