/* test_bench_keygen.c — lsmbench's key distributions (bench/keygen.h):
 * zeta (exact and Euler-Maclaurin), the zipfian generator's frequencies
 * against the exact zipf law, the scramble bijection, "latest" favouring
 * the newest keys as the key space grows, uniform spread, determinism,
 * and the key format's order and padding.  (Histogram percentiles are
 * tested in test_histogram.c.) */
#include "helpers.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keygen.h"

static double exact_zeta(uint64_t n, double theta)
{
    double s = 0;
    for (uint64_t i = n; i >= 1; i--)
        s += pow((double)i, -theta);
    return s;
}

static void test_zeta(void **state)
{
    (void)state;
    assert_true(fabs(zipf_zeta(1, 0.99) - 1.0) < 1e-15);
    assert_true(fabs(zipf_zeta(2, 0.5) - (1 + 1 / sqrt(2.0))) < 1e-12);
    /* Past the exact terms the tail is Euler-Maclaurin: still ~exact. */
    static const double thetas[] = { 0.2, 0.5, 0.99 };
    for (size_t i = 0; i < 3; i++) {
        double want = exact_zeta(3000000, thetas[i]);
        double got = zipf_zeta(3000000, thetas[i]);
        assert_true(fabs(got - want) / want < 1e-10);
    }
}

/* The generator's own distribution, from its inverse transform: ranks 0
 * and 1 have exactly the zipf law's probabilities; a rank k >= 2 comes
 * from u >= 1 - (1 - (k/n)^(1-theta)) / eta, so P(rank >= k) =
 * (1 - (k/n)^(1-theta)) / eta — Gray et al.'s continuous approximation of
 * the zipf tail. */
static double gen_prob(const zipf *z, uint64_t k)
{
    if (k == 0)
        return 1 / z->zetan;
    if (k == 1)
        return z->half_pow_theta / z->zetan;
    double n = (double)z->n, t1 = 1 - z->theta;
    double s_k = (1 - pow((double)k / n, t1)) / z->eta;
    double s_k1 = k + 1 >= z->n ? 0 : (1 - pow((double)(k + 1) / n, t1)) / z->eta;
    return s_k - s_k1;
}

/* Draws many ranks: each of the first ranks must match the generator's
 * distribution (within 5 standard deviations), and the whole must follow the zipf law 1 / ((r+1)^theta
 * zeta(n)) as far as the approximation allows: exact for ranks 0 and 1,
 * within 20% for ranks 2..9, the top decile's mass within 3 points, and
 * rank 0 about 10^theta times as popular as rank 9. */
static void check_zipf_law(uint64_t n, double theta)
{
    zipf z;
    assert_int_equal(zipf_init(&z, n, theta), 0);
    bench_rng r;
    rng_seed(&r, 42);
    enum { DRAWS = 2000000, TOP = 10 };
    uint64_t cnt[TOP] = { 0 }, top_decile = 0;
    for (int i = 0; i < DRAWS; i++) {
        uint64_t k = zipf_next(&z, &r);
        assert_true(k < n);
        if (k < TOP)
            cnt[k]++;
        if (k < n / 10)
            top_decile++;
    }
    double zn = exact_zeta(n, theta), decile = exact_zeta(n / 10, theta) / zn;
    for (int k = 0; k < TOP; k++) {
        double got = (double)cnt[k] / DRAWS, gen = gen_prob(&z, (uint64_t)k);
        double law = pow(k + 1, -theta) / zn;
        /* five standard deviations of a binomial count */
        if (fabs(got - gen) > 5 * sqrt(gen * (1 - gen) / DRAWS))
            fail_msg("n %llu theta %.2f: P(rank %d) = %.5f, the generator's %.5f",
                     (unsigned long long)n, theta, k, got, gen);
        if (fabs(got - law) / law > (k < 2 ? 0.02 : 0.2))
            fail_msg("n %llu theta %.2f: P(rank %d) = %.5f, zipf law %.5f",
                     (unsigned long long)n, theta, k, got, law);
    }
    assert_true(fabs((double)top_decile / DRAWS - decile) < 0.03);
    double ratio = (double)cnt[0] / (double)cnt[9];
    assert_true(ratio > 0.7 * pow(10, theta) && ratio < 1.3 * pow(10, theta));
}

static void test_zipf_frequencies(void **state)
{
    (void)state;
    check_zipf_law(1000, 0.99);
    check_zipf_law(100000, 0.99);
    check_zipf_law(10000, 0.5);
    zipf z;
    assert_int_equal(zipf_init(&z, 10, 1.0), -EINVAL);
    assert_int_equal(zipf_init(&z, 10, 0.0), -EINVAL);
    assert_int_equal(zipf_init(&z, 0, 0.5), -EINVAL);
    /* One item: always rank 0. */
    assert_int_equal(zipf_init(&z, 1, 0.99), 0);
    bench_rng r;
    rng_seed(&r, 1);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(zipf_next(&z, &r), 0);
}

