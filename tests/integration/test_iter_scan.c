/*
 * test_iter_scan.c — short scans in one round trip (SHM_OP_ITER_SCAN,
 * lsmd_scan) through a real lsmd and real client processes.
 *
 *   - a scan whose first page holds all it asked for leaves no iterator
 *     on the daemon (the client's "iters" in the stats stays 0, with no
 *     ITER_CLOSE sent); one that does not keeps exactly one, which
 *     ITER_NEXT continues;
 *   - hundreds of scans (bounds, seek keys, limits, budgets, reverse, one
 *     page) give exactly what the embedded engine gives for the same
 *     writes, including values larger than a page;
 *   - a scan at a snapshot shows the old values while another process
 *     overwrites every key;
 *   - a budget smaller than one entry returns that one entry;
 *   - iterators left open still count against the per-client limit, and
 *     short scans do not;
 *   - bad descriptors are refused with -EINVAL and the daemon goes on;
 *   - lsmd_submit_scan: hundreds of short scans in flight beside gets,
 *     completing in any order, each exactly the engine's entries that fit
 *     its slot (LSM_ETOOSMALL with the bytes needed when the first entry
 *     does not), at a snapshot while keys are overwritten, and never an
 *     iterator left on the daemon.
 */
#include "helpers.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "daemon.h"
#include "harness.h"
#include "lsm.h"

#define NKEYS 3000          /* keys k000000, k000002, ... (even numbers) */
#define BIG_EVERY 401       /* every so many keys a value above a page */
#define BIG_VALUE (300 * 1024)
#define SCAN_PAGE 262144u   /* lsmd_scan's page with budget 0 (scan.c) */

static th_daemon g_d;
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_BIN, .tag = "iterscan", .start = true };

static int key_of(char *buf, size_t n, int k)
{
    return snprintf(buf, n, "k%06d", 2 * k);
}

/* The value of key k at generation gen: small, or BIG_VALUE bytes. */
static size_t value_of(char *buf, int gen, int k)
{
    size_t n = k % BIG_EVERY == 7 ? BIG_VALUE : 10 + (size_t)(k * 37 % 190);
    int m = snprintf(buf, n, "g%d-%d|", gen, k);
    for (size_t i = (size_t)m; i < n; i++)
        buf[i] = (char)('a' + (i + (size_t)k) % 26);
    return n;
}

/* ---- collecting results ---------------------------------------------------- */

typedef struct entry {
    char *k, *v;
    size_t kl, vl;
} entry;

typedef struct result {
    entry *e;
    size_t n, cap;
} result;

static void result_add(result *r, const void *k, size_t kl, const void *v, size_t vl)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->e = realloc(r->e, r->cap * sizeof *r->e);
        assert_non_null(r->e);
    }
    entry *e = &r->e[r->n++];
    e->k = malloc(kl + 1);
    e->v = malloc(vl + 1);
    assert_true(e->k && e->v);
    memcpy(e->k, k, kl);
    memcpy(e->v, v, vl);
    e->kl = kl;
    e->vl = vl;
}

static void result_free(result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->e[i].k);
        free(r->e[i].v);
    }
    free(r->e);
    *r = (result){ 0 };
}

static int collect(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
    result_add(arg, k, kl, v, vl);
    return 0;
}

static void expect_same(const result *got, const result *want, const char *what)
{
    if (got->n != want->n)
        fail_msg("%s: %zu entries, want %zu", what, got->n, want->n);
    for (size_t i = 0; i < got->n; i++) {
        const entry *g = &got->e[i], *w = &want->e[i];
        if (g->kl != w->kl || memcmp(g->k, w->k, g->kl) != 0)
            fail_msg("%s: entry %zu key %.*s, want %.*s", what, i, (int)g->kl, g->k,
                     (int)w->kl, w->k);
        if (g->vl != w->vl || memcmp(g->v, w->v, g->vl) != 0)
            fail_msg("%s: entry %zu (%.*s) value differs (%zu / %zu bytes)", what, i,
                     (int)g->kl, g->k, g->vl, w->vl);
    }
}

/* ---- the embedded model ---------------------------------------------------- */

typedef struct scan_args {
    const char *lo, *hi, *seek;  /* NULL = none */
    uint64_t max;
    size_t budget;
    int flags;
} scan_args;

static size_t slen(const char *s)
{
    return s ? strlen(s) : 0;
}

/* What lsmd_scan must give: the engine's entries from the seek position,
 * at most max, and with LSMD_SCAN_ONE_PAGE only what one page holds. */
