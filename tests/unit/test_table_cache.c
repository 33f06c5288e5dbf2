/* test_table_cache.c — the table cache (bounded open readers) and SSTable
 * readers over the block cache, up to a 1,000,000-entry scan whose memory
 * stays bounded by the cache.
 * LSM_TEST_PER_BACKEND: run once with LSMD_IO=uring and once with posix. */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table/block_cache.h"
#include "base/dbformat.h"
#include "base/filenames.h"
#include "io/io.h"
#include "lsm.h"
#include "table/block_fetch.h"
#include "table/sstable_builder.h"
#include "table/sstable_reader.h"
#include "table/table_cache.h"

static lsm_io *g_io;
static char *g_dir;

static int dir_setup(void **state)
{
    (void)state;
    g_dir = th_tempdir("tcache");
    return 0;
}

static int dir_teardown(void **state)
{
    (void)state;
    th_rmrf_free(g_dir);
    g_dir = NULL;
    return 0;
}

/* Table t holds user keys "t%06u-%09u" (t, i) for i < n, each one PUT at
 * sequence i + 1 with the value "v%06u-%09u" padded to vlen bytes. */
static slice user_key(char *buf, uint32_t t, uint32_t i)
{
    return slice_make(buf, (size_t)snprintf(buf, 32, "t%06u-%09u", t, i));
}

static slice value_of(char *buf, uint32_t t, uint32_t i, size_t vlen)
{
    int n = snprintf(buf, 32, "v%06u-%09u", t, i);
    memset(buf + n, 'a' + (char)(i % 26), vlen > (size_t)n ? vlen - (size_t)n : 0);
    return slice_make(buf, vlen > (size_t)n ? vlen : (size_t)n);
}

static void build(uint64_t number, uint32_t n, size_t vlen, sst_props *props)
{
    char *path = filename_table(g_dir, number);
    sst_builder *b;
    assert_int_equal(sst_builder_new(g_io, path, NULL, &b), 0);
    char ub[32], kb[48], vb[256];
    for (uint32_t i = 0; i < n; i++) {
        slice k = slice_make(kb, ikey_encode(kb, user_key(ub, (uint32_t)number, i), i + 1,
                                             LSM_TYPE_PUT));
        assert_int_equal(sst_builder_add(b, k, value_of(vb, (uint32_t)number, i, vlen)), 0);
    }
    assert_int_equal(sst_builder_finish(b, props), 0);
    free(path);
}

/* Checks that r returns the right value for key i of table t. */
static void check_get(sst_reader *r, uint32_t t, uint32_t i, size_t vlen)
{
    char ub[32], vb[256];
    enum value_type type;
    char *val;
    size_t n;
    assert_int_equal(sst_reader_get(r, user_key(ub, t, i), LSM_MAX_SEQUENCE, &type, &val, &n,
                                    NULL), 1);
    assert_int_equal(type, LSM_TYPE_PUT);
    slice want = value_of(vb, t, i, vlen);
    assert_int_equal(n, want.size);
    assert_memory_equal(val, want.data, n);
    free(val);
}

static struct block_cache_stats bstats(const block_cache *c)
{
    struct block_cache_stats s;
    block_cache_stats(c, &s);
    return s;
}

static struct table_cache_stats tstats(const table_cache *tc)
{
    struct table_cache_stats s;
    table_cache_stats(tc, &s);
    return s;
}

/* ---- SSTable reader over the block cache ----------------------------------- */

