/*
 * test_changes.c — the change feed (lsm_changes_*, lsm.h) and the WAL
 * retention that keeps its history (wal_retention_seconds/_bytes):
 * every write after a sequence comes back once, in order, with its
 * sequence, across memtable switches, flushes and a reopen; the live WAL
 * is followed; a deleted history is -ERANGE; an open reader pins its WALs.
 */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "lsm.h"

static lsm_db *open_db(const char *dir, uint64_t ret_seconds, uint64_t ret_bytes)
{
    lsm_options o;
    lsm_options_init(&o);
    o.memtable_bytes = 16 * 1024; /* many WALs */
    o.wal_retention_seconds = ret_seconds;
    o.wal_retention_bytes = ret_bytes;
    lsm_db *db = NULL;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    return db;
}

static void put(lsm_db *db, int i)
{
    char k[32], v[64];
    snprintf(k, sizeof k, "key%06d", i % 500);
    snprintf(v, sizeof v, "value-%d-%040d", i, i);
    assert_int_equal(lsm_put(db, k, strlen(k), v, strlen(v), 0), 0);
}

/* Reads what the reader has now; checks that entry j is write first + j
 * of put() (i == seq - 1 + base), and returns the count. */
static uint64_t drain(lsm_changes *c, uint64_t first_seq)
{
    lsm_change ch;
    uint64_t n = 0;
    int rc;
    while ((rc = lsm_changes_next(c, &ch)) == 1) {
        assert_int_equal(ch.seq, first_seq + n);
        int i = (int)(ch.seq - 1);
        char k[32], v[64];
        snprintf(k, sizeof k, "key%06d", i % 500);
        snprintf(v, sizeof v, "value-%d-%040d", i, i);
        assert_int_equal(ch.type, LSM_CHANGE_PUT);
        assert_int_equal(ch.klen, strlen(k));
        assert_memory_equal(ch.key, k, ch.klen);
        assert_int_equal(ch.vlen, strlen(v));
        assert_memory_equal(ch.value, v, ch.vlen);
        n++;
    }
    assert_int_equal(rc, 0);
    return n;
}

static int count_wals(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".log") != NULL;
    closedir(d);
    return n;
}

/* Writes 0 .. n-1 (sequences 1 .. n) over many WALs, flushes, reopens,
 * writes n .. 2n-1: changes since any point give exactly the rest. */
