/* io.c — what every backend shares: file mode, stats, destroy, read helpers (io_new, which picks a backend, is io_select.c).  See io.h. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/io.h"
#include "base/log.h"
#include "lsm.h"

/* Calls of io_read by this thread, on any lsm_io, and the nanoseconds
 * they took. */
static _Thread_local uint64_t t_reads, t_read_ns;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

long io_read(lsm_io *io, lsm_file *f, void *buf, size_t n, uint64_t off)
{
    uint64_t t0 = mono_ns();
    long rc = io->ops->read(io, f, buf, n, off);
    t_read_ns += mono_ns() - t0;
    t_reads++;
    return rc;
}

uint64_t lsm_thread_read_ns(void)
{
    return t_read_ns;
}

uint64_t lsm_thread_reads(void)
{
    return t_reads;
}

void io_set_file_mode(lsm_io *io, unsigned mode)
{
    io->file_mode = mode;
    if (io->ops->set_file_mode)
        io->ops->set_file_mode(io, mode);
}

const char *io_stat_kind_name(enum io_stat_kind k)
{
    static const char *const names[IO_STAT_KINDS] = {
        [IO_STAT_WAL_WRITE] = "wal_write",
        [IO_STAT_WAL_SYNC] = "wal_sync",
        [IO_STAT_TABLE_READ] = "table_read",
        [IO_STAT_TABLE_WRITE] = "table_write",
    };
    return (unsigned)k < IO_STAT_KINDS ? names[k] : "none";
}

void io_stats_snapshot(lsm_io *io, struct io_stats *out)
{
    while (io->counted_by)
        io = io->counted_by;
    for (int k = 0; k < IO_STAT_KINDS; k++) {
        out->kind[k].ops = atomic_load_explicit(&io->stat[k][0], memory_order_relaxed);
        out->kind[k].ring = atomic_load_explicit(&io->stat[k][1], memory_order_relaxed);
        out->kind[k].inlined = atomic_load_explicit(&io->stat[k][2], memory_order_relaxed);
        out->kind[k].submissions = atomic_load_explicit(&io->stat[k][3], memory_order_relaxed);
    }
    out->submissions = atomic_load_explicit(&io->stat_submissions, memory_order_relaxed);
}

void io_destroy(lsm_io *io)
{
    if (io)
        io->ops->destroy(io);
}

int io_read_exact(lsm_io *io, lsm_file *f, void *buf, size_t n, uint64_t off)
{
    long r = io_read(io, f, buf, n, off);
    if (r < 0)
        return (int)r;
    /* Backends loop until n bytes or EOF, so short means the file ended. */
    return (size_t)r == n ? 0 : LSM_ECORRUPT;
}

/* The buffer has one spare byte set to '\0', so text files (CURRENT) can be
 * used as strings; *n does not count it. */
int io_read_all(lsm_io *io, const char *path, char **buf, size_t *n)
{
    lsm_file *f;
    int rc = io_open(io, path, IO_READ, &f);
    if (rc)
        return rc;
    uint64_t size;
    char *p = NULL;
    long r = 0;
    if ((rc = io_size(io, f, &size)) != 0)
        goto out;
    if (size >= (uint64_t)(SIZE_MAX / 2)) {
        rc = -EFBIG;
        goto out;
    }
    if (!(p = malloc((size_t)size + 1))) {
        rc = -ENOMEM;
        goto out;
    }
    r = io_read(io, f, p, (size_t)size, 0);
    if (r < 0) {
        rc = (int)r;
        goto out;
    }
    p[r] = '\0'; /* r < size only if the file shrank meanwhile */
    *buf = p;
    *n = (size_t)r;
    p = NULL;
out:
    free(p);
    io_close(io, f);
    return rc;
}
