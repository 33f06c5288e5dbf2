/*
 * test_lsmd_checkpoint.c — online checkpoints of a real lsmd (SHM_OP_CHECKPOINT,
 * lsmctl checkpoint, lsmd_checkpoint) with writer processes running all
 * along, and restore by starting a second lsmd on the copy:
 *
 *   live_writers   three writer processes put their own numbered keys as
 *                  fast as they can (small memtables: flushes and
 *                  compactions run meanwhile).  The test notes how many
 *                  each had acknowledged, runs `lsmctl checkpoint DIR`
 *                  (a relative DIR, from another working directory) and
 *                  notes the counts again once it returned; then the same
 *                  through lsmd_checkpoint into /dev/shm (another file
 *                  system: copies, not links) when it is one.  A second
 *                  lsmd started on each copy serves every key acknowledged
 *                  before the call and none written after it returned;
 *                  the writers kept writing while it ran.
 *   refusals       an existing DIR (-EEXIST), a relative path sent raw
 *                  (-EINVAL), a missing parent (-ENOENT): lsmctl exits 1
 *                  and says why, and the daemon keeps serving.
 * (A non-admin's CHECKPOINT gets -EPERM: test_admin_auth.)
 */
#include "helpers.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "harness.h"

#define NWRITERS 3

static th_daemon g_d;
static const char *const g_extra[] = { "--memtable-bytes", "64K", NULL };
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_BIN, .tag = "ckpt", .extra = g_extra,
                           .start = true };

static int make_key(char *b, int w, long i) { return snprintf(b, 32, "w%d-%08ld", w, i); }
static int make_val(char *b, int w, long i) { return snprintf(b, 200, "v%d-%ld-%0150ld", w, i, i); }

/* writer SOCKET ID: puts w<ID>-<n> for n = 0, 1, ... until told "stop";
 * to "mark" it replies "acked N": keys 0..N-1 are acknowledged. */
static int role_writer(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int id = atoi(argv[2]);
    lsmd_conn *c = NULL;
    int rc = lsmd_connect(argv[1], &c);
    if (rc) {
        th_reply("err %d", rc);
        return 1;
    }
    th_reply("ready");
    char k[32], v[200], line[64];
    for (long n = 0;; n++) {
        struct pollfd p = { .fd = 0, .events = POLLIN };
        if (poll(&p, 1, 0) == 1) {
            if (!fgets(line, sizeof line, stdin) || strncmp(line, "stop", 4) == 0)
                break;
            th_reply("acked %ld", n);
        }
        int kl = make_key(k, id, n), vl = make_val(v, id, n);
        rc = lsmd_put(c, k, (size_t)kl, v, (size_t)vl, 0);
        if (rc) {
            th_reply("err %d", rc);
            return 1;
        }
    }
    lsmd_disconnect(c);
    th_reply("done");
    return 0;
}

static void marks(th_child *w, long *acked)
{
    for (int i = 0; i < NWRITERS; i++) {
        const char *r = th_ask(&w[i], "mark");
        if (sscanf(r, "acked %ld", &acked[i]) != 1)
            fail_msg("writer %d: %s", i, r);
    }
}

static int enter(void *dir)
{
    return chdir(dir);
}

/* Runs lsmctl in cwd; returns its exit code, stderr in err. */
static int lsmctl_in(const char *cwd, const char *const *args, char *err, size_t cap)
{
    return thd_lsmctl(&g_d, enter, (void *)cwd, args, err, cap);
}

/* Starts lsmd on copy, checks keys 0..before[w]-1 of every writer are
 * there and key after[w] of none is, stops it. */
static void check_copy(const char *copy, const long *before, const long *after)
{
    th_daemon d2;
    thd_init(&d2, LSMD_BIN, "ckptcopy");
    free(d2.db);
    d2.db = strdup(copy);
    thd_start(&d2, NULL);
    lsmd_conn *c = thd_connect(&d2);
    char k[32], v[200], got[256];
    for (int w = 0; w < NWRITERS; w++) {
        for (long i = 0; i < before[w]; i++) {
            int kl = make_key(k, w, i), vl = make_val(v, w, i);
            size_t n = 0;
            int rc = lsmd_get_into(c, 0, k, (size_t)kl, got, sizeof got, &n);
            if (rc != 0)
                fail_msg("copy %s: writer %d key %ld (acked before the call): %s", copy, w, i,
                         lsmd_strerror(rc));
            assert_int_equal(n, (size_t)vl);
            assert_memory_equal(got, v, (size_t)vl);
        }
        int kl = make_key(k, w, after[w]);
        size_t n = 0;
        assert_int_equal(lsmd_get_into(c, 0, k, (size_t)kl, got, sizeof got, &n), LSM_ENOTFOUND);
    }
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(&d2), 0);
    thd_cleanup(&d2);
}

