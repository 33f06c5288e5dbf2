/*
 * test_bad_clients.c — hostile and broken clients against an lsmd built
 * with AddressSanitizer and UBSan (LSMD_ASAN_BIN: any memory error in the
 * daemon aborts it, which fails the test).
 *
 *   killed      clients SIGKILLed with requests in flight
 *   scribbler   random bytes over its whole segment (header, rings, arena),
 *               then rings the doorbell
 *   garbage     valid ring indices, random descriptors
 *   badsqe      hand-made descriptors: offsets/lengths outside the arena,
 *               wrapping ranges, oversized keys, unknown opcodes, reserved
 *               fields, malformed batches, unknown iterator and snapshot ids
 *   noreap      fills its submission ring and never reads a completion
 *
 * Throughout, a well-behaved client keeps writing and reading its own keys
 * and must make progress in every phase without a single error; each bad
 * request must get an error completion or its client must be disconnected;
 * at the end the daemon must exit cleanly (ASan/LSan silent).
 */
#include "helpers.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "harness.h"
#include "wait.h"

static th_daemon g_d;
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_ASAN_BIN, .tag = "badclients", .start = true };

/* ---- roles ----------------------------------------------------------------- */

/* steady SOCKET: put/get its own keys until "stop"; "count" reports progress. */
static int role_steady(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    lsmd_conn *c;
    int rc = lsmd_connect(argv[1], &c);
    if (rc) {
        th_reply("err connect %d", rc);
        return 1;
    }
    long n = 0;
    for (;;) {
        struct pollfd p = { .fd = 0, .events = POLLIN };
        if (poll(&p, 1, 0) > 0) {
            char line[64];
            if (!fgets(line, sizeof line, stdin) || strncmp(line, "stop", 4) == 0)
                break;
            th_reply("ok %ld", n);
        }
        char key[32], val[64];
        snprintf(key, sizeof key, "steady-%04ld", n % 1000);
        int vl = snprintf(val, sizeof val, "value-%ld", n);
        rc = lsmd_put(c, key, strlen(key), val, (size_t)vl, 0);
        void *got = NULL;
        size_t gl = 0;
        if (rc == 0)
            rc = lsmd_get(c, 0, key, strlen(key), &got, &gl);
        if (rc == 0 && (gl != (size_t)vl || memcmp(got, val, gl) != 0))
            rc = -EBADMSG;
        free(got);
        if (rc) {
            th_reply("err op %ld: %s", n, lsmd_strerror(rc));
            lsmd_disconnect(c);
            return 1;
        }
        n++;
    }
    th_reply("ok %ld", n);
    lsmd_disconnect(c);
    return 0;
}

/* killed SOCKET: keeps many large writes and reads in flight until killed. */
static int role_killed(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    lsmd_conn *c;
    if (lsmd_connect(argv[1], &c))
        return 1;
    static char val[24 * 1024];
    memset(val, 'k', sizeof val);
    th_reply("ready");
    for (uint64_t i = 0;; i++) {
        char key[32];
        snprintf(key, sizeof key, "killed-%llu", (unsigned long long)(i % 5000));
        while (lsmd_submit_put(c, key, strlen(key), val, sizeof val, i % 7 == 0 ? LSM_SYNC : 0,
                               i) >= 0)
            ;
        lsmd_submit_get(c, 0, key, strlen(key), i);
        lsmd_completion comp[8];
        lsmd_poll(c, comp, 8, 1);
    }
}

/* scribbler SOCKET: random bytes over the whole segment, doorbell, repeat. */
static int role_scribbler(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    lsmd_conn *c;
    if (lsmd_connect(argv[1], &c))
        return 1;
    th_rng rng;
    th_rng_seed(&rng, strtoull(argv[2], NULL, 0));
    uint64_t *words = c->seg.base;
    size_t n = c->seg.size / 8;
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < n; i++)
            words[i] = th_rng_next(&rng);
        shm_futex_wake(&c->hdr->daemon_sleeping, 1);
        usleep(2000);
    }
    th_reply("done");
    /* Stay attached: the daemon may have ended the session (EPROTO); the
     * test sees that as a disconnect. */
    char line[16];
    while (fgets(line, sizeof line, stdin))
        ;
    lsmd_disconnect(c);
    return 0;
}

