/* test_batch.c — lsm_batch encoding, batch_iterate, batch_append,
 * lsm_batch_append_encoded, limits. */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wal/batch.h"
#include "lsm.h"
#include "wal/wal_format.h"

/* Collects what batch_iterate hands out. */
struct seen {
    int n;
    int stop_at; /* return 42 at this entry; -1 never */
    enum value_type type[16];
    slice key[16];
    slice value[16];
};

static int collect(void *ctx, enum value_type type, slice key, slice value)
{
    struct seen *s = ctx;
    if (s->n == s->stop_at)
        return 42;
    assert_true(s->n < 16);
    s->type[s->n] = type;
    s->key[s->n] = key;
    s->value[s->n] = value;
    s->n++;
    return 0;
}

static void assert_slice_str(slice s, const char *str)
{
    assert_int_equal(s.size, strlen(str));
    assert_memory_equal(s.data, str, s.size);
}

static void test_encoding_exact_bytes(void **state)
{
    (void)state;
    lsm_batch *b = lsm_batch_new();
    assert_non_null(b);
    assert_int_equal(batch_count(b), 0);
    assert_int_equal(batch_payload(b).size, 0);
    assert_int_equal(lsm_batch_put(b, "k", 1, "vv", 2), 0);
    assert_int_equal(lsm_batch_delete(b, "ab", 2), 0);
    assert_int_equal(batch_count(b), 2);

    static const unsigned char want[] = {
        0x01, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 'k', 'v', 'v',
        0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 'a', 'b',
    };
    slice p = batch_payload(b);
    assert_int_equal(p.size, sizeof want);
    assert_memory_equal(p.data, want, sizeof want);
    /* The frame is the payload with WAL_HEADER_SIZE bytes of room in front. */
    assert_ptr_equal(batch_frame(b) + WAL_HEADER_SIZE, p.data);
    lsm_batch_free(b);
}

static void test_put_delete_iterate(void **state)
{
    (void)state;
    lsm_batch *b = lsm_batch_new();
    assert_non_null(b);
    assert_int_equal(lsm_batch_put(b, "alpha", 5, "one", 3), 0);
    assert_int_equal(lsm_batch_put(b, "empty", 5, NULL, 0), 0);
    assert_int_equal(lsm_batch_delete(b, "beta", 4), 0);
    assert_int_equal(batch_put_raw(b, LSM_TYPE_PUT, slice_make("g", 1), slice_make("h", 1)), 0);
    assert_int_equal(batch_count(b), 4);

    struct seen s = { .stop_at = -1 };
    assert_int_equal(batch_iterate(batch_payload(b), batch_count(b), collect, &s), 0);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.type[0], LSM_TYPE_PUT);
    assert_slice_str(s.key[0], "alpha");
    assert_slice_str(s.value[0], "one");
    assert_int_equal(s.type[1], LSM_TYPE_PUT);
    assert_slice_str(s.key[1], "empty");
    assert_int_equal(s.value[1].size, 0);
    assert_int_equal(s.type[2], LSM_TYPE_DELETE);
    assert_slice_str(s.key[2], "beta");
    assert_int_equal(s.value[2].size, 0);
    assert_slice_str(s.key[3], "g");
    assert_slice_str(s.value[3], "h");
    /* Slices point into the payload, not at copies. */
    slice p = batch_payload(b);
    assert_true(s.key[0].data >= p.data && s.key[0].data < p.data + p.size);

    /* validate-only walk */
    assert_int_equal(batch_iterate(p, 4, NULL, NULL), 0);

    /* fn's nonzero return stops the walk and is returned */
    struct seen s2 = { .stop_at = 2 };
    assert_int_equal(batch_iterate(p, 4, collect, &s2), 42);
    assert_int_equal(s2.n, 2);
    lsm_batch_free(b);
}

