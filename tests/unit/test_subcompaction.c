/*
 * test_subcompaction.c — one compaction job split into key ranges merged
 * by parallel threads (max_subcompactions, compaction_job.h).
 *
 *   same result: the same load compacted with 1 and with 4 ranges gives the
 *                same key/value set, latest and at a snapshot held across
 *                the compaction (so the stripe rules ran per range); the
 *                job really was split (stats "subcompactions"); the output
 *                level's files are disjoint and sorted, and the split adds
 *                at most one partial file per range;
 *   all or none: an I/O error injected anywhere in the job fails the whole
 *                compaction, and afterwards every table file on disk is one
 *                the version references (no output of any range is left)
 *                and the data reads back unchanged after a reopen.
 */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"
#include "db/db_impl.h"
#include "db/superversion.h"
#include "version/version_set.h"
#include "io/io.h"
#include "lsm.h"

static lsm_db *open_db(const char *dir, int ranges, lsm_io *io)
{
    lsm_options o;
    lsm_options_init(&o);
    o.memtable_bytes = 128 << 10;
    o.sstable_target_bytes = 32 << 10;
    /* Everything stays in L0 until lsm_compact: one big job. */
    o.l0_compaction_trigger = 1000;
    o.l0_slowdown_trigger = 2000;
    o.l0_stop_trigger = 3000;
    o.block_cache_bytes = 1 << 20;
    o.max_subcompactions = ranges;
    o.io = io;
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    return db;
}

/* Overwrites and deletes over 6000 keys; a snapshot half way.  Returns it. */
static lsm_snapshot *load(lsm_db *db)
{
    th_rng r;
    th_rng_seed(&r, 42);
    char val[400];
    lsm_snapshot *snap = NULL;
    for (int i = 0; i < 24000; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "k%06llu", (unsigned long long)th_rng_below(&r, 6000));
        if (th_rng_below(&r, 10) == 0) {
            assert_int_equal(lsm_delete(db, k, (size_t)kl, 0), 0);
        } else {
            size_t vl = 50 + th_rng_below(&r, 300);
            memset(val, 'a' + i % 26, vl);
            memcpy(val, &i, sizeof i);
            assert_int_equal(lsm_put(db, k, (size_t)kl, val, vl, 0), 0);
        }
        if (i == 12000)
            snap = lsm_snapshot_acquire(db);
    }
    assert_non_null(snap);
    assert_int_equal(lsm_flush(db), 0);
    return snap;
}

typedef struct dump {
    char *buf;
    size_t len, n;
} dump;

/* Every key and value in order, as one string of "key=len:value;". */
static dump scan(lsm_db *db, const lsm_snapshot *snap)
{
    dump d = { 0 };
    FILE *f = open_memstream(&d.buf, &d.len);
    assert_non_null(f);
    lsm_iter *it;
    assert_int_equal(lsm_iter_new(db, snap, NULL, 0, NULL, 0, &it), 0);
    for (lsm_iter_first(it); lsm_iter_valid(it); lsm_iter_next(it)) {
        size_t kl, vl;
        const char *k = lsm_iter_key(it, &kl), *v = lsm_iter_value(it, &vl);
        fprintf(f, "%.*s=%zu:", (int)kl, k, vl);
        fwrite(v, 1, vl, f);
        fputc(';', f);
        d.n++;
    }
    assert_int_equal(lsm_iter_status(it), 0);
    lsm_iter_free(it);
    fclose(f);
    return d;
}

static void assert_same(dump a, dump b, const char *what)
{
    if (a.n != b.n || a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0)
        fail_msg("%s: %zu entries (%zu bytes) vs %zu entries (%zu bytes)", what, a.n, a.len,
                 b.n, b.len);
}

static unsigned long long stat_of(lsm_db *db, const char *key)
{
    char *json;
    assert_int_equal(lsm_stats_json(db, &json), 0);
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    assert_non_null(p);
    unsigned long long v = strtoull(p + strlen(pat), NULL, 10);
    lsm_free(json);
    return v;
}

/* Files of the deepest non-empty level; fails unless they are disjoint
 * and sorted. */
static size_t check_output_level(lsm_db *db)
{
    superversion *sv = db_sv_acquire(db);
    version *v = sv->v;
    size_t n = 0;
    assert_int_equal(v->nfiles[0], 0);
    for (int l = 1; l < LSM_NUM_LEVELS; l++) {
        for (size_t i = 1; i < v->nfiles[l]; i++) {
            slice prev = ikey_user(file_meta_largest(v->files[l][i - 1]));
            slice next = ikey_user(file_meta_smallest(v->files[l][i]));
            if (slice_compare(prev, next) >= 0)
                fail_msg("level %d: file %zu overlaps file %zu", l, i - 1, i);
        }
        if (v->nfiles[l])
            n = v->nfiles[l];
    }
    db_sv_release(sv);
    return n;
}

