/*
 * db_write.c — the write path: group commit and memtable switching.
 *
 * Writers queue up; the head of the queue is the leader.  The leader merges
 * the batches queued behind it into one WAL record (one write, and one
 * fdatasync if any member asked for LSM_SYNC), inserts the group into the
 * memtable, publishes the new last sequence and wakes the members.  While the
 * leader does I/O, mu is released so more writers can queue: they form the
 * next group (cf. LevelDB DBImpl::Write, RocksDB's WriteThread).
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "wal/batch.h"
#include "db/db_impl.h"
#include "db/clock.h"
#include "db/superversion.h"
#include "db/bg_error.h"
#include "db/paths.h"
#include "base/filenames.h"
#include "base/killpoint.h"
#include "base/log.h"
#include "wal/wal_writer.h"

/* A group stops growing at this many payload bytes, so a small write does
 * not wait behind a huge merged record (LevelDB uses 1 MiB too). */
#define GROUP_MAX_BYTES (1u << 20)

/* No group waits longer than this for the slowdown: a slowdown must never
 * look like a stop to the writer (only groups of megabytes at the lowest
 * rate reach it; they then pass a little faster than the rate). */
#define SLOWDOWN_MAX_NS 100000000u

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Freezes db->mem and starts a new memtable with a new WAL.
 * REQUIRES: mu held, caller is the leader.  Drops mu around the I/O: only
 * the leader touches db->wal, and readers keep using the current view.
 * A resource error (io_error_is_transient) creating the new WAL or
 * syncing its directory changes nothing: the new file is removed and the
 * error returned for make_room to retry.  Any other failure is sticky. */
static int switch_memtable(lsm_db *db, const char *why)
{
    uint64_t number = version_set_new_file_number(db->vs);
    char *path = db_wal_path(db, number);
    memtable *fresh = NULL;
    int rc = path ? memtable_create(db->opt.memtable_impl, &fresh) : -ENOMEM;
    if (rc != 0) {
        free(path);
        return rc;
    }
    pthread_mutex_unlock(&db->mu);
    /* The old WAL is synced before the new one takes writes: a synced write
     * in the new WAL must never survive a power loss that drops an earlier
     * unsynced write in the old one (that would be a hole).  No group sync
     * may be using the old writer meanwhile, and once it is swapped out its
     * waiters are covered (synced_seq moves past its last record). */
    pthread_mutex_lock(&db->sync_mu);
    while (db->syncing)
        pthread_cond_wait(&db->sync_cv, &db->sync_mu);
    rc = db->sync_error ? db->sync_error : wal_writer_sync(db->wal);
    bool old_synced = rc == 0;
    wal_writer *w = NULL;
    if (rc == 0)
        rc = wal_writer_open(db->io, path, &w);
    /* The new file's directory entry must be durable before a synced write
     * to it is acknowledged. */
    if (rc == 0)
        rc = io_sync_dir(db->io, db->dir);
    /* The old WAL is synced and untouched: out of descriptors, the switch
     * is only postponed. */
    bool transient = rc != 0 && old_synced && io_error_is_transient(rc);
    if (transient) {
        if (w)
            wal_writer_close(w); /* empty: nothing written to it yet */
        w = NULL;
        /* Also when the open failed: it may have made the file first. */
        io_unlink(db->io, path);
    }
    if (rc == 0) {
        /* Every record of the old WAL is durable: the leader (us) wrote
         * the last of them. */
        db->synced_seq = atomic_load_explicit(&db->wal_seq, memory_order_acquire);
        db->sync_writer = w;
    } else if (!transient && !db->sync_error) {
        db->sync_error = rc;
    }
    pthread_cond_broadcast(&db->sync_cv);
    pthread_mutex_unlock(&db->sync_mu);
    free(path);
    pthread_mutex_lock(&db->mu);
    if (rc != 0) {
        if (w)
            wal_writer_close(w);
        memtable_unref(fresh);
        if (!transient)
            db_set_bg_error(db, rc, "switching to a new WAL file failed");
        return rc;
    }
    wal_writer_close(db->wal);
    db->wal = w;
    memtable_freeze(db->mem); /* the leader was its only writer */
    db->imm[db->nimm].mem = db->mem;
    db->imm[db->nimm].wal_number = db->wal_number;
    db->imm[db->nimm].why = why;
    db->nimm++;
    db->imm_frozen++;
    db->mem = fresh;
    db->wal_number = number;
    rc = db_install_sv(db);
    pthread_cond_signal(&db->work_cv);
    return rc;
}