static void test_reader_hits(void **state)
{
    (void)state;
    sst_props p;
    build(1, 5000, 100, &p);
    block_cache *bc = block_cache_new(1 << 20, 0);
    char *path = filename_table(g_dir, 1);
    sst_reader *r;
    assert_int_equal(sst_reader_open_ex(g_io, path, 1, bc, &r), 0);

    check_get(r, 1, 1000, 100);
    struct block_cache_stats s = bstats(bc);
    assert_int_equal(s.misses, 1);
    assert_int_equal(s.hits, 0);
    assert_int_equal(s.inserts, 1);
    assert_int_equal(s.pinned_usage, 0); /* a get pins only during lookup */
    check_get(r, 1, 1000, 100);          /* same block: a hit */
    check_get(r, 1, 1001, 100);          /* its neighbour: same block */
    s = bstats(bc);
    assert_int_equal(s.misses, 1);
    assert_int_equal(s.hits, 2);

    /* An absent key in a cached block: a hit, and not found. */
    char ub[32];
    enum value_type type;
    char *val;
    size_t n;
    slice k = user_key(ub, 1, 1000);
    ub[k.size - 1] = 'x';
    assert_int_equal(sst_reader_get(r, k, LSM_MAX_SEQUENCE, &type, &val, &n, NULL), 0);

    /* Every key; then again: the second pass is all hits. */
    for (uint32_t i = 0; i < 5000; i++)
        check_get(r, 1, i, 100);
    s = bstats(bc);
    uint64_t misses = s.misses;
    assert_int_equal(misses, p.data_blocks); /* each block read once */
    for (uint32_t i = 0; i < 5000; i += 7)
        check_get(r, 1, i, 100);
    assert_int_equal(bstats(bc).misses, misses);

    /* An iterator pins one block: the one it is on. */
    iter *it = sst_reader_iter_new(r);
    iter_first(it);
    assert_true(iter_valid(it));
    s = bstats(bc);
    assert_true(s.pinned_usage > 0 && s.pinned_usage < 8192 + BLOCK_CACHE_ENTRY_OVERHEAD);
    size_t entries = 0;
    for (; iter_valid(it); iter_next(it))
        entries++;
    assert_int_equal(entries, 5000);
    assert_int_equal(iter_status(it), 0);
    assert_int_equal(bstats(bc).misses, misses); /* everything was cached */
    iter_destroy(it);
    assert_int_equal(bstats(bc).pinned_usage, 0);

    /* A second reader (same number) shares the cached blocks. */
    sst_reader *r2;
    assert_int_equal(sst_reader_open_ex(g_io, path, 1, bc, &r2), 0);
    check_get(r2, 1, 4999, 100);
    assert_int_equal(bstats(bc).misses, misses);
    sst_reader_close(r2);

    /* A no-fill iterator reads missing blocks privately. */
    block_cache_set_capacity(bc, 0);
    block_cache_set_capacity(bc, 1 << 20);
    it = sst_reader_iter_new_ex(r, SST_ITER_NO_FILL_CACHE, NULL, NULL, NULL);
    entries = 0;
    for (iter_first(it); iter_valid(it); iter_next(it))
        entries++;
    assert_int_equal(entries, 5000);
    iter_destroy(it);
    s = bstats(bc);
    assert_int_equal(s.entries, 0);
    assert_int_equal(s.inserts, misses);

    sst_reader_close(r);
    block_cache_free(bc);
    free(path);
    sst_props_free(&p);
}

/* Blocks are verified when read into the cache: a damaged one is refused
 * and never cached. */
static void test_reader_corrupt_block_not_cached(void **state)
{
    (void)state;
    sst_props p;
    build(2, 2000, 50, &p);
    char *path = filename_table(g_dir, 2);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 100, SEEK_SET), 0); /* inside the first block */
    int ch = fgetc(f);
    assert_int_equal(fseek(f, 100, SEEK_SET), 0);
    fputc(ch ^ 0x40, f);
    fclose(f);

    block_cache *bc = block_cache_new(1 << 20, 0);
    sst_reader *r;
    assert_int_equal(sst_reader_open_ex(g_io, path, 2, bc, &r), 0);
    char ub[32];
    enum value_type type;
    char *val;
    size_t n;
    for (int round = 0; round < 2; round++)
        assert_int_equal(sst_reader_get(r, user_key(ub, 2, 0), LSM_MAX_SEQUENCE, &type, &val,
                                        &n, NULL), LSM_ECORRUPT);
    struct block_cache_stats s = bstats(bc);
    assert_int_equal(s.inserts, 0);
    assert_int_equal(s.misses, 2);
    check_get(r, 2, 1999, 50); /* other blocks are fine */
    iter *it = sst_reader_iter_new(r);
    iter_first(it);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), LSM_ECORRUPT);
    iter_destroy(it);
    assert_int_equal(bstats(bc).pinned_usage, 0);
    sst_reader_close(r);
    block_cache_free(bc);
    free(path);
    sst_props_free(&p);
}

