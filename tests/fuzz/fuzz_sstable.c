/*
 * fuzz_sstable.c — the SSTable reader: footer, meta blocks (index, filter,
 * properties), data blocks, iterators and point lookups.
 *
 * Input: one flags byte, then a body.
 *   flags bit 2 clear — the body is a table image:
 *     bit 0  rewrite the footer CRC and every block trailer CRC first
 *            (fuzzkit.h), so mutations reach the block parsers
 *     bit 1  read through a small block cache (sst_reader_open_ex)
 *     The reader must refuse or read it without touching memory it does
 *     not own: open, walk forward and back, seek to and get what it finds.
 *   flags bit 2 set — the body describes entries; the harness builds a
 *     table from them with sst_builder (options from the body too) and the
 *     reader must return exactly those entries: iteration both ways, seek,
 *     get at several sequences, and no bloom false negative.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "table/block_cache.h"
#include "base/crc32c.h"
#include "base/dbformat.h"
#include "fuzzkit.h"
#include "lsm.h"
#include "table/sstable_builder.h"
#include "table/sstable_reader.h"

#define MAX_STEPS 20000
#define MAX_ENTRIES 512

static block_cache *g_cache;
static volatile uint32_t g_sink;

static void *dup_bytes(const void *p, size_t n)
{
    void *q = malloc(n ? n : 1);
    FK_CHECK(q != NULL, "oom");
    memcpy(q, p, n);
    return q;
}

/* ---- raw image ------------------------------------------------------------ */

static void read_image(int use_cache)
{
    sst_reader *r;
    static uint64_t file_number;
    int rc = use_cache ? sst_reader_open_ex(fk_io(), fk_path("000007.sst"), ++file_number,
                                            g_cache, &r)
                       : sst_reader_open(fk_io(), fk_path("000007.sst"), &r);
    if (rc != 0) {
        FK_CHECK(rc == LSM_ECORRUPT || rc == LSM_EVERSION || rc == -ENOMEM, "open: %d", rc);
        return;
    }
    (void)sst_reader_props(r);
    iter *it = sst_reader_iter_new(r);
    FK_CHECK(it != NULL, "iter");
    /* Keep a few keys to seek to and look up afterwards. */
    char *keys[16];
    size_t klens[16], nkeys = 0;
    int steps = 0;
    for (iter_first(it); iter_valid(it) && steps < MAX_STEPS; iter_next(it), steps++) {
        slice k = iter_key(it), v = iter_value(it);
        FK_CHECK(k.size >= INTERNAL_TRAILER, "short internal key");
        g_sink += crc32c(v.data, v.size); /* touch every value byte */
        if (nkeys < 16 && (steps % 7) == 0) {
            keys[nkeys] = dup_bytes(k.data, k.size);
            klens[nkeys++] = k.size;
        }
    }
    int st = iter_status(it);
    FK_CHECK(st == 0 || st == LSM_ECORRUPT || st == -ENOMEM, "status %d", st);
    steps = 0;
    for (iter_last(it); iter_valid(it) && steps < 200; iter_prev(it), steps++)
        (void)iter_key(it);
    for (size_t i = 0; i < nkeys; i++) {
        slice k = slice_make(keys[i], klens[i]);
        iter_seek(it, k);
        for (int s = 0; iter_valid(it) && s < 3; s++)
            iter_next(it);
        enum value_type type;
        char *val = NULL;
        size_t vlen = 0;
        int neg;
        rc = sst_reader_get(r, ikey_user(k), ikey_seq(k), &type, &val, &vlen, &neg);
        FK_CHECK(rc == 0 || rc == 1 || rc == LSM_ECORRUPT || rc == -ENOMEM, "get: %d", rc);
        free(val);
        (void)sst_reader_may_contain(r, ikey_user(k));
        free(keys[i]);
    }
    iter_destroy(it);
    sst_reader_close(r);
}

/* ---- built table ---------------------------------------------------------- */

struct entry {
    char *ikey;
    size_t klen;
    char *val;
    size_t vlen;
};

static int cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    return ikey_compare(slice_make(x->ikey, x->klen), slice_make(y->ikey, y->klen));
}

static void check_entry_at(iter *it, const struct entry *e, const char *what)
{
    FK_CHECK(iter_valid(it), "%s: iterator ended early (status %d)", what, iter_status(it));
    slice k = iter_key(it), v = iter_value(it);
    FK_CHECK(slice_equal(k, slice_make(e->ikey, e->klen)), "%s: key differs", what);
    FK_CHECK(slice_equal(v, slice_make(e->val, e->vlen)), "%s: value differs", what);
}

