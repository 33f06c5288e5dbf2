/* test_sstable.c — SSTable builder and reader end to end.
 * LSM_TEST_PER_BACKEND: run once with LSMD_IO=uring and once with posix. */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "block.h"
#include "dbformat.h"
#include "io.h"
#include "lsm.h"
#include "sstable_builder.h"
#include "sstable_format.h"
#include "sstable_reader.h"

static lsm_io *g_io;
static char *g_dir;  /* a fresh directory per test (scratch_setup) */
static char *g_path; /* g_dir/000001.sst */

/* ---- the model: what a table of n entries holds ------------------------
 * User key number u is stored as the 16-byte string "k%015u" of 2u, so the
 * odd numbers in between are absent.  Every fifth user key has three
 * versions (PUT seq 10u+3, DELETE 10u+2, PUT 10u+1); the others one (a
 * DELETE when u % 7 == 3, else a PUT), at seq 10u+1.  Values are 90..110
 * bytes derived from (u, version). */
typedef struct model {
    size_t n;          /* entries */
    uint32_t *u;       /* user key number of entry i */
    uint8_t *ver;      /* version index of entry i (0 = newest) */
    uint32_t nusers;
    uint32_t *first;   /* first entry of user u; first[nusers] = n */
} model;

static unsigned nversions(uint32_t u) { return u % 5 == 0 ? 3 : 1; }

static uint64_t seq_of(uint32_t u, unsigned v)
{
    return nversions(u) == 3 ? 10ull * u + 3 - v : 10ull * u + 1;
}

static enum value_type type_of(uint32_t u, unsigned v)
{
    if (nversions(u) == 3)
        return v == 1 ? LSM_TYPE_DELETE : LSM_TYPE_PUT;
    return u % 7 == 3 ? LSM_TYPE_DELETE : LSM_TYPE_PUT;
}

/* "k%015llu" without snprintf, which would dominate the 1M-entry test. */
static slice ukey(char *buf, uint64_t num)
{
    buf[0] = 'k';
    for (int i = 15; i >= 1; i--, num /= 10)
        buf[i] = (char)('0' + num % 10);
    buf[16] = '\0';
    return slice_make(buf, 16);
}

static slice ikey(char *buf, uint32_t u, unsigned v)
{
    char ub[17];
    return slice_make(buf, ikey_encode(buf, ukey(ub, 2ull * u), seq_of(u, v), type_of(u, v)));
}

static slice value_of(char *buf, uint32_t u, unsigned v)
{
    if (type_of(u, v) == LSM_TYPE_DELETE)
        return slice_make(buf, 0);
    size_t n = 90 + (u * 7u + v) % 21;
    uint64_t x = u * 0x9e3779b97f4a7c15ull + v * 0xbf58476d1ce4e5b9ull + 1;
    for (size_t j = 0; j < n; j += 8) { /* buf has room for the last 8 */
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        memcpy(buf + j, &x, 8);
    }
    return slice_make(buf, n);
}

static void model_init(model *m, size_t n)
{
    m->n = n;
    m->u = malloc(n * sizeof *m->u + 1);
    m->ver = malloc(n + 1);
    m->first = malloc((n + 2) * sizeof *m->first);
    assert_true(m->u && m->ver && m->first);
    size_t i = 0;
    uint32_t u = 0;
    while (i < n) {
        m->first[u] = (uint32_t)i;
        for (unsigned v = 0; v < nversions(u) && i < n; v++, i++) {
            m->u[i] = u;
            m->ver[i] = (uint8_t)v;
        }
        u++;
    }
    m->nusers = u;
    m->first[u] = (uint32_t)n;
}

static void model_free(model *m)
{
    free(m->u);
    free(m->ver);
    free(m->first);
}

/* ---- helpers ------------------------------------------------------------- */

static int scratch_setup(void **state)
{
    (void)state;
    g_dir = th_tempdir("sst");
    return asprintf(&g_path, "%s/000001.sst", g_dir) > 0 ? 0 : -1;
}

static int scratch_teardown(void **state)
{
    (void)state;
    free(g_path);
    th_rmrf_free(g_dir);
    return 0;
}

