/*
 * test_admin_auth.c — admin requests (issue 9, items 3 and 7) against an
 * ASan+UBSan lsmd (LSMD_ASAN_BIN), with an honest client alongside:
 *
 *   non_admin          uid 65534, allowed to attach but not an admin, gets
 *                      -EPERM for set/flush/compact/checkpoint (the write-stop
 *                      settings included), lsmctl says why, its STATS
 *                      works and the engine did not change; the daemon's
 *                      uid, a uid in admin_uids and a supplementary group
 *                      in admin_gids may.
 *   departed_dropped   40 clients (connections of one process) queue a
 *                      compaction (1 MB/s) and are killed: a fresh STATS
 *                      answers at once, and the 39 queued jobs are
 *                      dropped, not run.
 *   set_during_compact with a throttled compaction running, `set
 *                      compaction_rate_mb 0` and STATS answer at once and
 *                      the running compaction speeds up.
 *   one_outstanding    a second COMPACT of a session whose first one runs
 *                      gets -EBUSY; its STATS and SET_OPTION still go.
 *
 * Needs root (setuid to 65534 and 4321); skipped (77) otherwise.
 */
#include "helpers.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "harness.h"
#include "honest.h"

#define NOBODY 65534
#define ADMIN_UID 4321   /* listed in admin_uids */
#define ADMIN_GID 4242   /* listed in admin_gids */
#define FAST_MS 200.0    /* "answers at once" */

static th_daemon g_d;
/* The other uids must reach the socket. */
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_ASAN_BIN, .tag = "adminauth", .open_dir = true };

/* ---- the ctl role: one connection, one command per line -------------------- */

/* Drops to uid/gid ("-" = stay) with the supplementary groups in the comma
 * list groups ("-" = none). */
static int become(const char *uid, const char *gid, const char *groups)
{
    if (strcmp(uid, "-") == 0)
        return 0;
    gid_t g[64];
    size_t n = 0;
    for (const char *p = groups; strcmp(groups, "-") != 0 && *p && n < 64;) {
        g[n++] = (gid_t)strtoul(p, (char **)&p, 10);
        if (*p == ',')
            p++;
    }
    if (setgroups(n, g) != 0 || setgid((gid_t)atoi(gid)) != 0 ||
        setuid((uid_t)atoi(uid)) != 0)
        return -errno;
    return 0;
}

/* ctl SOCKET UID GID GROUPS: replies "ready", then per command line
 * "RC MS" (RC: the call's result, MS: its latency):
 *   stats | flush | compact LEVEL | set NAME VALUE | checkpoint DIR
 *   send-compact    a COMPACT whose completion nobody waits for */
static int role_ctl(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    int rc = become(argv[2], argv[3], argv[4]);
    lsmd_conn *c = NULL;
    if (rc == 0)
        rc = lsmd_connect(argv[1], &c);
    if (rc) {
        th_reply("err %d", rc);
        return 1;
    }
    th_reply("ready");
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        char a1[128] = "", a2[128] = "";
        double t0 = th_now();
        if (strncmp(line, "stats", 5) == 0) {
            char *json = NULL;
            rc = lsmd_stats_json(c, &json);
            free(json);
        } else if (strncmp(line, "flush", 5) == 0) {
            rc = lsmd_flush(c);
        } else if (sscanf(line, "compact %127s", a1) == 1) {
            rc = lsmd_compact(c, atoi(a1));
        } else if (sscanf(line, "checkpoint %127s", a1) == 1) {
            rc = lsmd_checkpoint(c, a1);
        } else if (sscanf(line, "set %127s %127s", a1, a2) == 2) {
            rc = lsmd_set_option(c, a1, a2);
        } else if (strncmp(line, "send-compact", 12) == 0) {
            struct shm_sqe q = { .opcode = SHM_OP_COMPACT, .arg0 = (uint64_t)-1 };
            rc = conn_send_discard(c, &q);
        } else {
            rc = -EINVAL;
        }
        th_reply("%d %.1f", rc, (th_now() - t0) * 1000);
    }
    lsmd_disconnect(c);
    return 0;
}

/* departing SOCKET N: N connections (N clients to the daemon), each sends
 * a COMPACT; replies "sent" and waits to be killed.  One process, so the
 * test does not measure the cost of spawning N of them. */
static int role_departing(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int n = atoi(argv[2]);
    for (int i = 0; i < n; i++) {
        lsmd_conn *c;
        int rc = lsmd_connect(argv[1], &c);
        struct shm_sqe q = { .opcode = SHM_OP_COMPACT, .arg0 = (uint64_t)-1 };
        if (rc == 0)
            rc = conn_send_discard(c, &q);
        if (rc) {
            th_reply("err %d: %d", i, rc);
            return 1;
        }
    }
    th_reply("sent");
    char line[16];
    while (fgets(line, sizeof line, stdin))
        ;
    return 0;
}

