/* test_memtable.c — visibility by sequence, deletes, iterator order, seek
 * and prev (the cases of testdata/memtable.txt), counters, references, big
 * keys and values, concurrent readers: every test runs once per
 * implementation (a cmocka group each, the implementation's name as the
 * test's state), plus a differential test that feeds the same random
 * operations to both and compares them. */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memtable/memtable.h"

#include "datadriven.h"

static slice S(const char *s) { return slice_make(s, strlen(s)); }

static char IMPL_SKIPLIST[] = "skiplist";
static char IMPL_VECTOR[] = "vector";

/* A fresh memtable of the implementation the test runs against. */
static memtable *mt_new(void **state)
{
    const char *impl = *state;
    memtable *m = NULL;
    assert_int_equal(memtable_create(impl, &m), 0);
    assert_non_null(m);
    assert_string_equal(memtable_impl_name(m), impl);
    return m;
}

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

/* ---- data-driven cases (testdata/memtable.txt) -------------------------------
 * Every case runs against each implementation, with the same expected output.
 *   reset   a fresh memtable
 *   add     one entry a line: SEQ PUT KEY [VALUE] or SEQ DEL KEY [VALUE];
 *           prints the entry count
 *   get     one lookup a line: KEY SEQ
 *   iter    one step a line on a new iterator (first, last, next, prev,
 *           at, seek KEY#SEQ[,DEL]); prints the position after each
 * A key or value "" is empty; a sequence "max" is LSM_MAX_SEQUENCE, "u64max"
 * UINT64_MAX. */

typedef struct mt_dd {
    const char *impl;
    memtable *m;
} mt_dd;

static uint64_t dd_seq(const dd_case *c, const char *s)
{
    if (strcmp(s, "max") == 0)
        return LSM_MAX_SEQUENCE;
    if (strcmp(s, "u64max") == 0)
        return UINT64_MAX;
    char *end;
    uint64_t v = strtoull(s, &end, 10);
    if (!*s || *end)
        dd_fail(c, "bad sequence %s", s);
    return v;
}

static void dd_position(dd_case *c, const char *op, iter *it)
{
    if (!iter_valid(it)) {
        dd_printf(c, "%s: .%s\n", op, iter_status(it) ? " (error)" : "");
        return;
    }
    slice k = iter_key(it), v = iter_value(it), u = ikey_user(k);
    assert_true(k.size >= INTERNAL_TRAILER);
    enum value_type t = ikey_type(k);
    dd_printf(c, "%s: %.*s#%llu,%s \"%.*s\"\n", op, (int)u.size, u.data,
              (unsigned long long)ikey_seq(k),
              t == LSM_TYPE_PUT ? "PUT" : t == LSM_TYPE_DELETE ? "DEL" : "?", (int)v.size, v.data);
}

