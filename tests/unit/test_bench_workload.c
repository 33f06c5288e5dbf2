/* test_bench_workload.c — lsmbench's workload table (bench/workload.h):
 * names and aliases, the YCSB A-F and "mixed" operation mixes drawn at
 * their ratios, default distributions and which workloads write. */
#include "helpers.h"

#include <math.h>
#include <string.h>

#include "workload.h"

/* Draws n ops of w's mix and checks each op kind's share against the
 * expected percentages (within 0.5 points at n = 400000). */
static void check_mix(const char *name, int read_pct, const int want[OP_NKINDS])
{
    const workload *w = workload_find(name);
    assert_non_null(w);
    op_mix m;
    workload_mix(w, read_pct, &m);
    bench_rng r;
    rng_seed(&r, 1234);
    enum { N = 400000 };
    uint64_t cnt[OP_NKINDS] = { 0 };
    for (int i = 0; i < N; i++)
        cnt[mix_pick(&m, &r)]++;
    for (int k = 0; k < OP_NKINDS; k++) {
        double got = 100.0 * (double)cnt[k] / N;
        if (fabs(got - want[k]) > 0.5)
            fail_msg("%s: op kind %d drawn %.2f%%, want %d%%", name, k, got, want[k]);
        if (want[k] == 0)
            assert_int_equal(cnt[k], 0);
    }
}

static void test_ycsb_mixes(void **state)
{
    (void)state;
    /*                                   read upd ins scan rmw */
    check_mix("ycsb-a", 0, (const int[]){ 50, 50, 0, 0, 0 });
    check_mix("ycsb-b", 0, (const int[]){ 95, 5, 0, 0, 0 });
    check_mix("ycsb-c", 0, (const int[]){ 100, 0, 0, 0, 0 });
    check_mix("ycsb-d", 0, (const int[]){ 95, 0, 5, 0, 0 });
    check_mix("ycsb-e", 0, (const int[]){ 0, 0, 5, 95, 0 });
    check_mix("ycsb-f", 0, (const int[]){ 50, 0, 0, 0, 50 });
    check_mix("readrandom", 0, (const int[]){ 100, 0, 0, 0, 0 });
    check_mix("fillrandom", 0, (const int[]){ 0, 100, 0, 0, 0 });
    check_mix("seekrandom", 0, (const int[]){ 0, 0, 0, 100, 0 });
    /* mixed takes --read-pct; out-of-range values clamp. */
    check_mix("mixed", 70, (const int[]){ 70, 30, 0, 0, 0 });
    check_mix("mixed", 0, (const int[]){ 0, 100, 0, 0, 0 });
    check_mix("mixed", 100, (const int[]){ 100, 0, 0, 0, 0 });
    check_mix("mixed", 250, (const int[]){ 100, 0, 0, 0, 0 });
}

static void test_table(void **state)
{
    (void)state;
    assert_ptr_equal(workload_find("ycsb-a"), workload_find("ycsb_a"));
    assert_ptr_equal(workload_find("ycsb-a"), workload_find("YCSBA"));
    assert_null(workload_find("ycsb-g"));
    assert_null(workload_find(""));
    assert_int_equal(workload_find("ycsb-d")->dist, DIST_LATEST);
    assert_int_equal(workload_find("ycsb-a")->dist, DIST_ZIPFIAN);
    assert_int_equal(workload_find("readrandom")->dist, DIST_UNIFORM);
    assert_true(workload_find("fillseq")->counted_by_num);
    assert_false(workload_find("readrandom")->counted_by_num);
    assert_true(workload_find("seekrandom")->scan_fixed);
    assert_false(workload_find("ycsb-e")->scan_fixed);
    assert_int_equal(workload_find("readwhilewriting")->kind, WL_READWHILEWRITING);

    assert_true(workload_writes(workload_find("fillseq"), 0));
    assert_true(workload_writes(workload_find("overwrite"), 0));
    assert_true(workload_writes(workload_find("ycsb-e"), 0));
    assert_true(workload_writes(workload_find("ycsb-f"), 0));
    assert_false(workload_writes(workload_find("ycsb-c"), 0));
    assert_false(workload_writes(workload_find("readseq"), 0));
    assert_false(workload_writes(workload_find("seekrandom"), 0));
    assert_false(workload_writes(workload_find("mixed"), 100));
    assert_true(workload_writes(workload_find("mixed"), 99));
    assert_true(workload_writes(workload_find("readwhilewriting"), 0));

    /* multireadrandom: batched gets of uniform keys, counted by --reads;
     * compact: one full compaction, a writer. */
    const workload *mr = workload_find("multi_read_random");
    assert_non_null(mr);
    assert_ptr_equal(mr, workload_find("multireadrandom"));
    assert_int_equal(mr->kind, WL_MULTIREAD);
    assert_int_equal(mr->dist, DIST_UNIFORM);
    assert_false(mr->counted_by_num);
    assert_false(workload_writes(mr, 0));
    const workload *co = workload_find("compact");
    assert_non_null(co);
    assert_int_equal(co->kind, WL_COMPACT);
    assert_true(workload_writes(co, 0));

    size_t n;
    const workload *all = workload_list(&n);
    assert_int_equal(n, 16);
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(workload_find(all[i].name), &all[i]);
    assert_int_equal(op_class_of(OP_INSERT), CLASS_WRITE);
    assert_int_equal(op_class_of(OP_RMW), CLASS_RMW);
    assert_string_equal(op_class_name(CLASS_BGWRITE), "bgwrite");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ycsb_mixes),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
