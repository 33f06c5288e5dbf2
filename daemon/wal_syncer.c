/* wal_syncer.c — see wal_syncer.h. */
#include "wal_syncer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "session.h"

/* Syncer threads.  With one, no fdatasync runs while it posts a round's
 * completions and wakes their clients (tens of microseconds per client);
 * with two, the next round's fdatasync starts as soon as the previous one
 * ends while the other thread acknowledges.  A round is taken only when
 * no sync runs: taken earlier, it would wait inside the engine anyway (one
 * sync at a time, lsm.h) while the writes arriving meanwhile were left for
 * the round after, so each fdatasync would cover fewer writes.  Rounds
 * are acknowledged in the order they were taken. */
#define SYNCERS 2

/* Gathering.  With several clients each waiting for its synced write,
 * the rounds fall into step with them: the clients a round acknowledges
 * come back with their next write only after the following round was
 * taken, so they alternate between two cohorts and each fdatasync covers
 * about half of them.  So a thread about to take a round with fewer
 * writes than there were clients in the last two rounds waits for the
 * rest a little: at most half the last sync's time (a fast disk waits
 * little), and never more than GATHER_MAX_NS.  One client alone never
 * waits.  A wait that brings no write (clients that write now and then,
 * not in step) only adds latency: after one, the next rounds do not wait,
 * 1, 2, 4 ... up to GATHER_BACKOFF_MAX of them, until a wait pays again.
 * PostgreSQL's commit_delay / commit_siblings is the same idea with fixed
 * settings. */
#define GATHER_MAX_NS 200000u
#define GATHER_BACKOFF_MAX 64

/* The handed writes: an array the adders append to; a thread swaps it
 * with its own (empty) one and works on that without the lock. */
typedef struct ack_list {
    wal_ack *a;
    int n, cap;
} ack_list;

struct wal_syncer {
    lsm_db *db;
    pthread_t threads[SYNCERS];
    int nthreads;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* threads: writes were handed, or stop */
    pthread_cond_t done_cv;  /* flushers, threads: a round was acknowledged */
    ack_list handed;         /* [mu] */
    uint64_t upto;           /* [mu] highest position among handed */
    uint64_t added, acked;   /* [mu] writes ever handed, acknowledged */
    uint64_t rounds_taken;   /* [mu] rounds ever taken (round numbers) */
    uint64_t rounds_acked;   /* [mu] rounds acknowledged: 1 .. this one */
    bool syncing;            /* [mu] a thread is in its round's sync */
    bool gathering;          /* [mu] a thread waits to take a round */
    bool stop;               /* [mu] */
    uint64_t sync_ns;        /* [mu] how long the last sync took */
    int last_clients;        /* [mu] clients in the last acknowledged round */
    int writers;             /* [mu] clients in the last two of them */
    uint64_t gathers;        /* [mu] rounds taken after gathering */
    int backoff, skip;       /* [mu] after a wait that brought nothing:
                              * rounds not to wait now, and next time */
};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Clients of round r (acknowledged one round at a time, in order), for
 * the gathering: *clients = distinct clients, *fresh = those not in round
 * r - 1.  Round 0 (writes acknowledged outside the rounds) counts none. */
static void count_clients(const wal_ack *acks, int n, uint64_t r, int *clients, int *fresh)
{
    *clients = *fresh = 0;
    for (int i = 0; r && i < n; i++) {
        struct client_writes *w = &acks[i].s->writes;
        if (w->synced_round == r)
            continue;
        ++*clients;
        *fresh += w->synced_round + 1 != r;
        w->synced_round = r;
    }
}

/* Posts the acknowledgements of n writes with status rc: the client of a
 * run of consecutive acks is woken once. */
static void acknowledge(const wal_ack *acks, int n, int rc)
{
    for (int i = 0; i < n; i++) {
        struct shm_cqe c = { .tag = acks[i].tag, .status = rc };
        session_post(acks[i].s, &c);
    }
    for (int i = 0; i < n; i++) {
        session *s = acks[i].s;
        if (i + 1 == n || acks[i + 1].s != s)
            session_wake(s);
        /* Release: the worker's wait policy reads it relaxed; nothing
         * else depends on it (client_writes.h). */
        atomic_fetch_sub_explicit(&s->writes.pending, 1, memory_order_release);
        session_unref(s);
    }
}

static int sync_to(wal_syncer *sy, uint64_t pos, int n)
{
    int rc = lsm_sync_wal(sy->db, pos);
    if (rc)
        log_warn_limited("lsmd: WAL sync for %d synced writes failed: %s", n,
                         lsm_strerror(rc));
    return rc;
}

/* Called with mu held, before a round is taken: waits (mu released) for
 * as many writes as the recent rounds had clients, within the bound
 * above.  Writes handed meanwhile broadcast work_cv. */
static void gather(wal_syncer *sy)
{
    if (sy->stop || sy->handed.n >= sy->writers || sy->sync_ns == 0)
        return;
    if (sy->skip > 0) {
        sy->skip--;
        return;
    }
    int before = sy->handed.n;
    uint64_t wait = sy->sync_ns / 2 < GATHER_MAX_NS ? sy->sync_ns / 2 : GATHER_MAX_NS;
    uint64_t end = now_ns() + wait;
    struct timespec ts = { (time_t)(end / 1000000000u), (long)(end % 1000000000u) };
    sy->gathering = true;
    while (sy->handed.n < sy->writers && !sy->stop &&
           pthread_cond_timedwait(&sy->work_cv, &sy->mu, &ts) != ETIMEDOUT) {
    }
    sy->gathering = false;
    sy->gathers++;
    if (sy->handed.n > before) {
        sy->backoff = 0;
    } else {
        sy->backoff = sy->backoff ? 2 * sy->backoff : 1;
        if (sy->backoff > GATHER_BACKOFF_MAX)
            sy->backoff = GATHER_BACKOFF_MAX;
        sy->skip = sy->backoff;
    }
}

