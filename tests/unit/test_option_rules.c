/*
 * test_option_rules.c — option combinations that cannot work are refused
 * (issue 9, item 3), by lsm_open and by lsm_set_option against the current
 * value of the other member of the pair; the boundary values are accepted;
 * and the issue's permanent write stop (l0_slowdown_trigger 1,
 * l0_stop_trigger 1, memtable_bytes 4096, then puts: the 5th put never
 * returned) cannot be configured any more.
 */
#include "helpers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lsm.h"

/* One rule as lsm_options fields: a case sets them and expects rc. */
struct opt_case {
    int compaction, slowdown, stop, min_merge, max_runs;
    int tiered;
    int rc;
    const char *what;
};

/* 0 in a field keeps the default (4, 20, 36, 4, 12, leveled). */
static const struct opt_case k_cases[] = {
    /* l0_compaction_trigger < l0_stop_trigger */
    { 4, 4, 4, 0, 0, 0, -EINVAL, "stop == compaction trigger" },
    { 8, 8, 6, 0, 0, 0, -EINVAL, "stop below compaction trigger" },
    { 4, 4, 5, 0, 0, 0, 0, "stop = compaction trigger + 1 (boundary)" },
    /* l0_compaction_trigger <= l0_slowdown_trigger */
    { 4, 3, 0, 0, 0, 0, -EINVAL, "slowdown below compaction trigger" },
    { 4, 4, 0, 0, 0, 0, 0, "slowdown == compaction trigger (boundary)" },
    /* l0_slowdown_trigger <= l0_stop_trigger */
    { 0, 37, 36, 0, 0, 0, -EINVAL, "stop below slowdown" },
    { 0, 36, 36, 0, 0, 0, 0, "slowdown == stop (boundary)" },
    /* tiered_min_merge <= tiered_max_runs */
    { 0, 0, 0, 13, 12, 0, -EINVAL, "min merge above max runs" },
    { 0, 0, 0, 12, 12, 0, 0, "min merge == max runs (boundary)" },
    /* tiered_max_runs < l0_stop_trigger */
    { 0, 0, 36, 0, 36, 1, -EINVAL, "tiered: max runs == stop" },
    { 0, 0, 36, 0, 35, 1, 0, "tiered: max runs = stop - 1 (boundary)" },
    { 0, 0, 36, 0, 36, 0, 0, "leveled: max runs == stop (no tiered rule)" },
    /* The issue's settings. */
    { 0, 1, 1, 0, 0, 0, -EINVAL, "issue 9: slowdown 1, stop 1" },
};

static void apply_case(lsm_options *o, const struct opt_case *c)
{
    lsm_options_init(o);
    if (c->compaction)
        o->l0_compaction_trigger = c->compaction;
    if (c->slowdown)
        o->l0_slowdown_trigger = c->slowdown;
    if (c->stop)
        o->l0_stop_trigger = c->stop;
    if (c->min_merge)
        o->tiered_min_merge = c->min_merge;
    if (c->max_runs)
        o->tiered_max_runs = c->max_runs;
    if (c->tiered)
        o->compaction_style = "tiered";
}

static void test_open_checks_pairs(void **state)
{
    (void)state;
    char *dir = th_tempdir("optrules");
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        lsm_options o;
        apply_case(&o, &k_cases[i]);
        lsm_db *db = NULL;
        int rc = lsm_open(dir, &o, &db);
        if (rc != k_cases[i].rc)
            fail_msg("lsm_open with %s: %d, expected %d", k_cases[i].what, rc, k_cases[i].rc);
        if (db)
            assert_int_equal(lsm_close(db), 0);
    }
    th_rmrf_free(dir);
}

static int set_int(lsm_db *db, const char *name, int v)
{
    char s[16];
    snprintf(s, sizeof s, "%d", v);
    return lsm_set_option(db, name, s);
}

/* At run time, each set is checked against the partner's current value.
 * The fields of a case are set in an order that never breaks a rule on
 * the way (widen first), from a database whose options leave room; the
 * last set is the one that must be refused or accepted. */
