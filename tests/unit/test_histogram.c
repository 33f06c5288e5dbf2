/* test_histogram.c — bucket layout, percentiles against exact sorted-array
 * percentiles (uniform, exponential, bimodal, full-range), merge, 128-bit
 * sums, concurrent atomic recording, JSON, fixed exporter buckets. */
#include "helpers.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/histogram.h"

static const double k_ps[] = { 0,  0.001, 0.1, 1,  5,  10,   25,    33.3,   50,  66.7, 75,
                               79, 80,    81,  90, 95, 99.0, 99.5, 99.9, 99.99, 99.999, 100 };
#define NPS (sizeof(k_ps) / sizeof(k_ps[0]))

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* |got - want| <= want / 64, in integers (no overflow near 2^64). */
static void assert_within_error(uint64_t got, uint64_t want)
{
    uint64_t diff = got > want ? got - want : want - got;
    if (diff > want / (2 * HISTOGRAM_SUB_COUNT))
        fail_msg("percentile %" PRIu64 " is more than 1/64 from the true %" PRIu64, got, want);
}

/* Records v[0..n) into a fresh histogram and checks every k_ps percentile,
 * singly and in one histogram_percentiles call (ascending and reversed),
 * against the exact nearest-rank value of the sorted samples. */
static void check_against_sorted(uint64_t *v, size_t n)
{
    histogram h;
    histogram_init(&h);
    for (size_t i = 0; i < n; i++)
        histogram_record(&h, v[i]);
    assert_true(histogram_check(&h));
    qsort(v, n, sizeof(*v), cmp_u64);
    assert_true(h.min == v[0]);
    assert_true(h.max == v[n - 1]);

    uint64_t batch[NPS], rev[NPS];
    double rps[NPS];
    for (size_t i = 0; i < NPS; i++)
        rps[i] = k_ps[NPS - 1 - i];
    histogram_percentiles(&h, k_ps, NPS, batch);
    histogram_percentiles(&h, rps, NPS, rev);
    for (size_t i = 0; i < NPS; i++) {
        uint64_t want = v[histogram_rank(n, k_ps[i]) - 1];
        uint64_t got = histogram_percentile(&h, k_ps[i]);
        assert_within_error(got, want);
        assert_true(got >= h.min && got <= h.max);
        assert_true(batch[i] == got);
        assert_true(rev[NPS - 1 - i] == got);
    }
    assert_true(histogram_percentile(&h, 0) == v[0]);
    assert_true(histogram_percentile(&h, 100) == v[n - 1]);
}

/* Every bucket is contiguous with the next, maps back to itself, and is at
 * most 1/32 of its lower bound wide; the whole uint64 range is covered. */
static void test_bucket_layout(void **state)
{
    (void)state;
    assert_int_equal(histogram_bucket_low(0), 0);
    assert_true(histogram_bucket_high(HISTOGRAM_BUCKETS - 1) == UINT64_MAX);
    assert_int_equal(histogram_bucket(UINT64_MAX), HISTOGRAM_BUCKETS - 1);
    for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++) {
        uint64_t lo = histogram_bucket_low(b), hi = histogram_bucket_high(b);
        assert_true(lo <= hi);
        if (b > 0)
            assert_true(lo == histogram_bucket_high(b - 1) + 1);
        assert_int_equal(histogram_bucket(lo), b);
        assert_int_equal(histogram_bucket(hi), b);
        if (b < HISTOGRAM_EXACT_LIMIT)
            assert_true(lo == b && hi == b);
        else
            assert_true((hi - lo + 1) * HISTOGRAM_SUB_COUNT <= lo);
    }
    /* The worked example of base/histogram.h. */
    assert_int_equal(histogram_bucket(1000), 190);
    assert_int_equal(histogram_bucket_low(190), 992);
    assert_int_equal(histogram_bucket_high(190), 1007);
    /* Powers of two and their neighbours. */
    for (unsigned e = 0; e < 64; e++) {
        uint64_t p = UINT64_C(1) << e;
        for (int d = -1; d <= 1; d++) {
            uint64_t v = p + (uint64_t)(int64_t)d;
            unsigned b = histogram_bucket(v);
            assert_true(b < HISTOGRAM_BUCKETS);
            assert_true(histogram_bucket_low(b) <= v && v <= histogram_bucket_high(b));
        }
    }
}