static void ctl_spawn(th_child *c, const char *uid, const char *gid, const char *groups)
{
    const char *args[] = { g_d.sock, uid, gid, groups, NULL };
    th_spawn(c, "ctl", args);
    const char *r = th_recv(c, 20000);
    if (!r || strcmp(r, "ready") != 0)
        fail_msg("ctl client (uid %s): %s", uid, r ? r : "exited");
}

/* The reply to a command sent: its result, its latency in *ms. */
static int ctl_reply(th_child *c, int timeout_ms, double *ms, const char *cmd)
{
    const char *r = th_recv(c, timeout_ms);
    int rc;
    double t = 0;
    if (!r || sscanf(r, "%d %lf", &rc, &t) != 2)
        fail_msg("ctl %s: %s", cmd, r ? r : "exited");
    if (ms)
        *ms = t;
    return rc;
}

/* Runs one command; returns its result, its latency in *ms. */
static int ctl_do(th_child *c, int timeout_ms, double *ms, const char *cmd)
{
    th_send(c, "%s", cmd);
    return ctl_reply(c, timeout_ms, ms, cmd);
}

/* Ends a ctl client: it must exit cleanly. */
static void ctl_end(th_child *c)
{
    assert_int_equal(th_wait(c), 0);
}

static void ctl_expect(th_child *c, const char *cmd, int want)
{
    double ms;
    int rc = ctl_do(c, 30000, &ms, cmd);
    if (rc != want)
        fail_msg("%s: got %d (%s), expected %d (%s)", cmd, rc, lsmd_strerror(rc), want,
                 lsmd_strerror(want));
}

/* ---- the daemon and its stats --------------------------------------------- */

static void start_daemon(const char *extra)
{
    char *cfg;
    assert_true(asprintf(&cfg, "%s/lsmd.ini", g_d.root) > 0);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "[lsmd]\nallow_uids = %d, %d\nadmin_uids = %d\nadmin_gids = %d\n%s", NOBODY,
            ADMIN_UID, ADMIN_UID, ADMIN_GID, extra ? extra : "");
    fclose(f);
    const char *args[] = { "--config", cfg, NULL };
    thd_start(&g_d, args);
    free(cfg);
    /* Whatever mode the daemon gives its socket, only SO_PEERCRED decides
     * here. */
    assert_int_equal(chmod(g_d.sock, 0666), 0);
}

/* The daemon's stats JSON (the test's own connection: the daemon's uid). */
static char *stats_json(void)
{
    lsmd_conn *c = thd_connect(&g_d);
    char *json = NULL;
    int rc = lsmd_stats_json(c, &json);
    lsmd_disconnect(c);
    if (rc)
        fail_msg("stats: %s", lsmd_strerror(rc));
    return json;
}

/* The counter "key" of stats.daemon.admin, the first one after section
 * inside it (e.g. "\"work\":{"; "" for the top level).  Fails the test
 * when absent. */
static unsigned long long admin_num(const char *json, const char *section, const char *key)
{
    const char *admin = strstr(json, "\"admin\":{");
    if (!admin)
        fail_msg("no admin stats in %s", json);
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    return th_json_u64(admin, *section ? section : "\"admin\":{", pat);
}

static unsigned long long admin_stat(const char *key)
{
    char *json = stats_json();
    unsigned long long v = admin_num(json, "", key);
    free(json);
    return v;
}

static bool style_is(const char *style)
{
    char *json = stats_json();
    char pat[64];
    snprintf(pat, sizeof pat, "\"compaction_style\":\"%s\"", style);
    bool yes = strstr(json, pat) != NULL;
    free(json);
    return yes;
}

/* About mb MiB of 1 KiB values, flushed into one L0 table. */
static void load(int mb)
{
    lsmd_conn *c = thd_connect(&g_d);
    static char val[1024];
    memset(val, 'v', sizeof val);
    for (int i = 0; i < mb * 1024; i++) {
        char key[32];
        snprintf(key, sizeof key, "load-%07d", i);
        assert_int_equal(lsmd_put(c, key, strlen(key), val, sizeof val, 0), 0);
    }
    assert_int_equal(lsmd_flush(c), 0);
    lsmd_disconnect(c);
}

/* Waits (up to 60 s) until the work lane is idle. */
static void wait_work_idle(void)
{
    for (double end = th_now() + 60; th_now() < end; usleep(50000)) {
        char *json = stats_json();
        bool idle = admin_num(json, "\"work\":{", "queued") == 0 &&
                    admin_num(json, "\"work\":{", "running") == 0;
        free(json);
        if (idle)
            return;
    }
    fail_msg("the admin work lane did not become idle within 60 s");
}

