/* parked.c — see parked.h. */
#include "parked.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "server.h"
#include "session.h"
#include "snapshot_registry.h"
#include "wait.h"

#define KEY_INLINE 112u  /* keys up to this long live in the entry */
#define POLL_BATCH 64u

/* One get in flight: the getq's user pointer. */
typedef struct park_entry {
    struct session *s;    /* a reference of its own */
    uint64_t snap_id;     /* registry reader reference, 0 = none */
    uint32_t tag;
    uint32_t next_free;
    char *key;            /* kinline or malloc'd */
    char kinline[KEY_INLINE];
} park_entry;

struct parked {
    daemon_ctx *d;
    lsm_getq *q;
    int efd;
    uint32_t *kick;
    park_entry *e;        /* PARKED_DEPTH */
    uint32_t free_head;   /* UINT32_MAX = none */
    unsigned count;       /* entries in use */
    park_entry *current;  /* parked_get's entry while it polls */
    bool current_done;

    /* the watcher: arm is its futex word (1 = the worker sleeps with gets
     * in flight: watch the eventfd) */
    pthread_t watcher;
    bool watching;
    uint32_t arm;
    _Atomic int stop;
};

/* ---- entries -------------------------------------------------------------- */

static park_entry *entry_take(parked *p)
{
    if (p->free_head == UINT32_MAX)
        return NULL;
    park_entry *en = &p->e[p->free_head];
    p->free_head = en->next_free;
    p->count++;
    return en;
}

/* Drops what en holds and puts it back on the free list. */
static void entry_put(parked *p, park_entry *en)
{
    if (en->key != en->kinline)
        free(en->key);
    en->key = NULL;
    if (en->snap_id)
        snapreg_unref(p->d->snaps, en->snap_id);
    en->snap_id = 0;
    if (en->s)
        session_unref(en->s);
    en->s = NULL;
    en->next_free = p->free_head;
    p->free_head = (uint32_t)(en - p->e);
    p->count--;
}

/* Posts r's reply (unless its client is gone) and frees its entry.
 * Returns the session to wake, or NULL. */
static struct session *finish(parked *p, const lsm_get_result *r)
{
    park_entry *en = r->user;
    struct session *s = en->s, *to_wake = NULL;
    if (en == p->current)
        p->current_done = true;
    /* A dying session's client is gone or going: its reply is dropped (the
     * segment stayed mapped through en's reference, so the engine's copy
     * into the arena was harmless). */
    if (!atomic_load_explicit(&s->dying, memory_order_acquire)) {
        struct shm_cqe c = { .tag = en->tag, .status = r->status, .r0 = r->value_len };
        session_post(s, &c);
        s->need_wake = true;
        /* parked_get's own session is woken by serve() at the end of its
         * turn, with the rest of its replies. */
        if (en != p->current)
            to_wake = s;
    }
    entry_put(p, en);
    return to_wake;
}

unsigned parked_poll(parked *p)
{
    unsigned total = 0;
    lsm_get_result r[POLL_BATCH];
    size_t got;
    do {
        got = lsm_getq_poll(p->q, r, POLL_BATCH);
        struct session *wake[POLL_BATCH];
        size_t nw = 0;
        for (size_t i = 0; i < got; i++) {
            struct session *s = finish(p, &r[i]);
            if (s) {
                /* Keep a reference until it is woken (finish dropped the
                 * entry's). */
                session_ref(s);
                wake[nw++] = s;
            }
        }
        for (size_t i = 0; i < nw; i++) {
            if (wake[i]->need_wake) {
                wake[i]->need_wake = false;
                session_wake(wake[i]);
            }
            session_unref(wake[i]);
        }
        total += (unsigned)got;
    } while (got == POLL_BATCH);
    return total;
}

/* ---- serving a GET ---------------------------------------------------------- */

enum parked_how parked_get(parked *p, struct session *s, const struct shm_sqe *q)
{
    struct shm_cqe c = { .tag = q->tag };
    park_entry *en = entry_take(p);
    if (!en)
        return PARKED_FULL;
    en->s = NULL;
    en->snap_id = 0;
    en->tag = q->tag;
    en->key = q->key_len <= KEY_INLINE ? en->kinline : malloc(q->key_len);
    if (!en->key) {
        en->key = en->kinline;
        entry_put(p, en);
        c.status = -ENOMEM;
        goto reply;
    }
    const lsm_snapshot *snap = NULL;
    if (q->arg0) {
        c.status = snapreg_ref(p->d->snaps, s->id, q->arg0, &snap);
        if (c.status) {
            entry_put(p, en);
            goto reply;
        }
        en->snap_id = q->arg0;
    }
    /* The key is read once into private memory: the engine compares it many
     * times (and keeps pointing at it) and must not see it change.  The
     * value goes straight into the client's arena. */
    char *arena = shm_session_arena(s->shm);
    memcpy(en->key, arena + q->key_off, q->key_len);
    /* Most gets are answered from memory: as lsm_get_into, no queue. */
    size_t n = 0;
    c.status = lsm_get_into_cached(p->d->db, snap, en->key, q->key_len, arena + q->out_off,
                                   q->out_cap, &n);
    if (c.status != -EWOULDBLOCK) {
        c.r0 = n;
        entry_put(p, en);
        goto reply;
    }
    session_ref(s);
    en->s = s;
    c.status = lsm_getq_start(p->q, snap, en->key, q->key_len, arena + q->out_off, q->out_cap,
                              en);
    if (c.status) {
        entry_put(p, en);
        goto reply;
    }
    /* Its block may have come into the cache meanwhile: then the result
     * is there for this very poll. */
    p->current = en;
    p->current_done = false;
    parked_poll(p);
    p->current = NULL;
    return p->current_done ? PARKED_ANSWERED : PARKED_PARKED;
reply:
    session_post(s, &c);
    s->need_wake = true;
    return PARKED_ANSWERED;
}

