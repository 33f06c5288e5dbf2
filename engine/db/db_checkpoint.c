/*
 * db_checkpoint.c — lsm_checkpoint (lsm.h): a consistent copy of the live
 * database in another directory, which opens as a database of its own
 * (cf. RocksDB's Checkpoint, LMDB's mdb_copy).
 *
 * The copy is the database as of one sequence S:
 *   1. Stage in "DIR.tmp": created, or a leftover of a failed checkpoint
 *      emptied of its database files; flock'ed, so two checkpoints into one
 *      DIR never mix (the loser gets -EBUSY and leaves the stage alone).
 *   2. Hold deletions (db->deletion_holds): until step 8 no flush or
 *      compaction deletes a table or a WAL, so nothing vanishes while it is
 *      linked or read (RocksDB's DisableFileDeletions).
 *   3. Capture, under manifest_mu, the current version (pinned) and the
 *      log number that goes with it; then, under mu too, S = last_seq and
 *      the WALs of the frozen memtables and of the current one.  Every
 *      table of the version came from memtables frozen before it was
 *      installed, so it holds only entries <= S; every write <= S not in
 *      those tables is in one of those WALs.  Writers wait for mu no
 *      longer than a few loads: they are never stopped.
 *   4. Tables: hard links when DIR is on the same file system (a table is
 *      never changed once written, so both databases may share it), else
 *      copies, each fdatasync'ed.
 *   5. WALs: each one's bytes up to the end of its last record <= S
 *      (records are whole write groups, and S always ends one, so the
 *      copy's WALs end cleanly); the newest may be appended to meanwhile,
 *      past S.
 *   6. A MANIFEST holding one snapshot edit: the version's files, the log
 *      number, last sequence S; synced.
 *   7. CURRENT, synced, then the stage's directory.  Only now does the
 *      stage hold a CURRENT: a stage without one never opens (lsm_open
 *      with create_if_missing 0 says -ENOENT), one with it is complete.
 *   8. Let deletions go (and run the ones that waited); rename DIR.tmp to
 *      DIR and sync the parent.
 * Any failure removes the stage (or DIR, if the parent's sync failed after
 * the rename), so an error never leaves DIR behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/checkpoint.h"
#include "db/db_impl.h"
#include "db/options_file.h"
#include "db/obsolete_files.h"
#include "db/paths.h"
#include "base/filenames.h"
#include "base/killpoint.h"
#include "base/log.h"
#include "version/version_edit.h"
#include "wal/wal_reader.h"
#include "wal/wal_writer.h"

#define COPY_CHUNK (1u << 20)

static db_checkpoint_hook_fn g_hook;
static void *g_hook_arg;

void db_checkpoint_set_hook(db_checkpoint_hook_fn fn, void *arg)
{
    g_hook = fn;
    g_hook_arg = arg;
}

typedef struct ckpt {
    lsm_db *db;
    lsm_io *io;
    char *dst, *tmp, *parent;
    int tmp_fd;          /* the stage, flock'ed; -1 when not ours */
    bool copy_only;      /* a link was refused (EXDEV, ...): copy the rest */
    uint64_t linked, copied, copied_bytes, wals, records;
} ckpt;

/* ---- paths and the stage ------------------------------------------------- */

static int ckpt_paths(ckpt *c, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--; /* "backup/" -> "backup", so the stage is "backup.tmp" */
    c->dst = strndup(dir, n);
    if (!c->dst || asprintf(&c->tmp, "%s.tmp", c->dst) < 0) {
        c->tmp = NULL;
        return -ENOMEM;
    }
    char *slash = strrchr(c->dst, '/');
    if (!slash)
        c->parent = strdup(".");
    else if (slash == c->dst)
        c->parent = strdup("/");
    else
        c->parent = strndup(c->dst, (size_t)(slash - c->dst));
    if (strcmp(c->dst, "/") == 0)
        return -EEXIST;
    return c->parent ? 0 : -ENOMEM;
}