static void model_scan(lsm_db *db, const lsm_snapshot *snap, const scan_args *a, result *out)
{
    lsm_iter *it;
    assert_int_equal(lsm_iter_new(db, snap, a->lo, slen(a->lo), a->hi, slen(a->hi), &it), 0);
    bool rev = a->flags & LSMD_ITER_REVERSE;
    if (!a->seek) {
        if (rev)
            lsm_iter_last(it);
        else
            lsm_iter_first(it);
    } else {
        lsm_iter_seek(it, a->seek, strlen(a->seek));
        if (rev && !lsm_iter_valid(it)) {
            lsm_iter_last(it);
        } else if (rev) {
            size_t kl;
            const char *k = lsm_iter_key(it, &kl);
            size_t sl = strlen(a->seek);
            int c = memcmp(k, a->seek, kl < sl ? kl : sl);
            if (c > 0 || (c == 0 && kl > sl))
                lsm_iter_prev(it);
        }
    }
    uint32_t budget = a->budget ? (uint32_t)a->budget : SCAN_PAGE;
    uint64_t used = 0;
    while (lsm_iter_valid(it) && (a->max == 0 || out->n < a->max)) {
        size_t kl, vl;
        const void *k = lsm_iter_key(it, &kl);
        const void *v = lsm_iter_value(it, &vl);
        if ((a->flags & LSMD_SCAN_ONE_PAGE) && out->n > 0 && used + 8 + kl + vl > budget)
            break;
        used += 8 + kl + vl;
        result_add(out, k, kl, v, vl);
        if (rev)
            lsm_iter_prev(it);
        else
            lsm_iter_next(it);
    }
    assert_int_equal(lsm_iter_status(it), 0);
    lsm_iter_free(it);
}

static int do_scan(lsmd_conn *c, uint64_t snap, const scan_args *a, result *out)
{
    uint64_t visited = 0;
    int rc = lsmd_scan(c, snap, a->lo, slen(a->lo), a->hi, slen(a->hi), a->seek, slen(a->seek),
                       a->max, a->budget, a->flags, collect, out, &visited);
    assert_int_equal(visited, out->n);
    return rc;
}

/* ---- daemon-side state ----------------------------------------------------- */

/* A number of this process's entry in the stats' client_list. */
static long client_stat(lsmd_conn *c, const char *field)
{
    char *json = NULL;
    assert_int_equal(lsmd_stats_json(c, &json), 0);
    char pat[32];
    snprintf(pat, sizeof pat, "\"pid\":%d,", (int)getpid());
    const char *p = strstr(json, pat);
    assert_non_null(p);
    snprintf(pat, sizeof pat, "\"%s\":", field);
    p = strstr(p, pat);
    assert_non_null(p);
    long n = strtol(p + strlen(pat), NULL, 10);
    free(json);
    return n;
}

/* This process's open iterators on the daemon. */
static long daemon_iters(lsmd_conn *c)
{
    return client_stat(c, "iters");
}

/* One raw ITER_SCAN: bounds and seek at the start of the large region,
 * the page after them (out_cap bytes, 0 = all the rest). */
static void raw_scan(lsmd_conn *c, uint8_t flags, uint64_t snap, uint32_t max, uint32_t budget,
                     const char *lo, const char *hi, const char *seek, uint32_t out_cap,
                     struct shm_cqe *cqe)
{
    size_t ll = slen(lo), hl = slen(hi), sl = slen(seek);
    char *p = conn_large(c);
    memcpy(p, lo ? lo : "", ll);
    memcpy(p + ll, hi ? hi : "", hl);
    memcpy(p + ll + hl, seek ? seek : "", sl);
    uint32_t used = align8((uint32_t)(ll + hl + sl));
    struct shm_sqe q = {
        .opcode = SHM_OP_ITER_SCAN, .flags = flags, .arg0 = snap,
        .arg1 = SHM_SCAN_ARG1(max, budget),
        .key_off = ll ? c->large_off : 0, .key_len = (uint32_t)ll,
        .val_off = hl ? c->large_off + (uint32_t)ll : 0, .val_len = (uint32_t)hl,
        .seek_off = sl ? c->large_off + (uint32_t)(ll + hl) : 0, .seek_len = (uint32_t)sl,
        .out_off = c->large_off + used,
        .out_cap = out_cap ? out_cap : c->large_bytes - used,
    };
    assert_int_equal(conn_call(c, &q, cqe), 0);
}

/* The i-th key of a raw page at the start of... (after `used` bytes). */
static void page_key(lsmd_conn *c, uint32_t off, uint32_t i, char *out, size_t n)
{
    const char *p = c->arena + off;
    for (;;) {
        uint32_t kl, vl;
        memcpy(&kl, p, 4);
        memcpy(&vl, p + 4, 4);
        if (i-- == 0) {
            snprintf(out, n, "%.*s", (int)kl, p + 8);
            return;
        }
        p += 8 + kl + vl;
    }
}

static void write_all(lsmd_conn *c, lsm_db *db, int gen)
{
    char key[16];
    char *v = malloc(BIG_VALUE);
    assert_non_null(v);
    for (int k = 0; k < NKEYS; k++) {
        int kl = key_of(key, sizeof key, k);
        size_t vl = value_of(v, gen, k);
        assert_int_equal(lsmd_put(c, key, (size_t)kl, v, vl, 0), 0);
        if (db)
            assert_int_equal(lsm_put(db, key, (size_t)kl, v, vl, 0), 0);
    }
    free(v);
}

