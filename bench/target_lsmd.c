/*
 * target_lsmd.c — the lsmd daemon through libclient/lsmd.h.
 *
 * Every worker thread has its own connection (a connection is used by one
 * thread at a time).  With --iodepth 1 the synchronous calls are used
 * (lsmd_get_into: no allocation); above 1 the worker drives
 * lsmd_submit_get / lsmd_submit_put / lsmd_poll with that many requests in
 * flight (the connection asks the daemon for that queue depth).
 * multireadrandom sends each batch with lsmd_multi_get, or above --iodepth
 * 1 with lsmd_submit_multi_get, that many batches in flight (a batch
 * whose values did not all fit its slot is sent again with
 * lsmd_multi_get).  Scans go through lsmd_scan (the first page with the
 * open, one round trip for a short scan; entries read in place in the
 * segment).
 *
 * The parent's target is only the socket path plus, lazily, one admin
 * connection for statistics; each forked client process opens its own.
 * Database settings cannot be chosen by a client: the daemon has its own
 * (start it with matching flags, as `make bench` does); memtable-bytes,
 * cache-bytes, compaction-style and compaction-threads, when given
 * explicitly, are applied with lsmd_set_option by the parent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsmd.h"
#include "target.h"

#define MAX_SLOT_BYTES (1u << 20) /* the largest slot a daemon grants */

typedef struct lsmd_target {
    target base;
    char *path;            /* NULL = the default socket */
    uint32_t depth;
    size_t kv_bytes;       /* key + value size of this run's requests */
    size_t batch;          /* multireadrandom's keys per multi-get */
    lsmd_conn *admin;      /* parent only, for statistics */
} lsmd_target;

struct tconn {
    lsmd_conn *c;
    char *buf;             /* lsmd_get_into's destination */
    size_t cap;
    lsmd_completion *comp; /* poll scratch */
    int ncomp;
    void **vals;           /* multi_get's values (grown to the batch) */
    size_t nvals;
    int *mst;              /* a multi-get completion's results */
    const void **mval;
    size_t *mlen, nmres;
};

static int apply_option(lsmd_conn *c, const char *name, const char *value)
{
    int rc = lsmd_set_option(c, name, value);
    if (rc)
        fprintf(stderr, "lsmbench: lsmd set %s=%s: %s\n", name, value, lsmd_strerror(rc));
    return rc;
}

static int lt_open(const char *arg, const bench_config *cfg, int mode, target **out)
{
    lsmd_target *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->base.ops = &target_lsmd_ops;
    t->path = *arg ? strdup(arg) : NULL;
    t->depth = (uint32_t)cfg->iodepth;
    t->kv_bytes = (size_t)cfg->key_size + cfg->value_size;
    t->batch = cfg->batch > 0 ? (size_t)cfg->batch : 1;
    if (*arg && !t->path) {
        free(t);
        return -ENOMEM;
    }
    /* The parent checks now that a daemon answers, and applies the settings
     * asked for; its connection then serves statistics. */
    if (mode != OPEN_CLIENT) {
        int rc = lsmd_connect(t->path, &t->admin);
        if (rc) {
            fprintf(stderr, "lsmbench: cannot attach to lsmd at %s: %s\n",
                    *arg ? arg : "(default socket)", lsmd_strerror(rc));
            free(t->path);
            free(t);
            return rc;
        }
        char v[32];
        if (cfg->explicit_mask & SET_MEMTABLE) {
            snprintf(v, sizeof v, "%llu", (unsigned long long)cfg->memtable_bytes);
            apply_option(t->admin, "memtable_bytes", v);
        }
        if (cfg->explicit_mask & SET_CACHE) {
            snprintf(v, sizeof v, "%llu", (unsigned long long)cfg->cache_bytes);
            apply_option(t->admin, "block_cache_bytes", v);
        }
        if (cfg->explicit_mask & SET_STYLE)
            apply_option(t->admin, "compaction_style", cfg->compaction_style);
        if (cfg->explicit_mask & SET_COMPACTION_THREADS) {
            snprintf(v, sizeof v, "%d", cfg->compaction_threads);
            apply_option(t->admin, "compaction_threads", v);
        }
    }
    *out = &t->base;
    return 0;
}

static void lt_close(target *tt)
{
    lsmd_target *t = (lsmd_target *)tt;
    lsmd_disconnect(t->admin);
    free(t->path);
    free(t);
}

