/*
 * io.h — the I/O layer.  Every WAL, SSTable and MANIFEST open, read, write,
 * sync, rename and unlink goes through an lsm_io, a small table of functions
 * (cf. LevelDB's Env, SQLite's VFS) so tests can swap in a faulty one.
 *
 * Backends
 *   io_uring  (io_uring.c) the default.  Setup is probed at io_new() with
 *             the exact flags used; ENOSYS, EPERM and ENOMEM (io_uring
 *             compiled out, disabled by sysctl kernel.io_uring_disabled,
 *             or refused by seccomp) fall back to POSIX.  Exactly what
 *             goes through a ring:
 *             - the blocking calls below, on one ring per issuing thread
 *               (created lazily, torn down at thread exit), one
 *               io_uring_enter per call, which waits for it: io_read,
 *               io_rename, io_unlink and io_sync_dir always; io_write only
 *               with LSMD_URING_WRITES=ring; io_sync, io_writeback and
 *               io_write_sync only with LSMD_URING_SYNC=ring, and then
 *               io_write_sync is the write linked to the fdatasync in ONE
 *               submission.  By default plain buffered writes, fdatasync
 *               and writeback hints are issued inline (pwrite, fdatasync,
 *               sync_file_range), because io_uring punts them to a worker
 *               thread on ext4 and the caller waits for that hop
 *               (docs/tuning.md, "I/O backend").
 *             - every operation of an io_queue (io_queue.h: READ, WRITE,
 *               SYNC), on the queue's own ring, a whole batch in one
 *               io_uring_enter, whatever LSMD_URING_* say: there the
 *               caller does not wait for the punt.
 *             io_open, io_close, io_size and io_truncate are plain
 *             system calls.
 *   posix     (io_posix.c) pread/pwrite/fdatasync/sync_file_range; its
 *             io_queue is the generic one (each operation runs inline at
 *             submit).
 *   fault     (io_fault.c) wraps another backend; fails the Nth operation
 *             with a chosen errno, and simulates power loss.  Its queue
 *             (io_fault_queue.c) wraps the base's.
 *   The per-I/O-kind counters below report, per kind, which of those
 *   paths the operations took.
 *
 * Writeback hints (io_writeback)
 *   A file appended for a long time and then fdatasync'ed makes that one
 *   call write everything still dirty: a whole memtable's WAL at a
 *   switch (figures: docs/tuning.md, "Write path").  Like RocksDB's
 *   bytes_per_sync, writers call io_writeback_progress() after each
 *   append; every IO_WRITEBACK_BYTES it starts asynchronous writeback
 *   of the full pages written since the
 *   last hint (sync_file_range(SYNC_FILE_RANGE_WRITE): no wait, no flush
 *   of the device cache), so the later fdatasync has little left to do.
 *   The partial last page is left out: the next append dirties it again,
 *   and a page under writeback can make that append wait (stable pages).
 *   A hint makes nothing durable, and its errors are IGNORED by every
 *   caller: it promises nothing, and it never hides a failure, because
 *   SYNC_FILE_RANGE_WRITE alone neither waits nor reports/consumes the
 *   file's writeback error state (Linux 4.13+ errseq: only the WAIT flags
 *   do, which we never pass), so a page that fails to reach the disk still fails the next
 *   fdatasync, the one call whose success the engine trusts.  Treating a
 *   hint error as a write error would instead stop the database on an
 *   advisory call (and on EINVAL/ESPIPE/ENOSYS where a file system lacks
 *   it) without making any acknowledged write safer.
 *
 * Return codes: 0 (or a byte count for io_read) on success, -errno on
 * failure.  Writes are all-or-error: a short write is retried inside the
 * backend and a write that cannot complete returns -errno.
 *
 * Thread safety: an lsm_io and an lsm_file may be used from many threads at
 * once, provided two threads never write the same byte range concurrently.
 */
#ifndef LSM_IO_H
#define LSM_IO_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lsm_io lsm_io;
typedef struct lsm_file lsm_file;
struct io_queue; /* io_queue.h */

/* Open modes for io_open. */
enum io_open_mode {
    IO_READ = 0,   /* existing file, read only */
    IO_CREATE = 1, /* create or truncate, read and write */
    IO_APPEND = 2, /* existing file, read and write (writes use offsets) */
};
/* Or'ed into a mode: open with O_DIRECT (io_direct.h says what callers
 * must then align).  A file system that refuses O_DIRECT fails the open
 * with -EINVAL. */
