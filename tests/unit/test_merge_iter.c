/*
 * test_merge_iter.c — the merging iterator against a brute-force model:
 * many children (memtables and in-test array iterators) holding duplicate
 * user keys at different sequences, identical internal keys in several
 * children, empty children, both directions, direction changes at every
 * position, seeks, random walks and a child that fails with -EIO.
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"
#include "base/iterator.h"
#include "memtable/memtable.h"
#include "table/merge_iter.h"

/* ---- an array child with an optional failure ---------------------------- */

typedef struct ent {
    char ik[32]; /* internal key */
    size_t iklen;
    char val[24];
    size_t vlen;
    int child;
} ent;

typedef struct arr_iter {
    iter base;
    const ent *e; /* sorted by ikey */
    size_t n;
    size_t pos;     /* n = invalid */
    size_t fail_at; /* landing on this position fails with err (SIZE_MAX: never) */
    int err;
} arr_iter;

static void arr_land(arr_iter *a, size_t pos)
{
    if (a->err)
        return;
    if (pos == a->fail_at) {
        a->err = -EIO;
        a->pos = a->n;
        return;
    }
    a->pos = pos < a->n ? pos : a->n;
}

static bool ar_valid(const iter *it) { const arr_iter *a = (const void *)it; return !a->err && a->pos < a->n; }
static void ar_first(iter *it) { arr_land((arr_iter *)it, 0); }
static void ar_last(iter *it)
{
    arr_iter *a = (arr_iter *)it;
    arr_land(a, a->n ? a->n - 1 : a->n);
}
static void ar_seek(iter *it, slice t)
{
    arr_iter *a = (arr_iter *)it;
    size_t i = 0;
    while (i < a->n && ikey_compare(slice_make(a->e[i].ik, a->e[i].iklen), t) < 0)
        i++;
    arr_land(a, i);
}
static void ar_next(iter *it) { arr_iter *a = (arr_iter *)it; arr_land(a, a->pos + 1); }
static void ar_prev(iter *it)
{
    arr_iter *a = (arr_iter *)it;
    arr_land(a, a->pos == 0 ? a->n : a->pos - 1);
}
static slice ar_key(const iter *it)
{
    const arr_iter *a = (const void *)it;
    assert_true(a->pos < a->n);
    return slice_make(a->e[a->pos].ik, a->e[a->pos].iklen);
}
static slice ar_value(const iter *it)
{
    const arr_iter *a = (const void *)it;
    return slice_make(a->e[a->pos].val, a->e[a->pos].vlen);
}
static int ar_status(const iter *it) { return ((const arr_iter *)it)->err; }
static void ar_destroy(iter *it) { free(it); }

static const struct iter_ops arr_ops = {
    .valid = ar_valid, .first = ar_first, .last = ar_last, .seek = ar_seek,
    .next = ar_next, .prev = ar_prev, .key = ar_key, .value = ar_value,
    .status = ar_status, .destroy = ar_destroy,
};

static iter *arr_iter_new(const ent *e, size_t n, size_t fail_at)
{
    arr_iter *a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->base.ops = &arr_ops;
    a->e = e;
    a->n = n;
    a->pos = n;
    a->fail_at = fail_at;
    return &a->base;
}

/* ---- the model ----------------------------------------------------------- */

static int ent_cmp(const void *pa, const void *pb)
{
    const ent *a = pa, *b = pb;
    int r = ikey_compare(slice_make(a->ik, a->iklen), slice_make(b->ik, b->iklen));
    return r ? r : (a->child > b->child) - (a->child < b->child);
}

static void make_ent(ent *e, unsigned user, uint64_t seq, enum value_type t, int child)
{
    char uk[16];
    int n = snprintf(uk, sizeof uk, "key%05u", user);
    e->iklen = ikey_encode(e->ik, slice_make(uk, (size_t)n), seq, t);
    e->vlen = (size_t)snprintf(e->val, sizeof e->val, "v%llu.%d", (unsigned long long)seq, child);
    e->child = child;
}

/* A world: nchild children and every entry they hold, sorted (the model). */
typedef struct world {
    int nchild;
    ent **per;      /* per[c]: child c's entries (array children), sorted */
    size_t *nper;
    memtable **mem; /* mem[c] non-NULL: child c is this memtable */
    ent *all;
    size_t n;
} world;

