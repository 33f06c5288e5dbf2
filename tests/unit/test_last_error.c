/*
 * test_last_error.c — the embedded API says why it refused (issue 14, item
 * 7): lsm_last_error() after each refusal of lsm_set_option, lsm_put,
 * lsm_get, lsm_delete, lsm_batch_put, lsm_options_set and lsm_open, a
 * table of calls and the reason each must give; a success clears it; the
 * reason is per thread; a second open names the LOCK's holder.  And (item 18) a flush event says why it ran.
 */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lsm.h"

static lsm_db *g_db;
static char *g_dir;
static char g_big[LSM_MAX_KEY_SIZE + 1];

static int setup(void **state)
{
    (void)state;
    g_dir = th_tempdir("last_error");
    lsm_options o;
    lsm_options_init(&o);
    o.memtable_bytes = 64 * 1024;
    assert_int_equal(lsm_open(g_dir, &o, &g_db), 0);
    memset(g_big, 'k', sizeof g_big);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lsm_close(g_db);
    th_rmrf_free(g_dir);
    return 0;
}

/* One refusal: what to call and the exact reason. */
struct refusal {
    const char *what;
    int (*call)(void);
    const char *reason;
};

static int set_unknown(void) { return lsm_set_option(g_db, "no_such_option", "5"); }
static int set_style(void) { return lsm_set_option(g_db, "compaction_style", "sideways"); }
static int set_threads(void) { return lsm_set_option(g_db, "compaction_threads", "99"); }
static int set_floor(void) { return lsm_set_option(g_db, "memtable_bytes", "1K"); }
static int set_word(void) { return lsm_set_option(g_db, "l0_stop_trigger", "many"); }
static int set_open_only(void) { return lsm_set_option(g_db, "max_open_files", "100"); }
static int set_pair(void) { return lsm_set_option(g_db, "l0_stop_trigger", "2"); }
static int put_empty(void) { return lsm_put(g_db, "", 0, "v", 1, 0); }
static int put_big(void) { return lsm_put(g_db, g_big, sizeof g_big, "v", 1, 0); }
static int del_empty(void) { return lsm_delete(g_db, "", 0, 0); }
static int get_big(void)
{
    void *v;
    size_t n;
    return lsm_get(g_db, NULL, g_big, sizeof g_big, &v, &n);
}
static int batch_empty(void)
{
    lsm_batch *b = lsm_batch_new();
    int rc = lsm_batch_put(b, "", 0, "v", 1);
    lsm_batch_free(b);
    return rc;
}
static int options_set_unknown(void)
{
    lsm_options o;
    lsm_options_init(&o);
    return lsm_options_set(&o, "no_such_option", "1");
}
static int open_bad_style(void)
{
    lsm_options o;
    lsm_options_init(&o);
    o.compaction_style = "sideways";
    lsm_db *db = NULL;
    char *dir = th_tempdir("last_error_open");
    int rc = lsm_open(dir, &o, &db);
    th_rmrf_free(dir);
    return rc;
}

static const struct refusal g_refusals[] = {
    { "set unknown", set_unknown, "no such option: no_such_option" },
    { "set style", set_style, "compaction_style: expected leveled or tiered" },
    { "set threads", set_threads, "compaction_threads: 99 is above the maximum 16" },
    { "set floor", set_floor, "memtable_bytes: 1024 is below the minimum 65536 at run time" },
    { "set word", set_word, "l0_stop_trigger: \"many\" is not a whole number" },
    { "set open-only", set_open_only, "max_open_files can only be set at open" },
    { "set pair", set_pair,
      "l0_compaction_trigger (4) must be below l0_stop_trigger (2): writes would stop before "
      "an L0 compaction is due" },
    { "put empty", put_empty, "empty key" },
    { "put big", put_big, "key of 65537 bytes exceeds the 65536-byte limit" },
    { "delete empty", del_empty, "empty key" },
    { "get big", get_big, "key of 65537 bytes exceeds the 65536-byte limit" },
    { "batch empty", batch_empty, "empty key" },
    { "options_set", options_set_unknown, "no such option: no_such_option" },
    { "open style", open_bad_style,
      "compaction_style: expected leveled or tiered, not \"sideways\"" },
};