static void build_table(const char *path, const model *m, const sst_options *o, sst_props *props)
{
    sst_builder *b;
    assert_int_equal(sst_builder_new(g_io, path, o, &b), 0);
    char kb[64], vb[128];
    uint64_t last_size = 0;
    for (size_t i = 0; i < m->n; i++) {
        assert_int_equal(sst_builder_add(b, ikey(kb, m->u[i], m->ver[i]),
                                         value_of(vb, m->u[i], m->ver[i])), 0);
        uint64_t sz = sst_builder_file_size(b);
        assert_true(sz >= last_size);
        last_size = sz;
    }
    assert_int_equal(sst_builder_entries(b), m->n);
    assert_int_equal(sst_builder_finish(b, props), 0);
    if (props)
        assert_true(props->file_size >= last_size);
}

static void check_entry(iter *it, const model *m, size_t i)
{
    char kb[64], vb[128];
    assert_true(iter_valid(it));
    slice k = iter_key(it), v = iter_value(it);
    slice wk = ikey(kb, m->u[i], m->ver[i]), wv = value_of(vb, m->u[i], m->ver[i]);
    assert_int_equal(k.size, wk.size);
    assert_memory_equal(k.data, wk.data, wk.size);
    assert_int_equal(v.size, wv.size);
    if (wv.size)
        assert_memory_equal(v.data, wv.data, wv.size);
}

static void check_props(const sst_props *p, const model *m, const char *path)
{
    uint64_t dels = 0, vbytes = 0, minseq = UINT64_MAX, maxseq = 0;
    char kb[64], vb[128];
    for (size_t i = 0; i < m->n; i++) {
        uint64_t s = seq_of(m->u[i], m->ver[i]);
        dels += type_of(m->u[i], m->ver[i]) == LSM_TYPE_DELETE;
        vbytes += value_of(vb, m->u[i], m->ver[i]).size;
        minseq = s < minseq ? s : minseq;
        maxseq = s > maxseq ? s : maxseq;
    }
    assert_int_equal(p->entries, m->n);
    assert_int_equal(p->deletions, dels);
    assert_int_equal(p->raw_key_bytes, 24 * m->n);
    assert_int_equal(p->raw_value_bytes, vbytes);
    assert_int_equal(p->format_version, SST_FORMAT_VERSION);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(p->file_size, (uint64_t)st.st_size);
    assert_true(p->data_bytes + p->index_bytes + p->filter_bytes + SST_FOOTER_SIZE < p->file_size);
    uint64_t now = (uint64_t)time(NULL);
    assert_true(p->created_unix <= now && p->created_unix + 3600 > now);
    if (m->n == 0) {
        assert_null(p->smallest);
        assert_int_equal(p->data_blocks, 0);
        return;
    }
    assert_int_equal(p->min_seq, minseq);
    assert_int_equal(p->max_seq, maxseq);
    slice s = ikey(kb, m->u[0], m->ver[0]);
    assert_int_equal(p->smallest_len, s.size);
    assert_memory_equal(p->smallest, s.data, s.size);
    s = ikey(kb, m->u[m->n - 1], m->ver[m->n - 1]);
    assert_int_equal(p->largest_len, s.size);
    assert_memory_equal(p->largest, s.data, s.size);
    assert_true(p->data_blocks >= 1);
    assert_true(p->data_bytes > p->raw_value_bytes);
}

static void props_equal(const sst_props *a, const sst_props *b)
{
#define EQ(f) assert_int_equal(a->f, b->f)
    EQ(entries); EQ(deletions); EQ(min_seq); EQ(max_seq); EQ(raw_key_bytes);
    EQ(raw_value_bytes); EQ(data_blocks); EQ(data_bytes); EQ(index_bytes);
    EQ(filter_bytes); EQ(file_size); EQ(created_unix); EQ(format_version);
    EQ(smallest_len); EQ(largest_len);
#undef EQ
    if (a->smallest_len) {
        assert_memory_equal(a->smallest, b->smallest, a->smallest_len);
        assert_memory_equal(a->largest, b->largest, a->largest_len);
    }
}

