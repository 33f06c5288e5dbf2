/*
 * wal_writer.h — appends records to a WAL file (or a MANIFEST, which uses
 * the same framing).  Format: docs/wal-format.md, wal_format.h.
 *
 * The writer is generic about payloads: it frames and checksums whatever
 * bytes it is given and does not look inside them.
 *
 * Each append is one io_write (or one io_write_sync when sync is set) of
 * header + payload, so a record costs one system call or one io_uring
 * submission.  Two ways to get header and payload contiguous:
 *   wal_writer_append_frame()  the caller's buffer has WAL_HEADER_SIZE bytes
 *       of room in front of the payload (batch_frame()); the writer fills
 *       them with the header.  No payload copy: use it on the write path.
 *   wal_writer_append()        copies the payload once into a reusable
 *       buffer behind the header, checksumming each chunk while it is still
 *       in cache.  For callers without headroom (MANIFEST edits).
 * Two writes (header, then payload) would avoid the copy too, but cost a
 * second system call per record, which is worse for the small records that
 * dominate; io/io.h has no vectored write.
 *
 * Every IO_WRITEBACK_BYTES of unsynced appends, the appender also starts
 * writeback of them (io_writeback_progress, io/io.h) so that wal_writer_sync
 * (at a memtable switch) or a later synced append finds little dirty data
 * and returns quickly.  The hint is not durability: only wal_writer_sync
 * and synced appends are, and a failed hint is ignored (it neither poisons
 * the writer nor hides a later sync's error).
 *
 * Errors are sticky: after a failed write or sync the writer is poisoned and
 * every later append/sync returns that first error.  The file may hold part
 * of the failed record, and after a failed fdatasync the kernel may have
 * dropped dirty pages, so neither a retry nor a later sync could make the
 * earlier records trustworthy.  The caller must switch to a new file (and,
 * for a failed sync, enter the read-only background-error state).
 *
 * Thread safety: one appender at a time (the engine's group-commit leader,
 * or the version set under its lock).  wal_writer_sync may run on another
 * thread at the same time as an append (the engine syncs one group while
 * the next appends; fdatasync covers whatever was written before it began);
 * at most one wal_writer_sync at a time.
 */
#ifndef LSM_WAL_WRITER_H
#define LSM_WAL_WRITER_H

#include <stdint.h>

#include "io/io.h"
#include "base/slice.h"

typedef struct wal_writer wal_writer;

/* Creates (or truncates) path and returns a writer positioned at offset 0.
 * io must outlive the writer.  Errors: -errno from io_open, -ENOMEM. */
int wal_writer_open(lsm_io *io, const char *path, wal_writer **out);

/* Appends one record: count entries whose first has sequence first_seq, in
 * payload (copied once, see above).  sync: the record and everything before
 * it is durable on return (one io_write_sync).
 * Errors: -EINVAL (payload over WAL_MAX_PAYLOAD; the writer is not
 *   poisoned), -ENOMEM (not poisoned), -errno from the write or sync
 *   (poisoned), or the error that poisoned the writer earlier. */
int wal_writer_append(wal_writer *w, uint64_t first_seq, uint32_t count, slice payload,
                      int sync);

/* As wal_writer_append, without copying: frame[0 .. WAL_HEADER_SIZE) is
 * scratch room the writer overwrites with the header, and the payload is
 * frame[WAL_HEADER_SIZE .. WAL_HEADER_SIZE + payload_len).  The payload is
 * only read.  Same errors (no -ENOMEM). */
int wal_writer_append_frame(wal_writer *w, uint64_t first_seq, uint32_t count, char *frame,
                            size_t payload_len, int sync);

/* fdatasync of everything appended so far.  Errors: -errno (poisoned), or
 * the earlier poisoning error. */
int wal_writer_sync(wal_writer *w);

/* Bytes appended successfully (the offset of the next record). */
uint64_t wal_writer_size(const wal_writer *w);

/* The error that poisoned the writer, or 0. */
int wal_writer_error(const wal_writer *w);

/* Closes the file without syncing (call wal_writer_sync first for
 * durability) and frees w; NULL is a no-op.  Returns io_close's result. */
int wal_writer_close(wal_writer *w);

#endif
