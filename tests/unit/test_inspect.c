/* test_inspect.c — `lsmctl sst-dump`, `wal-dump`, `manifest-dump` and
 * `verify` (engine/inspect/) on a real database and on damaged copies of
 * its files: a flipped byte in a block, a truncated table, a torn and a
 * corrupt WAL, a garbled MANIFEST and CURRENT.  Each runs the real lsmctl
 * and checks its exit status and the DAMAGE line naming file and offset;
 * the offsets are also checked through inspect.h directly.  (Repair:
 * test_repair.c.) */
#include "inspect_fixture.h"

#include "inspect/inspect.h"

static char g_out[1 << 20];

static void test_sst_dump_intact(void **state)
{
    char *t[8];
    int n = fx_files(*state, ".sst", t, 8);
    assert_int_equal(n, FX_TABLES);
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "sst-dump", t[1], "--values", NULL), 0);
    assert_non_null(strstr(g_out, "entries 300  deletions 0"));
    assert_non_null(strstr(g_out, "data block 0: offset 0 "));
    assert_non_null(strstr(g_out, "'key00300' @301 PUT => 't1-00300-"));
    assert_non_null(strstr(g_out, "ok: "));
    assert_null(strstr(g_out, "DAMAGE"));
    fx_free_files(t, n);
}

/* One flipped byte: that block is named by its offset, the others are
 * still read (their keys listed), exit 1. */
static void test_sst_dump_flipped_byte(void **state)
{
    char *t[8];
    int n = fx_files(*state, ".sst", t, 8);
    long size = fx_size(t[0]);
    long off = size / 3; /* inside a data block, far from the meta blocks */
    fx_flip(t[0], off);
    inspect_damage d;
    assert_int_equal(inspect_sst_dump(t[0], INSPECT_QUIET, NULL, &d), LSM_ECORRUPT);
    assert_string_equal(d.path, t[0]);
    assert_true(d.offset <= (uint64_t)off && (uint64_t)off < d.offset + 8192);
    assert_non_null(strstr(d.what, "checksum mismatch"));

    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "sst-dump", t[0], NULL), 1);
    char line[700];
    snprintf(line, sizeof line, "DAMAGE %s offset %llu: data block", t[0],
             (unsigned long long)d.offset);
    assert_non_null(strstr(g_out, line));
    assert_non_null(strstr(g_out, "'key00000' @1 PUT"));   /* first block */
    assert_non_null(strstr(g_out, "'key00299' @300 PUT")); /* last block */
    assert_null(strstr(strstr(g_out, "DAMAGE") + 1, "DAMAGE")); /* only one */
    fx_free_files(t, n);
}

static void test_sst_dump_truncated(void **state)
{
    char *t[8];
    int n = fx_files(*state, ".sst", t, 8);
    long size = fx_size(t[0]);
    fx_truncate(t[0], size - 10);
    inspect_damage d;
    assert_int_equal(inspect_sst_dump(t[0], 0, NULL, &d), LSM_ECORRUPT);
    assert_int_equal(d.offset, (uint64_t)size - 10 - 8); /* the magic's place */
    assert_non_null(strstr(d.what, "bad magic"));
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "sst-dump", t[0], NULL), 1);
    assert_non_null(strstr(g_out, "bad magic"));

    fx_truncate(t[1], 30);
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "sst-dump", t[1], NULL), 1);
    assert_non_null(strstr(g_out, "offset 0: 30 bytes: shorter than a footer"));
    fx_free_files(t, n);
}

/* The index names blocks; a damaged properties block is caught at open. */
static void test_sst_dump_meta_damage(void **state)
{
    char *t[8];
    int n = fx_files(*state, ".sst", t, 8);
    long size = fx_size(t[2]);
    fx_flip(t[2], size - 64 - 4); /* the properties block's crc */
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "sst-dump", t[2], NULL), 1);
    assert_non_null(strstr(g_out, "properties block"));
    assert_non_null(strstr(g_out, "checksum mismatch"));
    fx_free_files(t, n);
}

/* Every byte of a table is under a checksum (blocks, footer) or is the
 * magic or version: whichever one byte flips, sst-dump reports it (and
 * never reads outside what it loaded: ASan). */
static void test_sst_dump_any_flipped_byte(void **state)
{
    char *t[8];
    int n = fx_files(*state, ".sst", t, 8);
    long size = fx_size(t[0]);
    th_rng rng;
    th_rng_seed(&rng, th_seed());
    for (int i = 0; i < 200; i++) {
        /* Half the flips in the meta region and footer, the rest anywhere. */
        long off = i % 2 ? size - 1 - (long)th_rng_below(&rng, 400)
                         : (long)th_rng_below(&rng, (uint64_t)size);
        fx_flip(t[0], off);
        int rc = inspect_sst_dump(t[0], INSPECT_QUIET, NULL, NULL);
        if (rc != LSM_ECORRUPT && rc != LSM_EVERSION)
            fail_msg("flip at offset %ld of %ld: rc %d", off, size, rc);
        fx_flip(t[0], off); /* back */
    }
    assert_int_equal(inspect_sst_dump(t[0], INSPECT_QUIET, NULL, NULL), 0);
    fx_free_files(t, n);
}

