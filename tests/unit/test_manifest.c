/* test_manifest.c — the version set: MANIFEST writing and recovery, CURRENT,
 * version reference counting.  Runs once per I/O backend
 * (LSM_TEST_PER_BACKEND). */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/dbformat.h"
#include "base/filenames.h"
#include "io/io.h"
#include "lsm.h"
#include "version/version_set.h"

typedef struct fixture {
    char *dir;
    lsm_io *io;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    fx->dir = th_tempdir("manifest");
    if (io_new(NULL, &fx->io) != 0)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    io_destroy(fx->io);
    th_rmrf_free(fx->dir);
    free(fx);
    return 0;
}

/* ---- helpers --------------------------------------------------------- */

static file_meta *mkfile(uint64_t number, int lo, int hi, uint64_t seq)
{
    file_meta *f = file_meta_new();
    assert_non_null(f);
    char u[16];
    int n = snprintf(u, sizeof u, "k%06d", lo);
    f->smallest = malloc((size_t)n + INTERNAL_TRAILER);
    f->smallest_len = ikey_encode(f->smallest, slice_make(u, (size_t)n), seq, LSM_TYPE_PUT);
    n = snprintf(u, sizeof u, "k%06d", hi);
    f->largest = malloc((size_t)n + INTERNAL_TRAILER);
    f->largest_len = ikey_encode(f->largest, slice_make(u, (size_t)n), seq, LSM_TYPE_PUT);
    f->number = number;
    f->size = 4096 * number;
    f->min_seq = f->max_seq = seq;
    f->entries = 10;
    f->deletions = 1;
    f->created_unix = 1700000000;
    return f;
}

static void edit_add(version_edit *e, int level, file_meta *f)
{
    assert_int_equal(version_edit_add_file(e, level, f), 0);
    file_meta_unref(f);
}

/* Adds a fresh file covering keys [lo, hi] at level; returns its number. */
static uint64_t add_new(version_set *vs, version_edit *e, int level, int lo, int hi)
{
    uint64_t n = version_set_new_file_number(vs);
    edit_add(e, level, mkfile(n, lo, hi, n));
    return n;
}

static void apply(version_set *vs, version_edit *e)
{
    assert_int_equal(version_set_log_and_apply(vs, e), 0);
    version_edit_free(e);
}

static void assert_same_version(const version *a, const version *b)
{
    for (int level = 0; level < LSM_NUM_LEVELS; level++) {
        assert_int_equal(a->nfiles[level], b->nfiles[level]);
        for (size_t i = 0; i < a->nfiles[level]; i++) {
            const file_meta *x = a->files[level][i], *y = b->files[level][i];
            assert_int_equal(x->number, y->number);
            assert_int_equal(x->size, y->size);
            assert_int_equal(x->smallest_len, y->smallest_len);
            assert_memory_equal(x->smallest, y->smallest, x->smallest_len);
            assert_int_equal(x->largest_len, y->largest_len);
            assert_memory_equal(x->largest, y->largest, x->largest_len);
            assert_int_equal(x->min_seq, y->min_seq);
            assert_int_equal(x->max_seq, y->max_seq);
            assert_int_equal(x->entries, y->entries);
            assert_int_equal(x->deletions, y->deletions);
            assert_int_equal(x->created_unix, y->created_unix);
        }
    }
}

