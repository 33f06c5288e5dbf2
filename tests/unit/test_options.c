/*
 * test_options.c — lsm_set_option takes every run-time name lsm.h lists, refuses
 * unknown names and bad values with -EINVAL, and the changes take effect;
 * periodic compaction fires with no size trigger.
 */
#include "helpers.h"

#include <errno.h>
#include <stdbool.h>
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
        { "periodic_compaction_seconds", "3600" }, { "max_subcompactions", "4" },
        { "compaction_readahead_bytes", "1M" }, { "compaction_readahead_bytes", "0" },
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
        { "max_subcompactions", "0" },     { "max_subcompactions", "17" },
        { "compaction_readahead_bytes", "2G" },
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

/* The names lsm.h gives in lsm_set_option's comment ("Names: ... (see"),
 * parenthesized value lists dropped; returns how many (at most cap). */
static size_t documented_runtime_names(const char *h, char names[][64], size_t cap)
{
    const char *p = strstr(h, "Changes an option at runtime.  Names:");
    assert_non_null(p);
    p = strchr(p, ':') + 1;
    const char *end = strstr(p, "(see lsm_options");
    assert_non_null(end);
    size_t n = 0;
    int depth = 0;
    while (p < end) {
        if (*p == '(' || *p == ')') {
            depth += *p == '(' ? 1 : -1;
            p++;
        } else if (!depth && ((*p >= 'a' && *p <= 'z') || *p == '_')) {
            size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
            assert_true(len < 64 && n < cap);
            memcpy(names[n], p, len);
            names[n++][len] = '\0';
            p += len;
        } else {
            p++;
        }
    }
    return n;
}

/* lsm.h's list of run-time names is the engine's table's (lsm_option_at,
 * runtime = 1), and that flag says truly what lsm_set_option takes: each
 * option set to its own current value on an open database succeeds
 * exactly when the table calls it runtime. */
static void test_lsm_h_lists_every_runtime_option(void **state)
{
    (void)state;
    char *h = th_read_source(__FILE__, "engine/lsm.h");
    static char doc[64][64];
    size_t ndoc = documented_runtime_names(h, doc, 64);
    free(h);
    size_t nrt = 0;
    const lsm_option_info *o;
    for (size_t i = 0; (o = lsm_option_at(i)) != NULL; i++) {
        bool listed = false;
        for (size_t j = 0; j < ndoc; j++)
            listed |= strcmp(doc[j], o->name) == 0;
        if (o->runtime && !listed)
            fail_msg("engine/lsm.h: lsm_set_option's list misses %s", o->name);
        if (!o->runtime && listed)
            fail_msg("engine/lsm.h lists %s for lsm_set_option, which refuses it", o->name);
        assert_non_null(o->help);
        assert_true(strlen(o->help) > 5);
        nrt += o->runtime != 0;
    }
    if (ndoc != nrt)
        fail_msg("engine/lsm.h lists %zu run-time names, the engine has %zu", ndoc, nrt);
    assert_true(nrt >= 20);

    char *dir = th_tempdir("optlist");
    lsm_db *db;
    assert_int_equal(lsm_open(dir, NULL, &db), 0);
    for (size_t i = 0; (o = lsm_option_at(i)) != NULL; i++) {
        char v[64];
        assert_true(lsm_get_option(db, o->name, v, sizeof v) > 0);
        int rc = lsm_set_option(db, o->name, v);
        if ((rc == 0) != (o->runtime != 0))
            fail_msg("%s: table says runtime=%d, lsm_set_option(%s) = %d", o->name,
                     o->runtime, v, rc);
    }
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_documented_name),
        cmocka_unit_test(test_open_refuses_bad_options),
        cmocka_unit_test(test_periodic_compaction),
        cmocka_unit_test(test_lsm_h_lists_every_runtime_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
