/* test_shm_validate.c — the daemon's checks on hostile descriptors and
 * rings: a table of valid descriptors (one per opcode), a table of
 * mutations each of which must be refused, every offset/length near the
 * arena's end, the session's handling of refused descriptors, impossible
 * ring indices and flow control, and iterator pages. */
#include "helpers.h"

#include <errno.h>
#include <string.h>

#include "lsm.h"
#include "protocol.h"
#include "ring.h"
#include "server.h"
#include "validate.h"

#define ARENA 262144u /* above LSM_MAX_KEY_SIZE: limits and ranges differ */

/* One valid descriptor per opcode. */
static const struct shm_sqe valid[] = {
    { .opcode = SHM_OP_PING },
    { .opcode = SHM_OP_PUT, .flags = SHM_SQ_SYNC, .key_off = 0, .key_len = 16, .val_off = 16, .val_len = 100 },
    { .opcode = SHM_OP_PUT, .key_off = 100, .key_len = 1, .val_off = 0, .val_len = 0 },
    { .opcode = SHM_OP_DELETE, .key_off = 8, .key_len = 8 },
    { .opcode = SHM_OP_GET, .arg0 = 7, .key_off = 0, .key_len = 16, .out_off = 64, .out_cap = ARENA - 64 },
    { .opcode = SHM_OP_GET, .key_off = ARENA - 1, .key_len = 1, .out_off = ARENA, .out_cap = 0 },
    { .opcode = SHM_OP_WRITE_BATCH, .flags = SHM_SQ_SYNC, .arg1 = 3, .val_off = 0, .val_len = ARENA },
    { .opcode = SHM_OP_SNAP_ACQUIRE },
    { .opcode = SHM_OP_SNAP_HOLD, .arg0 = 42 },
    { .opcode = SHM_OP_SNAP_RELEASE, .arg0 = 42 },
    { .opcode = SHM_OP_SNAP_LIST, .out_off = 0, .out_cap = 4096 },
    { .opcode = SHM_OP_ITER_OPEN, .flags = SHM_SQ_REVERSE, .arg0 = 0, .arg1 = 16 },
    { .opcode = SHM_OP_ITER_OPEN, .key_off = 0, .key_len = 3, .val_off = 3, .val_len = 4, .out_off = 8, .out_cap = 1000 },
    { .opcode = SHM_OP_ITER_NEXT, .arg0 = 1, .out_off = 0, .out_cap = ARENA },
    { .opcode = SHM_OP_ITER_CLOSE, .arg0 = 1 },
    { .opcode = SHM_OP_FLUSH },
    { .opcode = SHM_OP_COMPACT, .arg0 = (uint64_t)-1 },
    { .opcode = SHM_OP_COMPACT, .arg0 = 3 },
    { .opcode = SHM_OP_SET_OPTION, .key_off = 0, .key_len = 14, .val_off = 14, .val_len = 6 },
    { .opcode = SHM_OP_STATS, .out_off = 0, .out_cap = ARENA },
    /* 20: a scan with bounds, a seek key, a limit and a budget */
    { .opcode = SHM_OP_ITER_SCAN, .flags = SHM_SQ_ONE_PAGE, .arg0 = 3,
      .arg1 = SHM_SCAN_ARG1(10, 4096), .key_off = 0, .key_len = 3, .val_off = 3, .val_len = 4,
      .seek_off = 8, .seek_len = 5, .out_off = 64, .out_cap = 8192 },
    /* 21: no bounds, no seek, every flag, no limits, the whole arena out */
    { .opcode = SHM_OP_ITER_SCAN, .flags = SHM_SQ_REVERSE | SHM_SQ_ONE_PAGE | SHM_SQ_UPTO,
      .arg1 = UINT64_MAX, .out_off = 0, .out_cap = ARENA },
    /* 22: a seek key of the largest size, ending at the arena's end */
    { .opcode = SHM_OP_ITER_SCAN, .seek_off = ARENA - LSM_MAX_KEY_SIZE,
      .seek_len = LSM_MAX_KEY_SIZE, .out_off = 0, .out_cap = 1 },
    /* 23: two keys of 1 and 3 bytes: 4 + 1 + 4 + 3 = 12 list bytes */
    { .opcode = SHM_OP_MULTI_GET, .arg0 = 5, .arg1 = 2, .key_off = 0, .key_len = 12, .out_off = 16, .out_cap = 16 },
    /* 24: one option by name; 25: every option (empty name) */
    { .opcode = SHM_OP_GET_OPTION, .key_off = 0, .key_len = 16, .out_off = 16, .out_cap = 4096 },
    { .opcode = SHM_OP_GET_OPTION, .out_off = 0, .out_cap = ARENA },
    /* 26: changes after sequence 1000, at most 64 entries, into 4 KiB */
    { .opcode = SHM_OP_CHANGES, .arg0 = 1000, .arg1 = 64, .out_off = 128, .out_cap = 4096 },
    /* 27: a checkpoint directory of 12 bytes */
    { .opcode = SHM_OP_CHECKPOINT, .key_off = 100, .key_len = 12 },
    /* 28: stats in the Prometheus text format */
    { .opcode = SHM_OP_STATS, .arg0 = SHM_STATS_PROMETHEUS, .out_off = 0, .out_cap = ARENA },
    /* 29: a piece of iterator 5's entry from byte 2 MiB, then past it */
    { .opcode = SHM_OP_ITER_PIECE, .flags = SHM_SQ_PAST, .arg0 = 5, .arg1 = 2u << 20,
      .out_off = 0, .out_cap = ARENA },
    /* 30: the last piece of a 64 MiB value (it ends exactly at arg0) */
    { .opcode = SHM_OP_PUT_PIECE, .flags = SHM_SQ_SYNC, .arg0 = LSM_MAX_VALUE_SIZE,
      .arg1 = LSM_MAX_VALUE_SIZE - 100, .key_off = 0, .key_len = 3, .val_off = 8,
      .val_len = 100 },
};

