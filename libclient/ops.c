/* ops.c — the synchronous calls of lsmd.h: each writes its payload into the
 * large region once, runs one request (conn_call) and reads the reply in
 * place. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "validate.h"

/* A put whose key and value do not fit the large region: PUT_PIECE
 * requests of the key and as much of the value as fits after it, in
 * order; the daemon answers each piece at once and the last as the put
 * (protocol.h "Big entries").  The daemon holds the value until the last
 * piece; a failure in between drops it there (the next put starts over). */
static int put_pieces(lsmd_conn *c, const void *key, size_t klen, const char *val,
                      size_t vlen, int flags)
{
    uint32_t at = align8((uint32_t)klen);
    if (at + SHM_PAGE > c->large_bytes)
        return -E2BIG; /* a key leaving no room for pieces: not with the minimum region */
    uint32_t room = c->large_bytes - at;
    char *p = conn_large(c);
    for (size_t off = 0;;) {
        size_t n = vlen - off < room ? vlen - off : room;
        memcpy(p, key, klen);
        memcpy(p + at, val + off, n);
        struct shm_sqe sqe = {
            .opcode = SHM_OP_PUT_PIECE,
            .flags = (uint8_t)(flags & LSM_SYNC ? SHM_SQ_SYNC : 0),
            .arg0 = vlen,
            .arg1 = off,
            .key_off = c->large_off,
            .key_len = (uint32_t)klen,
            .val_off = c->large_off + at,
            .val_len = (uint32_t)n,
        };
        struct shm_cqe cqe;
        int rc = conn_call(c, &sqe, &cqe);
        if (rc == 0)
            rc = cqe.status;
        off += n;
        if (rc || off == vlen)
            return rc;
    }
}

static int write_op(lsmd_conn *c, uint8_t op, const void *key, size_t klen,
                    const void *val, size_t vlen, int flags)
{
    conn_error_reset(c);
    if (conn_check_key(c, key, klen))
        return -EINVAL;
    if (vlen > LSM_MAX_VALUE_SIZE)
        return conn_fail(c, -EINVAL, "value of %zu bytes exceeds the %u-byte limit", vlen,
                         LSM_MAX_VALUE_SIZE);
    if ((vlen && !val) || (flags & ~LSM_SYNC))
        return -EINVAL;
    if (klen + vlen > c->large_bytes)
        return op == SHM_OP_PUT ? put_pieces(c, key, klen, val, vlen, flags) : -E2BIG;
    char *p = conn_large(c);
    memcpy(p, key, klen);
    if (vlen)
        memcpy(p + klen, val, vlen);
    struct shm_sqe sqe = {
        .opcode = op,
        .flags = (uint8_t)(flags & LSM_SYNC ? SHM_SQ_SYNC : 0),
        .key_off = c->large_off,
        .key_len = (uint32_t)klen,
    };
    if (op == SHM_OP_PUT) {
        sqe.val_off = c->large_off + (uint32_t)klen;
        sqe.val_len = (uint32_t)vlen;
    }
    struct shm_cqe cqe;
    int rc = conn_call(c, &sqe, &cqe);
    return rc ? rc : cqe.status;
}

int lsmd_put(lsmd_conn *c, const void *key, size_t klen, const void *val,
             size_t vlen, int flags)
{
    return write_op(c, SHM_OP_PUT, key, klen, val, vlen, flags);
}

int lsmd_delete(lsmd_conn *c, const void *key, size_t klen, int flags)
{
    return write_op(c, SHM_OP_DELETE, key, klen, NULL, 0, flags);
}

/* Runs a GET with the key at the start of the large region and the value
 * after it; on success *val points at the value in the arena.  A value
 * larger than the region: -E2BIG with *vlen its length. */
static int get_in_place(lsmd_conn *c, uint64_t snap, const void *key, size_t klen,
                        const char **val, size_t *vlen)
{
    conn_error_reset(c);
    if (conn_check_key(c, key, klen))
        return -EINVAL;
    uint32_t out = align8((uint32_t)klen);
    if (out >= c->large_bytes)
        return -E2BIG;
    char *p = conn_large(c);
    memcpy(p, key, klen);
    struct shm_sqe sqe = {
        .opcode = SHM_OP_GET,
        .arg0 = snap,
        .key_off = c->large_off,
        .key_len = (uint32_t)klen,
        .out_off = c->large_off + out,
        .out_cap = c->large_bytes - out,
    };
    struct shm_cqe cqe;
    int rc = conn_call(c, &sqe, &cqe);
    if (rc)
        return rc;
    if (cqe.status == LSM_ETOOSMALL) {
        *vlen = (size_t)cqe.r0;
        return -E2BIG; /* larger than the whole large region */
    }
    if (cqe.status)
        return cqe.status;
    if (cqe.r0 > sqe.out_cap) {
        conn_kill(c, "GET reply longer than its buffer");
        return c->dead;
    }
    *val = p + out;
    *vlen = (size_t)cqe.r0;
    return 0;
}