/* Two tables cached under one number (a misuse: numbers must be unique
 * among a cache's users) are caught when the block sizes disagree. */
static void test_reader_reused_number_detected(void **state)
{
    (void)state;
    build(20, 500, 10, NULL);
    build(21, 500, 60, NULL);
    block_cache *bc = block_cache_new(1 << 20, 0);
    char *p20 = filename_table(g_dir, 20), *p21 = filename_table(g_dir, 21);
    sst_reader *a, *b;
    assert_int_equal(sst_reader_open_ex(g_io, p20, 20, bc, &a), 0);
    assert_int_equal(sst_reader_open_ex(g_io, p21, 20, bc, &b), 0);
    check_get(a, 20, 0, 10);
    char ub[32];
    enum value_type type;
    char *val;
    size_t n;
    assert_int_equal(sst_reader_get(b, user_key(ub, 21, 0), LSM_MAX_SEQUENCE, &type, &val, &n,
                                    NULL), LSM_ECORRUPT);
    assert_int_equal(bstats(bc).pinned_usage, 0);
    sst_reader_close(a);
    sst_reader_close(b);
    block_cache_free(bc);
    free(p20);
    free(p21);
}

/* The promise: a scan of 1,000,000 keys runs in memory bounded by
 * the cache.  With a 1 MiB cache the usage (and what the scan pins) never
 * passes the capacity plus one block, and each data block is read once. */
static void test_scan_1m_bounded(void **state)
{
    (void)state;
    enum { N = 1000000 };
    const size_t cap = 1u << 20;
    sst_props p;
    build(3, N, 8, &p);
    assert_true(p.data_bytes > 16 * cap); /* the table is much bigger than the cache */
    block_cache *bc = block_cache_new(cap, 4);
    table_cache *tc = table_cache_new(g_io, g_dir, 4, bc);
    iter *it;
    assert_int_equal(table_cache_iter_new(tc, 3, &it), 0);
    /* A block's charge: its bytes, trailer, parsed header and the entry. */
    const size_t max_block = 2 * 4096 + 64 + BLOCK_CACHE_ENTRY_OVERHEAD;
    char ub[32], kb[48];
    uint32_t i = 0;
    for (iter_first(it); iter_valid(it); iter_next(it), i++) {
        if ((i & 255) == 0) {
            slice want = slice_make(kb, ikey_encode(kb, user_key(ub, 3, i), i + 1, LSM_TYPE_PUT));
            assert_true(slice_equal(iter_key(it), want));
            struct block_cache_stats s = bstats(bc);
            assert_true(s.pinned_usage <= max_block);
            assert_true(s.usage <= cap + max_block);
        }
    }
    assert_int_equal(iter_status(it), 0);
    assert_int_equal(i, N);
    struct block_cache_stats s = bstats(bc);
    assert_true(s.peak_usage <= cap + max_block);
    assert_true(s.usage <= cap);
    assert_true(s.pinned_usage <= max_block);
    /* Misses == data blocks: each block read once, no re-reads. */
    assert_int_equal(s.misses, p.data_blocks);
    assert_int_equal(s.inserts, p.data_blocks);
    assert_int_equal(s.evictions, p.data_blocks - s.entries);
    iter_destroy(it);
    assert_int_equal(bstats(bc).pinned_usage, 0);
    assert_int_equal(tstats(tc).pinned, 0);
    table_cache_free(tc);
    block_cache_free(bc);
    sst_props_free(&p);
}

/* ---- the table cache --------------------------------------------------------- */

enum { NTABLES = 300, PER_TABLE = 40 };

static void build_many(void)
{
    for (uint64_t t = 1; t <= NTABLES; t++)
        build(t, PER_TABLE, 20, NULL);
}