static void test_live_writers(void **state)
{
    (void)state;
    th_child w[NWRITERS];
    for (int i = 0; i < NWRITERS; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", i);
        const char *args[] = { g_d.sock, id, NULL };
        th_spawn(&w[i], "writer", args);
        assert_string_equal(th_recv(&w[i], 20000), "ready");
    }
    usleep(300000);

    /* lsmctl, a relative DIR from another working directory. */
    long before[NWRITERS], after[NWRITERS];
    marks(w, before);
    char err[512], *copy;
    const char *args[] = { "checkpoint", "copy", NULL };
    assert_int_equal(lsmctl_in(g_d.root, args, err, sizeof err), 0);
    marks(w, after);
    for (int i = 0; i < NWRITERS; i++)
        assert_true(before[i] > 0);
    assert_true(asprintf(&copy, "%s/copy", g_d.root) > 0);
    struct stat st;
    assert_int_equal(stat(copy, &st), 0);

    /* lsmd_checkpoint, across file systems when /dev/shm is another. */
    struct stat a, b;
    char far[] = "/dev/shm/lsmtest-ckpti-XXXXXX";
    bool cross = stat("/dev/shm", &b) == 0 && stat(g_d.root, &a) == 0 && a.st_dev != b.st_dev;
    char *copy2;
    if (cross)
        assert_non_null(mkdtemp(far));
    assert_true(asprintf(&copy2, "%s/copy2", cross ? far : g_d.root) > 0);
    long before2[NWRITERS], after2[NWRITERS];
    lsmd_conn *c = thd_connect(&g_d);
    marks(w, before2);
    double t0 = th_now();
    assert_int_equal(lsmd_checkpoint(c, copy2), 0);
    double ms = (th_now() - t0) * 1000;
    marks(w, after2);
    lsmd_disconnect(c);
    long during = 0;
    for (int i = 0; i < NWRITERS; i++) {
        assert_true(before2[i] > after[i]); /* they wrote between the two */
        during += after2[i] - before2[i];
    }
    fprintf(stderr, "checkpoint into %s: %.1f ms; %ld writes acknowledged meanwhile\n", copy2, ms,
            during);

    for (int i = 0; i < NWRITERS; i++) {
        th_send(&w[i], "stop");
        assert_string_equal(th_recv(&w[i], 20000), "done");
        assert_int_equal(th_wait(&w[i]), 0);
    }
    check_copy(copy, before, after);
    check_copy(copy2, before2, after2);
    /* The live one holds everything. */
    assert_true(thd_alive(&g_d));
    free(copy);
    free(copy2);
    if (cross)
        th_rmrf_free(strdup(far));
}

static void test_refusals(void **state)
{
    (void)state;
    char err[512];
    const char *exists[] = { "checkpoint", g_d.db, NULL };
    assert_int_equal(lsmctl_in(g_d.root, exists, err, sizeof err), 1);
    assert_non_null(strstr(err, "checkpoint: File exists"));
    const char *orphan[] = { "checkpoint", "no/such/dir", NULL };
    assert_int_equal(lsmctl_in(g_d.root, orphan, err, sizeof err), 1);
    assert_non_null(strstr(err, "No such file or directory"));

    lsmd_conn *c = thd_connect(&g_d);
    assert_int_equal(lsmd_checkpoint(c, "relative"), -EINVAL);
    /* Sent raw, past the client library's check: the daemon refuses it. */
    char *p = conn_large(c);
    memcpy(p, "relative", 8);
    struct shm_sqe q = { .opcode = SHM_OP_CHECKPOINT, .key_off = c->large_off, .key_len = 8 };
    struct shm_cqe cqe;
    assert_int_equal(conn_call(c, &q, &cqe), 0);
    assert_int_equal(cqe.status, -EINVAL);
    assert_int_equal(lsmd_put(c, "k", 1, "v", 1, 0), 0);
    lsmd_disconnect(c);
    assert_true(thd_alive(&g_d));
}

int main(int argc, char **argv)
{
    static const th_role roles[] = { { "writer", role_writer }, { NULL, NULL } };
    const struct CMUnitTest tests[] = {
        TH_TEST(test_live_writers, &g_fx),
        TH_TEST(test_refusals, &g_fx),
    };
    return TH_MAIN(argc, argv, roles, NULL, tests);
}
