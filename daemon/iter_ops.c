/* iter_ops.c — see iter_ops.h. */
#include "iter_ops.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "snapshot_registry.h"

/* What one page may hold. */
struct page_req {
    uint32_t out_off, out_cap;
    uint32_t max;       /* entries, 0 = no limit */
    uint32_t budget;    /* soft bytes, never above out_cap */
};

static void post(session *s, const struct shm_cqe *c)
{
    session_post(s, c);
    s->need_wake = true;
}

/* Hands si (no longer in any table) to the retired list; frees it at once
 * when the list cannot grow. */
static void retire(daemon_ctx *d, iter_retired *r, session_iter *si)
{
    if (r->n == r->cap) {
        uint32_t cap = r->cap ? 2 * r->cap : 8;
        session_iter *a = realloc(r->v, cap * sizeof *a);
        if (!a) {
            session_iter_release(d, si);
            return;
        }
        r->v = a;
        r->cap = cap;
    }
    r->v[r->n++] = *si;
}

/* Takes iterator id out of s's table and retires it.  0 or -EBADF. */
static int retire_id(daemon_ctx *d, iter_retired *r, session *s, uint64_t id)
{
    session_iter si;
    int rc = session_iter_take(s, id, &si);
    if (rc == 0)
        retire(d, r, &si);
    return rc;
}

void iter_retired_release(daemon_ctx *d, iter_retired *r)
{
    for (uint32_t i = 0; i < r->n; i++)
        session_iter_release(d, &r->v[i]);
    r->n = 0;
}

void iter_retired_free(daemon_ctx *d, iter_retired *r)
{
    iter_retired_release(d, r);
    free(r->v);
    r->v = NULL;
    r->cap = 0;
}

/* Moves si one entry on in its direction. */
static void step(session_iter *si)
{
    if (si->reverse)
        lsm_iter_prev(si->it);
    else
        lsm_iter_next(si->it);
}

/* Fills a page from the iterator's position: c->r1 bytes, c->aux entries.
 * An entry is added while the page is empty or stays within the budget,
 * and always only when it fits out_cap; a first entry above out_cap is
 * LSM_ETOOSMALL with c->r1 = its size, the iterator not moved.  Returns
 * true when the iterator is exhausted or failed (then SHM_CQ_ITER_END and
 * the iterator's status are in c). */
static bool fill_page(session *s, session_iter *si, const struct page_req *p,
                      struct shm_cqe *c)
{
    char *page = shm_session_arena(s->shm) + p->out_off;
    uint32_t used = 0, count = 0;
    while (lsm_iter_valid(si->it) && (p->max == 0 || count < p->max)) {
        size_t klen, vlen;
        const void *k = lsm_iter_key(si->it, &klen);
        const void *v = lsm_iter_value(si->it, &vlen);
        uint64_t need = SHM_PAGE_ENTRY_HDR + (uint64_t)klen + vlen;
        if (count > 0 && used + need > p->budget)
            break;
        if (shm_page_append(page, p->out_cap, &used, k, (uint32_t)klen, v,
                            (uint32_t)vlen) != 0) {
            if (count == 0) {
                c->status = LSM_ETOOSMALL;
                c->r1 = need;
                return false;
            }
            break;
        }
        count++;
        step(si);
    }
    c->r1 = used;
    c->aux = count;
    if (lsm_iter_valid(si->it))
        return false;
    c->flags = SHM_CQ_ITER_END;
    c->status = lsm_iter_status(si->it);
    return true;
}

/* Builds an engine iterator over [lo, hi) at q's snapshot into *si (not in
 * any table yet).  0 or an error; on error *si owns nothing. */