static void test_valid_accepted(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        const char *why = "unset";
        int rc = shm_validate_sqe(&valid[i], ARENA, &why);
        if (rc)
            fail_msg("valid[%zu] (%s) refused: %s", i, shm_op_name(valid[i].opcode), why);
        assert_null(why);
    }
}

/* Each mutation turns a valid descriptor into one that must be refused. */
struct mutation {
    const char *name;
    int base;                    /* index into valid[] */
    void (*apply)(struct shm_sqe *);
    int expect;
};

/* name, index into valid[], change, expected code */
#define MUTATIONS(X)                                                          \
    X(ping_sync_flag, 0, s->flags = SHM_SQ_SYNC, -EINVAL)                     \
    X(ping_unknown_flag, 0, s->flags = 0x80, -EINVAL)                         \
    X(ping_reserved0, 0, s->reserved0 = 1, -EINVAL)                           \
    X(ping_reserved1, 0, s->reserved1[1] = 1, -EINVAL)                        \
    X(ping_arg0, 0, s->arg0 = 1, -EINVAL)                                     \
    X(ping_arg1, 0, s->arg1 = 1, -EINVAL)                                     \
    X(ping_key_len, 0, s->key_len = 1, -EINVAL)                               \
    X(ping_key_off, 0, s->key_off = 5, -EINVAL)                               \
    X(ping_val_off, 0, s->val_off = 1, -EINVAL)                               \
    X(ping_out_cap, 0, s->out_cap = 1, -EINVAL)                               \
    X(put_key_len0, 1, s->key_len = 0, -EINVAL)                               \
    X(put_key_too_long, 1, s->key_len = LSM_MAX_KEY_SIZE + 1, -EINVAL)        \
    X(put_key_past_end, 1, s->key_off = ARENA - 8, -EINVAL)                   \
    X(put_key_wrap, 1, s->key_off = UINT32_MAX - 4, -EINVAL)                  \
    X(put_val_past_end, 1, s->val_off = ARENA - 50, -EINVAL)                  \
    X(put_val_wrap, 1, (s->val_off = UINT32_MAX, s->val_len = 2), -EINVAL)    \
    X(put_val_too_long, 1, s->val_len = LSM_MAX_VALUE_SIZE + 1, -EINVAL)      \
    X(put_reverse_flag, 1, s->flags = SHM_SQ_REVERSE, -EINVAL)                \
    X(put_out, 1, s->out_cap = 1, -EINVAL)                                    \
    X(delete_value, 3, s->val_len = 1, -EINVAL)                               \
    X(get_no_key, 4, s->key_len = 0, -EINVAL)                                 \
    X(get_out_past_end, 4, s->out_cap = ARENA - 63, -EINVAL)                  \
    X(get_out_wrap, 4, (s->out_off = UINT32_MAX, s->out_cap = 2), -EINVAL)    \
    X(get_sync_flag, 4, s->flags = SHM_SQ_SYNC, -EINVAL)                      \
    X(get_arg1, 4, s->arg1 = 1, -EINVAL)                                      \
    X(batch_past_end, 6, s->val_off = 1, -EINVAL)                             \
    X(batch_count_huge, 6, s->arg1 = UINT64_C(1) << 32, -EINVAL)              \
    X(batch_key, 6, s->key_len = 1, -EINVAL)                                  \
    X(batch_count_past_payload, 6, s->arg1 = ARENA / 10 + 1, -EINVAL)         \
    X(batch_payload_no_count, 6, s->arg1 = 0, -EINVAL)                        \
    X(batch_count_no_payload, 6, s->val_len = 0, -EINVAL)                     \
    X(hold_zero, 8, s->arg0 = 0, -EINVAL)                                     \
    X(release_zero, 9, s->arg0 = 0, -EINVAL)                                  \
    X(list_out_past_end, 10, s->out_off = ARENA - 100, -EINVAL)               \
    X(iter_lo_too_long, 11, s->key_len = LSM_MAX_KEY_SIZE + 1, -EINVAL)       \
    X(iter_hi_past_end, 12, s->val_off = ARENA - 2, -EINVAL)                  \
    X(iter_out_past_end, 12, s->out_off = ARENA, -EINVAL)                     \
    X(iter_sync_flag, 12, s->flags = SHM_SQ_SYNC, -EINVAL)                    \
    X(iter_count_huge, 11, s->arg1 = UINT64_C(1) << 40, -EINVAL)              \
    X(next_zero_id, 13, s->arg0 = 0, -EINVAL)                                 \
    X(next_out_wrap, 13, s->out_off = 2, -EINVAL)                             \
    X(close_zero_id, 14, s->arg0 = 0, -EINVAL)                                \
    X(flush_arg, 15, s->arg0 = 1, -EINVAL)                                    \
    X(compact_level_low, 16, s->arg0 = (uint64_t)-2, -EINVAL)                 \
    X(compact_level_high, 16, s->arg0 = 256, -EINVAL)                         \
    X(setopt_empty_name, 18, s->key_len = 0, -EINVAL)                         \
    X(setopt_name_long, 18, s->key_len = 4097, -EINVAL)                       \
    X(setopt_value_long, 18, s->val_len = 4097, -EINVAL)                      \
    X(stats_out_past_end, 19, s->out_off = 1, -EINVAL)                        \
    X(stats_unknown_format, 28, s->arg0 = SHM_STATS_FORMAT_MAX + 1, -EINVAL)  \
    X(stats_arg1, 28, s->arg1 = 1, -EINVAL)                                   \
    X(scan_no_out, 20, s->out_cap = 0, -EINVAL)                               \
    X(scan_out_past_end, 20, s->out_off = ARENA - 100, -EINVAL)               \
    X(scan_seek_past_end, 20, s->seek_off = ARENA - 4, -EINVAL)               \
    X(scan_seek_wrap, 20, s->seek_off = UINT32_MAX - 2, -EINVAL)              \
    X(scan_seek_too_long, 22, s->seek_len = LSM_MAX_KEY_SIZE + 1, -EINVAL)    \
    X(scan_reserved2, 20, s->reserved2 = 1, -EINVAL)                          \
    X(scan_sync_flag, 20, s->flags |= SHM_SQ_SYNC, -EINVAL)                   \
    X(scan_unknown_flag, 21, s->flags |= 0x10, -EINVAL)                       \
    X(scan_lo_too_long, 20, s->key_len = LSM_MAX_KEY_SIZE + 1, -EINVAL)       \
    X(scan_hi_past_end, 20, s->val_off = ARENA - 2, -EINVAL)                  \
    X(get_seek_field, 4, s->seek_len = 1, -EINVAL)                            \
    X(open_seek_field, 12, s->seek_off = 1, -EINVAL)                          \
    X(mget_no_keys, 23, s->arg1 = 0, -EINVAL)                                 \
    X(mget_too_many_keys, 23, s->arg1 = SHM_MGET_MAX_KEYS + 1, -E2BIG)        \
    X(mget_count_huge, 23, s->arg1 = UINT64_C(1) << 32, -EINVAL)              \
    X(mget_list_short, 23, s->key_len = 9, -EINVAL)                           \
    X(mget_list_long, 23, (s->arg1 = 1, s->key_len = LSM_MAX_KEY_SIZE + 5, s->out_off = 0, s->out_cap = 8), -EINVAL) \
    X(mget_list_past_end, 23, s->key_off = ARENA - 11, -EINVAL)               \
    X(mget_list_wrap, 23, s->key_off = UINT32_MAX - 4, -EINVAL)               \
    X(ckpt_no_dir, 27, s->key_len = 0, -EINVAL)                               \
    X(ckpt_dir_long, 27, s->key_len = 4097, -EINVAL)                          \
    X(ckpt_dir_past_end, 27, s->key_off = ARENA - 11, -EINVAL)                \
    X(ckpt_value, 27, s->val_len = 1, -EINVAL)                                \
    X(ckpt_out, 27, s->out_cap = 1, -EINVAL)                                  \
    X(ckpt_arg0, 27, s->arg0 = 1, -EINVAL)                                    \
    X(ckpt_flag, 27, s->flags = SHM_SQ_SYNC, -EINVAL)                         \
    X(mget_out_small, 23, s->out_cap = 15, -EINVAL)                           \
    X(mget_out_past_end, 23, s->out_off = ARENA - 15, -EINVAL)                \
    X(mget_value_field, 23, s->val_len = 1, -EINVAL)                          \
    X(mget_sync_flag, 23, s->flags = SHM_SQ_SYNC, -EINVAL)                    \
    X(getopt_name_long, 24, s->key_len = 4097, -EINVAL)                       \
    X(getopt_name_past_end, 24, s->key_off = ARENA - 8, -EINVAL)              \
    X(getopt_value, 24, s->val_len = 1, -EINVAL)                              \
    X(getopt_out_past_end, 25, s->out_off = 1, -EINVAL)                       \
    X(getopt_arg0, 25, s->arg0 = 1, -EINVAL)                                  \
    X(getopt_sync_flag, 24, s->flags = SHM_SQ_SYNC, -EINVAL)                  \
    X(changes_no_out, 26, s->out_cap = 0, -EINVAL)                            \
    X(changes_out_past_end, 26, s->out_off = ARENA - 100, -EINVAL)            \
    X(changes_key_field, 26, s->key_len = 1, -EINVAL)                         \
    X(changes_value_field, 26, s->val_off = 4, -EINVAL)                       \
    X(changes_max_huge, 26, s->arg1 = UINT64_C(1) << 32, -EINVAL)             \
    X(changes_sync_flag, 26, s->flags = SHM_SQ_SYNC, -EINVAL)                 \
    X(changes_reserved, 26, s->reserved1[1] = 1, -EINVAL)                     \
    X(piece_no_iter, 29, s->arg0 = 0, -EINVAL)                                \
    X(piece_out_past_end, 29, s->out_off = 1, -EINVAL)                        \
    X(piece_key_field, 29, s->key_len = 1, -EINVAL)                           \
    X(piece_sync_flag, 29, s->flags = SHM_SQ_SYNC, -EINVAL)                   \
    X(putp_value_too_big, 30, s->arg0 = LSM_MAX_VALUE_SIZE + 1, -EINVAL)      \
    X(putp_past_length, 30, s->val_len = 101, -EINVAL)                        \
    X(putp_offset_past, 30, s->arg1 = LSM_MAX_VALUE_SIZE + 1, -EINVAL)        \
    X(putp_offset_wraps, 30, s->arg1 = UINT64_MAX - 50, -EINVAL)              \
    X(putp_no_key, 30, s->key_len = 0, -EINVAL)                               \
    X(putp_out, 30, s->out_cap = 1, -EINVAL)                                  \
    X(putp_past_flag, 30, s->flags = SHM_SQ_PAST, -EINVAL)                    \
    X(opcode_nop, 0, s->opcode = SHM_OP_NOP, -EOPNOTSUPP)                     \
    X(opcode_past_end, 0, s->opcode = SHM_OP_COUNT_, -EOPNOTSUPP)             \
    X(opcode_255, 0, s->opcode = 255, -EOPNOTSUPP)

