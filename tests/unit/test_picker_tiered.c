/* test_picker_tiered.c — the tiered compaction picker
 * (engine/compaction/picker_tiered.c): sorted runs, the four triggers in
 * order, output levels, busy runs, manual compactions; then simulations on
 * a model tree (tests/unit/picker_sim.h): a stream of flushes under the run
 * bound and space-amp bound, convergence from a leveled shape, concurrent
 * picks. */
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

#include "picker_sim.h"

#define NKEYS 100000u
#define MAX_RUNS_SPEC 16

/* One sorted run of a hand-made tree, newest first. */
typedef struct runspec {
    int level;
    size_t entries;
    bool busy;    /* all its files being_compacted */
    bool expired; /* created long ago */
} runspec;

typedef struct built {
    file_meta *first[MAX_RUNS_SPEC]; /* the run's first file */
    size_t n;
} built;

/* Builds the runs oldest first, so newer runs get newer sequences; a level
 * run of more than one entry is cut into two files. */
static void build_runs(sim *s, const runspec *r, size_t n, built *out)
{
    assert_true(n <= MAX_RUNS_SPEC);
    out->n = n;
    uint64_t seq = 1;
    for (size_t i = n; i-- > 0;) {
        size_t count = r[i].entries;
        assert_true(count >= 1 && count <= NKEYS);
        entry *e = malloc(count * sizeof *e);
        assert_non_null(e);
        for (size_t j = 0; j < count; j++) {
            uint32_t k = count == 1 ? 0 : (uint32_t)((uint64_t)(NKEYS - 1) * j / (count - 1));
            e[j] = (entry){ k, seq++, false };
        }
        s->now = r[i].expired ? 1000 : 1000000;
        size_t cut = r[i].level > 0 && count > 1 ? count / 2 : count;
        uint64_t first = s->next_number;
        sim_add(s, r[i].level, e, cut);
        if (cut < count)
            sim_add(s, r[i].level, e + cut, count - cut);
        free(e);
        const version *v = s->v;
        out->first[i] = NULL;
        for (size_t j = 0; j < v->nfiles[r[i].level]; j++) {
            file_meta *f = v->files[r[i].level][j];
            if (f->number == first)
                out->first[i] = f;
            if (f->number >= first)
                f->being_compacted = r[i].busy;
        }
        assert_non_null(out->first[i]);
    }
    s->now = 1000000;
}

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

/* ---- the triggers, table-driven -------------------------------------------- */

typedef struct row {
    const char *what;
    runspec runs[MAX_RUNS_SPEC];
    size_t nruns;
    double ratio, amp;          /* 0: defaults (1.0, 2.0) */
    int min_merge, max_runs;    /* 0: defaults (4, 12) */
    uint64_t periodic;
    bool none;                  /* expect NULL */
    size_t s, e;                /* expected span */
    enum compaction_reason reason;
    int out;
} row;

#define R(l, n) { l, n, false, false }
#define BUSY(l, n) { l, n, true, false }
#define OLD(l, n) { l, n, false, true }

