/* test_block_cache.c — the sharded LRU block cache: LRU order, capacity in
 * bytes, pinning, counters, runtime capacity, erase, threads. */
#include "helpers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "table/block_cache.h"

/* A counting deleter: how many entries' data were freed. */
static atomic_int g_deleted;
static void count_free(void *data, void *arg)
{
    (void)arg;
    free(data);
    atomic_fetch_add(&g_deleted, 1);
}

/* A 16-byte payload naming its key, so a wrong entry is noticed. */
static void *payload(uint64_t file, uint64_t off)
{
    uint64_t *p = malloc(16);
    assert_non_null(p);
    p[0] = file;
    p[1] = off;
    return p;
}

static void check_payload(const cache_handle *h, uint64_t file, uint64_t off)
{
    slice s = cache_handle_data(h);
    assert_int_equal(s.size, 16);
    const uint64_t *p = (const uint64_t *)s.data;
    assert_int_equal(p[0], file);
    assert_int_equal(p[1], off);
    assert_ptr_equal(cache_handle_value(h), s.data);
}

/* Inserts (file, off) with charge and releases it at once. */
static void put(block_cache *c, uint64_t file, uint64_t off, size_t charge)
{
    cache_handle *h = block_cache_insert(c, file, off, payload(file, off), 16, charge);
    assert_non_null(h);
    check_payload(h, file, off);
    block_cache_release(c, h);
}

/* 1 when (file, off) is cached (the probe counts as a hit or miss). */
static int present(block_cache *c, uint64_t file, uint64_t off)
{
    cache_handle *h = block_cache_lookup(c, file, off);
    if (!h)
        return 0;
    check_payload(h, file, off);
    block_cache_release(c, h);
    return 1;
}

static struct block_cache_stats stats(const block_cache *c)
{
    struct block_cache_stats s;
    block_cache_stats(c, &s);
    return s;
}

static void test_lru_order_and_capacity(void **state)
{
    (void)state;
    block_cache *c = block_cache_new(1000, 0);
    assert_non_null(c);
    for (uint64_t i = 0; i < 10; i++)
        put(c, 7, i * 4096, 100);
    struct block_cache_stats s = stats(c);
    assert_int_equal(s.usage, 1000);
    assert_int_equal(s.entries, 10);
    assert_int_equal(s.evictions, 0);
    assert_int_equal(s.capacity, 1000);
    assert_int_equal(s.shards, 1);

    /* Touch 0 and 1: now 2 is the least recently used. */
    assert_true(present(c, 7, 0));
    assert_true(present(c, 7, 4096));
    put(c, 7, 10 * 4096, 100);
    assert_false(present(c, 7, 2 * 4096));
    assert_true(present(c, 7, 0));
    assert_true(present(c, 7, 3 * 4096));

    /* A 350-byte entry pushes out the four oldest, 4..7 (3 went back to
     * the front just above): 1350 - 400 fits in 1000. */
    put(c, 8, 0, 350);
    for (uint64_t i = 4; i <= 7; i++)
        assert_false(present(c, 7, i * 4096));
    assert_true(present(c, 7, 8 * 4096));
    assert_true(present(c, 8, 0));
    s = stats(c);
    assert_int_equal(s.usage, 950);
    assert_int_equal(s.entries, 7);
    assert_int_equal(s.evictions, 5);
    assert_int_equal(s.inserts, 12);
    assert_int_equal(s.pinned_usage, 0);
    assert_int_equal(s.peak_usage, 1350); /* an insert counts before its evictions */
    block_cache_free(c);
}

/* Second chance: an entry hit since the eviction scan last passed it
 * survives one more round; a hit does not reorder anything by itself, and
 * a pinned entry at the front is stepped over, not evicted. */
static void test_second_chance(void **state)
{
    (void)state;
    block_cache *c = block_cache_new(400, 0);
    assert_non_null(c);
    for (uint64_t i = 0; i < 4; i++) /* ring: 0 1 2 3 */
        put(c, 3, i, 100);
    cache_handle *pin = block_cache_lookup(c, 3, 1); /* 1 pinned */
    assert_non_null(pin);
    assert_true(present(c, 3, 0));     /* 0 marked */
    put(c, 3, 4, 100);                 /* 0 and 1 go round; 2 goes */
    block_cache_release(c, pin);
    assert_false(present(c, 3, 2));
    /* The scan cleared 0's and 1's marks: next come 3, then 4, 0, 1. */
    put(c, 3, 5, 100);
    assert_false(present(c, 3, 3));
    put(c, 3, 6, 100);
    assert_false(present(c, 3, 4));
    assert_true(present(c, 3, 0));
    assert_true(present(c, 3, 1));
    assert_true(present(c, 3, 5));
    assert_true(present(c, 3, 6));
    /* Everything is marked now: one full lap clears the marks, then the
     * oldest (0) goes. */
    put(c, 3, 7, 100);
    assert_false(present(c, 3, 0));
    struct block_cache_stats s = stats(c);
    assert_int_equal(s.entries, 4);
    assert_int_equal(s.usage, 400);
    assert_int_equal(s.evictions, 4);
    block_cache_free(c);
}

