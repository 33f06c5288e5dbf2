/*
 * db.c — opening, recovering and closing a database; default options; the
 * thin public write wrappers; snapshots.
 *
 * Recovery (lsm_open on an existing directory):
 *   1. take dir/LOCK (flock), refusing a second opener with -EBUSY;
 *   2. rebuild the version from CURRENT -> MANIFEST (version_set_recover);
 *   3. replay every WAL numbered >= the MANIFEST's log number, oldest first,
 *      into a memtable; a torn tail is tolerated only in the newest WAL;
 *   4. write what was replayed to a level-0 table and record it with the
 *      next WAL's number, so the replayed WALs are retired and never hold a
 *      torn tail behind a newer log;
 *   5. create the new WAL, sync the directory, write DIR/OPTIONS (the
 *      options in force: options_file.h), delete obsolete files, start
 *      the flush thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal/batch.h"
#include "table/block_cache.h"
#include "table/table_cache.h"
#include "db/db_impl.h"
#include "db/get_queues.h"
#include "db/superversion.h"
#include "db/paths.h"
#include "db/obsolete_files.h"
#include "db/wal_files.h"
#include "io/io_direct.h"
#include "base/filenames.h"
#include "base/log.h"
#include "base/reason.h"
#include "version/version_edit.h"
#include "wal/wal_reader.h"

void lsm_options_init(lsm_options *o)
{
    memset(o, 0, sizeof *o);
    o->create_if_missing = 1;
    o->memtable_bytes = 64u << 20;
    o->max_immutable_memtables = 2;
    o->block_bytes = 4096;
    o->block_restart_interval = 16;
    o->bloom_bits_per_key = 10;
    o->sstable_target_bytes = 64u << 20;
    o->io_backend = "auto";
    o->memtable_impl = "skiplist";
    o->compaction_style = "leveled";
    o->l0_compaction_trigger = 4;
    o->l0_slowdown_trigger = 20;
    o->l0_stop_trigger = 36;
    o->delayed_write_rate = 16u << 20;
    o->level_size_ratio = 10;
    o->level_base_bytes = 256u << 20;
    o->tiered_size_ratio = 1.0;
    o->tiered_min_merge = 4;
    o->tiered_max_runs = 12;
    o->tiered_max_space_amp = 2.0;
    o->compaction_threads = 1;
    o->compaction_rate_mb = 0;
    o->max_subcompactions = 2;
    o->compaction_readahead_bytes = 2u << 20;
    o->periodic_compaction_seconds = 0;
    o->block_cache_bytes = 64u << 20;
    o->max_open_files = 1000;
    o->use_direct_io = 0;
    o->file_mode = IO_DEFAULT_FILE_MODE;
}

/* The directory's bits: the files' plus x wherever r is set (0600 -> 0700,
 * 0640 -> 0750), so whoever may read the files may reach them. */
static unsigned dir_mode(unsigned file_mode)
{
    return file_mode | ((file_mode & 0444u) >> 2);
}

/* ---- LOCK --------------------------------------------------------------- */

static int take_lock(lsm_db *db)
{
    char *path = db_path(db, "LOCK");
    if (!path)
        return -ENOMEM;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, (mode_t)db->opt.file_mode);
    free(path);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        char holder[32] = "unknown";
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        if (n > 0)
            holder[n] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        close(fd);
        if (err == EWOULDBLOCK) {
            log_error("lsm_open %s: already open (LOCK held by pid %s)", db->dir, holder);
            return reason_set(-EBUSY, "%.60s is already open (LOCK held by pid %.12s)", db->dir,
                              holder);
        }
        return -err;
    }
    /* Say who holds it, for the next opener's message. */
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        log_warn("lsm_open %s: could not record our pid in LOCK", db->dir);
    db->lock_fd = fd;
    return 0;
}

/* ---- recovery ------------------------------------------------------------ */

static void mark_used(void *vs, uint64_t number)
{
    version_set_mark_file_number_used(vs, number);
}

/* Lists the WAL numbers >= min in dir, sorted, and marks every number
 * found as used: a WAL created after the last MANIFEST edit is numbered at
 * or above the recorded counter, and must never be handed out again (it
 * would be truncated while it still holds data). */
static int list_wals(version_set *vs, const char *dir, uint64_t min, uint64_t **out, size_t *n)
{
    return db_list_wals(dir, min, mark_used, vs, out, n);
}

