/* svg_schedule.c — see svg_schedule.h. */
#include "viz/svg_schedule.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "viz/json_scan.h"
#include "viz/svg_common.h"

#define MAX_LEVELS 16
#define MAX_SUBROWS 12
#define ROW_H 24
#define LANE_PAD 5
#define X0 64
#define RIGHT 24
#define TOP 78
#define BOTTOM 44

typedef struct ev {
    uint64_t id, start, end;
    char kind[16], reason[32], style[16];
    int in_mask, out_level, status, row;
    double files_in, files_out, bytes_in, bytes_out;
    bool running;
} ev;

static int parse_events(const char *json, ev **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const char *arr = json_find(json, "events");
    if (!arr || *json_ws(arr) != '[')
        return -EINVAL;
    size_t cap = 0;
    ev *v = NULL;
    for (const char *e = json_array_first(arr); e; e = json_array_next(e)) {
        if (*e != '{')
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            ev *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(v);
                return -ENOMEM;
            }
            v = nv;
        }
        ev *x = &v[(*n)++];
        memset(x, 0, sizeof *x);
        x->id = (uint64_t)json_num_or(e, "id", 0);
        x->start = (uint64_t)json_num_or(e, "start_us", 0);
        x->end = (uint64_t)json_num_or(e, "end_us", 0);
        x->running = x->end == 0;
        json_string(json_get(e, "kind"), x->kind, sizeof x->kind);
        json_string(json_get(e, "reason"), x->reason, sizeof x->reason);
        json_string(json_get(e, "style"), x->style, sizeof x->style);
        x->in_mask = (int)json_num_or(e, "input_levels", 0);
        x->out_level = (int)json_num_or(e, "output_level", 0);
        if (x->out_level < 0 || x->out_level >= MAX_LEVELS)
            x->out_level = x->out_level < 0 ? 0 : MAX_LEVELS - 1;
        x->status = (int)json_num_or(e, "status", 0);
        x->files_in = json_num_or(e, "files_in", 0);
        x->files_out = json_num_or(e, "files_out", 0);
        x->bytes_in = json_num_or(e, "bytes_in", 0);
        x->bytes_out = json_num_or(e, "bytes_out", 0);
    }
    *out = v;
    return 0;
}

static int cmp_start(const void *a, const void *b)
{
    const ev *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static const char *fill_of(const ev *e)
{
    if (strcmp(e->kind, "flush") == 0)
        return "#4a90d9";
    if (strcmp(e->kind, "move") == 0)
        return "#9e9e9e";
    return strcmp(e->style, "tiered") == 0 ? "#3aa76d" : "#e8913a";
}

static void levels_text(char *buf, size_t cap, int mask)
{
    size_t n = 0;
    buf[0] = 0;
    if (mask == 0) {
        snprintf(buf, cap, "memtable");
        return;
    }
    for (int l = 0; l < 31 && n + 6 < cap; l++)
        if (mask & (1 << l))
            n += (size_t)snprintf(buf + n, cap - n, "%sL%d", n ? "+" : "", l);
}

static void legend(FILE *f, double x, double y)
{
    static const struct {
        const char *fill, *label;
        bool hatch;
    } items[] = {
        { "#4a90d9", "flush", false },
        { "#e8913a", "compaction (leveled)", false },
        { "#3aa76d", "compaction (tiered)", true },
        { "#9e9e9e", "trivial move", false },
    };
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"11\" rx=\"2\" "
                   "fill=\"%s\"/>\n", x, y - 10, items[i].fill);
        if (items[i].hatch)
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"11\" "
                       "fill=\"url(#hatch)\"/>\n", x, y - 10);
        svg_text(f, x + 19, y, "start", 11, "#333", "%s", items[i].label);
        x += 34 + 6.2 * (double)strlen(items[i].label);
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"11\" rx=\"2\" fill=\"#fff\" "
               "stroke=\"#d0021b\" stroke-width=\"2\"/>\n", x, y - 10);
    svg_text(f, x + 19, y, "start", 11, "#333", "failed");
    x += 70;
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"11\" rx=\"2\" fill=\"#fff\" "
               "stroke=\"#333\" stroke-dasharray=\"3,2\"/>\n", x, y - 10);
    svg_text(f, x + 19, y, "start", 11, "#333", "running");
}

