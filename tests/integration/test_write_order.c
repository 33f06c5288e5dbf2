/*
 * test_write_order.c — a client's pipelined writes stay in order and are
 * acknowledged only once applied, while its worker has several write groups
 * in flight at once (daemon/batcher.c).
 *
 * NCLIENTS processes share one worker (--workers 1).  Each keeps WINDOW
 * puts in flight through the asynchronous interface, all to its own NKEYS
 * keys, versions 1..NVERS of each key in submission order, most with
 * LSM_SYNC and some without (a group without sync is committed inline by
 * the worker while synced ones wait for their fdatasync).  On every
 * acknowledgement of version v of key k it reads k through a second
 * connection (another session: nothing waits for the writer's groups
 * there) and checks that it sees a version >= v (the write was applied
 * before it was acknowledged) and never older than what it saw before (no
 * reordering).  At the end each key must hold version NVERS, read through
 * both connections, and again after a SIGKILL of the daemon and a restart
 * (the WAL replays the same order).
 */
#include "helpers.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define NCLIENTS 4
#define NKEYS 4
#define WINDOW 8
#define NVERS 150

static th_daemon g_d;
/* One worker: every client's groups share its committers. */
static const char *const g_extra[] = { "--workers", "1", NULL };
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_BIN, .tag = "worder", .extra = g_extra,
                           .start = true };

static int make_key(char *buf, int cl, int k)
{
    return snprintf(buf, 32, "order-c%02d-k%d", cl, k);
}

static int make_value(char *buf, int cl, int k, unsigned v)
{
    return snprintf(buf, 64, "c%02d-k%d-v%08u-padding-padding", cl, k, v);
}

/* The version in a value made by make_value, or 0 when it is not one. */
static unsigned value_version(const void *val, size_t vlen, int cl, int k)
{
    char want[64], got[64];
    int n = make_value(want, cl, k, 0);
    if (vlen != (size_t)n)
        return 0;
    memcpy(got, val, vlen);
    got[vlen] = '\0';
    unsigned v = 0;
    int gcl, gk;
    if (sscanf(got, "c%02d-k%d-v%08u", &gcl, &gk, &v) != 3 || gcl != cl || gk != k)
        return 0;
    return v;
}

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "client %d: ", id);                                 \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            return 1;                                                           \
        }                                                                       \
    } while (0)

/* Reads key k of client id through c: its version, or 0 when absent. */
static int read_version(lsmd_conn *c, int id, int k, unsigned *v)
{
    char key[32];
    int kl = make_key(key, id, k);
    void *val = NULL;
    size_t vlen = 0;
    int rc = lsmd_get(c, 0, key, (size_t)kl, &val, &vlen);
    *v = 0;
    if (rc == 0) {
        *v = value_version(val, vlen, id, k);
        if (*v == 0)
            rc = -EBADMSG;
    } else if (rc == LSM_ENOTFOUND) {
        rc = 0;
    }
    free(val);
    return rc;
}