static const row rows[] = {
    { "four similar L0 files above a big L6: next to it", { R(0, 10), R(0, 10), R(0, 10), R(0, 10), R(6, 10000) }, 5,
      0, 0, 0, 0, 0, false, 0, 4, COMPACTION_TIERED_SIZE_RATIO, 5 },
    { "three: below min_merge", { R(0, 10), R(0, 10), R(0, 10), R(6, 10000) }, 4,
      0, 0, 0, 0, 0, true, 0, 0, 0, 0 },
    { "a level joins: output below the oldest merged", { R(0, 10), R(0, 10), R(0, 10), R(0, 10), R(0, 10), R(1, 45), R(6, 10000) }, 7,
      0, 0, 0, 0, 0, false, 0, 6, COMPACTION_TIERED_SIZE_RATIO, 5 },
    { "the newest is too small: start from the next", { R(0, 10), R(0, 100), R(0, 100), R(0, 100), R(0, 100), R(6, 100000) }, 6,
      0, 0, 0, 0, 0, false, 1, 5, COMPACTION_TIERED_SIZE_RATIO, 5 },
    { "next older run an L0 file: L0", { R(0, 10), R(0, 10), R(0, 10), R(0, 10), R(0, 1000), R(6, 100000) }, 6,
      0, 0, 0, 0, 0, false, 0, 4, COMPACTION_TIERED_SIZE_RATIO, 0 },
    { "next older run L1: L0", { R(0, 10), R(0, 10), R(0, 10), R(0, 10), R(1, 1000), R(6, 100000) }, 6,
      0, 0, 0, 0, 0, false, 0, 4, COMPACTION_TIERED_SIZE_RATIO, 0 },
    { "next older run L3: L2", { R(0, 10), R(0, 10), R(0, 10), R(0, 10), R(3, 1000), R(6, 100000) }, 6,
      0, 0, 0, 0, 0, false, 0, 4, COMPACTION_TIERED_SIZE_RATIO, 2 },
    { "no older run: the bottom", { R(0, 10), R(0, 10), R(0, 10), R(0, 10) }, 4,
      0, 100, 0, 0, 0, false, 0, 4, COMPACTION_TIERED_SIZE_RATIO, 6 },
    { "ratio 0.01: a run twice the set stays out", { R(0, 10), R(0, 10), R(0, 10), R(0, 10), R(2, 60), R(6, 100000) }, 6,
      0.01, 0, 0, 0, 0, false, 0, 4, COMPACTION_TIERED_SIZE_RATIO, 1 },
    { "ratio 1: the same run joins", { R(0, 10), R(0, 10), R(0, 10), R(0, 10), R(2, 60), R(6, 100000) }, 6,
      1.0, 0, 0, 0, 0, false, 0, 5, COMPACTION_TIERED_SIZE_RATIO, 5 },
    { "min_merge 2", { R(0, 10), R(0, 10), R(6, 10000) }, 3,
      0, 0, 2, 0, 0, false, 0, 2, COMPACTION_TIERED_SIZE_RATIO, 5 },
    { "a busy run splits the candidates", { R(0, 10), R(0, 10), BUSY(0, 10), R(0, 10), R(0, 10), R(0, 10), R(0, 10), R(6, 100000) }, 8,
      0, 0, 0, 0, 0, false, 3, 7, COMPACTION_TIERED_SIZE_RATIO, 5 },
    { "four L0 files over a smaller L6: space amp first", { R(0, 10), R(0, 10), R(0, 10), R(0, 10) }, 4,
      0, 0, 0, 0, 0, false, 0, 4, COMPACTION_SPACE_AMP, 6 },
    { "space amp over levels", { R(0, 10), R(2, 100), R(6, 20) }, 3,
      0, 0, 0, 0, 0, false, 0, 3, COMPACTION_SPACE_AMP, 6 },
    { "space amp at the limit: not due", { R(0, 10), R(2, 30), R(6, 20) }, 3,
      0, 0, 0, 0, 0, true, 0, 0, 0, 0 },
    { "space amp from below a busy run", { BUSY(0, 10), R(2, 100), R(6, 20) }, 3,
      0, 0, 0, 0, 0, false, 1, 3, COMPACTION_SPACE_AMP, 6 },
    { "space amp with the oldest busy: nothing", { R(0, 10), R(2, 100), BUSY(6, 20) }, 3,
      0, 0, 0, 0, 0, true, 0, 0, 0, 0 },
    { "13 runs of growing size: the newest 4", { R(0, 1), R(0, 3), R(0, 8), R(0, 20), R(0, 50), R(0, 125), R(0, 313), R(1, 782), R(2, 1954), R(3, 4883), R(4, 12207), R(5, 30518), R(6, 76294) }, 13,
      0, 0, 0, 0, 0, false, 0, 4, COMPACTION_TIERED_RUNS, 0 },
    { "16 runs: the newest 5", { R(0, 1), R(0, 3), R(0, 5), R(0, 10), R(0, 20), R(0, 41), R(0, 86), R(0, 180), R(0, 378), R(0, 794), R(1, 1668), R(2, 3502), R(3, 7355), R(4, 15445), R(5, 32434), R(6, 68112) }, 16,
      0.01, 0, 0, 0, 0, false, 0, 5, COMPACTION_TIERED_RUNS, 0 },
    { "run count skips a busy newest run", { BUSY(0, 1), R(0, 3), R(0, 8), R(0, 20), R(0, 50), R(0, 125), R(0, 313), R(1, 782), R(2, 1954), R(3, 4883), R(4, 12207), R(5, 30518), R(6, 76294) }, 13,
      0, 0, 0, 0, 0, false, 1, 5, COMPACTION_TIERED_RUNS, 0 },
    { "max_runs 3", { R(0, 1), R(0, 3), R(2, 8), R(6, 100) }, 4,
      0, 0, 2, 3, 0, false, 0, 2, COMPACTION_TIERED_RUNS, 1 },
    { "periodic: the expired run through the oldest", { R(0, 10), OLD(3, 100), R(6, 1000) }, 3,
      0, 0, 0, 0, 1000, false, 1, 3, COMPACTION_PERIODIC, 6 },
    { "periodic: the oldest alone, in place", { R(0, 10), R(3, 100), OLD(6, 1000) }, 3,
      0, 0, 0, 0, 1000, false, 2, 3, COMPACTION_PERIODIC, 6 },
    { "periodic: an expired L0 file alone goes to the bottom", { OLD(0, 10) }, 1,
      0, 0, 0, 0, 1000, false, 0, 1, COMPACTION_PERIODIC, 6 },
    { "periodic off", { R(0, 10), OLD(3, 100), R(6, 1000) }, 3,
      0, 0, 0, 0, 0, true, 0, 0, 0, 0 },
    { "periodic blocked by a busy older run", { OLD(0, 10), R(3, 100), BUSY(6, 1000) }, 3,
      0, 0, 0, 0, 1000, true, 0, 0, 0, 0 },
};