/* A value larger than the large region: a scan of the one key, [key,
 * key + "\0") (no upper bound for a key of the maximum length, whose
 * successor is no valid bound, or when both bounds would crowd out the
 * page; the key is then checked), read in pieces
 * (protocol.h "Big entries").  It reads the key as it is now: the value
 * may have changed since the GET that found it too large, and is then
 * returned as it is (or LSM_ENOTFOUND when deleted meanwhile).  *val is
 * malloc'd. */
static int get_big(lsmd_conn *c, uint64_t snap, const void *key, size_t klen, void **val,
                   size_t *vlen)
{
    bool bounded = klen < LSM_MAX_KEY_SIZE &&
                   align8((uint32_t)(2 * klen + 1)) + SHM_PAGE <= c->large_bytes;
    size_t hilen = bounded ? klen + 1 : 0;
    char *p = conn_large(c);
    memcpy(p, key, klen);
    if (bounded) {
        memcpy(p + klen, key, klen);
        p[2 * klen] = '\0';
    }
    uint32_t used = align8((uint32_t)(klen + hilen));
    struct shm_sqe sqe = {
        .opcode = SHM_OP_ITER_SCAN,
        .flags = SHM_SQ_UPTO,
        .arg0 = snap,
        .arg1 = SHM_SCAN_ARG1(1, 0),
        .key_off = c->large_off,
        .key_len = (uint32_t)klen,
        .val_off = bounded ? c->large_off + (uint32_t)klen : 0,
        .val_len = (uint32_t)hilen,
        .out_off = c->large_off + used,
        .out_cap = c->large_bytes - used,
    };
    struct shm_cqe cqe;
    int rc = conn_call(c, &sqe, &cqe);
    if (rc)
        return rc;
    if (cqe.status == LSM_ETOOSMALL && cqe.r0) {
        /* Bounded, the range holds the key alone: its value is all we
         * keep.  Unbounded, the key comes too, to be checked. */
        big_entry e;
        rc = conn_big_entry(c, cqe.r0, bounded ? BIG_VALUE : BIG_PAGE, true, &e);
        if (rc)
            return rc;
        if (!e.ended)
            conn_iter_close(c, cqe.r0);
        if (!bounded) {
            const char *ek = e.buf + SHM_PAGE_ENTRY_HDR;
            if (e.klen != klen || memcmp(ek, key, klen) != 0) {
                free(e.buf); /* the scan found the next key */
                return LSM_ENOTFOUND;
            }
            memmove(e.buf, ek + e.klen, e.vlen);
        }
        *val = e.buf;
        *vlen = e.vlen;
        return 0;
    }
    if (cqe.status)
        return cqe.status;
    /* It fits after all (it changed meanwhile), or it is gone. */
    if (cqe.aux > 1 || cqe.r1 > sqe.out_cap ||
        shm_page_check(c->arena + sqe.out_off, cqe.r1, cqe.aux) != 0) {
        conn_kill(c, "malformed scan page");
        return c->dead;
    }
    if (cqe.r0)
        conn_iter_close(c, cqe.r0);
    const char *ek = c->arena + sqe.out_off;
    uint32_t ekl = 0, evl;
    if (cqe.aux)
        memcpy(&ekl, ek, 4);
    if (cqe.aux == 0 || ekl != klen || memcmp(ek + SHM_PAGE_ENTRY_HDR, key, klen) != 0)
        return LSM_ENOTFOUND;
    memcpy(&evl, ek + 4, 4);
    char *copy = malloc(evl ? evl : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, ek + SHM_PAGE_ENTRY_HDR + ekl, evl);
    *val = copy;
    *vlen = evl;
    return 0;
}

