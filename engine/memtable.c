/* memtable.c — see memtable.h. */
#include "memtable.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "arena.h"
#include "skiplist.h"

struct memtable {
    /* Read by every lookup. */
    arena *arena;
    skiplist *list;
    /* Written on every add (by the writer) / every ref (by anyone): each on
     * its own cache line so they do not evict the pointers above. */
    _Alignas(64) atomic_uint_least64_t entries;
    atomic_uint_least64_t used; /* entry bytes plus node overhead */
    _Alignas(64) atomic_int refs;
};

/*
 * Probes.  Lookups (get, seek) hand the skiplist a `struct probe` instead of
 * an encoded entry, so they copy nothing and allocate nothing whatever the
 * key size.  The comparator tells the two apart by the first byte: a probe
 * starts with 0, a stored entry with varint32(ikey_len), and ikey_len >= 8
 * never encodes to a 0 first byte.  skiplist.h guarantees that only the
 * second argument of cmp is ever a probe.
 */
struct probe {
    unsigned char tag; /* 0 */
    slice ukey;
    uint64_t trailer;
};

/* The internal key of a stored entry. */
static inline slice entry_ikey(const char *e)
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
static inline slice entry_value(slice ik)
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

/* Internal-key order (ikey_compare) between a stored entry and a stored
 * entry or a probe. */
static int entry_cmp(void *ctx, const char *entry, const char *probe)
{
    (void)ctx;
    slice a = entry_ikey(entry);
    if (probe[0] != 0)
        return ikey_compare(a, entry_ikey(probe));
    const struct probe *pr = (const struct probe *)(const void *)probe;
    int r = slice_compare(ikey_user(a), pr->ukey);
    if (r != 0)
        return r;
    uint64_t ta = ikey_trailer(a);
    return (ta < pr->trailer) - (ta > pr->trailer);
}

memtable *memtable_new(void)
{
    memtable *m = aligned_alloc(_Alignof(memtable), sizeof(memtable));
    if (!m)
        return NULL;
    m->arena = arena_new(MEMTABLE_BLOCK_BYTES);
    m->list = m->arena ? skiplist_new(m->arena, entry_cmp, NULL) : NULL;
    if (!m->list) {
        arena_free(m->arena);
        free(m);
        return NULL;
    }
    atomic_init(&m->entries, 0);
    atomic_init(&m->used, 0);
    atomic_init(&m->refs, 1);
    return m;
}

void memtable_ref(memtable *m)
{
    /* Relaxed: the caller already holds a reference, so m cannot die. */
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void memtable_unref(memtable *m)
{
    if (!m)
        return;
    /* Acq_rel: our release orders our reads of m before the decrement;
     * the last dropper's acquire pairs with every earlier release so
     * freeing happens after all other holders are done. */
    int old = atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel);
    assert(old > 0);
    if (old == 1) {
        arena_free(m->arena);
        free(m);
    }
}

