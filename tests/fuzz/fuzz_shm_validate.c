/*
 * fuzz_shm_validate.c — the daemon's descriptor check (shm/validate.h), the
 * first thing it runs on bytes a hostile client controls, and the checks
 * that follow it on the same path: the batch payload walk of WRITE_BATCH
 * and the iterator page walk (shm_page_check).
 *
 * Input: [64-byte descriptor][u32 arena size][u32 page count][rest: arena
 * bytes, also used as a page].
 * Properties, besides memory safety:
 *   - the answer is 0, -EINVAL, -EOPNOTSUPP or -E2BIG, with a reason
 *     exactly when refused, and the same on a second call (the function is
 *     pure); -E2BIG only for a WRITE_BATCH whose payload lies inside the
 *     arena and passes SHM_MAX_BATCH_BYTES;
 *   - an accepted WRITE_BATCH has a payload of at most SHM_MAX_BATCH_BYTES,
 *     at most one entry per SHM_MIN_ENTRY_BYTES of it, and no entries
 *     exactly when it is empty; appended as the daemon does
 *     (lsm_batch_append_encoded into a group that already holds a write),
 *     it either adds exactly its count of entries and bytes to the group or
 *     leaves the group as it was, and agrees with batch_iterate;
 *   - an accepted descriptor has a known opcode, only that opcode's flags,
 *     zero reserved fields, and every offset/length pair inside the arena
 *     (checked by copying each range out of an arena allocated at exactly
 *     the size, so ASan sees any overrun), keys of 1..LSM_MAX_KEY_SIZE
 *     where the opcode takes a key, values up to LSM_MAX_VALUE_SIZE;
 *   - an accepted MULTI_GET has 1 .. SHM_MGET_MAX_KEYS keys, a key list
 *     sized for them and an output holding the results table; its key list,
 *     walked by shm_mget_keys_parse from an exact-size private copy as the
 *     daemon does, gives keys of 1 .. LSM_MAX_KEY_SIZE bytes inside the
 *     copy, tiling it; -E2BIG also for a MULTI_GET of too many keys;
 *   - shm_page_check accepts only a page whose entries tile it exactly,
 *     and shm_mget_reply_check only a results table whose found values
 *     tile the rest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wal/batch.h"
#include "fuzzkit.h"
#include "lsm.h"
#include "protocol.h"
#include "validate.h"

/* Largest arena the harness allocates to touch the ranges. */
#define TOUCH_MAX (256u << 10)

static volatile uint8_t g_sink;

static void touch(const uint8_t *arena, uint64_t arena_bytes, uint32_t off, uint32_t len)
{
    FK_CHECK((uint64_t)off + len <= arena_bytes, "range [%u, +%u) outside %llu", off, len,
             (unsigned long long)arena_bytes);
    if (!arena || len == 0)
        return;
    uint8_t x = 0;
    for (uint32_t i = 0; i < len; i += 97)
        x ^= arena[off + i];
    g_sink = (uint8_t)(x ^ arena[off + len - 1]);
}

static unsigned allowed_flags(unsigned op)
{
    switch (op) {
    case SHM_OP_PUT: case SHM_OP_DELETE: case SHM_OP_WRITE_BATCH: case SHM_OP_PUT_PIECE:
        return SHM_SQ_SYNC;
    case SHM_OP_ITER_PIECE: return SHM_SQ_PAST;
    case SHM_OP_ITER_OPEN: return SHM_SQ_REVERSE;
    case SHM_OP_ITER_SCAN: return SHM_SQ_REVERSE | SHM_SQ_ONE_PAGE | SHM_SQ_UPTO;
    default: return 0;
    }
}

/* As daemon/batcher.c: append the payload straight from the arena to a
 * group that already holds a write. */
static void check_batch_parse(const struct shm_sqe *q, const uint8_t *arena)
{
    lsm_batch *group = lsm_batch_new();
    FK_CHECK(group, "oom");
    FK_CHECK(lsm_batch_put(group, "other", 5, "client", 6) == 0, "group");
    size_t before = batch_payload(group).size;
    int rc = lsm_batch_append_encoded(group, arena + q->val_off, q->val_len,
                                      (uint32_t)q->arg1);
    FK_CHECK(rc == 0 || rc == LSM_ECORRUPT, "append: %d", rc);
    int walk = batch_iterate(slice_make(arena + q->val_off, q->val_len), (uint32_t)q->arg1,
                             NULL, NULL);
    FK_CHECK(walk == rc, "append %d, batch_iterate %d", rc, walk);
    FK_CHECK(batch_count(group) == (rc == 0 ? 1 + (uint32_t)q->arg1 : 1),
             "group holds %u entries after rc %d", batch_count(group), rc);
    FK_CHECK(batch_payload(group).size == before + (rc == 0 ? q->val_len : 0),
             "group holds %zu bytes after rc %d", batch_payload(group).size, rc);
    lsm_batch_free(group);
}

