/* io_buf_pool.c — see io_buf_pool.h. */
#include "io/io_buf_pool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "io/io_direct.h"

#define NCLASSES 5 /* 64 KiB .. 1 MiB */

struct idle {
    struct idle *next; /* stored in the idle buffer itself */
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct idle *g_idle[NCLASSES]; /* [g_mu] */
static size_t g_count[NCLASSES];      /* [g_mu] */

/* The class of a size within [MIN, MAX], or -1. */
static int class_of(size_t n)
{
    size_t c = IO_BUF_POOL_MIN;
    for (int i = 0; i < NCLASSES; i++, c <<= 1)
        if (n <= c)
            return i;
    return -1;
}

void *io_buf_get(size_t n, size_t *cap)
{
    int k = class_of(n);
    if (k < 0) {
        *cap = (size_t)io_align_up(n);
        return io_aligned_alloc(n);
    }
    size_t size = IO_BUF_POOL_MIN << k;
    pthread_mutex_lock(&g_mu);
    struct idle *p = g_idle[k];
    if (p) {
        g_idle[k] = p->next;
        g_count[k]--;
    }
    pthread_mutex_unlock(&g_mu);
    *cap = size;
    return p ? (void *)p : io_aligned_alloc(size);
}

void io_buf_put(void *p, size_t cap)
{
    if (!p)
        return;
    int k = class_of(cap);
    if (k >= 0 && cap == IO_BUF_POOL_MIN << k) {
        pthread_mutex_lock(&g_mu);
        if (g_count[k] < IO_BUF_POOL_CLASS_BYTES / cap) {
            struct idle *i = p;
            i->next = g_idle[k];
            g_idle[k] = i;
            g_count[k]++;
            p = NULL;
        }
        pthread_mutex_unlock(&g_mu);
    }
    free(p);
}

size_t io_buf_pool_idle(size_t cap)
{
    int k = class_of(cap);
    if (k < 0)
        return 0;
    pthread_mutex_lock(&g_mu);
    size_t n = g_count[k];
    pthread_mutex_unlock(&g_mu);
    return n * (IO_BUF_POOL_MIN << k);
}
