/*
 * test_transient_errors.c — running out of descriptors is not corruption
 * (issue 9, item 1).  For each file-creating step — the new WAL at a
 * memtable switch, the table of a flush, the table of a compaction, the
 * MANIFEST roll and CURRENT, the directory syncs, and all of them at once
 * — the fault backend fails it with EMFILE (or ENFILE/ENOMEM) for a
 * window of time while a writer keeps putting.  Every time:
 *   - no write is refused with LSM_EREADONLY and the database has no
 *     background error: writes stall, or are refused with the transient
 *     error after a bounded wait;
 *   - once descriptors are back, the database recovers by itself (the
 *     flush or compaction completes, writes succeed), keeps every
 *     acknowledged write, also after close and reopen, and leaks no
 *     descriptor.
 * And EIO at the same steps still makes the database read-only.
 * LSM_TEST_PER_BACKEND
 */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/filenames.h"
#include "db/db_impl.h" /* db->vs: a tiny MANIFEST roll size */
#include "db/obsolete_files.h"
#include "io/io.h"
#include "lsm.h"

#define MAX_KEYS 60000

static size_t key_of(char *buf, int i) { return (size_t)sprintf(buf, "key%06d", i); }
static size_t value_of(char *buf, int i) { return (size_t)sprintf(buf, "v%06d-%0180d", i, i); }

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static unsigned long long stat_u64(lsm_db *db, const char *anchor, const char *field)
{
    char *json;
    assert_int_equal(lsm_stats_json(db, &json), 0);
    unsigned long long v = th_json_u64(json, anchor, field);
    lsm_free(json);
    return v;
}

/* Files of dir whose name starts with prefix and ends with suffix. */
static int count_files(const char *dir, const char *prefix, const char *suffix)
{
    int n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    size_t pl = strlen(prefix), sl = strlen(suffix);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        n += len >= pl + sl && strncmp(e->d_name, prefix, pl) == 0 &&
             strcmp(e->d_name + len - sl, suffix) == 0;
    }
    closedir(d);
    return n;
}

/* ---- the writer ------------------------------------------------------------ */

struct writer {
    lsm_db *db;
    pthread_t thread;
    atomic_bool stop;
    atomic_int next;        /* keys tried so far */
    atomic_int acked_total;
    atomic_int refused;     /* transient refusals */
    atomic_int bad_rc;      /* first other error (LSM_EREADONLY, ...) */
    unsigned char acked[MAX_KEYS];
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char k[32], v[256];
    for (int i = 0; i < MAX_KEYS && !atomic_load(&w->stop); i++) {
        int rc = lsm_put(w->db, k, key_of(k, i), v, value_of(v, i), i % 7 == 0 ? LSM_SYNC : 0);
        atomic_store(&w->next, i + 1);
        if (rc == 0) {
            w->acked[i] = 1;
            atomic_fetch_add(&w->acked_total, 1);
        } else if (io_error_is_transient(rc)) {
            atomic_fetch_add(&w->refused, 1);
        } else {
            atomic_store(&w->bad_rc, rc);
            break;
        }
    }
    return NULL;
}

static void verify(lsm_db *db, const struct writer *w)
{
    char k[32], v[256];
    int n = atomic_load(&w->next);
    for (int i = 0; i < n; i++) {
        if (!w->acked[i])
            continue;
        void *got;
        size_t len, vn = value_of(v, i);
        int rc = lsm_get(db, NULL, k, key_of(k, i), &got, &len);
        if (rc != 0)
            fail_msg("acknowledged key %d lost: %s", i, lsm_strerror(rc));
        assert_int_equal(len, vn);
        assert_memory_equal(got, v, vn);
        lsm_free(got);
    }
}

/* Puts keys from..to-1 synced, each acknowledged. */
static void put_synced(struct writer *w, int from, int to)
{
    char k[32], v[256];
    for (int i = from; i < to; i++) {
        assert_int_equal(lsm_put(w->db, k, key_of(k, i), v, value_of(v, i), LSM_SYNC), 0);
        w->acked[i] = 1;
        atomic_store(&w->next, i + 1);
    }
}

