/*
 * test_shared_snapshots.c — one snapshot ID shared by several processes.
 *
 * A acquires a snapshot and B holds the same ID; both read the same old
 * view while C overwrites every key (and flushes and compacts); A exits and
 * B still reads the view; B is SIGKILLed and the pin must leave the
 * published directory within 1 s; a compaction afterwards must then give
 * back the space the old versions took.
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define NKEYS 200
#define VSIZE 2000

static th_daemon g_d;
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_BIN, .tag = "snapshots", .start = true };

/* ---- the agent role: one command per line on stdin ------------------------ */

static void fill(char *buf, const char *tag, int k, size_t n)
{
    int m = snprintf(buf, n, "%s-%d|", tag, k);
    for (size_t i = (size_t)m; i < n; i++)
        buf[i] = (char)('A' + (i + (size_t)k) % 26);
}

static int agent_check(lsmd_conn *c, uint64_t snap, const char *tag)
{
    char want[VSIZE], key[16];
    for (int k = 0; k < NKEYS; k++) {
        snprintf(key, sizeof key, "k%04d", k);
        fill(want, tag, k, VSIZE);
        void *v;
        size_t n;
        int rc = lsmd_get(c, snap, key, strlen(key), &v, &n);
        if (rc) {
            th_reply("err get %s: %s", key, lsmd_strerror(rc));
            return 0;
        }
        bool same = n == VSIZE && memcmp(v, want, VSIZE) == 0;
        free(v);
        if (!same) {
            th_reply("err %s does not hold %s", key, tag);
            return 0;
        }
    }
    /* The same view through a scan. */
    lsmd_iter *it;
    int rc = lsmd_iter_new(c, snap, NULL, 0, NULL, 0, &it);
    if (rc) {
        th_reply("err iter: %s", lsmd_strerror(rc));
        return 0;
    }
    int n = 0;
    bool ok = true;
    for (; lsmd_iter_valid(it); lsmd_iter_next(it), n++) {
        size_t vl;
        const char *v = lsmd_iter_value(it, &vl);
        ok &= vl == VSIZE && strncmp(v, tag, strlen(tag)) == 0 && v[strlen(tag)] == '-';
    }
    rc = lsmd_iter_status(it);
    lsmd_iter_free(it);
    if (rc || !ok || n != NKEYS)
        th_reply("err scan: rc %d, %d entries, values %s", rc, n, ok ? "ok" : "wrong");
    else
        th_reply("ok");
    return 0;
}

/* argv: agent SOCKET */
static void reply_rc(int rc)
{
    th_reply("%s %d", rc ? "err" : "ok", rc);
}

static int role_agent(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    lsmd_conn *c;
    int rc = lsmd_connect(argv[1], &c);
    if (rc) {
        th_reply("err connect: %s", lsmd_strerror(rc));
        return 1;
    }
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        char cmd[32] = "", tag[32] = "";
        unsigned long long id = 0;
        sscanf(line, "%31s", cmd);
        if (strcmp(cmd, "acquire") == 0) {
            uint64_t sid;
            rc = lsmd_snapshot_acquire(c, &sid);
            if (rc)
                th_reply("err %d", rc);
            else
                th_reply("ok %llu", (unsigned long long)sid);
        } else if (sscanf(line, "hold %llu", &id) == 1) {
            reply_rc(lsmd_snapshot_hold(c, id));
        } else if (sscanf(line, "release %llu", &id) == 1) {
            reply_rc(lsmd_snapshot_release(c, id));
        } else if (sscanf(line, "check %llu %31s", &id, tag) == 2) {
            agent_check(c, id, tag);
        } else if (sscanf(line, "write %31s", tag) == 1) {
            char v[VSIZE], key[16];
            rc = 0;
            for (int k = 0; k < NKEYS && rc == 0; k++) {
                snprintf(key, sizeof key, "k%04d", k);
                fill(v, tag, k, VSIZE);
                rc = lsmd_put(c, key, strlen(key), v, VSIZE, 0);
            }
            reply_rc(rc);
        } else if (strcmp(cmd, "flush") == 0) {
            reply_rc(lsmd_flush(c));
        } else if (strcmp(cmd, "compact") == 0) {
            reply_rc(lsmd_compact(c, -1));
        } else if (strcmp(cmd, "exit") == 0) {
            break;
        } else {
            th_reply("err unknown command");
        }
    }
    lsmd_disconnect(c);
    return 0;
}

/* ---- helpers for the test side ------------------------------------------- */

