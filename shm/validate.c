/* validate.c — read-once and validation of client descriptors (validate.h).
 * One table row per opcode says what each field may hold; one function
 * checks a descriptor against its row. */
#include "validate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/reason.h"
#include "lsm.h"

/* Static reasons that shm_validate_explain words with the numbers. */
static const char W_KEY_LEN[] = "key length out of range";
static const char W_VAL_LEN[] = "value length out of range";

enum field {
    F_NONE,   /* offset and length must be 0 */
    F_KEY,    /* 1 .. LSM_MAX_KEY_SIZE bytes */
    F_BOUND,  /* 0 (unbounded) .. LSM_MAX_KEY_SIZE */
    F_VALUE,  /* 0 .. LSM_MAX_VALUE_SIZE */
    F_BLOB,   /* any length inside the arena (encoded batch: check_batch) */
    F_NAME,   /* 1 .. SHM_MAX_OPTION_BYTES (option name) */
    F_STR,    /* 0 .. SHM_MAX_OPTION_BYTES (option value) */
    F_OUT,    /* output range, any capacity inside the arena */
    F_OUTOPT, /* optional output: 0/0 or a range */
};

#define SHM_MAX_OPTION_BYTES 4096u

enum arg { A_ZERO, A_ANY, A_NONZERO, A_LEVEL, A_COUNT32, A_STATS_FORMAT, A_VALUE_LEN };

struct op_rule {
    const char *name;
    uint8_t key, val, out;   /* enum field */
    uint8_t flags;           /* allowed SHM_SQ_* bits */
    uint8_t arg0, arg1;      /* enum arg */
};

static const struct op_rule rules[SHM_OP_COUNT_] = {
    [SHM_OP_NOP] = { "NOP", 0, 0, 0, 0, 0, 0 },
    [SHM_OP_PING] = { "PING", F_NONE, F_NONE, F_NONE, 0, A_ZERO, A_ZERO },
    [SHM_OP_PUT] = { "PUT", F_KEY, F_VALUE, F_NONE, SHM_SQ_SYNC, A_ZERO, A_ZERO },
    [SHM_OP_DELETE] = { "DELETE", F_KEY, F_NONE, F_NONE, SHM_SQ_SYNC, A_ZERO, A_ZERO },
    [SHM_OP_GET] = { "GET", F_KEY, F_NONE, F_OUT, 0, A_ANY, A_ZERO },
    [SHM_OP_WRITE_BATCH] = { "WRITE_BATCH", F_NONE, F_BLOB, F_NONE, SHM_SQ_SYNC, A_ZERO, A_COUNT32 },
    [SHM_OP_SNAP_ACQUIRE] = { "SNAP_ACQUIRE", F_NONE, F_NONE, F_NONE, 0, A_ZERO, A_ZERO },
    [SHM_OP_SNAP_HOLD] = { "SNAP_HOLD", F_NONE, F_NONE, F_NONE, 0, A_NONZERO, A_ZERO },
    [SHM_OP_SNAP_RELEASE] = { "SNAP_RELEASE", F_NONE, F_NONE, F_NONE, 0, A_NONZERO, A_ZERO },
    [SHM_OP_SNAP_LIST] = { "SNAP_LIST", F_NONE, F_NONE, F_OUT, 0, A_ZERO, A_ZERO },
    [SHM_OP_ITER_OPEN] = { "ITER_OPEN", F_BOUND, F_BOUND, F_OUTOPT, SHM_SQ_REVERSE, A_ANY, A_COUNT32 },
    [SHM_OP_ITER_NEXT] = { "ITER_NEXT", F_NONE, F_NONE, F_OUT, 0, A_NONZERO, A_COUNT32 },
    [SHM_OP_ITER_CLOSE] = { "ITER_CLOSE", F_NONE, F_NONE, F_NONE, 0, A_NONZERO, A_ZERO },
    [SHM_OP_FLUSH] = { "FLUSH", F_NONE, F_NONE, F_NONE, 0, A_ZERO, A_ZERO },
    [SHM_OP_COMPACT] = { "COMPACT", F_NONE, F_NONE, F_NONE, 0, A_LEVEL, A_ZERO },
    [SHM_OP_SET_OPTION] = { "SET_OPTION", F_NAME, F_STR, F_NONE, 0, A_ZERO, A_ZERO },
    [SHM_OP_STATS] = { "STATS", F_NONE, F_NONE, F_OUT, 0, A_STATS_FORMAT, A_ZERO },
    [SHM_OP_MULTI_GET] = { "MULTI_GET", F_BLOB, F_NONE, F_OUT, 0, A_ANY, A_COUNT32 },
    [SHM_OP_ITER_SCAN] = { "ITER_SCAN", F_BOUND, F_BOUND, F_OUT,
                           SHM_SQ_REVERSE | SHM_SQ_ONE_PAGE | SHM_SQ_UPTO, A_ANY, A_ANY },
    [SHM_OP_CHECKPOINT] = { "CHECKPOINT", F_NAME, F_NONE, F_NONE, 0, A_ZERO, A_ZERO },
    [SHM_OP_GET_OPTION] = { "GET_OPTION", F_STR, F_NONE, F_OUT, 0, A_ZERO, A_ZERO },
    [SHM_OP_CHANGES] = { "CHANGES", F_NONE, F_NONE, F_OUT, 0, A_ANY, A_COUNT32 },
    [SHM_OP_ITER_PIECE] = { "ITER_PIECE", F_NONE, F_NONE, F_OUT, SHM_SQ_PAST, A_NONZERO, A_ANY },
    [SHM_OP_PUT_PIECE] = { "PUT_PIECE", F_KEY, F_VALUE, F_NONE, SHM_SQ_SYNC, A_VALUE_LEN, A_ANY },
};