static void test_many_entries_growth(void **state)
{
    (void)state;
    lsm_batch *b = lsm_batch_new();
    assert_non_null(b);
    char key[32], val[200];
    memset(val, 'x', sizeof val);
    size_t want_len = 0;
    for (int i = 0; i < 10000; i++) {
        int kl = snprintf(key, sizeof key, "key%06d", i);
        size_t vl = (size_t)(i % 200);
        if (i % 7 == 0) {
            assert_int_equal(lsm_batch_delete(b, key, (size_t)kl), 0);
            vl = 0;
        } else {
            assert_int_equal(lsm_batch_put(b, key, (size_t)kl, val, vl), 0);
        }
        want_len += BATCH_ENTRY_HEADER_SIZE + (size_t)kl + vl;
    }
    assert_int_equal(batch_count(b), 10000);
    assert_int_equal(batch_payload(b).size, want_len);
    assert_int_equal(batch_iterate(batch_payload(b), 10000, NULL, NULL), 0);
    assert_int_equal(batch_iterate(batch_payload(b), 9999, NULL, NULL), LSM_ECORRUPT);
    assert_int_equal(batch_iterate(batch_payload(b), 10001, NULL, NULL), LSM_ECORRUPT);
    lsm_batch_free(b);
}

static void test_clear_keeps_capacity(void **state)
{
    (void)state;
    lsm_batch *b = lsm_batch_new();
    assert_non_null(b);
    char val[4096] = { 0 };
    for (int i = 0; i < 64; i++)
        assert_int_equal(lsm_batch_put(b, "k", 1, val, sizeof val), 0);
    char *frame = batch_frame(b);
    lsm_batch_clear(b);
    assert_int_equal(batch_count(b), 0);
    assert_int_equal(batch_payload(b).size, 0);
    assert_int_equal(batch_iterate(batch_payload(b), 0, NULL, NULL), 0);
    /* Refilling to the same size reuses the buffer: no reallocation. */
    for (int i = 0; i < 64; i++)
        assert_int_equal(lsm_batch_put(b, "k", 1, val, sizeof val), 0);
    assert_ptr_equal(batch_frame(b), frame);
    assert_int_equal(batch_count(b), 64);
    lsm_batch_clear(NULL);
    lsm_batch_free(b);
    lsm_batch_free(NULL);
}

static void test_append(void **state)
{
    (void)state;
    lsm_batch *a = lsm_batch_new(), *b = lsm_batch_new(), *empty = lsm_batch_new();
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(empty);
    assert_int_equal(lsm_batch_put(a, "a1", 2, "x", 1), 0);
    assert_int_equal(lsm_batch_delete(a, "a2", 2), 0);
    char big[1000];
    memset(big, 'b', sizeof big);
    assert_int_equal(lsm_batch_put(b, "b1", 2, big, sizeof big), 0);

    size_t alen = batch_payload(a).size, blen = batch_payload(b).size;
    assert_int_equal(batch_append(a, b), 0);
    assert_int_equal(batch_count(a), 3);
    assert_int_equal(batch_payload(a).size, alen + blen);
    assert_memory_equal(batch_payload(a).data + alen, batch_payload(b).data, blen);
    assert_int_equal(batch_append(a, empty), 0);
    assert_int_equal(batch_count(a), 3);
    assert_int_equal(batch_append(empty, b), 0);
    assert_int_equal(batch_count(empty), 1);
    assert_memory_equal(batch_payload(empty).data, batch_payload(b).data, blen);

    struct seen s = { .stop_at = -1 };
    assert_int_equal(batch_iterate(batch_payload(a), batch_count(a), collect, &s), 0);
    assert_int_equal(s.n, 3);
    assert_slice_str(s.key[0], "a1");
    assert_int_equal(s.type[1], LSM_TYPE_DELETE);
    assert_slice_str(s.key[2], "b1");
    assert_int_equal(s.value[2].size, sizeof big);
    lsm_batch_free(a);
    lsm_batch_free(b);
    lsm_batch_free(empty);
}