static void test_bounded_open_count(void **state)
{
    (void)state;
    build_many();
    block_cache *bc = block_cache_new(256 * 1024, 2);
    table_cache *tc = table_cache_new(g_io, g_dir, 16, bc);
    assert_non_null(tc);
    th_rng rng;
    th_rng_seed(&rng, th_seed());
    table_handle *pinned[5] = { 0 };
    uint32_t pinned_t[5] = { 0 };
    for (int op = 0; op < 6000; op++) {
        uint32_t t = 1 + (uint32_t)th_rng_below(&rng, NTABLES);
        table_handle *h;
        assert_int_equal(table_cache_get(tc, t, &h), 0);
        check_get(table_handle_reader(h), t, (uint32_t)th_rng_below(&rng, PER_TABLE), 20);
        /* Sometimes keep the handle a while: a pinned reader. */
        int slot = (int)th_rng_below(&rng, 10);
        if (slot < 5) {
            if (pinned[slot])
                check_get(table_handle_reader(pinned[slot]), pinned_t[slot], 0, 20);
            table_cache_release(tc, pinned[slot]);
            pinned[slot] = h;
            pinned_t[slot] = t;
        } else {
            table_cache_release(tc, h);
        }
        struct table_cache_stats s = tstats(tc);
        assert_true(s.open_count <= 16 + s.pinned);
        assert_true(s.pinned <= 5);
    }
    for (int i = 0; i < 5; i++)
        table_cache_release(tc, pinned[i]);
    struct table_cache_stats s = tstats(tc);
    assert_true(s.open_count <= 16);
    assert_int_equal(s.pinned, 0);
    assert_int_equal(s.max_open, 16);
    assert_int_equal(s.open_errors, 0);
    assert_true(s.opens > NTABLES / 2);
    assert_true(s.hits > 0);
    assert_int_equal(s.hits + s.opens, 6000);
    assert_int_equal(s.opens - s.open_count, s.evictions);

    /* Every table is readable, in order, through the iterator helper. */
    for (uint32_t t = 1; t <= NTABLES; t++) {
        iter *it;
        assert_int_equal(table_cache_iter_new(tc, t, &it), 0);
        uint32_t n = 0;
        for (iter_first(it); iter_valid(it); iter_next(it))
            n++;
        assert_int_equal(n, PER_TABLE);
        iter_destroy(it);
        assert_true(tstats(tc).open_count <= 16);
    }

    /* Shrinking max_open closes idle readers. */
    table_cache_set_max_open(tc, 2);
    s = tstats(tc);
    assert_true(s.open_count <= 2);
    assert_int_equal(s.max_open, 2);
    table_cache_free(tc);
    block_cache_free(bc);
}

static void test_evict_while_pinned(void **state)
{
    (void)state;
    build(7, 1000, 30, NULL);
    build(8, 1000, 30, NULL);
    table_cache *tc = table_cache_new(g_io, g_dir, 0, NULL); /* no block cache */
    assert_int_equal(tstats(tc).max_open, TABLE_CACHE_DEFAULT_MAX_OPEN);
    table_handle *h, *h2;
    assert_int_equal(table_cache_get(tc, 7, &h), 0);
    assert_int_equal(table_cache_get(tc, 7, &h2), 0);
    assert_ptr_equal(table_handle_reader(h), table_handle_reader(h2));
    struct table_cache_stats s = tstats(tc);
    assert_int_equal(s.opens, 1);
    assert_int_equal(s.hits, 1);

    /* The file goes away: the reader stays usable for its holders. */
    char *path = filename_table(g_dir, 7);
    assert_int_equal(unlink(path), 0);
    table_cache_evict(tc, 7);
    check_get(table_handle_reader(h), 7, 500, 30);
    assert_int_equal(tstats(tc).open_count, 1);
    table_cache_release(tc, h);
    check_get(table_handle_reader(h2), 7, 999, 30);
    table_cache_release(tc, h2);
    assert_int_equal(tstats(tc).open_count, 0); /* closed at the last release */

    /* Now gone for good: the reopen fails, and failures are not cached. */
    table_handle *h3 = (table_handle *)1;
    assert_int_equal(table_cache_get(tc, 7, &h3), -ENOENT);
    assert_null(h3);
    assert_int_equal(table_cache_get(tc, 7, &h3), -ENOENT);
    s = tstats(tc);
    assert_int_equal(s.open_errors, 2);
    assert_int_equal(s.open_count, 0);

    /* An iterator keeps its table open across an evict. */
    iter *it;
    assert_int_equal(table_cache_iter_new(tc, 8, &it), 0);
    table_cache_evict(tc, 8);
    uint32_t n = 0;
    for (iter_first(it); iter_valid(it); iter_next(it))
        n++;
    assert_int_equal(n, 1000);
    assert_int_equal(tstats(tc).open_count, 1);
    iter_destroy(it);
    assert_int_equal(tstats(tc).open_count, 0);
    /* Not deleted this time: a get simply reopens it. */
    assert_int_equal(table_cache_get(tc, 8, &h), 0);
    check_get(table_handle_reader(h), 8, 0, 30);
    table_cache_release(tc, h);
    assert_int_equal(tstats(tc).opens, 3);
    free(path);
    table_cache_free(tc);
}

