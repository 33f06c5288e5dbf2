/*
 * svg_common.h — the few SVG primitives lsmbench's and lsmctl's pictures
 * share: document frame, escaped text, axis ticks, number formats.
 *
 * Output is plain SVG 1.1 (no scripts, no external fonts), readable by
 * browsers and by rsvg-convert / ImageMagick for PNGs.  Hover text uses
 * <title> elements.
 *
 * Thread safety: pure functions writing only to the FILE they are given.
 */
#ifndef LSM_VIZ_SVG_COMMON_H
#define LSM_VIZ_SVG_COMMON_H

#include <stddef.h>
#include <stdio.h>

/* Opens an SVG document of w x h pixels with a white background. */
void svg_begin(FILE *f, int w, int h);
void svg_end(FILE *f);

/* Writes s with &, <, >, " escaped (and control characters dropped). */
void svg_escape(FILE *f, const char *s);

/* <text> at (x, y); anchor "start" | "middle" | "end"; the formatted
 * string is escaped. */
void svg_text(FILE *f, double x, double y, const char *anchor, int size, const char *fill,
              const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* A tick step of 1, 2 or 5 x 10^k giving about target ticks over range. */
double svg_nice_step(double range, int target);

/* 1536 -> "1.5K", 3.2e9 -> "3.0G" (powers of 1024, for bytes). */
const char *svg_fmt_bytes(char *buf, size_t cap, double bytes);

/* Seconds as "850 ms", "12.3 s" or "2 m 05 s". */
const char *svg_fmt_seconds(char *buf, size_t cap, double s);

/* An axis label for t seconds on an axis ticked every step seconds, with
 * one precision for the whole axis: "0 s, 5 s, 10 s", "0.5 s", "20 ms". */
const char *svg_fmt_tick(char *buf, size_t cap, double t, double step);

/* Nanoseconds as "850 ns", "12.3 us", "4.1 ms", "2.00 s". */
const char *svg_fmt_ns(char *buf, size_t cap, double ns);

#endif
