/* ring.c — SPSC rings in shared memory (ring.h). */
#include "ring.h"

#include <errno.h>
#include <stddef.h>

void shm_ring_init(struct shm_ring *r, uint32_t *head, uint32_t *tail,
                   void *entries, uint32_t n, uint32_t entry_size, bool producer)
{
    r->head = head;
    r->tail = tail;
    r->entries = entries;
    r->mask = n - 1;
    r->entry_size = entry_size;
    /* Acquire: pairs with the peer's last release of its index, in case a
     * view is rebuilt on a live ring (tests do). */
    uint32_t h = __atomic_load_n(head, __ATOMIC_ACQUIRE);
    uint32_t t = __atomic_load_n(tail, __ATOMIC_ACQUIRE);
    r->local = producer ? t : h;
    r->cached = producer ? h : t;
}

int shm_ring_space(struct shm_ring *r)
{
    uint32_t n = r->mask + 1;
    /* Acquire: pairs with the consumer's store-release of head in
     * shm_ring_consume, so its reads of the freed entries happened before
     * we overwrite them. */
    uint32_t h = __atomic_load_n(r->head, __ATOMIC_ACQUIRE);
    uint32_t used = r->local - h;
    if (used > n)
        return -EPROTO; /* head ahead of our tail, or more than n behind */
    r->cached = h;
    return (int)(n - used);
}

int shm_ring_space_min(struct shm_ring *r, uint32_t want)
{
    uint32_t n = r->mask + 1;
    uint32_t known = n - (r->local - r->cached);
    if (known >= want)
        return (int)known; /* no need to touch the consumer's cache line */
    return shm_ring_space(r);
}

void *shm_ring_slot(struct shm_ring *r, uint32_t i)
{
    return r->entries + (size_t)((r->local + i) & r->mask) * r->entry_size;
}

void shm_ring_publish(struct shm_ring *r, uint32_t count)
{
    r->local += count;
    /* Release: the entry stores above become visible before the new tail;
     * pairs with the consumer's load-acquire of tail in shm_ring_ready and
     * shm_ring_empty. */
    __atomic_store_n(r->tail, r->local, __ATOMIC_RELEASE);
}

int shm_ring_ready(struct shm_ring *r)
{
    uint32_t n = r->mask + 1;
    /* Acquire: pairs with the producer's store-release of tail in
     * shm_ring_publish, so the entries' bytes are visible once we see the
     * index that covers them. */
    uint32_t t = __atomic_load_n(r->tail, __ATOMIC_ACQUIRE);
    uint32_t avail = t - r->local;
    if (avail > n)
        return -EPROTO; /* tail behind our head, or more than n ahead */
    r->cached = t;
    return (int)avail;
}

const void *shm_ring_peek(const struct shm_ring *r, uint32_t i)
{
    return r->entries + (size_t)((r->local + i) & r->mask) * r->entry_size;
}

void shm_ring_consume(struct shm_ring *r, uint32_t count)
{
    r->local += count;
    /* Release: our reads of the consumed entries complete before the
     * producer can see them free; pairs with the producer's load-acquire
     * of head in shm_ring_space. */
    __atomic_store_n(r->head, r->local, __ATOMIC_RELEASE);
}

bool shm_ring_empty(const struct shm_ring *r)
{
    /* Acquire: pairs with shm_ring_publish's release (see shm_ring_ready).
     * Called after the sleeper's seq_cst fence (wait.h), which orders the
     * "I sleep" store before this load. */
    return __atomic_load_n(r->tail, __ATOMIC_ACQUIRE) == r->local;
}
