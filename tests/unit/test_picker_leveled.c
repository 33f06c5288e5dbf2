/* test_picker_leveled.c — the leveled compaction picker
 * (engine/compaction/picker_leveled.c) and the shared compaction
 * description (compaction/compaction.c): dynamic level targets, scores,
 * L0 -> base, the overlap-ratio choice, trivial moves, user-key-clean
 * boundaries, busy files, running-compaction conflicts, bottommost, periodic
 * and manual compactions, draining levels above the base, on hand-built
 * trees, most of them the cases of testdata/picker_leveled.txt.
 * Simulations on a model tree are in test_picker_leveled_sim.c. */
#include "helpers.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compaction/compaction.h"
#include "compaction/compaction_picker.h"
#include "base/dbformat.h"
#include "version/version.h"
#include "version/version_edit.h"

#include "picker_dd.h"

/* Options scaled to the model: L1 target 100 entries, ratio 10, outputs of
 * 50 entries. */
static picker_options small_options(void)
{
    picker_options o;
    picker_options_init(&o);
    o.level_base_bytes = 100 * ENTRY_BYTES;
    o.target_file_bytes = 50 * ENTRY_BYTES;
    return o;
}

static compaction *pick_ok(const picker_options *o, const version *v)
{
    return sim_pick(&picker_leveled, o, v);
}

static compaction *manual_ok(const picker_options *o, const version *v, int level)
{
    return sim_pick_manual(&picker_leveled, o, v, level);
}

