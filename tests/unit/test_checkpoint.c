/*
 * test_checkpoint.c — lsm_checkpoint (engine/db/db_checkpoint.c):
 *   copy_opens_alone     flushed tables, an unflushed memtable and deletes:
 *                        the copy opens beside the live database (its own
 *                        LOCK) with exactly the writes before the call;
 *                        the two then diverge independently; tables are
 *                        hard links on the same file system.
 *   cross_fs             the copy on another file system (/dev/shm against
 *                        $TMPDIR): tables are copied, and it opens whole.
 *   deletions_held       in the window between the capture and the copy,
 *                        more writes, a flush (retiring the WAL being
 *                        copied) and a whole-tree compaction (making every
 *                        captured table obsolete): the copy still holds
 *                        exactly the captured writes, and what became
 *                        obsolete is deleted once the call returns.
 *   concurrent_writers   threads writing all along: every write
 *                        acknowledged before the call is in the copy.
 *   refusals             NULL, an existing DIR, a missing parent, a stale
 *                        DIR.tmp (removed), a foreign file in DIR.tmp
 *                        (-ENOTEMPTY, left alone), a DIR.tmp another
 *                        checkpoint holds (-EBUSY, left alone).
 *   faults               every I/O operation of a checkpoint failed in
 *                        turn (EIO), same file system and across: an error,
 *                        no DIR, no DIR.tmp, and the live database still
 *                        writes and reopens whole.
 * LSM_TEST_PER_BACKEND
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/checkpoint.h"
#include "io/io.h"
#include "lsm.h"

static size_t key_of(char *b, int i) { return (size_t)sprintf(b, "key%06d", i); }
static size_t val_of(char *b, int i, char tag) { return (size_t)sprintf(b, "%c-%d-%0120d", tag, i, i); }

static lsm_db *open_db(const char *dir, lsm_io *io)
{
    lsm_options o;
    lsm_options_init(&o);
    o.memtable_bytes = 64 << 10;
    o.io = io;
    lsm_db *db = NULL;
    int rc = lsm_open(dir, &o, &db);
    if (rc != 0)
        fail_msg("lsm_open %s: %s", dir, lsm_strerror(rc));
    return db;
}

static void put(lsm_db *db, int i, char tag)
{
    char k[32], v[160];
    size_t kl = key_of(k, i), vl = val_of(v, i, tag);
    assert_int_equal(lsm_put(db, k, kl, v, vl, 0), 0);
}

static void del(lsm_db *db, int i)
{
    char k[32];
    assert_int_equal(lsm_delete(db, k, key_of(k, i), 0), 0);
}

/* Key i holds tag's value (tag 0: absent). */
static void expect(lsm_db *db, int i, char tag)
{
    char k[32], v[160];
    size_t kl = key_of(k, i), vl = val_of(v, i, tag);
    void *got = NULL;
    size_t n = 0;
    int rc = lsm_get(db, NULL, k, kl, &got, &n);
    if (tag == 0) {
        if (rc != LSM_ENOTFOUND)
            fail_msg("key %d: expected absent, got %d", i, rc);
        return;
    }
    if (rc != 0)
        fail_msg("key %d: expected %c, got %s", i, tag, lsm_strerror(rc));
    assert_int_equal(n, vl);
    assert_memory_equal(got, v, vl);
    lsm_free(got);
}

static bool exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

static char *join(const char *a, const char *b)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", a, b) > 0);
    return p;
}

/* A test's directories: the live database in root/db, the checkpoint
 * far/copy (far: root, or another file system) and its stage. */
typedef struct dirs {
    char *live, *copy, *stage;
} dirs;

static dirs dirs_make(const char *root, const char *far)
{
    return (dirs){ join(root, "db"), join(far, "copy"), join(far, "copy.tmp") };
}

static void dirs_free(dirs *d)
{
    free(d->live);
    free(d->copy);
    free(d->stage);
}

/* Number of names in dir ending in suffix; *nlink_max gets the largest
 * link count among them. */
static int count_files(const char *dir, const char *suffix, nlink_t *nlink_max)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "ls %s", dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[512];
    int n = 0;
    if (nlink_max)
        *nlink_max = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        size_t l = strlen(line), s = strlen(suffix);
        if (l < s || strcmp(line + l - s, suffix) != 0)
            continue;
        n++;
        char *p = join(dir, line);
        struct stat st;
        if (nlink_max && stat(p, &st) == 0 && st.st_nlink > *nlink_max)
            *nlink_max = st.st_nlink;
        free(p);
    }
    pclose(f);
    return n;
}

