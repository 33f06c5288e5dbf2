/*
 * test_model.c — the engine against an in-memory model.
 *
 * Random mixed operations (put, delete, batch, get, forward and reverse
 * bounded scans, snapshot acquire/read/release, flush, compact, reopen and a
 * compaction-style switch) run against a real database with tiny memtables
 * and tables (so many files and levels exist) and against a model: for a
 * fixed key space, the model is the current version number of every key
 * (0 = absent), and a snapshot is a copy of that array.  Every result must
 * equal the model's.  LSM_MODEL_OPS sets operations per configuration
 * (default 200000).  LSM_TEST_PER_BACKEND
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm.h"

#define NKEYS 20000
#define MAX_SNAPS 4

typedef struct model {
    uint32_t ver[NKEYS];
} model;

typedef struct snap {
    lsm_snapshot *s;
    model *m;
} snap;

typedef struct ctx {
    char *dir;
    lsm_db *db;
    lsm_options o;
    model m;
    snap snaps[MAX_SNAPS];
    int nsnaps;
    uint32_t next_ver;
    th_rng rng;
    const char *style;
    long reopens, switches, compacts, flushes, scans;
} ctx;

static size_t key_of(char *buf, int id)
{
    return (size_t)sprintf(buf, "key%06d", id);
}

/* Deterministic value of (key, version); lengths vary from 1 to ~300. */
static size_t value_of(char *buf, int id, uint32_t ver)
{
    int n = sprintf(buf, "v%u.%d:", ver, id);
    int pad = (int)((ver * 2654435761u + (uint32_t)id) % 300);
    memset(buf + n, 'a' + (char)(ver % 26), (size_t)pad);
    return (size_t)(n + pad);
}

static void open_db(ctx *c)
{
    assert_int_equal(lsm_open(c->dir, &c->o, &c->db), 0);
}

static void check_get(ctx *c, const lsm_snapshot *s, const model *m, int id)
{
    char k[16], want[400];
    size_t kn = key_of(k, id);
    void *v = NULL;
    size_t n = 0;
    int rc = lsm_get(c->db, s, k, kn, &v, &n);
    if (m->ver[id] == 0) {
        if (rc != LSM_ENOTFOUND)
            fail_msg("get %s: expected absent, got rc %d (%s)", k, rc, lsm_strerror(rc));
        return;
    }
    if (rc != 0)
        fail_msg("get %s: expected version %u, got %s", k, m->ver[id], lsm_strerror(rc));
    size_t wn = value_of(want, id, m->ver[id]);
    if (n != wn || memcmp(v, want, n) != 0)
        fail_msg("get %s: wrong value (want version %u)", k, m->ver[id]);
    lsm_free(v);
}

/* The next present key id from id in direction dir, within [lo, hi). */
static int model_step(const model *m, int id, int dir, int lo, int hi)
{
    for (; id >= lo && id < hi; id += dir)
        if (m->ver[id])
            return id;
    return -1;
}