/* ---- one scenario ----------------------------------------------------------- */

enum setup { PLAIN, COMPACTION, ROLL };

struct step {
    const char *name;
    unsigned ops;           /* IO_FAULT_* kinds the window fails */
    const char *pattern;    /* path part, NULL = any */
    enum setup setup;
    bool counted;           /* the failure reaches a retry loop (stats) */
    long hold_ms;           /* how long descriptors stay gone */
};

/* Waits up to 10 s for cond(db); fails the test otherwise. */
static void wait_for(lsm_db *db, bool (*cond)(lsm_db *, void *), void *arg, const char *what)
{
    for (int i = 0; i < 1000; i++) {
        if (cond(db, arg))
            return;
        sleep_ms(10);
    }
    fail_msg("the database did not recover by itself: %s", what);
}

static bool fault_fired(lsm_db *db, void *io)
{
    (void)db;
    return io_fault_fd_hits(io) > 0;
}

static bool l0_empty(lsm_db *db, void *arg)
{
    (void)arg;
    return stat_u64(db, "\"level\":0,", "\"files\":") == 0;
}

static bool writes_flowing(lsm_db *db, void *arg)
{
    struct writer *w = arg;
    /* No background step is retrying, and 300 writes passed since. */
    static int mark = -1;
    if (mark < 0)
        mark = atomic_load(&w->acked_total);
    if (stat_u64(db, "\"transient_errors\":", "\"transient_error\":") != 0 ||
        atomic_load(&w->acked_total) < mark + 300)
        return false;
    mark = -1;
    return true;
}

/* A fault backend over the default one, and options that use it. */
static void fault_options(lsm_io **base, lsm_io **fault, lsm_options *o)
{
    assert_int_equal(io_new(NULL, base), 0);
    assert_int_equal(io_fault_new(*base, fault), 0);
    lsm_options_init(o);
    o->io = *fault;
}

