/*
 * test_sync_wal.c — writes in two steps (lsm.h): lsm_write_pos applies a
 * write and returns its WAL position without waiting for a sync;
 * lsm_sync_wal makes every write up to a position durable.
 *
 * Power loss is simulated with the fault backend (io/io.h,
 * io_fault_power_loss): every byte no completed sync covers is dropped.
 * Everything up to a synced position must survive it, also when the
 * writes span several WALs (memtable switches), and the survivors must be
 * a prefix.  A control shows the unsynced writes are lost without the
 * sync, so the power loss model is what makes the other tests meaningful.
 */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "io/io.h"
#include "lsm.h"

static lsm_db *open_with(const char *dir, lsm_io *io, size_t memtable_bytes)
{
    lsm_options o;
    lsm_options_init(&o);
    o.memtable_bytes = memtable_bytes;
    o.io = io;
    lsm_db *db = NULL;
    int rc = lsm_open(dir, &o, &db);
    if (rc != 0)
        fail_msg("open failed: %s", lsm_strerror(rc));
    return db;
}

/* Puts key i (history.h's k<i>_) into b, cleared first. */
static void batch_key(lsm_batch *b, long i)
{
    char k[32], v[256];
    lsm_batch_clear(b);
    assert_int_equal(lsm_batch_put(b, k, history_key(k, i, '_'), v, history_value(v, i, '_')),
                     0);
}

/* Puts key i without a sync; returns its position. */
static uint64_t put_nosync(lsm_db *db, lsm_batch *b, long i)
{
    batch_key(b, i);
    uint64_t pos = 0;
    assert_int_equal(lsm_write_pos(db, b, 0, &pos), 0);
    return pos;
}

static int present(lsm_db *db, long i)
{
    return history_db_has(db, i, '_');
}

/* A database over the fault backend, for a power loss. */
typedef struct faulty {
    char *dir;
    size_t memtable_bytes;
    lsm_io *base, *fault;
    lsm_db *db;
} faulty;

static void faulty_open(faulty *f, const char *tag, size_t memtable_bytes)
{
    f->dir = th_tempdir(tag);
    f->memtable_bytes = memtable_bytes;
    assert_int_equal(io_new(NULL, &f->base), 0);
    assert_int_equal(io_fault_new(f->base, &f->fault), 0);
    f->db = open_with(f->dir, f->fault, memtable_bytes);
}

/* Cuts the power and reopens the database on a healthy backend. */
static lsm_db *faulty_cut_reopen(faulty *f)
{
    assert_int_equal(io_fault_power_loss(f->fault), 0);
    lsm_close(f->db); /* the machine is off: it may report an error */
    io_destroy(f->fault);
    io_destroy(f->base);
    return open_with(f->dir, NULL, f->memtable_bytes);
}

static void faulty_done(faulty *f, lsm_db *db)
{
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(f->dir);
}

static unsigned long long wal_syncs(lsm_db *db)
{
    char *json = NULL;
    assert_int_equal(lsm_stats_json(db, &json), 0);
    unsigned long long v = th_json_u64(json, "\"wal\":{", "\"syncs\":");
    lsm_free(json);
    return v;
}

/* Writes n keys from 0 without a sync, syncs up to key `sync_at` (-1:
 * never), cuts the power, reopens and returns how many keys survived
 * (checking they are a prefix). */
static long write_cut_count(size_t memtable_bytes, long n, long sync_at)
{
    faulty f;
    faulty_open(&f, "syncwal", memtable_bytes);
    lsm_db *db = f.db;
    lsm_batch *b = lsm_batch_new();
    uint64_t last = 0, sync_pos = 0;
    for (long i = 0; i < n; i++) {
        uint64_t pos = put_nosync(db, b, i);
        assert_true(pos > last); /* positions grow with the write order */
        last = pos;
        if (i == sync_at)
            sync_pos = pos;
    }
    if (sync_at >= 0)
        assert_int_equal(lsm_sync_wal(db, sync_pos), 0);
    lsm_batch_free(b);
    db = faulty_cut_reopen(&f);
    long kept = 0;
    while (kept < n && present(db, kept))
        kept++;
    for (long j = kept; j < n; j++)
        if (present(db, j))
            fail_msg("hole: key %ld present, key %ld missing", j, kept);
    faulty_done(&f, db);
    return kept;
}

/* One WAL: a sync of the last position keeps every write. */
static void test_sync_keeps_writes(void **state)
{
    (void)state;
    assert_int_equal(write_cut_count(4u << 20, 200, 199), 200);
}

/* Control: without lsm_sync_wal the same writes are lost. */
static void test_unsynced_lost(void **state)
{
    (void)state;
    assert_int_equal(write_cut_count(4u << 20, 200, -1), 0);
}

/* A sync up to a middle position keeps at least everything up to it. */
static void test_sync_middle(void **state)
{
    (void)state;
    assert_true(write_cut_count(4u << 20, 200, 99) >= 100);
}

/* Across memtable switches (a 16 KiB memtable holds ~70 of these keys):
 * the position synced lies in the last of several WALs, and the earlier
 * WALs (switched away) hold the rest. */
static void test_sync_across_switches(void **state)
{
    (void)state;
    assert_int_equal(write_cut_count(16u << 10, 500, 499), 500);
}

/* A position in a WAL switched away since: the switch synced it; the
 * call returns at once and the writes survive. */
