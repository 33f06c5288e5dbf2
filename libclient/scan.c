/* scan.c — lsmd_scan (lsmd.h "Bounded scans"; protocol.h "Scans").
 *
 * The bounds and the seek key go first in the large region, the first
 * page after them: one ITER_SCAN round trip.  Asked with a limit, the
 * scan sets SHM_SQ_UPTO, so a first page that holds the limit (or the
 * rest of the range) leaves nothing open on the daemon and nothing more
 * is sent.  Later pages come with ITER_NEXT, each asked for before the
 * one before it is read, in the other part of the large region.  Entries
 * go to the callback straight from the segment: no copy
 * (the callback may not use the connection, which is what makes that
 * safe), except an entry larger than the whole large region, which is read
 * in pieces into one heap buffer first (big_entry.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "validate.h"

#define SCAN_PAGE_BYTES (256u * 1024u)

struct scan {
    lsmd_conn *c;
    lsmd_scan_fn fn;
    void *arg;
    uint64_t max, n;   /* limit (0 = none), entries given to fn */
    uint64_t id;       /* open daemon iterator, 0 = none */
    bool stopped;      /* fn asked to stop */
};

/* Hands the page at off (reply cqe, asked for at most asked entries) to
 * fn.  Returns 0, or the connection's error when the page is malformed. */
static int deliver(struct scan *sc, uint32_t off, uint32_t asked, const struct shm_cqe *cqe)
{
    lsmd_conn *c = sc->c;
    if ((asked && cqe->aux > asked) ||
        cqe->r1 > c->large_bytes - (off - c->large_off) ||
        shm_page_check(c->arena + off, cqe->r1, cqe->aux) != 0) {
        conn_kill(c, "malformed scan page");
        return c->dead;
    }
    if (cqe->flags & SHM_CQ_ITER_END)
        sc->id = 0; /* closed by the daemon */
    const char *p = c->arena + off;
    for (uint32_t i = 0; i < cqe->aux; i++) {
        uint32_t kl, vl;
        memcpy(&kl, p, 4);
        memcpy(&vl, p + 4, 4);
        p += SHM_PAGE_ENTRY_HDR;
        sc->n++;
        if (sc->fn(sc->arg, p, kl, p + kl, vl) != 0) {
            sc->stopped = true;
            break;
        }
        p += (uint64_t)kl + vl;
    }
    return 0;
}

/* Gives fn the entry larger than the large region that sc->id stands at,
 * read in pieces, and moves the iterator past it. */
static int big(struct scan *sc)
{
    big_entry e;
    int rc = conn_big_entry(sc->c, sc->id, BIG_PAGE, true, &e);
    if (rc)
        return rc;
    if (e.ended)
        sc->id = 0; /* closed by the daemon */
    sc->n++;
    const char *k = e.buf + SHM_PAGE_ENTRY_HDR;
    if (sc->fn(sc->arg, k, e.klen, k + e.klen, e.vlen) != 0)
        sc->stopped = true;
    free(e.buf);
    return 0;
}

static uint32_t clamp32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Where the next page can be filled while fn reads the page at
 * [off, off + bytes): the part of the large region before or after it, if
 * one holds want bytes.  Returns 0 and *at, or -1 when neither does. */
static int spare_room(const lsmd_conn *c, uint32_t off, uint64_t bytes, uint32_t want,
                      uint32_t *at)
{
    uint64_t end = (uint64_t)c->large_off + c->large_bytes;
    uint64_t after = ((uint64_t)off + bytes + 7u) & ~(uint64_t)7u;
    if (off - c->large_off >= want)
        *at = c->large_off;
    else if (after <= end && end - after >= want)
        *at = (uint32_t)after;
    else
        return -1;
    return 0;
}

/* Delivers the page in *cur (if have), then ITER_NEXT pages until the
 * limit, the end, a stop or an error.  Each next page is asked for before
 * the current one is read when the large region holds both, so the daemon
 * fills one while fn reads the other (a long scan then costs about the
 * slower of the two sides per entry, not their sum).  page is the byte
 * size to ask for. */
static int pages(struct scan *sc, bool have, uint32_t off, uint32_t asked,
                 struct shm_cqe cur, uint32_t page)
{
    lsmd_conn *c = sc->c;
    for (;;) {
        uint64_t after = sc->n + (have ? cur.aux : 0); /* once this page is read */
        bool more = sc->id && !sc->stopped && !(have && (cur.flags & SHM_CQ_ITER_END)) &&
                    (sc->max == 0 || after < sc->max);
        uint32_t want = page < c->large_bytes ? page : c->large_bytes;
        struct shm_sqe next = {
            .opcode = SHM_OP_ITER_NEXT,
            .arg0 = sc->id,
            .out_cap = want,
        };
        bool inflight = false;
        int rc = 0;
        if (more && (!have || spare_room(c, off, cur.r1, want, &next.out_off) == 0)) {
            if (!have)
                next.out_off = c->large_off;
            next.arg1 = sc->max ? clamp32(sc->max - after) : 0;
            rc = conn_call_begin(c, &next);
            if (rc)
                return rc;
            inflight = true;
        }
        if (have)
            rc = deliver(sc, off, asked, &cur);
        if (!inflight) {
            if (rc || !more || sc->stopped)
                return rc;
            /* No room for two pages: ask for the next one now. */
            next.out_off = c->large_off;
            next.arg1 = sc->max ? clamp32(sc->max - sc->n) : 0;
            rc = conn_call_begin(c, &next);
            if (rc)
                return rc;
        }
        struct shm_cqe got;
        int end_rc = conn_call_end(c, &next, &got); /* even after a failed deliver */
        if (rc || end_rc)
            return rc ? rc : end_rc;
        if (sc->stopped) {
            /* fn stopped in the page before this one: drop it. */
            if (got.flags & SHM_CQ_ITER_END)
                sc->id = 0;
            return 0;
        }
        if (got.status == LSM_ETOOSMALL) {
            if (got.r1 <= next.out_cap) { /* "too small" for what fits */
                conn_kill(c, "scan page size contradiction");
                return c->dead;
            }
            if (got.r1 > c->large_bytes) {
                /* More than the whole region: read in pieces, and the
                 * iterator moves past it. */
                rc = big(sc);
                if (rc)
                    return rc;
            } else {
                page = (uint32_t)got.r1;
            }
            have = false;
            continue;
        }
        if (got.status) {
            if (got.flags & SHM_CQ_ITER_END)
                sc->id = 0;
            return got.status;
        }
        have = true;
        off = next.out_off;
        asked = next.arg1;
        cur = got;
    }
}

