/*
 * test_getq.c — the non-blocking get queue (lsm_getq_*) against the model
 * of getdb_model.h: many gets started up to the depth (-EAGAIN beyond it),
 * completions found through the eventfd with poll(2), every result equal
 * to lsm_get's, now and at a snapshot, into a caller's buffer (with
 * LSM_ETOOSMALL) or a malloc'd copy; direct I/O readers; destroy with
 * reads in flight; bad arguments; lsm_get_into_cached, the memory-only
 * get an event loop tries first.
 * LSM_TEST_PER_BACKEND
 */
#include "helpers.h"
#include "rng.h"

#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>

#include "getdb_model.h"

#define DEPTH 16

typedef struct req {
    unsigned key;
    const lsm_snapshot *snap;
    char *buf; /* NULL: a malloc'd result */
    size_t cap;
    int done;
} req;

static void check_result(gm_db *g, req *r, const lsm_get_result *res)
{
    const char *want = gm_want(g, r->key, r->snap);
    assert_false(r->done);
    r->done = 1;
    if (!want) {
        assert_int_equal(res->status, LSM_ENOTFOUND);
        assert_null(res->value);
        return;
    }
    size_t wl = strlen(want);
    if (r->buf && wl > r->cap) {
        assert_int_equal(res->status, LSM_ETOOSMALL);
        assert_int_equal(res->value_len, wl);
        return;
    }
    assert_int_equal(res->status, 0);
    assert_int_equal(res->value_len, wl);
    assert_memory_equal(res->value, want, wl);
    if (r->buf)
        assert_ptr_equal(res->value, r->buf);
    else
        lsm_free(res->value);
    /* and lsm_get agrees */
    char k[16];
    int kl = gm_key(k, r->key);
    void *v;
    size_t vl;
    assert_int_equal(lsm_get(g->db, r->snap, k, (size_t)kl, &v, &vl), 0);
    assert_int_equal(vl, wl);
    assert_memory_equal(v, want, wl);
    lsm_free(v);
}

/* Waits on the eventfd, then polls; returns the results handled. */
static size_t wait_and_poll(gm_db *g, lsm_getq *q, req *reqs)
{
    struct pollfd p = { .fd = lsm_getq_fd(q), .events = POLLIN };
    int pr = poll(&p, 1, 10000);
    assert_int_equal(pr, 1); /* something finished within 10 s */
    eventfd_t cnt;
    eventfd_read(p.fd, &cnt);
    lsm_get_result res[5]; /* fewer than the depth: poll keeps the rest */
    size_t got = lsm_getq_poll(q, res, 5);
    for (size_t j = 0; j < got; j++)
        check_result(g, &reqs[(uintptr_t)res[j].user], &res[j]);
    return got;
}

static void run_queue(gm_db *g, uint64_t seed, size_t total)
{
    th_rng rng;
    th_rng_seed(&rng, seed);
    req *reqs = calloc(total, sizeof *reqs);
    char (*bufs)[400] = calloc(total, sizeof *bufs);
    lsm_getq *q;
    assert_int_equal(lsm_getq_new(g->db, DEPTH, &q), 0);
    size_t started = 0, finished = 0;
    while (finished < total) {
        while (started < total) {
            req *r = &reqs[started];
            r->key = (unsigned)th_rng_below(&rng, 2 * g->nkeys);
            r->snap = th_rng_below(&rng, 2) ? g->snap : NULL;
            if (th_rng_below(&rng, 2)) {
                r->buf = bufs[started];
                r->cap = th_rng_below(&rng, 4) ? sizeof bufs[started] : 40;
            }
            char k[16];
            int kl = gm_key(k, r->key);
            unsigned pend = lsm_getq_pending(q);
            int rc = lsm_getq_start(q, r->snap, k, (size_t)kl, r->buf, r->cap,
                                    (void *)(uintptr_t)started);
            if (rc == -EAGAIN) {
                assert_int_equal(pend, DEPTH);
                break;
            }
            assert_int_equal(rc, 0);
            assert_int_equal(lsm_getq_pending(q), pend + 1);
            started++;
        }
        finished += wait_and_poll(g, q, reqs);
    }
    assert_int_equal(lsm_getq_pending(q), 0);
    for (size_t j = 0; j < total; j++)
        assert_true(reqs[j].done);
    lsm_getq_destroy(q);
    free(bufs);
    free(reqs);
}

static unsigned nkeys(void)
{
    return (unsigned)th_env_long("LSM_TEST_SHORT", 0) ? 600 : 2000;
}

