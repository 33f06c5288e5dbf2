/*
 * io_fault.c — the fault-injection backend: wraps another backend, fails the
 * Nth operation on demand, and simulates power loss.  See io.h.
 *
 * What power loss models
 *   The worst case a POSIX file system with ext4 data=ordered semantics
 *   allows, at sync granularity: nothing is durable until a sync that
 *   covers it has completed.
 *   - File data: each file keeps a durable length, the size it had when a
 *     sync (io_sync, io_write_sync) of it was entered and then completed.
 *     Power loss cuts the file back to it; appended bytes past it are lost.
 *     A writeback hint (io_writeback) is counted and can be failed like
 *     any operation, but never moves the durable length: it promises
 *     nothing, and a real disk may lose hinted pages (their write-out may
 *     not have finished, and the device cache is not flushed).
 *   - Directory entries: a file created by IO_CREATE, or renamed into
 *     place, is durable under that name only once an io_sync_dir of its
 *     directory completes after the create/rename; an unlink or the old
 *     side of a rename is likewise undone unless a sync_dir follows.  Power
 *     loss removes non-durable names and puts back durable ones with the
 *     content they had (trimmed to its durable length).
 *   - To put a removed name back, the content it named is kept: just before
 *     an unlink or a replacing rename drops the last name of a file that
 *     some durable entry still refers to, the file is hard-linked to a
 *     hidden ".fault-trash-N" in the same directory.  The link goes when a
 *     sync_dir makes the removal durable, at power loss, and at destroy.
 *     (The engine sees these names if it lists the directory.)
 * What it does not model
 *   - Overwrites below the durable length are not undone (the engine only
 *     appends); after power loss such bytes hold the newer data.
 *   - A shrink (io_truncate, or IO_CREATE over an existing file) is taken
 *     as durable at once: the cut bytes never come back, the worst case for
 *     data.  Growth by truncate is durable only after a sync.
 *   - Reordering or tearing inside one write, partially persisted syncs,
 *     metadata other than names and lengths, directories created or
 *     removed outside this layer, and hard links made outside it.
 *   - A file this layer has not seen before is taken as durable, name and
 *     length, when first touched (it predates the backend).
 *   - Paths are tracked by realpath(directory) + "/" + name, so one file
 *     named two ways is one file; symlinked final components are not
 *     resolved.
 *   - Operations still in flight when io_fault_power_loss is called finish
 *     first (the rollback waits for them).
 *
 * Thread safety / invariants
 *   gate: data operations (read, write, write_sync, sync, writeback,
 *   truncate, size) hold it shared across the base call; name operations
 *   (open, close, rename, unlink, sync_dir), power loss and nothing else hold it
 *   exclusive, so the entry and file tables change only under it
 *   exclusively.  mu guards the counters and every fault_ino.durable_len.
 *   Lock order: gate, then mu.
 *   Every fault_ino is named by at most one entry's cur; if dur_refs > 0
 *   its content is reachable: through cur, or through trash.
 */
#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io.h"
#include "io/io_fault_internal.h"



/* 0, or -err when the descriptor window fails this kind of operation on
 * path (counted as a hit). */
static int win_hit(struct fault_io *fi, unsigned kind, const char *path)
{
    int rc = 0;
    pthread_mutex_lock(&fi->mu);
    if (fi->win_err && (fi->win_ops & kind) &&
        (!fi->win_pattern || strstr(path, fi->win_pattern))) {
        if (fi->win_skip) {
            fi->win_skip--;
        } else {
            rc = -fi->win_err;
            fi->win_hits++;
        }
    }
    pthread_mutex_unlock(&fi->mu);
    return rc;
}

/* op_begin for an operation that takes a descriptor: also fails it while
 * the descriptor window covers this kind of operation and path. */
static int op_begin_fd(struct fault_io *fi, unsigned kind, const char *path)
{
    int rc = fault_op_begin(fi);
    return rc ? rc : win_hit(fi, kind, path);
}

static int is_dead(struct fault_io *fi)
{
    pthread_mutex_lock(&fi->mu);
    int d = fi->dead;
    pthread_mutex_unlock(&fi->mu);
    return d;
}

/* ---- path tables (REQUIRES: gate held exclusively) --------------------- */

static char *canon_dir(const char *dir)
{
    char *r = realpath(dir, NULL);
    return r ? r : strdup(dir);
}

