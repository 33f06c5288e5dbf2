/*
 * db_stats.c — lsm_stats_json: one JSON object with every figure lsm.h
 * documents for it.  Figures are read without stopping writers (relaxed
 * counters), and the level shape and event log under the db mutex, so the
 * object is a consistent-enough snapshot for monitoring, not an audit.
 *
 * Definitions
 *   write_amplification  (bytes flushed + bytes written by compaction)
 *                        / bytes written by users (WAL payload)
 *   space_amplification  bytes in all tables / bytes in the deepest
 *                        non-empty level (the estimate RocksDB uses for
 *                        leveled trees; 1.0 means no redundancy)
 *   files_probed_per_get tables whose range held the key, per get
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_impl.h"
#include "db/superversion.h"
#include "table/block_cache.h"
#include "base/histogram.h"
#include "table/table_cache.h"

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int err;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->err)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->err = -EINVAL;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->err = -ENOMEM;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

static uint64_t ld(_Atomic uint64_t *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static void levels_json(lsm_db *db, sbuf *b, version *v)
{
    picker_options po;
    db_picker_options(db, &po);
    sb_printf(b, "\"levels\":[");
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        sb_printf(b, "%s{\"level\":%d,\"files\":%zu,\"bytes\":%llu,\"score\":%.3f}",
                  l ? "," : "", l, v->nfiles[l],
                  (unsigned long long)version_level_bytes(v, l),
                  db->picker->level_score(&po, v, l));
    sb_printf(b, "],\"sorted_runs\":%d,", db->picker->sorted_runs(v));
}

static void events_json(lsm_db *db, sbuf *b)
{
    uint64_t n = db->nevents < DB_EVENT_LOG ? db->nevents : DB_EVENT_LOG;
    sb_printf(b, "\"events\":[");
    for (uint64_t i = 0; i < n; i++) {
        const db_event *e = &db->events[(db->nevents - n + i) % DB_EVENT_LOG];
        sb_printf(b,
                  "%s{\"id\":%llu,\"kind\":\"%s\",\"reason\":\"%s\",\"style\":\"%s\","
                  "\"input_levels\":%d,\"output_level\":%d,\"start_us\":%llu,\"end_us\":%llu,"
                  "\"files_in\":%llu,\"files_out\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
                  "\"status\":%d}",
                  i ? "," : "", (unsigned long long)e->id, e->kind, e->reason, e->style,
                  e->input_levels_mask, e->output_level, (unsigned long long)e->start_us,
                  (unsigned long long)e->end_us, (unsigned long long)e->files_in,
                  (unsigned long long)e->files_out, (unsigned long long)e->bytes_in,
                  (unsigned long long)e->bytes_out, e->status);
    }
    sb_printf(b, "]");
}

/* Per I/O kind (io.h "per-I/O-kind counters"): what went through a ring,
 * what was issued inline, and the io_uring_enter calls that submitted. */
static void io_json(lsm_io *io, sbuf *b)
{
    struct io_stats st;
    io_stats_snapshot(io, &st);
    sb_printf(b, "\"io\":{");
    for (int k = 0; k < IO_STAT_KINDS; k++) {
        const struct io_kind_stats *c = &st.kind[k];
        sb_printf(b, "\"%s\":{\"ops\":%llu,\"ring\":%llu,\"inline\":%llu,\"submissions\":%llu},",
                  io_stat_kind_name((enum io_stat_kind)k), (unsigned long long)c->ops,
                  (unsigned long long)c->ring, (unsigned long long)c->inlined,
                  (unsigned long long)c->submissions);
    }
    sb_printf(b, "\"ring_submissions\":%llu},", (unsigned long long)st.submissions);
}

