/* client_batch.c — client write batches (lsmd.h), held in the engine's
 * encoded batch form (wal/batch_format.h, the WAL payload of
 * docs/wal-format.md) so the daemon appends them to a group with one copy
 * (lsm_batch_append_encoded) and logs them without re-encoding. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "wal/batch_format.h"

struct lsmd_batch {
    char *buf;
    size_t len, cap;
    uint32_t count;
};

lsmd_batch *lsmd_batch_new(void)
{
    return calloc(1, sizeof(lsmd_batch));
}

static int append(lsmd_batch *b, uint8_t type, const void *key, size_t klen,
                  const void *val, size_t vlen)
{
    if (!b || !key || klen < 1 || klen > LSM_MAX_KEY_SIZE ||
        vlen > LSM_MAX_VALUE_SIZE || (vlen && !val) || b->count == UINT32_MAX)
        return -EINVAL;
    size_t need = BATCH_ENTRY_HEADER_SIZE + klen + vlen;
    if (b->len + need > BATCH_MAX_BYTES)
        return -EINVAL;
    if (b->len + need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + need)
            cap *= 2;
        char *nb = realloc(b->buf, cap);
        if (!nb)
            return -ENOMEM;
        b->buf = nb;
        b->cap = cap;
    }
    char *p = b->buf + b->len;
    batch_entry_header_encode(p, type, (uint32_t)klen, (uint32_t)vlen);
    memcpy(p + BATCH_ENTRY_HEADER_SIZE, key, klen);
    if (vlen)
        memcpy(p + BATCH_ENTRY_HEADER_SIZE + klen, val, vlen);
    b->len += need;
    b->count++;
    return 0;
}

int lsmd_batch_put(lsmd_batch *b, const void *key, size_t klen, const void *val,
                   size_t vlen)
{
    return append(b, BATCH_TYPE_PUT, key, klen, val, vlen);
}

int lsmd_batch_delete(lsmd_batch *b, const void *key, size_t klen)
{
    return append(b, BATCH_TYPE_DELETE, key, klen, NULL, 0);
}

void lsmd_batch_clear(lsmd_batch *b)
{
    if (b) {
        b->len = 0;
        b->count = 0;
    }
}

void lsmd_batch_free(lsmd_batch *b)
{
    if (b) {
        free(b->buf);
        free(b);
    }
}

uint32_t lsmd_batch_count(const lsmd_batch *b)
{
    return b ? b->count : 0;
}

int lsmd_write(lsmd_conn *c, const lsmd_batch *b, int flags)
{
    if (!b || (flags & ~LSM_SYNC))
        return -EINVAL;
    if (b->count == 0)
        return conn_alive(c);
    if (b->len > c->large_bytes)
        return -E2BIG;
    memcpy(conn_large(c), b->buf, b->len);
    struct shm_sqe sqe = {
        .opcode = SHM_OP_WRITE_BATCH,
        .flags = (uint8_t)(flags & LSM_SYNC ? SHM_SQ_SYNC : 0),
        .arg1 = b->count,
        .val_off = c->large_off,
        .val_len = (uint32_t)b->len,
    };
    struct shm_cqe cqe;
    int rc = conn_call(c, &sqe, &cqe);
    return rc ? rc : cqe.status;
}
