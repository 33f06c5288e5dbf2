/*
 * test_numa.c — NUMA placement on real topologies: boots a QEMU guest with
 * two nodes, then one with four nodes and uneven CPUs (tests/numa/guest.sh),
 * runs numa_guest.c's tests inside against a real lsmd, and passes when
 * every one of them passed.  The guest's console, its "placement:" lines
 * (what the kernel said about workers, segments and engine memory)
 * included, is copied to stdout.
 *
 * Exit 77 (skipped) with the reason when QEMU, a kernel image, busybox or
 * cpio is missing, and in a sanitizer build: the guest emulates its CPUs,
 * and an instrumented daemon there would take minutes; the plain pass runs
 * the same code.
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Boots the guest with nodes nodes; fails unless its tests all passed. */
static void boot(int nodes)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh '%s' %d '%s' 2>&1", NUMA_GUEST_SH, nodes, NUMA_GUEST_BIN);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[4096];
    int guest_rc = -1, tests_passed = -1;
    while (fgets(line, sizeof line, p)) {
        fputs(line, stdout);
        fflush(stdout);
        sscanf(line, "numa guest: exit %d", &guest_rc);
        sscanf(line, "[  PASSED  ] %d test", &tests_passed);
    }
    int st = pclose(p);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77)
        skip();
    assert_int_equal(WEXITSTATUS(st), 0);  /* the guest booted and powered off */
    assert_int_equal(guest_rc, 0);          /* numa_guest passed in it */
    assert_int_equal(tests_passed, 7);      /* all of them ran */
}

static void test_two_nodes(void **state)
{
    (void)state;
    boot(2);
}

static void test_four_uneven_nodes(void **state)
{
    (void)state;
    boot(4);
}

int main(void)
{
    if (th_guest_skip("test_numa", NUMA_GUEST_SH))
        return TEST_SKIP;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_nodes),
        cmocka_unit_test(test_four_uneven_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
