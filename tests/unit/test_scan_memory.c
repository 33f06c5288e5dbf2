/*
 * test_scan_memory.c — a scan of 1,000,000 keys runs in memory bounded by
 * the block cache, not by the data (about 116 MB here): resident memory
 * grows by far less than the data while the scan runs, and the cache never
 * holds more than its capacity plus the one block the iterator pins.
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lsm.h"

/* 110 MB of entries against a 1 MiB cache; under a sanitizer
 * (LSM_TEST_SHORT, where the RSS bound is not checked) 22 MB still is
 * twenty times the cache. */
#define NKEYS (th_env_long("LSM_TEST_SHORT", 0) ? 200000 : 1000000)
#define CACHE (1 << 20)

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld %ld", &pages, &rss), 2);
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

static double cache_usage(lsm_db *db, double *capacity)
{
    char *json;
    assert_int_equal(lsm_stats_json(db, &json), 0);
    const char *p = strstr(json, "\"block_cache\":{\"capacity\":");
    assert_non_null(p);
    *capacity = strtod(p + strlen("\"block_cache\":{\"capacity\":"), NULL);
    p = strstr(p, "\"usage\":");
    double u = strtod(p + 8, NULL);
    lsm_free(json);
    return u;
}

static void test_scan_bounded_by_cache(void **state)
{
    (void)state;
    char *dir = th_tempdir("scanmem");
    lsm_options o;
    lsm_options_init(&o);
    o.block_cache_bytes = CACHE;
    o.memtable_bytes = 8 << 20;
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    char k[17], v[100];
    memset(v, 'x', sizeof v);
    for (int i = 0; i < NKEYS; i++) {
        snprintf(k, sizeof k, "%016d", i);
        assert_int_equal(lsm_put(db, k, 16, v, sizeof v, 0), 0);
    }
    assert_int_equal(lsm_flush(db), 0);
    assert_int_equal(lsm_compact(db, -1), 0);

    lsm_iter *it;
    assert_int_equal(lsm_iter_new(db, NULL, NULL, 0, NULL, 0, &it), 0);
    long before = rss_bytes(), peak = before;
    double cap = 0, peak_cache = 0;
    long n = 0;
    for (lsm_iter_first(it); lsm_iter_valid(it); lsm_iter_next(it), n++) {
        if (n % 50000 == 0) {
            long r = rss_bytes();
            if (r > peak)
                peak = r;
            double u = cache_usage(db, &cap);
            if (u > peak_cache)
                peak_cache = u;
        }
    }
    assert_int_equal(lsm_iter_status(it), 0);
    assert_int_equal(n, NKEYS);
    lsm_iter_free(it);
    fprintf(stderr, "scan of %ld keys: RSS grew %ld KiB; block cache peak %.0f of %.0f bytes\n",
            (long)NKEYS, (peak - before) / 1024, peak_cache, cap);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    /* (Sanitizers keep shadow and freed memory resident: only without.) */
    assert_true(peak - before < 16 << 20);
#endif
    assert_true(peak_cache <= cap + 64 * 1024);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_bounded_by_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
