/* test_picker_leveled.c — the leveled compaction picker
 * (engine/compaction/picker_leveled.c) and the shared compaction
 * description (compaction/compaction.c): dynamic level targets, scores,
 * L0 -> base, the overlap-ratio choice, trivial moves, user-key-clean
 * boundaries, busy files, running-compaction conflicts, bottommost, periodic
 * and manual compactions, draining levels above the base, on hand-built
 * trees.  Simulations on a model tree are in test_picker_leveled_sim.c. */
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


/* ---- building shapes by hand ---------------------------------------------- */

/* A file at level holding count keys spread evenly over [lo, hi], with
 * sequences from seq up; returns it (the version holds it). */
static file_meta *put(sim *s, int level, uint32_t lo, uint32_t hi, size_t count, uint64_t seq)
{
    assert_true(count >= 1 && count <= (size_t)(hi - lo) + 1);
    entry *e = malloc(count * sizeof *e);
    assert_non_null(e);
    for (size_t i = 0; i < count; i++) {
        uint32_t k = count == 1 ? lo : lo + (uint32_t)((uint64_t)(hi - lo) * i / (count - 1));
        e[i] = (entry){ k, seq + i, false };
    }
    uint64_t number = s->next_number;
    sim_add(s, level, e, count);
    free(e);
    for (size_t i = 0; i < s->v->nfiles[level]; i++)
        if (s->v->files[level][i]->number == number)
            return s->v->files[level][i];
    fail_msg("file %llu not found", (unsigned long long)number);
    return NULL;
}

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

/* A file at L6 holding the last key of the model, as big as
 * level_base_bytes x ratio^5: with it the dynamic targets are the static
 * ones the hand-made shapes below are written against (L1 = base, x ratio
 * per level).  Never periodic (unknown age); keep it out of key ranges
 * that compact into L6 (sim_apply would shrink it to one entry). */
static void ballast_fit(const sim *s, file_meta *f, const picker_options *o)
{
    double size = (double)o->level_base_bytes;
    for (int i = 0; i < 5; i++)
        size *= o->level_size_ratio;
    f->size = (uint64_t)size;
    level_targets t;
    picker_level_targets(o, s->v, &t);
    assert_int_equal(t.first_needed, 1);
    assert_int_equal(t.bytes[1], o->level_base_bytes);
}

