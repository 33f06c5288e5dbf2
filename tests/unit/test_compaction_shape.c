/*
 * test_compaction_shape.c — what compaction makes of a real load.
 *
 *   leveled: level sizes respect the size ratio — dynamic targets: from
 *            the last level up, each level in use holds at most 1/ratio
 *            of the next one's target, the levels above the base stay
 *            empty, and space amplification ends near 1 + 1/ratio — and
 *            every level >= 1 holds disjoint files, sorted;
 *   tiered:  the number of sorted runs stays within its bound throughout;
 *   both:    on one load, leveled writes more (write amplification) and
 *            tiered keeps more runs to read (read amplification), as theory
 *            says; the figures are printed for the notes.
 *   switch:  a live switch loses nothing and converges to the new shape.
 *
 * LSM_SHAPE_MB sets the load (default 48 MB of 100-byte values; the notes
 * quote a 400 MB run).  LSM_TEST_PER_BACKEND
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compaction/compaction_picker.h"
#include "db/db_impl.h"
#include "db/superversion.h"
#include "base/dbformat.h"
#include "lsm.h"

#define VALUE_BYTES 100

typedef struct load_result {
    double write_amp, space_amp, probes_per_get;
    int max_runs;
} load_result;

static lsm_db *open_small(const char *dir, const char *style)
{
    lsm_options o;
    lsm_options_init(&o);
    o.compaction_style = style;
    o.memtable_bytes = 1 << 20;
    o.sstable_target_bytes = 1 << 20;
    o.level_base_bytes = 4 << 20;
    o.level_size_ratio = 4;
    o.l0_compaction_trigger = 4;
    o.tiered_max_runs = 8;
    o.block_cache_bytes = 4 << 20;
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    return db;
}

static double json_number(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    assert_non_null(p);
    return strtod(p + strlen(pat), NULL);
}

/* White-box: the current version's shape. */
static void check_disjoint(lsm_db *db)
{
    superversion *sv = db_sv_acquire(db);
    version *v = sv->v;
    for (int l = 1; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 1; i < v->nfiles[l]; i++) {
            slice prev = ikey_user(file_meta_largest(v->files[l][i - 1]));
            slice next = ikey_user(file_meta_smallest(v->files[l][i]));
            if (slice_compare(prev, next) >= 0)
                fail_msg("level %d: file %zu overlaps file %zu", l, i - 1, i);
        }
    db_sv_release(sv);
}

static int sorted_runs(lsm_db *db)
{
    superversion *sv = db_sv_acquire(db);
    int runs = (int)sv->v->nfiles[0];
    for (int l = 1; l < LSM_NUM_LEVELS; l++)
        runs += sv->v->nfiles[l] > 0;
    db_sv_release(sv);
    return runs;
}

/* Waits until no compaction is due (score < 1 everywhere, none running). */
static void settle(lsm_db *db)
{
    for (int i = 0; i < 600; i++) {
        char *json;
        assert_int_equal(lsm_stats_json(db, &json), 0);
        int busy = json_number(json, "compactions_running") > 0 ||
                   json_number(json, "immutable_memtables") > 0;
        const char *p = json;
        while ((p = strstr(p, "\"score\":")) != NULL) {
            if (strtod(p + 8, NULL) >= 1.0)
                busy = 1;
            p += 8;
        }
        lsm_free(json);
        if (!busy)
            return;
        struct timespec ts = { 0, 50000000 };
        nanosleep(&ts, NULL);
    }
    fail_msg("compaction did not settle in 30 s");
}

static void check_leveled_shape(lsm_db *db, double ratio)
{
    check_disjoint(db);
    superversion *sv = db_sv_acquire(db);
    version *v = sv->v;
    picker_options po;
    picker_options_init(&po);
    po.level_base_bytes = 4 << 20;
    po.level_size_ratio = ratio;
    level_targets t;
    picker_level_targets(&po, v, &t);
    /* The data sits at the bottom: L6 is the largest level, and once
     * settled every level above it is within its target (1/ratio of the
     * next one's; one output file of slack), and the levels above the
     * shallowest one needed are empty. */
    uint64_t last = version_level_bytes(v, LSM_NUM_LEVELS - 1);
    assert_true(last > 0);
    for (int l = 1; l < LSM_NUM_LEVELS - 1; l++) {
        uint64_t b = version_level_bytes(v, l);
        if (b > last)
            fail_msg("leveled shape: L%d has %llu bytes, more than L6's %llu", l,
                     (unsigned long long)b, (unsigned long long)last);
        if (l < t.first_needed && b)
            fail_msg("leveled shape: L%d has %llu bytes, levels above L%d should be empty", l,
                     (unsigned long long)b, t.first_needed);
        if (l >= t.first_needed && b > t.bytes[l] + (1 << 20))
            fail_msg("leveled shape: L%d has %llu bytes, target %llu (L6: %llu)", l,
                     (unsigned long long)b, (unsigned long long)t.bytes[l],
                     (unsigned long long)last);
    }
    assert_true(v->nfiles[0] < 4 + 1);
    db_sv_release(sv);
}

/* Random overwrites of a key space about 1/3 of the load, so compaction
 * drops data and amplification means something. */
