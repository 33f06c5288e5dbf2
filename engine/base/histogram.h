/*
 * histogram.h — a fixed-size log-linear histogram of uint64 samples
 * (latencies in nanoseconds, or any unit), for the engine's statistics
 * (lsm_stats_json) and for lsmbench's percentiles merged across threads,
 * clients and processes.
 *
 * Buckets (the HdrHistogram / fio layout, with S = HISTOGRAM_SUB_BITS = 5)
 *   Values below 2^(S+1) = 64 get one bucket each: they are exact.
 *   Above that, each power of two [2^e, 2^(e+1)) is cut into 2^S = 32
 *   equal sub-buckets of width 2^(e-S).  With shift = max(e - S, 0), where
 *   e = floor(log2(v | 2^S)), a value v falls in bucket
 *
 *       index(v) = shift * 2^S + (v >> shift)
 *
 *   which is O(1) and branch-free (one clz, one shift).  The whole uint64
 *   range is covered: 2^S * (65 - S) = 1920 buckets, 15 KiB.
 *
 *   Worked example: v = 1000 = 0b1111101000, e = 9, shift = 4,
 *   v >> 4 = 62, index = 4*32 + 62 = 190; bucket 190 holds 992..1007.
 *
 * Accuracy
 *   A bucket of width w starts at or above 32w, so reporting the bucket's
 *   middle is off by at most w/2 <= v/64 for every v in it:
 *   histogram_percentile() is within HISTOGRAM_REL_ERROR = 1/64 (1.6%) of
 *   the true value, and exact below 64.  (Why 32 sub-buckets: 1.6% is below
 *   run-to-run noise of any latency measurement; 16 would halve the size
 *   and double the error.)
 *
 * Percentile definition (nearest rank)
 *   With n samples, p's rank is r = ceil(p/100 * n) clamped to [1, n], and
 *   the true percentile is the r-th smallest sample.  So p = 0 is the
 *   minimum and p = 100 the maximum, and both are returned exactly.
 *
 * Plain data
 *   A histogram is a flat struct with no pointers: copy it with memcpy,
 *   send it through a pipe or shared memory, merge it elsewhere.  The bytes
 *   are host-endian and fixed by HISTOGRAM_SUB_BITS, so both ends must be
 *   the same build (lsmbench's clients are); histogram_check() catches a
 *   mangled one.
 *
 * Thread safety
 *   histogram_record: one writer, no concurrent readers (a thread-local
 *   histogram, merged later).  histogram_record_atomic: any number of
 *   writers at once, with relaxed atomics — the totals are exact once the
 *   writers are done, but a reader running meanwhile may see count, sum,
 *   min/max and buckets from slightly different moments.  Readers of a
 *   histogram that is being recorded atomically must go through
 *   histogram_merge / histogram_snapshot (which load atomically), then read
 *   the private copy.  Everything else reads its argument and writes only
 *   its dst/buf, so distinct histograms need no locking.
 *
 * Invariants (of a histogram no writer is touching)
 *   count == sum of buckets[]; sum_hi:sum == the exact 128-bit sum of the
 *   samples; count == 0 implies min == UINT64_MAX and max == 0; otherwise
 *   min <= max and they are the exact extremes.
 */
#ifndef LSM_HISTOGRAM_H
#define LSM_HISTOGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HISTOGRAM_SUB_BITS 5
#define HISTOGRAM_SUB_COUNT (1u << HISTOGRAM_SUB_BITS) /* sub-buckets per power of two */
#define HISTOGRAM_EXACT_LIMIT (2u * HISTOGRAM_SUB_COUNT) /* values below this are exact */
#define HISTOGRAM_BUCKETS ((65u - HISTOGRAM_SUB_BITS) * HISTOGRAM_SUB_COUNT)
#define HISTOGRAM_REL_ERROR (1.0 / (2.0 * HISTOGRAM_SUB_COUNT)) /* 1/64 */

typedef struct histogram {
    uint64_t count;  /* samples recorded */
    uint64_t sum;    /* low 64 bits of the sum of the samples */
    uint64_t min;    /* UINT64_MAX while empty */
    uint64_t max;    /* 0 while empty */
    uint64_t sum_hi; /* high 64 bits of the sum: samples near 2^63 overflow 64 bits */
    uint64_t buckets[HISTOGRAM_BUCKETS];
} histogram;

/* A static initializer equal to histogram_init's result.  A zero-filled
 * histogram is NOT empty-and-valid (its min would be 0). */