static void test_triggers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *r = &rows[i];
        sim s;
        sim_init(&s, NKEYS, i + 1);
        built b;
        build_runs(&s, r->runs, r->nruns, &b);
        picker_options o = tiered_options();
        if (r->ratio)
            o.tiered_size_ratio = r->ratio;
        if (r->amp)
            o.tiered_max_space_amp = r->amp;
        if (r->min_merge)
            o.tiered_min_merge = r->min_merge;
        if (r->max_runs)
            o.tiered_max_runs = r->max_runs;
        o.periodic_compaction_seconds = r->periodic;
        assert_int_equal(picker_tiered.sorted_runs(s.v), (int)r->nruns);
        compaction *c = pick_ok(&o, s.v);
        if (r->none) {
            if (c)
                fail_msg("%s: picked %s", r->what, compaction_reason_name(c->reason));
            sim_free(&s);
            continue;
        }
        if (!c)
            fail_msg("%s: nothing picked", r->what);
        if (c->reason != r->reason || c->output_level != r->out)
            fail_msg("%s: %s to L%d", r->what, compaction_reason_name(c->reason), c->output_level);
        assert_string_equal(c->style, "tiered");
        assert_span(c, r->runs, &b, r->s, r->e);
        assert_false(c->trivial_move);
        assert_int_equal(c->target_file_bytes, c->output_level ? o.target_file_bytes : 0);
        bool any_busy = false;
        for (size_t j = 0; j < r->nruns; j++)
            any_busy |= r->runs[j].busy;
        if (!any_busy)
            assert_true(picker_tiered.level_score(&o, s.v, 0) >= 1.0);
        assert_true(picker_tiered.pending_bytes(&o, s.v) > 0);
        /* apply it: the model tree stays readable */
        for (int l = 0; l < LSM_NUM_LEVELS; l++)
            for (size_t j = 0; j < s.v->nfiles[l]; j++)
                s.v->files[l][j]->being_compacted = false;
        sim_apply(&s, c);
        compaction_free(c);
        sim_check_reads(&s);
        sim_free(&s);
    }
}

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
    build_runs(&s, shape, 4, &b);
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
    build_runs(&s, shape, 5, &b);
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
    build_runs(&t, one, 1, &b);
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
    build_runs(&s, shape, 5, &b);
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
    build_runs(&t, shape, 9, &b);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_triggers),
        cmocka_unit_test(test_scores_and_runs),
        cmocka_unit_test(test_manual),
        cmocka_unit_test(test_running_conflict),
        cmocka_unit_test(test_flush_stream),
        cmocka_unit_test(test_from_leveled_shape),
        cmocka_unit_test(test_concurrent_picks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
