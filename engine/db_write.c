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

#include "batch.h"
#include "db_impl.h"
#include "filenames.h"
#include "killpoint.h"
#include "log.h"
#include "wal_writer.h"

/* A group stops growing at this many payload bytes, so a small write does
 * not wait behind a huge merged record (LevelDB uses 1 MiB too). */
#define GROUP_MAX_BYTES (1u << 20)

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Freezes db->mem and starts a new memtable with a new WAL.
 * REQUIRES: mu held, caller is the leader.  Drops mu around the I/O: only
 * the leader touches db->wal, and readers keep using the current view. */
static int switch_memtable(lsm_db *db)
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
     * unsynced write in the old one (that would be a hole). */
    rc = wal_writer_sync(db->wal);
    wal_writer *w = NULL;
    if (rc == 0)
        rc = wal_writer_open(db->io, path, &w);
    /* The new file's directory entry must be durable before a synced write
     * to it is acknowledged. */
    if (rc == 0)
        rc = io_sync_dir(db->io, db->dir);
    free(path);
    pthread_mutex_lock(&db->mu);
    if (rc != 0) {
        if (w)
            wal_writer_close(w);
        memtable_unref(fresh);
        db_set_bg_error(db, rc, "switching to a new WAL file failed");
        return rc;
    }
    wal_writer_close(db->wal);
    db->wal = w;
    memtable_freeze(db->mem); /* the leader was its only writer */
    db->imm[db->nimm].mem = db->mem;
    db->imm[db->nimm].wal_number = db->wal_number;
    db->nimm++;
    db->imm_frozen++;
    db->mem = fresh;
    db->wal_number = number;
    rc = db_install_sv(db);
    pthread_cond_signal(&db->work_cv);
    return rc;
}

/* Makes sure db->mem has room, waiting while too many memtables await flush
 * (write stop).  force: freeze the memtable even if not full (lsm_flush).
 * REQUIRES: mu held, caller is the leader. */
static int make_room(lsm_db *db, bool force)
{
    bool slowed = false;
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
            pthread_cond_wait(&db->bg_cv, &db->mu);
            atomic_fetch_add_explicit(&db->stat_stall_us, now_us() - t0,
                                      memory_order_relaxed);
            continue;
        }
        if (!force && !slowed && l0 >= (size_t)db->opt.l0_slowdown_trigger) {
            /* Write slowdown: give compaction 1 ms per write, once, so the
             * stop above is reached gradually if at all. */
            slowed = true;
            atomic_fetch_add_explicit(&db->stat_slowdowns, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&db->stat_slowdown_us, 1000, memory_order_relaxed);
            pthread_mutex_unlock(&db->mu);
            struct timespec ts = { 0, 1000000 };
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&db->mu);
            continue;
        }
        if (db->nimm >= db->opt.max_immutable_memtables) {
            uint64_t t0 = now_us();
            atomic_fetch_add_explicit(&db->stat_stalls, 1, memory_order_relaxed);
            log_debug("write stop: %d memtables await flush", db->nimm);
            pthread_cond_wait(&db->bg_cv, &db->mu);
            atomic_fetch_add_explicit(&db->stat_stall_us, now_us() - t0,
                                      memory_order_relaxed);
            continue;
        }
        return switch_memtable(db);
    }
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
 * GROUP_MAX_BYTES.  A non-sync leader does not take sync followers, so a
 * sync write is never acknowledged by a group that did not sync.  Returns
 * the last member; *payload and *count describe the merged record.
 * REQUIRES: mu held. */
static db_writer *build_group(lsm_db *db, db_writer *leader, lsm_batch **merged)
{
    db_writer *last = leader;
    *merged = leader->batch;
    size_t bytes = batch_payload(leader->batch).size;
    for (db_writer *w = leader->next; w; w = w->next) {
        if (!w->batch || (w->sync && !leader->sync))
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

/* Appends the group to the WAL and the memtable.  Runs without mu. */
static int commit_group(lsm_db *db, lsm_batch *merged, uint64_t first_seq, int sync)
{
    uint32_t count = batch_count(merged);
    /* The batch keeps room for the record header in front of its entries,
     * so the record goes out in one write without a copy. */
    int rc = wal_writer_append_frame(db->wal, first_seq, count, batch_frame(merged),
                                     batch_payload(merged).size, sync);
    if (rc != 0)
        return rc;
    KILLPOINT("wal.after_write_before_sync");
    if (sync)
        atomic_fetch_add_explicit(&db->stat_wal_syncs, 1, memory_order_relaxed);
    return db_insert_entries(db->mem, first_seq, batch_payload(merged), count);
}

int db_write_batch(lsm_db *db, lsm_batch *b, int sync)
{
    db_writer me = { .batch = b, .sync = sync };
    uint64_t t0 = db_mono_ns();
    pthread_cond_init(&me.cv, NULL);

    pthread_mutex_lock(&db->mu);
    if (db->wq_tail)
        db->wq_tail->next = &me;
    else
        db->wq_head = &me;
    db->wq_tail = &me;
    while (!me.done && db->wq_head != &me)
        pthread_cond_wait(&me.cv, &db->mu);
    if (me.done) {
        pthread_mutex_unlock(&db->mu);
        pthread_cond_destroy(&me.cv);
        histogram_record_atomic(&db->write_latency, db_mono_ns() - t0);
        return me.status;
    }

    /* Leader. */
    int rc = make_room(db, b == NULL);
    db_writer *last = &me;
    if (rc == 0 && b && batch_count(b) > 0) {
        lsm_batch *merged;
        last = build_group(db, &me, &merged);
        uint64_t first_seq = atomic_load_explicit(&db->last_seq, memory_order_relaxed) + 1;
        uint32_t count = batch_count(merged);
        int group_sync = me.sync;
        pthread_mutex_unlock(&db->mu);
        rc = commit_group(db, merged, first_seq, group_sync);
        pthread_mutex_lock(&db->mu);
        if (rc == 0) {
            /* Pairs with the acquire loads of readers choosing their
             * sequence: the group is in the memtable before it is visible. */
            atomic_store_explicit(&db->last_seq, first_seq + count - 1, memory_order_release);
            atomic_fetch_add_explicit(&db->stat_wal_groups, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&db->stat_user_bytes, batch_payload(merged).size,
                                      memory_order_relaxed);
            uint64_t members = 1;
            for (db_writer *w = &me; w != last; w = w->next)
                members++;
            atomic_fetch_add_explicit(&db->stat_wal_grouped_writes, members,
                                      memory_order_relaxed);
        } else {
            /* The WAL may now hold a partial record and, after a failed
             * fdatasync, the page cache may have dropped our bytes: never
             * accept another write (an fsync error is not retried). */
            db_set_bg_error(db, rc, group_sync ? "WAL write or fdatasync failed"
                                               : "WAL write failed");
        }
    }

    /* Wake the group's members and hand leadership on. */
    for (;;) {
        db_writer *w = db->wq_head;
        db->wq_head = w->next;
        if (!db->wq_head)
            db->wq_tail = NULL;
        if (w != &me) {
            w->status = rc;
            w->done = true;
            pthread_cond_signal(&w->cv);
        }
        if (w == last)
            break;
    }
    if (db->wq_head)
        pthread_cond_signal(&db->wq_head->cv);
    else
        pthread_cond_broadcast(&db->bg_cv); /* lsm_close waits for this */
    pthread_mutex_unlock(&db->mu);
    pthread_cond_destroy(&me.cv);
    if (b)
        histogram_record_atomic(&db->write_latency, db_mono_ns() - t0);
    return rc;
}