/* Makes sure db->mem has room.  Only a full memtable can add to level 0, so
 * the stop checks apply when it is full: above l0_stop_trigger L0 files
 * (or, tiered, above the run bound) or with too many memtables awaiting
 * flush, writers wait (write stop).  The slowdown before that is per write
 * group (slowdown_delay_ns).  force: freeze the memtable even if not full
 * (lsm_flush).  While the step waited for (compaction, flush, the switch
 * itself) keeps failing with a resource error, the wait is bounded
 * (DB_TRANSIENT_WAIT_NS) and then this write gets that error.
 * REQUIRES: mu held, caller is the leader. */
static int make_room(lsm_db *db, bool force)
{
    uint64_t since = 0, backoff = DB_BACKOFF_MIN_NS;
    for (;;) {
        if (db->bg_error)
            return LSM_EREADONLY;
        if (db->closing)
            return LSM_ECLOSED;
        bool full = memtable_bytes(db->mem) >= db->opt.memtable_bytes;
        if (!force && !full)
            return 0;
        if (force && memtable_entries(db->mem) == 0)
            return 0;
        size_t l0 = db->sv->v->nfiles[0];
        /* Tiered: the bound on sorted runs is kept by making writers wait
         * for the merge once it is passed. */
        bool runs_over = db->picker == &picker_tiered &&
                         db->picker->sorted_runs(db->sv->v) > db->opt.tiered_max_runs;
        if (!force && (l0 >= (size_t)db->opt.l0_stop_trigger || runs_over)) {
            /* Write stop: level 0 is too deep for reads to stay fast. */
            uint64_t t0 = now_us();
            atomic_fetch_add_explicit(&db->stat_stalls, 1, memory_order_relaxed);
            log_debug("write stop: %zu L0 files", l0);
            db_compaction_wake(db);
            int rc = db_wait_progress(db, db->compact_transient, &since);
            atomic_fetch_add_explicit(&db->stat_stall_us, now_us() - t0,
                                      memory_order_relaxed);
            if (rc != 0)
                return rc;
            continue;
        }
        if (db->nimm >= db->opt.max_immutable_memtables) {
            uint64_t t0 = now_us();
            atomic_fetch_add_explicit(&db->stat_stalls, 1, memory_order_relaxed);
            log_debug("write stop: %d memtables await flush", db->nimm);
            int rc = db_wait_progress(db, db->flush_transient, &since);
            atomic_fetch_add_explicit(&db->stat_stall_us, now_us() - t0,
                                      memory_order_relaxed);
            if (rc != 0)
                return rc;
            continue;
        }
        /* A forced switch of a memtable that is also full says full: the
         * size would have flushed it anyway. */
        int rc = switch_memtable(db, full ? "memtable full" : "manual flush");
        if (rc == 0 || !db_error_transient(db, rc))
            return rc;
        db_transient_note(db, rc, "switching to a new WAL file", NULL);
        uint64_t now = db_mono_ns();
        if (!since)
            since = now;
        if (now - since >= DB_TRANSIENT_WAIT_NS)
            return rc; /* this write is refused; the next one tries again */
        /* Writers queue behind us meanwhile: a write stop. */
        db_backoff_wait(db, &db->bg_cv, &backoff);
    }
}

