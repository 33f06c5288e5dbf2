/*
 * test_readahead.c — the read-ahead window of compaction inputs
 * (table/readahead.h) and the sstable iterator that reads through it.
 *
 *   ranges:   any sequence of ranges (within a chunk, straddling chunks,
 *             larger than a chunk, jumps forward and back) yields exactly
 *             the file's bytes, on every backend, buffered and O_DIRECT;
 *             reads are chunk-sized, not range-sized;
 *   faults:   a chunk read failed by the fault backend is an error of that
 *             and every later call, never wrong bytes; a file shorter than
 *             the range is LSM_ECORRUPT;
 *   iterator: a table read through the window equals the plain iterator;
 *             a failed read there ends the scan with its error after a
 *             correct prefix.
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"
#include "io/io.h"
#include "io/io_queue.h"
#include "lsm.h"
#include "rng.h"
#include "table/readahead.h"
#include "table/sstable_builder.h"
#include "table/sstable_reader.h"

static char *make_file(const char *dir, size_t n, char **bytes)
{
    char *path;
    assert_true(asprintf(&path, "%s/data", dir) > 0);
    char *b = malloc(n);
    assert_non_null(b);
    th_rng r;
    th_rng_seed(&r, th_seed());
    for (size_t i = 0; i < n; i++)
        b[i] = (char)th_rng_next(&r);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
    *bytes = b;
    return path;
}

/* io for a backend name, or NULL when this machine lacks it. */
static lsm_io *backend(const char *name)
{
    lsm_io *io = NULL;
    return io_new(name, &io) == 0 ? io : NULL;
}

static void check_ranges(lsm_io *io, const char *path, const char *bytes, size_t n, int direct)
{
    lsm_file *f;
    int rc = io_open(io, path, IO_READ | (direct ? IO_DIRECT : 0), &f);
    if (direct && rc == -EINVAL) {
        printf("# %s: no O_DIRECT on this file system, skipped\n", io->name);
        return;
    }
    assert_int_equal(rc, 0);
    io_queue *q;
    assert_int_equal(io_queue_new(io, 8, &q), 0);
    readahead_cfg cfg = { q, 64 << 10, 4 }; /* 16 KiB chunks */
    readahead *ra;
    assert_int_equal(readahead_new(f, 0, n, &cfg, &ra), 0);
    th_rng r;
    th_rng_seed(&r, th_seed() + 1);
    uint64_t off = 0;
    size_t calls = 0;
    while (off < n) {
        /* Mostly block-sized, sometimes larger than a chunk or the window. */
        size_t len = th_rng_below(&r, 10) == 0 ? 1 + th_rng_below(&r, 100000)
                                              : 1 + th_rng_below(&r, 6000);
        if (len > n - off)
            len = n - off;
        const char *p;
        assert_int_equal(readahead_get(ra, off, len, &p), 0);
        if (memcmp(p, bytes + off, len) != 0)
            fail_msg("%s direct=%d: wrong bytes at %llu+%zu", io->name, direct,
                     (unsigned long long)off, len);
        calls++;
        off += len + (th_rng_below(&r, 4) == 0 ? th_rng_below(&r, 3000) : 0);
    }
    /* Far fewer reads than ranges: chunks, not blocks. */
    assert_true(readahead_reads(ra) < calls);
    /* Seeks back and forth restart the window and stay correct. */
    static const uint64_t jumps[] = { 5000, 100, 300000, 299999, 0, 700000 };
    for (size_t i = 0; i < sizeof jumps / sizeof *jumps; i++) {
        if (jumps[i] + 20000 > n)
            continue;
        const char *p;
        assert_int_equal(readahead_get(ra, jumps[i], 20000, &p), 0);
        assert_memory_equal(p, bytes + jumps[i], 20000);
    }
    const char *p;
    assert_int_equal(readahead_get(ra, n, 1, &p), -EINVAL); /* past end */
    readahead_free(ra);
    io_queue_destroy(q);
    io_close(io, f);
}