/* A daemon throttling compaction to 1 MB/s, holding mb MiB in one table,
 * with the honest client running. */
static void start_throttled(th_honest *h, int mb, const char *tag)
{
    start_daemon("compaction_rate_mb = 1\n");
    load(mb);
    th_honest_start(h, &g_d, tag);
}

/* The honest client's last check, then a clean stop (ASan/LSan silent). */
static void finish(th_honest *h, const char *phase)
{
    th_honest_expect(h, phase);
    th_honest_stop(h);
    assert_int_equal(thd_stop(&g_d), 0);
}

/* ---- tests ------------------------------------------------------------------- */

/* lsmctl run as NOBODY: exit code and stderr. */
static int as_nobody(void *arg)
{
    (void)arg;
    return become("65534", "65534", "-");
}

static int lsmctl_as_nobody(const char *const *args, char *err, size_t cap)
{
    return thd_lsmctl(&g_d, as_nobody, NULL, args, err, cap);
}

static void test_non_admin(void **state)
{
    (void)state;
    start_daemon(NULL);
    th_honest h;
    th_honest_start(&h, &g_d, "auth");

    /* The write stop, then the other admin operations. */
    th_child n;
    ctl_spawn(&n, "65534", "65534", "-");
    ctl_expect(&n, "set l0_slowdown_trigger 1", -EPERM);
    ctl_expect(&n, "set l0_stop_trigger 1", -EPERM);
    ctl_expect(&n, "set memtable_bytes 4096", -EPERM);
    ctl_expect(&n, "set compaction_style tiered", -EPERM);
    ctl_expect(&n, "flush", -EPERM);
    ctl_expect(&n, "compact -1", -EPERM);
    char ckpt[256];
    snprintf(ckpt, sizeof ckpt, "checkpoint %s/copy", g_d.root);
    ctl_expect(&n, ckpt, -EPERM);
    ctl_expect(&n, "stats", 0);
    ctl_end(&n);
    assert_true(style_is("leveled"));
    assert_int_equal(admin_stat("refused"), 7);
    struct stat st;
    assert_int_equal(stat(ckpt + strlen("checkpoint "), &st), -1); /* nothing made */
    th_honest_expect(&h, "non-admin refused");

    /* The refused client learns why. */
    char err[512];
    const char *set[] = { "set", "memtable_bytes", "4096", NULL };
    int code = lsmctl_as_nobody(set, err, sizeof err);
    fprintf(stderr, "lsmctl as uid %d: exit %d: %s", NOBODY, code, err);
    assert_int_equal(code, 1);
    assert_non_null(strstr(err, "permission denied"));
    assert_non_null(strstr(err, "admin_uids/admin_gids"));

    /* Admins: a uid in admin_uids, a supplementary group in admin_gids
     * (the 1st of 1 or the 40th of 40), the daemon's own uid.  Each switches the style and runs a job. */
    static const struct {
        const char *uid, *gid, *groups, *set, *job, *style;
    } admins[] = {
        { "4321", "65534", "-", "set compaction_style tiered", "flush", "tiered" },
        { "65534", "65534", "4242", "set compaction_style leveled", "compact -1", "leveled" },
        { "-", "-", "-", "set compaction_style tiered", "flush", "tiered" },
        /* More groups than the daemon's first SO_PEERGROUPS buffer holds. */
        { "65534", "65534",
          "101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,"
          "121,122,123,124,125,126,127,128,129,130,131,132,133,134,135,136,137,138,139,4242",
          "set compaction_style leveled", "flush", "leveled" },
    };
    for (size_t i = 0; i < sizeof admins / sizeof admins[0]; i++) {
        th_child a;
        ctl_spawn(&a, admins[i].uid, admins[i].gid, admins[i].groups);
        ctl_expect(&a, admins[i].set, 0);
        ctl_expect(&a, admins[i].job, 0);
        ctl_end(&a);
        assert_true(style_is(admins[i].style));
    }
    finish(&h, "admins");
}

#define DEPARTED 40

