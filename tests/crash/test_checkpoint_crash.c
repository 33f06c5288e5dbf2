/*
 * test_checkpoint_crash.c — a process killed (SIGKILL, the kill points of
 * base/killpoint.h) in the middle of lsm_checkpoint:
 *   - at checkpoint.after_files (tables and WALs in DIR.tmp, no MANIFEST
 *     nor CURRENT): DIR does not exist and DIR.tmp does not open as a
 *     database (-ENOENT: no CURRENT);
 *   - at checkpoint.before_rename (DIR.tmp complete): DIR does not exist;
 *     DIR.tmp is whole (CURRENT was written last) and would open;
 * and each time the live database reopens with every acknowledged write,
 * and the next checkpoint into DIR clears the leftover and succeeds.
 * Runs against liblsm-kp.a (tests/tests.mk); skipped without kill points.
 */
#include "helpers.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/killpoint.h"
#include "lsm.h"

#define NKEYS 400

static size_t key_of(char *b, int i) { return (size_t)sprintf(b, "key%06d", i); }
static size_t val_of(char *b, int i) { return (size_t)sprintf(b, "v-%d-%0100d", i, i); }

static int open_db(const char *dir, int create, lsm_db **db)
{
    lsm_options o;
    lsm_options_init(&o);
    o.memtable_bytes = 32 << 10;
    o.create_if_missing = create;
    return lsm_open(dir, &o, db);
}

static void expect_all(lsm_db *db)
{
    char k[32], v[160];
    for (int i = 0; i < NKEYS; i++) {
        size_t kl = key_of(k, i), vl = val_of(v, i);
        void *got = NULL;
        size_t n = 0;
        int rc = lsm_get(db, NULL, k, kl, &got, &n);
        if (rc != 0)
            fail_msg("key %d: %s", i, lsm_strerror(rc));
        assert_int_equal(n, vl);
        assert_memory_equal(got, v, vl);
        lsm_free(got);
    }
}

static bool exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* In a child: fill the database (several tables and a WAL tail), arm
 * point, checkpoint; the kill point ends the child. */
static void child(const char *live, const char *copy, const char *point)
{
    lsm_db *db;
    if (open_db(live, 1, &db) != 0)
        _exit(2);
    char k[32], v[160];
    for (int i = 0; i < NKEYS; i++) {
        size_t kl = key_of(k, i), vl = val_of(v, i);
        if (lsm_put(db, k, kl, v, vl, LSM_SYNC) != 0)
            _exit(3);
    }
    if (killpoint_arm(point, 1, 0, 0) != 0)
        _exit(4);
    int rc = lsm_checkpoint(db, copy);
    fprintf(stderr, "child: checkpoint returned %d: the kill point was not reached\n", rc);
    _exit(5);
}

static void crash_at(const char *point, bool stage_opens)
{
    char *root = th_tempdir("ckptkill");
    char *live, *copy, *stage;
    assert_true(asprintf(&live, "%s/db", root) > 0);
    assert_true(asprintf(&copy, "%s/copy", root) > 0);
    assert_true(asprintf(&stage, "%s/copy.tmp", root) > 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child(live, copy, point);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        fail_msg("%s: the child did not die by SIGKILL (status %#x)", point, status);

    assert_false(exists(copy));
    assert_true(exists(stage));
    lsm_db *db = NULL;
    int rc = open_db(stage, 0, &db);
    if (stage_opens) {
        assert_int_equal(rc, 0);
        expect_all(db); /* whole, though never renamed */
        assert_int_equal(lsm_close(db), 0);
    } else {
        assert_int_equal(rc, -ENOENT); /* no CURRENT: not a database */
    }

    /* The live database lost nothing, and the next checkpoint succeeds. */
    assert_int_equal(open_db(live, 0, &db), 0);
    expect_all(db);
    assert_int_equal(lsm_checkpoint(db, copy), 0);
    assert_false(exists(stage));
    assert_int_equal(lsm_close(db), 0);
    assert_int_equal(open_db(copy, 0, &db), 0);
    expect_all(db);
    assert_int_equal(lsm_close(db), 0);
    fprintf(stderr, "killed at %s: ok\n", point);
    free(live);
    free(copy);
    free(stage);
    th_rmrf_free(root);
}

static void test_after_files(void **state)
{
    (void)state;
    crash_at("checkpoint.after_files", false);
}

static void test_before_rename(void **state)
{
    (void)state;
    crash_at("checkpoint.before_rename", true);
}

int main(void)
{
    if (!killpoint_compiled_in()) {
        fprintf(stderr, "test_checkpoint_crash: the engine was built without LSM_KILLPOINTS\n");
        return TEST_SKIP;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_after_files),
        cmocka_unit_test(test_before_rename),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