static file_meta *ballast(sim *s, const picker_options *o)
{
    uint64_t now = s->now;
    s->now = 0;
    file_meta *f = put(s, 6, s->nkeys - 1, s->nkeys - 1, 1, 1);
    s->now = now;
    ballast_fit(s, f, o);
    return f;
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
                put(&s, l, 0, 9999, rows[r].n[l], (uint64_t)(LSM_NUM_LEVELS - l) * 10000);
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
                put(&s, l, 0, 9999, rows[r].n[l], (uint64_t)(LSM_NUM_LEVELS - l) * 10000);
        for (size_t i = 0; i < rows[r].n[0]; i++)
            put(&s, 0, 0, 9999, 10, 300000 + i * 100);
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

static void test_l0_to_l1(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, 1001, 2);
    picker_options o = small_options();
    o.level_base_bytes = 1000 * ENTRY_BYTES; /* only L0 is due */
    file_meta *big = ballast(&s, &o);
    file_meta *l1[5] = {
        put(&s, 1, 0, 40, 5, 100), put(&s, 1, 60, 90, 5, 110), put(&s, 1, 210, 260, 5, 120),
        put(&s, 1, 280, 350, 5, 130), put(&s, 1, 600, 700, 5, 140),
    };
    file_meta *l0[4];
    l0[3] = put(&s, 0, 100, 200, 10, 1000);
    l0[2] = put(&s, 0, 150, 300, 10, 1100);
    l0[1] = put(&s, 0, 50, 120, 10, 1200);
    assert_null(pick_ok(&o, s.v)); /* 3 < trigger */
    l0[0] = put(&s, 0, 400, 500, 10, 1300);

    compaction *c = pick_ok(&o, s.v);
    assert_non_null(c);
    assert_int_equal(c->reason, COMPACTION_L0_FILES);
    assert_string_equal(c->style, "leveled");
    assert_int_equal(c->output_level, 1);
    assert_false(c->trivial_move);
    assert_true(c->bottommost);
    assert_int_equal(c->target_file_bytes, o.target_file_bytes);
    assert_inputs(c, 0, l0, 4); /* newest first */
    assert_inputs(c, 1, l1 + 1, 3);
    assert_int_equal(c->input_bytes, (40 + 15) * ENTRY_BYTES);
    assert_int_equal(ikey_seq(c->smallest), 1200); /* k50 from the third L0 file */
    assert_int_equal(c->min_seq, 110);
    assert_int_equal(c->max_seq, 1309);
    compaction_free(c);

    /* Something older below the range: not bottommost. */
    put(&s, 3, 500, 510, 2, 1);
    c = pick_ok(&o, s.v);
    assert_false(c->bottommost);
    compaction_free(c);

    /* One busy L0 file: nothing from L0 (an older one left behind would sit
     * above newer data). */
    l0[2]->being_compacted = true;
    assert_null(pick_ok(&o, s.v));
    assert_true(compaction_version_busy(s.v));
    assert_true(picker_leveled.level_score(&o, s.v, 0) < 1.0);
    l0[2]->being_compacted = false;
    /* An L1 file it needs is busy: nothing either. */
    l1[3]->being_compacted = true;
    assert_null(pick_ok(&o, s.v));
    /* ... but then a level that is due goes instead (L1: 25 entries of
     * 10, before L2: 150 of 100). */
    put(&s, 2, 800, 999, 150, 50);
    o.level_base_bytes = 10 * ENTRY_BYTES;
    ballast_fit(&s, big, &o);
    c = pick_ok(&o, s.v);
    assert_non_null(c);
    assert_int_equal(c->output_level, 2);
    assert_int_equal(c->ninputs[1], 1);
    assert_ptr_not_equal(c->inputs[1][0], l1[3]);
    l1[3]->being_compacted = false;
    compaction_free(c);

    /* A single L0 file overlapping nothing below moves. */
    sim t;
    sim_init(&t, 1000, 3);
    o = small_options();
    o.l0_compaction_trigger = 1;
    put(&t, 1, 0, 10, 2, 1);
    file_meta *f = put(&t, 0, 20, 30, 5, 100);
    c = pick_ok(&o, t.v);
    assert_true(c->trivial_move);
    assert_inputs(c, 0, &f, 1);
    assert_int_equal(c->output_level, 1);
    sim_apply(&t, c);
    compaction_free(c);
    assert_int_equal(t.v->nfiles[1], 2);
    assert_ptr_equal(t.v->files[1][1], f);
    sim_check_reads(&t);
    sim_free(&t);
    sim_free(&s);

    /* L0 goes into the base level: L6 in a small tree, else the
     * shallowest level needed (L4 for 5000 entries, empty), never below
     * data (the L5 that should be empty and drains after it: its score
     * 1.0 ties with L0's, the shallower goes first). */
    static const struct { size_t l5, l6; int out; } bases[] = {
        { 0, 0, 6 }, { 0, 60, 6 }, { 0, 5000, 4 }, { 5, 60, 5 },
    };
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        sim u;
        sim_init(&u, 10000, 30 + i);
        o = small_options();
        if (bases[i].l6)
            put(&u, 6, 0, 9999, bases[i].l6, 1);
        if (bases[i].l5)
            put(&u, 5, 0, 9999, bases[i].l5, 10000);
        for (int k = 0; k < 4; k++)
            put(&u, 0, 100 * (uint32_t)k, 100 * (uint32_t)k + 150, 10, 20000 + 100 * (uint64_t)k);
        c = pick_ok(&o, u.v);
        assert_non_null(c);
        assert_int_equal(c->reason, COMPACTION_L0_FILES);
        assert_int_equal(c->output_level, bases[i].out);
        assert_int_equal(c->ninputs[0], 4);
        sim_apply(&u, c);
        compaction_free(c);
        sim_check_reads(&u);
        c = manual_ok(&o, u.v, 0); /* manual: the same place */
        assert_null(c);
        put(&u, 0, 0, 10, 5, 30000);
        c = manual_ok(&o, u.v, 0);
        assert_int_equal(c->output_level, bases[i].out);
        compaction_free(c);
        sim_free(&u);
    }
}

