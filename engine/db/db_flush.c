/*
 * db_flush.c — the background flush: the oldest frozen memtable becomes a
 * level-0 table, the MANIFEST records it together with the new oldest WAL
 * still needed, and the WAL that held the memtable is retired.
 *
 * Order matters for crash safety:
 *   1. write the table and fdatasync it;
 *   2. sync the directory, so the table's name survives power loss;
 *   3. append the edit to the MANIFEST (synced) — from here recovery uses
 *      the table and skips the WAL;
 *   4. only then delete the WAL.
 * A crash between any two steps leaves either the WAL (replayed again) or
 * the recorded table; a table written but not recorded is deleted as
 * obsolete at the next open.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "db/db_impl.h"
#include "db/clock.h"
#include "db/pending_outputs.h"
#include "db/events.h"
#include "db/superversion.h"
#include "db/bg_error.h"
#include "db/obsolete_files.h"
#include "base/filenames.h"
#include "base/killpoint.h"
#include "base/log.h"
#include "table/table_cache.h"
#include "compaction/table_output.h"
#include "version/version_edit.h"

int db_build_l0(lsm_db *db, memtable *mem, file_meta **out)
{
    *out = NULL;
    if (memtable_entries(mem) == 0)
        return 0;
    /* Under mu: lsm_set_option rewrites db->opt whole (these fields are
     * open-time, but the store races the read all the same; TSan). */
    pthread_mutex_lock(&db->mu);
    sst_options so = {
        .block_bytes = db->opt.block_bytes,
        .restart_interval = db->opt.block_restart_interval,
        .bloom_bits_per_key = db->opt.bloom_bits_per_key,
        .direct_io = db->opt.use_direct_io,
    };
    pthread_mutex_unlock(&db->mu);
    table_output t;
    int rc = table_output_open(db->io, db->dir, db->vs, &so, &t);
    if (rc != 0)
        return rc;
    iter *it = memtable_iter_new(mem);
    if (!it) {
        table_output_abandon(&t);
        return -ENOMEM;
    }
    for (iter_first(it); iter_valid(it) && rc == 0; iter_next(it))
        rc = table_output_add(&t, iter_key(it), iter_value(it));
    iter_destroy(it);
    if (rc != 0) {
        table_output_abandon(&t);
        return rc;
    }
    KILLPOINT("flush.mid");
    file_meta *fm;
    rc = table_output_finish(&t, &fm); /* removes the file on failure */
    if (rc != 0)
        return rc;
    if ((rc = io_sync_dir(db->io, db->dir)) != 0) {
        /* The table is recorded nowhere: remove it now, so a retry starts
         * clean (the next open would delete it too). */
        db_remove_table(db, fm->number);
        file_meta_unref(fm);
        return rc;
    }
    atomic_fetch_add_explicit(&db->stat_bytes_flushed, fm->size, memory_order_relaxed);
    log_info("flush: table %06llu, %llu entries, %llu bytes",
             (unsigned long long)fm->number, (unsigned long long)fm->entries,
             (unsigned long long)fm->size);
    *out = fm;
    return 0;
}

/* Flushes db->imm[0].  Runs on the flush thread without mu. */
static int flush_oldest(lsm_db *db, memtable *mem, uint64_t next_wal)
{
    file_meta *fm;
    int rc = db_build_l0(db, mem, &fm);
    if (rc != 0)
        return rc;
    KILLPOINT("flush.after_table_before_manifest");
    version_edit e;
    version_edit_init(&e);
    if (fm)
        rc = version_edit_add_file(&e, 0, fm);
    /* Every WAL older than the next memtable's is now covered by tables. */
    version_edit_set_log_number(&e, next_wal);
    version_edit_set_last_sequence(&e, atomic_load(&db->last_seq));
    if (rc == 0) {
        pthread_mutex_lock(&db->manifest_mu);
        rc = version_set_log_and_apply(db->vs, &e);
        pthread_mutex_unlock(&db->manifest_mu);
    }
    if (rc != 0 && fm && db_error_transient(db, rc))
        db_remove_table(db, fm->number); /* nothing was written: the retry rebuilds it */
    version_edit_free(&e);
    if (fm)
        file_meta_unref(fm);
    return rc;
}

void *db_flush_main(void *arg)
{
    lsm_db *db = arg;
    uint64_t backoff = DB_BACKOFF_MIN_NS;
    pthread_mutex_lock(&db->mu);
    for (;;) {
        while (!db->closing && !db->bg_error && db->nimm == 0)
            pthread_cond_wait(&db->work_cv, &db->mu);
        if (db->bg_error || db->nimm == 0)
            break; /* closing with nothing left, or read-only */
        memtable *mem = db->imm[0].mem;
        uint64_t next_wal = db->nimm > 1 ? db->imm[1].wal_number : db->wal_number;
        int slot = db_pending_begin(db);
        db_event *ev = db_event_begin(db, "flush", db->imm[0].why ? db->imm[0].why
                                                                  : "memtable full", 0);
        uint64_t ev_id = ev->id;
        pthread_mutex_unlock(&db->mu);

        uint64_t before = atomic_load(&db->stat_bytes_flushed);
        int rc = flush_oldest(db, mem, next_wal);

        pthread_mutex_lock(&db->mu);
        db_pending_end(db, slot);
        ev = &db->events[(ev_id - 1) % DB_EVENT_LOG];
        if (ev->id == ev_id) {
            ev->end_us = db_now_us();
            ev->files_out = rc == 0;
            ev->bytes_in = memtable_bytes(mem);
            ev->bytes_out = atomic_load(&db->stat_bytes_flushed) - before;
            ev->status = rc;
        }
        if (rc != 0 && db_error_transient(db, rc)) {
            /* Out of descriptors or memory: the memtable is still in its
             * synced WAL.  Retry; writers stall behind it meanwhile. */
            db_transient_note(db, rc, "flush of a memtable to level 0",
                              &db->flush_transient);
            if (db->closing)
                break; /* the next open replays the WAL */
            db_backoff_wait(db, &db->work_cv, &backoff);
            continue;
        }
        if (rc != 0) {
            db_set_bg_error(db, rc, "flush of a memtable to level 0 failed");
            break;
        }
        backoff = DB_BACKOFF_MIN_NS;
        db->flush_transient = 0;
        for (int i = 1; i < db->nimm; i++)
            db->imm[i - 1] = db->imm[i];
        db->nimm--;
        db->imm_flushed++;
        memtable_unref(mem); /* the old view still holds its own ref */
        if (db_install_sv(db) != 0)
            break;
        pthread_mutex_unlock(&db->mu);
        db_delete_obsolete(db);
        db_compaction_wake(db); /* a new L0 file may trigger compaction */
        pthread_mutex_lock(&db->mu);
        pthread_cond_broadcast(&db->bg_cv);
    }
    pthread_cond_broadcast(&db->bg_cv);
    pthread_mutex_unlock(&db->mu);
    return NULL;
}
