/*
 * sstable_format.h — on-disk constants of an SSTable, shared by the writer
 * (sstable_builder.c, block_builder.c, bloom.c) and the reader
 * (sstable_reader.c, block.c).
 *
 * The prose specification, with a diagram, byte tables, validity rules and a
 * worked example, is docs/sstable-format.md.  Change the two together; any
 * change a version-1 reader cannot read bumps SST_FORMAT_VERSION.
 *
 *   file   = data block* | filter block? | index block | properties block | footer
 *   block  = contents | trailer
 *   trailer= compression type u8 | masked crc32c u32 (contents || type byte)
 */
#ifndef LSM_SSTABLE_FORMAT_H
#define LSM_SSTABLE_FORMAT_H

#include <stdint.h>

#include "base/coding.h"
#include "base/crc32c.h"
#include "base/slice.h"

/* Footer: the last SST_FOOTER_SIZE bytes of every table (doc §Footer).
 * "lsmd sorted string table" | sha256sum, first 8 bytes, as a u64. */
#define SST_MAGIC            UINT64_C(0x872fd7478ffa4d7e)
#define SST_FORMAT_VERSION   1u
#define SST_FOOTER_SIZE      64

/* Byte offsets inside the footer.  Version and magic stay the last 12 bytes
 * in every future version, so any reader can tell "not a table" from "a
 * table too new for me" before it trusts the rest of the layout. */
#define SST_FOOTER_INDEX_OFF    0  /* u64 offset, u64 size */
#define SST_FOOTER_FILTER_OFF  16  /* u64 offset, u64 size; size 0 = no filter */
#define SST_FOOTER_PROPS_OFF   32  /* u64 offset, u64 size */
#define SST_FOOTER_CRC_OFF     48  /* masked crc32c of the other 60 bytes */
#define SST_FOOTER_VERSION_OFF 52  /* u32 */
#define SST_FOOTER_MAGIC_OFF   56  /* u64 */

/* Block trailer (doc §Blocks). */
#define SST_BLOCK_TRAILER_SIZE 5
enum sst_compression {
    SST_COMPRESSION_NONE = 0,
    SST_COMPRESSION_LZ4 = 1,  /* reserved, not written by version 1 */
    SST_COMPRESSION_ZSTD = 2, /* reserved, not written by version 1 */
};

/* Data and index blocks (doc §Block contents): restart array of u32 plus
 * its u32 count at the end of the contents. */
#define SST_BLOCK_MIN_SIZE 4 /* just num_restarts */

/* Where a block lives: contents start at offset and are size bytes long;
 * the 5-byte trailer follows.  In the index block a handle is varint64
 * offset | varint64 size; in the footer two fixed u64. */
typedef struct sst_handle {
    uint64_t offset;
    uint64_t size;
} sst_handle;
#define SST_HANDLE_MAX_ENCODED 20

static inline char *sst_handle_encode(char *p, sst_handle h)
{
    return put_varint64(put_varint64(p, h.offset), h.size);
}

/* Decodes a whole slice as one handle; 0 or -1 (malformed, trailing bytes). */
static inline int sst_handle_decode(slice s, sst_handle *h)
{
    const char *end = s.data + s.size;
    const char *p = get_varint64(s.data, end, &h->offset);
    if (p)
        p = get_varint64(p, end, &h->size);
    return p == end ? 0 : -1;
}

/* The masked crc32c stored in a block trailer: over contents || type. */
static inline uint32_t sst_block_crc(slice contents, uint8_t type)
{
    uint32_t crc = crc32c_extend(0, contents.data, contents.size);
    return crc32c_mask(crc32c_extend(crc, &type, 1));
}

/* The masked crc32c stored in the footer: over every footer byte except the
 * crc field itself. */
static inline uint32_t sst_footer_crc(const char *footer)
{
    uint32_t crc = crc32c_extend(0, footer, SST_FOOTER_CRC_OFF);
    return crc32c_mask(crc32c_extend(crc, footer + SST_FOOTER_VERSION_OFF,
                                     SST_FOOTER_SIZE - SST_FOOTER_VERSION_OFF));
}

/* Filter block (doc §Filter block): bit array then num_probes u8. */
#define SST_BLOOM_MIN_PROBES 1
#define SST_BLOOM_MAX_PROBES 30

/* Properties block (doc §Properties block): a sequence of
 * tag varint32 | value, where tag = field << 1 | wire type. */
enum sst_prop_wire {
    SST_WIRE_VARINT = 0, /* value = varint64 */
    SST_WIRE_BYTES = 1,  /* value = varint32 length | bytes */
};
enum sst_prop_field {
    SST_PROP_SMALLEST = 1,       /* bytes: internal key */
    SST_PROP_LARGEST = 2,        /* bytes: internal key */
    SST_PROP_ENTRIES = 3,
    SST_PROP_DELETIONS = 4,
    SST_PROP_MIN_SEQ = 5,
    SST_PROP_MAX_SEQ = 6,
    SST_PROP_RAW_KEY_BYTES = 7,
    SST_PROP_RAW_VALUE_BYTES = 8,
    SST_PROP_DATA_BLOCKS = 9,
    SST_PROP_DATA_BYTES = 10,
    SST_PROP_INDEX_BYTES = 11,
    SST_PROP_FILTER_BYTES = 12,
    SST_PROP_CREATED_UNIX = 13,
    SST_PROP_FORMAT_VERSION = 14,
    SST_PROP_BLOOM_BITS_PER_KEY = 15,
    SST_PROP_FILTER_KEYS = 16,   /* distinct user keys in the filter */
};

/* Option defaults (sst_options). */
#define SST_DEFAULT_BLOCK_BYTES       4096
#define SST_DEFAULT_RESTART_INTERVAL  16
#define SST_DEFAULT_BLOOM_BITS_PER_KEY 10
/* Index blocks restart at every entry: the binary search then lands on the
 * exact entry and no key is ever rebuilt from a delta (doc §Index block). */
#define SST_INDEX_RESTART_INTERVAL    1

#endif