/* Unlinks with plain system calls, like the stage's mkdir and links: the
 * stage's own entries are not I/O the engine must see fail (and a fault
 * backend would keep "durable" copies of the linked tables behind). */
static int unlink_known(void *ctx, const char *name, enum file_kind kind, uint64_t number)
{
    (void)kind;
    (void)number;
    const char *dir = ctx;
    char *p;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return -ENOMEM;
    int rc = unlink(p) == 0 || errno == ENOENT ? 0 : -errno;
    free(p);
    return rc;
}

/* Removes the files a checkpoint makes (database files and OPTIONS) from
 * dir. */
static int empty_stage(const char *dir)
{
    int rc = unlink_known((void *)dir, OPTIONS_FILE_NAME, FILE_KIND_TEMP, 0); /* kind unused */
    return rc ? rc : filename_scan(dir, unlink_known, (void *)dir);
}

/* Removes those files from dir, then dir; a directory holding anything
 * else is left (-ENOTEMPTY). */
static int remove_dir(const char *dir)
{
    int rc = empty_stage(dir);
    if (rc == 0 && rmdir(dir) != 0)
        rc = -errno;
    return rc;
}

/* 0 when dir holds no entry but . and .. */
static int check_empty(int fd)
{
    int dfd = dup(fd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        int rc = -errno;
        if (dfd >= 0)
            close(dfd);
        return rc;
    }
    rewinddir(d);
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            rc = -ENOTEMPTY;
            break;
        }
    closedir(d);
    return rc;
}

/* Step 1: makes (or takes over) the stage and locks it. */
static int stage_open(ckpt *c)
{
    pthread_mutex_lock(&c->db->mu); /* lsm_set_option rewrites opt whole */
    unsigned fm = c->db->opt.file_mode;
    pthread_mutex_unlock(&c->db->mu);
    bool made = mkdir(c->tmp, (mode_t)(fm | ((fm & 0444u) >> 2))) == 0;
    if (!made && errno != EEXIST)
        return -errno; /* -ENOENT: no parent */
    int fd = open(c->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        close(fd);
        if (rc == -EBUSY)
            log_error("checkpoint: %s is being written by another checkpoint", c->tmp);
        return rc;
    }
    c->tmp_fd = fd;
    if (!made) {
        log_warn("checkpoint: removing %s, left by a checkpoint that did not finish", c->tmp);
        int rc = empty_stage(c->tmp);
        if (rc == 0)
            rc = check_empty(fd);
        if (rc != 0) {
            log_error("checkpoint: %s holds files a checkpoint did not make; remove it: %s",
                      c->tmp, lsm_strerror(rc));
            close(fd);
            c->tmp_fd = -1; /* not ours to remove */
            return rc;
        }
    }
    return 0;
}

/* ---- files ----------------------------------------------------------------- */

/* Copies the first `limit` bytes of src (all of it: UINT64_MAX) to dst
 * (created) and fdatasyncs it; *bytes gets how many. */
static int copy_file(lsm_io *io, const char *src, const char *dst, uint64_t limit,
                     uint64_t *bytes)
{
    lsm_file *in = NULL, *out = NULL;
    char *buf = malloc(COPY_CHUNK);
    int rc = buf ? io_open(io, src, IO_READ, &in) : -ENOMEM;
    if (rc == 0)
        rc = io_open(io, dst, IO_CREATE, &out);
    uint64_t off = 0;
    while (rc == 0 && off < limit) {
        size_t want = limit - off < COPY_CHUNK ? (size_t)(limit - off) : COPY_CHUNK;
        long n = io_read(io, in, buf, want, off);
        if (n < 0)
            rc = (int)n;
        if (n <= 0)
            break;
        rc = io_write(io, out, buf, (size_t)n, off);
        off += (uint64_t)n;
    }
    if (rc == 0)
        rc = io_sync(io, out);
    if (out) {
        int crc = io_close(io, out);
        rc = rc ? rc : crc;
    }
    if (in)
        io_close(io, in);
    free(buf);
    *bytes = off;
    return rc;
}