/* realpath(dirname) "/" basename, with the directory in *dirp. */
static char *canon_path(const char *path, char **dirp)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *d;
    if (!slash)
        d = canon_dir(".");
    else if (slash == path)
        d = canon_dir("/");
    else {
        char *tmp = strndup(path, (size_t)(slash - path));
        d = tmp ? canon_dir(tmp) : NULL;
        free(tmp);
    }
    if (!d)
        return NULL;
    char *p;
    if (asprintf(&p, "%s%s%s", d, strcmp(d, "/") == 0 ? "" : "/", base) < 0) {
        free(d);
        return NULL;
    }
    *dirp = d;
    return p;
}

static struct fault_ino *ino_new(struct fault_io *fi, uint64_t durable_len)
{
    struct fault_ino *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->durable_len = durable_len;
    n->next = fi->inos;
    if (fi->inos)
        fi->inos->prev = n;
    fi->inos = n;
    return n;
}

static void trash_drop(struct fault_ino *n)
{
    if (n->trash) {
        unlink(n->trash);
        free(n->trash);
        n->trash = NULL;
    }
}

/* Frees n once nothing refers to it; drops its trash once no durable entry
 * needs it. */
static void ino_settle(struct fault_io *fi, struct fault_ino *n)
{
    if (!n || n->dur_refs)
        return;
    trash_drop(n);
    if (n->cur || n->open_refs)
        return;
    if (n->prev)
        n->prev->next = n->next;
    else
        fi->inos = n->next;
    if (n->next)
        n->next->prev = n->prev;
    free(n);
}

static void ent_set_dur(struct fault_io *fi, struct fault_ent *e, struct fault_ino *n)
{
    struct fault_ino *old = e->dur;
    if (old == n)
        return;
    e->dur = n;
    if (n)
        n->dur_refs++;
    if (old) {
        old->dur_refs--;
        ino_settle(fi, old);
    }
}

/* Frees e if it names nothing now and after power loss. */
static void ent_settle(struct fault_io *fi, struct fault_ent *e)
{
    if (e->cur || e->dur)
        return;
    if (e->prev)
        e->prev->next = e->next;
    else
        fi->ents = e->next;
    if (e->next)
        e->next->prev = e->prev;
    free(e->path);
    free(e->dir);
    free(e);
}

/* Finds or adds the entry for path.  A path seen for the first time that
 * exists is taken as durable with its current length. */
static int ent_get(struct fault_io *fi, const char *path, struct fault_ent **out)
{
    char *dir = NULL;
    char *cp = canon_path(path, &dir);
    if (!cp)
        return -ENOMEM;
    for (struct fault_ent *e = fi->ents; e; e = e->next) {
        if (strcmp(e->path, cp) == 0) {
            free(cp);
            free(dir);
            *out = e;
            return 0;
        }
    }
    struct fault_ent *e = calloc(1, sizeof *e);
    if (!e) {
        free(cp);
        free(dir);
        return -ENOMEM;
    }
    e->path = cp;
    e->dir = dir;
    struct stat st;
    if (lstat(cp, &st) == 0) {
        struct fault_ino *n = ino_new(fi, (uint64_t)st.st_size);
        if (!n) {
            free(cp);
            free(dir);
            free(e);
            return -ENOMEM;
        }
        e->cur = n;
        n->cur = e;
        ent_set_dur(fi, e, n);
    }
    e->next = fi->ents;
    if (fi->ents)
        fi->ents->prev = e;
    fi->ents = e;
    *out = e;
    return 0;
}

/* Keeps n's content reachable under a hidden name beside e (which names it
 * now) before that name goes.  Returns 0 or -errno. */
static int stash(struct fault_io *fi, struct fault_ino *n, struct fault_ent *e)
{
    if (n->trash)
        return 0;
    char *t;
    if (asprintf(&t, "%s/.fault-trash-%llu", e->dir,
                 (unsigned long long)++fi->trash_seq) < 0)
        return -ENOMEM;
    if (link(e->path, t) < 0) {
        int err = errno;
        free(t);
        return -err;
    }
    n->trash = t;
    return 0;
}

/* Before e's name goes away: keep its file if a durable entry needs it.
 * Sets *stashed when this call made the trash link (to undo on failure). */
