/* test_skiplist.c — ordering, seek, prev/next, a random model check, and
 * one writer racing several readers (run it under SAN=thread). */
#include "helpers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/coding.h"
#include "memtable/skiplist.h"

/* Entries are 8-byte big-endian integers, so memcmp order is numeric. */
static int cmp8(void *ctx, const char *a, const char *b)
{
    (void)ctx;
    return memcmp(a, b, 8);
}

static void enc(char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (char)(v >> (56 - 8 * i));
}

static uint64_t dec(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | (unsigned char)p[i];
    return v;
}

static const char *entry_in(arena *a, uint64_t v)
{
    char *p = arena_alloc(a, 8);
    assert_non_null(p);
    enc(p, v);
    return p;
}

/* Inserts v, through skiplist_insert or (prepared) inside its node. */
static void add(skiplist *sl, arena *a, uint64_t v, bool prepared)
{
    if (!prepared) {
        assert_int_equal(skiplist_insert(sl, entry_in(a, v)), 0);
        return;
    }
    char *p = skiplist_prepare(sl, 8);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % ARENA_ALIGN, 0);
    enc(p, v);
    skiplist_insert_prepared(sl, p);
}

static uint64_t it_val(const skiplist_iter *it)
{
    return dec(skiplist_iter_entry(it));
}

static void test_empty(void **state)
{
    (void)state;
    arena *a = arena_new(4096);
    skiplist *sl = skiplist_new(a, cmp8, NULL);
    assert_non_null(sl);
    char probe[8];
    enc(probe, 10);
    assert_false(skiplist_contains(sl, probe));
    skiplist_iter it;
    skiplist_iter_init(&it, sl);
    assert_false(skiplist_iter_valid(&it));
    skiplist_iter_first(&it);
    assert_false(skiplist_iter_valid(&it));
    skiplist_iter_last(&it);
    assert_false(skiplist_iter_valid(&it));
    skiplist_iter_seek(&it, probe);
    assert_false(skiplist_iter_valid(&it));
    arena_free(a);
}

static void test_order_seek_prev_next(void **state)
{
    (void)state;
    arena *a = arena_new(4096);
    skiplist *sl = skiplist_new(a, cmp8, NULL);
    assert_non_null(sl);
    /* 10, 20, ..., 1000 inserted out of order. */
    for (uint64_t i = 0; i < 100; i++) {
        uint64_t v = ((i * 37) % 100 + 1) * 10;
        assert_int_equal(skiplist_insert(sl, entry_in(a, v)), 0);
    }
    char probe[8];
    for (uint64_t v = 0; v <= 1010; v++) {
        enc(probe, v);
        assert_int_equal(skiplist_contains(sl, probe), v >= 10 && v <= 1000 && v % 10 == 0);
    }

    skiplist_iter it;
    skiplist_iter_init(&it, sl);
    skiplist_iter_first(&it);
    for (uint64_t v = 10; v <= 1000; v += 10) {
        assert_true(skiplist_iter_valid(&it));
        assert_int_equal(it_val(&it), v);
        skiplist_iter_next(&it);
    }
    assert_false(skiplist_iter_valid(&it));

    skiplist_iter_last(&it);
    for (uint64_t v = 1000; v >= 10; v -= 10) {
        assert_true(skiplist_iter_valid(&it));
        assert_int_equal(it_val(&it), v);
        skiplist_iter_prev(&it);
    }
    assert_false(skiplist_iter_valid(&it));

    enc(probe, 0);
    skiplist_iter_seek(&it, probe);
    assert_int_equal(it_val(&it), 10);
    enc(probe, 10);
    skiplist_iter_seek(&it, probe);
    assert_int_equal(it_val(&it), 10);
    enc(probe, 11);
    skiplist_iter_seek(&it, probe);
    assert_int_equal(it_val(&it), 20);
    skiplist_iter_prev(&it);
    assert_int_equal(it_val(&it), 10);
    skiplist_iter_next(&it);
    assert_int_equal(it_val(&it), 20);
    enc(probe, 995);
    skiplist_iter_seek(&it, probe);
    assert_int_equal(it_val(&it), 1000);
    enc(probe, 1001);
    skiplist_iter_seek(&it, probe);
    assert_false(skiplist_iter_valid(&it));
    arena_free(a);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* Random inserts against a sorted array; random seeks and walks. */
static void test_random_vs_model(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    enum { N = 20000 };
    uint64_t *model = malloc(N * sizeof(*model));
    assert_non_null(model);
    arena *a = arena_new(1 << 16);
    skiplist *sl = skiplist_new(a, cmp8, NULL);
    assert_non_null(sl);
    char probe[8];
    size_t n = 0;
    while (n < N) {
        uint64_t v = th_rng_below(&r, 5 * N);
        enc(probe, v);
        if (skiplist_contains(sl, probe))
            continue;
        add(sl, a, v, th_rng_below(&r, 2));
        model[n++] = v;
    }
    qsort(model, n, sizeof(*model), cmp_u64);

    skiplist_iter it;
    skiplist_iter_init(&it, sl);
    size_t i = 0;
    for (skiplist_iter_first(&it); skiplist_iter_valid(&it); skiplist_iter_next(&it))
        assert_int_equal(it_val(&it), model[i++]);
    assert_int_equal(i, n);

    for (int k = 0; k < 2000; k++) {
        uint64_t v = th_rng_below(&r, 5 * N + 10);
        enc(probe, v);
        skiplist_iter_seek(&it, probe);
        /* first model index with model[j] >= v */
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (model[mid] < v)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == n) {
            assert_false(skiplist_iter_valid(&it));
            continue;
        }
        assert_int_equal(it_val(&it), model[lo]);
        /* a few steps either way */
        skiplist_iter s = it;
        for (size_t j = lo; j < lo + 5 && j < n; j++, skiplist_iter_next(&s))
            assert_int_equal(it_val(&s), model[j]);
        s = it;
        for (size_t j = lo + 1; j-- > 0 && j + 5 > lo; skiplist_iter_prev(&s)) {
            assert_true(skiplist_iter_valid(&s));
            assert_int_equal(it_val(&s), model[j]);
        }
    }
    free(model);
    arena_free(a);
}

