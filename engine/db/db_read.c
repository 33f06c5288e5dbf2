/*
 * db_read.c — point lookups: the memtable, the frozen memtables (newest
 * first), then the tables of level 0 (newest first) and of each deeper level
 * (at most one file per level, found by binary search).  The first entry for
 * the key at or below the read sequence decides: a value or a tombstone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_impl.h"
#include "db/clock.h"
#include "db/superversion.h"
#include "base/dbformat.h"
#include "table/block_cache.h"
#include "table/bloom.h"
#include "table/sstable_reader.h"
#include "table/table_cache.h"

int db_table_iter_new(lsm_db *db, file_meta *fm, iter **out)
{
    return table_cache_iter_new(db->table_cache, fm->number, out);
}

/* 1: the user key lies in [smallest, largest] of fm. */
static int file_may_hold(const file_meta *fm, slice ukey)
{
    slice lo = ikey_user(slice_make(fm->smallest, fm->smallest_len));
    slice hi = ikey_user(slice_make(fm->largest, fm->largest_len));
    return slice_compare(ukey, lo) >= 0 && slice_compare(ukey, hi) <= 0;
}

/* The tables a get may visit, in the order it visits them: the level-0
 * files whose range holds the key (newest first), then at most one file
 * per deeper level. */
typedef struct cand_iter {
    const version *v;
    slice ukey;
    size_t l0;   /* next level-0 index */
    int level;   /* next deeper level */
} cand_iter;

static file_meta *next_candidate(cand_iter *ci)
{
    while (ci->l0 < ci->v->nfiles[0]) {
        file_meta *fm = ci->v->files[0][ci->l0++];
        if (file_may_hold(fm, ci->ukey))
            return fm;
    }
    while (ci->level < LSM_NUM_LEVELS) {
        file_meta *fm = version_find_file(ci->v, ci->level++, ci->ukey);
        if (fm)
            return fm;
    }
    return NULL;
}

/* Candidates pinned and prefetched at once. */
#define GET_BATCH 8

/*
 * Visits the candidate tables in order until one holds the key.  They are
 * taken in batches: every table of a batch is pinned first and its filter
 * probe prefetched, so the filters' cache misses (one or two per table)
 * overlap instead of following one another; then the tables are searched
 * in order.  A table that cannot be opened fails the get only if the
 * search reaches it.
 */
static int search_tables(lsm_db *db, version *v, slice ukey, uint64_t seq,
                         sst_value_sink sink, void *ctx)
{
    enum value_type type;
    cand_iter ci = { v, ukey, 0, 1 };
    uint64_t hash = bloom_hash(ukey);
    int rc = 0;
    for (;;) {
        file_meta *fm[GET_BATCH];
        table_handle *th[GET_BATCH];
        int oerr[GET_BATCH];
        int n = 0;
        while (n < GET_BATCH && (fm[n] = next_candidate(&ci)))
            n++;
        if (n == 0)
            break;
        for (int i = 0; i < n; i++) {
            if ((oerr[i] = table_cache_get(db->table_cache, fm[i]->number, &th[i])) == 0)
                sst_reader_prefetch(table_handle_reader(th[i]), hash);
        }
        for (int i = 0; i < n && rc == 0; i++) {
            if ((rc = oerr[i]) != 0)
                break;
            atomic_fetch_add_explicit(&db->stat_tables_probed, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&db->stat_bloom_checks, 1, memory_order_relaxed);
            int bloom_negative = 0;
            rc = sst_reader_get_to(table_handle_reader(th[i]), ukey, seq, &type, sink, ctx,
                                   &bloom_negative);
            if (bloom_negative)
                atomic_fetch_add_explicit(&db->stat_bloom_useful, 1, memory_order_relaxed);
        }
        for (int i = 0; i < n; i++)
            if (oerr[i] == 0)
                table_cache_release(db->table_cache, th[i]);
        if (rc != 0)
            break;
    }
    if (rc < 0)
        return rc;
    return rc == 0 || type == LSM_TYPE_DELETE ? LSM_ENOTFOUND : 0;
}

/* The lookup both lsm_get and lsm_get_into use: the value, once found, goes
 * to sink while its bytes are pinned, so each caller copies it once, to
 * where it wants it. */
static int get_to(lsm_db *db, const lsm_snapshot *snap, const void *key, size_t klen,
                  sst_value_sink sink, void *ctx)
{
    if (!db || !key || klen == 0 || klen > LSM_MAX_KEY_SIZE)
        return -EINVAL;
    slice ukey = slice_make(key, klen);
    uint64_t t0 = db_mono_ns();
    atomic_fetch_add_explicit(&db->stat_gets, 1, memory_order_relaxed);
    superversion *sv = db_sv_acquire(db);
    /* Pairs with the leader's release store of last_seq. */
    uint64_t seq = snap ? snap->seq
                        : atomic_load_explicit(&db->last_seq, memory_order_acquire);
    slice v;
    enum memtable_lookup r = memtable_get(sv->mem, ukey, seq, &v);
    for (int i = 0; r == MEMTABLE_ABSENT && i < sv->nimm; i++)
        r = memtable_get(sv->imm[i], ukey, seq, &v);
    int rc;
    if (r == MEMTABLE_FOUND)
        rc = sink(ctx, v);
    else if (r == MEMTABLE_DELETED)
        rc = LSM_ENOTFOUND;
    else
        rc = search_tables(db, sv->v, ukey, seq, sink, ctx);
    db_sv_release(sv);
    histogram_record_atomic(&db->get_latency, db_mono_ns() - t0);
    return rc;
}

struct malloc_sink {
    void *val;
    size_t vlen;
};

static int malloc_copy(void *ctx, slice v)
{
    struct malloc_sink *m = ctx;
    if (!(m->val = malloc(v.size ? v.size : 1)))
        return -ENOMEM;
    memcpy(m->val, v.data, v.size);
    m->vlen = v.size;
    return 0;
}

int lsm_get(lsm_db *db, const lsm_snapshot *snap, const void *key, size_t klen,
            void **val, size_t *vlen)
{
    if (!val || !vlen)
        return -EINVAL;
    struct malloc_sink m = { NULL, 0 };
    int rc = get_to(db, snap, key, klen, malloc_copy, &m);
    if (rc != 0) {
        free(m.val);
        return rc;
    }
    *val = m.val;
    *vlen = m.vlen;
    return 0;
}

struct buffer_sink {
    void *buf;
    size_t cap, vlen;
};

static int buffer_copy(void *ctx, slice v)
{
    struct buffer_sink *b = ctx;
    b->vlen = v.size;
    if (v.size > b->cap)
        return LSM_ETOOSMALL;
    memcpy(b->buf, v.data, v.size);
    return 0;
}

int lsm_get_into(lsm_db *db, const lsm_snapshot *snap, const void *key, size_t klen,
                 void *buf, size_t cap, size_t *vlen)
{
    if (!vlen || (!buf && cap))
        return -EINVAL;
    struct buffer_sink b = { buf, cap, 0 };
    int rc = get_to(db, snap, key, klen, buffer_copy, &b);
    *vlen = b.vlen;
    return rc;
}

void lsm_free(void *p)
{
    free(p);
}
