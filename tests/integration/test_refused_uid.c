/*
 * test_refused_uid.c — SO_PEERCRED policy.  As root: a process that
 * setuid()s to 65534 (nobody) must be refused with -EACCES by a daemon whose
 * config (an INI file, --config) allows another uid only, and accepted once
 * the config lists 65534.  Skipped (exit 77) when not run as root.
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NOBODY 65534

static th_daemon g_d;

/* Connects as uid/gid NOBODY in a forked child; returns the connect result
 * (or a put's, when connected). */
static int connect_as_nobody(void)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        int rc = 0;
        if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
            rc = -errno;
        lsmd_conn *c = NULL;
        if (rc == 0)
            rc = lsmd_connect(g_d.sock, &c);
        if (rc == 0) {
            rc = lsmd_put(c, "nobody", 6, "was here", 8, 0);
            lsmd_disconnect(c);
        }
        if (write(pfd[1], &rc, sizeof rc) != (ssize_t)sizeof rc)
            _exit(2);
        _exit(0);
    }
    close(pfd[1]);
    int rc = 1;
    assert_int_equal(read(pfd[0], &rc, sizeof rc), (ssize_t)sizeof rc);
    close(pfd[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return rc;
}

static void start_with_allowed(const char *uids)
{
    char *cfg;
    assert_true(asprintf(&cfg, "%s/lsmd.ini", g_d.root) > 0);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "# written by test_refused_uid\n[lsmd]\nallow_uids = %s\nspin_us = 20\n", uids);
    fclose(f);
    const char *extra[] = { "--config", cfg, NULL };
    thd_start(&g_d, extra);
    free(cfg);
}

static void test_refused_uid(void **state)
{
    (void)state;
    start_with_allowed("12345");
    int rc = connect_as_nobody();
    if (rc != -EACCES)
        fail_msg("uid %d should be refused with -EACCES, got %d (%s)", NOBODY, rc,
                 lsmd_strerror(rc));
    /* Our own uid is always allowed. */
    lsmd_conn *c = thd_connect(&g_d);
    assert_int_equal(lsmd_ping(c), 0);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(&g_d), 0);

    start_with_allowed("1000, 65534");
    rc = connect_as_nobody();
    if (rc != 0)
        fail_msg("uid %d listed in allow_uids was refused: %s", NOBODY, lsmd_strerror(rc));
    assert_int_equal(thd_stop(&g_d), 0);
}

static int setup(void **state)
{
    (void)state;
    thd_init(&g_d, LSMD_BIN, "uid");
    /* nobody must be able to reach the socket: only SO_PEERCRED decides. */
    assert_int_equal(chmod(g_d.root, 0755), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    thd_cleanup(&g_d);
    return 0;
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_refused_uid: needs root to setuid(%d); skipped\n", NOBODY);
        return TEST_SKIP;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_uid, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
