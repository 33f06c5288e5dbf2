/* memtable_base.c — see memtable.h and memtable_base.h: the common part (references, counters,
 * entry encoding) and the dispatch to the implementation's ops.  Making a
 * memtable by name is memtable_factory.c's. */
#include "memtable/memtable_base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int memtable_base_init(memtable *m, const struct memtable_ops *ops)
{
    m->ops = ops;
    m->arena = arena_new(MEMTABLE_BLOCK_BYTES);
    atomic_init(&m->entries, 0);
    atomic_init(&m->used, 0);
    atomic_init(&m->refs, 1);
    return m->arena ? 0 : -ENOMEM;
}

void memtable_base_destroy(memtable *m)
{
    arena_free(m->arena);
    m->arena = NULL;
}

const char *memtable_impl_name(const memtable *m)
{
    return m->ops->name;
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
    if (old == 1)
        m->ops->destroy(m);
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
    char *e = m->ops->prepare(m, len);
    if (!e)
        return -ENOMEM;
    char *p = put_varint32(e, iklen);
    p += ikey_encode(p, key, seq, type);
    p = put_varint32(p, (uint32_t)value.size);
    if (value.size)
        memcpy(p, value.data, value.size);
    m->ops->publish(m, e);
    /* Single writer: load + store instead of a locked add; readers only
     * need an untorn count. */
    atomic_store_explicit(&m->entries,
                          atomic_load_explicit(&m->entries, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_store_explicit(&m->used,
                          atomic_load_explicit(&m->used, memory_order_relaxed) + len +
                              m->ops->entry_overhead,
                          memory_order_relaxed);
    return 0;
}

void memtable_freeze(memtable *m)
{
    m->ops->freeze(m);
}

enum memtable_lookup memtable_get(memtable *m, slice key, uint64_t seq, slice *value)
{
    if (seq > LSM_MAX_SEQUENCE)
        seq = LSM_MAX_SEQUENCE;
    return m->ops->get(m, key, seq, value);
}

size_t memtable_bytes(const memtable *m)
{
    /* What was added, not what the arena reserved: a memtable smaller than
     * one arena block must still fill up gradually. */
    return (size_t)atomic_load_explicit(&m->used, memory_order_relaxed);
}

size_t memtable_memory_usage(const memtable *m)
{
    return arena_memory_usage(m->arena) + m->ops->memory_usage(m);
}

uint64_t memtable_entries(const memtable *m)
{
    return atomic_load_explicit(&m->entries, memory_order_relaxed);
}

iter *memtable_iter_new(memtable *m)
{
    return m->ops->iter_new(m);
}
