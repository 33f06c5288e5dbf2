/* report.c — see report.h. */
#include "report.h"

#include <string.h>

#include "lsm.h" /* LSM_VERSION */

void report_fill(job_report *j, const bench_config *cfg, const char *wl_name,
                 const char *tgt, const run_output *o)
{
    memset(j, 0, sizeof *j);
    snprintf(j->job, sizeof j->job, "%s", cfg->name);
    snprintf(j->workload, sizeof j->workload, "%s", wl_name);
    snprintf(j->target, sizeof j->target, "%s", tgt);
    j->clients = cfg->clients;
    j->threads = cfg->threads;
    j->iodepth = cfg->iodepth;
    j->sync = cfg->sync;
    j->seconds = o->seconds;
    j->error = o->error;
    j->interrupted = o->interrupted;
    j->cold_memory = cfg->cold ? cfg->cold_memory : 0;
    snprintf(j->cold_mode, sizeof j->cold_mode, "%s", cfg->cold ? cfg->cold_mode : "");
    if (o->res) {
        j->c = o->res->c;
        memcpy(j->cls, o->res->h, sizeof j->cls);
        result_headline(o->res, &j->all, &j->ops, &j->bytes);
        j->batch = j->c.batches ? cfg->batch : 0;
    } else {
        histogram_init(&j->all);
        for (int i = 0; i < NCLASS; i++)
            histogram_init(&j->cls[i]);
    }
}

double report_ops_per_sec(const job_report *j)
{
    return j->seconds > 0 ? (double)j->ops / j->seconds : 0;
}

static const char *us(char *buf, size_t cap, uint64_t ns)
{
    double u = (double)ns / 1e3;
    snprintf(buf, cap, u < 10 ? "%.2f" : u < 1000 ? "%.1f" : "%.0f", u);
    return buf;
}

static const char *thousands(char *buf, size_t cap, uint64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < cap; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
    return buf;
}

static void latency_line(FILE *f, const char *what, const histogram *h)
{
    static const double ps[] = { 50, 90, 99, 99.9 };
    uint64_t v[4];
    histogram_percentiles(h, ps, 4, v);
    char a[6][24];
    fprintf(f, "   %-8s min %s  avg %s  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (us)\n", what,
            us(a[0], 24, h->count ? h->min : 0), us(a[1], 24, (uint64_t)histogram_mean(h)),
            us(a[2], 24, v[0]), us(a[3], 24, v[1]), us(a[4], 24, v[2]), us(a[5], 24, v[3]),
            us((char[24]){ 0 }, 24, h->max));
}

void report_job_text(FILE *f, const job_report *j)
{
    char a[32], b[32], c[32];
    double ops_s = report_ops_per_sec(j);
    fprintf(f, "== %s", j->workload);
    if (j->job[0] && strcmp(j->job, j->workload) != 0)
        fprintf(f, " [%s]", j->job);
    fprintf(f, " on %s (%d client%s x %d thread%s, iodepth %d%s)\n", j->target, j->clients,
            j->clients > 1 ? "s" : "", j->threads, j->threads > 1 ? "s" : "", j->iodepth,
            j->sync ? ", sync" : "");
    fprintf(f, "   %s ops/s  %.1f MB/s  %s ops in %.3f s\n", thousands(a, sizeof a, (uint64_t)(ops_s + 0.5)),
            j->seconds > 0 ? (double)j->bytes / j->seconds / 1e6 : 0,
            thousands(b, sizeof b, j->ops), j->seconds);
    latency_line(f, "latency", &j->all);
    int classes = 0;
    for (int i = 0; i < NCLASS; i++)
        classes += j->c.ops[i] > 0 && i != CLASS_BGWRITE;
    for (int i = 0; i < NCLASS; i++) {
        if (!j->c.ops[i] || (classes < 2 && i != CLASS_BGWRITE))
            continue;
        char name[32];
        snprintf(name, sizeof name, "%s", op_class_name(i));
        fprintf(f, "   %-8s %s ops, %s ops/s\n", name, thousands(a, sizeof a, j->c.ops[i]),
                thousands(c, sizeof c, j->seconds > 0 ? (uint64_t)((double)j->c.ops[i] / j->seconds) : 0));
        latency_line(f, "", &j->cls[i]);
    }
    if (j->c.batches)
        fprintf(f, "   %s batches of up to %d keys, %.0f batches/s (latency is per batch)\n",
                thousands(a, sizeof a, j->c.batches), j->batch,
                j->seconds > 0 ? (double)j->c.batches / j->seconds : 0);
    if (j->compacted)
        fprintf(f, "   full compaction wrote %.1f MB (%.1f MB/s), read %.1f MB\n",
                (double)j->compact_written / 1e6,
                j->seconds > 0 ? (double)j->compact_written / j->seconds / 1e6 : 0,
                (double)j->compact_read / 1e6);
    if (j->cold_memory)
        fprintf(f, "   cold: page cache dropped before the run, %s of %llu MiB\n",
                strcmp(j->cold_mode, "direct") == 0 ? "direct I/O, memory bound"
                                                     : "memory cgroup",
                (unsigned long long)(j->cold_memory >> 20));
    if (j->c.found + j->c.notfound)
        fprintf(f, "   found %s of %s keys read\n", thousands(a, sizeof a, j->c.found),
                thousands(b, sizeof b, j->c.found + j->c.notfound));
    if (j->error)
        fprintf(f, "   STOPPED by an error: %s (%llu failed operations)\n",
                target_strerror(j->error), (unsigned long long)j->c.errors);
    if (j->interrupted)
        fprintf(f, "   interrupted\n");
    if (j->svg_latency[0])
        fprintf(f, "   pictures: %s%s%s\n", j->svg_latency, j->svg_schedule[0] ? ", " : "",
                j->svg_schedule);
}

