/*
 * svg_latency.h — latency over time: p50 and p99 of each 100 ms interval
 * of a job (timeline.h) as two lines on a logarithmic latency axis, with
 * the operations completed per interval as grey bars behind them (their
 * own linear axis, on the right).  An interval in which nothing completed
 * (a write stop, a stalled daemon) breaks the lines and is shaded red.
 *
 * Thread safety: writes only to out.
 */
#ifndef BENCH_SVG_LATENCY_H
#define BENCH_SVG_LATENCY_H

#include <stddef.h>
#include <stdio.h>

#include "timeline.h"

typedef struct svg_latency_opts {
    const char *title;      /* NULL: "latency over time" */
    const char *subtitle;   /* NULL: none */
    int width, height;      /* 0: 1200 x 480 */
} svg_latency_opts;

/* Draws pts[0..n) (sorted by interval, as timeline_points returns them).
 * Errors: -EIO (writing out failed). */
int svg_latency_chart(const timeline_point *pts, size_t n, FILE *out,
                      const svg_latency_opts *opts);

#endif