static void check_scan(ctx *c, const lsm_snapshot *s, const model *m, int reverse)
{
    int lo = (int)th_rng_below(&c->rng, NKEYS);
    int hi = lo + 1 + (int)th_rng_below(&c->rng, 400);
    if (hi > NKEYS)
        hi = NKEYS;
    char lk[16], hk[16];
    size_t ln = key_of(lk, lo), hn = key_of(hk, hi);
    int open_lo = th_rng_below(&c->rng, 10) == 0, open_hi = th_rng_below(&c->rng, 10) == 0;
    lsm_iter *it;
    assert_int_equal(lsm_iter_new(c->db, s, open_lo ? NULL : lk, open_lo ? 0 : ln,
                                  open_hi ? NULL : hk, open_hi ? 0 : hn, &it),
                     0);
    int mlo = open_lo ? 0 : lo, mhi = open_hi ? NKEYS : hi;
    /* Start at a random seek point half of the time. */
    int start = reverse ? mhi - 1 : mlo;
    if (th_rng_below(&c->rng, 2) && !reverse) {
        start = mlo + (int)th_rng_below(&c->rng, (uint64_t)(mhi - mlo));
        char sk[16];
        size_t sn = key_of(sk, start);
        lsm_iter_seek(it, sk, sn);
    } else if (reverse) {
        lsm_iter_last(it);
    } else {
        lsm_iter_first(it);
    }
    int dir = reverse ? -1 : 1;
    int id = model_step(m, start, dir, mlo, mhi);
    for (int steps = 0; steps < 60; steps++) {
        if (id < 0) {
            assert_false(lsm_iter_valid(it));
            break;
        }
        if (!lsm_iter_valid(it))
            fail_msg("scan ended early: model has key%06d (status %d)", id, lsm_iter_status(it));
        size_t kn, vn;
        const void *k = lsm_iter_key(it, &kn);
        const void *v = lsm_iter_value(it, &vn);
        char want_k[16], want_v[400];
        size_t wkn = key_of(want_k, id), wvn = value_of(want_v, id, m->ver[id]);
        if (kn != wkn || memcmp(k, want_k, kn) != 0)
            fail_msg("scan: got %.*s, model says %s", (int)kn, (const char *)k, want_k);
        assert_int_equal(vn, wvn);
        assert_memory_equal(v, want_v, vn);
        if (reverse)
            lsm_iter_prev(it);
        else
            lsm_iter_next(it);
        id = model_step(m, id + dir, dir, mlo, mhi);
    }
    assert_int_equal(lsm_iter_status(it), 0);
    lsm_iter_free(it);
    c->scans++;
}

static void do_put(ctx *c, lsm_batch *b, int id)
{
    char k[16], v[400];
    uint32_t ver = ++c->next_ver;
    size_t kn = key_of(k, id), vn = value_of(v, id, ver);
    if (b)
        assert_int_equal(lsm_batch_put(b, k, kn, v, vn), 0);
    else
        assert_int_equal(lsm_put(c->db, k, kn, v, vn, 0), 0);
    c->m.ver[id] = ver;
}

static void do_delete(ctx *c, lsm_batch *b, int id)
{
    char k[16];
    size_t kn = key_of(k, id);
    if (b)
        assert_int_equal(lsm_batch_delete(b, k, kn), 0);
    else
        assert_int_equal(lsm_delete(c->db, k, kn, 0), 0);
    c->m.ver[id] = 0;
}

static void release_all(ctx *c)
{
    for (int i = 0; i < c->nsnaps; i++) {
        lsm_snapshot_release(c->db, c->snaps[i].s);
        free(c->snaps[i].m);
    }
    c->nsnaps = 0;
}

