/*
 * test_crash.c — real processes, real SIGKILL.
 *
 * A child opens the database and runs the deterministic history of
 * tests/helpers/history.h (puts, deletes of earlier keys, 4-entry batches), reporting each
 * acknowledged operation's index through a pipe.  The parent kills it with
 * SIGKILL at a random moment (during open, writes, flushes, WAL switches),
 * reopens the database and checks:
 *   - every acknowledged operation is present;
 *   - the state is exactly a prefix of the history: no holes, no partial
 *     batch, no resurrected delete (the one in-flight operation may or may
 *     not have landed, as a whole).
 * Odd cycles write with LSM_SYNC, even ones without: a process crash must
 * keep both.  LSM_CRASH_CYCLES sets the number of cycles (default 50).
 * test_sigkill_cycles_direct repeats it with use_direct_io (tables written
 * with O_DIRECT) for a quarter of the cycles.
 * LSM_TEST_PER_BACKEND
 */
#include "helpers.h"
#include "history.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lsm.h"

#define MAX_OPS 2000000

static int g_direct; /* use_direct_io for every open of this run */

static lsm_db *open_small(const char *dir)
{
    lsm_options o;
    lsm_options_init(&o);
    o.memtable_bytes = 32 << 10;
    o.use_direct_io = g_direct;
    lsm_db *db = NULL;
    int rc = lsm_open(dir, &o, &db);
    if (rc != 0) {
        fprintf(stderr, "open failed: %s\n", lsm_strerror(rc));
        return NULL;
    }
    return db;
}

static void child_main(const char *dir, long first, int flags, int fd)
{
    lsm_db *db = open_small(dir);
    if (!db)
        _exit(2);
    lsm_batch *b = lsm_batch_new();
    for (long i = first; i < MAX_OPS; i++) {
        if (history_do_op(db, b, i, flags) != 0)
            _exit(3);
        if (write(fd, &i, sizeof i) != sizeof i)
            _exit(4);
    }
    for (;;)
        pause(); /* the parent's SIGKILL ends us */
}

/* Every op of this cycle (and the one after the in-flight one), plus a
 * random sample of the older history: checking all of it every cycle would
 * make the test quadratic. */
static void check_state(lsm_db *db, const history *m, long from, long upto, th_rng *rng)
{
    for (long i = from; i < upto; i++)
        history_check_op(db, m, i);
    for (int s = 0; s < 1000 && from > 0; s++)
        history_check_op(db, m, (long)th_rng_below(rng, (uint64_t)from));
}

static void sigkill_cycles(long cycles)
{
    th_rng rng;
    th_rng_seed(&rng, th_seed());
    char *dir = th_tempdir("crash");
    history m;
    history_init(&m, MAX_OPS);
    long next = 0, landed_inflight = 0, total_acked = 0;

    for (long c = 0; c < cycles; c++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        int flags = (c & 1) ? LSM_SYNC : 0;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child_main(dir, next, flags, fds[1]);
        }
        close(fds[1]);
        long acked = next - 1, i;
        ssize_t r;
        /* Three cycles in four time the kill from the child's first
         * acknowledged op, so they land in the workload however long open
         * and recovery take on a loaded machine (under a sanitizer they
         * can take longer than the whole delay); the fourth times it from
         * the fork, so kills also land in open and recovery. */
        if (c % 4 != 3 && (r = read(fds[0], &i, sizeof i)) == sizeof i) {
            assert_int_equal(i, acked + 1);
            acked = i;
        }
        struct timespec d = { 0, (long)(1 + th_rng_below(&rng, 60)) * 1000000L };
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status))
            fail_msg("child exited with %d before the kill", WEXITSTATUS(status));
        while ((r = read(fds[0], &i, sizeof i)) == sizeof i) {
            assert_int_equal(i, acked + 1);
            acked = i;
        }
        close(fds[0]);
        total_acked += acked - next + 1;

        lsm_db *db = open_small(dir);
        assert_non_null(db);
        for (long j = next; j <= acked; j++)
            history_apply(&m, j);
        long x = acked + 1; /* in flight when killed, maybe */
        if (x < MAX_OPS && history_op_landed(db, &m, x)) {
            history_apply(&m, x);
            acked = x;
            landed_inflight++;
        }
        check_state(db, &m, next, acked + 2 < MAX_OPS ? acked + 2 : MAX_OPS, &rng);
        assert_int_equal(lsm_close(db), 0);
        next = acked + 1;
    }
    fprintf(stderr, "crash%s: %ld cycles, %ld acknowledged ops, %ld in-flight ops landed\n",
            g_direct ? " (direct I/O)" : "", cycles, total_acked, landed_inflight);
    assert_true(next > 0);
    history_free(&m);
    th_rmrf_free(dir);
}

static void test_sigkill_cycles(void **state)
{
    (void)state;
    g_direct = 0;
    sigkill_cycles(th_env_long("LSM_CRASH_CYCLES", 50));
}

static void test_sigkill_cycles_direct(void **state)
{
    (void)state;
    g_direct = 1;
    long cycles = th_env_long("LSM_CRASH_CYCLES", 50) / 4;
    sigkill_cycles(cycles > 2 ? cycles : 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_cycles),
        cmocka_unit_test(test_sigkill_cycles_direct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