#define IO_DIRECT 16
#define IO_MODE_MASK 15
static inline enum io_open_mode io_mode_base(int mode) { return (enum io_open_mode)(mode & IO_MODE_MASK); }

enum io_kind {
    IO_KIND_URING,
    IO_KIND_POSIX,
    IO_KIND_FAULT,
};

/* The function table a backend fills.  Callers use the io_* wrappers below. */
struct io_ops {
    int (*open)(lsm_io *io, const char *path, int mode, lsm_file **out); /* enum io_open_mode | IO_DIRECT */
    int (*close)(lsm_io *io, lsm_file *f);
    /* Reads up to n bytes at off; returns bytes read (short only at EOF). */
    long (*read)(lsm_io *io, lsm_file *f, void *buf, size_t n, uint64_t off);
    int (*write)(lsm_io *io, lsm_file *f, const void *buf, size_t n, uint64_t off);
    /* Writes then fdatasyncs; a backend may do both in one submission. */
    int (*write_sync)(lsm_io *io, lsm_file *f, const void *buf, size_t n, uint64_t off);
    int (*sync)(lsm_io *io, lsm_file *f);          /* fdatasync */
    /* Optional (NULL: io_writeback is a no-op): starts writeback of
     * [off, off + n) without waiting (sync_file_range with
     * SYNC_FILE_RANGE_WRITE).  Durability: none ("Writeback hints"). */
    int (*writeback)(lsm_io *io, lsm_file *f, uint64_t off, uint64_t n);
    int (*sync_dir)(lsm_io *io, const char *dir);  /* fsync of a directory */
    int (*rename)(lsm_io *io, const char *from, const char *to);
    int (*unlink)(lsm_io *io, const char *path);
    int (*truncate)(lsm_io *io, lsm_file *f, uint64_t size);
    int (*size)(lsm_io *io, lsm_file *f, uint64_t *out);
    /* Optional (NULL: nothing to do): io->file_mode was just set to mode
     * (io_set_file_mode); a backend that wraps another passes it on. */
    void (*set_file_mode)(lsm_io *io, unsigned mode);
    /* Optional (NULL: the generic inline queue): a queue of many
     * operations in flight (io_queue.h). */
    int (*queue_new)(lsm_io *io, unsigned depth, struct io_queue **out);
    void (*destroy)(lsm_io *io);
};

/* ---- per-I/O-kind counters (honest reporting) ----------------------------
 * The fd backends classify a file when it is opened, by its name (base/
 * filenames.h): "*.log" is a WAL, "*.sst" a table; other files (MANIFEST,
 * CURRENT) are not counted by kind.  For each kind below they count the
 * operations, how many went through a ring and how many were issued inline
 * (pread/pwrite/fdatasync called directly, posix or the io_uring backend's
 * inline paths), and the io_uring_enter calls that submitted at least one
 * of them (a linked WAL write+fdatasync is one submission of both kinds; a
 * queue batch of 32 table reads is one).  ops == ring + inline.  A short
 * read or write finished by resubmitting counts one op, and one more
 * submission.  `submissions` counts every io_uring_enter that submitted,
 * whatever the file.  A wrapping backend (fault) does not count: its base
 * does, and io_stats_snapshot of the wrapper reads the base's. */
enum io_stat_kind {
    IO_STAT_WAL_WRITE,
    IO_STAT_WAL_SYNC,
    IO_STAT_TABLE_READ,
    IO_STAT_TABLE_WRITE,
    IO_STAT_KINDS,
    IO_STAT_NONE = -1, /* a file or operation no kind counts */
};

struct io_kind_stats {
    uint64_t ops, ring, inlined, submissions;
};

struct io_stats {
    struct io_kind_stats kind[IO_STAT_KINDS];
    uint64_t submissions; /* every io_uring_enter that submitted */
};

/* The JSON key of a kind: "wal_write", "wal_sync", "table_read", "table_write". */
const char *io_stat_kind_name(enum io_stat_kind k);

/* A copy of io's counters (relaxed loads: a monitoring snapshot, not an
 * audit; the fields of one kind may be a few operations apart). */
void io_stats_snapshot(lsm_io *io, struct io_stats *out);

