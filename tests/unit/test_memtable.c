/* test_memtable.c — visibility by sequence, deletes, iterator order, seek,
 * prev, counters, references, big keys and values. */
#include "helpers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memtable.h"

static slice S(const char *s) { return slice_make(s, strlen(s)); }

static void assert_get(memtable *m, const char *key, uint64_t seq,
                       enum memtable_lookup want, const char *want_val)
{
    slice v = { NULL, 0 };
    enum memtable_lookup r = memtable_get(m, S(key), seq, &v);
    assert_int_equal(r, want);
    if (want == MEMTABLE_FOUND) {
        assert_int_equal(v.size, strlen(want_val));
        assert_memory_equal(v.data, want_val, v.size);
    }
}

static void test_put_get_delete_overwrite(void **state)
{
    (void)state;
    memtable *m = memtable_new();
    assert_non_null(m);
    assert_get(m, "a", LSM_MAX_SEQUENCE, MEMTABLE_ABSENT, NULL);

    assert_int_equal(memtable_add(m, 1, LSM_TYPE_PUT, S("k"), S("v1")), 0);
    assert_int_equal(memtable_add(m, 5, LSM_TYPE_PUT, S("k"), S("v5")), 0);
    assert_int_equal(memtable_add(m, 9, LSM_TYPE_DELETE, S("k"), S("")), 0);
    assert_int_equal(memtable_add(m, 12, LSM_TYPE_PUT, S("k"), S("v12")), 0);
    assert_int_equal(memtable_add(m, 3, LSM_TYPE_PUT, S("j"), S("")), 0);
    assert_int_equal(memtable_add(m, 4, LSM_TYPE_PUT, S("kk"), S("long")), 0);

    assert_get(m, "k", 0, MEMTABLE_ABSENT, NULL);
    assert_get(m, "k", 1, MEMTABLE_FOUND, "v1");
    assert_get(m, "k", 4, MEMTABLE_FOUND, "v1");
    assert_get(m, "k", 5, MEMTABLE_FOUND, "v5");
    assert_get(m, "k", 8, MEMTABLE_FOUND, "v5");
    assert_get(m, "k", 9, MEMTABLE_DELETED, NULL);
    assert_get(m, "k", 11, MEMTABLE_DELETED, NULL);
    assert_get(m, "k", 12, MEMTABLE_FOUND, "v12");
    assert_get(m, "k", LSM_MAX_SEQUENCE, MEMTABLE_FOUND, "v12");
    assert_get(m, "k", UINT64_MAX, MEMTABLE_FOUND, "v12"); /* clamped */
    assert_get(m, "j", 2, MEMTABLE_ABSENT, NULL);
    assert_get(m, "j", 3, MEMTABLE_FOUND, ""); /* empty value, not absent */
    assert_get(m, "kk", 100, MEMTABLE_FOUND, "long");
    /* Neighbours and prefixes are not matches. */
    assert_get(m, "", 100, MEMTABLE_ABSENT, NULL);
    assert_get(m, "i", 100, MEMTABLE_ABSENT, NULL);
    assert_get(m, "kj", 100, MEMTABLE_ABSENT, NULL);
    assert_get(m, "kkk", 100, MEMTABLE_ABSENT, NULL);
    assert_get(m, "z", 100, MEMTABLE_ABSENT, NULL);

    assert_int_equal(memtable_entries(m), 6);
    memtable_unref(m);
}

/* Decodes an iterator position into (user key, seq, type). */
static void check_at(iter *it, const char *ukey, uint64_t seq, enum value_type t,
                     const char *val)
{
    assert_true(iter_valid(it));
    slice k = iter_key(it);
    assert_true(k.size >= INTERNAL_TRAILER);
    slice u = ikey_user(k);
    assert_int_equal(u.size, strlen(ukey));
    assert_memory_equal(u.data, ukey, u.size);
    assert_int_equal(ikey_seq(k), seq);
    assert_int_equal(ikey_type(k), t);
    slice v = iter_value(it);
    assert_int_equal(v.size, strlen(val));
    assert_memory_equal(v.data, val, v.size);
}