/* Ln -> Ln+1 takes the group that rewrites the fewest Ln+1 bytes per byte. */
static void test_min_overlap_ratio(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, 1000, 4);
    picker_options o = small_options();
    o.level_base_bytes = 50 * ENTRY_BYTES; /* still due with two busy */
    ballast(&s, &o);
    /* L2: A's range costs 100 entries, B's 10, C's 40. */
    file_meta *a2[2] = { put(&s, 2, 0, 60, 50, 1), put(&s, 2, 61, 99, 39, 100) };
    file_meta *b2 = put(&s, 2, 200, 299, 10, 200);
    file_meta *c2 = put(&s, 2, 400, 499, 40, 300);
    file_meta *a = put(&s, 1, 0, 99, 60, 1000);
    file_meta *b = put(&s, 1, 200, 299, 30, 2000); /* ratio 10/30 */
    file_meta *cc = put(&s, 1, 400, 499, 60, 3000); /* ratio 40/60 */
    (void)a2;
    compaction *c = pick_ok(&o, s.v);
    assert_int_equal(c->reason, COMPACTION_LEVEL_SIZE);
    assert_int_equal(c->output_level, 2);
    assert_inputs(c, 1, &b, 1);
    assert_inputs(c, 2, &b2, 1);
    assert_false(c->trivial_move);
    compaction_free(c);

    /* Its L2 file busy: the next best. */
    b2->being_compacted = true;
    c = pick_ok(&o, s.v);
    assert_inputs(c, 1, &cc, 1);
    assert_inputs(c, 2, &c2, 1);
    compaction_free(c);
    /* Both busy: A, with the two files it overlaps. */
    cc->being_compacted = true;
    c = pick_ok(&o, s.v);
    assert_inputs(c, 1, &a, 1);
    assert_int_equal(c->ninputs[2], 2);
    compaction_free(c);
    a->being_compacted = true;
    assert_null(pick_ok(&o, s.v));
    b2->being_compacted = cc->being_compacted = a->being_compacted = false;

    /* A group with nothing below moves by a MANIFEST edit. */
    file_meta *d = put(&s, 1, 600, 650, 5, 4000);
    c = pick_ok(&o, s.v);
    assert_true(c->trivial_move);
    assert_inputs(c, 1, &d, 1);
    assert_int_equal(c->output_level, 2);
    assert_int_equal(c->ninputs[2], 0);
    sim_apply(&s, c);
    compaction_free(c);
    sim_check_reads(&s);
    sim_free(&s);
}

/* No user key split between an input and a file left behind, in either
 * level; a group whose expansion needs a busy file is not picked. */
