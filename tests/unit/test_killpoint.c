/*
 * test_killpoint.c — every named kill point (engine/base/killpoint.h),
 * reached for real.  Built with -DLSM_KILLPOINTS against $(B)/liblsm-kp.a (the
 * engine compiled with kill points; see the Makefile's reliability section).
 *
 * For each point a forked child arms LSMD_KILLPOINT=point:N, opens a
 * database with tiny memtables and runs a deterministic history (puts,
 * deletes of earlier keys, 4-entry batches, all LSM_SYNC) with a flush every
 * 40 operations, a whole-tree compaction every 120 and a close + reopen
 * every 150, reporting each acknowledged operation through a pipe.  Its
 * kill-point hook writes the point's name to the pipe just before the
 * SIGKILL.  The parent checks that the child died by SIGKILL at that very
 * point, reopens the database and checks that the state is exactly the
 * acknowledged history (plus, at most, the one operation in flight, whole):
 * nothing acknowledged lost, no partial batch, no resurrected delete.
 * A last case kills at random points (LSMD_KILLPOINT_RANDOM) several times
 * on one directory.
 */
#include "helpers.h"
#include "history.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/killpoint.h"
#include "lsm.h"

#define MAX_OPS 20000

/* ---- the history: tests/helpers/history.h ------------------------------ */

static lsm_db *open_small(const char *dir)
{
    lsm_options o;
    lsm_options_init(&o);
    o.memtable_bytes = 16 << 10;
    o.l0_compaction_trigger = 2;
    o.sstable_target_bytes = 8 << 10;
    o.level_base_bytes = 32 << 10;
    lsm_db *db = NULL;
    int rc = lsm_open(dir, &o, &db);
    if (rc != 0) {
        fprintf(stderr, "open failed: %s\n", lsm_strerror(rc));
        return NULL;
    }
    return db;
}

static history g_hist; /* the model of what was acknowledged */

static void check_state(lsm_db *db, long upto)
{
    for (long i = 0; i < upto; i++)
        history_check_op(db, &g_hist, i);
}

/* ---- the child ------------------------------------------------------------ */

enum { MSG_ACK = 1, MSG_KILLED = 2 };
struct msg {              /* 64 bytes: one atomic pipe write */
    int32_t kind;
    int32_t pad;
    int64_t op;
    char name[48];
};

static int g_pipe_fd = -1;

static void on_kill(const char *name, void *arg)
{
    (void)arg;
    struct msg m = { .kind = MSG_KILLED };
    snprintf(m.name, sizeof m.name, "%s", name);
    if (write(g_pipe_fd, &m, sizeof m) != sizeof m)
        _exit(7);
}

static void child_main(const char *dir, long first, int fd)
{
    g_pipe_fd = fd;
    killpoint_reload_env();
    killpoint_set_hook(on_kill, NULL);
    lsm_db *db = open_small(dir);
    if (!db)
        _exit(2);
    lsm_batch *b = lsm_batch_new();
    for (long i = first; i < MAX_OPS; i++) {
        if (history_do_op(db, b, i, LSM_SYNC) != 0)
            _exit(3);
        struct msg m = { .kind = MSG_ACK, .op = i };
        if (write(fd, &m, sizeof m) != sizeof m)
            _exit(4);
        long n = i + 1;
        int rc = 0;
        if (n % 40 == 0)
            rc = lsm_flush(db);
        if (rc == 0 && n % 120 == 0)
            rc = lsm_compact(db, -1);
        if (rc == 0 && n % 150 == 0) {
            rc = lsm_close(db);
            db = rc == 0 ? open_small(dir) : NULL;
            rc = db ? 0 : -1;
        }
        if (rc != 0)
            _exit(5);
    }
    _exit(6); /* never reached the point */
}

/* One child run; returns the point it died at (static buffer) and updates
 * *next (the first op of the next run) after checking the reopened state. */
static const char *kill_cycle(const char *dir, long *next)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_main(dir, *next, fds[1]);
    }
    close(fds[1]);
    static char killed_at[48];
    killed_at[0] = '\0';
    long acked = *next - 1;
    struct msg m;
    while (read(fds[0], &m, sizeof m) == sizeof m) {
        if (m.kind == MSG_ACK) {
            assert_int_equal(m.op, acked + 1);
            acked = (long)m.op;
        } else {
            assert_int_equal(m.kind, MSG_KILLED);
            snprintf(killed_at, sizeof killed_at, "%s", m.name);
        }
    }
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        fail_msg("child did not die by SIGKILL (%s %d); it reached: %s",
                 WIFEXITED(status) ? "exit" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                 killed_at[0] ? killed_at : "no kill point");
    assert_true(killed_at[0] != '\0');

    for (long j = *next; j <= acked; j++)
        history_apply(&g_hist, j);
    lsm_db *db = open_small(dir);
    assert_non_null(db);
    long x = acked + 1; /* maybe in flight */
    if (x < MAX_OPS && history_op_landed(db, &g_hist, x)) {
        history_apply(&g_hist, x);
        acked = x;
    }
    check_state(db, acked + 2);
    assert_int_equal(lsm_close(db), 0);
    *next = acked + 1;
    return killed_at;
}