int lsmd_scan(lsmd_conn *c, uint64_t snapshot_id, const void *lo, size_t lolen,
              const void *hi, size_t hilen, const void *seek, size_t seeklen, uint64_t max,
              size_t budget, int flags, lsmd_scan_fn fn, void *arg, uint64_t *visited)
{
    if (visited)
        *visited = 0;
    if (!c || !fn || (flags & ~(LSMD_ITER_REVERSE | LSMD_SCAN_ONE_PAGE)))
        return -EINVAL;
    if (!lo)
        lolen = 0;
    if (!hi)
        hilen = 0;
    if (!seek)
        seeklen = 0;
    if (lolen > LSM_MAX_KEY_SIZE || hilen > LSM_MAX_KEY_SIZE || seeklen > LSM_MAX_KEY_SIZE)
        return -EINVAL;
    uint32_t used = align8((uint32_t)(lolen + hilen + seeklen));
    if (used + SHM_MIN_SLOT_BYTES > c->large_bytes)
        return -E2BIG;
    uint32_t page = budget == 0 ? SCAN_PAGE_BYTES : clamp32(budget);
    struct scan sc = { .c = c, .fn = fn, .arg = arg, .max = max };
    char *p = conn_large(c);
    if (lolen)
        memcpy(p, lo, lolen);
    if (hilen)
        memcpy(p + lolen, hi, hilen);
    if (seeklen)
        memcpy(p + lolen + hilen, seek, seeklen);
    uint32_t asked = clamp32(max);
    uint8_t f = (uint8_t)((flags & LSMD_ITER_REVERSE ? SHM_SQ_REVERSE : 0) |
                          (flags & LSMD_SCAN_ONE_PAGE ? SHM_SQ_ONE_PAGE : 0) |
                          (max && max <= UINT32_MAX ? SHM_SQ_UPTO : 0));
    struct shm_sqe sqe = {
        .opcode = SHM_OP_ITER_SCAN,
        .flags = f,
        .arg0 = snapshot_id,
        .arg1 = SHM_SCAN_ARG1(asked, page),
        .key_off = lolen ? c->large_off : 0,
        .key_len = (uint32_t)lolen,
        .val_off = hilen ? c->large_off + (uint32_t)lolen : 0,
        .val_len = (uint32_t)hilen,
        .seek_off = seeklen ? c->large_off + (uint32_t)(lolen + hilen) : 0,
        .seek_len = (uint32_t)seeklen,
        .out_off = c->large_off + used,
        .out_cap = c->large_bytes - used, /* the budget is the soft limit */
    };
    struct shm_cqe cqe;
    int rc = conn_call(c, &sqe, &cqe);
    if (rc == 0)
        rc = cqe.status;
    if (rc == LSM_ETOOSMALL && cqe.r0 == 0) {
        /* One page only, and its first entry needs more than the room
         * after the bounds: ask again leaving an iterator open, for that
         * one entry (a page always holds at least one). */
        sqe.flags = (uint8_t)((f & ~SHM_SQ_ONE_PAGE) | SHM_SQ_UPTO);
        sqe.arg1 = SHM_SCAN_ARG1(1, page);
        sc.max = 1;
        rc = conn_call(c, &sqe, &cqe);
        if (rc == 0)
            rc = cqe.status;
        if (rc == LSM_ETOOSMALL && cqe.r0 == 0) {
            conn_kill(c, "scan reply too small without an iterator");
            rc = c->dead;
        }
    }
    if (rc == LSM_ETOOSMALL) {
        /* The first entry needs more than the room after the bounds: a
         * page of its own, or pieces when it needs more than the region. */
        sc.id = cqe.r0;
        rc = 0;
        if (cqe.r1 > c->large_bytes)
            rc = big(&sc);
        else
            page = (uint32_t)cqe.r1;
        if (rc == 0)
            rc = pages(&sc, false, 0, 0, cqe, page);
    } else if (rc == 0) {
        sc.id = cqe.r0;
        rc = pages(&sc, true, sqe.out_off, asked, cqe, page);
    }
    if (sc.id) {
        /* Stopped early or failed with an iterator open. */
        conn_iter_close(c, sc.id);
    }
    if (visited)
        *visited = sc.n;
    return rc;
}
