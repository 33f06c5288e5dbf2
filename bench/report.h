/*
 * report.h — lsmbench's output: a block per job and a line per target in
 * text, the same figures as one JSON document, and the comparison table
 * when several targets ran the same jobs.
 *
 * Figures per job: operations, seconds, ops/s, MB/s (key + value bytes
 * moved), latency min / avg / p50 / p90 / p99 / p99.9 / max over every
 * measured operation (histograms merged across clients and threads), and
 * the same per operation class when a job mixes several (read, write,
 * scan, rmw; bgwrite is readwhilewriting's writer, reported apart).
 * Per target, at the end: write and space amplification, stall time and
 * block cache hit rate, or what could not be had.
 *
 * JSON (--output-format json), one document on stdout:
 *   {"lsmbench": 1,
 *    "jobs": [{"job", "workload", "target", "clients", "threads", "iodepth",
 *              "sync", "seconds", "ops", "ops_per_sec", "mb_per_sec",
 *              "found", "notfound", "errors", "error", "interrupted",
 *              "batch", "batches", "batches_per_sec" (multireadrandom; else
 *              null), "compaction_written_bytes", "compaction_read_bytes"
 *              (compact; else null), "cold": {"mode", "memory_bytes"} (a
 *              --cold job; else null),
 *              "latency_ns": {count, min, mean, p50, p90, p99, p99.9, max},
 *              "classes": {"read": {"ops", "latency_ns"}, ...},
 *              "svg": {"latency", "schedule"}}],
 *    "targets": [{"target", "write_amplification", "space_amplification",
 *                 "stall_seconds", "stall_stops", "stall_slowdowns",
 *                 "cache_hit_rate", "table_bytes", "note"}]}
 *   A figure a target cannot give is null.
 *
 * Thread safety: none needed (the main thread only).
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bench_config.h"
#include "base/histogram.h"
#include "result.h"
#include "runner.h"
#include "target.h"

typedef struct job_report {
    char job[64];
    char workload[32];
    char target[BENCH_PATH_MAX];
    int clients, threads, iodepth;
    bool sync;
    double seconds;
    run_counts c;
    histogram cls[NCLASS];
    histogram all;            /* every class but bgwrite */
    uint64_t ops, bytes;      /* of those */
    int error;
    bool interrupted;
    int batch;                /* multireadrandom's --batch, else 0 */
    bool compacted;           /* the compact workload: the two below are set */
    uint64_t compact_written, compact_read;
    uint64_t cold_memory;     /* a --cold job: its memory bound, else 0 */
    char cold_mode[16];       /* a --cold job: "cgroup" or "direct" */
    char svg_latency[BENCH_PATH_MAX], svg_schedule[BENCH_PATH_MAX];
} job_report;

typedef struct target_report {
    char target[BENCH_PATH_MAX];
    int rc;                   /* the summary call's result */
    db_summary s;
} target_report;

/* Fills j from a run's output. */
void report_fill(job_report *j, const bench_config *cfg, const char *wl_name,
                 const char *tgt, const run_output *o);

double report_ops_per_sec(const job_report *j);

void report_job_text(FILE *f, const job_report *j);
void report_target_text(FILE *f, const target_report *t);

/* The table with a row per (job, workload) and, per target, ops/s and p99,
 * then ratios of ops/s between targets: every target over rocksdb, and
 * lsmd over embedded (else later over earlier).  Prints nothing with fewer
 * than two targets. */
void report_compare_text(FILE *f, const job_report *j, size_t n);

void report_json(FILE *f, const job_report *j, size_t n, const target_report *t, size_t nt,
                 const bench_plan *plan);

#endif