static void test_equals_get(void **state)
{
    (void)state;
    uint64_t seed = th_seed();
    gm_db g;
    gm_build(&g, nkeys(), seed);
    gm_cold(&g);
    run_queue(&g, seed, 3000);
    gm_free(&g);
}

/* The io stats of table reads: ops issued and submissions. */
static void table_read_stats(lsm_db *db, unsigned long long *ops, unsigned long long *subs)
{
    char *json;
    assert_int_equal(lsm_stats_json(db, &json), 0);
    *ops = th_json_u64(json, "\"table_read\":{", "\"ops\":");
    *subs = th_json_u64(json, "\"table_read\":{", "\"submissions\":");
    lsm_free(json);
}

/* Plugged, a run of starts holds its block reads and unplug issues them
 * together: on io_uring in one submission (unplugged, each start was its
 * own).  The results still equal lsm_get's. */
static void test_plug_batches(void **state)
{
    (void)state;
    uint64_t seed = th_seed();
    gm_db g;
    gm_build(&g, nkeys(), seed);
    /* Tables open (opening one reads it outside the queue), blocks not
     * cached. */
    char k[16];
    for (unsigned i = 0; i < 2 * g.nkeys; i += 16) {
        void *v = NULL;
        size_t vl;
        int kl = gm_key(k, i);
        int rc = lsm_get(g.db, NULL, k, (size_t)kl, &v, &vl);
        assert_true(rc == 0 || rc == LSM_ENOTFOUND);
        lsm_free(v);
    }
    gm_drop_blocks(&g);
    enum { N = DEPTH };
    req reqs[N] = { 0 };
    lsm_getq *q;
    assert_int_equal(lsm_getq_new(g.db, DEPTH, &q), 0);
    lsm_getq_plug(q);
    for (unsigned i = 0; i < N; i++) {
        reqs[i].key = i * (2 * g.nkeys / N); /* even: written keys, far apart */
        int kl = gm_key(k, reqs[i].key);
        assert_int_equal(lsm_getq_start(q, NULL, k, (size_t)kl, NULL, 0, (void *)(uintptr_t)i), 0);
    }
    unsigned long long ops0, subs0, ops1, subs1;
    bool ring = strcmp(g.base->name, "io_uring") == 0;
    table_read_stats(g.db, &ops0, &subs0);
    lsm_getq_unplug(q);
    table_read_stats(g.db, &ops1, &subs1);
    fprintf(stderr, "unplug issued %llu table reads in %llu submissions (%s)\n", ops1 - ops0,
            subs1 - subs0, ring ? "io_uring" : "posix");
    assert_true(ops1 - ops0 >= 2); /* held until unplug, not issued by start */
    if (ring)
        assert_int_equal(subs1 - subs0, 1);
    size_t finished = 0;
    while (finished < N)
        finished += wait_and_poll(&g, q, reqs);
    lsm_getq_destroy(q);
    gm_free(&g);
}

static void test_direct_io(void **state)
{
    (void)state;
    uint64_t seed = th_seed();
    gm_db g;
    if (!gm_build_direct(&g, nkeys(), seed))
        skip();
    run_queue(&g, seed, 1000);
    gm_assert_all_direct();
    gm_free(&g);
}

/* Destroy with the queue full of gets, most waiting for their reads:
 * nothing leaks (ASan), nothing is left pinned (close succeeds). */
static void test_destroy_in_flight(void **state)
{
    (void)state;
    gm_db g;
    gm_build(&g, nkeys(), 11);
    for (int round = 0; round < 3; round++) {
        gm_cold(&g);
        lsm_getq *q;
        assert_int_equal(lsm_getq_new(g.db, DEPTH, &q), 0);
        char k[16];
        for (unsigned j = 0; j < DEPTH; j++) {
            int kl = gm_key(k, j * 97 % (2 * g.nkeys));
            assert_int_equal(lsm_getq_start(q, NULL, k, (size_t)kl, NULL, 0, NULL), 0);
        }
        int kl = gm_key(k, 0);
        assert_int_equal(lsm_getq_start(q, NULL, k, (size_t)kl, NULL, 0, NULL), -EAGAIN);
        if (round == 1) { /* some finished and not polled too */
            lsm_get_result r[2];
            size_t got = lsm_getq_poll(q, r, 2);
            for (size_t j = 0; j < got; j++)
                lsm_free(r[j].value);
        }
        lsm_getq_destroy(q);
    }
    gm_free(&g);
}

/* A get answered from memory inside start, with no read submitted, still
 * makes the fd readable: a loop that waits only on the fd sees it. */