static void mt_dd_case(dd_case *c, void *arg)
{
    mt_dd *d = arg;
    char *w[8];
    if (strcmp(c->cmd, "reset") == 0) {
        memtable_unref(d->m);
        assert_int_equal(memtable_create(d->impl, &d->m), 0);
        dd_printf(c, "entries %llu\n", (unsigned long long)memtable_entries(d->m));
        return;
    }
    if (!d->m)
        dd_fail(c, "no memtable: reset first");
    for (int i = 0; strcmp(c->cmd, "add") == 0 && i < c->ninput; i++) {
        char line[256];
        snprintf(line, sizeof line, "%s", c->input[i]);
        int n = dd_words(c, line, w, 8);
        if (n < 3 || n > 4 || (strcmp(w[1], "PUT") != 0 && strcmp(w[1], "DEL") != 0))
            dd_fail(c, "add: SEQ PUT|DEL KEY [VALUE], not %s", c->input[i]);
        enum value_type t = strcmp(w[1], "PUT") == 0 ? LSM_TYPE_PUT : LSM_TYPE_DELETE;
        assert_int_equal(memtable_add(d->m, dd_seq(c, w[0]), t, S(w[2]), S(n == 4 ? w[3] : "")), 0);
    }
    if (strcmp(c->cmd, "add") == 0) {
        dd_printf(c, "entries %llu\n", (unsigned long long)memtable_entries(d->m));
        return;
    }
    if (strcmp(c->cmd, "get") == 0) {
        for (int i = 0; i < c->ninput; i++) {
            char line[256];
            snprintf(line, sizeof line, "%s", c->input[i]);
            if (dd_words(c, line, w, 8) != 2)
                dd_fail(c, "get: KEY SEQ, not %s", c->input[i]);
            slice v = { NULL, 0 };
            enum memtable_lookup r = memtable_get(d->m, S(w[0]), dd_seq(c, w[1]), &v);
            dd_printf(c, "%s@%s: ", *w[0] ? w[0] : "\"\"", w[1]);
            if (r == MEMTABLE_FOUND)
                dd_printf(c, "found \"%.*s\"\n", (int)v.size, v.data);
            else
                dd_printf(c, "%s\n", r == MEMTABLE_DELETED ? "deleted"
                                     : r == MEMTABLE_ABSENT ? "absent" : "?");
        }
        return;
    }
    if (strcmp(c->cmd, "iter") != 0)
        dd_fail(c, "unknown command");
    iter *it = memtable_iter_new(d->m);
    assert_non_null(it);
    for (int i = 0; i < c->ninput; i++) {
        char line[256];
        snprintf(line, sizeof line, "%s", c->input[i]);
        int n = dd_words(c, line, w, 8);
        if (n == 1 && strcmp(w[0], "first") == 0)
            iter_first(it);
        else if (n == 1 && strcmp(w[0], "last") == 0)
            iter_last(it);
        else if (n == 1 && strcmp(w[0], "next") == 0)
            iter_next(it);
        else if (n == 1 && strcmp(w[0], "prev") == 0)
            iter_prev(it);
        else if (n == 2 && strcmp(w[0], "seek") == 0) {
            /* KEY#SEQ[,DEL]: an internal key (PUT sorts as LSM_TYPE_SEEK) */
            char *hash = strrchr(w[1], '#');
            if (!hash)
                dd_fail(c, "seek KEY#SEQ[,DEL], not %s", c->input[i]);
            *hash = '\0';
            char *comma = strchr(hash + 1, ',');
            enum value_type t = LSM_TYPE_SEEK;
            if (comma) {
                *comma = '\0';
                t = LSM_TYPE_DELETE;
            }
            const char *key = strcmp(w[1], "\"\"") == 0 ? "" : w[1];
            char buf[128];
            size_t kn = ikey_encode(buf, S(key), dd_seq(c, hash + 1), t);
            iter_seek(it, slice_make(buf, kn));
        } else if (n != 1 || strcmp(w[0], "at") != 0) {
            dd_fail(c, "unknown iterator step %s", c->input[i]);
        }
        dd_position(c, c->input[i], it);
    }
    iter_destroy(it);
}

static void test_datadriven(void **state)
{
    mt_dd d = { .impl = *state };
    DD_RUN("memtable.txt", mt_dd_case, &d);
    memtable_unref(d.m);
}

