/* io_posix.c — the POSIX backend: pread/pwrite/fdatasync.  See io.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io.h"
#include "io/io_internal.h"

/* ---- the fd file shared with io_uring.c (io_internal.h) ----------------- */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* The suffixes of filenames.h's NNNNNN.log and NNNNNN.sst. */
static enum io_file_class file_class_of(const char *path)
{
    if (ends_with(path, ".log"))
        return IO_FILE_WAL;
    if (ends_with(path, ".sst"))
        return IO_FILE_TABLE;
    return IO_FILE_OTHER;
}

int posix_file_open(const char *path, int mode, unsigned perm, lsm_file **out)
{
    int flags;
    switch (io_mode_base(mode)) {
    case IO_READ: flags = O_RDONLY; break;
    case IO_CREATE: flags = O_CREAT | O_TRUNC | O_RDWR; break;
    case IO_APPEND: flags = O_RDWR; break;
    default: return -EINVAL;
    }
    lsm_file *f = malloc(sizeof *f);
    if (!f)
        return -ENOMEM;
    int fd;
    do
        fd = open(path, flags | O_CLOEXEC | ((mode & IO_DIRECT) ? O_DIRECT : 0), (mode_t)perm);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int err = errno;
        free(f);
        return -err;
    }
    f->fd = fd;
    f->direct = (mode & IO_DIRECT) != 0;
    f->cls = file_class_of(path);
    *out = f;
    return 0;
}

int posix_file_close(lsm_file *f)
{
    /* Never retry close on EINTR: on Linux the fd is gone either way. */
    int rc = close(f->fd) < 0 ? -errno : 0;
    free(f);
    return rc == -EINTR ? 0 : rc;
}

int posix_file_truncate(lsm_file *f, uint64_t size)
{
    int rc;
    do
        rc = ftruncate(f->fd, (off_t)size);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : 0;
}

int posix_file_size(lsm_file *f, uint64_t *out)
{
    struct stat st;
    if (fstat(f->fd, &st) < 0)
        return -errno;
    *out = (uint64_t)st.st_size;
    return 0;
}

/* ---- the backend --------------------------------------------------------- */

static int px_open(lsm_io *io, const char *path, int mode, lsm_file **out)
{
    return posix_file_open(path, mode, io->file_mode, out);
}

static int px_close(lsm_io *io, lsm_file *f)
{
    (void)io;
    return posix_file_close(f);
}

static long px_read(lsm_io *io, lsm_file *f, void *buf, size_t n, uint64_t off)
{
    io_stat_ops(io, io_stat_kind_of(f->cls, IO_OP_READ), 0, 1);
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(f->fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break; /* EOF */
        done += (size_t)r;
    }
    return (long)done;
}

static int px_write(lsm_io *io, lsm_file *f, const void *buf, size_t n, uint64_t off)
{
    io_stat_ops(io, io_stat_kind_of(f->cls, IO_OP_WRITE), 0, 1);
    size_t done = 0;
    while (done < n) {
        ssize_t r = pwrite(f->fd, (const char *)buf + done, n - done,
                           (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO; /* no progress and no errno: do not spin */
        done += (size_t)r;
    }
    return 0;
}

static int px_sync(lsm_io *io, lsm_file *f)
{
    io_stat_ops(io, io_stat_kind_of(f->cls, IO_OP_SYNC), 0, 1);
    /* EINTR means the sync did not run; any other failure is final (the
     * kernel may have dropped the dirty pages, so a retry could lie). */
    int rc;
    do
        rc = fdatasync(f->fd);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : 0;
}

/* SYNC_FILE_RANGE_WRITE only: start writeback, never wait, never consume
 * the file's writeback error (io.h "Writeback hints").  EINTR: it did not
 * start, so it is repeated; other errors go back to the caller. */
static int px_writeback(lsm_io *io, lsm_file *f, uint64_t off, uint64_t n)
{
    (void)io;
    int rc;
    do
        rc = sync_file_range(f->fd, (off64_t)off, (off64_t)n, SYNC_FILE_RANGE_WRITE);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : 0;
}

static int px_write_sync(lsm_io *io, lsm_file *f, const void *buf, size_t n, uint64_t off)
{
    int rc = px_write(io, f, buf, n, off);
    return rc ? rc : px_sync(io, f);
}

static int px_sync_dir(lsm_io *io, const char *dir)
{
    (void)io;
    int fd;
    do
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -errno;
    int rc;
    do
        rc = fsync(fd);
    while (rc < 0 && errno == EINTR);
    rc = rc < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int px_rename(lsm_io *io, const char *from, const char *to)
{
    (void)io;
    return rename(from, to) < 0 ? -errno : 0;
}

static int px_unlink(lsm_io *io, const char *path)
{
    (void)io;
    return unlink(path) < 0 ? -errno : 0;
}

static int px_truncate(lsm_io *io, lsm_file *f, uint64_t size)
{
    (void)io;
    return posix_file_truncate(f, size);
}

static int px_size(lsm_io *io, lsm_file *f, uint64_t *out)
{
    (void)io;
    return posix_file_size(f, out);
}

static void px_destroy(lsm_io *io)
{
    free(io);
}

static const struct io_ops posix_ops = {
    .open = px_open,
    .close = px_close,
    .read = px_read,
    .write = px_write,
    .write_sync = px_write_sync,
    .sync = px_sync,
    .writeback = px_writeback,
    .sync_dir = px_sync_dir,
    .rename = px_rename,
    .unlink = px_unlink,
    .truncate = px_truncate,
    .size = px_size,
    .destroy = px_destroy,
};

int io_posix_new(lsm_io **out)
{
    lsm_io *io = calloc(1, sizeof *io);
    if (!io)
        return -ENOMEM;
    io->ops = &posix_ops;
    io->kind = IO_KIND_POSIX;
    io->name = "posix";
    io->file_mode = IO_DEFAULT_FILE_MODE;
    *out = io;
    return 0;
}
