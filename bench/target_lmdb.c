/*
 * target_lmdb.c — LMDB 0.9 (<lmdb.h>), the multi-process B-tree anchor the
 * engine is measured against (docs/benchmarking.md, "Comparing with LMDB"),
 * built only when liblmdb-dev is installed (the Makefile defines
 * LSMBENCH_LMDB).
 *
 *   lmdb:DIR   DIR/data.mdb and DIR/lock.mdb; a fresh run deletes both
 *
 * Settings, chosen to match the anchor ("MDB_NOSYNC|MDB_WRITEMAP, one
 * transaction per 1,000 puts"):
 *
 *   map size           64 GiB (a sparse file; only pages written take space)
 *   flags              MDB_NOTLS always (read transactions are per tconn,
 *                      not per thread); without --sync also MDB_NOSYNC |
 *                      MDB_WRITEMAP | MDB_NOMETASYNC, with --sync LMDB's
 *                      durable defaults (fsync at every commit)
 *   puts               batched: one write transaction per 1,000 puts per
 *                      worker thread (the 1,000th put pays the commit; the
 *                      rest is committed at conn_close); a put with sync set
 *                      commits at once (and syncs the map when the env is
 *                      MDB_NOSYNC).  LMDB has one writer at a time: other
 *                      threads' puts wait while a batch is open
 *   gets, scans        in a read-only transaction kept per tconn and
 *                      mdb_txn_reset / mdb_txn_renew around each operation
 *                      (a cursor renewed likewise); a tconn with a write
 *                      batch open reads through that batch (one transaction
 *                      per thread at a time, and it sees its own puts)
 *   clients            multiprocess: each forked client opens its own env
 *                      (an MDB_env must not cross a fork)
 *   ignored            memtable, cache, block, bloom and compaction settings:
 *                      a B-tree in a shared map has none (the OS page cache
 *                      is its cache)
 *
 * Figures: none of WA/SA/stalls/cache apply; table_bytes is the map's used
 * pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lsm.h"
#include "target.h"


#define LMDB_MAP_BYTES (64ull << 30)
#define LMDB_BATCH 1000

typedef struct lmdb_target {
    target base;
    MDB_env *env;
    MDB_dbi dbi;
    bool nosync;              /* env opened with MDB_NOSYNC */
} lmdb_target;

struct tconn {
    lmdb_target *t;
    MDB_txn *wtxn;            /* the open write batch, or NULL */
    unsigned batched;         /* puts in wtxn */
    MDB_txn *rtxn;            /* reset between operations; NULL until first read */
    MDB_cursor *rcur;         /* bound to rtxn */
};

/* errno values pass through; LMDB's own codes (MDB_KEYEXIST ... ) print
 * once and become -EIO. */
static int lmdb_err(const char *what, int rc)
{
    if (rc == MDB_NOTFOUND)
        return LSM_ENOTFOUND;
    if (rc == MDB_MAP_FULL)
        return -ENOSPC;
    if (rc > 0)
        return -rc;
    static _Atomic int printed;
    if (!printed++)
        fprintf(stderr, "lsmbench: lmdb %s: %s\n", what, mdb_strerror(rc));
    return -EIO;
}

/* -EBUSY when a process has DIR's env open: every open env holds a read
 * (or, alone, a write) fcntl lock on byte 0 of lock.mdb. */