static void one_op(ctx *c)
{
    uint64_t r = th_rng_below(&c->rng, 10000);
    /* Skew keys so some are hot (many versions) and most are cold. */
    int id = th_rng_below(&c->rng, 4) ? (int)th_rng_below(&c->rng, NKEYS)
                                       : (int)th_rng_below(&c->rng, 200);
    if (r < 3500) {
        do_put(c, NULL, id);
    } else if (r < 4500) {
        do_delete(c, NULL, id);
    } else if (r < 5000) {
        lsm_batch *b = lsm_batch_new();
        int n = 1 + (int)th_rng_below(&c->rng, 10);
        for (int i = 0; i < n; i++) {
            int k = (int)th_rng_below(&c->rng, NKEYS);
            if (th_rng_below(&c->rng, 4))
                do_put(c, b, k);
            else
                do_delete(c, b, k);
        }
        assert_int_equal(lsm_write(c->db, b, 0), 0);
        lsm_batch_free(b);
    } else if (r < 8000) {
        check_get(c, NULL, &c->m, id);
    } else if (r < 8500) {
        check_scan(c, NULL, &c->m, 0);
    } else if (r < 8800) {
        check_scan(c, NULL, &c->m, 1);
    } else if (r < 9600) {
        if (c->nsnaps == 0)
            return;
        snap *s = &c->snaps[th_rng_below(&c->rng, (uint64_t)c->nsnaps)];
        if (r < 9400)
            check_get(c, s->s, s->m, id);
        else
            check_scan(c, s->s, s->m, (int)(r & 1));
    } else if (r < 9900) {
        if (c->nsnaps < MAX_SNAPS && (r & 1)) {
            snap *s = &c->snaps[c->nsnaps++];
            s->s = lsm_snapshot_acquire(c->db);
            assert_non_null(s->s);
            s->m = malloc(sizeof *s->m);
            memcpy(s->m, &c->m, sizeof c->m);
        } else if (c->nsnaps) {
            int i = (int)th_rng_below(&c->rng, (uint64_t)c->nsnaps);
            lsm_snapshot_release(c->db, c->snaps[i].s);
            free(c->snaps[i].m);
            c->snaps[i] = c->snaps[--c->nsnaps];
        }
    } else if (r < 9930) {
        assert_int_equal(lsm_flush(c->db), 0);
        c->flushes++;
    } else if (r < 9945) {
        int level = (int)th_rng_below(&c->rng, 8) - 1; /* -1 .. 6 */
        assert_int_equal(lsm_compact(c->db, level), 0);
        c->compacts++;
    } else if (r < 9950) {
        release_all(c); /* snapshots do not survive a reopen */
        assert_int_equal(lsm_close(c->db), 0);
        c->o.compaction_style = c->style;
        open_db(c);
        c->reopens++;
    } else if (r < 9955) {
        c->style = strcmp(c->style, "leveled") == 0 ? "tiered" : "leveled";
        assert_int_equal(lsm_set_option(c->db, "compaction_style", c->style), 0);
        c->switches++;
    } else {
        check_get(c, NULL, &c->m, id);
    }
}

static void run_model(const char *style, const char *memtable_impl, long ops)
{
    ctx *c = calloc(1, sizeof *c);
    c->dir = th_tempdir("model");
    th_rng_seed(&c->rng, th_seed());
    lsm_options_init(&c->o);
    c->o.memtable_bytes = 64 << 10;
    c->o.sstable_target_bytes = 64 << 10;
    c->o.level_base_bytes = 256 << 10;
    c->o.block_bytes = 1024;
    c->o.block_cache_bytes = 256 << 10;
    c->o.compaction_style = style;
    c->o.memtable_impl = memtable_impl;
    c->style = style;
    open_db(c);
    for (long i = 0; i < ops; i++)
        one_op(c);
    /* Everything, at the end, through both paths. */
    for (int id = 0; id < NKEYS; id++)
        check_get(c, NULL, &c->m, id);
    release_all(c);
    char *json;
    assert_int_equal(lsm_stats_json(c->db, &json), 0);
    fprintf(stderr, "model %s/%s: %ld ops, %ld flushes, %ld compacts, %ld reopens, %ld switches, "
                    "%ld scans\n%.400s...\n",
            style, memtable_impl, ops, c->flushes, c->compacts, c->reopens, c->switches, c->scans,
            json);
    lsm_free(json);
    assert_int_equal(lsm_close(c->db), 0);
    th_rmrf_free(c->dir);
    free(c);
}

static long model_ops(void)
{
    return th_env_long("LSM_MODEL_OPS", 200000);
}

static void test_model_leveled(void **s) { (void)s; run_model("leveled", "skiplist", model_ops()); }
static void test_model_tiered(void **s) { (void)s; run_model("tiered", "skiplist", model_ops()); }
/* The second memtable implementation passes the same model. */
static void test_model_vector_memtable(void **s)
{
    (void)s;
    run_model("leveled", "vector", model_ops() / 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_leveled),
        cmocka_unit_test(test_model_tiered),
        cmocka_unit_test(test_model_vector_memtable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