static void test_user_key_boundaries(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, 1000, 5);
    picker_options o = small_options();
    o.level_base_bytes = 2 * ENTRY_BYTES;
    ballast(&s, &o);
    /* L2 (older): Y [12..22], Z [25..33@50], Q [33@40..40], R [65..66] */
    const entry y[] = { { 12, 1, 0 }, { 22, 2, 0 } };
    const entry z[] = { { 25, 10, 0 }, { 33, 50, 0 } };
    const entry q[] = { { 33, 40, 0 }, { 40, 41, 0 } };
    const entry r[] = { { 65, 60, 0 }, { 66, 61, 0 } };
    /* L1 (newer): A [10..20@250], B [20@240..30], C [60..70] */
    const entry a[] = { { 10, 200, 0 }, { 15, 201, 0 }, { 20, 250, 0 } };
    const entry b[] = { { 20, 240, 0 }, { 25, 241, 0 }, { 30, 242, 0 } };
    const entry cc[] = { { 60, 300, 0 }, { 61, 301, 0 }, { 70, 302, 0 }, { 71, 303, 0 },
                         { 72, 304, 0 }, { 73, 305, 0 } };
    sim_add(&s, 2, y, 2);
    sim_add(&s, 2, z, 2);
    sim_add(&s, 2, q, 2);
    sim_add(&s, 2, r, 2);
    sim_add(&s, 1, a, 3);
    sim_add(&s, 1, b, 3);
    sim_add(&s, 1, cc, 6);
    file_meta **L1 = s.v->files[1], **L2 = s.v->files[2];
    assert_int_equal(s.v->nfiles[1], 3);

    /* compaction_clean_cut / compaction_level_overlaps */
    size_t first = 0, end = 1;
    compaction_clean_cut(s.v, 1, &first, &end);
    assert_int_equal(first, 0);
    assert_int_equal(end, 2);
    first = 1, end = 2;
    compaction_clean_cut(s.v, 1, &first, &end);
    assert_int_equal(first, 0);
    assert_int_equal(end, 2);
    static const struct { uint32_t lo, hi; size_t first, end; } ov[] = {
        { 0, 11, 0, 0 },  { 0, 12, 0, 1 }, { 23, 24, 1, 1 }, { 23, 25, 1, 3 },
        { 34, 50, 1, 3 }, { 41, 64, 3, 3 }, { 0, 999, 0, 4 }, { 66, 99, 3, 4 },
    };
    for (size_t i = 0; i < sizeof ov / sizeof ov[0]; i++) {
        char lo[16], hi[16];
        ukey(lo, ov[i].lo);
        ukey(hi, ov[i].hi);
        compaction_level_overlaps(s.v, 2, slice_make(lo, 9), slice_make(hi, 9), &first, &end);
        assert_int_equal(first, ov[i].first);
        assert_int_equal(end, ov[i].end);
    }

    /* C busy: the {A, B} group (k20 is in both) with Y, Z and Q (Q shares
     * k33 with Z although it starts after the range). */
    L1[2]->being_compacted = true;
    compaction *c = pick_ok(&o, s.v);
    assert_non_null(c);
    assert_inputs(c, 1, L1, 2);
    assert_inputs(c, 2, L2, 3);
    compaction_free(c);
    /* Q busy: the group cannot go. */
    L2[2]->being_compacted = true;
    assert_null(pick_ok(&o, s.v));
    L2[2]->being_compacted = false;
    /* B busy: A alone would split k20, so nothing. */
    L1[1]->being_compacted = true;
    assert_null(pick_ok(&o, s.v));
    L1[1]->being_compacted = false;
    L1[2]->being_compacted = false;

    /* Manual of level 1: everything of L1 and all of L2 it meets. */
    c = manual_ok(&o, s.v, 1);
    assert_int_equal(c->reason, COMPACTION_MANUAL);
    assert_inputs(c, 1, L1, 3);
    assert_inputs(c, 2, L2, 4);
    compaction_free(c);

    /* Settle and read everything back. */
    sim_settle(&s, &picker_leveled, &o, 100);
    sim_check_reads(&s);
    sim_free(&s);
}

static void test_last_level_and_bottommost(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, 10000, 6);
    picker_options o = small_options();
    put(&s, 6, 0, 9999, 5000, 1); /* far over any target */
    assert_true(picker_leveled.level_score(&o, s.v, 6) == 0.0);
    assert_null(pick_ok(&o, s.v));

    /* L1 -> L2 over an L3 file: not bottommost; elsewhere bottommost.  A
     * newer L0 file over the range does not matter. */
    put(&s, 3, 0, 99, 10, 10000);
    put(&s, 1, 0, 200, 150, 20000);
    put(&s, 0, 0, 50, 3, 30000);
    compaction *c = pick_ok(&o, s.v);
    assert_int_equal(c->output_level, 2);
    assert_false(c->bottommost);
    assert_true(c->trivial_move);
    compaction_free(c);

    sim t;
    sim_init(&t, 10000, 7);
    put(&t, 3, 500, 600, 10, 1);
    put(&t, 1, 0, 200, 150, 100);
    put(&t, 0, 0, 50, 3, 300);
    c = pick_ok(&o, t.v);
    assert_true(c->bottommost);
    compaction_free(c);
    sim_free(&t);
    sim_free(&s);
}

