/* wal_reader.c — see wal_reader.h; format and rules in docs/wal-format.md. */
#include "wal/wal_reader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "wal/batch.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "base/log.h"
#include "lsm.h"
#include "wal/wal_format.h"

/* Bytes read per io_read at least: few system calls, and a buffer that
 * stays small next to the 64 MiB memtable the log is replayed into. */
#define WAL_READ_CHUNK (1u << 20)

/* reader_fill: the file ended before the requested bytes (it shrank since
 * open).  Internal only; never returned to callers. */
#define FILL_SHORT 1

struct wal_reader {
    lsm_io *io;
    lsm_file *file;
    char *path;
    uint64_t size;     /* file size; only lowered if the file shrinks */
    uint64_t pos;      /* offset of the next record */
    char *buf;         /* holds file bytes [buf_off, buf_off + buf_len) */
    size_t cap;
    uint64_t buf_off;
    size_t buf_len;
    int check_entries;
    int finished;      /* status is final */
    int status;        /* 0, LSM_ECORRUPT or -errno once finished */
    int torn;
    int quiet;         /* torn tails at debug level (wal_reader_set_quiet) */
    size_t chunk;      /* least bytes per read: WAL_READ_CHUNK, or less to
                          read only the first record */
    uint64_t error_offset;
};

int wal_reader_open(lsm_io *io, const char *path, int check_entries, wal_reader **out)
{
    wal_reader *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->path = strdup(path);
    if (!r->path) {
        free(r);
        return -ENOMEM;
    }
    int rc = io_open(io, path, IO_READ, &r->file);
    if (rc == 0) {
        rc = io_size(io, r->file, &r->size);
        if (rc != 0)
            io_close(io, r->file);
    }
    if (rc != 0) {
        free(r->path);
        free(r);
        return rc;
    }
    r->io = io;
    r->chunk = WAL_READ_CHUNK;
    r->check_entries = check_entries;
    r->error_offset = UINT64_MAX;
    *out = r;
    return 0;
}

/* Makes file bytes [off, off + n) contiguous in the buffer and points *out
 * at them, reading at least WAL_READ_CHUNK bytes at a time (up to the end of
 * the file).  Bytes from off on that are already buffered are kept.
 * On FILL_SHORT *out still points at the bytes that were read.
 * REQUIRES: off + n <= r->size.
 * Returns 0, FILL_SHORT (the file ended first; r->size is lowered), -errno
 * or -ENOMEM. */
static int reader_fill(wal_reader *r, uint64_t off, size_t n, const char **out)
{
    uint64_t have_end = r->buf_off + r->buf_len;
    if (off >= r->buf_off && off + n <= have_end) {
        *out = r->buf + (off - r->buf_off);
        return 0;
    }
    size_t keep = off >= r->buf_off && off < have_end ? (size_t)(have_end - off) : 0;
    size_t want = n > r->chunk ? n : r->chunk;
    if (want > r->size - off)
        want = (size_t)(r->size - off);
    if (keep)
        memmove(r->buf, r->buf + (off - r->buf_off), keep);
    r->buf_off = off;
    r->buf_len = keep;
    if (want > r->cap) {
        char *buf = realloc(r->buf, want);
        if (!buf)
            return -ENOMEM;
        r->buf = buf;
        r->cap = want;
    }
    while (r->buf_len < want) {
        long got = io_read(r->io, r->file, r->buf + r->buf_len, want - r->buf_len,
                           off + r->buf_len);
        if (got < 0)
            return (int)got;
        if (got == 0)
            break;
        r->buf_len += (size_t)got;
    }
    *out = r->buf;
    if (r->buf_len < n) {
        r->size = off + r->buf_len;
        return FILL_SHORT;
    }
    return 0;
}

static int reader_finish(wal_reader *r, int status)
{
    r->finished = 1;
    r->status = status;
    return status;
}

static int reader_torn(wal_reader *r, uint64_t off, const char *why)
{
    if (r->quiet) {
        r->torn = 1;
        log_debug("wal: %s: live end at offset %" PRIu64 " (%s)", r->path, off, why);
        return reader_finish(r, 0);
    }
    log_warn("wal: %s: torn tail at offset %" PRIu64 " (%s); ignoring its last %" PRIu64
             " bytes",
             r->path, off, why, r->size - off);
    r->torn = 1;
    return reader_finish(r, 0);
}

/* 1 if every byte of [off, r->size) is zero, 0 if not, or -errno. */
static int reader_zero_to_eof(wal_reader *r, uint64_t off)
{
    while (off < r->size) {
        uint64_t left = r->size - off;
        const char *p;
        int rc = reader_fill(r, off, left < WAL_READ_CHUNK ? (size_t)left : WAL_READ_CHUNK, &p);
        if (rc < 0)
            return rc;
        /* Scan everything buffered from off, read-ahead included. */
        size_t n = (size_t)(r->buf_off + r->buf_len - off);
        for (size_t i = 0; i < n; i++)
            if (p[i] != 0)
                return 0;
        off += n;
        if (rc == FILL_SHORT)
            break;
    }
    return 1;
}