/* ---- threads --------------------------------------------------------------- */

enum { NTHREADS = 4, THREAD_TABLES = 48 };

typedef struct reader_thread {
    table_cache *tc;
    uint64_t seed;
} reader_thread;

static void *reader_main(void *arg)
{
    reader_thread *w = arg;
    th_rng rng;
    th_rng_seed(&rng, w->seed);
    for (int op = 0; op < 1500; op++) {
        uint32_t t = 1 + (uint32_t)th_rng_below(&rng, THREAD_TABLES);
        if (op % 50 == 0) {
            iter *it;
            assert_int_equal(table_cache_iter_new(w->tc, t, &it), 0);
            uint32_t n = 0;
            for (iter_first(it); iter_valid(it); iter_next(it))
                n++;
            assert_int_equal(n, PER_TABLE);
            iter_destroy(it);
            continue;
        }
        if (op % 97 == 0)
            table_cache_evict(w->tc, t);
        table_handle *h;
        assert_int_equal(table_cache_get(w->tc, t, &h), 0);
        check_get(table_handle_reader(h), t, (uint32_t)th_rng_below(&rng, PER_TABLE), 20);
        table_cache_release(w->tc, h);
    }
    return NULL;
}

static void test_concurrent_gets(void **state)
{
    (void)state;
    for (uint64_t t = 1; t <= THREAD_TABLES; t++)
        build(t, PER_TABLE, 20, NULL);
    block_cache *bc = block_cache_new(64 * 1024, 2);
    table_cache *tc = table_cache_new(g_io, g_dir, 8, bc);
    pthread_t th[NTHREADS];
    reader_thread w[NTHREADS];
    uint64_t seed = th_seed();
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (reader_thread){ tc, seed + (uint64_t)i };
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    struct table_cache_stats s = tstats(tc);
    assert_int_equal(s.pinned, 0);
    assert_true(s.open_count <= 8);
    assert_int_equal(s.open_errors, 0);
    assert_int_equal(bstats(bc).pinned_usage, 0);
    table_cache_free(tc);
    block_cache_free(bc);
}


/* ---- direct I/O ------------------------------------------------------------ */

/* A reader opened with SST_OPEN_DIRECT reads every block through aligned
 * spans (O_DIRECT refuses unaligned buffers, offsets and lengths, so a
 * plain read of a block would fail with -EINVAL): gets and a scan see
 * every entry. */
