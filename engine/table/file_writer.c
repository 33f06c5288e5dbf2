/* file_writer.c — see file_writer.h. */
#include "table/file_writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "io/io_direct.h"
#include "io/io_buf_pool.h"
#include "io/io_queue.h"
#include "lsm.h"

/* Direct: how far past the writes the file's size is set (size_ahead). */
#define FW_SIZE_AHEAD ((uint64_t)FW_DEPTH * FW_CHUNK * 2)

struct fw_buf {
    io_op op;   /* valid while busy */
    char *data; /* FW_CHUNK bytes, aligned; allocated on first use */
    size_t len; /* bytes filled */
    int busy;   /* submitted, not yet reaped */
};

struct file_writer {
    lsm_io *io;
    lsm_file *f;
    io_queue *q;
    char *path;
    int direct;
    int err;           /* first error; sticky */
    struct fw_buf bufs[FW_DEPTH];
    struct fw_buf *cur; /* being filled, or NULL */
    uint64_t cur_off;   /* file offset of cur's first byte */
    uint64_t hinted;    /* buffered: writeback started up to here */
    uint64_t sized;     /* direct: the file's size was set up to here */
};

static int fail(file_writer *w, int err)
{
    if (!w->err)
        w->err = err;
    return w->err;
}

int fw_open(lsm_io *io, const char *path, int flags, file_writer **out)
{
    file_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return -ENOMEM;
    }
    w->io = io;
    w->direct = (flags & FW_DIRECT) != 0;
    int rc = io_open(io, path, IO_CREATE | (w->direct ? IO_DIRECT : 0), &w->f);
    if (rc) {
        if (rc == -EINVAL && w->direct)
            log_error("%s: the file system refuses O_DIRECT (use_direct_io)", path);
        else
            log_error("%s: create failed: %s", path, lsm_strerror(rc));
        w->f = NULL;
    } else if ((rc = io_queue_new(io, FW_DEPTH, &w->q)) != 0) {
        log_error("%s: I/O queue: %s", path, lsm_strerror(rc));
        w->q = NULL;
    }
    if (rc) {
        fw_close(w, 0);
        return rc;
    }
    *out = w;
    return 0;
}

/* The file offset below which every write has completed. */
static uint64_t written_prefix(const file_writer *w)
{
    uint64_t end = w->cur_off;
    for (unsigned i = 0; i < FW_DEPTH; i++)
        if (w->bufs[i].busy && w->bufs[i].op.off < end)
            end = w->bufs[i].op.off;
    return end;
}

/* Collects completed writes, waiting for at least wait_nr. */
static void reap(file_writer *w, unsigned wait_nr)
{
    io_op *done[FW_DEPTH];
    int qerr = 0;
    size_t n = io_queue_reap(w->q, done, FW_DEPTH, wait_nr, &qerr);
    for (size_t i = 0; i < n; i++) {
        struct fw_buf *b = done[i]->user;
        b->busy = 0;
        long res = b->op.res;
        if (res >= 0 && (size_t)res != b->op.n)
            res = -EIO; /* the queue promises all-or-error */
        if (res < 0) {
            log_error("%s: write of %zu bytes at %llu failed: %s", w->path, b->op.n,
                      (unsigned long long)b->op.off, lsm_strerror((int)res));
            fail(w, (int)res);
        }
    }
    if (qerr) {
        log_error("%s: reaping writes failed: %s", w->path, lsm_strerror(qerr));
        fail(w, qerr);
    }
    /* Spreads the write-out so the final fdatasync is short; O_DIRECT
     * writes leave nothing dirty to hint. */
    if (!w->direct && !w->err)
        io_writeback_progress(w->io, w->f, &w->hinted, written_prefix(w));
}

static unsigned busy_count(const file_writer *w)
{
    unsigned n = 0;
    for (unsigned i = 0; i < FW_DEPTH; i++)
        n += w->bufs[i].busy;
    return n;
}

/* Makes w->cur a free, empty buffer, waiting for a write if all are busy. */
static int take_buffer(file_writer *w)
{
    for (;;) {
        for (unsigned i = 0; i < FW_DEPTH; i++) {
            struct fw_buf *b = &w->bufs[i];
            if (b->busy)
                continue;
            size_t cap;
            if (!b->data && !(b->data = io_buf_get(FW_CHUNK, &cap)))
                return fail(w, -ENOMEM);
            b->len = 0;
            w->cur = b;
            return 0;
        }
        unsigned before = busy_count(w);
        reap(w, 1);
        if (w->err)
            return w->err;
        if (busy_count(w) == before) /* the queue made no progress */
            return fail(w, -EIO);
    }
}

