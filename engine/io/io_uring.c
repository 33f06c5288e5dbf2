/*
 * io_uring.c — the io_uring backend's blocking calls.  See io.h for exactly
 * which calls take the ring; the queue (many I/Os in flight) is
 * io_uring_queue.c.
 *
 * Every call here is synchronous: get an SQE, prepare it, submit and wait,
 * reap the CQE.  open, close, size and truncate stay plain syscalls
 * (io_internal.h) since they gain nothing from a ring.
 *
 * What we use of io_uring, and why (figures: docs/tuning.md, "I/O backend")
 *   - Batching: an io_queue submits its whole batch with one io_uring_enter
 *     and keeps up to its depth in flight.  This is what pays: depth-32
 *     random reads through the queue keep up with fio on the same file.
 *   - The WAL's write linked to its fdatasync (IOSQE_IO_LINK, one
 *     submission: ur_write_sync) when LSMD_URING_SYNC=ring.  Kept as an
 *     option, not the default: it saves a system call, but the fdatasync is
 *     still punted to an io-wq worker and the committer waits for that hop;
 *     synced puts with 8 threads were faster inline.
 *   - Plain buffered writes and fdatasync inline by default (ur_write,
 *     ur_sync): on ext4 io_uring punts them to a worker thread, a hop on the
 *     caller's hot path for nothing (the write only copies into the page
 *     cache).  Through a queue they do take the ring: there the caller does
 *     not wait for the hop.
 *   - Not used: registered files (IORING_REGISTER_FILES) saved no
 *     measurable CPU per read, and the engine's files come and go with the
 *     table cache (each open and close would need a table update); fixed
 *     buffers saved at most a few percent of the CPU of a read that the
 *     disk, not the CPU, limits, and would need a registered buffer pool
 *     in the io_queue API.  SQPOLL (not tried) dedicates a polling kernel
 *     thread to each ring.
 *
 * Rings
 *   One ring per (backend, issuing thread), created on the thread's first
 *   call, so threads never share a submission queue and need no lock on the
 *   hot path.  The calling thread finds its ring through the backend's
 *   pthread key (no destructor).  Teardown has two owners:
 *     - thread exit: one process-wide key (g_exit_key) whose destructor
 *       frees every ring the exiting thread still has, in any backend;
 *     - io_destroy: frees every ring of that backend, including those of
 *       threads that are still alive (they must not be using it any more).
 *   Whichever comes first unlinks the ring from both lists under g_mu, so a
 *   ring is freed exactly once and never leaks.
 *
 * Thread safety / invariants
 *   g_mu guards every ring's list links and every thread's ring list.
 *   A ring is used only by the thread that created it (its SQ/CQ are not
 *   locked), and freed only by that thread's exit or by io_destroy.
 *   REQUIRES (io_destroy): no thread is inside a call on this backend.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/io.h"
#include "io/io_internal.h"

#define URING_DEPTH 64
/* SQE lengths are 32-bit; larger requests go in pieces of this size. */
#define URING_MAX_CHUNK (1u << 30)

struct uring_io;

struct uring_thread; /* the rings of one thread (thread-local) */

struct uring_ring {
    struct io_uring ring;
    struct uring_io *owner;
    struct uring_thread *thread;
    struct uring_ring *bnext, *bprev; /* owner's list   [g_mu] */
    struct uring_ring *tnext, *tprev; /* thread's list  [g_mu] */
};

struct uring_thread {
    struct uring_ring *head; /* [g_mu] */
};