static void test_ranges_equal_file(void **state)
{
    (void)state;
    char *dir = th_tempdir("ra");
    char *bytes;
    size_t n = (1u << 20) + 12345; /* not a multiple of the alignment */
    char *path = make_file(dir, n, &bytes);
    static const char *const names[] = { "posix", "uring" };
    for (size_t i = 0; i < 2; i++) {
        lsm_io *io = backend(names[i]);
        if (!io) {
            printf("# backend %s unavailable, skipped\n", names[i]);
            continue;
        }
        check_ranges(io, path, bytes, n, 0);
        check_ranges(io, path, bytes, n, 1);
        io_destroy(io);
    }
    free(bytes);
    free(path);
    th_rmrf_free(dir);
}

static void test_failed_read_is_sticky_error(void **state)
{
    (void)state;
    char *dir = th_tempdir("ra");
    char *bytes;
    size_t n = 600000;
    char *path = make_file(dir, n, &bytes);
    lsm_io *base = backend("posix"), *io;
    assert_non_null(base);
    assert_int_equal(io_fault_new(base, &io), 0);
    /* Fail each of the first chunk reads in turn. */
    for (uint64_t nth = 1; nth <= 6; nth++) {
        lsm_file *f;
        assert_int_equal(io_open(io, path, IO_READ, &f), 0);
        io_queue *q;
        assert_int_equal(io_queue_new(io, 8, &q), 0);
        readahead_cfg cfg = { q, 64 << 10, 4 };
        readahead *ra;
        assert_int_equal(readahead_new(f, 0, n, &cfg, &ra), 0);
        io_fault_arm(io, nth, EIO, 0);
        int failed = 0;
        for (uint64_t off = 0; off + 5000 <= n; off += 5000) {
            const char *p;
            int rc = readahead_get(ra, off, 5000, &p);
            if (failed) {
                assert_int_equal(rc, -EIO); /* sticky */
                continue;
            }
            if (rc != 0) {
                assert_int_equal(rc, -EIO);
                assert_null(p);
                failed = 1;
                continue;
            }
            assert_memory_equal(p, bytes + off, 5000);
        }
        if (!failed)
            fail_msg("the failed read (op %llu) was never reported", (unsigned long long)nth);
        io_fault_arm(io, 0, 0, 0);
        readahead_free(ra);
        io_queue_destroy(q);
        io_close(io, f);
    }
    io_destroy(io);
    io_destroy(base);
    free(bytes);
    free(path);
    th_rmrf_free(dir);
}

static void test_short_file_is_corrupt(void **state)
{
    (void)state;
    char *dir = th_tempdir("ra");
    char *bytes;
    size_t n = 100000;
    char *path = make_file(dir, n, &bytes);
    lsm_io *io = backend("posix");
    lsm_file *f;
    assert_int_equal(io_open(io, path, IO_READ, &f), 0);
    io_queue *q;
    assert_int_equal(io_queue_new(io, 4, &q), 0);
    readahead_cfg cfg = { q, 64 << 10, 4 };
    readahead *ra;
    /* The caller believes the file is longer than it is. */
    assert_int_equal(readahead_new(f, 0, n + 50000, &cfg, &ra), 0);
    const char *p;
    assert_int_equal(readahead_get(ra, 90000, 9000, &p), 0);
    assert_memory_equal(p, bytes + 90000, 9000);
    assert_int_equal(readahead_get(ra, 99000, 2000, &p), LSM_ECORRUPT);
    assert_int_equal(readahead_get(ra, 0, 10, &p), LSM_ECORRUPT); /* sticky */
    readahead_free(ra);
    readahead_cfg bad = { q, 0, 4 };
    assert_int_equal(readahead_new(f, 0, n, &bad, &ra), -EINVAL);
    io_queue_destroy(q);
    io_close(io, f);
    io_destroy(io);
    free(bytes);
    free(path);
    th_rmrf_free(dir);
}

/* ---- the iterator ------------------------------------------------------- */

