/* big_entry.c — reading one entry larger than the large region in pieces
 * (conn.h "Entries larger than the large region"; protocol.h "Big
 * entries").  The connection's segment is sealed at attach and never
 * grows, so a 64 MiB value crosses it a region at a time: ITER_PIECE
 * requests at increasing offsets, each reply copied out of the region
 * into the caller's buffer before the next request reuses it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

/* Where byte i of key||value goes in the buffer, for each layout. */
static void place(big_entry *e, enum big_layout layout, uint64_t off, const char *src,
                  uint64_t n)
{
    if (layout == BIG_PAGE) {
        memcpy(e->buf + SHM_PAGE_ENTRY_HDR + off, src, n);
        return;
    }
    if (off + n <= e->klen)
        return; /* key bytes: BIG_VALUE keeps the value only */
    uint64_t skip = off < e->klen ? e->klen - off : 0;
    memcpy(e->buf + (off + skip - e->klen), src + skip, n - skip);
}

static int alloc_buf(big_entry *e, enum big_layout layout)
{
    size_t n = layout == BIG_PAGE ? SHM_PAGE_ENTRY_HDR + e->klen + e->vlen : e->vlen;
    e->buf = malloc(n ? n : 1);
    if (!e->buf)
        return -ENOMEM;
    e->buf_bytes = n;
    if (layout == BIG_PAGE) {
        uint32_t kl = (uint32_t)e->klen, vl = (uint32_t)e->vlen;
        memcpy(e->buf, &kl, 4);
        memcpy(e->buf + 4, &vl, 4);
    }
    return 0;
}

int conn_big_entry(lsmd_conn *c, uint64_t id, enum big_layout layout, bool past,
                   big_entry *out)
{
    big_entry e = { 0 };
    uint64_t off = 0, total = UINT64_MAX;
    bool moved = false;
    int rc = 0;
    /* Until the whole entry is here and, when asked, the iterator moved
     * past it (a zero-byte piece does that when the entry's size turned
     * out smaller than the region: it did not need pieces after all). */
    while (off < total || (past && !moved)) {
        uint64_t left = total == UINT64_MAX ? UINT64_MAX : total - off;
        bool last = left <= c->large_bytes;
        struct shm_sqe sqe = {
            .opcode = SHM_OP_ITER_PIECE,
            .flags = (uint8_t)(past && last ? SHM_SQ_PAST : 0),
            .arg0 = id,
            .arg1 = off,
            .out_off = c->large_off,
            .out_cap = c->large_bytes,
        };
        struct shm_cqe cqe;
        rc = conn_call(c, &sqe, &cqe);
        if (rc == 0)
            rc = cqe.status;
        if (rc == 0 || (cqe.flags & SHM_CQ_ITER_END)) {
            /* Every reply describes the same entry, and a piece is
             * exactly what was left of it up to the region's size. */
            uint64_t t = cqe.r0 + cqe.r1;
            bool bad = cqe.r0 > LSM_MAX_KEY_SIZE || cqe.r1 > LSM_MAX_VALUE_SIZE ||
                       (total != UINT64_MAX && (cqe.r0 != e.klen || cqe.r1 != e.vlen)) ||
                       cqe.aux != (t - off < c->large_bytes ? t - off : c->large_bytes);
            if (bad) {
                conn_kill(c, "ITER_PIECE reply contradicts the entry");
                rc = c->dead;
                break;
            }
            if (total == UINT64_MAX) {
                e.klen = (size_t)cqe.r0;
                e.vlen = (size_t)cqe.r1;
                total = t;
                if ((rc = alloc_buf(&e, layout)) != 0) {
                    /* The iterator did not move unless the piece was
                     * the last one, which it was not: the buffer comes
                     * before the first piece that can be the last. */
                    break;
                }
            }
            place(&e, layout, off, conn_large(c), cqe.aux);
            off += cqe.aux;
            if (sqe.flags & SHM_SQ_PAST) {
                moved = true;
                e.ended = (cqe.flags & SHM_CQ_ITER_END) != 0;
            }
        }
        if (rc)
            break;
    }
    if (rc) {
        free(e.buf);
        return rc;
    }
    *out = e;
    return 0;
}