static void test_set_checks_against_current(void **state)
{
    (void)state;
    char *dir = th_tempdir("optrules");
    lsm_db *db;
    assert_int_equal(lsm_open(dir, NULL, &db), 0);

    /* stop vs compaction trigger (defaults 4, 20, 36). */
    assert_int_equal(set_int(db, "l0_slowdown_trigger", 4), 0);
    assert_int_equal(set_int(db, "l0_stop_trigger", 4), -EINVAL);
    assert_int_equal(set_int(db, "l0_stop_trigger", 5), 0);   /* boundary */
    assert_int_equal(set_int(db, "l0_compaction_trigger", 5), -EINVAL); /* vs stop 5 */
    /* slowdown vs compaction trigger, and vs stop. */
    assert_int_equal(set_int(db, "l0_slowdown_trigger", 3), -EINVAL);
    assert_int_equal(set_int(db, "l0_slowdown_trigger", 6), -EINVAL); /* > stop 5 */
    assert_int_equal(set_int(db, "l0_slowdown_trigger", 5), 0); /* == stop */
    assert_int_equal(set_int(db, "l0_compaction_trigger", 2), 0);
    assert_int_equal(set_int(db, "l0_compaction_trigger", 6), -EINVAL);
    /* Tiered: with stop 5, the default 12 runs would stop writes with no
     * merge due, so the switch itself is refused until max runs is below
     * the stop. */
    assert_int_equal(lsm_set_option(db, "compaction_style", "tiered"), -EINVAL);
    assert_int_equal(set_int(db, "tiered_max_runs", 3), -EINVAL); /* < min merge 4 */
    assert_int_equal(set_int(db, "tiered_max_runs", 4), 0);       /* == min merge */
    assert_int_equal(lsm_set_option(db, "compaction_style", "tiered"), 0);
    assert_int_equal(set_int(db, "tiered_max_runs", 5), -EINVAL); /* == stop */
    assert_int_equal(set_int(db, "tiered_min_merge", 5), -EINVAL); /* > max runs */
    assert_int_equal(set_int(db, "tiered_min_merge", 3), 0);
    assert_int_equal(set_int(db, "l0_stop_trigger", 4), -EINVAL); /* == max runs */
    /* memtable floor at run time. */
    assert_int_equal(lsm_set_option(db, "memtable_bytes", "4096"), -EINVAL);
    assert_int_equal(lsm_set_option(db, "memtable_bytes", "65535"), -EINVAL);
    assert_int_equal(lsm_set_option(db, "memtable_bytes", "64K"), 0);

    /* Refusals changed nothing: writes and flushes still work. */
    for (int i = 0; i < 100; i++) {
        char k[16];
        int n = snprintf(k, sizeof k, "k%03d", i);
        assert_int_equal(lsm_put(db, k, (size_t)n, "v", 1, 0), 0);
    }
    assert_int_equal(lsm_flush(db), 0);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

/* The issue's reproduction, in a child so a stuck put fails the test
 * instead of hanging it: the sets must be refused and every put return.
 * Child exit: 0 ok, 1 a set was accepted, 2 a put failed. */
static int issue_child(const char *dir)
{
    lsm_db *db;
    if (lsm_open(dir, NULL, &db) != 0)
        return 3;
    int bad = 0;
    bad |= lsm_set_option(db, "l0_slowdown_trigger", "1") != -EINVAL;
    bad |= lsm_set_option(db, "l0_stop_trigger", "1") != -EINVAL;
    bad |= lsm_set_option(db, "memtable_bytes", "4096") != -EINVAL;
    /* Carry on regardless, as the issue's client did: 200 puts of 100
     * bytes would fill a 4 KiB memtable five times over. */
    char v[100];
    memset(v, 'v', sizeof v);
    for (int i = 0; i < 200; i++) {
        char k[16];
        int n = snprintf(k, sizeof k, "key%04d", i);
        if (lsm_put(db, k, (size_t)n, v, sizeof v, 0) != 0)
            return 2;
    }
    if (lsm_close(db) != 0)
        return 2;
    return bad ? 1 : 0;
}

static void test_issue9_write_stop_refused(void **state)
{
    (void)state;
    char *dir = th_tempdir("optrules");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(issue_child(dir));
    int status = 0;
    /* 200 small puts take milliseconds; 10 s means the writers stopped. */
    for (int i = 0; i < 1000; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
        if (i == 999) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("puts never returned: the write stop is back");
        }
    }
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("child exit %d (1: a bad set was accepted, 2: a put failed)",
                 WEXITSTATUS(status));
    th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_checks_pairs),
        cmocka_unit_test(test_set_checks_against_current),
        cmocka_unit_test(test_issue9_write_stop_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