static void *syncer_main(void *arg)
{
    wal_syncer *sy = arg;
    ack_list mine = { 0 };
    pthread_mutex_lock(&sy->mu);
    for (;;) {
        while ((sy->handed.n == 0 || sy->syncing || sy->gathering) &&
               !(sy->stop && !sy->syncing && !sy->gathering))
            pthread_cond_wait(&sy->work_cv, &sy->mu);
        if (sy->handed.n == 0)
            break; /* stop, and nothing left */
        gather(sy);
        ack_list t = sy->handed;
        sy->handed = mine;
        mine = t;
        uint64_t pos = sy->upto, round = ++sy->rounds_taken;
        sy->syncing = true;
        pthread_mutex_unlock(&sy->mu);
        /* Writes handed while this sync runs make up the next round. */
        uint64_t t0 = now_ns();
        int rc = sync_to(sy, pos, mine.n);
        uint64_t took = now_ns() - t0;
        pthread_mutex_lock(&sy->mu);
        sy->syncing = false;
        sy->sync_ns = took;
        pthread_cond_broadcast(&sy->work_cv); /* the next round may go */
        while (sy->rounds_acked != round - 1) /* each client's order */
            pthread_cond_wait(&sy->done_cv, &sy->mu);
        pthread_mutex_unlock(&sy->mu);
        int clients, fresh;
        count_clients(mine.a, mine.n, round, &clients, &fresh);
        acknowledge(mine.a, mine.n, rc);
        pthread_mutex_lock(&sy->mu);
        sy->writers = sy->last_clients + fresh;
        sy->last_clients = clients;
        sy->rounds_acked = round;
        sy->acked += (uint64_t)mine.n;
        mine.n = 0;
        pthread_cond_broadcast(&sy->done_cv);
    }
    pthread_mutex_unlock(&sy->mu);
    free(mine.a);
    return NULL;
}

int wal_syncer_new(lsm_db *db, wal_syncer **out)
{
    wal_syncer *sy = calloc(1, sizeof *sy);
    if (!sy)
        return -ENOMEM;
    sy->db = db;
    pthread_mutex_init(&sy->mu, NULL);
    pthread_condattr_t ca; /* gather's deadline is on CLOCK_MONOTONIC */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sy->work_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&sy->done_cv, NULL);
    int rc = 0;
    for (int i = 0; i < SYNCERS && rc == 0; i++) {
        rc = pthread_create(&sy->threads[i], NULL, syncer_main, sy);
        if (rc == 0) {
            char name[16];
            snprintf(name, sizeof name, "lsmd-sync%d", i);
            pthread_setname_np(sy->threads[i], name);
            sy->nthreads++;
        }
    }
    if (rc) {
        wal_syncer_free(sy);
        return -rc;
    }
    *out = sy;
    return 0;
}

void wal_syncer_free(wal_syncer *sy)
{
    if (!sy)
        return;
    pthread_mutex_lock(&sy->mu);
    sy->stop = true;
    pthread_cond_broadcast(&sy->work_cv);
    pthread_mutex_unlock(&sy->mu);
    for (int i = 0; i < sy->nthreads; i++)
        pthread_join(sy->threads[i], NULL); /* they acknowledge what is left first */
    free(sy->handed.a);
    pthread_mutex_destroy(&sy->mu);
    pthread_cond_destroy(&sy->work_cv);
    pthread_cond_destroy(&sy->done_cv);
    free(sy);
}

void wal_syncer_add(wal_syncer *sy, const wal_ack *acks, int n, uint64_t pos)
{
    if (n <= 0)
        return;
    pthread_mutex_lock(&sy->mu);
    ack_list *h = &sy->handed;
    if (h->n + n > h->cap) {
        int cap = h->cap ? h->cap : 256;
        while (cap < h->n + n)
            cap *= 2;
        wal_ack *a = realloc(h->a, (size_t)cap * sizeof *a);
        if (!a) {
            pthread_mutex_unlock(&sy->mu);
            /* No room to hand them over: the caller syncs and acknowledges
             * them, after the writes handed before (their clients' order). */
            wal_syncer_flush(sy);
            acknowledge(acks, n, sync_to(sy, pos, n));
            return;
        }
        h->a = a;
        h->cap = cap;
    }
    memcpy(h->a + h->n, acks, (size_t)n * sizeof *acks);
    h->n += n;
    if (pos > sy->upto)
        sy->upto = pos;
    sy->added += (uint64_t)n;
    if (sy->gathering)
        pthread_cond_broadcast(&sy->work_cv); /* the gatherer, among the waiters */
    else
        pthread_cond_signal(&sy->work_cv);
    pthread_mutex_unlock(&sy->mu);
}

void wal_syncer_flush(wal_syncer *sy)
{
    pthread_mutex_lock(&sy->mu);
    uint64_t target = sy->added;
    while (sy->acked < target)
        pthread_cond_wait(&sy->done_cv, &sy->mu);
    pthread_mutex_unlock(&sy->mu);
}

void wal_syncer_stats_get(wal_syncer *sy, wal_syncer_stats *out)
{
    pthread_mutex_lock(&sy->mu);
    out->writes = sy->acked;
    out->rounds = sy->rounds_acked;
    out->gathers = sy->gathers;
    pthread_mutex_unlock(&sy->mu);
}
