/*
 * bloom.h — the whole-table bloom filter over user keys (docs/sstable-format.md
 * §Filter block).
 *
 *   filter = bit array (m bits, m a multiple of 8, at least 64) | k u8
 *
 * A key's 64-bit XXH3 hash h gives two values, h1 = h and h2 = mix(h); probe
 * i (0 <= i < k) sets bit ((h1 + i*h2) mod 2^64) * m / 2^64 (a multiply
 * instead of a division: "fastrange").  k = round(bits_per_key * ln 2),
 * clamped to [1, 30].
 *
 * The SSTable builder feeds hashes one by one (a table does not know its key
 * count until it is finished), so bloom_builder keeps them in a growing array
 * and builds the filter once at the end.
 *
 * Thread safety: a bloom_builder belongs to one thread; the filter functions
 * only read their arguments and are safe from any thread.
 */
#ifndef LSM_BLOOM_H
#define LSM_BLOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

/* The hash every filter probe starts from: XXH3_64bits of the user key. */
uint64_t bloom_hash(slice user_key);

/* k for bits_per_key: round(bits_per_key * ln 2) clamped to [1, 30].
 * REQUIRES: bits_per_key > 0. */
int bloom_num_probes(int bits_per_key);

/* Bytes of a filter for nkeys distinct keys, including the k byte.
 * REQUIRES: bits_per_key > 0. */
size_t bloom_filter_size(size_t nkeys, int bits_per_key);

/* Builds the filter for hashes[0..n) into dst, which has
 * bloom_filter_size(n, bits_per_key) bytes.  REQUIRES: bits_per_key > 0. */
void bloom_filter_build(const uint64_t *hashes, size_t n, int bits_per_key, char *dst);

/* Starts loading the cache lines of h's first two probes (no effect on
 * the result of anything): a lookup about to ask several filters issues
 * their misses together instead of one filter after another.  Most absent
 * keys are rejected by one of the first two probes.
 * REQUIRES: filter passed bloom_filter_check. */
void bloom_filter_prefetch(slice filter, uint64_t h);

/* 0 if filter is well formed (at least 8 bytes of bits, k in [1, 30]),
 * LSM_ECORRUPT otherwise. */
int bloom_filter_check(slice filter);

/* false: no key with this hash was added.  true: it may have been.
 * REQUIRES: bloom_filter_check(filter) == 0. */
bool bloom_filter_may_contain(slice filter, uint64_t hash);

/* Collects hashes for a filter built later. */
typedef struct bloom_builder {
    uint64_t *hashes;
    size_t n, cap;
    int bits_per_key;
} bloom_builder;

/* REQUIRES: bits_per_key > 0. */
void bloom_builder_init(bloom_builder *b, int bits_per_key);
void bloom_builder_fini(bloom_builder *b); /* frees the hashes */

/* Adds one key's hash.  A hash equal to the previous one is skipped: keys
 * arrive sorted, so that is another version of the same user key (or a
 * 64-bit collision, which sets the same bits anyway).  0 or -ENOMEM. */
int bloom_builder_add(bloom_builder *b, uint64_t hash);

static inline size_t bloom_builder_filter_size(const bloom_builder *b)
{
    return bloom_filter_size(b->n, b->bits_per_key);
}

/* Writes the filter of every hash added so far into dst
 * (bloom_builder_filter_size bytes). */
static inline void bloom_builder_build(const bloom_builder *b, char *dst)
{
    bloom_filter_build(b->hashes, b->n, b->bits_per_key, dst);
}

#endif
