/*
 * test_snapshot_caps.c — issue 9, items 4, 5 and 8, against an ASan+UBSan
 * lsmd (LSMD_ASAN_BIN) with an honest client (honest.h) and an honest
 * snapshot holder alongside:
 *
 *   directory_cap    five sessions acquire snapshots until refused: every
 *                    refusal is -EMFILE, every live snapshot stays listed,
 *                    the holder's snapshot stays listed and readable, a new
 *                    acquire is refused rather than published unlisted,
 *                    and no "directory full" line is logged.
 *   repeated_holds   a session holds the holder's snapshot until refused
 *                    (-EMFILE at its limit, far below a 32-bit wrap), then
 *                    releases every hold and one more (-ESRCH): the
 *                    holder's snapshot is still listed, readable, and
 *                    released exactly once by its owner.
 *   foreign_uid      (root only) a process of uid 65534 takes sessions,
 *                    iterators, snapshots and segment bytes until refused at
 *                    its configured share, while the daemon's uid attaches
 *                    and uses more than that share.
 */
#include "helpers.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "honest.h"

#define NOBODY 65534
#define HELD_VALUE "the holder's value"
#define HOARD_CONNS 5      /* 5 x 1024 per session > 4096 listed */
#define HOLD_ATTEMPTS 5000 /* more than a session may pin */

static th_daemon g_d;
/* Each test starts the daemon with its own limits. */
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_ASAN_BIN, .tag = "snapcaps" };

/* ---- roles ----------------------------------------------------------------- */

static lsmd_conn *connect_or_reply(const char *sock)
{
    lsmd_conn *c;
    int rc = lsmd_connect(sock, &c);
    if (rc) {
        th_reply("err connect: %s", lsmd_strerror(rc));
        return NULL;
    }
    return c;
}

/* Is id listed in c's view of the directory? */
static bool listed(lsmd_conn *c, uint64_t id, size_t *total)
{
    static lsmd_snapshot_info v[8192];
    size_t n = 0;
    if (lsmd_snapshot_list(c, v, 8192, &n) != 0)
        return false;
    *total = n;
    for (size_t i = 0; i < n && i < 8192; i++)
        if (v[i].id == id)
            return true;
    return false;
}

/* holder SOCKET: writes "held" = HELD_VALUE, acquires a snapshot, then
 * overwrites the key.  Commands: "check" (the snapshot is listed and reads
 * HELD_VALUE: "ok TOTAL_LISTED"), "acquire" (a new acquire is either
 * refused, "refused RC", or listed, "ok"; never acquired but unlisted),
 * "release", "stop". */
static int role_holder(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    lsmd_conn *c = connect_or_reply(argv[1]);
    if (!c)
        return 1;
    uint64_t id;
    int rc = lsmd_put(c, "held", 4, HELD_VALUE, strlen(HELD_VALUE), 0);
    if (rc == 0)
        rc = lsmd_snapshot_acquire(c, &id);
    if (rc == 0)
        rc = lsmd_put(c, "held", 4, "newer", 5, 0);
    if (rc) {
        th_reply("err setup: %s", lsmd_strerror(rc));
        return 1;
    }
    th_reply("ok %llu", (unsigned long long)id);
    char line[64];
    while (fgets(line, sizeof line, stdin) && strncmp(line, "stop", 4) != 0) {
        size_t total = 0;
        if (strncmp(line, "check", 5) == 0) {
            char buf[64];
            size_t n = 0;
            rc = lsmd_get_into(c, id, "held", 4, buf, sizeof buf, &n);
            if (!listed(c, id, &total))
                th_reply("err snapshot %llu not listed (%zu listed)", (unsigned long long)id,
                         total);
            else if (rc || n != strlen(HELD_VALUE) || memcmp(buf, HELD_VALUE, n) != 0)
                th_reply("err read at the snapshot: %s", rc ? lsmd_strerror(rc) : "wrong value");
            else
                th_reply("ok %zu", total);
        } else if (strncmp(line, "acquire", 7) == 0) {
            uint64_t more;
            rc = lsmd_snapshot_acquire(c, &more);
            if (rc)
                th_reply("refused %d", rc);
            else if (!listed(c, more, &total))
                th_reply("err acquired %llu but it is not listed (%zu listed)",
                         (unsigned long long)more, total);
            else
                th_reply("ok %d", lsmd_snapshot_release(c, more));
        } else if (strncmp(line, "release", 7) == 0) {
            th_reply("ok %d", lsmd_snapshot_release(c, id));
        }
    }
    lsmd_disconnect(c);
    return 0;
}

