/* iter_lane.c — see iter_lane.h. */
#include "iter_lane.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm.h"
#include "server.h"

/* A run of iterator requests of one session, waiting for the lane. */
typedef struct lane_job {
    struct lane_job *next;   /* [mu] in the queue */
    session *s;              /* holds a reference until the hold ends */
    unsigned n;
    struct shm_sqe q[];      /* in the order taken */
} lane_job;

struct iter_lane {
    daemon_ctx *d;
    uint32_t *kick;

    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t job_cv;   /* lane: a job was queued, or stop */
    pthread_cond_t done_cv;  /* worker: a job finished */
    lane_job *head, *tail;   /* [mu] not taken yet */
    unsigned pending;        /* [mu] queued or being served */
    bool stop;               /* [mu] */

    iter_retired retired;    /* the lane thread's own */
    _Atomic uint64_t pages;
};

static bool is_page(const struct shm_sqe *q)
{
    return q->opcode == SHM_OP_ITER_OPEN || q->opcode == SHM_OP_ITER_NEXT ||
           q->opcode == SHM_OP_ITER_SCAN || q->opcode == SHM_OP_ITER_PIECE;
}

bool iter_lane_is_iter(const struct shm_sqe *q)
{
    return is_page(q) || q->opcode == SHM_OP_ITER_CLOSE;
}

bool iter_lane_wants(const session *s, const struct shm_sqe *q)
{
    return s->iter_cold && is_page(q);
}

/* iter_op, and whether it waited for the disk: ITER_LANE_READ_NS or more
 * for file reads, ITER_LANE_DISK_NS or more per read.  By the thread that
 * owns s's iterator table now. */
static bool serve_timed(daemon_ctx *d, iter_retired *r, session *s, const struct shm_sqe *q)
{
    uint64_t t0 = lsm_thread_read_ns(), n0 = lsm_thread_reads();
    iter_op(d, r, s, q);
    uint64_t ns = lsm_thread_read_ns() - t0, n = lsm_thread_reads() - n0;
    return ns >= ITER_LANE_READ_NS && ns >= n * ITER_LANE_DISK_NS;
}

void iter_lane_inline(daemon_ctx *d, iter_retired *r, session *s, const struct shm_sqe *q)
{
    bool slow = serve_timed(d, r, s, q);
    if (is_page(q))
        s->iter_cold = slow;
}

bool iter_lane_held(const session *s)
{
    return atomic_load_explicit(&s->iter_held, memory_order_acquire);
}

/* One job, on the lane thread: serve the run (the session stays cold
 * when one of its requests waited for the disk), wake, free what it
 * retired, end the hold, kick the worker. */
static void run(iter_lane *l, lane_job *j)
{
    session *s = j->s;
    bool slow = false;
    for (unsigned i = 0; i < j->n; i++)
        slow |= serve_timed(l->d, &l->retired, s, &j->q[i]);
    s->iter_cold = slow;
    s->need_wake = false; /* the worker finds it clear when the hold ends */
    session_wake(s);
    iter_retired_release(l->d, &l->retired); /* after the wake: no reply waits */
    atomic_fetch_add_explicit(&l->pages, j->n, memory_order_relaxed);
    /* Release: the table, need_wake and iter_cold go back to the worker;
     * pairs with the acquire in iter_lane_held.  The kick comes after, so a
     * worker that saw the session held and left it out of its wait set
     * wakes to serve (or detach) it. */
    atomic_store_explicit(&s->iter_held, false, memory_order_release);
    shm_server_kick(l->kick);
    session_unref(s);
    free(j);
}

static void *lane_main(void *arg)
{
    iter_lane *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->head && !l->stop)
            pthread_cond_wait(&l->job_cv, &l->mu);
        lane_job *j = l->head;
        if (!j)
            break;
        l->head = j->next;
        if (!l->head)
            l->tail = NULL;
        pthread_mutex_unlock(&l->mu);
        run(l, j); /* frees j */
        pthread_mutex_lock(&l->mu);
        l->pending--;
        pthread_cond_broadcast(&l->done_cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int iter_lane_add(iter_lane *l, session *s, const struct shm_sqe *q, unsigned n)
{
    lane_job *j = malloc(sizeof *j + n * sizeof *q);
    if (!j)
        return -ENOMEM;
    *j = (lane_job){ .s = s, .n = n };
    memcpy(j->q, q, n * sizeof *q);
    session_ref(s);
    /* Relaxed: the worker itself reads it next; the lane does not. */
    atomic_store_explicit(&s->iter_held, true, memory_order_relaxed);
    pthread_mutex_lock(&l->mu);
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->pending++;
    pthread_cond_signal(&l->job_cv);
    pthread_mutex_unlock(&l->mu);
    return 0;
}

unsigned iter_lane_drain(iter_lane *l)
{
    pthread_mutex_lock(&l->mu);
    unsigned n = l->pending;
    while (l->pending > 0)
        pthread_cond_wait(&l->done_cv, &l->mu);
    pthread_mutex_unlock(&l->mu);
    return n;
}

uint64_t iter_lane_pages(const iter_lane *l)
{
    return atomic_load_explicit(&l->pages, memory_order_relaxed);
}

static void stop(iter_lane *l)
{
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_broadcast(&l->job_cv);
    pthread_mutex_unlock(&l->mu);
    if (l->started)
        pthread_join(l->thread, NULL);
}

static void destroy(iter_lane *l)
{
    iter_retired_free(l->d, &l->retired);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->job_cv);
    pthread_cond_destroy(&l->done_cv);
    free(l);
}

int iter_lane_new(daemon_ctx *d, int worker_index, uint32_t *kick, iter_lane **out)
{
    iter_lane *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->d = d;
    l->kick = kick;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->job_cv, NULL);
    pthread_cond_init(&l->done_cv, NULL);
    int rc = -pthread_create(&l->thread, NULL, lane_main, l);
    if (rc) {
        destroy(l);
        return rc;
    }
    char name[16];
    snprintf(name, sizeof name, "lsmd-i%d", worker_index);
    pthread_setname_np(l->thread, name);
    l->started = true;
    *out = l;
    return 0;
}

void iter_lane_free(iter_lane *l)
{
    if (!l)
        return;
    iter_lane_drain(l);
    stop(l);
    destroy(l);
}