/* Children alternate memtables and arrays; every 7th is empty.  Keys come
 * from a small space so user keys repeat across children; sequences are
 * unique except for copies of array entries into the next array child
 * (identical internal keys in two children). */
static world *world_new(th_rng *r, int nchild, unsigned users, size_t per_child)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->nchild = nchild;
    w->per = calloc((size_t)nchild, sizeof *w->per);
    w->nper = calloc((size_t)nchild, sizeof *w->nper);
    w->mem = calloc((size_t)nchild, sizeof *w->mem);
    w->all = calloc((size_t)nchild * per_child * 2 + 1, sizeof *w->all);
    assert_true(w->per && w->nper && w->mem && w->all);
    uint64_t seq = 1;
    for (int c = 0; c < nchild; c++) {
        bool is_mem = c % 2 == 0;
        size_t cnt = c % 7 == 3 ? 0 : 1 + th_rng_below(r, per_child);
        w->per[c] = calloc(cnt + 4, sizeof(ent));
        assert_non_null(w->per[c]);
        if (is_mem) {
            w->mem[c] = memtable_new();
            assert_non_null(w->mem[c]);
        }
        for (size_t i = 0; i < cnt; i++) {
            ent *e = &w->per[c][w->nper[c]++];
            enum value_type t = th_rng_below(r, 4) == 0 ? LSM_TYPE_DELETE : LSM_TYPE_PUT;
            make_ent(e, (unsigned)th_rng_below(r, users), seq++, t, c);
            if (t == LSM_TYPE_DELETE)
                e->vlen = 0;
        }
        /* Array children share a few identical internal keys with the
         * previous array child. */
        if (!is_mem && cnt > 0 && c >= 3 && w->nper[c - 2] > 0) {
            for (int k = 0; k < 3; k++) {
                ent *src = &w->per[c - 2][th_rng_below(r, w->nper[c - 2])];
                bool dup = false;
                for (size_t j = 0; j < w->nper[c]; j++)
                    dup |= w->per[c][j].iklen == src->iklen &&
                           memcmp(w->per[c][j].ik, src->ik, src->iklen) == 0;
                if (dup)
                    continue;
                ent *e = &w->per[c][w->nper[c]++];
                *e = *src;
                e->child = c;
                e->vlen = (size_t)snprintf(e->val, sizeof e->val, "dup.%d", c);
            }
        }
        qsort(w->per[c], w->nper[c], sizeof(ent), ent_cmp);
        for (size_t i = 0; i < w->nper[c]; i++) {
            ent *e = &w->per[c][i];
            if (is_mem) {
                slice ik = slice_make(e->ik, e->iklen);
                assert_int_equal(memtable_add(w->mem[c], ikey_seq(ik), ikey_type(ik),
                                              ikey_user(ik), slice_make(e->val, e->vlen)),
                                 0);
            }
            w->all[w->n++] = *e;
        }
    }
    qsort(w->all, w->n, sizeof(ent), ent_cmp);
    return w;
}

/* A merge over the world's children; child c fails at fail[c] (arrays). */
static iter *world_iter(world *w, const size_t *fail)
{
    iter **ch = calloc((size_t)w->nchild, sizeof *ch);
    assert_non_null(ch);
    for (int c = 0; c < w->nchild; c++) {
        ch[c] = w->mem[c] ? memtable_iter_new(w->mem[c])
                          : arr_iter_new(w->per[c], w->nper[c], fail ? fail[c] : SIZE_MAX);
        assert_non_null(ch[c]);
    }
    iter *m = merge_iter_new(ch, (size_t)w->nchild);
    free(ch);
    assert_non_null(m);
    return m;
}

static void world_free(world *w)
{
    for (int c = 0; c < w->nchild; c++) {
        free(w->per[c]);
        memtable_unref(w->mem[c]);
    }
    free(w->per);
    free(w->nper);
    free(w->mem);
    free(w->all);
    free(w);
}

/* The iterator is at model position i (n or SIZE_MAX: invalid). */
static void expect_at(const world *w, iter *it, size_t i)
{
    if (i >= w->n) {
        assert_false(iter_valid(it));
        assert_int_equal(iter_status(it), 0);
        return;
    }
    assert_true(iter_valid(it));
    slice k = iter_key(it), v = iter_value(it);
    const ent *e = &w->all[i];
    assert_int_equal(k.size, e->iklen);
    assert_memory_equal(k.data, e->ik, k.size);
    assert_int_equal(v.size, e->vlen);
    if (v.size)
        assert_memory_equal(v.data, e->val, v.size);
}