/* hoarder SOCKET N: N sessions each write and acquire until refused.
 * Replies "ok ACQUIRED EMFILE_REFUSALS OTHER_ERROR", then holds everything
 * until "stop". */
static int role_hoarder(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int n = atoi(argv[2]);
    lsmd_conn *c[HOARD_CONNS];
    long acquired = 0, refused = 0;
    int other = 0;
    for (int i = 0; i < n && i < HOARD_CONNS; i++) {
        if (!(c[i] = connect_or_reply(argv[1])))
            return 1;
        for (int k = 0; k < 2000; k++) {
            uint64_t id;
            char key[32];
            snprintf(key, sizeof key, "hoard-%d-%d", i, k);
            int rc = lsmd_put(c[i], key, strlen(key), "x", 1, 0);
            if (rc == 0)
                rc = lsmd_snapshot_acquire(c[i], &id);
            if (rc == -EMFILE) {
                refused++;
                break;
            }
            if (rc) {
                other = rc;
                break;
            }
            acquired++;
        }
    }
    th_reply("ok %ld %ld %d", acquired, refused, other);
    char line[64];
    while (fgets(line, sizeof line, stdin) && strncmp(line, "stop", 4) != 0)
        ;
    for (int i = 0; i < n && i < HOARD_CONNS; i++)
        lsmd_disconnect(c[i]);
    return 0;
}

/* reholder SOCKET ID: holds ID until refused (at most HOLD_ATTEMPTS) and
 * replies "ok HOLDS RC"; on "release" releases each hold and one more,
 * replying "ok FAILED_RELEASES LAST_RC". */
static int role_reholder(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    uint64_t id = strtoull(argv[2], NULL, 10);
    lsmd_conn *c = connect_or_reply(argv[1]);
    if (!c)
        return 1;
    long holds = 0;
    int rc = 0;
    while (holds < HOLD_ATTEMPTS && (rc = lsmd_snapshot_hold(c, id)) == 0)
        holds++;
    th_reply("ok %ld %d", holds, rc);
    char line[64];
    while (fgets(line, sizeof line, stdin) && strncmp(line, "stop", 4) != 0) {
        long failed = 0;
        for (long i = 0; i < holds; i++)
            failed += lsmd_snapshot_release(c, id) != 0;
        th_reply("ok %ld %d", failed, lsmd_snapshot_release(c, id));
        holds = 0;
    }
    lsmd_disconnect(c);
    return 0;
}

/* ---- helpers ----------------------------------------------------------------- */

static uint64_t start_holder(th_child *h)
{
    const char *args[] = { g_d.sock, NULL };
    th_spawn(h, "holder", args);
    const char *r = th_recv(h, 30000);
    unsigned long long id = 0;
    if (!r || sscanf(r, "ok %llu", &id) != 1)
        fail_msg("holder: %s", r ? r : "exited");
    return id;
}

static void expect_ok(th_child *c, const char *who, const char *cmd)
{
    const char *r = th_ask(c, "%s", cmd);
    if (!r || strncmp(r, "ok", 2) != 0) {
        thd_dump_log(&g_d);
        fail_msg("%s %s: %s", who, cmd, r ? r : "exited");
    }
}

