/*
 * file_writer.h — a sequential writer of a new file, with write-behind.
 *
 * The table builder produces its bytes in order and never rereads them.
 * A file_writer takes them (fw_append), gathers them in FW_CHUNK buffers,
 * and hands each full buffer to an io_queue (io/io_queue.h) as one write
 * while the caller keeps encoding into the next buffer.  Up to FW_DEPTH
 * writes are in flight; a buffer is reused only after its write has been
 * reaped.  On a backend whose queue runs inline (posix, io_queue.h) the
 * writes happen at submit, exactly as plain io_write calls would.
 *
 * Direct mode (FW_DIRECT): the file is opened IO_DIRECT and every write is
 * a whole number of IO_DIRECT_ALIGN blocks from an aligned buffer at an
 * aligned offset (io/io_direct.h).  fw_finish writes the last partial
 * chunk padded with zeros and truncates the file to its true length
 * before the sync.  The page cache is not used, so the writeback hints of
 * buffered mode (io_writeback_progress, io/io.h) are not issued.
 *
 * Errors: the first error of any write (at submit or when reaped) sticks.
 * Every later fw_append and fw_finish returns it; the file's content is
 * then unknown and the caller must discard it (fw_close with unlink).
 *
 * Thread safety: a file_writer belongs to one thread (its queue does).
 */
#ifndef LSM_FILE_WRITER_H
#define LSM_FILE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "io/io.h"

/* Bytes per write, and writes in flight: 4 x 1 MiB keeps a device busy
 * while the caller fills the next chunk (docs/tuning.md, "Direct I/O"). */
#define FW_CHUNK ((size_t)1 << 20)
#define FW_DEPTH 4u

/* fw_open flags. */
#define FW_DIRECT 1

typedef struct file_writer file_writer;

/* Creates (or truncates) path and a writer appending to it from offset 0.
 * io must outlive the writer.  Errors: -ENOMEM, -errno from io_open (with
 * FW_DIRECT, -EINVAL when the file system refuses O_DIRECT) or from the
 * queue's creation.  Nothing is left behind on failure but a created
 * empty file, which the caller removes (it knows whether it may). */
int fw_open(lsm_io *io, const char *path, int flags, file_writer **out);

/* Appends n bytes (copied; p may be reused at once).  Returns 0 or the
 * sticky error. */
int fw_append(file_writer *w, const void *p, size_t n);

/* Bytes appended so far: the file's length after a successful finish. */
uint64_t fw_offset(const file_writer *w);

/* Writes what is buffered, waits for every write in flight, (direct)
 * truncates the padding away, then fdatasyncs.  Returns 0 or the first
 * error; a failed sync is reported, never retried.  The writer stays open
 * for fw_close either way. */
int fw_finish(file_writer *w);

/* Waits for any write still in flight, closes the file, removes it when
 * unlink_file, and frees w (NULL is fine).  Returns 0 or the close's
 * -errno (a write error was already returned by append/finish). */
int fw_close(file_writer *w, int unlink_file);

#endif
