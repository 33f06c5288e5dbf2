/*
 * test_write_slowdown.c — from l0_slowdown_trigger L0 files on, every write
 * group is paced to delayed_write_rate (not only the write that fills a
 * memtable); below the trigger, or with the rate set to 0, nothing waits.
 *
 * Only lower bounds on time are asserted: a loaded machine can make the
 * writes slower, never faster than the pacing allows.
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lsm.h"

enum { VALUE_BYTES = 2600, PUTS = 100 }; /* ~260 KB in all */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* stalls.<name> from lsm_stats_json. */
static unsigned long long stall_stat(lsm_db *db, const char *name)
{
    char *json = NULL;
    assert_int_equal(lsm_stats_json(db, &json), 0);
    char pat[40];
    snprintf(pat, sizeof pat, "\"%s\":", name);
    unsigned long long v = th_json_u64(json, "\"stalls\":{", pat);
    lsm_free(json);
    return v;
}

/* Opens a database that never compacts L0 on its own and slows writes
 * from `l0_files` L0 files at `rate` bytes/s, then makes that many.
 * The option rules (lsm.h) keep the slowdown at or above the leveled L0
 * compaction trigger, so compaction is kept away with a tiered tree whose
 * merges need 1000 runs; the L0 slowdown is the same in either style. */
static lsm_db *open_with_l0(const char *dir, int l0_files, size_t rate)
{
    lsm_options o;
    lsm_options_init(&o);
    o.memtable_bytes = 4u << 20; /* the test's writes fit: no flush */
    o.compaction_style = "tiered";
    o.tiered_min_merge = 1000;
    o.tiered_max_runs = 1000;
    o.tiered_max_space_amp = 1000;
    o.l0_compaction_trigger = 2;
    o.l0_slowdown_trigger = 2;
    o.l0_stop_trigger = 1001;
    o.delayed_write_rate = rate;
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    for (int f = 0; f < l0_files; f++) {
        char k[16];
        int n = snprintf(k, sizeof k, "seed-%d", f);
        assert_int_equal(lsm_put(db, k, (size_t)n, "v", 1, 0), 0);
        assert_int_equal(lsm_flush(db), 0);
    }
    return db;
}

/* Writes PUTS values of VALUE_BYTES; returns the seconds it took. */
static double write_load(lsm_db *db)
{
    static char val[VALUE_BYTES];
    memset(val, 'x', sizeof val);
    double t0 = now_s();
    for (int i = 0; i < PUTS; i++) {
        char k[16];
        int n = snprintf(k, sizeof k, "k%04d", i);
        assert_int_equal(lsm_put(db, k, (size_t)n, val, sizeof val, 0), 0);
    }
    return now_s() - t0;
}

static void test_paced_at_the_trigger(void **state)
{
    (void)state;
    char *dir = th_tempdir("slowdown");
    lsm_db *db = open_with_l0(dir, 2, 1u << 20); /* 1 MiB/s */
    double secs = write_load(db);
    /* 260 KB at 1 MiB/s: every group but the first waits for its
     * predecessor's bytes, so at least ~0.24 s in all. */
    assert_true(secs >= 0.2);
    assert_true(stall_stat(db, "slowdowns") >= PUTS / 2);
    assert_true(stall_stat(db, "slowdown_us") >= 200000);
    assert_int_equal(stall_stat(db, "stops"), 0);
    void *v;
    size_t n;
    assert_int_equal(lsm_get(db, NULL, "k0099", 5, &v, &n), 0);
    assert_int_equal(n, VALUE_BYTES);
    lsm_free(v);

    /* The rate changes at run time: 0 turns the slowdown off. */
    assert_int_equal(lsm_set_option(db, "delayed_write_rate", "0"), 0);
    unsigned long long before = stall_stat(db, "slowdowns");
    write_load(db);
    assert_int_equal(stall_stat(db, "slowdowns"), before);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

static void test_not_below_the_trigger(void **state)
{
    (void)state;
    char *dir = th_tempdir("slowdown");
    lsm_db *db = open_with_l0(dir, 1, 1u << 20);
    write_load(db);
    assert_int_equal(stall_stat(db, "slowdowns"), 0);
    assert_int_equal(stall_stat(db, "slowdown_us"), 0);
    /* One more L0 file reaches the trigger: now writes are paced. */
    assert_int_equal(lsm_flush(db), 0);
    write_load(db);
    assert_true(stall_stat(db, "slowdowns") > 0);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

static void test_bad_rate_refused(void **state)
{
    (void)state;
    char *dir = th_tempdir("slowdown");
    lsm_db *db = open_with_l0(dir, 0, 16u << 20);
    assert_int_equal(lsm_set_option(db, "delayed_write_rate", "fast"), -EINVAL);
    assert_int_equal(lsm_set_option(db, "delayed_write_rate", "-1"), -EINVAL);
    assert_int_equal(lsm_set_option(db, "delayed_write_rate", "8M"), 0);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paced_at_the_trigger),
        cmocka_unit_test(test_not_below_the_trigger),
        cmocka_unit_test(test_bad_rate_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