#define DEFINE_MUT(n, b, body, e) \
    static void mut_##n(struct shm_sqe *s) { body; }
MUTATIONS(DEFINE_MUT)
#define LIST_MUT(n, b, body, e) { #n, b, mut_##n, e },
static const struct mutation mutations[] = { MUTATIONS(LIST_MUT) };

static void test_mutations_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
        const struct mutation *m = &mutations[i];
        struct shm_sqe s = valid[m->base];
        m->apply(&s);
        const char *why = NULL;
        int rc = shm_validate_sqe(&s, ARENA, &why);
        if (rc != m->expect)
            fail_msg("mutation %s: got %d, want %d", m->name, rc, m->expect);
        assert_non_null(why);
    }
}

/* Every opcode outside the table, and NOP, is -EOPNOTSUPP. */
static void test_unknown_opcodes(void **state)
{
    (void)state;
    for (unsigned op = 0; op < 256; op++) {
        struct shm_sqe s = { .opcode = (uint8_t)op };
        int rc = shm_validate_sqe(&s, ARENA, NULL);
        /* A number below SHM_OP_COUNT_ may be a hole in the table: it has
         * no name, and is refused like one past the end. */
        bool known = op != SHM_OP_NOP && strcmp(shm_op_name(op), "?") != 0;
        if (op >= SHM_OP_COUNT_)
            assert_false(known);
        if (!known)
            assert_int_equal(rc, -EOPNOTSUPP);
        else
            assert_int_not_equal(rc, -EOPNOTSUPP);
    }
    assert_string_equal(shm_op_name(200), "?");
    assert_string_equal(shm_op_name(SHM_OP_GET), "GET");
    assert_string_equal(shm_op_name(SHM_OP_MULTI_GET), "MULTI_GET");
    assert_string_equal(shm_op_name(SHM_OP_GET_OPTION), "GET_OPTION");
}