struct uring_io {
    lsm_io io;
    pthread_key_t key;        /* this thread's ring for this backend */
    struct uring_ring *rings; /* [g_mu] */
    int has_renameat;
    int has_unlinkat;
    int writes_via_ring;      /* LSMD_URING_WRITES=ring: see ur_write */
    int syncs_via_ring;       /* LSMD_URING_SYNC=ring: see ur_sync */
    int has_sync_file_range;  /* IORING_OP_SYNC_FILE_RANGE (5.2+) */
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_exit_key;
static int g_exit_key_err;
/* Static TLS: still valid while the thread's key destructors run, and
 * reached by io_destroy only while it holds rings (before that destructor
 * has emptied it). */
static __thread struct uring_thread t_rings;

/* REQUIRES: g_mu held. */
static void ring_unlink(struct uring_ring *r)
{
    if (r->bprev)
        r->bprev->bnext = r->bnext;
    else
        r->owner->rings = r->bnext;
    if (r->bnext)
        r->bnext->bprev = r->bprev;
    if (r->tprev)
        r->tprev->tnext = r->tnext;
    else
        r->thread->head = r->tnext;
    if (r->tnext)
        r->tnext->tprev = r->tprev;
}

static void ring_free(struct uring_ring *r)
{
    uring_ring_exit(&r->ring);
    free(r);
}

/* The g_exit_key destructor: runs on the exiting thread. */
static void thread_exit(void *arg)
{
    struct uring_thread *t = arg;
    pthread_mutex_lock(&g_mu);
    while (t->head) {
        struct uring_ring *r = t->head;
        ring_unlink(r);
        /* A later destructor that does I/O must get a fresh ring, not this
         * freed one (it will re-arm g_exit_key). */
        pthread_setspecific(r->owner->key, NULL);
        ring_free(r);
    }
    pthread_mutex_unlock(&g_mu);
}

static void exit_key_init(void)
{
    g_exit_key_err = pthread_key_create(&g_exit_key, thread_exit);
}

/* Drops the calling thread's ring after the ring itself failed. */
static void ring_discard(struct uring_io *u, struct uring_ring *r)
{
    pthread_mutex_lock(&g_mu);
    ring_unlink(r);
    pthread_mutex_unlock(&g_mu);
    pthread_setspecific(u->key, NULL);
    ring_free(r);
}

/* The calling thread's ring, created on first use.  Returns 0 or -errno
 * (the ring setup error: -ENOMEM, e.g. RLIMIT_MEMLOCK on older kernels). */
static int ring_get(struct uring_io *u, struct uring_ring **out)
{
    struct uring_ring *r = pthread_getspecific(u->key);
    if (__builtin_expect(r != NULL, 1)) {
        *out = r;
        return 0;
    }
    r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    int rc = uring_ring_init(URING_DEPTH, &r->ring, 0);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->owner = u;
    r->thread = &t_rings;
    pthread_mutex_lock(&g_mu);
    r->bnext = u->rings;
    if (u->rings)
        u->rings->bprev = r;
    u->rings = r;
    r->tnext = t_rings.head;
    if (t_rings.head)
        t_rings.head->tprev = r;
    t_rings.head = r;
    pthread_mutex_unlock(&g_mu);
    if (pthread_setspecific(g_exit_key, &t_rings) != 0 ||
        pthread_setspecific(u->key, r) != 0) {
        ring_discard(u, r);
        return -ENOMEM;
    }
    *out = r;
    return 0;
}

/* The counter bit of kind k (io.h), 0 for IO_STAT_NONE. */
static inline unsigned kmask(int k) { return k < 0 ? 0 : 1u << k; }

/* Submits the nr prepared SQEs (user_data 0..nr-1) and reaps nr CQEs into
 * res[user_data]; each io_uring_enter that submits is counted for the
 * kinds in mask.  Returns 0 or the ring's own -errno (then the ring is
 * discarded and the thread's next call builds a new one). */
static int ring_run(struct uring_io *u, struct uring_ring *r, unsigned nr, int *res,
                    unsigned mask)
{
    struct io_uring *ring = &r->ring;
    while (io_uring_sq_ready(ring) > 0) {
        int rc = io_uring_submit_and_wait(ring, nr);
        if (rc > 0)
            io_stat_submission(&u->io, mask);
        if (rc >= 0 || rc == -EINTR)
            continue; /* unsubmitted SQEs stay queued: go again */
        if (rc == -EAGAIN || rc == -EBUSY) {
            sched_yield(); /* kernel short of memory / CQ backlog */
            continue;
        }
        ring_discard(u, r);
        return rc;
    }
    for (unsigned got = 0; got < nr;) {
        struct io_uring_cqe *cqe;
        int rc = io_uring_wait_cqe(ring, &cqe);
        if (rc == -EINTR)
            continue;
        if (rc < 0) {
            ring_discard(u, r);
            return rc;
        }
        if (cqe->user_data < nr)
            res[cqe->user_data] = cqe->res;
        io_uring_cqe_seen(ring, cqe);
        got++;
    }
    return 0;
}

/* The ring is idle between calls, so an SQE is always free. */
static struct io_uring_sqe *sqe_get(struct uring_ring *r, uint64_t user_data)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    io_uring_sqe_set_data64(sqe, user_data);
    return sqe;
}

static inline int retryable(int res)
{
    return res == -EINTR || res == -EAGAIN;
}

