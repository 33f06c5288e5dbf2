/*
 * db_compact.c — scheduling compactions: background threads ask the
 * current picker (leveled or tiered, switchable at run time) for work, mark
 * the inputs busy, run the job without the db mutex, record the result in
 * the MANIFEST and retire the inputs.  Also lsm_compact (manual) and
 * run-time option changes that concern compaction (threads, rate).
 *
 * Thread safety / invariants
 *   file_meta.being_compacted, the picker and the running count are
 *   guarded by db->mu.  version_set_log_and_apply is
 *   serialized by db->manifest_mu (flushes use it too).  A picker only sees
 *   files that are not being compacted, so two jobs never share an input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compaction/compaction_job.h"
#include "db/db_impl.h"
#include "db/clock.h"
#include "db/pending_outputs.h"
#include "db/events.h"
#include "db/superversion.h"
#include "db/bg_error.h"
#include "db/obsolete_files.h"
#include "base/log.h"
#include "table/table_cache.h"
#include "version/version_edit.h"

uint64_t db_pending_compaction_bytes(lsm_db *db, const version *v)
{
    picker_options po;
    pthread_mutex_lock(&db->mu);
    db_picker_options(db, &po);
    /* Under mu: the tiered picker reads being_compacted (version.h). */
    uint64_t bytes = db->picker->pending_bytes(&po, v);
    pthread_mutex_unlock(&db->mu);
    return bytes;
}

/* ---- picking -------------------------------------------------------------- */

void db_picker_options(const lsm_db *db, picker_options *po)
{
    picker_options_init(po);
    po->l0_compaction_trigger = db->opt.l0_compaction_trigger;
    po->level_size_ratio = db->opt.level_size_ratio;
    po->level_base_bytes = db->opt.level_base_bytes;
    po->target_file_bytes = db->opt.sstable_target_bytes;
    po->tiered_size_ratio = db->opt.tiered_size_ratio;
    po->tiered_min_merge = db->opt.tiered_min_merge;
    po->tiered_max_runs = db->opt.tiered_max_runs;
    po->tiered_max_space_amp = db->opt.tiered_max_space_amp;
    po->periodic_compaction_seconds = db->opt.periodic_compaction_seconds;
    po->now_unix = (uint64_t)time(NULL);
}

static void mark_inputs(compaction *c, bool busy)
{
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < c->ninputs[l]; i++)
            c->inputs[l][i]->being_compacted = busy;
}

/* The live snapshots' sequences, ascending (the list is oldest first), in
 * a malloc'd array.  REQUIRES: mu held. */
static int snapshot_seqs(lsm_db *db, uint64_t **out, size_t *n)
{
    size_t k = 0;
    for (lsm_snapshot *s = db->snapshots.next; s != &db->snapshots; s = s->next)
        k++;
    uint64_t *a = malloc((k ? k : 1) * sizeof *a);
    if (!a)
        return -ENOMEM;
    k = 0;
    for (lsm_snapshot *s = db->snapshots.next; s != &db->snapshots; s = s->next)
        a[k++] = s->seq;
    *out = a;
    *n = k;
    return 0;
}

/* Compaction reads each input block once: keep them out of the cache so a
 * compaction does not push out the blocks readers need. */
/* A compaction created an output table: descriptors are back, so writers
 * stopped on level 0 wait for it without a bound again (a later failure
 * sets compact_transient anew). */
static void output_created(void *ctx)
{
    lsm_db *db = ctx;
    pthread_mutex_lock(&db->mu);
    db->compact_transient = 0;
    pthread_mutex_unlock(&db->mu);
}

static int open_input(void *ctx, file_meta *fm, const readahead_cfg *ra, iter **out)
{
    lsm_db *db = ctx;
    return table_cache_iter_new_ra(db->table_cache, fm->number, SST_ITER_NO_FILL_CACHE, ra, out);
}