/* MULTI_GET limits: 1 .. SHM_MGET_MAX_KEYS keys (-E2BIG above), a key list
 * of 5 .. 4 + LSM_MAX_KEY_SIZE bytes per key, an output holding the table,
 * all computed without overflow on the largest arena. */
static void test_mget_limits(void **state)
{
    (void)state;
    const uint64_t arena = UINT32_MAX;
    const uint32_t maxk = SHM_MGET_MAX_KEYS, big = SHM_MGET_KEY_HDR + LSM_MAX_KEY_SIZE;
    const struct {
        uint64_t n;
        uint32_t key_len, out_cap;
        int expect;
    } cases[] = {
        { 1, 5, 8, 0 },
        { 1, 4, 8, -EINVAL },
        { 1, 5, 7, -EINVAL },
        { 1, big, 8, 0 },
        { 1, big + 1, 8, -EINVAL },
        { maxk, 5 * maxk, 8 * maxk, 0 },
        { maxk, 5 * maxk - 1, 8 * maxk, -EINVAL },
        { maxk, big * maxk, 8 * maxk, 0 },           /* 256 MiB of keys */
        { maxk, big * maxk + 1, 8 * maxk, -EINVAL },
        { maxk, 5 * maxk, 8 * maxk - 1, -EINVAL },
        { maxk + 1, 5 * (maxk + 1), 8 * (maxk + 1), -E2BIG },
        { UINT32_MAX, UINT32_MAX / 2, UINT32_MAX / 2, -E2BIG },
        { 0, 0, 0, -EINVAL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct shm_sqe s = { .opcode = SHM_OP_MULTI_GET, .arg1 = cases[i].n, .key_off = 0,
                             .key_len = cases[i].key_len, .out_off = cases[i].key_len,
                             .out_cap = cases[i].out_cap };
        const char *why = NULL;
        int rc = shm_validate_sqe(&s, arena, &why);
        if (rc != cases[i].expect)
            fail_msg("case %zu: got %d, want %d (%s)", i, rc, cases[i].expect,
                     why ? why : "accepted");
        assert_true((rc == 0) == (why == NULL));
    }
}

/* Appends one [u32 len][key] entry. */
static size_t put_key(char *p, size_t pos, uint32_t len, char fill)
{
    memcpy(p + pos, &len, 4);
    memset(p + pos + 4, fill, len);
    return pos + 4 + len;
}

/* The key list walk: lengths 1 .. LSM_MAX_KEY_SIZE, entries tiling the
 * list exactly, nothing read past it. */
static void test_mget_keys_parse(void **state)
{
    (void)state;
    static char list[3 * (4 + LSM_MAX_KEY_SIZE) + 16];
    const void *keys[4];
    size_t lens[4];
    const char *why = NULL;
    size_t n = put_key(list, 0, 1, 'a');
    n = put_key(list, n, LSM_MAX_KEY_SIZE, 'b');
    n = put_key(list, n, 3, 'c');
    assert_int_equal(shm_mget_keys_parse(list, n, 3, keys, lens, &why), 0);
    assert_null(why);
    assert_int_equal(lens[0], 1);
    assert_int_equal(lens[1], LSM_MAX_KEY_SIZE);
    assert_int_equal(lens[2], 3);
    assert_ptr_equal(keys[0], list + 4);
    assert_ptr_equal(keys[2], list + n - 3);
    /* one key fewer than the list holds, or one more */
    assert_int_equal(shm_mget_keys_parse(list, n, 2, keys, lens, &why), -EINVAL);
    assert_non_null(why);
    assert_int_equal(shm_mget_keys_parse(list, n, 4, keys, lens, &why), -EINVAL);
    /* a list cut inside a length or inside a key */
    assert_int_equal(shm_mget_keys_parse(list, n - 1, 3, keys, lens, &why), -EINVAL);
    assert_int_equal(shm_mget_keys_parse(list, 6, 2, keys, lens, &why), -EINVAL);
    /* empty and too long keys */
    size_t m = put_key(list, 0, 0, 'x');
    m = put_key(list, m, 1, 'y');
    assert_int_equal(shm_mget_keys_parse(list, m, 2, keys, lens, &why), -EINVAL);
    m = put_key(list, 0, LSM_MAX_KEY_SIZE + 1, 'z');
    assert_int_equal(shm_mget_keys_parse(list, m, 1, keys, lens, &why), -EINVAL);
    /* a length pointing far past the list (u32 arithmetic must not wrap) */
    uint32_t huge = UINT32_MAX - 2;
    memcpy(list, &huge, 4);
    assert_int_equal(shm_mget_keys_parse(list, 8, 1, keys, lens, &why), -EINVAL);
}

/* The client's check of a reply: table, statuses and values tiling the
 * bytes the daemon says it wrote. */
static void test_mget_reply_check(void **state)
{
    (void)state;
    char out[64] = { 0 };
    struct shm_mget_res r[3] = {
        { 0, 5 }, { LSM_ENOTFOUND, 0 }, { LSM_ETOOSMALL, 1000 },
    };
    memcpy(out, r, sizeof r);
    assert_int_equal(shm_mget_reply_check(out, sizeof out, 3, 24 + 5), 0);
    assert_int_equal(shm_mget_reply_check(out, sizeof out, 3, 24 + 4), -EPROTO);
    assert_int_equal(shm_mget_reply_check(out, 28, 3, 29), -EPROTO);   /* past cap */
    assert_int_equal(shm_mget_reply_check(out, sizeof out, 4, 29), -EPROTO);
    r[1] = (struct shm_mget_res){ 1, 0 };                              /* positive */
    memcpy(out, r, sizeof r);
    assert_int_equal(shm_mget_reply_check(out, sizeof out, 3, 29), -EPROTO);
    r[1] = (struct shm_mget_res){ LSM_ENOTFOUND, 3 };                  /* length */
    memcpy(out, r, sizeof r);
    assert_int_equal(shm_mget_reply_check(out, sizeof out, 3, 29), -EPROTO);
    r[1] = (struct shm_mget_res){ -EAGAIN, 0 };
    r[0] = (struct shm_mget_res){ 0, UINT32_MAX };                     /* overflow */
    memcpy(out, r, sizeof r);
    assert_int_equal(shm_mget_reply_check(out, sizeof out, 3, 29), -EPROTO);
}

/* Offsets and lengths around the arena's end, including u32 wrap-around:
 * accepted exactly when off + len <= arena in true arithmetic. */
static void test_every_range_edge(void **state)
{
    (void)state;
    const uint32_t offs[] = { 0, 1, ARENA - 17, ARENA - 16, ARENA - 1, ARENA, ARENA + 1,
                              UINT32_MAX - 15, UINT32_MAX };
    const uint32_t lens[] = { 1, 15, 16, 17, ARENA, ARENA + 1, UINT32_MAX };
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
            uint32_t off = offs[i], len = lens[j];
            int inside = (uint64_t)off + len <= ARENA;
            /* key field (lengths above the key limit are refused anyway) */
            struct shm_sqe s = { .opcode = SHM_OP_DELETE, .key_off = off, .key_len = len };
            int ok = inside && len <= LSM_MAX_KEY_SIZE;
            assert_int_equal(shm_validate_sqe(&s, ARENA, NULL), ok ? 0 : -EINVAL);
            /* value field */
            s = (struct shm_sqe){ .opcode = SHM_OP_PUT, .key_off = 0, .key_len = 1,
                                  .val_off = off, .val_len = len };
            ok = inside && len <= LSM_MAX_VALUE_SIZE;
            assert_int_equal(shm_validate_sqe(&s, ARENA, NULL), ok ? 0 : -EINVAL);
            /* output field */
            s = (struct shm_sqe){ .opcode = SHM_OP_GET, .key_off = 0, .key_len = 1,
                                  .out_off = off, .out_cap = len };
            assert_int_equal(shm_validate_sqe(&s, ARENA, NULL), inside ? 0 : -EINVAL);
            /* batch blob */
            s = (struct shm_sqe){ .opcode = SHM_OP_WRITE_BATCH, .arg1 = 1,
                                  .val_off = off, .val_len = len };
            ok = inside && len >= SHM_MIN_ENTRY_BYTES;
            assert_int_equal(shm_validate_sqe(&s, ARENA, NULL), ok ? 0 : -EINVAL);
        }
    }
}

