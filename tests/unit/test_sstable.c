/* test_sstable.c — SSTable builder and reader end to end: round trips from
 * 1 to 1,000,000 entries, options, separators, large keys and values, and
 * concurrent readers (damage and I/O errors: test_sstable_corrupt.c).
 * LSM_TEST_PER_BACKEND: run once with LSMD_IO=uring and once with posix. */
#include "helpers.h"

#include "sstable_model.h"

/* ---- tests --------------------------------------------------------------- */

static void test_round_trip_small(void **state)
{
    (void)state;
    static const size_t sizes[] = { 1, 2, 10, 1000 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        round_trip(sizes[i], NULL, SIZE_MAX);
}

static void test_round_trip_100k(void **state)
{
    (void)state;
    round_trip(100000, NULL, 5000);
}

/* Full scans and sampled seeks and gets, so it stays fast; a fifth of the
 * entries under a sanitizer (LSM_TEST_SHORT): still a table of many index
 * blocks' worth, at a fifth of the time. */
static void test_round_trip_1m(void **state)
{
    (void)state;
    round_trip(th_env_long("LSM_TEST_SHORT", 0) ? 200000 : 1000000, NULL, 10000);
}

static void test_empty_table(void **state)
{
    (void)state;
    round_trip(0, NULL, SIZE_MAX);
}

static void test_options(void **state)
{
    (void)state;
    sst_options o;
    sst_options_init(&o);
    assert_int_equal(o.block_bytes, 4096);
    assert_int_equal(o.restart_interval, 16);
    assert_int_equal(o.bloom_bits_per_key, 10);
    o.bloom_bits_per_key = 0; /* no filter */
    round_trip(1000, &o, SIZE_MAX);
    o.block_bytes = 1;        /* one entry per block */
    o.restart_interval = 1;
    o.bloom_bits_per_key = 4;
    round_trip(1000, &o, SIZE_MAX);
    o.block_bytes = 300;
    o.restart_interval = 3;
    round_trip(1000, &o, SIZE_MAX);
    o.block_bytes = 64 * 1024;
    o.restart_interval = 128;
    round_trip(5000, &o, 2000);

    const char *path = g_path;
    sst_builder *b;
    o.restart_interval = 0;
    assert_int_equal(sst_builder_new(g_io, path, &o, &b), -EINVAL);
    o.restart_interval = 1;
    o.bloom_bits_per_key = -1;
    assert_int_equal(sst_builder_new(g_io, path, &o, &b), -EINVAL);
}

/* Keys that stress separator shortening: 0xff bytes, keys that are
 * prefixes of the next, one user key spread over many blocks. */
static void test_separator_edge_cases(void **state)
{
    (void)state;
    static const char *const users[] = {
        "a", "a\x01", "ab", "abc", "abd", "abe", "abz\xff\xff\xffq", "ac", "a\xff",
        "a\xff\xff", "a\xff\xff\x01", "a\xff\xff\xff\xff\xff", "b", "b\x00x", "bb", "c\xff", "d",
        "many", "zz", "zz\xff\xff", "zz\xff\xff\x01",
    };
    size_t nu = sizeof users / sizeof users[0];
    const char *path = g_path;
    sst_options o;
    sst_options_init(&o);
    o.block_bytes = 1; /* one entry per block: a separator between each pair */
    o.restart_interval = 2;
    sst_builder *b;
    assert_int_equal(sst_builder_new(g_io, path, &o, &b), 0);
    char kb[64];
    size_t total = 0;
    for (size_t i = 0; i < nu; i++) {
        slice u = slice_make(users[i], i == 13 ? 3 : strlen(users[i]));
        int versions = strcmp(users[i], "many") == 0 ? 50 : 1;
        for (int v = versions; v >= 1; v--, total++)
            assert_int_equal(sst_builder_add(b, slice_make(kb, ikey_encode(kb, u, (uint64_t)v,
                                                                           LSM_TYPE_PUT)),
                                             slice_make(users[i], 1)), 0);
    }
    sst_props p;
    assert_int_equal(sst_builder_finish(b, &p), 0);
    assert_int_equal(p.data_blocks, total);
    sst_reader *r;
    assert_int_equal(sst_reader_open(g_io, path, &r), 0);
    iter *it = sst_reader_iter_new(r);
    size_t n = 0;
    for (iter_first(it); iter_valid(it); iter_next(it))
        n++;
    assert_int_equal(n, total);
    for (iter_last(it); iter_valid(it); iter_prev(it))
        n--;
    assert_int_equal(n, 0);
    for (size_t i = 0; i < nu; i++) {
        slice u = slice_make(users[i], i == 13 ? 3 : strlen(users[i]));
        iter_seek(it, slice_make(kb, ikey_encode(kb, u, LSM_MAX_SEQUENCE, LSM_TYPE_SEEK)));
        assert_true(iter_valid(it));
        assert_true(slice_equal(ikey_user(iter_key(it)), u));
        enum value_type t;
        char *val;
        size_t vlen;
        for (uint64_t s = 1; s <= 51; s++) {
            int rc = sst_reader_get(r, u, s, &t, &val, &vlen, NULL);
            assert_int_equal(rc, 1);
            assert_int_equal(t, LSM_TYPE_PUT);
            assert_int_equal(vlen, 1);
            assert_int_equal(val[0], users[i][0]);
            free(val);
            if (strcmp(users[i], "many") != 0)
                break;
            iter_seek(it, slice_make(kb, ikey_encode(kb, u, s, LSM_TYPE_SEEK)));
            assert_true(iter_valid(it));
            assert_int_equal(ikey_seq(iter_key(it)), s > 50 ? 50 : s);
        }
        assert_int_equal(sst_reader_get(r, u, 0, &t, &val, &vlen, NULL), 0);
    }
    assert_int_equal(iter_status(it), 0);
    iter_destroy(it);
    sst_reader_close(r);
    sst_props_free(&p);
}

/* Reads the index block straight from the file: its keys are the shortened
 * separators of docs/sstable-format.md §Index block. */
static void test_index_separators(void **state)
{
    (void)state;
    static const char *const users[] = { "abcdefgh", "abzzzzzz", "b" };
    const char *path = g_path;
    sst_options o;
    sst_options_init(&o);
    o.block_bytes = 1;
    sst_builder *b;
    assert_int_equal(sst_builder_new(g_io, path, &o, &b), 0);
    char kb[64];
    for (int i = 0; i < 3; i++) {
        size_t n = ikey_encode(kb, slice_make(users[i], strlen(users[i])), 7, LSM_TYPE_PUT);
        assert_int_equal(sst_builder_add(b, slice_make(kb, n), slice_make("v", 1)), 0);
    }
    sst_props p;
    assert_int_equal(sst_builder_finish(b, &p), 0);

    char footer[SST_FOOTER_SIZE];
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, footer, sizeof footer, (off_t)(p.file_size - sizeof footer)),
                     (ssize_t)sizeof footer);
    uint64_t off = get_fixed64(footer + SST_FOOTER_INDEX_OFF);
    size_t size = (size_t)get_fixed64(footer + SST_FOOTER_INDEX_OFF + 8);
    assert_int_equal(size + SST_BLOCK_TRAILER_SIZE, p.index_bytes);
    char *ib = malloc(size);
    assert_int_equal(pread(fd, ib, size, (off_t)off), (ssize_t)size);
    close(fd);
    block blk;
    assert_int_equal(block_init(&blk, slice_make(ib, size)), 0);
    assert_int_equal(blk.num_restarts, 3); /* index restart interval 1 */
    block_iter it;
    block_iter_init(&it, &blk);
    static const struct { const char *user; uint64_t seq; } want[] = {
        { "abd", LSM_MAX_SEQUENCE }, /* bump the first differing byte */
        { "ac", LSM_MAX_SEQUENCE },  /* 'a'+1 == 'b': bump the next byte instead */
        { "b", 7 },                  /* the last block: its last key */
    };
    uint64_t expect_off = 0;
    int n = 0;
    for (block_iter_first(&it); block_iter_valid(&it); block_iter_next(&it), n++) {
        slice k = block_iter_key(&it);
        assert_int_equal(ikey_user(k).size, strlen(want[n].user));
        assert_memory_equal(k.data, want[n].user, strlen(want[n].user));
        assert_int_equal(ikey_seq(k), want[n].seq);
        sst_handle h = { 0, 0 };
        assert_int_equal(sst_handle_decode(block_iter_value(&it), &h), 0);
        assert_int_equal(h.offset, expect_off);
        expect_off += h.size + SST_BLOCK_TRAILER_SIZE;
    }
    assert_int_equal(n, 3);
    assert_int_equal(expect_off, p.data_bytes);
    block_iter_fini(&it);
    free(ib);
    sst_props_free(&p);
}

