/* test_picker_tiered.c — the tiered compaction picker
 * (engine/compaction/picker_tiered.c): sorted runs, the four triggers in
 * order, output levels, busy runs (the cases of testdata/picker_tiered.txt),
 * manual compactions; then simulations on a model tree
 * (tests/unit/picker_sim.h): a stream of flushes under the run bound and
 * space-amp bound, convergence from a leveled shape, concurrent picks. */
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

#define NKEYS 100000u /* as in picker_dd.h's runs */

static picker_options tiered_options(void)
{
    picker_options o;
    picker_options_init(&o);
    o.target_file_bytes = 50 * ENTRY_BYTES;
    o.now_unix = 1000000;
    return o;
}

static compaction *pick_ok(const picker_options *o, const version *v)
{
    return sim_pick(&picker_tiered, o, v);
}

static compaction *manual_ok(const picker_options *o, const version *v, int level)
{
    return sim_pick_manual(&picker_tiered, o, v, level);
}

/* c merges exactly runs [s, e) of b. */
static void assert_span(const compaction *c, const runspec *r, const built *b, size_t s, size_t e)
{
    size_t l0 = 0, files = 0;
    for (size_t i = 0; i < b->n; i++) {
        bool in = i >= s && i < e;
        if (r[i].level == 0) {
            assert_int_equal(compaction_has_input(c, 0, b->first[i]), in);
            l0 += in;
        } else {
            assert_int_equal(compaction_has_input(c, r[i].level, b->first[i]), in);
        }
    }
    assert_int_equal(c->ninputs[0], l0);
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        files += c->ninputs[l];
    assert_int_equal(files, c->ninput_files);
}

#define R(l, n) { l, n, false, false }
#define BUSY(l, n) { l, n, true, false }
#define OLD(l, n) { l, n, false, true }

static void test_scores_and_runs(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, NKEYS, 1);
    picker_options o = tiered_options();
    assert_int_equal(picker_tiered.sorted_runs(s.v), 0);
    assert_true(picker_tiered.level_score(&o, s.v, 0) == 0.0);
    assert_int_equal(picker_tiered.pending_bytes(&o, s.v), 0);
    int err = -1;
    assert_null(picker_tiered.pick(&o, s.v, &err));
    assert_int_equal(err, 0);
    assert_string_equal(picker_tiered.name, "tiered");

    static const runspec shape[] = { R(0, 10), R(0, 10), R(2, 1000), R(6, 1000) };
    built b;
    sim_build_runs(&s, shape, 4, &b);
    assert_int_equal(picker_tiered.sorted_runs(s.v), 4);
    assert_int_equal(picker_leveled.sorted_runs(s.v), 4);
    double sc = picker_tiered.level_score(&o, s.v, 0);
    assert_true(sc > 0.5 && sc < 1.0); /* space amp 1020/1000 of 2.0 */
    for (int l = 1; l < LSM_NUM_LEVELS; l++)
        assert_true(picker_tiered.level_score(&o, s.v, l) == 0.0);
    assert_null(pick_ok(&o, s.v));
    assert_int_equal(picker_tiered.pending_bytes(&o, s.v), 0);
    o.tiered_max_runs = 3;
    assert_true(picker_tiered.level_score(&o, s.v, 0) >= 1.0);
    compaction *c = pick_ok(&o, s.v);
    assert_int_equal(c->reason, COMPACTION_TIERED_RUNS);
    compaction_free(c);
    assert_true(picker_tiered.pending_bytes(&o, s.v) > 0);
    sim_free(&s);
}