static void test_pinned_survive_eviction(void **state)
{
    (void)state;
    atomic_store(&g_deleted, 0);
    block_cache *c = block_cache_new_ex(300, 0, count_free, NULL);
    assert_non_null(c);
    cache_handle *a = block_cache_insert(c, 1, 0, payload(1, 0), 16, 100);
    assert_non_null(a);
    for (uint64_t i = 1; i <= 10; i++)
        put(c, 1, i, 100);
    /* a is pinned: never evicted, still readable, still found. */
    check_payload(a, 1, 0);
    assert_true(present(c, 1, 0));
    struct block_cache_stats s = stats(c);
    assert_int_equal(s.usage, 300);
    assert_int_equal(s.pinned_usage, 100);
    assert_int_equal(atomic_load(&g_deleted), 8); /* 1..8 went */

    /* Pin more than the capacity: the excess is pinned only ... */
    cache_handle *h[5];
    for (int i = 0; i < 5; i++)
        assert_non_null(h[i] = block_cache_insert(c, 2, (uint64_t)i, payload(2, (uint64_t)i), 16, 100));
    s = stats(c);
    assert_int_equal(s.pinned_usage, 600);
    assert_int_equal(s.usage, 600);
    /* ... and given back as the pins go. */
    for (int i = 0; i < 5; i++) {
        check_payload(h[i], 2, (uint64_t)i);
        block_cache_release(c, h[i]);
        s = stats(c);
        assert_true(s.usage <= 300 || s.usage == s.pinned_usage);
    }
    s = stats(c);
    assert_int_equal(s.usage, 300);
    assert_int_equal(s.pinned_usage, 100);
    assert_true(present(c, 1, 0));

    /* Two handles on one entry: it stays pinned until both are gone. */
    cache_handle *a2 = block_cache_lookup(c, 1, 0);
    assert_ptr_equal(a2, a);
    block_cache_release(c, a);
    assert_int_equal(stats(c).pinned_usage, 100);
    block_cache_release(c, a2);
    assert_int_equal(stats(c).pinned_usage, 0);

    block_cache_free(c);
    assert_int_equal(atomic_load(&g_deleted), 16); /* every payload once */
}

static void test_hit_miss_counters(void **state)
{
    (void)state;
    block_cache *c = block_cache_new(1 << 20, 2);
    assert_non_null(c);
    assert_int_equal(stats(c).shards, 4);
    for (uint64_t i = 0; i < 100; i++)
        assert_false(present(c, 3, i));
    for (uint64_t i = 0; i < 100; i++)
        put(c, 3, i, 1000);
    for (int round = 0; round < 3; round++)
        for (uint64_t i = 0; i < 100; i++)
            assert_true(present(c, 3, i));
    assert_false(present(c, 4, 0)); /* another file, same offset */
    struct block_cache_stats s = stats(c);
    assert_int_equal(s.misses, 101);
    assert_int_equal(s.hits, 300);
    assert_int_equal(s.inserts, 100);
    assert_int_equal(s.entries, 100);
    assert_int_equal(s.usage, 100000);
    assert_int_equal(s.evictions, 0);
    block_cache_free(c);
}

static void test_set_capacity(void **state)
{
    (void)state;
    atomic_store(&g_deleted, 0);
    block_cache *c = block_cache_new_ex(1000, 0, count_free, NULL);
    assert_non_null(c);
    for (uint64_t i = 0; i < 10; i++)
        put(c, 1, i, 100);
    cache_handle *pin = block_cache_lookup(c, 1, 0); /* the oldest, pinned */
    assert_non_null(pin);

    block_cache_set_capacity(c, 450);
    struct block_cache_stats s = stats(c);
    assert_int_equal(s.capacity, 450);
    assert_int_equal(s.usage, 400); /* 0 (pinned) and the newest three */
    assert_int_equal(s.evictions, 6);
    assert_true(present(c, 1, 0));
    for (uint64_t i = 1; i <= 6; i++)
        assert_false(present(c, 1, i));
    for (uint64_t i = 7; i <= 9; i++)
        assert_true(present(c, 1, i));

    /* Growing keeps everything and makes room. */
    block_cache_set_capacity(c, 2000);
    for (uint64_t i = 10; i < 26; i++)
        put(c, 1, i, 100);
    assert_int_equal(stats(c).usage, 2000);

    /* 0 disables caching: all unpinned entries go, lookups miss. */
    block_cache_set_capacity(c, 0);
    s = stats(c);
    assert_int_equal(s.usage, 100); /* only the pinned one is left */
    assert_false(present(c, 1, 0));
    block_cache_release(c, pin);
    s = stats(c);
    assert_int_equal(s.usage, 0);
    assert_int_equal(s.entries, 0);
    assert_int_equal(atomic_load(&g_deleted), 26);
    block_cache_free(c);
}

