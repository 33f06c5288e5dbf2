/* arena.c — see arena.h. */
#include "base/arena.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#define DEFAULT_BLOCK 4096

/* Blocks are chained through a header; data[] starts at max_align_t
 * alignment because malloc returns such memory. */
struct arena_block {
    struct arena_block *next;
    _Alignas(max_align_t) char data[];
};

struct arena {
    char *ptr;                 /* next free byte of the current block */
    size_t left;               /* bytes free after ptr */
    size_t block_bytes;
    struct arena_block *blocks;
    atomic_size_t usage;       /* written by the one writer, read by anyone */
};

arena *arena_new(size_t block_bytes)
{
    arena *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->block_bytes = block_bytes ? block_bytes : DEFAULT_BLOCK;
    atomic_init(&a->usage, 0);
    return a;
}

void arena_free(arena *a)
{
    if (!a)
        return;
    struct arena_block *b = a->blocks;
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}

/* A new block holding at least n data bytes, pushed on the chain. */
static char *new_block(arena *a, size_t n)
{
    if (n > SIZE_MAX - sizeof(struct arena_block))
        return NULL;
    size_t total = sizeof(struct arena_block) + n;
    struct arena_block *b = malloc(total);
    if (!b)
        return NULL;
    b->next = a->blocks;
    a->blocks = b;
    /* Single writer: a plain read-modify-write of the atomic is enough and
     * cheaper than a locked add; readers only need a torn-free value. */
    atomic_store_explicit(&a->usage,
                          atomic_load_explicit(&a->usage, memory_order_relaxed) + total,
                          memory_order_relaxed);
    return b->data;
}

void *arena_alloc(arena *a, size_t n)
{
    if (n > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (n == 0)
        n = ARENA_ALIGN;
    if (n <= a->left) {
        char *p = a->ptr;
        a->ptr += n;
        a->left -= n;
        return p;
    }
    if (n > a->block_bytes / 4)
        return new_block(a, n); /* the current block keeps its free tail */
    /* Start a fresh block; the old one's tail (< n bytes) is wasted. */
    char *p = new_block(a, a->block_bytes);
    if (!p)
        return NULL;
    a->ptr = p + n;
    a->left = a->block_bytes - n;
    return p;
}

size_t arena_memory_usage(const arena *a)
{
    return atomic_load_explicit(&a->usage, memory_order_relaxed);
}