static void test_rank(void **state)
{
    (void)state;
    assert_int_equal(histogram_rank(10, 90), 9);
    assert_int_equal(histogram_rank(10, 91), 10);
    assert_int_equal(histogram_rank(1000, 99.9), 999);
    assert_int_equal(histogram_rank(10000, 99.99), 9999);
    assert_int_equal(histogram_rank(100000, 99.999), 99999);
    assert_int_equal(histogram_rank(3, 50), 2);
    assert_int_equal(histogram_rank(1, 50), 1);
    assert_int_equal(histogram_rank(1000, 0), 1);
    assert_int_equal(histogram_rank(1000, -5), 1);
    assert_int_equal(histogram_rank(1000, __builtin_nan("")), 1);
    assert_int_equal(histogram_rank(1000, 0.01), 1);
    assert_int_equal(histogram_rank(1000, 100), 1000);
    assert_int_equal(histogram_rank(1000, 250), 1000);
    assert_true(histogram_rank(UINT64_MAX, 100) == UINT64_MAX);
    assert_true(histogram_rank(UINT64_C(1) << 63, 50) == UINT64_C(1) << 62);
}

/* 0..63 are exact: each percentile of samples below 64 is the true one. */
static void test_exact_small(void **state)
{
    (void)state;
    histogram h;
    histogram_init(&h);
    for (uint64_t v = 0; v < HISTOGRAM_EXACT_LIMIT; v++)
        histogram_record(&h, v);
    for (unsigned k = 1; k <= HISTOGRAM_EXACT_LIMIT; k++) {
        double p = 100.0 * (k - 0.5) / HISTOGRAM_EXACT_LIMIT; /* rank k */
        assert_int_equal(histogram_percentile(&h, p), k - 1);
    }

    /* Random multiplicities, compared with the sorted samples exactly. */
    th_rng r;
    th_rng_seed(&r, th_seed());
    size_t n = 5000;
    uint64_t *v = malloc(n * sizeof(*v));
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = th_rng_below(&r, th_rng_below(&r, HISTOGRAM_EXACT_LIMIT) + 1);
    histogram_init(&h);
    for (size_t i = 0; i < n; i++)
        histogram_record(&h, v[i]);
    qsort(v, n, sizeof(*v), cmp_u64);
    for (size_t i = 0; i < NPS; i++)
        assert_int_equal(histogram_percentile(&h, k_ps[i]), v[histogram_rank(n, k_ps[i]) - 1]);
    free(v);
}

static void test_uniform_million(void **state)
{
    (void)state;
    histogram h;
    histogram_init(&h);
    for (uint64_t v = 1; v <= 1000000; v++)
        histogram_record(&h, v);
    assert_int_equal(h.count, 1000000);
    assert_int_equal(h.min, 1);
    assert_int_equal(h.max, 1000000);
    assert_true(histogram_mean(&h) == 500000.5);
    assert_within_error(histogram_percentile(&h, 50), 500000);
    assert_within_error(histogram_percentile(&h, 90), 900000);
    assert_within_error(histogram_percentile(&h, 99), 990000);
    assert_within_error(histogram_percentile(&h, 99.9), 999000);
    assert_int_equal(histogram_percentile(&h, 100), 1000000);
    assert_int_equal(histogram_percentile(&h, 0), 1);
    /* Tighter than the bound, as a sanity check of the bucket middle: the
     * bucket holding 500000 is 499712..503807 (width 4096). */
    uint64_t p50 = histogram_percentile(&h, 50);
    assert_true(p50 >= 499712 && p50 <= 503807);
}

