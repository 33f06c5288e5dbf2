/*
 * test_multi_get.c — lsm_multi_get against the model of getdb_model.h and
 * against lsm_get, key by key: present, deleted and absent keys across the
 * memtable, a frozen memtable, level 0 and the deepest level, now and at a
 * snapshot; duplicates; n = 0 and bad arguments; one shared read for keys
 * that want the same block; direct I/O readers; the stats.
 * LSM_TEST_PER_BACKEND
 */
#include "helpers.h"
#include "rng.h"

#include <pthread.h>

#include "getdb_model.h"

static unsigned nkeys(void)
{
    return (unsigned)th_env_long("LSM_TEST_SHORT", 0) ? 600 : 3000;
}

/* lsm_get of key i (at snap), checked against the model; returns the
 * status, and the value (malloc'd) in *v. */
static int get_one(gm_db *g, const lsm_snapshot *snap, unsigned i, void **v, size_t *vl)
{
    char k[16];
    int kl = gm_key(k, i);
    *v = NULL;
    *vl = 0;
    int rc = lsm_get(g->db, snap, k, (size_t)kl, v, vl);
    const char *want = gm_want(g, i, snap);
    if (!want) {
        assert_int_equal(rc, LSM_ENOTFOUND);
    } else {
        assert_int_equal(rc, 0);
        assert_int_equal(*vl, strlen(want));
        assert_memory_equal(*v, want, *vl);
    }
    return rc;
}

/* A multi-get of idx[0..n) compared with the model and with lsm_get. */
static void check_batch(gm_db *g, const lsm_snapshot *snap, const unsigned *idx, size_t n)
{
    char (*kb)[16] = malloc((n ? n : 1) * sizeof *kb);
    const void **keys = calloc(n ? n : 1, sizeof *keys);
    size_t *kl = calloc(n ? n : 1, sizeof *kl);
    void **vals = malloc((n ? n : 1) * sizeof *vals);
    size_t *vl = malloc((n ? n : 1) * sizeof *vl);
    int *st = malloc((n ? n : 1) * sizeof *st);
    for (size_t j = 0; j < n; j++) {
        kl[j] = (size_t)gm_key(kb[j], idx[j]);
        keys[j] = kb[j];
        st[j] = 12345;
    }
    assert_int_equal(lsm_multi_get(g->db, snap, n, keys, kl, vals, vl, st), 0);
    for (size_t j = 0; j < n; j++) {
        void *v;
        size_t len;
        int rc = get_one(g, snap, idx[j], &v, &len);
        assert_int_equal(st[j], rc);
        if (rc == 0) {
            assert_int_equal(vl[j], len);
            assert_memory_equal(vals[j], v, len);
            lsm_free(vals[j]);
        } else {
            assert_null(vals[j]);
        }
        lsm_free(v);
    }
    free(kb);
    free(keys);
    free(kl);
    free(vals);
    free(vl);
    free(st);
}

/* Random batches of every size up to 200, with duplicates, now and at the
 * snapshot, from a cold cache each time. */
static void run_random(gm_db *g, uint64_t seed)
{
    th_rng rng;
    th_rng_seed(&rng, seed ^ 0x5eed);
    unsigned idx[200];
    for (int round = 0; round < 24; round++) {
        size_t n = th_rng_below(&rng, 200) + 1;
        for (size_t j = 0; j < n; j++)
            idx[j] = j > 0 && th_rng_below(&rng, 10) == 0
                         ? idx[th_rng_below(&rng, j)]                 /* a duplicate */
                         : (unsigned)th_rng_below(&rng, 2 * g->nkeys); /* odd: absent */
        gm_cold(g);
        check_batch(g, round % 2 ? g->snap : NULL, idx, n);
    }
    /* Every key, in order, both views. */
    unsigned *all = malloc(2 * g->nkeys * sizeof *all);
    for (unsigned i = 0; i < 2 * g->nkeys; i++)
        all[i] = i;
    gm_cold(g);
    check_batch(g, NULL, all, 2 * g->nkeys);
    check_batch(g, g->snap, all, 2 * g->nkeys);
    free(all);
}

static void test_equals_get(void **state)
{
    (void)state;
    uint64_t seed = th_seed();
    gm_db g;
    gm_build(&g, nkeys(), seed);
    run_random(&g, seed);
    gm_free(&g);
}

/* Readers opened with O_DIRECT (every block read an aligned span). */
static void test_direct_io(void **state)
{
    (void)state;
    uint64_t seed = th_seed();
    gm_db g;
    if (!gm_build_direct(&g, nkeys(), seed))
        skip();
    unsigned idx[64];
    for (unsigned j = 0; j < 64; j++)
        idx[j] = j * 2;
    check_batch(&g, NULL, idx, 64);
    gm_assert_all_direct(); /* every table reader is direct */
    run_random(&g, seed);
    gm_free(&g);
}