/* Replays one WAL into mem; *max_seq rises to the last sequence seen. */
static int replay_wal(lsm_db *db, uint64_t number, bool newest, memtable *mem,
                      uint64_t *max_seq)
{
    char *path = db_wal_path(db, number);
    if (!path)
        return -ENOMEM;
    wal_reader *r;
    int rc = wal_reader_open(db->io, path, 1, &r);
    if (rc != 0) {
        log_error("recovery: cannot open WAL %s: %s", path, lsm_strerror(rc));
        free(path);
        return rc;
    }
    wal_record rec;
    uint64_t records = 0;
    while ((rc = wal_reader_next(r, &rec)) == 1) {
        rc = db_insert_entries(mem, rec.sequence, rec.payload, rec.count);
        if (rc != 0)
            break;
        if (rec.count && rec.sequence + rec.count - 1 > *max_seq)
            *max_seq = rec.sequence + rec.count - 1;
        records++;
    }
    if (rc == 0 && wal_reader_torn_tail(r)) {
        if (newest) {
            log_warn("recovery: %s ends in a torn record at offset %llu (an "
                     "unacknowledged write); ignored",
                     path, (unsigned long long)wal_reader_valid_end(r));
        } else {
            log_error("recovery: %s is not the newest WAL yet ends in a bad record "
                      "at offset %llu",
                      path, (unsigned long long)wal_reader_valid_end(r));
            rc = LSM_ECORRUPT;
        }
    }
    log_info("recovery: replayed %llu records from %s",
             (unsigned long long)records, path);
    wal_reader_close(r);
    free(path);
    return rc;
}

static int recover_wals(lsm_db *db)
{
    uint64_t *wals = NULL;
    size_t n = 0;
    int rc = list_wals(db->vs, db->dir, version_set_log_number(db->vs), &wals, &n);
    if (rc != 0)
        return rc;
    memtable *mem;
    rc = memtable_create(db->opt.memtable_impl, &mem);
    if (rc != 0) {
        free(wals);
        return rc;
    }
    uint64_t max_seq = version_set_last_sequence(db->vs);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = replay_wal(db, wals[i], i + 1 == n, mem, &max_seq);
    free(wals);

    /* Tables first, then the new WAL: the edit names the new WAL's number,
     * so all the replayed ones are retired together. */
    file_meta *fm = NULL;
    memtable_freeze(mem);
    if (rc == 0)
        rc = db_build_l0(db, mem, &fm);
    memtable_unref(mem);
    uint64_t wal_number = version_set_new_file_number(db->vs);
    if (rc == 0) {
        version_edit e;
        version_edit_init(&e);
        if (fm)
            rc = version_edit_add_file(&e, 0, fm);
        version_edit_set_log_number(&e, wal_number);
        version_edit_set_last_sequence(&e, max_seq);
        if (rc == 0)
            rc = version_set_log_and_apply(db->vs, &e);
        version_edit_free(&e);
    }
    if (fm)
        file_meta_unref(fm);
    if (rc != 0)
        return rc;
    atomic_store(&db->last_seq, max_seq);

    char *path = db_wal_path(db, wal_number);
    if (!path)
        return -ENOMEM;
    rc = wal_writer_open(db->io, path, &db->wal);
    free(path);
    if (rc == 0)
        rc = io_sync_dir(db->io, db->dir);
    db->wal_number = wal_number;
    db->sync_writer = db->wal;
    atomic_store(&db->wal_seq, max_seq);
    db->synced_seq = max_seq; /* recovered: no sync asked of the new WAL */
    return rc;
}

/* ---- open / close ---------------------------------------------------------- */

static int open_io(lsm_db *db)
{
    if (db->opt.io) {
        db->io = db->opt.io;
        db->own_io = false;
        return 0;
    }
    db->own_io = true;
    return io_new(db->opt.io_backend, &db->io);
}

/* Every file the engine creates goes through db->io (or take_lock), so
 * this one setting covers WAL, tables, MANIFEST, CURRENT(.tmp). */
static int open_io_with_mode(lsm_db *db)
{
    int rc = open_io(db);
    if (rc == 0)
        io_set_file_mode(db->io, db->opt.file_mode);
    return rc;
}

/* use_direct_io: finds out at open, with one aligned write, whether the
 * directory's file system takes O_DIRECT (some refuse the open with
 * EINVAL, some only the first write), instead of failing the first
 * flush.  The probe file is removed again; a crash may leave it, and the
 * next probe reuses it. */