/* First model position >= target (ties: the first in child order). */
static size_t lower_bound(const world *w, slice target)
{
    size_t i = 0;
    while (i < w->n && ikey_compare(slice_make(w->all[i].ik, w->all[i].iklen), target) < 0)
        i++;
    return i;
}

/* ---- tests ------------------------------------------------------------- */

static void test_empty(void **state)
{
    (void)state;
    iter *m = merge_iter_new(NULL, 0);
    assert_non_null(m);
    iter_first(m);
    assert_false(iter_valid(m));
    iter_last(m);
    assert_false(iter_valid(m));
    char ik[16];
    iter_seek(m, slice_make(ik, ikey_encode(ik, slice_make("a", 1), 5, LSM_TYPE_SEEK)));
    assert_false(iter_valid(m));
    assert_int_equal(iter_status(m), 0);
    iter_destroy(m);

    /* Only empty children. */
    iter *ch[5];
    memtable *mt[5];
    for (int i = 0; i < 5; i++) {
        mt[i] = memtable_new();
        ch[i] = memtable_iter_new(mt[i]);
        memtable_unref(mt[i]); /* the iterator keeps it */
    }
    m = merge_iter_new(ch, 5);
    iter_first(m);
    assert_false(iter_valid(m));
    iter_last(m);
    assert_false(iter_valid(m));
    assert_int_equal(iter_status(m), 0);
    iter_destroy(m);
}

static void test_single_child_is_returned(void **state)
{
    (void)state;
    memtable *mt = memtable_new();
    assert_int_equal(memtable_add(mt, 1, LSM_TYPE_PUT, slice_make("a", 1), slice_make("1", 1)), 0);
    iter *c = memtable_iter_new(mt);
    memtable_unref(mt);
    iter *m = merge_iter_new(&c, 1);
    assert_ptr_equal(m, c);
    iter_first(m);
    assert_true(iter_valid(m));
    iter_destroy(m);
}

static void check_world_scans(world *w)
{
    iter *m = world_iter(w, NULL);
    /* forward */
    size_t i = 0;
    for (iter_first(m); iter_valid(m); iter_next(m))
        expect_at(w, m, i++);
    assert_int_equal(i, w->n);
    assert_int_equal(iter_status(m), 0);
    /* reverse */
    i = w->n;
    for (iter_last(m); iter_valid(m); iter_prev(m))
        expect_at(w, m, --i);
    assert_int_equal(i, 0);
    /* direction changes at every position, walking forward... */
    iter_first(m);
    for (i = 0; i < w->n; i++) {
        expect_at(w, m, i);
        if (i > 0) {
            iter_prev(m);
            expect_at(w, m, i - 1);
            iter_next(m);
            expect_at(w, m, i);
        }
        iter_next(m);
        if (i + 1 < w->n) {
            iter_prev(m);
            expect_at(w, m, i);
            iter_next(m);
        }
    }
    expect_at(w, m, w->n);
    /* ...and walking backward, two steps each way. */
    iter_last(m);
    for (i = w->n; i-- > 0;) {
        expect_at(w, m, i);
        if (i + 2 < w->n) {
            iter_next(m);
            iter_next(m);
            expect_at(w, m, i + 2);
            iter_prev(m);
            iter_prev(m);
            expect_at(w, m, i);
        }
        iter_prev(m);
    }
    expect_at(w, m, SIZE_MAX);
    iter_destroy(m);
}

static void test_many_children(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    for (int round = 0; round < 6; round++) {
        int nchild = round == 0 ? 2 : (int)(3 + th_rng_below(&r, 60));
        world *w = world_new(&r, nchild, (unsigned)(5 + th_rng_below(&r, 200)), 40);
        check_world_scans(w);
        world_free(w);
    }
}