/* Values bigger than a get's stack buffer and than the write chunk; keys
 * longer than the separator's stack buffer. */
static void test_large_values_and_keys(void **state)
{
    (void)state;
    static const size_t vsizes[] = { 0, 10, 20000, 300 * 1024, 5, 9000 };
    size_t nv = sizeof vsizes / sizeof vsizes[0];
    const char *path = g_path;
    char *val = malloc(300 * 1024), *k = malloc(2000 + 8);
    assert_true(val && k);
    for (size_t j = 0; j < 300 * 1024; j++)
        val[j] = (char)(j * 7);
    sst_builder *b;
    assert_int_equal(sst_builder_new(g_io, path, NULL, &b), 0);
    for (size_t i = 0; i < nv; i++) {
        memset(k, 'a' + (int)i, 2000);
        assert_int_equal(sst_builder_add(b, slice_make(k, ikey_encode(k, slice_make(k, 2000), 1,
                                                                      LSM_TYPE_PUT)),
                                         slice_make(val, vsizes[i])), 0);
    }
    assert_int_equal(sst_builder_finish(b, NULL), 0);
    sst_reader *r;
    assert_int_equal(sst_reader_open(g_io, path, &r), 0);
    for (size_t i = 0; i < nv; i++) {
        memset(k, 'a' + (int)i, 2000);
        enum value_type t;
        char *got;
        size_t vlen;
        assert_int_equal(sst_reader_get(r, slice_make(k, 2000), 5, &t, &got, &vlen, NULL), 1);
        assert_int_equal(vlen, vsizes[i]);
        assert_non_null(got);
        assert_memory_equal(got, val, vlen);
        free(got);
    }
    iter *it = sst_reader_iter_new(r);
    size_t i = nv;
    for (iter_last(it); iter_valid(it); iter_prev(it)) {
        i--;
        assert_int_equal(iter_value(it).size, vsizes[i]);
        assert_int_equal(iter_key(it).size, 2008);
    }
    assert_int_equal(i, 0);
    iter_destroy(it);
    sst_reader_close(r);
    free(val);
    free(k);
}