/* Sequential and random keys: full scan order matches the model. */
static void test_iterator_many(void **state)
{
    th_rng r;
    th_rng_seed(&r, th_seed());
    memtable *m = mt_new(state);
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
    memtable *m = mt_new(state);
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
    memtable *m = mt_new(state);
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
    memtable *m = mt_new(state);
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

/* memtable_create: names, the default, refusals. */
static void test_create(void **state)
{
    (void)state;
    memtable *m = memtable_new();
    assert_non_null(m);
    assert_string_equal(memtable_impl_name(m), "skiplist");
    memtable_unref(m);
    assert_int_equal(memtable_create(NULL, &m), 0);
    assert_string_equal(memtable_impl_name(m), MEMTABLE_IMPL_DEFAULT);
    memtable_unref(m);
    assert_int_equal(memtable_create("vector", &m), 0);
    assert_string_equal(memtable_impl_name(m), "vector");
    memtable_unref(m);
    static const char *const bad[] = { "", "Vector", "skiplist ", "hash", "vec" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m = (memtable *)&m; /* must be reset */
        assert_int_equal(memtable_create(bad[i], &m), -EINVAL);
        assert_null(m);
        assert_null(memtable_impl_lookup(bad[i]));
        assert_int_equal(memtable_impl_check(bad[i]), -EINVAL);
    }
    assert_int_equal(memtable_impl_check(NULL), 0);
    assert_int_equal(memtable_impl_check("skiplist"), 0);
    assert_int_equal(memtable_impl_check("vector"), 0);
    assert_string_equal(memtable_impl_lookup(NULL), "skiplist");
    char name[] = "vector"; /* a copy: the answer is the library's own string */
    const char *canon = memtable_impl_lookup(name);
    assert_string_equal(canon, "vector");
    assert_ptr_not_equal(canon, name);
    assert_string_equal(memtable_impl_lookup("skiplist"), "skiplist");
}

/* Reads before and after memtable_freeze agree; freezing twice is fine;
 * an iterator sees everything added before its creation. */
static void test_freeze(void **state)
{
    memtable *m = mt_new(state);
    char key[16], val[16];
    /* Enough entries that the vector has a run and a tail at freeze time. */
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof(key), "f%05d", (i * 7919) % 3000);
        snprintf(val, sizeof(val), "v%d", i);
        assert_int_equal(memtable_add(m, (uint64_t)i + 1, LSM_TYPE_PUT, S(key), S(val)), 0);
        if (i == 1500) /* a get merges the vector's tail part-way */
            assert_get(m, key, LSM_MAX_SEQUENCE, MEMTABLE_FOUND, val);
    }
    iter *before = memtable_iter_new(m);
    assert_non_null(before);
    memtable_freeze(m);
    memtable_freeze(m);
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof(key), "f%05d", (i * 7919) % 3000);
        snprintf(val, sizeof(val), "v%d", i);
        assert_get(m, key, (uint64_t)i + 1, MEMTABLE_FOUND, val);
        assert_get(m, key, (uint64_t)i, MEMTABLE_ABSENT, NULL);
    }
    iter *after = memtable_iter_new(m);
    assert_non_null(after);
    int n = 0;
    for (iter_first(before), iter_first(after); iter_valid(after);
         iter_next(before), iter_next(after), n++) {
        assert_true(iter_valid(before));
        snprintf(key, sizeof(key), "f%05d", n);
        assert_true(slice_equal(ikey_user(iter_key(after)), S(key)));
        assert_true(slice_equal(iter_key(before), iter_key(after)));
        assert_true(slice_equal(iter_value(before), iter_value(after)));
    }
    assert_false(iter_valid(before));
    assert_int_equal(n, 3000);
    iter_destroy(before);
    iter_destroy(after);
    memtable_unref(m);
}

/* The vector's iterators are snapshots: later adds stay out of them. */
static void test_vector_iter_snapshot(void **state)
{
    (void)state;
    memtable *m = NULL;
    assert_int_equal(memtable_create("vector", &m), 0);
    assert_int_equal(memtable_add(m, 1, LSM_TYPE_PUT, S("b"), S("1")), 0);
    iter *it = memtable_iter_new(m);
    assert_non_null(it);
    assert_int_equal(memtable_add(m, 2, LSM_TYPE_PUT, S("a"), S("2")), 0);
    assert_int_equal(memtable_add(m, 3, LSM_TYPE_PUT, S("c"), S("3")), 0);
    iter_first(it);
    check_at(it, "b", 1, LSM_TYPE_PUT, "1");
    iter_next(it);
    assert_false(iter_valid(it));
    iter_last(it);
    check_at(it, "b", 1, LSM_TYPE_PUT, "1");
    iter_prev(it);
    assert_false(iter_valid(it));
    iter_destroy(it);
    assert_get(m, "a", 2, MEMTABLE_FOUND, "2");
    assert_get(m, "c", 3, MEMTABLE_FOUND, "3");
    memtable_unref(m);
}

/* One writer adding versions while readers get keys already published
 * (run under SAN=thread).  After the last add the writer freezes the
 * memtable and the readers go on for a while: the vector sorts its tail
 * under them. */
enum { CW = 20000, CREADERS = 2, CAFTER = 2000 };

