/*
 * table_cache.h — bounds the number of open table readers (file
 * descriptors plus each reader's index and filter in memory).
 *
 * An LRU (approximate: second chance, see block_cache.h) over file numbers
 * holding at most max_open readers that nobody uses; a reader in use (a
 * handle or an iterator out) is never closed, so the open count may exceed
 * max_open only by the readers pinned at that moment.  It is a block_cache
 * (block_cache.h) keyed by (file number, 0) with a charge of 1 per table
 * and a deleter that closes the reader.
 * Readers are opened with sst_reader_open_ex on the table's path
 * (filename_table(dir, number)) and the block cache given at creation, so
 * their data blocks are cached under the table's file number.
 *
 * A miss opens the table outside the cache's locks; concurrent misses on
 * one table are serialised by a striped mutex so a table is opened once.
 *
 * Thread safety: every function may be called from any thread at once,
 * except table_cache_free (REQUIRES: no handle or iterator outstanding).
 * Handles may be released from any thread.
 */
#ifndef LSM_TABLE_CACHE_H
#define LSM_TABLE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "table/block_cache.h"
#include "io/io.h"
#include "base/iterator.h"
#include "table/sstable_reader.h"

typedef struct table_cache table_cache;
typedef struct table_handle table_handle;

#define TABLE_CACHE_DEFAULT_MAX_OPEN 1000

/* A cache of at most max_open idle readers (0: the default,
 * TABLE_CACHE_DEFAULT_MAX_OPEN) of the tables in dir.  io and bc (may be
 * NULL: no block cache) must outlive it; dir is copied.
 * NULL on -ENOMEM. */
table_cache *table_cache_new(lsm_io *io, const char *dir, size_t max_open, block_cache *bc);

/* Closes every reader and frees tc (NULL is fine).
 * REQUIRES: no handle or iterator outstanding. */
void table_cache_free(table_cache *tc);

/* Pins the reader of table file_number, opening it on a miss.  Release *h
 * with table_cache_release.
 * Errors: as sst_reader_open (-ENOENT for a missing file, LSM_ECORRUPT,
 * LSM_EVERSION, -errno), -ENOMEM.  A failed open is not cached. */
int table_cache_get(table_cache *tc, uint64_t file_number, table_handle **h);

/* The pinned reader; valid until h is released. */
sst_reader *table_handle_reader(table_handle *h);

/* Unpins h (NULL is fine). */
void table_cache_release(table_cache *tc, table_handle *h);

/* The table was deleted (or must be reopened): drops it from the cache; its
 * reader is closed when its last handle or iterator goes.  Its data blocks
 * are left to age out of the block cache (file numbers are never reused). */
void table_cache_evict(table_cache *tc, uint64_t file_number);

/* An iterator over table file_number (sst_reader_iter_new) that keeps the
 * table pinned until iter_destroy.  Errors: as table_cache_get, -ENOMEM. */
int table_cache_iter_new(table_cache *tc, uint64_t file_number, iter **out);

/* As table_cache_iter_new, with sst_reader_iter_new_ex's flags
 * (SST_ITER_NO_FILL_CACHE: for compaction inputs). */
int table_cache_iter_new_ex(table_cache *tc, uint64_t file_number, unsigned flags, iter **out);

/* Readers opened from now on use direct I/O (sst_reader_open_flags with
 * SST_OPEN_DIRECT) when on; lsm_options.use_direct_io sets it right after
 * table_cache_new, before any table is opened.  Off by default. */
void table_cache_set_direct_io(table_cache *tc, bool on);

/* Changes max_open (0: the default); idle readers beyond it are closed. */
void table_cache_set_max_open(table_cache *tc, size_t max_open);

struct table_cache_stats {
    uint64_t opens;         /* successful sst_reader_open_ex calls */
    uint64_t open_errors;   /* failed ones */
    uint64_t hits;          /* gets served by an open reader */
    uint64_t evictions;     /* readers dropped for room (not table_cache_evict) */
    size_t open_count;      /* readers open now (cached or pinned) */
    size_t pinned;          /* readers with a handle or iterator out */
    size_t max_open;
};

/* Fills *out (relaxed reads; never blocks). */
void table_cache_stats(const table_cache *tc, struct table_cache_stats *out);

#endif