static void assert_unchanged(lsm_batch *b, uint32_t count, size_t len)
{
    assert_int_equal(batch_count(b), count);
    assert_int_equal(batch_payload(b).size, len);
}

static void test_size_limits(void **state)
{
    (void)state;
    lsm_batch *b = lsm_batch_new();
    assert_non_null(b);
    assert_int_equal(lsm_batch_put(b, "k", 1, "v", 1), 0);
    size_t len = batch_payload(b).size;

    char *key = malloc(LSM_MAX_KEY_SIZE + 1);
    assert_non_null(key);
    memset(key, 'k', LSM_MAX_KEY_SIZE + 1);
    assert_int_equal(lsm_batch_put(b, key, 0, "v", 1), -EINVAL);
    assert_int_equal(lsm_batch_delete(b, key, 0), -EINVAL);
    assert_int_equal(lsm_batch_put(b, NULL, 1, "v", 1), -EINVAL);
    assert_int_equal(lsm_batch_put(b, key, LSM_MAX_KEY_SIZE + 1, "v", 1), -EINVAL);
    assert_int_equal(lsm_batch_delete(b, key, LSM_MAX_KEY_SIZE + 1), -EINVAL);
    assert_int_equal(lsm_batch_put(b, "k", 1, NULL, 1), -EINVAL);
    assert_int_equal(lsm_batch_put(NULL, "k", 1, "v", 1), -EINVAL);
    assert_int_equal(lsm_batch_put(b, "k", 1, "v", (size_t)LSM_MAX_VALUE_SIZE + 1), -EINVAL);
    assert_int_equal(batch_put_raw(b, LSM_TYPE_DELETE, slice_make("k", 1), slice_make("v", 1)),
                     -EINVAL);
    assert_int_equal(batch_put_raw(b, (enum value_type)7, slice_make("k", 1), slice_make("", 0)),
                     -EINVAL);
    assert_unchanged(b, 1, len);

    /* The largest key and value are accepted and round-trip. */
    char *val = malloc(LSM_MAX_VALUE_SIZE);
    assert_non_null(val);
    memset(val, 'v', LSM_MAX_VALUE_SIZE);
    val[LSM_MAX_VALUE_SIZE - 1] = 'z';
    assert_int_equal(lsm_batch_put(b, key, LSM_MAX_KEY_SIZE, val, LSM_MAX_VALUE_SIZE), 0);
    assert_int_equal(lsm_batch_delete(b, key, LSM_MAX_KEY_SIZE), 0);
    assert_int_equal(batch_count(b), 3);
    struct seen s = { .stop_at = -1 };
    assert_int_equal(batch_iterate(batch_payload(b), 3, collect, &s), 0);
    assert_int_equal(s.key[1].size, LSM_MAX_KEY_SIZE);
    assert_int_equal(s.value[1].size, LSM_MAX_VALUE_SIZE);
    assert_memory_equal(s.value[1].data, val, LSM_MAX_VALUE_SIZE);
    assert_int_equal(s.type[2], LSM_TYPE_DELETE);
    free(key);
    free(val);
    lsm_batch_free(b);
}

/* Fills a batch to exactly BATCH_MAX_BYTES (about 1 GiB of memory).
 * Not under TSan: one thread copying 1 GiB through its instrumentation
 * takes half a minute and looks for nothing TSan finds; the plain and
 * ASan runs keep it. */
