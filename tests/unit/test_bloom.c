/* test_bloom.c — the whole-table bloom filter (engine/table/bloom.c). */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "table/bloom.h"
#include "lsm.h"

static slice key_of(char *buf, const char *prefix, unsigned i)
{
    int n = snprintf(buf, 32, "%s%09u", prefix, i);
    return slice_make(buf, (size_t)n);
}

/* e^x without libm (the Makefile does not link -lm): Taylor series of
 * e^(x/1024), squared ten times. */
static double exp_approx(double x)
{
    double y = x / 1024, term = 1, sum = 1;
    for (int i = 1; i < 20; i++) {
        term *= y / i;
        sum += term;
    }
    for (int i = 0; i < 10; i++)
        sum *= sum;
    return sum;
}

static double pow_int(double a, int k)
{
    double r = 1;
    while (k-- > 0)
        r *= a;
    return r;
}

/* Builds a filter over nkeys present keys, checks there is no false
 * negative, and returns the false-positive rate over nprobes absent keys;
 * *theory receives (1 - e^{-kn/m})^k for the filter's real m. */
static double measure_fpr(unsigned nkeys, unsigned nprobes, int bits_per_key, double *theory)
{
    bloom_builder b;
    bloom_builder_init(&b, bits_per_key);
    char kb[32];
    for (unsigned i = 0; i < nkeys; i++)
        assert_int_equal(bloom_builder_add(&b, bloom_hash(key_of(kb, "present-", i))), 0);
    assert_int_equal(b.n, nkeys);
    size_t size = bloom_builder_filter_size(&b);
    assert_int_equal(size, bloom_filter_size(nkeys, bits_per_key));
    char *f = malloc(size);
    assert_non_null(f);
    bloom_builder_build(&b, f);
    bloom_builder_fini(&b);
    slice filter = slice_make(f, size);
    assert_int_equal(bloom_filter_check(filter), 0);
    assert_int_equal((unsigned char)f[size - 1], bloom_num_probes(bits_per_key));

    for (unsigned i = 0; i < nkeys; i++)
        assert_true(bloom_filter_may_contain(filter, bloom_hash(key_of(kb, "present-", i))));
    unsigned fp = 0;
    for (unsigned i = 0; i < nprobes; i++)
        fp += bloom_filter_may_contain(filter, bloom_hash(key_of(kb, "absent-", i)));

    double m = (double)(size - 1) * 8;
    int k = bloom_num_probes(bits_per_key);
    *theory = pow_int(1.0 - exp_approx(-k * (double)nkeys / m), k);
    free(f);
    return (double)fp / nprobes;
}

static void test_fpr_10_bits(void **state)
{
    (void)state;
    double theory, fpr = measure_fpr(100000, 1000000, 10, &theory);
    /* k = 7, m/n = 10: about 0.82% */
    assert_true(theory > 0.007 && theory < 0.009);
    assert_true(fpr <= 2 * theory);
    assert_true(fpr >= theory / 2);
}

static void test_fpr_other_bits(void **state)
{
    (void)state;
    static const int bits[] = { 1, 2, 4, 6, 8, 15, 20 };
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        double theory, fpr = measure_fpr(50000, 1000000, bits[i], &theory);
        assert_true(fpr <= 2 * theory);
        assert_true(fpr >= theory / 2);
    }
}

static void test_num_probes(void **state)
{
    (void)state;
    assert_int_equal(bloom_num_probes(1), 1);
    assert_int_equal(bloom_num_probes(2), 1);
    assert_int_equal(bloom_num_probes(3), 2);
    assert_int_equal(bloom_num_probes(10), 7);
    assert_int_equal(bloom_num_probes(20), 14);
    assert_int_equal(bloom_num_probes(43), 30);
    assert_int_equal(bloom_num_probes(44), 30);
    assert_int_equal(bloom_num_probes(1000), 30);
}

static void test_sizes(void **state)
{
    (void)state;
    assert_int_equal(bloom_filter_size(0, 10), 9);     /* 64-bit minimum + k */
    assert_int_equal(bloom_filter_size(6, 10), 9);
    assert_int_equal(bloom_filter_size(7, 10), 10);    /* 70 bits -> 9 bytes */
    assert_int_equal(bloom_filter_size(100, 10), 126);
    assert_int_equal(bloom_filter_size(1000, 3), 376);
}

static void test_hash_is_xxh3(void **state)
{
    (void)state;
    const char *k = "hello";
    assert_true(bloom_hash(slice_make(k, 5)) == XXH3_64bits(k, 5));
}

static void test_empty_filter_rejects_all(void **state)
{
    (void)state;
    char f[9];
    bloom_filter_build(NULL, 0, 10, f);
    slice s = slice_make(f, sizeof f);
    assert_int_equal(bloom_filter_check(s), 0);
    char kb[32];
    for (unsigned i = 0; i < 1000; i++)
        assert_false(bloom_filter_may_contain(s, bloom_hash(key_of(kb, "k", i))));
}

static void test_adjacent_duplicates_skipped(void **state)
{
    (void)state;
    bloom_builder b;
    bloom_builder_init(&b, 10);
    assert_int_equal(bloom_builder_add(&b, 42), 0);
    assert_int_equal(bloom_builder_add(&b, 42), 0);
    assert_int_equal(bloom_builder_add(&b, 7), 0);
    assert_int_equal(bloom_builder_add(&b, 42), 0);
    assert_int_equal(b.n, 3);
    bloom_builder_fini(&b);
    assert_null(b.hashes);
}

static void test_check_rejects_malformed(void **state)
{
    (void)state;
    char f[16] = { 0 };
    assert_int_equal(bloom_filter_check(slice_make(f, 8)), LSM_ECORRUPT);
    assert_int_equal(bloom_filter_check(slice_make(f, 0)), LSM_ECORRUPT);
    f[15] = 0;
    assert_int_equal(bloom_filter_check(slice_make(f, 16)), LSM_ECORRUPT);
    f[15] = 31;
    assert_int_equal(bloom_filter_check(slice_make(f, 16)), LSM_ECORRUPT);
    f[15] = 30;
    assert_int_equal(bloom_filter_check(slice_make(f, 16)), 0);
    f[15] = 1;
    assert_int_equal(bloom_filter_check(slice_make(f, 16)), 0);
}

/* Pins the on-disk bit layout: a change here breaks every existing table's
 * filter (docs/sstable-format.md §Filter block), so it needs a new format
 * version, not a new constant. */
static void test_format_golden(void **state)
{
    (void)state;
    uint64_t h[3] = { bloom_hash(slice_make("apple", 5)), bloom_hash(slice_make("banana", 6)),
                      bloom_hash(slice_make("cherry", 6)) };
    char f[9];
    assert_int_equal(bloom_filter_size(3, 10), sizeof f);
    bloom_filter_build(h, 3, 10, f);
    static const unsigned char want[9] = { 0x18, 0x08, 0xbc, 0x43, 0x50, 0x00, 0x19, 0x01, 0x07 };
    assert_memory_equal(f, want, sizeof want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fpr_10_bits),
        cmocka_unit_test(test_fpr_other_bits),
        cmocka_unit_test(test_num_probes),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_hash_is_xxh3),
        cmocka_unit_test(test_empty_filter_rejects_all),
        cmocka_unit_test(test_adjacent_duplicates_skipped),
        cmocka_unit_test(test_check_rejects_malformed),
        cmocka_unit_test(test_format_golden),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
