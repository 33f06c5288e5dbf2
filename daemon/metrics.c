/* metrics.c — see metrics.h for the families and their meaning. */
#include "metrics.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_queue.h"
#include "wait.h"
#include "worker.h"

/* The text goes to an open_memstream; its size is bounded by construction
 * (a fixed set of families, a line per worker) and checked at the end. */

/* # HELP and # TYPE of one family. */
static void family(FILE *b, const char *name, const char *type, const char *help)
{
    fprintf(b, "# HELP lsmd_%s %s\n# TYPE lsmd_%s %s\n", name, help, name, type);
}

static void counter(FILE *b, const char *name, const char *help, uint64_t v)
{
    family(b, name, "counter", help);
    fprintf(b, "lsmd_%s %llu\n", name, (unsigned long long)v);
}

static void gauge(FILE *b, const char *name, const char *help, double v)
{
    family(b, name, "gauge", help);
    fprintf(b, "lsmd_%s %.9g\n", name, v);
}

static void gauge_i(FILE *b, const char *name, const char *help, long long v)
{
    family(b, name, "gauge", help);
    fprintf(b, "lsmd_%s %lld\n", name, v);
}

static void per_level(FILE *b, const char *name, const char *type, const char *help,
                      const uint64_t *u, const double *f)
{
    family(b, name, type, help);
    for (int l = 0; l < LSM_METRICS_LEVELS; l++) {
        if (u)
            fprintf(b, "lsmd_%s{level=\"%d\"} %llu\n", name, l, (unsigned long long)u[l]);
        else
            fprintf(b, "lsmd_%s{level=\"%d\"} %.9g\n", name, l, f[l]);
    }
}

/* scale converts the engine's unit to the exported one (ns -> s: 1e-9). */
static void histogram(FILE *b, const char *name, const char *help, const lsm_histogram_metrics *h,
                      double scale)
{
    family(b, name, "histogram", help);
    for (int i = 0; i < h->nbounds && i < LSM_METRICS_MAX_BUCKETS; i++)
        fprintf(b, "lsmd_%s_bucket{le=\"%g\"} %llu\n", name, (double)h->bound[i] * scale,
                (unsigned long long)h->le[i]);
    fprintf(b, "lsmd_%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
    fprintf(b, "lsmd_%s_sum %.9g\n", name, h->sum * scale);
    fprintf(b, "lsmd_%s_count %llu\n", name, (unsigned long long)h->count);
}

/* Label values here are engine names ("uring", "leveled"); quote anyway. */
static void label_value(FILE *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(b, "\\%c", *s);
        else if (*s == '\n')
            fprintf(b, "\\n");
        else
            fprintf(b, "%c", *s);
    }
}