int svg_compaction_schedule(const char *events_json, FILE *out)
{
    return svg_compaction_schedule_ex(events_json, out, NULL);
}

int svg_compaction_schedule_ex(const char *json, FILE *f, const svg_schedule_opts *o)
{
    ev *v;
    size_t n;
    int rc = parse_events(json, &v, &n);
    if (rc)
        return rc;
    if (n)
        qsort(v, n, sizeof *v, cmp_start);
    int W = o && o->width > 0 ? o->width : 1200;
    const char *title = o && o->title ? o->title : "flush / compaction schedule";

    /* Window. */
    uint64_t t0 = o && o->from_us ? o->from_us : UINT64_MAX, t1 = o ? o->to_us : 0;
    bool auto_t1 = t1 == 0;
    for (size_t i = 0; i < n; i++) {
        if (!(o && o->from_us) && v[i].start < t0)
            t0 = v[i].start;
        uint64_t e = v[i].running ? v[i].start : v[i].end;
        if (auto_t1 && e > t1)
            t1 = e;
    }
    if (t0 == UINT64_MAX)
        t0 = 0;
    if (t1 < t0 + 1000)
        t1 = t0 + 1000;
    double span = (double)(t1 - t0);

    /* Lanes and sub-rows: greedy, earliest start first. */
    int maxlvl = 0, rows[MAX_LEVELS] = { 0 };
    uint64_t row_end[MAX_LEVELS][MAX_SUBROWS] = { { 0 } };
    double flushed = 0, cread = 0, cwritten = 0;
    int nflush = 0, ncomp = 0, nmove = 0, nfail = 0;
    for (size_t i = 0; i < n; i++) {
        ev *e = &v[i];
        int l = e->out_level;
        if (l > maxlvl)
            maxlvl = l;
        for (int b = 0; b < MAX_LEVELS; b++)
            if ((e->in_mask & (1 << b)) && b > maxlvl)
                maxlvl = b;
        uint64_t end = e->running ? t1 : e->end;
        int r = 0;
        while (r < rows[l] && row_end[l][r] > e->start)
            r++;
        if (r == rows[l]) {
            if (rows[l] < MAX_SUBROWS)
                rows[l]++;
            else
                r = MAX_SUBROWS - 1; /* overlap in the last row rather than grow */
        }
        if (end > row_end[l][r])
            row_end[l][r] = end;
        e->row = r;
        if (e->status)
            nfail++;
        if (strcmp(e->kind, "flush") == 0)
            nflush++, flushed += e->bytes_out;
        else if (strcmp(e->kind, "move") == 0)
            nmove++;
        else
            ncomp++, cread += e->bytes_in, cwritten += e->bytes_out;
    }
    double lane_y[MAX_LEVELS + 1];
    double y = TOP;
    for (int l = 0; l <= maxlvl; l++) {
        lane_y[l] = y;
        y += (rows[l] > 0 ? rows[l] : 1) * ROW_H + 2 * LANE_PAD;
    }
    lane_y[maxlvl + 1] = y;
    int H = (int)y + BOTTOM;
    double plot_w = W - X0 - RIGHT;
#define XOF(t) (X0 + ((double)(t) - (double)t0) / span * plot_w)

    svg_begin(f, W, H);
    fputs("<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
          "patternTransform=\"rotate(45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" "
          "stroke=\"#ffffff\" stroke-width=\"2\" stroke-opacity=\"0.55\"/></pattern></defs>\n",
          f);
    svg_text(f, X0, 22, "start", 15, "#111", "%s", title);
    char a[32], b[32], c[32], d[32];
    svg_text(f, X0, 42, "start", 11, "#444",
             "%d flushes (%s written), %d compactions (%s read, %s written), %d moves%s; "
             "window %s",
             nflush, svg_fmt_bytes(a, sizeof a, flushed), ncomp,
             svg_fmt_bytes(b, sizeof b, cread), svg_fmt_bytes(c, sizeof c, cwritten), nmove,
             nfail ? ", some FAILED" : "", svg_fmt_seconds(d, sizeof d, span / 1e6));
    legend(f, X0, 64);

    /* Lanes. */
    for (int l = 0; l <= maxlvl; l++) {
        double ly = lane_y[l], lh = lane_y[l + 1] - ly;
        fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                X0, ly, plot_w, lh, l % 2 ? "#f7f7f7" : "#efefef");
        svg_text(f, X0 - 10, ly + lh / 2 + 4, "end", 13, "#222", "L%d", l);
    }
    /* Time axis: ticks at nice steps from the window's start. */
    double span_s = span / 1e6, step = svg_nice_step(span_s, 10);
    double axis_y = lane_y[maxlvl + 1];
    fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\"/>\n", X0,
            axis_y, X0 + plot_w, axis_y);
    for (double t = 0; t <= span_s + step * 1e-9; t += step) {
        double x = X0 + t / span_s * plot_w;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\" "
                   "stroke-width=\"0.5\"/>\n", x, TOP, x, axis_y + 4);
        svg_text(f, x, axis_y + 17, "middle", 11, "#333", "%s", svg_fmt_tick(a, sizeof a, t, step));
    }
    svg_text(f, X0 + plot_w / 2, axis_y + 36, "middle", 11, "#555",
             "time since the window's start");

    /* Bars. */
    for (size_t i = 0; i < n; i++) {
        const ev *e = &v[i];
        uint64_t s = e->start < t0 ? t0 : e->start;
        uint64_t en = e->running ? t1 : e->end;
        if (en > t1)
            en = t1;
        if (en < s)
            en = s;
        double x = XOF(s), w = XOF(en) - x;
        if (w < 1.5)
            w = 1.5;
        double by = lane_y[e->out_level] + LANE_PAD + e->row * ROW_H + 2, bh = ROW_H - 4;
        char in[64], dur[32];
        levels_text(in, sizeof in, e->in_mask);
        fprintf(f, "<g><title>");
        char tip[400];
        snprintf(tip, sizeof tip,
                 "#%llu %s (%s, %s): %s -> L%d, %.0f files %s in -> %.0f files %s out, %s%s%s",
                 (unsigned long long)e->id, e->kind, e->reason, e->style, in, e->out_level,
                 e->files_in, svg_fmt_bytes(a, sizeof a, e->bytes_in), e->files_out,
                 svg_fmt_bytes(b, sizeof b, e->bytes_out),
                 e->running ? "running" : svg_fmt_seconds(dur, sizeof dur,
                                                           (double)(e->end - e->start) / 1e6),
                 e->status ? ", FAILED status " : "", e->status ? "" : "");
        svg_escape(f, tip);
        if (e->status)
            fprintf(f, "%d", e->status);
        fprintf(f, "</title>\n<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" rx=\"2\" "
                   "fill=\"%s\" fill-opacity=\"0.9\"",
                x, by, w, bh, fill_of(e));
        if (e->status)
            fputs(" stroke=\"#d0021b\" stroke-width=\"2\"", f);
        else if (e->running)
            fputs(" stroke=\"#333\" stroke-dasharray=\"3,2\"", f);
        fputs("/>\n", f);
        if (strcmp(e->style, "tiered") == 0 && strcmp(e->kind, "compaction") == 0)
            fprintf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
                       "fill=\"url(#hatch)\"/>\n", x, by, w, bh);
        /* The label, when the bar has room for it. */
        char label[64];
        if (e->running)
            snprintf(label, sizeof label, "running");
        else if (strcmp(e->kind, "flush") == 0)
            snprintf(label, sizeof label, "%s", svg_fmt_bytes(a, sizeof a, e->bytes_out));
        else
            snprintf(label, sizeof label, "%s\u2192%s", svg_fmt_bytes(a, sizeof a, e->bytes_in),
                     svg_fmt_bytes(b, sizeof b, e->bytes_out));
        double tw = 6.0 * (double)strlen(label);
        if (w >= tw + 6)
            svg_text(f, x + w / 2, by + bh / 2 + 4, "middle", 10, "#fff", "%s", label);
        fputs("</g>\n", f);
    }
    if (n == 0)
        svg_text(f, X0 + plot_w / 2, TOP + ROW_H, "middle", 13, "#888",
                 "no flush or compaction in this window");
    svg_end(f);
#undef XOF
    free(v);
    return ferror(f) ? -EIO : 0;
}