static int probe_direct_io(lsm_db *db)
{
    char *path = db_path(db, "DIRECT_IO_PROBE");
    void *buf = io_aligned_alloc(IO_DIRECT_ALIGN);
    lsm_file *f = NULL;
    int rc = path && buf ? 0 : -ENOMEM;
    if (rc == 0) {
        memset(buf, 0, IO_DIRECT_ALIGN);
        rc = io_open(db->io, path, IO_CREATE | IO_DIRECT, &f);
        if (rc == 0) {
            rc = io_write(db->io, f, buf, IO_DIRECT_ALIGN, 0);
            int crc = io_close(db->io, f);
            rc = rc ? rc : crc;
        }
        if (rc == -EINVAL)
            log_error("lsm_open %s: use_direct_io is set but the file system of %s refuses "
                      "O_DIRECT (EINVAL); open without use_direct_io", db->dir, db->dir);
        else if (rc)
            log_error("lsm_open %s: use_direct_io probe %s failed: %s", db->dir, path,
                      lsm_strerror(rc));
        if (f)
            io_unlink(db->io, path);
    }
    free(buf);
    free(path);
    return rc;
}

static int make_dir(const lsm_db *db)
{
    struct stat st;
    if (stat(db->dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
    if (errno != ENOENT)
        return -errno;
    if (!db->opt.create_if_missing)
        return -ENOENT;
    if (mkdir(db->dir, (mode_t)dir_mode(db->opt.file_mode)) != 0)
        return errno == EEXIST ? 0 : -errno;
    /* The new directory's own name must survive power loss too. */
    char *parent = strdup(db->dir);
    if (!parent)
        return -ENOMEM;
    char *slash = strrchr(parent, '/');
    if (slash == parent)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    int rc = io_sync_dir(db->io, slash ? parent : ".");
    free(parent);
    return rc;
}

static void db_free(lsm_db *db)
{
    while (db->snapshots.next != &db->snapshots) {
        lsm_snapshot *s = db->snapshots.next;
        db->snapshots.next = s->next;
        free(s);
    }
    if (db->sv)
        db_sv_release(db->sv);
    for (int i = 0; i < db->nimm; i++)
        memtable_unref(db->imm[i].mem);
    if (db->mem)
        memtable_unref(db->mem);
    if (db->wal)
        wal_writer_close(db->wal);
    if (db->vs)
        version_set_free(db->vs);
    db_get_queues_free(db); /* before the io they were made on */
    if (db->table_cache)
        table_cache_free(db->table_cache);
    if (db->block_cache)
        block_cache_free(db->block_cache);
    if (db->group_batch)
        lsm_batch_free(db->group_batch);
    if (db->io && db->own_io)
        io_destroy(db->io);
    if (db->lock_fd >= 0)
        close(db->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&db->mu);
    pthread_mutex_destroy(&db->manifest_mu);
    pthread_mutex_destroy(&db->options_mu);
    pthread_cond_destroy(&db->bg_cv);
    pthread_cond_destroy(&db->work_cv);
    pthread_mutex_destroy(&db->sync_mu);
    pthread_cond_destroy(&db->sync_cv);
    if (db->compaction_started)
        pthread_cond_destroy(&db->compact_cv);
    free(db->dir);
    free(db);
}

static int open_existing_or_new(lsm_db *db)
{
    char *current = db_path(db, "CURRENT");
    if (!current)
        return -ENOMEM;
    int exists = access(current, F_OK) == 0;
    free(current);
    if (exists && db->opt.error_if_exists)
        return -EEXIST;
    if (exists)
        return version_set_recover(db->io, db->dir, &db->vs);
    if (!db->opt.create_if_missing)
        return -ENOENT;
    return version_set_create(db->io, db->dir, &db->vs);
}

int lsm_open(const char *dir, const lsm_options *o, lsm_db **out)
{
    reason_clear();
    if (!dir || !*dir || !out)
        return reason_set(-EINVAL, "lsm_open: no directory given");
    *out = NULL;
    lsm_db *db = calloc(1, sizeof *db);
    if (!db)
        return -ENOMEM;
    db->lock_fd = -1;
    pthread_mutex_init(&db->mu, NULL);
    pthread_mutex_init(&db->manifest_mu, NULL);
    pthread_mutex_init(&db->options_mu, NULL);
    pthread_cond_init(&db->bg_cv, NULL);
    pthread_cond_init(&db->work_cv, NULL);
    pthread_mutex_init(&db->sync_mu, NULL);
    pthread_cond_init(&db->sync_cv, NULL);
    db->snapshots.next = db->snapshots.prev = &db->snapshots;
    histogram_init(&db->get_latency);
    histogram_init(&db->write_latency);
    histogram_init(&db->wal_group_size);
    if (o)
        db->opt = *o;
    else
        lsm_options_init(&db->opt);
    db->picker = compaction_picker_find(db->opt.compaction_style ? db->opt.compaction_style
                                                                 : "leveled");
    if (db->picker)
        db->opt.compaction_style = db->picker->name; /* a static string */
    /* Also static: the caller's string may not outlive lsm_open. */
    const char *impl = memtable_impl_lookup(db->opt.memtable_impl);
    if (impl)
        db->opt.memtable_impl = impl;
    if (db->opt.file_mode == 0)
        db->opt.file_mode = IO_DEFAULT_FILE_MODE;
    db->dir = strdup(dir);
    int rc = db->dir ? db_check_options(&db->opt) : -ENOMEM;
    if (rc == 0)
        rc = open_io_with_mode(db);
    if (rc == 0)
        rc = make_dir(db);
    if (rc == 0)
        rc = take_lock(db);
    if (rc == 0 && db->opt.use_direct_io)
        rc = probe_direct_io(db);
    if (rc == 0) {
        db->block_cache = block_cache_new(db->opt.block_cache_bytes, 4);
        db->table_cache = db->block_cache ? table_cache_new(db->io, db->dir,
                                                            (size_t)db->opt.max_open_files,
                                                            db->block_cache)
                                          : NULL;
        if (!db->table_cache)
            rc = -ENOMEM;
        else
            table_cache_set_direct_io(db->table_cache, db->opt.use_direct_io != 0);
    }
    if (rc == 0)
        rc = open_existing_or_new(db);
    if (rc == 0)
        rc = recover_wals(db);
    if (rc == 0)
        rc = memtable_create(db->opt.memtable_impl, &db->mem);
    if (rc == 0) {
        db->group_batch = lsm_batch_new();
        if (!db->group_batch)
            rc = -ENOMEM;
    }
    if (rc == 0) {
        pthread_mutex_lock(&db->mu);
        rc = db_install_sv(db);
        pthread_mutex_unlock(&db->mu);
    }
    /* The options in force, for the next open (lsm_options_load): after
     * recovery, so a directory that fails to open is left as it was. */
    if (rc == 0)
        rc = db_options_persist(db, &db->opt, NULL);
    if (rc == 0) {
        db_delete_obsolete(db);
        rc = -pthread_create(&db->flush_thread, NULL, db_flush_main, db);
        db->flush_thread_started = rc == 0;
    }
    if (rc == 0) {
        rc = db_compaction_start(db);
        db->compaction_started = true;
    }
    if (rc != 0) {
        log_error("lsm_open %s failed: %s", dir,
                  *reason_text() ? reason_text() : lsm_strerror(rc));
        db_free(db);
        return rc;
    }
    log_info("opened %s (io %s%s, last sequence %llu)", dir, db->io->name,
             db->opt.use_direct_io ? ", direct I/O" : "",
             (unsigned long long)atomic_load(&db->last_seq));
    *out = db;
    return 0;
}

int lsm_close(lsm_db *db)
{
    if (!db)
        return -EINVAL;
    pthread_mutex_lock(&db->mu);
    /* Let queued writers finish first: they were accepted before close. */
    while (db->writers_inflight)
        pthread_cond_wait(&db->bg_cv, &db->mu);
    pthread_mutex_unlock(&db->mu);
    /* Compactions are cancelled (their inputs stay valid); the flush thread
     * finishes the frozen memtables first, so the next open replays less. */
    if (db->compaction_started)
        db_compaction_stop(db);
    pthread_mutex_lock(&db->mu);
    db->closing = true;
    pthread_cond_broadcast(&db->work_cv);
    pthread_mutex_unlock(&db->mu);
    if (db->flush_thread_started)
        pthread_join(db->flush_thread, NULL);
    int rc = db->bg_error;
    if (db->wal && rc == 0) {
        /* Non-sync writes reach the disk now rather than at the kernel's
         * leisure; an error here is reported but loses nothing acknowledged
         * as synced. */
        int src = wal_writer_sync(db->wal);
        if (src != 0)
            rc = src;
    }
    db_free(db);
    return rc;
}

/* ---- writes ---------------------------------------------------------------- */

static int check_flags(int flags)
{
    return (flags & ~LSM_SYNC) ? -EINVAL : 0;
}

int lsm_write(lsm_db *db, lsm_batch *b, int flags)
{
    if (!db || !b || check_flags(flags))
        return -EINVAL;
    if (batch_count(b) == 0)
        return 0;
    return db_write_batch(db, b, flags & LSM_SYNC, NULL);
}

int lsm_write_pos(lsm_db *db, lsm_batch *b, int flags, uint64_t *pos)
{
    if (!db || !b || !pos || check_flags(flags))
        return -EINVAL;
    if (batch_count(b) == 0) {
        *pos = atomic_load_explicit(&db->wal_seq, memory_order_acquire);
        return 0;
    }
    return db_write_batch(db, b, flags & LSM_SYNC, pos);
}

int lsm_sync_wal(lsm_db *db, uint64_t pos)
{
    if (!db)
        return -EINVAL;
    return db_sync_upto(db, pos);
}

/* Single puts and deletes reuse a per-thread batch, so they do not
 * allocate; the key's destructor frees it when the thread exits. */
static pthread_key_t tl_batch_key;
static pthread_once_t tl_batch_once = PTHREAD_ONCE_INIT;

static void tl_batch_free(void *b)
{
    lsm_batch_free(b);
}

static void tl_batch_init(void)
{
    pthread_key_create(&tl_batch_key, tl_batch_free);
}

static lsm_batch *single_batch(void)
{
    pthread_once(&tl_batch_once, tl_batch_init);
    lsm_batch *b = pthread_getspecific(tl_batch_key);
    if (!b) {
        b = lsm_batch_new();
        if (!b || pthread_setspecific(tl_batch_key, b) != 0) {
            lsm_batch_free(b);
            return NULL;
        }
    }
    lsm_batch_clear(b);
    return b;
}

/* A thread that once put a 64 MiB value should not keep 64 MiB forever. */
static void single_batch_done(lsm_batch *b)
{
    if (batch_payload(b).size > (1u << 20)) {
        pthread_setspecific(tl_batch_key, NULL);
        lsm_batch_free(b);
    }
}

int lsm_put(lsm_db *db, const void *key, size_t klen, const void *val, size_t vlen, int flags)
{
    reason_clear();
    if (!db || check_flags(flags))
        return -EINVAL;
    lsm_batch *b = single_batch();
    if (!b)
        return -ENOMEM;
    int rc = lsm_batch_put(b, key, klen, val, vlen);
    if (rc == 0)
        rc = db_write_batch(db, b, flags & LSM_SYNC, NULL);
    single_batch_done(b);
    return rc;
}

int lsm_delete(lsm_db *db, const void *key, size_t klen, int flags)
{
    reason_clear();
    if (!db || check_flags(flags))
        return -EINVAL;
    lsm_batch *b = single_batch();
    if (!b)
        return -ENOMEM;
    int rc = lsm_batch_delete(b, key, klen);
    if (rc == 0)
        rc = db_write_batch(db, b, flags & LSM_SYNC, NULL);
    return rc;
}

int lsm_flush(lsm_db *db)
{
    if (!db)
        return -EINVAL;
    int rc = db_write_batch(db, NULL, 0, NULL);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&db->mu);
    uint64_t target = db->imm_frozen, since = 0;
    while (db->imm_flushed < target && !db->bg_error && rc == 0)
        rc = db_wait_progress(db, db->flush_transient, &since);
    if (db->bg_error)
        rc = LSM_EREADONLY;
    pthread_mutex_unlock(&db->mu);
    return rc;
}

/* ---- snapshots ------------------------------------------------------------- */

lsm_snapshot *lsm_snapshot_acquire(lsm_db *db)
{
    lsm_snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_lock(&db->mu);
    s->seq = atomic_load(&db->last_seq);
    s->prev = db->snapshots.prev;
    s->next = &db->snapshots;
    s->prev->next = s;
    db->snapshots.prev = s;
    pthread_mutex_unlock(&db->mu);
    return s;
}

uint64_t lsm_snapshot_id(const lsm_snapshot *s)
{
    return s->seq;
}

void lsm_snapshot_release(lsm_db *db, lsm_snapshot *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&db->mu);
    s->prev->next = s->next;
    s->next->prev = s->prev;
    pthread_mutex_unlock(&db->mu);
    free(s);
}
