/* metrics.c — see metrics.h for the families and their meaning. */
#include "metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_queue.h"
#include "wait.h"
#include "worker.h"

/* A text buffer that refuses to grow past METRICS_MAX_BYTES. */
typedef struct mbuf {
    char *p;
    size_t len, cap;
    int err;
} mbuf;

static void put(mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(mbuf *b, const char *fmt, ...)
{
    while (!b->err) {
        va_list ap;
        va_start(ap, fmt);
        int n = b->p ? vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap) : -2;
        va_end(ap);
        if (n == -1) {
            b->err = -EINVAL;
            return;
        }
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 16384;
        if (cap > METRICS_MAX_BYTES + 1)
            cap = METRICS_MAX_BYTES + 1;
        if (cap <= b->cap) {
            b->err = -E2BIG;
            return;
        }
        char *np = realloc(b->p, cap);
        if (!np) {
            b->err = -ENOMEM;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

/* # HELP and # TYPE of one family. */
static void family(mbuf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP lsmd_%s %s\n# TYPE lsmd_%s %s\n", name, help, name, type);
}

static void counter(mbuf *b, const char *name, const char *help, uint64_t v)
{
    family(b, name, "counter", help);
    put(b, "lsmd_%s %llu\n", name, (unsigned long long)v);
}

static void gauge(mbuf *b, const char *name, const char *help, double v)
{
    family(b, name, "gauge", help);
    put(b, "lsmd_%s %.9g\n", name, v);
}

static void gauge_u(mbuf *b, const char *name, const char *help, uint64_t v)
{
    family(b, name, "gauge", help);
    put(b, "lsmd_%s %llu\n", name, (unsigned long long)v);
}

static void gauge_i(mbuf *b, const char *name, const char *help, long long v)
{
    family(b, name, "gauge", help);
    put(b, "lsmd_%s %lld\n", name, v);
}

/* A counter kept in microseconds, exported in seconds. */
static void seconds_total(mbuf *b, const char *name, const char *help, uint64_t us)
{
    family(b, name, "counter", help);
    put(b, "lsmd_%s %llu.%06llu\n", name, (unsigned long long)(us / 1000000),
        (unsigned long long)(us % 1000000));
}

static void per_level(mbuf *b, const char *name, const char *type, const char *help,
                      const uint64_t *u, const double *f)
{
    family(b, name, type, help);
    for (int l = 0; l < LSM_METRICS_LEVELS; l++) {
        if (u)
            put(b, "lsmd_%s{level=\"%d\"} %llu\n", name, l, (unsigned long long)u[l]);
        else
            put(b, "lsmd_%s{level=\"%d\"} %.17g\n", name, l, f[l]);
    }
}

/* scale converts the engine's unit to the exported one (ns -> s: 1e-9). */
static void histogram(mbuf *b, const char *name, const char *help,
                      const lsm_histogram_metrics *h, double scale)
{
    family(b, name, "histogram", help);
    for (int i = 0; i < h->nbounds && i < LSM_METRICS_MAX_BUCKETS; i++)
        put(b, "lsmd_%s_bucket{le=\"%g\"} %llu\n", name, (double)h->bound[i] * scale,
            (unsigned long long)h->le[i]);
    put(b, "lsmd_%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
    put(b, "lsmd_%s_sum %.9g\n", name, h->sum * scale);
    put(b, "lsmd_%s_count %llu\n", name, (unsigned long long)h->count);
}

/* Label values here are engine names ("uring", "leveled"); quote anyway. */
static void label_value(mbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            put(b, "\\%c", *s);
        else if (*s == '\n')
            put(b, "\\n");
        else
            put(b, "%c", *s);
    }
}

static void engine_shape(mbuf *b, const lsm_metrics *m)
{
    family(b, "info", "gauge", "Always 1; the labels say how the engine runs.");
    put(b, "lsmd_info{io_backend=\"");
    label_value(b, m->io_backend);
    put(b, "\",compaction_style=\"");
    label_value(b, m->compaction_style);
    put(b, "\"} 1\n");
    gauge_u(b, "last_sequence", "Sequence number of the last write.", m->last_sequence);
    per_level(b, "level_files", "gauge", "Tables in each level.", m->level_files, NULL);
    per_level(b, "level_bytes", "gauge", "Bytes of tables in each level.", m->level_bytes, NULL);
    per_level(b, "level_score", "gauge", "Compaction score of each level (>= 1: wants compaction).",
              NULL, m->level_score);
    gauge_u(b, "sorted_runs", "Sorted runs a read may have to look at.", m->sorted_runs);
    gauge_u(b, "table_bytes", "Bytes of all tables.", m->table_bytes);
    gauge_u(b, "pending_compaction_bytes", "Bytes the compaction picker still wants to compact.",
            m->pending_compaction_bytes);
    gauge_u(b, "memtable_bytes", "Bytes in the active memtable.", m->memtable_bytes);
    gauge_u(b, "immutable_memtables", "Frozen memtables waiting for their flush.",
            m->immutable_memtables);
    gauge_u(b, "compactions_running", "Compactions running now.", m->compactions_running);
}

static void engine_work(mbuf *b, const lsm_metrics *m)
{
    counter(b, "user_written_bytes_total", "Key and value bytes written by clients.",
            m->user_bytes);
    counter(b, "flush_written_bytes_total", "Bytes written by memtable flushes.",
            m->flushed_bytes);
    counter(b, "compaction_read_bytes_total", "Bytes read by compactions.",
            m->compaction_read_bytes);
    counter(b, "compaction_written_bytes_total", "Bytes written by compactions.",
            m->compaction_written_bytes);
    gauge(b, "write_amplification", "(Flushed + compaction-written bytes) / user bytes.",
          m->write_amplification);
    gauge(b, "space_amplification", "Table bytes / bytes of the deepest non-empty level.",
          m->space_amplification);
    counter(b, "compactions_total", "Compactions finished.", m->compactions);
    counter(b, "subcompactions_total", "Key ranges of split compactions.", m->subcompactions);
    counter(b, "write_stalls_total", "Writes stopped until a flush or compaction caught up.",
            m->stalls);
    seconds_total(b, "write_stall_seconds_total", "Time writes spent stopped.", m->stall_us);
    counter(b, "write_slowdowns_total", "Writes delayed by the slowdown trigger.", m->slowdowns);
    seconds_total(b, "write_slowdown_seconds_total", "Time writes spent delayed.",
                  m->slowdown_us);
    seconds_total(b, "compaction_rate_limit_wait_seconds_total",
                  "Time compactions waited for the rate limiter.", m->rate_limit_wait_us);
    counter(b, "wal_syncs_total", "WAL fdatasync calls.", m->wal_syncs);
    counter(b, "wal_groups_total", "WAL group commits.", m->wal_groups);
    counter(b, "wal_group_writes_total",
            "Writes committed in WAL groups (/ wal_groups_total = mean group size).",
            m->wal_group_writes);
    histogram(b, "wal_group_size", "Writes per WAL group commit.", &m->wal_group_size, 1);
}

static void engine_reads(mbuf *b, const lsm_metrics *m)
{
    counter(b, "gets_total", "Point lookups.", m->gets);
    counter(b, "get_tables_probed_total", "Tables whose key range held a looked-up key.",
            m->tables_probed);
    counter(b, "bloom_checks_total", "Bloom filter checks.", m->bloom_checks);
    counter(b, "bloom_useful_total", "Bloom filter checks that saved a table read.",
            m->bloom_useful);
    counter(b, "block_cache_hits_total", "Block cache hits.", m->block_cache_hits);
    counter(b, "block_cache_misses_total", "Block cache misses.", m->block_cache_misses);
    gauge_u(b, "block_cache_capacity_bytes", "Block cache capacity.",
            m->block_cache_capacity);
    gauge_u(b, "block_cache_usage_bytes", "Bytes held by the block cache.",
            m->block_cache_usage);
    counter(b, "table_cache_opens_total", "Table files opened.", m->table_cache_opens);
    counter(b, "table_cache_hits_total", "Table lookups that found the table open.",
            m->table_cache_hits);
    counter(b, "table_cache_evictions_total", "Open tables closed to make room.",
            m->table_cache_evictions);
    gauge_u(b, "table_cache_open_tables", "Tables open now.", m->table_cache_open);
    gauge_u(b, "table_cache_max_open_tables", "Most tables kept open.",
            m->table_cache_max_open);
}

static void engine_health(mbuf *b, const lsm_metrics *m)
{
    gauge_i(b, "background_error", "1 when a background error made the database read-only.",
            m->background_error != 0);
    gauge_i(b, "background_error_code", "That error's code (negative errno or LSM_E*), 0 none.",
            m->background_error);
    counter(b, "transient_errors_total",
            "Resource errors (EMFILE, ENFILE, ENOMEM) retried instead of made sticky.",
            m->transient_errors);
    gauge_i(b, "transient_error_code", "The error a flush or compaction is retrying after, 0 none.",
            m->transient_error);
    family(b, "io_operations_total", "counter", "I/O operations by kind and path.");
    for (int k = 0; k < LSM_METRICS_IO_KINDS; k++)
        put(b,
            "lsmd_io_operations_total{kind=\"%s\",path=\"ring\"} %llu\n"
            "lsmd_io_operations_total{kind=\"%s\",path=\"inline\"} %llu\n",
            lsm_metrics_io_kind(k), (unsigned long long)m->io[k].ring, lsm_metrics_io_kind(k),
            (unsigned long long)m->io[k].inlined);
    family(b, "io_submissions_total", "counter",
           "io_uring_enter calls that submitted operations of the kind.");
    for (int k = 0; k < LSM_METRICS_IO_KINDS; k++)
        put(b, "lsmd_io_submissions_total{kind=\"%s\"} %llu\n", lsm_metrics_io_kind(k),
            (unsigned long long)m->io[k].submissions);
    counter(b, "io_ring_submissions_total", "Every io_uring_enter that submitted.",
            m->io_ring_submissions);
    histogram(b, "get_latency_seconds", "Latency of point lookups in the engine.",
              &m->get_latency_ns, 1e-9);
    histogram(b, "write_latency_seconds", "Latency of writes in the engine (WAL and memtable).",
              &m->write_latency_ns, 1e-9);
}

static void daemon_workers(mbuf *b, daemon_ctx *d)
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
            put(b, "lsmd_%s{worker=\"%d\"} %llu\n", name, i, (unsigned long long)v);
        }
    }
}