static lsm_db *open_model(char **dir)
{
    *dir = th_tempdir("iterscan-model");
    lsm_db *db;
    assert_int_equal(lsm_open(*dir, NULL, &db), 0);
    return db;
}

/* ---- tests ------------------------------------------------------------------- */

/* A first page that holds everything asked for leaves nothing open; one
 * that does not keeps one iterator, which ITER_NEXT continues. */
static void test_one_round_trip(void **state)
{
    (void)state;
    lsmd_conn *c = thd_connect(&g_d);
    write_all(c, NULL, 0);
    struct shm_cqe cqe;

    /* UPTO: 11 entries asked, 11 in the page: closed by the daemon. */
    raw_scan(c, SHM_SQ_UPTO, 0, 11, 0, NULL, NULL, "k000100", 0, &cqe);
    assert_int_equal(cqe.status, 0);
    assert_int_equal(cqe.aux, 11);
    assert_int_equal(cqe.r0, 0);
    assert_false(cqe.flags & SHM_CQ_ITER_END);
    char k[32];
    page_key(c, c->large_off + 8, 0, k, sizeof k);
    assert_string_equal(k, "k000100");
    assert_int_equal(daemon_iters(c), 0);

    /* ONE_PAGE: a 3-entry limit, the range goes on: closed all the same. */
    raw_scan(c, SHM_SQ_ONE_PAGE, 0, 3, 0, "k000010", NULL, NULL, 0, &cqe);
    assert_int_equal(cqe.status, 0);
    assert_int_equal(cqe.aux, 3);
    assert_int_equal(cqe.r0, 0);
    assert_int_equal(daemon_iters(c), 0);

    /* Exhausted in the first page: ITER_END, nothing open. */
    raw_scan(c, 0, 0, 100, 0, "k000100", "k000120", NULL, 0, &cqe);
    assert_int_equal(cqe.status, 0);
    assert_int_equal(cqe.aux, 10);
    assert_true(cqe.flags & SHM_CQ_ITER_END);
    assert_int_equal(cqe.r0, 0);
    assert_int_equal(daemon_iters(c), 0);

    /* No flag, a page limit below the range: one iterator stays open and
     * ITER_NEXT continues right after the page. */
    raw_scan(c, 0, 0, 5, 0, "k000100", "k000200", NULL, 0, &cqe);
    assert_int_equal(cqe.status, 0);
    assert_int_equal(cqe.aux, 5);
    assert_int_not_equal(cqe.r0, 0);
    assert_int_equal(daemon_iters(c), 1);
    struct shm_sqe next = { .opcode = SHM_OP_ITER_NEXT, .arg0 = cqe.r0,
                            .out_off = c->large_off, .out_cap = 65536 };
    struct shm_cqe nc;
    assert_int_equal(conn_call(c, &next, &nc), 0);
    assert_int_equal(nc.status, 0);
    assert_int_equal(nc.aux, 45);
    assert_true(nc.flags & SHM_CQ_ITER_END);
    page_key(c, c->large_off, 0, k, sizeof k);
    assert_string_equal(k, "k000110");
    assert_int_equal(daemon_iters(c), 0);

    /* UPTO, but the budget ends the page first: the iterator stays. */
    raw_scan(c, SHM_SQ_UPTO, 0, 50, 200, "k000100", NULL, NULL, 0, &cqe);
    assert_int_equal(cqe.status, 0);
    assert_true(cqe.aux < 50 && cqe.aux > 0);
    assert_int_not_equal(cqe.r0, 0);
    assert_int_equal(daemon_iters(c), 1);
    struct shm_sqe close = { .opcode = SHM_OP_ITER_CLOSE, .arg0 = cqe.r0 };
    assert_int_equal(conn_call(c, &close, &nc), 0);
    assert_int_equal(nc.status, 0);
    assert_int_equal(daemon_iters(c), 0);

    /* Thousands of short lsmd_scans: one request each (no ITER_CLOSE
     * behind them; the second stats request counts itself), and none
     * leaves anything behind.  A 1 MiB budget holds 11 entries even with
     * a BIG_VALUE among them (the default 256 KiB would not: such a scan
     * goes on with ITER_NEXT). */
    th_rng rng;
    th_rng_seed(&rng, 12);
    long ops0 = client_stat(c, "ops");
    for (int i = 0; i < 2000; i++) {
        char seek[16];
        int kk = (int)th_rng_below(&rng, NKEYS);
        key_of(seek, sizeof seek, kk);
        result r = { 0 };
        assert_int_equal(lsmd_scan(c, 0, seek, strlen(seek), NULL, 0, NULL, 0, 11, 1u << 20,
                                   i % 3 ? 0 : LSMD_ITER_REVERSE, collect, &r, NULL),
                         0);
        assert_true(r.n >= 1 && r.n <= 11);
        result_free(&r);
    }
    assert_int_equal(client_stat(c, "ops") - ops0, 2000 + 1);
    assert_int_equal(daemon_iters(c), 0);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(&g_d), 0);
}