static void test_periodic(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, 10000, 8);
    picker_options o = small_options();
    o.level_base_bytes = 1000000 * ENTRY_BYTES; /* no size trigger */
    file_meta *big = ballast(&s, &o);
    s.now = 1000;
    file_meta *old6 = put(&s, 6, 0, 999, 40, 1);
    s.now = 2000;
    file_meta *old2 = put(&s, 2, 2000, 2999, 40, 1000);
    s.now = 0; /* unknown age: never periodic */
    put(&s, 3, 5000, 5999, 40, 500);
    s.now = 5000;
    put(&s, 1, 0, 999, 20, 2000);
    put(&s, 0, 0, 999, 5, 3000);

    o.now_unix = 10000;
    assert_null(pick_ok(&o, s.v)); /* periodic off */
    o.periodic_compaction_seconds = 9500;
    assert_null(pick_ok(&o, s.v)); /* nothing that old */
    o.periodic_compaction_seconds = 8000;
    compaction *c = pick_ok(&o, s.v); /* the oldest: the L6 file, in place */
    assert_int_equal(c->reason, COMPACTION_PERIODIC);
    assert_int_equal(c->output_level, 6);
    assert_inputs(c, 6, &old6, 1);
    assert_false(c->trivial_move);
    compaction_free(c);
    old6->being_compacted = true;
    c = pick_ok(&o, s.v); /* then the L2 file, one level down, rewritten */
    assert_int_equal(c->reason, COMPACTION_PERIODIC);
    assert_int_equal(c->output_level, 3);
    assert_inputs(c, 2, &old2, 1);
    assert_int_equal(c->ninputs[3], 0);
    assert_false(c->trivial_move);
    compaction_free(c);
    old2->being_compacted = true;
    assert_null(pick_ok(&o, s.v));
    old2->being_compacted = old6->being_compacted = false;
    /* Everything expired: the oldest first. */
    o.periodic_compaction_seconds = 1000;
    o.now_unix = 100000;
    c = pick_ok(&o, s.v);
    assert_int_equal(c->output_level, 6); /* the oldest first */
    compaction_free(c);
    /* A size trigger comes first. */
    o.level_base_bytes = 10 * ENTRY_BYTES;
    ballast_fit(&s, big, &o);
    c = pick_ok(&o, s.v);
    assert_int_equal(c->reason, COMPACTION_LEVEL_SIZE);
    compaction_free(c);
    /* Converges: rewritten files are new. */
    o.level_base_bytes = 1000000 * ENTRY_BYTES;
    ballast_fit(&s, big, &o);
    o.now_unix = 6000;
    s.now = 6000;
    o.periodic_compaction_seconds = 500;
    int steps = sim_settle(&s, &picker_leveled, &o, 100);
    assert_true(steps >= 4);
    assert_int_equal(s.v->nfiles[0], 0);
    sim_check_reads(&s);

    /* Only L0 expired: L0 -> the base level (L6: nothing below L0) */
    sim t;
    sim_init(&t, 1000, 9);
    t.now = 100;
    put(&t, 0, 0, 99, 5, 10);
    put(&t, 0, 50, 150, 5, 20);
    o = small_options();
    o.periodic_compaction_seconds = 10;
    o.now_unix = 200;
    c = pick_ok(&o, t.v);
    assert_int_equal(c->reason, COMPACTION_PERIODIC);
    assert_int_equal(c->output_level, 6);
    assert_int_equal(c->ninputs[0], 2);
    assert_false(c->trivial_move);
    compaction_free(c);
    sim_free(&t);
    sim_free(&s);
}

