/*
 * target.h — what lsmbench runs against: a small table of functions per
 * target, so one worker loop drives the embedded engine, RocksDB and the
 * lsmd daemon and LMDB alike.
 *
 *   embedded:DIR   engine/lsm.h in this process (one lsm_db shared by the
 *                  worker threads; --clients must be 1)
 *   rocksdb:DIR    librocksdb's C API in this process (built only when
 *                  <rocksdb/c.h> is installed); settings mapped to ours,
 *                  see target_rocksdb.c
 *   lsmd:SOCKET    the daemon through libclient/lsmd.h: one connection per
 *                  worker thread, in --clients forked processes; --iodepth
 *                  requests in flight through lsmd_submit_* / lsmd_poll
 *   lmdb:DIR       LMDB (built only when <lmdb.h> is installed), one env per
 *                  process, 1,000 puts per write transaction, see
 *                  target_lmdb.c
 *
 * Lifetime: target_open in the parent, once per database; for a
 * multiprocess target each forked client calls ops->open itself (never
 * using the parent's handle).  A tconn belongs to one worker thread.
 *
 * Errors: 0 or a negative code as in lsm.h (LSM_ENOTFOUND for a missing
 * key, -errno, LSM_E*); target_strerror describes them.
 */
#ifndef BENCH_TARGET_H
#define BENCH_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_config.h"

typedef struct target target; /* an open database; first member: const target_ops * */
typedef struct tconn tconn;   /* one worker's handle */

/* Called by scan for every entry visited (per-entry timing in readseq);
 * returning false ends the scan after this entry. */
typedef bool (*scan_fn)(void *arg, size_t klen, size_t vlen);

typedef struct tcompletion {
    uint64_t user_data;
    int status;               /* 0, LSM_ENOTFOUND or an error; a multi-get:
                                 0, LSM_ETOOSMALL (some values did not come
                                 back: run the batch again with multi_get),
                                 or an error of one key or the whole */
    size_t vlen;              /* get: value length; multi-get: value bytes;
                                 scan: key + value bytes */
    uint32_t found, notfound; /* multi-get: keys found and absent; scan:
                                 found = entries */
} tcompletion;

/* Figures every target reports at the end, where it can. */
#define HAVE_WA (1u << 0)
#define HAVE_SA (1u << 1)
#define HAVE_STALL (1u << 2)
#define HAVE_CACHE (1u << 3)
typedef struct db_summary {
    unsigned have;            /* HAVE_* bits: which fields are real */
    double write_amp;         /* bytes written to tables / bytes users wrote */
    double space_amp;         /* table bytes / bytes of the deepest level */
    double stall_s;           /* time writers were stopped or slowed */
    uint64_t stall_stops, stall_slowdowns;
    double cache_hit_rate;    /* block cache hits / lookups */
    uint64_t table_bytes;
    char note[256];           /* what could not be measured, and why */
} db_summary;

/* How a target is opened: by the parent, emptying the database first
 * (--use-existing off; the lsmd target cannot empty the daemon's database
 * and uses it as it is), by the parent as it is, or by a forked client
 * process of a multiprocess target. */
enum { OPEN_FRESH, OPEN_EXISTING, OPEN_CLIENT };

typedef struct target_ops {
    const char *scheme;
    bool multiprocess;        /* clients are forked processes */
    bool has_events;          /* stats JSON carries the flush/compaction log */

    /* arg: what follows "scheme:"; mode: OPEN_*. */
    int (*open)(const char *arg, const bench_config *cfg, int mode, target **out);
    void (*close)(target *t);

    int (*conn_open)(target *t, tconn **out);
    void (*conn_close)(tconn *c);

    int (*put)(tconn *c, const void *k, size_t kl, const void *v, size_t vl, bool sync);
    /* 0 (and *vlen) when found, LSM_ENOTFOUND, or an error. */
    int (*get)(tconn *c, const void *k, size_t kl, size_t *vlen);
    /* Visits up to n entries from the first key >= start (start NULL: the
     * first key), calling fn per entry when fn is not NULL; *visited and
     * *bytes say how many entries and key + value bytes. */
    int (*scan)(tconn *c, const void *start, size_t sl, uint64_t n, scan_fn fn, void *arg,
                uint64_t *visited, uint64_t *bytes);
    /* n gets in one call (multireadrandom; NULL when the target has no
     * multi-get): statuses[i] is 0 (vlens[i] set), LSM_ENOTFOUND or an
     * error for key i alone.  Returns 0, or an error of the whole call. */
    int (*multi_get)(tconn *c, size_t n, const void *const *keys, const size_t *klens,
                     size_t *vlens, int *statuses);
    /* Compacts the whole tree into one sorted run and waits (the compact
     * workload; NULL when the target cannot).  *written and *read: the
     * table bytes the compaction wrote and read. */
    int (*compact_all)(target *t, uint64_t *written, uint64_t *read);

    /* Asynchronous (NULL when the target has none): submit returns >= 0 or
     * an error (-EBUSY when the depth is reached); poll as lsmd_poll. */
    int (*submit_get)(tconn *c, const void *k, size_t kl, uint64_t user_data);
    int (*submit_put)(tconn *c, const void *k, size_t kl, const void *v, size_t vl, bool sync,
                      uint64_t user_data);
    int (*poll)(tconn *c, tcompletion *out, int max, int min_wait);
    /* n keys in one request in flight (multireadrandom with --iodepth > 1;
     * NULL when the target has none); completes through poll. */
    int (*submit_multi_get)(tconn *c, size_t n, const void *const *keys, const size_t *klens,
                            uint64_t user_data);
    /* A short scan in flight: at most n entries from start (seekrandom,
     * YCSB E with --iodepth > 1; NULL when the target has none); completes
     * through poll with status LSM_ETOOSMALL when its entries did not fit
     * (the caller scans again with scan). */
    int (*submit_scan)(tconn *c, const void *start, size_t sl, uint64_t n, uint64_t user_data);
    int (*depth)(tconn *c);   /* granted queue depth */

    /* The end-of-run figures, and (has_events) the raw stats JSON with
     * the event log (malloc'd, caller frees). */
    int (*summary)(target *t, db_summary *out);
    int (*stats_json)(target *t, char **json);
} target_ops;

struct target {
    const target_ops *ops;
};

/* The ops for spec's scheme and a pointer to its argument, or NULL with a
 * message in err (unknown scheme, or rocksdb not built in). */
const target_ops *target_lookup(const char *spec, const char **arg, char *err, size_t cap);

/* lsm_strerror for our codes, strerror for -errno. */
const char *target_strerror(int err);

/* Fills s from an lsm_stats_json object (the engine's object, or the
 * daemon's {"engine": {...}} wrapper).  Returns 0 or -EINVAL. */
int target_summary_from_json(const char *json, db_summary *s);

/* Empties directory dir if it looks like a database (every entry a file
 * whose name an LSM engine or RocksDB writes) that no process has open;
 * creates it if missing.  Errors: -ENOTEMPTY (something else is in it:
 * nothing removed), -EBUSY (DIR/LOCK is held), -errno. */
int target_wipe_dir(const char *dir);

extern const target_ops target_embedded_ops;
extern const target_ops target_lsmd_ops;
#ifdef LSMBENCH_ROCKSDB
extern const target_ops target_rocksdb_ops;
#endif
#ifdef LSMBENCH_LMDB
extern const target_ops target_lmdb_ops;
#endif

#endif
