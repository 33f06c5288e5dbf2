/* skiplist.c — see skiplist.h for the thread-safety contract and
 * invariants this file relies on. */
#include "memtable/skiplist.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

struct skiplist_node {
    const char *entry;
    /* next[0 .. height): the successor at each level.  Written by the one
     * writer, read by anyone. */
    _Atomic(struct skiplist_node *) next[];
};

struct skiplist {
    arena *arena;
    skiplist_cmp cmp;
    void *ctx;
    struct skiplist_node *head;  /* sentinel of full height, no entry */
    /* Height of the tallest node.  Relaxed: a reader that sees a new height
     * before the head's next[] at that level is linked just finds NULL
     * there and drops a level; one that sees an old height simply starts
     * lower.  Either way the search is correct. */
    atomic_int max_height;
    /* The writer updates rng on every insert; the padding keeps it off the
     * cache lines every reader loads (the fields above and the head node,
     * allocated right after this struct). */
    char pad0[64];
    uint64_t rng;                /* xorshift64 state; writer only */
    struct skiplist_node *pending; /* from skiplist_prepare; writer only */
    int pending_height;
    char pad1[64];
};

/* Acquire: pairs with the release store in link_node() that linked
 * the node we get, so its entry and lower next[] are visible (inv. 2). */
static inline struct skiplist_node *next_of(const struct skiplist_node *x, int level)
{
    return atomic_load_explicit(&x->next[level], memory_order_acquire);
}

static inline int height_of(const skiplist *sl)
{
    return atomic_load_explicit(&sl->max_height, memory_order_relaxed);
}

/* A node of the given height followed by extra bytes for an entry. */
static struct skiplist_node *new_node(arena *a, const char *entry, int height, size_t extra)
{
    size_t links = sizeof(_Atomic(struct skiplist_node *)) * (size_t)height;
    if (extra > SIZE_MAX - sizeof(struct skiplist_node) - links)
        return NULL;
    struct skiplist_node *n = arena_alloc(a, sizeof(*n) + links + extra);
    if (!n)
        return NULL;
    n->entry = entry;
    for (int i = 0; i < height; i++)
        atomic_init(&n->next[i], NULL); /* not yet visible to anyone */
    return n;
}

skiplist *skiplist_new(arena *a, skiplist_cmp cmp, void *ctx)
{
    skiplist *sl = arena_alloc(a, sizeof(*sl));
    if (!sl)
        return NULL;
    sl->head = new_node(a, NULL, SKIPLIST_MAX_HEIGHT, 0);
    if (!sl->head)
        return NULL;
    sl->arena = a;
    sl->cmp = cmp;
    sl->ctx = ctx;
    atomic_init(&sl->max_height, 1);
    sl->rng = 0x2545f4914f6cdd1dull; /* fixed: reproducible shapes */
    sl->pending = NULL;
    sl->pending_height = 0;
    return sl;
}

_Static_assert(SKIPLIST_BRANCHING == 4, "random_height draws 2 bits per level");

/* 1 + k with probability (1/4)^k (1 - 1/4), capped. */
static int random_height(skiplist *sl)
{
    uint64_t x = sl->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sl->rng = x;
    int h = 1;
    while (h < SKIPLIST_MAX_HEIGHT && (x & (SKIPLIST_BRANCHING - 1)) == 0) {
        h++;
        x >>= 2;
    }
    return h;
}

/* First node >= probe, or NULL.  If prev is non-NULL, fills prev[level]
 * with the last node < probe at every level below the current height. */
static struct skiplist_node *find_ge(const skiplist *sl, const char *probe,
                                     struct skiplist_node **prev)
{
    struct skiplist_node *x = sl->head;
    int level = height_of(sl) - 1;
    /* A node already found >= probe one level up: when it reappears as
     * next at this level, skip comparing it again. */
    const struct skiplist_node *bigger = NULL;
    for (;;) {
        struct skiplist_node *next = next_of(x, level);
        if (next && next != bigger) {
            /* Start fetching the node after next while we compare next: a
             * search is a chain of cache misses, this overlaps two.
             * Relaxed: only a hint, never dereferenced. */
            __builtin_prefetch(atomic_load_explicit(&next->next[level], memory_order_relaxed));
            if (sl->cmp(sl->ctx, next->entry, probe) < 0) {
                x = next;
                continue;
            }
        }
        if (prev)
            prev[level] = x;
        if (level == 0)
            return next;
        bigger = next;
        level--;
    }
}

