/*
 * test_stress_smoke.c — a short run of the crash stress driver
 * (tests/stress/, `make stress`) so CI exercises it: the kill-point lsmd
 * ($(B)/lsmd-kp), 3 clients, about 8 s of kill/restart/verify cycles
 * (LSM_TEST_SHORT=1: 5 s) ending with a clean stop; the driver must pass
 * (0 lost synced writes, 0 holes, 0 failed reopens, ...) with at least 3
 * cycles.  Then its self-test: with --inject wal-tail the newest WAL is cut
 * in half before each restart, and the driver must report the lost writes.
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

typedef struct summary {
    int exit_code;
    long cycles;
    unsigned long long acked, lost_synced, lost_unsynced, holes, failed_reopens;
    bool found;
} summary;

/* Runs the driver with args in a fresh directory; echoes its summary to
 * stderr, and all of its output when it fails unexpectedly; parses the
 * summary line.  The directory is removed unless the test fails. */
static summary run_stress(const char *args, bool expect_pass)
{
    char *cmd, *dir = th_tempdir("stress-smoke");
    assert_true(asprintf(&cmd, "'%s' --lsmd '%s' --dir '%s/run' %s 2>&1", STRESS_BIN,
                         LSMD_KP_BIN, dir, args) > 0);
    fprintf(stderr, "running: %s\n", cmd);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    summary s = { 0 };
    char *out = NULL, *line = NULL;
    size_t outlen = 0, cap = 0;
    FILE *mem = open_memstream(&out, &outlen);
    assert_non_null(mem);
    while (getline(&line, &cap, p) > 0) {
        fputs(line, mem);
        const char *at = strstr(line, " cycles=");
        if (strncmp(line, "stress: PASS", 12) != 0 && strncmp(line, "stress: FAIL", 12) != 0)
            continue;
        if (at && sscanf(at, " cycles=%ld acked_writes=%llu synced_acked=%*u lost_synced=%llu "
                         "lost_unsynced=%llu holes=%llu failed_reopens=%llu",
                         &s.cycles, &s.acked, &s.lost_synced, &s.lost_unsynced, &s.holes,
                         &s.failed_reopens) == 6)
            s.found = true;
        fprintf(stderr, "%s", line);
    }
    fclose(mem);
    int status = pclose(p);
    s.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    /* A failed reopen is never expected, not even in the self-test, whose
     * failures must be the loss it injected. */
    bool bad = !s.found || (expect_pass && s.exit_code != 0) || s.failed_reopens;
    if (bad)
        fprintf(stderr, "---- stress output ----\n%s---- end (kept: %s) ----\n", out, dir);
    else
        th_rmrf_free(dir);
    free(out);
    free(line);
    free(cmd);
    return s;
}

static void test_stress_smoke(void **state)
{
    (void)state;
    char args[128];
    snprintf(args, sizeof args, "--duration %.0f --clients 3 --keys 1500 --seed %llu",
             th_duration(8, 5), (unsigned long long)th_seed());
    summary s = run_stress(args, true);
    assert_true(s.found);
    assert_int_equal(s.exit_code, 0);
    assert_true(s.cycles >= 3);
    assert_true(s.acked > 0);
    assert_true(s.lost_synced == 0 && s.holes == 0 && s.failed_reopens == 0);
}

/* The checks can fail: lost WAL tails are reported as lost writes. */
static void test_stress_detects_loss(void **state)
{
    (void)state;
    char args[160];
    snprintf(args, sizeof args,
             "--inject wal-tail --cycles 3 --keep-going --clients 2 --keys 1000 --seed %llu",
             (unsigned long long)th_seed());
    summary s = run_stress(args, false);
    assert_true(s.found);
    assert_int_equal(s.failed_reopens, 0);
    assert_true(s.lost_synced + s.lost_unsynced > 0);
    assert_true(s.exit_code == 0 || s.exit_code == 1);
    assert_true(s.exit_code == 1 || s.lost_synced == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress_smoke),
        cmocka_unit_test(test_stress_detects_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