/* How far the slowdown lets the tree fall behind: fraction of
 * delayed_write_rate allowed with `depth` files (or runs) when slowing
 * starts at `slow` and writes stop above `stop`, falling linearly from 1 at
 * `slow` to 1/8 at the stop; 0 = no slowdown. */
static double slowdown_fraction(size_t depth, int slow, int stop)
{
    if (depth < (size_t)slow)
        return 0;
    double f = stop > slow ? (double)(stop - (long)depth) / (double)(stop - slow) : 0;
    return f < 0.125 ? 0.125 : f > 1 ? 1 : f;
}

/* Write slowdown (cf. RocksDB's WriteController and delayed_write_rate):
 * once level 0 holds l0_slowdown_trigger files (or, tiered, the sorted runs
 * reach tiered_max_runs; one more and writes stop), write groups are paced to a byte
 * rate, so compaction gains ground before writes must stop altogether.  The
 * rate falls as the tree nears the stop.  Pacing is by credit: each group
 * starts no earlier than the previous group's bytes allow, so many small
 * writes are slowed as much as one big one.  Returns the nanoseconds this
 * group of `bytes` must wait (at most SLOWDOWN_MAX_NS).  REQUIRES: mu held,
 * leader. */
static uint64_t slowdown_delay_ns(lsm_db *db, size_t bytes)
{
    double f = slowdown_fraction(db->sv->v->nfiles[0], db->opt.l0_slowdown_trigger,
                                 db->opt.l0_stop_trigger);
    if (db->picker == &picker_tiered) {
        int max_runs = db->opt.tiered_max_runs;
        double ft = slowdown_fraction(db->picker->sorted_runs(db->sv->v), max_runs,
                                      max_runs + 1);
        if (ft > 0 && (f == 0 || ft < f))
            f = ft;
    }
    if (f == 0 || db->opt.delayed_write_rate == 0) {
        db->slowdown_next_ns = 0;
        return 0;
    }
    uint64_t now = db_mono_ns();
    uint64_t start = db->slowdown_next_ns > now ? db->slowdown_next_ns : now;
    if (start - now > SLOWDOWN_MAX_NS)
        start = now + SLOWDOWN_MAX_NS;
    double rate = (double)db->opt.delayed_write_rate * f;
    db->slowdown_next_ns = start + (uint64_t)((double)bytes * 1e9 / rate);
    return start - now;
}

struct insert_ctx {
    memtable *mem;
    uint64_t seq;
};

static int insert_entry(void *arg, enum value_type type, slice key, slice value)
{
    struct insert_ctx *c = arg;
    return memtable_add(c->mem, c->seq++, type, key, value);
}

int db_insert_entries(memtable *mem, uint64_t first_seq, slice payload, uint32_t count)
{
    struct insert_ctx ctx = { mem, first_seq };
    return batch_iterate(payload, count, insert_entry, &ctx);
}

/* Builds the leader's group: the leader and the writers behind it, up to
 * GROUP_MAX_BYTES.  Sync and non-sync writes share a group; only the sync
 * members wait for the fdatasync.  Returns
 * the last member; *payload and *count describe the merged record.
 * REQUIRES: mu held. */
static db_writer *build_group(lsm_db *db, db_writer *leader, lsm_batch **merged)
{
    db_writer *last = leader;
    *merged = leader->batch;
    size_t bytes = batch_payload(leader->batch).size;
    for (db_writer *w = leader->next; w; w = w->next) {
        if (!w->batch)
            break;
        size_t n = batch_payload(w->batch).size;
        if (bytes + n > GROUP_MAX_BYTES)
            break;
        if (*merged == leader->batch) {
            lsm_batch_clear(db->group_batch);
            if (batch_append(db->group_batch, leader->batch) != 0)
                break;
            *merged = db->group_batch;
        }
        if (batch_append(db->group_batch, w->batch) != 0)
            break;
        bytes += n;
        last = w;
    }
    return last;
}

