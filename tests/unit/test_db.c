/*
 * test_db.c — the public engine API: put/get/delete/batches/flush/snapshots,
 * argument checks, the LOCK, and reads across memtables and level-0 tables.
 * LSM_TEST_PER_BACKEND
 */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lsm.h"

static lsm_db *open_db(const char *dir, size_t memtable_bytes)
{
    lsm_options o;
    lsm_options_init(&o);
    if (memtable_bytes)
        o.memtable_bytes = memtable_bytes;
    lsm_db *db = NULL;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    assert_non_null(db);
    return db;
}

static void expect_kv(lsm_db *db, const lsm_snapshot *s, const char *key, const char *want)
{
    void *v = NULL;
    size_t n = 0;
    int rc = lsm_get(db, s, key, strlen(key), &v, &n);
    if (!want) {
        assert_int_equal(rc, LSM_ENOTFOUND);
        return;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(v, want, n);
    lsm_free(v);
}

static void test_put_get_delete(void **state)
{
    (void)state;
    char *dir = th_tempdir("db");
    lsm_db *db = open_db(dir, 0);
    assert_int_equal(lsm_put(db, "a", 1, "1", 1, 0), 0);
    assert_int_equal(lsm_put(db, "b", 1, "2", 1, LSM_SYNC), 0);
    assert_int_equal(lsm_put(db, "e", 1, "", 0, 0), 0);
    expect_kv(db, NULL, "a", "1");
    expect_kv(db, NULL, "b", "2");
    expect_kv(db, NULL, "e", "");
    expect_kv(db, NULL, "c", NULL);
    assert_int_equal(lsm_put(db, "a", 1, "11", 2, 0), 0);
    expect_kv(db, NULL, "a", "11");
    assert_int_equal(lsm_delete(db, "a", 1, 0), 0);
    expect_kv(db, NULL, "a", NULL);
    assert_int_equal(lsm_delete(db, "never", 5, 0), 0);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

static void test_limits(void **state)
{
    (void)state;
    char *dir = th_tempdir("db");
    lsm_db *db = open_db(dir, 0);
    size_t big = LSM_MAX_KEY_SIZE + 1;
    char *k = calloc(1, big);
    assert_int_equal(lsm_put(db, k, 0, "v", 1, 0), -EINVAL);
    assert_int_equal(lsm_put(db, k, big, "v", 1, 0), -EINVAL);
    assert_int_equal(lsm_put(db, k, LSM_MAX_KEY_SIZE, "v", 1, 0), 0);
    assert_int_equal(lsm_put(db, NULL, 1, "v", 1, 0), -EINVAL);
    assert_int_equal(lsm_put(db, "k", 1, "v", 1, 0x80), -EINVAL);
    assert_int_equal(lsm_delete(db, k, big, 0), -EINVAL);
    char *v = malloc(LSM_MAX_VALUE_SIZE + 1);
    assert_int_equal(lsm_put(db, "k", 1, v, LSM_MAX_VALUE_SIZE + 1, 0), -EINVAL);
    memset(v, 'x', 1 << 20);
    assert_int_equal(lsm_put(db, "big", 3, v, 1 << 20, 0), 0);
    void *out;
    size_t n;
    assert_int_equal(lsm_get(db, NULL, k, 0, &out, &n), -EINVAL);
    assert_int_equal(lsm_get(db, NULL, "big", 3, &out, &n), 0);
    assert_int_equal(n, 1 << 20);
    assert_memory_equal(out, v, n);
    lsm_free(out);
    /* Nothing refused was applied. */
    expect_kv(db, NULL, "k", NULL);
    free(v);
    free(k);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

static void test_batch_atomic_and_reused(void **state)
{
    (void)state;
    char *dir = th_tempdir("db");
    lsm_db *db = open_db(dir, 0);
    lsm_batch *b = lsm_batch_new();
    assert_non_null(b);
    assert_int_equal(lsm_batch_put(b, "x", 1, "1", 1), 0);
    assert_int_equal(lsm_batch_put(b, "y", 1, "2", 1), 0);
    assert_int_equal(lsm_batch_delete(b, "x", 1), 0);
    assert_int_equal(lsm_batch_put(b, "k", 0, "2", 1), -EINVAL);
    assert_int_equal(lsm_write(db, b, LSM_SYNC), 0);
    expect_kv(db, NULL, "x", NULL); /* later entries in a batch win */
    expect_kv(db, NULL, "y", "2");
    lsm_batch_clear(b);
    assert_int_equal(lsm_write(db, b, 0), 0); /* empty batch: no-op */
    assert_int_equal(lsm_batch_put(b, "z", 1, "3", 1), 0);
    assert_int_equal(lsm_write(db, b, 0), 0);
    expect_kv(db, NULL, "z", "3");
    lsm_batch_free(b);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

static void test_snapshot_reads_old_values(void **state)
{
    (void)state;
    char *dir = th_tempdir("db");
    lsm_db *db = open_db(dir, 0);
    assert_int_equal(lsm_put(db, "k", 1, "old", 3, 0), 0);
    lsm_snapshot *s = lsm_snapshot_acquire(db);
    assert_non_null(s);
    uint64_t id = lsm_snapshot_id(s);
    assert_true(id > 0);
    assert_int_equal(lsm_put(db, "k", 1, "new", 3, 0), 0);
    assert_int_equal(lsm_delete(db, "gone", 4, 0), 0);
    expect_kv(db, s, "k", "old");
    expect_kv(db, NULL, "k", "new");
    assert_int_equal(lsm_flush(db), 0); /* and from a table */
    expect_kv(db, s, "k", "old");
    expect_kv(db, NULL, "k", "new");
    lsm_snapshot_release(db, s);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

static void test_flush_and_reopen(void **state)
{
    (void)state;
    char *dir = th_tempdir("db");
    lsm_db *db = open_db(dir, 64 << 10); /* small: many flushes */
    char key[32], val[128];
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "key%08d", i);
        snprintf(val, sizeof val, "value-%d-%0100d", i, i);
        assert_int_equal(lsm_put(db, key, strlen(key), val, strlen(val), 0), 0);
        if (i % 3 == 0)
            assert_int_equal(lsm_delete(db, key, strlen(key), 0), 0);
    }
    assert_int_equal(lsm_flush(db), 0);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < n; i += 7) {
            snprintf(key, sizeof key, "key%08d", i);
            snprintf(val, sizeof val, "value-%d-%0100d", i, i);
            expect_kv(db, NULL, key, i % 3 == 0 ? NULL : val);
        }
        assert_int_equal(lsm_close(db), 0);
        db = open_db(dir, 64 << 10);
    }
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

static void test_lock_refuses_second_opener(void **state)
{
    (void)state;
    char *dir = th_tempdir("db");
    lsm_db *db = open_db(dir, 0);
    lsm_db *second = NULL;
    assert_int_equal(lsm_open(dir, NULL, &second), -EBUSY);
    assert_null(second);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        lsm_db *other = NULL;
        _exit(lsm_open(dir, NULL, &other) == -EBUSY ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(lsm_close(db), 0);
    db = open_db(dir, 0); /* released by close */
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

static void test_open_errors(void **state)
{
    (void)state;
    char *dir = th_tempdir("db");
    char *missing;
    assert_true(asprintf(&missing, "%s/none", dir) > 0);
    lsm_options o;
    lsm_options_init(&o);
    o.create_if_missing = 0;
    lsm_db *db = NULL;
    assert_int_equal(lsm_open(missing, &o, &db), -ENOENT);
    lsm_options_init(&o);
    o.memtable_bytes = 1;
    assert_int_equal(lsm_open(missing, &o, &db), -EINVAL);
    lsm_options_init(&o);
    o.io_backend = "bogus";
    assert_int_equal(lsm_open(missing, &o, &db), -EINVAL);
    assert_int_equal(lsm_open(NULL, NULL, &db), -EINVAL);
    db = open_db(missing, 0);
    assert_int_equal(lsm_close(db), 0);
    lsm_options_init(&o);
    o.error_if_exists = 1;
    assert_int_equal(lsm_open(missing, &o, &db), -EEXIST);
    free(missing);
    th_rmrf_free(dir);
}

static void test_get_into_buffer(void **state)
{
    (void)state;
    char *dir = th_tempdir("db");
    lsm_db *db = open_db(dir, 0);
    assert_int_equal(lsm_put(db, "k", 1, "hello", 5, 0), 0);
    for (int round = 0; round < 2; round++) { /* memtable, then a table */
        char buf[8];
        size_t n = 0;
        assert_int_equal(lsm_get_into(db, NULL, "k", 1, buf, sizeof buf, &n), 0);
        assert_int_equal(n, 5);
        assert_memory_equal(buf, "hello", 5);
        assert_int_equal(lsm_get_into(db, NULL, "k", 1, buf, 4, &n), LSM_ETOOSMALL);
        assert_int_equal(n, 5); /* the size it needs */
        assert_int_equal(lsm_get_into(db, NULL, "k", 1, buf, 5, &n), 0);
        assert_int_equal(lsm_get_into(db, NULL, "none", 4, buf, 8, &n), LSM_ENOTFOUND);
        assert_int_equal(lsm_get_into(db, NULL, "k", 1, NULL, 4, &n), -EINVAL);
        assert_int_equal(lsm_flush(db), 0);
    }
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(lsm_strerror(0), "success");
    assert_non_null(strstr(lsm_strerror(LSM_ENOTFOUND), "not found"));
    assert_non_null(strstr(lsm_strerror(LSM_EREADONLY), "read-only"));
    assert_non_null(strstr(lsm_strerror(LSM_ECORRUPT), "corrupt"));
    assert_string_equal(lsm_strerror(-EIO), strerror(EIO));
    assert_non_null(lsm_strerror(-99999));
}

/* Concurrent writers share WAL records (group commit) and every write lands. */
struct writer_arg {
    lsm_db *db;
    int id;
};

static void *writer_main(void *p)
{
    struct writer_arg *a = p;
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "w%d-%06d", a->id, i);
        int rc = lsm_put(a->db, key, strlen(key), key, strlen(key), i % 50 == 0 ? LSM_SYNC : 0);
        if (rc != 0)
            return (void *)1;
    }
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    (void)state;
    char *dir = th_tempdir("db");
    lsm_db *db = open_db(dir, 256 << 10);
    pthread_t t[4];
    struct writer_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct writer_arg){ db, i };
        assert_int_equal(pthread_create(&t[i], NULL, writer_main, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_null(r);
    }
    char key[32];
    for (int id = 0; id < 4; id++)
        for (int i = 0; i < 2000; i++) {
            snprintf(key, sizeof key, "w%d-%06d", id, i);
            expect_kv(db, NULL, key, key);
        }
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_delete),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_batch_atomic_and_reused),
        cmocka_unit_test(test_snapshot_reads_old_values),
        cmocka_unit_test(test_flush_and_reopen),
        cmocka_unit_test(test_lock_refuses_second_opener),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_get_into_buffer),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_concurrent_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
