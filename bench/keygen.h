/*
 * keygen.h — lsmbench's random numbers, key distributions, key format and
 * value bytes.
 *
 * Distributions (of key numbers in [0, n))
 *   uniform   every key equally likely.
 *   zipfian   key of popularity rank r drawn with probability
 *             1 / ((r+1)^theta * zeta(n, theta)): the generator of Gray et
 *             al., "Quickly generating billion-record synthetic databases"
 *             (SIGMOD 1994), as YCSB uses it, with zeta(n, theta) computed
 *             once per job (exactly up to 10 M terms, the tail by the
 *             Euler-Maclaurin formula, which is exact to ~1e-12 there).
 *             Ranks are scrambled onto key numbers by a bijection
 *             (r * m + a) mod n with gcd(m, n) = 1, as YCSB's
 *             ScrambledZipfianGenerator spreads hot keys over the key space;
 *             --zipf-scramble 0 leaves rank r on key r.
 *   latest    YCSB's "latest": the most recently inserted keys are the most
 *             popular: key = n - 1 - zipfian rank, where n grows with every
 *             insert (zeta grows incrementally, O(new keys)).
 *
 * Key format
 *   A key number printed in decimal, zero-padded to exactly key_size bytes
 *   ("0000000000000042" for 42 at 16 bytes): byte order equals numeric
 *   order, as db_bench's keys, and the keys read well in `lsmctl scan`.
 *   Numbers wider than key_size keep their low digits.
 *
 * Thread safety: a keygen and a bench_rng belong to one thread (copy the
 * keygen per worker; it is plain data).
 */
#ifndef BENCH_KEYGEN_H
#define BENCH_KEYGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bench_dist { DIST_DEFAULT = 0, DIST_UNIFORM, DIST_ZIPFIAN, DIST_LATEST };

/* "uniform" / "zipfian" / "latest" -> DIST_*, or -1. */
int dist_parse(const char *s);
const char *dist_name(int dist);

/* ---- random numbers: splitmix64 (fast, passes BigCrush) ----------------- */
typedef struct bench_rng {
    uint64_t s;
} bench_rng;

static inline void rng_seed(bench_rng *r, uint64_t seed)
{
    r->s = seed;
}

static inline uint64_t rng_next(bench_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) by multiply-shift (Lemire); 0 when n == 0. */
static inline uint64_t rng_below(bench_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/* Uniform in [0, 1). */
static inline double rng_double(bench_rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* ---- zipfian ------------------------------------------------------------ */
typedef struct zipf {
    uint64_t n;
    double theta, alpha, zetan, zeta2, eta, half_pow_theta;
} zipf;

/* sum_{i=1..n} 1/i^theta. */
double zipf_zeta(uint64_t n, double theta);

/* Errors: -EINVAL unless n >= 1 and 0 < theta < 1. */
int zipf_init(zipf *z, uint64_t n, double theta);

/* Extends the item count to n (>= z->n), adding the new zeta terms. */
void zipf_grow(zipf *z, uint64_t n);

/* A rank in [0, n): 0 is the most popular. */
uint64_t zipf_next(const zipf *z, bench_rng *r);

/* ---- key numbers -------------------------------------------------------- */
typedef struct keygen {
    int dist;            /* DIST_UNIFORM, DIST_ZIPFIAN or DIST_LATEST */
    uint64_t n;          /* key numbers [0, n) (latest: grows) */
    zipf z;
    bool scramble;
    uint64_t mul, add;   /* zipfian scramble: (r * mul + add) mod n */
} keygen;

/* Errors: -EINVAL (n == 0, unknown dist, theta outside (0, 1)). */
int keygen_init(keygen *k, int dist, uint64_t n, double theta, bool scramble);

/* The next key number.  n_now is the current key count (for "latest", which
 * favours the newest of n_now keys; others ignore it and use k->n). */
uint64_t keygen_next(keygen *k, bench_rng *r, uint64_t n_now);

/* ---- keys and values ---------------------------------------------------- */
/* Writes key number n into buf[0..key_size) (format above).  REQUIRES: buf
 * was filled by key_init(buf, key_size) (the leading zeros stay). */
void key_init(char *buf, uint32_t key_size);
void key_format(char *buf, uint32_t key_size, uint64_t n);

/* Decimal digits of n (1 for 0). */
int key_digits(uint64_t n);

/* A buffer of random bytes that values are cut from (db_bench's
 * RandomGenerator idea: no per-op generation, values differ).  */
typedef struct valgen {
    char *buf;
    size_t len;     /* >= 1 MiB and >= 2 x value_size */
    size_t vsize;
} valgen;

/* Errors: -ENOMEM. */
int valgen_init(valgen *v, size_t value_size, uint64_t seed);
void valgen_free(valgen *v);

/* value_size bytes at a random offset of the buffer. */
static inline const char *valgen_next(const valgen *v, bench_rng *r)
{
    return v->buf + rng_below(r, v->len - v->vsize + 1);
}

#endif
