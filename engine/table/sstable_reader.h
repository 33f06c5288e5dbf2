/*
 * sstable_reader.h — reads an SSTable written by sstable_builder.h
 * (docs/sstable-format.md): point lookups through the bloom filter and the
 * index, and iterators over every internal key.
 *
 * Open reads the footer and then the filter, index and properties blocks in
 * one read (they are contiguous at the end of the file) and keeps them in
 * memory (the table cache bounds how many readers exist), with a search
 * hint over the index (block.h, block_hint) and, for the usual index of one
 * restart per entry, its block handles in an array: 24 bytes per data
 * block, so a get finds its data block without decoding index entries.
 * Data blocks are read on demand, one io_read each, and their checksums
 * verified on every read.  With a block cache (sst_reader_open_ex) a data block is looked up
 * in the cache first, under (file_number, block offset); a block read from
 * the file is verified once and inserted already parsed, so a hit costs
 * neither I/O nor a checksum.  A get pins its block only during the lookup;
 * an iterator pins only the block it is positioned on, so a full scan holds
 * O(1) blocks and its memory is bounded by the cache, not the table.  Every
 * corruption found is logged with the file's path and the offset of the bad
 * block.
 *
 * Thread safety: a reader is immutable after open (the block cache it uses
 * is thread-safe).  Any number of threads may call sst_reader_get,
 * sst_reader_may_contain and sst_reader_iter_new on one reader at once; each
 * iterator belongs to one thread.  The reader must outlive its iterators.
 */
#ifndef LSM_SSTABLE_READER_H
#define LSM_SSTABLE_READER_H

#include <stdint.h>

#include "table/block.h"
#include "table/block_cache.h"
#include "table/block_fetch.h"
#include "base/dbformat.h"
#include "io/io.h"
#include "base/iterator.h"
#include "base/slice.h"
#include "table/sstable_builder.h" /* sst_props */
#include "table/sstable_format.h" /* sst_handle */

typedef struct sst_reader sst_reader;

/* Opens the table at path.  io must outlive the reader.
 * Errors: LSM_ECORRUPT (file shorter than a footer, bad magic, footer or
 * meta block checksum, malformed index/filter/properties),
 * LSM_EVERSION (a format version this build cannot read), -ENOMEM,
 * -errno from the I/O layer. */
int sst_reader_open(lsm_io *io, const char *path, sst_reader **out);

/* As sst_reader_open, with data blocks cached in cache (NULL: no cache, the
 * same as sst_reader_open) under file_number.  REQUIRES: file_number names
 * this table's contents alone among all readers sharing cache (block_cache.h
 * §Keys).  cache must outlive the reader.  Errors: as sst_reader_open. */
int sst_reader_open_ex(lsm_io *io, const char *path, uint64_t file_number, block_cache *cache,
                       sst_reader **out);

/* Flags for sst_reader_open_flags. */
#define SST_OPEN_DIRECT 1u /* open with IO_DIRECT: every read (footer, meta
                              blocks, data blocks for gets and iterators)
                              goes through block_fetch's aligned spans, and
                              the block cache is the only cache */

/* As sst_reader_open_ex, with flags (SST_OPEN_DIRECT or 0).  Errors: as
 * sst_reader_open, -EINVAL for an unknown flag, and the backend's -EINVAL
 * when the file system refuses O_DIRECT. */
int sst_reader_open_flags(lsm_io *io, const char *path, uint64_t file_number,
                          block_cache *cache, unsigned flags, sst_reader **out);

/* Closes the file and frees r (NULL is fine).  REQUIRES: no live iterator. */
void sst_reader_close(sst_reader *r);

/* The table's properties; valid until close.  file_size is the size found
 * at open. */
const sst_props *sst_reader_props(const sst_reader *r);

/* The bloom filter's verdict for user_key: 0 = definitely absent, 1 = may
 * be present (always 1 for a table without a filter). */
int sst_reader_may_contain(const sst_reader *r, slice user_key);

/* A hint before sst_reader_get_to of the same key: starts loading what the
 * filter probe will read (bloom_filter_prefetch), so a get that visits
 * several tables overlaps their cache misses.  hash is bloom_hash(user
 * key).  Never fails, changes nothing. */
void sst_reader_prefetch(const sst_reader *r, uint64_t hash);

/* Receives a found value while its bytes are pinned (they are valid only
 * during the call); returns 0 or an error that the lookup then returns. */
typedef int (*sst_value_sink)(void *ctx, slice value);

/* Point lookup into a sink: like sst_reader_get, but a PUT's value is handed
 * to sink (once) instead of being copied into a malloc'd buffer, so a caller
 * can copy it straight to where it is needed (the daemon: the client's
 * shared-memory arena).  Returns 1 (found; *type set), 0 (absent), or an
 * error (LSM_ECORRUPT, -errno, or the sink's). */
int sst_reader_get_to(sst_reader *r, slice user_key, uint64_t seq, enum value_type *type,
                      sst_value_sink sink, void *ctx, int *bloom_negative);