static int keep_for_removal(struct fault_io *fi, struct fault_ent *e, int *stashed)
{
    struct fault_ino *n = e->cur;
    *stashed = 0;
    if (!n || !n->dur_refs || n->trash)
        return 0;
    int rc = stash(fi, n, e);
    *stashed = rc == 0;
    return rc;
}

static void unstash(struct fault_ent *e, int stashed)
{
    if (stashed && e->cur)
        trash_drop(e->cur);
}

/* ---- operations ---------------------------------------------------------- */

static int fault_open(lsm_io *io, const char *path, int mode_flags, lsm_file **out)
{
    struct fault_io *fi = fio(io);
    enum io_open_mode mode = io_mode_base(mode_flags);
    pthread_rwlock_wrlock(&fi->gate);
    int rc = op_begin_fd(fi, mode == IO_CREATE ? IO_FAULT_CREATE : IO_FAULT_OPEN, path);
    struct fault_ent *e = NULL;
    struct fault_file *ff = NULL;
    lsm_file *bf = NULL;
    if (rc)
        goto out;
    if ((rc = ent_get(fi, path, &e)) != 0)
        goto out;
    if (!(ff = malloc(sizeof *ff))) {
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = fi->base->ops->open(fi->base, path, mode_flags, &bf)) != 0)
        goto out;
    struct fault_ino *n = e->cur;
    if (!n) {
        /* A new file (IO_CREATE), or one made behind our back: the latter
         * is taken as durable, like any file seen for the first time. */
        uint64_t size = 0;
        if (mode != IO_CREATE)
            fi->base->ops->size(fi->base, bf, &size);
        if (!(n = ino_new(fi, size))) {
            fi->base->ops->close(fi->base, bf);
            rc = -ENOMEM;
            goto out;
        }
        e->cur = n;
        n->cur = e;
        if (mode != IO_CREATE && !e->dur)
            ent_set_dur(fi, e, n);
    } else if (mode == IO_CREATE) {
        pthread_mutex_lock(&fi->mu);
        n->durable_len = 0; /* O_TRUNC: a shrink is durable at once */
        pthread_mutex_unlock(&fi->mu);
    }
    if (mode == IO_CREATE && (rc = win_hit(fi, IO_FAULT_CREATED, path)) != 0) {
        fi->base->ops->close(fi->base, bf); /* the new file stays */
        goto out;
    }
    n->open_refs++;
    ff->bf = bf;
    ff->ino = n;
    *out = (lsm_file *)ff;
    ff = NULL;
out:
    free(ff);
    if (e)
        ent_settle(fi, e);
    pthread_rwlock_unlock(&fi->gate);
    return rc;
}

/* Not counted and never failed, so handles can be released after a fault
 * or a power loss. */
static int fault_close(lsm_io *io, lsm_file *f)
{
    struct fault_io *fi = fio(io);
    struct fault_file *ff = ffile(f);
    pthread_rwlock_wrlock(&fi->gate);
    int rc = fi->base->ops->close(fi->base, ff->bf);
    ff->ino->open_refs--;
    ino_settle(fi, ff->ino);
    pthread_rwlock_unlock(&fi->gate);
    free(ff);
    return is_dead(fi) ? 0 : rc;
}

static long fault_read(lsm_io *io, lsm_file *f, void *buf, size_t n, uint64_t off)
{
    struct fault_io *fi = fio(io);
    pthread_rwlock_rdlock(&fi->gate);
    long rc = fault_op_begin(fi);
    if (rc == 0)
        rc = fi->base->ops->read(fi->base, ffile(f)->bf, buf, n, off);
    pthread_rwlock_unlock(&fi->gate);
    return rc;
}

static int fault_write(lsm_io *io, lsm_file *f, const void *buf, size_t n, uint64_t off)
{
    struct fault_io *fi = fio(io);
    pthread_rwlock_rdlock(&fi->gate);
    int rc = fault_op_begin(fi);
    if (rc == 0)
        rc = fi->base->ops->write(fi->base, ffile(f)->bf, buf, n, off);
    pthread_rwlock_unlock(&fi->gate);
    return rc;
}


