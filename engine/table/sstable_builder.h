/*
 * sstable_builder.h — writes one immutable SSTable (docs/sstable-format.md)
 * from internal keys added in ascending order: data blocks, then the
 * whole-table bloom filter, the index block, the properties block and the
 * footer.
 *
 * Output goes through a file_writer (file_writer.h): gathered in chunks
 * and written behind, several writes in flight through an io_queue while
 * the builder keeps encoding; with sst_options.direct_io the file is
 * written with O_DIRECT (aligned chunks, the padding truncated at finish).
 * In buffered mode writeback is started as the table grows
 * (io_writeback_progress, io/io.h), so finish's fdatasync is short.
 * finish fdatasyncs the file before it returns.
 * Syncing the directory entry is the caller's job (it usually renames or
 * records the file in the MANIFEST first).
 *
 * Thread safety: an sst_builder belongs to one thread.  sst_props and
 * sst_options are plain values.
 */
#ifndef LSM_SSTABLE_BUILDER_H
#define LSM_SSTABLE_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "io/io.h"
#include "base/slice.h"

typedef struct sst_options {
    size_t block_bytes;     /* target data block size; default 4096; >= 1 */
    int restart_interval;   /* keys between restart points; default 16; >= 1 */
    int bloom_bits_per_key; /* default 10; 0 = no filter block; >= 0 */
    int direct_io;          /* default 0; 1 = write with O_DIRECT (FW_DIRECT) */
} sst_options;

/* Fills *o with the defaults above. */
void sst_options_init(sst_options *o);

/* What a table holds, as written in its properties block.  Sizes of blocks
 * include their 5-byte trailers. */
typedef struct sst_props {
    char *smallest;          /* first internal key; malloc'd; NULL when empty */
    size_t smallest_len;
    char *largest;           /* last internal key; malloc'd; NULL when empty */
    size_t largest_len;
    uint64_t entries;        /* internal keys (every version counts) */
    uint64_t deletions;      /* of which tombstones */
    uint64_t min_seq, max_seq; /* 0, 0 when empty */
    uint64_t raw_key_bytes;  /* sum of internal key sizes before compression */
    uint64_t raw_value_bytes;
    uint64_t data_blocks;
    uint64_t data_bytes, index_bytes, filter_bytes; /* filter 0 = no filter */
    uint64_t file_size;      /* not stored: the builder's final offset or the
                                size the reader found */
    uint64_t created_unix;   /* seconds, when the builder was created */
    uint32_t format_version;
} sst_props;

/* Frees the keys (not p itself) and clears them; p may be NULL. */
void sst_props_free(sst_props *p);

typedef struct sst_builder sst_builder;

/* Creates (or truncates) the file at path and a builder writing it.  o NULL
 * means defaults.  io must outlive the builder.
 * Errors: -EINVAL (an option out of range, or direct_io on a file system
 * that refuses O_DIRECT), -ENOMEM, -errno from io_open. */
int sst_builder_new(lsm_io *io, const char *path, const sst_options *o, sst_builder **out);

/* Appends one entry.  REQUIRES: ikey is an internal key (>= 8 bytes) that
 * sorts after every key added before (ikey_compare); a violation is refused
 * with -EINVAL.  After any error the builder is dead: every later add
 * returns the same error, finish returns it and removes the file.
 * Errors: -EINVAL, -ENOMEM, -errno from io_write. */
int sst_builder_add(sst_builder *b, slice ikey, slice value);

/* Bytes the file would have if the current data block were flushed now
 * (without filter, index, properties and footer): for output-size targets. */
uint64_t sst_builder_file_size(const sst_builder *b);

/* Entries added so far. */
uint64_t sst_builder_entries(const sst_builder *b);

/* Writes the last data block, the filter, index and properties blocks and
 * the footer, fdatasyncs and closes the file, and frees b in every case.
 * On success *props_out (if not NULL) receives the table's properties; the
 * caller frees them with sst_props_free.  On failure the file is unlinked.
 * A table with no entries is valid.
 * Errors: an earlier add error, -ENOMEM, -errno from the I/O layer (a
 * failed fdatasync is reported, never retried). */
int sst_builder_finish(sst_builder *b, sst_props *props_out);

/* Closes and unlinks the file and frees b (for a compaction that gives up).
 * b may be NULL. */
void sst_builder_abandon(sst_builder *b);

#endif
