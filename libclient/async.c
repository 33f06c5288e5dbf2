/* async.c — submit/poll with a queue depth (lsmd.h).  Each request owns an
 * arena slot (its tag) from submit until the lsmd_poll after the one that
 * returned it, so a get's value is read in place; with 2 x depth slots a
 * submit below the depth always finds a free slot (conn.h). */
#include <errno.h>
#include <string.h>

#include "conn.h"
#include "validate.h"

static int take_slot(lsmd_conn *c, uint32_t *slot)
{
    int rc = conn_alive(c);
    if (rc)
        return rc;
    if (c->async_inflight >= c->qd)
        return -EBUSY;
    if (c->nfree == 0)
        return -EBUSY; /* unreachable: 2 x depth slots (conn.h) */
    *slot = c->free_slots[--c->nfree];
    return 0;
}

/* A free slot with key (klen bytes, may be 0) copied to its start; *off
 * is the slot's arena offset. */
static int slot_with_key(lsmd_conn *c, const void *key, size_t klen, uint32_t *slot,
                         uint32_t *off)
{
    int rc = take_slot(c, slot);
    if (rc)
        return rc;
    *off = *slot * c->slot_bytes;
    if (klen)
        memcpy(c->arena + *off, key, klen);
    return 0;
}

static int submit(lsmd_conn *c, uint32_t slot, uint8_t op, struct shm_sqe *sqe,
                  uint64_t user_data)
{
    sqe->tag = slot;
    struct conn_slot *s = &c->slots[slot];
    s->user_data = user_data;
    s->op = op;
    s->out_off = sqe->out_off;
    s->state = SLOT_INFLIGHT;
    int rc = conn_submit_nofence(c, sqe);
    if (rc) {
        s->state = SLOT_FREE;
        c->free_slots[c->nfree++] = slot;
        return rc;
    }
    c->async_inflight++;
    return (int)slot;
}

static int submit_write(lsmd_conn *c, uint8_t op, const void *key, size_t klen,
                        const void *val, size_t vlen, int flags, uint64_t user_data)
{
    if (conn_check_key(c, key, klen) || vlen > LSM_MAX_VALUE_SIZE || (vlen && !val) ||
        (flags & ~LSM_SYNC))
        return -EINVAL;
    if (klen + vlen > c->slot_bytes)
        return -E2BIG;
    uint32_t slot, off;
    int rc = slot_with_key(c, key, klen, &slot, &off);
    if (rc)
        return rc;
    if (vlen)
        memcpy(c->arena + off + klen, val, vlen);
    struct shm_sqe sqe = {
        .opcode = op,
        .flags = (uint8_t)(flags & LSM_SYNC ? SHM_SQ_SYNC : 0),
        .key_off = off,
        .key_len = (uint32_t)klen,
    };
    if (op == SHM_OP_PUT) {
        sqe.val_off = off + (uint32_t)klen;
        sqe.val_len = (uint32_t)vlen;
    }
    return submit(c, slot, op == SHM_OP_PUT ? LSMD_OP_PUT : LSMD_OP_DELETE, &sqe,
                  user_data);
}

int lsmd_submit_put(lsmd_conn *c, const void *key, size_t klen, const void *val,
                    size_t vlen, int flags, uint64_t user_data)
{
    return submit_write(c, SHM_OP_PUT, key, klen, val, vlen, flags, user_data);
}

int lsmd_submit_delete(lsmd_conn *c, const void *key, size_t klen, int flags,
                       uint64_t user_data)
{
    return submit_write(c, SHM_OP_DELETE, key, klen, NULL, 0, flags, user_data);
}

int lsmd_submit_get(lsmd_conn *c, uint64_t snapshot_id, const void *key,
                    size_t klen, uint64_t user_data)
{
    if (conn_check_key(c, key, klen))
        return -EINVAL;
    uint32_t out = align8((uint32_t)klen);
    if (out >= c->slot_bytes)
        return -E2BIG;
    uint32_t slot, off;
    int rc = slot_with_key(c, key, klen, &slot, &off);
    if (rc)
        return rc;
    struct shm_sqe sqe = {
        .opcode = SHM_OP_GET,
        .arg0 = snapshot_id,
        .key_off = off,
        .key_len = (uint32_t)klen,
        .out_off = off + out,
        .out_cap = c->slot_bytes - out,
    };
    return submit(c, slot, LSMD_OP_GET, &sqe, user_data);
}

