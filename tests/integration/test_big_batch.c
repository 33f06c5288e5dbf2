/*
 * test_big_batch.c — issue 9 item 2: oversized and large writes must fail
 * alone or cost only their own client.  Against an ASan+UBSan lsmd
 * (LSMD_ASAN_BIN; LSMD_TEST_BIN overrides it, e.g. to measure a release
 * build) with one worker, so the attacker and the honest client
 * (honest.h) share it.
 *
 *   test_oversized_batch   hand-made WRITE_BATCH descriptors over a
 *       2.25 GiB arena claiming a payload above the engine's 1 GiB limit
 *       and one above max_request_bytes.  The payload is never written:
 *       the daemon must refuse both with -E2BIG without reading it (the
 *       old daemon copied the claimed gigabyte inline, stalling every
 *       session of the worker for seconds, and kept the copy resident).
 *   test_large_batches     32 MiB batches back to back (legal for the
 *       engine, above max_request_bytes: refused with -E2BIG, at once),
 *       then the same entries in batches as large as max_request_bytes
 *       allows (applied apart from the worker), read back; then one put of
 *       the largest legal value (64 MiB), read back.  The engine applies
 *       writes one at a time, so the honest client's puts wait for that
 *       put's WAL append and memtable insertion: reported, not bounded.
 *   test_large_write_order pipelined puts of one key, one of them applied
 *       apart: a get after them sees the last one.
 *
 * Both check the honest client's latency during the attack and that the
 * daemon's VmRSS comes back within RSS_SLACK_MB of its value before it.
 * The daemon runs with a small block cache, a memtable that holds the
 * whole attack (so memtable switches and flushes, which any write volume
 * causes, stay out of the picture) and an ASan quarantine of 16 MiB, so
 * what stays resident is the write path's, not a cache's.
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "harness.h"
#include "honest.h"
#include "validate.h"

#define RSS_SLACK_MB 64.0
#define CONTROL_US 2000000 /* the honest client alone, before an attack */
#define BULK_ROUNDS 4
#define BULK_BYTES (32u << 20)   /* per round: legal for the engine */
#define BULK_VALUE (64u * 1024u)
#define BULK_ENTRY (BULK_VALUE + 32u) /* encoded, with room for the key */

static th_daemon g_d;
static const char *const g_extra[] = { "--workers", "1", "--block-cache-bytes", "4194304",
                                       "--memtable-bytes", "256M", NULL };
/* setup() picks the binary: LSMD_TEST_BIN, else the ASan one. */
static th_fixture g_fx = { .d = &g_d, .tag = "bigbatch", .extra = g_extra, .start = true };

static lsmd_conn *connect_sized(const char *sock, uint32_t depth, uint32_t slot,
                                uint32_t large)
{
    lsmd_conn_options o;
    lsmd_conn_options_init(&o);
    if (depth) /* 0: the default */
        o.queue_depth = depth;
    if (slot)
        o.slot_bytes = slot;
    o.large_bytes = large;
    lsmd_conn *c = NULL;
    int rc = lsmd_connect_opts(sock, &o, &c);
    if (rc) {
        th_reply("err connect: %s", lsmd_strerror(rc));
        return NULL;
    }
    return c;
}

/* Sends q and returns its status; *ms gets the round trip. */
static int call(lsmd_conn *c, struct shm_sqe *q, double *ms)
{
    struct shm_cqe cqe;
    double t0 = th_now();
    int rc = conn_call(c, q, &cqe);
    *ms = (th_now() - t0) * 1e3;
    return rc ? rc : cqe.status;
}

/* huge SOCKET MAX_REQUEST: replies "ok ARENA_MB STATUS1 MS1 STATUS2 MS2". */
static int role_huge(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    lsmd_conn *c = connect_sized(argv[1], SHM_MAX_QUEUE_DEPTH, SHM_MAX_SLOT_BYTES,
                                 SHM_MAX_LARGE_BYTES);
    if (!c)
        return 1;
    uint64_t arena = c->arena_bytes;
    uint32_t over_engine = SHM_MAX_BATCH_BYTES + (1u << 20);
    uint32_t over_config = (uint32_t)strtoul(argv[2], NULL, 0) + (1u << 20);
    if (arena < over_engine) {
        th_reply("err arena of %llu bytes granted: too small", (unsigned long long)arena);
        return 1;
    }
    /* The arena is never written: the daemon would read zeros, if it read. */
    struct shm_sqe q1 = { .opcode = SHM_OP_WRITE_BATCH, .val_len = over_engine, .arg1 = 2 };
    struct shm_sqe q2 = { .opcode = SHM_OP_WRITE_BATCH, .val_len = over_config, .arg1 = 2 };
    double ms1, ms2;
    int st1 = call(c, &q1, &ms1);
    int st2 = call(c, &q2, &ms2);
    th_reply("ok %llu %d %.1f %d %.1f", (unsigned long long)(arena >> 20), st1, ms1, st2, ms2);
    lsmd_disconnect(c);
    return 0;
}