const char *shm_op_name(unsigned op)
{
    return op < SHM_OP_COUNT_ && rules[op].name ? rules[op].name : "?";
}

void shm_sqe_read(const void *shared, struct shm_sqe *priv)
{
    memcpy(priv, shared, sizeof(*priv));
    /* Compiler barrier: every later use of the descriptor reads *priv, never
     * the shared entry again (no re-load after validation). */
    __asm__ __volatile__("" ::: "memory");
}

/* Checks one offset/length pair against its rule; NULL when fine. */
static const char *check_field(uint8_t rule, uint32_t off, uint32_t len,
                               uint64_t arena, const char *what_range,
                               const char *what_len, const char *what_unused)
{
    uint32_t lo = 0, hi = UINT32_MAX;
    switch (rule) {
    case F_NONE:
        return off || len ? what_unused : NULL;
    case F_KEY: lo = 1; hi = LSM_MAX_KEY_SIZE; break;
    case F_BOUND: hi = LSM_MAX_KEY_SIZE; break;
    case F_VALUE: hi = LSM_MAX_VALUE_SIZE; break;
    case F_NAME: lo = 1; hi = SHM_MAX_OPTION_BYTES; break;
    case F_STR: hi = SHM_MAX_OPTION_BYTES; break;
    case F_OUTOPT:
        if (off == 0 && len == 0)
            return NULL;
        break;
    case F_BLOB: case F_OUT: break;
    }
    if (len < lo || len > hi)
        return what_len;
    if (!shm_range_ok(off, len, arena))
        return what_range;
    return NULL;
}

static const char *check_arg(uint8_t rule, uint64_t v)
{
    switch (rule) {
    case A_ZERO: return v ? "unused argument not zero" : NULL;
    case A_NONZERO: return v ? NULL : "id argument is zero";
    case A_LEVEL: return ((int64_t)v >= -1 && (int64_t)v <= 255) ? NULL : "level out of range";
    case A_COUNT32: return v <= UINT32_MAX ? NULL : "count above 2^32-1";
    case A_STATS_FORMAT: return v <= SHM_STATS_FORMAT_MAX ? NULL : "unknown stats format";
    case A_VALUE_LEN: return v <= LSM_MAX_VALUE_SIZE ? NULL : "value length above the engine's limit";
    default: return NULL;
    }
}