/* The engine's single-valued families, in output order. */
enum scalar_kind {
    K_COUNTER, /* uint64_t, monotonic */
    K_GAUGE,   /* uint64_t */
    K_RATIO,   /* double */
    K_SECONDS, /* uint64_t microseconds, exported as a counter of seconds */
    K_CODE,    /* int: an error code, 0 none */
    K_FLAG,    /* int: exported as 1 when nonzero */
};
typedef struct scalar {
    const char *name;
    enum scalar_kind kind;
    size_t off; /* in lsm_metrics */
    const char *help;
} scalar;
#define S(name, kind, field, help) { name, kind, offsetof(lsm_metrics, field), help }
static const scalar k_engine[] = {
    S("last_sequence", K_GAUGE, last_sequence, "Sequence number of the last write."),
    S("sorted_runs", K_GAUGE, sorted_runs, "Sorted runs a read may have to look at."),
    S("table_bytes", K_GAUGE, table_bytes, "Bytes of all tables."),
    S("pending_compaction_bytes", K_GAUGE, pending_compaction_bytes,
      "Bytes the compaction picker still wants to compact."),
    S("memtable_bytes", K_GAUGE, memtable_bytes, "Bytes in the active memtable."),
    S("immutable_memtables", K_GAUGE, immutable_memtables,
      "Frozen memtables waiting for their flush."),
    S("compactions_running", K_GAUGE, compactions_running, "Compactions running now."),
    S("user_written_bytes_total", K_COUNTER, user_bytes, "Key and value bytes written by clients."),
    S("flush_written_bytes_total", K_COUNTER, flushed_bytes, "Bytes written by memtable flushes."),
    S("compaction_read_bytes_total", K_COUNTER, compaction_read_bytes,
      "Bytes read by compactions."),
    S("compaction_written_bytes_total", K_COUNTER, compaction_written_bytes,
      "Bytes written by compactions."),
    S("write_amplification", K_RATIO, write_amplification,
      "(Flushed + compaction-written bytes) / user bytes."),
    S("space_amplification", K_RATIO, space_amplification,
      "Table bytes / bytes of the deepest non-empty level."),
    S("compactions_total", K_COUNTER, compactions, "Compactions finished."),
    S("subcompactions_total", K_COUNTER, subcompactions, "Key ranges of split compactions."),
    S("write_stalls_total", K_COUNTER, stalls,
      "Writes stopped until a flush or compaction caught up."),
    S("write_stall_seconds_total", K_SECONDS, stall_us, "Time writes spent stopped."),
    S("write_slowdowns_total", K_COUNTER, slowdowns, "Writes delayed by the slowdown trigger."),
    S("write_slowdown_seconds_total", K_SECONDS, slowdown_us, "Time writes spent delayed."),
    S("compaction_rate_limit_wait_seconds_total", K_SECONDS, rate_limit_wait_us,
      "Time compactions waited for the rate limiter."),
    S("wal_syncs_total", K_COUNTER, wal_syncs, "WAL fdatasync calls."),
    S("wal_groups_total", K_COUNTER, wal_groups, "WAL group commits."),
    S("wal_group_writes_total", K_COUNTER, wal_group_writes,
      "Writes committed in WAL groups (/ wal_groups_total = mean group size)."),
    S("gets_total", K_COUNTER, gets, "Point lookups."),
    S("get_tables_probed_total", K_COUNTER, tables_probed,
      "Tables whose key range held a looked-up key."),
    S("bloom_checks_total", K_COUNTER, bloom_checks, "Bloom filter checks."),
    S("bloom_useful_total", K_COUNTER, bloom_useful,
      "Bloom filter checks that saved a table read."),
    S("block_cache_hits_total", K_COUNTER, block_cache_hits, "Block cache hits."),
    S("block_cache_misses_total", K_COUNTER, block_cache_misses, "Block cache misses."),
    S("block_cache_capacity_bytes", K_GAUGE, block_cache_capacity, "Block cache capacity."),
    S("block_cache_usage_bytes", K_GAUGE, block_cache_usage, "Bytes held by the block cache."),
    S("table_cache_opens_total", K_COUNTER, table_cache_opens, "Table files opened."),
    S("table_cache_hits_total", K_COUNTER, table_cache_hits,
      "Table lookups that found the table open."),
    S("table_cache_evictions_total", K_COUNTER, table_cache_evictions,
      "Open tables closed to make room."),
    S("table_cache_open_tables", K_GAUGE, table_cache_open, "Tables open now."),
    S("table_cache_max_open_tables", K_GAUGE, table_cache_max_open, "Most tables kept open."),
    S("background_error", K_FLAG, background_error,
      "1 when a background error made the database read-only."),
    S("background_error_code", K_CODE, background_error,
      "That error's code (negative errno or LSM_E*), 0 none."),
    S("transient_errors_total", K_COUNTER, transient_errors,
      "Resource errors (EMFILE, ENFILE, ENOMEM) retried instead of made sticky."),
    S("transient_error_code", K_CODE, transient_error,
      "The error a flush or compaction is retrying after, 0 none."),
    S("io_ring_submissions_total", K_COUNTER, io_ring_submissions,
      "Every io_uring_enter that submitted."),
};
#undef S

