/*
 * db_metrics.c — lsm_metrics_get: the numbers behind lsm_stats_json, as a
 * struct for exporters (lsmd's Prometheus text), with the latency
 * histograms cut into fixed buckets.
 *
 * Cost: the db mutex is held once, for a copy of a handful of fields and
 * the picker's scores and pending bytes (they read being_compacted, which
 * mu guards): a pass over the tables' metadata, no I/O, as the compaction
 * picker itself does under mu.  Everything else is relaxed counters, the
 * current version (immutable, pinned by the superversion) and private
 * histogram copies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/histogram.h"
#include "db/db_impl.h"
#include "db/superversion.h"
#include "table/block_cache.h"
#include "table/table_cache.h"

_Static_assert(LSM_METRICS_LEVELS == LSM_NUM_LEVELS, "lsm.h's level count");
_Static_assert(LSM_METRICS_IO_KINDS == IO_STAT_KINDS, "lsm.h's I/O kinds");

/* 1 us .. 2.5 s: a cached get is a few microseconds, a synced write a
 * millisecond or more on most disks, a stalled one up to seconds. */
static const uint64_t k_latency_bounds_ns[] = {
    1000,      2500,      5000,      10000,      25000,      50000,      100000,
    250000,    500000,    1000000,   2500000,    5000000,    10000000,   25000000,
    50000000,  100000000, 250000000, 500000000,  1000000000, 2500000000u,
};
/* Writes per WAL group: 1 is no grouping; the batcher caps groups well
 * below 1024. */
static const uint64_t k_group_bounds[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024 };
_Static_assert(sizeof k_latency_bounds_ns / sizeof *k_latency_bounds_ns <= LSM_METRICS_MAX_BUCKETS,
               "latency buckets fit lsm_histogram_metrics");