/* Every backend embeds this as its first member. */
struct lsm_io {
    const struct io_ops *ops;
    enum io_kind kind;
    const char *name; /* "io_uring", "posix", "fault(io_uring)", ... */
    unsigned file_mode; /* permission bits of files IO_CREATE makes (before
                           the umask): IO_DEFAULT_FILE_MODE unless
                           io_set_file_mode changed it */
    lsm_io *counted_by; /* whose counters count this backend's I/O (a
                           wrapper's base); NULL: its own */
    /* [relaxed atomics] the counters above: [kind][0..3] = ops, ring,
     * inlined, submissions; zero at creation (backends calloc). */
    _Atomic uint64_t stat[IO_STAT_KINDS][4];
    _Atomic uint64_t stat_submissions;
};

/* Private by default: another uid must not read the data (issue 9). */
#define IO_DEFAULT_FILE_MODE 0600u

/* Sets the permission bits IO_CREATE uses from now on (the fault backend
 * passes it on to the backend it wraps).  REQUIRES: no open in flight on
 * io (lsm_open sets it before using io). */
void io_set_file_mode(lsm_io *io, unsigned mode);

/* Creates a backend by name: "auto" (or NULL), "uring", "posix".
 * "auto" honours the environment variable LSMD_IO ("uring"/"posix") and
 * otherwise tries io_uring, falling back to POSIX.  Logs the choice.
 * "uring" fails with the setup error instead of falling back.
 * Errors: -EINVAL (unknown name), -ENOSYS/-EPERM/-ENOMEM (uring), -ENOMEM. */
int io_new(const char *name, lsm_io **out);
int io_posix_new(lsm_io **out);
int io_uring_new(lsm_io **out);
void io_destroy(lsm_io *io);

static inline int io_open(lsm_io *io, const char *path, int m, lsm_file **out)
{ return io->ops->open(io, path, m, out); }
static inline int io_close(lsm_io *io, lsm_file *f) { return io->ops->close(io, f); }
/* The blocking read: also counts it, and the time it took, for the calling
 * thread (lsm_thread_reads, lsm_thread_read_ns in lsm.h; two vDSO clock
 * reads beside a system call). */
long io_read(lsm_io *io, lsm_file *f, void *buf, size_t n, uint64_t off);
static inline int io_write(lsm_io *io, lsm_file *f, const void *buf, size_t n, uint64_t off)
{ return io->ops->write(io, f, buf, n, off); }
static inline int io_write_sync(lsm_io *io, lsm_file *f, const void *buf, size_t n, uint64_t off)
{ return io->ops->write_sync(io, f, buf, n, off); }
static inline int io_sync(lsm_io *io, lsm_file *f) { return io->ops->sync(io, f); }
/* A hint, not a sync: see "Writeback hints" above.  Returns 0 or -errno,
 * which callers ignore (the backend still reports it, for tests). */
static inline int io_writeback(lsm_io *io, lsm_file *f, uint64_t off, uint64_t n)
{ return io->ops->writeback ? io->ops->writeback(io, f, off, n) : 0; }
static inline int io_sync_dir(lsm_io *io, const char *dir) { return io->ops->sync_dir(io, dir); }
static inline int io_rename(lsm_io *io, const char *from, const char *to)
{ return io->ops->rename(io, from, to); }
static inline int io_unlink(lsm_io *io, const char *path) { return io->ops->unlink(io, path); }
static inline int io_truncate(lsm_io *io, lsm_file *f, uint64_t size)
{ return io->ops->truncate(io, f, size); }
static inline int io_size(lsm_io *io, lsm_file *f, uint64_t *out)
{ return io->ops->size(io, f, out); }

/* Bytes appended between two writeback hints, and the alignment the hinted
 * range ends on (the partial last page is left for the next append). */
#define IO_WRITEBACK_BYTES (1u << 20)
#define IO_WRITEBACK_ALIGN 4096u

/* For an append-only writer: call after a successful write that left the
 * file end at `end`.  *hinted (start it at 0) is where the last hint ended;
 * once at least IO_WRITEBACK_BYTES of full pages lie past it, hints them and
 * advances it.  The hint's error is ignored (see above).  Cheap when it
 * does nothing: a subtraction and a compare. */
static inline void io_writeback_progress(lsm_io *io, lsm_file *f, uint64_t *hinted,
                                         uint64_t end)
{
    uint64_t to = end & ~(uint64_t)(IO_WRITEBACK_ALIGN - 1);
    if (to >= *hinted + IO_WRITEBACK_BYTES) {
        (void)io_writeback(io, f, *hinted, to - *hinted);
        *hinted = to;
    }
}