/* A WRITE_BATCH's payload is at most the engine's 1 GiB (-E2BIG above it,
 * however large the arena), and its count fits the payload: at most one
 * entry per SHM_MIN_ENTRY_BYTES, none exactly when the payload is empty. */
static void test_batch_limits(void **state)
{
    (void)state;
    const uint64_t arena = UINT32_MAX; /* the largest arena a u32 offset reaches */
    const struct {
        uint32_t off, len;
        uint64_t count;
        int expect;
    } cases[] = {
        { 0, SHM_MAX_BATCH_BYTES, 2, 0 },
        { 0, SHM_MAX_BATCH_BYTES + 1, 2, -E2BIG },
        { 4096, UINT32_MAX - 4096, 2, -E2BIG },
        { 0x80000000u, 0x80000000u, 2, -EINVAL },   /* past the arena first */
        { 0, SHM_MAX_BATCH_BYTES, SHM_MAX_BATCH_BYTES / SHM_MIN_ENTRY_BYTES, 0 },
        { 0, SHM_MAX_BATCH_BYTES, SHM_MAX_BATCH_BYTES / SHM_MIN_ENTRY_BYTES + 1, -EINVAL },
        { 0, SHM_MIN_ENTRY_BYTES, 1, 0 },
        { 0, SHM_MIN_ENTRY_BYTES - 1, 1, -EINVAL },
        { 0, 2 * SHM_MIN_ENTRY_BYTES - 1, 2, -EINVAL },
        { 0, 0, 0, 0 },                             /* the empty batch */
        { 0, 0, 1, -EINVAL },
        { 0, 100, 0, -EINVAL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct shm_sqe s = { .opcode = SHM_OP_WRITE_BATCH, .val_off = cases[i].off,
                             .val_len = cases[i].len, .arg1 = cases[i].count };
        const char *why = NULL;
        int rc = shm_validate_sqe(&s, arena, &why);
        if (rc != cases[i].expect)
            fail_msg("case %zu: got %d, want %d (%s)", i, rc, cases[i].expect,
                     why ? why : "accepted");
        assert_true((rc == 0) == (why == NULL));
    }
}

/* The read-once copy is what gets validated and used: rewriting the shared
 * entry afterwards changes nothing. */
static void test_read_once(void **state)
{
    (void)state;
    struct shm_sqe shared = valid[1], priv;
    shm_sqe_read(&shared, &priv);
    assert_int_equal(shm_validate_sqe(&priv, ARENA, NULL), 0);
    shared.key_off = UINT32_MAX; /* the client's late rewrite */
    shared.opcode = 99;
    assert_int_equal(priv.key_off, valid[1].key_off);
    assert_int_equal(shm_validate_sqe(&priv, ARENA, NULL), 0);
}

/* ---- session-level: a hostile client writing the segment directly ------- */

struct fake_client {
    struct shm_session *s;
    struct shm_seg_header *h;
    struct shm_ring sq, cq;
};

static void fake_attach(struct fake_client *fc, uint32_t qd)
{
    struct shm_hello_req req = { .magic = SHM_HELLO_REQ_MAGIC, .version = SHM_PROTO_VERSION,
                                 .size = sizeof(req), .queue_depth = qd };
    const char *why;
    assert_int_equal(shm_session_create(&req, NULL, 1, -1, &fc->s, &why), 0);
    fc->h = shm_session_base(fc->s);
    char *b = (char *)fc->h;
    shm_ring_init(&fc->sq, &fc->h->sq_head, &fc->h->sq_tail, b + fc->h->sq_off,
                  fc->h->sq_entries, sizeof(struct shm_sqe), true);
    shm_ring_init(&fc->cq, &fc->h->cq_head, &fc->h->cq_tail, b + fc->h->cq_off,
                  fc->h->cq_entries, sizeof(struct shm_cqe), false);
}

static void fake_submit(struct fake_client *fc, const struct shm_sqe *e)
{
    assert_true(shm_ring_space(&fc->sq) > 0);
    memcpy(shm_ring_slot(&fc->sq, 0), e, sizeof(*e));
    shm_ring_publish(&fc->sq, 1);
}

/* The daemon side of one PING: take it and complete it. */
static void fake_consume_ping(struct fake_client *fc)
{
    struct shm_sqe got;
    assert_int_equal(shm_session_next(fc->s, &got), 1);
    struct shm_cqe c = { .tag = got.tag };
    assert_int_equal(shm_session_complete(fc->s, &c), 0);
}

static void test_session_rejects_and_continues(void **state)
{
    (void)state;
    struct fake_client fc;
    fake_attach(&fc, 4);
    struct shm_sqe bad = valid[1];
    bad.tag = 11;
    bad.val_off = UINT32_MAX - 10; /* wraps in u32 */
    fake_submit(&fc, &bad);
    struct shm_sqe good = valid[0];
    good.tag = 12;
    fake_submit(&fc, &good);
    struct shm_sqe got;
    assert_int_equal(shm_session_next(fc.s, &got), 1);
    assert_int_equal(got.tag, 12);
    assert_int_equal(got.opcode, SHM_OP_PING);
    /* the refused one was completed with -EINVAL, before the good one */
    assert_int_equal(shm_ring_ready(&fc.cq), 1);
    struct shm_cqe c;
    memcpy(&c, shm_ring_peek(&fc.cq, 0), sizeof(c));
    assert_int_equal(c.tag, 11);
    assert_int_equal(c.status, -EINVAL);
    shm_ring_consume(&fc.cq, 1);
    struct shm_cqe done = { .tag = got.tag, .status = 0, .r0 = 5 };
    assert_int_equal(shm_session_complete(fc.s, &done), 0);
    assert_int_equal(shm_session_complete(fc.s, &done), -ENOSPC); /* not in flight */
    struct shm_session_stats st;
    shm_session_stats(fc.s, &st);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.rejected, 1);
    assert_non_null(st.last_reject);
    assert_int_equal(shm_session_next(fc.s, &got), 0);
    shm_session_destroy(fc.s);
}

