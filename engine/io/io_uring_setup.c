/*
 * io_uring_setup.c — every ring's setup and teardown, under one mutex
 * (why: io_internal.h, uring_ring_init).  Its own file so the blocking
 * backend (io_uring.c) and the queue (io_uring_queue.c) both call it
 * without calling each other.
 */
#include <liburing.h>
#include <pthread.h>

#include "io/io_internal.h"

static pthread_mutex_t g_setup_mu = PTHREAD_MUTEX_INITIALIZER;

int uring_ring_init(unsigned depth, struct io_uring *ring, unsigned flags)
{
    pthread_mutex_lock(&g_setup_mu);
    int rc = io_uring_queue_init(depth, ring, flags);
    pthread_mutex_unlock(&g_setup_mu);
    return rc;
}

void uring_ring_exit(struct io_uring *ring)
{
    pthread_mutex_lock(&g_setup_mu);
    io_uring_queue_exit(ring);
    pthread_mutex_unlock(&g_setup_mu);
}
