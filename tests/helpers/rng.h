/*
 * rng.h — the one pseudo-random generator of the tests, the stress driver
 * and the fuzz helpers: xorshift64* (Vigna), 64 bits of state, and the
 * splitmix64 finalizer for values derived from a key rather than drawn
 * from a stream.
 *
 * Header-only and free of cmocka, so programs that do not link the test
 * helpers (build/stress) use it too.  A test seeds it with th_seed()
 * (helpers.h): $LSM_TEST_SEED, printed, so a failure can be replayed.
 */
#ifndef LSM_TEST_RNG_H
#define LSM_TEST_RNG_H

#include <stdint.h>

typedef struct th_rng {
    uint64_t s;
} th_rng;

/* Seeds r; any seed is fine (0 is replaced by a fixed non-zero one). */
static inline void th_rng_seed(th_rng *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static inline uint64_t th_rng_next(th_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n) (0 when n is 0). */
static inline uint64_t th_rng_below(th_rng *r, uint64_t n)
{
    return n ? th_rng_next(r) % n : 0;
}

/* Uniform in [lo, hi). */
static inline double th_rng_uniform(th_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * (double)(th_rng_next(r) >> 11) / 9007199254740992.0;
}

/* splitmix64's finalizer: every input bit reaches every output bit. */
static inline uint64_t th_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

#endif