static void test_history_across_flush_and_reopen(void **state)
{
    (void)state;
    char *dir = th_tempdir("changes-hist");
    const int n = 2000;
    lsm_db *db = open_db(dir, 3600, 0);
    for (int i = 0; i < n; i++)
        put(db, i);
    assert_int_equal(lsm_flush(db), 0);
    assert_true(count_wals(dir) > 3); /* retired WALs kept */
    assert_int_equal(lsm_close(db), 0);
    db = open_db(dir, 3600, 0);
    for (int i = n; i < 2 * n; i++)
        put(db, i);
    uint64_t sinces[] = { 0, 1, 777, (uint64_t)n, (uint64_t)n + 1, 2 * (uint64_t)n - 1,
                          2 * (uint64_t)n };
    for (size_t s = 0; s < sizeof sinces / sizeof *sinces; s++) {
        lsm_changes *c;
        assert_int_equal(lsm_changes_open(db, sinces[s], &c), 0);
        assert_int_equal(drain(c, sinces[s] + 1), 2 * (uint64_t)n - sinces[s]);
        lsm_changes_close(c);
    }
    lsm_changes *c;
    assert_int_equal(lsm_changes_open(db, 2 * (uint64_t)n + 1, &c), -ERANGE); /* future */
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

/* A reader at the live end sees later writes, batches and deletes, each
 * with its own sequence, and a snapshot's id is the since that resumes
 * right after it. */
static void test_follows_live_wal(void **state)
{
    (void)state;
    char *dir = th_tempdir("changes-live");
    lsm_db *db = open_db(dir, 0, 1 << 30);
    for (int i = 0; i < 10; i++)
        put(db, i);
    lsm_snapshot *snap = lsm_snapshot_acquire(db);
    uint64_t since = lsm_snapshot_id(snap);
    assert_int_equal(since, 10);
    lsm_changes *c;
    assert_int_equal(lsm_changes_open(db, since, &c), 0);
    lsm_change ch;
    assert_int_equal(lsm_changes_next(c, &ch), 0);
    lsm_batch *b = lsm_batch_new();
    assert_int_equal(lsm_batch_put(b, "a", 1, "1", 1), 0);
    assert_int_equal(lsm_batch_delete(b, "key000003", 9), 0);
    assert_int_equal(lsm_write(db, b, 0), 0);
    lsm_batch_free(b);
    assert_int_equal(lsm_changes_next(c, &ch), 1);
    assert_int_equal(ch.seq, 11);
    assert_int_equal(ch.type, LSM_CHANGE_PUT);
    assert_memory_equal(ch.key, "a", 1);
    assert_int_equal(lsm_changes_next(c, &ch), 1);
    assert_int_equal(ch.seq, 12);
    assert_int_equal(ch.type, LSM_CHANGE_DELETE);
    assert_int_equal(ch.vlen, 0);
    assert_memory_equal(ch.key, "key000003", 9);
    assert_int_equal(lsm_changes_next(c, &ch), 0);
    /* Across several memtable switches while it reads. */
    for (int i = 12; i < 1500; i++)
        put(db, i);
    assert_int_equal(drain(c, 13), 1500 - 12);
    lsm_changes_close(c);
    lsm_snapshot_release(db, snap);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

/* Without retention (the default) a flushed WAL is gone: asking for its
 * writes is -ERANGE, and asking from the current sequence works.  Turned
 * on at run time, retention keeps what is retired from then on. */
static void test_deleted_history_is_erange(void **state)
{
    (void)state;
    char *dir = th_tempdir("changes-gap");
    lsm_db *db = open_db(dir, 0, 0);
    for (int i = 0; i < 300; i++)
        put(db, i);
    assert_int_equal(lsm_flush(db), 0);
    lsm_changes *c;
    assert_int_equal(lsm_changes_open(db, 0, &c), -ERANGE);
    assert_int_equal(lsm_changes_open(db, 150, &c), -ERANGE);
    assert_int_equal(lsm_changes_open(db, 300, &c), 0);
    lsm_changes_close(c);
    assert_int_equal(lsm_set_option(db, "wal_retention_bytes", "1G"), 0);
    for (int i = 300; i < 1000; i++)
        put(db, i);
    assert_int_equal(lsm_flush(db), 0);
    assert_int_equal(lsm_changes_open(db, 300, &c), 0);
    assert_int_equal(drain(c, 301), 700);
    lsm_changes_close(c);
    /* A size limit trims the oldest first: the newest writes stay. */
    assert_int_equal(lsm_set_option(db, "wal_retention_bytes", "20K"), 0);
    for (int i = 1000; i < 1400; i++)
        put(db, i);
    assert_int_equal(lsm_flush(db), 0);
    assert_int_equal(lsm_changes_open(db, 300, &c), -ERANGE);
    assert_int_equal(lsm_changes_open(db, 1390, &c), 0);
    assert_int_equal(drain(c, 1391), 10);
    lsm_changes_close(c);
    assert_int_equal(lsm_set_option(db, "wal_retention_bytes", "-1"), -EINVAL);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

static void expect_seq(lsm_changes *c, uint64_t seq)
{
    lsm_change ch;
    assert_int_equal(lsm_changes_next(c, &ch), 1);
    assert_int_equal(ch.seq, seq);
}

/* A reader opened where an earlier one stopped (mid-record, or caught up)
 * resumes from the remembered position and still returns exactly the
 * entries after since; a since below every remembered position searches;
 * a remembered WAL that is gone is searched around. */
static void test_resume_where_a_reader_stopped(void **state)
{
    (void)state;
    char *dir = th_tempdir("changes-resume");
    lsm_db *db = open_db(dir, 0, 0);
    lsm_batch *b = lsm_batch_new();
    for (int i = 0; i < 10; i++) {
        char k[8];
        snprintf(k, sizeof k, "b%d", i);
        assert_int_equal(lsm_batch_put(b, k, strlen(k), "v", 1), 0);
    }
    assert_int_equal(lsm_write(db, b, 0), 0); /* sequences 1 .. 10, one record */
    lsm_batch_free(b);
    for (int i = 10; i < 20; i++)
        put(db, i);                            /* 11 .. 20 */
    lsm_changes *c;
    assert_int_equal(lsm_changes_open(db, 0, &c), 0);
    for (uint64_t s = 1; s <= 5; s++)
        expect_seq(c, s);
    lsm_changes_close(c);                      /* stopped inside the batch */
    assert_int_equal(lsm_changes_open(db, 5, &c), 0);
    for (uint64_t s = 6; s <= 10; s++)
        expect_seq(c, s);
    assert_int_equal(drain(c, 11), 10);
    lsm_changes_close(c);                      /* caught up */
    assert_int_equal(lsm_changes_open(db, 20, &c), 0);
    lsm_change ch;
    assert_int_equal(lsm_changes_next(c, &ch), 0);
    put(db, 20);
    expect_seq(c, 21);
    lsm_changes_close(c);
    assert_int_equal(lsm_changes_open(db, 2, &c), 0);
    for (uint64_t s = 3; s <= 10; s++)
        expect_seq(c, s);
    assert_int_equal(drain(c, 11), 11);
    lsm_changes_close(c);
    assert_int_equal(lsm_flush(db), 0);        /* no retention: the WAL goes */
    assert_int_equal(lsm_changes_open(db, 5, &c), -ERANGE);
    assert_int_equal(lsm_changes_open(db, 21, &c), 0);
    assert_int_equal(lsm_changes_next(c, &ch), 0);
    put(db, 21);
    expect_seq(c, 22);
    lsm_changes_close(c);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

/* Makes every WAL in dir look written two hours ago. */
static void age_wals(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    struct timeval old[2];
    gettimeofday(&old[0], NULL);
    old[0].tv_sec -= 7200;
    old[1] = old[0];
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".log"))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        assert_int_equal(utimes(path, old), 0);
    }
    closedir(d);
}

/* wal_retention_seconds: retired WALs older than the limit go at the next
 * flush, younger ones stay. */
static void test_retention_by_age(void **state)
{
    (void)state;
    char *dir = th_tempdir("changes-age");
    lsm_db *db = open_db(dir, 3600, 0);
    for (int i = 0; i < 1000; i++)
        put(db, i);
    assert_int_equal(lsm_flush(db), 0);
    int before = count_wals(dir);
    assert_true(before > 3);
    assert_int_equal(lsm_flush(db), 0); /* nothing to flush: nothing deleted */
    assert_int_equal(count_wals(dir), before);
    age_wals(dir);
    put(db, 1000);
    assert_int_equal(lsm_flush(db), 0);
    assert_int_equal(count_wals(dir), 2); /* the one just retired + the live one */
    char *js;
    assert_int_equal(lsm_stats_json(db, &js), 0);
    assert_int_equal(th_json_u64(js, "\"wal\"", "\"retained_files\":"), 1);
    assert_true(th_json_u64(js, "\"wal\"", "\"retained_bytes\":") > 0);
    lsm_free(js);
    lsm_changes *c;
    assert_int_equal(lsm_changes_open(db, 0, &c), -ERANGE);
    assert_int_equal(lsm_changes_open(db, 1000, &c), 0);
    assert_int_equal(drain(c, 1001), 1);
    lsm_changes_close(c);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

/* An open reader keeps the WALs it still needs, retention or not; closed,
 * they go at the next flush. */
static void test_reader_pins_wals(void **state)
{
    (void)state;
    char *dir = th_tempdir("changes-pin");
    lsm_db *db = open_db(dir, 0, 0);
    lsm_changes *c;
    assert_int_equal(lsm_changes_open(db, 0, &c), 0);
    for (int i = 0; i < 1000; i++)
        put(db, i);
    assert_int_equal(lsm_flush(db), 0);
    assert_true(count_wals(dir) > 3);
    assert_int_equal(drain(c, 1), 1000);
    lsm_changes_close(c);
    put(db, 1000);
    assert_int_equal(lsm_flush(db), 0);
    assert_int_equal(count_wals(dir), 1);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_across_flush_and_reopen),
        cmocka_unit_test(test_follows_live_wal),
        cmocka_unit_test(test_deleted_history_is_erange),
        cmocka_unit_test(test_reader_pins_wals),
        cmocka_unit_test(test_retention_by_age),
        cmocka_unit_test(test_resume_where_a_reader_stopped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