static void test_memory_get_wakes(void **state)
{
    (void)state;
    gm_db g;
    gm_build(&g, 20, 9);
    assert_int_equal(lsm_put(g.db, "mem", 3, "val", 3, 0), 0);
    lsm_getq *q;
    assert_int_equal(lsm_getq_new(g.db, 4, &q), 0);
    assert_int_equal(lsm_getq_start(q, NULL, "mem", 3, NULL, 0, (void *)7), 0);
    struct pollfd p = { .fd = lsm_getq_fd(q), .events = POLLIN };
    assert_int_equal(poll(&p, 1, 2000), 1);
    eventfd_t cnt;
    eventfd_read(p.fd, &cnt);
    lsm_get_result r;
    assert_int_equal(lsm_getq_poll(q, &r, 1), 1);
    assert_ptr_equal(r.user, (void *)7);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.value_len, 3);
    assert_memory_equal(r.value, "val", 3);
    lsm_free(r.value);
    lsm_getq_destroy(q);
    gm_free(&g);
}

/* lsm_get_into_cached: from memory (the memtables) it equals lsm_get_into;
 * a key whose block is not cached is -EWOULDBLOCK with nothing copied. */
static void test_get_into_cached(void **state)
{
    (void)state;
    gm_db g;
    gm_build(&g, nkeys(), 21);
    gm_drop_blocks(&g);
    unsigned would_block = 0, answered = 0;
    for (unsigned i = 0; i < 2 * g.nkeys; i += 7) {
        char k[16], buf[4096];
        int kl = gm_key(k, i);
        const char *want = gm_want(&g, i, NULL);
        size_t n = 99;
        memset(buf, 'z', 8);
        int rc = lsm_get_into_cached(g.db, NULL, k, (size_t)kl, buf, sizeof buf, &n);
        if (rc == -EWOULDBLOCK) {
            would_block++;
            assert_int_equal(n, 0);
            assert_memory_equal(buf, "zzzzzzzz", 8);
            /* The blocking call reads the block (the cache is too small
             * to keep it for a second look). */
            rc = lsm_get_into(g.db, NULL, k, (size_t)kl, buf, sizeof buf, &n);
        } else {
            answered++;
        }
        if (!want) {
            assert_int_equal(rc, LSM_ENOTFOUND);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(buf, want, n);
        /* A buffer too small: LSM_ETOOSMALL and the length, as lsm_get_into
         * (unless the block is not cached). */
        if (n > 0) {
            size_t n3;
            rc = lsm_get_into_cached(g.db, NULL, k, (size_t)kl, buf, n - 1, &n3);
            if (rc != -EWOULDBLOCK) {
                assert_int_equal(rc, LSM_ETOOSMALL);
                assert_int_equal(n3, n);
            }
        }
    }
    fprintf(stderr, "lsm_get_into_cached: %u would block, %u answered from memory\n",
            would_block, answered);
    assert_true(would_block > 0);
    assert_true(answered > 0);
    assert_int_equal(lsm_get_into_cached(g.db, NULL, "k", 1, NULL, 1, &(size_t){ 0 }), -EINVAL);
    gm_free(&g);
}

static void test_args(void **state)
{
    (void)state;
    gm_db g;
    gm_build(&g, 20, 5);
    lsm_getq *q;
    assert_int_equal(lsm_getq_new(NULL, 4, &q), -EINVAL);
    assert_int_equal(lsm_getq_new(g.db, 0, &q), -EINVAL);
    assert_int_equal(lsm_getq_new(g.db, 4097, &q), -EINVAL);
    assert_int_equal(lsm_getq_new(g.db, 4, &q), 0);
    assert_int_equal(lsm_getq_start(q, NULL, NULL, 3, NULL, 0, NULL), -EINVAL);
    assert_int_equal(lsm_getq_start(q, NULL, "k", 0, NULL, 0, NULL), -EINVAL);
    assert_int_equal(lsm_getq_start(q, NULL, "k", 1, NULL, 8, NULL), -EINVAL);
    assert_int_equal(lsm_getq_pending(q), 0);
    lsm_get_result r;
    assert_int_equal(lsm_getq_poll(q, &r, 1), 0);
    lsm_getq_destroy(q);
    lsm_getq_destroy(NULL);
    gm_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equals_get),
        cmocka_unit_test(test_plug_batches),
        cmocka_unit_test(test_direct_io),
        cmocka_unit_test(test_destroy_in_flight),
        cmocka_unit_test(test_memory_get_wakes),
        cmocka_unit_test(test_get_into_cached),
        cmocka_unit_test(test_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