/* ---- tests ---------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    /* The parent never dies: only children arm (from their environment). */
    unsetenv("LSMD_KILLPOINT");
    unsetenv("LSMD_KILLPOINT_RANDOM");
    killpoint_reload_env();
    history_init(&g_hist, MAX_OPS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    history_free(&g_hist);
    return 0;
}

static void test_api(void **state)
{
    (void)state;
    const char *const *names = killpoint_names();
    size_t n = 0;
    while (names[n])
        n++;
    assert_int_equal(n, 9);
    assert_int_equal(killpoint_arm("no.such.point", 1, 0, 0), -EINVAL);
    assert_int_equal(killpoint_arm("flush.mid", 0, 0, 0), -EINVAL);
    assert_int_equal(killpoint_arm(NULL, 0, 1001, 0), -EINVAL);
    setenv("LSMD_KILLPOINT", "flush.mid:x", 1);
    killpoint_reload_env(); /* malformed: logged and ignored */
    unsetenv("LSMD_KILLPOINT");

    /* Armed far away, the points only count: every flush passes flush.mid
     * and flush.after_table_before_manifest once. */
    assert_int_equal(killpoint_arm("flush.mid", 1000000, 0, 1), 0);
    char *dir = th_tempdir("kpapi");
    lsm_db *db = open_small(dir);
    assert_non_null(db);
    char v[256];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(lsm_put(db, "k", 1, v, history_value(v, i, 'x'), 0), 0);
        assert_int_equal(lsm_flush(db), 0);
    }
    assert_int_equal(lsm_close(db), 0);
    assert_int_equal(killpoint_hits("flush.mid"), 3);
    assert_int_equal(killpoint_hits("flush.after_table_before_manifest"), 3);
    assert_true(killpoint_hits("wal.after_write_before_sync") >= 3);
    assert_true(killpoint_hits("manifest.after_write_before_current") >= 1);
    assert_int_equal(killpoint_hits("no.such.point"), 0);
    assert_int_equal(killpoint_arm(NULL, 0, 0, 0), 0);
    th_rmrf_free(dir);
}

/* Each named point with the hit number that leaves acknowledged data
 * behind it. */
static const struct {
    const char *name;
    int n;
} g_points[] = {
    { "wal.after_write_before_sync", 50 },
    { "flush.mid", 2 },
    { "flush.after_table_before_manifest", 3 },
    { "compaction.mid", 1 },
    { "compaction.after_tables_before_manifest", 2 },
    { "manifest.after_write_before_current", 3 },
    { "wal.retire", 2 },
};

static void test_each_point(void **state)
{
    (void)state;
    for (size_t p = 0; p < sizeof g_points / sizeof g_points[0]; p++) {
        memset(g_hist.present, 0, (size_t)g_hist.cap + 2);
        char *dir = th_tempdir("kp");
        char spec[96];
        snprintf(spec, sizeof spec, "%s:%d", g_points[p].name, g_points[p].n);
        setenv("LSMD_KILLPOINT", spec, 1);
        long next = 0;
        const char *at = kill_cycle(dir, &next);
        unsetenv("LSMD_KILLPOINT");
        if (strcmp(at, g_points[p].name) != 0)
            fail_msg("armed %s, died at %s", spec, at);
        fprintf(stderr, "killpoint %-40s ok: %ld ops acknowledged before the kill\n", spec,
                next);
        th_rmrf_free(dir);
    }
}

/* Random points, several kills on one directory: recovery from a state a
 * previous recovery left behind. */
static void test_random_points(void **state)
{
    (void)state;
    memset(g_hist.present, 0, (size_t)g_hist.cap + 2);
    char *dir = th_tempdir("kprand");
    uint64_t seed = th_seed();
    setenv("LSMD_KILLPOINT_RANDOM", "15", 1);
    long next = 0;
    int cycles = (int)th_env_long("LSM_KILLPOINT_CYCLES", 4);
    for (int c = 0; c < cycles; c++) {
        char s[32];
        snprintf(s, sizeof s, "%llu", (unsigned long long)(seed + (uint64_t)c));
        setenv("LSMD_KILLPOINT_SEED", s, 1);
        const char *at = kill_cycle(dir, &next);
        int known = 0;
        for (const char *const *n = killpoint_names(); *n; n++)
            known |= strcmp(*n, at) == 0;
        if (!known)
            fail_msg("died at an unknown point %s", at);
    }
    unsetenv("LSMD_KILLPOINT_RANDOM");
    unsetenv("LSMD_KILLPOINT_SEED");
    th_rmrf_free(dir);
}

int main(void)
{
    if (!killpoint_compiled_in()) {
        fprintf(stderr, "test_killpoint: the engine was built without LSM_KILLPOINTS\n");
        return TEST_SKIP;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api),
        cmocka_unit_test(test_each_point),
        cmocka_unit_test(test_random_points),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