int lsm_stats_json(lsm_db *db, char **json)
{
    if (!db || !json)
        return -EINVAL;
    sbuf b = { 0 };
    superversion *sv = db_sv_acquire(db);
    version *v = sv->v;

    uint64_t deepest, total = db_table_bytes(v, &deepest);
    uint64_t user = ld(&db->stat_user_bytes), flushed = ld(&db->stat_bytes_flushed);
    uint64_t cread = ld(&db->stat_compact_read), cwritten = ld(&db->stat_compact_written);
    uint64_t groups = ld(&db->stat_wal_groups), grouped = ld(&db->stat_wal_grouped_writes);

    sb_printf(&b, "{\"io_backend\":\"%s\",\"use_direct_io\":%d,\"last_sequence\":%llu,",
              db->io->name, db->opt.use_direct_io,
              (unsigned long long)atomic_load(&db->last_seq));
    pthread_mutex_lock(&db->mu);
    sb_printf(&b, "\"compaction_style\":\"%s\",\"memtable_impl\":\"%s\","
                  "\"memtable_bytes\":%zu,\"immutable_memtables\":%d,",
              db->picker->name, memtable_impl_name(db->mem), memtable_bytes(db->mem), db->nimm);
    levels_json(db, &b, v);
    sb_printf(&b, "\"compactions_running\":%d,", db->compactions_running);
    sb_printf(&b, "\"background_error\":%d,", db->bg_error);
    /* Resource errors retried instead of made sticky (db_transient.c),
     * and the one a flush or compaction is retrying after now (0: none). */
    sb_printf(&b, "\"transient_errors\":%llu,\"transient_error\":%d,",
              (unsigned long long)ld(&db->stat_transient_errors),
              db->flush_transient ? db->flush_transient : db->compact_transient);
    pthread_mutex_unlock(&db->mu);

    sb_printf(&b,
              "\"bytes\":{\"user\":%llu,\"flushed\":%llu,\"compaction_read\":%llu,"
              "\"compaction_written\":%llu,\"tables\":%llu,\"pending_compaction\":%llu},",
              (unsigned long long)user, (unsigned long long)flushed,
              (unsigned long long)cread, (unsigned long long)cwritten,
              (unsigned long long)total, (unsigned long long)db_pending_compaction_bytes(db, v));
    sb_printf(&b,
              "\"write_amplification\":%.3f,\"space_amplification\":%.3f,"
              "\"files_probed_per_get\":%.3f,",
              ratio((double)(flushed + cwritten), (double)user),
              ratio((double)total, (double)deepest),
              ratio((double)ld(&db->stat_tables_probed), (double)ld(&db->stat_gets)));
    sb_printf(&b, "\"compactions\":%llu,", (unsigned long long)ld(&db->stat_compactions));
    sb_printf(&b, "\"subcompactions\":%llu,", (unsigned long long)ld(&db->stat_subcompactions));
    sb_printf(&b,
              "\"stalls\":{\"stops\":%llu,\"stop_us\":%llu,\"slowdowns\":%llu,"
              "\"slowdown_us\":%llu,\"rate_limit_wait_us\":%llu},",
              (unsigned long long)ld(&db->stat_stalls), (unsigned long long)ld(&db->stat_stall_us),
              (unsigned long long)ld(&db->stat_slowdowns),
              (unsigned long long)ld(&db->stat_slowdown_us),
              (unsigned long long)(rate_limiter_wait_ns(db->rl) / 1000));
    sb_printf(&b, "\"wal\":{\"syncs\":%llu,\"groups\":%llu,\"writes\":%llu,\"mean_group\":%.3f,"
              "\"retained_files\":%llu,\"retained_bytes\":%llu},",
              (unsigned long long)ld(&db->stat_wal_syncs), (unsigned long long)groups,
              (unsigned long long)grouped, ratio((double)grouped, (double)groups),
              (unsigned long long)ld(&db->stat_wal_retained_files),
              (unsigned long long)ld(&db->stat_wal_retained_bytes));
    io_json(db->io, &b);
    sb_printf(&b, "\"bloom\":{\"checks\":%llu,\"useful\":%llu},",
              (unsigned long long)ld(&db->stat_bloom_checks),
              (unsigned long long)ld(&db->stat_bloom_useful));
    struct block_cache_stats bc;
    block_cache_stats(db->block_cache, &bc);
    sb_printf(&b, "\"block_cache\":{\"capacity\":%llu,\"usage\":%llu,\"hits\":%llu,"
                  "\"misses\":%llu,\"hit_rate\":%.4f},",
              (unsigned long long)bc.capacity, (unsigned long long)bc.usage,
              (unsigned long long)bc.hits, (unsigned long long)bc.misses,
              ratio((double)bc.hits, (double)(bc.hits + bc.misses)));
    struct table_cache_stats tc;
    table_cache_stats(db->table_cache, &tc);
    sb_printf(&b, "\"table_cache\":{\"open\":%zu,\"max_open\":%zu,\"opens\":%llu,"
                  "\"hits\":%llu,\"evictions\":%llu},",
              tc.open_count, tc.max_open, (unsigned long long)tc.opens,
              (unsigned long long)tc.hits, (unsigned long long)tc.evictions);
    /* Readers and writers record into these concurrently: read private
     * copies taken with atomic loads (base/histogram.h, Thread safety). */
    histogram *copy = malloc(sizeof *copy);
    if (!copy)
        b.err = -ENOMEM;
    char h[512];
    if (copy) {
        histogram_snapshot(copy, &db->get_latency);
        histogram_json(copy, h, sizeof h);
        sb_printf(&b, "\"latency_ns\":{\"get\":%s,", h);
        histogram_snapshot(copy, &db->write_latency);
        histogram_json(copy, h, sizeof h);
        sb_printf(&b, "\"write\":%s},", h);
        free(copy);
    }
    pthread_mutex_lock(&db->mu);
    events_json(db, &b);
    pthread_mutex_unlock(&db->mu);
    sb_printf(&b, "}");
    db_sv_release(sv);
    if (b.err) {
        free(b.p);
        return b.err;
    }
    *json = b.p;
    return 0;
}