/* A WRITE_BATCH's payload against its entry count; NULL when plausible
 * (the payload itself is walked later, on a private copy).  *rc becomes
 * -E2BIG for a payload the engine could never take. */
static const char *check_batch(const struct shm_sqe *sqe, int *rc)
{
    if (sqe->val_len > SHM_MAX_BATCH_BYTES) {
        *rc = -E2BIG;
        return "batch payload above the engine's 1 GiB limit";
    }
    if ((sqe->arg1 == 0) != (sqe->val_len == 0))
        return "batch count and payload disagree on emptiness";
    if (sqe->arg1 > sqe->val_len / SHM_MIN_ENTRY_BYTES)
        return "batch count larger than its payload can hold";
    return NULL;
}

/* A MULTI_GET's key list against its count and output; NULL when
 * plausible (the list itself is walked by shm_mget_keys_parse, on a
 * private copy).  *rc becomes -E2BIG for more keys than one request may
 * carry. */
static const char *check_mget(const struct shm_sqe *sqe, int *rc)
{
    uint64_t n = sqe->arg1;
    if (n == 0)
        return "multi-get of no keys";
    if (n > SHM_MGET_MAX_KEYS) {
        *rc = -E2BIG;
        return "multi-get of more than SHM_MGET_MAX_KEYS keys";
    }
    if (sqe->key_len < n * (SHM_MGET_KEY_HDR + 1) ||
        sqe->key_len > n * (SHM_MGET_KEY_HDR + (uint64_t)LSM_MAX_KEY_SIZE))
        return "multi-get key list size impossible for its count";
    if (sqe->out_cap < n * sizeof(struct shm_mget_res))
        return "multi-get output smaller than its results table";
    return NULL;
}

int shm_validate_sqe(const struct shm_sqe *sqe, uint64_t arena_bytes, const char **why)
{
    const char *w = NULL;
    int rc = -EINVAL;
    if (sqe->opcode == SHM_OP_NOP || sqe->opcode >= SHM_OP_COUNT_ || !rules[sqe->opcode].name) {
        w = "unknown opcode";
        rc = -EOPNOTSUPP;
        goto out;
    }
    const struct op_rule *r = &rules[sqe->opcode];
    if (sqe->flags & ~r->flags)
        w = "flag not allowed for this opcode";
    else if (sqe->reserved0 || sqe->reserved1[1] ||
             (sqe->reserved1[0] && sqe->opcode != SHM_OP_ITER_SCAN))
        w = "reserved field not zero";
    else if ((w = check_arg(r->arg0, sqe->arg0)) ||
             (w = check_arg(r->arg1, sqe->arg1)))
        ;
    else if ((w = check_field(r->key, sqe->key_off, sqe->key_len, arena_bytes,
                              "key range outside the arena", W_KEY_LEN,
                              "unused key field not zero")) ||
             (w = check_field(r->val, sqe->val_off, sqe->val_len, arena_bytes,
                              "value range outside the arena", W_VAL_LEN,
                              "unused value field not zero")) ||
             (w = check_field(r->out, sqe->out_off, sqe->out_cap, arena_bytes,
                              "output range outside the arena", "output length out of range",
                              "unused output field not zero")))
        ;
    else if (sqe->opcode == SHM_OP_ITER_SCAN && sqe->out_cap == 0)
        w = "scan without an output range";
    else if (sqe->opcode == SHM_OP_CHANGES && sqe->out_cap == 0)
        w = "changes without an output range";
    else if (sqe->opcode == SHM_OP_ITER_SCAN &&
             (w = check_field(F_BOUND, sqe->seek_off, sqe->seek_len, arena_bytes,
                              "seek key range outside the arena", "seek key length out of range",
                              NULL)))
        ;
    else if (sqe->opcode == SHM_OP_PUT_PIECE &&
             (sqe->arg1 > sqe->arg0 || sqe->val_len > sqe->arg0 - sqe->arg1))
        w = "value piece runs past the value's length";
    else if (sqe->opcode == SHM_OP_WRITE_BATCH && (w = check_batch(sqe, &rc)))
        ;
    else if (sqe->opcode == SHM_OP_MULTI_GET && (w = check_mget(sqe, &rc)))
        ;
    else
        rc = 0;
out:
    if (why)
        *why = w;
    return rc;
}

