/*
 * test_options.c — lsm_set_option takes every name DESIGN.md lists, refuses
 * unknown names and bad values with -EINVAL, and the changes take effect;
 * periodic compaction fires with no size trigger.
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lsm.h"

static char *stats(lsm_db *db)
{
    char *json;
    assert_int_equal(lsm_stats_json(db, &json), 0);
    return json;
}

static void test_every_documented_name(void **state)
{
    (void)state;
    char *dir = th_tempdir("opts");
    lsm_db *db;
    assert_int_equal(lsm_open(dir, NULL, &db), 0);
    static const char *const good[][2] = {
        { "compaction_style", "tiered" },     { "compaction_style", "leveled" },
        { "memtable_bytes", "8M" },           { "l0_compaction_trigger", "8" },
        { "level_size_ratio", "8.5" },        { "tiered_size_ratio", "0.5" },
        { "tiered_min_merge", "3" },          { "block_cache_bytes", "3M" },
        { "compaction_threads", "2" },        { "compaction_rate_mb", "50" },
        { "periodic_compaction_seconds", "3600" },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (lsm_set_option(db, good[i][0], good[i][1]) != 0)
            fail_msg("lsm_set_option(%s, %s) refused", good[i][0], good[i][1]);
    static const char *const bad[][2] = {
        { "no_such_option", "1" },         { "compaction_style", "fifo" },
        { "memtable_bytes", "-5" },        { "memtable_bytes", "12Q" },
        { "memtable_bytes", "" },          { "l0_compaction_trigger", "0" },
        { "l0_compaction_trigger", "2.5" }, { "level_size_ratio", "nan" },
        { "tiered_min_merge", "1" },       { "compaction_threads", "1000" },
        { "max_open_files", "100" },       /* open-time only */
        { "use_direct_io", "1" },          /* open-time only */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (lsm_set_option(db, bad[i][0], bad[i][1]) != -EINVAL)
            fail_msg("lsm_set_option(%s, %s) accepted", bad[i][0], bad[i][1]);
    assert_int_equal(lsm_set_option(db, NULL, "1"), -EINVAL);
    /* The changes are in force. */
    char *json = stats(db);
    assert_non_null(strstr(json, "\"compaction_style\":\"leveled\""));
    assert_non_null(strstr(json, "\"block_cache\":{\"capacity\":3145728,"));
    lsm_free(json);
    /* Writes still work after all that. */
    assert_int_equal(lsm_put(db, "k", 1, "v", 1, 0), 0);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

static void test_open_refuses_bad_options(void **state)
{
    (void)state;
    char *dir = th_tempdir("opts");
    lsm_options o;
    lsm_db *db = NULL;
    lsm_options_init(&o);
    o.compaction_style = "fifo";
    assert_int_equal(lsm_open(dir, &o, &db), -EINVAL);
    lsm_options_init(&o);
    o.memtable_impl = "btree";
    assert_int_equal(lsm_open(dir, &o, &db), -EINVAL);
    lsm_options_init(&o);
    o.l0_stop_trigger = 2; /* below the slowdown trigger */
    assert_int_equal(lsm_open(dir, &o, &db), -EINVAL);
    lsm_options_init(&o);
    o.level_size_ratio = 1.0;
    assert_int_equal(lsm_open(dir, &o, &db), -EINVAL);
    lsm_options_init(&o);
    o.use_direct_io = 2; /* 0 or 1 */
    assert_int_equal(lsm_open(dir, &o, &db), -EINVAL);
    assert_null(db);
    th_rmrf_free(dir);
}

static void test_periodic_compaction(void **state)
{
    (void)state;
    char *dir = th_tempdir("periodic");
    lsm_db *db;
    assert_int_equal(lsm_open(dir, NULL, &db), 0);
    /* Two small L0 files: far below every size trigger. */
    for (int f = 0; f < 2; f++) {
        char k[16];
        for (int i = 0; i < 100; i++) {
            int n = snprintf(k, sizeof k, "k%d-%d", f, i);
            assert_int_equal(lsm_put(db, k, (size_t)n, "v", 1, 0), 0);
        }
        assert_int_equal(lsm_flush(db), 0);
    }
    struct timespec ts = { 1, 100000000 };
    nanosleep(&ts, NULL);
    char *json = stats(db);
    assert_null(strstr(json, "\"reason\":\"periodic\""));
    lsm_free(json);
    assert_int_equal(lsm_set_option(db, "periodic_compaction_seconds", "1"), 0);
    int seen = 0;
    for (int i = 0; i < 100 && !seen; i++) {
        ts.tv_sec = 0;
        ts.tv_nsec = 100000000;
        nanosleep(&ts, NULL);
        json = stats(db);
        seen = strstr(json, "\"reason\":\"periodic\"") != NULL;
        lsm_free(json);
    }
    assert_true(seen);
    void *v;
    size_t n;
    assert_int_equal(lsm_get(db, NULL, "k1-99", 5, &v, &n), 0);
    lsm_free(v);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_documented_name),
        cmocka_unit_test(test_open_refuses_bad_options),
        cmocka_unit_test(test_periodic_compaction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
