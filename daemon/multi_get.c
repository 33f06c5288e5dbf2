/* multi_get.c — SHM_OP_MULTI_GET (multi_get.h). */
#include "multi_get.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "lsm.h"
#include "validate.h"

/* What one request holds in daemon memory while it is served. */
typedef struct mget_req {
    char *list;                 /* private copy of the key list */
    const void **keys;
    size_t *lens;
    struct shm_mget_res *res;   /* the table, written out at the end */
    void **vals;                /* one chunk's values (lsm_multi_get's) */
    size_t *vlens;
    int *sts;
} mget_req;

static void req_free(mget_req *r)
{
    free(r->list);
    free(r->keys);
    free(r->lens);
    free(r->res);
    free(r->vals);
    free(r->vlens);
    free(r->sts);
}

static int req_alloc(mget_req *r, uint32_t n, uint32_t list_bytes)
{
    uint32_t chunk = n < MULTI_GET_CHUNK ? n : MULTI_GET_CHUNK;
    r->list = malloc(list_bytes);
    r->keys = malloc(n * sizeof *r->keys);
    r->lens = malloc(n * sizeof *r->lens);
    r->res = malloc(n * sizeof *r->res);
    r->vals = malloc(chunk * sizeof *r->vals);
    r->vlens = malloc(chunk * sizeof *r->vlens);
    r->sts = malloc(chunk * sizeof *r->sts);
    return r->list && r->keys && r->lens && r->res && r->vals && r->vlens && r->sts
               ? 0 : -ENOMEM;
}

/* Looks up keys [0, n) chunk by chunk, placing values at out + *pos
 * (cap bytes in all).  Returns 0 or an error of the whole request. */
static int lookup(lsm_db *db, const lsm_snapshot *snap, mget_req *r, uint32_t n, char *out,
                  uint64_t cap, uint64_t *pos)
{
    bool full = false;
    for (uint32_t i = 0; i < n; i += MULTI_GET_CHUNK) {
        uint32_t k = n - i < MULTI_GET_CHUNK ? n - i : MULTI_GET_CHUNK;
        if (full) {
            for (uint32_t j = 0; j < k; j++)
                r->res[i + j] = (struct shm_mget_res){ .status = -EAGAIN };
            continue;
        }
        int rc = lsm_multi_get(db, snap, k, r->keys + i, r->lens + i, r->vals, r->vlens,
                               r->sts);
        if (rc)
            return rc; /* n <= SHM_MGET_MAX_KEYS: only -ENOMEM */
        for (uint32_t j = 0; j < k; j++) {
            struct shm_mget_res *e = &r->res[i + j];
            *e = (struct shm_mget_res){ .status = r->sts[j] };
            if (r->sts[j] != 0)
                continue;
            /* A value is at most LSM_MAX_VALUE_SIZE: it fits a u32. */
            e->value_len = (uint32_t)r->vlens[j];
            if (r->vlens[j] <= cap - *pos) {
                memcpy(out + *pos, r->vals[j], r->vlens[j]);
                *pos += r->vlens[j];
            } else {
                e->status = LSM_ETOOSMALL;
                full = true;
            }
            lsm_free(r->vals[j]);
        }
    }
    return 0;
}

void multi_get_serve(daemon_ctx *d, session *s, const struct shm_sqe *q, struct shm_cqe *c)
{
    *c = (struct shm_cqe){ .tag = q->tag };
    uint32_t n = (uint32_t)q->arg1; /* validated: 1 .. SHM_MGET_MAX_KEYS */
    if (q->key_len > d->cfg->max_request_bytes) {
        log_warn_limited("client %llu (pid %d): MULTI_GET key list of %u bytes refused "
                         "(max_request_bytes is %zu)", (unsigned long long)s->id,
                         (int)s->pid, q->key_len, d->cfg->max_request_bytes);
        c->status = -E2BIG;
        return;
    }
    const lsm_snapshot *snap = NULL;
    lsm_snapshot *own = NULL;
    if (q->arg0) {
        c->status = snapreg_ref(d->snaps, s->id, q->arg0, &snap);
        if (c->status)
            return;
    }
    mget_req r = { 0 };
    c->status = req_alloc(&r, n, q->key_len);
    if (c->status)
        goto out;
    char *arena = shm_session_arena(s->shm);
    /* The key list is read once into private memory: the engine compares
     * the keys many times and must not see them change. */
    memcpy(r.list, arena + q->key_off, q->key_len);
    const char *why;
    c->status = shm_mget_keys_parse(r.list, q->key_len, n, r.keys, r.lens, &why);
    if (c->status) {
        log_warn_limited("client %llu (pid %d): MULTI_GET refused: %s",
                         (unsigned long long)s->id, (int)s->pid, why);
        goto out;
    }
    /* Every key of a request reads one view: without a snapshot and with
     * more than one chunk, the request takes its own. */
    if (!snap && n > MULTI_GET_CHUNK) {
        if (!(own = lsm_snapshot_acquire(d->db))) {
            c->status = -ENOMEM;
            goto out;
        }
        snap = own;
    }
    char *out = arena + q->out_off;
    uint64_t pos = (uint64_t)n * sizeof(struct shm_mget_res); /* validated <= out_cap */
    c->status = lookup(d->db, snap, &r, n, out, q->out_cap, &pos);
    if (c->status == 0) {
        memcpy(out, r.res, (size_t)n * sizeof *r.res);
        c->r0 = n;
        c->r1 = pos;
    }
out:
    req_free(&r);
    if (own)
        lsm_snapshot_release(d->db, own);
    if (q->arg0)
        snapreg_unref(d->snaps, q->arg0);
}