struct cm {
    memtable *m;
    atomic_uint_least64_t done; /* highest sequence fully added */
    atomic_bool frozen;
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
    int after = 0;
    while (ok && after < CAFTER) {
        if (atomic_load_explicit(&c->frozen, memory_order_relaxed))
            after++;
        /* Acquire: pairs with the writer's release of done. */
        uint64_t upto = atomic_load_explicit(&c->done, memory_order_acquire);
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
        (void)memtable_memory_usage(c->m);
    }
    return (void *)(uintptr_t)ok;
}

/* Adds seq = 1..CW (key_of(seq) -> "val<seq>"), publishing progress. */
static void cm_write_all(struct cm *c)
{
    for (uint64_t seq = 1; seq <= CW; seq++) {
        char key[16], val[32];
        key_of(key, sizeof(key), seq);
        snprintf(val, sizeof(val), "val%llu", (unsigned long long)seq);
        assert_int_equal(memtable_add(c->m, seq, LSM_TYPE_PUT, S(key), S(val)), 0);
        /* Release: pairs with the readers' acquire of done. */
        atomic_store_explicit(&c->done, seq, memory_order_release);
    }
    memtable_freeze(c->m);
    atomic_store_explicit(&c->frozen, true, memory_order_relaxed);
}

static void cm_run(void **state, void *(*reader)(void *))
{
    struct cm c = { .m = mt_new(state) };
    atomic_init(&c.done, 0);
    atomic_init(&c.frozen, false);
    pthread_t th[CREADERS];
    for (int i = 0; i < CREADERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader, &c), 0);
    cm_write_all(&c);
    for (int i = 0; i < CREADERS; i++) {
        void *ok;
        assert_int_equal(pthread_join(th[i], &ok), 0);
        assert_true((uintptr_t)ok);
    }
    memtable_unref(c.m);
}

static void test_concurrent_get(void **state)
{
    cm_run(state, cm_reader);
}

/* Readers iterate while the writer adds: each iterator is sorted, every
 * value matches its key and sequence, and everything published before the
 * iterator was created is in it. */
static void *cm_iter_reader(void *arg)
{
    struct cm *c = arg;
    bool ok = true;
    for (int round = 0; ok && round < 25; round++) {
        uint64_t upto = atomic_load_explicit(&c->done, memory_order_acquire);
        iter *it = memtable_iter_new(c->m);
        if (!it)
            return (void *)(uintptr_t)0;
        uint64_t old = 0, total = 0;
        slice prev = { NULL, 0 };
        for (iter_first(it); ok && iter_valid(it); iter_next(it), total++) {
            slice k = iter_key(it);
            if (prev.data && ikey_compare(prev, k) >= 0)
                ok = false;
            prev = k;
            uint64_t seq = ikey_seq(k);
            char key[16], want[32];
            key_of(key, sizeof(key), seq);
            int wl = snprintf(want, sizeof(want), "val%llu", (unsigned long long)seq);
            slice v = iter_value(it);
            if (!slice_equal(ikey_user(k), S(key)) || v.size != (size_t)wl ||
                memcmp(v.data, want, v.size) != 0)
                ok = false;
            old += seq <= upto;
        }
        if (old != upto || total > CW)
            ok = false;
        iter_destroy(it);
    }
    return (void *)(uintptr_t)ok;
}

static void test_concurrent_iter(void **state)
{
    cm_run(state, cm_iter_reader);
}

/* ---- differential: the same random operations on both ------------------ */

/* Keys from a tiny alphabet, 0 to 13 bytes: many share their first 8 bytes
 * or differ only by trailing zero bytes (the vector's cached prefixes pad
 * with zeros), and many collide. */
static size_t rand_key(th_rng *r, char *buf)
{
    static const char alpha[] = { 0x00, 0x01, 'a', (char)0xff };
    size_t n = (size_t)th_rng_below(r, 14);
    for (size_t i = 0; i < n; i++)
        buf[i] = alpha[th_rng_below(r, 4)];
    return n;
}

static void same_get(memtable *a, memtable *b, slice key, uint64_t seq)
{
    slice va = { NULL, 0 }, vb = { NULL, 0 };
    enum memtable_lookup ra = memtable_get(a, key, seq, &va);
    enum memtable_lookup rb = memtable_get(b, key, seq, &vb);
    assert_int_equal(ra, rb);
    if (ra == MEMTABLE_FOUND)
        assert_true(slice_equal(va, vb));
}