/* Appends the group to the WAL and the memtable.  Runs without mu.  The
 * fdatasync, if the group needs one, comes after leadership is handed on
 * (sync_upto). */
static int commit_group(lsm_db *db, lsm_batch *merged, uint64_t first_seq)
{
    uint32_t count = batch_count(merged);
    /* The batch keeps room for the record header in front of its entries,
     * so the record goes out in one write without a copy. */
    int rc = wal_writer_append_frame(db->wal, first_seq, count, batch_frame(merged),
                                     batch_payload(merged).size, 0);
    if (rc != 0)
        return rc;
    /* Release: a sync that loads it (acquire) starts its fdatasync after
     * this record's write returned. */
    atomic_store_explicit(&db->wal_seq, first_seq + count - 1, memory_order_release);
    KILLPOINT("wal.after_write_before_sync");
    return db_insert_entries(db->mem, first_seq, batch_payload(merged), count);
}

/* Returns once every write up to sequence seq is durable.  Whoever finds
 * no sync running starts one covering every record written so far, so
 * writes that came in while a sync ran share the next one (group commit
 * across groups).  Runs without mu.  Errors: the fdatasync's, sticky. */
static int sync_upto(lsm_db *db, uint64_t seq)
{
    pthread_mutex_lock(&db->sync_mu);
    int rc = 0;
    for (;;) {
        if (db->synced_seq >= seq)
            break;
        if ((rc = db->sync_error) != 0)
            break;
        if (db->syncing) {
            pthread_cond_wait(&db->sync_cv, &db->sync_mu);
            continue;
        }
        /* The writer cannot change while syncing is set (switch_memtable
         * waits), and every record up to target went to it or to an older
         * WAL, synced whole at its switch. */
        db->syncing = true;
        wal_writer *w = db->sync_writer;
        uint64_t target = atomic_load_explicit(&db->wal_seq, memory_order_acquire);
        pthread_mutex_unlock(&db->sync_mu);
        rc = wal_writer_sync(w); /* covers every byte written before it */
        atomic_fetch_add_explicit(&db->stat_wal_syncs, 1, memory_order_relaxed);
        pthread_mutex_lock(&db->sync_mu);
        db->syncing = false;
        if (rc != 0) {
            if (!db->sync_error)
                db->sync_error = rc;
        } else if (target > db->synced_seq) {
            db->synced_seq = target;
        }
        pthread_cond_broadcast(&db->sync_cv);
    }
    pthread_mutex_unlock(&db->sync_mu);
    return rc;
}

int db_sync_upto(lsm_db *db, uint64_t seq)
{
    if (seq > atomic_load_explicit(&db->wal_seq, memory_order_acquire))
        return -EINVAL; /* no write returned this position */
    int rc = sync_upto(db, seq);
    if (rc != 0) {
        pthread_mutex_lock(&db->mu);
        db_set_bg_error(db, rc, "WAL fdatasync failed");
        pthread_mutex_unlock(&db->mu);
    }
    return rc;
}

