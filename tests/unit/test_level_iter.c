/*
 * test_level_iter.c — the concatenating level iterator over real SSTables:
 * scans both ways, seeks into files and into the gaps between them, a user
 * key whose versions span two files, direction changes at every position,
 * lazy opening (one file per seek, each once per scan), an open error
 * surfacing through status, an empty level, its own file references, and
 * a level inside a merge with a memtable.
 * LSM_TEST_PER_BACKEND
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"
#include "io/io.h"
#include "version/level_iter.h"
#include "memtable/memtable.h"
#include "table/merge_iter.h"
#include "table/sstable_builder.h"
#include "table/sstable_reader.h"
#include "version/version.h"

#define NFILES 6
#define NUSERS 600

/* ---- the model ------------------------------------------------------------
 * User key u is "u%06u" of 2u (odd numbers are absent, for seeks into
 * gaps).  Every fourth user key has three versions (PUT, DELETE, PUT, newest
 * first), the others one PUT.  Entries are in internal-key order. */
typedef struct ent {
    char ik[24];
    size_t iklen;
    char val[24];
    size_t vlen;
} ent;

static ent *g_ents;
static size_t g_n;
static size_t g_split[NFILES + 1]; /* file f holds entries [split[f], split[f+1]) */
static lsm_io *g_io;
static char *g_dir;
static sst_reader *g_readers[NFILES]; /* the open fn reads through these */

static slice ukey_of(char *buf, unsigned num)
{
    return slice_make(buf, (size_t)snprintf(buf, 16, "u%06u", num));
}

static void build_model(void)
{
    g_ents = calloc(NUSERS * 3, sizeof *g_ents);
    assert_non_null(g_ents);
    g_n = 0;
    for (unsigned u = 0; u < NUSERS; u++) {
        char kb[16];
        slice uk = ukey_of(kb, 2 * u);
        unsigned nv = u % 4 == 0 ? 3 : 1;
        for (unsigned v = 0; v < nv; v++) {
            ent *e = &g_ents[g_n++];
            uint64_t seq = 10ull * u + 5 - v;
            enum value_type t = nv == 3 && v == 1 ? LSM_TYPE_DELETE : LSM_TYPE_PUT;
            e->iklen = ikey_encode(e->ik, uk, seq, t);
            e->vlen = t == LSM_TYPE_PUT ? (size_t)snprintf(e->val, sizeof e->val, "val%u.%u", u, v) : 0;
        }
    }
    /* Equal-ish files; the boundary of file 2/3 falls between two versions
     * of one user key (as when a compaction output is cut mid-key). */
    for (int f = 0; f <= NFILES; f++)
        g_split[f] = g_n * (size_t)f / NFILES;
    size_t s = g_split[3];
    while (ikey_seq(slice_make(g_ents[s].ik, g_ents[s].iklen)) % 10 != 4)
        s++; /* the second version of a three-version key */
    g_split[3] = s;
}

static int group_setup(void **state)
{
    (void)state;
    assert_int_equal(io_new(NULL, &g_io), 0);
    build_model();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(g_ents);
    io_destroy(g_io);
    return 0;
}

/* Writes the model's files to a fresh directory; returns their metas (one
 * reference each, with the reader attached so the meta closes it). */
static void build_files(file_meta **fm)
{
    g_dir = th_tempdir("level");
    sst_options o;
    sst_options_init(&o);
    o.block_bytes = 256; /* several blocks per file */
    for (int f = 0; f < NFILES; f++) {
        char *path;
        assert_true(asprintf(&path, "%s/%06d.sst", g_dir, f + 1) > 0);
        sst_builder *b;
        assert_int_equal(sst_builder_new(g_io, path, &o, &b), 0);
        for (size_t i = g_split[f]; i < g_split[f + 1]; i++)
            assert_int_equal(sst_builder_add(b, slice_make(g_ents[i].ik, g_ents[i].iklen),
                                             slice_make(g_ents[i].val, g_ents[i].vlen)),
                             0);
        sst_props p;
        assert_int_equal(sst_builder_finish(b, &p), 0);
        fm[f] = file_meta_new();
        assert_non_null(fm[f]);
        fm[f]->number = (uint64_t)f + 1;
        fm[f]->smallest = p.smallest;
        fm[f]->smallest_len = p.smallest_len;
        fm[f]->largest = p.largest;
        fm[f]->largest_len = p.largest_len;
        p.smallest = p.largest = NULL;
        sst_props_free(&p);
        assert_int_equal(sst_reader_open(g_io, path, &g_readers[f]), 0);
        free(path);
    }
}

static void free_files(file_meta **fm)
{
    for (int f = 0; f < NFILES; f++) {
        file_meta_unref(fm[f]);
        sst_reader_close(g_readers[f]);
        g_readers[f] = NULL;
    }
    th_rmrf_free(g_dir);
}

typedef struct opener {
    int opens;
    uint64_t fail_number; /* 0: none */
} opener;

static int open_table(void *ctx, file_meta *fm, iter **out)
{
    opener *o = ctx;
    if (fm->number == o->fail_number)
        return -EIO;
    o->opens++;
    *out = sst_reader_iter_new(g_readers[fm->number - 1]);
    return *out ? 0 : -ENOMEM;
}