static void test_iterator(void **state)
{
    (void)state;
    memtable *m = memtable_new();
    assert_non_null(m);
    /* Inserted shuffled; expected order: user key asc, seq desc. */
    assert_int_equal(memtable_add(m, 7, LSM_TYPE_PUT, S("b"), S("b7")), 0);
    assert_int_equal(memtable_add(m, 2, LSM_TYPE_PUT, S("c"), S("c2")), 0);
    assert_int_equal(memtable_add(m, 3, LSM_TYPE_PUT, S("b"), S("b3")), 0);
    assert_int_equal(memtable_add(m, 1, LSM_TYPE_PUT, S("a"), S("a1")), 0);
    assert_int_equal(memtable_add(m, 8, LSM_TYPE_DELETE, S("b"), S("ignored")), 0);
    assert_int_equal(memtable_add(m, 4, LSM_TYPE_PUT, S("ab"), S("ab4")), 0);

    iter *it = memtable_iter_new(m);
    assert_non_null(it);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), 0);

    iter_first(it);
    check_at(it, "a", 1, LSM_TYPE_PUT, "a1");
    iter_next(it);
    check_at(it, "ab", 4, LSM_TYPE_PUT, "ab4");
    iter_next(it);
    check_at(it, "b", 8, LSM_TYPE_DELETE, "");
    iter_next(it);
    check_at(it, "b", 7, LSM_TYPE_PUT, "b7");
    iter_next(it);
    check_at(it, "b", 3, LSM_TYPE_PUT, "b3");
    iter_next(it);
    check_at(it, "c", 2, LSM_TYPE_PUT, "c2");
    iter_next(it);
    assert_false(iter_valid(it));

    iter_last(it);
    check_at(it, "c", 2, LSM_TYPE_PUT, "c2");
    iter_prev(it);
    check_at(it, "b", 3, LSM_TYPE_PUT, "b3");
    iter_prev(it);
    check_at(it, "b", 7, LSM_TYPE_PUT, "b7");
    iter_prev(it);
    check_at(it, "b", 8, LSM_TYPE_DELETE, "");
    iter_prev(it);
    check_at(it, "ab", 4, LSM_TYPE_PUT, "ab4");
    iter_prev(it);
    check_at(it, "a", 1, LSM_TYPE_PUT, "a1");
    iter_prev(it);
    assert_false(iter_valid(it));

    /* Seeks take internal keys. */
    char buf[64];
    size_t n = ikey_encode(buf, S("b"), LSM_MAX_SEQUENCE, LSM_TYPE_SEEK);
    iter_seek(it, slice_make(buf, n));
    check_at(it, "b", 8, LSM_TYPE_DELETE, "");
    n = ikey_encode(buf, S("b"), 7, LSM_TYPE_SEEK);
    iter_seek(it, slice_make(buf, n));
    check_at(it, "b", 7, LSM_TYPE_PUT, "b7");
    n = ikey_encode(buf, S("b"), 6, LSM_TYPE_SEEK);
    iter_seek(it, slice_make(buf, n));
    check_at(it, "b", 3, LSM_TYPE_PUT, "b3");
    n = ikey_encode(buf, S("b"), 2, LSM_TYPE_SEEK);
    iter_seek(it, slice_make(buf, n));
    check_at(it, "c", 2, LSM_TYPE_PUT, "c2");
    n = ikey_encode(buf, S("aa"), 100, LSM_TYPE_SEEK);
    iter_seek(it, slice_make(buf, n));
    check_at(it, "ab", 4, LSM_TYPE_PUT, "ab4");
    iter_prev(it);
    check_at(it, "a", 1, LSM_TYPE_PUT, "a1");
    n = ikey_encode(buf, S(""), 0, LSM_TYPE_DELETE);
    iter_seek(it, slice_make(buf, n));
    check_at(it, "a", 1, LSM_TYPE_PUT, "a1");
    n = ikey_encode(buf, S("c"), 1, LSM_TYPE_PUT);
    iter_seek(it, slice_make(buf, n));
    assert_false(iter_valid(it));

    iter_destroy(it);
    memtable_unref(m);
}

