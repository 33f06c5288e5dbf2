/* iter.c — range iterators that live in the daemon and are read here a page
 * at a time (lsmd.h; protocol.h "Iterator pages").  The first page comes
 * with the open itself (ITER_SCAN), the others with ITER_NEXT.
 *
 * Pages grow: the first asks for ITER_FIRST_PAGE entries (a seek followed by
 * a few nexts must not make the daemon read hundreds of entries), each next
 * one for ITER_GROWTH times more, up to ITER_PAGE_BYTES per page.  A page
 * arrives in the large region and is copied into the iterator's own buffer,
 * because the next synchronous call on the connection (a get inside the
 * scan loop, say) reuses that region.  An entry larger than the whole
 * region is read in pieces (big_entry.c) into that buffer as a page of
 * one entry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "validate.h"

#define ITER_FIRST_PAGE 16u
#define ITER_GROWTH 4u
#define ITER_MAX_ENTRIES 4096u
#define ITER_PAGE_BYTES (256u * 1024u)

struct lsmd_iter {
    lsmd_conn *c;
    uint64_t id;            /* daemon iterator, 0 once closed */
    int status;
    bool end;               /* the daemon reported the last page */
    char *page;             /* private copy of the current page */
    size_t page_cap;
    uint64_t page_bytes;
    uint32_t page_count;
    uint32_t idx;           /* current entry */
    uint64_t pos;           /* offset of the current entry */
    uint32_t next_max;      /* entries to ask for next */
    uint32_t next_cap;      /* bytes to offer next (grows on ETOOSMALL) */
};

/* Takes a page from the large region at off (reply cqe) into it->page. */
static int take_page(lsmd_iter *it, uint32_t off, const struct shm_cqe *cqe)
{
    lsmd_conn *c = it->c;
    if (cqe->r1 > c->large_bytes - (off - c->large_off) ||
        shm_page_check(c->arena + off, cqe->r1, cqe->aux) != 0) {
        conn_kill(c, "malformed iterator page");
        return c->dead;
    }
    if (cqe->r1 > it->page_cap) {
        char *p = realloc(it->page, cqe->r1);
        if (!p)
            return -ENOMEM;
        it->page = p;
        it->page_cap = cqe->r1;
    }
    if (cqe->r1)
        memcpy(it->page, c->arena + off, cqe->r1);
    it->page_bytes = cqe->r1;
    it->page_count = cqe->aux;
    it->idx = 0;
    it->pos = 0;
    if (cqe->flags & SHM_CQ_ITER_END) {
        it->end = true;
        it->id = 0; /* closed by the daemon */
    }
    uint64_t m = (uint64_t)it->next_max * ITER_GROWTH;
    it->next_max = m > ITER_MAX_ENTRIES ? ITER_MAX_ENTRIES : (uint32_t)m;
    return 0;
}

static uint32_t page_room(const lsmd_iter *it, uint32_t used)
{
    uint32_t room = it->c->large_bytes - used;
    return room < it->next_cap ? room : it->next_cap;
}

/* Makes the entry larger than the large region that the daemon iterator
 * stands at the current page, read in pieces, and moves the daemon
 * iterator past it. */
static void take_big(lsmd_iter *it)
{
    big_entry e;
    int rc = conn_big_entry(it->c, it->id, BIG_PAGE, true, &e);
    if (rc) {
        it->status = rc;
        return;
    }
    free(it->page);
    it->page = e.buf;
    it->page_cap = e.buf_bytes;
    it->page_bytes = e.buf_bytes;
    it->page_count = 1;
    it->idx = 0;
    it->pos = 0;
    if (e.ended) {
        it->end = true;
        it->id = 0; /* closed by the daemon */
    }
}

/* Fetches pages until one holds an entry or the range ends. */
static void fetch(lsmd_iter *it)
{
    lsmd_conn *c = it->c;
    while (!it->end && it->status == 0) {
        struct shm_sqe sqe = {
            .opcode = SHM_OP_ITER_NEXT,
            .arg0 = it->id,
            .arg1 = it->next_max,
            .out_off = c->large_off,
            .out_cap = page_room(it, 0),
        };
        struct shm_cqe cqe;
        int rc = conn_call(c, &sqe, &cqe);
        if (rc == 0 && cqe.status == LSM_ETOOSMALL) {
            if (cqe.r1 <= sqe.out_cap) { /* "too small" for what fits */
                conn_kill(c, "iterator page size contradiction");
                it->status = c->dead;
                return;
            }
            if (cqe.r1 > c->large_bytes) {
                take_big(it);
                return;
            }
            it->next_cap = (uint32_t)cqe.r1;
            continue;
        }
        if (rc == 0)
            rc = cqe.status;
        if (rc == 0)
            rc = take_page(it, sqe.out_off, &cqe);
        if (rc) {
            it->status = rc;
            return;
        }
        if (it->page_count)
            return;
    }
}