/* garbage SOCKET SEED: random descriptors through a correctly driven ring. */
static int role_garbage(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    lsmd_conn *c;
    if (lsmd_connect(argv[1], &c))
        return 1;
    th_rng rng;
    th_rng_seed(&rng, strtoull(argv[2], NULL, 0));
    long errors = 0, oks = 0, sent = 0;
    for (int i = 0; i < 2000 && conn_alive(c) == 0; i++) {
        struct shm_sqe q;
        uint64_t *w = (uint64_t *)&q;
        for (size_t j = 0; j < sizeof q / 8; j++)
            w[j] = th_rng_next(&rng);
        /* Half of them look plausible: a known opcode, zero reserved. */
        if (i % 2) {
            uint32_t ab = c->arena_bytes;
            q.opcode = (uint8_t)(1 + th_rng_below(&rng, SHM_OP_COUNT_ - 1));
            if (q.opcode == SHM_OP_COMPACT || q.opcode == SHM_OP_FLUSH)
                q.opcode = SHM_OP_GET; /* slow, and proven elsewhere */
            q.reserved0 = 0;
            q.reserved1[0] = q.reserved1[1] = 0;
            q.flags &= SHM_SQ_FLAGS_ALL;
            q.arg0 = th_rng_below(&rng, 4) ? th_rng_below(&rng, 8) : q.arg0;
            q.arg1 = th_rng_below(&rng, 4) ? th_rng_below(&rng, 8) : q.arg1;
            q.key_off = (uint32_t)th_rng_below(&rng, ab);
            q.key_len = (uint32_t)th_rng_below(&rng, 1 + (ab - q.key_off) % 70000);
            q.val_off = (uint32_t)th_rng_below(&rng, ab);
            q.val_len = (uint32_t)th_rng_below(&rng, 1 + (ab - q.val_off) % 70000);
            q.out_off = (uint32_t)th_rng_below(&rng, ab);
            q.out_cap = (uint32_t)th_rng_below(&rng, 1 + (ab - q.out_off));
            /* Sometimes leave a field empty (some opcodes want that). */
            if (th_rng_below(&rng, 3) == 0)
                q.key_off = q.key_len = 0;
            if (th_rng_below(&rng, 3) == 0)
                q.val_off = q.val_len = 0;
            if (th_rng_below(&rng, 3) == 0)
                q.out_off = q.out_cap = 0;
        }
        struct shm_cqe cqe;
        if (conn_call(c, &q, &cqe) != 0)
            break;
        sent++;
        if (cqe.status < 0)
            errors++;
        else
            oks++;
    }
    th_reply("done %ld %ld %ld %d", sent, errors, oks, conn_alive(c));
    char line[16];
    while (fgets(line, sizeof line, stdin))
        ;
    lsmd_disconnect(c);
    return 0;
}

/* Sends each of bad[0..n) and expects it refused with the connection
 * alive; then a put and a get must work.  Replies "ok N" or "err ...",
 * disconnects; returns the role's exit code. */
static int expect_refused(lsmd_conn *c, struct shm_sqe *bad, int n)
{
    for (int i = 0; i < n; i++) {
        struct shm_cqe cqe;
        int rc = conn_call(c, &bad[i], &cqe);
        if (rc) {
            th_reply("err case %d: connection lost: %s", i, lsmd_strerror(rc));
            return 1;
        }
        if (cqe.status >= 0) {
            th_reply("err case %d (opcode %u) succeeded", i, bad[i].opcode);
            return 1;
        }
    }
    int rc = lsmd_put(c, "after", 5, "ok", 2, 0);
    void *v = NULL;
    size_t vl;
    if (rc == 0)
        rc = lsmd_get(c, 0, "after", 5, &v, &vl);
    free(v);
    th_reply(rc ? "err after: %d" : "ok %d", rc ? rc : n);
    lsmd_disconnect(c);
    return rc ? 1 : 0;
}

/* badsqe SOCKET: each hand-made bad request must fail; the connection must
 * still work afterwards. */
