/*
 * arena.h — a bump allocator for objects that all die together (a
 * memtable's entries and skiplist nodes).
 *
 * Memory comes from blocks of block_bytes; an allocation larger than a
 * quarter of a block gets a block of its own so a big value does not waste
 * the rest of the current one.  Nothing is freed before arena_free, which
 * frees everything.
 *
 * Thread safety: arena_alloc has one writer at a time (the caller
 * serialises); arena_memory_usage may be called from any thread at any
 * time; memory handed out may be read by other threads once the caller has
 * published it (e.g. the skiplist's release store).
 */
#ifndef LSM_ARENA_H
#define LSM_ARENA_H

#include <stddef.h>

/* Every pointer arena_alloc returns is aligned to this: enough for
 * pointers, 64-bit integers and atomics; not for long double or vectors.
 * Kept at 8 (not 16) because a memtable makes two small allocations per
 * entry and 16 would waste several bytes on each. */
#define ARENA_ALIGN 8

typedef struct arena arena;

/* A new empty arena; no block is reserved until the first allocation.
 * block_bytes 0 means 4096.  NULL on ENOMEM.  Free with arena_free. */
arena *arena_new(size_t block_bytes);

/* Frees every block and the arena.  a may be NULL. */
void arena_free(arena *a);

/* n bytes aligned to ARENA_ALIGN, valid until arena_free (n 0 yields a
 * valid unique pointer).  NULL on ENOMEM (or if n is absurdly large).
 * REQUIRES: one writer at a time. */
void *arena_alloc(arena *a, size_t n);

/* Bytes reserved from the system so far (blocks plus their bookkeeping).
 * Safe from any thread (a relaxed atomic read). */
size_t arena_memory_usage(const arena *a);

#endif
