/* block_builder.c — see block_builder.h and docs/sstable-format.md. */
#include "table/block_builder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/coding.h"

void block_builder_init(block_builder *b, int restart_interval)
{
    memset(b, 0, sizeof *b);
    b->restart_interval = restart_interval;
}

void block_builder_fini(block_builder *b)
{
    free(b->buf);
    free(b->restarts);
    free(b->last_key);
    memset(b, 0, sizeof *b);
}

void block_builder_reset(block_builder *b)
{
    b->len = 0;
    b->num_restarts = 0;
    b->counter = 0;
    b->last_len = 0;
    b->entries = 0;
    b->finished = false;
}

/* Makes room for need more bytes in buf. */
static int reserve(block_builder *b, size_t need)
{
    if (b->cap - b->len >= need)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < need)
        cap *= 2;
    char *p = realloc(b->buf, cap);
    if (!p)
        return -ENOMEM;
    b->buf = p;
    b->cap = cap;
    return 0;
}

static int push_restart(block_builder *b, uint32_t off)
{
    if (b->num_restarts == b->restarts_cap) {
        size_t cap = b->restarts_cap ? b->restarts_cap * 2 : 64;
        uint32_t *r = realloc(b->restarts, cap * sizeof *r);
        if (!r)
            return -ENOMEM;
        b->restarts = r;
        b->restarts_cap = cap;
    }
    b->restarts[b->num_restarts++] = off;
    return 0;
}

int block_builder_add(block_builder *b, slice key, slice value)
{
    size_t shared = 0;
    bool restart = b->entries == 0 || b->counter >= b->restart_interval;
    if (!restart) {
        size_t n = key.size < b->last_len ? key.size : b->last_len;
        while (shared < n && key.data[shared] == b->last_key[shared])
            shared++;
    }
    size_t unshared = key.size - shared;
    int rc = reserve(b, 3 * VARINT32_MAX + unshared + value.size);
    if (rc)
        return rc;
    if (key.size > b->last_cap) {
        size_t cap = b->last_cap ? b->last_cap : 64;
        while (cap < key.size)
            cap *= 2;
        char *k = realloc(b->last_key, cap);
        if (!k)
            return -ENOMEM;
        b->last_key = k;
        b->last_cap = cap;
    }
    if (restart) {
        if ((rc = push_restart(b, (uint32_t)b->len)))
            return rc;
        b->counter = 0;
    }
    char *p = b->buf + b->len;
    p = put_varint32(p, (uint32_t)shared);
    p = put_varint32(p, (uint32_t)unshared);
    p = put_varint32(p, (uint32_t)value.size);
    memcpy(p, key.data + shared, unshared);
    p += unshared;
    if (value.size)
        memcpy(p, value.data, value.size);
    p += value.size;
    b->len = (size_t)(p - b->buf);
    memcpy(b->last_key + shared, key.data + shared, unshared);
    b->last_len = key.size;
    b->counter++;
    b->entries++;
    return 0;
}

int block_builder_finish(block_builder *b, slice *out)
{
    if (b->num_restarts == 0) { /* empty block: still one restart at 0 */
        int rc = push_restart(b, 0);
        if (rc)
            return rc;
    }
    int rc = reserve(b, b->num_restarts * 4 + 4);
    if (rc)
        return rc;
    char *p = b->buf + b->len;
    for (size_t i = 0; i < b->num_restarts; i++, p += 4)
        put_fixed32(p, b->restarts[i]);
    put_fixed32(p, (uint32_t)b->num_restarts);
    b->len += b->num_restarts * 4 + 4;
    b->finished = true;
    *out = slice_make(b->buf, b->len);
    return 0;
}