static void expect_at(iter *it, size_t i)
{
    if (i >= g_n) {
        assert_false(iter_valid(it));
        return;
    }
    assert_true(iter_valid(it));
    slice k = iter_key(it), v = iter_value(it);
    assert_int_equal(k.size, g_ents[i].iklen);
    assert_memory_equal(k.data, g_ents[i].ik, k.size);
    assert_int_equal(v.size, g_ents[i].vlen);
    if (v.size)
        assert_memory_equal(v.data, g_ents[i].val, v.size);
}

static size_t lower_bound(slice t)
{
    size_t lo = 0, hi = g_n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ikey_compare(slice_make(g_ents[mid].ik, g_ents[mid].iklen), t) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void test_scan_both_ways(void **state)
{
    (void)state;
    file_meta *fm[NFILES];
    build_files(fm);
    opener o = { 0, 0 };
    iter *it = level_iter_new(fm, NFILES, open_table, &o);
    assert_non_null(it);
    assert_int_equal(o.opens, 0); /* lazy */
    size_t i = 0;
    for (iter_first(it); iter_valid(it); iter_next(it))
        expect_at(it, i++);
    assert_int_equal(i, g_n);
    assert_int_equal(iter_status(it), 0);
    assert_int_equal(o.opens, NFILES);
    o.opens = 0;
    for (iter_last(it); iter_valid(it); iter_prev(it))
        expect_at(it, --i);
    assert_int_equal(i, 0);
    assert_int_equal(o.opens, NFILES);
    iter_destroy(it);
    free_files(fm);
}

static void test_seek(void **state)
{
    (void)state;
    file_meta *fm[NFILES];
    build_files(fm);
    opener o = { 0, 0 };
    iter *it = level_iter_new(fm, NFILES, open_table, &o);
    for (size_t i = 0; i < g_n; i++) {
        slice t = slice_make(g_ents[i].ik, g_ents[i].iklen);
        iter_seek(it, t);
        expect_at(it, i);
    }
    /* Every user number, present (even) or absent (odd), at a few
     * sequences; plus before the first and after the last key. */
    for (unsigned num = 0; num <= 2 * NUSERS + 1; num++) {
        char kb[16], ik[32];
        uint64_t seqs[] = { LSM_MAX_SEQUENCE, 10ull * (num / 2) + 4, 0 };
        for (int s = 0; s < 3; s++) {
            slice t = slice_make(ik, ikey_encode(ik, ukey_of(kb, num), seqs[s], LSM_TYPE_SEEK));
            iter_seek(it, t);
            expect_at(it, lower_bound(t));
        }
    }
    char ik[32];
    slice t = slice_make(ik, ikey_encode(ik, slice_make("a", 1), 1, LSM_TYPE_PUT));
    iter_seek(it, t);
    expect_at(it, 0);
    t = slice_make(ik, ikey_encode(ik, slice_make("z", 1), 1, LSM_TYPE_PUT));
    iter_seek(it, t);
    expect_at(it, g_n);
    assert_int_equal(iter_status(it), 0);
    iter_destroy(it);

    /* A fresh iterator's seek opens exactly the one file that can hold the
     * target, even when it lands on the file's last entry. */
    for (int f = 0; f < NFILES; f++) {
        o.opens = 0;
        it = level_iter_new(fm, NFILES, open_table, &o);
        iter_seek(it, file_meta_largest(fm[f]));
        expect_at(it, g_split[f + 1] - 1);
        assert_int_equal(o.opens, 1);
        iter_destroy(it);
    }
    free_files(fm);
}

static void test_direction_changes(void **state)
{
    (void)state;
    file_meta *fm[NFILES];
    build_files(fm);
    opener o = { 0, 0 };
    iter *it = level_iter_new(fm, NFILES, open_table, &o);
    iter_first(it);
    for (size_t i = 0; i < g_n; i++) {
        expect_at(it, i);
        if (i > 0) {
            iter_prev(it);
            expect_at(it, i - 1);
            iter_next(it);
        }
        iter_next(it);
        if (i + 1 < g_n) {
            iter_prev(it);
            expect_at(it, i);
            iter_next(it);
        }
    }
    expect_at(it, g_n);
    iter_last(it);
    for (size_t i = g_n; i-- > 0;) {
        expect_at(it, i);
        if (i + 1 < g_n) {
            iter_next(it);
            expect_at(it, i + 1);
            iter_prev(it);
        }
        iter_prev(it);
    }
    expect_at(it, g_n);
    assert_int_equal(iter_status(it), 0);
    iter_destroy(it);
    free_files(fm);
}

static void test_open_error(void **state)
{
    (void)state;
    file_meta *fm[NFILES];
    build_files(fm);
    opener o = { 0, 4 }; /* file index 3 fails to open */
    iter *it = level_iter_new(fm, NFILES, open_table, &o);
    size_t i = 0;
    for (iter_first(it); iter_valid(it); iter_next(it))
        expect_at(it, i++);
    assert_int_equal(i, g_split[3]);
    assert_int_equal(iter_status(it), -EIO);
    iter_first(it); /* sticky */
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), -EIO);
    iter_destroy(it);

    it = level_iter_new(fm, NFILES, open_table, &o);
    i = g_n;
    for (iter_last(it); iter_valid(it); iter_prev(it))
        expect_at(it, --i);
    assert_int_equal(i, g_split[4]);
    assert_int_equal(iter_status(it), -EIO);
    iter_destroy(it);

    it = level_iter_new(fm, NFILES, open_table, &o);
    iter_seek(it, slice_make(g_ents[g_split[3] + 1].ik, g_ents[g_split[3] + 1].iklen));
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), -EIO);
    iter_destroy(it);

    /* A seek elsewhere never touches the bad file. */
    it = level_iter_new(fm, NFILES, open_table, &o);
    iter_seek(it, slice_make(g_ents[g_split[1]].ik, g_ents[g_split[1]].iklen));
    expect_at(it, g_split[1]);
    assert_int_equal(iter_status(it), 0);
    iter_destroy(it);
    free_files(fm);
}

