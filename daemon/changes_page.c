/* changes_page.c — see changes_page.h. */
#include "changes_page.h"

#include <string.h>

#include "lsm.h"

/* Appends one entry if it fits in cap; 0 or -1. */
static int append(char *page, uint32_t cap, uint32_t *used, const lsm_change *ch)
{
    uint64_t need = SHM_CHANGE_ENTRY_HDR + (uint64_t)ch->klen + ch->vlen;
    if (need > cap - *used)
        return -1;
    char *p = page + *used;
    uint8_t type = (uint8_t)ch->type;
    uint32_t klen = (uint32_t)ch->klen, vlen = (uint32_t)ch->vlen;
    memcpy(p, &ch->seq, 8);
    memcpy(p + 8, &type, 1);
    memcpy(p + 9, &klen, 4);
    memcpy(p + 13, &vlen, 4);
    memcpy(p + SHM_CHANGE_ENTRY_HDR, ch->key, klen);
    memcpy(p + SHM_CHANGE_ENTRY_HDR + klen, ch->value, vlen);
    *used += (uint32_t)need;
    return 0;
}

void changes_page_serve(daemon_ctx *d, session *s, const struct shm_sqe *q, struct shm_cqe *c)
{
    *c = (struct shm_cqe){ .tag = q->tag, .r0 = q->arg0 };
    lsm_changes *ch;
    c->status = lsm_changes_open(d->db, q->arg0, &ch);
    if (c->status != 0)
        return;
    char *page = shm_session_arena(s->shm) + q->out_off;
    uint32_t used = 0, count = 0;
    lsm_change e;
    int rc = 0;
    while ((q->arg1 == 0 || count < q->arg1) && (rc = lsm_changes_next(ch, &e)) == 1) {
        if (append(page, q->out_cap, &used, &e) != 0) {
            if (count == 0) {
                c->status = LSM_ETOOSMALL;
                c->r1 = SHM_CHANGE_ENTRY_HDR + (uint64_t)e.klen + e.vlen;
            }
            rc = 1; /* more to come */
            break;
        }
        c->r0 = e.seq;
        count++;
    }
    if (q->arg1 && count == q->arg1)
        rc = 1; /* stopped at the limit: perhaps more */
    lsm_changes_close(ch);
    if (c->status != 0)
        return;
    if (rc < 0) {
        c->status = rc;
        return;
    }
    c->r1 = used;
    c->aux = count;
    if (rc == 0)
        c->flags = SHM_CQ_ITER_END;
}