void report_target_text(FILE *f, const target_report *t)
{
    const db_summary *s = &t->s;
    fprintf(f, "-- %s:", t->target);
    if (t->rc) {
        fprintf(f, " no statistics (%s)\n", target_strerror(t->rc));
        return;
    }
    if (s->have & HAVE_WA)
        fprintf(f, " write amp %.2f,", s->write_amp);
    else
        fprintf(f, " write amp n/a,");
    if (s->have & HAVE_SA)
        fprintf(f, " space amp %.2f,", s->space_amp);
    else
        fprintf(f, " space amp n/a,");
    if (s->have & HAVE_STALL)
        fprintf(f, " stall %.3f s (%llu stops, %llu slowdowns),", s->stall_s,
                (unsigned long long)s->stall_stops, (unsigned long long)s->stall_slowdowns);
    else
        fprintf(f, " stall n/a,");
    if (s->have & HAVE_CACHE)
        fprintf(f, " cache hit rate %.1f%%\n", 100 * s->cache_hit_rate);
    else
        fprintf(f, " cache hit rate n/a\n");
    if (s->note[0])
        fprintf(f, "   (%s)\n", s->note);
}

/* ---- comparison ------------------------------------------------------------ */

static int scheme_rank(const char *tgt)
{
    if (strncmp(tgt, "rocksdb:", 8) == 0)
        return 0;
    if (strncmp(tgt, "embedded:", 9) == 0)
        return 1;
    if (strncmp(tgt, "lsmd:", 5) == 0)
        return 2;
    return 3;
}

static void scheme_label(char *buf, size_t cap, const char *tgt, const char (*all)[BENCH_PATH_MAX],
                         int n, int idx)
{
    const char *colon = strchr(tgt, ':');
    int len = colon ? (int)(colon - tgt) : (int)strlen(tgt);
    int dup = 0, k = 0;
    for (int i = 0; i < n; i++)
        if (strncmp(all[i], tgt, (size_t)len) == 0 && all[i][len] == ':') {
            dup++;
            if (i < idx)
                k++;
        }
    if (dup > 1)
        snprintf(buf, cap, "%.*s#%d", len, tgt, k + 1);
    else
        snprintf(buf, cap, "%.*s", len, tgt);
}

static const job_report *find(const job_report *j, size_t n, const char *job, const char *wl,
                              const char *tgt)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(j[i].job, job) && !strcmp(j[i].workload, wl) && !strcmp(j[i].target, tgt))
            return &j[i];
    return NULL;
}

