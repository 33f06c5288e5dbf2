/*
 * target_rocksdb.c — RocksDB through its C API (<rocksdb/c.h>), built only
 * when librocksdb-dev is installed (the Makefile defines LSMBENCH_ROCKSDB).
 *
 * Settings are mapped onto RocksDB's so the two engines do the same work:
 *
 *   ours (bench_config)      RocksDB
 *   memtable-bytes           write_buffer_size
 *   max-immutable (2)        max_write_buffer_number = max-immutable + 1
 *   cache-bytes              block-based table: LRU block cache of that size
 *                            (0: no block cache)
 *   block-bytes (4K)         block_size
 *   bloom-bits (10)          full bloom filter, that many bits per key
 *                            (0: no filter)
 *   compaction-style         leveled -> level, tiered -> universal
 *   compaction-threads (1)   max_background_jobs = threads + 1 (one flush)
 *   sync                     WriteOptions.sync per write
 *   always                   no compression; WAL on; L0 triggers 4/20/36,
 *                            target file 64 MiB, L1 256 MiB, ratio 10
 *                            (our defaults); max_open_files 1000
 *
 * db_bench's own defaults differ (block cache 8 MiB, no bloom filter,
 * max_write_buffer_number 2): to compare with a db_bench run, pass
 * --cache-bytes 8M --bloom-bits 0 --max-immutable 1 (docs/benchmarking.md).
 *
 * Figures: flush and compaction events (the compaction-schedule picture)
 * and write amplification from the EVENT_LOG_v1 lines of DIR/LOG
 * (rocksdb_log.h; the C API has no event listener), or with --statistics
 * from the exact tickers, or failing both from "rocksdb.stats" (GB with two
 * decimals); space amplification from rocksdb_livefiles (per-level file
 * sizes); stall time from "Cumulative stall"; the block cache hit rate only
 * with --statistics (RocksDB counts it nowhere else).
 */
#include <errno.h>
#include <rocksdb/c.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm.h"
#include "rocksdb_log.h"
#include "target.h"

typedef struct rdb_target {
    target base;
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_block_based_table_options_t *topts;
    rocksdb_cache_t *cache;
    rocksdb_filterpolicy_t *filter; /* owned by topts once set */
    rocksdb_writeoptions_t *wo, *wo_sync;
    rocksdb_readoptions_t *ro;
    bool statistics;
    char *dir;
    char style[16];
    _Atomic uint64_t user_bytes;   /* key + value bytes put, all threads */
} rdb_target;

struct tconn {
    rdb_target *t;
    uint64_t bytes;                /* this thread's puts, added at close */
};

/* RocksDB reports errors as malloc'd strings: print once, map to -EIO. */
static int rdb_err(const char *what, char *err)
{
    static _Atomic int printed;
    if (!printed++)
        fprintf(stderr, "lsmbench: rocksdb %s: %s\n", what, err);
    rocksdb_free(err);
    return -EIO;
}

static int rdb_open(const char *arg, const bench_config *cfg, int mode, target **out)
{
    if (!*arg) {
        fprintf(stderr, "lsmbench: rocksdb:DIR needs a directory\n");
        return -EINVAL;
    }
    if (mode == OPEN_FRESH) {
        int rc = target_wipe_dir(arg);
        if (rc) {
            fprintf(stderr, "lsmbench: cannot empty %s: %s\n", arg, target_strerror(rc));
            return rc;
        }
    }
    rdb_target *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->base.ops = &target_rocksdb_ops;
    t->dir = strdup(arg);
    snprintf(t->style, sizeof t->style, "%s", cfg->compaction_style);
    rocksdb_options_t *o = t->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_write_buffer_size(o, cfg->memtable_bytes);
    rocksdb_options_set_max_write_buffer_number(o, cfg->max_immutable + 1);
    rocksdb_options_set_compression(o, rocksdb_no_compression);
    rocksdb_options_set_level0_file_num_compaction_trigger(o, 4);
    rocksdb_options_set_level0_slowdown_writes_trigger(o, 20);
    rocksdb_options_set_level0_stop_writes_trigger(o, 36);
    rocksdb_options_set_target_file_size_base(o, 64u << 20);
    rocksdb_options_set_max_bytes_for_level_base(o, 256u << 20);
    rocksdb_options_set_max_bytes_for_level_multiplier(o, 10);
    rocksdb_options_set_max_background_jobs(o, cfg->compaction_threads + 1);
    rocksdb_options_set_max_open_files(o, 1000);
    if (bench_direct_io(cfg)) {
        rocksdb_options_set_use_direct_reads(o, 1);
        rocksdb_options_set_use_direct_io_for_flush_and_compaction(o, 1);
    }
    if (strcmp(cfg->compaction_style, "tiered") == 0)
        rocksdb_options_set_compaction_style(o, rocksdb_universal_compaction);
    if (cfg->statistics)
        rocksdb_options_enable_statistics(o);
    t->statistics = cfg->statistics;

    t->topts = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_size(t->topts, cfg->block_bytes);
    if (cfg->cache_bytes) {
        t->cache = rocksdb_cache_create_lru(cfg->cache_bytes);
        rocksdb_block_based_options_set_block_cache(t->topts, t->cache);
    } else {
        rocksdb_block_based_options_set_no_block_cache(t->topts, 1);
    }
    if (cfg->bloom_bits > 0) {
        t->filter = rocksdb_filterpolicy_create_bloom_full(cfg->bloom_bits);
        rocksdb_block_based_options_set_filter_policy(t->topts, t->filter);
    }
    rocksdb_options_set_block_based_table_factory(o, t->topts);

    t->wo = rocksdb_writeoptions_create();
    t->wo_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(t->wo_sync, 1);
    t->ro = rocksdb_readoptions_create();

    char *err = NULL;
    t->db = rocksdb_open(o, arg, &err);
    if (err) {
        fprintf(stderr, "lsmbench: rocksdb open %s: %s\n", arg, err);
        rocksdb_free(err);
        t->db = NULL;
        target_rocksdb_ops.close(&t->base);
        return -EIO;
    }
    *out = &t->base;
    return 0;
}