/* Fails if the daemon logged that its directory overflowed. */
static void expect_no_overflow_lines(void)
{
    FILE *f = fopen(g_d.log, "r");
    assert_non_null(f);
    char line[512];
    long bad = 0;
    while (fgets(line, sizeof line, f))
        bad += strstr(line, "directory full") || strstr(line, "snapshot directory:");
    fclose(f);
    if (bad)
        fail_msg("the daemon logged %ld snapshot-directory overflow lines", bad);
}

/* ---- tests ------------------------------------------------------------------- */

static void test_directory_cap(void **state)
{
    (void)state;
    thd_start(&g_d, NULL);
    th_honest h;
    th_honest_start(&h, &g_d, "dircap");
    th_child holder, hoard;
    start_holder(&holder);
    expect_ok(&holder, "holder", "check");

    const char *args[] = { g_d.sock, "5", NULL };
    th_spawn(&hoard, "hoarder", args);
    const char *r = th_recv(&hoard, 120000);
    long acquired = 0, refused = 0;
    int other = 0;
    if (!r || sscanf(r, "ok %ld %ld %d", &acquired, &refused, &other) != 3)
        fail_msg("hoarder: %s", r ? r : "exited");
    fprintf(stderr, "hoarder: %ld snapshots acquired, %ld sessions refused\n", acquired,
            refused);
    if (other)
        fail_msg("a hoarder's acquire failed with %d (%s), not -EMFILE", other,
                 lsmd_strerror(other));
    if (refused == 0)
        fail_msg("5 sessions acquired %ld snapshots and none was refused", acquired);
    th_honest_expect(&h, "hoarding snapshots");

    /* Every live snapshot is listed: the hoard and the holder's. */
    lsmd_conn *c = thd_connect(&g_d);
    size_t total = 0;
    listed(c, 0, &total);
    lsmd_disconnect(c);
    if (total != (size_t)acquired + 1)
        fail_msg("%zu snapshots listed, %ld live", total, acquired + 1);
    expect_ok(&holder, "holder", "check");
    r = th_ask(&holder, "acquire");
    if (!r || (strncmp(r, "ok", 2) != 0 && strcmp(r, "refused -24") != 0))
        fail_msg("holder acquire while full: %s", r ? r : "exited");

    th_send(&hoard, "stop");
    assert_int_equal(th_wait(&hoard), 0);
    expect_ok(&holder, "holder", "check");
    /* Room again once the daemon has reclaimed the hoarders' pins: it does
     * so when it sees them hang up, asynchronously, so allow it 5 s. */
    for (int i = 0; i < 100; i++) {
        r = th_ask(&holder, "acquire");
        if (!r || strcmp(r, "refused -24") != 0)
            break;
        usleep(50000);
    }
    if (!r || strcmp(r, "ok 0") != 0)
        fail_msg("holder acquire after the hoard left: %s", r ? r : "exited");
    th_honest_expect(&h, "after the hoard left");
    th_send(&holder, "stop");
    assert_int_equal(th_wait(&holder), 0);
    th_honest_stop(&h);
    expect_no_overflow_lines();
    assert_int_equal(thd_stop(&g_d), 0);
}