static void test_sync_old_wal(void **state)
{
    (void)state;
    faulty f;
    faulty_open(&f, "syncold", 16u << 10);
    lsm_db *db = f.db;
    lsm_batch *b = lsm_batch_new();
    uint64_t first = put_nosync(db, b, 0);
    for (long i = 1; i < 300; i++)
        put_nosync(db, b, i);
    unsigned long long syncs = wal_syncs(db);
    assert_int_equal(lsm_sync_wal(db, first), 0);
    assert_int_equal(wal_syncs(db), syncs); /* durable already: no fdatasync */
    lsm_batch_free(b);
    db = faulty_cut_reopen(&f);
    for (long i = 0; i < 50; i++)
        assert_true(present(db, i));
    faulty_done(&f, db);
}

/* One fdatasync covers every write before it; a second call for the same
 * or an earlier position costs none. */
static void test_sync_shared(void **state)
{
    (void)state;
    char *dir = th_tempdir("syncshared");
    lsm_db *db = open_with(dir, NULL, 4u << 20);
    lsm_batch *b = lsm_batch_new();
    uint64_t p1 = put_nosync(db, b, 1);
    uint64_t p2 = put_nosync(db, b, 2);
    unsigned long long syncs = wal_syncs(db);
    assert_int_equal(lsm_sync_wal(db, p2), 0);
    assert_int_equal(wal_syncs(db), syncs + 1);
    assert_int_equal(lsm_sync_wal(db, p1), 0);
    assert_int_equal(lsm_sync_wal(db, p2), 0);
    assert_int_equal(wal_syncs(db), syncs + 1);
    /* An empty batch gets the latest position. */
    lsm_batch_clear(b);
    uint64_t pe = 0;
    assert_int_equal(lsm_write_pos(db, b, 0, &pe), 0);
    assert_int_equal(pe, p2);
    lsm_batch_free(b);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

static void test_sync_errors(void **state)
{
    (void)state;
    faulty f;
    faulty_open(&f, "syncerr", 4u << 20);
    lsm_db *db = f.db;
    lsm_io *fault = f.fault;
    lsm_batch *b = lsm_batch_new();
    uint64_t pos = put_nosync(db, b, 1);
    assert_int_equal(lsm_sync_wal(NULL, pos), -EINVAL);
    assert_int_equal(lsm_sync_wal(db, pos + 1), -EINVAL); /* no write has it */
    uint64_t dummy;
    assert_int_equal(lsm_write_pos(db, NULL, 0, &dummy), -EINVAL);
    assert_int_equal(lsm_write_pos(db, b, 0, NULL), -EINVAL);
    assert_int_equal(lsm_write_pos(db, b, 4, &dummy), -EINVAL);
    /* The fdatasync fails: the error is returned, and the database is
     * read-only from then on. */
    pos = put_nosync(db, b, 2);
    io_fault_arm(fault, 1, EIO, 0);
    assert_int_equal(lsm_sync_wal(db, pos), -EIO);
    io_fault_arm(fault, 0, 0, 0);
    assert_int_equal(lsm_sync_wal(db, pos), -EIO); /* sticky */
    batch_key(b, 3);
    assert_int_equal(lsm_write_pos(db, b, 0, &dummy), LSM_EREADONLY);
    lsm_batch_free(b);
    lsm_close(db);
    io_destroy(f.fault);
    io_destroy(f.base);
    th_rmrf_free(f.dir);
}

/* Threads write and sync concurrently (for the sanitizers: the sync state
 * against the writers and the switches); every position each thread
 * synced must be durable: after a power loss each thread's keys up to its
 * last synced one are there. */
enum { THREADS = 4, PER_THREAD = 400 };

struct worker_arg {
    lsm_db *db;
    int t;
    long synced; /* last key index synced */
};

static void *writer_main(void *p)
{
    struct worker_arg *a = p;
    lsm_batch *b = lsm_batch_new();
    for (long i = 0; i < PER_THREAD; i++) {
        long key = (long)a->t * 100000 + i;
        uint64_t pos = put_nosync(a->db, b, key);
        if (i % 7 == 0) {
            if (lsm_sync_wal(a->db, pos) != 0)
                break;
            a->synced = i;
        }
    }
    lsm_batch_free(b);
    return NULL;
}

static void test_sync_concurrent(void **state)
{
    (void)state;
    faulty f;
    faulty_open(&f, "syncconc", 32u << 10);
    lsm_db *db = f.db;
    pthread_t th[THREADS];
    struct worker_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (struct worker_arg){ db, t, -1 };
        assert_int_equal(pthread_create(&th[t], NULL, writer_main, &args[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    db = faulty_cut_reopen(&f);
    for (int t = 0; t < THREADS; t++) {
        assert_true(args[t].synced >= 0);
        for (long i = 0; i <= args[t].synced; i++)
            if (!present(db, (long)t * 100000 + i))
                fail_msg("thread %d: key %ld lost (synced up to %ld)", t, i, args[t].synced);
    }
    faulty_done(&f, db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_keeps_writes),
        cmocka_unit_test(test_unsynced_lost),
        cmocka_unit_test(test_sync_middle),
        cmocka_unit_test(test_sync_across_switches),
        cmocka_unit_test(test_sync_old_wal),
        cmocka_unit_test(test_sync_shared),
        cmocka_unit_test(test_sync_errors),
        cmocka_unit_test(test_sync_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