static void test_session_impossible_indices(void **state)
{
    (void)state;
    struct fake_client fc;
    fake_attach(&fc, 4);
    struct shm_sqe got;
    fc.h->sq_tail = fc.h->sq_entries + 1; /* more than the ring holds */
    assert_int_equal(shm_session_next(fc.s, &got), -EPROTO);
    fc.h->sq_tail = 0;
    /* Fill the CQ (the client never consumes), then claim a cq_head ahead
     * of the daemon's cq_tail: seen as soon as the daemon needs to look. */
    struct shm_sqe e = valid[0];
    for (uint32_t i = 0; i < fc.h->cq_entries; i++) {
        fake_submit(&fc, &e);
        fake_consume_ping(&fc);
    }
    fc.h->cq_head = fc.h->cq_tail + 1;
    e.tag = 99;
    fake_submit(&fc, &e);
    assert_int_equal(shm_session_next(fc.s, &got), -EPROTO);
    shm_session_end(fc.s, EPROTO);
    assert_int_equal(fc.h->daemon_gone, EPROTO);
    shm_session_end(fc.s, ESHUTDOWN); /* idempotent */
    assert_int_equal(fc.h->daemon_gone, EPROTO);
    shm_session_destroy(fc.s);
}

/* A client that submits without ever consuming completions: the daemon
 * stops taking requests when the CQ could not hold their completions, so
 * it never has to block or drop one. */