/* Sequential and random keys: full scan order matches the model. */
static void test_iterator_many(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    memtable *m = memtable_new();
    assert_non_null(m);
    enum { N = 20000 };
    /* Keys k%05u, each key gets up to 3 versions with increasing seq. */
    static uint8_t versions[N];
    memset(versions, 0, sizeof(versions));
    uint64_t seq = 0;
    char key[16], val[32];
    for (int i = 0; i < 3 * N / 2; i++) {
        unsigned k = (unsigned)th_rng_below(&r, N);
        if (versions[k] == 3)
            continue;
        versions[k]++;
        snprintf(key, sizeof(key), "k%05u", k);
        snprintf(val, sizeof(val), "v%u.%llu", k, (unsigned long long)++seq);
        assert_int_equal(memtable_add(m, seq, LSM_TYPE_PUT, S(key), S(val)), 0);
    }
    assert_int_equal(memtable_entries(m), seq);

    iter *it = memtable_iter_new(m);
    assert_non_null(it);
    uint64_t count = 0;
    slice prev_key = { NULL, 0 };
    for (iter_first(it); iter_valid(it); iter_next(it), count++) {
        slice k = iter_key(it);
        if (prev_key.data)
            assert_true(ikey_compare(prev_key, k) < 0);
        prev_key = k; /* stays valid: memtable bytes live as long as m */
        slice v = iter_value(it);
        char want[32], kdigits[6] = { 0 };
        assert_int_equal(ikey_user(k).size, 6);
        memcpy(kdigits, ikey_user(k).data + 1, 5);
        int wl = snprintf(want, sizeof(want), "v%u.%llu", (unsigned)strtoul(kdigits, NULL, 10),
                          (unsigned long long)ikey_seq(k));
        assert_int_equal(v.size, (size_t)wl);
        assert_memory_equal(v.data, want, v.size);
    }
    assert_int_equal(count, seq);
    iter_destroy(it);
    memtable_unref(m);
}

static void test_counters(void **state)
{
    (void)state;
    memtable *m = memtable_new();
    assert_non_null(m);
    assert_int_equal(memtable_entries(m), 0);
    size_t b0 = memtable_bytes(m);
    /* A fresh memtable is empty, and one small entry counts as small, not
     * as a whole arena block: the engine compares this with its limit. */
    assert_int_equal(b0, 0);
    assert_true(memtable_memory_usage(m) > 0);
    assert_int_equal(memtable_add(m, 1, LSM_TYPE_PUT, S("k"), S("v")), 0);
    assert_true(memtable_bytes(m) > 0 && memtable_bytes(m) < 256);
    b0 = memtable_bytes(m);
    char key[16];
    char val[100];
    memset(val, 'x', sizeof(val));
    for (int i = 0; i < 50000; i++) {
        snprintf(key, sizeof(key), "key%08d", i);
        assert_int_equal(memtable_add(m, (uint64_t)i + 2, LSM_TYPE_PUT, S(key),
                                      slice_make(val, sizeof(val))),
                         0);
    }
    assert_int_equal(memtable_entries(m), 50001);
    size_t b1 = memtable_bytes(m);
    /* At least the payload, and no more than ~2x with node overhead. */
    size_t payload = 50000 * (11 + 8 + 100);
    assert_true(b1 - b0 >= payload);
    assert_true(b1 - b0 <= 2 * payload + 2 * MEMTABLE_BLOCK_BYTES);
    memtable_unref(m);
}

static void test_refcount(void **state)
{
    (void)state;
    memtable *m = memtable_new();
    assert_non_null(m);
    assert_int_equal(memtable_add(m, 1, LSM_TYPE_PUT, S("key"), S("value")), 0);
    memtable_ref(m);
    memtable_ref(m);
    memtable_unref(m);
    memtable_unref(m);
    /* still alive: ASan would flag a use after free */
    assert_get(m, "key", 1, MEMTABLE_FOUND, "value");

    /* An iterator keeps the memtable alive after the owner lets go. */
    iter *it = memtable_iter_new(m);
    assert_non_null(it);
    memtable_unref(m);
    iter_first(it);
    check_at(it, "key", 1, LSM_TYPE_PUT, "value");
    iter_destroy(it); /* frees m; ASan reports a leak if not */
    memtable_unref(NULL);
    iter_destroy(NULL);
}