static int role_badsqe(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    lsmd_conn *c;
    if (lsmd_connect(argv[1], &c))
        return 1;
    uint32_t ab = c->arena_bytes, lo = c->large_off;
    /* A malformed batch payload and a name with a NUL, in the large region. */
    memset(conn_large(c), 0xee, 4096);
    memcpy(conn_large(c) + 4096, "memtable\0bytes", 14);
    struct shm_sqe bad[] = {
        { .opcode = SHM_OP_PUT, .key_off = ab - 1, .key_len = 10 },
        { .opcode = SHM_OP_PUT, .key_off = 0xfffffff0u, .key_len = 0x20 },
        { .opcode = SHM_OP_PUT, .key_off = lo, .key_len = 4, .val_off = ab - 8, .val_len = 64 },
        { .opcode = SHM_OP_PUT, .key_off = lo, .key_len = LSM_MAX_KEY_SIZE + 1 },
        { .opcode = SHM_OP_PUT, .key_off = lo, .key_len = 0, .val_off = lo, .val_len = 4 },
        { .opcode = SHM_OP_GET, .key_off = lo, .key_len = 4, .out_off = ab - 16, .out_cap = 64 },
        { .opcode = SHM_OP_GET, .key_off = lo, .key_len = 4, .out_off = 0xffffff00u,
          .out_cap = 0x1000 },
        { .opcode = SHM_OP_GET, .key_off = lo, .key_len = 4, .out_off = lo, .out_cap = 64,
          .arg0 = 999999 }, /* a snapshot nobody holds */
        { .opcode = SHM_OP_DELETE, .key_off = lo, .key_len = 4, .val_off = lo, .val_len = 4 },
        { .opcode = 200 },
        { .opcode = SHM_OP_NOP },
        { .opcode = SHM_OP_PING, .reserved1 = { 1, 0 } },
        { .opcode = SHM_OP_PUT, .flags = 0x80, .key_off = lo, .key_len = 4 },
        { .opcode = SHM_OP_WRITE_BATCH, .val_off = lo, .val_len = 4096, .arg1 = 3 },
        { .opcode = SHM_OP_WRITE_BATCH, .val_off = lo, .val_len = 4096, .arg1 = 1ull << 40 },
        { .opcode = SHM_OP_ITER_NEXT, .arg0 = 4242, .out_off = lo, .out_cap = 4096 },
        { .opcode = SHM_OP_ITER_CLOSE, .arg0 = 4243 },
        { .opcode = SHM_OP_SNAP_RELEASE, .arg0 = 31337 },
        { .opcode = SHM_OP_SNAP_HOLD, .arg0 = 31338 },
        { .opcode = SHM_OP_SET_OPTION, .key_off = lo + 4096, .key_len = 14, .val_off = lo,
          .val_len = 2 },
        { .opcode = SHM_OP_COMPACT, .arg0 = 1000 },
        { .opcode = SHM_OP_ITER_OPEN, .arg0 = 777, .out_off = lo, .out_cap = 4096 },
        { .opcode = SHM_OP_STATS, .out_off = ab - 4, .out_cap = 8 },
        /* GET_OPTION: a name with a NUL, 4096 bytes of garbage, an output
         * past the arena, every option into one byte. */
        { .opcode = SHM_OP_GET_OPTION, .key_off = lo + 4096, .key_len = 14, .out_off = lo,
          .out_cap = 64 },
        { .opcode = SHM_OP_GET_OPTION, .key_off = lo, .key_len = 4096, .out_off = lo,
          .out_cap = 64 },
        { .opcode = SHM_OP_GET_OPTION, .out_off = ab - 4, .out_cap = 8 },
        { .opcode = SHM_OP_GET_OPTION, .out_off = lo, .out_cap = 1 },
    };
    return expect_refused(c, bad, (int)(sizeof bad / sizeof bad[0]));
}

/* emptybatch SOCKET: a WRITE_BATCH with no payload that claims 3 entries, as
 * the first write a fresh daemon's worker sees (its batch scratch buffer is
 * not allocated yet: the daemon once passed that NULL to memcpy, and its
 * UBSan build aborted). */
static int role_emptybatch(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    lsmd_conn *c;
    if (lsmd_connect(argv[1], &c))
        return 1;
    struct shm_sqe bad[] = {
        { .opcode = SHM_OP_WRITE_BATCH, .val_off = c->large_off, .val_len = 0, .arg1 = 3 },
    };
    return expect_refused(c, bad, 1);
}

/* noreap SOCKET: fills the submission ring, never consumes completions. */
static int role_noreap(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    lsmd_conn *c;
    if (lsmd_connect(argv[1], &c))
        return 1;
    int pushed = 0;
    for (int round = 0; round < 200; round++) {
        int space = shm_ring_space(&c->sq);
        if (space <= 0) {
            usleep(1000);
            continue;
        }
        for (int i = 0; i < space; i++) {
            struct shm_sqe q = { .opcode = SHM_OP_PING, .tag = SHM_TAG_DISCARD };
            memcpy(shm_ring_slot(&c->sq, (uint32_t)i), &q, sizeof q);
        }
        shm_ring_publish(&c->sq, (uint32_t)space);
        shm_wake(&c->hdr->daemon_sleeping);
        pushed += space;
    }
    th_reply("stuck %d", pushed);
    char line[16];
    while (fgets(line, sizeof line, stdin))
        ;
    lsmd_disconnect(c);
    return 0;
}

/* ---- the test ---------------------------------------------------------------- */

static long steady_count(th_child *s)
{
    const char *r = th_ask(s, "count");
    long n = -1;
    if (sscanf(r, "ok %ld", &n) != 1)
        fail_msg("steady client: %s", r);
    return n;
}