int lsmd_submit_multi_get(lsmd_conn *c, uint64_t snapshot_id, size_t n,
                          const void *const *keys, const size_t *key_lens,
                          uint64_t user_data)
{
    if (!c || n == 0 || !keys || !key_lens)
        return -EINVAL;
    if (n > SHM_MGET_MAX_KEYS)
        return -E2BIG;
    uint64_t list = 0;
    for (size_t i = 0; i < n; i++) {
        if (!keys[i] || key_lens[i] < 1 || key_lens[i] > LSM_MAX_KEY_SIZE)
            return -EINVAL;
        list += SHM_MGET_KEY_HDR + key_lens[i];
    }
    uint64_t out = (list + 7) & ~(uint64_t)7;
    if (out + n * sizeof(struct shm_mget_res) > c->slot_bytes)
        return -E2BIG;
    uint32_t slot;
    int rc = take_slot(c, &slot);
    if (rc)
        return rc;
    uint32_t off = slot * c->slot_bytes;
    char *p = c->arena + off;
    for (size_t i = 0; i < n; i++) {
        uint32_t kl = (uint32_t)key_lens[i];
        memcpy(p, &kl, SHM_MGET_KEY_HDR);
        memcpy(p + SHM_MGET_KEY_HDR, keys[i], kl);
        p += SHM_MGET_KEY_HDR + kl;
    }
    struct shm_sqe sqe = {
        .opcode = SHM_OP_MULTI_GET,
        .arg0 = snapshot_id,
        .arg1 = n,
        .key_off = off,
        .key_len = (uint32_t)list,
        .out_off = off + (uint32_t)out,
        .out_cap = c->slot_bytes - (uint32_t)out,
    };
    c->slots[slot].count = (uint32_t)n;
    return submit(c, slot, LSMD_OP_MULTI_GET, &sqe, user_data);
}

int lsmd_completion_multi_get(const lsmd_completion *cp, int *statuses, const void **vals,
                              size_t *vlens)
{
    if (!cp || cp->op != LSMD_OP_MULTI_GET || cp->status != 0 || !cp->val ||
        (cp->count && (!statuses || !vals || !vlens)))
        return -EINVAL;
    const char *out = cp->val;
    uint64_t pos = (uint64_t)cp->count * sizeof(struct shm_mget_res);
    for (size_t i = 0; i < cp->count; i++) {
        struct shm_mget_res r;
        memcpy(&r, out + i * sizeof r, sizeof r);
        statuses[i] = r.status;
        vlens[i] = r.value_len;
        vals[i] = NULL;
        if (r.status == 0) {
            vals[i] = out + pos;
            pos += r.value_len;
        } else if (r.status != LSM_ETOOSMALL) {
            vlens[i] = 0;
        }
    }
    return (int)cp->count;
}

int lsmd_submit_scan(lsmd_conn *c, uint64_t snapshot_id, const void *seek, size_t seeklen,
                     uint32_t max, int flags, uint64_t user_data)
{
    if (!c || (seeklen && !seek) || seeklen > LSM_MAX_KEY_SIZE || (flags & ~LSMD_ITER_REVERSE))
        return -EINVAL;
    uint32_t out = align8((uint32_t)seeklen);
    if (out + SHM_PAGE_ENTRY_HDR + 1 > c->slot_bytes)
        return -E2BIG;
    uint32_t slot, off;
    int rc = slot_with_key(c, seek, seeklen, &slot, &off);
    if (rc)
        return rc;
    /* One page, never an iterator left open (ONE_PAGE); UPTO: max is the
     * whole scan, so the daemon stops at max entries. */
    struct shm_sqe sqe = {
        .opcode = SHM_OP_ITER_SCAN,
        .flags = (uint8_t)(SHM_SQ_ONE_PAGE | (max ? SHM_SQ_UPTO : 0) |
                           (flags & LSMD_ITER_REVERSE ? SHM_SQ_REVERSE : 0)),
        .arg0 = snapshot_id,
        .arg1 = SHM_SCAN_ARG1(max, 0),
        .seek_off = seeklen ? off : 0,
        .seek_len = (uint32_t)seeklen,
        .out_off = off + out,
        .out_cap = c->slot_bytes - out,
    };
    c->slots[slot].count = max;
    return submit(c, slot, LSMD_OP_SCAN, &sqe, user_data);
}

int lsmd_completion_scan(const lsmd_completion *cp, lsmd_scan_fn fn, void *arg)
{
    if (!cp || cp->op != LSMD_OP_SCAN || cp->status != 0 || !fn || (cp->count && !cp->val))
        return -EINVAL;
    /* deliver() checked the page whole. */
    const char *p = cp->val;
    size_t i = 0;
    while (i < cp->count) {
        uint32_t kl, vl;
        memcpy(&kl, p, 4);
        memcpy(&vl, p + 4, 4);
        p += SHM_PAGE_ENTRY_HDR;
        i++;
        if (fn(arg, p, kl, p + kl, vl) != 0)
            break;
        p += (uint64_t)kl + vl;
    }
    return (int)i;
}

