/*
 * timeline.h — latency over time: one histogram (engine/base/histogram.h) per
 * fixed interval (TIMELINE_INTERVAL_NS = 100 ms) of a job, kept compactly.
 *
 * A worker records every sample into the histogram of the current interval;
 * when an interval ends its non-empty buckets are appended to a byte blob
 * (a 15 KiB histogram usually has a few dozen non-empty buckets), so an hour
 * of samples costs kilobytes, not 540 MB.  Blobs of many workers and
 * processes are concatenated and handed to timeline_points, which merges
 * the records of each interval back into one histogram and reads p50/p99.
 *
 * Record format (host-endian; both ends are one build):
 *   u32 interval, u32 nbuckets, u64 count, sum, min, max,
 *   nbuckets x { u32 bucket, u32 samples }
 *
 * Thread safety: a timeline belongs to one thread.
 */
#ifndef BENCH_TIMELINE_H
#define BENCH_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "base/histogram.h"

#define TIMELINE_INTERVAL_NS 100000000ull

typedef struct timeline {
    histogram cur;        /* samples of interval cur_index */
    int64_t cur_index;    /* -1 before the first sample */
    char *blob;           /* closed intervals, record format above */
    size_t len, cap;
    int err;              /* -ENOMEM once an append failed (records lost) */
} timeline;

void timeline_init(timeline *t);
void timeline_free(timeline *t);

/* Records value (ns) in interval index (>= 0; indices a worker passes
 * never decrease). */
static inline void timeline_record(timeline *t, int64_t index, uint64_t value);

/* Closes the current interval (call once the worker is done). */
void timeline_flush(timeline *t);

/* Appends another blob (e.g. a worker's) to t's.  Errors: -ENOMEM. */
int timeline_append(timeline *t, const void *blob, size_t len);

typedef struct timeline_point {
    uint32_t interval;    /* start = interval x TIMELINE_INTERVAL_NS */
    uint64_t count;
    uint64_t p50, p99, max; /* ns */
} timeline_point;

/* Merges the records of blob per interval into points sorted by interval
 * (a malloc'd array the caller frees).  Errors: -EINVAL (a malformed
 * blob), -ENOMEM. */
int timeline_points(const void *blob, size_t len, timeline_point **out, size_t *n);

/* ---- inline ---------------------------------------------------------------- */
void timeline_close_interval(timeline *t);

static inline void timeline_record(timeline *t, int64_t index, uint64_t value)
{
    if (index != t->cur_index) {
        if (t->cur_index >= 0)
            timeline_close_interval(t);
        t->cur_index = index;
    }
    histogram_record(&t->cur, value);
}

#endif