/* The daemon's CPU time (user + system) in seconds. */
static double daemon_cpu(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (p)
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The steady client made progress since *last and the daemon lives. */
static void expect_progress(th_child *steady, long *last, const char *phase)
{
    usleep(100000);
    long now = steady_count(steady);
    if (now <= *last)
        fail_msg("phase %s: the well-behaved client made no progress (%ld)", phase, now);
    if (!thd_alive(&g_d)) {
        thd_dump_log(&g_d);
        fail_msg("phase %s: the daemon died", phase);
    }
    fprintf(stderr, "phase %-10s ok: steady client at %ld requests\n", phase, now);
    *last = now;
}

static void test_bad_clients(void **state)
{
    (void)state;
    const char *sock_args[] = { g_d.sock, NULL };
    th_child steady;
    th_spawn(&steady, "steady", sock_args);
    long last = 0;
    expect_progress(&steady, &last, "start");

    /* SIGKILL with requests in flight. */
    for (int i = 0; i < 5; i++) {
        th_child k;
        th_spawn(&k, "killed", sock_args);
        const char *r = th_recv(&k, 20000);
        assert_non_null(r);
        usleep(30000 + 20000 * (unsigned)i);
        th_kill(&k);
    }
    expect_progress(&steady, &last, "killed");

    uint64_t seed = th_seed();
    char seed_s[32];
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)seed);
    const char *seed_args[] = { g_d.sock, seed_s, NULL };

    th_child s;
    th_spawn(&s, "scribbler", seed_args);
    const char *r = th_recv(&s, 30000);
    assert_non_null(r);
    assert_string_equal(r, "done");
    expect_progress(&steady, &last, "scribbler");
    assert_int_equal(th_wait(&s), 0);

    th_child g;
    th_spawn(&g, "garbage", seed_args);
    r = th_recv(&g, 60000);
    assert_non_null(r);
    long sent, errors, oks;
    int alive;
    assert_int_equal(sscanf(r, "done %ld %ld %ld %d", &sent, &errors, &oks, &alive), 4);
    fprintf(stderr, "garbage: %ld descriptors, %ld refused, %ld accepted, %s\n", sent, errors,
            oks, alive == 0 ? "still connected" : "disconnected by the daemon");
    assert_true(sent > 0);
    expect_progress(&steady, &last, "garbage");
    assert_int_equal(th_wait(&g), 0);

    th_child b;
    th_spawn(&b, "badsqe", sock_args);
    r = th_recv(&b, 30000);
    assert_non_null(r);
    if (strncmp(r, "ok", 2) != 0)
        fail_msg("badsqe: %s", r);
    assert_int_equal(th_wait(&b), 0);
    expect_progress(&steady, &last, "badsqe");

    th_child nr;
    th_spawn(&nr, "noreap", sock_args);
    r = th_recv(&nr, 30000);
    assert_non_null(r);
    char stuck[64];
    snprintf(stuck, sizeof stuck, "%s", r);
    double cpu0 = daemon_cpu(g_d.pid), t0 = th_now();
    expect_progress(&steady, &last, "noreap");
    usleep(400000);
    fprintf(stderr, "noreap (%s): daemon used %.0f%% of a CPU meanwhile (steady client "
                    "running)\n", stuck, 100 * (daemon_cpu(g_d.pid) - cpu0) / (th_now() - t0));
    th_kill(&nr);
    expect_progress(&steady, &last, "end");

    th_send(&steady, "stop");
    r = th_recv(&steady, 30000);
    assert_non_null(r);
    assert_true(strncmp(r, "ok", 2) == 0);
    assert_int_equal(th_wait(&steady), 0);
    assert_int_equal(thd_stop(&g_d), 0);
}

/* A fresh daemon (its own setup): the empty batch is the first write. */
static void test_empty_batch_first(void **state)
{
    (void)state;
    const char *sock_args[] = { g_d.sock, NULL };
    th_child e;
    th_spawn(&e, "emptybatch", sock_args);
    const char *r = th_recv(&e, 30000);
    assert_non_null(r);
    if (strncmp(r, "ok", 2) != 0)
        fail_msg("emptybatch client: %s", r);
    assert_int_equal(th_wait(&e), 0);
    if (!thd_alive(&g_d)) {
        thd_dump_log(&g_d);
        fail_msg("the daemon died on an empty batch");
    }
    assert_int_equal(thd_stop(&g_d), 0);
}

int main(int argc, char **argv)
{
    static const th_role roles[] = {
        { "steady", role_steady }, { "killed", role_killed }, { "scribbler", role_scribbler },
        { "garbage", role_garbage }, { "badsqe", role_badsqe }, { "noreap", role_noreap },
        { "emptybatch", role_emptybatch }, { NULL, NULL },
    };
    const struct CMUnitTest tests[] = {
        TH_TEST(test_empty_batch_first, &g_fx),
        TH_TEST(test_bad_clients, &g_fx),
    };
    return TH_MAIN(argc, argv, roles, NULL, tests);
}