static void test_repeated_holds(void **state)
{
    (void)state;
    thd_start(&g_d, NULL);
    th_honest h;
    th_honest_start(&h, &g_d, "reholds");
    th_child holder, reholder;
    uint64_t id = start_holder(&holder);
    char ids[32];
    snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
    const char *args[] = { g_d.sock, ids, NULL };
    th_spawn(&reholder, "reholder", args);
    const char *r = th_recv(&reholder, 60000);
    long holds = 0;
    int rc = 0;
    if (!r || sscanf(r, "ok %ld %d", &holds, &rc) != 2)
        fail_msg("reholder: %s", r ? r : "exited");
    fprintf(stderr, "reholder: %ld holds of snapshot %s, then %d\n", holds, ids, rc);
    if (rc != -EMFILE)
        fail_msg("%ld holds of one snapshot and no -EMFILE (last %d)", holds, rc);
    th_honest_expect(&h, "repeated holds");
    expect_ok(&holder, "holder", "check");

    r = th_ask(&reholder, "release");
    long failed = -1;
    if (!r || sscanf(r, "ok %ld %d", &failed, &rc) != 2 || failed != 0 || rc != -ESRCH)
        fail_msg("reholder releases: %s (want 0 failed, then -ESRCH)", r ? r : "exited");
    expect_ok(&holder, "holder", "check");
    r = th_ask(&holder, "release");
    if (!r || strcmp(r, "ok 0") != 0)
        fail_msg("the owner's release: %s", r ? r : "exited");
    th_send(&reholder, "stop");
    assert_int_equal(th_wait(&reholder), 0);
    th_send(&holder, "stop");
    assert_int_equal(th_wait(&holder), 0);
    th_honest_expect(&h, "after the releases");
    th_honest_stop(&h);
    assert_int_equal(thd_stop(&g_d), 0);
}

/* The foreign uid's share in this test. */
#define F_SESSIONS 3
#define F_ITERS 5
#define F_SNAPS 7
#define F_ARENA "48M" /* three default segments fit, one of 64 MiB does not */

typedef struct foreign_result {
    int sessions, sessions_rc;
    int iters, iters_rc;
    int snaps, snaps_rc;
    int big_rc, again_rc;
} foreign_result;

/* In a child of uid NOBODY: takes all it can, reports, holds it all until
 * the parent closes go_fd's other end. */
static void run_foreign(int out_fd, int go_fd)
{
    foreign_result res = { 0 };
    lsmd_conn *c[8] = { 0 };
    lsmd_iter *it[32];
    int nit = 0;
    if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
        _exit(3);
    while (res.sessions < 8 && (res.sessions_rc = lsmd_connect(g_d.sock, &c[res.sessions])) == 0)
        res.sessions++;
    if (res.sessions < 2)
        goto report;
    /* Iterators and snapshots on the first session, so the last one can
     * leave for the segment-bytes check. */
    while (nit < 32 && (res.iters_rc = lsmd_iter_new(c[0], 0, NULL, 0, NULL, 0, &it[nit])) == 0)
        nit++;
    res.iters = nit;
    for (int i = 0; i < 32; i++) {
        uint64_t id;
        res.snaps_rc = lsmd_put(c[0], "foreign", 7, "v", 1, 0);
        if (res.snaps_rc == 0)
            res.snaps_rc = lsmd_snapshot_acquire(c[0], &id);
        if (res.snaps_rc)
            break;
        res.snaps++;
    }
    /* Segment bytes: in place of the last session, a big segment is
     * refused and a default one accepted.  -EMFILE: the daemon has not
     * reclaimed the session yet. */
    lsmd_disconnect(c[res.sessions - 1]);
    c[res.sessions - 1] = NULL;
    lsmd_conn_options o;
    lsmd_conn_options_init(&o);
    o.large_bytes = 64u << 20;
    lsmd_conn *big = NULL;
    for (int tries = 0; tries < 200; tries++) {
        res.big_rc = lsmd_connect_opts(g_d.sock, &o, &big);
        if (res.big_rc != -EMFILE)
            break;
        usleep(25000);
    }
    lsmd_disconnect(big);
    res.again_rc = lsmd_connect(g_d.sock, &c[res.sessions - 1]);
report:
    if (write(out_fd, &res, sizeof res) != (ssize_t)sizeof res)
        _exit(2);
    char b;
    while (read(go_fd, &b, 1) > 0)
        ;
    for (int i = 0; i < nit; i++)
        lsmd_iter_free(it[i]);
    for (int i = 0; i < 8; i++)
        lsmd_disconnect(c[i]);
    _exit(0);
}