/* A sync covers what the file held when it was entered. */
static int fault_sync(lsm_io *io, lsm_file *f)
{
    struct fault_io *fi = fio(io);
    struct fault_file *ff = ffile(f);
    uint64_t size = 0;
    pthread_rwlock_rdlock(&fi->gate);
    int rc = fault_op_begin(fi);
    if (rc == 0)
        rc = fi->base->ops->size(fi->base, ff->bf, &size);
    if (rc == 0)
        rc = fi->base->ops->sync(fi->base, ff->bf);
    if (rc == 0)
        fault_durable_at_least(fi, ff->ino, size);
    pthread_rwlock_unlock(&fi->gate);
    return rc;
}

static int fault_write_sync(lsm_io *io, lsm_file *f, const void *buf, size_t n, uint64_t off)
{
    struct fault_io *fi = fio(io);
    struct fault_file *ff = ffile(f);
    uint64_t size = 0;
    pthread_rwlock_rdlock(&fi->gate);
    int rc = fault_op_begin(fi);
    if (rc == 0)
        rc = fi->base->ops->size(fi->base, ff->bf, &size);
    if (rc == 0)
        rc = fi->base->ops->write_sync(fi->base, ff->bf, buf, n, off);
    if (rc == 0)
        fault_durable_at_least(fi, ff->ino, size > off + n ? size : off + n);
    pthread_rwlock_unlock(&fi->gate);
    return rc;
}

/* Counted (so fault loops reach it) but never a sync: durable_len stays. */
static int fault_writeback(lsm_io *io, lsm_file *f, uint64_t off, uint64_t n)
{
    struct fault_io *fi = fio(io);
    pthread_rwlock_rdlock(&fi->gate);
    int rc = fault_op_begin(fi);
    pthread_mutex_lock(&fi->mu);
    fi->hints++;
    pthread_mutex_unlock(&fi->mu);
    if (rc == 0)
        rc = io_writeback(fi->base, ffile(f)->bf, off, n);
    pthread_rwlock_unlock(&fi->gate);
    return rc;
}

static int fault_truncate(lsm_io *io, lsm_file *f, uint64_t size)
{
    struct fault_io *fi = fio(io);
    struct fault_file *ff = ffile(f);
    pthread_rwlock_rdlock(&fi->gate);
    int rc = fault_op_begin(fi);
    if (rc == 0)
        rc = fi->base->ops->truncate(fi->base, ff->bf, size);
    if (rc == 0) {
        pthread_mutex_lock(&fi->mu);
        if (ff->ino->durable_len > size)
            ff->ino->durable_len = size;
        pthread_mutex_unlock(&fi->mu);
    }
    pthread_rwlock_unlock(&fi->gate);
    return rc;
}

/* Not counted (io.h), but the machine is off after power loss. */
static int fault_size(lsm_io *io, lsm_file *f, uint64_t *out)
{
    struct fault_io *fi = fio(io);
    pthread_rwlock_rdlock(&fi->gate);
    int rc = is_dead(fi) ? -EIO : fi->base->ops->size(fi->base, ffile(f)->bf, out);
    pthread_rwlock_unlock(&fi->gate);
    return rc;
}

static int fault_sync_dir(lsm_io *io, const char *dir)
{
    struct fault_io *fi = fio(io);
    pthread_rwlock_wrlock(&fi->gate);
    int rc = op_begin_fd(fi, IO_FAULT_SYNC_DIR, dir);
    char *cd = NULL;
    if (rc == 0 && !(cd = canon_dir(dir)))
        rc = -ENOMEM;
    if (rc == 0)
        rc = fi->base->ops->sync_dir(fi->base, dir);
    if (rc == 0) {
        struct fault_ent *next;
        for (struct fault_ent *e = fi->ents; e; e = next) {
            next = e->next;
            if (strcmp(e->dir, cd) != 0)
                continue;
            ent_set_dur(fi, e, e->cur);
            ent_settle(fi, e);
        }
    }
    free(cd);
    pthread_rwlock_unlock(&fi->gate);
    return rc;
}

static int fault_rename(lsm_io *io, const char *from, const char *to)
{
    struct fault_io *fi = fio(io);
    pthread_rwlock_wrlock(&fi->gate);
    struct fault_ent *ef = NULL, *et = NULL;
    int stashed = 0;
    int rc = fault_op_begin(fi);
    if (rc == 0)
        rc = ent_get(fi, from, &ef);
    if (rc == 0)
        rc = ent_get(fi, to, &et);
    if (rc == 0 && ef != et)
        rc = keep_for_removal(fi, et, &stashed);
    if (rc == 0) {
        rc = fi->base->ops->rename(fi->base, from, to);
        if (rc)
            unstash(et, stashed);
    }
    if (rc == 0 && ef != et) {
        struct fault_ino *moving = ef->cur, *replaced = et->cur;
        ef->cur = NULL;
        et->cur = moving;
        if (moving)
            moving->cur = et;
        if (replaced) {
            replaced->cur = NULL;
            ino_settle(fi, replaced);
        }
    }
    if (ef)
        ent_settle(fi, ef);
    if (et)
        ent_settle(fi, et);
    pthread_rwlock_unlock(&fi->gate);
    return rc;
}

