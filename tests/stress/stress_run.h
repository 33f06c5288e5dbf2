/*
 * stress_run.h — the stress driver's cycle loop (stress.c has the command
 * line and the overview).
 */
#ifndef STRESS_RUN_H
#define STRESS_RUN_H

#include <stdbool.h>
#include <stdint.h>

typedef struct stress_opts {
    const char *lsmd;       /* daemon binary (built with kill points) */
    double duration;        /* seconds: no new cycle starts after this */
    long max_cycles;        /* 0: no limit */
    unsigned clients;       /* 1..99 */
    uint32_t keys;          /* per client */
    uint64_t seed;
    const char *dir;        /* NULL: a temp dir */
    bool keep, keep_going, save_crash;
    bool inject;            /* self-test: lose WAL tails (see --inject) */
} stress_opts;

/* Runs cycles under root (an existing directory) until the duration or
 * cycle limit, then the clean-stop cycle; prints per-cycle lines and the
 * summary on stdout, problems on stderr.
 * Returns 0 when every must-be-zero count is zero, 1 when one is not,
 * -1 when the run could not be set up (or the daemon never started). */
int stress_run(const stress_opts *o, const char *root);

#endif