/* Resource errors versus data errors (issue 9).  EMFILE, ENFILE and ENOMEM
 * (err is -errno) mean the process or system ran out of descriptors or
 * memory before the operation touched the disk: nothing about the files
 * is unknown, and the same step can succeed once the resource is back, so
 * callers retry it.  Every other error (EIO, ENOSPC, a failed fdatasync)
 * may leave a file in an unknown state and stays sticky. */
static inline int io_error_is_transient(int err)
{
    return err == -EMFILE || err == -ENFILE || err == -ENOMEM;
}

/* Reads exactly n bytes at off.  Returns 0, -errno, or LSM_ECORRUPT when the
 * file ends first (a table or manifest that is shorter than it claims). */
int io_read_exact(lsm_io *io, lsm_file *f, void *buf, size_t n, uint64_t off);

/* Reads a whole file into a malloc'd buffer (*buf, *n).  For small files:
 * MANIFEST, CURRENT.  Errors: -errno. */
int io_read_all(lsm_io *io, const char *path, char **buf, size_t *n);

/* ---- fault injection (io_fault.c) -------------------------------------- */

/* Wraps base (not owned; it must outlive the fault backend).  Until armed it
 * passes every call through, only counting operations. */
int io_fault_new(lsm_io *base, lsm_io **out);

/* Counts operations (io_writeback and every io_ops call but close, size,
 * set_file_mode and destroy) from now; the nth one (1-based) fails with -err (EIO,
 * ENOSPC, ...) without reaching base.  persistent != 0: every later operation fails too, as a
 * dead disk would.  n == 0 disarms. */
void io_fault_arm(lsm_io *io, uint64_t n, int err, int persistent);

/* The backend a fault backend wraps. */
lsm_io *io_fault_base(lsm_io *io);

/* Descriptor exhaustion, for a window of time: from now until called again
 * with err 0, every operation of a kind in `ops` whose path contains
 * `pattern` (NULL: any path) fails with -err (EMFILE, ENFILE, ENOMEM)
 * without reaching base, as when descriptors run out and later come
 * back.  Kinds: IO_FAULT_CREATE (io_open with IO_CREATE),
 * IO_FAULT_OPEN (other opens), IO_FAULT_SYNC_DIR (it opens the
 * directory), IO_FAULT_CREATED (io_open with IO_CREATE reaches base and
 * makes the file, then fails, as a backend that runs out of memory after
 * open(2)).  Independent of io_fault_arm; failures count as
 * operations.  The pattern is copied. */
enum { IO_FAULT_CREATE = 1, IO_FAULT_OPEN = 2, IO_FAULT_SYNC_DIR = 4, IO_FAULT_CREATED = 8 };
void io_fault_fd_window(lsm_io *io, int err, unsigned ops, const char *pattern);

/* on != 0: every later unlink is durable at once, without a sync_dir, as
 * on a file system that persists a removal before an earlier rename in
 * the same directory (nothing orders them without a sync).  Default off:
 * power loss undoes an unlink no sync_dir covers. */
void io_fault_durable_unlinks(lsm_io *io, int on);

/* The window's next n matching operations pass (reset to 0 by
 * io_fault_fd_window), so a test can fail, say, the second directory
 * sync of a flush and not the first. */
void io_fault_fd_window_skip(lsm_io *io, uint64_t n);

/* Operations failed by the window since it was last set. */
uint64_t io_fault_fd_hits(lsm_io *io);

/* Operations counted since creation (or since the last arm). */
uint64_t io_fault_ops(lsm_io *io);

/* Of those, the writeback hints: a fault loop expects every failed
 * operation to fail its workload except these, whose errors are ignored. */
uint64_t io_fault_hints(lsm_io *io);

/* Simulates power loss now: every file is cut back to the bytes a completed
 * sync covers (io_writeback is counted, and can be failed, like any
 * operation, but is never a sync); files whose directory entry no completed
 * sync_dir covers are removed; renames and unlinks not covered by a sync_dir are undone.  After
 * this, every operation through io fails with -EIO (the machine is off), so
 * the caller can close its handles and reopen with a fresh backend.
 * REQUIRES: no io_queue operation in flight on io (reap them first: one
 * still in the kernel could land after the rollback).
 * Returns 0 or -errno if the on-disk state could not be rolled back. */
int io_fault_power_loss(lsm_io *io);

#endif