static void build_and_check(fk_in *in, int use_cache)
{
    sst_options o;
    sst_options_init(&o);
    o.block_bytes = 16 + fk_u8(in) * 16u;
    o.restart_interval = 1 + fk_u8(in) % 32;
    o.bloom_bits_per_key = fk_u8(in) % 24;
    /* Entries: user key from a small alphabet (so versions and shared
     * prefixes are common), sequence, type, value. */
    static struct entry es[MAX_ENTRIES];
    size_t n = 0;
    while (in->n > 0 && n < MAX_ENTRIES) {
        size_t kl;
        uint8_t klen = (uint8_t)(1 + fk_u8(in) % 24);
        const uint8_t *kb = fk_bytes(in, klen, &kl);
        if (kl == 0)
            break;
        uint64_t seq = fk_u16(in) % 64;
        enum value_type t = (fk_u8(in) & 1) ? LSM_TYPE_PUT : LSM_TYPE_DELETE;
        uint16_t want_v = t == LSM_TYPE_PUT ? fk_u16(in) % 600 : 0;
        struct entry *e = &es[n];
        e->klen = kl + INTERNAL_TRAILER;
        e->ikey = malloc(e->klen);
        FK_CHECK(e->ikey != NULL, "oom");
        char uk[24];
        for (size_t i = 0; i < kl; i++) /* 'a'..'d' keep keys colliding */
            uk[i] = (char)('a' + (kb[i] & 3));
        ikey_encode(e->ikey, slice_make(uk, kl), seq, t);
        e->vlen = want_v;
        e->val = malloc(want_v ? want_v : 1);
        FK_CHECK(e->val != NULL, "oom");
        for (size_t i = 0; i < want_v; i++)
            e->val[i] = (char)(i * 31 + n);
        n++;
    }
    qsort(es, n, sizeof es[0], cmp_entry);
    size_t u = 0; /* one entry per (user key, sequence), as in any real table */
    for (size_t i = 0; i < n; i++) {
        slice a = u ? slice_make(es[u - 1].ikey, es[u - 1].klen) : slice_make(NULL, 0);
        slice c = slice_make(es[i].ikey, es[i].klen);
        if (u && slice_equal(ikey_user(a), ikey_user(c)) && ikey_seq(a) == ikey_seq(c)) {
            free(es[i].ikey);
            free(es[i].val);
            continue;
        }
        es[u++] = es[i];
    }
    n = u;

    const char *path = fk_path("000009.sst");
    sst_builder *b;
    FK_CHECK(sst_builder_new(fk_io(), path, &o, &b) == 0, "builder");
    for (size_t i = 0; i < n; i++)
        FK_CHECK(sst_builder_add(b, slice_make(es[i].ikey, es[i].klen),
                                 slice_make(es[i].val, es[i].vlen)) == 0, "add");
    sst_props props;
    FK_CHECK(sst_builder_finish(b, &props) == 0, "finish");
    FK_CHECK(props.entries == n, "props entries %llu of %zu",
             (unsigned long long)props.entries, n);
    sst_props_free(&props);

    sst_reader *r;
    static uint64_t file_number = 1u << 30;
    int rc = use_cache ? sst_reader_open_ex(fk_io(), path, ++file_number, g_cache, &r)
                       : sst_reader_open(fk_io(), path, &r);
    FK_CHECK(rc == 0, "open of a built table: %d", rc);
    FK_CHECK(sst_reader_props(r)->entries == n, "read props");
    iter *it = sst_reader_iter_new(r);
    FK_CHECK(it != NULL, "iter");
    iter_first(it);
    for (size_t i = 0; i < n; i++, iter_next(it))
        check_entry_at(it, &es[i], "forward");
    FK_CHECK(!iter_valid(it) && iter_status(it) == 0, "forward: extra entries");
    iter_last(it);
    for (size_t i = n; i-- > 0; iter_prev(it))
        check_entry_at(it, &es[i], "backward");
    FK_CHECK(!iter_valid(it) && iter_status(it) == 0, "backward: extra entries");
    for (size_t i = 0; i < n; i++) {
        slice ik = slice_make(es[i].ikey, es[i].klen);
        iter_seek(it, ik);
        check_entry_at(it, &es[i], "seek");
        /* get at this entry's sequence finds this entry: it is the newest
         * version of its key with sequence <= its own. */
        enum value_type type;
        char *val = NULL;
        size_t vlen = 0;
        int neg = -1;
        FK_CHECK(sst_reader_may_contain(r, ikey_user(ik)) == 1, "bloom false negative");
        rc = sst_reader_get(r, ikey_user(ik), ikey_seq(ik), &type, &val, &vlen, &neg);
        FK_CHECK(rc == 1 && neg == 0, "get: %d", rc);
        FK_CHECK(type == ikey_type(ik), "get: type");
        if (type == LSM_TYPE_PUT)
            FK_CHECK(val && vlen == es[i].vlen && memcmp(val, es[i].val, vlen) == 0,
                     "get: value");
        else
            FK_CHECK(val == NULL && vlen == 0, "get: tombstone value");
        free(val);
        /* Below the oldest version of the key nothing is visible. */
        if (i + 1 == n || !slice_equal(ikey_user(ik), ikey_user(slice_make(es[i + 1].ikey,
                                                                           es[i + 1].klen)))) {
            if (ikey_seq(ik) > 0) {
                rc = sst_reader_get(r, ikey_user(ik), ikey_seq(ik) - 1, &type, &val, &vlen,
                                    NULL);
                FK_CHECK(rc == 0 && val == NULL, "get below the oldest version: %d", rc);
            }
        }
    }
    iter_destroy(it);
    sst_reader_close(r);
    for (size_t i = 0; i < n; i++) {
        free(es[i].ikey);
        free(es[i].val);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fk_init();
    if (size < 1)
        return 0;
    fk_in in = { data + 1, size - 1 };
    uint8_t flags = data[0];
    /* A small cache, so evictions happen; one per input, so every input
     * frees what it allocates (else libFuzzer runs a leak scan each time). */
    if (flags & 2) {
        g_cache = block_cache_new(64 << 10, 1);
        FK_CHECK(g_cache != NULL, "cache");
    }
    if (flags & 4) {
        build_and_check(&in, (flags >> 1) & 1);
    } else {
        uint8_t *img = malloc(in.n ? in.n : 1);
        FK_CHECK(img != NULL, "oom");
        memcpy(img, in.p, in.n);
        if (flags & 1)
            fk_fix_sst_crcs(img, in.n);
        fk_write_file(fk_path("000007.sst"), img, in.n);
        free(img);
        read_image((flags >> 1) & 1);
    }
    block_cache_free(g_cache);
    g_cache = NULL;
    return 0;
}