/* ln(u) for u in (0, 1] without libm (the test links no -lm): u = m * 2^e
 * with m in [1, 2), ln m = 2 atanh((m-1)/(m+1)) by its series. */
static double ln_unit(double u)
{
    int e = 0;
    while (u < 1.0) {
        u *= 2.0;
        e--;
    }
    double z = (u - 1.0) / (u + 1.0), z2 = z * z, term = z, s = 0.0;
    for (int k = 1; k < 40; k += 2) {
        s += term / k;
        term *= z2;
    }
    return 2.0 * s + e * 0.69314718055994530942;
}

static void test_exponential(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    size_t n = 100000;
    uint64_t *v = malloc(n * sizeof(*v));
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) {
        double u = (double)(th_rng_next(&r) >> 11) * 0x1p-53;
        v[i] = (uint64_t)(-ln_unit(1.0 - u) * 50000.0); /* mean 50 us */
    }
    check_against_sorted(v, n);
    free(v);
}

/* A fast path (80%, 20-30 us) and a slow one (20%, 5-8 ms). */
static void test_bimodal(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    size_t n = 100000;
    uint64_t *v = malloc(n * sizeof(*v));
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = th_rng_below(&r, 5) ? 20000 + th_rng_below(&r, 10001)
                                   : 5000000 + th_rng_below(&r, 3000001);
    check_against_sorted(v, n);
    free(v);
}

/* Log-uniform over the whole uint64 range, including values near 2^64. */
static void test_full_range(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    size_t n = 50000;
    uint64_t *v = malloc(n * sizeof(*v));
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = th_rng_next(&r) >> th_rng_below(&r, 64);
    check_against_sorted(v, n);
    free(v);
}

static void test_min_max_mean(void **state)
{
    (void)state;
    histogram h = HISTOGRAM_INITIALIZER, e;
    histogram_init(&e);
    assert_memory_equal(&h, &e, sizeof(h));
    assert_true(histogram_check(&h));
    assert_true(histogram_mean(&h) == 0.0);
    assert_int_equal(histogram_percentile(&h, 50), 0);
    assert_int_equal(histogram_percentile(&h, 0), 0);
    assert_int_equal(histogram_percentile(&h, 100), 0);

    static const uint64_t vals[] = { 7, 3, 1000003, 42 };
    for (size_t i = 0; i < 4; i++)
        histogram_record(&h, vals[i]);
    assert_int_equal(h.count, 4);
    assert_int_equal(h.min, 3);
    assert_int_equal(h.max, 1000003);
    assert_int_equal(h.sum, 1000055);
    assert_true(histogram_mean(&h) == 250013.75);
    assert_int_equal(histogram_percentile(&h, 0), 3);
    assert_int_equal(histogram_percentile(&h, 25), 3);
    assert_int_equal(histogram_percentile(&h, 50), 7);
    assert_int_equal(histogram_percentile(&h, 75), 42);
    assert_int_equal(histogram_percentile(&h, 76), 1000003);
    assert_int_equal(histogram_percentile(&h, 100), 1000003);

    /* One sample: every percentile is that sample, even far from exact. */
    histogram_init(&h);
    histogram_record(&h, 123456789);
    for (size_t i = 0; i < NPS; i++)
        assert_int_equal(histogram_percentile(&h, k_ps[i]), 123456789);
}

