/* test_bench_result.c — merging lsmbench results across processes
 * (bench/result.h, bench/timeline.h): forked children record known
 * samples, send them through pipes, and the parent's merge must equal one
 * histogram that saw every sample (bucket for bucket); the latency
 * timeline merges per 100 ms interval; damaged messages are refused.
 * Percentile accuracy itself is tested in test_histogram.c. */
#include "helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "result.h"

enum { CHILDREN = 4, SAMPLES = 20000 };

/* Child c's i-th sample: spread over ~5 decades, different per child. */
static uint64_t sample(int c, int i)
{
    return 100 + (uint64_t)(c + 1) * (uint64_t)i * (uint64_t)(i % 97 + 1);
}

/* Interval of child c's i-th sample: children overlap in intervals 2..5. */
static int64_t interval_of(int c, int i)
{
    return c + (int64_t)i * 4 / SAMPLES;
}

static void fill(run_result *r, int c)
{
    for (int i = 0; i < SAMPLES; i++) {
        int cls = i % 3 == 0 ? CLASS_READ : CLASS_WRITE;
        histogram_record(&r->h[cls], sample(c, i));
        r->c.ops[cls]++;
        r->c.bytes[cls] += 116;
        timeline_record(&r->tl, interval_of(c, i), sample(c, i));
    }
    timeline_flush(&r->tl);
    r->c.found = (uint64_t)c;
    r->c.batches = 10u * (uint64_t)c + 1;
    r->c.start_ns = 1000 + (uint64_t)c;
    r->c.end_ns = 5000 - (uint64_t)c;
}

