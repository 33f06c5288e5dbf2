/* bench_worker.c — the worker loops (bench_worker.h). */
#include "bench_worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lsm.h"

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct wstate {
    worker_ctx *w;
    const target_ops *ops;
    tconn *c;
    bench_shared *sh;
    run_result *r;
    bench_rng rng;
    op_mix mix;
    char *key;
    uint32_t ks;
    uint64_t num;
    uint64_t next, end;      /* the claimed chunk [next, end) */
    uint64_t nops;
    uint64_t t_prev;
    uint64_t start, deadline;/* deadline 0: none */
} wstate;

/* ---- bookkeeping ---------------------------------------------------------- */

static inline void record(wstate *s, int cls, uint64_t t, uint64_t lat, uint64_t bytes)
{
    histogram_record(&s->r->h[cls], lat);
    s->r->c.ops[cls]++;
    s->r->c.bytes[cls] += bytes;
    if (cls != CLASS_BGWRITE)
        timeline_record(&s->r->tl, (int64_t)((t - s->start) / TIMELINE_INTERVAL_NS), lat);
    atomic_store_explicit(&s->sh->slot[s->w->index].ops, ++s->nops, memory_order_relaxed);
}

/* A failed operation ends the job (as fio does by default): the database
 * is probably read-only or gone, and every later op would fail the same. */
static void fail(wstate *s, int rc)
{
    s->r->c.errors++;
    if (!s->r->c.first_error)
        s->r->c.first_error = rc;
    int32_t zero = 0;
    atomic_compare_exchange_strong(&s->sh->first_error, &zero, rc);
    atomic_store_explicit(&s->sh->stop, 1, memory_order_relaxed);
    s->w->rc = rc;
}

static inline bool should_stop(wstate *s, uint64_t t)
{
    return (s->deadline && t >= s->deadline) ||
           atomic_load_explicit(&s->sh->stop, memory_order_relaxed);
}

/* The next operation index, claiming a chunk when the last one is used. */
static inline bool next_index(wstate *s, uint64_t *i)
{
    if (s->next >= s->end) {
        uint64_t total = s->sh->total_ops;
        uint64_t a = atomic_fetch_add_explicit(&s->sh->claimed, WORKER_CHUNK,
                                               memory_order_relaxed);
        if (a >= total)
            return false;
        s->next = a;
        s->end = total - a < WORKER_CHUNK ? total : a + WORKER_CHUNK;
    }
    *i = s->next++;
    return true;
}

/* ---- one operation -------------------------------------------------------- */

typedef struct op {
    int kind;
    uint64_t key;
    uint32_t scan_len;
} op;

static void pick(wstate *s, uint64_t index, op *o)
{
    const worker_ctx *w = s->w;
    if (w->wl->kind == WL_FILLSEQ) {
        o->kind = OP_UPDATE;
        o->key = index;
        return;
    }
    o->kind = mix_pick(&s->mix, &s->rng);
    if (o->kind == OP_INSERT) {
        o->key = s->num + atomic_fetch_add_explicit(&s->sh->inserted, 1, memory_order_relaxed);
        return;
    }
    uint64_t n_now = s->num + atomic_load_explicit(&s->sh->inserted, memory_order_relaxed);
    o->key = keygen_next(&s->w->kg, &s->rng, n_now);
    if (o->kind == OP_SCAN)
        o->scan_len = w->wl->scan_fixed ? 1u + (uint32_t)w->cfg->seek_nexts
                                        : 1u + (uint32_t)rng_below(&s->rng,
                                                                   (uint64_t)w->cfg->scan_length);
}

static int put(wstate *s, uint64_t key, uint64_t *bytes)
{
    key_format(s->key, s->ks, key);
    const char *v = valgen_next(s->w->vg, &s->rng);
    *bytes = s->ks + s->w->vg->vsize;
    return s->ops->put(s->c, s->key, s->ks, v, s->w->vg->vsize, s->w->cfg->sync);
}

static int get(wstate *s, uint64_t key, uint64_t *bytes)
{
    size_t vlen = 0;
    key_format(s->key, s->ks, key);
    int rc = s->ops->get(s->c, s->key, s->ks, &vlen);
    if (rc == 0) {
        s->r->c.found++;
        *bytes = s->ks + vlen;
    } else if (rc == LSM_ENOTFOUND) {
        s->r->c.notfound++;
        *bytes = s->ks;
    }
    return rc;
}

