/*
 * block_cache.h — a sharded LRU cache with a capacity in bytes, keyed by
 * (file number, offset).  It holds SSTable data blocks (sstable_reader.c);
 * the table cache (table_cache.c) reuses it, with a deleter and a charge of
 * 1 per entry, to bound the number of open table readers.
 *
 * Shape (cf. LevelDB's ShardedLRUCache, RocksDB's LRUCache)
 *   2^shard_bits shards chosen by a hash of the key; each shard has its own
 *   mutex, hash table, LRU list and a slice of the capacity (the slices sum
 *   to the capacity exactly).  An entry costs its `charge` (the caller says
 *   what: for a block, its allocation plus BLOCK_CACHE_ENTRY_OVERHEAD).
 *
 * Handles and pinning
 *   lookup and insert return a handle that pins the entry: a pinned entry is
 *   never freed and never evicted, so its bytes stay valid until the handle
 *   is released.  Only unpinned entries can be evicted.  Eviction is
 *   second chance (CLOCK), an approximation of LRU that keeps hits cheap: a
 *   hit only marks the entry; the eviction scan goes from the oldest entry
 *   and gives a marked (or pinned) one another round instead of evicting
 *   it.  So an entry used since the scan last passed it outlives every
 *   unused one.  When every entry of a shard is
 *   pinned, an insert still succeeds and the shard goes over its capacity;
 *   the excess is given back as soon as entries are released.  So:
 *     usage <= capacity, or every entry in that shard is pinned.
 *   An entry erased or replaced while pinned leaves the cache at once (new
 *   lookups miss) and is freed when its last handle is released.
 *
 * Capacity 0 disables caching: lookups miss and an insert returns a handle
 * on a private entry that nobody else can find and that is freed when the
 * handle is released.  block_cache_set_capacity changes the capacity at any
 * time (evicting down to it); the shard count is fixed at creation.
 *
 * Keys: (file, offset) must name immutable bytes; users sharing one cache
 * must not reuse a file number for different contents (the engine never
 * reuses file numbers; two databases sharing a cache would need distinct
 * number ranges).
 *
 * Thread safety: every function may be called from any thread at once,
 * except block_cache_free (REQUIRES: no other call in flight, every handle
 * released).  A handle may be released by a thread other than the one that
 * got it.  Counters are relaxed atomics: each one is exact, but a snapshot
 * of several is not taken atomically.
 *
 * Deleters run outside the shard mutexes (after the entry left the cache).
 */
#ifndef LSM_BLOCK_CACHE_H
#define LSM_BLOCK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

typedef struct block_cache block_cache;
typedef struct cache_handle cache_handle;

/* What one entry costs beyond its data: the entry header and the allocator's
 * bookkeeping for it (block_cache.c checks the header fits). */
#define BLOCK_CACHE_ENTRY_OVERHEAD 128u

/* Largest shard_bits accepted (256 shards). */
#define BLOCK_CACHE_MAX_SHARD_BITS 8

/* Frees an entry's data when it leaves the cache and is unpinned.  arg is
 * the one given to block_cache_new_ex. */
typedef void (*block_cache_deleter)(void *data, void *arg);

/* A cache of capacity bytes in 2^shard_bits shards; shard_bits < 0 picks a
 * default (shards of at least 512 KiB, at most 64 of them).  Entries' data
 * is freed with free().  NULL on -ENOMEM or shard_bits above
 * BLOCK_CACHE_MAX_SHARD_BITS. */
block_cache *block_cache_new(size_t capacity, int shard_bits);

/* As block_cache_new, but entries' data is freed with deleter(data, arg)
 * (NULL deleter = free()). */
block_cache *block_cache_new_ex(size_t capacity, int shard_bits, block_cache_deleter deleter,
                                void *arg);

/* Frees every entry and the cache (NULL is fine).
 * REQUIRES: no handle outstanding, no concurrent call. */
void block_cache_free(block_cache *c);

/* The entry for (file, offset), pinned, or NULL (a miss).  Counts a hit or a
 * miss.  Release the handle with block_cache_release. */
cache_handle *block_cache_lookup(block_cache *c, uint64_t file, uint64_t offset);

/* Adds data (size bytes, costing charge) under (file, offset) and returns a
 * handle pinning it.  The cache owns data from then on: it is freed by the
 * deleter once the entry has left the cache and is unpinned.  When an entry
 * for the key already exists (another thread inserted the same block
 * first), that entry is pinned and returned and data is freed at once, so
 * always read the bytes through the returned handle.  May evict unpinned
 * entries.  Returns NULL only when out of memory; data then still belongs
 * to the caller. */
cache_handle *block_cache_insert(block_cache *c, uint64_t file, uint64_t offset, void *data,
                                 size_t size, size_t charge);

/* The entry's bytes: valid until the handle is released. */
slice cache_handle_data(const cache_handle *h);
/* The data pointer given to insert (for entries that are objects). */
void *cache_handle_value(const cache_handle *h);

/* Unpins h (NULL is fine).  The entry becomes evictable when no other
 * handle pins it, and is freed at once if the shard is over capacity or the
 * entry was erased. */
void block_cache_release(block_cache *c, cache_handle *h);

/* Removes the entry for (file, offset), if any; freed once unpinned. */
void block_cache_erase(block_cache *c, uint64_t file, uint64_t offset);

/* Removes every entry of file (a deleted table) — best effort: it walks
 * every shard, so it costs O(entries); entries of a deleted file also age
 * out of the LRU on their own, since file numbers are never reused. */
void block_cache_erase_file(block_cache *c, uint64_t file);

/* Sets the capacity; a smaller one evicts unpinned entries down to it. */
void block_cache_set_capacity(block_cache *c, size_t capacity);

struct block_cache_stats {
    uint64_t hits, misses;  /* lookups that found / did not find an entry */
    uint64_t inserts;       /* entries added (not counting lost races) */
    uint64_t evictions;     /* entries pushed out by capacity (not erases) */
    size_t capacity;
    size_t usage;           /* sum of the charges of entries in the cache */
    size_t peak_usage;      /* highest usage seen since creation */
    size_t pinned_usage;    /* charges of entries with a handle out (in the
                               cache or already erased) */
    size_t entries;         /* entries in the cache */
    int shards;
};

/* Fills *out (relaxed reads; never blocks). */
void block_cache_stats(const block_cache *c, struct block_cache_stats *out);

#endif