static void test_departed_dropped(void **state)
{
    (void)state;
    th_honest h;
    start_throttled(&h, 3, "departed");
    th_child q;
    char n[16];
    snprintf(n, sizeof n, "%d", DEPARTED);
    const char *args[] = { g_d.sock, n, NULL };
    th_spawn(&q, "departing", args);
    const char *r = th_recv(&q, 30000);
    if (!r || strcmp(r, "sent") != 0)
        fail_msg("departing clients: %s", r ? r : "exited");
    usleep(100000); /* the workers have taken every request */
    th_kill(&q);
    th_child s;
    ctl_spawn(&s, "-", "-", "-");
    double ms;
    assert_int_equal(ctl_do(&s, 15000, &ms, "stats"), 0);
    fprintf(stderr, "STATS behind %d departed clients' compactions: %.1f ms\n", DEPARTED, ms);
    if (ms > FAST_MS)
        fail_msg("STATS took %.1f ms behind departed clients' jobs", ms);
    th_honest_expect(&h, "departed queued");
    /* One compaction runs; the jobs queued behind it belong to the dead. */
    char *json = stats_json();
    unsigned long long queued = admin_num(json, "\"work\":{", "queued");
    unsigned long long running = admin_num(json, "\"work\":{", "running");
    free(json);
    assert_int_equal(running, 1);
    assert_true(queued >= DEPARTED / 2);
    /* Let the running one finish quickly; the others must not run. */
    assert_int_equal(ctl_do(&s, 15000, NULL, "set compaction_rate_mb 0"), 0);
    ctl_end(&s);
    wait_work_idle();
    unsigned long long dropped = admin_stat("dropped");
    fprintf(stderr, "departed jobs: %llu queued, %llu dropped (of %d)\n", queued, dropped,
            DEPARTED);
    assert_int_equal(dropped, queued);
    finish(&h, "departed dropped");
}

static void test_set_during_compact(void **state)
{
    (void)state;
    th_honest h;
    start_throttled(&h, 4, "setdc");
    th_child c, s;
    ctl_spawn(&c, "-", "-", "-");
    ctl_spawn(&s, "-", "-", "-");
    double t0 = th_now();
    th_send(&c, "compact -1"); /* about 4 s at 1 MB/s */
    usleep(500000);
    double set_ms, stats_ms;
    int rc = ctl_do(&s, 30000, &set_ms, "set compaction_rate_mb 0");
    double t_set = th_now();
    assert_int_equal(rc, 0);
    assert_int_equal(ctl_do(&s, 30000, &stats_ms, "stats"), 0);
    fprintf(stderr, "during a throttled compaction: set %.1f ms, stats %.1f ms\n", set_ms,
            stats_ms);
    if (set_ms > FAST_MS || stats_ms > FAST_MS)
        fail_msg("set took %.1f ms and stats %.1f ms during a compaction", set_ms, stats_ms);
    rc = ctl_reply(&c, 30000, NULL, "compact -1");
    double t_done = th_now();
    assert_int_equal(rc, 0);
    fprintf(stderr, "compaction: %.2f s in all, %.2f s after the rate was lifted\n",
            t_done - t0, t_done - t_set);
    assert_true(t_done - t0 > 0.5);   /* it was running when the set came */
    assert_true(t_done - t_set < 2.0); /* and took the new rate (3.5 s if not) */
    ctl_end(&c);
    ctl_end(&s);
    finish(&h, "set during compaction");
}

static void test_one_outstanding(void **state)
{
    (void)state;
    th_honest h;
    start_throttled(&h, 2, "busy");
    th_child c;
    ctl_spawn(&c, "-", "-", "-");
    ctl_expect(&c, "send-compact", 0);
    usleep(100000);
    double ms;
    int rc = ctl_do(&c, 30000, &ms, "compact -1");
    fprintf(stderr, "second compact of one session: %d (%s) in %.1f ms\n", rc,
            lsmd_strerror(rc), ms);
    assert_int_equal(rc, -EBUSY);
    ctl_expect(&c, "flush", -EBUSY);
    /* The control lane is this session's own: stats and set still go. */
    assert_int_equal(ctl_do(&c, 30000, &ms, "stats"), 0);
    assert_true(ms < FAST_MS);
    ctl_expect(&c, "set compaction_rate_mb 0", 0);
    wait_work_idle();
    ctl_expect(&c, "flush", 0); /* the work lane's slot is free again */
    assert_true(admin_stat("busy") >= 2);
    ctl_end(&c);
    finish(&h, "one outstanding");
}

int main(int argc, char **argv)
{
    static const th_role roles[] = {
        { "ctl", role_ctl }, { "departing", role_departing }, TH_HONEST_ROLE, { NULL, NULL },
    };
    const struct CMUnitTest tests[] = {
        TH_TEST(test_non_admin, &g_fx),
        TH_TEST(test_departed_dropped, &g_fx),
        TH_TEST(test_set_during_compact, &g_fx),
        TH_TEST(test_one_outstanding, &g_fx),
    };
    return TH_MAIN(argc, argv, roles, "to setuid(65534)", tests);
}
