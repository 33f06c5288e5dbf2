/*
 * io.h — the I/O layer.  Every WAL, SSTable and MANIFEST open, read, write,
 * sync, rename and unlink goes through an lsm_io, a small table of functions
 * (cf. LevelDB's Env, SQLite's VFS) so tests can swap in a faulty one.
 *
 * Backends
 *   io_uring  (io_uring.c) the default.  One ring per issuing thread, created
 *             lazily on first use and torn down at thread exit.  Setup is
 *             probed at io_new() with the exact flags used; ENOSYS, EPERM and
 *             ENOMEM (io_uring compiled out, disabled by sysctl
 *             kernel.io_uring_disabled, or refused by seccomp) fall back to
 *             POSIX.  Reads, rename and unlink go through the ring; plain
 *             buffered writes and fdatasync are issued inline by default,
 *             because io_uring punts both to a worker thread on ext4 (measured
 *             in io_uring.c); LSMD_URING_WRITES=ring / LSMD_URING_SYNC=ring
 *             send them through the ring too.
 *   posix     (io_posix.c) pread/pwrite/fdatasync.
 *   fault     (io_fault.c) wraps another backend; fails the Nth operation
 *             with a chosen errno, and simulates power loss.
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

#include <stddef.h>
#include <stdint.h>

typedef struct lsm_io lsm_io;
typedef struct lsm_file lsm_file;

/* Open modes for io_open. */
enum io_open_mode {
    IO_READ = 0,   /* existing file, read only */
    IO_CREATE = 1, /* create or truncate, read and write */
    IO_APPEND = 2, /* existing file, read and write (writes use offsets) */
};

enum io_kind {
    IO_KIND_URING,
    IO_KIND_POSIX,
    IO_KIND_FAULT,
};

/* The function table a backend fills.  Callers use the io_* wrappers below. */
struct io_ops {
    int (*open)(lsm_io *io, const char *path, enum io_open_mode mode, lsm_file **out);
    int (*close)(lsm_io *io, lsm_file *f);
    /* Reads up to n bytes at off; returns bytes read (short only at EOF). */
    long (*read)(lsm_io *io, lsm_file *f, void *buf, size_t n, uint64_t off);
    int (*write)(lsm_io *io, lsm_file *f, const void *buf, size_t n, uint64_t off);
    /* Writes then fdatasyncs; a backend may do both in one submission. */
    int (*write_sync)(lsm_io *io, lsm_file *f, const void *buf, size_t n, uint64_t off);
    int (*sync)(lsm_io *io, lsm_file *f);          /* fdatasync */
    int (*sync_dir)(lsm_io *io, const char *dir);  /* fsync of a directory */
    int (*rename)(lsm_io *io, const char *from, const char *to);
    int (*unlink)(lsm_io *io, const char *path);
    int (*truncate)(lsm_io *io, lsm_file *f, uint64_t size);
    int (*size)(lsm_io *io, lsm_file *f, uint64_t *out);
    void (*destroy)(lsm_io *io);
};

/* Every backend embeds this as its first member. */
struct lsm_io {
    const struct io_ops *ops;
    enum io_kind kind;
    const char *name; /* "io_uring", "posix", "fault(io_uring)", ... */
};

/* Creates a backend by name: "auto" (or NULL), "uring", "posix".
 * "auto" honours the environment variable LSMD_IO ("uring"/"posix") and
 * otherwise tries io_uring, falling back to POSIX.  Logs the choice.
 * "uring" fails with the setup error instead of falling back.
 * Errors: -EINVAL (unknown name), -ENOSYS/-EPERM/-ENOMEM (uring), -ENOMEM. */
int io_new(const char *name, lsm_io **out);
int io_posix_new(lsm_io **out);
int io_uring_new(lsm_io **out);
void io_destroy(lsm_io *io);

static inline int io_open(lsm_io *io, const char *path, enum io_open_mode m, lsm_file **out)
{ return io->ops->open(io, path, m, out); }
static inline int io_close(lsm_io *io, lsm_file *f) { return io->ops->close(io, f); }
static inline long io_read(lsm_io *io, lsm_file *f, void *buf, size_t n, uint64_t off)
{ return io->ops->read(io, f, buf, n, off); }
static inline int io_write(lsm_io *io, lsm_file *f, const void *buf, size_t n, uint64_t off)
{ return io->ops->write(io, f, buf, n, off); }
static inline int io_write_sync(lsm_io *io, lsm_file *f, const void *buf, size_t n, uint64_t off)
{ return io->ops->write_sync(io, f, buf, n, off); }
static inline int io_sync(lsm_io *io, lsm_file *f) { return io->ops->sync(io, f); }
static inline int io_sync_dir(lsm_io *io, const char *dir) { return io->ops->sync_dir(io, dir); }
static inline int io_rename(lsm_io *io, const char *from, const char *to)
{ return io->ops->rename(io, from, to); }
static inline int io_unlink(lsm_io *io, const char *path) { return io->ops->unlink(io, path); }
static inline int io_truncate(lsm_io *io, lsm_file *f, uint64_t size)
{ return io->ops->truncate(io, f, size); }
static inline int io_size(lsm_io *io, lsm_file *f, uint64_t *out)
{ return io->ops->size(io, f, out); }

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

/* Counts operations (every io_ops call but close, size and destroy) from
 * now; the nth one (1-based) fails with -err (EIO, ENOSPC, ...) without
 * reaching base.  persistent != 0: every later operation fails too, as a
 * dead disk would.  n == 0 disarms. */
void io_fault_arm(lsm_io *io, uint64_t n, int err, int persistent);

/* Operations counted since creation (or since the last arm). */
uint64_t io_fault_ops(lsm_io *io);

/* Simulates power loss now: every file is cut back to the bytes a completed
 * sync covers; files whose directory entry no completed sync_dir covers are
 * removed; renames and unlinks not covered by a sync_dir are undone.  After
 * this, every operation through io fails with -EIO (the machine is off), so
 * the caller can close its handles and reopen with a fresh backend.
 * Returns 0 or -errno if the on-disk state could not be rolled back. */
int io_fault_power_loss(lsm_io *io);

#endif