int lsmd_get(lsmd_conn *c, uint64_t snapshot_id, const void *key, size_t klen,
             void **val, size_t *vlen)
{
    if (!val || !vlen)
        return -EINVAL;
    const char *v;
    size_t n = 0;
    int rc = get_in_place(c, snapshot_id, key, klen, &v, &n);
    if (rc == -E2BIG && n)
        return get_big(c, snapshot_id, key, klen, val, vlen);
    if (rc)
        return rc;
    void *copy = malloc(n ? n : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, v, n);
    *val = copy;
    *vlen = n;
    return 0;
}

int lsmd_get_into(lsmd_conn *c, uint64_t snapshot_id, const void *key,
                  size_t klen, void *buf, size_t cap, size_t *vlen)
{
    if (!vlen || (cap && !buf))
        return -EINVAL;
    const char *v;
    size_t n = 0;
    int rc = get_in_place(c, snapshot_id, key, klen, &v, &n);
    if (rc == -E2BIG && n) {
        *vlen = n;
        if (n > cap)
            return LSM_ETOOSMALL;
        /* Larger than the segment, not than the caller's buffer. */
        void *big;
        rc = get_big(c, snapshot_id, key, klen, &big, &n);
        if (rc)
            return rc;
        *vlen = n;
        if (n <= cap)
            memcpy(buf, big, n);
        free(big);
        return n <= cap ? 0 : LSM_ETOOSMALL;
    }
    if (rc)
        return rc;
    *vlen = n;
    if (n > cap)
        return LSM_ETOOSMALL;
    memcpy(buf, v, n);
    return 0;
}

/* ---- snapshots ----------------------------------------------------------- */

static int simple(lsmd_conn *c, uint8_t op, uint64_t arg0, struct shm_cqe *cqe)
{
    struct shm_sqe sqe = { .opcode = op, .arg0 = arg0 };
    int rc = conn_call(c, &sqe, cqe);
    return rc ? rc : cqe->status;
}

int lsmd_snapshot_acquire(lsmd_conn *c, uint64_t *id)
{
    if (!id)
        return -EINVAL;
    struct shm_cqe cqe;
    int rc = simple(c, SHM_OP_SNAP_ACQUIRE, 0, &cqe);
    if (rc == 0)
        *id = cqe.r0;
    return rc;
}

int lsmd_snapshot_hold(lsmd_conn *c, uint64_t id)
{
    if (!id)
        return -ESRCH;
    struct shm_cqe cqe;
    return simple(c, SHM_OP_SNAP_HOLD, id, &cqe);
}

int lsmd_snapshot_release(lsmd_conn *c, uint64_t id)
{
    if (!id)
        return -ESRCH;
    struct shm_cqe cqe;
    return simple(c, SHM_OP_SNAP_RELEASE, id, &cqe);
}

int lsmd_snapshot_list(lsmd_conn *c, lsmd_snapshot_info *out, size_t cap, size_t *n)
{
    if (!n || (cap && !out))
        return -EINVAL;
    int rc = conn_alive(c);
    if (rc)
        return rc;
    uint32_t want = cap > c->dir.capacity ? c->dir.capacity : (uint32_t)cap;
    struct shm_dir_entry *tmp = NULL;
    if (want && !(tmp = malloc(want * sizeof(*tmp))))
        return -ENOMEM;
    uint32_t live = 0;
    rc = shm_dir_read(&c->dir, tmp, want, &live, NULL);
    if (rc == 0) {
        uint32_t k = live < want ? live : want;
        for (uint32_t i = 0; i < k; i++) {
            out[i] = (lsmd_snapshot_info){
                .id = tmp[i].id,
                .sequence = tmp[i].sequence,
                .holders = tmp[i].holders,
                .creator_pid = tmp[i].creator_pid,
                .creator_id = tmp[i].creator_id,
                .created_ns = tmp[i].created_ns,
            };
        }
        *n = live;
    }
    free(tmp);
    return rc;
}

/* ---- administration ------------------------------------------------------ */

int lsmd_flush(lsmd_conn *c)
{
    struct shm_cqe cqe;
    return simple(c, SHM_OP_FLUSH, 0, &cqe);
}

int lsmd_compact(lsmd_conn *c, int level)
{
    conn_error_reset(c);
    if (level < -1)
        return conn_fail(c, -EINVAL, "level out of range: -1 (the whole tree) or 0 .. 64");
    struct shm_cqe cqe;
    return simple(c, SHM_OP_COMPACT, (uint64_t)(int64_t)level, &cqe);
}