static void test_manual(void **state)
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

    /* L0 x2, L1, L3, L6, with tombstones. */
    entry e[100];
    for (uint32_t i = 0; i < 100; i++)
        e[i] = (entry){ i * 10, 1 + i, false };
    sim_add(&s, 6, e, 100);
    for (uint32_t i = 0; i < 20; i++)
        e[i] = (entry){ 100 + i * 10, 1000 + i, i % 2 == 0 };
    sim_add(&s, 3, e, 20);
    for (uint32_t i = 0; i < 20; i++)
        e[i] = (entry){ 300 + i * 5, 2000 + i, i % 3 == 0 };
    sim_add(&s, 1, e, 20);
    for (uint32_t i = 0; i < 10; i++)
        e[i] = (entry){ 95 + i, 3000 + i, true };
    sim_add(&s, 0, e, 10);
    for (uint32_t i = 0; i < 10; i++)
        e[i] = (entry){ 500 + i, 4000 + i, false };
    sim_add(&s, 0, e, 10);

    /* One level: all of it and the overlapping files below. */
    compaction *c = manual_ok(&o, s.v, 3);
    assert_int_equal(c->output_level, 4);
    assert_int_equal(c->ninputs[3], 1);
    assert_false(c->trivial_move); /* manual always rewrites */
    compaction_free(c);
    c = manual_ok(&o, s.v, 0);
    assert_int_equal(c->output_level, 1);
    assert_int_equal(c->ninputs[0], 2);
    assert_int_equal(c->ninputs[1], 1);
    compaction_free(c);
    assert_null(manual_ok(&o, s.v, 2)); /* empty level */
    c = manual_ok(&o, s.v, 6); /* in place: everything */
    assert_int_equal(c->output_level, 6);
    assert_int_equal(c->ninputs[6], 1);
    assert_true(c->bottommost);
    compaction_free(c);

    /* Busy: NULL, and the version says why. */
    s.v->files[3][0]->being_compacted = true;
    assert_null(manual_ok(&o, s.v, 3));
    assert_true(compaction_version_busy(s.v));
    s.v->files[3][0]->being_compacted = false;
    assert_false(compaction_version_busy(s.v));

    /* The whole tree, step by step: L0 -> L1, L1 -> L3, L3 -> L6. */
    static const int steps[][2] = { { 0, 1 }, { 1, 3 }, { 3, 6 } };
    for (size_t i = 0; i < 3; i++) {
        c = manual_ok(&o, s.v, -1);
        assert_non_null(c);
        assert_int_equal(c->reason, COMPACTION_MANUAL);
        assert_true(c->ninputs[steps[i][0]] > 0);
        assert_int_equal(c->output_level, steps[i][1]);
        assert_int_equal(c->bottommost, i == 2);
        sim_apply(&s, c);
        compaction_free(c);
        sim_check_reads(&s);
    }
    assert_null(manual_ok(&o, s.v, -1)); /* one run left, no floor */
    for (int l = 0; l < LSM_NUM_LEVELS - 1; l++)
        assert_int_equal(s.v->nfiles[l], 0);
    for (size_t i = 0; i < s.v->nfiles[6]; i++)
        assert_int_equal(s.v->files[6][i]->deletions, 0); /* dropped at the bottom */

    /* With a floor, the run is rewritten once more, then done. */
    put(&s, 4, 2000, 2100, 10, 9000);
    o.manual_floor = s.next_number;
    int n = 0;
    while ((c = manual_ok(&o, s.v, -1)) != NULL) {
        sim_apply(&s, c);
        compaction_free(c);
        assert_true(++n <= 3);
    }
    assert_int_equal(n, 2); /* L4 -> L6, then L6 files below the floor */
    for (size_t i = 0; i < s.v->nfiles[6]; i++)
        assert_true(s.v->files[6][i]->number >= o.manual_floor);
    /* pick_manual(6) with the floor converges too. */
    assert_null(manual_ok(&o, s.v, 6));
    sim_check_reads(&s);

    /* A tree of only L0 goes to the bottom level. */
    sim t;
    sim_init(&t, 1000, 11);
    put(&t, 0, 0, 99, 10, 1);
    put(&t, 0, 50, 150, 10, 100);
    o.manual_floor = 0;
    c = manual_ok(&o, t.v, -1);
    assert_int_equal(c->output_level, 6);
    assert_int_equal(c->ninputs[0], 2);
    sim_apply(&t, c);
    compaction_free(c);
    assert_null(manual_ok(&o, t.v, -1));
    sim_check_reads(&t);
    sim_free(&t);
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
    file_meta *a = put(&s, 1, 0, 99, 60, 100);
    file_meta *b = put(&s, 1, 300, 399, 60, 200);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_names),
        cmocka_unit_test(test_level_targets),
        cmocka_unit_test(test_scores),
        cmocka_unit_test(test_l0_to_l1),
        cmocka_unit_test(test_min_overlap_ratio),
        cmocka_unit_test(test_user_key_boundaries),
        cmocka_unit_test(test_last_level_and_bottommost),
        cmocka_unit_test(test_periodic),
        cmocka_unit_test(test_manual),
        cmocka_unit_test(test_running_conflict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
