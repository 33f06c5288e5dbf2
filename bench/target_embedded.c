/*
 * target_embedded.c — the engine in this process (engine/lsm.h).  The
 * worker threads share one lsm_db (it is thread-safe); a tconn is only a
 * pointer to it.  Settings come straight from bench_config.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm.h"
#include "target.h"
#include "viz/json_scan.h"

typedef struct emb_target {
    target base;
    lsm_db *db;
} emb_target;

struct tconn {
    lsm_db *db;
    void **vals;            /* multi_get's values (grown to the batch) */
    size_t cap;
};

static int compaction_bytes(lsm_db *db, double *written, double *read)
{
    char *json;
    int rc = lsm_stats_json(db, &json);
    if (rc)
        return rc;
    *written = json_num_or(json, "bytes.compaction_written", -1);
    *read = json_num_or(json, "bytes.compaction_read", -1);
    lsm_free(json);
    return *written < 0 || *read < 0 ? -EPROTO : 0;
}

static int emb_open(const char *arg, const bench_config *cfg, int mode, target **out)
{
    if (!*arg) {
        fprintf(stderr, "lsmbench: embedded:DIR needs a directory\n");
        return -EINVAL;
    }
    if (mode == OPEN_FRESH) {
        int rc = target_wipe_dir(arg);
        if (rc) {
            fprintf(stderr, "lsmbench: cannot empty %s: %s%s\n", arg, target_strerror(rc),
                    rc == -ENOTEMPTY ? " (it holds files that are not a database's; "
                                       "pick another directory or pass --use-existing)"
                                     : "");
            return rc;
        }
    }
    emb_target *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    lsm_options o;
    lsm_options_init(&o);
    o.memtable_bytes = cfg->memtable_bytes;
    o.max_immutable_memtables = cfg->max_immutable;
    o.block_bytes = cfg->block_bytes;
    o.bloom_bits_per_key = cfg->bloom_bits;
    o.block_cache_bytes = cfg->cache_bytes;
    o.compaction_threads = cfg->compaction_threads;
    o.compaction_style = cfg->compaction_style;
    o.use_direct_io = bench_direct_io(cfg);
    int rc = lsm_open(arg, &o, &t->db);
    if (rc) {
        fprintf(stderr, "lsmbench: open %s: %s\n", arg, lsm_strerror(rc));
        free(t);
        return rc;
    }
    t->base.ops = &target_embedded_ops;
    *out = &t->base;
    return 0;
}

static void emb_close(target *tt)
{
    emb_target *t = (emb_target *)tt;
    int rc = lsm_close(t->db);
    if (rc)
        fprintf(stderr, "lsmbench: close: %s\n", lsm_strerror(rc));
    free(t);
}

static int emb_conn_open(target *tt, tconn **out)
{
    tconn *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->db = ((emb_target *)tt)->db;
    *out = c;
    return 0;
}

static void emb_conn_close(tconn *c)
{
    free(c->vals);
    free(c);
}

static int emb_put(tconn *c, const void *k, size_t kl, const void *v, size_t vl, bool sync)
{
    return lsm_put(c->db, k, kl, v, vl, sync ? LSM_SYNC : 0);
}

static int emb_get(tconn *c, const void *k, size_t kl, size_t *vlen)
{
    void *v;
    int rc = lsm_get(c->db, NULL, k, kl, &v, vlen);
    if (rc == 0)
        lsm_free(v);
    return rc;
}

static int emb_scan(tconn *c, const void *start, size_t sl, uint64_t n, scan_fn fn, void *arg,
                    uint64_t *visited, uint64_t *bytes)
{
    lsm_iter *it;
    *visited = *bytes = 0;
    int rc = lsm_iter_new(c->db, NULL, NULL, 0, NULL, 0, &it);
    if (rc)
        return rc;
    if (start)
        lsm_iter_seek(it, start, sl);
    else
        lsm_iter_first(it);
    uint64_t i = 0, b = 0;
    for (; i < n && lsm_iter_valid(it); i++) {
        size_t kl, vl;
        lsm_iter_key(it, &kl);
        lsm_iter_value(it, &vl);
        b += kl + vl;
        if (fn && !fn(arg, kl, vl)) {
            i++;
            break;
        }
        lsm_iter_next(it);
    }
    rc = lsm_iter_status(it);
    lsm_iter_free(it);
    *visited = i;
    *bytes = b;
    return rc;
}

/* One lsm_multi_get of the whole batch; the values are freed at once (the
 * worker only needs their lengths). */
static int emb_multi_get(tconn *c, size_t n, const void *const *keys, const size_t *klens,
                         size_t *vlens, int *statuses)
{
    if (n > c->cap) {
        void **nv = realloc(c->vals, n * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        c->vals = nv;
        c->cap = n;
    }
    int rc = lsm_multi_get(c->db, NULL, n, keys, klens, c->vals, vlens, statuses);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (statuses[i] == 0)
            lsm_free(c->vals[i]);
    return 0;
}

/* The whole tree into one sorted run; the bytes from the engine's counters
 * (bytes.compaction_written / compaction_read) before and after. */
static int emb_compact_all(target *tt, uint64_t *written, uint64_t *read)
{
    lsm_db *db = ((emb_target *)tt)->db;
    double w0, r0, w1, r1;
    int rc = compaction_bytes(db, &w0, &r0);
    if (rc == 0)
        rc = lsm_flush(db);
    if (rc == 0)
        rc = lsm_compact(db, -1);
    if (rc == 0)
        rc = compaction_bytes(db, &w1, &r1);
    if (rc)
        return rc;
    *written = (uint64_t)(w1 - w0);
    *read = (uint64_t)(r1 - r0);
    return 0;
}

static int emb_summary(target *tt, db_summary *s)
{
    char *json;
    int rc = lsm_stats_json(((emb_target *)tt)->db, &json);
    if (rc)
        return rc;
    rc = target_summary_from_json(json, s);
    lsm_free(json);
    return rc;
}

static int emb_stats_json(target *tt, char **json)
{
    char *j;
    int rc = lsm_stats_json(((emb_target *)tt)->db, &j);
    if (rc)
        return rc;
    /* lsm_free and free are one allocator here, but keep the contract:
     * hand out memory the caller frees with free(). */
    *json = strdup(j);
    lsm_free(j);
    return *json ? 0 : -ENOMEM;
}

const target_ops target_embedded_ops = {
    .scheme = "embedded",
    .multiprocess = false,
    .has_events = true,
    .open = emb_open,
    .close = emb_close,
    .conn_open = emb_conn_open,
    .conn_close = emb_conn_close,
    .put = emb_put,
    .get = emb_get,
    .scan = emb_scan,
    .multi_get = emb_multi_get,
    .compact_all = emb_compact_all,
    .summary = emb_summary,
    .stats_json = emb_stats_json,
};
