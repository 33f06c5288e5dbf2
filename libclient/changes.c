/* changes.c — lsmd_changes (lsmd.h): one SHM_OP_CHANGES request, its page
 * read in place from the large region and checked entry by entry before
 * the caller sees it (a page that breaks the format ends the connection,
 * as any reply that does). */
#include <errno.h>
#include <string.h>

#include "conn.h"

int lsmd_changes(lsmd_conn *c, uint64_t since, uint32_t max, lsmd_change_fn fn, void *arg,
                 uint64_t *next, int *caught_up)
{
    if (!fn || !next || !caught_up)
        return -EINVAL;
    struct shm_sqe sqe = { .opcode = SHM_OP_CHANGES, .arg0 = since, .arg1 = max };
    struct shm_cqe cqe;
    int rc = conn_call_out(c, &sqe, &cqe); /* -E2BIG: an entry above the large region */
    if (rc)
        return rc;
    if (cqe.r1 > sqe.out_cap || cqe.r0 < since) {
        conn_kill(c, "CHANGES reply outside its buffer or going backwards");
        return c->dead;
    }
    /* Walk a copy of the bounds only: the page itself is ours until the
     * next request (the daemon wrote it before the completion). */
    const char *page = conn_large(c);
    uint64_t pos = 0, last = since;
    for (uint32_t i = 0; i < cqe.aux; i++) {
        uint64_t seq;
        uint8_t type;
        uint32_t klen, vlen;
        if (cqe.r1 - pos < SHM_CHANGE_ENTRY_HDR)
            goto bad;
        memcpy(&seq, page + pos, 8);
        memcpy(&type, page + pos + 8, 1);
        memcpy(&klen, page + pos + 9, 4);
        memcpy(&vlen, page + pos + 13, 4);
        pos += SHM_CHANGE_ENTRY_HDR;
        if (seq <= last || type > LSM_CHANGE_PUT || klen == 0 || klen > LSM_MAX_KEY_SIZE ||
            (type == LSM_CHANGE_DELETE && vlen) || (uint64_t)klen + vlen > cqe.r1 - pos)
            goto bad;
        last = seq;
        int stop = fn(arg, seq, type, page + pos, klen, page + pos + klen, vlen);
        pos += (uint64_t)klen + vlen;
        if (stop) {
            *next = seq;
            *caught_up = 0;
            return 0;
        }
    }
    if (pos != cqe.r1 || (cqe.aux && last != cqe.r0))
        goto bad;
    *next = cqe.r0;
    *caught_up = (cqe.flags & SHM_CQ_ITER_END) != 0;
    return 0;
bad:
    conn_kill(c, "malformed CHANGES page");
    return c->dead;
}