static int exec_sync(wstate *s, const op *o, uint64_t *bytes)
{
    *bytes = 0;
    switch (o->kind) {
    case OP_READ:
        return get(s, o->key, bytes);
    case OP_UPDATE:
    case OP_INSERT:
        return put(s, o->key, bytes);
    case OP_SCAN: {
        uint64_t visited;
        key_format(s->key, s->ks, o->key);
        return s->ops->scan(s->c, s->key, s->ks, o->scan_len, NULL, NULL, &visited, bytes);
    }
    case OP_RMW: {
        uint64_t b1 = 0, b2 = 0;
        int rc = get(s, o->key, &b1);
        if (rc == 0 || rc == LSM_ENOTFOUND)
            rc = put(s, o->key, &b2);
        *bytes = b1 + b2;
        return rc;
    }
    }
    return -EINVAL;
}

/* ---- loops ---------------------------------------------------------------- */

static void run_sync(wstate *s)
{
    uint64_t i;
    op o = { 0 };
    s->t_prev = bench_now_ns();
    while (next_index(s, &i)) {
        pick(s, i, &o);
        uint64_t bytes;
        int rc = exec_sync(s, &o, &bytes);
        uint64_t t = bench_now_ns();
        if (rc && rc != LSM_ENOTFOUND) {
            fail(s, rc);
            return;
        }
        record(s, op_class_of(o.kind), t, t - s->t_prev, bytes);
        s->t_prev = t;
        if (should_stop(s, t))
            return;
    }
}

/* An operation in flight: user_data is its index in the table. */
typedef struct inflight {
    uint64_t start, key;
    uint32_t scan_len; /* a scan's entries asked */
    int kind;
    int phase;   /* rmw: 0 = get in flight, 1 = put in flight */
    uint64_t bytes;
} inflight;

static int submit(wstate *s, inflight *f, uint64_t ud)
{
    key_format(s->key, s->ks, f->key);
    if (f->kind == OP_SCAN)
        return s->ops->submit_scan(s->c, s->key, s->ks, f->scan_len, ud);
    bool is_get = f->kind == OP_READ || (f->kind == OP_RMW && f->phase == 0);
    if (is_get)
        return s->ops->submit_get(s->c, s->key, s->ks, ud);
    const char *v = valgen_next(s->w->vg, &s->rng);
    f->bytes += s->ks + s->w->vg->vsize;
    return s->ops->submit_put(s->c, s->key, s->ks, v, s->w->vg->vsize, s->w->cfg->sync, ud);
}

static void run_async(wstate *s, int depth)
{
    inflight *tab = calloc((size_t)depth, sizeof *tab);
    uint32_t *freelist = malloc((size_t)depth * sizeof *freelist);
    tcompletion *comp = malloc((size_t)depth * sizeof *comp);
    if (!tab || !freelist || !comp) {
        fail(s, -ENOMEM);
        goto out;
    }
    int nfree = depth, n_in = 0;
    for (int i = 0; i < depth; i++)
        freelist[i] = (uint32_t)(depth - 1 - i);
    bool more = true;
    op o = { 0 };
    while (more || n_in > 0) {
        while (more && nfree > 0) {
            uint64_t i;
            if (!next_index(s, &i) || should_stop(s, bench_now_ns())) {
                more = false;
                break;
            }
            pick(s, i, &o);
            if (o.kind == OP_SCAN && !s->ops->submit_scan) {
                /* No short scans in flight on this target: synchronous. */
                uint64_t bytes, t0 = bench_now_ns();
                int rc = exec_sync(s, &o, &bytes);
                uint64_t t = bench_now_ns();
                if (rc && rc != LSM_ENOTFOUND) {
                    fail(s, rc);
                    more = false;
                    break;
                }
                record(s, CLASS_SCAN, t, t - t0, bytes);
                if (n_in > 0)
                    break; /* reap what completed meanwhile, without waiting */
                continue;
            }
            uint32_t ud = freelist[--nfree];
            inflight *f = &tab[ud];
            *f = (inflight){ bench_now_ns(), o.key, o.scan_len, o.kind, 0, 0 };
            int rc = submit(s, f, ud);
            if (rc < 0) {
                freelist[nfree++] = ud;
                if (rc == -EBUSY && n_in > 0)
                    break; /* the daemon granted less depth: poll first */
                fail(s, rc);
                more = false;
                break;
            }
            n_in++;
        }
        if (n_in == 0)
            continue;
        /* Wait only when nothing more can be submitted. */
        int n = s->ops->poll(s->c, comp, depth, more && nfree > 0 ? 0 : 1);
        if (n < 0) {
            fail(s, n);
            break;
        }
        uint64_t t = bench_now_ns();
        for (int k = 0; k < n; k++) {
            uint32_t ud = (uint32_t)comp[k].user_data;
            if (ud >= (uint32_t)depth)
                continue;
            inflight *f = &tab[ud];
            int st = comp[k].status;
            if (f->kind == OP_SCAN && st == LSM_ETOOSMALL) {
                /* An entry larger than the slot: the synchronous scan. */
                op so = { .kind = OP_SCAN, .key = f->key, .scan_len = f->scan_len };
                uint64_t b = 0;
                st = exec_sync(s, &so, &b);
                comp[k].vlen = b;
            }
            if (f->kind == OP_SCAN && st == 0)
                f->bytes += comp[k].vlen;
            bool is_get = f->kind == OP_READ || (f->kind == OP_RMW && f->phase == 0);
            if (is_get && st == 0) {
                s->r->c.found++;
                f->bytes += s->ks + comp[k].vlen;
            } else if (is_get && st == LSM_ENOTFOUND) {
                s->r->c.notfound++;
                f->bytes += s->ks;
                st = 0;
            }
            if (st == 0 && f->kind == OP_RMW && f->phase == 0) {
                f->phase = 1;
                st = submit(s, f, ud);
                if (st >= 0)
                    continue; /* still in flight, as a put */
            }
            n_in--;
            freelist[nfree++] = ud;
            if (st < 0) {
                fail(s, st);
                more = false;
                continue;
            }
            record(s, op_class_of(f->kind), t, t - f->start, f->bytes);
        }
        if (should_stop(s, t))
            more = false;
    }
out:
    free(tab);
    free(freelist);
    free(comp);
}