static void test_out_of_order_and_abandon(void **state)
{
    (void)state;
    const char *path = g_path;
    char kb[64], vb[128];
    sst_builder *b;
    assert_int_equal(sst_builder_new(g_io, path, NULL, &b), 0);
    assert_int_equal(sst_builder_add(b, ikey(kb, 5, 0), value_of(vb, 5, 0)), 0);
    assert_int_equal(sst_builder_add(b, ikey(kb, 5, 0), value_of(vb, 5, 0)), -EINVAL);
    assert_int_equal(sst_builder_add(b, ikey(kb, 9, 0), value_of(vb, 9, 0)), -EINVAL);
    assert_int_equal(sst_builder_finish(b, NULL), -EINVAL);
    assert_int_equal(access(path, F_OK), -1); /* removed */

    assert_int_equal(sst_builder_new(g_io, path, NULL, &b), 0);
    assert_int_equal(sst_builder_add(b, ikey(kb, 5, 0), value_of(vb, 5, 0)), 0);
    assert_int_equal(sst_builder_add(b, ikey(kb, 4, 0), value_of(vb, 4, 0)), -EINVAL);
    sst_builder_abandon(b);
    assert_int_equal(access(path, F_OK), -1);

    assert_int_equal(sst_builder_new(g_io, path, NULL, &b), 0);
    assert_int_equal(sst_builder_add(b, slice_make("short", 5), slice_make("", 0)), -EINVAL);
    sst_builder_abandon(b);
    sst_builder_abandon(NULL);
}

/* ---- concurrency ------------------------------------------------------- */

typedef struct getter {
    sst_reader *r;
    const model *m;
    uint64_t seed;
    unsigned bad;
} getter;

static void *getter_main(void *arg)
{
    getter *g = arg;
    th_rng rng;
    th_rng_seed(&rng, g->seed);
    char ub[17], vb[128];
    iter *it = sst_reader_iter_new(g->r);
    for (int i = 0; i < 3000; i++) {
        uint32_t u = (uint32_t)th_rng_below(&rng, g->m->nusers);
        enum value_type t;
        char *val;
        size_t vlen;
        long want = expected_get(g->m, u, LSM_MAX_SEQUENCE);
        int rc = sst_reader_get(g->r, ukey(ub, 2ull * u), LSM_MAX_SEQUENCE, &t, &val, &vlen, NULL);
        slice wv = value_of(vb, u, g->m->ver[want]);
        if (rc != 1 || t != type_of(u, g->m->ver[want]) || vlen != wv.size ||
            (vlen && memcmp(val, wv.data, vlen) != 0))
            g->bad++;
        free(val);
        char kb[64];
        iter_seek(it, ikey(kb, u, 0));
        if (!iter_valid(it) || !slice_equal(iter_key(it), ikey(kb, u, 0)))
            g->bad++;
    }
    iter_destroy(it);
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    (void)state;
    const char *path = g_path;
    model m;
    model_init(&m, 20000);
    build_table(path, &m, NULL, NULL);
    sst_reader *r;
    assert_int_equal(sst_reader_open(g_io, path, &r), 0);
    enum { N = 4 };
    pthread_t th[N];
    getter g[N];
    for (int i = 0; i < N; i++) {
        g[i] = (getter){ r, &m, th_seed() + (uint64_t)i, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, getter_main, &g[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(g[i].bad, 0);
    }
    sst_reader_close(r);
    model_free(&m);
}
int main(void)
{
    int rc = io_new(NULL, &g_io);
    if (rc) {
        fprintf(stderr, "test_sstable: no I/O backend (%s): skipped\n", lsm_strerror(rc));
        return TEST_SKIP;
    }
#define SCRATCH(f) cmocka_unit_test_setup_teardown(f, scratch_setup, scratch_teardown)
    const struct CMUnitTest tests[] = {
        SCRATCH(test_round_trip_small),
        SCRATCH(test_round_trip_100k),
        SCRATCH(test_round_trip_1m),
        SCRATCH(test_empty_table),
        SCRATCH(test_options),
        SCRATCH(test_separator_edge_cases),
        SCRATCH(test_index_separators),
        SCRATCH(test_large_values_and_keys),
        SCRATCH(test_out_of_order_and_abandon),
        SCRATCH(test_concurrent_readers),
    };
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    io_destroy(g_io);
    return rc;
}