/* The entry a get for user u at seq must return, or -1 for none. */
static long expected_get(const model *m, uint32_t u, uint64_t seq)
{
    if (u >= m->nusers)
        return -1;
    for (uint32_t i = m->first[u]; i < m->first[u + 1]; i++)
        if (seq_of(u, m->ver[i]) <= seq)
            return (long)i;
    return -1;
}

static void check_get(sst_reader *r, const model *m, uint32_t u, uint64_t seq)
{
    char ub[17], vb[128];
    enum value_type t;
    char *val;
    size_t vlen;
    int neg = -1;
    long want = expected_get(m, u, seq);
    int rc = sst_reader_get(r, ukey(ub, 2ull * u), seq, &t, &val, &vlen, &neg);
    assert_int_equal(neg, 0); /* present keys always pass the filter */
    if (want < 0) {
        assert_int_equal(rc, 0);
        assert_null(val);
        return;
    }
    assert_int_equal(rc, 1);
    assert_int_equal(t, type_of(u, m->ver[want]));
    if (t == LSM_TYPE_DELETE) {
        assert_null(val);
        assert_int_equal(vlen, 0);
        return;
    }
    slice wv = value_of(vb, u, m->ver[want]);
    assert_non_null(val);
    assert_int_equal(vlen, wv.size);
    assert_memory_equal(val, wv.data, wv.size);
    free(val);
}

/* Gets at every interesting sequence of user u, and of the absent key after
 * it; returns 1 if the absent key was excluded by the bloom filter. */
static int check_gets_around(sst_reader *r, const model *m, uint32_t u)
{
    check_get(r, m, u, LSM_MAX_SEQUENCE);
    check_get(r, m, u, UINT64_MAX);
    for (uint64_t s = 10ull * u; s <= 10ull * u + 4; s++)
        check_get(r, m, u, s);
    char ub[17];
    enum value_type t;
    char *val = (char *)1;
    size_t vlen;
    int neg;
    int rc = sst_reader_get(r, ukey(ub, 2ull * u + 1), LSM_MAX_SEQUENCE, &t, &val, &vlen, &neg);
    assert_int_equal(rc, 0);
    assert_null(val);
    assert_int_equal(sst_reader_may_contain(r, ukey(ub, 2ull * u + 1)), !neg);
    return neg;
}

static void check_seeks(iter *it, const model *m, size_t i)
{
    char kb[64], ub[17];
    uint32_t u = m->u[i];
    iter_seek(it, ikey(kb, u, m->ver[i]));
    check_entry(it, m, i);
    /* The newest version of u: its first entry. */
    iter_seek(it, slice_make(kb, ikey_encode(kb, ukey(ub, 2ull * u), LSM_MAX_SEQUENCE,
                                             LSM_TYPE_SEEK)));
    check_entry(it, m, m->first[u]);
    /* An absent key just after u: the first entry of u + 1. */
    iter_seek(it, slice_make(kb, ikey_encode(kb, ukey(ub, 2ull * u + 1), 7, LSM_TYPE_PUT)));
    if (m->first[u + 1] < m->n)
        check_entry(it, m, m->first[u + 1]);
    else
        assert_false(iter_valid(it));
    /* prev/next around the position. */
    iter_seek(it, ikey(kb, u, m->ver[i]));
    if (i > 0) {
        iter_prev(it);
        check_entry(it, m, i - 1);
        iter_next(it);
    }
    check_entry(it, m, i);
    iter_next(it);
    if (i + 1 < m->n)
        check_entry(it, m, i + 1);
    else
        assert_false(iter_valid(it));
}

/* Builds, reopens and checks a table of n entries: full forward and
 * backward scans, then seeks and gets at min(samples, n) entries (every
 * entry when samples >= n, else random ones). */