/* Counts one multi-get's results: *bytes = keys + found values.  Returns
 * 0 or the first error of a key. */
static int count_batch(wstate *s, size_t n, const int *st, const size_t *vl, uint64_t *bytes)
{
    *bytes = n * s->ks;
    for (size_t k = 0; k < n; k++) {
        if (st[k] == 0) {
            s->r->c.found++;
            *bytes += vl[k];
        } else if (st[k] == LSM_ENOTFOUND) {
            s->r->c.notfound++;
        } else {
            return st[k];
        }
    }
    return 0;
}

/* Records a batch of n keys as one latency with n operations (ops = keys;
 * the histogram holds batches). */
static void record_batch(wstate *s, uint64_t t, uint64_t lat, size_t n, uint64_t bytes)
{
    histogram_record(&s->r->h[CLASS_READ], lat);
    s->r->c.ops[CLASS_READ] += n;
    s->r->c.bytes[CLASS_READ] += bytes;
    s->r->c.batches++;
    timeline_record(&s->r->tl, (int64_t)((t - s->start) / TIMELINE_INTERVAL_NS), lat);
    s->nops += n;
    atomic_store_explicit(&s->sh->slot[s->w->index].ops, s->nops, memory_order_relaxed);
}

/* multireadrandom: claims up to --batch operations (one per key), reads
 * them with one multi_get, and records the batch as one latency with n
 * operations (ops = keys; the histogram holds batches). */
static void run_multiread(wstate *s)
{
    size_t batch = (size_t)s->w->cfg->batch;
    char *keys = malloc(batch * s->ks);
    const void **kp = malloc(batch * sizeof *kp);
    size_t *kl = malloc(batch * sizeof *kl), *vl = malloc(batch * sizeof *vl);
    int *st = malloc(batch * sizeof *st);
    if (!keys || !kp || !kl || !vl || !st) {
        fail(s, -ENOMEM);
        goto out;
    }
    for (size_t k = 0; k < batch; k++) {
        key_init(keys + k * s->ks, s->ks);
        kp[k] = keys + k * s->ks;
        kl[k] = s->ks;
    }
    s->t_prev = bench_now_ns();
    for (;;) {
        size_t n = 0;
        uint64_t i;
        while (n < batch && next_index(s, &i)) {
            key_format(keys + n * s->ks, s->ks, keygen_next(&s->w->kg, &s->rng, s->num));
            n++;
        }
        if (n == 0)
            break;
        int rc = s->ops->multi_get(s->c, n, kp, kl, vl, st);
        uint64_t t = bench_now_ns();
        if (rc) {
            fail(s, rc);
            break;
        }
        uint64_t bytes;
        rc = count_batch(s, n, st, vl, &bytes);
        if (rc) {
            fail(s, rc);
            break;
        }
        record_batch(s, t, t - s->t_prev, n, bytes);
        s->t_prev = t;
        if (should_stop(s, t))
            break;
    }
out:
    free(keys);
    free(kp);
    free(kl);
    free(vl);
    free(st);
}

