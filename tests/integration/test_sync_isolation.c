/*
 * test_sync_isolation.c — a client's synced writes do not hold the other
 * clients of its worker for their fdatasync (daemon/batcher.h,
 * daemon/wal_syncer.h: the worker applies writes without waiting for a
 * sync; the syncer thread makes them durable and acknowledges them).
 *
 * One worker (--workers 1) serves two client processes:
 *   "synced" keeps WINDOW pairs in flight of a synced 16 KiB put followed
 *   at once by a get of the same key (the get must see the put: the worker
 *   applies the put first; before the two-step design that ran the put's
 *   group, and its fdatasync, on the worker thread);
 *   "fast" does small unsynced puts and gets, one at a time.
 * The fast client's operation count is measured alone, then while the
 * synced client runs.  With the sync off the worker thread, the fast
 * client keeps a good share of its rate (the bound, a fifth, leaves room
 * for a loaded machine: the two clients also share the worker and the
 * CPUs); with the fdatasync on the worker it falls to what fits between
 * syncs.  Counts, not latencies, are compared; the p99 and the slowest op
 * are printed.  The synced client checks every get saw its put and every
 * put succeeded, and the synced puts must all survive a SIGKILL of the
 * daemon.
 */
#include "helpers.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "fast_client.h"

#define WINDOW 2            /* synced put + get pairs in flight */
#define VALUE_BYTES (16u << 10)

static th_daemon g_d;
static const char *const g_extra[] = { "--workers", "1", NULL };
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_BIN, .tag = "synciso", .extra = g_extra,
                           .start = true };

/* The next "run MS" command on stdin: MS, or -1 (quit or EOF). */

static int synced_key(char *buf, long i)
{
    return snprintf(buf, 32, "synced-%08ld", i);
}

/* argv: synced SOCKET.  Per run: "PUTS LAST" (synced puts acknowledged,
 * the index of the last one; keys synced-0 .. synced-LAST). */
static int role_synced(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    lsmd_conn *c;
    int rc = lsmd_connect(argv[1], &c);
    CHECK(rc == 0, "connect: %s", lsmd_strerror(rc));
    CHECK(lsmd_queue_depth(c) >= 2 * WINDOW, "queue depth %u", lsmd_queue_depth(c));
    char *val = malloc(VALUE_BYTES);
    CHECK(val != NULL, "out of memory");
    th_reply("READY");
    long ms, next = 0, puts = 0;
    while ((ms = next_run()) >= 0) {
        double end = th_now() + (double)ms / 1000.0;
        int inflight = 0;
        puts = 0;
        while (th_now() < end || inflight > 0) {
            while (inflight < 2 * WINDOW && th_now() < end) {
                char key[32];
                int kl = synced_key(key, next);
                memset(val, 'a' + (int)(next % 26), VALUE_BYTES);
                int tag = lsmd_submit_put(c, key, (size_t)kl, val, VALUE_BYTES, LSM_SYNC,
                                          (uint64_t)next);
                CHECK(tag >= 0, "submit put: %s", lsmd_strerror(tag));
                tag = lsmd_submit_get(c, 0, key, (size_t)kl, (uint64_t)next);
                CHECK(tag >= 0, "submit get: %s", lsmd_strerror(tag));
                inflight += 2;
                next++;
            }
            lsmd_completion comp[2 * WINDOW];
            int m = lsmd_poll(c, comp, 2 * WINDOW, 1);
            CHECK(m > 0, "poll: %s", lsmd_strerror(m));
            for (int j = 0; j < m; j++) {
                long i = (long)comp[j].user_data;
                CHECK(comp[j].status == 0, "op %d on key %ld: %s", comp[j].op, i,
                      lsmd_strerror(comp[j].status));
                if (comp[j].op == LSMD_OP_PUT) {
                    puts++;
                    continue;
                }
                /* The get came after the put: it sees it. */
                CHECK(comp[j].vlen == VALUE_BYTES &&
                          ((const char *)comp[j].val)[0] == 'a' + (int)(i % 26),
                      "get of key %ld does not see its put", i);
            }
            inflight -= m;
        }
        th_reply("%ld %ld", puts, next - 1);
    }
    free(val);
    lsmd_disconnect(c);
    return 0;
}

static long recv_long(th_child *c, const char *who, long *second, long *third)
{
    const char *line = th_recv(c, 60000);
    long a = -1, b = -1, d = -1;
    if (!line || sscanf(line, "%ld %ld %ld", &a, &b, &d) < 2) {
        thd_dump_log(&g_d);
        fail_msg("%s client failed (see its message above)", who);
    }
    if (second)
        *second = b;
    if (third)
        *third = d;
    return a;
}

