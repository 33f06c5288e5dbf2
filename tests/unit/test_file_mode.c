/*
 * test_file_mode.c — private files (issue 9, item 6): a database directory
 * the engine creates is 0700 and every file in it (WAL, tables, MANIFEST,
 * CURRENT, LOCK) 0600 by default; lsm_options.file_mode 0640 gives 0640
 * files in a 0750 directory; bad modes are refused.  The umask is set to 0
 * so it cannot hide a too-open mode, and once to 022 to show the default
 * is private whatever the umask.
 * LSM_TEST_PER_BACKEND
 */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lsm.h"

static unsigned mode_of(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("stat %s: %s", path, strerror(errno));
    return (unsigned)(st.st_mode & 07777);
}

/* Opens dir/db with file_mode (0: leave the default), writes, flushes
 * and compacts so every kind of file exists, closes, reopens (a new
 * MANIFEST and WAL) and checks every entry's mode while it is open. */
static void check_modes(unsigned file_mode, unsigned want_file, unsigned want_dir)
{
    char *parent = th_tempdir("filemode");
    char *dir;
    assert_true(asprintf(&dir, "%s/db", parent) > 0);
    lsm_options o;
    lsm_options_init(&o);
    if (file_mode)
        o.file_mode = file_mode;
    lsm_db *db;
    for (int round = 0; round < 2; round++) {
        assert_int_equal(lsm_open(dir, &o, &db), 0);
        for (int i = 0; i < 200; i++) {
            char k[16];
            int n = snprintf(k, sizeof k, "k%03d-%d", i, round);
            assert_int_equal(lsm_put(db, k, (size_t)n, "value", 5, 0), 0);
            if (i % 50 == 49)
                assert_int_equal(lsm_flush(db), 0);
        }
        assert_int_equal(lsm_compact(db, -1), 0);
        assert_int_equal(lsm_flush(db), 0);
        if (round == 0)
            assert_int_equal(lsm_close(db), 0);
    }

    assert_int_equal(mode_of(dir), want_dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int files = 0, tables = 0, wals = 0;
    const char *needed[] = { "LOCK", "CURRENT", "MANIFEST-" };
    int seen[3] = { 0 };
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *p;
        assert_true(asprintf(&p, "%s/%s", dir, e->d_name) > 0);
        unsigned m = mode_of(p);
        if (m != want_file)
            fail_msg("%s has mode 0%o, expected 0%o", e->d_name, m, want_file);
        free(p);
        files++;
        tables += strstr(e->d_name, ".sst") != NULL;
        wals += strstr(e->d_name, ".log") != NULL;
        for (int i = 0; i < 3; i++)
            seen[i] |= strncmp(e->d_name, needed[i], strlen(needed[i])) == 0;
    }
    closedir(d);
    /* Every kind of file was looked at. */
    assert_true(tables >= 1);
    assert_true(wals >= 1);
    for (int i = 0; i < 3; i++)
        if (!seen[i])
            fail_msg("no %s file in %s", needed[i], dir);
    assert_true(files >= 5);
    assert_int_equal(lsm_close(db), 0);
    free(dir);
    th_rmrf_free(parent);
}

static void test_private_by_default(void **state)
{
    (void)state;
    umask(0);
    check_modes(0, 0600, 0700);
}

static void test_group_read(void **state)
{
    (void)state;
    umask(0);
    check_modes(0640, 0640, 0750);
}

/* The usual umask changes nothing: the default is private on its own. */
static void test_private_under_umask_022(void **state)
{
    (void)state;
    umask(022);
    check_modes(0, 0600, 0700);
}

static void test_bad_modes_refused(void **state)
{
    (void)state;
    char *parent = th_tempdir("filemode");
    char *dir;
    assert_true(asprintf(&dir, "%s/db", parent) > 0);
    static const unsigned bad[] = { 0400, 0200, 0700, 0644 | 0100, 04600, 0777 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lsm_options o;
        lsm_options_init(&o);
        o.file_mode = bad[i];
        lsm_db *db = NULL;
        if (lsm_open(dir, &o, &db) != -EINVAL)
            fail_msg("file_mode 0%o accepted", bad[i]);
    }
    /* Nothing was created by the refusals. */
    struct stat st;
    assert_int_equal(stat(dir, &st), -1);
    free(dir);
    th_rmrf_free(parent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_private_by_default),
        cmocka_unit_test(test_group_read),
        cmocka_unit_test(test_private_under_umask_022),
        cmocka_unit_test(test_bad_modes_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