static void run_step(const struct step *s, int err)
{
    char *dir = th_tempdir("transient");
    int fds_before = th_open_fds();
    lsm_io *base, *fault;
    lsm_options o;
    fault_options(&base, &fault, &o);
    /* Small memtables: the writer switches WALs and flushes all the time;
     * the compaction scenario keeps one memtable and builds L0 itself. */
    o.memtable_bytes = s->setup == COMPACTION ? 8u << 20 : 16u << 10;
    o.l0_compaction_trigger = s->setup == COMPACTION ? 8 : 4;
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    struct writer *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->db = db;

    if (s->setup == ROLL)
        version_set_set_manifest_roll_bytes(db->vs, 1); /* every edit rolls */
    if (s->setup == COMPACTION) {
        for (int f = 0; f < 3; f++) {
            char k[16];
            for (int i = 0; i < 50; i++) {
                int n = snprintf(k, sizeof k, "seed%d-%02d", f, i);
                assert_int_equal(lsm_put(db, k, (size_t)n, "v", 1, 0), 0);
            }
            assert_int_equal(lsm_flush(db), 0);
        }
        assert_int_equal(stat_u64(db, "\"level\":0,", "\"files\":"), 3);
    }

    io_fault_fd_window(fault, err, s->ops, s->pattern);
    assert_int_equal(pthread_create(&w->thread, NULL, writer_main, w), 0);
    if (s->setup == COMPACTION) /* L0 is due now: the compaction starts */
        assert_int_equal(lsm_set_option(db, "l0_compaction_trigger", "2"), 0);
    wait_for(db, fault_fired, fault, "the fault never fired");
    sleep_ms(s->hold_ms); /* descriptors stay gone a while; retries fail too */

    const char *why = NULL;
    if (lsm_db_error(db, &why) != 0)
        fail_msg("%s: %s made the database read-only: %s", s->name, strerror(err), why);
    if (atomic_load(&w->bad_rc) != 0)
        fail_msg("%s: a write failed with %s", s->name, lsm_strerror(atomic_load(&w->bad_rc)));
    if (s->counted)
        assert_true(stat_u64(db, "\"transient_errors\":", "\"transient_errors\":") > 0);
    /* Held past the bounded wait: stalled writes were refused one by one
     * with the transient error (and are not acknowledged). */
    if ((unsigned long long)s->hold_ms > DB_TRANSIENT_WAIT_NS / 1000000)
        assert_true(atomic_load(&w->refused) > 0);

    io_fault_fd_window(fault, 0, 0, NULL); /* descriptors are back */
    if (s->setup == COMPACTION)
        wait_for(db, l0_empty, NULL, "L0 never compacted");
    else
        wait_for(db, writes_flowing, w, "writes did not resume");
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
    if (atomic_load(&w->bad_rc) != 0)
        fail_msg("%s: a write failed with %s", s->name, lsm_strerror(atomic_load(&w->bad_rc)));
    assert_int_equal(lsm_db_error(db, NULL), 0);
    assert_int_equal(lsm_flush(db), 0);
    if (s->setup == ROLL) /* the old MANIFESTs went once CURRENT was durable */
        assert_int_equal(count_files(dir, "MANIFEST-", ""), 1);
    verify(db, w);
    fprintf(stderr, "%s (%s): %d writes acknowledged, %d refused as transient, "
                    "%llu window hits, %llu transient retries\n",
            s->name, strerror(err), atomic_load(&w->acked_total), atomic_load(&w->refused),
            (unsigned long long)io_fault_fd_hits(fault),
            stat_u64(db, "\"transient_errors\":", "\"transient_errors\":"));
    assert_int_equal(lsm_close(db), 0);
    io_destroy(fault);
    io_destroy(base);
    assert_int_equal(th_open_fds(), fds_before); /* nothing leaked */

    /* Everything acknowledged survives a reopen on a healthy disk. */
    assert_int_equal(lsm_open(dir, NULL, &db), 0);
    verify(db, w);
    assert_int_equal(lsm_close(db), 0);
    free(w);
    th_rmrf_free(dir);
}

/* The WAL window outlasts DB_TRANSIENT_WAIT_NS (2 s): writes are then
 * refused one by one; the others are short: writes only stall. */
static const struct step k_wal = { "new WAL at a memtable switch", IO_FAULT_CREATE, ".log",
                                   PLAIN, true, 2600 };
static const struct step k_flush = { "table of a flush", IO_FAULT_CREATE, ".sst", PLAIN, true,
                                     300 };
static const struct step k_compaction = { "table of a compaction", IO_FAULT_CREATE, ".sst",
                                          COMPACTION, true, 300 };
static const struct step k_manifest = { "new MANIFEST at a roll", IO_FAULT_CREATE, "MANIFEST-",
                                        ROLL, false, 300 };
static const struct step k_current = { "CURRENT.tmp at a roll", IO_FAULT_CREATE, "CURRENT",
                                       ROLL, false, 300 };
static const struct step k_sync_dir = { "directory syncs (WAL, flush, compaction, CURRENT)",
                                        IO_FAULT_SYNC_DIR, NULL, ROLL, true, 300 };
static const struct step k_all = { "every open and directory sync",
                                   IO_FAULT_CREATE | IO_FAULT_OPEN | IO_FAULT_SYNC_DIR, NULL,
                                   ROLL, true, 300 };