/* Step 4: one table, linked or copied. */
static int put_table(ckpt *c, uint64_t number)
{
    char *src = db_sst_path(c->db, number), *dst = filename_table(c->tmp, number);
    int rc = src && dst ? 0 : -ENOMEM;
    if (rc == 0 && !c->copy_only) {
        if (link(src, dst) == 0) {
            c->linked++;
            goto out;
        }
        rc = -errno;
        /* Another file system, or one without hard links: copy. */
        if (rc == -EXDEV || rc == -EPERM || rc == -EMLINK || rc == -ENOTSUP ||
            rc == -EOPNOTSUPP) {
            log_info("checkpoint: cannot hard-link into %s (%s): copying the tables", c->tmp,
                     lsm_strerror(rc));
            c->copy_only = true;
            rc = 0;
        }
    }
    if (rc == 0) {
        uint64_t bytes = 0;
        rc = copy_file(c->io, src, dst, UINT64_MAX, &bytes);
        c->copied++;
        c->copied_bytes += bytes;
    }
out:
    if (rc != 0)
        log_error("checkpoint: table %s -> %s: %s", src ? src : "?", dst ? dst : "?",
                  lsm_strerror(rc));
    free(src);
    free(dst);
    return rc;
}

/* Step 5: the records of WAL `number` up to sequence upto, copied into the
 * stage: the reader checks each record and finds where the last one up to
 * upto ends; the bytes before that are copied as they are (records are
 * whole write groups, and upto always ends one, so the copy ends cleanly).
 * newest: the WAL writers were appending to at the capture; its tail (past
 * upto) may be torn, an older one's may not. */
static int put_wal(ckpt *c, uint64_t number, uint64_t upto, bool newest)
{
    char *src = db_wal_path(c->db, number), *dst = filename_wal(c->tmp, number);
    wal_reader *r = NULL;
    int rc = src && dst ? wal_reader_open(c->io, src, 1, &r) : -ENOMEM;
    uint64_t end = 0, records = 0;
    wal_record rec;
    while (rc == 0 && (rc = wal_reader_next(r, &rec)) == 1) {
        rc = 0;
        if (rec.sequence > upto)
            break; /* written after the capture */
        end = wal_reader_valid_end(r);
        records++;
    }
    if (rc == 0 && !newest && wal_reader_torn_tail(r)) {
        log_error("checkpoint: %s is not the newest WAL yet ends in a bad record", src);
        rc = LSM_ECORRUPT;
    }
    wal_reader_close(r);
    uint64_t bytes = 0;
    if (rc == 0)
        rc = copy_file(c->io, src, dst, end, &bytes);
    if (rc == 0 && bytes != end)
        rc = LSM_ECORRUPT; /* shorter than the records just read: cannot be */
    if (rc != 0)
        log_error("checkpoint: WAL %s -> %s: %s", src ? src : "?", dst ? dst : "?",
                  lsm_strerror(rc));
    c->wals++;
    c->records += records;
    free(src);
    free(dst);
    return rc;
}

/* The options in force, as DIR/OPTIONS (options_file.h): a copy of a
 * tiered database must reopen tiered.  Written in place like CURRENT: the
 * stage is read by nobody before its rename. */