static void test_empty_level(void **state)
{
    (void)state;
    opener o = { 0, 0 };
    iter *it = level_iter_new(NULL, 0, open_table, &o);
    assert_non_null(it);
    iter_first(it);
    assert_false(iter_valid(it));
    iter_last(it);
    assert_false(iter_valid(it));
    char ik[32];
    iter_seek(it, slice_make(ik, ikey_encode(ik, slice_make("a", 1), 1, LSM_TYPE_PUT)));
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), 0);
    assert_int_equal(o.opens, 0);
    iter_destroy(it);
}

/* The iterator holds its own references: the caller may drop its files
 * while it lives. */
static void test_own_refs(void **state)
{
    (void)state;
    file_meta *fm[NFILES];
    build_files(fm);
    opener o = { 0, 0 };
    iter *it = level_iter_new(fm, NFILES, open_table, &o);
    char *dir = g_dir;
    for (int f = 0; f < NFILES; f++)
        file_meta_unref(fm[f]);
    size_t i = g_n;
    for (iter_last(it); iter_valid(it); iter_prev(it))
        expect_at(it, --i);
    assert_int_equal(i, 0);
    iter_destroy(it);
    for (int f = 0; f < NFILES; f++) {
        sst_reader_close(g_readers[f]);
        g_readers[f] = NULL;
    }
    th_rmrf_free(dir);
}

/* A level under a merge with a memtable holding newer versions. */
static void test_in_merge(void **state)
{
    (void)state;
    file_meta *fm[NFILES];
    build_files(fm);
    memtable *mem = memtable_new();
    assert_non_null(mem);
    ent *all = calloc(g_n + NUSERS, sizeof *all);
    memcpy(all, g_ents, g_n * sizeof *all);
    size_t n = g_n;
    for (unsigned u = 0; u < NUSERS; u += 3) {
        char kb[16];
        slice uk = ukey_of(kb, 2 * u + (u % 2)); /* some new keys, some newer versions */
        ent *e = &all[n++];
        e->iklen = ikey_encode(e->ik, uk, 100000 + u, LSM_TYPE_PUT);
        e->vlen = (size_t)snprintf(e->val, sizeof e->val, "mem%u", u);
        assert_int_equal(memtable_add(mem, 100000 + u, LSM_TYPE_PUT, uk,
                                      slice_make(e->val, e->vlen)), 0);
    }
    /* Sort the union by internal key (insertion sort is fine at this size). */
    for (size_t i = 1; i < n; i++) {
        ent x = all[i];
        size_t j = i;
        while (j > 0 && ikey_compare(slice_make(all[j - 1].ik, all[j - 1].iklen),
                                     slice_make(x.ik, x.iklen)) > 0) {
            all[j] = all[j - 1];
            j--;
        }
        all[j] = x;
    }
    opener o = { 0, 0 };
    iter *ch[2] = { memtable_iter_new(mem), level_iter_new(fm, NFILES, open_table, &o) };
    memtable_unref(mem);
    iter *m = merge_iter_new(ch, 2);
    assert_non_null(m);
    size_t i = 0;
    for (iter_first(m); iter_valid(m); iter_next(m), i++) {
        assert_true(i < n);
        slice k = iter_key(m);
        assert_int_equal(k.size, all[i].iklen);
        assert_memory_equal(k.data, all[i].ik, k.size);
        assert_int_equal(iter_value(m).size, all[i].vlen);
    }
    assert_int_equal(i, n);
    for (iter_last(m); iter_valid(m); iter_prev(m)) {
        slice k = iter_key(m);
        i--;
        assert_memory_equal(k.data, all[i].ik, k.size);
    }
    assert_int_equal(i, 0);
    iter_destroy(m);
    free(all);
    free_files(fm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_both_ways),
        cmocka_unit_test(test_seek),
        cmocka_unit_test(test_direction_changes),
        cmocka_unit_test(test_open_error),
        cmocka_unit_test(test_empty_level),
        cmocka_unit_test(test_own_refs),
        cmocka_unit_test(test_in_merge),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