void parked_plug(parked *p)
{
    lsm_getq_plug(p->q);
}

void parked_unplug(parked *p)
{
    lsm_getq_unplug(p->q);
}

bool parked_watched(const parked *p)
{
    return p->watching;
}

unsigned parked_count(const parked *p)
{
    return p->count;
}

/* ---- the watcher -------------------------------------------------------------- */

static void *watcher_main(void *arg)
{
    parked *p = arg;
    pthread_setname_np(pthread_self(), "lsmd-park");
    while (!atomic_load_explicit(&p->stop, memory_order_acquire)) {
        if (__atomic_load_n(&p->arm, __ATOMIC_ACQUIRE) == 0) {
            shm_futex_wait(&p->arm, 0, 0);
            continue;
        }
        struct pollfd pfd = { .fd = p->efd, .events = POLLIN };
        int rc = poll(&pfd, 1, 50);
        if (rc <= 0)
            continue; /* timeout (re-check stop and arm) or EINTR */
        eventfd_t v;
        (void)eventfd_read(p->efd, &v);
        /* Disarm before the kick: the worker re-arms (and re-polls) before
         * its next sleep, so a completion after this read is not lost. */
        __atomic_store_n(&p->arm, 0u, __ATOMIC_SEQ_CST);
        shm_server_kick(p->kick);
    }
    return NULL;
}

unsigned parked_sleep_begin(parked *p)
{
    /* [A] Arm, then poll: a completion before the poll is found by it; one
     * after it signals the eventfd, which the armed watcher sees. */
    __atomic_store_n(&p->arm, 1u, __ATOMIC_SEQ_CST);
    shm_futex_wake(&p->arm, 1);
    return parked_poll(p);
}

void parked_sleep_end(parked *p)
{
    __atomic_store_n(&p->arm, 0u, __ATOMIC_RELAXED);
}

/* ---- life ----------------------------------------------------------------------- */

int parked_new(daemon_ctx *d, uint32_t *kick, parked **out)
{
    parked *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->d = d;
    p->kick = kick;
    /* Touched here, on the worker thread after its binding: node-local. */
    p->e = malloc(PARKED_DEPTH * sizeof *p->e);
    if (!p->e) {
        free(p);
        return -ENOMEM;
    }
    memset(p->e, 0, PARKED_DEPTH * sizeof *p->e);
    for (uint32_t i = 0; i < PARKED_DEPTH; i++)
        p->e[i].next_free = i + 1 < PARKED_DEPTH ? i + 1 : UINT32_MAX;
    p->free_head = 0;
    int rc = lsm_getq_new(d->db, PARKED_DEPTH, &p->q);
    if (rc) {
        free(p->e);
        free(p);
        return rc;
    }
    p->efd = lsm_getq_fd(p->q);
    if (p->efd >= 0) {
        rc = pthread_create(&p->watcher, NULL, watcher_main, p);
        if (rc) {
            lsm_getq_destroy(p->q);
            free(p->e);
            free(p);
            return -rc;
        }
        p->watching = true;
    } else {
        log_warn("parked gets: the get queue has no eventfd; a worker with gets in "
                 "flight will not sleep");
    }
    *out = p;
    return 0;
}

void parked_free(parked *p)
{
    if (!p)
        return;
    if (p->watching) {
        atomic_store_explicit(&p->stop, 1, memory_order_release);
        __atomic_store_n(&p->arm, 1u, __ATOMIC_SEQ_CST);
        shm_futex_wake(&p->arm, 1);
        (void)eventfd_write(p->efd, 1); /* out of its poll at once */
        pthread_join(p->watcher, NULL);
    }
    /* Collect what finished; lsm_getq_destroy waits for the reads still in
     * flight and drops those gets, whose entries are released below. */
    parked_poll(p);
    lsm_getq_destroy(p->q);
    for (uint32_t i = 0; i < PARKED_DEPTH; i++)
        if (p->e[i].s) {
            p->e[i].key = p->e[i].key ? p->e[i].key : p->e[i].kinline;
            entry_put(p, &p->e[i]);
        }
    free(p->e);
    free(p);
}
