/* svg_latency.c — see svg_latency.h. */
#include "svg_latency.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>

#include "viz/svg_common.h"

#define ML 78
#define MR 78
#define MT 70
#define MB 48

typedef struct frame {
    double x0, y0, w, h;      /* plot area */
    uint32_t iv0, niv;        /* intervals shown: [iv0, iv0 + niv) */
    double lo, hi;            /* log10 of the latency axis range (ns) */
    double rate_max;          /* ops/s at the top of the right axis */
} frame;

static double x_of(const frame *fr, double iv)
{
    return fr->x0 + (iv - fr->iv0) / fr->niv * fr->w;
}

static double y_lat(const frame *fr, double ns)
{
    double l = log10(ns < 1 ? 1 : ns);
    return fr->y0 + fr->h - (l - fr->lo) / (fr->hi - fr->lo) * fr->h;
}

static double y_rate(const frame *fr, double r)
{
    return fr->y0 + fr->h - r / fr->rate_max * fr->h;
}

/* One polyline per run of consecutive intervals. */
static void line(FILE *f, const frame *fr, const timeline_point *p, size_t n, bool p99,
                 const char *colour)
{
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && p[j].interval == p[j - 1].interval + 1)
            j++;
        if (j - i == 1) {
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\"/>\n",
                    x_of(fr, p[i].interval + 0.5), y_lat(fr, (double)(p99 ? p[i].p99 : p[i].p50)),
                    colour);
        } else {
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" "
                       "stroke-linejoin=\"round\" points=\"", colour);
            for (size_t k = i; k < j; k++)
                fprintf(f, "%.1f,%.1f ", x_of(fr, p[k].interval + 0.5),
                        y_lat(fr, (double)(p99 ? p[k].p99 : p[k].p50)));
            fputs("\"/>\n", f);
        }
        i = j;
    }
}

static void axes(FILE *f, const frame *fr)
{
    char buf[32];
    /* Left: latency, log scale, ticks at 1, 2, 5 x 10^k. */
    for (int d = (int)floor(fr->lo); d <= (int)ceil(fr->hi); d++) {
        static const double m[3] = { 1, 2, 5 };
        for (int k = 0; k < 3; k++) {
            double v = m[k] * pow(10, d), l = log10(v);
            if (l < fr->lo - 1e-9 || l > fr->hi + 1e-9)
                continue;
            double y = y_lat(fr, v);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                       "stroke-width=\"0.6\"/>\n",
                    fr->x0, y, fr->x0 + fr->w, y, k == 0 ? "#c8c8c8" : "#ececec");
            /* 1, 2, 5 x 10^k: "%g" prints them without trailing zeros */
            if (v < 1e3)
                snprintf(buf, sizeof buf, "%g ns", v);
            else if (v < 1e6)
                snprintf(buf, sizeof buf, "%g us", v / 1e3);
            else if (v < 1e9)
                snprintf(buf, sizeof buf, "%g ms", v / 1e6);
            else
                snprintf(buf, sizeof buf, "%g s", v / 1e9);
            svg_text(f, fr->x0 - 6, y + 4, "end", 11, "#333", "%s", buf);
        }
    }
    fprintf(f, "<text x=\"16\" y=\"%.1f\" font-size=\"11\" fill=\"#333\" text-anchor=\"middle\" "
               "transform=\"rotate(-90 16 %.1f)\">latency (log scale)</text>\n",
            fr->y0 + fr->h / 2, fr->y0 + fr->h / 2);
    /* Right: operations per second, linear. */
    double step = svg_nice_step(fr->rate_max, 5);
    for (double r = 0; r <= fr->rate_max + step * 1e-9; r += step) {
        double y = y_rate(fr, r);
        if (r >= 1e6)
            snprintf(buf, sizeof buf, "%.1fM", r / 1e6);
        else if (r >= 1e3)
            snprintf(buf, sizeof buf, "%.0fK", r / 1e3);
        else
            snprintf(buf, sizeof buf, "%.0f", r);
        svg_text(f, fr->x0 + fr->w + 6, y + 4, "start", 11, "#777", "%s", buf);
    }
    double xr = fr->x0 + fr->w + MR - 14;
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#777\" text-anchor=\"middle\" "
               "transform=\"rotate(90 %.1f %.1f)\">operations / s</text>\n",
            xr, fr->y0 + fr->h / 2, xr, fr->y0 + fr->h / 2);
    /* Bottom: time. */
    double span = fr->niv * (TIMELINE_INTERVAL_NS / 1e9);
    double ts = svg_nice_step(span, 10);
    double y = fr->y0 + fr->h;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\"/>\n",
            fr->x0, y, fr->x0 + fr->w, y);
    for (double t = 0; t <= span + ts * 1e-9; t += ts) {
        double x = fr->x0 + t / span * fr->w;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\"/>\n", x,
                y, x, y + 4);
        svg_text(f, x, y + 17, "middle", 11, "#333", "%s",
                 svg_fmt_tick(buf, sizeof buf, t + fr->iv0 * (TIMELINE_INTERVAL_NS / 1e9), ts));
    }
    svg_text(f, fr->x0 + fr->w / 2, y + 36, "middle", 11, "#555",
             "time since the job started (100 ms intervals)");
}