/* Random scans against the embedded engine given the same writes. */
static void test_exact_vs_embedded(void **state)
{
    (void)state;
    lsmd_conn *c = thd_connect(&g_d);
    char *dir;
    lsm_db *db = open_model(&dir);
    write_all(c, db, 0);
    char key[16];
    for (int k = 5; k < NKEYS; k += 13) { /* some deleted keys */
        int kl = key_of(key, sizeof key, k);
        assert_int_equal(lsmd_delete(c, key, (size_t)kl, 0), 0);
        assert_int_equal(lsm_delete(db, key, (size_t)kl, 0), 0);
    }
    static const uint64_t maxes[] = { 0, 1, 2, 11, 100, 1000, 5000 };
    static const size_t budgets[] = { 0, 1, 50, 4096, 100000, 1u << 20 };
    th_rng rng;
    th_rng_seed(&rng, 99);
    char lo[16], hi[16], seek[16];
    for (int i = 0; i < 400; i++) {
        scan_args a = { 0 };
        if (th_rng_below(&rng, 3)) {
            key_of(lo, sizeof lo, (int)th_rng_below(&rng, NKEYS));
            a.lo = lo;
        }
        if (th_rng_below(&rng, 3)) {
            key_of(hi, sizeof hi, (int)th_rng_below(&rng, NKEYS + 10));
            a.hi = hi;
        }
        if (th_rng_below(&rng, 2)) {
            /* odd numbers fall between keys; some outside the bounds */
            snprintf(seek, sizeof seek, "k%06d", (int)th_rng_below(&rng, 2 * NKEYS + 20));
            a.seek = seek;
        }
        a.max = maxes[th_rng_below(&rng, sizeof maxes / sizeof maxes[0])];
        if (a.max == 0 && th_rng_below(&rng, 4))
            a.max = 1 + th_rng_below(&rng, 300); /* whole-range scans are slow */
        a.budget = budgets[th_rng_below(&rng, sizeof budgets / sizeof budgets[0])];
        a.flags = (th_rng_below(&rng, 3) == 0 ? LSMD_ITER_REVERSE : 0) |
                  (th_rng_below(&rng, 4) == 0 ? LSMD_SCAN_ONE_PAGE : 0);
        result got = { 0 }, want = { 0 };
        assert_int_equal(do_scan(c, 0, &a, &got), 0);
        model_scan(db, NULL, &a, &want);
        char what[160];
        snprintf(what, sizeof what, "scan %d lo=%s hi=%s seek=%s max=%llu budget=%zu flags=%d",
                 i, a.lo ? a.lo : "-", a.hi ? a.hi : "-", a.seek ? a.seek : "-",
                 (unsigned long long)a.max, a.budget, a.flags);
        expect_same(&got, &want, what);
        result_free(&got);
        result_free(&want);
    }
    /* The whole range both ways, and through lsmd_iter (ITER_SCAN first). */
    for (int rev = 0; rev < 2; rev++) {
        scan_args a = { .flags = rev ? LSMD_ITER_REVERSE : 0 };
        result got = { 0 }, want = { 0 }, it_got = { 0 };
        assert_int_equal(do_scan(c, 0, &a, &got), 0);
        model_scan(db, NULL, &a, &want);
        expect_same(&got, &want, rev ? "whole range, reverse" : "whole range");
        lsmd_iter *it;
        assert_int_equal(lsmd_iter_new_ex(c, 0, NULL, 0, NULL, 0, a.flags, &it), 0);
        for (; lsmd_iter_valid(it); lsmd_iter_next(it)) {
            size_t kl, vl;
            const void *k = lsmd_iter_key(it, &kl);
            const void *v = lsmd_iter_value(it, &vl);
            result_add(&it_got, k, kl, v, vl);
        }
        assert_int_equal(lsmd_iter_status(it), 0);
        lsmd_iter_free(it);
        expect_same(&it_got, &want, "lsmd_iter");
        result_free(&got);
        result_free(&want);
        result_free(&it_got);
    }
    assert_int_equal(daemon_iters(c), 0);
    lsmd_disconnect(c);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
    assert_int_equal(thd_stop(&g_d), 0);
}

/* ---- short scans in flight (lsmd_submit_scan) ------------------------------- */

/* What one submitted scan must give: the model's entries from its seek
 * position, at most max, as many as fit cap bytes of page (8 + key +
 * value each); *needed > 0 when the first entry alone does not fit. */