/* Direct: keeps the file's size ahead of the writes.  A direct write past
 * the end of the file is an extending write, which ext4 (and XFS) run
 * under the inode's exclusive lock to completion, one at a time; within
 * the size, writes overlap (figures: docs/tuning.md, "Direct I/O").
 * fw_finish truncates to the true length. */
static int size_ahead(file_writer *w, uint64_t end)
{
    if (end <= w->sized)
        return 0;
    uint64_t to = end + FW_SIZE_AHEAD;
    int rc = io_truncate(w->io, w->f, to);
    if (rc) {
        log_error("%s: extending to %llu failed: %s", w->path, (unsigned long long)to,
                  lsm_strerror(rc));
        return fail(w, rc);
    }
    w->sized = to;
    return 0;
}

/* Starts the write of cur's first n bytes (n >= cur->len: padding). */
static int submit_cur(file_writer *w, size_t n)
{
    struct fw_buf *b = w->cur;
    if (w->direct && size_ahead(w, w->cur_off + n))
        return w->err;
    b->op = (io_op){ .code = IO_OP_WRITE, .f = w->f, .buf = b->data, .n = n,
                     .off = w->cur_off, .user = b };
    io_op *op = &b->op;
    int rc = io_queue_submit(w->q, &op, 1);
    if (rc) {
        log_error("%s: write of %zu bytes at %llu not started: %s", w->path, n,
                  (unsigned long long)w->cur_off, lsm_strerror(rc));
        return fail(w, rc);
    }
    b->busy = 1;
    w->cur = NULL;
    w->cur_off += b->len;
    reap(w, 0); /* whatever is done already: frees buffers, moves hints */
    return w->err;
}

int fw_append(file_writer *w, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        if (w->err)
            return w->err;
        if (!w->cur && take_buffer(w))
            return w->err;
        struct fw_buf *b = w->cur;
        size_t take = FW_CHUNK - b->len < n ? FW_CHUNK - b->len : n;
        memcpy(b->data + b->len, s, take);
        b->len += take;
        s += take;
        n -= take;
        if (b->len == FW_CHUNK && submit_cur(w, FW_CHUNK))
            return w->err;
    }
    return w->err;
}

uint64_t fw_offset(const file_writer *w)
{
    return w->cur_off + (w->cur ? w->cur->len : 0);
}

/* Waits for every write in flight; 0 or the sticky error. */
static int drain(file_writer *w)
{
    unsigned left;
    while ((left = busy_count(w)) > 0) {
        reap(w, left);
        if (busy_count(w) == left) { /* the queue is broken: give up */
            fail(w, -EIO);
            return -EIO;
        }
    }
    return w->err;
}

int fw_finish(file_writer *w)
{
    if (w->err)
        return w->err;
    uint64_t end = fw_offset(w);
    if (w->cur && w->cur->len) {
        size_t n = w->cur->len;
        if (w->direct) { /* a whole last block, zero padded */
            size_t padded = (size_t)io_align_up(n);
            memset(w->cur->data + n, 0, padded - n);
            n = padded;
        }
        if (submit_cur(w, n))
            return w->err;
    }
    w->cur = NULL;
    w->cur_off = end;
    int rc = drain(w);
    if (rc)
        return rc;
    if (w->direct && end != w->sized && (rc = io_truncate(w->io, w->f, end))) {
        log_error("%s: truncate to %llu failed: %s", w->path, (unsigned long long)end,
                  lsm_strerror(rc));
        return fail(w, rc);
    }
    if ((rc = io_sync(w->io, w->f))) {
        log_error("%s: fdatasync failed: %s", w->path, lsm_strerror(rc));
        return fail(w, rc);
    }
    return 0;
}

int fw_close(file_writer *w, int unlink_file)
{
    if (!w)
        return 0;
    int rc = 0;
    int leak = 0;
    if (w->q) {
        /* A buffer the kernel may still read must not be freed. */
        (void)drain(w);
        if (busy_count(w) > 0) {
            log_error("%s: %u writes never completed; their buffers are leaked", w->path,
                      busy_count(w));
            leak = 1;
        }
        if (!leak)
            io_queue_destroy(w->q);
    }
    if (w->f && (rc = io_close(w->io, w->f)) != 0)
        log_error("%s: close failed: %s", w->path, lsm_strerror(rc));
    if (unlink_file)
        io_unlink(w->io, w->path);
    for (unsigned i = 0; i < FW_DEPTH && !leak; i++)
        io_buf_put(w->bufs[i].data, FW_CHUNK);
    free(w->path);
    free(w);
    return rc;
}
