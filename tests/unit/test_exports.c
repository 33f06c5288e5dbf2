/*
 * test_exports.c — the shared libraries export their public API and
 * nothing else: build/liblsm.so only lsm_* (engine/liblsm.map) and
 * build/liblsmd.so only lsmd_* (libclient/liblsmd.map).  A leaked internal
 * symbol (shm_*, memtable_* ...) would become ABI that programs can bind
 * to, and could clash with a program's own names.  Each .so carries the
 * SONAME libX.so.MAJOR and its names the version node LSM_0 / LSMD_0
 * (the .map files); the installed static archives (build/public/) define
 * the same names only, and every one of them.
 */
#include "helpers.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm.h" /* LSM_VERSION_MAJOR */

#ifndef LIB_DIR
#error "LIB_DIR: the build directory holding liblsm.so and liblsmd.so (Makefile)"
#endif

/* Reads the global defined symbols of LIB_DIR/lib with nm (-D for a .so,
 * where each must carry "@@node"); asserts each starts with prefix and that
 * every name in must[] is among them. */
static void check_exports(const char *lib, const char *prefix, const char *node,
                          const char *const *must, size_t nmust)
{
    char cmd[1024];
    bool shared = strstr(lib, ".so") != NULL;
    snprintf(cmd, sizeof cmd, "nm %s --defined-only '%s/%s'", shared ? "-D" : "-g", LIB_DIR, lib);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[512];
    size_t found = 0, total = 0;
    bool *seen = calloc(nmust, sizeof *seen);
    assert_non_null(seen);
    while (fgets(line, sizeof line, p)) {
        char addr[64], type[8], name[400];
        if (sscanf(line, "%63s %7s %399s", addr, type, name) != 3)
            continue;
        if (type[0] == 'A') /* version nodes, not code */
            continue;
        total++;
        char *at = strchr(name, '@');
        if (shared) {
            if (!at || strncmp(at, "@@", 2) != 0 || strcmp(at + 2, node) != 0)
                fail_msg("%s: %s is not in the version node %s", lib, name, node);
            *at = '\0';
        }
        if (strncmp(name, prefix, strlen(prefix)) != 0)
            fail_msg("%s exports %s (type %s): not part of the %s* API", lib, name, type,
                     prefix);
        for (size_t i = 0; i < nmust; i++)
            if (!seen[i] && strcmp(name, must[i]) == 0) {
                seen[i] = true;
                found++;
            }
    }
    assert_int_equal(pclose(p), 0);
    for (size_t i = 0; i < nmust; i++)
        if (!seen[i])
            fail_msg("%s does not export %s", lib, must[i]);
    assert_int_equal(found, nmust);
    assert_true(total >= nmust);
    free(seen);
}

/* The SONAME of LIB_DIR/lib is libX.so.MAJOR (programs load that name). */
static void check_soname(const char *lib)
{
    char cmd[1024], line[512], want[128];
    snprintf(cmd, sizeof cmd, "readelf -d '%s/%s'", LIB_DIR, lib);
    snprintf(want, sizeof want, "[%s.%d]", lib, LSM_VERSION_MAJOR);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    bool ok = false;
    while (fgets(line, sizeof line, p))
        if (strstr(line, "(SONAME)"))
            ok = strstr(line, want) != NULL;
    assert_int_equal(pclose(p), 0);
    if (!ok)
        fail_msg("%s: SONAME is not %s", lib, want);
}

static void test_liblsm_exports_only_the_api(void **state)
{
    (void)state;
    static const char *const must[] = {
        "lsm_options_init", "lsm_open", "lsm_close", "lsm_put", "lsm_delete",
        "lsm_batch_new", "lsm_batch_put", "lsm_batch_append_encoded", "lsm_write", "lsm_get", "lsm_free",
        "lsm_flush", "lsm_strerror", "lsm_iter_new", "lsm_iter_seek",
        "lsm_snapshot_acquire", "lsm_snapshot_release", "lsm_snapshot_id",
        "lsm_compact", "lsm_set_option", "lsm_stats_json", "lsm_get_option", "lsm_options_load",
        "lsm_options_get", "lsm_options_set",
        "lsm_changes_open", "lsm_changes_next", "lsm_changes_close",
        "lsm_checkpoint",
        "lsm_metrics_get", "lsm_metrics_io_kind",
        "lsm_last_error", "lsm_set_log_callback", "lsm_log_set_level",
    };
    check_exports("liblsm.so", "lsm_", "LSM_0", must, sizeof must / sizeof must[0]);
    check_exports("public/liblsm.a", "lsm_", NULL, must, sizeof must / sizeof must[0]);
    check_soname("liblsm.so");
}

static void test_liblsmd_exports_only_the_api(void **state)
{
    (void)state;
    static const char *const must[] = {
        "lsmd_connect", "lsmd_disconnect", "lsmd_put", "lsmd_get", "lsmd_delete",
        "lsmd_write", "lsmd_iter_new", "lsmd_snapshot_acquire", "lsmd_snapshot_hold",
        "lsmd_snapshot_release", "lsmd_submit_put", "lsmd_poll", "lsmd_strerror",
        "lsmd_multi_get", "lsmd_submit_multi_get", "lsmd_completion_multi_get", "lsmd_scan",
        "lsmd_changes",
        "lsmd_checkpoint",
        "lsmd_stats",
        "lsmd_last_error", "lsmd_socket_path",
    };
    check_exports("liblsmd.so", "lsmd_", "LSMD_0", must, sizeof must / sizeof must[0]);
    check_exports("public/liblsmd.a", "lsmd_", NULL, must, sizeof must / sizeof must[0]);
    check_soname("liblsmd.so");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_liblsm_exports_only_the_api),
        cmocka_unit_test(test_liblsmd_exports_only_the_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