static void rdb_close(target *tt)
{
    rdb_target *t = (rdb_target *)tt;
    if (t->db)
        rocksdb_close(t->db);
    if (t->ro)
        rocksdb_readoptions_destroy(t->ro);
    if (t->wo)
        rocksdb_writeoptions_destroy(t->wo);
    if (t->wo_sync)
        rocksdb_writeoptions_destroy(t->wo_sync);
    /* The table options own the filter policy. */
    if (t->topts)
        rocksdb_block_based_options_destroy(t->topts);
    if (t->cache)
        rocksdb_cache_destroy(t->cache);
    if (t->opts)
        rocksdb_options_destroy(t->opts);
    free(t->dir);
    free(t);
}

static int rdb_conn_open(target *tt, tconn **out)
{
    tconn *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->t = (rdb_target *)tt;
    *out = c;
    return 0;
}

static void rdb_conn_close(tconn *c)
{
    atomic_fetch_add_explicit(&c->t->user_bytes, c->bytes, memory_order_relaxed);
    free(c);
}

static int rdb_put(tconn *c, const void *k, size_t kl, const void *v, size_t vl, bool sync)
{
    char *err = NULL;
    rocksdb_put(c->t->db, sync ? c->t->wo_sync : c->t->wo, k, kl, v, vl, &err);
    if (err)
        return rdb_err("put", err);
    c->bytes += kl + vl;
    return 0;
}

static int rdb_get(tconn *c, const void *k, size_t kl, size_t *vlen)
{
    /* get_pinned: no copy of a value that sits in the block cache, as
     * db_bench's Get into a PinnableSlice. */
    char *err = NULL;
    rocksdb_pinnableslice_t *p = rocksdb_get_pinned(c->t->db, c->t->ro, k, kl, &err);
    if (err)
        return rdb_err("get", err);
    if (!p)
        return LSM_ENOTFOUND;
    rocksdb_pinnableslice_value(p, vlen);
    rocksdb_pinnableslice_destroy(p);
    return 0;
}

/* rocksdb_multi_get (its C API's MultiGet: malloc'd values and errors per
 * key, freed here; the worker needs only the lengths). */
static int rdb_multi_get(tconn *c, size_t n, const void *const *keys, const size_t *klens,
                         size_t *vlens, int *statuses)
{
    char **vals = malloc(n * sizeof *vals), **errs = malloc(n * sizeof *errs);
    if (!vals || !errs) {
        free(vals);
        free(errs);
        return -ENOMEM;
    }
    rocksdb_multi_get(c->t->db, c->t->ro, n, (const char *const *)keys, klens, vals, vlens,
                      errs);
    for (size_t i = 0; i < n; i++) {
        if (errs[i])
            statuses[i] = rdb_err("multi_get", errs[i]); /* frees errs[i] */
        else
            statuses[i] = vals[i] ? 0 : LSM_ENOTFOUND;
        rocksdb_free(vals[i]);
    }
    free(vals);
    free(errs);
    return 0;
}

static int rdb_scan(tconn *c, const void *start, size_t sl, uint64_t n, scan_fn fn, void *arg,
                    uint64_t *visited, uint64_t *bytes)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator(c->t->db, c->t->ro);
    if (start)
        rocksdb_iter_seek(it, start, sl);
    else
        rocksdb_iter_seek_to_first(it);
    uint64_t i = 0, b = 0;
    for (; i < n && rocksdb_iter_valid(it); i++) {
        size_t kl, vl;
        rocksdb_iter_key(it, &kl);
        rocksdb_iter_value(it, &vl);
        b += kl + vl;
        if (fn && !fn(arg, kl, vl)) {
            i++;
            break;
        }
        rocksdb_iter_next(it);
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    *visited = i;
    *bytes = b;
    return err ? rdb_err("iterator", err) : 0;
}