/* Samples near 2^63 and 2^64: the sum carries into sum_hi, nothing wraps. */
static void test_huge_values(void **state)
{
    (void)state;
    static const uint64_t vals[] = { UINT64_C(1) << 62,       (UINT64_C(1) << 63) - 1,
                                     UINT64_C(1) << 63,       (UINT64_C(1) << 63) + 1,
                                     UINT64_MAX - 1,          UINT64_MAX,
                                     UINT64_MAX,              UINT64_MAX };
    histogram h;
    histogram_init(&h);
    unsigned __int128 want = 0;
    for (size_t i = 0; i < 8; i++) {
        histogram_record(&h, vals[i]);
        want += vals[i];
    }
    assert_true(histogram_check(&h));
    assert_true(h.sum == (uint64_t)want);
    assert_true(h.sum_hi == (uint64_t)(want >> 64));
    assert_true(h.min == UINT64_C(1) << 62);
    assert_true(h.max == UINT64_MAX);
    assert_true(histogram_percentile(&h, 100) == UINT64_MAX);
    assert_within_error(histogram_percentile(&h, 50), vals[3]);
    assert_within_error(histogram_percentile(&h, 30), vals[2]);
    double mean = histogram_mean(&h), wantd = (double)want / 8.0;
    assert_true(mean > wantd * (1 - 1e-15) && mean < wantd * (1 + 1e-15));

    histogram_init(&h);
    for (int i = 0; i < 4; i++)
        histogram_record(&h, UINT64_MAX);
    assert_true(h.sum_hi == 3 && h.sum == UINT64_MAX - 3);
    assert_true(histogram_mean(&h) == (double)UINT64_MAX);
    assert_true(histogram_percentile(&h, 50) == UINT64_MAX);
}

static void fill_random(histogram *a, histogram *all, th_rng *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = th_rng_next(r) >> th_rng_below(r, 64);
        histogram_record(a, v);
        histogram_record(all, v);
    }
}

/* Merging equals recording everything into one, including across a pipe. */
static void test_merge(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    static histogram a, b, all, tmp; /* 15 KiB each: off the stack */
    histogram_init(&a);
    histogram_init(&b);
    histogram_init(&all);
    fill_random(&a, &all, &r, 20000);
    fill_random(&b, &all, &r, 30000);
    assert_true(a.sum_hi > 0 && b.sum_hi > 0); /* the carries are exercised */

    histogram_snapshot(&tmp, &a);
    assert_memory_equal(&tmp, &a, sizeof(a));
    histogram_merge(&tmp, &b);
    assert_memory_equal(&tmp, &all, sizeof(all));
    assert_true(histogram_check(&tmp));

    /* Empty into full and full into empty. */
    histogram e;
    histogram_init(&e);
    histogram_merge(&tmp, &e);
    assert_memory_equal(&tmp, &all, sizeof(all));
    histogram_merge(&e, &all);
    assert_memory_equal(&e, &all, sizeof(all));

    /* The low words of two sums overflow only when added together. */
    histogram x, y, xy;
    histogram_init(&x);
    histogram_init(&y);
    histogram_init(&xy);
    histogram_record(&x, UINT64_MAX);
    histogram_record(&xy, UINT64_MAX);
    histogram_record(&y, 2);
    histogram_record(&xy, 2);
    histogram_merge(&x, &y);
    assert_memory_equal(&x, &xy, sizeof(x));
    assert_true(x.sum_hi == 1 && x.sum == 1);

    /* Through a pipe, as lsmbench's client processes send theirs. */
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    assert_int_equal(write(fd[1], &b, sizeof(b)), (ssize_t)sizeof(b));
    close(fd[1]);
    size_t got = 0;
    while (got < sizeof(tmp)) {
        ssize_t k = read(fd[0], (char *)&tmp + got, sizeof(tmp) - got);
        assert_true(k > 0);
        got += (size_t)k;
    }
    close(fd[0]);
    assert_true(histogram_check(&tmp));
    histogram_merge(&a, &tmp);
    assert_memory_equal(&a, &all, sizeof(all));
}

/* histogram_check catches a mangled histogram. */
static void test_check(void **state)
{
    (void)state;
    static histogram h, bad;
    histogram_init(&h);
    for (uint64_t v = 100; v < 200; v++)
        histogram_record(&h, v);
    assert_true(histogram_check(&h));
    bad = h;
    bad.count++;
    assert_false(histogram_check(&bad));
    bad = h;
    bad.buckets[HISTOGRAM_BUCKETS - 1]++;
    bad.count++;
    assert_false(histogram_check(&bad)); /* max is not in the last bucket */
    bad = h;
    bad.min = 50;
    assert_false(histogram_check(&bad));
    bad = h;
    bad.sum = 5;
    assert_false(histogram_check(&bad)); /* sum below count * min */
    histogram_init(&bad);
    bad.max = 1;
    assert_false(histogram_check(&bad));
}

