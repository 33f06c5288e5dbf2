/* test_repair.c — `lsmctl repair` (engine/inspect/repair.c, lsm_repair) on
 * a database that no longer opens: CURRENT and the MANIFEST deleted or
 * garbled, a table with a flipped byte or cut short, a WAL with a bad
 * record.  After repair the database opens and holds every key of every
 * intact table and every WAL record before the bad one, the damaged files
 * are in DIR/lost/, and every file that was in DIR is still there or in
 * DIR/lost/ byte for byte: repair never deletes. */
#include "inspect_fixture.h"

#include "base/dbformat.h"
#include "inspect/inspect.h"
#include "io/io.h"
#include "compaction/table_output.h"
#include "version/version_set.h"

static char g_out[1 << 16];

/* ---- every file's bytes, to prove nothing was deleted ---------------------- */

typedef struct saved {
    char name[256];
    char *bytes;
    long len;
} saved;

static char *slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)*len + 1);
    assert_int_equal(fread(b, 1, (size_t)*len, f), (size_t)*len);
    fclose(f);
    return b;
}

static int save_all(const char *dir, saved *s, int cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < cap) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "LOCK") == 0 ||
            strcmp(e->d_name, "lost") == 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(s[n].name, sizeof s[n].name, "%s", e->d_name);
        s[n].bytes = slurp(path, &s[n].len);
        assert_non_null(s[n].bytes);
        n++;
    }
    closedir(d);
    return n;
}

/* Each saved file is in dir or dir/lost/ (name or name.N) unchanged.  Call
 * before opening dir: the engine deletes tables its compactions replace. */
static void assert_nothing_deleted(const char *dir, saved *s, int n)
{
    for (int i = 0; i < n; i++) {
        bool found = false;
        for (int k = -1; k < 4 && !found; k++) {
            char path[1024];
            if (k < 0)
                snprintf(path, sizeof path, "%s/%s", dir, s[i].name);
            else if (k == 0)
                snprintf(path, sizeof path, "%s/lost/%s", dir, s[i].name);
            else
                snprintf(path, sizeof path, "%s/lost/%s.%d", dir, s[i].name, k);
            long len;
            char *b = slurp(path, &len);
            found = b && len == s[i].len && memcmp(b, s[i].bytes, (size_t)len) == 0;
            free(b);
        }
        if (!found)
            fail_msg("%s was deleted or changed by repair", s[i].name);
        free(s[i].bytes);
    }
}

static bool in_lost(const char *dir, const char *path)
{
    const char *name = strrchr(path, '/') + 1;
    char p[800];
    snprintf(p, sizeof p, "%s/lost/%s", dir, name);
    return access(p, F_OK) == 0;
}

static char *current_manifest(const char *dir)
{
    char path[600], cur[64] = { 0 };
    snprintf(path, sizeof path, "%s/CURRENT", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(cur, sizeof cur, f));
    fclose(f);
    cur[strcspn(cur, "\n")] = '\0';
    char *m = malloc(700);
    snprintf(m, 700, "%s/%s", dir, cur);
    return m;
}

static int open_rc(const char *dir)
{
    lsm_options o;
    lsm_options_init(&o);
    o.create_if_missing = 0;
    lsm_db *db = NULL;
    int rc = lsm_open(dir, &o, &db);
    if (rc == 0)
        lsm_close(db);
    return rc;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_repair_deleted_manifest_and_current(void **state)
{
    const char *dir = *state;
    char *m = current_manifest(dir);
    char cur[600];
    snprintf(cur, sizeof cur, "%s/CURRENT", dir);
    assert_int_equal(unlink(m), 0);
    assert_int_equal(unlink(cur), 0);
    assert_int_equal(open_rc(dir), -ENOENT);
    saved s[32];
    int n = save_all(dir, s, 32);

    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "repair", dir, NULL), 0);
    assert_non_null(strstr(g_out, "names 4 tables"));
    assert_non_null(strstr(g_out, "1 WALs converted (150 records)"));
    struct stat st;
    char lost[600];
    snprintf(lost, sizeof lost, "%s/lost", dir);
    assert_int_equal(stat(lost, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700); /* private, as the data */
    assert_nothing_deleted(dir, s, n);
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "verify", dir, NULL), 0);
    fx_check_db(dir, -1, FX_WAL_RECORDS);
    free(m);
}