/* As daemon/multi_get.c: the key list copied out, then walked. */
static void check_mget_parse(const struct shm_sqe *q, const uint8_t *arena)
{
    uint32_t n = (uint32_t)q->arg1;
    char *list = malloc(q->key_len); /* exact size: ASan sees overruns */
    const void **keys = malloc(n * sizeof *keys);
    size_t *lens = malloc(n * sizeof *lens);
    FK_CHECK(list && keys && lens, "oom");
    memcpy(list, arena + q->key_off, q->key_len);
    const char *why = NULL;
    int rc = shm_mget_keys_parse(list, q->key_len, n, keys, lens, &why);
    FK_CHECK(rc == 0 || rc == -EINVAL, "mget parse: %d", rc);
    FK_CHECK((rc == 0) == (why == NULL), "mget parse reason");
    if (rc == 0) {
        uint64_t sum = 0;
        for (uint32_t i = 0; i < n; i++) {
            FK_CHECK(lens[i] >= 1 && lens[i] <= LSM_MAX_KEY_SIZE, "key %u length %zu", i,
                     lens[i]);
            const char *k = keys[i];
            FK_CHECK(k >= list + SHM_MGET_KEY_HDR && k + lens[i] <= list + q->key_len,
                     "key %u outside the list", i);
            touch((const uint8_t *)list, q->key_len, (uint32_t)(k - list), (uint32_t)lens[i]);
            sum += SHM_MGET_KEY_HDR + lens[i];
        }
        FK_CHECK(sum == q->key_len, "keys cover %llu of %u bytes", (unsigned long long)sum,
                 q->key_len);
    }
    free(list);
    free(keys);
    free(lens);
}

static void check_mget_reply(const uint8_t *p, size_t n, uint32_t count)
{
    uint64_t table = (uint64_t)count * sizeof(struct shm_mget_res);
    if (table > n)
        return;
    uint8_t *out = malloc(n ? n : 1);
    FK_CHECK(out != NULL, "oom");
    memcpy(out, p, n);
    uint64_t bytes = table;
    for (uint32_t i = 0; i < count; i++) {
        struct shm_mget_res r;
        memcpy(&r, out + (size_t)i * sizeof r, sizeof r);
        if (r.status == 0)
            bytes += r.value_len;
    }
    int rc = shm_mget_reply_check(out, n, count, bytes);
    FK_CHECK(rc == 0 || rc == -EPROTO, "mget reply check: %d", rc);
    if (rc == 0) {
        FK_CHECK(bytes <= n, "reply of %llu bytes accepted in %zu", (unsigned long long)bytes, n);
        for (uint32_t i = 0; i < count; i++) {
            struct shm_mget_res r;
            memcpy(&r, out + (size_t)i * sizeof r, sizeof r);
            FK_CHECK(r.status <= 0, "positive status");
        }
    }
    free(out);
}

static void check_accepted(const struct shm_sqe *q, const uint8_t *arena, uint64_t arena_bytes)
{
    FK_CHECK(q->opcode != SHM_OP_NOP && q->opcode < SHM_OP_COUNT_, "opcode %u", q->opcode);
    FK_CHECK((q->flags & ~allowed_flags(q->opcode)) == 0, "flags %#x for %s", q->flags,
             shm_op_name(q->opcode));
    FK_CHECK(q->reserved0 == 0 && q->reserved1[1] == 0 &&
             (q->reserved1[0] == 0 || q->opcode == SHM_OP_ITER_SCAN), "reserved");
    if (q->opcode == SHM_OP_ITER_SCAN) {
        FK_CHECK(q->seek_len <= LSM_MAX_KEY_SIZE && q->out_cap > 0, "scan seek %u out %u",
                 q->seek_len, q->out_cap);
        touch(arena, arena_bytes, q->seek_off, q->seek_len);
    }
    touch(arena, arena_bytes, q->key_off, q->key_len);
    touch(arena, arena_bytes, q->val_off, q->val_len);
    touch(arena, arena_bytes, q->out_off, q->out_cap);
    switch (q->opcode) {
    case SHM_OP_PUT: case SHM_OP_DELETE: case SHM_OP_GET:
        FK_CHECK(q->key_len >= 1 && q->key_len <= LSM_MAX_KEY_SIZE, "key length %u",
                 q->key_len);
        break;
    case SHM_OP_ITER_OPEN:
        FK_CHECK(q->key_len <= LSM_MAX_KEY_SIZE && q->val_len <= LSM_MAX_KEY_SIZE,
                 "bound lengths %u %u", q->key_len, q->val_len);
        break;
    default:
        break;
    }
    if (q->opcode == SHM_OP_PUT)
        FK_CHECK(q->val_len <= LSM_MAX_VALUE_SIZE, "value length %u", q->val_len);
    if (q->opcode == SHM_OP_DELETE)
        FK_CHECK(q->val_len == 0 && q->val_off == 0, "delete with a value");
    if (q->opcode == SHM_OP_PUT_PIECE) {
        FK_CHECK(q->key_len >= 1 && q->key_len <= LSM_MAX_KEY_SIZE, "key length %u",
                 q->key_len);
        FK_CHECK(q->arg0 <= LSM_MAX_VALUE_SIZE && q->arg1 <= q->arg0 &&
                     q->val_len <= q->arg0 - q->arg1,
                 "piece [%llu, +%u) of a %llu-byte value", (unsigned long long)q->arg1,
                 q->val_len, (unsigned long long)q->arg0);
    }
    if (q->opcode == SHM_OP_ITER_PIECE)
        FK_CHECK(q->arg0 != 0 && q->key_len == 0 && q->val_len == 0, "iterator piece");
    if (q->opcode == SHM_OP_MULTI_GET) {
        FK_CHECK(q->arg1 >= 1 && q->arg1 <= SHM_MGET_MAX_KEYS, "mget count %llu",
                 (unsigned long long)q->arg1);
        FK_CHECK(q->key_len >= q->arg1 * (SHM_MGET_KEY_HDR + 1), "mget list %u", q->key_len);
        FK_CHECK(q->out_cap >= q->arg1 * sizeof(struct shm_mget_res), "mget out %u",
                 q->out_cap);
        if (arena)
            check_mget_parse(q, arena);
    }
    if (q->opcode == SHM_OP_WRITE_BATCH) {
        FK_CHECK(q->val_len <= SHM_MAX_BATCH_BYTES, "batch payload %u", q->val_len);
        FK_CHECK(q->arg1 <= q->val_len / SHM_MIN_ENTRY_BYTES, "batch count %llu for %u bytes",
                 (unsigned long long)q->arg1, q->val_len);
        FK_CHECK((q->arg1 == 0) == (q->val_len == 0), "batch emptiness");
        if (arena)
            check_batch_parse(q, arena);
    }
}