static void test_wal_switch_emfile(void **s) { (void)s; run_step(&k_wal, EMFILE); }
static void test_flush_table_emfile(void **s) { (void)s; run_step(&k_flush, EMFILE); }
static void test_compaction_table_emfile(void **s) { (void)s; run_step(&k_compaction, EMFILE); }
static void test_manifest_roll_emfile(void **s) { (void)s; run_step(&k_manifest, EMFILE); }
static void test_current_emfile(void **s) { (void)s; run_step(&k_current, EMFILE); }
static void test_dir_sync_emfile(void **s) { (void)s; run_step(&k_sync_dir, EMFILE); }
static void test_everything_enfile(void **s) { (void)s; run_step(&k_all, ENFILE); }
static void test_everything_enomem(void **s) { (void)s; run_step(&k_all, ENOMEM); }

/* ---- a failed WAL switch leaves no file ------------------------------------ */

/* The new WAL's open makes the file and then fails with ENOMEM: every
 * retry of the switch used to leave that file behind (it was unlinked only
 * when a writer had been returned). */
static void test_wal_switch_created_then_enomem_leaves_no_file(void **state)
{
    (void)state;
    char *dir = th_tempdir("transient");
    lsm_io *base, *fault;
    lsm_options o;
    fault_options(&base, &fault, &o);
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    struct writer *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->db = db;
    put_synced(w, 0, 10);
    assert_int_equal(count_files(dir, "", ".log"), 1);
    io_fault_fd_window(fault, ENOMEM, IO_FAULT_CREATED, ".log");
    /* The switch is retried for DB_TRANSIENT_WAIT_NS, then refused. */
    assert_int_equal(lsm_flush(db), -ENOMEM);
    assert_true(io_fault_fd_hits(fault) > 1);
    assert_int_equal(count_files(dir, "", ".log"), 1);
    assert_int_equal(lsm_db_error(db, NULL), 0);
    io_fault_fd_window(fault, 0, 0, NULL);
    assert_int_equal(lsm_flush(db), 0);
    verify(db, w);
    assert_int_equal(lsm_close(db), 0);
    io_destroy(fault);
    io_destroy(base);
    free(w);
    th_rmrf_free(dir);
}

/* ---- a roll's unsynced CURRENT keeps the old MANIFEST ----------------------- */

/* A flush's edit rolls the MANIFEST; CURRENT is renamed but its directory
 * sync gets EMFILE, so the durable CURRENT may still name the old
 * MANIFEST.  The flush succeeds and deletes obsolete files (again here,
 * with descriptors back, before any edit retries the sync).  That used to
 * take the old MANIFEST too (everything below manifest_number); on a file
 * system that persisted the unlink but not the rename, power loss then
 * left CURRENT naming a missing MANIFEST and the database did not open. */
static void test_roll_unsynced_current_keeps_old_manifest(void **state)
{
    (void)state;
    char *dir = th_tempdir("transient");
    lsm_io *base, *fault;
    lsm_options o;
    fault_options(&base, &fault, &o);
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    io_fault_durable_unlinks(fault, 1); /* the worst order POSIX allows */
    struct writer *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->db = db;
    put_synced(w, 0, 100);
    assert_int_equal(lsm_flush(db), 0);
    uint64_t first = version_set_manifest_number(db->vs);
    char *old = filename_manifest(dir, first);
    assert_non_null(old);

    pthread_mutex_lock(&db->manifest_mu);
    version_set_set_manifest_roll_bytes(db->vs, 1); /* the next edit rolls */
    pthread_mutex_unlock(&db->manifest_mu);
    put_synced(w, 100, 200);
    /* lsm_flush syncs the directory for the new WAL, then for the table,
     * then for CURRENT at the roll: only the last one fails. */
    io_fault_fd_window(fault, EMFILE, IO_FAULT_SYNC_DIR, NULL);
    io_fault_fd_window_skip(fault, 2);
    assert_int_equal(lsm_flush(db), 0);
    assert_int_equal(io_fault_fd_hits(fault), 1);
    assert_true(version_set_manifest_number(db->vs) > first); /* rolled */
    assert_int_equal(lsm_db_error(db, NULL), 0);
    io_fault_fd_window(fault, 0, 0, NULL); /* descriptors are back */
    db_delete_obsolete(db);
    bool kept = access(old, F_OK) == 0;

    assert_int_equal(io_fault_power_loss(fault), 0);
    lsm_close(db); /* fails: the power is off */
    io_destroy(fault);
    io_destroy(base);
    int rc = lsm_open(dir, NULL, &db);
    if (rc != 0)
        fail_msg("reopen after power loss failed: %s", lsm_strerror(rc));
    verify(db, w);
    assert_int_equal(lsm_close(db), 0);
    assert_true(kept); /* what the durable CURRENT named was never deleted */
    free(old);
    free(w);
    th_rmrf_free(dir);
}