static void test_ranges_give_the_same_result(void **state)
{
    (void)state;
    dump latest[2], at_snap[2];
    size_t files[2];
    static const int ranges[2] = { 1, 4 };
    for (int i = 0; i < 2; i++) {
        char *dir = th_tempdir("subc");
        /* The split is a run-time option: open unsplit, then set it. */
        lsm_db *db = open_db(dir, 1, NULL);
        char k[8];
        snprintf(k, sizeof k, "%d", ranges[i]);
        assert_int_equal(lsm_set_option(db, "max_subcompactions", k), 0);
        lsm_snapshot *snap = load(db);
        dump before = scan(db, NULL), before_snap = scan(db, snap);
        assert_int_equal(lsm_compact(db, -1), 0);
        latest[i] = scan(db, NULL);
        at_snap[i] = scan(db, snap);
        /* Compaction changes nothing a reader sees. */
        assert_same(before, latest[i], "before/after compaction");
        assert_same(before_snap, at_snap[i], "before/after compaction, at the snapshot");
        free(before.buf);
        free(before_snap.buf);
        files[i] = check_output_level(db);
        unsigned long long subc = stat_of(db, "subcompactions");
        printf("# max_subcompactions %d: %zu output files, %llu ranges in split jobs\n",
               ranges[i], files[i], subc);
        if (ranges[i] == 1)
            assert_int_equal(subc, 0);
        else
            assert_true(subc >= 2); /* the job was split */
        lsm_snapshot_release(db, snap);
        assert_int_equal(lsm_close(db), 0);
        th_rmrf_free(dir);
    }
    assert_same(latest[0], latest[1], "1 range vs 4");
    assert_same(at_snap[0], at_snap[1], "1 range vs 4, at the snapshot");
    assert_true(latest[0].n > 1000);
    /* A range may end in one partial file: at most one more per range. */
    assert_true(files[1] >= files[0] && files[1] <= files[0] + 4);
    for (int i = 0; i < 2; i++) {
        free(latest[i].buf);
        free(at_snap[i].buf);
    }
}

/* Table files in dir numbered from floor on (a compaction's outputs) that
 * the current version does not reference.  (An obsolete input whose
 * unlink failed may stay: that is not an output.) */
static int unreferenced_tables(lsm_db *db, const char *dir, uint64_t floor)
{
    superversion *sv = db_sv_acquire(db);
    version *v = sv->v;
    DIR *d = opendir(dir);
    assert_non_null(d);
    int extra = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned long long num;
        char tail[8];
        if (sscanf(e->d_name, "%llu.%7s", &num, tail) != 2 || strcmp(tail, "sst") != 0 ||
            num < floor)
            continue;
        int found = 0;
        for (int l = 0; l < LSM_NUM_LEVELS && !found; l++)
            for (size_t i = 0; i < v->nfiles[l]; i++)
                found |= v->files[l][i]->number == num;
        if (!found) {
            printf("# unreferenced table %s\n", e->d_name);
            extra++;
        }
    }
    closedir(d);
    db_sv_release(sv);
    return extra;
}

static void test_error_in_one_range_fails_all(void **state)
{
    (void)state;
    /* The expected contents, from a clean run. */
    char *dir = th_tempdir("subc");
    lsm_db *db = open_db(dir, 1, NULL);
    lsm_snapshot_release(db, load(db));
    dump want = scan(db, NULL);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);

    lsm_io *base, *io;
    assert_int_equal(io_new("posix", &base), 0);
    assert_int_equal(io_fault_new(base, &io), 0);
    int failures = 0;
    /* Operations counted from the start of lsm_compact: sampling and
     * opening the inputs, their reads, the outputs' writes and syncs.  A
     * failed read-ahead of bytes past a range's end, or a failed unlink of
     * an obsolete input, rightly fails nothing. */
    static const uint64_t nth[] = { 2, 60, 120, 180, 240, 300, 360, 420, 480 };
    for (size_t t = 0; t < sizeof nth / sizeof nth[0]; t++) {
        dir = th_tempdir("subc");
        db = open_db(dir, 4, io);
        lsm_snapshot_release(db, load(db));
        uint64_t floor = version_set_next_file_number(db->vs);
        io_fault_arm(io, nth[t], EIO, 0);
        int rc = lsm_compact(db, -1);
        printf("# op %llu failed: lsm_compact %s, %llu ops\n", (unsigned long long)nth[t],
               lsm_strerror(rc), (unsigned long long)io_fault_ops(io));
        io_fault_arm(io, 0, 0, 0);
        if (rc != 0)
            failures++;
        /* Failed or not, no output is left that the version lacks; unless
         * the MANIFEST write failed: then the edit may be durable, and the
         * outputs stay for the next open to judge. */
        if (version_set_error(db->vs) == 0)
            assert_int_equal(unreferenced_tables(db, dir, floor), 0);
        else
            printf("# op %llu failed the MANIFEST\n", (unsigned long long)nth[t]);
        lsm_close(db); /* may report the background error */
        db = open_db(dir, 1, NULL);
        assert_int_equal(unreferenced_tables(db, dir, floor), 0);
        dump got = scan(db, NULL);
        assert_same(want, got, "after a failed compaction and a reopen");
        free(got.buf);
        assert_int_equal(lsm_close(db), 0);
        th_rmrf_free(dir);
    }
    printf("# %d of %zu injected errors failed the compaction\n", failures,
           sizeof nth / sizeof nth[0]);
    assert_true(failures >= 5);
    io_destroy(io);
    io_destroy(base);
    free(want.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges_give_the_same_result),
        cmocka_unit_test(test_error_in_one_range_fails_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