/* ---- one writer, several readers -------------------------------------- */

/* The writer inserts perm[0], perm[1], ... and publishes how many are in
 * with a release store of done.  A reader pass loads done (acquire) first;
 * every value inserted before that must show up in the pass, which must be
 * strictly increasing and contain only values the writer may have put. */
enum { CN = 30000, READERS = 3 };

struct conc {
    skiplist *sl;
    const uint64_t *perm;
    atomic_size_t done;
    atomic_bool stop;
    atomic_int passes;
};

static void *reader(void *arg)
{
    struct conc *c = arg;
    uint8_t *seen = malloc(CN);
    bool ok = seen != NULL;
    th_rng r;
    th_rng_seed(&r, (uintptr_t)&r);
    while (ok && !atomic_load(&c->stop)) {
        /* Acquire: pairs with the writer's release of done. */
        size_t before = atomic_load_explicit(&c->done, memory_order_acquire);
        memset(seen, 0, CN);
        skiplist_iter it;
        skiplist_iter_init(&it, c->sl);
        uint64_t last = 0;
        bool first = true;
        for (skiplist_iter_first(&it); skiplist_iter_valid(&it); skiplist_iter_next(&it)) {
            uint64_t v = it_val(&it);
            if ((!first && v <= last) || v % 7 != 3 || v / 7 >= CN) {
                ok = false;
                break;
            }
            seen[v / 7] = 1;
            last = v;
            first = false;
        }
        for (size_t i = 0; ok && i < before; i++)
            if (!seen[c->perm[i] / 7])
                ok = false;
        /* Seeks to known-present entries land exactly; prev stays sorted. */
        for (int k = 0; ok && before && k < 20; k++) {
            uint64_t v = c->perm[th_rng_below(&r, before)];
            char probe[8];
            enc(probe, v);
            skiplist_iter_seek(&it, probe);
            if (!skiplist_iter_valid(&it) || it_val(&it) != v || !skiplist_contains(c->sl, probe))
                ok = false;
            else {
                skiplist_iter_prev(&it);
                if (skiplist_iter_valid(&it) && it_val(&it) >= v)
                    ok = false;
            }
        }
        atomic_fetch_add(&c->passes, 1);
    }
    free(seen);
    return (void *)(uintptr_t)ok;
}

static void test_concurrent_readers(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    uint64_t *perm = malloc(CN * sizeof(*perm));
    assert_non_null(perm);
    for (size_t i = 0; i < CN; i++)
        perm[i] = i * 7 + 3;
    for (size_t i = CN - 1; i > 0; i--) {
        size_t j = th_rng_below(&r, i + 1);
        uint64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    arena *a = arena_new(4096);
    struct conc c = { .sl = skiplist_new(a, cmp8, NULL), .perm = perm };
    assert_non_null(c.sl);
    atomic_init(&c.done, 0);
    atomic_init(&c.stop, false);
    atomic_init(&c.passes, 0);

    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader, &c), 0);
    for (size_t i = 0; i < CN; i++) {
        add(c.sl, a, perm[i], i % 2);
        /* Release: pairs with the readers' acquire of done. */
        atomic_store_explicit(&c.done, i + 1, memory_order_release);
        if (i % 1000 == 0)
            sched_yield(); /* let readers interleave on few cores */
    }
    /* Make sure some passes ran against the complete list too. */
    int p0 = atomic_load(&c.passes);
    while (atomic_load(&c.passes) < p0 + 2 * READERS)
        sched_yield();
    atomic_store(&c.stop, true);
    for (int i = 0; i < READERS; i++) {
        void *ok;
        assert_int_equal(pthread_join(th[i], &ok), 0);
        assert_true((uintptr_t)ok);
    }
    assert_true(atomic_load(&c.passes) >= 2 * READERS);
    free(perm);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_order_seek_prev_next),
        cmocka_unit_test(test_random_vs_model),
        cmocka_unit_test(test_concurrent_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