static load_result run_load(const char *dir, const char *style, long mb)
{
    lsm_db *db = open_small(dir, style);
    long n = mb * 1000000 / (16 + VALUE_BYTES);
    long keys = n / 3;
    th_rng rng;
    th_rng_seed(&rng, 42);
    char k[24], val[VALUE_BYTES]; /* keys are 16 digits; 24: snprintf's worst case */
    memset(val, 'v', sizeof val);
    load_result r = { 0 };
    for (long i = 0; i < n; i++) {
        snprintf(k, sizeof k, "%016llu", (unsigned long long)th_rng_below(&rng, (uint64_t)keys));
        memcpy(val, &i, sizeof i);
        assert_int_equal(lsm_put(db, k, 16, val, sizeof val, 0), 0);
        if (i % 20000 == 0) {
            int runs = sorted_runs(db);
            if (runs > r.max_runs)
                r.max_runs = runs;
        }
    }
    assert_int_equal(lsm_flush(db), 0);
    settle(db);
    /* A settled leveled tree may still hold up to l0_compaction_trigger - 1
     * overlapping L0 tables, as many as the load's timing left (space amp
     * seen from 1.22 to 1.36 for one load): compact L0 into the base level
     * so the figures measure the shape, not the timing. */
    if (strcmp(style, "leveled") == 0) {
        assert_int_equal(lsm_compact(db, 0), 0);
        settle(db);
    }
    /* Reads for read amplification: tables probed per get. */
    for (int i = 0; i < 20000; i++) {
        snprintf(k, sizeof k, "%016llu", (unsigned long long)th_rng_below(&rng, (uint64_t)keys));
        void *v;
        size_t vn;
        if (lsm_get(db, NULL, k, 16, &v, &vn) == 0)
            lsm_free(v);
    }
    char *json;
    assert_int_equal(lsm_stats_json(db, &json), 0);
    r.write_amp = json_number(json, "write_amplification");
    r.space_amp = json_number(json, "space_amplification");
    r.probes_per_get = json_number(json, "files_probed_per_get");
    lsm_free(json);
    if (strcmp(style, "leveled") == 0)
        check_leveled_shape(db, 4);
    else
        check_disjoint(db);
    int runs = sorted_runs(db);
    if (runs > r.max_runs)
        r.max_runs = runs;
    assert_int_equal(lsm_close(db), 0);
    return r;
}

static void test_shapes_and_amplification(void **state)
{
    (void)state;
    /* A third under a sanitizer (LSM_TEST_SHORT): the tree still reaches
     * several levels and the comparisons below still hold. */
    long mb = th_env_long("LSM_SHAPE_MB", th_env_long("LSM_TEST_SHORT", 0) ? 16 : 48);
    char *d1 = th_tempdir("shape"), *d2 = th_tempdir("shape");
    load_result lv = run_load(d1, "leveled", mb);
    load_result ti = run_load(d2, "tiered", mb);
    fprintf(stderr,
            "amplification, %ld MB of random overwrites (16 B keys, 100 B values):\n"
            "  leveled: write %.2f, space %.2f, tables probed per get %.2f, max runs %d\n"
            "  tiered:  write %.2f, space %.2f, tables probed per get %.2f, max runs %d\n",
            mb, lv.write_amp, lv.space_amp, lv.probes_per_get, lv.max_runs, ti.write_amp,
            ti.space_amp, ti.probes_per_get, ti.max_runs);
    /* Tiered: the run bound holds (one flush of slack while compaction
     * catches up), and it rewrites less than leveled. */
    assert_true(ti.max_runs <= 8 + 2);
    /* Leveled: most bytes in the last level.  Every level above it full
     * would give 1 + 1/4 + 1/16 + ... = 1.33 (ratio 4); seen: 1.22 (48 MB),
     * 1.31 (400 MB); static targets gave 2.25 at 400 MB. */
    assert_true(lv.space_amp >= 1.0 && lv.space_amp <= 1.35);
    assert_true(ti.write_amp < lv.write_amp);
    assert_true(ti.probes_per_get >= lv.probes_per_get * 0.8);
    th_rmrf_free(d1);
    th_rmrf_free(d2);
}

/* Style switches on a live database lose nothing and converge. */
static void test_switch_converges(void **state)
{
    (void)state;
    char *dir = th_tempdir("switch");
    lsm_db *db = open_small(dir, "tiered");
    char k[17], v[64];
    const long n = 120000;
    for (long i = 0; i < n; i++) {
        snprintf(k, sizeof k, "%016ld", (i * 7919) % n);
        int vn = snprintf(v, sizeof v, "value-%ld-%0*d", (i * 7919) % n, 40, 0);
        assert_int_equal(lsm_put(db, k, 16, v, (size_t)vn, 0), 0);
        if (i == n / 2)
            assert_int_equal(lsm_set_option(db, "compaction_style", "leveled"), 0);
    }
    assert_int_equal(lsm_flush(db), 0);
    settle(db);
    check_leveled_shape(db, 4);
    assert_int_equal(lsm_set_option(db, "compaction_style", "tiered"), 0);
    assert_int_equal(lsm_compact(db, -1), 0);
    settle(db);
    assert_true(sorted_runs(db) <= 8);
    assert_int_equal(lsm_set_option(db, "compaction_style", "bogus"), -EINVAL);
    for (long i = 0; i < n; i++) {
        snprintf(k, sizeof k, "%016ld", i);
        void *got;
        size_t gn;
        assert_int_equal(lsm_get(db, NULL, k, 16, &got, &gn), 0);
        int vn = snprintf(v, sizeof v, "value-%ld-%0*d", i, 40, 0);
        assert_int_equal(gn, (size_t)vn);
        assert_memory_equal(got, v, gn);
        lsm_free(got);
    }
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes_and_amplification),
        cmocka_unit_test(test_switch_converges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
