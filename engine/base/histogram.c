/* histogram.c — see histogram.h for the bucket layout and its error bound. */
#include "base/histogram.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void histogram_init(histogram *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void histogram_record(histogram *h, uint64_t value)
{
    h->buckets[histogram_bucket(value)]++;
    h->count++;
    uint64_t s = h->sum + value;
    h->sum_hi += s < value; /* carry out of the low word */
    h->sum = s;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

/* Every field is an independent counter: no reader infers one field from
 * another, so relaxed atomics suffice and nothing here pairs with anything.
 * Readers that need the final totals synchronise with the writers by other
 * means (pthread_join, the lock that publishes a stats snapshot). */
void histogram_record_atomic(histogram *h, uint64_t value)
{
    __atomic_fetch_add(&h->buckets[histogram_bucket(value)], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
    uint64_t old = __atomic_fetch_add(&h->sum, value, __ATOMIC_RELAXED);
    if (old + value < old) /* this add wrapped the low word: exactly one carry */
        __atomic_fetch_add(&h->sum_hi, 1, __ATOMIC_RELAXED);

    /* Plain load first: once min and max have settled, no CAS is issued. */
    uint64_t cur = __atomic_load_n(&h->min, __ATOMIC_RELAXED);
    while (value < cur &&
           !__atomic_compare_exchange_n(&h->min, &cur, value, true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
        ;
    cur = __atomic_load_n(&h->max, __ATOMIC_RELAXED);
    while (value > cur &&
           !__atomic_compare_exchange_n(&h->max, &cur, value, true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
        ;
}

/* Loads pair with nothing either (see histogram_record_atomic); they are
 * atomic only so that reading a histogram under concurrent atomic writers
 * is not a data race. */
static inline uint64_t load(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void histogram_merge(histogram *dst, const histogram *src)
{
    for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++)
        dst->buckets[b] += load(&src->buckets[b]);
    dst->count += load(&src->count);
    uint64_t lo = load(&src->sum), hi = load(&src->sum_hi);
    uint64_t s = dst->sum + lo;
    dst->sum_hi += hi + (s < lo);
    dst->sum = s;
    uint64_t mn = load(&src->min), mx = load(&src->max);
    if (mn < dst->min)
        dst->min = mn;
    if (mx > dst->max)
        dst->max = mx;
}

void histogram_snapshot(histogram *dst, const histogram *src)
{
    histogram_init(dst);
    histogram_merge(dst, src);
}

uint64_t histogram_bucket_low(unsigned b)
{
    unsigned group = b >> HISTOGRAM_SUB_BITS;
    unsigned shift = group ? group - 1 : 0; /* groups 0 and 1 are both exact */
    return (uint64_t)(b - (shift << HISTOGRAM_SUB_BITS)) << shift;
}

uint64_t histogram_bucket_high(unsigned b)
{
    unsigned group = b >> HISTOGRAM_SUB_BITS;
    unsigned shift = group ? group - 1 : 0;
    return histogram_bucket_low(b) + ((UINT64_C(1) << shift) - 1);
}

/* p * n first, so that whole-number products (90% of 10) come out exact;
 * the slack absorbs the rounding of decimal p such as 99.9, which would
 * otherwise push an exact rank to the next one. */
uint64_t histogram_rank(uint64_t n, double p)
{
    if (!(p > 0.0))
        return 1;
    double r = p * (double)n / 100.0;
    if (r >= (double)n)
        return n;
    uint64_t k = (uint64_t)r;
    if (r - (double)k > r * 1e-12)
        k++;
    return k < 1 ? 1 : k;
}

void histogram_percentiles(const histogram *h, const double *ps, size_t n, uint64_t *out)
{
    /* The total comes from the buckets, not h->count, so that the walk
     * below always ends inside the array even for a snapshot taken while
     * writers were running (where count and buckets may disagree). */
    uint64_t total = 0;
    for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++)
        total += h->buckets[b];
    uint64_t mn = h->min, mx = h->max;
    bool clamp = mn <= mx;

    unsigned b = 0;
    uint64_t cum = h->buckets[0]; /* samples in buckets 0..b */
    for (size_t i = 0; i < n; i++) {
        if (total == 0) {
            out[i] = 0;
            continue;
        }
        uint64_t r = histogram_rank(total, ps[i]);
        if (r == 1 && clamp) { /* the smallest sample, known exactly */
            out[i] = mn;
            continue;
        }
        if (r == total && clamp) { /* the largest */
            out[i] = mx;
            continue;
        }
        if (r <= cum - h->buckets[b]) { /* ps not ascending: walk again */
            b = 0;
            cum = h->buckets[0];
        }
        while (cum < r && b + 1 < HISTOGRAM_BUCKETS)
            cum += h->buckets[++b];
        /* The middle of the bucket: at most half a width from any of its
         * values (histogram.h, Accuracy). */
        uint64_t lo = histogram_bucket_low(b);
        uint64_t v = lo + (histogram_bucket_high(b) - lo) / 2;
        if (clamp && v < mn)
            v = mn;
        if (clamp && v > mx)
            v = mx;
        out[i] = v;
    }
}

uint64_t histogram_percentile(const histogram *h, double p)
{
    uint64_t v;
    histogram_percentiles(h, &p, 1, &v);
    return v;
}

double histogram_mean(const histogram *h)
{
    if (h->count == 0)
        return 0.0;
    /* long double keeps all 64 bits of a sum below 2^64 on x86-64. */
    long double s = (long double)h->sum_hi * 18446744073709551616.0L + (long double)h->sum;
    return (double)(s / (long double)h->count);
}

int histogram_json(const histogram *h, char *buf, size_t cap)
{
    static const double ps[4] = { 50.0, 90.0, 99.0, 99.9 };
    uint64_t v[4];
    histogram_percentiles(h, ps, 4, v);
    bool empty = h->count == 0;
    return snprintf(buf, cap,
                    "{\"count\":%" PRIu64 ",\"min\":%" PRIu64 ",\"mean\":%.3f,\"p50\":%" PRIu64
                    ",\"p90\":%" PRIu64 ",\"p99\":%" PRIu64 ",\"p99.9\":%" PRIu64
                    ",\"max\":%" PRIu64 "}",
                    h->count, empty ? 0 : h->min, histogram_mean(h), v[0], v[1], v[2], v[3],
                    empty ? 0 : h->max);
}

bool histogram_check(const histogram *h)
{
    uint64_t total = 0;
    unsigned first = HISTOGRAM_BUCKETS, last = 0;
    for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++) {
        if (h->buckets[b] == 0)
            continue;
        if (total + h->buckets[b] < total)
            return false; /* overflow: no real histogram gets there */
        total += h->buckets[b];
        if (first == HISTOGRAM_BUCKETS)
            first = b;
        last = b;
    }
    if (total != h->count)
        return false;
    if (total == 0)
        return h->min == UINT64_MAX && h->max == 0 && h->sum == 0 && h->sum_hi == 0;
    if (h->min > h->max || histogram_bucket(h->min) != first || histogram_bucket(h->max) != last)
        return false;
    /* count*min <= sum <= count*max, in 128 bits. */
    unsigned __int128 sum = ((unsigned __int128)h->sum_hi << 64) | h->sum;
    return sum >= (unsigned __int128)h->count * h->min &&
           sum <= (unsigned __int128)h->count * h->max;
}

void histogram_cumulative(const histogram *h, const uint64_t *bounds, size_t n, uint64_t *out)
{
    uint64_t below = 0;
    unsigned b = 0;
    for (size_t i = 0; i < n; i++) {
        for (; b < HISTOGRAM_BUCKETS && histogram_bucket_high(b) <= bounds[i]; b++)
            below += h->buckets[b];
        out[i] = below;
    }
}
