/*
 * crc32c.h — CRC-32C (Castagnoli), the checksum of every WAL record, SSTable
 * block and MANIFEST record.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at
 * run time) and a portable table-driven fallback otherwise; both give the
 * same result (RFC 3720 test vectors in tests/unit/test_crc32c.c).
 */
#ifndef LSM_CRC32C_H
#define LSM_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Returns the CRC-32C of data[0..n) appended to a stream whose CRC is crc
 * (pass 0 to start).  crc32c_extend(crc32c_extend(0, a), b) == crc of a||b. */
uint32_t crc32c_extend(uint32_t crc, const void *data, size_t n);

static inline uint32_t crc32c(const void *data, size_t n)
{
    return crc32c_extend(0, data, n);
}

/* The portable implementation, exposed so tests can compare it with the
 * hardware path. */
uint32_t crc32c_extend_portable(uint32_t crc, const void *data, size_t n);

/* 1 if the SSE4.2 path is in use. */
int crc32c_hw_available(void);

/* A stored CRC is masked so that a CRC of bytes that embed CRCs stays strong
 * (same rotation and constant as LevelDB's crc32c::Mask). */
static inline uint32_t crc32c_mask(uint32_t crc)
{
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static inline uint32_t crc32c_unmask(uint32_t masked)
{
    uint32_t rot = masked - 0xa282ead8u;
    return (rot >> 17) | (rot << 15);
}

#endif