static int put_options(ckpt *c)
{
    pthread_mutex_lock(&c->db->mu);
    lsm_options o = c->db->opt;
    pthread_mutex_unlock(&c->db->mu);
    char body[LSM_OPTIONS_TEXT_MAX], *text = NULL, *path = NULL;
    size_t n = 0;
    int len = db_options_text(&o, NULL, body, sizeof body);
    int rc = len < 0 ? len : options_file_render(body, (size_t)len, &text, &n);
    if (rc == 0 && asprintf(&path, "%s/%s", c->tmp, OPTIONS_FILE_NAME) < 0)
        rc = -ENOMEM;
    lsm_file *f = NULL;
    if (rc == 0)
        rc = io_open(c->io, path, IO_CREATE, &f);
    if (rc == 0) {
        rc = io_write_sync(c->io, f, text, n, 0);
        int crc = io_close(c->io, f);
        rc = rc ? rc : crc;
    }
    free(path);
    free(text);
    return rc;
}

/* Step 6: MANIFEST-number holding one snapshot edit (the format of
 * version_set.c's start_manifest: docs/manifest-format.md). */
static int put_manifest(ckpt *c, const version *v, uint64_t number, uint64_t log_number,
                        uint64_t last_seq)
{
    version_edit snap;
    version_edit_init(&snap);
    snap.header = true;
    version_edit_set_log_number(&snap, log_number);
    version_edit_set_next_file(&snap, number + 1);
    version_edit_set_last_sequence(&snap, last_seq);
    int rc = 0;
    for (int level = 0; level < LSM_NUM_LEVELS && rc == 0; level++)
        for (size_t i = 0; i < v->nfiles[level] && rc == 0; i++)
            rc = version_edit_add_file(&snap, level, v->files[level][i]);
    char *buf = NULL;
    size_t len = 0;
    if (rc == 0)
        rc = version_edit_encode(&snap, &buf, &len);
    version_edit_free(&snap);
    char *path = filename_manifest(c->tmp, number);
    wal_writer *w = NULL;
    if (rc == 0)
        rc = path ? wal_writer_open(c->io, path, &w) : -ENOMEM;
    if (rc == 0) /* record 1 of the MANIFEST, synced */
        rc = wal_writer_append(w, 1, 1, slice_make(buf, len), 1);
    if (w) {
        int crc = wal_writer_close(w);
        rc = rc ? rc : crc;
    }
    free(path);
    free(buf);
    return rc;
}

/* Step 7: CURRENT naming MANIFEST-number, synced.  No CURRENT.tmp dance:
 * the whole stage becomes visible by one rename. */
static int put_current(ckpt *c, uint64_t number)
{
    char *path = filename_current(c->tmp);
    char body[48];
    int len = snprintf(body, sizeof body, "MANIFEST-%06llu\n", (unsigned long long)number);
    lsm_file *f = NULL;
    int rc = path ? io_open(c->io, path, IO_CREATE, &f) : -ENOMEM;
    if (rc == 0) {
        rc = io_write_sync(c->io, f, body, (size_t)len, 0);
        int crc = io_close(c->io, f);
        rc = rc ? rc : crc;
    }
    free(path);
    return rc;
}

/* ---- the call ---------------------------------------------------------------- */

/* Steps 3 to 7, with deletions held and the version pinned. */
static int build(ckpt *c, uint64_t *seq_out)
{
    lsm_db *db = c->db;
    uint64_t wals[DB_MAX_IMM + 1];
    int nwals = 0;
    /* manifest_mu, then mu (nothing takes them the other way round): a
     * flush applies its edit under manifest_mu before it drops its
     * memtable under mu, so the WAL of every memtable whose table is not
     * in v is still listed below. */
    pthread_mutex_lock(&db->manifest_mu);
    version *v = version_set_current(db->vs);
    uint64_t log_number = version_set_log_number(db->vs);
    pthread_mutex_lock(&db->mu);
    uint64_t seq = atomic_load_explicit(&db->last_seq, memory_order_acquire);
    for (int i = 0; i < db->nimm; i++) /* oldest first */
        if (db->imm[i].wal_number >= log_number)
            wals[nwals++] = db->imm[i].wal_number;
    wals[nwals++] = db->wal_number;
    /* Above every file number in the copy: names its MANIFEST. */
    uint64_t number = version_set_next_file_number(db->vs);
    pthread_mutex_unlock(&db->mu);
    pthread_mutex_unlock(&db->manifest_mu);
    *seq_out = seq;

    if (g_hook)
        g_hook(db, "captured", g_hook_arg);

    int rc = 0;
    for (int level = 0; level < LSM_NUM_LEVELS && rc == 0; level++)
        for (size_t i = 0; i < v->nfiles[level] && rc == 0; i++)
            rc = put_table(c, v->files[level][i]->number);
    /* A WAL that vanished fails here (-ENOENT): never a silent gap. */
    for (int i = 0; i < nwals && rc == 0; i++)
        rc = put_wal(c, wals[i], seq, i == nwals - 1);
    if (rc == 0)
        rc = put_options(c);
    if (rc == 0)
        KILLPOINT("checkpoint.after_files");
    if (rc == 0)
        rc = put_manifest(c, v, number, log_number, seq);
    if (rc == 0)
        rc = put_current(c, number);
    if (rc == 0)
        rc = io_sync_dir(c->io, c->tmp);
    version_unref(v);
    return rc;
}