static char *build_table(lsm_io *io, const char *dir, int nkeys)
{
    char *path;
    assert_true(asprintf(&path, "%s/t.sst", dir) > 0);
    sst_options o;
    sst_options_init(&o);
    sst_builder *b;
    assert_int_equal(sst_builder_new(io, path, &o, &b), 0);
    char *val = malloc(100000);
    memset(val, 'v', 100000);
    for (int i = 0; i < nkeys; i++) {
        char k[32], ik[48];
        int kl = snprintf(k, sizeof k, "key%08d", i);
        size_t il = ikey_encode(ik, slice_make(k, (size_t)kl), (uint64_t)i + 1, LSM_TYPE_PUT);
        /* Every 97th value is larger than a read-ahead chunk. */
        size_t vl = i % 97 == 0 ? 40000 + (size_t)i : (size_t)(i % 300);
        val[0] = (char)i;
        assert_int_equal(sst_builder_add(b, slice_make(ik, il), slice_make(val, vl)), 0);
    }
    sst_props props;
    assert_int_equal(sst_builder_finish(b, &props), 0);
    sst_props_free(&props);
    free(val);
    return path;
}

/* Scans it, comparing with ref when given; returns entries seen. */
static int scan(iter *it, iter *ref)
{
    int n = 0;
    if (ref)
        iter_first(ref);
    for (iter_first(it); iter_valid(it); iter_next(it), n++) {
        if (!ref)
            continue;
        assert_true(iter_valid(ref));
        slice a = iter_key(it), b = iter_key(ref);
        assert_int_equal(a.size, b.size);
        assert_memory_equal(a.data, b.data, a.size);
        a = iter_value(it);
        b = iter_value(ref);
        assert_int_equal(a.size, b.size);
        assert_memory_equal(a.data, b.data, a.size);
        iter_next(ref);
    }
    return n;
}

static void test_iterator_through_window(void **state)
{
    (void)state;
    char *dir = th_tempdir("ra");
    lsm_io *base = backend("posix"), *io;
    assert_int_equal(io_fault_new(base, &io), 0);
    const int nkeys = 6000;
    char *path = build_table(io, dir, nkeys);
    sst_reader *r, *ref_r; /* ref_r reads around the fault backend */
    assert_int_equal(sst_reader_open(io, path, &r), 0);
    assert_int_equal(sst_reader_open(base, path, &ref_r), 0);
    io_queue *q;
    assert_int_equal(io_queue_new(io, 8, &q), 0);
    readahead_cfg cfg = { q, 1 << 20, 4 };

    iter *plain = sst_reader_iter_new(ref_r);
    iter *ahead = sst_reader_iter_new_ra(r, SST_ITER_NO_FILL_CACHE, &cfg, NULL, NULL, NULL);
    uint64_t ops0 = io_fault_ops(io);
    assert_int_equal(scan(ahead, plain), nkeys);
    assert_int_equal(iter_status(ahead), 0);
    uint64_t ahead_ops = io_fault_ops(io) - ops0;
    iter_destroy(ahead);
    iter *one_per_block = sst_reader_iter_new(r);
    ops0 = io_fault_ops(io);
    assert_int_equal(scan(one_per_block, NULL), nkeys);
    uint64_t plain_ops = io_fault_ops(io) - ops0;
    iter_destroy(one_per_block);
    /* The window reads chunks: many times fewer reads than blocks. */
    printf("# reads: %llu through the window, %llu one per block\n",
           (unsigned long long)ahead_ops, (unsigned long long)plain_ops);
    assert_true(ahead_ops * 4 < plain_ops);

    /* A failed read ends the scan with its error after a correct prefix. */
    for (uint64_t nth = 1; nth <= 5; nth++) {
        ahead = sst_reader_iter_new_ra(r, SST_ITER_NO_FILL_CACHE, &cfg, NULL, NULL, NULL);
        io_fault_arm(io, nth * 3, EIO, 0);
        int seen = scan(ahead, plain);
        io_fault_arm(io, 0, 0, 0);
        assert_int_equal(iter_status(ahead), -EIO);
        assert_true(seen < nkeys);
        iter_destroy(ahead);
    }
    iter_destroy(plain);
    io_queue_destroy(q);
    sst_reader_close(r);
    sst_reader_close(ref_r);
    io_destroy(io);
    io_destroy(base);
    free(path);
    th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges_equal_file),
        cmocka_unit_test(test_failed_read_is_sticky_error),
        cmocka_unit_test(test_short_file_is_corrupt),
        cmocka_unit_test(test_iterator_through_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
