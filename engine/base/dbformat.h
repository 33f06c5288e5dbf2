/*
 * dbformat.h — internal keys: how a user key, a sequence number and an
 * operation type are packed into one sortable byte string.
 *
 *   internal key = user_key || fixed64_le((sequence << 8) | type)
 *
 * Order: user key ascending (bytewise), then sequence descending, then type
 * descending, so the newest version of a key comes first and a seek to
 * (key, snapshot_seq, LSM_TYPE_SEEK) lands on the newest version visible at
 * the snapshot.  Sequences are 56 bits.
 */
#ifndef LSM_DBFORMAT_H
#define LSM_DBFORMAT_H

#include <stdint.h>
#include "base/coding.h"
#include "base/slice.h"

enum value_type {
    LSM_TYPE_DELETE = 0,
    LSM_TYPE_PUT = 1,
};
#define LSM_TYPE_SEEK LSM_TYPE_PUT /* the highest type: sorts first */

#define LSM_MAX_SEQUENCE ((UINT64_C(1) << 56) - 1)
#define INTERNAL_TRAILER 8

static inline uint64_t pack_trailer(uint64_t seq, enum value_type t)
{
    return (seq << 8) | (uint64_t)t;
}

/* REQUIRES: ik.size >= INTERNAL_TRAILER */
static inline slice ikey_user(slice ik)
{
    return slice_make(ik.data, ik.size - INTERNAL_TRAILER);
}
static inline uint64_t ikey_trailer(slice ik)
{
    return get_fixed64(ik.data + ik.size - INTERNAL_TRAILER);
}
static inline uint64_t ikey_seq(slice ik) { return ikey_trailer(ik) >> 8; }
static inline enum value_type ikey_type(slice ik)
{
    return (enum value_type)(ikey_trailer(ik) & 0xff);
}

/* Writes user_key||trailer into dst (room for ukey.size + 8 bytes). */
static inline size_t ikey_encode(char *dst, slice ukey, uint64_t seq, enum value_type t)
{
    memcpy(dst, ukey.data, ukey.size);
    put_fixed64(dst + ukey.size, pack_trailer(seq, t));
    return ukey.size + INTERNAL_TRAILER;
}

/* Internal-key order as described above. */
static inline int ikey_compare(slice a, slice b)
{
    int r = slice_compare(ikey_user(a), ikey_user(b));
    if (r != 0)
        return r;
    uint64_t ta = ikey_trailer(a), tb = ikey_trailer(b);
    return (ta < tb) - (ta > tb);
}

#endif