/* Keys up to 64 KiB, a 1 MiB value, keys sharing long prefixes. */
static void test_big(void **state)
{
    (void)state;
    memtable *m = memtable_new();
    assert_non_null(m);
    size_t kmax = 64 * 1024;
    char *k = malloc(kmax + 1);
    char *v = malloc(1 << 20);
    assert_non_null(k);
    assert_non_null(v);
    memset(k, 'K', kmax + 1);
    for (size_t i = 0; i < (1u << 20); i++)
        v[i] = (char)(i * 31);

    static const size_t klens[] = { 1, 127, 128, 16383, 16384, 65535, 65536 };
    enum { NK = sizeof(klens) / sizeof(klens[0]) };
    for (size_t i = 0; i < NK; i++)
        assert_int_equal(memtable_add(m, 10 + i, LSM_TYPE_PUT, slice_make(k, klens[i]),
                                      slice_make(v, 1000 + i)),
                         0);
    assert_int_equal(memtable_add(m, 100, LSM_TYPE_PUT, S("big"), slice_make(v, 1 << 20)), 0);
    /* A newer, bigger version of the 64 KiB key. */
    assert_int_equal(memtable_add(m, 200, LSM_TYPE_PUT, slice_make(k, kmax),
                                  slice_make(v, 1 << 20)),
                     0);

    slice got;
    for (size_t i = 0; i < NK; i++) {
        assert_int_equal(memtable_get(m, slice_make(k, klens[i]), 150, &got), MEMTABLE_FOUND);
        assert_int_equal(got.size, 1000 + i);
        assert_memory_equal(got.data, v, got.size);
    }
    assert_int_equal(memtable_get(m, slice_make(k, kmax), 200, &got), MEMTABLE_FOUND);
    assert_int_equal(got.size, 1u << 20);
    assert_memory_equal(got.data, v, got.size);
    assert_int_equal(memtable_get(m, slice_make(k, kmax + 1), 200, &got), MEMTABLE_ABSENT);
    assert_int_equal(memtable_get(m, slice_make(k, 2), 200, &got), MEMTABLE_ABSENT);
    assert_int_equal(memtable_get(m, S("big"), 100, &got), MEMTABLE_FOUND);
    assert_int_equal(got.size, 1u << 20);
    assert_memory_equal(got.data, v, got.size);
    assert_int_equal(memtable_get(m, S("big"), 99, &got), MEMTABLE_ABSENT);
    assert_true(memtable_bytes(m) >= 2u << 20);

    /* Iteration order over the long shared-prefix keys: by length. */
    iter *it = memtable_iter_new(m);
    assert_non_null(it);
    iter_first(it);
    for (size_t i = 0; i < NK; i++) {
        assert_true(iter_valid(it));
        assert_int_equal(ikey_user(iter_key(it)).size, klens[i]);
        if (klens[i] == kmax) {
            assert_int_equal(ikey_seq(iter_key(it)), 200);
            iter_next(it);
        }
        assert_int_equal(ikey_seq(iter_key(it)), 10 + i);
        iter_next(it);
    }
    iter_destroy(it);
    free(k);
    free(v);
    memtable_unref(m);
}

/* One writer adding versions while readers get keys already published
 * (run under SAN=thread). */
enum { CW = 20000, CREADERS = 2 };

struct cm {
    memtable *m;
    atomic_uint_least64_t done; /* highest sequence fully added */
};

static void key_of(char *buf, size_t cap, uint64_t seq)
{
    snprintf(buf, cap, "key%06llu", (unsigned long long)(seq % (CW / 4)));
}

static void *cm_reader(void *arg)
{
    struct cm *c = arg;
    bool ok = true;
    th_rng r;
    th_rng_seed(&r, (uintptr_t)&r);
    uint64_t upto;
    do {
        /* Acquire: pairs with the writer's release of done. */
        upto = atomic_load_explicit(&c->done, memory_order_acquire);
        if (upto == 0)
            continue;
        uint64_t seq = 1 + th_rng_below(&r, upto);
        char key[16], want[32];
        key_of(key, sizeof(key), seq);
        /* The newest version <= seq of this key is seq itself. */
        snprintf(want, sizeof(want), "val%llu", (unsigned long long)seq);
        slice v;
        if (memtable_get(c->m, S(key), seq, &v) != MEMTABLE_FOUND || v.size != strlen(want) ||
            memcmp(v.data, want, v.size) != 0)
            ok = false;
        (void)memtable_bytes(c->m);
        (void)memtable_entries(c->m);
    } while (ok && upto < CW);
    return (void *)(uintptr_t)ok;
}

static void test_concurrent_get(void **state)
{
    (void)state;
    struct cm c = { .m = memtable_new() };
    assert_non_null(c.m);
    atomic_init(&c.done, 0);
    pthread_t th[CREADERS];
    for (int i = 0; i < CREADERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, cm_reader, &c), 0);
    for (uint64_t seq = 1; seq <= CW; seq++) {
        char key[16], val[32];
        key_of(key, sizeof(key), seq);
        snprintf(val, sizeof(val), "val%llu", (unsigned long long)seq);
        assert_int_equal(memtable_add(c.m, seq, LSM_TYPE_PUT, S(key), S(val)), 0);
        /* Release: pairs with the readers' acquire of done. */
        atomic_store_explicit(&c.done, seq, memory_order_release);
    }
    for (int i = 0; i < CREADERS; i++) {
        void *ok;
        assert_int_equal(pthread_join(th[i], &ok), 0);
        assert_true((uintptr_t)ok);
    }
    memtable_unref(c.m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_delete_overwrite),
        cmocka_unit_test(test_iterator),
        cmocka_unit_test(test_iterator_many),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_refcount),
        cmocka_unit_test(test_big),
        cmocka_unit_test(test_concurrent_get),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