static int build(daemon_ctx *d, session *s, const struct shm_sqe *q, session_iter *si)
{
    *si = (session_iter){ .reverse = (q->flags & SHM_SQ_REVERSE) != 0 };
    const lsm_snapshot *snap = NULL;
    int rc;
    if (q->arg0) {
        rc = snapreg_ref(d->snaps, s->id, q->arg0, &snap);
        if (rc)
            return rc;
        si->snap_id = q->arg0;
    }
    /* Private copies of the bounds, kept for the iterator's life. */
    size_t nb = (size_t)q->key_len + q->val_len;
    si->bounds = malloc(nb ? nb : 1);
    if (!si->bounds) {
        rc = -ENOMEM;
        goto fail;
    }
    const char *arena = shm_session_arena(s->shm);
    char *lo = si->bounds, *hi = lo + q->key_len;
    memcpy(lo, arena + q->key_off, q->key_len);
    memcpy(hi, arena + q->val_off, q->val_len);
    rc = lsm_iter_new(d->db, snap, q->key_len ? lo : NULL, q->key_len,
                      q->val_len ? hi : NULL, q->val_len, &si->it);
    if (rc == 0)
        return 0;
fail:
    free(si->bounds);
    if (si->snap_id)
        snapreg_unref(d->snaps, si->snap_id);
    *si = (session_iter){ 0 };
    return rc;
}

