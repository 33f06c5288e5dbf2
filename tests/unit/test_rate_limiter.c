/* test_rate_limiter.c — the token bucket paces to its rate. */
#include "helpers.h"

#include <pthread.h>
#include <time.h>

#include "rate_limiter.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unlimited_does_not_wait),
        cmocka_unit_test(test_paces_to_rate),
        cmocka_unit_test(test_shared_between_threads),
        cmocka_unit_test(test_set_rate_unblocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