static void round_trip(size_t n, const sst_options *o, size_t samples)
{
    const char *path = g_path;
    model m;
    model_init(&m, n);
    sst_props bp;
    build_table(path, &m, o, &bp);
    check_props(&bp, &m, path);

    sst_reader *r;
    assert_int_equal(sst_reader_open(g_io, path, &r), 0);
    props_equal(sst_reader_props(r), &bp);
    if (o && o->bloom_bits_per_key == 0)
        assert_int_equal(bp.filter_bytes, 0);
    else
        assert_true(bp.filter_bytes > 0);

    iter *it = sst_reader_iter_new(r);
    assert_non_null(it);
    size_t i = 0;
    for (iter_first(it); iter_valid(it); iter_next(it))
        check_entry(it, &m, i++);
    assert_int_equal(iter_status(it), 0);
    assert_int_equal(i, n);
    for (iter_last(it); iter_valid(it); iter_prev(it))
        check_entry(it, &m, --i);
    assert_int_equal(iter_status(it), 0);
    assert_int_equal(i, 0);
    /* Seeks before the first and after the last key. */
    iter_seek(it, slice_make("\0\0\0\0\0\0\0\0", 8));
    if (n)
        check_entry(it, &m, 0);
    else
        assert_false(iter_valid(it));
    char kb[64], ub[17];
    iter_seek(it, slice_make(kb, ikey_encode(kb, ukey(ub, 2ull * m.nusers), 1, LSM_TYPE_PUT)));
    assert_false(iter_valid(it));

    th_rng rng;
    th_rng_seed(&rng, th_seed());
    size_t nseeks = samples < n ? samples : n;
    unsigned negatives = 0, absent = 0;
    for (size_t s = 0; s < nseeks; s++) {
        size_t e = nseeks == n ? s : (size_t)th_rng_below(&rng, n);
        check_seeks(it, &m, e);
        negatives += (unsigned)check_gets_around(r, &m, m.u[e]);
        absent++;
    }
    assert_int_equal(iter_status(it), 0);
    if (absent >= 1000 && (!o || o->bloom_bits_per_key >= 10))
        assert_true(negatives > absent * 95 / 100);
    iter_destroy(it);
    sst_reader_close(r);
    sst_props_free(&bp);
    model_free(&m);
}

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

/* Full scans and sampled seeks and gets, so it stays fast. */
static void test_round_trip_1m(void **state)
{
    (void)state;
    round_trip(1000000, NULL, 10000);
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

/* ---- corruption ---------------------------------------------------------- */

static void flip(const char *path, uint64_t off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
    c ^= 0x20;
    assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
    close(fd);
}

typedef struct fixture {
    const char *path;
    model m;
    sst_props p;
} fixture;

static int fixture_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (scratch_setup(state))
        return -1;
    f->path = g_path;
    model_init(&f->m, 1000);
    build_table(f->path, &f->m, NULL, &f->p);
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    fixture *f = *state;
    sst_props_free(&f->p);
    model_free(&f->m);
    free(f);
    return scratch_teardown(state);
}

static void test_corrupt_data_block(void **state)
{
    fixture *f = *state;
    flip(f->path, 100); /* inside the first data block */
    sst_reader *r;
    assert_int_equal(sst_reader_open(g_io, f->path, &r), 0); /* meta blocks are intact */
    char ub[17];
    enum value_type t;
    char *val;
    size_t vlen;
    assert_int_equal(sst_reader_get(r, ukey(ub, 0), LSM_MAX_SEQUENCE, &t, &val, &vlen, NULL),
                     LSM_ECORRUPT);
    assert_null(val);
    check_get(r, &f->m, f->m.nusers - 1, LSM_MAX_SEQUENCE); /* another block still reads */
    iter *it = sst_reader_iter_new(r);
    iter_first(it);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), LSM_ECORRUPT);
    iter_seek(it, slice_make("\0\0\0\0\0\0\0\0", 8)); /* errors are sticky */
    assert_false(iter_valid(it));
    iter_destroy(it);
    /* A backward scan reaches the bad block last. */
    it = sst_reader_iter_new(r);
    size_t n = 0;
    for (iter_last(it); iter_valid(it); iter_prev(it))
        n++;
    assert_true(n > 0 && n < f->m.n);
    assert_int_equal(iter_status(it), LSM_ECORRUPT);
    iter_destroy(it);
    sst_reader_close(r);
}