static int fault_unlink(lsm_io *io, const char *path)
{
    struct fault_io *fi = fio(io);
    pthread_rwlock_wrlock(&fi->gate);
    struct fault_ent *e = NULL;
    int stashed = 0;
    int rc = fault_op_begin(fi);
    if (rc == 0)
        rc = ent_get(fi, path, &e);
    if (rc == 0)
        rc = keep_for_removal(fi, e, &stashed);
    if (rc == 0) {
        rc = fi->base->ops->unlink(fi->base, path);
        if (rc)
            unstash(e, stashed);
    }
    if (rc == 0 && e->cur) {
        struct fault_ino *n = e->cur;
        e->cur = NULL;
        n->cur = NULL;
        ino_settle(fi, n);
    }
    if (rc == 0 && fi->durable_unlinks)
        ent_set_dur(fi, e, NULL); /* drops the trash link once unneeded */
    if (e)
        ent_settle(fi, e);
    pthread_rwlock_unlock(&fi->gate);
    return rc;
}

static void fault_destroy(lsm_io *io)
{
    struct fault_io *fi = fio(io);
    while (fi->ents) {
        struct fault_ent *e = fi->ents;
        fi->ents = e->next;
        free(e->path);
        free(e->dir);
        free(e);
    }
    while (fi->inos) {
        struct fault_ino *n = fi->inos;
        fi->inos = n->next;
        trash_drop(n); /* removals never made durable: gone on a real disk */
        free(n);
    }
    free(fi->win_pattern);
    pthread_rwlock_destroy(&fi->gate);
    pthread_mutex_destroy(&fi->mu);
    free(fi);
}

/* The wrapped backend creates the files: it needs the mode too. */
static void fault_set_file_mode(lsm_io *io, unsigned mode)
{
    io_set_file_mode(fio(io)->base, mode);
}

static const struct io_ops fault_ops = {
    .open = fault_open,
    .close = fault_close,
    .read = fault_read,
    .write = fault_write,
    .write_sync = fault_write_sync,
    .sync = fault_sync,
    .writeback = fault_writeback,
    .sync_dir = fault_sync_dir,
    .rename = fault_rename,
    .unlink = fault_unlink,
    .truncate = fault_truncate,
    .size = fault_size,
    .set_file_mode = fault_set_file_mode,
    .queue_new = fault_queue_new,
    .destroy = fault_destroy,
};

int io_fault_new(lsm_io *base, lsm_io **out)
{
    struct fault_io *fi = calloc(1, sizeof *fi);
    if (!fi)
        return -ENOMEM;
    if (pthread_rwlock_init(&fi->gate, NULL) != 0) {
        free(fi);
        return -ENOMEM;
    }
    if (pthread_mutex_init(&fi->mu, NULL) != 0) {
        pthread_rwlock_destroy(&fi->gate);
        free(fi);
        return -ENOMEM;
    }
    fi->base = base;
    snprintf(fi->name, sizeof fi->name, "fault(%s)", base->name);
    fi->io.ops = &fault_ops;
    fi->io.kind = IO_KIND_FAULT;
    fi->io.name = fi->name;
    fi->io.file_mode = base->file_mode;
    fi->io.counted_by = base; /* the base counts the I/O: no double count */
    *out = &fi->io;
    return 0;
}

void io_fault_arm(lsm_io *io, uint64_t n, int err, int persistent)
{
    if (io->kind != IO_KIND_FAULT)
        return;
    struct fault_io *fi = fio(io);
    pthread_mutex_lock(&fi->mu);
    fi->ops = 0;
    fi->hints = 0;
    fi->arm_n = n;
    fi->arm_err = err > 0 ? err : -err; /* accept EIO or -EIO */
    fi->persistent = persistent != 0;
    fi->tripped = 0;
    pthread_mutex_unlock(&fi->mu);
}