/* Writes 0..n-1 ('a'), flushing twice on the way, deletes every 7th, and
 * leaves the last ones in the memtable. */
static void fill(lsm_db *db, int n)
{
    for (int i = 0; i < n; i++) {
        put(db, i, 'a');
        if (i == n / 3 || i == 2 * n / 3)
            assert_int_equal(lsm_flush(db), 0);
    }
    for (int i = 0; i < n; i += 7)
        del(db, i);
}

static void expect_filled(lsm_db *db, int n)
{
    for (int i = 0; i < n; i++)
        expect(db, i, i % 7 == 0 ? 0 : 'a');
}

static void test_copy_opens_alone(void **state)
{
    (void)state;
    char *root = th_tempdir("ckpt");
    dirs d = dirs_make(root, root);
    const char *live = d.live, *copy = d.copy, *stage = d.stage;
    lsm_db *db = open_db(live, NULL);
    fill(db, 600);
    assert_int_equal(lsm_checkpoint(db, copy), 0);
    assert_true(exists(copy));
    assert_false(exists(stage));
    nlink_t links;
    assert_true(count_files(copy, ".sst", &links) >= 2);
    assert_int_equal(links, 2); /* shared with the live database */

    put(db, 1000, 'b'); /* after the call: not in the copy */
    lsm_db *cp = open_db(copy, NULL); /* beside the live one */
    expect_filled(cp, 600);
    expect(cp, 1000, 0);
    put(cp, 2000, 'c'); /* the copy is a database of its own */
    expect(db, 2000, 0);
    assert_int_equal(lsm_compact(cp, -1), 0);
    assert_int_equal(lsm_close(cp), 0);

    /* The copy's compaction deleted its names of the shared tables: the
     * live database is untouched. */
    expect_filled(db, 600);
    assert_int_equal(lsm_close(db), 0);
    db = open_db(live, NULL);
    expect_filled(db, 600);
    expect(db, 1000, 'b');
    assert_int_equal(lsm_close(db), 0);
    cp = open_db(copy, NULL);
    expect_filled(cp, 600);
    expect(cp, 2000, 'c');
    assert_int_equal(lsm_close(cp), 0);
    dirs_free(&d);
    th_rmrf_free(root);
}

/* The copy carries DIR/OPTIONS: options set at run time (a tiered
 * style, a trigger) are what the copy reopens with. */
static void test_copy_keeps_options(void **state)
{
    (void)state;
    char *root = th_tempdir("ckpt");
    dirs d = dirs_make(root, root);
    lsm_db *db = open_db(d.live, NULL);
    fill(db, 100);
    assert_int_equal(lsm_set_option(db, "compaction_style", "tiered"), 0);
    assert_int_equal(lsm_set_option(db, "l0_compaction_trigger", "6"), 0);
    assert_int_equal(lsm_checkpoint(db, d.copy), 0);
    lsm_options o;
    lsm_options_init(&o);
    assert_int_equal(lsm_options_load(d.copy, &o), 0);
    assert_string_equal(o.compaction_style, "tiered");
    assert_int_equal(o.l0_compaction_trigger, 6);
    assert_int_equal(lsm_close(db), 0);
    lsm_db *cp = open_db(d.copy, NULL);
    expect_filled(cp, 100);
    assert_int_equal(lsm_close(cp), 0);
    dirs_free(&d);
    th_rmrf_free(root);
}

static void test_cross_fs(void **state)
{
    (void)state;
    struct stat a, b;
    char *root = th_tempdir("ckptx");
    if (stat("/dev/shm", &b) != 0 || stat(root, &a) != 0 || a.st_dev == b.st_dev) {
        fprintf(stderr, "cross_fs: /dev/shm is missing or on %s's file system: skipped\n", root);
        th_rmrf_free(root);
        skip();
    }
    char far[] = "/dev/shm/lsmtest-ckpt-XXXXXX";
    assert_non_null(mkdtemp(far));
    dirs d = dirs_make(root, far);
    const char *live = d.live, *copy = d.copy;
    lsm_db *db = open_db(live, NULL);
    fill(db, 600);
    assert_int_equal(lsm_checkpoint(db, copy), 0);
    nlink_t links;
    assert_true(count_files(copy, ".sst", &links) >= 2);
    assert_int_equal(links, 1); /* copies */
    assert_int_equal(lsm_close(db), 0);
    lsm_db *cp = open_db(copy, NULL);
    expect_filled(cp, 600);
    assert_int_equal(lsm_close(cp), 0);
    dirs_free(&d);
    th_rmrf_free(strdup(far));
    th_rmrf_free(root);
}

