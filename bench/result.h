/*
 * result.h — what a worker, a client process and a whole job measured:
 * counts, one latency histogram per op class (engine/base/histogram.h) and the
 * latency timeline; how a client process sends its result to the parent
 * through a pipe, and how results merge.
 *
 * Wire format (one message per client process, host-endian: the parent is
 * the same binary):
 *   result_wire header { magic "LSMBRES1", version, nclass, hist_bytes,
 *                        counts, timeline_len }
 *   nclass x histogram (raw struct bytes)
 *   timeline_len bytes of timeline blob
 * The receiver checks magic, sizes and every histogram (histogram_check).
 *
 * Thread safety: a result belongs to one thread; merge into a private one.
 */
#ifndef BENCH_RESULT_H
#define BENCH_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "base/histogram.h"
#include "timeline.h"
#include "workload.h"

typedef struct run_counts {
    uint64_t ops[NCLASS];     /* completed operations per class */
    uint64_t bytes[NCLASS];   /* key + value bytes moved per class */
    uint64_t found, notfound; /* gets (and rmw reads) */
    uint64_t batches;         /* multi-get calls (multireadrandom: ops[READ]
                                 counts keys, the read histogram batches) */
    uint64_t errors;          /* operations that failed */
    int64_t first_error;      /* the first failure's code, 0 if none */
    uint64_t start_ns, end_ns;/* CLOCK_MONOTONIC span of the work */
} run_counts;

typedef struct run_result {
    run_counts c;
    histogram h[NCLASS];      /* latency, ns */
    timeline tl;              /* headline classes only (not bgwrite) */
} run_result;

/* Heap-allocates (a result is ~75 KiB; not for thread stacks). NULL on
 * ENOMEM. */
run_result *result_new(void);
void result_free(run_result *r);

/* dst += src (counts, histograms, timeline blob; the span becomes the
 * union).  Errors: -ENOMEM (timeline lost; the rest merged). */
int result_merge(run_result *dst, const run_result *src);

/* All headline classes (every class but CLASS_BGWRITE) merged. */
void result_headline(const run_result *r, histogram *out, uint64_t *ops, uint64_t *bytes);

/* Writes r to fd in the wire format (loops over short writes).
 * Errors: -errno. */
int result_send(int fd, const run_result *r);

/* Parses one message from buf[0..len) into *r (a result_new one: its
 * timeline is replaced).  Errors: -EPROTO (bad magic, size or histogram),
 * -ENOMEM. */
int result_parse(const void *buf, size_t len, run_result *r);

#endif
