/*
 * block.h — reads one data or index block built by block_builder.h
 * (docs/sstable-format.md §Block contents) and iterates over it.
 *
 * Keys are internal keys (dbformat.h), ordered by ikey_compare.  A block
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

#include "iterator.h"
#include "slice.h"

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
 * wherever an iter * is wanted (iterator.h), or call the block_iter_*
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
