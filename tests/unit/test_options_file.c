/*
 * test_options_file.c — DIR/OPTIONS (engine/db/options_file.h): options set
 * at run time survive close and a power loss, lsm_get_option reads them
 * back, and a damaged OPTIONS file is refused with a clear code and
 * changes nothing (LSM_ECORRUPT, LSM_EVERSION), never half-applied.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crc32c.h"
#include "io/io.h"
#include "lsm.h"

/* The runtime changes every test makes: a style, ratios, triggers, rates. */
static const char *const k_set[][3] = {
    /* name, value given, value read back */
    { "compaction_style", "tiered", "tiered" },
    { "level_size_ratio", "7.25", "7.25" },
    { "tiered_size_ratio", "0.1", "0.1" },
    { "l0_stop_trigger", "40", "40" },
    { "l0_compaction_trigger", "6", "6" },
    { "delayed_write_rate", "8M", "8388608" },
    { "compaction_rate_mb", "50", "50" },
    { "periodic_compaction_seconds", "3600", "3600" },
};
#define N_SET (sizeof k_set / sizeof k_set[0])

static char *path_in(const char *dir, const char *name)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 65536);
    assert_non_null(buf);
    *n = fread(buf, 1, 65535, f);
    fclose(f);
    return buf;
}

static void write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void set_all(lsm_db *db)
{
    for (size_t i = 0; i < N_SET; i++)
        if (lsm_set_option(db, k_set[i][0], k_set[i][1]) != 0)
            fail_msg("lsm_set_option(%s, %s) refused", k_set[i][0], k_set[i][1]);
}

static void expect_all(lsm_db *db)
{
    char buf[64];
    for (size_t i = 0; i < N_SET; i++) {
        int n = lsm_get_option(db, k_set[i][0], buf, sizeof buf);
        assert_true(n > 0);
        if (strcmp(buf, k_set[i][2]) != 0)
            fail_msg("%s: got %s, want %s", k_set[i][0], buf, k_set[i][2]);
    }
}

/* Set, close, load, open: the same options, and lsm_options_load fills
 * the struct a caller opens with. */
