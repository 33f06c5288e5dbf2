/* test_block.c — data/index blocks: table/block_builder.c and
 * table/block.c. */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table/block.h"
#include "table/block_builder.h"
#include "base/dbformat.h"
#include "lsm.h"
#include "table/sstable_format.h"

/* Internal key of user key "key%06u" (or "key%06u" followed by pad 'x's). */
typedef struct tkey {
    char b[512];
    size_t n;
} tkey;

static slice mkey(tkey *k, unsigned i, size_t pad, uint64_t seq, enum value_type t)
{
    char u[480];
    int n = snprintf(u, sizeof u, "key%06u", i);
    memset(u + n, 'x', pad);
    k->n = ikey_encode(k->b, slice_make(u, (size_t)n + pad), seq, t);
    return slice_make(k->b, k->n);
}

/* Value of entry i: length varies 0..299 so some lengths need 2-byte varints. */
static slice mval(char *buf, unsigned i)
{
    size_t n = (i * 37u) % 300;
    for (size_t j = 0; j < n; j++)
        buf[j] = (char)('a' + (i + j) % 26);
    return slice_make(buf, n);
}

typedef struct built {
    block_builder bb;
    block blk;
    slice contents;
} built;

/* Builds a block of n entries (user key i*2, so odd keys are absent). */
static void build(built *w, unsigned n, int interval, size_t pad)
{
    block_builder_init(&w->bb, interval);
    char vb[300];
    tkey k;
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(block_builder_add(&w->bb, mkey(&k, i * 2, pad, 100 + i, LSM_TYPE_PUT),
                                           mval(vb, i)), 0);
    }
    size_t est = block_builder_size_estimate(&w->bb);
    assert_int_equal(block_builder_finish(&w->bb, &w->contents), 0);
    assert_int_equal(w->contents.size, est);
    assert_int_equal(block_init(&w->blk, w->contents), 0);
    unsigned restarts = n ? (n + (unsigned)interval - 1) / (unsigned)interval : 1;
    assert_int_equal(w->blk.num_restarts, restarts);
}

static void check_entry(const block_iter *it, unsigned i, size_t pad)
{
    tkey k;
    char vb[300];
    assert_true(block_iter_valid(it));
    slice want = mkey(&k, i * 2, pad, 100 + i, LSM_TYPE_PUT);
    slice got = block_iter_key(it);
    assert_int_equal(got.size, want.size);
    assert_memory_equal(got.data, want.data, want.size);
    slice v = mval(vb, i), gv = block_iter_value(it);
    assert_int_equal(gv.size, v.size);
    if (v.size)
        assert_memory_equal(gv.data, v.data, v.size);
}

static void round_trip(unsigned n, int interval, size_t pad)
{
    built w;
    build(&w, n, interval, pad);
    block_iter it;
    block_iter_init(&it, &w.blk);
    unsigned i = 0;
    for (block_iter_first(&it); block_iter_valid(&it); block_iter_next(&it))
        check_entry(&it, i++, pad);
    assert_int_equal(i, n);
    assert_int_equal(block_iter_status(&it), 0);
    for (block_iter_last(&it); block_iter_valid(&it); block_iter_prev(&it))
        check_entry(&it, --i, pad);
    assert_int_equal(i, 0);
    assert_int_equal(block_iter_status(&it), 0);

    /* Seeks: every present key, every absent key between, before, after. */
    tkey k;
    for (unsigned j = 0; j < n; j++) {
        block_iter_seek(&it, mkey(&k, j * 2, pad, 100 + j, LSM_TYPE_PUT));
        check_entry(&it, j, pad);
        /* A newer sequence of the same user key sorts first: lands on j. */
        block_iter_seek(&it, mkey(&k, j * 2, pad, LSM_MAX_SEQUENCE, LSM_TYPE_SEEK));
        check_entry(&it, j, pad);
        /* An older one sorts after it: lands on j + 1. */
        block_iter_seek(&it, mkey(&k, j * 2, pad, 99 + j, LSM_TYPE_PUT));
        if (j + 1 < n)
            check_entry(&it, j + 1, pad);
        else
            assert_false(block_iter_valid(&it));
        block_iter_seek(&it, mkey(&k, j * 2 + 1, pad, 5, LSM_TYPE_PUT));
        if (j + 1 < n)
            check_entry(&it, j + 1, pad);
        else
            assert_false(block_iter_valid(&it));
    }
    block_iter_seek(&it, slice_make("\0\0\0\0\0\0\0\0\0", 9));
    if (n)
        check_entry(&it, 0, pad);
    else
        assert_false(block_iter_valid(&it));
    block_iter_seek(&it, mkey(&k, 999999, pad, 1, LSM_TYPE_PUT));
    assert_false(block_iter_valid(&it));
    assert_int_equal(block_iter_status(&it), 0);

    /* prev/next from every position. */
    for (unsigned j = 1; j + 1 < n; j++) {
        block_iter_seek(&it, mkey(&k, j * 2, pad, 100 + j, LSM_TYPE_PUT));
        block_iter_prev(&it);
        check_entry(&it, j - 1, pad);
        block_iter_next(&it);
        check_entry(&it, j, pad);
        block_iter_next(&it);
        check_entry(&it, j + 1, pad);
        block_iter_prev(&it);
        block_iter_prev(&it);
        check_entry(&it, j - 1, pad);
    }
    if (n) {
        block_iter_first(&it);
        block_iter_prev(&it);
        assert_false(block_iter_valid(&it));
        block_iter_last(&it);
        block_iter_next(&it);
        assert_false(block_iter_valid(&it));
        assert_int_equal(block_iter_status(&it), 0);
    }
    block_iter_fini(&it);
    block_builder_fini(&w.bb);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const unsigned sizes[] = { 0, 1, 2, 3, 15, 16, 17, 100, 1000 };
    static const int intervals[] = { 1, 2, 3, 16, 1000 };
    for (size_t a = 0; a < sizeof sizes / sizeof sizes[0]; a++)
        for (size_t b = 0; b < sizeof intervals / sizeof intervals[0]; b++)
            round_trip(sizes[a], intervals[b], 0);
}