/* n = 0, bad call arguments (-EINVAL, nothing touched), bad keys (their
 * own -EINVAL, the others answered). */
static void test_args(void **state)
{
    (void)state;
    gm_db g;
    gm_build(&g, 50, 1);
    assert_int_equal(lsm_multi_get(g.db, NULL, 0, NULL, NULL, NULL, NULL, NULL), 0);
    const void *keys[4] = { "k00000000", NULL, "", "k00000002" };
    size_t kl[4] = { 9, 9, 0, 9 };
    void *vals[4];
    size_t vl[4];
    int st[4];
    assert_int_equal(lsm_multi_get(NULL, NULL, 4, keys, kl, vals, vl, st), -EINVAL);
    assert_int_equal(lsm_multi_get(g.db, NULL, 4, NULL, kl, vals, vl, st), -EINVAL);
    assert_int_equal(lsm_multi_get(g.db, NULL, 4, keys, NULL, vals, vl, st), -EINVAL);
    assert_int_equal(lsm_multi_get(g.db, NULL, 4, keys, kl, NULL, vl, st), -EINVAL);
    assert_int_equal(lsm_multi_get(g.db, NULL, 4, keys, kl, vals, NULL, st), -EINVAL);
    assert_int_equal(lsm_multi_get(g.db, NULL, 4, keys, kl, vals, vl, NULL), -EINVAL);
    assert_int_equal(lsm_multi_get(g.db, NULL, LSM_MULTI_GET_MAX + 1, keys, kl, vals, vl, st),
                     -EINVAL);
    char big[LSM_MAX_KEY_SIZE + 1];
    memset(big, 'k', sizeof big);
    keys[2] = big;
    kl[2] = sizeof big;
    assert_int_equal(lsm_multi_get(g.db, NULL, 4, keys, kl, vals, vl, st), 0);
    assert_int_equal(st[1], -EINVAL);
    assert_int_equal(st[2], -EINVAL);
    assert_null(vals[1]);
    for (int j = 0; j < 4; j += 3) {
        void *v;
        size_t len;
        assert_int_equal(st[j], get_one(&g, NULL, (unsigned)j * 2 / 3, &v, &len));
        if (st[j] == 0) {
            assert_int_equal(vl[j], len);
            assert_memory_equal(vals[j], v, len);
            lsm_free(vals[j]);
        }
        lsm_free(v);
    }
    gm_free(&g);
}

/* 64 copies of a key whose block is not cached cost one read of it: the
 * fault backend counts the reads. */
static void test_duplicates_share_a_read(void **state)
{
    (void)state;
    gm_db g;
    gm_build(&g, 2000, 7);
    /* A key that only the deepest level holds, present. */
    unsigned key = 0;
    char pre[32];
    for (; key < 4000; key += 2) {
        snprintf(pre, sizeof pre, "v%u.0.", key);
        if (g.now[key] && !strncmp(g.now[key], pre, strlen(pre)))
            break;
    }
    assert_true(key < 4000);
    void *v;
    size_t len;
    get_one(&g, NULL, key, &v, &len); /* opens the tables */
    lsm_free(v);
    gm_drop_blocks(&g);
    uint64_t before = io_fault_ops(g.fault);
    get_one(&g, NULL, key, &v, &len);
    lsm_free(v);
    uint64_t one = io_fault_ops(g.fault) - before;
    gm_drop_blocks(&g);
    before = io_fault_ops(g.fault);
    char k[16];
    int kl = gm_key(k, key);
    const void *keys[64];
    size_t kls[64];
    void *vals[64];
    size_t vl[64];
    int st[64];
    for (int j = 0; j < 64; j++) {
        keys[j] = k;
        kls[j] = (size_t)kl;
    }
    assert_int_equal(lsm_multi_get(g.db, NULL, 64, keys, kls, vals, vl, st), 0);
    uint64_t many = io_fault_ops(g.fault) - before;
    for (int j = 0; j < 64; j++) {
        assert_int_equal(st[j], 0);
        assert_int_equal(vl[j], strlen(g.now[key]));
        assert_memory_equal(vals[j], g.now[key], vl[j]);
        lsm_free(vals[j]);
    }
    /* The batch of 64 reads no more than the lone get did. */
    assert_true(one >= 1);
    if (many > one)
        fail_msg("64 copies of a key: %llu reads, a lone get: %llu", (unsigned long long)many,
                 (unsigned long long)one);
    gm_free(&g);
}

