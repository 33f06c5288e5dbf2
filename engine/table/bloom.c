/* bloom.c — see bloom.h and docs/sstable-format.md §Filter block. */
#include "table/bloom.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "lsm.h"
#include "table/sstable_format.h"

uint64_t bloom_hash(slice user_key)
{
    return XXH3_64bits(user_key.data, user_key.size);
}

int bloom_num_probes(int bits_per_key)
{
    int k = (int)(bits_per_key * 0.69314718055994531 + 0.5);
    if (k < SST_BLOOM_MIN_PROBES)
        k = SST_BLOOM_MIN_PROBES;
    if (k > SST_BLOOM_MAX_PROBES)
        k = SST_BLOOM_MAX_PROBES;
    return k;
}

static uint64_t filter_bits(size_t nkeys, int bits_per_key)
{
    uint64_t bits = (uint64_t)nkeys * (uint64_t)bits_per_key;
    if (bits < 64) /* a tiny filter would have a terrible false-positive rate */
        bits = 64;
    return (bits + 7) & ~UINT64_C(7);
}

size_t bloom_filter_size(size_t nkeys, int bits_per_key)
{
    return (size_t)(filter_bits(nkeys, bits_per_key) / 8) + 1;
}

/* The second hash of double hashing: the splitmix64 finalizer, a bijection
 * that makes h2 look independent of h1 even though both come from one XXH3
 * call. */
static inline uint64_t second_hash(uint64_t h)
{
    uint64_t z = h + UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* x * m / 2^64: maps a uniform 64-bit value onto [0, m) without a division. */
static inline uint64_t fastrange(uint64_t x, uint64_t m)
{
    return (uint64_t)(((unsigned __int128)x * m) >> 64);
}

void bloom_filter_build(const uint64_t *hashes, size_t n, int bits_per_key, char *dst)
{
    uint64_t m = filter_bits(n, bits_per_key);
    int k = bloom_num_probes(bits_per_key);
    unsigned char *bits = (unsigned char *)dst;
    memset(bits, 0, (size_t)(m / 8));
    for (size_t i = 0; i < n; i++) {
        uint64_t h = hashes[i], delta = second_hash(h);
        for (int j = 0; j < k; j++) {
            uint64_t pos = fastrange(h, m);
            bits[pos >> 3] |= (unsigned char)(1u << (pos & 7));
            h += delta;
        }
    }
    bits[m / 8] = (unsigned char)k;
}

int bloom_filter_check(slice filter)
{
    if (filter.size < 9)
        return LSM_ECORRUPT;
    unsigned k = (unsigned char)filter.data[filter.size - 1];
    if (k < SST_BLOOM_MIN_PROBES || k > SST_BLOOM_MAX_PROBES)
        return LSM_ECORRUPT;
    return 0;
}

bool bloom_filter_may_contain(slice filter, uint64_t h)
{
    const unsigned char *bits = (const unsigned char *)filter.data;
    uint64_t m = (uint64_t)(filter.size - 1) * 8;
    int k = bits[filter.size - 1];
    uint64_t delta = second_hash(h);
    for (int j = 0; j < k; j++) {
        uint64_t pos = fastrange(h, m);
        if (!(bits[pos >> 3] & (1u << (pos & 7))))
            return false;
        h += delta;
    }
    return true;
}

void bloom_filter_prefetch(slice filter, uint64_t h)
{
    const unsigned char *bits = (const unsigned char *)filter.data;
    uint64_t m = (uint64_t)(filter.size - 1) * 8;
    uint64_t pos = fastrange(h, m);
    __builtin_prefetch(bits + (pos >> 3));
    pos = fastrange(h + second_hash(h), m);
    __builtin_prefetch(bits + (pos >> 3));
}

void bloom_builder_init(bloom_builder *b, int bits_per_key)
{
    b->hashes = NULL;
    b->n = b->cap = 0;
    b->bits_per_key = bits_per_key;
}

void bloom_builder_fini(bloom_builder *b)
{
    free(b->hashes);
    b->hashes = NULL;
    b->n = b->cap = 0;
}

int bloom_builder_add(bloom_builder *b, uint64_t hash)
{
    if (b->n > 0 && b->hashes[b->n - 1] == hash)
        return 0;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        uint64_t *h = realloc(b->hashes, cap * sizeof *h);
        if (!h)
            return -ENOMEM;
        b->hashes = h;
        b->cap = cap;
    }
    b->hashes[b->n++] = hash;
    return 0;
}