/* ---- deletions held ---------------------------------------------------------- */

static void in_window(lsm_db *db, const char *stage, void *arg)
{
    (void)arg;
    assert_string_equal(stage, "captured");
    for (int i = 600; i < 700; i++)
        put(db, i, 'w');
    assert_int_equal(lsm_flush(db), 0);      /* retires the WALs being copied */
    assert_int_equal(lsm_compact(db, -1), 0); /* obsoletes every captured table */
}

static void test_deletions_held(void **state)
{
    (void)state;
    char *root = th_tempdir("ckpth");
    dirs d = dirs_make(root, root);
    const char *live = d.live, *copy = d.copy;
    lsm_db *db = open_db(live, NULL);
    fill(db, 600);
    int before = count_files(live, ".sst", NULL);
    assert_true(before >= 2);
    db_checkpoint_set_hook(in_window, NULL);
    int rc = lsm_checkpoint(db, copy);
    db_checkpoint_set_hook(NULL, NULL);
    assert_int_equal(rc, 0);
    /* Let go: the compaction's inputs and the retired WALs are gone. */
    assert_int_equal(count_files(live, ".sst", NULL), 1);
    assert_int_equal(count_files(live, ".log", NULL), 1);
    lsm_db *cp = open_db(copy, NULL);
    expect_filled(cp, 600);
    for (int i = 600; i < 700; i++)
        expect(cp, i, 0); /* written after the capture */
    assert_int_equal(lsm_close(cp), 0);
    for (int i = 600; i < 700; i++)
        expect(db, i, 'w');
    assert_int_equal(lsm_close(db), 0);
    dirs_free(&d);
    th_rmrf_free(root);
}

/* ---- writers all along --------------------------------------------------------- */

#define WRITERS 3
struct writer {
    lsm_db *db;
    int id;
    _Atomic int acked; /* keys id*100000 + [0, acked) are acknowledged */
    atomic_bool *stop;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; !atomic_load(w->stop); i++) {
        put(w->db, w->id * 100000 + i, 'a' + (char)w->id);
        atomic_store(&w->acked, i + 1);
    }
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    (void)state;
    char *root = th_tempdir("ckptw");
    lsm_db *db = open_db(root, NULL);
    atomic_bool stop = false;
    struct writer w[WRITERS];
    pthread_t t[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){ .db = db, .id = i + 1, .stop = &stop };
        assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
    }
    char *copies[3];
    int acked[3][WRITERS];
    for (int c = 0; c < 3; c++) {
        usleep(100000);
        for (int i = 0; i < WRITERS; i++)
            acked[c][i] = atomic_load(&w[i].acked);
        char name[16];
        snprintf(name, sizeof name, "copy%d", c);
        copies[c] = join(root, name);
        assert_int_equal(lsm_checkpoint(db, copies[c]), 0);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(lsm_close(db), 0);
    for (int c = 0; c < 3; c++) {
        lsm_db *cp = open_db(copies[c], NULL);
        for (int i = 0; i < WRITERS; i++) {
            assert_true(acked[c][i] > 0);
            for (int k = 0; k < acked[c][i]; k++)
                expect(cp, w[i].id * 100000 + k, 'a' + (char)w[i].id);
        }
        assert_int_equal(lsm_close(cp), 0);
        free(copies[c]);
    }
    th_rmrf_free(root);
}

/* ---- refusals ---------------------------------------------------------------- */