/* Keys longer than the iterator's inline buffer and than one varint byte. */
static void test_long_keys(void **state)
{
    (void)state;
    round_trip(50, 4, 200);
    round_trip(20, 16, 470);
}

static void test_empty_block(void **state)
{
    (void)state;
    built w;
    build(&w, 0, 16, 0);
    assert_int_equal(w.contents.size, 8); /* restart[0] = 0, num_restarts = 1 */
    block_iter it;
    block_iter_init(&it, &w.blk);
    block_iter_first(&it);
    assert_false(block_iter_valid(&it));
    block_iter_last(&it);
    assert_false(block_iter_valid(&it));
    tkey k;
    block_iter_seek(&it, mkey(&k, 1, 0, 1, LSM_TYPE_PUT));
    assert_false(block_iter_valid(&it));
    assert_int_equal(block_iter_status(&it), 0);
    block_iter_fini(&it);
    block_builder_fini(&w.bb);
}

static void test_reset_reuses_builder(void **state)
{
    (void)state;
    block_builder b;
    block_builder_init(&b, 4);
    tkey k;
    slice c1, c2;
    for (int round = 0; round < 3; round++) {
        assert_true(block_builder_empty(&b));
        for (unsigned i = 0; i < 10; i++)
            assert_int_equal(block_builder_add(&b, mkey(&k, i, 0, 1, LSM_TYPE_PUT),
                                               slice_make("v", 1)), 0);
        assert_int_equal(block_builder_entries(&b), 10);
        assert_int_equal(block_builder_last_key(&b).size, k.n);
        assert_int_equal(block_builder_finish(&b, round ? &c2 : &c1), 0);
        if (round)
            assert_int_equal(c2.size, c1.size);
        block_builder_reset(&b);
    }
    block_builder_fini(&b);
}

/* The worked example of docs/sstable-format.md §Block contents, byte for
 * byte: restart interval 3, so "apricot" starts a new restart. */