static int key_cmp(const void *a, size_t al, const void *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

/* Positions a new iterator at ITER_SCAN's seek key (copied once into
 * private memory): the first key >= seek, or in reverse the last <= seek;
 * no seek key: the range's first (last) key. */
static int position(session *s, session_iter *si, const struct shm_sqe *q)
{
    if (q->opcode != SHM_OP_ITER_SCAN || q->seek_len == 0) {
        if (si->reverse)
            lsm_iter_last(si->it);
        else
            lsm_iter_first(si->it);
        return 0;
    }
    char *seek = malloc(q->seek_len);
    if (!seek)
        return -ENOMEM;
    memcpy(seek, shm_session_arena(s->shm) + q->seek_off, q->seek_len);
    lsm_iter_seek(si->it, seek, q->seek_len);
    if (si->reverse) {
        if (!lsm_iter_valid(si->it)) {
            if (lsm_iter_status(si->it) == 0)
                lsm_iter_last(si->it); /* every key in range is below seek */
        } else {
            size_t kl;
            const void *k = lsm_iter_key(si->it, &kl);
            if (key_cmp(k, kl, seek, q->seek_len) > 0)
                lsm_iter_prev(si->it);
        }
    }
    free(seek);
    return 0;
}

/* ITER_OPEN: the iterator enters the table first (its id is in every
 * reply with status 0 or LSM_ETOOSMALL), then the optional first page. */
static void op_open(daemon_ctx *d, iter_retired *r, session *s, const struct shm_sqe *q)
{
    struct shm_cqe c = { .tag = q->tag };
    session_iter si;
    if (session_iter_full(s)) {
        c.status = -EMFILE;
    } else if ((c.status = build(d, s, q, &si)) == 0) {
        position(s, &si, q);
        c.status = session_iter_add(s, &si);
        if (c.status) {
            session_iter_release(d, &si);
        } else {
            c.r0 = si.id;
            struct page_req p = { .out_off = q->out_off, .out_cap = q->out_cap,
                                  .max = (uint32_t)q->arg1, .budget = q->out_cap };
            if (q->out_cap > 0 && fill_page(s, session_iter_find(s, si.id), &p, &c))
                retire_id(d, r, s, si.id);
        }
    }
    post(s, &c);
}

/* ITER_SCAN: opens, seeks and fills the first page; the iterator enters
 * the table only if the client may continue it (protocol.h "Scans"). */
static void op_scan(daemon_ctx *d, iter_retired *r, session *s, const struct shm_sqe *q)
{
    struct shm_cqe c = { .tag = q->tag };
    session_iter si;
    c.status = build(d, s, q, &si);
    if (c.status) {
        post(s, &c);
        return;
    }
    uint32_t budget = SHM_SCAN_BUDGET(q->arg1);
    struct page_req p = { .out_off = q->out_off, .out_cap = q->out_cap,
                          .max = SHM_SCAN_MAX(q->arg1),
                          .budget = budget && budget < q->out_cap ? budget : q->out_cap };
    c.status = position(s, &si, q);
    bool done = c.status != 0 || fill_page(s, &si, &p, &c) ||
                (q->flags & SHM_SQ_ONE_PAGE) ||
                ((q->flags & SHM_SQ_UPTO) && p.max && c.aux == p.max);
    if (c.status && c.status != LSM_ETOOSMALL)
        done = true; /* a failed iterator is never left open */
    int rc;
    if (!done && (rc = session_iter_add(s, &si)) != 0) {
        /* It would stay open and may not (-EMFILE: the client or its uid
         * holds the most it may): the page does not count. */
        c = (struct shm_cqe){ .tag = q->tag, .status = rc };
        done = true;
    }
    if (done)
        retire(d, r, &si);
    else
        c.r0 = si.id;
    post(s, &c);
}

/* ITER_PIECE: bytes [arg1, arg1 + n) of the key and value the iterator
 * stands at (protocol.h "Big entries").  The engine iterator keeps the
 * entry in memory while it stands there, so each piece is a copy, and a
 * 64 MiB value costs the daemon nothing more than the iterator already
 * holds. */
static void op_piece(daemon_ctx *d, iter_retired *r, session *s, const struct shm_sqe *q)
{
    struct shm_cqe c = { .tag = q->tag };
    session_iter *si = session_iter_find(s, q->arg0);
    if (!si) {
        c.status = -EBADF;
    } else if (!lsm_iter_valid(si->it)) {
        c.status = lsm_iter_status(si->it) ? lsm_iter_status(si->it) : LSM_ENOTFOUND;
    } else {
        size_t kl, vl;
        const char *k = lsm_iter_key(si->it, &kl);
        const char *v = lsm_iter_value(si->it, &vl);
        uint64_t total = (uint64_t)kl + vl, off = q->arg1;
        if (off > total) {
            c.status = -EINVAL;
            post(s, &c);
            return;
        }
        uint64_t n = total - off < q->out_cap ? total - off : q->out_cap;
        char *out = shm_session_arena(s->shm) + q->out_off;
        uint64_t done = 0;
        if (off < kl) {
            done = kl - off < n ? kl - off : n;
            memcpy(out, k + off, done);
        }
        if (n > done)
            memcpy(out + done, v + (off + done - kl), n - done);
        c.r0 = kl;
        c.r1 = vl;
        c.aux = (uint32_t)n;
        if (q->flags & SHM_SQ_PAST) {
            step(si);
            if (!lsm_iter_valid(si->it)) {
                c.flags = SHM_CQ_ITER_END;
                c.status = lsm_iter_status(si->it);
                retire_id(d, r, s, q->arg0);
            }
        }
    }
    post(s, &c);
}

void iter_op(daemon_ctx *d, iter_retired *r, session *s, const struct shm_sqe *q)
{
    if (q->opcode == SHM_OP_ITER_PIECE) {
        op_piece(d, r, s, q);
        return;
    }
    if (q->opcode == SHM_OP_ITER_OPEN) {
        op_open(d, r, s, q);
        return;
    }
    if (q->opcode == SHM_OP_ITER_SCAN) {
        op_scan(d, r, s, q);
        return;
    }
    struct shm_cqe c = { .tag = q->tag, .r0 = q->arg0 };
    if (q->opcode == SHM_OP_ITER_CLOSE) {
        c.status = retire_id(d, r, s, q->arg0);
    } else {
        session_iter *si = session_iter_find(s, q->arg0);
        struct page_req p = { .out_off = q->out_off, .out_cap = q->out_cap,
                              .max = (uint32_t)q->arg1, .budget = q->out_cap };
        if (!si)
            c.status = -EBADF;
        else if (fill_page(s, si, &p, &c))
            retire_id(d, r, s, q->arg0);
    }
    post(s, &c);
}