static void test_capacity_zero(void **state)
{
    (void)state;
    atomic_store(&g_deleted, 0);
    block_cache *c = block_cache_new_ex(0, -1, count_free, NULL);
    assert_non_null(c);
    cache_handle *h1 = block_cache_insert(c, 1, 0, payload(1, 0), 16, 100);
    cache_handle *h2 = block_cache_insert(c, 1, 0, payload(1, 0), 16, 100);
    assert_non_null(h1);
    assert_non_null(h2);
    assert_ptr_not_equal(h1, h2); /* private entries */
    assert_null(block_cache_lookup(c, 1, 0));
    struct block_cache_stats s = stats(c);
    assert_int_equal(s.usage, 0);
    assert_int_equal(s.pinned_usage, 200);
    assert_int_equal(s.misses, 1);
    check_payload(h1, 1, 0);
    block_cache_release(c, h1);
    assert_int_equal(atomic_load(&g_deleted), 1);
    block_cache_release(c, h2);
    assert_int_equal(atomic_load(&g_deleted), 2);
    assert_int_equal(stats(c).pinned_usage, 0);
    block_cache_release(c, NULL);
    block_cache_free(c);
    block_cache_free(NULL);
}

static void test_duplicate_insert(void **state)
{
    (void)state;
    atomic_store(&g_deleted, 0);
    block_cache *c = block_cache_new_ex(1000, 0, count_free, NULL);
    cache_handle *h1 = block_cache_insert(c, 5, 5, payload(5, 5), 16, 100);
    void *second = payload(5, 5);
    cache_handle *h2 = block_cache_insert(c, 5, 5, second, 16, 100);
    assert_ptr_equal(h1, h2); /* the first one wins; second freed now */
    assert_int_equal(atomic_load(&g_deleted), 1);
    struct block_cache_stats s = stats(c);
    assert_int_equal(s.inserts, 1);
    assert_int_equal(s.usage, 100);
    block_cache_release(c, h1);
    block_cache_release(c, h2);
    assert_int_equal(stats(c).pinned_usage, 0);
    block_cache_free(c);
    assert_int_equal(atomic_load(&g_deleted), 2);
}

static void test_erase(void **state)
{
    (void)state;
    atomic_store(&g_deleted, 0);
    block_cache *c = block_cache_new_ex(1 << 20, 3, count_free, NULL);
    for (uint64_t f = 1; f <= 3; f++)
        for (uint64_t o = 0; o < 50; o++)
            put(c, f, o * 4100, 100);
    cache_handle *pin = block_cache_lookup(c, 2, 4100);
    assert_non_null(pin);

    block_cache_erase(c, 1, 0);
    assert_false(present(c, 1, 0));
    assert_true(present(c, 1, 4100));
    assert_int_equal(atomic_load(&g_deleted), 1);

    block_cache_erase_file(c, 2);
    for (uint64_t o = 0; o < 50; o++)
        assert_false(present(c, 2, o * 4100));
    assert_int_equal(atomic_load(&g_deleted), 50); /* 49 of file 2 + 1 */
    check_payload(pin, 2, 4100); /* erased while pinned: still valid */
    struct block_cache_stats s = stats(c);
    assert_int_equal(s.entries, 99);
    assert_int_equal(s.usage, 9900);
    assert_int_equal(s.pinned_usage, 100);
    assert_int_equal(s.evictions, 0); /* erases are not evictions */
    block_cache_release(c, pin);
    assert_int_equal(atomic_load(&g_deleted), 51);
    /* Re-inserting an erased key works. */
    put(c, 2, 4100, 100);
    assert_true(present(c, 2, 4100));
    block_cache_free(c);
    assert_int_equal(atomic_load(&g_deleted), 151);
}

/* Shards split the capacity exactly: usage never passes it when nothing is
 * pinned, however the keys fall. */
