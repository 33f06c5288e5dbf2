/*
 * block_builder.h — builds one data or index block (docs/sstable-format.md
 * §Block contents): prefix-compressed entries, then the restart array.
 *
 *   entry   = shared varint32 | unshared varint32 | value_len varint32 |
 *             key[shared..] (unshared bytes) | value
 *   block   = entry* | restart u32[num_restarts] | num_restarts u32
 *
 * Every restart_interval-th entry stores its whole key (shared = 0) and its
 * offset goes into the restart array, so a reader can binary-search restart
 * points and only ever decode restart_interval entries linearly.
 *
 * Thread safety: a block_builder belongs to one thread.
 */
#ifndef LSM_BLOCK_BUILDER_H
#define LSM_BLOCK_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

typedef struct block_builder {
    char *buf;              /* entries, then (after finish) the restarts */
    size_t len, cap;
    uint32_t *restarts;
    size_t num_restarts, restarts_cap;
    int restart_interval;
    int counter;            /* entries since the last restart */
    char *last_key;         /* the previous key, for prefix compression */
    size_t last_len, last_cap;
    size_t entries;
    bool finished;
} block_builder;

/* REQUIRES: restart_interval >= 1.  Never fails: memory is taken on add. */
void block_builder_init(block_builder *b, int restart_interval);
void block_builder_fini(block_builder *b); /* frees the buffers */

/* Forgets every entry, keeping the buffers for the next block. */
void block_builder_reset(block_builder *b);

/* Appends an entry.  REQUIRES: not finished; key sorts after every key added
 * since the last reset (the caller's order, not checked here).
 * Returns 0 or -ENOMEM (the builder is unchanged then). */
int block_builder_add(block_builder *b, slice key, slice value);

/* Appends the restart array and returns the whole block contents in *out,
 * valid until the next reset or fini.  0 or -ENOMEM.
 * REQUIRES: not finished (an empty block is allowed: one restart at 0). */
int block_builder_finish(block_builder *b, slice *out);

/* The size of the contents finish would produce now. */
static inline size_t block_builder_size_estimate(const block_builder *b)
{
    size_t restarts = b->num_restarts ? b->num_restarts : 1;
    return b->len + restarts * 4 + 4;
}

static inline bool block_builder_empty(const block_builder *b)
{
    return b->entries == 0;
}

static inline size_t block_builder_entries(const block_builder *b)
{
    return b->entries;
}

/* The last key added (empty when none); valid until the next add/reset. */
static inline slice block_builder_last_key(const block_builder *b)
{
    return slice_make(b->last_key, b->last_len);
}

#endif