static void test_batch_byte_limit(void **state)
{
    (void)state;
#if defined(__SANITIZE_THREAD__)
    skip();
#endif
    if (th_env_long("LSM_TEST_SMALL_MEMORY", 0))
        skip();
    lsm_batch *b = lsm_batch_new(), *small = lsm_batch_new();
    assert_non_null(b);
    assert_non_null(small);
    assert_int_equal(lsm_batch_put(small, "s", 1, "t", 1), 0);
    char *val = calloc(1, LSM_MAX_VALUE_SIZE);
    assert_non_null(val);
    const size_t entry = BATCH_ENTRY_HEADER_SIZE + 1 + LSM_MAX_VALUE_SIZE;
    uint32_t n = 0;
    while (batch_payload(b).size + entry <= BATCH_MAX_BYTES) {
        assert_int_equal(lsm_batch_put(b, "k", 1, val, LSM_MAX_VALUE_SIZE), 0);
        n++;
    }
    size_t len = batch_payload(b).size;
    assert_int_equal(lsm_batch_put(b, "k", 1, val, LSM_MAX_VALUE_SIZE), -EINVAL);
    assert_unchanged(b, n, len);
    /* Top up to exactly the limit: accepted; one byte more is not. */
    size_t rest = BATCH_MAX_BYTES - len - BATCH_ENTRY_HEADER_SIZE - 1;
    assert_int_equal(lsm_batch_put(b, "k", 1, val, rest), 0);
    assert_int_equal(batch_payload(b).size, BATCH_MAX_BYTES);
    assert_int_equal(lsm_batch_delete(b, "k", 1), -EINVAL);
    assert_int_equal(batch_append(b, small), -EINVAL);
    slice sp = batch_payload(small);
    assert_int_equal(lsm_batch_append_encoded(b, sp.data, sp.size, 1), -E2BIG);
    assert_unchanged(b, n + 1, BATCH_MAX_BYTES);
    assert_int_equal(batch_append(small, b), -EINVAL);
    assert_unchanged(small, 1, BATCH_ENTRY_HEADER_SIZE + 2);
    assert_int_equal(batch_iterate(batch_payload(b), n + 1, NULL, NULL), 0);
    free(val);
    lsm_batch_free(b);
    lsm_batch_free(small);
}

/* One malformed payload per row; each must be LSM_ECORRUPT. */
struct malformed {
    const char *what;
    unsigned char bytes[24];
    size_t len;
    uint32_t count;
};
static const struct malformed rows[] = {
        { "truncated entry header", { 1, 1, 0, 0, 0, 0, 0, 0 }, 8, 1 },
        { "truncated key", { 1, 2, 0, 0, 0, 0, 0, 0, 0, 'k' }, 10, 1 },
        { "truncated value", { 1, 1, 0, 0, 0, 2, 0, 0, 0, 'k', 'v' }, 11, 1 },
        { "unknown type", { 2, 1, 0, 0, 0, 0, 0, 0, 0, 'k' }, 10, 1 },
        { "empty key", { 1, 0, 0, 0, 0, 0, 0, 0, 0 }, 9, 1 },
        { "key over the limit", { 1, 1, 0, 1, 0, 0, 0, 0, 0, 'k' }, 10, 1 },
        { "value over the limit", { 1, 1, 0, 0, 0, 1, 0, 0, 4, 'k' }, 10, 1 },
        { "huge lengths", { 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'k' }, 10, 1 },
        { "delete with a value", { 0, 1, 0, 0, 0, 1, 0, 0, 0, 'k', 'v' }, 11, 1 },
        { "fewer entries than count", { 0, 1, 0, 0, 0, 0, 0, 0, 0, 'k' }, 10, 2 },
        { "trailing bytes", { 0, 1, 0, 0, 0, 0, 0, 0, 0, 'k', 0 }, 11, 1 },
        { "count 1, empty payload", { 0 }, 0, 1 },
        { "count 0, bytes present", { 0, 1, 0, 0, 0, 0, 0, 0, 0, 'k' }, 10, 0 },
};

static void test_iterate_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct seen s = { .stop_at = -1 };
        int rc = batch_iterate(slice_make(rows[i].bytes, rows[i].len), rows[i].count, collect, &s);
        if (rc != LSM_ECORRUPT)
            fail_msg("row '%s': got %d, want LSM_ECORRUPT", rows[i].what, rc);
    }
    /* The well-formed counterparts pass. */
    static const unsigned char ok[] = { 0, 1, 0, 0, 0, 0, 0, 0, 0, 'k' };
    assert_int_equal(batch_iterate(slice_make(ok, sizeof ok), 1, NULL, NULL), 0);
    assert_int_equal(batch_iterate(slice_make(NULL, 0), 0, NULL, NULL), 0);
}