static void scalar_line(FILE *b, const scalar *s, const lsm_metrics *m)
{
    static const char *const types[] = { "counter", "gauge", "gauge", "counter", "gauge", "gauge" };
    const char *p = (const char *)m + s->off;
    uint64_t u;
    int i;
    family(b, s->name, types[s->kind], s->help);
    switch (s->kind) {
    case K_COUNTER:
    case K_GAUGE:
        memcpy(&u, p, sizeof u);
        fprintf(b, "lsmd_%s %llu\n", s->name, (unsigned long long)u);
        break;
    case K_RATIO: {
        double v;
        memcpy(&v, p, sizeof v);
        fprintf(b, "lsmd_%s %.9g\n", s->name, v);
        break;
    }
    case K_SECONDS:
        memcpy(&u, p, sizeof u);
        fprintf(b, "lsmd_%s %llu.%06llu\n", s->name, (unsigned long long)(u / 1000000),
                (unsigned long long)(u % 1000000));
        break;
    case K_CODE:
    case K_FLAG:
        memcpy(&i, p, sizeof i);
        fprintf(b, "lsmd_%s %d\n", s->name, s->kind == K_FLAG ? i != 0 : i);
        break;
    }
}

static void engine_part(FILE *b, const lsm_metrics *m)
{
    family(b, "info", "gauge", "Always 1; the labels say how the engine runs.");
    fprintf(b, "lsmd_info{io_backend=\"");
    label_value(b, m->io_backend);
    fprintf(b, "\",compaction_style=\"");
    label_value(b, m->compaction_style);
    fprintf(b, "\"} 1\n");
    per_level(b, "level_files", "gauge", "Tables in each level.", m->level_files, NULL);
    per_level(b, "level_bytes", "gauge", "Bytes of tables in each level.", m->level_bytes, NULL);
    per_level(b, "level_score", "gauge", "Compaction score of each level (>= 1: wants compaction).",
              NULL, m->level_score);
    for (size_t i = 0; i < sizeof k_engine / sizeof *k_engine; i++)
        scalar_line(b, &k_engine[i], m);
    family(b, "io_operations_total", "counter", "I/O operations by kind and path.");
    for (int k = 0; k < LSM_METRICS_IO_KINDS; k++)
        fprintf(b,
                "lsmd_io_operations_total{kind=\"%s\",path=\"ring\"} %llu\n"
                "lsmd_io_operations_total{kind=\"%s\",path=\"inline\"} %llu\n",
                lsm_metrics_io_kind(k), (unsigned long long)m->io[k].ring, lsm_metrics_io_kind(k),
                (unsigned long long)m->io[k].inlined);
    family(b, "io_submissions_total", "counter",
           "io_uring_enter calls that submitted operations of the kind.");
    for (int k = 0; k < LSM_METRICS_IO_KINDS; k++)
        fprintf(b, "lsmd_io_submissions_total{kind=\"%s\"} %llu\n", lsm_metrics_io_kind(k),
                (unsigned long long)m->io[k].submissions);
    histogram(b, "wal_group_size", "Writes per WAL group commit.", &m->wal_group_size, 1);
    histogram(b, "get_latency_seconds", "Latency of point lookups in the engine.",
              &m->get_latency_ns, 1e-9);
    histogram(b, "write_latency_seconds", "Latency of writes in the engine (WAL and memtable).",
              &m->write_latency_ns, 1e-9);
}

