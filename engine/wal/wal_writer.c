/* wal_writer.c — see wal_writer.h; format in docs/wal-format.md. */
#include "wal/wal_writer.h"

#include <errno.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/coding.h"
#include "base/crc32c.h"
#include "base/log.h"
#include "lsm.h"
#include "wal/wal_format.h"

/* wal_writer_append copies and checksums in chunks this size, so the CRC
 * reads bytes the copy just brought into L2 instead of memory. */
#define WRITER_COPY_CHUNK (64u * 1024u)
/* A copy buffer grown past this for one big record is freed after it, so a
 * rare huge batch does not pin its size for the life of the file. */
#define WRITER_KEEP_BYTES (16u * 1024u * 1024u)

struct wal_writer {
    lsm_io *io;
    lsm_file *file;
    uint64_t offset; /* bytes appended successfully */
    uint64_t hinted; /* writeback started up to here (io_writeback_progress) */
    _Atomic int error; /* sticky: first failed write or sync; atomic because
                          the engine may sync while the next group appends */
    char *buf;       /* wal_writer_append's copy buffer */
    size_t cap;
    char *path;      /* for messages */
};

int wal_writer_open(lsm_io *io, const char *path, wal_writer **out)
{
    wal_writer *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->path = strdup(path);
    if (!w->path) {
        free(w);
        return -ENOMEM;
    }
    int rc = io_open(io, path, IO_CREATE, &w->file);
    if (rc != 0) {
        free(w->path);
        free(w);
        return rc;
    }
    w->io = io;
    *out = w;
    return 0;
}

static int writer_poison(wal_writer *w, int rc, const char *what)
{
    log_error("wal: %s of %s at offset %" PRIu64 " failed: %s; no further writes "
              "to this file",
              what, w->path, w->offset, lsm_strerror(rc));
    w->error = rc;
    return rc;
}

static int writer_check(const wal_writer *w, size_t payload_len)
{
    if (w->error)
        return w->error;
    if (payload_len > WAL_MAX_PAYLOAD) {
        log_error("wal: record of %zu bytes for %s exceeds the %u-byte limit",
                  payload_len, w->path, (unsigned)WAL_MAX_PAYLOAD);
        return -EINVAL;
    }
    return 0;
}

/* Stores the masked CRC (crc covers frame[WAL_CRC_START ..)) and writes the
 * whole record with one I/O. */
static int writer_emit(wal_writer *w, char *frame, size_t n, uint32_t crc, int sync)
{
    put_fixed32(frame + WAL_OFF_CRC, crc32c_mask(crc));
    int rc = sync ? io_write_sync(w->io, w->file, frame, n, w->offset)
                  : io_write(w->io, w->file, frame, n, w->offset);
    if (rc != 0)
        return writer_poison(w, rc, sync ? "write+sync" : "write");
    w->offset += n;
    /* Keeps the dirty tail short so the sync at a memtable switch (or the
     * next synced append) is quick.  Appender-only state: no lock. */
    if (sync)
        w->hinted = w->offset & ~(uint64_t)(IO_WRITEBACK_ALIGN - 1);
    else
        io_writeback_progress(w->io, w->file, &w->hinted, w->offset);
    return 0;
}

int wal_writer_append_frame(wal_writer *w, uint64_t first_seq, uint32_t count, char *frame,
                            size_t payload_len, int sync)
{
    int rc = writer_check(w, payload_len);
    if (rc != 0)
        return rc;
    wal_header_encode(frame, (uint32_t)payload_len, first_seq, count);
    uint32_t crc = crc32c(frame + WAL_CRC_START, WAL_HEADER_SIZE - WAL_CRC_START + payload_len);
    return writer_emit(w, frame, WAL_HEADER_SIZE + payload_len, crc, sync);
}

int wal_writer_append(wal_writer *w, uint64_t first_seq, uint32_t count, slice payload,
                      int sync)
{
    int rc = writer_check(w, payload.size);
    if (rc != 0)
        return rc;
    size_t n = WAL_HEADER_SIZE + payload.size;
    if (n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < n)
            cap *= 2;
        char *buf = malloc(cap); /* no realloc: the old bytes are not needed */
        if (!buf)
            return -ENOMEM;
        free(w->buf);
        w->buf = buf;
        w->cap = cap;
    }
    wal_header_encode(w->buf, (uint32_t)payload.size, first_seq, count);
    uint32_t crc = crc32c(w->buf + WAL_CRC_START, WAL_HEADER_SIZE - WAL_CRC_START);
    for (size_t done = 0; done < payload.size;) {
        size_t k = payload.size - done;
        if (k > WRITER_COPY_CHUNK)
            k = WRITER_COPY_CHUNK;
        char *dst = w->buf + WAL_HEADER_SIZE + done;
        memcpy(dst, payload.data + done, k);
        crc = crc32c_extend(crc, dst, k);
        done += k;
    }
    rc = writer_emit(w, w->buf, n, crc, sync);
    if (w->cap > WRITER_KEEP_BYTES) {
        free(w->buf);
        w->buf = NULL;
        w->cap = 0;
    }
    return rc;
}

int wal_writer_sync(wal_writer *w)
{
    if (w->error)
        return w->error;
    int rc = io_sync(w->io, w->file);
    return rc != 0 ? writer_poison(w, rc, "fdatasync") : 0;
}

uint64_t wal_writer_size(const wal_writer *w)
{
    return w->offset;
}

int wal_writer_error(const wal_writer *w)
{
    return w->error;
}

int wal_writer_close(wal_writer *w)
{
    if (!w)
        return 0;
    int rc = io_close(w->io, w->file);
    free(w->buf);
    free(w->path);
    free(w);
    return rc;
}
