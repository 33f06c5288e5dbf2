/* svg_common.c — see svg_common.h. */
#include "viz/svg_common.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

void svg_begin(FILE *f, int w, int h)
{
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
            "font-size=\"12\">\n"
            "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
            w, h, w, h, w, h);
}

void svg_end(FILE *f)
{
    fputs("</svg>\n", f);
}

void svg_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20)
                fputc(*s, f);
        }
    }
}

void svg_text(FILE *f, double x, double y, const char *anchor, int size, const char *fill,
              const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" fill=\"%s\">",
            x, y, anchor, size, fill);
    svg_escape(f, buf);
    fputs("</text>\n", f);
}

double svg_nice_step(double range, int target)
{
    if (!(range > 0) || target < 1)
        return 1;
    double raw = range / target;
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;
    double step = m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10;
    return step * p;
}

const char *svg_fmt_bytes(char *buf, size_t cap, double b)
{
    static const char units[] = "BKMGTP";
    int u = 0;
    while (b >= 1024 && u < 5) {
        b /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%.0fB", b);
    else
        snprintf(buf, cap, b < 10 ? "%.1f%c" : "%.0f%c", b, units[u]);
    return buf;
}

const char *svg_fmt_seconds(char *buf, size_t cap, double s)
{
    if (s < 1)
        snprintf(buf, cap, "%.0f ms", s * 1e3);
    else if (s < 120)
        snprintf(buf, cap, s < 10 ? "%.2f s" : "%.1f s", s);
    else
        snprintf(buf, cap, "%d m %02d s", (int)(s / 60), (int)fmod(s, 60));
    return buf;
}

const char *svg_fmt_tick(char *buf, size_t cap, double t, double step)
{
    if (step >= 1)
        snprintf(buf, cap, "%.0f s", t);
    else if (step >= 0.1)
        snprintf(buf, cap, "%.1f s", t);
    else if (step >= 0.001)
        snprintf(buf, cap, "%.0f ms", t * 1e3);
    else
        snprintf(buf, cap, "%.2f ms", t * 1e3);
    return buf;
}

const char *svg_fmt_ns(char *buf, size_t cap, double ns)
{
    if (ns < 1e3)
        snprintf(buf, cap, "%.0f ns", ns);
    else if (ns < 1e6)
        snprintf(buf, cap, ns < 1e4 ? "%.2f us" : "%.1f us", ns / 1e3);
    else if (ns < 1e9)
        snprintf(buf, cap, ns < 1e7 ? "%.2f ms" : "%.1f ms", ns / 1e6);
    else
        snprintf(buf, cap, "%.2f s", ns / 1e9);
    return buf;
}