static void legend(FILE *f, double x, double y)
{
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f77b4\" "
               "stroke-width=\"2\"/>\n", x, y - 4, x + 22, y - 4);
    svg_text(f, x + 27, y, "start", 11, "#333", "p50");
    x += 62;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" "
               "stroke-width=\"2\"/>\n", x, y - 4, x + 22, y - 4);
    svg_text(f, x + 27, y, "start", 11, "#333", "p99");
    x += 62;
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"11\" fill=\"#d9d9d9\"/>\n", x,
            y - 10);
    svg_text(f, x + 19, y, "start", 11, "#333", "operations / s (right axis)");
    x += 190;
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"11\" fill=\"#fbd5d5\"/>\n", x,
            y - 10);
    svg_text(f, x + 19, y, "start", 11, "#333", "nothing completed (stall)");
}

int svg_latency_chart(const timeline_point *p, size_t n, FILE *f, const svg_latency_opts *o)
{
    int W = o && o->width > 0 ? o->width : 1200, H = o && o->height > 0 ? o->height : 480;
    frame fr = { ML, MT, W - ML - MR, H - MT - MB, 0, 1, 2, 3, 1 };
    double lo = INFINITY, hi = 0, rmax = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i].p50 > 0 && log10((double)p[i].p50) < lo)
            lo = log10((double)p[i].p50);
        if (p[i].p99 > 0 && log10((double)p[i].p99) > hi)
            hi = log10((double)p[i].p99);
        double r = (double)p[i].count / (TIMELINE_INTERVAL_NS / 1e9);
        if (r > rmax)
            rmax = r;
    }
    if (n) {
        fr.iv0 = 0;
        fr.niv = p[n - 1].interval + 1;
        fr.lo = floor(isfinite(lo) ? lo : 2);
        fr.hi = ceil(hi > fr.lo ? hi : fr.lo + 1);
        if (fr.hi <= fr.lo)
            fr.hi = fr.lo + 1;
        double step = svg_nice_step(rmax, 5);
        fr.rate_max = rmax > 0 ? ceil(rmax / step) * step : 1;
    }
    svg_begin(f, W, H);
    svg_text(f, ML, 22, "start", 15, "#111", "%s", o && o->title ? o->title : "latency over time");
    if (o && o->subtitle)
        svg_text(f, ML, 41, "start", 11, "#444", "%s", o->subtitle);
    legend(f, ML, 60);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fcfcfc\" "
               "stroke=\"#bbb\"/>\n", fr.x0, fr.y0, fr.w, fr.h);
    if (n == 0) {
        svg_text(f, fr.x0 + fr.w / 2, fr.y0 + fr.h / 2, "middle", 13, "#888",
                 "no operations recorded");
        svg_end(f);
        return ferror(f) ? -EIO : 0;
    }
    /* Stalls: runs of intervals without completions, inside the job. */
    for (size_t i = 1; i < n; i++) {
        if (p[i].interval > p[i - 1].interval + 1) {
            double x1 = x_of(&fr, p[i - 1].interval + 1), x2 = x_of(&fr, p[i].interval);
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                       "fill=\"#fbd5d5\"><title>nothing completed for %.1f s</title></rect>\n",
                    x1, fr.y0, x2 - x1, fr.h,
                    (p[i].interval - p[i - 1].interval - 1) * (TIMELINE_INTERVAL_NS / 1e9));
        }
    }
    /* Throughput bars. */
    double bw = fr.w / fr.niv;
    for (size_t i = 0; i < n; i++) {
        double r = (double)p[i].count / (TIMELINE_INTERVAL_NS / 1e9), y = y_rate(&fr, r);
        fprintf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"#d9d9d9\"/>\n",
                x_of(&fr, p[i].interval) + (bw > 3 ? 0.5 : 0), y, bw > 3 ? bw - 1 : bw,
                fr.y0 + fr.h - y);
    }
    axes(f, &fr);
    line(f, &fr, p, n, true, "#d62728");
    line(f, &fr, p, n, false, "#1f77b4");
    svg_end(f);
    return ferror(f) ? -EIO : 0;
}