static void daemon_workers(FILE *b, daemon_ctx *d)
{
    static const char *const names[3] = { "requests", "sleeps", "parked_gets" };
    static const char *const helps[3] = {
        "Requests served by each worker.",
        "Times each worker slept waiting for requests.",
        "Gets each worker parked while their table reads ran.",
    };
    for (int f = 0; f < 3; f++) {
        char name[48];
        snprintf(name, sizeof name, "worker_%s_total", names[f]);
        family(b, name, "counter", helps[f]);
        for (int i = 0; i < d->nworkers; i++) {
            uint64_t req, groups, grouped, sleeps;
            worker_counters(d->workers[i], &req, &groups, &grouped, &sleeps);
            uint64_t v = f == 0 ? req : f == 1 ? sleeps : worker_parked_gets(d->workers[i]);
            fprintf(b, "lsmd_%s{worker=\"%d\"} %llu\n", name, i, (unsigned long long)v);
        }
    }
}

static void daemon_admin(FILE *b, admin_queue *q)
{
    static const char *const lanes[ADMIN_NLANES] = { "control", "work" };
    admin_queue_counts st = { 0 };
    if (q)
        admin_queue_stats(q, &st);
    family(b, "admin_jobs_total", "counter",
           "Admin requests by outcome (dropped: client gone; refused: -EPERM; busy: -EBUSY).");
    fprintf(b,
            "lsmd_admin_jobs_total{result=\"run\"} %llu\n"
            "lsmd_admin_jobs_total{result=\"dropped\"} %llu\n"
            "lsmd_admin_jobs_total{result=\"refused\"} %llu\n"
            "lsmd_admin_jobs_total{result=\"busy\"} %llu\n",
            (unsigned long long)st.run, (unsigned long long)st.dropped,
            (unsigned long long)st.refused, (unsigned long long)st.busy);
    family(b, "admin_queued", "gauge", "Admin requests waiting, per lane.");
    for (int i = 0; i < ADMIN_NLANES; i++)
        fprintf(b, "lsmd_admin_queued{lane=\"%s\"} %u\n", lanes[i], st.queued[i]);
    family(b, "admin_running", "gauge", "Admin requests running, per lane.");
    for (int i = 0; i < ADMIN_NLANES; i++)
        fprintf(b, "lsmd_admin_running{lane=\"%s\"} %u\n", lanes[i], st.running[i]);
}

static void daemon_part(FILE *b, daemon_ctx *d)
{
    gauge(b, "uptime_seconds", "Seconds since lsmd started.",
          (double)(shm_now_ns() - d->start_ns) / 1e9);
    gauge_i(b, "workers", "Worker threads.", d->nworkers);
    pthread_mutex_lock(&d->sessions_mu);
    int clients = d->nsessions;
    pthread_mutex_unlock(&d->sessions_mu);
    gauge_i(b, "clients", "Attached client sessions.", clients);
    counter(b, "client_attaches_total", "Clients attached.",
            atomic_load_explicit(&d->attaches, memory_order_relaxed));
    counter(b, "client_refusals_total", "Attaches refused.",
            atomic_load_explicit(&d->refusals, memory_order_relaxed));
    counter(b, "client_deaths_total", "Clients that died or hung up.",
            atomic_load_explicit(&d->deaths, memory_order_relaxed));
    gauge_i(b, "snapshots", "Published snapshot IDs held by clients.",
            (long long)snapreg_list(d->snaps, NULL, 0));
    daemon_workers(b, d);
    daemon_admin(b, d->admin_queue);
}

int metrics_text(daemon_ctx *d, char **text, size_t *len)
{
    lsm_metrics *m = malloc(sizeof *m);
    if (!m)
        return -ENOMEM;
    m->size = sizeof *m;
    int rc = lsm_metrics_get(d->db, m);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = rc ? NULL : open_memstream(&buf, &n);
    if (!f) {
        free(m);
        return rc ? rc : -ENOMEM;
    }
    engine_part(f, m);
    free(m);
    daemon_part(f, d);
    if (fclose(f) != 0) {
        free(buf);
        return -ENOMEM;
    }
    if (n > METRICS_MAX_BYTES) {
        free(buf);
        return -E2BIG;
    }
    *text = buf;
    *len = n;
    return 0;
}
