/*
 * wal_format.h — on-disk constants of the write-ahead log, shared by
 * wal_writer.c, wal_reader.c and batch.c; the payload's entries are in
 * wal/batch_format.h, which the client library shares.  The prose, a diagram, the
 * validity rules and a worked example are in docs/wal-format.md; change
 * both together.
 *
 * A WAL file (and the MANIFEST, which reuses this framing) is a sequence of
 * records with no file header.  All integers are little-endian.
 *
 *   record  = crc u32 | length u32 | sequence u64 | count u32 | payload
 *   payload = count entries
 *   entry   = type u8 | key_length u32 | value_length u32 | key | value
 */
#ifndef LSM_WAL_FORMAT_H
#define LSM_WAL_FORMAT_H

#include <stdint.h>

#include "base/coding.h"
#include "wal/batch_format.h"

/* ---- record header (docs/wal-format.md, "Record") ---------------------- */
#define WAL_HEADER_SIZE 20
#define WAL_OFF_CRC 0       /* crc32c_mask(crc32c(bytes [4, 20 + length))) */
#define WAL_OFF_LENGTH 4    /* payload bytes */
#define WAL_OFF_SEQUENCE 8  /* sequence of the first entry; entry i has +i */
#define WAL_OFF_COUNT 16    /* number of entries in the payload */
#define WAL_CRC_START WAL_OFF_LENGTH /* the CRC covers everything after it */

/* Largest payload a writer produces and a reader accepts: the encoded batch
 * limit of lsm_write (lsm.h).  A header claiming more is never valid. */
#define WAL_MAX_PAYLOAD ((uint32_t)BATCH_MAX_BYTES)

/* The payload is count batch entries: wal/batch_format.h. */

/* Fills hdr[WAL_OFF_LENGTH .. WAL_HEADER_SIZE); the caller stores the CRC
 * once the payload is in place. */
static inline void wal_header_encode(char *hdr, uint32_t length, uint64_t sequence,
                                     uint32_t count)
{
    put_fixed32(hdr + WAL_OFF_LENGTH, length);
    put_fixed64(hdr + WAL_OFF_SEQUENCE, sequence);
    put_fixed32(hdr + WAL_OFF_COUNT, count);
}

#endif