static uint64_t ld(_Atomic uint64_t *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

uint64_t db_table_bytes(const version *v, uint64_t *deepest)
{
    uint64_t total = 0;
    *deepest = 0;
    for (int l = 0; l < LSM_NUM_LEVELS; l++) {
        uint64_t lb = version_level_bytes(v, l);
        total += lb;
        if (lb)
            *deepest = lb;
    }
    /* L0 files are separate runs: the deepest non-empty "level" of a tree
     * holding only L0 is its oldest file. */
    size_t below_l0 = 0;
    for (int l = 1; l < LSM_NUM_LEVELS; l++)
        below_l0 += v->nfiles[l];
    if (below_l0 == 0 && v->nfiles[0])
        *deepest = v->files[0][v->nfiles[0] - 1]->size;
    return total;
}

static void cut(histogram *copy, const histogram *live, const uint64_t *bounds, int n,
                lsm_histogram_metrics *out)
{
    histogram_snapshot(copy, live);
    /* count from the buckets, not copy->count: read a moment apart under
     * concurrent records, and exporters need le[i] <= count. */
    const uint64_t all = UINT64_MAX;
    histogram_cumulative(copy, &all, 1, &out->count);
    out->sum = (double)copy->sum + (double)copy->sum_hi * 18446744073709551616.0;
    out->nbounds = n;
    memcpy(out->bound, bounds, (size_t)n * sizeof *bounds);
    histogram_cumulative(copy, bounds, (size_t)n, out->le);
}

static void io_metrics(lsm_io *io, lsm_metrics *m)
{
    struct io_stats st;
    io_stats_snapshot(io, &st);
    for (int k = 0; k < IO_STAT_KINDS; k++) {
        m->io[k].ring = st.kind[k].ring;
        m->io[k].inlined = st.kind[k].inlined;
        m->io[k].submissions = st.kind[k].submissions;
    }
    m->io_ring_submissions = st.submissions;
}

const char *lsm_metrics_io_kind(int kind)
{
    return kind >= 0 && kind < IO_STAT_KINDS ? io_stat_kind_name((enum io_stat_kind)kind) : NULL;
}

int lsm_metrics_get(lsm_db *db, lsm_metrics *m)
{
    if (!db || !m || m->size != sizeof *m)
        return -EINVAL;
    /* 15 KiB: too big for a caller's stack in a small thread. */
    histogram *copy = malloc(sizeof *copy);
    if (!copy)
        return -ENOMEM;
    memset(m, 0, sizeof *m);
    m->size = sizeof *m;
    superversion *sv = db_sv_acquire(db);
    version *v = sv->v;

    picker_options po;
    pthread_mutex_lock(&db->mu);
    db_picker_options(db, &po);
    const compaction_picker *picker = db->picker;
    m->memtable_bytes = memtable_bytes(db->mem);
    m->immutable_memtables = (uint64_t)db->nimm;
    m->compactions_running = (uint64_t)db->compactions_running;
    m->background_error = db->bg_error;
    m->transient_error = db->flush_transient ? db->flush_transient : db->compact_transient;
    /* The picker reads file_meta.being_compacted, which compactions flip
     * under mu (version.h). */
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        m->level_score[l] = picker->level_score(&po, v, l);
    m->sorted_runs = (uint64_t)picker->sorted_runs(v);
    m->pending_compaction_bytes = picker->pending_bytes(&po, v);
    pthread_mutex_unlock(&db->mu);

    snprintf(m->io_backend, sizeof m->io_backend, "%s", db->io->name);
    snprintf(m->compaction_style, sizeof m->compaction_style, "%s", picker->name);
    m->last_sequence = atomic_load(&db->last_seq);
    for (int l = 0; l < LSM_NUM_LEVELS; l++) {
        m->level_files[l] = v->nfiles[l];
        m->level_bytes[l] = version_level_bytes(v, l);
    }
    uint64_t deepest;
    m->table_bytes = db_table_bytes(v, &deepest);

    m->user_bytes = ld(&db->stat_user_bytes);
    m->flushed_bytes = ld(&db->stat_bytes_flushed);
    m->compaction_read_bytes = ld(&db->stat_compact_read);
    m->compaction_written_bytes = ld(&db->stat_compact_written);
    m->write_amplification = ratio((double)(m->flushed_bytes + m->compaction_written_bytes),
                                   (double)m->user_bytes);
    m->space_amplification = ratio((double)m->table_bytes, (double)deepest);
    m->compactions = ld(&db->stat_compactions);
    m->subcompactions = ld(&db->stat_subcompactions);
    m->stalls = ld(&db->stat_stalls);
    m->stall_us = ld(&db->stat_stall_us);
    m->slowdowns = ld(&db->stat_slowdowns);
    m->slowdown_us = ld(&db->stat_slowdown_us);
    m->rate_limit_wait_us = rate_limiter_wait_ns(db->rl) / 1000;
    m->wal_syncs = ld(&db->stat_wal_syncs);
    m->wal_groups = ld(&db->stat_wal_groups);
    m->wal_group_writes = ld(&db->stat_wal_grouped_writes);
    m->gets = ld(&db->stat_gets);
    m->tables_probed = ld(&db->stat_tables_probed);
    m->bloom_checks = ld(&db->stat_bloom_checks);
    m->bloom_useful = ld(&db->stat_bloom_useful);
    m->transient_errors = ld(&db->stat_transient_errors);

    struct block_cache_stats bc;
    block_cache_stats(db->block_cache, &bc);
    m->block_cache_hits = bc.hits;
    m->block_cache_misses = bc.misses;
    m->block_cache_capacity = bc.capacity;
    m->block_cache_usage = bc.usage;
    struct table_cache_stats tc;
    table_cache_stats(db->table_cache, &tc);
    m->table_cache_opens = tc.opens;
    m->table_cache_hits = tc.hits;
    m->table_cache_evictions = tc.evictions;
    m->table_cache_open = tc.open_count;
    m->table_cache_max_open = tc.max_open;
    io_metrics(db->io, m);
#define NB(a) ((int)(sizeof(a) / sizeof *(a)))
    cut(copy, &db->get_latency, k_latency_bounds_ns, NB(k_latency_bounds_ns), &m->get_latency_ns);
    cut(copy, &db->write_latency, k_latency_bounds_ns, NB(k_latency_bounds_ns),
        &m->write_latency_ns);
    cut(copy, &db->wal_group_size, k_group_bounds, NB(k_group_bounds), &m->wal_group_size);
#undef NB
    free(copy);
    db_sv_release(sv);
    return 0;
}