static void test_scramble_is_bijection(void **state)
{
    (void)state;
    static const uint64_t ns[] = { 1, 2, 3, 97, 1000, 1024, 65536, 999999 };
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        uint64_t n = ns[t];
        keygen k;
        assert_int_equal(keygen_init(&k, DIST_ZIPFIAN, n, 0.99, true), 0);
        unsigned char *seen = calloc(n, 1);
        assert_non_null(seen);
        for (uint64_t rank = 0; rank < n; rank++) {
            uint64_t key = (uint64_t)(((unsigned __int128)rank * k.mul + k.add) % n);
            assert_false(seen[key]);
            seen[key] = 1;
        }
        free(seen);
    }
    /* Scrambled draws stay in range and the hottest key is rank 0's. */
    keygen k;
    assert_int_equal(keygen_init(&k, DIST_ZIPFIAN, 5000, 0.99, true), 0);
    bench_rng r;
    rng_seed(&r, 7);
    uint64_t *cnt = calloc(5000, sizeof *cnt);
    for (int i = 0; i < 200000; i++) {
        uint64_t key = keygen_next(&k, &r, 0);
        assert_true(key < 5000);
        cnt[key]++;
    }
    uint64_t best = 0;
    for (uint64_t i = 1; i < 5000; i++)
        if (cnt[i] > cnt[best])
            best = i;
    assert_int_equal(best, k.add % 5000); /* rank 0 -> add */
    free(cnt);
}

static void test_latest(void **state)
{
    (void)state;
    keygen k;
    assert_int_equal(keygen_init(&k, DIST_LATEST, 1000, 0.99, true), 0);
    bench_rng r;
    rng_seed(&r, 3);
    uint64_t newest = 0, recent = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t key = keygen_next(&k, &r, 1000);
        assert_true(key < 1000);
        newest += key == 999;
        recent += key >= 900;
    }
    /* P(newest) = 1/zeta(1000, 0.99) ~ 0.134 */
    assert_true(fabs((double)newest / 100000 - 1 / exact_zeta(1000, 0.99)) < 0.01);
    assert_true(recent > newest * 3);
    /* Inserts grow the key space: the newest key moves with it, and zeta
     * is extended exactly. */
    newest = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t key = keygen_next(&k, &r, 1500);
        assert_true(key < 1500);
        newest += key == 1499;
    }
    assert_int_equal(k.z.n, 1500);
    assert_true(fabs(k.z.zetan - exact_zeta(1500, 0.99)) < 1e-9);
    assert_true(fabs((double)newest / 100000 - 1 / exact_zeta(1500, 0.99)) < 0.01);
}

static void test_uniform_and_determinism(void **state)
{
    (void)state;
    keygen k;
    assert_int_equal(keygen_init(&k, DIST_UNIFORM, 10, 0.99, true), 0);
    bench_rng r, r2;
    rng_seed(&r, 11);
    uint64_t cnt[10] = { 0 };
    for (int i = 0; i < 1000000; i++)
        cnt[keygen_next(&k, &r, 0)]++;
    double chi = 0;
    for (int i = 0; i < 10; i++)
        chi += pow((double)cnt[i] - 100000.0, 2) / 100000.0;
    assert_true(chi < 27.9); /* chi-square, 9 dof, p = 0.001 */
    rng_seed(&r, 99);
    rng_seed(&r2, 99);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(rng_next(&r), rng_next(&r2));
    for (int i = 0; i < 100000; i++) {
        double d = rng_double(&r);
        assert_true(d >= 0 && d < 1);
        assert_true(rng_below(&r, 7) < 7);
    }
    assert_int_equal(rng_below(&r, 0), 0);
    assert_int_equal(keygen_init(&k, 99, 10, 0.5, true), -EINVAL);
    assert_int_equal(keygen_init(&k, DIST_UNIFORM, 0, 0.5, true), -EINVAL);
    assert_int_equal(dist_parse("zipfian"), DIST_ZIPFIAN);
    assert_int_equal(dist_parse("latest"), DIST_LATEST);
    assert_int_equal(dist_parse("nope"), -1);
}

static void test_key_format(void **state)
{
    (void)state;
    char a[32], b[32];
    key_init(a, 16);
    key_format(a, 16, 42);
    assert_memory_equal(a, "0000000000000042", 16);
    key_format(a, 16, 12345678901234ull);
    key_format(a, 16, 7); /* no digits of the longer number linger */
    assert_memory_equal(a, "0000000000000007", 16);
    key_init(b, 16);
    for (uint64_t n = 0; n < 2000; n++) {
        key_format(a, 16, n);
        key_format(b, 16, n + 1);
        assert_true(memcmp(a, b, 16) < 0);
    }
    key_init(a, 30);
    key_format(a, 30, UINT64_MAX);
    assert_memory_equal(a, "000000000018446744073709551615", 30);
    key_init(a, 3);
    key_format(a, 3, 1234); /* too wide: the low digits */
    assert_memory_equal(a, "234", 3);
    assert_int_equal(key_digits(0), 1);
    assert_int_equal(key_digits(9), 1);
    assert_int_equal(key_digits(10), 2);
    assert_int_equal(key_digits(999999), 6);
    assert_int_equal(key_digits(UINT64_MAX), 20);

    valgen v;
    assert_int_equal(valgen_init(&v, 100, 5), 0);
    bench_rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < 10000; i++) {
        const char *p = valgen_next(&v, &r);
        assert_true(p >= v.buf && p + 100 <= v.buf + v.len);
    }
    valgen_free(&v);
    assert_int_equal(valgen_init(&v, 4u << 20, 5), 0); /* values above 1 MiB */
    assert_true(v.len >= 8u << 20);
    valgen_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zeta),
        cmocka_unit_test(test_zipf_frequencies),
        cmocka_unit_test(test_scramble_is_bijection),
        cmocka_unit_test(test_latest),
        cmocka_unit_test(test_uniform_and_determinism),
        cmocka_unit_test(test_key_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