#define HISTOGRAM_INITIALIZER { .min = UINT64_MAX }

/* Makes h empty. */
void histogram_init(histogram *h);

/* Adds one sample.  O(1), no allocation, a few ns.
 * REQUIRES: no other thread reads or writes h meanwhile. */
void histogram_record(histogram *h, uint64_t value);

/* Adds one sample; safe from any number of threads at once (relaxed atomic
 * adds; min and max by compare-and-swap only when they change).  Three
 * locked adds, two on the header's cache line, which cores recording into
 * one histogram contend for (docs/architecture.md, "Watching the effect").
 * Hot paths with many threads should keep a histogram per thread and merge
 * on read instead.
 * REQUIRES: every concurrent writer uses histogram_record_atomic. */
void histogram_record_atomic(histogram *h, uint64_t value);

/* Adds src's samples to dst (dst and src may be the same histogram only
 * if nobody records into it meanwhile).  src is loaded with relaxed atomic
 * loads, so it may be a histogram other threads are recording into
 * atomically; the result is then a recent, not necessarily consistent, cut.
 * REQUIRES: dst is private to the caller. */
void histogram_merge(histogram *dst, const histogram *src);

/* *dst = a copy of src, read as histogram_merge reads it. */
void histogram_snapshot(histogram *dst, const histogram *src);

/* The p-th percentile by nearest rank (p in [0, 100]; p < 0 or NaN acts
 * as 0, p > 100 as 100): within HISTOGRAM_REL_ERROR of the true value and
 * inside [min, max]; p = 0 gives min and p = 100 gives max exactly.
 * 0 if h is empty. */
uint64_t histogram_percentile(const histogram *h, double p);

/* The nearest rank ceil(p/100 * n), clamped to [1, n] (p < 0 or NaN is 0,
 * p > 100 is 100), computed so that a decimal p like 99.9 of n = 1000
 * gives exactly 999.  The definition every percentile here uses; exposed
 * so that tests and exporters agree with it.  REQUIRES: n > 0. */
uint64_t histogram_rank(uint64_t n, double p);

/* histogram_percentile for each ps[i] into out[i], in one pass over the
 * buckets when ps is ascending (any order works, just slower). */
void histogram_percentiles(const histogram *h, const double *ps, size_t n, uint64_t *out);

/* The arithmetic mean, from the exact 128-bit sum; 0.0 if h is empty. */
double histogram_mean(const histogram *h);

/* Writes the JSON object
 *   {"count":N,"min":N,"mean":F,"p50":N,"p90":N,"p99":N,"p99.9":N,"max":N}
 * (integers in h's unit, mean with 3 decimals; min and max 0 when empty)
 * at buf, snprintf-style: at most cap bytes including a terminating NUL
 * (buf may be NULL when cap == 0), and returns the length the whole object
 * needs, excluding the NUL.  To append, pass buf + len, cap - len. */
int histogram_json(const histogram *h, char *buf, size_t cap);

/* For exporters with fixed buckets (Prometheus "le"): out[i] = the samples
 * whose bucket lies wholly at or below bounds[i], i.e. histogram_bucket_high
 * <= bounds[i].  A sample is never counted below a bound it exceeds; one
 * less than a bucket width (<= 1/32) under a bound may be counted under the
 * next (so latencies read slightly worse, never better).  out[] is cumulative
 * and ascending.  REQUIRES: bounds ascending. */
void histogram_cumulative(const histogram *h, const uint64_t *bounds, size_t n, uint64_t *out);

/* true if h satisfies the invariants above (count == sum of buckets,
 * min/max consistent with count and with the lowest and highest non-empty
 * buckets).  For histograms received from elsewhere.  O(buckets). */
bool histogram_check(const histogram *h);

/* The bucket a value falls in, and the first and last value a bucket
 * holds (for exporters and tests).  REQUIRES: b < HISTOGRAM_BUCKETS. */
static inline unsigned histogram_bucket(uint64_t value)
{
    unsigned e = 63u - (unsigned)__builtin_clzll(value | HISTOGRAM_SUB_COUNT);
    unsigned shift = e - HISTOGRAM_SUB_BITS;
    return (shift << HISTOGRAM_SUB_BITS) + (unsigned)(value >> shift);
}
uint64_t histogram_bucket_low(unsigned b);
uint64_t histogram_bucket_high(unsigned b);

#endif