static void test_worked_example(void **state)
{
    (void)state;
    block_builder b;
    block_builder_init(&b, 3);
    char k[32];
    struct { const char *u; uint64_t seq; enum value_type t; const char *v; } e[] = {
        { "apple", 5, LSM_TYPE_PUT, "red" },
        { "applesauce", 9, LSM_TYPE_PUT, "jar" },
        { "apply", 7, LSM_TYPE_DELETE, "" },
        { "apricot", 2, LSM_TYPE_PUT, "dry" },
    };
    for (int i = 0; i < 4; i++) {
        size_t n = ikey_encode(k, slice_make(e[i].u, strlen(e[i].u)), e[i].seq, e[i].t);
        assert_int_equal(block_builder_add(&b, slice_make(k, n),
                                           slice_make(e[i].v, strlen(e[i].v))), 0);
    }
    slice c;
    assert_int_equal(block_builder_finish(&b, &c), 0);
    static const unsigned char want[] = {
        /* 0: apple@5 PUT "red" */
        0x00, 0x0d, 0x03, 'a', 'p', 'p', 'l', 'e', 0x01, 0x05, 0, 0, 0, 0, 0, 0, 'r', 'e', 'd',
        /* 19: applesauce@9 PUT "jar": shares "apple" */
        0x05, 0x0d, 0x03, 's', 'a', 'u', 'c', 'e', 0x01, 0x09, 0, 0, 0, 0, 0, 0, 'j', 'a', 'r',
        /* 38: apply@7 DELETE "": shares "appl" */
        0x04, 0x09, 0x00, 'y', 0x00, 0x07, 0, 0, 0, 0, 0, 0,
        /* 50: apricot@2 PUT "dry": a restart, so the whole key */
        0x00, 0x0f, 0x03, 'a', 'p', 'r', 'i', 'c', 'o', 't', 0x01, 0x02, 0, 0, 0, 0, 0, 0,
        'd', 'r', 'y',
        /* 71: restarts [0, 50], num_restarts 2 */
        0x00, 0x00, 0x00, 0x00, 0x32, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    };
    assert_int_equal(c.size, sizeof want);
    assert_memory_equal(c.data, want, sizeof want);
    /* and the trailer the doc shows for it: masked crc32c of contents || 0 */
    assert_int_equal(sst_block_crc(c, SST_COMPRESSION_NONE), 0x79509f5b);
    block blk;
    assert_int_equal(block_init(&blk, c), 0);
    assert_int_equal(blk.num_restarts, 2);
    assert_int_equal(blk.restarts_off, 71);
    block_builder_fini(&b);
}

static void test_block_init_rejects_malformed(void **state)
{
    (void)state;
    block blk;
    char b[32] = { 0 };
    assert_int_equal(block_init(&blk, slice_make(b, 0)), LSM_ECORRUPT);
    assert_int_equal(block_init(&blk, slice_make(b, 3)), LSM_ECORRUPT);
    /* num_restarts 0 */
    assert_int_equal(block_init(&blk, slice_make(b, 8)), LSM_ECORRUPT);
    /* num_restarts larger than the block can hold */
    put_fixed32(b + 4, 2);
    assert_int_equal(block_init(&blk, slice_make(b, 8)), LSM_ECORRUPT);
    /* the empty block is fine */
    put_fixed32(b + 4, 1);
    assert_int_equal(block_init(&blk, slice_make(b, 8)), 0);
    /* restart[0] != 0 */
    put_fixed32(b + 16, 3);
    put_fixed32(b + 20, 1);
    assert_int_equal(block_init(&blk, slice_make(b, 24)), LSM_ECORRUPT);
    /* restarts not ascending, or past the entries */
    put_fixed32(b + 12, 0);
    put_fixed32(b + 16, 0);
    put_fixed32(b + 20, 2);
    assert_int_equal(block_init(&blk, slice_make(b, 24)), LSM_ECORRUPT);
    put_fixed32(b + 16, 12);
    assert_int_equal(block_init(&blk, slice_make(b, 24)), LSM_ECORRUPT);
    put_fixed32(b + 16, 5);
    assert_int_equal(block_init(&blk, slice_make(b, 24)), 0);
}

/* Hand-made entries that lie about their lengths. */
static void test_corrupt_entries_detected(void **state)
{
    (void)state;
    block blk;
    block_iter it;
    tkey k;
    /* shared (3) longer than the previous key (none) */
    char b1[] = { 3, 8, 0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 0, 0, 0, 0, 1, 0, 0, 0 };
    assert_int_equal(block_init(&blk, slice_make(b1, sizeof b1)), 0);
    block_iter_init(&it, &blk);
    block_iter_first(&it);
    assert_false(block_iter_valid(&it));
    assert_int_equal(block_iter_status(&it), LSM_ECORRUPT);
    block_iter_fini(&it);
    /* value length runs past the entries; seek reads the restart key */
    char b2[] = { 0, 8, 9, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 0, 0, 0, 0, 1, 0, 0, 0 };
    assert_int_equal(block_init(&blk, slice_make(b2, sizeof b2)), 0);
    block_iter_init(&it, &blk);
    block_iter_seek(&it, mkey(&k, 1, 0, 1, LSM_TYPE_PUT));
    assert_false(block_iter_valid(&it));
    assert_int_equal(block_iter_status(&it), LSM_ECORRUPT);
    block_iter_fini(&it);
    /* a key shorter than the 8-byte internal trailer */
    char b3[] = { 0, 2, 0, 'a', 'b', 0, 0, 0, 0, 1, 0, 0, 0 };
    assert_int_equal(block_init(&blk, slice_make(b3, sizeof b3)), 0);
    block_iter_init(&it, &blk);
    block_iter_last(&it);
    assert_false(block_iter_valid(&it));
    assert_int_equal(block_iter_status(&it), LSM_ECORRUPT);
    block_iter_fini(&it);
}