static void model_async_scan(lsm_db *db, const lsm_snapshot *snap, const char *seek,
                             uint32_t max, int flags, uint32_t cap, result *out, size_t *needed)
{
    scan_args a = { .seek = seek, .max = max, .flags = flags };
    result all = { 0 };
    model_scan(db, snap, &a, &all);
    uint64_t used = 0;
    *needed = 0;
    for (size_t i = 0; i < all.n; i++) {
        const entry *e = &all.e[i];
        uint64_t need = 8 + e->kl + e->vl;
        if (used + need > cap) {
            if (i == 0)
                *needed = need;
            break;
        }
        used += need;
        result_add(out, e->k, e->kl, e->v, e->vl);
    }
    result_free(&all);
}

/* What the async checks saw, so the test cannot pass on empty pages. */
static int g_seen_too_small, g_seen_entries;

typedef struct async_scan {
    char seek[16];
    bool has_seek, is_get;
    uint32_t max;
    int flags;
    uint64_t snap;
} async_scan;

static void check_completion(lsm_db *db, const lsm_snapshot *snap, const lsmd_completion *cp,
                             const async_scan *q, uint32_t slot_bytes, int i)
{
    char what[96];
    snprintf(what, sizeof what, "async %s %d seek=%s max=%u flags=%d", q->is_get ? "get" : "scan",
             i, q->has_seek ? q->seek : "-", q->max, q->flags);
    if (q->is_get) {
        void *want;
        size_t wl;
        int wrc = lsm_get(db, snap, q->seek, strlen(q->seek), &want, &wl);
        if (wrc == 0 && wl > slot_bytes - align8((uint32_t)strlen(q->seek))) {
            assert_int_equal(cp->status, LSM_ETOOSMALL);
        } else {
            if (cp->status != wrc)
                fail_msg("%s: status %d, want %d", what, cp->status, wrc);
            if (wrc == 0 && (cp->vlen != wl || memcmp(cp->val, want, wl) != 0))
                fail_msg("%s: value differs", what);
        }
        if (wrc == 0)
            lsm_free(want);
        return;
    }
    assert_int_equal(cp->op, LSMD_OP_SCAN);
    uint32_t cap = slot_bytes - align8((uint32_t)(q->has_seek ? strlen(q->seek) : 0));
    result want = { 0 }, got = { 0 };
    size_t needed;
    model_async_scan(db, snap, q->has_seek ? q->seek : NULL, q->max, q->flags, cap, &want,
                     &needed);
    if (needed) {
        if (cp->status != LSM_ETOOSMALL || cp->vlen != needed)
            fail_msg("%s: status %d vlen %zu, want LSM_ETOOSMALL and %zu", what, cp->status,
                     cp->vlen, needed);
        g_seen_too_small++;
    } else {
        if (cp->status != 0)
            fail_msg("%s: status %d", what, cp->status);
        assert_int_equal(lsmd_completion_scan(cp, collect, &got), (int)cp->count);
        expect_same(&got, &want, what);
        g_seen_entries += got.n > 1;
    }
    result_free(&want);
    result_free(&got);
}

/* Scans and gets in flight together, a queue depth of them, completions
 * checked as they come (in whatever order the daemon answers). */
static void run_async_mix(lsmd_conn *c, lsm_db *db, const lsm_snapshot *snap, uint64_t snap_id,
                          th_rng *rng, int total)
{
    uint32_t qd = lsmd_queue_depth(c);
    async_scan *q = calloc((size_t)total, sizeof *q); /* by user_data */
    lsmd_completion *cp = calloc(qd, sizeof *cp);
    assert_true(q && cp);
    uint32_t slot_bytes = c->slot_bytes;
    int submitted = 0, done = 0, inflight = 0;
    while (done < total) {
        while (submitted < total && (uint32_t)inflight < qd) {
            async_scan a = { .snap = snap_id };
            a.is_get = th_rng_below(rng, 4) == 0;
            a.has_seek = a.is_get || th_rng_below(rng, 5) != 0;
            /* odd numbers fall between keys; some past the last key */
            snprintf(a.seek, sizeof a.seek, "k%06d",
                     (int)th_rng_below(rng, 2 * NKEYS + 20) & ~(a.is_get ? 1 : 0));
            static const uint32_t maxes[] = { 0, 1, 2, 10, 50, 400 };
            a.max = maxes[th_rng_below(rng, sizeof maxes / sizeof maxes[0])];
            a.flags = th_rng_below(rng, 3) == 0 ? LSMD_ITER_REVERSE : 0;
            size_t sl = a.has_seek ? strlen(a.seek) : 0;
            int tag = a.is_get ? lsmd_submit_get(c, snap_id, a.seek, sl, (uint64_t)submitted)
                               : lsmd_submit_scan(c, snap_id, a.has_seek ? a.seek : NULL, sl,
                                                  a.max, a.flags, (uint64_t)submitted);
            if (tag == -EBUSY)
                break;
            assert_true(tag >= 0);
            q[submitted] = a;
            inflight++;
            submitted++;
        }
        int n = lsmd_poll(c, cp, (int)qd, 1);
        assert_true(n > 0);
        for (int i = 0; i < n; i++)
            check_completion(db, snap, &cp[i], &q[cp[i].user_data], slot_bytes,
                             (int)cp[i].user_data);
        inflight -= n;
        done += n;
    }
    free(q);
    free(cp);
}