/* Entry i of round r. */
static int bulk_key(char *key, size_t n, int r, int i)
{
    return snprintf(key, n, "bulk-%02d-%05d", r, i);
}

/* Writes entries [from, to) of round r as one batch.  Returns its status;
 * *ms gets the slowest write so far. */
static int bulk_write(lsmd_conn *c, lsmd_batch *b, char *val, int r, int from, int to,
                      double *ms)
{
    lsmd_batch_clear(b);
    memset(val, 'a' + r % 26, BULK_VALUE);
    for (int i = from; i < to; i++) {
        char key[32];
        int kl = bulk_key(key, sizeof key, r, i);
        if (lsmd_batch_put(b, key, (size_t)kl, val, BULK_VALUE))
            return -ENOMEM;
    }
    double t0 = th_now();
    int rc = lsmd_write(c, b, 0);
    double t = (th_now() - t0) * 1e3;
    *ms = t > *ms ? t : *ms;
    return rc;
}

/* bulk SOCKET MAX_REQUEST: BULK_ROUNDS rounds of BULK_BYTES of entries,
 * each sent as one batch and, when that is refused with -E2BIG, again in
 * batches of at most MAX_REQUEST bytes; then one entry of each round read
 * back.  Replies "ok REFUSED ENTRIES SLOWEST_MS". */
static int role_bulk(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int per = (int)(BULK_BYTES / BULK_ENTRY);
    int chunk = (int)(strtoul(argv[2], NULL, 0) / BULK_ENTRY);
    lsmd_conn *c = connect_sized(argv[1], 0, 0, 2 * BULK_BYTES);
    if (!c)
        return 1;
    char *val = malloc(BULK_VALUE);
    lsmd_batch *b = lsmd_batch_new();
    if (!val || !b || chunk < 1) {
        th_reply("err setup");
        return 1;
    }
    int refused = 0;
    double slowest = 0;
    for (int r = 0; r < BULK_ROUNDS; r++) {
        int rc = bulk_write(c, b, val, r, 0, per, &slowest);
        if (rc == -E2BIG) {
            refused++;
            rc = 0;
            for (int i = 0; i < per && rc == 0; i += chunk)
                rc = bulk_write(c, b, val, r, i, i + chunk < per ? i + chunk : per,
                                &slowest);
        }
        if (rc) {
            th_reply("err round %d: %s", r, lsmd_strerror(rc));
            return 1;
        }
    }
    for (int r = 0; r < BULK_ROUNDS; r++) {
        char key[32];
        int i = per - 1 - r;
        int kl = bulk_key(key, sizeof key, r, i);
        void *got = NULL;
        size_t gl = 0;
        int rc = lsmd_get(c, 0, key, (size_t)kl, &got, &gl);
        bool same = rc == 0 && gl == BULK_VALUE &&
                    ((const char *)got)[gl - 1] == 'a' + r % 26;
        free(got);
        if (!same) {
            th_reply("err read back %s: %s", key, rc ? lsmd_strerror(rc) : "wrong value");
            return 1;
        }
    }
    th_reply("ok %d %d %.1f", refused, per * BULK_ROUNDS, slowest);
    lsmd_batch_free(b);
    free(val);
    lsmd_disconnect(c);
    return 0;
}

/* bigput SOCKET: one put of the largest legal value, read back.  Replies
 * "ok PUT_MS". */
static int role_bigput(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    lsmd_conn *c = connect_sized(argv[1], 0, 0, SHM_MAX_LARGE_BYTES);
    if (!c)
        return 1;
    size_t n = LSM_MAX_VALUE_SIZE;
    char *val = malloc(n);
    if (!val) {
        th_reply("err oom");
        return 1;
    }
    for (size_t i = 0; i < n; i += 4096)
        val[i] = (char)(i >> 12);
    double t0 = th_now();
    int rc = lsmd_put(c, "bigput", 6, val, n, 0);
    double ms = (th_now() - t0) * 1e3;
    void *got = NULL;
    size_t gl = 0;
    if (rc == 0)
        rc = lsmd_get(c, 0, "bigput", 6, &got, &gl);
    if (rc == 0 && (gl != n || memcmp(got, val, n) != 0))
        rc = -EBADMSG;
    free(got);
    free(val);
    if (rc)
        th_reply("err bigput: %s", lsmd_strerror(rc));
    else
        th_reply("ok %.1f", ms);
    lsmd_disconnect(c);
    return rc ? 1 : 0;
}