/* Random byte flips must never read outside the block (ASan watches). */
static void test_random_corruption_is_contained(void **state)
{
    (void)state;
    built w;
    build(&w, 200, 16, 0);
    char *copy = malloc(w.contents.size);
    assert_non_null(copy);
    th_rng rng;
    th_rng_seed(&rng, th_seed());
    tkey k;
    for (int round = 0; round < 2000; round++) {
        memcpy(copy, w.contents.data, w.contents.size);
        for (int f = 0; f < 3; f++)
            copy[th_rng_below(&rng, w.contents.size)] ^= (char)(1 + th_rng_below(&rng, 255));
        block blk;
        if (block_init(&blk, slice_make(copy, w.contents.size)) != 0)
            continue;
        block_iter it;
        block_iter_init(&it, &blk);
        unsigned steps = 0;
        for (block_iter_first(&it); block_iter_valid(&it) && steps < 1000; block_iter_next(&it))
            steps++;
        int st = block_iter_status(&it);
        assert_true(st == 0 || st == LSM_ECORRUPT);
        block_iter_reset(&it, &blk);
        steps = 0;
        for (block_iter_last(&it); block_iter_valid(&it) && steps < 1000; block_iter_prev(&it))
            steps++;
        block_iter_reset(&it, &blk);
        block_iter_seek(&it, mkey(&k, (unsigned)th_rng_below(&rng, 400), 0, 100, LSM_TYPE_PUT));
        st = block_iter_status(&it);
        assert_true(st == 0 || st == LSM_ECORRUPT);
        block_iter_fini(&it);
    }
    free(copy);
    block_builder_fini(&w.bb);
}

static void test_iter_interface(void **state)
{
    (void)state;
    built w;
    build(&w, 40, 16, 100); /* long keys: the heap key buffer is freed by destroy */
    iter *it = block_iter_new(&w.blk);
    assert_non_null(it);
    unsigned i = 0;
    for (iter_first(it); iter_valid(it); iter_next(it))
        check_entry((const block_iter *)it, i++, 100);
    assert_int_equal(i, 40);
    tkey k;
    iter_seek(it, mkey(&k, 21, 100, 1, LSM_TYPE_PUT));
    assert_true(iter_valid(it));
    assert_int_equal(iter_key(it).size, mkey(&k, 22, 100, 1, LSM_TYPE_PUT).size);
    iter_prev(it);
    check_entry((const block_iter *)it, 10, 100);
    assert_int_equal(iter_value(it).size, mval(k.b, 10).size);
    assert_int_equal(iter_status(it), 0);
    iter_last(it);
    check_entry((const block_iter *)it, 39, 100);
    iter_destroy(it);
    block_builder_fini(&w.bb);
}

/* Checks block_iter_seek_hinted against block_iter_seek for target. */
static void check_hinted(const block *b, const block_hint *h, slice target)
{
    block_iter a, c;
    block_iter_init(&a, b);
    block_iter_init(&c, b);
    block_iter_seek(&a, target);
    block_iter_seek_hinted(&c, h, target);
    assert_int_equal(block_iter_status(&c), block_iter_status(&a));
    assert_int_equal(block_iter_valid(&c), block_iter_valid(&a));
    if (block_iter_valid(&a)) {
        assert_true(slice_equal(block_iter_key(&c), block_iter_key(&a)));
        assert_true(slice_equal(block_iter_value(&c), block_iter_value(&a)));
        /* The iterator goes on from there like a plain one. */
        block_iter_next(&a);
        block_iter_next(&c);
        assert_int_equal(block_iter_valid(&c), block_iter_valid(&a));
        if (block_iter_valid(&a))
            assert_true(slice_equal(block_iter_key(&c), block_iter_key(&a)));
    }
    block_iter_fini(&a);
    block_iter_fini(&c);
}

/* block_hint_find against a count of the entries < target (dense blocks);
 * -EINVAL for the others. */
static void check_find(const block *b, const block_hint *h, slice target)
{
    int64_t want = 0;
    block_iter it;
    block_iter_init(&it, b);
    for (block_iter_first(&it); block_iter_valid(&it); block_iter_next(&it))
        want += ikey_compare(block_iter_key(&it), target) < 0;
    block_iter_fini(&it);
    assert_int_equal(block_hint_find(h, b, target), h->dense ? want : -EINVAL);
}