int lsmd_iter_new(lsmd_conn *c, uint64_t snapshot_id, const void *lo,
                  size_t lolen, const void *hi, size_t hilen, lsmd_iter **out)
{
    return lsmd_iter_new_ex(c, snapshot_id, lo, lolen, hi, hilen, 0, out);
}

int lsmd_iter_new_ex(lsmd_conn *c, uint64_t snapshot_id, const void *lo,
                     size_t lolen, const void *hi, size_t hilen, int flags,
                     lsmd_iter **out)
{
    if (!out || (flags & ~LSMD_ITER_REVERSE))
        return -EINVAL;
    *out = NULL;
    if (!lo)
        lolen = 0;
    if (!hi)
        hilen = 0;
    if (lolen > LSM_MAX_KEY_SIZE || hilen > LSM_MAX_KEY_SIZE)
        return -EINVAL;
    if (align8((uint32_t)(lolen + hilen)) + SHM_MIN_SLOT_BYTES > c->large_bytes)
        return -E2BIG;
    lsmd_iter *it = calloc(1, sizeof(*it));
    if (!it)
        return -ENOMEM;
    it->c = c;
    it->next_max = ITER_FIRST_PAGE;
    it->next_cap = ITER_PAGE_BYTES;
    char *p = conn_large(c);
    if (lolen)
        memcpy(p, lo, lolen);
    if (hilen)
        memcpy(p + lolen, hi, hilen);
    uint32_t used = align8((uint32_t)(lolen + hilen));
    /* ITER_SCAN: the first page in the reply, and nothing left open on
     * the daemon when it holds the whole range (r0 = 0). */
    struct shm_sqe sqe = {
        .opcode = SHM_OP_ITER_SCAN,
        .flags = (uint8_t)(flags & LSMD_ITER_REVERSE ? SHM_SQ_REVERSE : 0),
        .arg0 = snapshot_id,
        .arg1 = SHM_SCAN_ARG1(it->next_max, 0),
        .key_off = lolen ? c->large_off : 0,
        .key_len = (uint32_t)lolen,
        .val_off = hilen ? c->large_off + (uint32_t)lolen : 0,
        .val_len = (uint32_t)hilen,
        .out_off = c->large_off + used,
        .out_cap = page_room(it, used),
    };
    struct shm_cqe cqe;
    int rc = conn_call(c, &sqe, &cqe);
    if (rc == 0 && cqe.status == -EOPNOTSUPP) {
        /* A daemon older than ITER_SCAN (docs/upgrade.md): ITER_OPEN,
         * which also brings the first page. */
        sqe.opcode = SHM_OP_ITER_OPEN;
        sqe.arg1 = it->next_max;
        rc = conn_call(c, &sqe, &cqe);
    }
    if (rc == 0)
        rc = cqe.status;
    if (rc != 0 && rc != LSM_ETOOSMALL) {
        free(it);
        return rc;
    }
    it->id = cqe.r0;
    if (rc == LSM_ETOOSMALL) {
        /* First entry larger than the room offered: fetch() retries, or
         * it comes in pieces. */
        if (cqe.r1 > c->large_bytes)
            take_big(it);
        else
            it->next_cap = (uint32_t)cqe.r1;
    } else {
        rc = take_page(it, sqe.out_off, &cqe);
        if (rc) {
            lsmd_iter_free(it);
            return rc;
        }
    }
    if (it->page_count == 0)
        fetch(it);
    *out = it;
    return 0;
}

int lsmd_iter_valid(const lsmd_iter *it)
{
    return it && it->status == 0 && it->idx < it->page_count;
}

static void entry(const lsmd_iter *it, uint32_t *kl, uint32_t *vl)
{
    memcpy(kl, it->page + it->pos, 4);
    memcpy(vl, it->page + it->pos + 4, 4);
}

void lsmd_iter_next(lsmd_iter *it)
{
    if (!lsmd_iter_valid(it))
        return;
    uint32_t kl, vl;
    entry(it, &kl, &vl);
    it->pos += SHM_PAGE_ENTRY_HDR + (uint64_t)kl + vl;
    it->idx++;
    if (it->idx == it->page_count) {
        it->page_count = 0;
        it->idx = 0;
        fetch(it);
    }
}

const void *lsmd_iter_key(const lsmd_iter *it, size_t *klen)
{
    uint32_t kl, vl;
    entry(it, &kl, &vl);
    if (klen)
        *klen = kl;
    return it->page + it->pos + SHM_PAGE_ENTRY_HDR;
}

const void *lsmd_iter_value(const lsmd_iter *it, size_t *vlen)
{
    uint32_t kl, vl;
    entry(it, &kl, &vl);
    if (vlen)
        *vlen = vl;
    return it->page + it->pos + SHM_PAGE_ENTRY_HDR + kl;
}

int lsmd_iter_status(const lsmd_iter *it)
{
    return it ? it->status : -EINVAL;
}

void lsmd_iter_free(lsmd_iter *it)
{
    if (!it)
        return;
    if (it->id)
        conn_iter_close(it->c, it->id);
    free(it->page);
    free(it);
}