/* A block read that fails in the middle of a multi-get fails only the keys
 * that needed it (each with the error, never a wrong value), and the call
 * returns (alarm() turns a hang into a failure).  Review found that a
 * failed leader could stay in the table of reads in flight under another
 * block's name, stranding a later key that waited on that block; this
 * sweep of failure points did not happen to hit that collision before the
 * fix, so it guards the failure path in general. */
static void test_failed_reads(void **state)
{
    (void)state;
    gm_db g;
    gm_build(&g, 2000, 11);
    unsigned n = 2 * g.nkeys;
    char (*kb)[16] = malloc(n * sizeof *kb);
    const void **keys = malloc(n * sizeof *keys);
    size_t *kl = malloc(n * sizeof *kl), *vl = malloc(n * sizeof *vl);
    void **vals = malloc(n * sizeof *vals);
    int *st = malloc(n * sizeof *st);
    for (unsigned j = 0; j < n; j++) {
        kl[j] = (size_t)gm_key(kb[j], j);
        keys[j] = kb[j];
    }
    assert_int_equal(lsm_multi_get(g.db, NULL, n, keys, kl, vals, vl, st), 0); /* opens */
    for (unsigned j = 0; j < n; j++)
        lsm_free(vals[j]);
    alarm(120);
    unsigned failed_calls = 0;
    for (uint64_t nth = 1; nth <= 48; nth++) {
        gm_drop_blocks(&g);
        io_fault_arm(g.fault, nth, EIO, 0);
        assert_int_equal(lsm_multi_get(g.db, NULL, n, keys, kl, vals, vl, st), 0);
        io_fault_arm(g.fault, 0, 0, 0);
        unsigned failed = 0;
        for (unsigned j = 0; j < n; j++) {
            const char *want = gm_want(&g, j, NULL);
            if (st[j] < 0 && st[j] != LSM_ENOTFOUND) {
                assert_int_equal(st[j], -EIO);
                assert_null(vals[j]);
                failed++;
            } else if (!want) {
                assert_int_equal(st[j], LSM_ENOTFOUND);
            } else {
                assert_int_equal(st[j], 0);
                assert_int_equal(vl[j], strlen(want));
                assert_memory_equal(vals[j], want, vl[j]);
                lsm_free(vals[j]);
            }
        }
        failed_calls += failed > 0;
    }
    alarm(0);
    assert_true(failed_calls > 0);
    free(kb);
    free(keys);
    free(kl);
    free(vl);
    free(vals);
    free(st);
    gm_free(&g);
}

/* Every key of a multi-get counts as a get, with a latency, as lsm_get. */
static void test_stats(void **state)
{
    (void)state;
    gm_db g;
    gm_build(&g, 50, 3);
    char *j0, *j1;
    assert_int_equal(lsm_stats_json(g.db, &j0), 0);
    unsigned idx[10] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 8 };
    check_batch(&g, NULL, idx, 10); /* 10 multi + 10 lsm_get */
    assert_int_equal(lsm_stats_json(g.db, &j1), 0);
    assert_int_equal(th_json_u64(j1, "\"latency_ns\":{", "\"count\":") -
                         th_json_u64(j0, "\"latency_ns\":{", "\"count\":"),
                     20);
    free(j0);
    free(j1);
    gm_free(&g);
}

/* Multi-gets from two threads at once (each borrows its own queue from the
 * pool) while a third writes and flushes: the snapshot's view holds. */
struct mt_arg {
    gm_db *g;
    uint64_t seed;
};

static void *mt_reader(void *p)
{
    struct mt_arg *a = p;
    th_rng rng;
    th_rng_seed(&rng, a->seed);
    unsigned idx[48];
    for (int round = 0; round < 20; round++) {
        for (int j = 0; j < 48; j++)
            idx[j] = (unsigned)th_rng_below(&rng, 2 * a->g->nkeys);
        check_batch(a->g, a->g->snap, idx, 48);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    uint64_t seed = th_seed();
    gm_db g;
    gm_build(&g, 400, seed);
    gm_release_flush(&g);
    pthread_t t[2];
    struct mt_arg a[2] = { { &g, seed + 1 }, { &g, seed + 2 } };
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, mt_reader, &a[i]), 0);
    char k[16];
    for (unsigned i = 0; i < 3000; i++) {
        int kl = snprintf(k, sizeof k, "z%08u", i);
        assert_int_equal(lsm_put(g.db, k, (size_t)kl, "w", 1, 0), 0);
        if (i % 1000 == 999)
            assert_int_equal(lsm_flush(g.db), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    gm_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equals_get),
        cmocka_unit_test(test_direct_io),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_duplicates_share_a_read),
        cmocka_unit_test(test_failed_reads),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