static int lmdb_busy(const char *lockpath)
{
    int fd = open(lockpath, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
    int rc = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK ? -EBUSY : 0;
    close(fd);
    return rc;
}

/* Deletes LMDB's two files, then lets target_wipe_dir empty (or create)
 * the rest when it is another engine's database. */
static int lmdb_wipe(const char *dir)
{
    char data[4200], lock[4200];
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    snprintf(lock, sizeof lock, "%s/lock.mdb", dir);
    int rc = lmdb_busy(lock);
    if (rc)
        return rc;
    if (unlink(data) != 0 && errno != ENOENT)
        return -errno;
    if (unlink(lock) != 0 && errno != ENOENT)
        return -errno;
    return target_wipe_dir(dir);
}

static void lmdb_close(target *tt)
{
    lmdb_target *t = (lmdb_target *)tt;
    if (t->env)
        mdb_env_close(t->env);
    free(t);
}

static int lmdb_open(const char *arg, const bench_config *cfg, int mode, target **out)
{
    if (!*arg) {
        fprintf(stderr, "lsmbench: lmdb:DIR needs a directory\n");
        return -EINVAL;
    }
    if (mode == OPEN_FRESH) {
        int rc = lmdb_wipe(arg);
        if (rc) {
            fprintf(stderr, "lsmbench: cannot empty %s: %s\n", arg, target_strerror(rc));
            return rc;
        }
    }
    lmdb_target *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->base.ops = &target_lmdb_ops;
    t->nosync = !cfg->sync;
    unsigned flags = MDB_NOTLS | (t->nosync ? MDB_NOSYNC | MDB_WRITEMAP | MDB_NOMETASYNC : 0);
    /* Every worker of every client holds a reader slot, plus slack. */
    unsigned readers = (unsigned)(cfg->clients * cfg->threads) + 64;
    MDB_txn *txn = NULL;
    const char *what = "env_create";
    int rc = mdb_env_create(&t->env);
    if (rc == 0 && (what = "set_mapsize", rc = mdb_env_set_mapsize(t->env, LMDB_MAP_BYTES)) == 0 &&
        (what = "set_maxreaders", rc = mdb_env_set_maxreaders(t->env, readers)) == 0 &&
        (what = "env_open", rc = mdb_env_open(t->env, arg, flags, 0644)) == 0 &&
        (what = "txn_begin", rc = mdb_txn_begin(t->env, NULL, 0, &txn)) == 0 &&
        (what = "dbi_open", rc = mdb_dbi_open(txn, NULL, 0, &t->dbi)) == 0) {
        what = "txn_commit";
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (txn)
        mdb_txn_abort(txn);
    if (rc) {
        fprintf(stderr, "lsmbench: lmdb %s %s: %s\n", what, arg, mdb_strerror(rc));
        lmdb_close(&t->base);
        return rc > 0 ? -rc : -EIO;
    }
    *out = &t->base;
    return 0;
}

static int lmdb_conn_open(target *tt, tconn **out)
{
    tconn *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->t = (lmdb_target *)tt;
    *out = c;
    return 0;
}

static int lmdb_commit(tconn *c)
{
    int rc = mdb_txn_commit(c->wtxn);
    c->wtxn = NULL;
    c->batched = 0;
    return rc ? lmdb_err("commit", rc) : 0;
}

static void lmdb_conn_close(tconn *c)
{
    if (c->wtxn) {
        int rc = lmdb_commit(c);
        if (rc)
            fprintf(stderr, "lsmbench: lmdb: last batch lost: %s\n", target_strerror(rc));
    }
    if (c->rcur)
        mdb_cursor_close(c->rcur);
    if (c->rtxn)
        mdb_txn_abort(c->rtxn);
    free(c);
}

static int lmdb_put(tconn *c, const void *k, size_t kl, const void *v, size_t vl, bool sync)
{
    if (!c->wtxn) {
        int rc = mdb_txn_begin(c->t->env, NULL, 0, &c->wtxn);
        if (rc) {
            c->wtxn = NULL;
            return lmdb_err("txn_begin", rc);
        }
    }
    MDB_val key = { kl, (void *)k }, val = { vl, (void *)v };
    int rc = mdb_put(c->wtxn, c->t->dbi, &key, &val, 0);
    if (rc) {
        /* A failed put leaves the transaction unusable: drop the batch. */
        mdb_txn_abort(c->wtxn);
        c->wtxn = NULL;
        c->batched = 0;
        return lmdb_err("put", rc);
    }
    if (++c->batched < LMDB_BATCH && !sync)
        return 0;
    rc = lmdb_commit(c);
    if (rc == 0 && sync && c->t->nosync) {
        rc = mdb_env_sync(c->t->env, 1);
        if (rc)
            rc = lmdb_err("env_sync", rc);
    }
    return rc;
}

/* The transaction a read uses: the open write batch, or the tconn's read
 * transaction renewed (begun the first time). */
static int read_txn(tconn *c, MDB_txn **txn)
{
    if (c->wtxn) {
        *txn = c->wtxn;
        return 0;
    }
    int rc = c->rtxn ? mdb_txn_renew(c->rtxn)
                     : mdb_txn_begin(c->t->env, NULL, MDB_RDONLY, &c->rtxn);
    if (rc)
        return lmdb_err("read txn", rc);
    *txn = c->rtxn;
    return 0;
}

static void read_done(tconn *c, MDB_txn *txn)
{
    if (txn == c->rtxn)
        mdb_txn_reset(c->rtxn);
}

static int lmdb_get(tconn *c, const void *k, size_t kl, size_t *vlen)
{
    MDB_txn *txn = NULL;
    int rc = read_txn(c, &txn);
    if (rc)
        return rc;
    MDB_val key = { kl, (void *)k }, val;
    rc = mdb_get(txn, c->t->dbi, &key, &val);
    if (rc == 0)
        *vlen = val.mv_size;
    read_done(c, txn);
    return rc ? lmdb_err("get", rc) : 0;
}

/* LMDB has no multi-get: the gets of one batch in one read transaction. */
static int lmdb_multi_get(tconn *c, size_t n, const void *const *keys, const size_t *klens,
                          size_t *vlens, int *statuses)
{
    MDB_txn *txn = NULL;
    int rc = read_txn(c, &txn);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        MDB_val key = { klens[i], (void *)keys[i] }, val;
        int r = mdb_get(txn, c->t->dbi, &key, &val);
        if (r == 0)
            vlens[i] = val.mv_size;
        statuses[i] = r ? lmdb_err("get", r) : 0;
    }
    read_done(c, txn);
    return 0;
}

static int lmdb_scan(tconn *c, const void *start, size_t sl, uint64_t n, scan_fn fn, void *arg,
                     uint64_t *visited, uint64_t *bytes)
{
    *visited = *bytes = 0;
    MDB_txn *txn = NULL;
    int rc = read_txn(c, &txn);
    if (rc)
        return rc;
    MDB_cursor *cur = NULL;
    if (txn == c->rtxn) {
        /* A read-only cursor outlives its transaction: renew, not reopen. */
        rc = c->rcur ? mdb_cursor_renew(txn, c->rcur) : mdb_cursor_open(txn, c->t->dbi, &c->rcur);
        cur = c->rcur;
    } else {
        rc = mdb_cursor_open(txn, c->t->dbi, &cur);
    }
    if (rc) {
        read_done(c, txn);
        return lmdb_err("cursor", rc);
    }
    MDB_val key = { sl, (void *)start }, val;
    rc = mdb_cursor_get(cur, &key, &val, start ? MDB_SET_RANGE : MDB_FIRST);
    uint64_t i = 0, b = 0;
    while (i < n && rc == 0) {
        i++;
        b += key.mv_size + val.mv_size;
        if (fn && !fn(arg, key.mv_size, val.mv_size))
            break;
        if (i < n)
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }
    if (cur != c->rcur)
        mdb_cursor_close(cur);
    read_done(c, txn);
    *visited = i;
    *bytes = b;
    return rc && rc != MDB_NOTFOUND ? lmdb_err("cursor_get", rc) : 0;
}

static int lmdb_summary(target *tt, db_summary *s)
{
    lmdb_target *t = (lmdb_target *)tt;
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(t->env, &info) == 0 && mdb_env_stat(t->env, &st) == 0)
        s->table_bytes = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
    snprintf(s->note, sizeof s->note, "%s",
             "lmdb: a B-tree updated in place: no compaction, stalls or block cache");
    return 0;
}

const target_ops target_lmdb_ops = {
    .scheme = "lmdb",
    .multiprocess = true,
    .has_events = false,
    .open = lmdb_open,
    .close = lmdb_close,
    .conn_open = lmdb_conn_open,
    .conn_close = lmdb_conn_close,
    .put = lmdb_put,
    .get = lmdb_get,
    .scan = lmdb_scan,
    .multi_get = lmdb_multi_get,
    .summary = lmdb_summary,
};