/* multireadrandom with --iodepth > 1 on a target with submit_multi_get:
 * up to depth batches in flight, each recorded as one latency from its
 * submit to its completion.  A batch whose values did not all fit its
 * request (LSM_ETOOSMALL) is read again with multi_get, counted from the
 * first submit. */
typedef struct mbatch {
    char *keys;
    const void **kp;
    size_t *kl;
    size_t n;
    uint64_t start;
} mbatch;

static void run_multiread_async(wstate *s, int depth)
{
    size_t batch = (size_t)s->w->cfg->batch;
    mbatch *tab = calloc((size_t)depth, sizeof *tab);
    uint32_t *freelist = malloc((size_t)depth * sizeof *freelist);
    tcompletion *comp = malloc((size_t)depth * sizeof *comp);
    size_t *vl = malloc(batch * sizeof *vl);
    int *st = malloc(batch * sizeof *st);
    bool ok = tab && freelist && comp && vl && st;
    for (int i = 0; ok && i < depth; i++) {
        mbatch *b = &tab[i];
        ok = (b->keys = malloc(batch * s->ks)) && (b->kp = malloc(batch * sizeof *b->kp)) &&
             (b->kl = malloc(batch * sizeof *b->kl));
        for (size_t k = 0; ok && k < batch; k++) {
            key_init(b->keys + k * s->ks, s->ks);
            b->kp[k] = b->keys + k * s->ks;
            b->kl[k] = s->ks;
        }
        freelist[i] = (uint32_t)(depth - 1 - i);
    }
    if (!ok) {
        fail(s, -ENOMEM);
        goto out;
    }
    int nfree = depth, n_in = 0;
    bool more = true;
    while (more || n_in > 0) {
        while (more && nfree > 0) {
            uint32_t ud = freelist[nfree - 1];
            mbatch *b = &tab[ud];
            uint64_t i;
            b->n = 0;
            while (b->n < batch && next_index(s, &i)) {
                key_format(b->keys + b->n * s->ks, s->ks,
                           keygen_next(&s->w->kg, &s->rng, s->num));
                b->n++;
            }
            if (b->n == 0 || should_stop(s, bench_now_ns())) {
                more = false;
                break;
            }
            b->start = bench_now_ns();
            int rc = s->ops->submit_multi_get(s->c, b->n, b->kp, b->kl, ud);
            if (rc < 0) {
                fail(s, rc);
                more = false;
                break;
            }
            nfree--;
            n_in++;
        }
        if (n_in == 0)
            continue;
        int n = s->ops->poll(s->c, comp, depth, more && nfree > 0 ? 0 : 1);
        if (n < 0) {
            fail(s, n);
            break;
        }
        for (int k = 0; k < n; k++) {
            uint32_t ud = (uint32_t)comp[k].user_data;
            if (ud >= (uint32_t)depth)
                continue;
            mbatch *b = &tab[ud];
            int rc = comp[k].status;
            uint64_t bytes = b->n * s->ks + comp[k].vlen;
            if (rc == LSM_ETOOSMALL) {
                rc = s->ops->multi_get(s->c, b->n, b->kp, b->kl, vl, st);
                if (rc == 0)
                    rc = count_batch(s, b->n, st, vl, &bytes);
            } else if (rc == 0) {
                s->r->c.found += comp[k].found;
                s->r->c.notfound += comp[k].notfound;
            }
            n_in--;
            freelist[nfree++] = ud;
            if (rc) {
                fail(s, rc);
                more = false;
                continue;
            }
            uint64_t t = bench_now_ns();
            record_batch(s, t, t - b->start, b->n, bytes);
            if (should_stop(s, t))
                more = false;
        }
    }
out:
    for (int i = 0; tab && i < depth; i++) {
        free(tab[i].keys);
        free(tab[i].kp);
        free(tab[i].kl);
    }
    free(tab);
    free(freelist);
    free(comp);
    free(vl);
    free(st);
}

typedef struct seq_arg {
    wstate *s;
    bool stopped;
} seq_arg;

static bool seq_entry(void *arg, size_t kl, size_t vl)
{
    seq_arg *a = arg;
    wstate *s = a->s;
    uint64_t t = bench_now_ns();
    record(s, CLASS_READ, t, t - s->t_prev, kl + vl);
    s->r->c.found++;
    s->t_prev = t;
    a->stopped = should_stop(s, t);
    return !a->stopped;
}

