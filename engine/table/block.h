/*
 * block.h — reads one data or index block built by block_builder.h
 * (docs/sstable-format.md §Block contents) and iterates over it.
 *
 * Keys are internal keys (base/dbformat.h), ordered by ikey_compare.  A block
 * never copies its contents: block and block_iter point into bytes the
 * caller keeps alive (a loaded block buffer, later a pinned cache entry).
 *
 * seek binary-searches the restart array for the last restart key < target
 * and then scans at most one restart interval; prev restarts from the
 * previous restart point, so it costs up to one interval of decoding.
 *
 * Malformed bytes (an entry that runs past the entries area, a shared
 * prefix longer than the previous key, a key shorter than the 8-byte
 * internal trailer, a restart entry with shared != 0) make the iterator
 * invalid with status LSM_ECORRUPT; it never reads outside the contents.
 *
 * Thread safety: a block is immutable and may be shared; a block_iter
 * belongs to one thread.
 */
#ifndef LSM_BLOCK_H
#define LSM_BLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "base/iterator.h"
#include "base/slice.h"

typedef struct block {
    const char *data;
    uint32_t restarts_off; /* end of the entries = start of the restart array */
    uint32_t num_restarts;
} block;

/* Parses the restart array of contents (not copied; it must outlive b and
 * every iterator over b).  Checks: at least 4 bytes, 1 <= num_restarts and
 * the array fits, restart[0] == 0, restarts strictly ascending and inside
 * the entries area.  Returns 0 or LSM_ECORRUPT. */
int block_init(block *b, slice contents);

/* An iterator over one block.  Embeds `iter` first, so &it->base works
 * wherever an iter * is wanted (base/iterator.h), or call the block_iter_*
 * functions directly to skip the indirect calls. */
typedef struct block_iter {
    iter base;
    const char *data;
    uint32_t restarts_off, num_restarts;
    uint32_t cur;         /* offset of the current entry */
    uint32_t next;        /* offset of the entry after it */
    uint32_t restart_idx; /* the restart interval holding cur */
    bool valid;
    int status;
    slice value;
    char *key;            /* key_inline, or a heap buffer for long keys */
    size_t key_len, key_cap;
    char key_inline[64];
} block_iter;

/* Initialises it over b (it copies b's fields; only the contents must stay
 * alive).  The iterator starts invalid; position it with first/last/seek.
 * Never fails.  A block_iter points into itself: never copy one. */
void block_iter_init(block_iter *it, const block *b);
/* Re-targets an initialised iterator at another block, keeping its key
 * buffer and clearing its status. */
void block_iter_reset(block_iter *it, const block *b);
/* Frees a heap key buffer, if any.  The iterator may be re-initialised. */
void block_iter_fini(block_iter *it);

/* A heap-allocated iterator (iter_destroy frees it).  NULL on -ENOMEM. */
iter *block_iter_new(const block *b);

/* ---- search hints --------------------------------------------------------
 * A block_hint speeds up seeks in a block searched far more often than it
 * is built, such as an SSTable's index block (one restart per entry,
 * thousands of entries, probed by every get).  block_iter_seek's binary
 * search decodes an entry and memcmps its key at every step, each step a
 * likely cache miss somewhere in the block.  The hint keeps, for every
 * restart key, the 8 bytes of its user key that follow the prefix all the
 * restart keys share, as a big-endian integer (zero-padded), in one dense
 * array: the search compares integers there and decodes entries only among
 * restarts whose 8 bytes tie with the target's.  Cost: 8 bytes per restart.
 *
 * The integers are ordered like the keys (a smaller integer means a smaller
 * user key), so the result is exactly block_iter_seek's.  A hint refers to
 * the block's bytes (the shared prefix) and must not outlive them. */
typedef struct block_hint {
    uint64_t *pfx;        /* one per restart; NULL: no hint (plain seeks) */
    const char *common;   /* the shared prefix, inside the block */
    size_t common_len;
    uint32_t num_restarts;
    bool dense;           /* every entry is a restart (interval 1) */
} block_hint;

/* Builds h for b.  On failure h is left empty (pfx NULL), which
 * block_iter_seek_hinted treats as no hint, so a failure only costs speed.
 * Returns 0, -ENOMEM, or LSM_ECORRUPT (malformed or unordered restart
 * keys; block_iter_seek reports such a block on its own). */
int block_hint_build(block_hint *h, const block *b);
void block_hint_free(block_hint *h); /* frees the array; h may be empty */

/* For a dense hint (every entry a restart, as in an index block): the
 * index of the first entry >= target (num_restarts if none), decoding
 * entries only to break ties, so a caller that keeps the entries' values
 * elsewhere (sstable_reader's block handles) touches no entry at all.
 * Returns the index, LSM_ECORRUPT (a malformed restart key), or -EINVAL
 * (h is empty, not dense, or not built for b).  REQUIRES: target is an
 * internal key. */
int64_t block_hint_find(const block_hint *h, const block *b, slice target);

/* block_iter_seek(it, target) accelerated by h.  REQUIRES: h was built for
 * the block it iterates (or is empty), target is an internal key. */
void block_iter_seek_hinted(block_iter *it, const block_hint *h, slice target);

static inline bool block_iter_valid(const block_iter *it) { return it->valid; }
void block_iter_first(block_iter *it);
void block_iter_last(block_iter *it);
void block_iter_seek(block_iter *it, slice target); /* first key >= target */
void block_iter_next(block_iter *it);               /* REQUIRES: valid */
void block_iter_prev(block_iter *it);               /* REQUIRES: valid */
/* REQUIRES: valid.  Both stay valid until the iterator moves; value points
 * into the block contents. */
static inline slice block_iter_key(const block_iter *it)
{
    return slice_make(it->key, it->key_len);
}
static inline slice block_iter_value(const block_iter *it) { return it->value; }
/* 0, LSM_ECORRUPT (malformed contents) or -ENOMEM (key buffer). */
static inline int block_iter_status(const block_iter *it) { return it->status; }

#endif
