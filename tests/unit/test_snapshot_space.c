/*
 * test_snapshot_space.c — a snapshot held through heavy overwrites and
 * compactions still reads its old values; once released, compaction
 * reclaims the space the old versions took.  LSM_TEST_PER_BACKEND
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm.h"

#define NKEYS 20000
#define ROUNDS 6

static size_t value_of(char *buf, int key, int round)
{
    return (size_t)sprintf(buf, "round%d-key%d-%0150d", round, key, round);
}

static double table_bytes(lsm_db *db)
{
    char *json;
    assert_int_equal(lsm_stats_json(db, &json), 0);
    const char *p = strstr(json, "\"tables\":");
    assert_non_null(p);
    double v = strtod(p + 9, NULL);
    lsm_free(json);
    return v;
}

static void expect(lsm_db *db, const lsm_snapshot *s, int key, int round)
{
    char k[16], want[256];
    size_t kn = (size_t)sprintf(k, "k%06d", key), wn = value_of(want, key, round);
    void *v;
    size_t n;
    assert_int_equal(lsm_get(db, s, k, kn, &v, &n), 0);
    assert_int_equal(n, wn);
    assert_memory_equal(v, want, n);
    lsm_free(v);
}

static void write_round(lsm_db *db, int round)
{
    char k[16], v[256];
    for (int i = 0; i < NKEYS; i++) {
        size_t kn = (size_t)sprintf(k, "k%06d", i);
        assert_int_equal(lsm_put(db, k, kn, v, value_of(v, i, round), 0), 0);
    }
}

static void run(const char *style)
{
    char *dir = th_tempdir("snapspace");
    lsm_options o;
    lsm_options_init(&o);
    o.compaction_style = style;
    o.memtable_bytes = 256 << 10;
    o.sstable_target_bytes = 256 << 10;
    o.level_base_bytes = 1 << 20;
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    write_round(db, 0);
    lsm_snapshot *s = lsm_snapshot_acquire(db);
    assert_non_null(s);
    for (int r = 1; r < ROUNDS; r++) {
        write_round(db, r);
        assert_int_equal(lsm_flush(db), 0);
        assert_int_equal(lsm_compact(db, -1), 0);
        for (int i = 0; i < NKEYS; i += 97) /* the old view, mid-way */
            expect(db, s, i, 0);
    }
    for (int i = 0; i < NKEYS; i++) {
        expect(db, s, i, 0);
        expect(db, NULL, i, ROUNDS - 1);
    }
    double held = table_bytes(db);
    lsm_snapshot_release(db, s);
    assert_int_equal(lsm_compact(db, -1), 0);
    double released = table_bytes(db);
    fprintf(stderr, "%s: tables %.0f bytes with the snapshot held, %.0f after release\n",
            style, held, released);
    /* Two versions of every key while held, one after: about half. */
    assert_true(released < held * 0.7);
    for (int i = 0; i < NKEYS; i++)
        expect(db, NULL, i, ROUNDS - 1);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

static void test_leveled(void **st) { (void)st; run("leveled"); }
static void test_tiered(void **st) { (void)st; run("tiered"); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leveled),
        cmocka_unit_test(test_tiered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