int lsm_checkpoint(lsm_db *db, const char *dir)
{
    if (!db || !dir || !*dir)
        return -EINVAL;
    ckpt c = { .db = db, .io = db->io, .tmp_fd = -1 };
    int rc = ckpt_paths(&c, dir);
    struct stat st;
    if (rc == 0 && lstat(c.dst, &st) == 0)
        rc = -EEXIST;
    else if (rc == 0 && errno != ENOENT)
        rc = -errno;
    if (rc == 0)
        rc = stage_open(&c);
    bool held = false;
    if (rc == 0) {
        pthread_mutex_lock(&db->mu);
        if (db->closing)
            rc = LSM_ECLOSED;
        else
            db->deletion_holds++;
        held = rc == 0;
        pthread_mutex_unlock(&db->mu);
    }
    uint64_t seq = 0;
    if (rc == 0)
        rc = build(&c, &seq);
    if (held) {
        pthread_mutex_lock(&db->mu);
        db->deletion_holds--;
        pthread_mutex_unlock(&db->mu);
        db_delete_obsolete(db); /* what waited for us */
    }
    if (rc == 0)
        KILLPOINT("checkpoint.before_rename");
    /* rename(2) would also replace an empty directory made meanwhile. */
    if (rc == 0 && lstat(c.dst, &st) == 0)
        rc = -EEXIST;
    bool renamed = false;
    if (rc == 0) {
        rc = io_rename(c.io, c.tmp, c.dst);
        renamed = rc == 0;
    }
    if (rc == 0)
        rc = io_sync_dir(c.io, c.parent);
    if (rc != 0 && c.tmp_fd >= 0) {
        /* Never leave a directory behind that a caller could mistake for
         * the checkpoint.  If only the parent's sync failed, DIR is
         * renamed back first (whether the rename reached the disk is
         * unknown), else removed where it is. */
        const char *gone = renamed && io_rename(c.io, c.dst, c.tmp) != 0 ? c.dst : c.tmp;
        int rrc = remove_dir(gone);
        if (rrc != 0)
            log_error("checkpoint: could not remove %s: %s", gone, lsm_strerror(rrc));
    }
    if (c.tmp_fd >= 0)
        close(c.tmp_fd);
    if (rc == 0)
        log_info("checkpoint: %s at sequence %llu: %llu tables linked, %llu copied "
                 "(%llu bytes), %llu WALs (%llu records)",
                 c.dst, (unsigned long long)seq, (unsigned long long)c.linked,
                 (unsigned long long)c.copied, (unsigned long long)c.copied_bytes,
                 (unsigned long long)c.wals, (unsigned long long)c.records);
    else
        log_error("checkpoint: %s failed: %s", c.dst ? c.dst : dir, lsm_strerror(rc));
    free(c.dst);
    free(c.tmp);
    free(c.parent);
    return rc;
}