int db_write_batch(lsm_db *db, lsm_batch *b, int sync, uint64_t *seq)
{
    db_writer me = { .batch = b, .sync = sync };
    uint64_t t0 = db_mono_ns();
    pthread_cond_init(&me.cv, NULL);

    pthread_mutex_lock(&db->mu);
    db->writers_inflight++;
    if (db->wq_tail)
        db->wq_tail->next = &me;
    else
        db->wq_head = &me;
    db->wq_tail = &me;
    while (!me.done && db->wq_head != &me)
        pthread_cond_wait(&me.cv, &db->mu);
    if (me.done) {
        if (--db->writers_inflight == 0)
            pthread_cond_broadcast(&db->bg_cv); /* lsm_close waits for this */
        pthread_mutex_unlock(&db->mu);
        pthread_cond_destroy(&me.cv);
        histogram_record_atomic(&db->write_latency, db_mono_ns() - t0);
        if (seq)
            *seq = me.seq;
        return me.status;
    }

    /* Leader. */
    int rc = make_room(db, b == NULL);
    db_writer *last = &me;
    bool group_sync = false;
    uint64_t group_seq = atomic_load_explicit(&db->last_seq, memory_order_relaxed);
    if (rc == 0 && b && batch_count(b) > 0) {
        lsm_batch *merged;
        last = build_group(db, &me, &merged);
        for (db_writer *w = &me;; w = w->next) {
            group_sync |= w->sync;
            if (w == last)
                break;
        }
        uint64_t first_seq = atomic_load_explicit(&db->last_seq, memory_order_relaxed) + 1;
        uint32_t count = batch_count(merged);
        size_t bytes = batch_payload(merged).size;
        uint64_t delay = slowdown_delay_ns(db, bytes);
        pthread_mutex_unlock(&db->mu);
        if (delay) {
            /* The group waits here with its writers behind it: every write
             * is slowed, not only the one that fills a memtable. */
            struct timespec ts = { (time_t)(delay / 1000000000u), (long)(delay % 1000000000u) };
            nanosleep(&ts, NULL);
            atomic_fetch_add_explicit(&db->stat_slowdowns, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&db->stat_slowdown_us, delay / 1000, memory_order_relaxed);
        }
        rc = commit_group(db, merged, first_seq);
        pthread_mutex_lock(&db->mu);
        if (rc == 0) {
            /* Pairs with the acquire loads of readers choosing their
             * sequence: the group is in the memtable before it is visible. */
            atomic_store_explicit(&db->last_seq, first_seq + count - 1, memory_order_release);
            atomic_fetch_add_explicit(&db->stat_wal_groups, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&db->stat_user_bytes, bytes, memory_order_relaxed);
            uint64_t members = 1;
            for (db_writer *w = &me; w != last; w = w->next)
                members++;
            atomic_fetch_add_explicit(&db->stat_wal_grouped_writes, members,
                                      memory_order_relaxed);
            histogram_record_atomic(&db->wal_group_size, members);
            group_seq = first_seq + count - 1;
        } else {
            /* The WAL may now hold a partial record: never accept another
             * write. */
            db_set_bg_error(db, rc, "WAL write failed");
        }
    }

    /* Wake the members that need no sync, keep the others for after it,
     * and hand leadership on. */
    db_writer *sync_list = NULL, **tail = &sync_list;
    for (;;) {
        db_writer *w = db->wq_head;
        db->wq_head = w->next;
        if (!db->wq_head)
            db->wq_tail = NULL;
        if (w != &me) {
            w->seq = group_seq;
            if (rc == 0 && w->sync) {
                w->next = NULL;
                *tail = w;
                tail = &w->next;
            } else {
                w->status = rc;
                w->done = true;
                pthread_cond_signal(&w->cv);
            }
        }
        if (w == last)
            break;
    }
    if (db->wq_head)
        pthread_cond_signal(&db->wq_head->cv);
    if (rc == 0 && group_sync) {
        pthread_mutex_unlock(&db->mu);
        rc = sync_upto(db, group_seq);
        pthread_mutex_lock(&db->mu);
        if (rc != 0) /* an fdatasync error is never retried as success */
            db_set_bg_error(db, rc, "WAL fdatasync failed");
        for (db_writer *w = sync_list; w;) {
            db_writer *next = w->next; /* w may be gone once done */
            w->status = rc;
            w->done = true;
            pthread_cond_signal(&w->cv);
            w = next;
        }
    }
    if (--db->writers_inflight == 0)
        pthread_cond_broadcast(&db->bg_cv); /* lsm_close waits for this */
    pthread_mutex_unlock(&db->mu);
    pthread_cond_destroy(&me.cv);
    if (b)
        histogram_record_atomic(&db->write_latency, db_mono_ns() - t0);
    if (seq)
        *seq = group_seq;
    return rc;
}
