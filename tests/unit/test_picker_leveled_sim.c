/* test_picker_leveled_sim.c — the leveled picker
 * (engine/compaction/picker_leveled.c) driven over many picks on a model
 * tree (tests/unit/picker_sim.h): a stream of flushes keeps the dynamic
 * shape (levels above the base empty, every level within its target, space
 * amplification near 1 + 1/ratio), the tree converges from a tiered shape
 * and from a static-target shape, and concurrent picks never share a file.
 * The rules one pick follows are in test_picker_leveled.c. */
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

static picker_options sim_options(void)
{
    picker_options o;
    picker_options_init(&o);
    o.level_base_bytes = 256 * ENTRY_BYTES;
    o.level_size_ratio = 4;
    o.target_file_bytes = 64 * ENTRY_BYTES;
    return o;
}

/* Settled: L0 below its trigger, no level above the needed ones in use,
 * every level within its target, so the levels >= 1 hold at most
 * 1 + 1/(ratio - 1) x the largest one. */
static void assert_leveled_shape(const picker_options *o, const version *v)
{
    assert_true(v->nfiles[0] < (size_t)o->l0_compaction_trigger);
    level_targets t;
    picker_level_targets(o, v, &t);
    uint64_t sum = 0, largest = 0;
    for (int l = 1; l < LSM_NUM_LEVELS; l++) {
        uint64_t b = version_level_bytes(v, l);
        sum += b;
        largest = b > largest ? b : largest;
        if (l == LSM_NUM_LEVELS - 1)
            break;
        assert_true(picker_leveled.level_score(o, v, l) < 1.0);
        if (l < t.first_needed)
            assert_int_equal(b, 0);
        else
            assert_true(b <= t.bytes[l]);
    }
    assert_int_equal(largest, version_level_bytes(v, LSM_NUM_LEVELS - 1));
    assert_true((double)sum <= (double)largest * (1.0 + 1.0 / (o->level_size_ratio - 1.0)));
}

static void test_flush_stream(void **state)
{
    (void)state;
    uint64_t seed = th_seed();
    sim s;
    sim_init(&s, 8192, seed);
    picker_options o = sim_options();
    for (int i = 0; i < 500; i++) {
        sim_flush(&s, 64, 0, 0, 16);
        sim_settle(&s, &picker_leveled, &o, 1000);
        assert_leveled_shape(&o, s.v);
        if (i % 50 == 49)
            sim_check_reads(&s);
    }
    sim_check_reads(&s);
    /* L1..L5 sorted runs at most, plus < trigger L0 files */
    assert_true(picker_leveled.sorted_runs(s.v) <= 5 + o.l0_compaction_trigger);
    double wamp = (double)(s.flushed + s.written) / (double)s.flushed;
    assert_true(wamp < 20.0);
    assert_true(tree_bytes(s.v) <= 3 * live_bytes(&s) + 4 * 64 * ENTRY_BYTES);
    sim_free(&s);
}

/* A tree left by tiered compaction: every level one run, sizes unrelated
 * to the leveled targets (L1 bigger than L2 ...), L0 files included. */
static void test_from_tiered_shape(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, 20000, 13);
    picker_options o = sim_options();
    static const struct { int level; uint32_t lo, hi; size_t n; } runs[] = {
        { 6, 0, 19999, 6000 }, { 5, 0, 9999, 500 }, { 3, 5000, 19999, 3000 },
        { 2, 0, 19999, 400 },  { 1, 0, 19999, 4000 },
    };
    uint64_t seq = 1;
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        /* one run cut into files of 200 entries */
        size_t n = runs[r].n;
        for (size_t i = 0; i < n; i += 200) {
            size_t m = n - i < 200 ? n - i : 200;
            entry *e = malloc(m * sizeof *e);
            assert_non_null(e);
            for (size_t j = 0; j < m; j++)
                e[j] = (entry){ runs[r].lo + (uint32_t)((uint64_t)(runs[r].hi - runs[r].lo) *
                                                       (i + j) / (n - 1)),
                                seq++, (i + j) % 7 == 0 };
            sim_add(&s, runs[r].level, e, m);
            free(e);
        }
    }
    for (int i = 0; i < 3; i++)
        sim_flush(&s, 500, 0, 0, 5);
    sim_check_reads(&s);
    sim_settle(&s, &picker_leveled, &o, 5000);
    assert_leveled_shape(&o, s.v);
    sim_check_reads(&s);

    /* ... and one made by the tiered picker itself. */
    sim t;
    sim_init(&t, 8192, 14);
    picker_options ot = o;
    for (int i = 0; i < 150; i++) {
        sim_flush(&t, 64, 0, 0, 10);
        sim_settle(&t, &picker_tiered, &ot, 1000);
    }
    sim_check_reads(&t);
    sim_settle(&t, &picker_leveled, &o, 5000);
    assert_leveled_shape(&o, t.v);
    sim_check_reads(&t);
    sim_free(&t);
    sim_free(&s);
}

/* Several compactions in flight (busy flags set, the running list
 * passed), finishing in random order while flushes keep arriving. */
static void test_concurrent_picks(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, 4096, th_seed());
    picker_options o = sim_options();
    assert_true(sim_concurrent_stream(&s, &o, &picker_leveled, &picker_tiered) >= 2);
    sim_settle(&s, &picker_leveled, &o, 2000);
    assert_leveled_shape(&o, s.v);
    sim_check_reads(&s);
    sim_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flush_stream),
        cmocka_unit_test(test_from_tiered_shape),
        cmocka_unit_test(test_concurrent_picks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
