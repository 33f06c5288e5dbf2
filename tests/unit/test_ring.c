/* test_ring.c — SPSC ring: order, wrap-around of the free-running indices,
 * full and empty, impossible peer indices (-EPROTO), and a two-thread
 * stream that checks every entry arrives once, in order. */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

enum { N = 8, ESZ = 16 };

struct shared {
    uint32_t head __attribute__((aligned(64)));
    uint32_t tail __attribute__((aligned(64)));
    char entries[N * ESZ] __attribute__((aligned(64)));
};

static void views(struct shared *s, struct shm_ring *p, struct shm_ring *c)
{
    shm_ring_init(p, &s->head, &s->tail, s->entries, N, ESZ, true);
    shm_ring_init(c, &s->head, &s->tail, s->entries, N, ESZ, false);
}

static void put(struct shm_ring *p, uint64_t v)
{
    assert_true(shm_ring_space(p) > 0);
    memcpy(shm_ring_slot(p, 0), &v, sizeof(v));
    shm_ring_publish(p, 1);
}

static uint64_t get(struct shm_ring *c)
{
    assert_true(shm_ring_ready(c) > 0);
    uint64_t v;
    memcpy(&v, shm_ring_peek(c, 0), sizeof(v));
    shm_ring_consume(c, 1);
    return v;
}

static void test_empty_and_full(void **state)
{
    (void)state;
    struct shared s = { 0 };
    struct shm_ring p, c;
    views(&s, &p, &c);
    assert_int_equal(shm_ring_ready(&c), 0);
    assert_true(shm_ring_empty(&c));
    assert_int_equal(shm_ring_space(&p), N);
    for (uint64_t i = 0; i < N; i++)
        put(&p, i);
    assert_int_equal(shm_ring_space(&p), 0);
    assert_int_equal(shm_ring_space_min(&p, 1), 0);
    assert_false(shm_ring_empty(&c));
    assert_int_equal(shm_ring_ready(&c), N);
    for (uint64_t i = 0; i < N; i++)
        assert_int_equal(get(&c), i);
    assert_int_equal(shm_ring_ready(&c), 0);
    assert_int_equal(shm_ring_space(&p), N);
}

/* Batches: publish several at once, consume several at once. */
static void test_batches(void **state)
{
    (void)state;
    struct shared s = { 0 };
    struct shm_ring p, c;
    views(&s, &p, &c);
    uint64_t next_put = 0, next_get = 0;
    for (int round = 0; round < 100; round++) {
        int room = shm_ring_space(&p);
        uint32_t k = (uint32_t)(round % (room + 1));
        for (uint32_t i = 0; i < k; i++) {
            uint64_t v = next_put++;
            memcpy(shm_ring_slot(&p, i), &v, sizeof(v));
        }
        shm_ring_publish(&p, k);
        int ready = shm_ring_ready(&c);
        assert_int_equal((uint64_t)ready, next_put - next_get);
        uint32_t take = (uint32_t)ready / 2 + (round & 1);
        if (take > (uint32_t)ready)
            take = (uint32_t)ready;
        for (uint32_t i = 0; i < take; i++) {
            uint64_t v;
            memcpy(&v, shm_ring_peek(&c, i), sizeof(v));
            assert_int_equal(v, next_get + i);
        }
        shm_ring_consume(&c, take);
        next_get += take;
    }
}

/* Indices are free-running u32: start just below 2^32 so they wrap. */
static void test_index_wraparound(void **state)
{
    (void)state;
    struct shared s = { 0 };
    s.head = s.tail = UINT32_MAX - 3;
    struct shm_ring p, c;
    views(&s, &p, &c);
    for (uint64_t i = 0; i < 5 * N; i++) {
        put(&p, i);
        put(&p, i + 1000);
        assert_int_equal(get(&c), i);
        assert_int_equal(get(&c), i + 1000);
    }
    assert_true(s.tail < 100); /* it did wrap */
    assert_int_equal(shm_ring_space(&p), N);
}

/* A hostile peer writes impossible indices: both sides say -EPROTO. */
static void test_impossible_indices(void **state)
{
    (void)state;
    struct shared s = { 0 };
    struct shm_ring p, c;
    views(&s, &p, &c);
    put(&p, 1);
    /* consumer: tail more than N ahead */
    s.tail = c.local + N + 1;
    assert_int_equal(shm_ring_ready(&c), -EPROTO);
    /* consumer: tail behind head */
    s.tail = c.local - 1;
    assert_int_equal(shm_ring_ready(&c), -EPROTO);
    /* producer: head ahead of tail */
    s.tail = p.local;
    s.head = p.local + 1;
    assert_int_equal(shm_ring_space(&p), -EPROTO);
    /* producer: head more than N behind */
    s.head = p.local - N - 1;
    assert_int_equal(shm_ring_space(&p), -EPROTO);
    /* exactly N behind is "full", still legal */
    s.head = p.local - N;
    assert_int_equal(shm_ring_space(&p), 0);
}

/* Two threads stream 200k entries through an 8-entry ring. */
struct stream {
    struct shared s;
    uint64_t count;
};

static void *producer(void *arg)
{
    struct stream *st = arg;
    struct shm_ring p;
    shm_ring_init(&p, &st->s.head, &st->s.tail, st->s.entries, N, ESZ, true);
    for (uint64_t i = 0; i < st->count;) {
        int room = shm_ring_space(&p);
        if (room <= 0)
            continue;
        uint32_t k = 0;
        while (k < (uint32_t)room && i < st->count) {
            uint64_t v[2] = { i, ~i };
            memcpy(shm_ring_slot(&p, k++), v, sizeof(v));
            i++;
        }
        shm_ring_publish(&p, k);
    }
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    struct stream *st = calloc(1, sizeof(*st));
    assert_non_null(st);
    st->count = (uint64_t)th_env_long("RING_STREAM", 200000);
    struct shm_ring c;
    shm_ring_init(&c, &st->s.head, &st->s.tail, st->s.entries, N, ESZ, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, producer, st), 0);
    for (uint64_t want = 0; want < st->count;) {
        int ready = shm_ring_ready(&c);
        assert_true(ready >= 0);
        for (int i = 0; i < ready; i++) {
            uint64_t v[2];
            memcpy(v, shm_ring_peek(&c, (uint32_t)i), sizeof(v));
            assert_int_equal(v[0], want);
            assert_int_equal(v[1], ~want);
            want++;
        }
        shm_ring_consume(&c, (uint32_t)ready);
    }
    pthread_join(t, NULL);
    assert_int_equal(shm_ring_ready(&c), 0);
    free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_full),
        cmocka_unit_test(test_batches),
        cmocka_unit_test(test_index_wraparound),
        cmocka_unit_test(test_impossible_indices),
        cmocka_unit_test(test_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