static void test_repair_garbled_manifest_and_current(void **state)
{
    const char *dir = *state;
    char *m = current_manifest(dir);
    fx_flip(m, 30); /* the first record: corruption, not a torn tail */
    assert_int_equal(open_rc(dir), LSM_ECORRUPT);
    char cur[600];
    snprintf(cur, sizeof cur, "%s/CURRENT", dir);
    fx_write(cur, "MANIFEST-00\x01\n");
    assert_int_equal(open_rc(dir), LSM_ECORRUPT);
    saved s[32];
    int n = save_all(dir, s, 32);

    inspect_repair_report rep;
    assert_int_equal(inspect_repair(dir, NULL, &rep), 0);
    assert_int_equal(rep.tables_kept, 4);
    assert_int_equal(rep.tables_lost, 0);
    assert_int_equal(rep.wal_records, FX_WAL_RECORDS);
    assert_int_equal(rep.last_sequence, 1050);
    assert_true(in_lost(dir, m));
    assert_nothing_deleted(dir, s, n);
    fx_check_db(dir, -1, FX_WAL_RECORDS);
    free(m);
}

/* A flipped byte in table 1 and a bad record in the middle of the WAL:
 * the table and the WAL go to lost/, every other table and the 120 WAL
 * records before the bad one are in the repaired database. */
static void test_repair_flipped_table_and_corrupt_wal(void **state)
{
    const char *dir = *state;
    char *t[8], *w[2];
    int nt = fx_files(dir, ".sst", t, 8);
    int nw = fx_files(dir, ".log", w, 2);
    assert_int_equal(nt, FX_TABLES);
    assert_int_equal(nw, 1);
    fx_flip(t[1], fx_size(t[1]) / 2);
    long off = fx_wal_offset(120);
    fx_flip(w[0], off + 25);
    inspect_damage d;
    assert_int_equal(inspect_wal_dump(w[0], 0, NULL, &d), LSM_ECORRUPT);
    assert_int_equal(d.offset, (uint64_t)off); /* the fixture's layout holds */
    assert_int_equal(open_rc(dir), LSM_ECORRUPT); /* recovery refuses the hole */
    saved s[32];
    int n = save_all(dir, s, 32);

    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "repair", dir, NULL), 0);
    char line[800];
    snprintf(line, sizeof line, "DAMAGE %s offset %ld: bad record", w[0], off);
    assert_non_null(strstr(g_out, line));
    assert_non_null(strstr(g_out, "(damaged table)"));
    assert_non_null(strstr(g_out, "names 3 tables"));
    assert_true(in_lost(dir, t[1]));
    assert_true(in_lost(dir, w[0]));
    assert_int_equal(access(t[1], F_OK), -1);
    assert_nothing_deleted(dir, s, n);
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "verify", dir, NULL), 0);
    fx_check_db(dir, 1, 120);
    fx_free_files(t, nt);
    fx_free_files(w, nw);
}

static void test_repair_truncated_table(void **state)
{
    const char *dir = *state;
    char *t[8];
    int nt = fx_files(dir, ".sst", t, 8);
    fx_truncate(t[2], fx_size(t[2]) / 2);
    saved s[32];
    int n = save_all(dir, s, 32);
    inspect_repair_report rep;
    assert_int_equal(inspect_repair(dir, NULL, &rep), 0);
    assert_int_equal(rep.tables_lost, 1);
    assert_int_equal(rep.tables_kept, 3); /* two tables and the WAL's */
    assert_true(in_lost(dir, t[2]));
    assert_nothing_deleted(dir, s, n);
    fx_check_db(dir, 2, FX_WAL_RECORDS);
    fx_free_files(t, nt);
}

/* Repair of a repaired database changes nothing it holds, and what it
 * moves aside again gets a new name in lost/ (nothing overwritten). */
static void test_repair_twice(void **state)
{
    const char *dir = *state;
    assert_int_equal(lsm_repair(dir), 0);
    saved s[32];
    int n = save_all(dir, s, 32);
    assert_int_equal(lsm_repair(dir), 0);
    char p[700];
    snprintf(p, sizeof p, "%s/lost/CURRENT.1", dir);
    assert_int_equal(access(p, F_OK), 0);
    assert_nothing_deleted(dir, s, n);
    fx_check_db(dir, -1, FX_WAL_RECORDS);
}

static void test_repair_refuses_open_db(void **state)
{
    fx_assert_refused_while_open(*state, "repair", lsm_repair);
}