static void test_wal_dump_torn_and_corrupt(void **state)
{
    char *w[4];
    int n = fx_files(*state, ".log", w, 4);
    assert_int_equal(n, 1);
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "wal-dump", w[0], "--values", NULL), 0);
    assert_non_null(strstr(g_out, "'key00000' @901 PUT => 'wal-00000'"));
    assert_non_null(strstr(g_out, "'key00300' @951 DEL"));
    assert_non_null(strstr(g_out, "ok: 150 records, 150 entries, last sequence 1050"));

    /* Torn: the last record cut short is the end of the log, not damage. */
    long size = fx_size(w[0]);
    fx_truncate(w[0], size - 3);
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "wal-dump", w[0], NULL), 0);
    assert_non_null(strstr(g_out, "torn tail at offset"));
    assert_non_null(strstr(g_out, "ok: 149 records"));

    /* A bad record followed by good ones is corruption, at its offset. */
    fx_flip(w[0], 25); /* the first record's payload */
    inspect_damage d;
    assert_int_equal(inspect_wal_dump(w[0], 0, NULL, &d), LSM_ECORRUPT);
    assert_int_equal(d.offset, 0);
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "wal-dump", w[0], NULL), 1);
    char line[600];
    snprintf(line, sizeof line, "DAMAGE %s offset 0: bad record", w[0]);
    assert_non_null(strstr(g_out, line));
    fx_free_files(w, n);
}

static void test_manifest_dump(void **state)
{
    const char *dir = *state;
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "manifest-dump", dir, NULL), 0);
    assert_non_null(strstr(g_out, "header(LSMDMFST v1)"));
    assert_non_null(strstr(g_out, "300 entries (0 deletions), seq 301..600"));
    assert_non_null(strstr(g_out, "L0: 3 files"));

    /* A flipped byte in the first of several records. */
    char cur[64] = { 0 };
    char path[600];
    snprintf(path, sizeof path, "%s/CURRENT", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(cur, sizeof cur, f));
    fclose(f);
    cur[strcspn(cur, "\n")] = '\0';
    char mpath[700];
    snprintf(mpath, sizeof mpath, "%s/%s", dir, cur);
    fx_flip(mpath, 30);
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "manifest-dump", dir, NULL), 1);
    char line[800];
    snprintf(line, sizeof line, "DAMAGE %s offset 0: ", mpath);
    assert_non_null(strstr(g_out, line));

    /* CURRENT garbled, then naming a MANIFEST that is not there. */
    fx_write(path, "MANIFEST-0000x1\n");
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "manifest-dump", dir, NULL), 1);
    assert_non_null(strstr(g_out, "CURRENT does not hold exactly"));
    fx_write(path, "MANIFEST-999999\n");
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "manifest-dump", dir, NULL), 1);
    assert_non_null(strstr(g_out, "CURRENT names a MANIFEST that does not exist"));
}

static void test_verify(void **state)
{
    const char *dir = *state;
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "verify", dir, NULL), 0);
    assert_non_null(strstr(g_out, "3 tables, 1 WALs checked, 0 damaged"));
    assert_int_equal(lsm_verify(dir), 0);

    char *t[8];
    int n = fx_files(dir, ".sst", t, 8);
    long size = fx_size(t[1]);
    fx_flip(t[1], size / 2);
    assert_int_equal(unlink(t[2]), 0);
    uint64_t damaged = 0;
    inspect_damage d;
    assert_int_equal(inspect_verify(dir, NULL, &damaged, &d), LSM_ECORRUPT);
    assert_int_equal(damaged, 2);
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "verify", dir, NULL), 1);
    char line[700];
    snprintf(line, sizeof line, "DAMAGE %s offset ", t[1]);
    assert_non_null(strstr(g_out, line));
    snprintf(line, sizeof line, "DAMAGE %s offset -: named by the MANIFEST at L0 but missing",
             t[2]);
    assert_non_null(strstr(g_out, line));
    assert_non_null(strstr(g_out, "2 damaged"));
    assert_int_equal(lsm_verify(dir), LSM_ECORRUPT);
    fx_free_files(t, n);
}

/* verify reads only: it refuses a database an engine has open. */
static void test_verify_refuses_open_db(void **state)
{
    fx_assert_refused_while_open(*state, "verify", lsm_verify);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sst_dump_intact, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sst_dump_flipped_byte, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sst_dump_truncated, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sst_dump_meta_damage, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sst_dump_any_flipped_byte, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_dump_torn_and_corrupt, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_manifest_dump, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_verify, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_verify_refuses_open_db, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
