/*
 * test_crashfs.c — crash consistency on a real ext4: boots the QEMU guest
 * of tests/crashfs/guest.sh, where crashfs_guest.c records every block
 * write of an engine workload with dm-log-writes and checks the database
 * at replay points, once on the default I/O path and once with direct I/O
 * (LSM_CRASHFS_POINTS per pass, default 25; 0 = every flush and FUA).  The guest's console, its "crashfs:" lines included, is copied to
 * stdout.
 *
 * Exit 77 (skipped) with the reason when QEMU, a kernel image with its
 * modules, busybox, cpio, dmsetup or mkfs.ext4 is missing, and in a
 * sanitizer build (the guest emulates its CPUs; the plain pass runs the
 * same code).
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static void test_replay_points_in_guest(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh '%s' '%s' '%s' 2>&1", CRASHFS_GUEST_SH, CRASHFS_GUEST_BIN,
             REPLAY_LOG_BIN);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[4096];
    int guest_rc = -1, passed = -1, passes = 0;
    long checked;
    while (fgets(line, sizeof line, p)) {
        fputs(line, stdout);
        fflush(stdout);
        sscanf(line, "crashfs guest: exit %d", &guest_rc);
        sscanf(line, "[  PASSED  ] %d test", &passed);
        if (sscanf(line, "crashfs: %ld replay points checked", &checked) == 1 && checked > 0)
            passes++;
    }
    int st = pclose(p);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77)
        skip();
    assert_int_equal(WEXITSTATUS(st), 0); /* the guest booted and powered off */
    assert_int_equal(guest_rc, 0);         /* crashfs_guest passed in it */
    assert_int_equal(passed, 5);            /* buffered, direct, lsmd, flakey x2 */
    assert_int_equal(passes, 3);            /* each replay pass checked points */
}

int main(void)
{
    if (th_guest_skip("test_crashfs", CRASHFS_GUEST_SH))
        return TEST_SKIP;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_points_in_guest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
