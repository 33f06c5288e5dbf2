/*
 * test_sync_gather.c — the syncer's gathering (daemon/wal_syncer.c,
 * "Gathering") through a real lsmd and real client processes, each doing
 * synced puts one at a time:
 *
 *   - one client alone never makes a round wait (the syncer's "gathers"
 *     stays where it was): a single writer pays no latency for it;
 *   - six clients together do make rounds wait for the others, and the
 *     mean round is printed beside the count;
 *   - two clients that write now and then (not in step) make few rounds
 *     wait: a wait that brings nothing backs the waiting off;
 *   - with or without waiting, every acknowledged put is there, through
 *     the daemon and after SIGKILL of it.
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define CLIENTS 6

static th_daemon g_d;
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_BIN, .tag = "syncgather", .start = true };

static int put_key(char *buf, size_t n, int client, long i)
{
    return snprintf(buf, n, "gather-%d-%08ld", client, i);
}

/* argv: putter SOCKET CLIENT MS [PAUSE_US].  Synced puts one at a time
 * for MS milliseconds, PAUSE_US apart (default none); replies "PUTS" (keys
 * 0 .. PUTS-1, all acknowledged). */
static int role_putter(int argc, char **argv)
{
    if (argc != 4 && argc != 5)
        return 2;
    int client = atoi(argv[2]);
    double end = th_now() + atof(argv[3]) / 1000.0;
    useconds_t pause = argc == 5 ? (useconds_t)atol(argv[4]) : 0;
    lsmd_conn *c;
    int rc = lsmd_connect(argv[1], &c);
    if (rc) {
        th_reply("err connect: %s", lsmd_strerror(rc));
        return 1;
    }
    long i = 0;
    for (; th_now() < end; i++) {
        char key[40], val[64];
        int kl = put_key(key, sizeof key, client, i);
        int vl = snprintf(val, sizeof val, "v%ld", i);
        rc = lsmd_put(c, key, (size_t)kl, val, (size_t)vl, LSM_SYNC);
        if (rc) {
            th_reply("err put %ld: %s", i, lsmd_strerror(rc));
            return 1;
        }
        if (pause)
            usleep(pause + (useconds_t)(client * 977)); /* not in step */
    }
    th_reply("%ld", i);
    lsmd_disconnect(c);
    return 0;
}

typedef struct syncer_counts {
    unsigned long long writes, rounds, gathers;
} syncer_counts;

static syncer_counts counts(void)
{
    lsmd_conn *c = thd_connect(&g_d);
    char *json = NULL;
    assert_int_equal(lsmd_stats_json(c, &json), 0);
    syncer_counts s = {
        th_json_u64(json, "\"syncer\":{", "\"writes\":"),
        th_json_u64(json, "\"syncer\":{", "\"rounds\":"),
        th_json_u64(json, "\"syncer\":{", "\"gathers\":"),
    };
    free(json);
    lsmd_disconnect(c);
    return s;
}

/* Runs n putters (clients first .. first + n - 1) for ms, pause_us
 * between puts; their puts into puts[]. */
static void run_putters(int first, int n, double ms, long pause_us, long *puts)
{
    th_child ch[CLIENTS];
    for (int k = 0; k < n; k++) {
        char client[16], dur[32], pause[32];
        snprintf(client, sizeof client, "%d", first + k);
        snprintf(dur, sizeof dur, "%.0f", ms);
        snprintf(pause, sizeof pause, "%ld", pause_us);
        const char *args[] = { g_d.sock, client, dur, pause, NULL };
        th_spawn(&ch[k], "putter", args);
    }
    for (int k = 0; k < n; k++) {
        const char *line = th_recv(&ch[k], 120000);
        if (!line || sscanf(line, "%ld", &puts[first + k]) != 1) {
            thd_dump_log(&g_d);
            fail_msg("putter %d: %s", first + k, line ? line : "no reply");
        }
        assert_int_equal(th_wait(&ch[k]), 0);
    }
}

static void expect_puts(const long *puts, int n)
{
    lsmd_conn *c = thd_connect(&g_d);
    for (int k = 0; k < n; k++)
        for (long i = 0; i < puts[k]; i++) {
            char key[40], want[64];
            int kl = put_key(key, sizeof key, k, i);
            int wl = snprintf(want, sizeof want, "v%ld", i);
            void *v = NULL;
            size_t vl = 0;
            int rc = lsmd_get(c, 0, key, (size_t)kl, &v, &vl);
            if (rc != 0 || vl != (size_t)wl || memcmp(v, want, vl) != 0)
                fail_msg("client %d put %ld: %s", k, i, rc ? lsmd_strerror(rc) : "wrong value");
            free(v);
        }
    lsmd_disconnect(c);
}

static void test_gathering(void **state)
{
    (void)state;
    long puts[CLIENTS] = { 0 };
    double ms = 1000.0 * th_duration(1.5, 1.0);

    /* One client: no round waits. */
    syncer_counts a = counts();
    run_putters(0, 1, ms, 0, puts);
    syncer_counts b = counts();
    fprintf(stderr, "1 client: %ld synced puts, %llu rounds, %llu gathers\n", puts[0],
            b.rounds - a.rounds, b.gathers - a.gathers);
    assert_true(puts[0] > 0);
    assert_int_equal(b.writes - a.writes, (unsigned long long)puts[0]);
    assert_int_equal(b.gathers, a.gathers);

    /* Six together: rounds wait for the others. */
    run_putters(0, CLIENTS, ms, 0, puts);
    syncer_counts c = counts();
    unsigned long long w = c.writes - b.writes, r = c.rounds - b.rounds;
    long total = 0;
    for (int k = 0; k < CLIENTS; k++)
        total += puts[k];
    fprintf(stderr, "%d clients: %ld synced puts, %llu rounds (%.2f writes each), %llu gathers\n",
            CLIENTS, total, r, r ? (double)w / (double)r : 0.0, c.gathers - b.gathers);
    assert_int_equal(w, (unsigned long long)total);
    assert_true(c.gathers > b.gathers);

    /* Two clients, a put every 3-4 ms each: waiting seldom brings the
     * other's write, so it backs off (without the back-off nearly every
     * round waited). */
    long sparse[2] = { 0 };
    run_putters(0, 2, ms, 3000, sparse);
    syncer_counts d = counts();
    unsigned long long sr = d.rounds - c.rounds, sg = d.gathers - c.gathers;
    fprintf(stderr, "2 clients now and then: %ld synced puts, %llu rounds, %llu gathers\n",
            sparse[0] + sparse[1], sr, sg);
    assert_true(sr > 0);
    assert_true(sg * 4 < sr);
    for (int k = 0; k < 2; k++)
        puts[k] = sparse[k] > puts[k] ? sparse[k] : puts[k];

    /* Every acknowledged put is there, and survives SIGKILL. */
    expect_puts(puts, CLIENTS);
    thd_kill(&g_d);
    thd_start(&g_d, NULL);
    expect_puts(puts, CLIENTS);
    assert_int_equal(thd_stop(&g_d), 0);
}

int main(int argc, char **argv)
{
    static const th_role roles[] = { { "putter", role_putter }, { NULL, NULL } };
    const struct CMUnitTest tests[] = {
        TH_TEST(test_gathering, &g_fx),
    };
    return TH_MAIN(argc, argv, roles, NULL, tests);
}
