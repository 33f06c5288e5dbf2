/*
 * coding.h — little-endian fixed-width and varint encodings used by every
 * on-disk format (docs/wal-format.md, docs/sstable-format.md,
 * docs/manifest-format.md).
 *
 * Decoders take an explicit end pointer and return NULL on truncated or
 * over-long input, so readers of hostile or torn bytes never run past a
 * buffer.
 */
#ifndef LSM_CODING_H
#define LSM_CODING_H

#include <stdint.h>
#include <string.h>

static inline void put_fixed32(char *p, uint32_t v)
{
    unsigned char *b = (unsigned char *)p;
    b[0] = (unsigned char)v; b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16); b[3] = (unsigned char)(v >> 24);
}

static inline void put_fixed64(char *p, uint64_t v)
{
    put_fixed32(p, (uint32_t)v);
    put_fixed32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t get_fixed32(const char *p)
{
    const unsigned char *b = (const unsigned char *)p;
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
           ((uint32_t)b[3] << 24);
}

static inline uint64_t get_fixed64(const char *p)
{
    return (uint64_t)get_fixed32(p) | ((uint64_t)get_fixed32(p + 4) << 32);
}

#define VARINT32_MAX 5
#define VARINT64_MAX 10

/* Writes v at p; returns the byte after it. */
static inline char *put_varint64(char *p, uint64_t v)
{
    unsigned char *b = (unsigned char *)p;
    while (v >= 0x80) {
        *b++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *b++ = (unsigned char)v;
    return (char *)b;
}

static inline char *put_varint32(char *p, uint32_t v)
{
    return put_varint64(p, v);
}

static inline int varint_length(uint64_t v)
{
    int n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Reads a varint from [p, end); NULL if truncated or longer than 64 bits. */
static inline const char *get_varint64(const char *p, const char *end, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift <= 63 && p < end; shift += 7) {
        uint64_t byte = (unsigned char)*p++;
        r |= (byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *v = r;
            return p;
        }
    }
    return NULL;
}

/* As get_varint64, and NULL if the value does not fit 32 bits. */
static inline const char *get_varint32(const char *p, const char *end, uint32_t *v)
{
    uint64_t r;
    p = get_varint64(p, end, &r);
    if (!p || r > UINT32_MAX)
        return NULL;
    *v = (uint32_t)r;
    return p;
}

#endif
