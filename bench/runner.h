/*
 * runner.h — runs one workload on one open target: sets up the shared
 * state, starts the workers (threads in this process, or --clients forked
 * processes of --threads threads each for a multiprocess target), starts
 * them together, shows progress, gathers the flush/compaction events and
 * merges every worker's result.
 *
 * Client processes: each child opens the target itself (OPEN_CLIENT),
 * runs its threads, merges their results and writes one message to its
 * pipe (result.h); the parent reads all pipes as data arrives (so no
 * child blocks on a full pipe) and merges with histogram_merge.  A child
 * that dies without a complete message fails the job.
 *
 * Signals: SIGINT/SIGTERM set runner_interrupted (main installs the
 * handler); the running job then stops early and reports what it did.
 *
 * Thread safety: one runner at a time (the parent's main thread).
 */
#ifndef BENCH_RUNNER_H
#define BENCH_RUNNER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench_config.h"
#include "event_log.h"
#include "result.h"
#include "target.h"
#include "timeline.h"
#include "workload.h"

extern volatile sig_atomic_t runner_interrupted;

typedef struct runner_args {
    const bench_config *cfg;
    const workload *wl;
    const char *target_arg;  /* what follows "scheme:" (clients reopen it) */
    target *t;               /* the parent's handle */
    bool progress;           /* draw the one-line progress display */
    const char *label;       /* for the progress line */
    event_log *events;       /* NULL, or gathered into (targets with events) */
    uint64_t seed_salt;      /* differs per run, so that consecutive jobs
                                draw different keys (db_bench: a seed per
                                benchmark) */
} runner_args;

typedef struct run_output {
    run_result *res;         /* every worker of every client, merged */
    double seconds;          /* first start to last end of the measured workers */
    timeline_point *pts;     /* latency per 100 ms, sorted */
    size_t npts;
    uint64_t wall_start_us, wall_end_us; /* the run's wall-clock window */
    int error;               /* the first failure, 0 if none */
    bool interrupted;
} run_output;

/* Runs and fills *out (free with run_output_free; also after an error).
 * Errors: -ENOMEM, -errno (mmap, fork, pipe, pthread), -ECHILD (a client
 * died), or the first operation failure (also in out->error). */
int runner_run(const runner_args *a, run_output *out);
void run_output_free(run_output *out);

#endif