static void daemon_admin(mbuf *b, admin_queue *q)
{
    static const char *const lanes[ADMIN_NLANES] = { "control", "work" };
    admin_queue_counts st = { 0 };
    if (q)
        admin_queue_stats(q, &st);
    family(b, "admin_jobs_total", "counter",
           "Admin requests by outcome (dropped: client gone; refused: -EPERM; busy: -EBUSY).");
    put(b,
        "lsmd_admin_jobs_total{result=\"run\"} %llu\n"
        "lsmd_admin_jobs_total{result=\"dropped\"} %llu\n"
        "lsmd_admin_jobs_total{result=\"refused\"} %llu\n"
        "lsmd_admin_jobs_total{result=\"busy\"} %llu\n",
        (unsigned long long)st.run, (unsigned long long)st.dropped,
        (unsigned long long)st.refused, (unsigned long long)st.busy);
    family(b, "admin_queued", "gauge", "Admin requests waiting, per lane.");
    for (int i = 0; i < ADMIN_NLANES; i++)
        put(b, "lsmd_admin_queued{lane=\"%s\"} %u\n", lanes[i], st.queued[i]);
    family(b, "admin_running", "gauge", "Admin requests running, per lane.");
    for (int i = 0; i < ADMIN_NLANES; i++)
        put(b, "lsmd_admin_running{lane=\"%s\"} %u\n", lanes[i], st.running[i]);
}

static void daemon_part(mbuf *b, daemon_ctx *d)
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
    gauge_u(b, "snapshots", "Published snapshot IDs held by clients.",
            snapreg_list(d->snaps, NULL, 0));
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
    if (rc) {
        free(m);
        return rc;
    }
    mbuf b = { 0 };
    engine_shape(&b, m);
    engine_work(&b, m);
    engine_reads(&b, m);
    engine_health(&b, m);
    free(m);
    daemon_part(&b, d);
    if (b.err) {
        free(b.p);
        return b.err;
    }
    *text = b.p;
    *len = b.len;
    return 0;
}