/* The events of DIR/LOG (rocksdb_log.h) as a malloc'd JSON text. */
static int read_log_events(rdb_target *t, char **json, rocksdb_log_totals *lt)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/LOG", t->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    char *text = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (cap - len < 65536) {
            char *nt = realloc(text, cap = cap ? cap * 2 : 1 << 20);
            if (!nt) {
                free(text);
                fclose(f);
                return -ENOMEM;
            }
            text = nt;
        }
        size_t n = fread(text + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    text[len] = 0;
    int rc = rocksdb_log_events(text, t->style, json, lt);
    free(text);
    return rc;
}

/* The number after "key" in a statistics dump ("rocksdb.block.cache.hit
 * COUNT : 123"), or -1. */
static double ticker(const char *s, const char *key)
{
    const char *p = s ? strstr(s, key) : NULL;
    if (!p || !(p = strstr(p, "COUNT :")))
        return -1;
    return strtod(p + 7, NULL);
}

/* The number right after "label" in text, or -1. */
static double after(const char *text, const char *label)
{
    const char *p = text ? strstr(text, label) : NULL;
    return p ? strtod(p + strlen(label), NULL) : -1;
}

static int rdb_summary(target *tt, db_summary *s)
{
    rdb_target *t = (rdb_target *)tt;
    char *stats = rocksdb_property_value(t->db, "rocksdb.stats");
    char *tick = t->statistics ? rocksdb_options_statistics_get_string(t->opts) : NULL;

    /* Write amplification: flush + compaction bytes written per user byte. */
    double user = ticker(tick, "rocksdb.bytes.written");
    double fl = ticker(tick, "rocksdb.flush.write.bytes");
    double cw = ticker(tick, "rocksdb.compact.write.bytes");
    char *events = NULL;
    rocksdb_log_totals lt;
    uint64_t ub = atomic_load_explicit(&t->user_bytes, memory_order_relaxed);
    if (user > 0 && fl >= 0 && cw >= 0) {
        s->have |= HAVE_WA;
        s->write_amp = (fl + cw) / user;
    } else if (ub > 0 && read_log_events(t, &events, &lt) == 0) {
        /* Table bytes the LOG says flushes and compactions wrote, per key +
         * value byte put through this handle (the LOG starts at open). */
        s->have |= HAVE_WA;
        s->write_amp = (double)(lt.flush_bytes + lt.compact_bytes) / (double)ub;
    } else {
        double gb_written = after(stats, "Cumulative compaction: ");
        double gb_ingest = after(stats, "ingest: ");
        if (gb_written >= 0 && gb_ingest > 0) {
            s->have |= HAVE_WA;
            s->write_amp = gb_written / gb_ingest;
        }
    }
    /* Stall time: "Cumulative stall: HH:MM:SS.sss H:M:S". */
    const char *p = stats ? strstr(stats, "Cumulative stall: ") : NULL;
    int hh, mm;
    double ss;
    if (p && sscanf(p + 18, "%d:%d:%lf", &hh, &mm, &ss) == 3) {
        s->have |= HAVE_STALL;
        s->stall_s = hh * 3600.0 + mm * 60.0 + ss;
    }
    /* Space amplification from the live files' levels and sizes. */
    const rocksdb_livefiles_t *lf = rocksdb_livefiles(t->db);
    if (lf) {
        uint64_t lv[64] = { 0 }, total = 0;
        int n = rocksdb_livefiles_count(lf), deepest = -1;
        for (int i = 0; i < n; i++) {
            int l = rocksdb_livefiles_level(lf, i);
            size_t sz = rocksdb_livefiles_size(lf, i);
            if (l >= 0 && l < 64) {
                lv[l] += sz;
                if (l > deepest)
                    deepest = l;
            }
            total += sz;
        }
        rocksdb_livefiles_destroy(lf);
        s->have |= HAVE_SA;
        s->table_bytes = total;
        /* Only L0: its runs overlap; count the oldest file as the base, as
         * the engine does — approximated here by the level's size / files. */
        double base = deepest > 0 ? (double)lv[deepest]
                      : n > 0     ? (double)total / n
                                  : 0;
        s->space_amp = base > 0 ? (double)total / base : 0;
    }
    double hit = ticker(tick, "rocksdb.block.cache.hit"),
           miss = ticker(tick, "rocksdb.block.cache.miss");
    if (hit >= 0 && miss >= 0) {
        s->have |= HAVE_CACHE;
        s->cache_hit_rate = hit + miss > 0 ? hit / (hit + miss) : 0;
    }
    snprintf(s->note, sizeof s->note, "%s",
             t->statistics ? "" : "rocksdb: the block cache hit rate needs --statistics");
    free(events);
    rocksdb_free(stats);
    rocksdb_free(tick);
    return 0;
}

static int rdb_stats_json(target *tt, char **json)
{
    rocksdb_log_totals lt;
    return read_log_events((rdb_target *)tt, json, &lt);
}

const target_ops target_rocksdb_ops = {
    .scheme = "rocksdb",
    .multiprocess = false,
    .has_events = true,
    .open = rdb_open,
    .close = rdb_close,
    .conn_open = rdb_conn_open,
    .conn_close = rdb_conn_close,
    .put = rdb_put,
    .get = rdb_get,
    .scan = rdb_scan,
    .multi_get = rdb_multi_get,
    .summary = rdb_summary,
    .stats_json = rdb_stats_json,
};