/* order SOCKET: per round, three pipelined puts of one key (hand-made,
 * fire-and-forget: the library sends large requests one at a time), one
 * of them large enough to be applied apart, then a get: it must see the
 * last put, so the apart write kept its place in the client's order.
 * Replies "ok ROUNDS". */
#define ORDER_BIG (1536u * 1024u)
#define ORDER_ROUNDS 16
static int role_order(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    lsmd_conn *c = connect_sized(argv[1], 0, 0, 4u << 20);
    if (!c)
        return 1;
    char *large = conn_large(c);
    const uint32_t lo = c->large_off, key_at = 0, small_at = 4096, big_at = 65536,
                   out_at = 2u << 20;
    memset(large + big_at, 'B', ORDER_BIG);
    memcpy(large + small_at, "AAAA", 4);
    memcpy(large + small_at + 4, "CCCC", 4);
    for (int r = 0; r < ORDER_ROUNDS; r++) {
        int kl = snprintf(large + key_at, 32, "order-%02d", r);
        struct shm_sqe a = { .opcode = SHM_OP_PUT, .key_off = lo + key_at, .key_len = (uint32_t)kl,
                             .val_off = lo + small_at, .val_len = 4 };
        struct shm_sqe big = a, cc = a;
        big.val_off = lo + big_at;
        big.val_len = ORDER_BIG;
        cc.val_off = lo + small_at + 4;
        /* Even rounds end with the small put C, odd ones with the big B. */
        struct shm_sqe *seq[3] = { &a, r % 2 ? &cc : &big, r % 2 ? &big : &cc };
        for (int i = 0; i < 3; i++) {
            int rc = conn_send_discard(c, seq[i]);
            if (rc) {
                th_reply("err send: %s", lsmd_strerror(rc));
                return 1;
            }
        }
        /* Let the worker end its pass (and start its groups) before the get. */
        usleep(20000);
        struct shm_sqe get = { .opcode = SHM_OP_GET, .key_off = lo + key_at,
                               .key_len = (uint32_t)kl, .out_off = lo + out_at,
                               .out_cap = c->large_bytes - out_at };
        struct shm_cqe cqe;
        int rc = conn_call(c, &get, &cqe);
        uint64_t want = r % 2 ? ORDER_BIG : 4;
        const char *v = large + out_at;
        if (rc || cqe.status || cqe.r0 != want || v[0] != (r % 2 ? 'B' : 'C')) {
            th_reply("err round %d: rc %d status %d length %llu first '%c'", r, rc, cqe.status,
                     (unsigned long long)cqe.r0, v[0]);
            return 1;
        }
    }
    th_reply("ok %d", ORDER_ROUNDS);
    lsmd_disconnect(c);
    return 0;
}

/* ---- the test ----------------------------------------------------------------- */

static const char *run_role(const char *role, const char *arg, int timeout_ms)
{
    static th_child c;
    const char *args[] = { g_d.sock, arg, NULL };
    th_spawn(&c, role, args);
    const char *r = th_recv(&c, timeout_ms);
    if (!r || strncmp(r, "ok", 2) != 0) {
        thd_dump_log(&g_d);
        fail_msg("%s client: %s", role, r ? r : "exited");
    }
    static char line[256];
    snprintf(line, sizeof line, "%s", r);
    assert_int_equal(th_wait(&c), 0);
    return line;
}

static th_honest g_h;
static double g_rss0;

/* Fails the test unless VmRSS is back within RSS_SLACK_MB of g_rss0. */
static void expect_rss(const char *phase)
{
    double rss = th_vmrss_mb(g_d.pid);
    fprintf(stderr, "%-28s daemon VmRSS %.0f MiB (before the attack %.0f, bound +%.0f)\n",
            phase, rss, g_rss0, RSS_SLACK_MB);
    if (rss > g_rss0 + RSS_SLACK_MB)
        fail_msg("%s: the daemon keeps %.0f MiB more resident", phase, rss - g_rss0);
}