#define NTHREADS 4
#define PER_THREAD 100000

struct worker {
    histogram *shared;
    uint64_t seed;
};

static uint64_t worker_value(th_rng *r)
{
    return th_rng_next(r) >> th_rng_below(r, 64); /* full range: many carries */
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    th_rng r;
    th_rng_seed(&r, w->seed);
    for (int i = 0; i < PER_THREAD; i++)
        histogram_record_atomic(w->shared, worker_value(&r));
    return NULL;
}

/* Four writers at once: every total is exact afterwards, and a reader
 * snapshotting meanwhile is race-free (run under SAN=thread). */
static void test_concurrent_atomic(void **state)
{
    (void)state;
    static histogram shared, serial, snap;
    histogram_init(&shared);
    histogram_init(&serial);
    uint64_t seed = th_seed();
    struct worker w[NTHREADS];
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){ &shared, seed + (uint64_t)i * 0x9e3779b97f4a7c15u };
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    uint64_t last = 0;
    for (int k = 0; k < 20; k++) {
        histogram_snapshot(&snap, &shared);
        assert_true(snap.count >= last && snap.count <= NTHREADS * PER_THREAD);
        last = snap.count;
        (void)histogram_percentile(&snap, 99);
    }
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);

    for (int i = 0; i < NTHREADS; i++) {
        th_rng r;
        th_rng_seed(&r, w[i].seed);
        for (int j = 0; j < PER_THREAD; j++)
            histogram_record(&serial, worker_value(&r));
    }
    assert_int_equal(shared.count, NTHREADS * PER_THREAD);
    assert_memory_equal(&shared, &serial, sizeof(shared));
    assert_true(histogram_check(&shared));
}

/* Reads "key":number from a JSON object; fails if the key is missing or
 * appears twice. */
static const char *json_value(const char *json, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(json, pat);
    if (!p)
        fail_msg("key %s missing from %s", key, json);
    if (strstr(p + 1, pat))
        fail_msg("key %s twice in %s", key, json);
    return p + strlen(pat);
}

static uint64_t json_u64(const char *json, const char *key)
{
    const char *s = json_value(json, key);
    char *end;
    uint64_t v = strtoull(s, &end, 10);
    assert_true(end > s && (*end == ',' || *end == '}'));
    return v;
}