static void test_seek(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    world *w = world_new(&r, 33, 60, 50);
    iter *m = world_iter(w, NULL);
    /* Every key present, with neighbours. */
    for (size_t i = 0; i < w->n; i++) {
        slice t = slice_make(w->all[i].ik, w->all[i].iklen);
        iter_seek(m, t);
        size_t want = lower_bound(w, t);
        expect_at(w, m, want);
        if (want + 1 < w->n) {
            iter_next(m);
            expect_at(w, m, want + 1);
            iter_prev(m);
            expect_at(w, m, want);
        }
        if (want > 0) {
            iter_prev(m);
            expect_at(w, m, want - 1);
        }
    }
    /* Keys absent from the world: between users, at unseen sequences, past
     * both ends. */
    for (int k = 0; k < 2000; k++) {
        char uk[16], ik[32];
        unsigned u = (unsigned)th_rng_below(&r, 70);
        int n = k % 3 ? snprintf(uk, sizeof uk, "key%05u", u)
                      : snprintf(uk, sizeof uk, "key%05u~", u);
        uint64_t seq = th_rng_below(&r, 4000);
        slice t = slice_make(ik, ikey_encode(ik, slice_make(uk, (size_t)n), seq,
                                             (enum value_type)th_rng_below(&r, 2)));
        iter_seek(m, t);
        expect_at(w, m, lower_bound(w, t));
    }
    iter_destroy(m);
    world_free(w);
}

static void test_random_walk(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    world *w = world_new(&r, 24, 40, 60);
    iter *m = world_iter(w, NULL);
    size_t pos = w->n; /* invalid */
    for (int step = 0; step < 20000; step++) {
        unsigned op = (unsigned)th_rng_below(&r, 10);
        if (pos >= w->n || op == 0) {
            switch (th_rng_below(&r, 3)) {
            case 0: iter_first(m); pos = 0; break;
            case 1: iter_last(m); pos = w->n ? w->n - 1 : 0; break;
            default: {
                size_t i = th_rng_below(&r, w->n + 1);
                if (i == w->n) {
                    iter_first(m);
                    pos = 0;
                } else {
                    slice t = slice_make(w->all[i].ik, w->all[i].iklen);
                    iter_seek(m, t);
                    pos = lower_bound(w, t);
                }
            }
            }
        } else if (op <= 5) {
            iter_next(m);
            pos++;
        } else {
            iter_prev(m);
            pos = pos == 0 ? w->n : pos - 1;
        }
        expect_at(w, m, pos);
    }
    iter_destroy(m);
    world_free(w);
}

/* An erroring child stops the merge (no silent skipping of its entries). */
static void test_error_child(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    world *w = world_new(&r, 9, 30, 40);
    int bad = 1; /* the largest array child */
    for (int c = 3; c < 9; c += 2)
        if (w->nper[c] > w->nper[bad])
            bad = c;
    assert_null(w->mem[bad]);
    if (w->nper[bad] < 3) {
        world_free(w);
        skip();
    }
    size_t fail[9];
    for (int c = 0; c < 9; c++)
        fail[c] = SIZE_MAX;
    fail[bad] = w->nper[bad] / 2;

    /* Forward: valid entries are a prefix of the model, then -EIO. */
    iter *m = world_iter(w, fail);
    size_t i = 0;
    for (iter_first(m); iter_valid(m); iter_next(m))
        expect_at(w, m, i++);
    assert_true(i < w->n);
    assert_int_equal(iter_status(m), -EIO);
    iter_first(m); /* sticky */
    assert_false(iter_valid(m));
    assert_int_equal(iter_status(m), -EIO);
    iter_destroy(m);

    /* Reverse. */
    m = world_iter(w, fail);
    i = w->n;
    for (iter_last(m); iter_valid(m); iter_prev(m))
        expect_at(w, m, --i);
    assert_true(i > 0);
    assert_int_equal(iter_status(m), -EIO);
    iter_destroy(m);

    /* A seek that lands the child on its failing entry. */
    m = world_iter(w, fail);
    const ent *e = &w->per[bad][fail[bad]];
    iter_seek(m, slice_make(e->ik, e->iklen));
    assert_false(iter_valid(m));
    assert_int_equal(iter_status(m), -EIO);
    iter_destroy(m);

    /* A direction change that repositions the failing child: seek just
     * past its failing entry, then step back onto it. */
    m = world_iter(w, fail);
    const ent *after = &w->per[bad][fail[bad] + 1];
    iter_seek(m, slice_make(after->ik, after->iklen));
    assert_true(iter_valid(m));
    iter_prev(m);
    assert_false(iter_valid(m));
    assert_int_equal(iter_status(m), -EIO);
    iter_destroy(m);
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_single_child_is_returned),
        cmocka_unit_test(test_many_children),
        cmocka_unit_test(test_seek),
        cmocka_unit_test(test_random_walk),
        cmocka_unit_test(test_error_child),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