static void expect_ok(const char *what, const char *reply)
{
    if (strncmp(reply, "ok", 2) != 0)
        fail_msg("%s: %s", what, reply);
}

/* Holders of id in the published directory, 0 if it is not listed. */
static uint32_t listed_holders(lsmd_conn *c, uint64_t id)
{
    lsmd_snapshot_info v[64];
    size_t n;
    assert_int_equal(lsmd_snapshot_list(c, v, 64, &n), 0);
    for (size_t i = 0; i < n && i < 64; i++)
        if (v[i].id == id)
            return v[i].holders;
    return 0;
}

/* Bytes in all tables, from the daemon's stats. */
static double table_bytes(lsmd_conn *c)
{
    char *json;
    assert_int_equal(lsmd_stats_json(c, &json), 0);
    const char *p = strstr(json, "\"tables\":");
    assert_non_null(p);
    double b = atof(p + 9);
    free(json);
    return b;
}

static void test_shared_snapshots(void **state)
{
    (void)state;
    th_child a, b, w;
    const char *args[] = { g_d.sock, NULL };
    th_spawn(&a, "agent", args);
    th_spawn(&b, "agent", args);
    th_spawn(&w, "agent", args);
    lsmd_conn *obs = thd_connect(&g_d);

    expect_ok("write old", th_ask(&w, "write old"));
    expect_ok("flush", th_ask(&w, "flush"));
    unsigned long long id = 0;
    const char *r = th_ask(&a, "acquire");
    assert_int_equal(sscanf(r, "ok %llu", &id), 1);
    expect_ok("hold", th_ask(&b, "hold %llu", id));
    assert_int_equal(listed_holders(obs, id), 2);

    /* C overwrites everything, and the tree is rewritten underneath. */
    expect_ok("write new", th_ask(&w, "write new"));
    expect_ok("flush", th_ask(&w, "flush"));
    const char *cr = th_ask(&w, "compact");
    bool have_compaction = strncmp(cr, "ok", 2) == 0;
    if (!have_compaction)
        fprintf(stderr, "compact: %s (space check skipped)\n", cr);
    expect_ok("A sees old", th_ask(&a, "check %llu old", id));
    expect_ok("B sees old", th_ask(&b, "check %llu old", id));
    expect_ok("C sees new", th_ask(&w, "check 0 new"));
    double pinned_bytes = table_bytes(obs);

    /* A leaves; B's hold keeps the view. */
    th_send(&a, "exit");
    assert_int_equal(th_wait(&a), 0);
    expect_ok("B still sees old", th_ask(&b, "check %llu old", id));
    assert_int_equal(listed_holders(obs, id), 1);

    /* B dies: the pin must leave the directory within 1 s. */
    th_kill(&b);
    double t0 = th_now();
    while (listed_holders(obs, id) != 0) {
        if (th_now() - t0 > 1.0)
            fail_msg("snapshot %llu still listed 1 s after its last holder died", id);
        usleep(5000);
    }
    fprintf(stderr, "pin of a SIGKILLed holder left the directory after %.1f ms\n",
            (th_now() - t0) * 1e3);
    r = th_ask(&w, "hold %llu", id);
    assert_true(strncmp(r, "err", 3) == 0); /* -ESRCH: nothing to hold any more */

    if (have_compaction) {
        /* The engine drops versions no snapshot sees when it merges tables
         * (a lone bottom table is not rewritten by a manual compaction):
         * rewrite the keys so the merge happens, then compact. */
        expect_ok("write new", th_ask(&w, "write new"));
        expect_ok("flush", th_ask(&w, "flush"));
        expect_ok("compact", th_ask(&w, "compact"));
        double after = table_bytes(obs);
        fprintf(stderr, "tables: %.0f bytes while pinned, %.0f after the pin ended\n",
                pinned_bytes, after);
        assert_true(after < pinned_bytes * 0.75);
    }
    expect_ok("C sees new", th_ask(&w, "check 0 new"));
    th_send(&w, "exit");
    assert_int_equal(th_wait(&w), 0);
    lsmd_disconnect(obs);
    assert_int_equal(thd_stop(&g_d), 0);
}

int main(int argc, char **argv)
{
    static const th_role roles[] = { { "agent", role_agent }, { NULL, NULL } };
    const struct CMUnitTest tests[] = { TH_TEST(test_shared_snapshots, &g_fx) };
    return TH_MAIN(argc, argv, roles, NULL, tests);
}