static void test_manual(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, NKEYS, 2);
    picker_options o = tiered_options();
    int err = 0;
    assert_null(picker_tiered.pick_manual(&o, s.v, -2, &err));
    assert_int_equal(err, -EINVAL);
    assert_null(picker_tiered.pick_manual(&o, s.v, 7, &err));
    assert_int_equal(err, -EINVAL);
    assert_null(manual_ok(&o, s.v, -1));

    static const runspec shape[] = { R(0, 10), R(0, 20), R(1, 30), R(4, 500), R(6, 100) };
    built b;
    sim_build_runs(&s, shape, 5, &b);
    b.first[3]->being_compacted = true;
    assert_null(manual_ok(&o, s.v, -1)); /* busy, not done */
    assert_true(compaction_version_busy(s.v));
    b.first[3]->being_compacted = false;
    for (int level = -1; level < LSM_NUM_LEVELS; level++) {
        compaction *c = manual_ok(&o, s.v, level);
        assert_int_equal(c->reason, COMPACTION_MANUAL);
        assert_int_equal(c->output_level, 6);
        assert_span(c, shape, &b, 0, 5);
        assert_true(c->bottommost);
        compaction_free(c);
    }
    compaction *c = manual_ok(&o, s.v, -1);
    sim_apply(&s, c);
    compaction_free(c);
    sim_check_reads(&s);
    assert_int_equal(picker_tiered.sorted_runs(s.v), 1);
    /* One run at the bottom: done for the whole tree ... */
    assert_null(manual_ok(&o, s.v, -1));
    /* ... rewritten when a level is named, */
    c = manual_ok(&o, s.v, 3);
    assert_int_equal(c->output_level, 6);
    assert_int_equal(c->ninputs[6], s.v->nfiles[6]);
    compaction_free(c);
    /* and with a floor, rewritten once. */
    o.manual_floor = s.next_number;
    int steps = 0;
    while ((c = manual_ok(&o, s.v, -1)) != NULL) {
        sim_apply(&s, c);
        compaction_free(c);
        assert_true(++steps <= 1);
    }
    assert_int_equal(steps, 1);
    for (size_t i = 0; i < s.v->nfiles[6]; i++)
        assert_true(s.v->files[6][i]->number >= o.manual_floor);
    o.manual_floor = 1; /* every file at or above it: nothing to rewrite */
    assert_null(manual_ok(&o, s.v, 6));
    o.manual_floor = s.next_number;
    c = manual_ok(&o, s.v, 6);
    assert_non_null(c);
    sim_apply(&s, c);
    compaction_free(c);
    assert_null(manual_ok(&o, s.v, 6));
    assert_null(manual_ok(&o, s.v, -1));
    sim_check_reads(&s);

    /* A single run elsewhere goes to the bottom. */
    sim t;
    sim_init(&t, NKEYS, 3);
    static const runspec one[] = { R(3, 100) };
    sim_build_runs(&t, one, 1, &b);
    o.manual_floor = 0;
    c = manual_ok(&o, t.v, -1);
    assert_int_equal(c->output_level, 6);
    assert_int_equal(c->ninputs[3], 2);
    sim_apply(&t, c);
    compaction_free(c);
    assert_null(manual_ok(&o, t.v, -1));
    sim_free(&t);
    sim_free(&s);
}

/* A running compaction (of another style, after a switch) writing into
 * the output level and range blocks a merge. */
static void test_running_conflict(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, NKEYS, 4);
    static const runspec shape[] = { R(0, 10), R(0, 10), R(0, 10), R(0, 10), R(6, 10000) };
    built b;
    sim_build_runs(&s, shape, 5, &b);
    entry e[] = { { 500, 900000, 0 }, { 600, 900001, 0 } };
    file_meta *f = sim_file(&s, e, 2);
    compaction *r = compaction_new(COMPACTION_LEVEL_SIZE, "leveled", 5);
    assert_non_null(r);
    assert_int_equal(compaction_add_inputs(r, 4, &f, 1), 0);
    file_meta_unref(f);
    compaction_finish(r, s.v, 1);
    const compaction *running[] = { r };
    picker_options o = tiered_options();
    o.running = running;
    o.nrunning = 1;
    assert_null(pick_ok(&o, s.v));
    r->output_level = 4; /* elsewhere: no conflict */
    compaction *c = pick_ok(&o, s.v);
    assert_non_null(c);
    assert_int_equal(c->output_level, 5);
    assert_false(compaction_conflicts(c, running, 1));
    r->output_level = 5;
    assert_true(compaction_conflicts(c, running, 1));
    compaction_free(c);
    compaction_free(r);
    sim_free(&s);
}

/* ---- simulations ------------------------------------------------------------ */

static picker_options sim_options(void)
{
    picker_options o = tiered_options();
    o.level_base_bytes = 256 * ENTRY_BYTES; /* for the leveled side */
    o.level_size_ratio = 4;
    o.target_file_bytes = 64 * ENTRY_BYTES;
    return o;
}

/* What a settled tiered tree promises (nothing busy). */
static void assert_tiered_shape(const picker_options *o, const version *v)
{
    int runs = picker_tiered.sorted_runs(v);
    assert_true(runs <= o->tiered_max_runs);
    assert_true(picker_tiered.level_score(o, v, 0) < 1.0);
    if (runs >= 2) {
        int oldest = LSM_NUM_LEVELS - 1;
        while (oldest > 0 && !v->nfiles[oldest])
            oldest--;
        uint64_t old = oldest ? version_level_bytes(v, oldest)
                              : v->files[0][v->nfiles[0] - 1]->size;
        uint64_t newer = 0;
        for (int l = 0; l < LSM_NUM_LEVELS; l++)
            newer += version_level_bytes(v, l);
        newer -= old;
        assert_true((double)newer <= o->tiered_max_space_amp * (double)old);
    }
}

