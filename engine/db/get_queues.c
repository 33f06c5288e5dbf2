/* get_queues.c — see get_queues.h. */
#include "db/get_queues.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct get_queue_pool {
    pthread_mutex_t mu;
    io_queue *idle[GET_QUEUES_MAX_IDLE]; /* [mu] */
    int nidle;                           /* [mu] */
};

/* The pool, made by the first multi-get (lsm_open stays as it was). */
static struct get_queue_pool *pool_of(lsm_db *db)
{
    struct get_queue_pool *p = atomic_load_explicit(&db->get_queues, memory_order_acquire);
    if (p)
        return p;
    struct get_queue_pool *mine = calloc(1, sizeof *mine);
    if (!mine)
        return NULL;
    pthread_mutex_init(&mine->mu, NULL);
    if (atomic_compare_exchange_strong_explicit(&db->get_queues, &p, mine,
                                                memory_order_acq_rel, memory_order_acquire))
        return mine;
    pthread_mutex_destroy(&mine->mu);
    free(mine);
    return p; /* another thread's, loaded by the failed exchange */
}

int db_get_queue_take(lsm_db *db, io_queue **out)
{
    struct get_queue_pool *p = pool_of(db);
    if (!p)
        return -ENOMEM;
    pthread_mutex_lock(&p->mu);
    io_queue *q = p->nidle ? p->idle[--p->nidle] : NULL;
    pthread_mutex_unlock(&p->mu);
    if (q) {
        *out = q;
        return 0;
    }
    return io_queue_new(db->io, GET_QUEUE_DEPTH, out);
}

void db_get_queue_give(lsm_db *db, io_queue *q)
{
    struct get_queue_pool *p = atomic_load_explicit(&db->get_queues, memory_order_acquire);
    pthread_mutex_lock(&p->mu);
    if (p->nidle < GET_QUEUES_MAX_IDLE) {
        p->idle[p->nidle++] = q;
        q = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    if (q)
        io_queue_destroy(q);
}

void db_get_queues_free(lsm_db *db)
{
    struct get_queue_pool *p = atomic_load_explicit(&db->get_queues, memory_order_acquire);
    if (!p)
        return;
    for (int i = 0; i < p->nidle; i++)
        io_queue_destroy(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    free(p);
    db->get_queues = NULL;
}