static void test_set_close_open_same(void **state)
{
    (void)state;
    char *dir = th_tempdir("optf");
    lsm_options o;
    lsm_options_init(&o);
    o.block_bytes = 8192; /* an open-time option is persisted too */
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    set_all(db);
    expect_all(db);
    assert_int_equal(lsm_close(db), 0);

    lsm_options_init(&o);
    assert_int_equal(lsm_options_load(dir, &o), 0);
    assert_string_equal(o.compaction_style, "tiered");
    assert_true(o.level_size_ratio == 7.25);
    assert_true(o.tiered_size_ratio == 0.1);
    assert_int_equal(o.l0_compaction_trigger, 6);
    assert_int_equal(o.delayed_write_rate, 8u << 20);
    assert_int_equal(o.block_bytes, 8192);
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    expect_all(db);
    char all[LSM_OPTIONS_TEXT_MAX];
    int n = lsm_get_option(db, "", all, sizeof all);
    assert_true(n > 0 && (size_t)n == strlen(all));
    assert_non_null(strstr(all, "compaction_style=tiered\n"));
    assert_non_null(strstr(all, "block_bytes=8192\n"));
    assert_non_null(strstr(all, "file_mode=0600\n"));
    assert_int_equal(lsm_get_option(db, NULL, all, sizeof all), n);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

/* The API's edges: unknown names, small buffers, lsm_options_set. */
static void test_get_option_errors(void **state)
{
    (void)state;
    char *dir = th_tempdir("optf");
    lsm_db *db;
    assert_int_equal(lsm_open(dir, NULL, &db), 0);
    char buf[8];
    assert_int_equal(lsm_get_option(db, "no_such_option", buf, sizeof buf), -EINVAL);
    assert_int_equal(lsm_get_option(db, "memtable_bytes", buf, sizeof buf), LSM_ETOOSMALL);
    assert_int_equal(lsm_get_option(db, "", buf, sizeof buf), LSM_ETOOSMALL);
    assert_int_equal(lsm_get_option(db, "l0_stop_trigger", buf, sizeof buf), 2);
    assert_string_equal(buf, "36");
    assert_int_equal(lsm_get_option(NULL, "l0_stop_trigger", buf, sizeof buf), -EINVAL);
    assert_int_equal(lsm_close(db), 0);

    lsm_options o;
    lsm_options_init(&o);
    assert_int_equal(lsm_options_set(&o, "memtable_bytes", "2M"), 0);
    assert_int_equal(o.memtable_bytes, 2u << 20);
    assert_int_equal(lsm_options_set(&o, "max_open_files", "500"), 0); /* open-time */
    assert_int_equal(o.max_open_files, 500);
    assert_int_equal(lsm_options_set(&o, "file_mode", "0640"), 0);
    assert_int_equal(o.file_mode, 0640);
    assert_int_equal(lsm_options_set(&o, "compaction_style", "fifo"), -EINVAL);
    assert_int_equal(lsm_options_set(&o, "nope", "1"), -EINVAL);
    assert_int_equal(lsm_options_set(&o, "l0_stop_trigger", "0"), -EINVAL);
    assert_int_equal(lsm_options_get(&o, "", NULL, 0), LSM_ETOOSMALL); /* sizing */
    assert_int_equal(lsm_options_get(&o, "file_mode", NULL, 0), LSM_ETOOSMALL);
    assert_int_equal(lsm_options_get(&o, "file_mode", buf, sizeof buf), 4);
    assert_string_equal(buf, "0640");
    th_rmrf_free(dir);
}

/* Opens dir with defaults on a fault backend over POSIX. */
static lsm_db *open_on_fault(const char *dir, lsm_io **base, lsm_io **fault)
{
    assert_int_equal(io_new("posix", base), 0);
    assert_int_equal(io_fault_new(*base, fault), 0);
    lsm_options o;
    lsm_options_init(&o);
    o.io = *fault;
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    return db;
}

/* A set is durable when it returns: a power loss right after keeps it
 * (temp file synced, renamed, directory synced). */
static void test_set_survives_power_loss(void **state)
{
    (void)state;
    char *dir = th_tempdir("optf");
    lsm_io *base, *fault;
    lsm_db *db = open_on_fault(dir, &base, &fault);
    set_all(db);
    assert_int_equal(io_fault_power_loss(fault), 0);
    lsm_close(db); /* the machine is off: errors expected */
    io_destroy(fault);
    io_destroy(base);
    lsm_options o;
    lsm_options_init(&o);
    assert_int_equal(lsm_options_load(dir, &o), 0);
    assert_string_equal(o.compaction_style, "tiered");
    assert_int_equal(o.compaction_rate_mb, 50);
    assert_int_equal(o.periodic_compaction_seconds, 3600);
    th_rmrf_free(dir);
}

/* A set whose OPTIONS write fails changes nothing, in memory or on disk. */
static void test_failed_write_changes_nothing(void **state)
{
    (void)state;
    char *dir = th_tempdir("optf");
    lsm_io *base, *fault;
    lsm_db *db = open_on_fault(dir, &base, &fault);
    char buf[64];
    /* Fail each operation of the write in turn (create, write, sync,
     * rename, directory sync) until one set goes through. */
    uint64_t nth = 1;
    for (;; nth++) {
        assert_true(nth < 16);
        io_fault_arm(fault, nth, ENOSPC, 0);
        int rc = lsm_set_option(db, "compaction_style", "tiered");
        io_fault_arm(fault, 0, 0, 0);
        if (rc == 0)
            break;
        assert_int_equal(rc, -ENOSPC);
        assert_int_equal(lsm_get_option(db, "compaction_style", buf, sizeof buf), 7);
        assert_string_equal(buf, "leveled");
        lsm_options l; /* and the file still says so (restored after a rename) */
        lsm_options_init(&l);
        assert_int_equal(lsm_options_load(dir, &l), 0);
        assert_string_equal(l.compaction_style, "leveled");
    }
    assert_true(nth >= 4); /* at least create, write, rename, sync_dir */
    assert_int_equal(lsm_get_option(db, "compaction_style", buf, sizeof buf), 6);
    assert_int_equal(lsm_close(db), 0);
    io_destroy(fault);
    io_destroy(base);
    th_rmrf_free(dir);
}

/* Rewrites dir/OPTIONS with body sealed by a correct checksum line. */
static void write_sealed(const char *dir, const char *body)
{
    char text[8192];
    int n = snprintf(text, sizeof text, "%s", body);
    n += snprintf(text + n, sizeof text - (size_t)n, "crc32c=0x%08x\n",
                  (unsigned)crc32c(text, (size_t)n));
    char *p = path_in(dir, "OPTIONS");
    write_file(p, text, (size_t)n);
    free(p);
}

/* Damaged files: each is refused with its code and leaves *o untouched. */
static void test_damaged_file_refused(void **state)
{
    (void)state;
    char *dir = th_tempdir("optf");
    lsm_options o;
    lsm_options_init(&o);
    assert_int_equal(lsm_options_load(dir, &o), -ENOENT); /* none yet */
    lsm_db *db;
    assert_int_equal(lsm_open(dir, NULL, &db), 0);
    set_all(db);
    assert_int_equal(lsm_close(db), 0);
    char *path = path_in(dir, "OPTIONS");
    size_t n;
    char *good = read_file(path, &n);
    assert_true(n > 100);
    lsm_options init;
    lsm_options_init(&init);

    struct { const char *what; size_t len; int flip; int want; } cases[] = {
        { "torn in the middle", n / 2, -1, LSM_ECORRUPT },
        { "torn before the last newline", n - 1, -1, LSM_ECORRUPT },
        { "empty", 0, -1, LSM_ECORRUPT },
        { "a value's digit flipped", n, 0, LSM_ECORRUPT },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *copy = malloc(n);
        memcpy(copy, good, n);
        if (cases[i].flip == 0) {
            char *v = strstr(copy, "compaction_rate_mb=50");
            assert_non_null(v);
            v[strlen("compaction_rate_mb=")] = '9';
        }
        write_file(path, copy, cases[i].len);
        free(copy);
        lsm_options_init(&o);
        int rc = lsm_options_load(dir, &o);
        if (rc != cases[i].want)
            fail_msg("%s: load returned %d, want %d", cases[i].what, rc, cases[i].want);
        assert_memory_equal(&o, &init, sizeof o); /* nothing half-applied */
    }
    /* Garbage, and a file that is not text. */
    write_file(path, "\x7f" "ELF\0\0\0garbage", 14);
    assert_int_equal(lsm_options_load(dir, &o), LSM_ECORRUPT);
    write_file(path, "compaction_style=tiered\n", 24);
    assert_int_equal(lsm_options_load(dir, &o), LSM_ECORRUPT);
    /* A newer format. */
    write_sealed(dir, "LSMD-OPTIONS 2\ncompaction_style=tiered\n");
    assert_int_equal(lsm_options_load(dir, &o), LSM_EVERSION);
    /* Sealed but wrong inside: a duplicate, a line without '=', a bad value. */
    write_sealed(dir, "LSMD-OPTIONS 1\ncompaction_style=tiered\ncompaction_style=leveled\n");
    assert_int_equal(lsm_options_load(dir, &o), LSM_ECORRUPT);
    write_sealed(dir, "LSMD-OPTIONS 1\ncompaction_style\n");
    assert_int_equal(lsm_options_load(dir, &o), LSM_ECORRUPT);
    write_sealed(dir, "LSMD-OPTIONS 1\ncompaction_style=tiered\nl0_stop_trigger=0\n");
    assert_int_equal(lsm_options_load(dir, &o), -EINVAL);
    assert_memory_equal(&o, &init, sizeof o);
    /* An unknown name (a newer engine's option) is skipped; the rest apply. */
    write_sealed(dir, "LSMD-OPTIONS 1\nfuture_knob=3\ncompaction_style=tiered\n");
    assert_int_equal(lsm_options_load(dir, &o), 0);
    assert_string_equal(o.compaction_style, "tiered");
    /* A leftover OPTIONS.tmp (a crash mid-write) is never read. */
    write_file(path, good, n);
    char *tmp = path_in(dir, "OPTIONS.tmp");
    write_file(tmp, "garbage", 7);
    lsm_options_init(&o);
    assert_int_equal(lsm_options_load(dir, &o), 0);
    assert_int_equal(o.compaction_rate_mb, 50);
    /* lsm_open replaces both with the options it opened with. */
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    assert_int_equal(lsm_close(db), 0);
    lsm_options_init(&o);
    assert_int_equal(lsm_options_load(dir, &o), 0);
    assert_int_equal(o.compaction_rate_mb, 50);
    free(tmp);
    free(good);
    free(path);
    th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_close_open_same),
        cmocka_unit_test(test_get_option_errors),
        cmocka_unit_test(test_set_survives_power_loss),
        cmocka_unit_test(test_failed_write_changes_nothing),
        cmocka_unit_test(test_damaged_file_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