void shm_key_reason(char *buf, size_t cap, size_t klen)
{
    reason_key_size(buf, cap, klen);
}

void shm_validate_explain(const struct shm_sqe *sqe, const char *why, char *buf, size_t cap)
{
    if (why == W_KEY_LEN && sqe->opcode != SHM_OP_SET_OPTION && sqe->opcode != SHM_OP_CHECKPOINT)
        reason_key_size(buf, cap, sqe->key_len);
    else if (why == W_VAL_LEN && sqe->val_len > LSM_MAX_VALUE_SIZE)
        reason_value_size(buf, cap, sqe->val_len);
    else
        snprintf(buf, cap, "%s: %s", shm_op_name(sqe->opcode), why ? why : "refused");
}

int shm_page_check(const void *page, uint64_t bytes, uint32_t count)
{
    const char *p = page;
    uint64_t pos = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (bytes - pos < SHM_PAGE_ENTRY_HDR)
            return -EPROTO;
        uint32_t kl, vl;
        memcpy(&kl, p + pos, 4);
        memcpy(&vl, p + pos + 4, 4);
        pos += SHM_PAGE_ENTRY_HDR;
        if ((uint64_t)kl + vl > bytes - pos)
            return -EPROTO;
        pos += (uint64_t)kl + vl;
    }
    return pos == bytes ? 0 : -EPROTO;
}

int shm_mget_keys_parse(const void *list, uint64_t bytes, uint32_t n, const void **keys,
                        size_t *lens, const char **why)
{
    const char *p = list, *w = NULL;
    uint64_t pos = 0;
    for (uint32_t i = 0; i < n && !w; i++) {
        uint32_t kl;
        if (bytes - pos < SHM_MGET_KEY_HDR) {
            w = "multi-get key list ends inside a length";
            break;
        }
        memcpy(&kl, p + pos, SHM_MGET_KEY_HDR);
        pos += SHM_MGET_KEY_HDR;
        if (kl < 1 || kl > LSM_MAX_KEY_SIZE)
            w = "multi-get key length out of range";
        else if (kl > bytes - pos)
            w = "multi-get key runs past the key list";
        else {
            keys[i] = p + pos;
            lens[i] = kl;
            pos += kl;
        }
    }
    if (!w && pos != bytes)
        w = "multi-get key list longer than its keys";
    if (why)
        *why = w;
    return w ? -EINVAL : 0;
}

int shm_mget_reply_check(const void *out, uint64_t cap, uint32_t n, uint64_t bytes)
{
    uint64_t need = (uint64_t)n * sizeof(struct shm_mget_res);
    if (bytes > cap || bytes < need)
        return -EPROTO;
    const char *p = out;
    for (uint32_t i = 0; i < n; i++) {
        struct shm_mget_res r;
        memcpy(&r, p + (uint64_t)i * sizeof r, sizeof r);
        if (r.status == 0)
            need += r.value_len;
        else if (r.status > 0 || (r.value_len && r.status != LSM_ETOOSMALL))
            return -EPROTO;
    }
    return need == bytes ? 0 : -EPROTO;
}