int lsmd_set_option(lsmd_conn *c, const char *name, const char *value)
{
    conn_error_reset(c);
    if (!name || !value || !*name)
        return conn_fail(c, -EINVAL, "no option name");
    size_t nl = strlen(name), vl = strlen(value);
    if (nl > 4096 || vl > 4096)
        return conn_fail(c, -EINVAL, "option %s longer than 4096 bytes", nl > 4096 ? "name" : "value");
    if (nl + vl > c->large_bytes)
        return -E2BIG;
    char *p = conn_large(c);
    memcpy(p, name, nl);
    memcpy(p + nl, value, vl);
    struct shm_sqe sqe = {
        .opcode = SHM_OP_SET_OPTION,
        .key_off = c->large_off,
        .key_len = (uint32_t)nl,
        .val_off = c->large_off + (uint32_t)nl,
        .val_len = (uint32_t)vl,
    };
    struct shm_cqe cqe;
    int rc = conn_call(c, &sqe, &cqe);
    return rc ? rc : cqe.status;
}

/* Sends sqe, whose reply is text of r0 bytes at out_off (no NUL), and
 * returns it as a malloc'd NUL-terminated copy in *out.  Too long for the
 * buffer: -E2BIG; a length past the buffer breaks the protocol. */
static int call_for_text(lsmd_conn *c, struct shm_sqe *sqe, const char *what, char **out)
{
    struct shm_cqe cqe;
    int rc = conn_call(c, sqe, &cqe);
    if (rc)
        return rc;
    if (cqe.status == LSM_ETOOSMALL)
        return -E2BIG;
    if (cqe.status)
        return cqe.status;
    if (cqe.r0 > sqe->out_cap) {
        char why[64];
        snprintf(why, sizeof why, "%s reply longer than its buffer", what);
        conn_kill(c, why);
        return c->dead;
    }
    char *s = malloc(cqe.r0 + 1);
    if (!s)
        return -ENOMEM;
    memcpy(s, c->arena + sqe->out_off, cqe.r0);
    s[cqe.r0] = '\0';
    *out = s;
    return 0;
}

int lsmd_checkpoint(lsmd_conn *c, const char *dir)
{
    if (!dir || dir[0] != '/')
        return -EINVAL;
    size_t n = strlen(dir);
    if (n > 4096)
        return -EINVAL;
    if (n > c->large_bytes)
        return -E2BIG;
    memcpy(conn_large(c), dir, n);
    struct shm_sqe sqe = {
        .opcode = SHM_OP_CHECKPOINT,
        .key_off = c->large_off,
        .key_len = (uint32_t)n,
    };
    struct shm_cqe cqe;
    int rc = conn_call(c, &sqe, &cqe);
    return rc ? rc : cqe.status;
}

_Static_assert(LSMD_STATS_JSON == SHM_STATS_JSON && LSMD_STATS_PROMETHEUS == SHM_STATS_PROMETHEUS,
               "lsmd.h's stats formats are the protocol's");

int lsmd_stats_json(lsmd_conn *c, char **json)
{
    return lsmd_stats(c, LSMD_STATS_JSON, json);
}

int lsmd_stats(lsmd_conn *c, int format, char **json)
{
    if (!json || format < 0 || (unsigned)format > SHM_STATS_FORMAT_MAX)
        return -EINVAL;
    struct shm_sqe sqe = {
        .opcode = SHM_OP_STATS,
        .arg0 = (uint64_t)format,
        .out_off = c->large_off,
        .out_cap = c->large_bytes,
    };
    return call_for_text(c, &sqe, "STATS", json);
}

int lsmd_get_option(lsmd_conn *c, const char *name, char **text)
{
    if (!text)
        return -EINVAL;
    size_t nl = name ? strlen(name) : 0;
    if (nl > 4096)
        return -EINVAL;
    if (nl >= c->large_bytes)
        return -E2BIG;
    /* The name, then room for the reply, both in the large region. */
    char *p = conn_large(c);
    if (nl)
        memcpy(p, name, nl);
    struct shm_sqe sqe = {
        .opcode = SHM_OP_GET_OPTION,
        .key_off = c->large_off,
        .key_len = (uint32_t)nl,
        .out_off = c->large_off + (uint32_t)nl,
        .out_cap = (uint32_t)(c->large_bytes - nl),
    };
    return call_for_text(c, &sqe, "GET_OPTION", text);
}