static char *manifest_path(const fixture *fx, uint64_t number)
{
    char *p = filename_manifest(fx->dir, number);
    assert_non_null(p);
    return p;
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* Three edits: L0 flushes with WAL/sequence progress, a compaction into L1,
 * a move to L2 and a bottom-level file.  Fills sizes[i] with the MANIFEST
 * size after edit i (0-based) when sizes is not NULL. */
static void three_edits(const fixture *fx, version_set *vs, uint64_t sizes[3])
{
    char *path = manifest_path(fx, version_set_manifest_number(vs));
    version_edit e;
    version_edit_init(&e);
    uint64_t a = add_new(vs, &e, 0, 0, 500);
    add_new(vs, &e, 0, 100, 900);
    version_edit_set_log_number(&e, version_set_new_file_number(vs));
    version_edit_set_last_sequence(&e, 1000);
    apply(vs, &e);
    if (sizes)
        sizes[0] = file_size(path);

    version_edit_init(&e);
    assert_int_equal(version_edit_delete_file(&e, 0, a), 0);
    add_new(vs, &e, 1, 0, 199);
    uint64_t m = add_new(vs, &e, 1, 200, 399);
    add_new(vs, &e, 1, 400, 500);
    version_edit_set_last_sequence(&e, 2000);
    apply(vs, &e);
    if (sizes)
        sizes[1] = file_size(path);

    version_edit_init(&e);
    assert_int_equal(version_edit_delete_file(&e, 1, m), 0);
    file_meta *moved = mkfile(m, 200, 399, m);
    edit_add(&e, 2, moved);
    add_new(vs, &e, 6, 0, 999999);
    version_edit_set_log_number(&e, version_set_new_file_number(vs));
    version_edit_set_last_sequence(&e, 3000);
    apply(vs, &e);
    if (sizes)
        sizes[2] = file_size(path);
    free(path);
}

typedef struct expected {
    version *v;
    uint64_t last_seq, log_number, next_file, manifest;
} expected;

static expected remember(version_set *vs)
{
    expected x = {
        .v = version_set_current(vs),
        .last_seq = version_set_last_sequence(vs),
        .log_number = version_set_log_number(vs),
        .next_file = version_set_next_file_number(vs),
        .manifest = version_set_manifest_number(vs),
    };
    return x;
}

/* Recovers and checks the state against x (then drops x's version). */
static version_set *recover_as(const fixture *fx, expected *x)
{
    version_set *vs;
    assert_int_equal(version_set_recover(fx->io, fx->dir, &vs), 0);
    version *v = version_set_current(vs);
    assert_same_version(v, x->v);
    version_unref(v);
    assert_int_equal(version_set_last_sequence(vs), x->last_seq);
    assert_int_equal(version_set_log_number(vs), x->log_number);
    /* The fresh MANIFEST takes the next number; no number is reused. */
    assert_true(version_set_manifest_number(vs) >= x->next_file);
    assert_true(version_set_next_file_number(vs) > version_set_manifest_number(vs));
    version_unref(x->v);
    x->v = NULL;
    return vs;
}

/* ---- tests ------------------------------------------------------------ */

static void test_create(void **state)
{
    fixture *fx = *state;
    version_set *vs;
    assert_int_equal(version_set_create(fx->io, fx->dir, &vs), 0);
    assert_int_equal(version_set_manifest_number(vs), 1);
    assert_int_equal(version_set_next_file_number(vs), 2);
    assert_int_equal(version_set_last_sequence(vs), 0);
    assert_int_equal(version_set_log_number(vs), 0);
    version *v = version_set_current(vs);
    assert_int_equal(version_total_files(v), 0);
    version_unref(v);
    version_set_free(vs);

    char *cur = filename_current(fx->dir), *buf = NULL;
    size_t n;
    assert_int_equal(io_read_all(fx->io, cur, &buf, &n), 0);
    assert_int_equal(n, strlen("MANIFEST-000001\n"));
    assert_memory_equal(buf, "MANIFEST-000001\n", n);
    free(buf);
    free(cur);
    char *tmp = filename_current_tmp(fx->dir);
    assert_false(exists(tmp));
    free(tmp);
}

static void test_recover_same_state(void **state)
{
    fixture *fx = *state;
    version_set *vs;
    assert_int_equal(version_set_create(fx->io, fx->dir, &vs), 0);
    three_edits(fx, vs, NULL);
    expected x = remember(vs);
    assert_int_equal(x.v->nfiles[0], 1);
    assert_int_equal(x.v->nfiles[1], 2);
    assert_int_equal(x.v->nfiles[2], 1);
    assert_int_equal(x.v->nfiles[6], 1);
    assert_int_equal(x.last_seq, 3000);
    version_set_free(vs); /* x.v stays valid: detached from the set */
    vs = recover_as(fx, &x);
    version_set_free(vs);
}

static void test_torn_tail(void **state)
{
    fixture *fx = *state;
    version_set *vs;
    assert_int_equal(version_set_create(fx->io, fx->dir, &vs), 0);
    uint64_t sizes[3];
    three_edits(fx, vs, sizes);
    uint64_t number = version_set_manifest_number(vs);
    version_set_free(vs);

    /* Cut the MANIFEST in the middle of the third record: a crash while
     * appending it, before it was acknowledged. */
    char *path = manifest_path(fx, number);
    assert_int_equal(truncate(path, (off_t)(sizes[1] + (sizes[2] - sizes[1]) / 2)), 0);
    assert_int_equal(version_set_recover(fx->io, fx->dir, &vs), 0);
    version *v = version_set_current(vs);
    assert_int_equal(v->nfiles[1], 3); /* the move to L2 is gone */
    assert_int_equal(v->nfiles[2], 0);
    assert_int_equal(v->nfiles[6], 0);
    assert_int_equal(version_set_last_sequence(vs), 2000);
    version_unref(v);
    version_set_free(vs);
    assert_false(exists(path));
    free(path);
}

static void test_torn_header_only(void **state)
{
    fixture *fx = *state;
    version_set *vs;
    assert_int_equal(version_set_create(fx->io, fx->dir, &vs), 0);
    uint64_t sizes[3];
    three_edits(fx, vs, sizes);
    uint64_t number = version_set_manifest_number(vs);
    version_set_free(vs);
    /* Only a few header bytes of the last record made it. */
    char *path = manifest_path(fx, number);
    assert_int_equal(truncate(path, (off_t)sizes[1] + 5), 0);
    free(path);
    assert_int_equal(version_set_recover(fx->io, fx->dir, &vs), 0);
    assert_int_equal(version_set_last_sequence(vs), 2000);
    version_set_free(vs);
}

static void test_corrupt_middle(void **state)
{
    fixture *fx = *state;
    version_set *vs;
    assert_int_equal(version_set_create(fx->io, fx->dir, &vs), 0);
    uint64_t sizes[3];
    three_edits(fx, vs, sizes);
    uint64_t number = version_set_manifest_number(vs);
    version_set_free(vs);

    /* Flip one payload byte of the second edit: its CRC fails and a good
     * record follows, so it is corruption, not a torn tail. */
    char *path = manifest_path(fx, number);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    long off = (long)(sizes[0] + (sizes[1] - sizes[0]) / 2 + 10);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    int c = fgetc(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    fputc(c ^ 0x40, f);
    fclose(f);
    assert_int_equal(version_set_recover(fx->io, fx->dir, &vs), LSM_ECORRUPT);
    /* Nothing was switched: CURRENT still names the damaged MANIFEST. */
    assert_true(exists(path));
    assert_int_equal(version_set_recover(fx->io, fx->dir, &vs), LSM_ECORRUPT);
    free(path);
}

static void test_missing_current(void **state)
{
    fixture *fx = *state;
    version_set *vs = NULL;
    assert_int_equal(version_set_recover(fx->io, fx->dir, &vs), -ENOENT);
    assert_null(vs);
    assert_int_equal(version_set_create(fx->io, fx->dir, &vs), 0);
    version_set_free(vs);
    char *cur = filename_current(fx->dir);
    assert_int_equal(unlink(cur), 0);
    assert_int_equal(version_set_recover(fx->io, fx->dir, &vs), -ENOENT);
    free(cur);
}

static void write_current(const fixture *fx, const char *body)
{
    char *cur = filename_current(fx->dir);
    FILE *f = fopen(cur, "wb");
    assert_non_null(f);
    fputs(body, f);
    fclose(f);
    free(cur);
}

static void test_bad_current(void **state)
{
    fixture *fx = *state;
    version_set *vs;
    assert_int_equal(version_set_create(fx->io, fx->dir, &vs), 0);
    version_set_free(vs);
    /* CURRENT names a MANIFEST that is not there. */
    write_current(fx, "MANIFEST-000077\n");
    assert_int_equal(version_set_recover(fx->io, fx->dir, &vs), LSM_ECORRUPT);
    /* CURRENT holds something else. */
    static const char *const bad[] = { "", "MANIFEST-000001", "000001.log\n",
                                       "MANIFEST-1x\n", "MANIFEST-000001\n\n" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_current(fx, bad[i]);
        assert_int_equal(version_set_recover(fx->io, fx->dir, &vs), LSM_ECORRUPT);
    }
    write_current(fx, "MANIFEST-000001\n");
    assert_int_equal(version_set_recover(fx->io, fx->dir, &vs), 0);
    version_set_free(vs);
}

static void test_each_open_starts_fresh_manifest(void **state)
{
    fixture *fx = *state;
    version_set *vs;
    assert_int_equal(version_set_create(fx->io, fx->dir, &vs), 0);
    three_edits(fx, vs, NULL);
    expected x = remember(vs);
    version_set_free(vs);
    char *m1 = manifest_path(fx, 1);
    assert_true(exists(m1));

    vs = recover_as(fx, &x);
    uint64_t n2 = version_set_manifest_number(vs);
    char *m2 = manifest_path(fx, n2);
    assert_false(exists(m1));
    assert_true(exists(m2));
    /* The fresh MANIFEST is one snapshot record, much smaller. */
    x = remember(vs);
    version_set_free(vs);

    vs = recover_as(fx, &x);
    uint64_t n3 = version_set_manifest_number(vs);
    assert_true(n3 > n2);
    assert_false(exists(m2));
    char *m3 = manifest_path(fx, n3);
    assert_true(exists(m3));
    version_set_free(vs);
    free(m1);
    free(m2);
    free(m3);
}

static int has(const uint64_t *a, size_t n, uint64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] == x)
            return 1;
    return 0;
}

