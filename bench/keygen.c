/* keygen.c — see keygen.h. */
#include "keygen.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Terms summed one by one before the Euler-Maclaurin tail takes over: the
 * first omitted correction term there is ~theta^3 / 720 * m^(-theta-3),
 * far below double precision at m = 10^6. */
#define ZETA_EXACT_TERMS 1000000ull

int dist_parse(const char *s)
{
    if (strcmp(s, "uniform") == 0)
        return DIST_UNIFORM;
    if (strcmp(s, "zipfian") == 0 || strcmp(s, "zipf") == 0)
        return DIST_ZIPFIAN;
    if (strcmp(s, "latest") == 0)
        return DIST_LATEST;
    return -1;
}

const char *dist_name(int dist)
{
    switch (dist) {
    case DIST_UNIFORM: return "uniform";
    case DIST_ZIPFIAN: return "zipfian";
    case DIST_LATEST: return "latest";
    default: return "default";
    }
}

/* sum_{i=a..b} i^-theta, term by term (smallest terms first, for accuracy). */
static double zeta_terms(uint64_t a, uint64_t b, double theta)
{
    double s = 0;
    for (uint64_t i = b; i >= a && i > 0; i--)
        s += pow((double)i, -theta);
    return s;
}

double zipf_zeta(uint64_t n, double theta)
{
    if (n <= ZETA_EXACT_TERMS)
        return zeta_terms(1, n, theta);
    /* sum_{i=m..n} f(i) ~ integral + (f(m) + f(n)) / 2 + (f'(n) - f'(m)) / 12,
     * f(x) = x^-theta; then drop the i = m term counted twice. */
    double m = (double)ZETA_EXACT_TERMS, x = (double)n, t1 = 1.0 - theta;
    double integral = (pow(x, t1) - pow(m, t1)) / t1;
    double ends = (pow(m, -theta) + pow(x, -theta)) / 2.0;
    double deriv = (-theta * pow(x, -theta - 1) + theta * pow(m, -theta - 1)) / 12.0;
    return zeta_terms(1, ZETA_EXACT_TERMS, theta) + integral + ends + deriv -
           pow(m, -theta);
}

static void zipf_derive(zipf *z)
{
    z->alpha = 1.0 / (1.0 - z->theta);
    z->half_pow_theta = pow(0.5, z->theta);
    z->eta = z->n > 2 ? (1.0 - pow(2.0 / (double)z->n, 1.0 - z->theta)) /
                            (1.0 - z->zeta2 / z->zetan)
                      : 0.0;
}

int zipf_init(zipf *z, uint64_t n, double theta)
{
    if (n < 1 || !(theta > 0.0 && theta < 1.0))
        return -EINVAL;
    z->n = n;
    z->theta = theta;
    z->zeta2 = zipf_zeta(2, theta);
    z->zetan = zipf_zeta(n, theta);
    zipf_derive(z);
    return 0;
}

void zipf_grow(zipf *z, uint64_t n)
{
    if (n <= z->n)
        return;
    z->zetan += zeta_terms(z->n + 1, n, z->theta);
    z->n = n;
    zipf_derive(z);
}

uint64_t zipf_next(const zipf *z, bench_rng *r)
{
    double u = rng_double(r);
    double uz = u * z->zetan;
    if (uz < 1.0)
        return 0;
    if (uz < 1.0 + z->half_pow_theta)
        return z->n > 1 ? 1 : 0;
    uint64_t v = (uint64_t)((double)z->n * pow(z->eta * u - z->eta + 1.0, z->alpha));
    return v < z->n ? v : z->n - 1;
}

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int keygen_init(keygen *k, int dist, uint64_t n, double theta, bool scramble)
{
    memset(k, 0, sizeof *k);
    if (n == 0)
        return -EINVAL;
    k->dist = dist;
    k->n = n;
    k->scramble = scramble;
    switch (dist) {
    case DIST_UNIFORM:
        return 0;
    case DIST_ZIPFIAN:
    case DIST_LATEST: {
        int rc = zipf_init(&k->z, n, theta);
        if (rc)
            return rc;
        /* Any multiplier coprime with n permutes [0, n). */
        k->mul = 0x9e3779b97f4a7c15ull % n;
        if (k->mul == 0)
            k->mul = 1;
        while (gcd_u64(k->mul, n) != 1)
            k->mul++;
        k->add = 0x632be59bd9b4e019ull % n;
        return 0;
    }
    default:
        return -EINVAL;
    }
}

uint64_t keygen_next(keygen *k, bench_rng *r, uint64_t n_now)
{
    switch (k->dist) {
    case DIST_ZIPFIAN: {
        uint64_t rank = zipf_next(&k->z, r);
        if (!k->scramble)
            return rank;
        return (uint64_t)(((unsigned __int128)rank * k->mul + k->add) % k->n);
    }
    case DIST_LATEST:
        if (n_now > k->z.n)
            zipf_grow(&k->z, n_now);
        return k->z.n - 1 - zipf_next(&k->z, r);
    default:
        return rng_below(r, k->n);
    }
}

void key_init(char *buf, uint32_t key_size)
{
    memset(buf, '0', key_size);
}

void key_format(char *buf, uint32_t key_size, uint64_t n)
{
    /* Always rewrite the low 20 digits (a uint64 has at most 20), so the
     * digits of a longer previous number never linger. */
    char *p = buf + key_size;
    char *stop = p - (key_size < 20 ? key_size : 20);
    while (p > stop) {
        *--p = (char)('0' + n % 10);
        n /= 10;
    }
}

int key_digits(uint64_t n)
{
    int d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

int valgen_init(valgen *v, size_t value_size, uint64_t seed)
{
    v->vsize = value_size;
    v->len = value_size * 2 > (1u << 20) ? value_size * 2 : (1u << 20);
    v->buf = calloc(1, v->len);
    if (!v->buf)
        return -ENOMEM;
    bench_rng r;
    rng_seed(&r, seed ^ 0x5eedf00dull);
    for (size_t i = 0; i + 8 <= v->len; i += 8) {
        uint64_t x = rng_next(&r);
        memcpy(v->buf + i, &x, 8);
    }
    return 0;
}

void valgen_free(valgen *v)
{
    free(v->buf);
    v->buf = NULL;
}