/* Damage done to a good table, and what sst_reader_open must then say.
 * Offsets count from the end of the file (base END, negative), from the
 * start of the filter or index block, or from the start of the file. */
enum dmg_kind { FLIP, CUT, VERSION_RESIGNED, VERSION_STALE_CRC };
enum dmg_base { END, FILTER, INDEX, START };
static const struct damage {
    const char *what;
    enum dmg_kind kind;
    enum dmg_base base;
    int64_t off;
    int want;
} damages[] = {
    { "magic", FLIP, END, -1, LSM_ECORRUPT },
    { "magic first byte", FLIP, END, -8, LSM_ECORRUPT },
    { "footer index handle", FLIP, END, -64 + SST_FOOTER_INDEX_OFF, LSM_ECORRUPT },
    { "footer props handle", FLIP, END, -64 + SST_FOOTER_PROPS_OFF + 9, LSM_ECORRUPT },
    { "footer crc", FLIP, END, -64 + SST_FOOTER_CRC_OFF, LSM_ECORRUPT },
    /* a newer writer's file: its footer checksum is right */
    { "version 2", VERSION_RESIGNED, END, SST_FORMAT_VERSION + 1, LSM_EVERSION },
    /* version is checked before the crc: a new layout may checksum differently */
    { "version 0, stale crc", VERSION_STALE_CRC, END, 0, LSM_EVERSION },
    { "props trailer crc", FLIP, END, -64 - 1, LSM_ECORRUPT },
    { "props trailer type", FLIP, END, -64 - 5, LSM_ECORRUPT },
    { "props contents", FLIP, END, -64 - 10, LSM_ECORRUPT },
    { "filter contents", FLIP, FILTER, 3, LSM_ECORRUPT },
    { "index contents", FLIP, INDEX, 3, LSM_ECORRUPT },
    { "cut 1 byte", CUT, END, -1, LSM_ECORRUPT },
    { "cut 10 bytes", CUT, END, -10, LSM_ECORRUPT },
    { "cut the footer", CUT, END, -64, LSM_ECORRUPT },
    { "cut 4 KiB", CUT, END, -4096, LSM_ECORRUPT },
    { "cut to 30 bytes", CUT, START, 30, LSM_ECORRUPT },
    { "cut to nothing", CUT, START, 0, LSM_ECORRUPT },
    { "data block (read lazily)", FLIP, START, 100, 0 },
};

static void test_damaged_open(void **state)
{
    fixture *f = *state;
    size_t size = (size_t)f->p.file_size;
    char *pristine = malloc(size);
    int fd = open(f->path, O_RDONLY);
    assert_int_equal(pread(fd, pristine, size, 0), (ssize_t)size);
    close(fd);
    for (size_t i = 0; i < sizeof damages / sizeof damages[0]; i++) {
        const struct damage *d = &damages[i];
        print_message("damage: %s\n", d->what);
        fd = open(f->path, O_WRONLY | O_TRUNC);
        assert_int_equal(pwrite(fd, pristine, size, 0), (ssize_t)size);
        close(fd);
        int64_t base = d->base == END ? (int64_t)size
                     : d->base == FILTER ? (int64_t)f->p.data_bytes
                     : d->base == INDEX ? (int64_t)(f->p.data_bytes + f->p.filter_bytes) : 0;
        uint64_t off = (uint64_t)(base + d->off);
        char footer[SST_FOOTER_SIZE];
        switch (d->kind) {
        case FLIP:
            flip(f->path, off);
            break;
        case CUT:
            assert_int_equal(truncate(f->path, (off_t)off), 0);
            break;
        case VERSION_RESIGNED:
        case VERSION_STALE_CRC:
            memcpy(footer, pristine + size - sizeof footer, sizeof footer);
            put_fixed32(footer + SST_FOOTER_VERSION_OFF, (uint32_t)d->off);
            if (d->kind == VERSION_RESIGNED)
                put_fixed32(footer + SST_FOOTER_CRC_OFF, sst_footer_crc(footer));
            fd = open(f->path, O_WRONLY);
            assert_int_equal(pwrite(fd, footer, sizeof footer, (off_t)(size - sizeof footer)),
                             (ssize_t)sizeof footer);
            close(fd);
            break;
        }
        sst_reader *r = NULL;
        assert_int_equal(sst_reader_open(g_io, f->path, &r), d->want);
        if (d->want)
            assert_null(r);
        sst_reader_close(r);
    }
    free(pristine);
    sst_reader *r = NULL;
    char *missing;
    assert_true(asprintf(&missing, "%s/nope.sst", g_dir) > 0);
    assert_int_equal(sst_reader_open(g_io, missing, &r), -ENOENT);
    assert_null(r);
    free(missing);
}