static void test_live_files_refcount(void **state)
{
    fixture *fx = *state;
    version_set *vs;
    assert_int_equal(version_set_create(fx->io, fx->dir, &vs), 0);
    version_edit e;
    version_edit_init(&e);
    uint64_t a = add_new(vs, &e, 0, 0, 10);
    uint64_t b = add_new(vs, &e, 0, 5, 20);
    apply(vs, &e);

    version *reader = version_set_current(vs); /* a reader pins {a, b} */
    version_edit_init(&e);
    assert_int_equal(version_edit_delete_file(&e, 0, a), 0);
    assert_int_equal(version_edit_delete_file(&e, 0, b), 0);
    uint64_t c = add_new(vs, &e, 1, 0, 20);
    apply(vs, &e);
    version *cur = version_set_current(vs);
    assert_true(cur->id > reader->id);
    version_unref(cur);

    uint64_t *nums;
    size_t n;
    assert_int_equal(version_set_live_files(vs, &nums, &n), 0);
    assert_int_equal(n, 3);
    assert_true(has(nums, n, a) && has(nums, n, b) && has(nums, n, c));
    assert_true(nums[0] < nums[1] && nums[1] < nums[2]);
    free(nums);

    version_unref(reader);
    assert_int_equal(version_set_live_files(vs, &nums, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(nums[0], c);
    free(nums);
    version_set_free(vs);
}

static void test_rejected_edit(void **state)
{
    fixture *fx = *state;
    version_set *vs;
    assert_int_equal(version_set_create(fx->io, fx->dir, &vs), 0);
    three_edits(fx, vs, NULL);
    char *path = manifest_path(fx, version_set_manifest_number(vs));
    uint64_t size = file_size(path);
    version *before = version_set_current(vs);

    version_edit e;
    version_edit_init(&e);
    assert_int_equal(version_edit_delete_file(&e, 3, 424242), 0);
    assert_int_equal(version_set_log_and_apply(vs, &e), -EINVAL);
    version_edit_free(&e);

    version_edit_init(&e);
    add_new(vs, &e, 1, 150, 250); /* overlaps level 1 */
    assert_int_equal(version_set_log_and_apply(vs, &e), -EINVAL);
    version_edit_free(&e);

    version_edit_init(&e);
    version_edit_set_log_number(&e, version_set_log_number(vs) - 1);
    assert_int_equal(version_set_log_and_apply(vs, &e), -EINVAL);
    version_edit_free(&e);

    version *after = version_set_current(vs);
    assert_ptr_equal(before, after);
    assert_int_equal(file_size(path), size);
    version_unref(before);
    version_unref(after);

    /* A lower last sequence never moves the set backwards. */
    version_edit_init(&e);
    version_edit_set_last_sequence(&e, 5);
    apply(vs, &e);
    assert_int_equal(version_set_last_sequence(vs), 3000);
    version_set_free(vs);
    free(path);
}

/* An lsm_io that passes everything to a real backend until told to fail
 * every write and sync with EIO. */
typedef struct failing_io {
    lsm_io base;
    lsm_io *inner;
    atomic_int fail;
} failing_io;

static lsm_io *inner(lsm_io *io) { return ((failing_io *)io)->inner; }
static int failing(lsm_io *io) { return atomic_load(&((failing_io *)io)->fail); }

static int f_open(lsm_io *io, const char *p, int m, lsm_file **out)
{ return io_open(inner(io), p, m, out); }
static int f_close(lsm_io *io, lsm_file *f) { return io_close(inner(io), f); }
static long f_read(lsm_io *io, lsm_file *f, void *b, size_t n, uint64_t off)
{ return io_read(inner(io), f, b, n, off); }
static int f_write(lsm_io *io, lsm_file *f, const void *b, size_t n, uint64_t off)
{ return failing(io) ? -EIO : io_write(inner(io), f, b, n, off); }
static int f_write_sync(lsm_io *io, lsm_file *f, const void *b, size_t n, uint64_t off)
{ return failing(io) ? -EIO : io_write_sync(inner(io), f, b, n, off); }
static int f_sync(lsm_io *io, lsm_file *f) { return failing(io) ? -EIO : io_sync(inner(io), f); }
static int f_sync_dir(lsm_io *io, const char *d)
{ return failing(io) ? -EIO : io_sync_dir(inner(io), d); }
static int f_rename(lsm_io *io, const char *a, const char *b) { return io_rename(inner(io), a, b); }
static int f_unlink(lsm_io *io, const char *p) { return io_unlink(inner(io), p); }
static int f_truncate(lsm_io *io, lsm_file *f, uint64_t s) { return io_truncate(inner(io), f, s); }
static int f_size(lsm_io *io, lsm_file *f, uint64_t *o) { return io_size(inner(io), f, o); }
static void f_destroy(lsm_io *io) { (void)io; }

static const struct io_ops failing_ops = {
    .open = f_open, .close = f_close, .read = f_read, .write = f_write,
    .write_sync = f_write_sync, .sync = f_sync, .sync_dir = f_sync_dir,
    .rename = f_rename, .unlink = f_unlink, .truncate = f_truncate,
    .size = f_size, .destroy = f_destroy,
};

static void test_write_failure(void **state)
{
    fixture *fx = *state;
    failing_io fio = { .base = { &failing_ops, IO_KIND_FAULT, "failing" }, .inner = fx->io };
    version_set *vs;
    assert_int_equal(version_set_create(&fio.base, fx->dir, &vs), 0);
    three_edits(fx, vs, NULL);
    expected x = remember(vs);

    atomic_store(&fio.fail, 1);
    version_edit e;
    version_edit_init(&e);
    add_new(vs, &e, 5, 0, 10);
    assert_int_equal(version_set_log_and_apply(vs, &e), -EIO);
    version_edit_free(&e);
    version *v = version_set_current(vs);
    assert_ptr_equal(v, x.v);
    version_unref(v);

    /* Sticky, even once the disk works again. */
    atomic_store(&fio.fail, 0);
    version_edit_init(&e);
    add_new(vs, &e, 5, 20, 30);
    assert_int_equal(version_set_log_and_apply(vs, &e), -EIO);
    version_edit_free(&e);
    version_set_free(vs);

    /* Recovery sees everything before the failure and nothing after. */
    vs = recover_as(fx, &x);
    version_set_free(vs);

    /* A failed recovery (cannot write the fresh MANIFEST) keeps the old one
     * current. */
    atomic_store(&fio.fail, 1);
    assert_int_equal(version_set_recover(&fio.base, fx->dir, &vs), -EIO);
    atomic_store(&fio.fail, 0);
    assert_int_equal(version_set_recover(fx->io, fx->dir, &vs), 0);
    version_set_free(vs);
}

static void test_manifest_roll(void **state)
{
    fixture *fx = *state;
    version_set *vs;
    assert_int_equal(version_set_create(fx->io, fx->dir, &vs), 0);
    version_set_set_manifest_roll_bytes(vs, 2000);
    uint64_t first = version_set_manifest_number(vs);
    for (int i = 0; i < 40; i++) {
        version_edit e;
        version_edit_init(&e);
        add_new(vs, &e, 0, i, i + 100);
        apply(vs, &e);
    }
    uint64_t now = version_set_manifest_number(vs);
    assert_true(now > first);
    char *old = manifest_path(fx, first), *cur = manifest_path(fx, now);
    assert_false(exists(old));
    assert_true(exists(cur));
    free(old);
    free(cur);
    expected x = remember(vs);
    assert_int_equal(x.v->nfiles[0], 40);
    version_set_free(vs);
    vs = recover_as(fx, &x);
    version_set_free(vs);
}

/* Issue 9: a roll whose CURRENT rename is done but whose directory sync
 * runs out of descriptors is not sticky.  Nothing is appended to the new
 * MANIFEST until the sync succeeds (the next edit gets -EMFILE and changes
 * nothing); after a power loss meanwhile CURRENT names a complete
 * MANIFEST; once descriptors are back edits resume and the old MANIFEST
 * goes. */
static void roll_dir_sync_emfile(const fixture *fx, int power_loss)
{
    char *dir;
    assert_true(asprintf(&dir, "%s/%s", fx->dir, power_loss ? "lost" : "kept") > 0);
    assert_int_equal(mkdir(dir, 0700), 0);
    lsm_io *fault;
    assert_int_equal(io_fault_new(fx->io, &fault), 0);
    version_set *vs;
    assert_int_equal(version_set_create(fault, dir, &vs), 0);
    version_edit e;
    version_edit_init(&e);
    add_new(vs, &e, 0, 0, 10);
    apply(vs, &e);
    uint64_t first = version_set_manifest_number(vs);
    version_set_set_manifest_roll_bytes(vs, 1); /* the next edit rolls */
    io_fault_fd_window(fault, EMFILE, IO_FAULT_SYNC_DIR, NULL);
    version_edit_init(&e);
    add_new(vs, &e, 0, 20, 30);
    apply(vs, &e); /* durable in the first MANIFEST; then the roll */
    assert_true(io_fault_fd_hits(fault) > 0);
    assert_true(version_set_manifest_number(vs) > first);
    char *old = filename_manifest(dir, first);
    assert_non_null(old);
    assert_true(exists(old)); /* still what CURRENT names on disk */
    version_edit_init(&e);
    add_new(vs, &e, 0, 40, 50);
    assert_int_equal(version_set_log_and_apply(vs, &e), -EMFILE);
    version_edit_free(&e);
    assert_int_equal(version_set_error(vs), 0); /* not sticky */
    version *v = version_set_current(vs);
    assert_int_equal(v->nfiles[0], 2);
    version_unref(v);
    int want = 2;
    if (power_loss) {
        assert_int_equal(io_fault_power_loss(fault), 0);
    } else {
        io_fault_fd_window(fault, 0, 0, NULL);
        version_edit_init(&e);
        add_new(vs, &e, 0, 60, 70);
        apply(vs, &e);
        assert_false(exists(old));
        want = 3;
    }
    version_set_free(vs);
    io_destroy(fault);
    assert_int_equal(version_set_recover(fx->io, dir, &vs), 0);
    v = version_set_current(vs);
    assert_int_equal(v->nfiles[0], want);
    version_unref(v);
    version_set_free(vs);
    free(old);
    free(dir);
}

static void test_roll_dir_sync_emfile(void **state)
{
    roll_dir_sync_emfile(*state, 0);
    roll_dir_sync_emfile(*state, 1);
}

/* ---- concurrency: readers pin versions while edits are applied ---------- */

typedef struct race {
    version_set *vs;
    atomic_int stop;
} race;

static void *reader_main(void *arg)
{
    race *r = arg;
    for (long round = 0; !atomic_load(&r->stop); round++) {
        version *v = version_set_current(r->vs);
        /* Read everything in the pinned version. */
        uint64_t sum = 0;
        for (int level = 0; level < LSM_NUM_LEVELS; level++)
            for (size_t i = 0; i < v->nfiles[level]; i++)
                sum += v->files[level][i]->number + v->files[level][i]->smallest[0];
        assert_true(sum > 0 || version_total_files(v) == 0);
        if (round % 8 == 0) {
            uint64_t *nums;
            size_t n;
            assert_int_equal(version_set_live_files(r->vs, &nums, &n), 0);
            assert_true(n >= version_total_files(v));
            free(nums);
        }
        version_unref(v);
    }
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    fixture *fx = *state;
    race r = { 0 };
    assert_int_equal(version_set_create(fx->io, fx->dir, &r.vs), 0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader_main, &r), 0);
    uint64_t prev = 0;
    for (int i = 0; i < 150; i++) {
        version_edit e;
        version_edit_init(&e);
        if (prev)
            assert_int_equal(version_edit_delete_file(&e, 0, prev), 0);
        prev = add_new(r.vs, &e, 0, i, i + 10);
        add_new(r.vs, &e, 1 + i % 6, i * 10, i * 10 + 5);
        apply(r.vs, &e);
    }
    atomic_store(&r.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    version *v = version_set_current(r.vs);
    assert_int_equal(v->nfiles[0], 1);
    assert_int_equal(version_total_files(v), 151);
    version_unref(v);
    uint64_t *nums;
    size_t n;
    assert_int_equal(version_set_live_files(r.vs, &nums, &n), 0);
    assert_int_equal(n, 151); /* no reader left: only the current version */
    free(nums);
    version_set_free(r.vs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_same_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_header_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_middle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_current, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_current, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_open_starts_fresh_manifest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_files_refcount, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_edit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest_roll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roll_dir_sync_emfile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