/* lsm_batch_append_encoded: a well-formed payload lands byte for byte after
 * what the batch held; every malformed row is refused whole. */
static void test_append_encoded(void **state)
{
    (void)state;
    lsm_batch *src = lsm_batch_new(), *dst = lsm_batch_new();
    assert_non_null(src);
    assert_non_null(dst);
    assert_int_equal(lsm_batch_put(src, "k1", 2, "v1", 2), 0);
    assert_int_equal(lsm_batch_delete(src, "k2", 2), 0);
    assert_int_equal(lsm_batch_put(src, "k3", 2, "", 0), 0);
    assert_int_equal(lsm_batch_put(dst, "first", 5, "x", 1), 0);
    size_t len0 = batch_payload(dst).size;
    slice sp = batch_payload(src);

    assert_int_equal(lsm_batch_append_encoded(dst, sp.data, sp.size, 3), 0);
    assert_unchanged(dst, 4, len0 + sp.size);
    assert_memory_equal(batch_payload(dst).data + len0, sp.data, sp.size);
    struct seen s = { .stop_at = -1 };
    assert_int_equal(batch_iterate(batch_payload(dst), 4, collect, &s), 0);
    assert_slice_str(s.key[0], "first");
    assert_slice_str(s.key[2], "k2");
    assert_int_equal(s.type[2], LSM_TYPE_DELETE);
    assert_slice_str(s.value[1], "v1");

    /* Empty: a no-op, also with a NULL pointer. */
    assert_int_equal(lsm_batch_append_encoded(dst, NULL, 0, 0), 0);
    assert_int_equal(lsm_batch_append_encoded(dst, sp.data, 0, 0), 0);
    assert_unchanged(dst, 4, len0 + sp.size);

    /* Refusals leave dst as it was. */
    size_t len1 = batch_payload(dst).size;
    assert_int_equal(lsm_batch_append_encoded(NULL, sp.data, sp.size, 3), -EINVAL);
    assert_int_equal(lsm_batch_append_encoded(dst, NULL, 10, 1), -EINVAL);
    assert_int_equal(lsm_batch_append_encoded(dst, sp.data, sp.size, 2), LSM_ECORRUPT);
    assert_int_equal(lsm_batch_append_encoded(dst, sp.data, sp.size, 4), LSM_ECORRUPT);
    assert_int_equal(lsm_batch_append_encoded(dst, sp.data, sp.size - 1, 3), LSM_ECORRUPT);
    assert_int_equal(lsm_batch_append_encoded(dst, NULL, 0, 1), LSM_ECORRUPT);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int rc = lsm_batch_append_encoded(dst, rows[i].bytes, rows[i].len, rows[i].count);
        if (rc != LSM_ECORRUPT)
            fail_msg("row '%s': got %d, want LSM_ECORRUPT", rows[i].what, rc);
    }
    assert_unchanged(dst, 4, len1);
    /* ... and it still takes a good payload after them. */
    assert_int_equal(lsm_batch_append_encoded(dst, sp.data, sp.size, 3), 0);
    assert_unchanged(dst, 7, len1 + sp.size);
    assert_int_equal(batch_iterate(batch_payload(dst), 7, NULL, NULL), 0);
    lsm_batch_free(src);
    lsm_batch_free(dst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoding_exact_bytes),
        cmocka_unit_test(test_put_delete_iterate),
        cmocka_unit_test(test_many_entries_growth),
        cmocka_unit_test(test_clear_keeps_capacity),
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_batch_byte_limit),
        cmocka_unit_test(test_iterate_malformed),
        cmocka_unit_test(test_append_encoded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