static void test_reader_direct(void **state)
{
    (void)state;
    sst_props p;
    build(3, 3000, 77, &p); /* odd sizes: blocks straddle 4 KiB boundaries */
    block_cache *bc = block_cache_new(64 << 10, 0);
    char *path = filename_table(g_dir, 3);
    lsm_file *f;
    if (io_open(g_io, path, IO_READ | IO_DIRECT, &f) == -EINVAL) { /* no O_DIRECT here */
        free(path);
        block_cache_free(bc);
        sst_props_free(&p);
        skip();
    }
    io_close(g_io, f);
    sst_reader *r;
    assert_int_equal(sst_reader_open_flags(g_io, path, 3, bc, SST_OPEN_DIRECT, &r), 0);
    for (uint32_t i = 0; i < 3000; i += 7)
        check_get(r, 3, i, 77);
    iter *it = sst_reader_iter_new_ex(r, SST_ITER_NO_FILL_CACHE, NULL, NULL, NULL);
    size_t n = 0;
    for (iter_first(it); iter_valid(it); iter_next(it))
        n++;
    assert_int_equal(iter_status(it), 0);
    assert_int_equal(n, 3000);
    iter_destroy(it);
    sst_reader_close(r);
    assert_int_equal(sst_reader_open_flags(g_io, path, 3, bc, 2u, &r), -EINVAL);
    block_cache_free(bc);
    free(path);
    sst_props_free(&p);
}

/* block_fetch under direct I/O: unaligned bytes come back right, and bytes
 * past the end of the file are LSM_ECORRUPT, never a buffer's leftovers. */
static void test_block_fetch_direct_short(void **state)
{
    (void)state;
    char *path;
    assert_true(asprintf(&path, "%s/blob", g_dir) > 0);
    char data[5000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 31 + 7);
    lsm_file *f;
    assert_int_equal(io_open(g_io, path, IO_CREATE, &f), 0);
    assert_int_equal(io_write(g_io, f, data, sizeof data, 0), 0);
    assert_int_equal(io_close(g_io, f), 0);
    int rc = io_open(g_io, path, IO_READ | IO_DIRECT, &f);
    if (rc == -EINVAL) {
        free(path);
        skip();
    }
    assert_int_equal(rc, 0);
    char out[2000];
    assert_int_equal(block_fetch_read_into(g_io, f, true, 4000, 1000, out), 0);
    assert_memory_equal(out, data + 4000, 1000);
    assert_int_equal(block_fetch_read_into(g_io, f, true, 3000, 1500, out), 0);
    assert_memory_equal(out, data + 3000, 1500);
    assert_int_equal(block_fetch_read_into(g_io, f, true, 4000, 1001, out), LSM_ECORRUPT);
    assert_int_equal(block_fetch_read_into(g_io, f, true, 9000, 10, out), LSM_ECORRUPT);
    /* The same through a prepared op, as a queue would run it. */
    block_fetch bf;
    assert_int_equal(block_fetch_prepare(&bf, f, true, 4095, 2, NULL), 0);
    assert_int_equal(bf.op.off % 4096, 0);
    assert_int_equal(bf.op.n % 4096, 0);
    assert_int_equal(block_fetch_finish(&bf, block_fetch_sync(g_io, &bf)), 0);
    assert_memory_equal(block_fetch_data(&bf), data + 4095, 2);
    assert_int_equal(block_fetch_finish(&bf, -EIO), -EIO);
    assert_int_equal(block_fetch_finish(&bf, 4096), LSM_ECORRUPT);
    block_fetch_release(&bf);
    block_fetch_release(&bf);
    io_close(g_io, f);
    free(path);
}

int main(void)
{
    int rc = io_new(NULL, &g_io);
    if (rc) {
        fprintf(stderr, "test_table_cache: no I/O backend (%s): skipped\n", lsm_strerror(rc));
        return TEST_SKIP;
    }
#define DIR_TEST(f) cmocka_unit_test_setup_teardown(f, dir_setup, dir_teardown)
    const struct CMUnitTest tests[] = {
        DIR_TEST(test_reader_hits),
        DIR_TEST(test_reader_corrupt_block_not_cached),
        DIR_TEST(test_reader_reused_number_detected),
        DIR_TEST(test_scan_1m_bounded),
        DIR_TEST(test_bounded_open_count),
        DIR_TEST(test_evict_while_pinned),
        DIR_TEST(test_concurrent_gets),
        DIR_TEST(test_reader_direct),
        DIR_TEST(test_block_fetch_direct_short),
    };
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    io_destroy(g_io);
    return rc;
}