static void test_submit_scan(void **state)
{
    (void)state;
    lsmd_conn *c = thd_connect(&g_d);
    char *dir;
    lsm_db *db = open_model(&dir);
    write_all(c, db, 0);
    th_rng rng;
    th_rng_seed(&rng, 7);
    int n = th_env_long("LSM_TEST_SHORT", 0) ? 300 : 600; /* shorter under sanitizers */
    run_async_mix(c, db, NULL, 0, &rng, n);
    /* At a snapshot, while every key is overwritten between submits. */
    uint64_t snap_id;
    assert_int_equal(lsmd_snapshot_acquire(c, &snap_id), 0);
    lsm_snapshot *snap = lsm_snapshot_acquire(db);
    assert_non_null(snap);
    write_all(c, db, 1);
    run_async_mix(c, db, snap, snap_id, &rng, n / 2);
    lsm_snapshot_release(db, snap);
    assert_int_equal(lsmd_snapshot_release(c, snap_id), 0);
    assert_true(g_seen_too_small > 0);
    assert_true(g_seen_entries > n / 6);
    /* Bad arguments are refused at submit; a completion of another kind
     * is not a scan's. */
    assert_int_equal(lsmd_submit_scan(c, 0, NULL, 5, 1, 0, 0), -EINVAL);
    assert_int_equal(lsmd_submit_scan(c, 0, "k", 1, 1, 0x40, 0), -EINVAL);
    lsmd_completion other = { .op = LSMD_OP_GET };
    assert_int_equal(lsmd_completion_scan(&other, collect, NULL), -EINVAL);
    assert_int_equal(daemon_iters(c), 0);
    lsmd_disconnect(c);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
    assert_int_equal(thd_stop(&g_d), 0);
}

/* ---- snapshot while another process overwrites ------------------------------ */

/* Overwrites every key, generation after generation, until "stop". */
static int role_writer(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    lsmd_conn *c;
    int rc = lsmd_connect(argv[1], &c);
    if (rc) {
        th_reply("err connect: %s", lsmd_strerror(rc));
        return 1;
    }
    th_reply("ready");
    char key[16];
    char *v = malloc(BIG_VALUE);
    int done = 0; /* whole generations written */
    bool stop = false;
    for (int gen = 1; !stop && rc == 0; gen++) {
        for (int k = 0; k < NKEYS && rc == 0 && !stop; k++) {
            int kl = key_of(key, sizeof key, k);
            size_t vl = value_of(v, gen, k);
            rc = lsmd_put(c, key, (size_t)kl, v, vl, 0);
            struct pollfd p = { .fd = 0, .events = POLLIN };
            stop = k % 100 == 99 && poll(&p, 1, 0) != 0;
        }
        if (rc == 0 && !stop && ++done == 1)
            th_reply("overwrote"); /* every key has a newer value now */
    }
    free(v);
    th_reply(rc ? "err %d" : "ok %d", rc ? rc : done);
    lsmd_disconnect(c);
    return 0;
}

static void test_snapshot_while_overwritten(void **state)
{
    (void)state;
    lsmd_conn *c = thd_connect(&g_d);
    char *dir;
    lsm_db *db = open_model(&dir);
    write_all(c, db, 0);
    uint64_t snap;
    assert_int_equal(lsmd_snapshot_acquire(c, &snap), 0);
    th_child w;
    const char *args[] = { g_d.sock, NULL };
    th_spawn(&w, "writer", args);
    assert_string_equal(th_recv(&w, 10000), "ready");
    th_rng rng;
    th_rng_seed(&rng, 5);
    char seek[16];
    double end = th_now() + th_duration(3, 1);
    int scans = 0;
    while (th_now() < end || scans < 50) {
        scan_args a = { .max = scans % 10 == 0 ? 0 : 1 + th_rng_below(&rng, 200),
                        .budget = scans % 3 ? 0 : 512,
                        .flags = scans % 4 == 1 ? LSMD_ITER_REVERSE : 0 };
        key_of(seek, sizeof seek, (int)th_rng_below(&rng, NKEYS));
        a.seek = seek;
        result got = { 0 }, want = { 0 };
        assert_int_equal(do_scan(c, snap, &a, &got), 0);
        model_scan(db, NULL, &a, &want); /* the model saw generation 0 only */
        expect_same(&got, &want, "scan at the snapshot");
        result_free(&got);
        result_free(&want);
        scans++;
    }
    /* Once every key has been overwritten, the snapshot still shows the
     * old values. */
    assert_string_equal(th_recv(&w, 300000), "overwrote");
    for (int i = 0; i < 20; i++) {
        scan_args a = { .max = i % 2 ? 0 : 50, .budget = i % 3 ? 0 : 512,
                        .flags = i % 4 == 1 ? LSMD_ITER_REVERSE : 0 };
        result got = { 0 }, want = { 0 };
        assert_int_equal(do_scan(c, snap, &a, &got), 0);
        model_scan(db, NULL, &a, &want);
        expect_same(&got, &want, "scan at the snapshot, after the overwrite");
        result_free(&got);
        result_free(&want);
    }
    const char *r = th_ask(&w, "stop");
    assert_non_null(r);
    assert_true(strncmp(r, "ok ", 3) == 0);
    assert_true(atoi(r + 3) >= 1);
    assert_int_equal(th_wait(&w), 0);
    /* The latest view shows a newer generation. */
    result got = { 0 };
    scan_args a = { .max = 1 };
    assert_int_equal(do_scan(c, 0, &a, &got), 0);
    assert_int_equal(got.n, 1);
    assert_true(got.e[0].v[1] != '0');
    result_free(&got);
    assert_int_equal(lsmd_snapshot_release(c, snap), 0);
    lsmd_disconnect(c);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
    assert_int_equal(thd_stop(&g_d), 0);
}