int memtable_add(memtable *m, uint64_t seq, enum value_type type, slice key, slice value)
{
    assert(seq <= LSM_MAX_SEQUENCE);
    if (type == LSM_TYPE_DELETE)
        value.size = 0;
    if (key.size > UINT32_MAX - INTERNAL_TRAILER || value.size > UINT32_MAX)
        return -EINVAL;
    uint32_t iklen = (uint32_t)(key.size + INTERNAL_TRAILER);
    size_t len = (size_t)varint_length(iklen) + iklen +
                 (size_t)varint_length(value.size) + value.size;
    char *e = skiplist_prepare(m->list, len);
    if (!e)
        return -ENOMEM;
    char *p = put_varint32(e, iklen);
    p += ikey_encode(p, key, seq, type);
    p = put_varint32(p, (uint32_t)value.size);
    if (value.size)
        memcpy(p, value.data, value.size);
    skiplist_insert_prepared(m->list, e);
    /* Single writer: load + store instead of a locked add; readers only
     * need an untorn count. */
    atomic_store_explicit(&m->entries,
                          atomic_load_explicit(&m->entries, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    /* Average node: entry, a key pointer and ~1.33 next pointers. */
    atomic_store_explicit(&m->used,
                          atomic_load_explicit(&m->used, memory_order_relaxed) + len +
                              2 * sizeof(void *),
                          memory_order_relaxed);
    return 0;
}

enum memtable_lookup memtable_get(memtable *m, slice key, uint64_t seq, slice *value)
{
    if (seq > LSM_MAX_SEQUENCE)
        seq = LSM_MAX_SEQUENCE;
    struct probe pr = { 0, key, pack_trailer(seq, LSM_TYPE_SEEK) };
    skiplist_iter it;
    skiplist_iter_init(&it, m->list);
    skiplist_iter_seek(&it, (const char *)&pr);
    if (!skiplist_iter_valid(&it))
        return MEMTABLE_ABSENT;
    slice ik = entry_ikey(skiplist_iter_entry(&it));
    if (!slice_equal(ikey_user(ik), key))
        return MEMTABLE_ABSENT;
    if (ikey_type(ik) == LSM_TYPE_DELETE)
        return MEMTABLE_DELETED;
    *value = entry_value(ik);
    return MEMTABLE_FOUND;
}

size_t memtable_bytes(const memtable *m)
{
    /* What was added, not what the arena reserved: a memtable smaller than
     * one arena block must still fill up gradually. */
    return (size_t)atomic_load_explicit(&m->used, memory_order_relaxed);
}

size_t memtable_memory_usage(const memtable *m)
{
    return arena_memory_usage(m->arena);
}

uint64_t memtable_entries(const memtable *m)
{
    return atomic_load_explicit(&m->entries, memory_order_relaxed);
}

/* ---- iterator ---------------------------------------------------------- */

struct memtable_iter {
    iter base;
    memtable *m;
    skiplist_iter sit;
};

#define MI(it) ((struct memtable_iter *)(it))
#define CMI(it) ((const struct memtable_iter *)(it))

static bool mi_valid(const iter *it) { return skiplist_iter_valid(&CMI(it)->sit); }
static void mi_first(iter *it) { skiplist_iter_first(&MI(it)->sit); }
static void mi_last(iter *it) { skiplist_iter_last(&MI(it)->sit); }
static void mi_next(iter *it) { skiplist_iter_next(&MI(it)->sit); }
static void mi_prev(iter *it) { skiplist_iter_prev(&MI(it)->sit); }
static int mi_status(const iter *it) { (void)it; return 0; }

static void mi_seek(iter *it, slice target)
{
    assert(target.size >= INTERNAL_TRAILER);
    struct probe pr = { 0, ikey_user(target), ikey_trailer(target) };
    skiplist_iter_seek(&MI(it)->sit, (const char *)&pr);
}

static slice mi_key(const iter *it)
{
    return entry_ikey(skiplist_iter_entry(&CMI(it)->sit));
}

static slice mi_value(const iter *it)
{
    return entry_value(entry_ikey(skiplist_iter_entry(&CMI(it)->sit)));
}

static void mi_destroy(iter *it)
{
    memtable_unref(MI(it)->m);
    free(it);
}

static const struct iter_ops memtable_iter_ops = {
    .valid = mi_valid,
    .first = mi_first,
    .last = mi_last,
    .seek = mi_seek,
    .next = mi_next,
    .prev = mi_prev,
    .key = mi_key,
    .value = mi_value,
    .status = mi_status,
    .destroy = mi_destroy,
};

iter *memtable_iter_new(memtable *m)
{
    struct memtable_iter *mi = malloc(sizeof(*mi));
    if (!mi)
        return NULL;
    mi->base.ops = &memtable_iter_ops;
    mi->m = m;
    memtable_ref(m);
    skiplist_iter_init(&mi->sit, m->list);
    return &mi->base;
}