/* A path with none of a database's files is refused and left untouched. */
static void test_repair_refuses_non_database(void **state)
{
    (void)state;
    char *dir = th_tempdir("repair-empty");
    char other[700];
    snprintf(other, sizeof other, "%s/notes.txt", dir);
    fx_write(other, "not a database\n");
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "repair", dir, NULL), 1);
    assert_non_null(strstr(g_out, "not a database"));
    char *files[4];
    assert_int_equal(fx_files(dir, "", files, 4), 3); /* ., .., notes.txt */
    fx_free_files(files, 3);
    th_rmrf_free(dir);
}

/* ---- the regression: an older version in a deeper table ------------------ */

/* Writes a table of n PUTs (user keys ascending) and adds it at level. */
static void add_table(lsm_io *io, version_set *vs, const char *dir, int level, int n,
                      const char *const *keys, const uint64_t *seqs, const char *const *vals)
{
    table_output t;
    assert_int_equal(table_output_open(io, dir, vs, NULL, &t), 0);
    for (int i = 0; i < n; i++) {
        char ik[64];
        size_t kl = ikey_encode(ik, slice_make(keys[i], strlen(keys[i])), seqs[i], LSM_TYPE_PUT);
        assert_int_equal(table_output_add(&t, slice_make(ik, kl),
                                          slice_make(vals[i], strlen(vals[i]))), 0);
    }
    file_meta *f;
    assert_int_equal(table_output_finish(&t, &f), 0);
    version_edit e;
    version_edit_init(&e);
    assert_int_equal(version_edit_add_file(&e, level, f), 0);
    version_edit_set_last_sequence(&e, 20);
    assert_int_equal(version_set_log_and_apply(vs, &e), 0);
    version_edit_free(&e);
    file_meta_unref(f);
}

static void assert_get(const char *dir, const char *key, const char *want)
{
    lsm_options o;
    lsm_options_init(&o);
    o.create_if_missing = 0;
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    void *v;
    size_t vl;
    assert_int_equal(lsm_get(db, NULL, key, strlen(key), &v, &vl), 0);
    assert_int_equal(vl, strlen(want));
    assert_memory_equal(v, want, vl);
    lsm_free(v);
    assert_int_equal(lsm_close(db), 0);
}

/* L5 holds k@10 "new"; L6 holds j@20 and k@5 "old", so the deeper table
 * has the larger max_seq.  Repair puts both at level 0, ordered by max_seq:
 * without its compaction a get of k would find "old" first. */
static void test_repair_older_version_in_deeper_table_stays_shadowed(void **state)
{
    (void)state;
    char *dir = th_tempdir("repair-levels");
    lsm_options o;
    lsm_options_init(&o);
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    assert_int_equal(lsm_close(db), 0);
    lsm_io *io;
    assert_int_equal(io_posix_new(&io), 0);
    version_set *vs;
    assert_int_equal(version_set_recover(io, dir, &vs), 0);
    add_table(io, vs, dir, 5, 1, (const char *const[]){ "k" }, (const uint64_t[]){ 10 },
              (const char *const[]){ "new" });
    add_table(io, vs, dir, 6, 2, (const char *const[]){ "j", "k" }, (const uint64_t[]){ 20, 5 },
              (const char *const[]){ "x", "old" });
    version_set_free(vs);
    io_destroy(io);
    assert_get(dir, "k", "new");

    char *m = current_manifest(dir), p[700];
    assert_int_equal(unlink(m), 0);
    free(m);
    snprintf(p, sizeof p, "%s/CURRENT", dir);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(fx_lsmctl(g_out, sizeof g_out, "repair", dir, NULL), 0);
    /* Two tables unless the open above had time to compact L5 into L6
     * (seen under TSan): then the case is not exercised, but the values
     * must hold all the same. */
    if (!strstr(g_out, "names 2 tables"))
        fprintf(stderr, "repair did not meet two tables (a compaction ran first): %s\n", g_out);
    assert_non_null(strstr(g_out, "names "));
    assert_get(dir, "k", "new");
    assert_get(dir, "j", "x");
    th_rmrf_free(dir);
}

#define DB_TEST(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        DB_TEST(test_repair_deleted_manifest_and_current),
        DB_TEST(test_repair_garbled_manifest_and_current),
        DB_TEST(test_repair_flipped_table_and_corrupt_wal),
        DB_TEST(test_repair_truncated_table),
        DB_TEST(test_repair_twice),
        DB_TEST(test_repair_refuses_open_db),
        cmocka_unit_test(test_repair_refuses_non_database),
        cmocka_unit_test(test_repair_older_version_in_deeper_table_stays_shadowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