static int lt_conn_open(target *tt, tconn **out)
{
    lsmd_target *t = (lsmd_target *)tt;
    tconn *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    lsmd_conn_options o;
    lsmd_conn_options_init(&o);
    if (t->depth > o.queue_depth)
        o.queue_depth = t->depth;
    /* Room for one request per slot (asynchronous) and in the large region
     * (synchronous), whatever --key-size and --value-size say. */
    if (t->kv_bytes + 64 > o.slot_bytes)
        o.slot_bytes = (uint32_t)(t->kv_bytes + 64);
    /* An asynchronous multi-get's keys, results and values share a slot
     * (each key: a 4-byte length and an 8-byte result). */
    size_t mslot = t->batch * (t->kv_bytes + 12) + 64;
    if (t->depth > 1 && mslot > o.slot_bytes)
        o.slot_bytes = (uint32_t)(mslot < MAX_SLOT_BYTES ? mslot : MAX_SLOT_BYTES);
    if (t->kv_bytes + 4096 > o.large_bytes)
        o.large_bytes = (uint32_t)(t->kv_bytes + 4096);
    int rc = lsmd_connect_opts(t->path, &o, &c->c);
    if (rc) {
        fprintf(stderr, "lsmbench: lsmd connect: %s\n", lsmd_strerror(rc));
        free(c);
        return rc;
    }
    c->cap = 64 << 10;
    c->ncomp = (int)(t->depth > 0 ? t->depth : 1);
    c->buf = malloc(c->cap);
    c->comp = calloc((size_t)c->ncomp, sizeof *c->comp);
    if (!c->buf || !c->comp) {
        lsmd_disconnect(c->c);
        free(c->buf);
        free(c->comp);
        free(c);
        return -ENOMEM;
    }
    *out = c;
    return 0;
}

static void lt_conn_close(tconn *c)
{
    lsmd_disconnect(c->c);
    free(c->buf);
    free(c->comp);
    free(c->vals);
    free(c->mst);
    free(c->mval);
    free(c->mlen);
    free(c);
}

static int lt_put(tconn *c, const void *k, size_t kl, const void *v, size_t vl, bool sync)
{
    return lsmd_put(c->c, k, kl, v, vl, sync ? LSM_SYNC : 0);
}

static int lt_get(tconn *c, const void *k, size_t kl, size_t *vlen)
{
    int rc = lsmd_get_into(c->c, 0, k, kl, c->buf, c->cap, vlen);
    if (rc == LSM_ETOOSMALL) {
        /* A value larger than the buffer: fetch it whole once, grow. */
        void *v;
        rc = lsmd_get(c->c, 0, k, kl, &v, vlen);
        if (rc == 0) {
            free(v);
            char *nb = realloc(c->buf, *vlen);
            if (nb) {
                c->buf = nb;
                c->cap = *vlen;
            }
        }
    }
    return rc;
}

/* lt_scan's callback state: the bench's per-entry function and the bytes. */
struct lt_scan_state {
    scan_fn fn;
    void *arg;
    uint64_t bytes;
};

static int lt_scan_entry(void *arg, const void *key, size_t klen, const void *value,
                         size_t vlen)
{
    struct lt_scan_state *st = arg;
    (void)key;
    (void)value;
    st->bytes += klen + vlen;
    return st->fn && !st->fn(st->arg, klen, vlen);
}

/* One lsmd_scan of at most n entries: a short scan (seekrandom) is one
 * round trip that leaves no iterator on the daemon. */
static int lt_scan(tconn *c, const void *start, size_t sl, uint64_t n, scan_fn fn, void *arg,
                   uint64_t *visited, uint64_t *bytes)
{
    struct lt_scan_state st = { .fn = fn, .arg = arg };
    int rc = lsmd_scan(c->c, 0, start, start ? sl : 0, NULL, 0, NULL, 0, n, 0, 0,
                       lt_scan_entry, &st, visited);
    *bytes = st.bytes;
    return rc;
}

/* multireadrandom: one lsmd_multi_get per batch (one request for a batch
 * that fits the large region); the values are freed at once. */
static int lt_multi_get(tconn *c, size_t n, const void *const *keys, const size_t *klens,
                        size_t *vlens, int *statuses)
{
    if (n > c->nvals) {
        void **v = realloc(c->vals, n * sizeof *v);
        if (!v)
            return -ENOMEM;
        c->vals = v;
        c->nvals = n;
    }
    int rc = lsmd_multi_get(c->c, 0, n, keys, klens, c->vals, vlens, statuses);
    if (rc == 0)
        for (size_t i = 0; i < n; i++)
            free(c->vals[i]);
    return rc;
}

static int lt_submit_get(tconn *c, const void *k, size_t kl, uint64_t ud)
{
    return lsmd_submit_get(c->c, 0, k, kl, ud);
}

static int lt_submit_put(tconn *c, const void *k, size_t kl, const void *v, size_t vl,
                         bool sync, uint64_t ud)
{
    return lsmd_submit_put(c->c, k, kl, v, vl, sync ? LSM_SYNC : 0, ud);
}