void report_compare_text(FILE *f, const job_report *j, size_t n)
{
    enum { MAXT = BENCH_MAX_TARGETS };
    char targets[MAXT][BENCH_PATH_MAX];
    int nt = 0;
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (int k = 0; k < nt; k++)
            seen |= strcmp(targets[k], j[i].target) == 0;
        if (!seen && nt < MAXT)
            snprintf(targets[nt++], BENCH_PATH_MAX, "%s", j[i].target);
    }
    if (nt < 2)
        return;
    char label[MAXT][32];
    for (int k = 0; k < nt; k++)
        scheme_label(label[k], sizeof label[k], targets[k], targets, nt, k);
    /* Ratio columns: num over den for every pair. */
    int pairs[MAXT * MAXT][2], np = 0;
    for (int a = 0; a < nt; a++)
        for (int b = a + 1; b < nt; b++) {
            bool b_over_a = scheme_rank(targets[b]) >= scheme_rank(targets[a]);
            pairs[np][0] = b_over_a ? b : a;
            pairs[np][1] = b_over_a ? a : b;
            np++;
        }
    fprintf(f, "\n%-22s", "comparison");
    for (int k = 0; k < nt; k++)
        fprintf(f, " %21s", label[k]);
    fputc('\n', f);
    fprintf(f, "%-22s", "workload");
    for (int k = 0; k < nt; k++)
        fprintf(f, " %11s %9s", "ops/s", "p99 us");
    for (int p = 0; p < np; p++) {
        char h[72];
        snprintf(h, sizeof h, "%s/%s", label[pairs[p][0]], label[pairs[p][1]]);
        fprintf(f, " %17s", h);
    }
    fputc('\n', f);
    for (size_t i = 0; i < n; i++) {
        bool first = true;
        for (size_t q = 0; q < i; q++)
            first &= !(strcmp(j[q].job, j[i].job) == 0 && strcmp(j[q].workload, j[i].workload) == 0);
        if (!first)
            continue;
        char row[96];
        if (j[i].job[0] && strcmp(j[i].job, j[i].workload))
            snprintf(row, sizeof row, "%s [%s]", j[i].workload, j[i].job);
        else
            snprintf(row, sizeof row, "%s", j[i].workload);
        fprintf(f, "%-22.22s", row);
        double ops[MAXT];
        for (int k = 0; k < nt; k++) {
            const job_report *r = find(j, n, j[i].job, j[i].workload, targets[k]);
            ops[k] = r ? report_ops_per_sec(r) : 0;
            char a[32], b[24];
            if (r)
                fprintf(f, " %11s %9s", thousands(a, sizeof a, (uint64_t)(ops[k] + 0.5)),
                        us(b, sizeof b, histogram_percentile(&r->all, 99)));
            else
                fprintf(f, " %11s %9s", "-", "-");
        }
        for (int p = 0; p < np; p++) {
            double num = ops[pairs[p][0]], den = ops[pairs[p][1]];
            if (num > 0 && den > 0)
                fprintf(f, " %16.2fx", num / den);
            else
                fprintf(f, " %17s", "-");
        }
        fputc('\n', f);
    }
}

/* ---- JSON -------------------------------------------------------------------- */

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void jhist(FILE *f, const histogram *h)
{
    char buf[512];
    histogram_json(h, buf, sizeof buf);
    fputs(buf, f);
}

static void jnum_or_null(FILE *f, bool have, double v)
{
    if (have)
        fprintf(f, "%.4f", v);
    else
        fputs("null", f);
}

/* "options": what the run was asked, so a JSON file says how it was made:
 * each job's every key (bench_config_key) and the run's targets and
 * svg-dir. */
static void options_json(FILE *f, const bench_plan *plan)
{
    fputs("\"options\":{\"targets\":[", f);
    for (int i = 0; i < plan->g.ntargets; i++) {
        fputs(i ? "," : "", f);
        jstr(f, plan->g.targets[i]);
    }
    fputs("],\"svg-dir\":", f);
    if (plan->g.svg_dir[0])
        jstr(f, plan->g.svg_dir);
    else
        fputs("null", f);
    fputs(",\"jobs\":[", f);
    for (size_t i = 0; i < plan->njobs; i++) {
        fputs(i ? ",\n{" : "\n{", f);
        char buf[BENCH_PATH_MAX + 64];
        bool str;
        const char *key;
        int k = 0;
        for (size_t o = 0; (key = bench_config_key(o, buf, sizeof buf, &plan->jobs[i], &str)); o++) {
            if (!key[0])
                continue;
            fprintf(f, "%s\"%s\":", k++ ? "," : "", key);
            if (str)
                jstr(f, buf);
            else
                fputs(buf, f);
        }
        fputc('}', f);
    }
    fputs("]}", f);
}

