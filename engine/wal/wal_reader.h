/*
 * wal_reader.h — reads the records of a WAL file (or a MANIFEST) in order,
 * telling a torn tail (tolerated) from corruption (reported).
 * Format and rules: docs/wal-format.md, wal_format.h.
 *
 * Torn-tail rule.  A bad record is a torn tail — the end of the log, not an
 * error — when it is the last thing in the file:
 *   - its header is incomplete (fewer than WAL_HEADER_SIZE bytes remain), or
 *   - its length runs past the end of the file, or
 *   - it fails its CRC (or, with check_entries, its entry structure) and
 *     nothing but zero bytes follows its end: it ends exactly at the end of
 *     the file, or the rest is a preallocated / zero-extended tail.  (This
 *     covers a tail that is all zero from the record's start.)
 * A bad record followed by bytes that are not all zero is corruption:
 * LSM_ECORRUPT, logged with the path and the record's byte offset.
 *
 * The reader checks framing only; it does not check that sequences
 * increase (the caller knows whether they must).  The file is read with
 * io_read in 1 MiB chunks, or more for a larger record.
 *
 * Thread safety: a reader belongs to one thread at a time.
 */
#ifndef LSM_WAL_READER_H
#define LSM_WAL_READER_H

#include <stdint.h>

#include "io/io.h"
#include "base/slice.h"

typedef struct wal_reader wal_reader;

typedef struct wal_record {
    uint64_t sequence; /* sequence of the first entry; entry i has sequence + i */
    uint32_t count;    /* entries in payload */
    slice payload;     /* valid until the next wal_reader_next or close */
    uint64_t offset;   /* byte offset of the record's header in the file */
} wal_record;

/* Opens path for reading.  check_entries: also validate each payload's
 * entry structure with batch_iterate (WAL: yes; MANIFEST: no, its payloads
 * are version edits).  io must outlive the reader.
 * Errors: -errno from io_open/io_size (-ENOENT if missing), -ENOMEM. */
int wal_reader_open(lsm_io *io, const char *path, int check_entries, wal_reader **out);

/* Reads the next record into *rec.  Returns
 *   1             a record;
 *   0             end of the log: a clean end, or a torn tail (see
 *                 wal_reader_torn_tail; logged as a warning);
 *   LSM_ECORRUPT  a bad record that is not a torn tail (logged with the path
 *                 and offset; see wal_reader_error_offset);
 *   -errno        an I/O error; -ENOMEM.
 * Once it has returned anything but 1 it returns the same value again. */
int wal_reader_next(wal_reader *r, wal_record *rec);

/* 1 if the log ended in a torn tail (after wal_reader_next returned 0). */
int wal_reader_torn_tail(const wal_reader *r);

/* Offset just past the last good record returned: where a writer that
 * continued this log would append, or the size to truncate a torn file to. */
uint64_t wal_reader_valid_end(const wal_reader *r);

/* Offset of the bad record after LSM_ECORRUPT; UINT64_MAX otherwise. */
uint64_t wal_reader_error_offset(const wal_reader *r);

/* For a log still being appended (the live WAL, read by the change feed,
 * db_changes.c).  quiet: a torn tail is logged at debug level, not as a
 * warning (at the live end it is a write in progress, not damage).
 * wal_reader_refresh: after wal_reader_next returned 0, reads the file's
 * size again and lets the next call go on from the last good record; a
 * reader that ended in an error stays ended.  Returns 0, or -errno from
 * io_size. */
void wal_reader_set_quiet(wal_reader *r, int quiet);
int wal_reader_refresh(wal_reader *r);

/* Moves a reader that has read nothing yet to offset, which must be where
 * a record began (a wal_record.offset of this file, seen earlier): the
 * change feed resumes there.  Returns 0, -EINVAL (r has read, or offset is
 * past the end of the file), or -errno from io_size. */
int wal_reader_seek(wal_reader *r, uint64_t offset);

/* The sequence of the first record of the log at path (UINT64_MAX when it
 * has none: empty, or a torn first record), reading only that record.
 * Errors: as wal_reader_open and wal_reader_next (-ENOENT if missing). */
int wal_reader_first_sequence(lsm_io *io, const char *path, uint64_t *seq);

/* Closes the file and frees r; NULL is a no-op. */
void wal_reader_close(wal_reader *r);

#endif