static void test_refusals(void **state)
{
    (void)state;
    char *root = th_tempdir("ckptr");
    dirs d = dirs_make(root, root);
    const char *live = d.live, *copy = d.copy, *stage = d.stage;
    lsm_db *db = open_db(live, NULL);
    fill(db, 100);
    assert_int_equal(lsm_checkpoint(NULL, copy), -EINVAL);
    assert_int_equal(lsm_checkpoint(db, NULL), -EINVAL);
    assert_int_equal(lsm_checkpoint(db, ""), -EINVAL);
    assert_int_equal(lsm_checkpoint(db, live), -EEXIST);
    char *orphan = join(root, "no/such/parent");
    assert_int_equal(lsm_checkpoint(db, orphan), -ENOENT);
    free(orphan);

    /* A DIR.tmp held by another checkpoint: -EBUSY, left alone. */
    assert_int_equal(mkdir(stage, 0700), 0);
    int fd = open(stage, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    char *mark = join(stage, "000042.sst");
    FILE *f = fopen(mark, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(lsm_checkpoint(db, copy), -EBUSY);
    assert_true(exists(mark));
    assert_false(exists(copy));
    close(fd);

    /* A file a checkpoint never makes: -ENOTEMPTY, left alone. */
    char *foreign = join(stage, "notes.txt");
    f = fopen(foreign, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(lsm_checkpoint(db, copy), -ENOTEMPTY);
    assert_true(exists(foreign));
    assert_false(exists(copy));
    assert_int_equal(unlink(foreign), 0);

    /* A stale stage with database files in it (CURRENT too): replaced;
     * the trailing slash is ignored. */
    char *cur = join(stage, "CURRENT");
    f = fopen(cur, "w");
    assert_non_null(f);
    fputs("MANIFEST-000099\n", f);
    fclose(f);
    char *slashed = join(copy, "");
    assert_int_equal(lsm_checkpoint(db, slashed), 0);
    assert_false(exists(stage));
    char *gone = join(copy, "000042.sst");
    assert_false(exists(gone));
    lsm_db *cp = open_db(copy, NULL);
    expect_filled(cp, 100);
    assert_int_equal(lsm_close(cp), 0);
    assert_int_equal(lsm_close(db), 0);
    free(gone);
    free(slashed);
    free(cur);
    free(foreign);
    free(mark);
    dirs_free(&d);
    th_rmrf_free(root);
}

/* ---- faults ------------------------------------------------------------------ */

/* For n = 1, 2, ...: the nth I/O operation of a checkpoint into dst fails. */
static void fault_loop(const char *root, const char *far)
{
    dirs d = dirs_make(root, far);
    const char *live = d.live, *copy = d.copy, *stage = d.stage;
    lsm_io *base, *io;
    assert_int_equal(io_new(NULL, &base), 0);
    assert_int_equal(io_fault_new(base, &io), 0);
    lsm_db *db = open_db(live, io);
    fill(db, 300); /* two flushes: L0 has 2 tables, fewer than the trigger */
    int n, failures = 0;
    for (n = 1; n < 500; n++) {
        io_fault_arm(io, (uint64_t)n, EIO, 0);
        int rc = lsm_checkpoint(db, copy);
        io_fault_arm(io, 0, 0, 0);
        if (rc == 0)
            break;
        failures++;
        if (rc != -EIO)
            fail_msg("fault at op %d: %s", n, lsm_strerror(rc));
        if (exists(copy) || exists(stage))
            fail_msg("fault at op %d left %s behind", n, exists(copy) ? copy : stage);
        /* The live database is unharmed. */
        assert_int_equal(lsm_db_error(db, NULL), 0);
    }
    assert_true(n < 500);
    put(db, 5000, 'f'); /* still writable */
    assert_true(failures >= 8);
    fprintf(stderr, "faults: %d operations of a checkpoint into %s failed in turn\n", failures,
            far);
    assert_int_equal(lsm_close(db), 0);
    db = open_db(live, NULL);
    expect_filled(db, 300);
    expect(db, 5000, 'f');
    assert_int_equal(lsm_close(db), 0);
    lsm_db *cp = open_db(copy, NULL);
    expect_filled(cp, 300);
    assert_int_equal(lsm_close(cp), 0);
    io_destroy(io);
    io_destroy(base);
    dirs_free(&d);
}

static void test_faults(void **state)
{
    (void)state;
    char *root = th_tempdir("ckptf");
    fault_loop(root, root);
    th_rmrf_free(root);
    struct stat a, b;
    root = th_tempdir("ckptfx");
    if (stat("/dev/shm", &b) == 0 && stat(root, &a) == 0 && a.st_dev != b.st_dev) {
        char far[] = "/dev/shm/lsmtest-ckptf-XXXXXX";
        assert_non_null(mkdtemp(far));
        fault_loop(root, far);
        th_rmrf_free(strdup(far));
    }
    th_rmrf_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_opens_alone),
        cmocka_unit_test(test_copy_keeps_options),
        cmocka_unit_test(test_cross_fs),
        cmocka_unit_test(test_deletions_held),
        cmocka_unit_test(test_concurrent_writers),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