/* readseq: each reader walks its slice of the key space from its first key
 * (reader 0 from the very first), for its share of --reads entries; a
 * --duration job starts over at the end. */
static void run_readseq(wstate *s)
{
    const bench_shared *sh = s->sh;
    uint32_t nr = sh->nreaders, ri = s->w->reader_index;
    uint64_t share = sh->total_ops == UINT64_MAX
                         ? UINT64_MAX
                         : sh->total_ops / nr + (ri < sh->total_ops % nr ? 1 : 0);
    uint64_t first = (uint64_t)(((unsigned __int128)s->num * ri) / nr);
    key_format(s->key, s->ks, first);
    seq_arg a = { s, false };
    uint64_t done = 0;
    s->t_prev = bench_now_ns();
    while (done < share && !a.stopped) {
        uint64_t visited, bytes;
        int rc = s->ops->scan(s->c, ri ? s->key : NULL, s->ks, share - done, seq_entry, &a,
                              &visited, &bytes);
        if (rc) {
            fail(s, rc);
            return;
        }
        done += visited;
        if (visited == 0 || !s->deadline)
            break; /* the end of the data: done (by count) or empty */
    }
}

static void run_bg_writer(wstate *s)
{
    s->t_prev = bench_now_ns();
    while (!atomic_load_explicit(&s->sh->stop, memory_order_relaxed) &&
           atomic_load_explicit(&s->sh->readers_done, memory_order_acquire) < s->sh->nreaders) {
        uint64_t bytes;
        int rc = put(s, rng_below(&s->rng, s->num), &bytes);
        uint64_t t = bench_now_ns();
        if (rc) {
            fail(s, rc);
            return;
        }
        record(s, CLASS_BGWRITE, t, t - s->t_prev, bytes);
        s->t_prev = t;
    }
}

/* ---- the thread ------------------------------------------------------------- */

void *worker_main(void *arg)
{
    worker_ctx *w = arg;
    bench_shared *sh = w->sh;
    wstate s = { .w = w, .ops = w->t->ops, .sh = sh, .r = w->res };
    s.ks = w->cfg->key_size;
    s.num = w->cfg->num;
    /* --seed, the run and the worker all change the stream. */
    rng_seed(&s.rng, w->cfg->seed * 0x9e3779b97f4a7c15ull + w->seed_salt * 0xd1b54a32d192ed03ull +
                         w->index * 0x632be59bd9b4e019ull + 1);
    workload_mix(w->wl, w->cfg->read_pct, &s.mix);
    s.key = malloc(s.ks);
    int rc = s.key ? s.ops->conn_open(w->t, &s.c) : -ENOMEM;
    if (s.key)
        key_init(s.key, s.ks);
    if (rc) {
        s.c = NULL;
        fail(&s, rc);
    }
    atomic_fetch_add_explicit(&sh->ready, 1, memory_order_release);
    /* Wait for the parent's go (or a stop); 50 us naps keep the start skew
     * small without burning a core. */
    while (!atomic_load_explicit(&sh->go, memory_order_acquire) &&
           !atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        struct timespec ts = { 0, 50000 };
        nanosleep(&ts, NULL);
    }
    s.start = sh->start_ns;
    s.deadline = sh->duration_ns ? s.start + sh->duration_ns : 0;
    if (s.c && atomic_load_explicit(&sh->go, memory_order_acquire)) {
        int depth = w->cfg->iodepth;
        if (s.ops->depth && depth > s.ops->depth(s.c))
            depth = s.ops->depth(s.c);
        if (w->bg_writer)
            run_bg_writer(&s);
        else if (w->wl->kind == WL_READSEQ)
            run_readseq(&s);
        else if (w->wl->kind == WL_MULTIREAD && depth > 1 && s.ops->submit_multi_get)
            run_multiread_async(&s, depth);
        else if (w->wl->kind == WL_MULTIREAD)
            run_multiread(&s);
        else if (depth > 1 && s.ops->submit_get)
            run_async(&s, depth);
        else
            run_sync(&s);
    }
    if (!w->bg_writer) {
        w->res->c.start_ns = s.start;
        w->res->c.end_ns = bench_now_ns();
        atomic_fetch_add_explicit(&sh->readers_done, 1, memory_order_release);
    }
    timeline_flush(&w->res->tl);
    if (s.c)
        s.ops->conn_close(s.c);
    free(s.key);
    atomic_store_explicit(&sh->slot[w->index].done, 1, memory_order_release);
    return NULL;
}