/* ---- compact_transient follows the step it stands for ---------------------- */

static bool transient_set(lsm_db *db, void *arg)
{
    (void)arg;
    return stat_u64(db, "\"transient_errors\":", "\"transient_error\":") != 0;
}

static bool transient_clear(lsm_db *db, void *arg)
{
    return !transient_set(db, arg);
}

static unsigned long long write_stops(lsm_db *db)
{
    return stat_u64(db, "\"stalls\":{", "\"stops\":");
}

/* Polls cond for up to 5 s; returns whether it came true. */
static bool within(lsm_db *db, bool (*cond)(lsm_db *, void *), void *arg)
{
    for (int i = 0; i < 500; i++) {
        if (cond(db, arg))
            return true;
        sleep_ms(10);
    }
    return false;
}

static void set_opt(lsm_db *db, const char *name, const char *value)
{
    assert_int_equal(lsm_set_option(db, name, value), 0);
}

/* A compaction fails with EMFILE, then descriptors come back.  due: the
 * same compaction is retried and creates its output, but cannot finish
 * (the test holds manifest_mu); !due: the options change so that nothing
 * is due.  Either way nothing retries any more, so the transient error
 * must clear, and a later write stop behind a healthy compaction that
 * takes longer than DB_TRANSIENT_WAIT_NS must stall, not be refused with
 * EMFILE (compact_transient used to be cleared only by a success). */
static void compact_transient_clears(bool due)
{
    char *dir = th_tempdir("transient");
    lsm_io *base, *fault;
    lsm_options o;
    fault_options(&base, &fault, &o);
    o.memtable_bytes = 64u << 10;
    o.l0_compaction_trigger = 8;
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    for (int f = 0; f < 3; f++) {
        char k[16];
        for (int i = 0; i < 50; i++) {
            int n = snprintf(k, sizeof k, "seed%d-%02d", f, i);
            assert_int_equal(lsm_put(db, k, (size_t)n, "v", 1, 0), 0);
        }
        assert_int_equal(lsm_flush(db), 0);
    }
    io_fault_fd_window(fault, EMFILE, IO_FAULT_CREATE, ".sst");
    set_opt(db, "l0_compaction_trigger", "2"); /* L0 (3 files) is due */
    wait_for(db, transient_set, NULL, "the compaction never failed");

    pthread_mutex_lock(&db->manifest_mu); /* no compaction can finish */
    if (!due)
        set_opt(db, "l0_compaction_trigger", "8");
    io_fault_fd_window(fault, 0, 0, NULL); /* descriptors are back */
    bool cleared = within(db, transient_clear, NULL);
    set_opt(db, "l0_compaction_trigger", "2");
    set_opt(db, "l0_slowdown_trigger", "3");
    set_opt(db, "l0_stop_trigger", "3"); /* a full memtable stops writes */
    struct writer *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->db = db;
    unsigned long long stops = write_stops(db);
    assert_int_equal(pthread_create(&w->thread, NULL, writer_main, w), 0);
    sleep_ms((long)(DB_TRANSIENT_WAIT_NS / 1000000) + 500);
    int refused = atomic_load(&w->refused);
    assert_true(write_stops(db) > stops); /* the writer did reach the stop */
    pthread_mutex_unlock(&db->manifest_mu);
    int mark = atomic_load(&w->acked_total);
    for (int i = 0; i < 500 && atomic_load(&w->acked_total) < mark + 500; i++)
        sleep_ms(10);
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);

    if (refused)
        fail_msg("%d writes refused with EMFILE behind a healthy compaction", refused);
    if (!cleared)
        fail_msg("%s: the transient error stayed set with nothing retrying",
                 due ? "a retry that created its output" : "nothing due");
    assert_int_equal(atomic_load(&w->bad_rc), 0);
    assert_true(atomic_load(&w->acked_total) >= mark + 500); /* writes flow again */
    assert_int_equal(lsm_db_error(db, NULL), 0);
    verify(db, w);
    assert_int_equal(lsm_close(db), 0);
    io_destroy(fault);
    io_destroy(base);
    free(w);
    th_rmrf_free(dir);
}

