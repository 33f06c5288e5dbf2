/*
 * db_read.c — point lookups: the memtable, the frozen memtables (newest
 * first), then the tables of level 0 (newest first) and of each deeper level
 * (at most one file per level, found by binary search).  The first entry for
 * the key at or below the read sequence decides: a value or a tombstone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db_impl.h"
#include "dbformat.h"
#include "block_cache.h"
#include "sstable_reader.h"
#include "table_cache.h"

int db_table_iter_new(lsm_db *db, file_meta *fm, iter **out)
{
    return table_cache_iter_new(db->table_cache, fm->number, out);
}

void db_cache_options_changed(lsm_db *db)
{
    pthread_mutex_lock(&db->mu);
    size_t cap = db->opt.block_cache_bytes;
    pthread_mutex_unlock(&db->mu);
    block_cache_set_capacity(db->block_cache, cap);
}

/* 1: the user key lies in [smallest, largest] of fm. */
static int file_may_hold(const file_meta *fm, slice ukey)
{
    slice lo = ikey_user(slice_make(fm->smallest, fm->smallest_len));
    slice hi = ikey_user(slice_make(fm->largest, fm->largest_len));
    return slice_compare(ukey, lo) >= 0 && slice_compare(ukey, hi) <= 0;
}

/* Returns 1 found (value or tombstone in *type; a value went to sink), 0
 * not in this file, <0. */
static int table_get(lsm_db *db, file_meta *fm, slice ukey, uint64_t seq,
                     enum value_type *type, sst_value_sink sink, void *ctx)
{
    if (!file_may_hold(fm, ukey))
        return 0;
    atomic_fetch_add_explicit(&db->stat_tables_probed, 1, memory_order_relaxed);
    table_handle *h;
    int rc = table_cache_get(db->table_cache, fm->number, &h);
    if (rc != 0)
        return rc;
    int bloom_negative = 0;
    atomic_fetch_add_explicit(&db->stat_bloom_checks, 1, memory_order_relaxed);
    rc = sst_reader_get_to(table_handle_reader(h), ukey, seq, type, sink, ctx, &bloom_negative);
    table_cache_release(db->table_cache, h);
    if (bloom_negative)
        atomic_fetch_add_explicit(&db->stat_bloom_useful, 1, memory_order_relaxed);
    return rc;
}

static int search_tables(lsm_db *db, version *v, slice ukey, uint64_t seq,
                         sst_value_sink sink, void *ctx)
{
    enum value_type type;
    int rc = 0;
    for (size_t i = 0; i < v->nfiles[0] && rc == 0; i++)
        rc = table_get(db, v->files[0][i], ukey, seq, &type, sink, ctx);
    for (int level = 1; level < LSM_NUM_LEVELS && rc == 0; level++) {
        file_meta *fm = version_find_file(v, level, ukey);
        if (fm)
            rc = table_get(db, fm, ukey, seq, &type, sink, ctx);
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