/* A budget below one entry: that one entry; a page that cannot hold the
 * first entry: LSM_ETOOSMALL, and with ONE_PAGE nothing stays open. */
static void test_tiny_budget(void **state)
{
    (void)state;
    lsmd_conn *c = thd_connect(&g_d);
    write_all(c, NULL, 0);
    struct shm_cqe cqe;
    raw_scan(c, 0, 0, 0, 1, "k000100", NULL, NULL, 0, &cqe);
    assert_int_equal(cqe.status, 0);
    assert_int_equal(cqe.aux, 1);
    assert_int_not_equal(cqe.r0, 0);
    assert_int_equal(daemon_iters(c), 1);
    struct shm_sqe close = { .opcode = SHM_OP_ITER_CLOSE, .arg0 = cqe.r0 };
    struct shm_cqe cc;
    assert_int_equal(conn_call(c, &close, &cc), 0);
    raw_scan(c, SHM_SQ_ONE_PAGE, 0, 0, 1, "k000100", NULL, NULL, 0, &cqe);
    assert_int_equal(cqe.status, 0);
    assert_int_equal(cqe.aux, 1);
    assert_int_equal(cqe.r0, 0);

    /* Key 7's value is BIG_VALUE bytes: a 1000-byte page cannot hold it. */
    char k7[16];
    key_of(k7, sizeof k7, 7);
    raw_scan(c, 0, 0, 0, 0, k7, NULL, NULL, 1000, &cqe);
    assert_int_equal(cqe.status, LSM_ETOOSMALL);
    assert_int_equal(cqe.r1, 8 + strlen(k7) + BIG_VALUE);
    assert_int_not_equal(cqe.r0, 0); /* open, at that entry */
    assert_int_equal(daemon_iters(c), 1);
    close.arg0 = cqe.r0;
    assert_int_equal(conn_call(c, &close, &cc), 0);
    raw_scan(c, SHM_SQ_ONE_PAGE, 0, 0, 0, k7, NULL, NULL, 1000, &cqe);
    assert_int_equal(cqe.status, LSM_ETOOSMALL);
    assert_int_equal(cqe.r0, 0);
    assert_int_equal(daemon_iters(c), 0);

    /* lsmd_scan with budget 1: one entry per page, all of them right. */
    result r = { 0 };
    assert_int_equal(lsmd_scan(c, 0, k7, strlen(k7), NULL, 0, NULL, 0, 5, 1, 0, collect, &r,
                               NULL),
                     0);
    assert_int_equal(r.n, 5);
    assert_int_equal(r.e[0].vl, BIG_VALUE);
    for (int i = 0; i < 5; i++) {
        char want[16];
        key_of(want, sizeof want, 7 + i);
        assert_int_equal(r.e[i].kl, strlen(want));
        assert_memory_equal(r.e[i].k, want, r.e[i].kl);
    }
    result_free(&r);
    assert_int_equal(daemon_iters(c), 0);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(&g_d), 0);
}

