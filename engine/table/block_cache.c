/* block_cache.c — see block_cache.h.
 *
 * Invariants (per shard, under its mutex)
 *   - An entry is in the hash table iff in_cache.
 *   - refs = handles out + (in_cache ? 1 : 0); an entry with refs == 0 is
 *     freed.
 *   - An entry is on the ring iff in_cache, pinned or not; the ring runs
 *     from the next eviction candidate (lru.next) to the newest (lru.prev).
 *   - Eviction is "second chance" (CLOCK) over that ring, not strict LRU: a
 *     hit only sets `referenced` in the entry, and the eviction scan moves a
 *     referenced or pinned entry to the newest end (clearing the bit)
 *     instead of evicting it.  So a hit touches the bucket and the entry
 *     alone, never its ring neighbours (each a cache miss in a big cache,
 *     and this is the hot path of every get), while an entry used since it
 *     last came round still outlives every unused one.
 *   - usage = sum of the charges of in_cache entries; pinned = sum of the
 *     charges of entries with a handle out, in the cache or not.
 *   - After every operation usage <= capacity or the LRU ring is empty.
 *
 * Entries leaving the cache are collected on a list and freed after the
 * mutex is dropped, so a slow deleter (closing a table) never blocks a shard.
 */
#include "table/block_cache.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

struct cache_handle {
    struct cache_handle *next_hash; /* hash chain; the free list once out */
    struct cache_handle *prev, *next; /* LRU ring, while evictable */
    void *data;
    size_t size, charge;
    uint64_t file, offset;
    uint64_t hash;
    uint32_t refs;
    bool in_cache;
    bool referenced; /* hit since the eviction scan last passed it */
};

static_assert(sizeof(struct cache_handle) + 16 <= BLOCK_CACHE_ENTRY_OVERHEAD,
              "BLOCK_CACHE_ENTRY_OVERHEAD must cover the entry header");

/* Fields read by block_cache_stats without the mutex are atomics; writers
 * hold the mutex, so they update them with a relaxed load + store. */
typedef struct shard {
    pthread_mutex_t mu;
    struct cache_handle lru; /* sentinel of the LRU ring */
    struct cache_handle **buckets;
    size_t mask;             /* buckets - 1 (a power of two) */
    _Atomic size_t capacity, usage, pinned, count;
    _Atomic uint64_t hits, misses, inserts, evictions;
} __attribute__((aligned(64))) shard;

struct block_cache {
    block_cache_deleter deleter;
    void *deleter_arg;
    int shard_bits;
    _Atomic size_t capacity;
    _Atomic size_t usage;      /* sum over shards, for the peak */
    _Atomic size_t peak_usage;
    shard *shards;
};

#define RELAXED memory_order_relaxed

static inline void bump(_Atomic size_t *p, size_t d)
{
    atomic_store_explicit(p, atomic_load_explicit(p, RELAXED) + d, RELAXED);
}
static inline void drop(_Atomic size_t *p, size_t d)
{
    atomic_store_explicit(p, atomic_load_explicit(p, RELAXED) - d, RELAXED);
}
static inline void count1(_Atomic uint64_t *p)
{
    atomic_store_explicit(p, atomic_load_explicit(p, RELAXED) + 1, RELAXED);
}

/* A cheap 64-bit mix (the MurmurHash3 finaliser) of both key words: block
 * offsets are multiples of nothing in particular, so every bit matters. */