static void test_session_flow_control(void **state)
{
    (void)state;
    struct fake_client fc;
    fake_attach(&fc, 4);
    uint32_t n = fc.h->cq_entries;
    uint32_t handed = 0;
    struct shm_sqe e = valid[0], got;
    for (uint32_t round = 0; round < 3 * n; round++) {
        if (shm_ring_space(&fc.sq) > 0) {
            e.tag = round;
            fake_submit(&fc, &e);
        }
        int rc = shm_session_next(fc.s, &got);
        assert_true(rc >= 0);
        if (rc == 1) {
            struct shm_cqe c = { .tag = got.tag };
            assert_int_equal(shm_session_complete(fc.s, &c), 0);
            handed++;
        }
    }
    assert_int_equal(handed, n); /* exactly a CQ's worth, then it waits */
    assert_int_equal(shm_ring_ready(&fc.cq), (int)n);
    shm_ring_consume(&fc.cq, n);
    assert_int_equal(shm_session_next(fc.s, &got), 1);
    shm_session_destroy(fc.s);
}

/* ---- iterator pages ------------------------------------------------------ */

static void test_pages(void **state)
{
    (void)state;
    char page[64];
    uint32_t used = 0;
    assert_int_equal(shm_page_append(page, sizeof(page), &used, "ab", 2, "xyz", 3), 0);
    assert_int_equal(used, 8 + 5);
    assert_int_equal(shm_page_append(page, sizeof(page), &used, "k", 1, NULL, 0), 0);
    assert_int_equal(used, 13 + 9);
    assert_int_equal(shm_page_append(page, sizeof(page), &used, "0123456789", 10,
                                     "0123456789abcdefghijklmnopqrstuv", 33), -ENOSPC);
    assert_int_equal(used, 22);
    assert_int_equal(shm_page_check(page, used, 2), 0);
    assert_int_equal(shm_page_check(page, used, 1), -EPROTO);  /* bytes left over */
    assert_int_equal(shm_page_check(page, used, 3), -EPROTO);  /* entry missing */
    assert_int_equal(shm_page_check(page, used - 1, 2), -EPROTO); /* truncated */
    uint32_t huge = UINT32_MAX;
    memcpy(page + 13, &huge, 4); /* second entry's key length */
    assert_int_equal(shm_page_check(page, used, 2), -EPROTO);
    assert_int_equal(shm_page_check(page, 0, 0), 0);
}

