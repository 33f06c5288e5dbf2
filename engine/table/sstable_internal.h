/*
 * sstable_internal.h — what the reader (sstable_reader.c: open, point
 * lookups) and the iterator (sstable_iter.c) share.  Not part of
 * sstable_reader.h: nothing else sees inside a reader.
 */
#ifndef LSM_SSTABLE_INTERNAL_H
#define LSM_SSTABLE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "table/block.h"
#include "table/block_cache.h"
#include "table/sstable_format.h"
#include "io/io.h"
#include "table/sstable_builder.h" /* sst_props */

typedef struct sst_reader sst_reader; /* as sstable_reader.h */

struct sst_reader {
    lsm_io *io;
    lsm_file *file;
    bool direct;        /* file opened with IO_DIRECT: reads go through
                           block_fetch's aligned spans */
    char *path;
    block_cache *cache; /* NULL: no block cache */
    uint64_t number;    /* the cache key's file part */
    uint64_t data_end;  /* data blocks (with trailers) lie in [0, data_end) */
    uint64_t index_off; /* for error messages */
    char *meta;         /* filter, index and properties blocks, one read */
    block index;
    block_hint index_hint; /* empty if it could not be built */
    sst_handle *index_handles; /* entry i's block handle, for a dense hint;
                                  NULL: decode them from the index */
    slice filter;       /* size 0: the table has no filter */
    sst_props props;
};

/*
 * A loaded data block: either a pinned cache entry (ch != NULL) or bytes in
 * memory the holder owns: caller-provided storage (a get's stack buffer)
 * when big enough, else a heap buffer reused across loads.  Nothing else
 * touches block bytes.
 */
typedef struct block_buf {
    char *stack;
    size_t stack_cap;
    char *heap;
    size_t heap_cap;
    cache_handle *ch;
    bool loaded;
    uint64_t offset;    /* of the loaded block */
    block blk;
} block_buf;

/* Checks that h, with its trailer, lies inside [0, end). */
static inline bool sst_handle_inside(sst_handle h, uint64_t end)
{
    return end >= SST_BLOCK_TRAILER_SIZE && h.offset <= end - SST_BLOCK_TRAILER_SIZE &&
           h.size <= end - SST_BLOCK_TRAILER_SIZE - h.offset;
}

/* Unpins a cached block (keeping any heap buffer for the next load). */
void sst_block_buf_unpin(const sst_reader *r, block_buf *bb);
/* Unpins and frees the heap buffer. */
void sst_block_buf_release(const sst_reader *r, block_buf *bb);
/* Logs a corruption at off of r's file; returns LSM_ECORRUPT. */
int sst_corrupt(const sst_reader *r, uint64_t off, const char *what);
/* Verifies the trailer after bytes[0..h.size): type and checksum. */
int sst_check_trailer(const sst_reader *r, const char *bytes, sst_handle h);
/* Loads the data block at h into bb, verified and parsed: from the cache
 * when it holds the block, else from the file (into the cache when fill). */
int sst_reader_load_block(const sst_reader *r, sst_handle h, bool fill, block_buf *bb);

#endif