static long ur_read(lsm_io *io, lsm_file *f, void *buf, size_t n, uint64_t off)
{
    struct uring_io *u = (struct uring_io *)io;
    struct uring_ring *r;
    int rc = ring_get(u, &r);
    if (rc)
        return rc;
    int k = io_stat_kind_of(f->cls, IO_OP_READ);
    io_stat_ops(io, k, 1, 1);
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done < URING_MAX_CHUNK ? n - done : URING_MAX_CHUNK;
        io_uring_prep_read(sqe_get(r, 0), f->fd, (char *)buf + done,
                           (unsigned)chunk, off + done);
        int res;
        if ((rc = ring_run(u, r, 1, &res, kmask(k))) != 0)
            return rc;
        if (retryable(res))
            continue;
        if (res < 0)
            return res;
        if (res == 0)
            break; /* EOF */
        done += (size_t)res;
    }
    return (long)done;
}

/* Writes buf[0, n) at off, looping over short writes.  Submissions are
 * counted for mask; the caller counts the operation. */
static int write_rest(struct uring_io *u, struct uring_ring *r, int fd,
                      const char *buf, size_t n, uint64_t off, unsigned mask)
{
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done < URING_MAX_CHUNK ? n - done : URING_MAX_CHUNK;
        io_uring_prep_write(sqe_get(r, 0), fd, buf + done, (unsigned)chunk, off + done);
        int res, rc;
        if ((rc = ring_run(u, r, 1, &res, mask)) != 0)
            return rc;
        if (retryable(res))
            continue;
        if (res < 0)
            return res;
        if (res == 0)
            return -EIO; /* no progress and no error: do not spin */
        done += (size_t)res;
    }
    return 0;
}

/* fsync flags 0 or IORING_FSYNC_DATASYNC.  Retried only when it did not run
 * (EINTR/EAGAIN): a real failure may have dropped dirty pages. */
static int sync_fd(struct uring_io *u, struct uring_ring *r, int fd, unsigned flags,
                   unsigned mask)
{
    for (;;) {
        io_uring_prep_fsync(sqe_get(r, 0), fd, flags);
        int res, rc;
        if ((rc = ring_run(u, r, 1, &res, mask)) != 0)
            return rc;
        if (!retryable(res))
            return res < 0 ? res : 0;
    }
}

/* Plain buffered writes are issued inline unless LSMD_URING_WRITES=ring.
 * Why: filesystems without async buffered-write support (ext4 on 6.x
 * kernels) make io_uring punt every such write to an io-wq worker thread:
 * a thread hop on the WAL's hot path for no gain, since the write only
 * copies into the page cache (figures: docs/tuning.md, "I/O backend").
 * Reads (served from the page cache without a punt) go through the ring;
 * syncs are inline too unless LSMD_URING_SYNC=ring (ur_sync). */