/* Layout arithmetic: limits and page alignment of every region. */
static void test_layout(void **state)
{
    (void)state;
    struct shm_layout l;
    assert_int_equal(shm_layout_compute(32, SHM_DEFAULT_SLOT_BYTES, SHM_DEFAULT_LARGE_BYTES, &l), 0);
    assert_int_equal(l.nslots, 64);
    assert_true(l.sq_entries >= 32 + 1 + SHM_SQ_SPARE);
    assert_int_equal(l.sq_entries & (l.sq_entries - 1), 0);
    assert_int_equal(l.sq_off % SHM_PAGE, 0);
    assert_int_equal(l.cq_off % SHM_PAGE, 0);
    assert_int_equal(l.arena_off % SHM_PAGE, 0);
    assert_int_equal(l.large_off, 64 * SHM_DEFAULT_SLOT_BYTES);
    assert_int_equal(l.segment_bytes, (uint64_t)l.arena_off + l.arena_bytes);
    assert_int_equal(shm_layout_compute(0, SHM_DEFAULT_SLOT_BYTES, SHM_DEFAULT_LARGE_BYTES, &l), -EINVAL);
    assert_int_equal(shm_layout_compute(SHM_MAX_QUEUE_DEPTH + 1, SHM_DEFAULT_SLOT_BYTES, SHM_DEFAULT_LARGE_BYTES, &l), -EINVAL);
    assert_int_equal(shm_layout_compute(1, 100, SHM_DEFAULT_LARGE_BYTES, &l), -EINVAL);
    assert_int_equal(shm_layout_compute(1, SHM_DEFAULT_SLOT_BYTES, SHM_MAX_LARGE_BYTES + 1, &l), -EINVAL);
    /* the largest of everything still fits the u32 offsets */
    assert_int_equal(shm_layout_compute(SHM_MAX_QUEUE_DEPTH, SHM_MAX_SLOT_BYTES, SHM_MAX_LARGE_BYTES, &l), 0);
    assert_true(l.segment_bytes < UINT32_MAX);
}

/* docs/shm-protocol.md, "Worked example": the PUT descriptor's bytes. */
static void test_doc_example(void **state)
{
    (void)state;
    static const unsigned char doc[64] = {
        0x02, 0x01, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x80, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00,
        0x03, 0x80, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    struct shm_sqe e = { .opcode = SHM_OP_PUT, .flags = SHM_SQ_SYNC, .tag = 3,
                         .key_off = 3 * SHM_DEFAULT_SLOT_BYTES, .key_len = 3,
                         .val_off = 3 * SHM_DEFAULT_SLOT_BYTES + 3, .val_len = 4 };
    assert_memory_equal(&e, doc, sizeof(doc));
    struct shm_layout l;
    assert_int_equal(shm_layout_compute(32, SHM_DEFAULT_SLOT_BYTES, SHM_DEFAULT_LARGE_BYTES, &l), 0);
    assert_int_equal(l.sq_entries, 64);
    assert_int_equal(shm_validate_sqe(&e, l.arena_bytes, NULL), 0);
    const char *why;
    e.val_off = UINT32_MAX;
    e.val_len = 2;
    assert_int_equal(shm_validate_sqe(&e, l.arena_bytes, &why), -EINVAL);
    assert_string_equal(why, "value range outside the arena");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_accepted),
        cmocka_unit_test(test_mutations_refused),
        cmocka_unit_test(test_unknown_opcodes),
        cmocka_unit_test(test_every_range_edge),
        cmocka_unit_test(test_batch_limits),
        cmocka_unit_test(test_mget_limits),
        cmocka_unit_test(test_mget_keys_parse),
        cmocka_unit_test(test_mget_reply_check),
        cmocka_unit_test(test_read_once),
        cmocka_unit_test(test_session_rejects_and_continues),
        cmocka_unit_test(test_session_impossible_indices),
        cmocka_unit_test(test_session_flow_control),
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_doc_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
