/* batch.c — see batch.h; the entry format is wal/batch_format.h
 * (docs/wal-format.md, "Payload"). */
#include "wal/batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/reason.h"

_Static_assert(BATCH_TYPE_PUT == LSM_TYPE_PUT && BATCH_TYPE_DELETE == LSM_TYPE_DELETE,
               "the encoded types are the engine's value types");

/* The smallest entry (a delete of a 1-byte key) is 10 bytes, so a payload
 * within BATCH_MAX_BYTES cannot count past UINT32_MAX entries. */
_Static_assert(BATCH_MAX_BYTES / (BATCH_ENTRY_HEADER_SIZE + 1) < UINT32_MAX,
               "entry count fits the record header");

#define BATCH_INITIAL_CAP 256 /* payload bytes: a few small entries */

struct lsm_batch {
    char *buf;      /* WAL_HEADER_SIZE bytes of headroom, then the payload */
    size_t len;     /* payload bytes in use */
    size_t cap;     /* payload bytes allocated after the headroom */
    uint32_t count; /* entries */
};

lsm_batch *lsm_batch_new(void)
{
    lsm_batch *b = malloc(sizeof *b);
    if (!b)
        return NULL;
    b->buf = malloc(WAL_HEADER_SIZE + BATCH_INITIAL_CAP);
    if (!b->buf) {
        free(b);
        return NULL;
    }
    b->len = 0;
    b->cap = BATCH_INITIAL_CAP;
    b->count = 0;
    return b;
}

void lsm_batch_free(lsm_batch *b)
{
    if (!b)
        return;
    free(b->buf);
    free(b);
}

void lsm_batch_clear(lsm_batch *b)
{
    if (!b)
        return;
    b->len = 0;
    b->count = 0;
}

/* Makes room for a payload of need bytes.  REQUIRES: need <= BATCH_MAX_BYTES. */
static int batch_reserve(lsm_batch *b, size_t need)
{
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap * 2;
    if (cap < need)
        cap = need;
    if (cap > BATCH_MAX_BYTES)
        cap = BATCH_MAX_BYTES;
    char *buf = realloc(b->buf, WAL_HEADER_SIZE + cap);
    if (!buf)
        return -ENOMEM;
    b->buf = buf;
    b->cap = cap;
    return 0;
}

int batch_put_raw(lsm_batch *b, enum value_type type, slice key, slice value)
{
    if (!b || !key.data || key.size == 0 || key.size > LSM_MAX_KEY_SIZE) {
        char why[REASON_MAX];
        reason_key_size(why, sizeof why, key.data ? key.size : 0);
        return reason_set(-EINVAL, "%s", why);
    }
    if (type != LSM_TYPE_PUT && (type != LSM_TYPE_DELETE || value.size > 0)) {
        log_warn("batch: entry type %d with a %zu-byte value refused", (int)type, value.size);
        return -EINVAL;
    }
    if (value.size > LSM_MAX_VALUE_SIZE || (!value.data && value.size > 0)) {
        char why[REASON_MAX];
        reason_value_size(why, sizeof why, value.size);
        return reason_set(-EINVAL, "%s", value.data ? why : "value NULL with a length");
    }
    /* Sizes are bounded above, so this sum cannot overflow. */
    size_t n = BATCH_ENTRY_HEADER_SIZE + key.size + value.size;
    if (n > BATCH_MAX_BYTES - b->len) {
        return reason_set(-EINVAL, "entry of %zu bytes would pass the %zu-byte batch limit", n,
                          (size_t)BATCH_MAX_BYTES);
    }
    if (b->cap - b->len < n) {
        int rc = batch_reserve(b, b->len + n);
        if (rc != 0)
            return rc;
    }
    char *p = b->buf + WAL_HEADER_SIZE + b->len;
    batch_entry_header_encode(p, type, (uint32_t)key.size, (uint32_t)value.size);
    p += BATCH_ENTRY_HEADER_SIZE;
    memcpy(p, key.data, key.size);
    if (value.size)
        memcpy(p + key.size, value.data, value.size);
    b->len += n;
    b->count++;
    return 0;
}

int lsm_batch_put(lsm_batch *b, const void *key, size_t klen, const void *val, size_t vlen)
{
    reason_clear();
    return batch_put_raw(b, LSM_TYPE_PUT, slice_make(key, klen), slice_make(val, vlen));
}

int lsm_batch_delete(lsm_batch *b, const void *key, size_t klen)
{
    reason_clear();
    return batch_put_raw(b, LSM_TYPE_DELETE, slice_make(key, klen), slice_make(NULL, 0));
}

uint32_t batch_count(const lsm_batch *b)
{
    return b->count;
}

slice batch_payload(const lsm_batch *b)
{
    return slice_make(b->buf + WAL_HEADER_SIZE, b->len);
}

char *batch_frame(lsm_batch *b)
{
    return b->buf;
}

int batch_append(lsm_batch *dst, const lsm_batch *src)
{
    if (src->len > BATCH_MAX_BYTES - dst->len) {
        log_warn("batch: merging %zu bytes would pass the %zu-byte batch limit",
                  src->len, BATCH_MAX_BYTES);
        return -EINVAL;
    }
    int rc = batch_reserve(dst, dst->len + src->len);
    if (rc != 0)
        return rc;
    memcpy(dst->buf + WAL_HEADER_SIZE + dst->len, src->buf + WAL_HEADER_SIZE, src->len);
    dst->len += src->len;
    dst->count += src->count;
    return 0;
}

int lsm_batch_append_encoded(lsm_batch *b, const void *data, size_t len, uint32_t count)
{
    if (!b || (!data && len > 0))
        return -EINVAL;
    if (len > BATCH_MAX_BYTES - b->len)
        return -E2BIG;
    int rc = batch_reserve(b, b->len + len);
    if (rc != 0)
        return rc;
    /* Copied first, then checked: a writer changing data meanwhile (shared
     * memory) cannot change what was checked.  b->len moves only after. */
    char *p = b->buf + WAL_HEADER_SIZE + b->len;
    if (len)
        memcpy(p, data, len);
    rc = batch_iterate(slice_make(p, len), count, NULL, NULL);
    if (rc != 0)
        return rc;
    b->len += len;
    b->count += count; /* cannot wrap: see the _Static_assert above */
    return 0;
}

int batch_iterate(slice payload, uint32_t count, batch_entry_fn fn, void *ctx)
{
    if (payload.size == 0)
        return count == 0 ? 0 : LSM_ECORRUPT;
    const char *p = payload.data;
    const char *end = p + payload.size;
    for (uint32_t i = 0; i < count; i++) {
        if ((size_t)(end - p) < BATCH_ENTRY_HEADER_SIZE)
            return LSM_ECORRUPT;
        unsigned type = (unsigned char)p[BATCH_ENTRY_OFF_TYPE];
        uint32_t klen = batch_get_u32(p + BATCH_ENTRY_OFF_KLEN);
        uint32_t vlen = batch_get_u32(p + BATCH_ENTRY_OFF_VLEN);
        p += BATCH_ENTRY_HEADER_SIZE;
        if (!batch_entry_header_valid(type, klen, vlen))
            return LSM_ECORRUPT;
        if ((size_t)(end - p) < (size_t)klen + vlen)
            return LSM_ECORRUPT;
        if (fn) {
            int rc = fn(ctx, (enum value_type)type, slice_make(p, klen),
                        slice_make(p + klen, vlen));
            if (rc != 0)
                return rc;
        }
        p += (size_t)klen + vlen;
    }
    return p == end ? 0 : LSM_ECORRUPT;
}