/* ---- I/O errors ------------------------------------------------------------ */

/* Builds a table through a fault backend whose nth operation fails;
 * returns the first error seen (0 if none). */
static int build_with_fault(lsm_io *fio, const char *path, const model *m, uint64_t nth)
{
    io_fault_arm(fio, nth, EIO, 0);
    sst_builder *b;
    int rc = sst_builder_new(fio, path, NULL, &b);
    if (rc)
        return rc;
    char kb[64], vb[128];
    for (size_t i = 0; i < m->n && rc == 0; i++)
        rc = sst_builder_add(b, ikey(kb, m->u[i], m->ver[i]), value_of(vb, m->u[i], m->ver[i]));
    if (rc) {
        assert_int_equal(sst_builder_finish(b, NULL), rc); /* the same error again */
        return rc;
    }
    return sst_builder_finish(b, NULL);
}

/* Every failed write or sync fails the build and leaves no file behind;
 * every failed read fails the open, get or scan. */
static void test_io_errors(void **state)
{
    (void)state;
    const char *path = g_path;
    model m;
    model_init(&m, 20000); /* a few write chunks */
    lsm_io *fio;
    assert_int_equal(io_fault_new(g_io, &fio), 0);
    assert_int_equal(build_with_fault(fio, path, &m, 0), 0);
    uint64_t ops = io_fault_ops(fio); /* open, writes, sync */
    assert_true(ops >= 5);
    assert_int_equal(unlink(path), 0);
    for (uint64_t n = 1; n <= ops; n++) {
        assert_int_equal(build_with_fault(fio, path, &m, n), -EIO);
        assert_int_equal(access(path, F_OK), -1);
    }
    assert_int_equal(build_with_fault(fio, path, &m, 0), 0);

    sst_reader *r = NULL;
    io_fault_arm(fio, 0, 0, 0);
    assert_int_equal(sst_reader_open(fio, path, &r), 0);
    sst_reader_close(r);
    ops = io_fault_ops(fio); /* open, footer read, meta read */
    for (uint64_t n = 1; n <= ops; n++) {
        io_fault_arm(fio, n, EIO, 0);
        r = NULL;
        assert_int_equal(sst_reader_open(fio, path, &r), -EIO);
        assert_null(r);
    }
    io_fault_arm(fio, 0, 0, 0);
    assert_int_equal(sst_reader_open(fio, path, &r), 0);
    io_fault_arm(fio, 1, EIO, 0);
    char ub[17];
    enum value_type t;
    char *val;
    size_t vlen;
    assert_int_equal(sst_reader_get(r, ukey(ub, 2), LSM_MAX_SEQUENCE, &t, &val, &vlen, NULL),
                     -EIO);
    check_get(r, &m, 1, LSM_MAX_SEQUENCE); /* the next read works */
    iter *it = sst_reader_iter_new(r);
    iter_first(it);
    check_entry(it, &m, 0);
    io_fault_arm(fio, 1, EIO, 1); /* the disk dies */
    size_t n = 0;
    while (iter_valid(it)) {
        iter_next(it);
        n++;
    }
    assert_true(n < m.n);
    assert_int_equal(iter_status(it), -EIO);
    iter_destroy(it);
    sst_reader_close(r);
    io_destroy(fio);
    model_free(&m);
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
        cmocka_unit_test_setup_teardown(test_corrupt_data_block, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_open, fixture_setup, fixture_teardown),
        SCRATCH(test_io_errors),
        SCRATCH(test_concurrent_readers),
    };
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    io_destroy(g_io);
    return rc;
}