static void test_sharded_capacity(void **state)
{
    (void)state;
    const size_t cap = 1u << 20;
    block_cache *c = block_cache_new(cap, 4);
    th_rng rng;
    th_rng_seed(&rng, th_seed());
    for (int i = 0; i < 20000; i++) {
        uint64_t file = th_rng_below(&rng, 50), off = th_rng_below(&rng, 1000) * 4096;
        cache_handle *h = block_cache_lookup(c, file, off);
        if (!h)
            h = block_cache_insert(c, file, off, payload(file, off), 16,
                                   1000 + (size_t)th_rng_below(&rng, 7000));
        check_payload(h, file, off);
        block_cache_release(c, h);
        struct block_cache_stats s = stats(c);
        assert_true(s.usage <= cap);
    }
    struct block_cache_stats s = stats(c);
    assert_int_equal(s.shards, 16);
    assert_true(s.usage > cap / 2);  /* the shards fill up */
    assert_true(s.peak_usage <= cap + 8000);
    assert_int_equal(s.hits + s.misses, 20000);
    assert_int_equal(s.inserts, s.misses);
    assert_int_equal(s.inserts - s.evictions, s.entries);
    block_cache_free(c);
}

/* ---- threads ---------------------------------------------------------------- */

enum { NTHREADS = 4, NOPS = 40000, NKEYS = 3000, HOLD = 4 };

typedef struct worker {
    block_cache *c;
    uint64_t seed;
    uint64_t lookups;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    th_rng rng;
    th_rng_seed(&rng, w->seed);
    cache_handle *held[HOLD] = { 0 };
    uint64_t held_key[HOLD] = { 0 };
    for (int i = 0; i < NOPS; i++) {
        uint64_t k = th_rng_below(&rng, NKEYS);
        uint64_t file = k % 17, off = k * 4096;
        cache_handle *h = block_cache_lookup(w->c, file, off);
        w->lookups++;
        if (!h)
            h = block_cache_insert(w->c, file, off, payload(file, off), 16, 100 + k % 200);
        assert_non_null(h);
        check_payload(h, file, off);
        /* Keep a few handles for a while so entries get pinned across
         * other threads' evictions and erases. */
        int slot = (int)th_rng_below(&rng, HOLD);
        if (held[slot])
            check_payload(held[slot], held_key[slot] % 17, held_key[slot] * 4096);
        block_cache_release(w->c, held[slot]);
        held[slot] = h;
        held_key[slot] = k;
        if (i % 5000 == 0)
            block_cache_erase_file(w->c, th_rng_below(&rng, 17));
        if (i % 1000 == 0)
            block_cache_erase(w->c, file, off);
    }
    for (int s = 0; s < HOLD; s++)
        block_cache_release(w->c, held[s]);
    return NULL;
}

static atomic_bool g_stop;

static void *resizer_main(void *arg)
{
    block_cache *c = arg;
    size_t caps[] = { 40000, 100000, 0, 250000, 5000 };
    for (unsigned i = 0; !atomic_load(&g_stop); i++) {
        block_cache_set_capacity(c, caps[i % 5]);
        struct block_cache_stats s;
        block_cache_stats(c, &s);
        assert_true(s.entries <= NKEYS);
    }
    return NULL;
}

static void test_concurrency(void **state)
{
    (void)state;
    atomic_store(&g_deleted, 0);
    block_cache *c = block_cache_new_ex(100000, 2, count_free, NULL);
    pthread_t th[NTHREADS], rs;
    worker w[NTHREADS];
    uint64_t seed = th_seed();
    atomic_store(&g_stop, false);
    assert_int_equal(pthread_create(&rs, NULL, resizer_main, c), 0);
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (worker){ c, seed + (uint64_t)i, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    uint64_t lookups = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        lookups += w[i].lookups;
    }
    atomic_store(&g_stop, true);
    pthread_join(rs, NULL);
    block_cache_set_capacity(c, 100000);

    struct block_cache_stats s = stats(c);
    assert_int_equal(s.hits + s.misses, lookups);
    assert_int_equal(s.pinned_usage, 0);
    assert_true(s.usage <= 100000);
    assert_true(s.hits > 0);
    size_t entries = s.entries;
    /* Every payload not in the cache was freed exactly once. */
    uint64_t inserted = s.misses; /* each miss inserted one payload */
    assert_int_equal((uint64_t)atomic_load(&g_deleted) + entries, inserted);
    block_cache_free(c);
    assert_int_equal((uint64_t)atomic_load(&g_deleted), inserted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru_order_and_capacity),
        cmocka_unit_test(test_pinned_survive_eviction),
        cmocka_unit_test(test_second_chance),
        cmocka_unit_test(test_hit_miss_counters),
        cmocka_unit_test(test_set_capacity),
        cmocka_unit_test(test_capacity_zero),
        cmocka_unit_test(test_duplicate_insert),
        cmocka_unit_test(test_erase),
        cmocka_unit_test(test_sharded_capacity),
        cmocka_unit_test(test_concurrency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