static void check_page(const uint8_t *p, size_t n, uint32_t count)
{
    uint8_t *page = malloc(n ? n : 1); /* exact size */
    FK_CHECK(page != NULL, "oom");
    memcpy(page, p, n);
    int rc = shm_page_check(page, n, count);
    FK_CHECK(rc == 0 || rc == -EPROTO, "page check: %d", rc);
    if (rc == 0) {
        size_t pos = 0;
        for (uint32_t i = 0; i < count; i++) {
            FK_CHECK(n - pos >= SHM_PAGE_ENTRY_HDR, "entry %u header", i);
            uint32_t kl, vl;
            memcpy(&kl, page + pos, 4);
            memcpy(&vl, page + pos + 4, 4);
            pos += SHM_PAGE_ENTRY_HDR;
            FK_CHECK((uint64_t)kl + vl <= n - pos, "entry %u body", i);
            pos += (size_t)kl + vl;
        }
        FK_CHECK(pos == n, "page of %zu bytes, entries end at %zu", n, pos);
    }
    free(page);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fk_init();
    uint8_t raw[sizeof(struct shm_sqe)] = { 0 };
    fk_in in = { data, size };
    size_t got;
    const uint8_t *d = fk_bytes(&in, sizeof raw, &got);
    memcpy(raw, d, got);
    uint64_t arena_bytes = fk_u32(&in);
    uint32_t count = fk_u32(&in) % 4096;
    struct shm_sqe q;
    shm_sqe_read(raw, &q);

    const char *why = NULL, *why2 = NULL;
    int rc = shm_validate_sqe(&q, arena_bytes, &why);
    FK_CHECK(rc == 0 || rc == -EINVAL || rc == -EOPNOTSUPP || rc == -E2BIG, "validate: %d",
             rc);
    FK_CHECK(rc != -E2BIG || (q.opcode == SHM_OP_WRITE_BATCH && q.val_len > SHM_MAX_BATCH_BYTES &&
                              shm_range_ok(q.val_off, q.val_len, arena_bytes)) ||
                 (q.opcode == SHM_OP_MULTI_GET && q.arg1 > SHM_MGET_MAX_KEYS),
             "-E2BIG for %s of %u bytes", shm_op_name(q.opcode), q.val_len);
    FK_CHECK((rc == 0) == (why == NULL), "reason %s with rc %d", why ? why : "none", rc);
    FK_CHECK(shm_validate_sqe(&q, arena_bytes, &why2) == rc && why2 == why, "not pure");
    FK_CHECK(shm_op_name(q.opcode) != NULL, "op name");

    /* The arena: the rest of the input, repeated, at exactly arena_bytes
     * (when small enough to allocate). */
    uint8_t *arena = NULL;
    if (rc == 0 && arena_bytes <= TOUCH_MAX) {
        arena = malloc(arena_bytes ? arena_bytes : 1);
        FK_CHECK(arena != NULL, "oom");
        for (uint64_t i = 0; i < arena_bytes; i++)
            arena[i] = in.n ? in.p[i % in.n] : (uint8_t)i;
    }
    if (rc == 0)
        check_accepted(&q, arena, arena_bytes);
    free(arena);
    check_page(in.p, in.n, count);
    check_mget_reply(in.p, in.n, count);
    return 0;
}