static void assert_inputs(const compaction *c, int level, file_meta *const *want, size_t n)
{
    assert_int_equal(c->ninputs[level], n);
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(c->inputs[level][i], want[i]);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_defaults_and_names(void **state)
{
    (void)state;
    picker_options o;
    memset(&o, 0x5a, sizeof o);
    picker_options_init(&o);
    assert_int_equal(o.l0_compaction_trigger, 4);
    assert_true(o.level_size_ratio == 10.0);
    assert_int_equal(o.level_base_bytes, 256u << 20);
    assert_int_equal(o.target_file_bytes, 64u << 20);
    assert_true(o.tiered_size_ratio == 1.0);
    assert_int_equal(o.tiered_min_merge, 4);
    assert_int_equal(o.tiered_max_runs, 12);
    assert_true(o.tiered_max_space_amp == 2.0);
    assert_int_equal(o.periodic_compaction_seconds, 0);
    assert_null(o.running);
    assert_int_equal(o.nrunning, 0);
    assert_int_equal(o.manual_floor, 0);

    static const struct { enum compaction_reason r; const char *name; } names[] = {
        { COMPACTION_L0_FILES, "l0_files" },
        { COMPACTION_LEVEL_SIZE, "level_size" },
        { COMPACTION_TIERED_SIZE_RATIO, "tiered_size_ratio" },
        { COMPACTION_TIERED_RUNS, "tiered_runs" },
        { COMPACTION_SPACE_AMP, "space_amp" },
        { COMPACTION_PERIODIC, "periodic" },
        { COMPACTION_MANUAL, "manual" },
        { (enum compaction_reason)99, "unknown" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_string_equal(compaction_reason_name(names[i].r), names[i].name);

    assert_ptr_equal(compaction_picker_find("leveled"), &picker_leveled);
    assert_ptr_equal(compaction_picker_find("tiered"), &picker_tiered);
    assert_null(compaction_picker_find("universal"));
    assert_null(compaction_picker_find(NULL));
    assert_string_equal(picker_leveled.name, "leveled");

    compaction_free(NULL); /* allowed */
    sim s;
    sim_init(&s, 100, 1);
    assert_int_equal(picker_leveled.sorted_runs(s.v), 0);
    int err = -1;
    o = small_options();
    assert_null(picker_leveled.pick(&o, s.v, &err));
    assert_int_equal(err, 0);
    assert_int_equal(picker_leveled.pending_bytes(&o, s.v), 0);
    sim_free(&s);
}

/* Dynamic targets for shapes given as entries per level L1..L6 (the model's
 * entries are ENTRY_BYTES each); small_options: base 100, ratio 10. */
static void test_level_targets(void **state)
{
    (void)state;
    static const struct {
        double ratio;
        size_t n[LSM_NUM_LEVELS];   /* entries at L1..L6 (n[0] unused) */
        int base, needed, used;
        uint64_t want[LSM_NUM_LEVELS]; /* entries; targets of L1..L6 */
    } rows[] = {
        /* empty: L0 compacts straight into L6 */
        { 10, { 0 }, 6, 6, 7, { 0 } },
        /* a small tree: one level in use */
        { 10, { 0, 0, 0, 0, 0, 0, 60 }, 6, 6, 6, { 0, 0, 0, 0, 0, 0, 60 } },
        { 10, { 0, 0, 0, 0, 0, 0, 100 }, 6, 6, 6, { 0, 0, 0, 0, 0, 0, 100 } },
        /* L6 over the base: L5 joins with 1/10 of it */
        { 10, { 0, 0, 0, 0, 0, 0, 110 }, 5, 5, 6, { 0, 0, 0, 0, 0, 11, 110 } },
        { 10, { 0, 0, 0, 0, 0, 30, 5000 }, 4, 4, 5, { 0, 0, 0, 0, 50, 500, 5000 } },
        /* the largest level sets L6's target even when it is not L6 */
        { 10, { 0, 0, 0, 3000, 0, 0, 0 }, 3, 4, 3, { 0, 0, 0, 0, 30, 300, 3000 } },
        /* data above the needed levels: L0 goes there (drained) */
        { 10, { 0, 20, 0, 0, 0, 0, 5000 }, 1, 4, 1, { 0, 0, 0, 0, 50, 500, 5000 } },
        /* ratio 4, and ratios < 1 acting as 1 (every level the same) */
        { 4, { 0, 0, 0, 0, 0, 0, 1600 }, 4, 4, 6, { 0, 0, 0, 0, 100, 400, 1600 } },
        { 4, { 0, 0, 0, 0, 0, 0, 1664 }, 3, 3, 6, { 0, 0, 0, 26, 104, 416, 1664 } },
        { 0.5, { 0, 0, 0, 0, 0, 0, 150 }, 1, 1, 6, { 0, 150, 150, 150, 150, 150, 150 } },
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        picker_options o = small_options();
        o.level_size_ratio = rows[r].ratio;
        sim s;
        sim_init(&s, 10000, r + 1);
        for (int l = 1; l < LSM_NUM_LEVELS; l++)
            if (rows[r].n[l])
                sim_put(&s, l, 0, 9999, rows[r].n[l], (uint64_t)(LSM_NUM_LEVELS - l) * 10000);
        level_targets t;
        memset(&t, 0x5a, sizeof t);
        picker_level_targets(&o, s.v, &t);
        assert_int_equal(t.base_level, rows[r].base);
        assert_int_equal(t.first_needed, rows[r].needed);
        assert_int_equal(t.first_used, rows[r].used);
        assert_int_equal(t.bytes[0], 0);
        for (int l = 1; l < LSM_NUM_LEVELS; l++)
            if (t.bytes[l] != rows[r].want[l] * ENTRY_BYTES)
                fail_msg("row %zu: L%d target %llu, want %zu entries", r, l,
                         (unsigned long long)t.bytes[l], (size_t)rows[r].want[l]);
        sim_free(&s);
    }
}

/* Scores for shapes given as entries per level (L0: a file count);
 * small_options: base 100, ratio 10. */
static void test_scores(void **state)
{
    (void)state;
    static const struct {
        size_t n[LSM_NUM_LEVELS];
        double want[LSM_NUM_LEVELS - 1]; /* L0 .. L5 */
    } rows[] = {
        { { 0 }, { 0 } },
        /* targets L5 50, L6 500 */
        { { 3, 0, 0, 0, 0, 40, 500 }, { 0.75, 0, 0, 0, 0, 0.8 } },
        /* targets L4 50, L5 500, L6 5000 */
        { { 4, 0, 0, 0, 100, 499, 5000 }, { 1.0, 0, 0, 0, 2.0, 0.998 } },
        /* L1 should be empty: drained, the more urgently the more it holds
         * (against base / ratio = 10 entries), at least 1 */
        { { 0, 30, 0, 0, 0, 0, 500 }, { 0, 3.0 } },
        { { 2, 5, 0, 0, 0, 0, 500 }, { 0.5, 1.0 } },
        /* the last level never compacts down */
        { { 8, 0, 0, 0, 0, 0, 5000 }, { 2.0 } },
    };
    picker_options o = small_options();
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        sim s;
        sim_init(&s, 10000, r + 1);
        for (int l = LSM_NUM_LEVELS - 1; l >= 1; l--)
            if (rows[r].n[l])
                sim_put(&s, l, 0, 9999, rows[r].n[l], (uint64_t)(LSM_NUM_LEVELS - l) * 10000);
        for (size_t i = 0; i < rows[r].n[0]; i++)
            sim_put(&s, 0, 0, 9999, 10, 300000 + i * 100);
        bool due = false;
        for (int l = 0; l < LSM_NUM_LEVELS - 1; l++) {
            double got = picker_leveled.level_score(&o, s.v, l);
            if (got < rows[r].want[l] - 1e-9 || got > rows[r].want[l] + 1e-9)
                fail_msg("row %zu: L%d score %f, want %f", r, l, got, rows[r].want[l]);
            due |= got >= 1.0;
        }
        assert_true(picker_leveled.level_score(&o, s.v, 6) == 0.0); /* never compacts down */
        assert_true(picker_leveled.level_score(&o, s.v, -1) == 0.0);
        assert_true(picker_leveled.level_score(&o, s.v, 7) == 0.0);
        int runs = (int)rows[r].n[0];
        for (int l = 1; l < LSM_NUM_LEVELS; l++)
            runs += rows[r].n[l] > 0;
        assert_int_equal(picker_leveled.sorted_runs(s.v), runs);
        assert_int_equal(picker_leveled.pending_bytes(&o, s.v) > 0, due);
        compaction *c = pick_ok(&o, s.v);
        assert_int_equal(c != NULL, due);
        compaction_free(c);
        sim_free(&s);
    }
}

/* Refusals and an empty tree; the manual compactions themselves are in
 * testdata/picker_leveled.txt. */
static void test_manual_refusals(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, 3000, 10);
    picker_options o = small_options();
    int err = 0;
    assert_null(picker_leveled.pick_manual(&o, s.v, -2, &err));
    assert_int_equal(err, -EINVAL);
    assert_null(picker_leveled.pick_manual(&o, s.v, LSM_NUM_LEVELS, &err));
    assert_int_equal(err, -EINVAL);
    assert_null(manual_ok(&o, s.v, -1)); /* empty tree */
    sim_free(&s);
}

/* A running compaction writing into the same level and range blocks a
 * pick (needed across a style switch, when busy flags do not say where a
 * running compaction writes). */
static void test_running_conflict(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, 1000, 12);
    picker_options o = small_options();
    file_meta *a = sim_put(&s, 1, 0, 99, 60, 100);
    file_meta *b = sim_put(&s, 1, 300, 399, 60, 200);
    /* Elsewhere, a (tiered) compaction of L0 files writing into L2. */
    entry e[] = { { 50, 1000, 0 }, { 150, 1001, 0 } };
    file_meta *f = sim_file(&s, e, 2);
    compaction *r = compaction_new(COMPACTION_TIERED_RUNS, "tiered", 2);
    assert_non_null(r);
    assert_int_equal(compaction_add_inputs(r, 0, &f, 1), 0);
    file_meta_unref(f);
    compaction_finish(r, s.v, 1);
    const compaction *running[] = { r };
    o.running = running;
    o.nrunning = 1;
    compaction *c = pick_ok(&o, s.v);
    assert_inputs(c, 1, &b, 1);
    assert_true(compaction_conflicts(r, running, 0) == false);
    compaction_free(c);
    o.nrunning = 0;
    c = pick_ok(&o, s.v);
    assert_inputs(c, 1, &a, 1); /* first of equal ratios */
    assert_true(compaction_conflicts(c, running, 1));
    compaction_free(c);
    compaction_free(r);
    sim_free(&s);
}

/* L0 -> base, the overlap-ratio choice, trivial moves, user-key-clean
 * boundaries, busy files, bottommost, periodic and manual compactions:
 * testdata/picker_leveled.txt (commands in picker_dd.h). */
static void test_datadriven(void **state)
{
    (void)state;
    picker_dd_run(__FILE__, "picker_leveled.txt", &picker_leveled, small_options);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_names),
        cmocka_unit_test(test_level_targets),
        cmocka_unit_test(test_scores),
        cmocka_unit_test(test_datadriven),
        cmocka_unit_test(test_manual_refusals),
        cmocka_unit_test(test_running_conflict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