static void test_oversized_batch(void **state)
{
    (void)state;
    char max_s[32];
    snprintf(max_s, sizeof max_s, "%zu", (size_t)LSMD_DEFAULT_MAX_REQUEST_BYTES);
    const char *r = run_role("huge", max_s, 120000);
    unsigned long long arena_mb;
    int st1, st2;
    double ms1, ms2;
    assert_int_equal(sscanf(r, "ok %llu %d %lf %d %lf", &arena_mb, &st1, &ms1, &st2, &ms2), 5);
    fprintf(stderr, "huge: arena %llu MiB; 1 GiB + 1 MiB batch: %d in %.1f ms; "
            "max_request_bytes + 1 MiB batch: %d in %.1f ms\n", arena_mb, st1, ms1, st2, ms2);
    th_honest_expect(&g_h, "oversized batches");
    expect_rss("oversized batches");
    assert_int_equal(st1, -E2BIG);
    assert_int_equal(st2, -E2BIG);
    th_honest_stop(&g_h);
    assert_int_equal(thd_stop(&g_d), 0);
}

static void test_large_batches(void **state)
{
    (void)state;
    char max_s[32];
    snprintf(max_s, sizeof max_s, "%zu", (size_t)LSMD_DEFAULT_MAX_REQUEST_BYTES);
    const char *r = run_role("bulk", max_s, 300000);
    int refused, entries;
    double slowest;
    assert_int_equal(sscanf(r, "ok %d %d %lf", &refused, &entries, &slowest), 3);
    fprintf(stderr, "bulk: %d of %d batches of %u bytes refused; %d entries applied, "
            "slowest write %.1f ms\n", refused, BULK_ROUNDS, BULK_BYTES, entries, slowest);
    th_honest_expect(&g_h, "large batches");
    assert_int_equal(refused, BULK_ROUNDS);

    /* The largest legal put works (its cost to others is the engine's). */
    r = run_role("bigput", NULL, 300000);
    fprintf(stderr, "bigput: 64 MiB value, %s ms\n", r + 3);
    r = th_ask(&g_h.c, "count");
    double us;
    assert_int_equal(sscanf(r, "ok %ld %lf", &g_h.ops, &us), 2);
    fprintf(stderr, "bigput                       honest client: slowest %.1f ms (not bounded: "
            "the engine's)\n", us / 1e3);
    th_honest_expect(&g_h, "after the attack");
    th_honest_stop(&g_h);

    /* The attack's data leaves the memtable; what else it grew must shrink. */
    lsmd_conn *c = thd_connect(&g_d);
    assert_int_equal(lsmd_flush(c), 0);
    lsmd_disconnect(c);
    usleep(500000);
    expect_rss("after a flush");
    assert_int_equal(thd_stop(&g_d), 0);
}

/* A large write applied apart keeps its place in its client's order, and
 * the client's next read sees it. */
static void test_large_write_order(void **state)
{
    (void)state;
    run_role("order", NULL, 120000);
    th_honest_expect(&g_h, "pipelined large puts");
    th_honest_stop(&g_h);
    assert_int_equal(thd_stop(&g_d), 0);
}

static int setup(void **state)
{
    th_small_asan_quarantine(); /* VmRSS: what the daemon itself holds */
    const char *bin = getenv("LSMD_TEST_BIN");
    g_fx.bin = bin && *bin ? bin : LSMD_ASAN_BIN;
    th_fixture_setup(state);
    th_honest_start(&g_h, &g_d, "honest");
    /* "Usual" over a window as long as an attack: on a busy machine the
     * scheduler alone delays some operations by tens of milliseconds. */
    usleep(CONTROL_US);
    const char *r = th_ask(&g_h.c, "count");
    double us = 0;
    if (sscanf(r, "ok %ld %lf", &g_h.ops, &us) != 2)
        fail_msg("honest client: %s", r);
    if (us / 1e3 > g_h.usual_ms)
        g_h.usual_ms = us / 1e3;
    g_rss0 = th_vmrss_mb(g_d.pid);
    return 0;
}

static int teardown(void **state)
{
    if (g_h.c.pid > 0)
        th_kill(&g_h.c);
    return th_fixture_teardown(state);
}

#define TEST(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &g_fx)

int main(int argc, char **argv)
{
    static const th_role roles[] = {
        TH_HONEST_ROLE, { "huge", role_huge }, { "bulk", role_bulk },
        { "bigput", role_bigput }, { "order", role_order }, { NULL, NULL },
    };
    const struct CMUnitTest tests[] = {
        TEST(test_oversized_batch),
        TEST(test_large_batches),
        TEST(test_large_write_order),
    };
    return TH_MAIN(argc, argv, roles, NULL, tests);
}