/* Iterators left open count; scans that leave none do not. */
static void test_limits_hold(void **state)
{
    (void)state;
    lsmd_conn *c = thd_connect(&g_d);
    write_all(c, NULL, 0);
    lsmd_iter *its[DAEMON_MAX_ITERS_PER_CLIENT];
    for (unsigned i = 0; i < DAEMON_MAX_ITERS_PER_CLIENT; i++)
        assert_int_equal(lsmd_iter_new(c, 0, NULL, 0, NULL, 0, &its[i]), 0);
    assert_int_equal(daemon_iters(c), DAEMON_MAX_ITERS_PER_CLIENT);
    lsmd_iter *extra;
    assert_int_equal(lsmd_iter_new(c, 0, NULL, 0, NULL, 0, &extra), -EMFILE);
    /* A short scan needs no table entry (from k=50: no big value in it). */
    result r = { 0 };
    assert_int_equal(lsmd_scan(c, 0, "k000100", 7, NULL, 0, NULL, 0, 20, 0, 0, collect, &r,
                               NULL),
                     0);
    assert_int_equal(r.n, 20);
    result_free(&r);
    /* One that outlives its first page does. */
    struct shm_cqe cqe;
    raw_scan(c, 0, 0, 5, 0, NULL, NULL, NULL, 0, &cqe);
    assert_int_equal(cqe.status, -EMFILE);
    assert_int_equal(cqe.r0, 0);
    assert_int_equal(cqe.aux, 0);
    assert_int_equal(lsmd_scan(c, 0, NULL, 0, NULL, 0, NULL, 0, 0, 100, 0, collect, &r, NULL),
                     -EMFILE);
    result_free(&r);
    assert_int_equal(daemon_iters(c), DAEMON_MAX_ITERS_PER_CLIENT);
    for (unsigned i = 0; i < DAEMON_MAX_ITERS_PER_CLIENT; i++)
        lsmd_iter_free(its[i]);
    assert_int_equal(daemon_iters(c), 0);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(&g_d), 0);
}

/* Bad ITER_SCAN descriptors: refused, the connection and daemon go on. */
static void test_bad_scans(void **state)
{
    (void)state;
    lsmd_conn *c = thd_connect(&g_d);
    write_all(c, NULL, 0);
    struct shm_sqe base = { .opcode = SHM_OP_ITER_SCAN, .out_off = c->large_off,
                            .out_cap = 4096 };
    struct { struct shm_sqe q; int want; } bad[8];
    for (int i = 0; i < 8; i++) {
        bad[i].q = base;
        bad[i].want = -EINVAL;
    }
    bad[0].q.seek_off = c->arena_bytes - 2, bad[0].q.seek_len = 4;   /* seek past the arena */
    bad[1].q.seek_off = c->large_off, bad[1].q.seek_len = LSM_MAX_KEY_SIZE + 1;
    bad[2].q.out_cap = 0;                                            /* no page */
    bad[3].q.flags = 0x10;                                           /* unknown flag */
    bad[4].q.flags = SHM_SQ_SYNC;
    bad[5].q.reserved2 = 1;
    bad[6].q.arg0 = 12345, bad[6].want = -ESRCH;                     /* snapshot not held */
    bad[7].q.key_off = c->arena_bytes, bad[7].q.key_len = 1;          /* lo past the arena */
    for (int i = 0; i < 8; i++) {
        struct shm_cqe cqe;
        assert_int_equal(conn_call(c, &bad[i].q, &cqe), 0);
        if (cqe.status != bad[i].want)
            fail_msg("bad scan %d: status %d, want %d", i, cqe.status, bad[i].want);
        assert_int_equal(cqe.r0, 0);
    }
    assert_int_equal(lsmd_ping(c), 0);
    assert_int_equal(daemon_iters(c), 0);
    result r = { 0 };
    assert_int_equal(lsmd_scan(c, 0, NULL, 0, NULL, 0, NULL, 0, 3, 0, 0, collect, &r, NULL), 0);
    assert_int_equal(r.n, 3);
    result_free(&r);
    /* The client API refuses bad arguments before sending anything. */
    assert_int_equal(lsmd_scan(c, 0, NULL, 0, NULL, 0, NULL, 0, 3, 0, 0x40, collect, &r, NULL),
                     -EINVAL);
    assert_int_equal(lsmd_scan(c, 0, NULL, 0, NULL, 0, "x", LSM_MAX_KEY_SIZE + 1, 3, 0, 0,
                               collect, &r, NULL),
                     -EINVAL);
    assert_int_equal(lsmd_scan(c, 0, NULL, 0, NULL, 0, NULL, 0, 3, 0, 0, NULL, NULL, NULL),
                     -EINVAL);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(&g_d), 0);
}

int main(int argc, char **argv)
{
    static const th_role roles[] = { { "writer", role_writer }, { NULL, NULL } };
    const struct CMUnitTest tests[] = {
        TH_TEST(test_one_round_trip, &g_fx),
        TH_TEST(test_exact_vs_embedded, &g_fx),
        TH_TEST(test_snapshot_while_overwritten, &g_fx),
        TH_TEST(test_tiny_budget, &g_fx),
        TH_TEST(test_limits_hold, &g_fx),
        TH_TEST(test_bad_scans, &g_fx),
        TH_TEST(test_submit_scan, &g_fx),
    };
    return TH_MAIN(argc, argv, roles, NULL, tests);
}