/* Slots whose completions the previous poll returned go back to the pool:
 * their values are no longer promised to the caller. */
static void release_delivered(lsmd_conn *c)
{
    for (uint32_t i = 0; i < c->ndelivered; i++) {
        uint32_t s = c->delivered[i];
        c->slots[s].state = SLOT_FREE;
        c->free_slots[c->nfree++] = s;
    }
    c->ndelivered = 0;
}

static void deliver(lsmd_conn *c, const struct shm_cqe *e, lsmd_completion *out)
{
    struct conn_slot *s = &c->slots[e->tag];
    out->user_data = s->user_data;
    out->tag = (int)e->tag;
    out->status = e->status;
    out->op = s->op;
    out->val = NULL;
    out->vlen = 0;
    out->count = 0;
    if (s->op == LSMD_OP_MULTI_GET && e->status == 0) {
        uint32_t cap = c->slot_bytes - (s->out_off - e->tag * c->slot_bytes);
        /* The reply is checked whole here, so lsmd_completion_multi_get
         * can walk it without bounds checks. */
        if (e->r0 != s->count ||
            shm_mget_reply_check(c->arena + s->out_off, cap, s->count, e->r1)) {
            out->status = -EPROTO;
        } else {
            out->val = c->arena + s->out_off;
            out->vlen = (size_t)e->r1;
            out->count = s->count;
        }
    }
    if (s->op == LSMD_OP_SCAN && (e->status == 0 || e->status == LSM_ETOOSMALL)) {
        uint32_t cap = c->slot_bytes - (s->out_off - e->tag * c->slot_bytes);
        if (e->status == LSM_ETOOSMALL) {
            out->vlen = (size_t)e->r1;
        } else if (e->r0 != 0 || (s->count && e->aux > s->count) || e->r1 > cap ||
                   shm_page_check(c->arena + s->out_off, e->r1, e->aux) != 0) {
            /* An iterator left open, or a page that does not parse: the
             * page is checked whole here, so lsmd_completion_scan can walk
             * it without bounds checks. */
            out->status = -EPROTO;
        } else {
            out->val = c->arena + s->out_off;
            out->vlen = (size_t)e->r1;
            out->count = e->aux;
        }
    }
    if (s->op == LSMD_OP_GET && (e->status == 0 || e->status == LSM_ETOOSMALL)) {
        uint32_t cap = c->slot_bytes - (s->out_off - e->tag * c->slot_bytes);
        out->vlen = (size_t)e->r0;
        if (e->status == 0 && e->r0 > cap) {
            out->status = -EPROTO; /* the daemon overstated the length */
            out->vlen = 0;
        } else if (e->status == 0) {
            out->val = c->arena + s->out_off;
        }
    }
    if (out->status < 0) /* the last error: this request's, as it is returned */
        conn_error_from(c, e, c->pending_why[e - c->pending]);
    s->state = SLOT_DELIVERED;
    c->delivered[c->ndelivered++] = e->tag;
    c->async_inflight--;
}

int lsmd_poll(lsmd_conn *c, lsmd_completion *out, int max, int min_wait)
{
    if (!c || (max > 0 && !out) || max < 0 || min_wait < 0)
        return -EINVAL;
    release_delivered(c);
    if (c->dead) {
        /* Completions already reaped stay deliverable; the rest are lost. */
        if (c->npending == 0)
            return c->dead;
        min_wait = 0;
    }
    if ((uint32_t)min_wait > c->async_inflight)
        min_wait = (int)c->async_inflight;
    if (min_wait > max)
        min_wait = max;
    int n = 0;
    for (;;) {
        if (!c->dead) {
            int rc = conn_reap(c);
            if (rc && c->npending == 0)
                return rc;
        }
        while (c->npending && n < max) {
            deliver(c, &c->pending[c->pend_head], &out[n++]);
            c->pend_head = (c->pend_head + 1) % c->nslots;
            c->npending--;
        }
        if (n >= min_wait)
            return n;
        int rc = conn_wait_pending(c); /* wakes the daemon first */
        if (rc == 0 && c->dead)
            rc = c->dead;
        if (rc && c->npending == 0)
            return n ? n : rc;
    }
}

int lsmd_inflight(const lsmd_conn *c)
{
    return (int)c->async_inflight;
}