static void test_compact_transient_clears_when_none_due(void **s)
{
    (void)s;
    compact_transient_clears(false);
}

static void test_compact_transient_clears_when_output_created(void **s)
{
    (void)s;
    compact_transient_clears(true);
}

/* ---- the contract that stays: EIO is sticky ---------------------------------- */

/* EIO where EMFILE was retried: the failing write gets -EIO, every later
 * one LSM_EREADONLY, also once the disk "works" again; a reopen keeps
 * every acknowledged write. */
static void eio_at(const struct step *s)
{
    char *dir = th_tempdir("transient");
    lsm_io *base, *fault;
    lsm_options o;
    fault_options(&base, &fault, &o);
    o.memtable_bytes = 16u << 10;
    o.max_immutable_memtables = 1;
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    struct writer *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->db = db;
    io_fault_fd_window(fault, EIO, s->ops, s->pattern);
    char k[32], v[256];
    int rc = 0, i;
    for (i = 0; i < MAX_KEYS && rc == 0; i++) {
        rc = lsm_put(db, k, key_of(k, i), v, value_of(v, i), 0);
        w->acked[i] = rc == 0;
    }
    atomic_store(&w->next, i);
    if (rc != -EIO && rc != LSM_EREADONLY) /* the flush fails in the background */
        fail_msg("%s: EIO surfaced as %s", s->name, lsm_strerror(rc));
    assert_int_equal(lsm_db_error(db, NULL), -EIO);
    io_fault_fd_window(fault, 0, 0, NULL);
    assert_int_equal(lsm_put(db, "z", 1, "z", 1, 0), LSM_EREADONLY);
    assert_int_equal(lsm_flush(db), LSM_EREADONLY);
    assert_int_equal(lsm_close(db), -EIO);
    io_destroy(fault);
    io_destroy(base);
    assert_int_equal(lsm_open(dir, NULL, &db), 0);
    verify(db, w);
    assert_int_equal(lsm_close(db), 0);
    free(w);
    th_rmrf_free(dir);
}

static void test_wal_switch_eio_still_readonly(void **s) { (void)s; eio_at(&k_wal); }
static void test_flush_table_eio_still_readonly(void **s) { (void)s; eio_at(&k_flush); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wal_switch_emfile),
        cmocka_unit_test(test_flush_table_emfile),
        cmocka_unit_test(test_compaction_table_emfile),
        cmocka_unit_test(test_manifest_roll_emfile),
        cmocka_unit_test(test_current_emfile),
        cmocka_unit_test(test_dir_sync_emfile),
        cmocka_unit_test(test_everything_enfile),
        cmocka_unit_test(test_everything_enomem),
        cmocka_unit_test(test_wal_switch_created_then_enomem_leaves_no_file),
        cmocka_unit_test(test_roll_unsynced_current_keeps_old_manifest),
        cmocka_unit_test(test_compact_transient_clears_when_none_due),
        cmocka_unit_test(test_compact_transient_clears_when_output_created),
        cmocka_unit_test(test_wal_switch_eio_still_readonly),
        cmocka_unit_test(test_flush_table_eio_still_readonly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