static inline uint64_t key_hash(uint64_t file, uint64_t offset)
{
    uint64_t h = file * 0x9e3779b97f4a7c15ull ^ (offset + 0x632be59bd9b4e019ull);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static inline shard *shard_of(const block_cache *c, uint64_t hash)
{
    /* Top bits pick the shard, low bits the bucket: independent choices. */
    return &c->shards[c->shard_bits ? hash >> (64 - c->shard_bits) : 0];
}

/* ---- per-shard structures (REQUIRES: s->mu held) ------------------------ */

static void lru_remove(struct cache_handle *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
    e->prev = e->next = NULL;
}

static void lru_append(shard *s, struct cache_handle *e)
{
    e->next = &s->lru;
    e->prev = s->lru.prev;
    e->prev->next = e;
    e->next->prev = e;
}

static struct cache_handle **find_slot(shard *s, uint64_t hash, uint64_t file, uint64_t offset)
{
    struct cache_handle **p = &s->buckets[hash & s->mask];
    while (*p && ((*p)->hash != hash || (*p)->file != file || (*p)->offset != offset))
        p = &(*p)->next_hash;
    return p;
}

/* Doubles the bucket array when it is fuller than one entry per bucket; on
 * allocation failure the chains just grow longer. */
static void maybe_grow(shard *s)
{
    size_t n = s->mask + 1;
    if (atomic_load_explicit(&s->count, RELAXED) <= n)
        return;
    struct cache_handle **nb = calloc(2 * n, sizeof *nb);
    if (!nb)
        return;
    size_t nmask = 2 * n - 1;
    for (size_t i = 0; i < n; i++) {
        struct cache_handle *e = s->buckets[i];
        while (e) {
            struct cache_handle *next = e->next_hash;
            e->next_hash = nb[e->hash & nmask];
            nb[e->hash & nmask] = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = nb;
    s->mask = nmask;
}

/* Takes e out of the cache (it is at *slot).  Returns e when it must be
 * freed now (it was unpinned), else NULL (its last release frees it). */
static struct cache_handle *detach(block_cache *c, shard *s, struct cache_handle **slot)
{
    struct cache_handle *e = *slot;
    *slot = e->next_hash;
    e->next_hash = NULL;
    e->in_cache = false;
    drop(&s->usage, e->charge);
    drop(&s->count, 1);
    atomic_fetch_sub_explicit(&c->usage, e->charge, RELAXED);
    lru_remove(e);
    if (--e->refs)
        return NULL;
    return e;
}

/* Moves e to the newest end of the ring. */
static void lru_requeue(shard *s, struct cache_handle *e)
{
    lru_remove(e);
    lru_append(s, e);
}

/* Evicts unpinned entries, oldest unreferenced first, until usage fits the
 * capacity; pushes them on *out for freeing after the unlock.  Pinned and
 * referenced entries go round to the newest end; two laps bound the scan
 * (after one every unpinned entry has lost its bit), so a shard whose
 * entries are all pinned just stays over capacity. */
static void evict(block_cache *c, shard *s, struct cache_handle **out)
{
    size_t cap = atomic_load_explicit(&s->capacity, RELAXED);
    size_t budget = 2 * atomic_load_explicit(&s->count, RELAXED) + 1;
    while (atomic_load_explicit(&s->usage, RELAXED) > cap && s->lru.next != &s->lru &&
           budget--) {
        struct cache_handle *old = s->lru.next;
        if (old->refs > 1 || old->referenced) {
            old->referenced = false;
            lru_requeue(s, old);
            continue;
        }
        struct cache_handle *e = detach(c, s, find_slot(s, old->hash, old->file, old->offset));
        assert(e == old);
        count1(&s->evictions);
        e->next_hash = *out;
        *out = e;
    }
}

/* A new handle on e.  REQUIRES: e is in the cache. */
static void ref(shard *s, struct cache_handle *e)
{
    if (e->refs++ == 1) /* first handle: no longer evictable */
        bump(&s->pinned, e->charge);
    e->referenced = true;
}

static void free_list(block_cache *c, struct cache_handle *e)
{
    while (e) {
        struct cache_handle *next = e->next_hash;
        if (c->deleter)
            c->deleter(e->data, c->deleter_arg);
        else
            free(e->data);
        free(e);
        e = next;
    }
}

static void note_usage(block_cache *c, size_t charge)
{
    size_t now = atomic_fetch_add_explicit(&c->usage, charge, RELAXED) + charge;
    size_t peak = atomic_load_explicit(&c->peak_usage, RELAXED);
    while (now > peak &&
           !atomic_compare_exchange_weak_explicit(&c->peak_usage, &peak, now, RELAXED, RELAXED))
        ;
}

/* ---- API ------------------------------------------------------------------ */

/* Splits capacity so the shards' slices sum to it exactly. */
static size_t shard_capacity(const block_cache *c, size_t capacity, size_t i)
{
    size_t n = (size_t)1 << c->shard_bits;
    return capacity / n + (i < capacity % n);
}

block_cache *block_cache_new_ex(size_t capacity, int shard_bits, block_cache_deleter deleter,
                                void *arg)
{
    if (shard_bits > BLOCK_CACHE_MAX_SHARD_BITS)
        return NULL;
    if (shard_bits < 0) { /* RocksDB's rule: shards of >= 512 KiB, <= 64 */
        shard_bits = 0;
        for (size_t n = capacity / (512u * 1024u); n >= 2 && shard_bits < 6; n >>= 1)
            shard_bits++;
    }
    block_cache *c = calloc(1, sizeof *c);
    size_t n = (size_t)1 << shard_bits;
    if (!c || !(c->shards = aligned_alloc(64, n * sizeof *c->shards))) {
        free(c);
        return NULL;
    }
    c->deleter = deleter;
    c->deleter_arg = arg;
    c->shard_bits = shard_bits;
    atomic_init(&c->capacity, capacity);
    size_t i = 0;
    for (; i < n; i++) {
        shard *s = &c->shards[i];
        *s = (shard){ .mask = 15 };
        if (!(s->buckets = calloc(16, sizeof *s->buckets)))
            break;
        pthread_mutex_init(&s->mu, NULL);
        s->lru.next = s->lru.prev = &s->lru;
        atomic_init(&s->capacity, shard_capacity(c, capacity, i));
    }
    if (i < n) {
        while (i--) {
            free(c->shards[i].buckets);
            pthread_mutex_destroy(&c->shards[i].mu);
        }
        free(c->shards);
        free(c);
        return NULL;
    }
    return c;
}

block_cache *block_cache_new(size_t capacity, int shard_bits)
{
    return block_cache_new_ex(capacity, shard_bits, NULL, NULL);
}

void block_cache_free(block_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < (size_t)1 << c->shard_bits; i++) {
        shard *s = &c->shards[i];
        struct cache_handle *out = NULL;
        for (size_t b = 0; b <= s->mask; b++) {
            while (s->buckets[b]) {
                struct cache_handle *e = detach(c, s, &s->buckets[b]);
                assert(e); /* REQUIRES: nothing pinned */
                if (e) {
                    e->next_hash = out;
                    out = e;
                }
            }
        }
        free_list(c, out);
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    free(c->shards);
    free(c);
}

cache_handle *block_cache_lookup(block_cache *c, uint64_t file, uint64_t offset)
{
    uint64_t hash = key_hash(file, offset);
    shard *s = shard_of(c, hash);
    pthread_mutex_lock(&s->mu);
    /* Capacity 0 means disabled, even for entries still pinned from before. */
    struct cache_handle *e = atomic_load_explicit(&s->capacity, RELAXED)
                                 ? *find_slot(s, hash, file, offset) : NULL;
    if (e) {
        ref(s, e);
        count1(&s->hits);
    } else {
        count1(&s->misses);
    }
    pthread_mutex_unlock(&s->mu);
    return e;
}

cache_handle *block_cache_insert(block_cache *c, uint64_t file, uint64_t offset, void *data,
                                 size_t size, size_t charge)
{
    struct cache_handle *e = malloc(sizeof *e);
    if (!e)
        return NULL;
    uint64_t hash = key_hash(file, offset);
    *e = (struct cache_handle){ .data = data, .size = size, .charge = charge, .file = file,
                                .offset = offset, .hash = hash, .refs = 1 };
    shard *s = shard_of(c, hash);
    struct cache_handle *out = NULL;
    pthread_mutex_lock(&s->mu);
    if (atomic_load_explicit(&s->capacity, RELAXED) == 0) {
        /* Caching disabled: a private entry, freed at its release. */
        bump(&s->pinned, charge);
    } else {
        struct cache_handle **slot = find_slot(s, hash, file, offset);
        if (*slot) { /* lost a race with another reader of the same block */
            ref(s, *slot);
            e->next_hash = out;
            out = e;
            e = *slot;
        } else {
            e->in_cache = true;
            e->refs = 2;
            *slot = e;
            lru_append(s, e);
            bump(&s->usage, charge);
            bump(&s->pinned, charge);
            bump(&s->count, 1);
            count1(&s->inserts);
            note_usage(c, charge);
            evict(c, s, &out);
            maybe_grow(s);
        }
    }
    pthread_mutex_unlock(&s->mu);
    free_list(c, out);
    return e;
}

slice cache_handle_data(const cache_handle *h)
{
    return slice_make(h->data, h->size);
}

void *cache_handle_value(const cache_handle *h)
{
    return h->data;
}

void block_cache_release(block_cache *c, cache_handle *e)
{
    if (!e)
        return;
    shard *s = shard_of(c, e->hash);
    struct cache_handle *out = NULL;
    pthread_mutex_lock(&s->mu);
    uint32_t left = --e->refs;
    if (left == (uint32_t)e->in_cache) /* that was the last handle */
        drop(&s->pinned, e->charge);
    if (left == 0) {
        out = e;
    } else if (left == 1 && e->in_cache &&
               atomic_load_explicit(&s->usage, RELAXED) >
                   atomic_load_explicit(&s->capacity, RELAXED)) {
        evict(c, s, &out); /* now evictable: give back the excess */
    }
    pthread_mutex_unlock(&s->mu);
    free_list(c, out);
}

void block_cache_erase(block_cache *c, uint64_t file, uint64_t offset)
{
    uint64_t hash = key_hash(file, offset);
    shard *s = shard_of(c, hash);
    struct cache_handle *out = NULL;
    pthread_mutex_lock(&s->mu);
    struct cache_handle **slot = find_slot(s, hash, file, offset);
    if (*slot)
        out = detach(c, s, slot);
    pthread_mutex_unlock(&s->mu);
    free_list(c, out);
}

void block_cache_erase_file(block_cache *c, uint64_t file)
{
    for (size_t i = 0; i < (size_t)1 << c->shard_bits; i++) {
        shard *s = &c->shards[i];
        struct cache_handle *out = NULL;
        pthread_mutex_lock(&s->mu);
        for (size_t b = 0; b <= s->mask; b++) {
            struct cache_handle **slot = &s->buckets[b];
            while (*slot) {
                if ((*slot)->file != file) {
                    slot = &(*slot)->next_hash;
                    continue;
                }
                struct cache_handle *e = detach(c, s, slot); /* *slot is the next one */
                if (e) {
                    e->next_hash = out;
                    out = e;
                }
            }
        }
        pthread_mutex_unlock(&s->mu);
        free_list(c, out);
    }
}

void block_cache_set_capacity(block_cache *c, size_t capacity)
{
    atomic_store_explicit(&c->capacity, capacity, RELAXED);
    for (size_t i = 0; i < (size_t)1 << c->shard_bits; i++) {
        shard *s = &c->shards[i];
        struct cache_handle *out = NULL;
        pthread_mutex_lock(&s->mu);
        atomic_store_explicit(&s->capacity, shard_capacity(c, capacity, i), RELAXED);
        evict(c, s, &out);
        pthread_mutex_unlock(&s->mu);
        free_list(c, out);
    }
}

void block_cache_stats(const block_cache *c, struct block_cache_stats *out)
{
    *out = (struct block_cache_stats){
        .capacity = atomic_load_explicit(&c->capacity, RELAXED),
        .usage = atomic_load_explicit(&c->usage, RELAXED),
        .peak_usage = atomic_load_explicit(&c->peak_usage, RELAXED),
        .shards = 1 << c->shard_bits,
    };
    for (size_t i = 0; i < (size_t)1 << c->shard_bits; i++) {
        const shard *s = &c->shards[i];
        out->hits += atomic_load_explicit(&s->hits, RELAXED);
        out->misses += atomic_load_explicit(&s->misses, RELAXED);
        out->inserts += atomic_load_explicit(&s->inserts, RELAXED);
        out->evictions += atomic_load_explicit(&s->evictions, RELAXED);
        out->pinned_usage += atomic_load_explicit(&s->pinned, RELAXED);
        out->entries += atomic_load_explicit(&s->count, RELAXED);
    }
}