static int write_inline(int fd, const char *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(fd, buf + done, n - done, (off_t)(off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        if (w == 0)
            return -EIO;
        done += (size_t)w;
    }
    return 0;
}

static int ur_write(lsm_io *io, lsm_file *f, const void *buf, size_t n, uint64_t off)
{
    struct uring_io *u = (struct uring_io *)io;
    int k = io_stat_kind_of(f->cls, IO_OP_WRITE);
    io_stat_ops(io, k, u->writes_via_ring, 1);
    if (!u->writes_via_ring)
        return write_inline(f->fd, buf, n, off);
    struct uring_ring *r;
    int rc = ring_get(u, &r);
    return rc ? rc : write_rest(u, r, f->fd, buf, n, off, kmask(k));
}

/* fdatasync inline unless LSMD_URING_SYNC=ring.  Why: io_uring always
 * punts fsync to an io-wq worker, adding a thread hop and a wake-up to every
 * sync, which costs synced writers most of their throughput (figures:
 * docs/tuning.md, "I/O backend").  Retried only on EINTR: a real failure
 * may have dropped dirty pages. */
static int sync_inline(int fd)
{
    for (;;) {
        if (fdatasync(fd) == 0)
            return 0;
        if (errno != EINTR)
            return -errno;
    }
}

static int ur_sync(lsm_io *io, lsm_file *f)
{
    struct uring_io *u = (struct uring_io *)io;
    int k = io_stat_kind_of(f->cls, IO_OP_SYNC);
    io_stat_ops(io, k, u->syncs_via_ring, 1);
    if (!u->syncs_via_ring)
        return sync_inline(f->fd);
    struct uring_ring *r;
    int rc = ring_get(u, &r);
    return rc ? rc : sync_fd(u, r, f->fd, IORING_FSYNC_DATASYNC, kmask(k));
}

/* Writeback hint (io.h): inline sync_file_range unless LSMD_URING_SYNC=ring
 * and the kernel has IORING_OP_SYNC_FILE_RANGE.  Why: io_uring always
 * punts sync_file_range to an io-wq worker (it needs a blocking context),
 * the same thread hop as for fdatasync above, and the call is
 * already asynchronous (SYNC_FILE_RANGE_WRITE only starts writeback).
 * Not retried on EINTR/EAGAIN in the ring: it is a hint; the caller
 * ignores the result. */
static int ur_writeback(lsm_io *io, lsm_file *f, uint64_t off, uint64_t n)
{
    struct uring_io *u = (struct uring_io *)io;
    if (!u->syncs_via_ring || !u->has_sync_file_range || n > URING_MAX_CHUNK) {
        int rc;
        do
            rc = sync_file_range(f->fd, (off64_t)off, (off64_t)n, SYNC_FILE_RANGE_WRITE);
        while (rc < 0 && errno == EINTR);
        return rc < 0 ? -errno : 0;
    }
    struct uring_ring *r;
    int rc = ring_get(u, &r);
    if (rc)
        return rc;
    io_uring_prep_sync_file_range(sqe_get(r, 0), f->fd, (unsigned)n, off,
                                  SYNC_FILE_RANGE_WRITE);
    int res;
    if ((rc = ring_run(u, r, 1, &res, 0)) != 0)
        return rc;
    return res < 0 ? res : 0;
}

/* One submission: the write linked to the fdatasync.  A short write breaks
 * the link (the fdatasync completes with -ECANCELED); then the rest is
 * written and synced on its own. */
static int ur_write_sync(lsm_io *io, lsm_file *f, const void *buf, size_t n, uint64_t off)
{
    struct uring_io *u = (struct uring_io *)io;
    int ks = io_stat_kind_of(f->cls, IO_OP_SYNC);
    if (!u->syncs_via_ring) {
        int wrc = ur_write(io, f, buf, n, off);
        if (wrc)
            return wrc;
        io_stat_ops(io, ks, 0, 1);
        return sync_inline(f->fd);
    }
    int kw = io_stat_kind_of(f->cls, IO_OP_WRITE);
    io_stat_ops(io, kw, 1, 1);
    io_stat_ops(io, ks, 1, 1);
    struct uring_ring *r;
    int rc = ring_get(u, &r);
    if (rc)
        return rc;
    if (n == 0 || n > URING_MAX_CHUNK) {
        rc = write_rest(u, r, f->fd, buf, n, off, kmask(kw));
        return rc ? rc : sync_fd(u, r, f->fd, IORING_FSYNC_DATASYNC, kmask(ks));
    }
    struct io_uring_sqe *w = sqe_get(r, 0);
    io_uring_prep_write(w, f->fd, buf, (unsigned)n, off);
    io_uring_sqe_set_flags(w, IOSQE_IO_LINK);
    io_uring_prep_fsync(sqe_get(r, 1), f->fd, IORING_FSYNC_DATASYNC);
    int res[2];
    if ((rc = ring_run(u, r, 2, res, kmask(kw) | kmask(ks))) != 0)
        return rc;
    if (res[0] < 0 && !retryable(res[0]))
        return res[0];
    size_t done = res[0] < 0 ? 0 : (size_t)res[0];
    if (done == n && !retryable(res[1]) && res[1] != -ECANCELED)
        return res[1] < 0 ? res[1] : 0;
    /* Short or interrupted: the fdatasync did not run (or ran too early). */
    rc = write_rest(u, r, f->fd, (const char *)buf + done, n - done, off + done, kmask(kw));
    return rc ? rc : sync_fd(u, r, f->fd, IORING_FSYNC_DATASYNC, kmask(ks));
}

static int ur_sync_dir(lsm_io *io, const char *dir)
{
    struct uring_io *u = (struct uring_io *)io;
    struct uring_ring *r;
    int rc = ring_get(u, &r);
    if (rc)
        return rc;
    int fd;
    do
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -errno;
    rc = sync_fd(u, r, fd, 0, 0);
    close(fd);
    return rc;
}

static int ur_rename(lsm_io *io, const char *from, const char *to)
{
    struct uring_io *u = (struct uring_io *)io;
    if (!u->has_renameat)
        return rename(from, to) < 0 ? -errno : 0;
    struct uring_ring *r;
    int rc = ring_get(u, &r);
    if (rc)
        return rc;
    for (;;) {
        io_uring_prep_renameat(sqe_get(r, 0), AT_FDCWD, from, AT_FDCWD, to, 0);
        int res;
        if ((rc = ring_run(u, r, 1, &res, 0)) != 0)
            return rc;
        if (!retryable(res))
            return res < 0 ? res : 0;
    }
}

static int ur_unlink(lsm_io *io, const char *path)
{
    struct uring_io *u = (struct uring_io *)io;
    if (!u->has_unlinkat)
        return unlink(path) < 0 ? -errno : 0;
    struct uring_ring *r;
    int rc = ring_get(u, &r);
    if (rc)
        return rc;
    for (;;) {
        io_uring_prep_unlinkat(sqe_get(r, 0), AT_FDCWD, path, 0);
        int res;
        if ((rc = ring_run(u, r, 1, &res, 0)) != 0)
            return rc;
        if (!retryable(res))
            return res < 0 ? res : 0;
    }
}

static int ur_open(lsm_io *io, const char *path, int mode, lsm_file **out)
{
    return posix_file_open(path, mode, io->file_mode, out);
}

static int ur_close(lsm_io *io, lsm_file *f)
{
    (void)io;
    return posix_file_close(f);
}

static int ur_truncate(lsm_io *io, lsm_file *f, uint64_t size)
{
    (void)io;
    return posix_file_truncate(f, size);
}

static int ur_size(lsm_io *io, lsm_file *f, uint64_t *out)
{
    (void)io;
    return posix_file_size(f, out);
}

static void ur_destroy(lsm_io *io)
{
    struct uring_io *u = (struct uring_io *)io;
    pthread_mutex_lock(&g_mu);
    while (u->rings) {
        struct uring_ring *r = u->rings;
        ring_unlink(r);
        ring_free(r);
    }
    pthread_mutex_unlock(&g_mu);
    /* Other threads' values for the key die with it (no destructor). */
    pthread_key_delete(u->key);
    free(u);
}

static const struct io_ops uring_ops = {
    .open = ur_open,
    .close = ur_close,
    .read = ur_read,
    .write = ur_write,
    .write_sync = ur_write_sync,
    .sync = ur_sync,
    .writeback = ur_writeback,
    .sync_dir = ur_sync_dir,
    .rename = ur_rename,
    .unlink = ur_unlink,
    .truncate = ur_truncate,
    .size = ur_size,
    .queue_new = uring_queue_new,
    .destroy = ur_destroy,
};

/* Sets up a ring with exactly the flags the per-thread rings use, and asks
 * which opcodes the kernel has.  Returns 0 or -ENOSYS/-EPERM/-ENOMEM/... */
static int probe(struct uring_io *u)
{
    struct io_uring ring;
    int rc = uring_ring_init(URING_DEPTH, &ring, 0);
    if (rc < 0)
        return rc;
    struct io_uring_probe *p = io_uring_get_probe_ring(&ring);
    if (!p) {
        rc = -ENOSYS; /* before 5.6: no IORING_OP_READ/WRITE either */
    } else if (!io_uring_opcode_supported(p, IORING_OP_READ) ||
               !io_uring_opcode_supported(p, IORING_OP_WRITE) ||
               !io_uring_opcode_supported(p, IORING_OP_FSYNC)) {
        rc = -ENOSYS;
    } else {
        u->has_renameat = io_uring_opcode_supported(p, IORING_OP_RENAMEAT);
        u->has_unlinkat = io_uring_opcode_supported(p, IORING_OP_UNLINKAT);
        u->has_sync_file_range = io_uring_opcode_supported(p, IORING_OP_SYNC_FILE_RANGE);
    }
    if (p)
        io_uring_free_probe(p);
    uring_ring_exit(&ring);
    return rc;
}

int io_uring_new(lsm_io **out)
{
    pthread_once(&g_once, exit_key_init);
    if (g_exit_key_err)
        return -g_exit_key_err;
    struct uring_io *u = calloc(1, sizeof *u);
    if (!u)
        return -ENOMEM;
    int rc = probe(u);
    if (rc) {
        free(u);
        return rc;
    }
    if ((rc = pthread_key_create(&u->key, NULL)) != 0) {
        free(u);
        return -rc;
    }
    const char *w = getenv("LSMD_URING_WRITES");
    u->writes_via_ring = w && strcmp(w, "ring") == 0;
    const char *sy = getenv("LSMD_URING_SYNC");
    u->syncs_via_ring = sy && strcmp(sy, "ring") == 0;
    u->io.ops = &uring_ops;
    u->io.kind = IO_KIND_URING;
    u->io.name = "io_uring";
    u->io.file_mode = IO_DEFAULT_FILE_MODE;
    *out = &u->io;
    return 0;
}