/* Last node < probe, or the head if none. */
static const struct skiplist_node *find_lt(const skiplist *sl, const char *probe)
{
    const struct skiplist_node *x = sl->head;
    int level = height_of(sl) - 1;
    for (;;) {
        const struct skiplist_node *next = next_of(x, level);
        if (next && sl->cmp(sl->ctx, next->entry, probe) < 0) {
            x = next;
        } else if (level == 0) {
            return x;
        } else {
            level--;
        }
    }
}

/* Last node, or the head if the list is empty. */
static const struct skiplist_node *find_last(const skiplist *sl)
{
    const struct skiplist_node *x = sl->head;
    int level = height_of(sl) - 1;
    for (;;) {
        const struct skiplist_node *next = next_of(x, level);
        if (next)
            x = next;
        else if (level == 0)
            return x;
        else
            level--;
    }
}

/* Links n (of height h, entry set) into the list. */
static void link_node(skiplist *sl, struct skiplist_node *n, int h)
{
    struct skiplist_node *prev[SKIPLIST_MAX_HEIGHT];
    struct skiplist_node *at = find_ge(sl, n->entry, prev);
    assert(!at || sl->cmp(sl->ctx, at->entry, n->entry) != 0); /* REQUIRES */
    (void)at;

    int max = height_of(sl);
    if (h > max) {
        for (int i = max; i < h; i++)
            prev[i] = sl->head;
        atomic_store_explicit(&sl->max_height, h, memory_order_relaxed);
    }
    for (int i = 0; i < h; i++) {
        /* Relaxed: n is unpublished, and we are the only writer of
         * prev[i]->next[i], so we see our own latest value.  The release
         * store below publishes this one along with the rest of n. */
        atomic_store_explicit(&n->next[i],
                              atomic_load_explicit(&prev[i]->next[i], memory_order_relaxed),
                              memory_order_relaxed);
        /* Release: pairs with the acquire in next_of(); a reader that
         * reaches n through this link sees n->entry, the entry bytes (for
         * a prepared node) and n->next[i]. */
        atomic_store_explicit(&prev[i]->next[i], n, memory_order_release);
    }
}

int skiplist_insert(skiplist *sl, const char *entry)
{
    int h = random_height(sl);
    struct skiplist_node *n = new_node(sl->arena, entry, h, 0);
    if (!n)
        return -ENOMEM;
    link_node(sl, n, h);
    return 0;
}

char *skiplist_prepare(skiplist *sl, size_t n)
{
    assert(!sl->pending); /* REQUIRES: no other prepared entry */
    int h = random_height(sl);
    struct skiplist_node *x = new_node(sl->arena, NULL, h, n);
    if (!x)
        return NULL;
    char *entry = (char *)&x->next[h];
    x->entry = entry;
    sl->pending = x;
    sl->pending_height = h;
    return entry;
}

void skiplist_insert_prepared(skiplist *sl, const char *entry)
{
    assert(sl->pending && sl->pending->entry == entry);
    (void)entry;
    link_node(sl, sl->pending, sl->pending_height);
    sl->pending = NULL;
}

bool skiplist_contains(const skiplist *sl, const char *probe)
{
    const struct skiplist_node *x = find_ge(sl, probe, NULL);
    return x && sl->cmp(sl->ctx, x->entry, probe) == 0;
}

void skiplist_iter_init(skiplist_iter *it, const skiplist *sl)
{
    it->sl = sl;
    it->node = NULL;
}

bool skiplist_iter_valid(const skiplist_iter *it)
{
    return it->node != NULL;
}

const char *skiplist_iter_entry(const skiplist_iter *it)
{
    assert(it->node);
    return it->node->entry;
}

void skiplist_iter_next(skiplist_iter *it)
{
    assert(it->node);
    it->node = next_of(it->node, 0);
}

void skiplist_iter_prev(skiplist_iter *it)
{
    assert(it->node);
    const struct skiplist_node *x = find_lt(it->sl, it->node->entry);
    it->node = x == it->sl->head ? NULL : x;
}

void skiplist_iter_seek(skiplist_iter *it, const char *probe)
{
    it->node = find_ge(it->sl, probe, NULL);
}

void skiplist_iter_first(skiplist_iter *it)
{
    it->node = next_of(it->sl->head, 0);
}

void skiplist_iter_last(skiplist_iter *it)
{
    const struct skiplist_node *x = find_last(it->sl);
    it->node = x == it->sl->head ? NULL : x;
}