void report_json(FILE *f, const job_report *j, size_t n, const target_report *t, size_t nt,
                 const bench_plan *plan)
{
    fprintf(f, "{\"lsmbench\":1,\"version\":\"%s\",", LSM_VERSION);
    options_json(f, plan);
    fputs(",\n\"jobs\":[", f);
    for (size_t i = 0; i < n; i++) {
        const job_report *r = &j[i];
        fputs(i ? ",\n{" : "\n{", f);
        fputs("\"job\":", f);
        if (r->job[0])
            jstr(f, r->job);
        else
            fputs("null", f);
        fputs(",\"workload\":", f);
        jstr(f, r->workload);
        fputs(",\"target\":", f);
        jstr(f, r->target);
        fprintf(f, ",\"clients\":%d,\"threads\":%d,\"iodepth\":%d,\"sync\":%s,\"seconds\":%.6f,"
                   "\"ops\":%llu,\"ops_per_sec\":%.1f,\"mb_per_sec\":%.3f,\"found\":%llu,"
                   "\"notfound\":%llu,\"errors\":%llu,\"error\":",
                r->clients, r->threads, r->iodepth, r->sync ? "true" : "false", r->seconds,
                (unsigned long long)r->ops, report_ops_per_sec(r),
                r->seconds > 0 ? (double)r->bytes / r->seconds / 1e6 : 0,
                (unsigned long long)r->c.found, (unsigned long long)r->c.notfound,
                (unsigned long long)r->c.errors);
        if (r->error)
            jstr(f, target_strerror(r->error));
        else
            fputs("null", f);
        fprintf(f, ",\"interrupted\":%s,", r->interrupted ? "true" : "false");
        if (r->c.batches)
            fprintf(f, "\"batch\":%d,\"batches\":%llu,\"batches_per_sec\":%.1f,", r->batch,
                    (unsigned long long)r->c.batches,
                    r->seconds > 0 ? (double)r->c.batches / r->seconds : 0);
        else
            fputs("\"batch\":null,\"batches\":null,\"batches_per_sec\":null,", f);
        if (r->compacted)
            fprintf(f, "\"compaction_written_bytes\":%llu,\"compaction_read_bytes\":%llu,",
                    (unsigned long long)r->compact_written, (unsigned long long)r->compact_read);
        else
            fputs("\"compaction_written_bytes\":null,\"compaction_read_bytes\":null,", f);
        if (r->cold_memory)
            fprintf(f, "\"cold\":{\"mode\":\"%s\",\"memory_bytes\":%llu},", r->cold_mode,
                    (unsigned long long)r->cold_memory);
        else
            fputs("\"cold\":null,", f);
        fputs("\"latency_ns\":", f);
        jhist(f, &r->all);
        fputs(",\"classes\":{", f);
        int k = 0;
        for (int c = 0; c < NCLASS; c++) {
            if (!r->c.ops[c])
                continue;
            fprintf(f, "%s\"%s\":{\"ops\":%llu,\"latency_ns\":", k++ ? "," : "", op_class_name(c),
                    (unsigned long long)r->c.ops[c]);
            jhist(f, &r->cls[c]);
            fputc('}', f);
        }
        fputs("},\"svg\":{\"latency\":", f);
        if (r->svg_latency[0])
            jstr(f, r->svg_latency);
        else
            fputs("null", f);
        fputs(",\"schedule\":", f);
        if (r->svg_schedule[0])
            jstr(f, r->svg_schedule);
        else
            fputs("null", f);
        fputs("}}", f);
    }
    fputs("],\n\"targets\":[", f);
    for (size_t i = 0; i < nt; i++) {
        const db_summary *s = &t[i].s;
        fputs(i ? ",\n{" : "\n{", f);
        fputs("\"target\":", f);
        jstr(f, t[i].target);
        bool ok = t[i].rc == 0;
        fputs(",\"write_amplification\":", f);
        jnum_or_null(f, ok && (s->have & HAVE_WA), s->write_amp);
        fputs(",\"space_amplification\":", f);
        jnum_or_null(f, ok && (s->have & HAVE_SA), s->space_amp);
        fputs(",\"stall_seconds\":", f);
        jnum_or_null(f, ok && (s->have & HAVE_STALL), s->stall_s);
        fprintf(f, ",\"stall_stops\":%llu,\"stall_slowdowns\":%llu,\"cache_hit_rate\":",
                (unsigned long long)s->stall_stops, (unsigned long long)s->stall_slowdowns);
        jnum_or_null(f, ok && (s->have & HAVE_CACHE), s->cache_hit_rate);
        fprintf(f, ",\"table_bytes\":%llu,\"note\":", (unsigned long long)s->table_bytes);
        jstr(f, ok ? s->note : target_strerror(t[i].rc));
        fputc('}', f);
    }
    fputs("]}\n", f);
}