static void test_each_refusal_says_why(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof g_refusals / sizeof g_refusals[0]; i++) {
        const struct refusal *r = &g_refusals[i];
        int rc = r->call();
        if (rc != -EINVAL || strcmp(lsm_last_error(), r->reason) != 0)
            fail_msg("%s: rc %d, reason \"%s\"; wanted -EINVAL and \"%s\"", r->what, rc,
                     lsm_last_error(), r->reason);
        /* A success of the same call clears it. */
        assert_int_equal(lsm_put(g_db, "k", 1, "v", 1, 0), 0);
        assert_string_equal(lsm_last_error(), "");
    }
    /* Nothing refused changed an option. */
    char buf[64];
    assert_true(lsm_get_option(g_db, "compaction_style", buf, sizeof buf) > 0);
    assert_string_equal(buf, "leveled");
    assert_true(lsm_get_option(g_db, "compaction_threads", buf, sizeof buf) > 0);
    assert_string_not_equal(buf, "99");
}

/* A failure with no reason of its own leaves "", not an older reason. */
static void test_failure_without_reason_is_empty(void **state)
{
    (void)state;
    assert_int_equal(set_unknown(), -EINVAL);
    void *v;
    size_t n;
    assert_int_equal(lsm_get(g_db, NULL, "absent", 6, &v, &n), LSM_ENOTFOUND);
    assert_string_equal(lsm_last_error(), "");
}

static void *other_thread(void *arg)
{
    (void)arg;
    /* This thread failed nothing: it sees no reason from the main one. */
    return (void *)(strcmp(lsm_last_error(), "") == 0 ? (intptr_t)1 : (intptr_t)0);
}

static void test_reason_is_per_thread(void **state)
{
    (void)state;
    assert_int_equal(set_threads(), -EINVAL);
    pthread_t t;
    void *ok;
    assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
    assert_int_equal(pthread_join(t, &ok), 0);
    assert_true(ok == (void *)(intptr_t)1);
    assert_string_equal(lsm_last_error(), "compaction_threads: 99 is above the maximum 16");
}

/* Not only -EINVAL: a second open of an open database names the holder. */
static void test_open_twice_names_the_holder(void **state)
{
    (void)state;
    lsm_db *db = NULL;
    assert_int_equal(lsm_open(g_dir, NULL, &db), -EBUSY);
    char want[64];
    snprintf(want, sizeof want, "(LOCK held by pid %d)", (int)getpid());
    if (!strstr(lsm_last_error(), "is already open") || !strstr(lsm_last_error(), want))
        fail_msg("reason \"%s\"; wanted \"... is already open %s\"", lsm_last_error(), want);
}

/* Item 18: a manual flush is recorded as one, a full memtable as full. */
static void test_flush_events_say_why(void **state)
{
    (void)state;
    assert_int_equal(lsm_put(g_db, "manual", 6, "v", 1, 0), 0);
    assert_int_equal(lsm_flush(g_db), 0);
    char *json;
    assert_int_equal(lsm_stats_json(g_db, &json), 0);
    assert_non_null(strstr(json, "\"reason\":\"manual flush\""));
    assert_null(strstr(json, "\"reason\":\"memtable full\""));
    lsm_free(json);
    /* 64 KiB memtables: 200 KiB of puts fill some. */
    char val[1024];
    memset(val, 'v', sizeof val);
    for (int i = 0; i < 200; i++) {
        char key[16];
        int kl = snprintf(key, sizeof key, "full%04d", i);
        assert_int_equal(lsm_put(g_db, key, (size_t)kl, val, sizeof val, 0), 0);
    }
    assert_int_equal(lsm_flush(g_db), 0); /* waits for the flushes before it */
    assert_int_equal(lsm_stats_json(g_db, &json), 0);
    assert_non_null(strstr(json, "\"reason\":\"memtable full\""));
    lsm_free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_refusal_says_why),
        cmocka_unit_test(test_failure_without_reason_is_empty),
        cmocka_unit_test(test_reason_is_per_thread),
        cmocka_unit_test(test_open_twice_names_the_holder),
        cmocka_unit_test(test_flush_events_say_why),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