void io_fault_durable_unlinks(lsm_io *io, int on)
{
    if (io->kind != IO_KIND_FAULT)
        return;
    struct fault_io *fi = fio(io);
    pthread_rwlock_wrlock(&fi->gate);
    fi->durable_unlinks = on != 0;
    pthread_rwlock_unlock(&fi->gate);
}

void io_fault_fd_window(lsm_io *io, int err, unsigned ops, const char *pattern)
{
    if (io->kind != IO_KIND_FAULT)
        return;
    struct fault_io *fi = fio(io);
    char *p = pattern ? strdup(pattern) : NULL; /* NULL on ENOMEM: any path */
    pthread_mutex_lock(&fi->mu);
    free(fi->win_pattern);
    fi->win_pattern = err ? p : NULL;
    fi->win_err = err > 0 ? err : -err;
    fi->win_ops = ops;
    fi->win_skip = 0;
    if (err)
        fi->win_hits = 0;
    pthread_mutex_unlock(&fi->mu);
    if (!err)
        free(p);
}

void io_fault_fd_window_skip(lsm_io *io, uint64_t n)
{
    if (io->kind != IO_KIND_FAULT)
        return;
    struct fault_io *fi = fio(io);
    pthread_mutex_lock(&fi->mu);
    fi->win_skip = n;
    pthread_mutex_unlock(&fi->mu);
}

/* The counter at offset off of the fault backend, read under its lock; 0
 * for another backend. */
static uint64_t counter(lsm_io *io, size_t off)
{
    if (io->kind != IO_KIND_FAULT)
        return 0;
    struct fault_io *fi = fio(io);
    pthread_mutex_lock(&fi->mu);
    uint64_t n = *(const uint64_t *)((const char *)fi + off);
    pthread_mutex_unlock(&fi->mu);
    return n;
}

uint64_t io_fault_fd_hits(lsm_io *io) { return counter(io, offsetof(struct fault_io, win_hits)); }
uint64_t io_fault_ops(lsm_io *io) { return counter(io, offsetof(struct fault_io, ops)); }
uint64_t io_fault_hints(lsm_io *io) { return counter(io, offsetof(struct fault_io, hints)); }

lsm_io *io_fault_base(lsm_io *io)
{
    return io->kind == IO_KIND_FAULT ? fio(io)->base : io;
}

static void first_error(int *rc, int r)
{
    if (r < 0 && *rc == 0)
        *rc = -errno;
}

int io_fault_power_loss(lsm_io *io)
{
    if (io->kind != IO_KIND_FAULT)
        return -EINVAL;
    struct fault_io *fi = fio(io);
    int rc = 0;
    pthread_rwlock_wrlock(&fi->gate);
    pthread_mutex_lock(&fi->mu);
    fi->dead = 1;
    /* 1. Everything a durable name needs back gets a private hard link. */
    for (struct fault_ent *e = fi->ents; e; e = e->next) {
        struct fault_ino *d = e->dur;
        if (d && d != e->cur && !d->trash) {
            int r = d->cur ? stash(fi, d, d->cur) : -EIO;
            if (r && rc == 0)
                rc = r;
        }
    }
    /* 2. Names that are not durable go. */
    for (struct fault_ent *e = fi->ents; e; e = e->next) {
        if (e->cur && e->cur != e->dur) {
            first_error(&rc, unlink(e->path));
            e->cur->cur = NULL;
            e->cur = NULL;
        }
    }
    /* 3. Durable names come back, then every file is cut to what its syncs
     * covered. */
    for (struct fault_ent *e = fi->ents; e; e = e->next) {
        struct fault_ino *d = e->dur;
        if (d && !e->cur && d->trash) {
            first_error(&rc, link(d->trash, e->path));
            e->cur = d;
            d->cur = e;
        }
    }
    for (struct fault_ent *e = fi->ents; e; e = e->next) {
        struct stat st;
        if (e->cur && stat(e->path, &st) == 0 &&
            (uint64_t)st.st_size > e->cur->durable_len)
            first_error(&rc, truncate(e->path, (off_t)e->cur->durable_len));
    }
    for (struct fault_ino *n = fi->inos; n; n = n->next)
        trash_drop(n);
    pthread_mutex_unlock(&fi->mu);
    pthread_rwlock_unlock(&fi->gate);
    return rc;
}