static void same_pos(iter *a, iter *b)
{
    assert_int_equal(iter_valid(a), iter_valid(b));
    if (iter_valid(a)) {
        assert_true(slice_equal(iter_key(a), iter_key(b)));
        assert_true(slice_equal(iter_value(a), iter_value(b)));
    }
}

/* Full scans both ways and random seeks (each followed by a few steps). */
static void same_iteration(th_rng *r, memtable *a, memtable *b, uint64_t entries)
{
    iter *ia = memtable_iter_new(a), *ib = memtable_iter_new(b);
    assert_non_null(ia);
    assert_non_null(ib);
    uint64_t n = 0;
    for (iter_first(ia), iter_first(ib); iter_valid(ia); iter_next(ia), iter_next(ib), n++)
        same_pos(ia, ib);
    same_pos(ia, ib);
    assert_int_equal(n, entries);
    for (iter_last(ia), iter_last(ib); iter_valid(ia); iter_prev(ia), iter_prev(ib))
        same_pos(ia, ib);
    same_pos(ia, ib);
    char target[32];
    for (int i = 0; i < 500; i++) {
        size_t n_key = rand_key(r, target);
        uint64_t seq = th_rng_below(r, entries + 2);
        put_fixed64(target + n_key, pack_trailer(seq, (enum value_type)th_rng_below(r, 2)));
        slice t = slice_make(target, n_key + INTERNAL_TRAILER);
        iter_seek(ia, t);
        iter_seek(ib, t);
        same_pos(ia, ib);
        bool back = th_rng_below(r, 2);
        for (int s = 0; s < 3 && iter_valid(ia); s++) {
            if (back) {
                iter_prev(ia);
                iter_prev(ib);
            } else {
                iter_next(ia);
                iter_next(ib);
            }
            same_pos(ia, ib);
        }
    }
    iter_destroy(ia);
    iter_destroy(ib);
}

static void test_differential(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    memtable *a = NULL, *b = NULL;
    assert_int_equal(memtable_create("skiplist", &a), 0);
    assert_int_equal(memtable_create("vector", &b), 0);
    enum { N = 20000 };
    /* Sequences 1..N in random order: unique, so (key, seq) never repeats,
     * and a newer version is often added before an older one. */
    uint64_t *seqs = malloc(N * sizeof(*seqs));
    assert_non_null(seqs);
    for (uint64_t i = 0; i < N; i++)
        seqs[i] = i + 1;
    for (size_t i = N - 1; i > 0; i--) {
        size_t j = (size_t)th_rng_below(&r, i + 1);
        uint64_t t = seqs[i];
        seqs[i] = seqs[j];
        seqs[j] = t;
    }
    char key[32], val[64];
    for (size_t i = 0; i < N; i++) {
        size_t kn = rand_key(&r, key);
        enum value_type t = th_rng_below(&r, 5) == 0 ? LSM_TYPE_DELETE : LSM_TYPE_PUT;
        int vn = snprintf(val, sizeof(val), "%llu%.*s", (unsigned long long)seqs[i],
                          (int)th_rng_below(&r, 40), "..........................................");
        slice k = slice_make(key, kn), v = slice_make(val, (size_t)vn);
        assert_int_equal(memtable_add(a, seqs[i], t, k, v), 0);
        assert_int_equal(memtable_add(b, seqs[i], t, k, v), 0);
        /* The version just added, at its sequence and just below. */
        if (th_rng_below(&r, 4) == 0) {
            same_get(a, b, k, seqs[i]);
            same_get(a, b, k, seqs[i] - 1);
        }
        /* Gets while adding: the vector's tail grows and gets merged. */
        for (int g = (int)th_rng_below(&r, 3); g > 0; g--) {
            kn = rand_key(&r, key);
            same_get(a, b, slice_make(key, kn), th_rng_below(&r, N + 2));
        }
        if (i % 6000 == 5999)
            same_iteration(&r, a, b, i + 1);
    }
    assert_int_equal(memtable_entries(a), memtable_entries(b));
    memtable_freeze(a);
    memtable_freeze(b);
    for (int i = 0; i < 20000; i++) {
        size_t kn = rand_key(&r, key);
        same_get(a, b, slice_make(key, kn), th_rng_below(&r, N + 2));
    }
    same_iteration(&r, a, b, N);
    free(seqs);
    memtable_unref(a);
    memtable_unref(b);
}