static slice ukey_ikey(tkey *k, const char *u, size_t n, uint64_t seq)
{
    k->n = ikey_encode(k->b, slice_make(u, n), seq, LSM_TYPE_SEEK);
    return slice_make(k->b, k->n);
}

/* The hint gives exactly block_iter_seek's answers: keys sharing a long
 * prefix, keys that tie on the hint's 8 bytes, keys shorter than the
 * prefix plus 8, several versions of one user key, dense (interval 1, like
 * an index) and sparse blocks, and targets outside the shared prefix. */
static void test_seek_hint_matches_seek(void **state)
{
    (void)state;
    static const char *users[] = {
        "pfx/", "pfx/a", "pfx/a\x01", "pfx/abcdefgh", "pfx/abcdefgh0", "pfx/abcdefgh1",
        "pfx/abcdefgh1zz", "pfx/abcdefgi", "pfx/b", "pfx/bbbbbbbbbbbbbbbbbbbbbbbb",
        "pfx/c", "pfx/c\xff\xff", "pfx/d",
    };
    const size_t nu = sizeof users / sizeof users[0];
    static const char *targets[] = {
        "", "a", "pf", "pfx", "pfx/", "pfx/\x00", "pfx/a", "pfx/a\x00", "pfx/abcdefgh",
        "pfx/abcdefgh0", "pfx/abcdefgh00", "pfx/abcdefgh1", "pfx/abcdefgh2", "pfx/abcdefgz",
        "pfx/b", "pfx/bbbbbbbbc", "pfx/c\xff", "pfx/c\xff\xff\xff", "pfx/d", "pfx/e", "pfy",
        "q", "\xff",
    };
    const size_t nt = sizeof targets / sizeof targets[0];
    for (int interval = 1; interval <= 4; interval += 3) {
        block_builder bb;
        block_builder_init(&bb, interval);
        tkey k;
        char vb[16];
        for (size_t i = 0; i < nu; i++) {
            for (uint64_t seq = 30; seq >= 10; seq -= 10) { /* newest first */
                snprintf(vb, sizeof vb, "v%zu.%llu", i, (unsigned long long)seq);
                assert_int_equal(block_builder_add(&bb, ukey_ikey(&k, users[i], strlen(users[i]),
                                                                  seq),
                                                   slice_make(vb, strlen(vb))), 0);
            }
        }
        slice contents;
        assert_int_equal(block_builder_finish(&bb, &contents), 0);
        block b;
        assert_int_equal(block_init(&b, contents), 0);
        block_hint h;
        assert_int_equal(block_hint_build(&h, &b), 0);
        assert_non_null(h.pfx);
        assert_int_equal(h.common_len, 4); /* "pfx/" */
        assert_int_equal(h.dense, interval == 1);
        for (size_t t = 0; t < nt; t++) {
            for (uint64_t seq = 5; seq <= 35; seq += 5) {
                check_hinted(&b, &h, ukey_ikey(&k, targets[t], strlen(targets[t]), seq));
                check_find(&b, &h, ukey_ikey(&k, targets[t], strlen(targets[t]), seq));
            }
        }
        for (size_t i = 0; i < nu; i++)
            for (uint64_t seq = 5; seq <= 35; seq += 5)
                check_hinted(&b, &h, ukey_ikey(&k, users[i], strlen(users[i]), seq));
        block_hint_free(&h);
        assert_null(h.pfx);
        /* An empty hint means plain seeks. */
        check_hinted(&b, &h, ukey_ikey(&k, "pfx/b", 5, 20));
        block_builder_fini(&bb);
    }

    /* The generated blocks too, across sizes, intervals and key lengths. */
    for (int interval = 1; interval <= 16; interval *= 4) {
        built w;
        build(&w, 300, interval, 5);
        block_hint h;
        assert_int_equal(block_hint_build(&h, &w.blk), 0);
        tkey k;
        for (unsigned i = 0; i < 610; i += 3) {
            check_hinted(&w.blk, &h, mkey(&k, i, 5, 100 + i / 2, LSM_TYPE_SEEK));
            check_find(&w.blk, &h, mkey(&k, i, 5, 100 + i / 2, LSM_TYPE_SEEK));
        }
        block_hint_free(&h);
        block_builder_fini(&w.bb);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_long_keys),
        cmocka_unit_test(test_empty_block),
        cmocka_unit_test(test_reset_reuses_builder),
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_block_init_rejects_malformed),
        cmocka_unit_test(test_corrupt_entries_detected),
        cmocka_unit_test(test_random_corruption_is_contained),
        cmocka_unit_test(test_iter_interface),
        cmocka_unit_test(test_seek_hint_matches_seek),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
