/*
 * memtable_base.h — what the memtable implementations share: the
 * function table, the common header every implementation embeds first, and
 * the entry encoding (memtable.h).  Not for callers of memtable.h.
 *
 * memtable_base.c owns the common parts (references, counters, argument checks,
 * entry encoding) and dispatches the rest through m->ops.  An add is two
 * steps so that the encoding lives in one place: ops->prepare returns room
 * for the encoded entry (the skiplist inside its node, the vector in the
 * arena), memtable_base.c writes the entry there, ops->publish makes it visible.
 */
#ifndef LSM_MEMTABLE_BASE_H
#define LSM_MEMTABLE_BASE_H

#include <assert.h>
#include <stdatomic.h>

#include "base/arena.h"
#include "memtable/memtable.h"

struct memtable_ops {
    const char *name;
    /* Index bytes charged to memtable_bytes per entry on top of the entry. */
    size_t entry_overhead;
    /* Room for an n-byte entry, ARENA_ALIGN-aligned, or NULL on ENOMEM.
     * REQUIRES: the writer; publish (or nothing) follows before the next
     * prepare. */
    char *(*prepare)(memtable *m, size_t n);
    /* Makes the entry written at prepare's pointer visible to readers. */
    void (*publish)(memtable *m, const char *entry);
    /* seq is already clamped to LSM_MAX_SEQUENCE. */
    enum memtable_lookup (*get)(memtable *m, slice key, uint64_t seq, slice *value);
    /* Takes its own reference on m (dropped by the iterator's destroy). */
    iter *(*iter_new)(memtable *m);
    void (*freeze)(memtable *m);
    /* Everything but the arena, which memtable_base.c adds. */
    size_t (*memory_usage)(const memtable *m);
    /* Frees the implementation's parts and m itself (the last reference is
     * gone); memtable_base_destroy frees the arena. */
    void (*destroy)(memtable *m);
};

/* The common header, first member of every implementation's struct. */
struct memtable {
    /* Read by every operation. */
    const struct memtable_ops *ops;
    arena *arena;
    /* Written on every add (by the writer) / every ref (by anyone): each on
     * its own cache line so they do not evict the pointers above. */
    _Alignas(64) atomic_uint_least64_t entries;
    atomic_uint_least64_t used; /* entry bytes plus index overhead */
    _Alignas(64) atomic_int refs;
};

/* Fills in the header of a freshly allocated memtable: a new arena, zero
 * counters, one reference.  0 or -ENOMEM. */
int memtable_base_init(memtable *m, const struct memtable_ops *ops);
/* Frees the arena (every entry).  m itself is the caller's. */
void memtable_base_destroy(memtable *m);

/* The constructors memtable_create dispatches to (0, -ENOMEM). */
int memtable_skiplist_create(memtable **out);
int memtable_vector_create(memtable **out);

/* The internal key of a stored entry. */
static inline slice memtable_entry_ikey(const char *e)
{
    unsigned char b = (unsigned char)e[0];
    if (b < 0x80)
        return slice_make(e + 1, b);
    uint32_t n = 0;
    const char *p = get_varint32(e, e + VARINT32_MAX, &n);
    assert(p); /* we wrote it */
    return slice_make(p, n);
}

/* The value that follows internal key ik inside its entry. */
static inline slice memtable_entry_value(slice ik)
{
    const char *p = ik.data + ik.size;
    uint32_t n = 0;
    if ((unsigned char)p[0] < 0x80) {
        n = (unsigned char)p[0];
        p++;
    } else {
        p = get_varint32(p, p + VARINT32_MAX, &n);
        assert(p);
    }
    return slice_make(p, n);
}

/* The lookup result for the entry whose internal key is ik. */
static inline enum memtable_lookup memtable_entry_result(slice ik, slice *value)
{
    if (ikey_type(ik) == LSM_TYPE_DELETE)
        return MEMTABLE_DELETED;
    *value = memtable_entry_value(ik);
    return MEMTABLE_FOUND;
}

#endif