static void test_json(void **state)
{
    (void)state;
    histogram h;
    char buf[512];

    histogram_init(&h);
    for (uint64_t v = 1; v <= 10; v++)
        histogram_record(&h, v);
    int n = histogram_json(&h, buf, sizeof(buf));
    assert_string_equal(buf, "{\"count\":10,\"min\":1,\"mean\":5.500,\"p50\":5,\"p90\":9,"
                             "\"p99\":10,\"p99.9\":10,\"max\":10}");
    assert_int_equal(n, strlen(buf));

    histogram_init(&h);
    n = histogram_json(&h, buf, sizeof(buf));
    assert_int_equal(n, strlen(buf));
    assert_string_equal(buf, "{\"count\":0,\"min\":0,\"mean\":0.000,\"p50\":0,\"p90\":0,"
                             "\"p99\":0,\"p99.9\":0,\"max\":0}");

    th_rng r;
    th_rng_seed(&r, th_seed());
    for (int i = 0; i < 10000; i++)
        histogram_record(&h, th_rng_next(&r) >> th_rng_below(&r, 64));
    n = histogram_json(&h, buf, sizeof(buf));
    assert_true(n > 0 && (size_t)n == strlen(buf));
    assert_true(buf[0] == '{' && buf[n - 1] == '}');
    assert_true(json_u64(buf, "count") == h.count);
    assert_true(json_u64(buf, "min") == h.min);
    assert_true(json_u64(buf, "max") == h.max);
    assert_true(json_u64(buf, "p50") == histogram_percentile(&h, 50));
    assert_true(json_u64(buf, "p90") == histogram_percentile(&h, 90));
    assert_true(json_u64(buf, "p99") == histogram_percentile(&h, 99));
    assert_true(json_u64(buf, "p99.9") == histogram_percentile(&h, 99.9));
    char *end;
    const char *ms = json_value(buf, "mean");
    double mean = strtod(ms, &end);
    assert_true(end > ms && *end == ',');
    double want = histogram_mean(&h);
    assert_true(mean >= want - 0.001 && mean <= want + 0.001);

    /* snprintf-style: the needed length whatever cap, always terminated. */
    assert_int_equal(histogram_json(&h, NULL, 0), n);
    char small[16];
    memset(small, 'x', sizeof(small));
    assert_int_equal(histogram_json(&h, small, sizeof(small)), n);
    assert_int_equal(small[sizeof(small) - 1], '\0');
    assert_memory_equal(small, buf, sizeof(small) - 1);
    char *exact = malloc((size_t)n + 1);
    assert_non_null(exact);
    assert_int_equal(histogram_json(&h, exact, (size_t)n + 1), n);
    assert_string_equal(exact, buf);
    free(exact);
}

/* Fixed exporter buckets (Prometheus le): against the exact count of
 * samples <= each bound, never above it, and short of it only by samples
 * within 1/32 (a bucket) below the bound. */
static void test_cumulative(void **state)
{
    (void)state;
    static const uint64_t bounds[] = { 0, 1, 63, 64, 1000, 2500, 1000000, 2500000000ull,
                                       UINT64_MAX };
    enum { NB = sizeof(bounds) / sizeof(bounds[0]), N = 20000 };
    histogram h;
    histogram_init(&h);
    th_rng r;
    th_rng_seed(&r, th_seed());
    uint64_t *v = malloc(N * sizeof *v);
    assert_non_null(v);
    for (int i = 0; i < N; i++) {
        v[i] = th_rng_next(&r) >> th_rng_below(&r, 64);
        histogram_record(&h, v[i]);
    }
    histogram_record(&h, 1000); /* on a bound that is not a bucket edge */
    uint64_t out[NB];
    histogram_cumulative(&h, bounds, NB, out);
    for (size_t i = 0; i < NB; i++) {
        uint64_t le = 1000 <= bounds[i], near = 0; /* the extra sample */
        for (int j = 0; j < N; j++) {
            le += v[j] <= bounds[i];
            near += v[j] <= bounds[i] && v[j] > bounds[i] - bounds[i] / HISTOGRAM_SUB_COUNT;
        }
        assert_true(out[i] <= le);
        assert_true(out[i] + near + (bounds[i] == 1000) >= le);
        if (i)
            assert_true(out[i] >= out[i - 1]);
    }
    assert_true(out[NB - 1] == h.count);
    assert_true(out[0] == h.buckets[0] && out[1] == h.buckets[0] + h.buckets[1]);
    /* 1000 lies in bucket 992..1007: counted under the next bound, not 1000. */
    histogram_init(&h);
    histogram_record(&h, 1000);
    histogram_cumulative(&h, bounds, NB, out);
    assert_true(out[4] == 0 && out[5] == 1);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_layout),
        cmocka_unit_test(test_rank),
        cmocka_unit_test(test_exact_small),
        cmocka_unit_test(test_uniform_million),
        cmocka_unit_test(test_exponential),
        cmocka_unit_test(test_bimodal),
        cmocka_unit_test(test_full_range),
        cmocka_unit_test(test_min_max_mean),
        cmocka_unit_test(test_huge_values),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_concurrent_atomic),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_cumulative),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