static void test_sync_isolation(void **state)
{
    (void)state;
    const char *args[] = { g_d.sock, NULL };
    th_child fast, synced;
    th_spawn(&fast, "fast", args);
    th_spawn(&synced, "synced", args);
    const char *line = th_recv(&fast, 30000);
    assert_true(line && strcmp(line, "READY") == 0);
    line = th_recv(&synced, 30000);
    assert_true(line && strcmp(line, "READY") == 0);

    /* Alone: the fast client's rate (after a warm-up run). */
    th_send(&fast, "run 300");
    recv_long(&fast, "fast", NULL, NULL);
    th_send(&fast, "run 1000");
    long p99_0, max_0;
    long n0 = recv_long(&fast, "fast", &p99_0, &max_0);

    /* Beside the synced client: it starts first and ends last. */
    th_send(&synced, "run 2000");
    usleep(200000);
    th_send(&fast, "run 1500");
    long p99_1, max_1;
    long n1 = recv_long(&fast, "fast", &p99_1, &max_1);
    long last;
    long puts = recv_long(&synced, "synced", &last, NULL);
    double rate0 = (double)n0 / 1.0, rate1 = (double)n1 / 1.5;
    fprintf(stderr,
            "fast client alone: %.0f ops/s (p99 %ld us, slowest %ld us); beside %ld synced "
            "puts in 2 s: %.0f ops/s (p99 %ld us, slowest %ld us), %.0f%%\n",
            rate0, p99_0, max_0, puts, rate1, p99_1, max_1, 100.0 * rate1 / rate0);
    th_send(&fast, "quit");
    th_send(&synced, "quit");
    assert_int_equal(th_wait(&fast), 0);
    assert_int_equal(th_wait(&synced), 0);
    assert_true(puts >= 20); /* the synced client did sync meanwhile */
    /* Under a sanitizer (run-tests.sh sets LSM_TEST_SHORT) the clients,
     * the worker and the syncer share 2 cores at 5-15x the CPU cost, so the
     * rate measures CPU, not waiting: seen at 5% under TSan with the
     * two-step daemon.  The plain run carries this check (the one-step
     * daemon: 2%); the sanitizer runs keep the races and the survival
     * check below. */
    bool rate_checked = th_env_long("LSM_TEST_SHORT", 0) == 0;
    if (rate_checked && rate1 < rate0 / 5) {
        thd_dump_log(&g_d);
        fail_msg("the fast client fell from %.0f to %.0f ops/s beside synced puts", rate0,
                 rate1);
    }

    /* The syncer's counters: every synced put, and no more, went through
     * it, in at least one round and at most a round each. */
    lsmd_conn *sc = thd_connect(&g_d);
    char *json = NULL;
    assert_int_equal(lsmd_stats_json(sc, &json), 0);
    unsigned long long writes = th_json_u64(json, "\"syncer\":{", "\"writes\":");
    unsigned long long rounds = th_json_u64(json, "\"syncer\":{", "\"rounds\":");
    fprintf(stderr, "syncer: %llu synced writes in %llu rounds\n", writes, rounds);
    assert_int_equal(writes, (unsigned long long)puts);
    assert_true(rounds >= 1 && rounds <= writes);
    free(json);
    lsmd_disconnect(sc);

    /* Every acknowledged synced put survives SIGKILL. */
    thd_kill(&g_d);
    thd_start(&g_d, g_fx.extra);
    lsmd_conn *c = thd_connect(&g_d);
    for (long i = 0; i <= last; i++) {
        char key[32];
        int kl = synced_key(key, i);
        void *v = NULL;
        size_t vlen = 0;
        int rc = lsmd_get(c, 0, key, (size_t)kl, &v, &vlen);
        if (rc != 0 || vlen != VALUE_BYTES)
            fail_msg("synced key %ld lost after SIGKILL: %s", i, lsmd_strerror(rc));
        free(v);
    }
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(&g_d), 0);
}

int main(int argc, char **argv)
{
    static const th_role roles[] = { { "fast", role_fast }, { "synced", role_synced },
                                     { NULL, NULL } };
    const struct CMUnitTest tests[] = { TH_TEST(test_sync_isolation, &g_fx) };
    return TH_MAIN(argc, argv, roles, NULL, tests);
}