/* Where an input's bytes lie by key, for splitting a job into ranges. */
static int sample_input(void *ctx, file_meta *fm, size_t max,
                        void (*fn)(void *fn_ctx, slice ikey, uint64_t bytes), void *fn_ctx)
{
    lsm_db *db = ctx;
    table_handle *h;
    int rc = table_cache_get(db->table_cache, fm->number, &h);
    if (rc == 0) {
        rc = sst_reader_index_sample(table_handle_reader(h), max, fn, fn_ctx);
        table_cache_release(db->table_cache, h);
    }
    return rc;
}

/* Runs c (already marked busy) and installs its result.  Called and returns
 * with mu held; drops it while working. */
static int run_compaction(lsm_db *db, compaction *c, version *v)
{
    int slot = db_pending_begin(db);
    db->compactions_running++;
    db_event *ev = db_event_begin(db, c->trivial_move ? "move" : "compaction",
                                  compaction_reason_name(c->reason), c->output_level);
    uint64_t ev_id = ev->id;
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        if (c->ninputs[l])
            ev->input_levels_mask |= 1 << l;
    uint64_t *snaps;
    size_t nsnaps;
    if (snapshot_seqs(db, &snaps, &nsnaps) != 0) {
        mark_inputs(c, false);
        db_pending_end(db, slot);
        db->compactions_running--;
        return -ENOMEM;
    }
    compaction_env env = {
        .io = db->io,
        .dir = db->dir,
        .vs = db->vs,
        .v = v,
        .sst = { db->opt.block_bytes, db->opt.block_restart_interval, db->opt.bloom_bits_per_key,
                 db->opt.use_direct_io },
        .snapshots = snaps,
        .nsnapshots = nsnaps,
        .rl = db->rl,
        .open = open_input,
        .open_ctx = db,
        .sample = sample_input,
        .max_subcompactions = db->opt.max_subcompactions,
        .readahead_bytes = db->opt.compaction_readahead_bytes,
        .created = output_created,
        .cancel = &db->cancel,
    };
    pthread_mutex_unlock(&db->mu);

    version_edit e;
    version_edit_init(&e);
    compaction_stats st;
    /* A failed job removes its own outputs (compaction_job_run). */
    int rc = compaction_job_run(&env, c, &e, &st);
    if (rc == 0) {
        pthread_mutex_lock(&db->manifest_mu);
        rc = version_set_log_and_apply(db->vs, &e);
        pthread_mutex_unlock(&db->manifest_mu);
        /* A trivial move adds its inputs: never remove those. */
        if (rc != 0 && !c->trivial_move && db_error_transient(db, rc))
            db_discard_added(db, &e);
    }
    version_edit_free(&e);
    free(snaps);
    if (rc == 0 && !c->trivial_move) {
        atomic_fetch_add_explicit(&db->stat_compact_read, st.bytes_read, memory_order_relaxed);
        atomic_fetch_add_explicit(&db->stat_compact_written, st.bytes_written,
                                  memory_order_relaxed);
        if (st.ranges > 1)
            atomic_fetch_add_explicit(&db->stat_subcompactions, st.ranges,
                                      memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&db->stat_compactions, 1, memory_order_relaxed);
    log_info("%s %s (%s): %llu files %llu B -> L%d %llu files %llu B, %llu entries dropped: %s",
             c->style, c->trivial_move ? "move" : "compaction",
             compaction_reason_name(c->reason), (unsigned long long)st.files_in,
             (unsigned long long)st.bytes_read, c->output_level,
             (unsigned long long)st.files_out, (unsigned long long)st.bytes_written,
             (unsigned long long)st.entries_dropped, lsm_strerror(rc));

    pthread_mutex_lock(&db->mu);
    mark_inputs(c, false);
    db_pending_end(db, slot);
    db->compactions_running--;
    ev = &db->events[(ev_id - 1) % DB_EVENT_LOG];
    if (ev->id == ev_id) { /* not overwritten by 256 newer events */
        ev->end_us = db_now_us();
        ev->files_in = st.files_in;
        ev->files_out = c->trivial_move ? st.files_in : st.files_out;
        ev->bytes_in = c->trivial_move ? 0 : st.bytes_read;
        ev->bytes_out = st.bytes_written;
        ev->status = rc;
    }
    if (rc == 0) {
        db->compact_transient = 0;
        rc = db_install_sv(db);
    } else if (rc != LSM_ECLOSED && db_error_transient(db, rc)) {
        /* The inputs are intact: the pick is retried after a back-off. */
        db_transient_note(db, rc, "compaction", &db->compact_transient);
    } else if (rc != LSM_ECLOSED) {
        db_set_bg_error(db, rc, "compaction failed");
    }
    pthread_cond_broadcast(&db->bg_cv); /* writers waiting on L0, lsm_compact */
    pthread_cond_broadcast(&db->compact_cv);
    return rc;
}

/* Picks and runs one compaction.  Returns 1 if it ran one, 0 if nothing was
 * due, <0 on error.  REQUIRES: mu held. */
static int compact_once(lsm_db *db, int manual_level, bool manual, uint64_t manual_floor)
{
    picker_options po;
    db_picker_options(db, &po);
    po.manual_floor = manual_floor;
    version *v = version_set_current(db->vs);
    int err = 0;
    compaction *c = manual ? db->picker->pick_manual(&po, v, manual_level, &err)
                           : db->picker->pick(&po, v, &err);
    if (!c) {
        /* Nothing due: no compaction is retrying, whatever failed last. */
        if (err == 0 && !manual)
            db->compact_transient = 0;
        version_unref(v);
        return err;
    }
    /* Jobs run side by side only on disjoint levels (and never two tiered
     * merges): then neither can change what the other's picker assumed. */
    int levels = 1 << c->output_level;
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        if (c->ninputs[l])
            levels |= 1 << l;
    if (db->compactions_running > 0 &&
        ((levels & db->running_levels) || strcmp(db->picker->name, "leveled") != 0)) {
        compaction_free(c);
        version_unref(v);
        return 0;
    }
    mark_inputs(c, true);
    db->running_levels |= levels;
    int rc = run_compaction(db, c, v);
    db->running_levels &= ~levels;
    compaction_free(c);
    version_unref(v);
    if (rc == 0) {
        pthread_mutex_unlock(&db->mu);
        db_delete_obsolete(db);
        pthread_mutex_lock(&db->mu);
    }
    return rc == 0 ? 1 : rc;
}

static void *compaction_main(void *arg)
{
    struct db_thread_arg *a = arg;
    lsm_db *db = a->db;
    int me = a->idx;
    uint64_t backoff = DB_BACKOFF_MIN_NS;
    pthread_mutex_lock(&db->mu);
    while (!db->closing) {
        bool allowed = me < db->opt.compaction_threads && !db->manual_compactions &&
                       !db->bg_error;
        int rc = allowed ? compact_once(db, 0, false, 0) : 0;
        if (rc > 0)
            backoff = DB_BACKOFF_MIN_NS;
        if (rc > 0 || db->closing) /* a job cancelled by close: the wakeup is spent */
            continue;
        if (rc < 0 && db_error_transient(db, rc)) {
            /* Flushes keep waking us: wait out the back-off regardless. */
            db_backoff_wait(db, &db->compact_cv, &backoff);
            continue;
        }
        /* Nothing due (or not our turn): sleep until woken, and look again
         * every second for time-based (periodic) work. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&db->compact_cv, &db->mu, &ts);
    }
    pthread_mutex_unlock(&db->mu);
    return NULL;
}

/* REQUIRES: mu held. */
static int start_threads(lsm_db *db)
{
    while (db->compact_threads_started < db->opt.compaction_threads) {
        int i = db->compact_threads_started++;
        db->compact_arg[i].db = db;
        db->compact_arg[i].idx = i;
        int rc = pthread_create(&db->compact_thread[i], NULL, compaction_main,
                                &db->compact_arg[i]);
        if (rc != 0) {
            db->compact_threads_started--;
            return -rc;
        }
    }
    return 0;
}

int db_compaction_start(lsm_db *db)
{
    db->rl = rate_limiter_new((uint64_t)db->opt.compaction_rate_mb << 20);
    if (!db->rl)
        return -ENOMEM;
    pthread_cond_init(&db->compact_cv, NULL);
    pthread_mutex_lock(&db->mu);
    int rc = start_threads(db);
    pthread_mutex_unlock(&db->mu);
    return rc;
}

void db_compaction_stop(lsm_db *db)
{
    atomic_store(&db->cancel, true);
    if (db->rl)
        rate_limiter_set_rate(db->rl, 0); /* wake throttled jobs */
    pthread_mutex_lock(&db->mu);
    db->closing = true;
    pthread_cond_broadcast(&db->compact_cv);
    int n = db->compact_threads_started;
    pthread_mutex_unlock(&db->mu);
    for (int i = 0; i < n; i++)
        pthread_join(db->compact_thread[i], NULL);
    rate_limiter_free(db->rl);
    db->rl = NULL;
}

void db_compaction_wake(lsm_db *db)
{
    pthread_cond_broadcast(&db->compact_cv);
}

int lsm_compact(lsm_db *db, int level)
{
    if (!db || level < -1 || level >= LSM_NUM_LEVELS)
        return -EINVAL;
    pthread_mutex_lock(&db->mu);
    /* Pause automatic picks and wait for running jobs: a manual compaction
     * of the whole tree wants every file. */
    db->manual_compactions++;
    while (db->compactions_running > 0 && !db->bg_error)
        pthread_cond_wait(&db->bg_cv, &db->mu);
    int rc = 0;
    /* Files numbered below the floor predate this call: the picker may
     * rewrite them in place once (dropping tombstones at the bottom), and
     * its own outputs are not picked again. */
    uint64_t floor = version_set_next_file_number(db->vs);
    uint64_t since = 0, backoff = DB_BACKOFF_MIN_NS;
    for (int steps = 0; !db->bg_error && !db->closing; steps++) {
        rc = compact_once(db, level, true, floor);
        if (rc < 0 && db_error_transient(db, rc)) {
            /* Retried with back-off for a bounded time, then returned. */
            uint64_t now = db_mono_ns();
            if (!since)
                since = now;
            if (now - since >= DB_TRANSIENT_WAIT_NS)
                break;
            db_backoff_wait(db, &db->bg_cv, &backoff);
            continue;
        }
        since = 0;
        if (rc <= 0)
            break;
        /* A level compaction is one step; the whole tree loops until the
         * picker has nothing left. */
        if (level >= 0)
            break;
        if (steps > 10000) { /* a picker that never converges is a bug */
            log_error("lsm_compact: picker %s did not converge", db->picker->name);
            rc = -EINVAL;
            break;
        }
    }
    if (rc > 0)
        rc = 0;
    if (rc == 0 && db->bg_error)
        rc = LSM_EREADONLY;
    db->manual_compactions--;
    pthread_cond_broadcast(&db->compact_cv);
    pthread_mutex_unlock(&db->mu);
    return rc;
}

void db_options_changed(lsm_db *db)
{
    pthread_mutex_lock(&db->mu);
    uint64_t rate = (uint64_t)db->opt.compaction_rate_mb << 20;
    int rc = start_threads(db);
    if (rc != 0)
        log_warn("could not start more compaction threads: %s", lsm_strerror(rc));
    pthread_cond_broadcast(&db->compact_cv);
    pthread_cond_broadcast(&db->bg_cv); /* writers re-check L0 triggers */
    pthread_mutex_unlock(&db->mu);
    if (rate_limiter_rate(db->rl) != rate)
        rate_limiter_set_rate(db->rl, rate);
}