static int lt_submit_multi_get(tconn *c, size_t n, const void *const *keys,
                               const size_t *klens, uint64_t ud)
{
    return lsmd_submit_multi_get(c->c, 0, n, keys, klens, ud);
}

static int lt_submit_scan(tconn *c, const void *start, size_t sl, uint64_t n, uint64_t ud)
{
    return lsmd_submit_scan(c->c, 0, start, sl, n > UINT32_MAX ? 0 : (uint32_t)n, 0, ud);
}

/* A scan completion's entries and key + value bytes into *o.  Fewer
 * entries than asked means the end of the keys (a 32 KiB slot holds far
 * more than a short scan's entries); a first entry larger than the slot
 * comes back as LSM_ETOOSMALL, and the caller scans again with scan. */
static void scan_result(const lsmd_completion *cp, tcompletion *o)
{
    o->vlen = 0;
    if (cp->status != 0)
        return;
    struct lt_scan_state st = { 0 };
    int n = lsmd_completion_scan(cp, lt_scan_entry, &st);
    if (n < 0) {
        o->status = n;
        return;
    }
    o->found = (uint32_t)n;
    o->vlen = st.bytes;
}

/* Sums a multi-get completion's results into *o. */
static void multi_result(tconn *c, const lsmd_completion *cp, tcompletion *o)
{
    o->vlen = 0;
    if (cp->status != 0)
        return;
    if (cp->count > c->nmres) {
        size_t m = cp->count;
        int *st = realloc(c->mst, m * sizeof *st);
        if (st)
            c->mst = st;
        const void **v = st ? realloc(c->mval, m * sizeof *v) : NULL;
        if (v)
            c->mval = v;
        size_t *l = v ? realloc(c->mlen, m * sizeof *l) : NULL;
        if (!l) {
            o->status = -ENOMEM;
            return;
        }
        c->mlen = l;
        c->nmres = m;
    }
    lsmd_completion_multi_get(cp, c->mst, c->mval, c->mlen);
    for (size_t i = 0; i < cp->count; i++) {
        int st = c->mst[i];
        if (st == 0) {
            o->found++;
            o->vlen += c->mlen[i];
        } else if (st == LSM_ENOTFOUND) {
            o->notfound++;
        } else if (st == LSM_ETOOSMALL || st == -EAGAIN) {
            o->status = LSM_ETOOSMALL; /* the caller asks again */
        } else if (o->status == 0) {
            o->status = st;
        }
    }
}

static int lt_poll(tconn *c, tcompletion *out, int max, int min_wait)
{
    if (max > c->ncomp)
        max = c->ncomp;
    int n = lsmd_poll(c->c, c->comp, max, min_wait);
    for (int i = 0; i < n; i++) {
        out[i] = (tcompletion){ c->comp[i].user_data, c->comp[i].status, c->comp[i].vlen,
                                0, 0 };
        if (c->comp[i].op == LSMD_OP_MULTI_GET)
            multi_result(c, &c->comp[i], &out[i]);
        else if (c->comp[i].op == LSMD_OP_SCAN)
            scan_result(&c->comp[i], &out[i]);
    }
    return n;
}

static int lt_depth(tconn *c)
{
    return (int)lsmd_queue_depth(c->c);
}

static int admin(lsmd_target *t)
{
    if (t->admin)
        return 0;
    return lsmd_connect(t->path, &t->admin);
}

static int lt_stats_json(target *tt, char **json)
{
    lsmd_target *t = (lsmd_target *)tt;
    int rc = admin(t);
    if (rc == 0)
        rc = lsmd_stats_json(t->admin, json);
    return rc;
}

static int lt_summary(target *tt, db_summary *s)
{
    char *json;
    int rc = lt_stats_json(tt, &json);
    if (rc)
        return rc;
    rc = target_summary_from_json(json, s);
    free(json);
    return rc;
}

const target_ops target_lsmd_ops = {
    .scheme = "lsmd",
    .multiprocess = true,
    .has_events = true,
    .open = lt_open,
    .close = lt_close,
    .conn_open = lt_conn_open,
    .conn_close = lt_conn_close,
    .put = lt_put,
    .get = lt_get,
    .scan = lt_scan,
    .multi_get = lt_multi_get,
    .submit_get = lt_submit_get,
    .submit_put = lt_submit_put,
    .poll = lt_poll,
    .submit_multi_get = lt_submit_multi_get,
    .submit_scan = lt_submit_scan,
    .depth = lt_depth,
    .summary = lt_summary,
    .stats_json = lt_stats_json,
};