/* argv: writer SOCKET ID SEED */
static int role_writer(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    int id = atoi(argv[2]);
    th_rng rng;
    th_rng_seed(&rng, strtoull(argv[3], NULL, 0) + (uint64_t)id * 7919);
    lsmd_conn *w, *r;
    int rc = lsmd_connect(argv[1], &w);
    CHECK(rc == 0, "connect: %s", lsmd_strerror(rc));
    rc = lsmd_connect(argv[1], &r);
    CHECK(rc == 0, "connect: %s", lsmd_strerror(rc));
    CHECK(lsmd_queue_depth(w) >= WINDOW, "queue depth %u", lsmd_queue_depth(w));

    unsigned submitted[NKEYS] = { 0 }, acked[NKEYS] = { 0 }, seen[NKEYS] = { 0 };
    int total = NKEYS * NVERS, done = 0, inflight = 0;
    while (done < total) {
        /* Refill the window, keys in a random order. */
        while (inflight < WINDOW && done + inflight < total) {
            int k = (int)th_rng_below(&rng, NKEYS);
            while (submitted[k] == NVERS)
                k = (k + 1) % NKEYS;
            unsigned v = ++submitted[k];
            char key[32], val[64];
            int kl = make_key(key, id, k), vl = make_value(val, id, k, v);
            int flags = th_rng_below(&rng, 4) == 0 ? 0 : LSM_SYNC;
            int tag = lsmd_submit_put(w, key, (size_t)kl, val, (size_t)vl, flags,
                                      (uint64_t)k << 32 | v);
            CHECK(tag >= 0, "submit: %s", lsmd_strerror(tag));
            inflight++;
        }
        lsmd_completion comp[WINDOW];
        int m = lsmd_poll(w, comp, WINDOW, 1);
        CHECK(m > 0, "poll: %s", lsmd_strerror(m));
        for (int j = 0; j < m; j++) {
            int k = (int)(comp[j].user_data >> 32);
            unsigned v = (unsigned)comp[j].user_data;
            CHECK(comp[j].status == 0, "put k%d v%u: %s", k, v, lsmd_strerror(comp[j].status));
            if (v > acked[k])
                acked[k] = v;
            /* Another session's read: applied before acknowledged, and
             * never a version older than one already seen. */
            unsigned now;
            rc = read_version(r, id, k, &now);
            CHECK(rc == 0, "get k%d: %s", k, lsmd_strerror(rc));
            CHECK(now >= v, "k%d: v%u acknowledged but a reader sees v%u", k, v, now);
            CHECK(now >= seen[k], "k%d: went back from v%u to v%u", k, seen[k], now);
            CHECK(now <= submitted[k], "k%d: v%u seen, only v%u submitted", k, now,
                  submitted[k]);
            seen[k] = now;
        }
        inflight -= m;
        done += m;
    }
    for (int k = 0; k < NKEYS; k++) {
        unsigned vw, vr;
        CHECK(acked[k] == NVERS, "k%d: last acknowledged v%u", k, acked[k]);
        rc = read_version(w, id, k, &vw);
        CHECK(rc == 0 && vw == NVERS, "k%d: writer reads v%u (rc %d)", k, vw, rc);
        rc = read_version(r, id, k, &vr);
        CHECK(rc == 0 && vr == NVERS, "k%d: reader reads v%u (rc %d)", k, vr, rc);
    }
    lsmd_disconnect(r);
    lsmd_disconnect(w);
    th_reply("OK");
    return 0;
}

/* Whether the daemon's log mentions a sanitizer report (the SIGKILL below
 * keeps a sanitizer from failing the daemon's exit status). */
static bool log_has_sanitizer_report(void)
{
    FILE *f = fopen(g_d.log, "r");
    if (!f)
        return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "Sanitizer") != NULL || strstr(line, "runtime error") != NULL;
    fclose(f);
    return found;
}

static void check_final(void)
{
    lsmd_conn *c = thd_connect(&g_d);
    for (int id = 0; id < NCLIENTS; id++)
        for (int k = 0; k < NKEYS; k++) {
            unsigned v;
            assert_int_equal(read_version(c, id, k, &v), 0);
            if (v != NVERS)
                fail_msg("client %d key %d holds v%u after the restart, want v%d", id, k,
                         v, NVERS);
        }
    lsmd_disconnect(c);
}

static void test_write_order(void **state)
{
    (void)state;
    char seed_s[32];
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)th_seed());
    th_child ch[NCLIENTS];
    for (int i = 0; i < NCLIENTS; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", i);
        const char *args[] = { g_d.sock, id, seed_s, NULL };
        th_spawn(&ch[i], "writer", args);
    }
    for (int i = 0; i < NCLIENTS; i++) {
        const char *line = th_recv(&ch[i], 120000);
        if (!line || strcmp(line, "OK") != 0) {
            thd_dump_log(&g_d);
            fail_msg("client %d failed (see its message above)", i);
        }
        assert_int_equal(th_wait(&ch[i]), 0);
    }
    if (log_has_sanitizer_report()) {
        thd_dump_log(&g_d);
        fail_msg("the daemon reported a sanitizer error");
    }
    /* Every write was acknowledged: a crash keeps them all, in order. */
    thd_kill(&g_d);
    thd_start(&g_d, g_fx.extra);
    check_final();
    assert_int_equal(thd_stop(&g_d), 0);
}

int main(int argc, char **argv)
{
    static const th_role roles[] = { { "writer", role_writer }, { NULL, NULL } };
    const struct CMUnitTest tests[] = { TH_TEST(test_write_order, &g_fx) };
    return TH_MAIN(argc, argv, roles, NULL, tests);
}
