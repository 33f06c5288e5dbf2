/*
 * bench_worker.h — one benchmark worker thread: draws operations from its
 * workload, runs them against a target (synchronously, or with --iodepth
 * requests in flight on an asynchronous target), and records each
 * latency into its own histograms and timeline.
 *
 * Timing: one CLOCK_MONOTONIC read per operation; an operation's latency
 * is the time since the previous one ended (db_bench's FinishedOps), so
 * key generation and recording (tens of ns) count, and nothing is missed
 * between operations.  With requests in flight, latency runs from submit
 * to the poll that saw the completion.
 *
 * Coordination happens through bench_shared, a MAP_SHARED mapping every
 * worker of every client process sees: operations are claimed in chunks
 * of WORKER_CHUNK from one counter (so --num / --reads is a total, however
 * many workers), inserts draw new key numbers from another, and the
 * parent's go / stop flags start and end the job.
 *
 * Thread safety: a worker_ctx belongs to its thread; bench_shared is
 * shared, every field below says how.
 */
#ifndef BENCH_WORKER_H
#define BENCH_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench_config.h"
#include "keygen.h"
#include "result.h"
#include "target.h"
#include "workload.h"

#define WORKER_CHUNK 64

/* Per worker, one cache line each: only that worker writes it. */
typedef struct worker_slot {
    _Atomic uint64_t ops;    /* operations done (relaxed; progress display) */
    _Atomic uint32_t done;   /* 1 once the worker has finished */
    char pad[64 - sizeof(uint64_t) - sizeof(uint32_t)];
} __attribute__((aligned(64))) worker_slot;

typedef struct bench_shared {
    /* Written by the parent before any worker starts, then read-only. */
    uint64_t total_ops;      /* UINT64_MAX: unlimited (a --duration job) */
    uint64_t duration_ns;    /* 0: by count */
    uint32_t nworkers;       /* slots in use, bg writer included */
    uint32_t nreaders;       /* workers that share total_ops */
    /* Parent: start_ns (release) then go = 1.  Workers: wait for go
     * (acquire), then read start_ns. */
    uint64_t start_ns;
    _Atomic uint32_t go;
    _Atomic uint32_t stop;   /* any process: end the job now (relaxed) */
    _Atomic uint32_t ready;  /* workers connected and waiting for go */
    _Atomic uint32_t readers_done;
    _Atomic int32_t first_error;
    char pad0[64];
    _Atomic uint64_t claimed;  /* operations handed out, own line */
    char pad1[56];
    _Atomic uint64_t inserted; /* new keys made by inserts, own line */
    char pad2[56];
    worker_slot slot[];
} bench_shared;

typedef struct worker_ctx {
    const bench_config *cfg;
    const workload *wl;
    target *t;
    bench_shared *sh;
    uint32_t index;          /* slot */
    uint32_t reader_index;   /* among nreaders (readseq splits the keys) */
    bool bg_writer;          /* readwhilewriting's writer */
    int dist;                /* resolved key distribution */
    uint64_t seed_salt;      /* per run (runner_args.seed_salt) */
    keygen kg;               /* this worker's copy */
    const valgen *vg;
    run_result *res;         /* result_new'd by the caller */
    int rc;                  /* 0 or the error that ended this worker */
} worker_ctx;

/* pthread entry: arg is a worker_ctx.  Opens a tconn, says ready, waits
 * for go, runs, flushes its timeline and marks its slot done.  Always
 * returns NULL; the outcome is in ctx->rc and ctx->res. */
void *worker_main(void *arg);

uint64_t bench_now_ns(void);

#endif
