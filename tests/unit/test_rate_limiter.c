/* test_rate_limiter.c — the token bucket paces to its rate. */
#include "helpers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "compaction/rate_limiter.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_unlimited_does_not_wait(void **state)
{
    (void)state;
    rate_limiter *rl = rate_limiter_new(0);
    assert_non_null(rl);
    double t0 = now_s();
    for (int i = 0; i < 100000; i++)
        rate_limiter_request(rl, 1 << 20);
    assert_true(now_s() - t0 < 1.0);
    assert_int_equal(rate_limiter_wait_ns(rl), 0);
    rate_limiter_free(rl);
}

static void test_paces_to_rate(void **state)
{
    (void)state;
    /* 4 MB/s; ask for 2 MB in 64 KiB pieces: about 0.5 s minus the burst. */
    rate_limiter *rl = rate_limiter_new(4000000);
    double t0 = now_s();
    for (int i = 0; i < 32; i++)
        rate_limiter_request(rl, 62500);
    double dt = now_s() - t0;
    assert_true(dt >= 0.35);
    assert_true(dt < 3.0);
    assert_true(rate_limiter_wait_ns(rl) > 0);
    rate_limiter_free(rl);
}

struct arg { rate_limiter *rl; };

static void *requester(void *p)
{
    struct arg *a = p;
    for (int i = 0; i < 8; i++)
        rate_limiter_request(a->rl, 125000);
    return NULL;
}

static void test_shared_between_threads(void **state)
{
    (void)state;
    /* 2 threads x 1 MB at 4 MB/s: together about 0.5 s, not 0.25 s. */
    rate_limiter *rl = rate_limiter_new(4000000);
    pthread_t t[2];
    struct arg a = { rl };
    double t0 = now_s();
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, requester, &a);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_true(now_s() - t0 >= 0.35);
    rate_limiter_free(rl);
}

static void test_set_rate_unblocks(void **state)
{
    (void)state;
    rate_limiter *rl = rate_limiter_new(1000); /* 1 KB/s: 1 MB would take ages */
    rate_limiter_set_rate(rl, 0);
    assert_int_equal(rate_limiter_rate(rl), 0);
    double t0 = now_s();
    rate_limiter_request(rl, 1 << 20);
    assert_true(now_s() - t0 < 0.5);
    rate_limiter_free(rl);
}

/* A request already asleep under the old rate sees a new one at once: a
 * running compaction speeds up when lsmd's admin lifts compaction_rate_mb
 * (test_admin_auth checks it end to end). */
struct sleeper {
    rate_limiter *rl;
    double done;        /* read after the join */
    _Atomic int awake;  /* read while it runs */
};

static void *sleeper_main(void *p)
{
    struct sleeper *a = p;
    rate_limiter_request(a->rl, 1 << 20); /* 1 MB at 1 KB/s: ~17 minutes */
    a->done = now_s();
    atomic_store(&a->awake, 1);
    return NULL;
}

static void test_set_rate_wakes_sleeper(void **state)
{
    (void)state;
    static const uint64_t rates[] = { 0, 100u << 20 }; /* unlimited; 100 MB/s */
    for (size_t i = 0; i < 2; i++) {
        struct sleeper a = { rate_limiter_new(1000), 0, 0 };
        pthread_t t;
        pthread_create(&t, NULL, sleeper_main, &a);
        usleep(200000);
        assert_false(atomic_load(&a.awake)); /* still asleep under the old rate */
        double t0 = now_s();
        rate_limiter_set_rate(a.rl, rates[i]);
        pthread_join(t, NULL);
        assert_true(a.done - t0 < 0.1);
        rate_limiter_free(a.rl);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unlimited_does_not_wait),
        cmocka_unit_test(test_paces_to_rate),
        cmocka_unit_test(test_shared_between_threads),
        cmocka_unit_test(test_set_rate_unblocks),
        cmocka_unit_test(test_set_rate_wakes_sleeper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
