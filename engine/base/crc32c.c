/* crc32c.c — see crc32c.h.
 *
 * Two implementations of the same function:
 *
 *   portable  slicing-by-8: eight 256-entry tables, one table lookup per
 *             input byte but eight independent ones per 64-bit word.
 *   sse4.2    the crc32 instruction, 8 bytes per instruction.  It has a
 *             3-cycle latency and 1-cycle throughput, so long buffers are
 *             cut into three streams run side by side and their CRCs are
 *             combined with a precomputed "append N zero bytes" operator
 *             (the technique of Mark Adler's crc32c.c and Intel's white paper
 *             "Fast CRC Computation for iSCSI Polynomial Using CRC32
 *             Instruction").
 *
 * Both work on the raw (non-inverted) register internally; the standard
 * pre- and post-inversion happens once per call, which is what makes
 * crc32c_extend composable.
 */
#include "base/crc32c.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "base/coding.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#define CRC32C_HAVE_X86 1
#endif

#define POLY 0x82f63b78u /* Castagnoli, bit-reflected */

static uint32_t table[8][256];      /* slicing-by-8 */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool use_hw;

/* ---- portable ---------------------------------------------------------- */

static void init_tables(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (POLY & (0u - (c & 1)));
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int k = 1; k < 8; k++)
            table[k][n] = (table[k - 1][n] >> 8) ^ table[0][table[k - 1][n] & 0xff];
}

static uint32_t sw_update(uint32_t crc, const unsigned char *p, size_t n)
{
    while (n && ((uintptr_t)p & 7)) {
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
        n--;
    }
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w = get_fixed64((const char *)p) ^ crc;
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^
              table[5][(w >> 16) & 0xff] ^ table[4][(w >> 24) & 0xff] ^
              table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
              table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
    }
    while (n--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return crc;
}

/* ---- hardware ---------------------------------------------------------- */

#ifdef CRC32C_HAVE_X86

/* Stream lengths for the three-way split.  LONG amortises the two shift
 * operations over 24 KiB; SHORT still wins for buffers of 768 bytes up. */
#define LONG 8192
#define SHORT 256

static uint32_t zeros_long[4][256], zeros_short[4][256];

static uint32_t gf2_times(const uint32_t *mat, uint32_t vec)
{
    uint32_t sum = 0;
    for (; vec; vec >>= 1, mat++)
        if (vec & 1)
            sum ^= *mat;
    return sum;
}

static void gf2_square(uint32_t *sq, const uint32_t *mat)
{
    for (int n = 0; n < 32; n++)
        sq[n] = gf2_times(mat, mat[n]);
}

/* Fills zeros[][] so that shift(zeros, crc) is the raw CRC register after
 * feeding len zero bytes to a register holding crc.  len: a power of two. */
static void init_zeros(uint32_t zeros[4][256], size_t len)
{
    uint32_t a[32], b[32], *cur = a, *tmp = b;
    /* operator for one zero bit */
    a[0] = POLY;
    for (int n = 1; n < 32; n++)
        a[n] = 1u << (n - 1);
    /* square three times: one zero byte */
    for (int i = 0; i < 3; i++) {
        gf2_square(tmp, cur);
        uint32_t *t = cur; cur = tmp; tmp = t;
    }
    /* then once per halving of len: len zero bytes */
    for (; len > 1; len >>= 1) {
        gf2_square(tmp, cur);
        uint32_t *t = cur; cur = tmp; tmp = t;
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int k = 0; k < 4; k++)
            zeros[k][n] = gf2_times(cur, n << (8 * k));
}

static inline uint32_t shift(uint32_t zeros[4][256], uint32_t crc)
{
    return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^
           zeros[2][(crc >> 16) & 0xff] ^ zeros[3][crc >> 24];
}

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Three CRCs of adjacent len-byte streams at once, combined into crc0. */
#define CRC_3WAY(len, zeros)                                                 \
    while (n >= 3 * (len)) {                                                 \
        uint64_t c1 = 0, c2 = 0;                                             \
        const unsigned char *end = p + (len);                                \
        do {                                                                 \
            c0 = _mm_crc32_u64(c0, load64(p));                               \
            c1 = _mm_crc32_u64(c1, load64(p + (len)));                       \
            c2 = _mm_crc32_u64(c2, load64(p + 2 * (len)));                   \
            p += 8;                                                          \
        } while (p < end);                                                   \
        c0 = shift(zeros, (uint32_t)c0) ^ (uint32_t)c1;                      \
        c0 = shift(zeros, (uint32_t)c0) ^ (uint32_t)c2;                      \
        p += 2 * (len);                                                      \
        n -= 3 * (len);                                                      \
    }

__attribute__((target("sse4.2")))
static uint32_t hw_update(uint32_t crc, const unsigned char *p, size_t n)
{
    /* No alignment prologue: unaligned 8-byte loads cost next to nothing
     * on CPUs with SSE4.2, while a byte loop would add up to 7 dependent
     * 3-cycle steps to every short record. */
    uint64_t c0 = crc;
    CRC_3WAY(LONG, zeros_long)
    CRC_3WAY(SHORT, zeros_short)
    for (; n >= 8; n -= 8, p += 8)
        c0 = _mm_crc32_u64(c0, load64(p));
    uint32_t c = (uint32_t)c0;
    if (n & 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        c = _mm_crc32_u32(c, w);
        p += 4;
    }
    if (n & 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        c = _mm_crc32_u16(c, w);
        p += 2;
    }
    if (n & 1)
        c = _mm_crc32_u8(c, *p);
    return c;
}

#endif /* CRC32C_HAVE_X86 */

/* ---- dispatch ---------------------------------------------------------- */

static void init(void)
{
    init_tables();
#ifdef CRC32C_HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) {
        init_zeros(zeros_long, LONG);
        init_zeros(zeros_short, SHORT);
        use_hw = true;
    }
#endif
}

uint32_t crc32c_extend_portable(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&init_once, init);
    return ~sw_update(~crc, data, n);
}

uint32_t crc32c_extend(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&init_once, init); /* its fast path is one acquire load */
#ifdef CRC32C_HAVE_X86
    if (use_hw)
        return ~hw_update(~crc, data, n);
#endif
    return ~sw_update(~crc, data, n);
}

int crc32c_hw_available(void)
{
    pthread_once(&init_once, init);
    return use_hw;
}