static void test_merge_across_processes(void **state)
{
    (void)state;
    int fds[CHILDREN];
    pid_t pids[CHILDREN];
    for (int c = 0; c < CHILDREN; c++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pids[c] = fork();
        assert_true(pids[c] >= 0);
        if (pids[c] == 0) {
            close(p[0]);
            run_result *r = result_new();
            fill(r, c);
            int rc = result_send(p[1], r);
            result_free(r);
            _exit(rc == 0 ? 0 : 1);
        }
        close(p[1]);
        fds[c] = p[0];
    }
    run_result *all = result_new(), *want = result_new();
    assert_non_null(all);
    for (int c = 0; c < CHILDREN; c++) {
        size_t cap = 1 << 20, len = 0;
        char *buf = malloc(cap);
        for (;;) {
            if (len == cap)
                buf = realloc(buf, cap *= 2);
            ssize_t n = read(fds[c], buf + len, cap - len);
            assert_true(n >= 0);
            if (n == 0)
                break;
            len += (size_t)n;
        }
        close(fds[c]);
        int status;
        assert_int_equal(waitpid(pids[c], &status, 0), pids[c]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        run_result *r = result_new();
        assert_int_equal(result_parse(buf, len, r), 0);
        assert_int_equal(result_merge(all, r), 0);
        size_t tl_len = r->tl.len;
        /* Damaged copies are refused. */
        assert_int_equal(result_parse(buf, len - 1, r), -EPROTO);
        assert_int_equal(result_parse(buf, 10, r), -EPROTO);
        char *bad = malloc(len);
        memcpy(bad, buf, len);
        bad[0] ^= 1; /* magic */
        assert_int_equal(result_parse(bad, len, r), -EPROTO);
        /* A histogram whose count disagrees with its buckets. */
        memcpy(bad, buf, len);
        histogram h0;
        size_t off = len - sizeof r->h - tl_len;
        memcpy(&h0, bad + off, sizeof h0);
        h0.count++;
        memcpy(bad + off, &h0, sizeof h0);
        assert_int_equal(result_parse(bad, len, r), -EPROTO);
        free(bad);
        result_free(r);
        free(buf);
        fill(want, c);
    }
    /* The merge equals one histogram that saw every sample. */
    for (int cls = 0; cls < NCLASS; cls++) {
        assert_int_equal(all->h[cls].count, want->h[cls].count);
        assert_int_equal(all->h[cls].min, want->h[cls].min);
        assert_int_equal(all->h[cls].max, want->h[cls].max);
        assert_int_equal(all->h[cls].sum, want->h[cls].sum);
        assert_memory_equal(all->h[cls].buckets, want->h[cls].buckets,
                            sizeof all->h[cls].buckets);
        assert_true(histogram_check(&all->h[cls]));
    }
    assert_int_equal(all->c.ops[CLASS_READ] + all->c.ops[CLASS_WRITE], CHILDREN * SAMPLES);
    assert_int_equal(all->c.found, 0 + 1 + 2 + 3);
    assert_int_equal(all->c.batches, 1 + 11 + 21 + 31); /* multi-get calls add up */
    assert_int_equal(all->c.start_ns, 1000);
    assert_int_equal(all->c.end_ns, 5000);
    histogram head;
    uint64_t ops, bytes;
    result_headline(all, &head, &ops, &bytes);
    assert_int_equal(ops, CHILDREN * SAMPLES);
    assert_int_equal(bytes, (uint64_t)CHILDREN * SAMPLES * 116);
    histogram both;
    histogram_init(&both);
    histogram_merge(&both, &want->h[CLASS_READ]);
    histogram_merge(&both, &want->h[CLASS_WRITE]);
    assert_int_equal(histogram_percentile(&head, 99), histogram_percentile(&both, 99));
    assert_int_equal(histogram_percentile(&head, 99.9), histogram_percentile(&both, 99.9));

    /* Timeline: each interval's merged p50/p99 equal those of a histogram
     * of exactly that interval's samples. */
    timeline_point *pts;
    size_t np;
    assert_int_equal(timeline_points(all->tl.blob, all->tl.len, &pts, &np), 0);
    assert_int_equal(np, CHILDREN + 4 - 1); /* intervals 0..6 */
    uint64_t total = 0;
    for (size_t k = 0; k < np; k++) {
        assert_int_equal(pts[k].interval, k);
        histogram h;
        histogram_init(&h);
        for (int c = 0; c < CHILDREN; c++)
            for (int i = 0; i < SAMPLES; i++)
                if (interval_of(c, i) == (int64_t)k)
                    histogram_record(&h, sample(c, i));
        assert_int_equal(pts[k].count, h.count);
        assert_int_equal(pts[k].p50, histogram_percentile(&h, 50));
        assert_int_equal(pts[k].p99, histogram_percentile(&h, 99));
        assert_int_equal(pts[k].max, h.max);
        total += pts[k].count;
    }
    assert_int_equal(total, CHILDREN * SAMPLES);
    free(pts);
    result_free(all);
    result_free(want);
}

static void test_timeline_edges(void **state)
{
    (void)state;
    timeline t;
    timeline_init(&t);
    timeline_point *pts;
    size_t n;
    assert_int_equal(timeline_points(t.blob, t.len, &pts, &n), 0);
    assert_int_equal(n, 0);
    /* Gaps (no samples) leave no point: a stall shows as a missing
     * interval. */
    timeline_record(&t, 0, 5);
    timeline_record(&t, 7, 9);
    timeline_record(&t, 7, 11);
    timeline_flush(&t);
    assert_int_equal(timeline_points(t.blob, t.len, &pts, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(pts[0].interval, 0);
    assert_int_equal(pts[1].interval, 7);
    assert_int_equal(pts[1].count, 2);
    assert_int_equal(pts[1].max, 11);
    free(pts);
    /* A truncated or corrupt blob is refused. */
    assert_int_equal(timeline_points(t.blob, t.len - 1, &pts, &n), -EINVAL);
    char *bad = malloc(t.len);
    memcpy(bad, t.blob, t.len);
    bad[4] = (char)0xff; /* nbuckets of the first record: far too many */
    assert_int_equal(timeline_points(bad, t.len, &pts, &n), -EINVAL);
    free(bad);
    timeline_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_across_processes),
        cmocka_unit_test(test_timeline_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
