/*
 * log_writes.h — reads a dm-log-writes log and replays it onto a device or
 * an image file, up to any entry: the disk as a power cut at that moment
 * would have left it (docs/reliability.md, "Crash consistency on a real
 * file system").
 *
 * The kernel's target (drivers/md/dm-log-writes.c; its documentation is
 * Documentation/admin-guide/device-mapper/log-writes.rst) writes, on the
 * log device, all integers little-endian:
 *
 *   block 0        the super: magic, version, nr_entries, sectorsize
 *                  (the data device's logical block size; every "block"
 *                  below is that many bytes)
 *   block 1 ...    entries, in the order the writes reached stable
 *                  storage: a header block {sector, nr_sectors, flags,
 *                  data_len} (sector and nr_sectors in blocks), then
 *                   - a write: its nr_sectors blocks of data;
 *                   - a mark (`dmsetup message DEV 0 mark NAME`): no data
 *                     blocks; the name, data_len bytes, follows the header
 *                     in its block;
 *                   - a discard: no data blocks (the range reads as zero
 *                     after it);
 *                   - a flush without data: nr_sectors 0.
 *                  A write may carry FLUSH or FUA too.
 *
 * nr_entries in the super is rewritten after every FUA and mark entry (and
 * when the target is removed), so a log read after `dmsetup remove` has
 * them all.
 *
 * Thread safety: a lw_log belongs to one thread at a time.
 */
#ifndef LSM_TESTS_LOG_WRITES_H
#define LSM_TESTS_LOG_WRITES_H

#include <stdint.h>
#include <stdio.h>

#define LW_MAGIC 0x6a736677736872ull
#define LW_VERSION 1
#define LW_FLUSH (1u << 0)
#define LW_FUA (1u << 1)
#define LW_DISCARD (1u << 2)
#define LW_MARK (1u << 3)
#define LW_METADATA (1u << 4)
#define LW_MARK_MAX 255 /* longest mark name read back */

typedef struct lw_entry {
    uint64_t index;      /* 0 for the first entry */
    uint64_t sector;     /* in blocks of the log's sectorsize */
    uint64_t nr_sectors; /* blocks written (or discarded) */
    uint64_t flags;      /* LW_* */
    uint64_t data_len;   /* a mark's name length */
    char mark[LW_MARK_MAX + 1]; /* a mark's name, NUL-terminated; else "" */
} lw_entry;

typedef struct lw_log lw_log;

/* Opens the log at path (a device or an image file) and checks its super.
 * Errors: -errno from open/read; -EINVAL with a message in why (magic,
 * version, sectorsize not a power of two in 512..65536). */
int lw_open(const char *path, lw_log **out, char *why, size_t why_len);
void lw_close(lw_log *lw);

uint32_t lw_sectorsize(const lw_log *lw);
uint64_t lw_nr_entries(const lw_log *lw);

/* Reads the next entry's header into *e (its data is skipped, or applied
 * by lw_apply).  Returns 1, 0 after the last entry (nr_entries), or
 * -EINVAL with why when the entry cannot be right (flags unknown, a mark
 * longer than its block, a data range past the end of the log), -errno. */
int lw_next(lw_log *lw, lw_entry *e, char *why, size_t why_len);

/* Writes the entry just read by lw_next onto fd (the replay target): a
 * write's data at sector * sectorsize, zeros over a discarded range;
 * nothing for a flush or a mark.  dev_bytes: the target's size; a range
 * past it is -EINVAL with why (a log of another device).  Returns 0 or
 * -errno. */
int lw_apply(lw_log *lw, const lw_entry *e, int fd, uint64_t dev_bytes, char *why,
             size_t why_len);

/* The byte size of the block device or file open at fd: 0 or -errno. */
int lw_device_bytes(int fd, uint64_t *out);

/* 1 when the entry ends a point a power cut can leave the disk at and the
 * file system must recover from: a flush or a FUA (what xfstests and
 * CrashMonkey replay to), or a mark. */
int lw_is_point(const lw_entry *e);

/* One line for the entry: "INDEX FLAGS sector N len M [mark NAME]". */
void lw_print(FILE *f, const lw_entry *e);

#endif
