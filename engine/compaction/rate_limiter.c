/* rate_limiter.c — see rate_limiter.h.
 *
 * The bucket refills continuously at `rate` bytes per second and holds at
 * most 100 ms of budget, so an idle period does not allow a long burst.  A
 * request may drive the balance negative; the caller then sleeps for the
 * debt.  One mutex: requests are per compaction block (KiB..MiB), rare
 * enough that contention does not matter. */
#include "compaction/rate_limiter.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct rate_limiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* rate changes wake sleepers */
    uint64_t rate;           /* bytes/s, 0 = unlimited [mu] */
    double balance;          /* bytes available [mu] */
    uint64_t last_ns;        /* last refill [mu] */
    _Atomic uint64_t wait_ns;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

rate_limiter *rate_limiter_new(uint64_t bytes_per_sec)
{
    rate_limiter *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    pthread_mutex_init(&rl->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rl->cv, &ca);
    pthread_condattr_destroy(&ca);
    rl->rate = bytes_per_sec;
    rl->last_ns = now_ns();
    return rl;
}

void rate_limiter_free(rate_limiter *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    pthread_cond_destroy(&rl->cv);
    free(rl);
}

void rate_limiter_set_rate(rate_limiter *rl, uint64_t bytes_per_sec)
{
    pthread_mutex_lock(&rl->mu);
    rl->rate = bytes_per_sec;
    rl->balance = 0;
    rl->last_ns = now_ns();
    pthread_cond_broadcast(&rl->cv);
    pthread_mutex_unlock(&rl->mu);
}

uint64_t rate_limiter_rate(const rate_limiter *rl)
{
    rate_limiter *m = (rate_limiter *)rl;
    pthread_mutex_lock(&m->mu);
    uint64_t r = m->rate;
    pthread_mutex_unlock(&m->mu);
    return r;
}

/* REQUIRES: mu held, rate > 0. */
static void refill(rate_limiter *rl)
{
    uint64_t now = now_ns();
    rl->balance += (double)(now - rl->last_ns) * (double)rl->rate / 1e9;
    rl->last_ns = now;
    double cap = (double)rl->rate / 10; /* 100 ms of burst */
    if (rl->balance > cap)
        rl->balance = cap;
}

void rate_limiter_request(rate_limiter *rl, uint64_t n)
{
    if (!rl)
        return;
    pthread_mutex_lock(&rl->mu);
    while (n > 0 && rl->rate > 0) {
        uint64_t slice = n < rl->rate ? n : rl->rate;
        refill(rl);
        rl->balance -= (double)slice;
        n -= slice;
        if (rl->balance >= 0)
            continue;
        /* Sleep off the debt; a rate change wakes us early. */
        uint64_t t0 = now_ns();
        uint64_t debt_ns = (uint64_t)(-rl->balance * 1e9 / (double)rl->rate);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t until = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + debt_ns;
        ts.tv_sec = (time_t)(until / 1000000000u);
        ts.tv_nsec = (long)(until % 1000000000u);
        pthread_cond_timedwait(&rl->cv, &rl->mu, &ts);
        atomic_fetch_add_explicit(&rl->wait_ns, now_ns() - t0, memory_order_relaxed);
    }
    pthread_mutex_unlock(&rl->mu);
}

uint64_t rate_limiter_wait_ns(const rate_limiter *rl)
{
    return atomic_load_explicit(&rl->wait_ns, memory_order_relaxed);
}