/* The record at off (reclen bytes) failed a check: a torn tail if only zero
 * bytes (or nothing) follow it, else corruption (wal_reader.h). */
static int reader_bad_record(wal_reader *r, uint64_t off, uint64_t reclen, const char *why)
{
    uint64_t end = off + reclen;
    if (end == r->size)
        return reader_torn(r, off, why);
    int zero = reader_zero_to_eof(r, end);
    if (zero < 0)
        return reader_finish(r, zero);
    if (zero)
        return reader_torn(r, off, "followed by a zero-filled tail");
    log_error("wal: %s: corrupt record at offset %" PRIu64 " (%s), followed by %" PRIu64
              " more bytes that are not all zero",
              r->path, off, why, r->size - end);
    r->error_offset = off;
    return reader_finish(r, LSM_ECORRUPT);
}

int wal_reader_next(wal_reader *r, wal_record *rec)
{
    if (r->finished)
        return r->status;
    uint64_t off = r->pos;
    if (off == r->size)
        return reader_finish(r, 0);
    if (r->size - off < WAL_HEADER_SIZE)
        return reader_torn(r, off, "incomplete header");

    const char *h;
    int rc = reader_fill(r, off, WAL_HEADER_SIZE, &h);
    if (rc < 0)
        return reader_finish(r, rc);
    if (rc == FILL_SHORT)
        return reader_torn(r, off, "incomplete header");
    uint32_t length = get_fixed32(h + WAL_OFF_LENGTH);
    uint64_t reclen = (uint64_t)WAL_HEADER_SIZE + length;
    if (reclen > r->size - off)
        return reader_torn(r, off, "record runs past the end of the file");
    if (length > WAL_MAX_PAYLOAD)
        return reader_bad_record(r, off, reclen, "length over the format limit");

    const char *p;
    rc = reader_fill(r, off, (size_t)reclen, &p);
    if (rc < 0)
        return reader_finish(r, rc);
    if (rc == FILL_SHORT)
        return reader_torn(r, off, "record runs past the end of the file");
    uint32_t stored = crc32c_unmask(get_fixed32(p + WAL_OFF_CRC));
    uint32_t actual = crc32c(p + WAL_CRC_START, (size_t)reclen - WAL_CRC_START);
    if (stored != actual)
        return reader_bad_record(r, off, reclen, "checksum mismatch");
    slice payload = slice_make(p + WAL_HEADER_SIZE, length);
    uint32_t count = get_fixed32(p + WAL_OFF_COUNT);
    if (r->check_entries && batch_iterate(payload, count, NULL, NULL) != 0)
        return reader_bad_record(r, off, reclen, "malformed entries");

    rec->sequence = get_fixed64(p + WAL_OFF_SEQUENCE);
    rec->count = count;
    rec->payload = payload;
    rec->offset = off;
    r->pos = off + reclen;
    return 1;
}

int wal_reader_torn_tail(const wal_reader *r)
{
    return r->torn;
}

uint64_t wal_reader_valid_end(const wal_reader *r)
{
    return r->pos;
}

uint64_t wal_reader_error_offset(const wal_reader *r)
{
    return r->error_offset;
}

void wal_reader_set_quiet(wal_reader *r, int quiet)
{
    r->quiet = quiet;
}

int wal_reader_refresh(wal_reader *r)
{
    if (!r->finished || r->status != 0)
        return 0;
    uint64_t size;
    int rc = io_size(r->io, r->file, &size);
    if (rc != 0)
        return rc;
    r->size = size;
    r->finished = 0;
    r->torn = 0;
    return 0;
}

int wal_reader_seek(wal_reader *r, uint64_t offset)
{
    if (r->finished || r->pos != 0 || r->buf_len != 0)
        return -EINVAL;
    uint64_t size;
    int rc = io_size(r->io, r->file, &size);
    if (rc != 0)
        return rc;
    if (offset > size)
        return -EINVAL;
    r->size = size;
    r->pos = offset;
    return 0;
}

int wal_reader_first_sequence(lsm_io *io, const char *path, uint64_t *seq)
{
    *seq = UINT64_MAX;
    wal_reader *r;
    int rc = wal_reader_open(io, path, 1, &r);
    if (rc != 0)
        return rc;
    r->quiet = 1;
    r->chunk = WAL_HEADER_SIZE; /* the header, then exactly the record */
    wal_record rec;
    rc = wal_reader_next(r, &rec);
    if (rc == 1)
        *seq = rec.sequence;
    wal_reader_close(r);
    return rc < 0 ? rc : 0;
}

void wal_reader_close(wal_reader *r)
{
    if (!r)
        return;
    io_close(r->io, r->file);
    free(r->buf);
    free(r->path);
    free(r);
}