static void test_foreign_uid(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        fprintf(stderr, "foreign_uid: needs root to setuid(%d); skipped\n", NOBODY);
        skip();
    }
    const char *extra[] = { "--allow-uids", "65534",
                            "--max-clients-per-uid", "3",
                            "--max-iters-per-uid", "5",
                            "--max-snapshots-per-uid", "7",
                            "--max-arena-bytes-per-uid", F_ARENA, NULL };
    thd_start(&g_d, extra);
    /* Whatever mode the daemon gives its socket, let uid NOBODY reach it:
     * only SO_PEERCRED and the quotas decide here. */
    assert_int_equal(chmod(g_d.root, 0755), 0);
    assert_int_equal(chmod(g_d.sock, 0666), 0);
    th_honest h;
    th_honest_start(&h, &g_d, "foreign");

    int out[2], go[2];
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(out[0]);
        close(go[1]);
        run_foreign(out[1], go[0]);
    }
    close(out[1]);
    close(go[0]);
    foreign_result res;
    ssize_t got = read(out[0], &res, sizeof res);
    close(out[0]);
    if (got != (ssize_t)sizeof res) {
        close(go[1]);
        waitpid(pid, NULL, 0);
        fail_msg("the uid %d child died (read %zd)", NOBODY, got);
    }
    fprintf(stderr,
            "uid %d: %d sessions (then %d), %d iterators (then %d), %d snapshots (then %d); "
            "a 64 MiB segment: %d, a default one: %d\n",
            NOBODY, res.sessions, res.sessions_rc, res.iters, res.iters_rc, res.snaps,
            res.snaps_rc, res.big_rc, res.again_rc);
    /* While the foreign uid holds its whole share, the daemon's uid gets
     * more than that share of everything. */
    lsmd_conn *mine[F_SESSIONS + 2];
    for (int i = 0; i < F_SESSIONS + 2; i++)
        mine[i] = thd_connect(&g_d);
    lsmd_iter *it[F_ITERS + 2];
    for (int i = 0; i < F_ITERS + 2; i++)
        assert_int_equal(lsmd_iter_new(mine[0], 0, NULL, 0, NULL, 0, &it[i]), 0);
    for (int i = 0; i < F_SNAPS + 2; i++) {
        uint64_t id;
        assert_int_equal(lsmd_put(mine[1], "mine", 4, "v", 1, 0), 0);
        assert_int_equal(lsmd_snapshot_acquire(mine[1], &id), 0);
    }
    th_honest_expect(&h, "foreign uid at its share");
    for (int i = 0; i < F_ITERS + 2; i++)
        lsmd_iter_free(it[i]);
    for (int i = 0; i < F_SESSIONS + 2; i++)
        lsmd_disconnect(mine[i]);
    close(go[1]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    assert_int_equal(res.sessions, F_SESSIONS);
    assert_int_equal(res.sessions_rc, -EMFILE);
    assert_int_equal(res.iters, F_ITERS);
    assert_int_equal(res.iters_rc, -EMFILE);
    assert_int_equal(res.snaps, F_SNAPS);
    assert_int_equal(res.snaps_rc, -EMFILE);
    assert_int_equal(res.big_rc, -ENOMEM);
    assert_int_equal(res.again_rc, 0);
    th_honest_stop(&h);
    assert_int_equal(thd_stop(&g_d), 0);
}

int main(int argc, char **argv)
{
    static const th_role roles[] = {
        TH_HONEST_ROLE, { "holder", role_holder }, { "hoarder", role_hoarder },
        { "reholder", role_reholder }, { NULL, NULL },
    };
    const struct CMUnitTest tests[] = {
        TH_TEST(test_directory_cap, &g_fx),
        TH_TEST(test_repeated_holds, &g_fx),
        TH_TEST(test_foreign_uid, &g_fx),
    };
    return TH_MAIN(argc, argv, roles, NULL, tests);
}