/* Many keys, with overwrites and deletions: every get agrees with what was
 * added.  For the skiplist this drives its key filter through several
 * segments (a small memtable freed first makes the next one's first
 * segment small), so a key in any segment must still be found. */
static void test_many_keys_found(void **state)
{
    memtable *m = mt_new(state);
    char k[32], v[32];
    for (unsigned i = 0; i < 4096; i++) {
        int kn = snprintf(k, sizeof k, "warm%08u", i);
        assert_int_equal(memtable_add(m, i + 1, LSM_TYPE_PUT, slice_make(k, (size_t)kn),
                                      S("w")), 0);
    }
    memtable_unref(m);

    enum { N = 100000 };
    m = mt_new(state);
    uint64_t seq = 1;
    for (unsigned i = 0; i < N; i++) {
        int kn = snprintf(k, sizeof k, "key%010u", i * 7919u % N);
        int vn = snprintf(v, sizeof v, "v%u", i);
        assert_int_equal(memtable_add(m, seq++, LSM_TYPE_PUT, slice_make(k, (size_t)kn),
                                      slice_make(v, (size_t)vn)), 0);
    }
    for (unsigned i = 0; i < N; i += 10) { /* newer versions: deletions */
        int kn = snprintf(k, sizeof k, "key%010u", i);
        assert_int_equal(memtable_add(m, seq++, LSM_TYPE_DELETE, slice_make(k, (size_t)kn),
                                      S("")), 0);
    }
    for (unsigned i = 0; i < N; i++) {
        int kn = snprintf(k, sizeof k, "key%010u", i * 7919u % N);
        int vn = snprintf(v, sizeof v, "v%u", i);
        slice got;
        enum memtable_lookup r = memtable_get(m, slice_make(k, (size_t)kn), seq, &got);
        if ((i * 7919u % N) % 10 == 0) {
            assert_int_equal(r, MEMTABLE_DELETED);
            /* The put is still there below the deletion. */
            r = memtable_get(m, slice_make(k, (size_t)kn), N, &got);
        }
        assert_int_equal(r, MEMTABLE_FOUND);
        assert_int_equal(got.size, (size_t)vn);
        assert_memory_equal(got.data, v, got.size);
    }
    for (unsigned i = 0; i < 1000; i++) {
        int kn = snprintf(k, sizeof k, "nokey%06u", i);
        slice got;
        assert_int_equal(memtable_get(m, slice_make(k, (size_t)kn), seq, &got), MEMTABLE_ABSENT);
    }
    if (strcmp(memtable_impl_name(m), "skiplist") == 0)
        assert_true(memtable_memory_usage(m) > 0); /* the filter is counted */
    memtable_unref(m);
}

/* Every per-implementation test, with the implementation as its state. */
#define PER_IMPL_TESTS(impl)                                             \
    cmocka_unit_test_prestate(test_datadriven, impl),                   \
        cmocka_unit_test_prestate(test_iterator_many, impl),            \
        cmocka_unit_test_prestate(test_counters, impl),                 \
        cmocka_unit_test_prestate(test_refcount, impl),                 \
        cmocka_unit_test_prestate(test_big, impl),                      \
        cmocka_unit_test_prestate(test_freeze, impl),                   \
        cmocka_unit_test_prestate(test_many_keys_found, impl),          \
        cmocka_unit_test_prestate(test_concurrent_get, impl),           \
        cmocka_unit_test_prestate(test_concurrent_iter, impl)

int main(void)
{
    const struct CMUnitTest skiplist_tests[] = { PER_IMPL_TESTS(IMPL_SKIPLIST) };
    const struct CMUnitTest vector_tests[] = {
        PER_IMPL_TESTS(IMPL_VECTOR),
        cmocka_unit_test(test_vector_iter_snapshot),
    };
    const struct CMUnitTest common_tests[] = {
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_differential),
    };
    int failed = cmocka_run_group_tests_name("skiplist", skiplist_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("vector", vector_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("both", common_tests, NULL, NULL);
    return failed;
}