/* Point lookup: the newest entry for user_key with sequence <= seq.
 * Consults the bloom filter first; *bloom_negative (if not NULL) is set to 1
 * when the filter excluded the key, else 0.
 * Returns 1 when an entry was found: *type is set; for LSM_TYPE_PUT *value
 * is a malloc'd copy of its *vlen bytes that the caller frees (a non-NULL
 * pointer even for an empty value); for LSM_TYPE_DELETE *value is NULL and
 * *vlen 0.  Returns 0 when the table holds no such entry (*value NULL).
 * Errors: LSM_ECORRUPT (a block checksum or format check failed), -ENOMEM,
 * -errno from the I/O layer. */
int sst_reader_get(sst_reader *r, slice user_key, uint64_t seq, enum value_type *type,
                   char **value, size_t *vlen, int *bloom_negative);

/* ---- a point lookup in steps ----------------------------------------------
 * What sst_reader_get_to does, cut where it would wait for the disk, so a
 * caller can keep many lookups' block reads in flight (db/get_op.c):
 *
 *   locate (filter, index) -> block_cached -> hit: block_get, unpin
 *                                          -> miss: block_read_prepare,
 *      submit bf.op, reap it, block_read_finish (verify, cache, pin),
 *      block_get, unpin
 *
 * sst_reader_get_to runs the same steps with a blocking read. */

/* A data block pinned for a lookup: a cache entry (ch), or, for a reader
 * without a block cache, a block the pin owns (own). */
typedef struct sst_block_pin {
    cache_handle *ch;
    void *own;
    block blk;
} sst_block_pin;

/* The lookup key for user_key as of seq (clamped to LSM_MAX_SEQUENCE) into
 * buf (user_key.size + INTERNAL_TRAILER bytes); returns its length. */
size_t sst_target_encode(char *buf, slice user_key, uint64_t seq);

/* Filter and index: 1 (*h is the data block that would hold target), 0
 * (the table cannot hold it; *bloom_negative 1 when the filter said so), or
 * LSM_ECORRUPT.  hash is bloom_hash(user key); target from
 * sst_target_encode.  Never reads the file. */
int sst_reader_locate(const sst_reader *r, uint64_t hash, slice target, sst_handle *h,
                      int *bloom_negative);

/* The block at h from the block cache: 1 (pinned in *pin), 0 (a miss, or no
 * cache), or LSM_ECORRUPT (h out of range, or a cached size that disagrees
 * with h). */
int sst_reader_block_cached(const sst_reader *r, sst_handle h, sst_block_pin *pin);

/* Prepares the read of the block at h into bf (bf->op, to be submitted or
 * run with block_fetch_sync); aligned under direct I/O.  Then
 * sst_reader_block_read_finish must be called, whatever became of the
 * read (pass a -errno res if it was never submitted), to free what this
 * allocated (or sst_reader_block_read_cancel).  Errors: LSM_ECORRUPT (h
 * out of range), -ENOMEM. */
int sst_reader_block_read_prepare(const sst_reader *r, sst_handle h, block_fetch *bf);

/* Judges the read's res, verifies the block's checksum and format, inserts
 * it into the block cache under (file number, h.offset) (the same entry
 * the blocking path makes) and pins it in *pin.  Returns 0, LSM_ECORRUPT
 * (short read, bad checksum, malformed block), -errno, -ENOMEM. */
int sst_reader_block_read_finish(const sst_reader *r, sst_handle h, block_fetch *bf, long res,
                                 sst_block_pin *pin);

/* Frees a prepared read that will not be finished (a get dropped after
 * its read completed or was never submitted), without judging it. */
void sst_reader_block_read_cancel(block_fetch *bf);

/* Looks target up in the pinned block at h: 1 (found; *type set and a PUT's
 * value handed to sink), 0 (absent), or an error as sst_reader_get_to. */
int sst_reader_block_get(const sst_reader *r, const sst_block_pin *pin, sst_handle h,
                         slice target, enum value_type *type, sst_value_sink sink, void *ctx);

/* Releases a pin from block_cached or block_read_finish. */
void sst_reader_block_unpin(const sst_reader *r, sst_block_pin *pin);

/* A new iterator over every internal key in the table (base/iterator.h): first,
 * last, seek (REQUIRES: target is an internal key), next, prev.  It starts
 * unpositioned.  A data block that fails its checksum makes the iterator
 * invalid with iter_status() LSM_ECORRUPT (or -errno for a failed read).
 * Free with iter_destroy.  NULL on -ENOMEM. */
iter *sst_reader_iter_new(sst_reader *r);

/* Flags for sst_reader_iter_new_ex. */
#define SST_ITER_NO_FILL_CACHE 1u /* use cached blocks, but read missing ones
                                     into the iterator's own buffer instead of
                                     the cache (a compaction's one-pass read
                                     should not push out the hot blocks) */

/* As sst_reader_iter_new, with flags (SST_ITER_NO_FILL_CACHE or 0) and a
 * cleanup that destroying the iterator calls last, as cleanup(arg1, arg2)
 * (NULL: none); the table cache uses it to unpin the reader.  NULL on
 * -ENOMEM (cleanup is then not called). */
iter *sst_reader_iter_new_ex(sst_reader *r, unsigned flags, void (*cleanup)(void *, void *),
                             void *arg1, void *arg2);

#endif
