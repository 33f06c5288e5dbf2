/*
 * sstable_model.h — the model table shared by test_sstable.c and
 * test_sstable_corrupt.c: what a table of n entries holds, how to build it,
 * and checks of a reader against it.  Header-only, like picker_sim.h.
 */
#ifndef LSM_TEST_SSTABLE_MODEL_H
#define LSM_TEST_SSTABLE_MODEL_H

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

#include "table/block.h"
#include "base/dbformat.h"
#include "io/io.h"
#include "lsm.h"
#include "table/sstable_builder.h"
#include "table/sstable_format.h"
#include "table/sstable_reader.h"

#define SSTM_FN static __attribute__((unused))

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

SSTM_FN unsigned nversions(uint32_t u) { return u % 5 == 0 ? 3 : 1; }

SSTM_FN uint64_t seq_of(uint32_t u, unsigned v)
{
    return nversions(u) == 3 ? 10ull * u + 3 - v : 10ull * u + 1;
}

SSTM_FN enum value_type type_of(uint32_t u, unsigned v)
{
    if (nversions(u) == 3)
        return v == 1 ? LSM_TYPE_DELETE : LSM_TYPE_PUT;
    return u % 7 == 3 ? LSM_TYPE_DELETE : LSM_TYPE_PUT;
}

/* "k%015llu" without snprintf, which would dominate the 1M-entry test. */
SSTM_FN slice ukey(char *buf, uint64_t num)
{
    buf[0] = 'k';
    for (int i = 15; i >= 1; i--, num /= 10)
        buf[i] = (char)('0' + num % 10);
    buf[16] = '\0';
    return slice_make(buf, 16);
}

SSTM_FN slice ikey(char *buf, uint32_t u, unsigned v)
{
    char ub[17];
    return slice_make(buf, ikey_encode(buf, ukey(ub, 2ull * u), seq_of(u, v), type_of(u, v)));
}

SSTM_FN slice value_of(char *buf, uint32_t u, unsigned v)
{
    if (type_of(u, v) == LSM_TYPE_DELETE)
        return slice_make(buf, 0);
    size_t n = 90 + (u * 7u + v) % 21;
    th_rng r;
    th_rng_seed(&r, u * 0x9e3779b97f4a7c15ull + v * 0xbf58476d1ce4e5b9ull + 1);
    for (size_t j = 0; j < n; j += 8) { /* buf has room for the last 8 */
        uint64_t x = th_rng_next(&r);
        memcpy(buf + j, &x, 8);
    }
    return slice_make(buf, n);
}

SSTM_FN void model_init(model *m, size_t n)
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

SSTM_FN void model_free(model *m)
{
    free(m->u);
    free(m->ver);
    free(m->first);
}

/* ---- helpers ------------------------------------------------------------- */

SSTM_FN int scratch_setup(void **state)
{
    (void)state;
    g_dir = th_tempdir("sst");
    return asprintf(&g_path, "%s/000001.sst", g_dir) > 0 ? 0 : -1;
}

SSTM_FN int scratch_teardown(void **state)
{
    (void)state;
    free(g_path);
    th_rmrf_free(g_dir);
    return 0;
}

SSTM_FN void build_table(const char *path, const model *m, const sst_options *o, sst_props *props)
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

SSTM_FN void check_entry(iter *it, const model *m, size_t i)
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

SSTM_FN void check_props(const sst_props *p, const model *m, const char *path)
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

SSTM_FN void props_equal(const sst_props *a, const sst_props *b)
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
SSTM_FN long expected_get(const model *m, uint32_t u, uint64_t seq)
{
    if (u >= m->nusers)
        return -1;
    for (uint32_t i = m->first[u]; i < m->first[u + 1]; i++)
        if (seq_of(u, m->ver[i]) <= seq)
            return (long)i;
    return -1;
}

SSTM_FN void check_get(sst_reader *r, const model *m, uint32_t u, uint64_t seq)
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
SSTM_FN int check_gets_around(sst_reader *r, const model *m, uint32_t u)
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

SSTM_FN void check_seeks(iter *it, const model *m, size_t i)
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
SSTM_FN void round_trip(size_t n, const sst_options *o, size_t samples)
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


#endif