static void flush_stream(uint64_t seed, double ratio, int min_merge, int max_runs, unsigned del_every)
{
    sim s;
    sim_init(&s, 8192, seed);
    picker_options o = sim_options();
    o.tiered_size_ratio = ratio;
    o.tiered_min_merge = min_merge;
    o.tiered_max_runs = max_runs;
    for (int i = 0; i < 500; i++) {
        sim_flush(&s, 64, 0, 0, del_every);
        assert_true(picker_tiered.sorted_runs(s.v) <= max_runs + 1);
        /* score and pick agree */
        int err;
        compaction *c = picker_tiered.pick(&o, s.v, &err);
        assert_int_equal(c != NULL, picker_tiered.level_score(&o, s.v, 0) >= 1.0);
        compaction_free(c);
        sim_settle(&s, &picker_tiered, &o, 100);
        assert_tiered_shape(&o, s.v);
        if (i % 50 == 49)
            sim_check_reads(&s);
    }
    sim_check_reads(&s);
    double wamp = (double)(s.flushed + s.written) / (double)s.flushed;
    assert_true(wamp < 12.0);
    /* all runs but the oldest <= max_amp x the oldest, and the oldest holds
     * no more than every key once: the tree stays within (1 + amp) x live
     * (+ the tombstones of deleted keys) */
    uint64_t slack = (uint64_t)s.nkeys * ENTRY_BYTES / (del_every ? del_every / 2 : 1000);
    assert_true(tree_bytes(s.v) <= (uint64_t)((1 + o.tiered_max_space_amp) *
                                               (double)(live_bytes(&s) + slack)));
    sim_free(&s);
}

static void test_flush_stream(void **state)
{
    (void)state;
    uint64_t seed = th_seed();
    flush_stream(seed, 1.0, 4, 12, 16);  /* the defaults */
    flush_stream(seed, 0.01, 4, 12, 0);  /* RocksDB's size_ratio=1% */
    flush_stream(seed, 0.0, 2, 5, 16);   /* a tight run bound */
}

/* From a leveled tree (L0 files + L1..L6 each a run) to the run bound. */
static void test_from_leveled_shape(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, 8192, th_seed());
    picker_options o = sim_options();
    o.level_size_ratio = 2; /* many levels */
    o.level_base_bytes = 64 * ENTRY_BYTES;
    for (int i = 0; i < 300; i++) {
        sim_flush(&s, 64, 0, 0, 16);
        sim_settle(&s, &picker_leveled, &o, 1000);
    }
    for (int i = 0; i < 3; i++)
        sim_flush(&s, 64, 0, 0, 16);
    assert_true(picker_tiered.sorted_runs(s.v) >= 7);
    o.tiered_max_runs = 5;
    sim_settle(&s, &picker_tiered, &o, 1000);
    assert_tiered_shape(&o, s.v);
    sim_check_reads(&s);
    /* and it stays there */
    for (int i = 0; i < 100; i++) {
        sim_flush(&s, 64, 0, 0, 16);
        sim_settle(&s, &picker_tiered, &o, 100);
        assert_tiered_shape(&o, s.v);
    }
    sim_check_reads(&s);

    /* A hand-made leveled tree with sizes growing 10x per level. */
    sim t;
    sim_init(&t, NKEYS, 5);
    static const runspec shape[] = { R(0, 5), R(0, 5), R(0, 5), R(1, 10), R(2, 100), R(3, 1000),
                                     R(4, 10000), R(5, 50000), R(6, 100000) };
    built b;
    sim_build_runs(&t, shape, 9, &b);
    picker_options ot = tiered_options();
    ot.tiered_max_runs = 6;
    sim_settle(&t, &picker_tiered, &ot, 100);
    assert_tiered_shape(&ot, t.v);
    sim_check_reads(&t);
    sim_free(&t);
    sim_free(&s);
}

static void test_concurrent_picks(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, 4096, th_seed());
    picker_options o = sim_options();
    o.tiered_min_merge = 2;
    assert_true(sim_concurrent_stream(&s, &o, &picker_tiered, &picker_leveled) >= 2);
    sim_settle(&s, &picker_tiered, &o, 200);
    assert_tiered_shape(&o, s.v);
    sim_check_reads(&s);
    sim_free(&s);
}

/* The four triggers in order, output levels, busy runs:
 * testdata/picker_tiered.txt (commands in picker_dd.h). */
static void test_datadriven(void **state)
{
    (void)state;
    picker_dd_run(__FILE__, "picker_tiered.txt", &picker_tiered, tiered_options);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datadriven),
        cmocka_unit_test(test_scores_and_runs),
        cmocka_unit_test(test_manual),
        cmocka_unit_test(test_running_conflict),
        cmocka_unit_test(test_flush_stream),
        cmocka_unit_test(test_from_leveled_shape),
        cmocka_unit_test(test_concurrent_picks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
