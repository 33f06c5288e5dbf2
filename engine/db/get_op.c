/* get_op.c — see get_op.h. */
#include "db/get_op.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"
#include "db/clock.h"
#include "db/superversion.h"
#include "table/bloom.h"
#include "base/reason.h"

enum {
    S_MEM,    /* memtables not yet searched */
    S_TABLES, /* visiting candidate tables: fm/th[i] next */
    S_MISS,   /* the block at h missed the cache: NEEDS_IO */
    S_READ,   /* its read is prepared (in flight) */
    S_BLOCK,  /* the block at h is pinned: search it */
    S_DONE,
};

#define RELAXED memory_order_relaxed

/* 1: the user key lies in [smallest, largest] of fm. */
static int file_may_hold(const file_meta *fm, slice ukey)
{
    slice lo = ikey_user(slice_make(fm->smallest, fm->smallest_len));
    slice hi = ikey_user(slice_make(fm->largest, fm->largest_len));
    return slice_compare(ukey, lo) >= 0 && slice_compare(ukey, hi) <= 0;
}

static file_meta *next_candidate(get_cand_iter *ci)
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

/* Receives a found value while its bytes are pinned. */
static int take_value(void *ctx, slice v)
{
    get_op *op = ctx;
    op->vlen = v.size;
    if (op->buf) {
        if (v.size > op->cap)
            return LSM_ETOOSMALL;
        memcpy(op->buf, v.data, v.size);
        return 0;
    }
    if (!(op->value = malloc(v.size ? v.size : 1)))
        return -ENOMEM;
    memcpy(op->value, v.data, v.size);
    return 0;
}

/* Starts op on sv (a reference the op takes over) as of seq. */
static int start(get_op *op, lsm_db *db, superversion *sv, uint64_t seq, const void *key,
                 size_t klen, void *buf, size_t cap)
{
    memset(op, 0, offsetof(get_op, fm));
    if (!key || klen == 0 || klen > LSM_MAX_KEY_SIZE) {
        char why[REASON_MAX];
        reason_key_size(why, sizeof why, key ? klen : 0);
        return reason_set(-EINVAL, "%s", why);
    }
    if (!buf && cap)
        return -EINVAL;
    char *tk = op->kbuf;
    if (klen + INTERNAL_TRAILER > sizeof op->kbuf && !(tk = malloc(klen + INTERNAL_TRAILER)))
        return -ENOMEM;
    op->db = db;
    op->buf = buf;
    op->cap = cap;
    op->t0 = db_mono_ns();
    atomic_fetch_add_explicit(&db->stat_gets, 1, RELAXED);
    op->sv = sv;
    op->seq = seq;
    op->ukey = slice_make(key, klen);
    op->target = slice_make(tk, sst_target_encode(tk, op->ukey, op->seq));
    op->hash = bloom_hash(op->ukey);
    op->ci = (get_cand_iter){ op->sv->v, op->ukey, 0, 1 };
    op->n = op->i = 0;
    op->state = S_MEM;
    return 0;
}

int get_op_start(get_op *op, lsm_db *db, const lsm_snapshot *snap, const void *key,
                 size_t klen, void *buf, size_t cap)
{
    if (!db) {
        memset(op, 0, offsetof(get_op, fm));
        return -EINVAL;
    }
    superversion *sv = db_sv_acquire(db);
    /* Pairs with the leader's release store of last_seq. */
    uint64_t seq = snap ? snap->seq : atomic_load_explicit(&db->last_seq, memory_order_acquire);
    int rc = start(op, db, sv, seq, key, klen, buf, cap);
    if (rc)
        db_sv_release(sv);
    return rc;
}

int get_op_start_in(get_op *op, lsm_db *db, superversion *sv, uint64_t seq, const void *key,
                    size_t klen, void *buf, size_t cap)
{
    atomic_fetch_add_explicit(&sv->refs, 1, RELAXED); /* the caller holds one */
    int rc = start(op, db, sv, seq, key, klen, buf, cap);
    if (rc)
        db_sv_release(sv);
    return rc;
}

static void release_tables(get_op *op)
{
    for (int k = 0; k < op->n; k++)
        if (op->oerr[k] == 0)
            table_cache_release(op->db->table_cache, op->th[k]);
    op->n = op->i = 0;
}

static enum get_step done(get_op *op, int rc)
{
    release_tables(op);
    op->rc = rc;
    op->state = S_DONE;
    return GET_OP_DONE;
}

/* Pins the next batch of candidates; 0 when there are none. */
static int next_batch(get_op *op)
{
    release_tables(op);
    int n = 0;
    while (n < GET_OP_BATCH && (op->fm[n] = next_candidate(&op->ci)))
        n++;
    for (int k = 0; k < n; k++) {
        /* A table that cannot be opened fails the get only if the search
         * reaches it. */
        if ((op->oerr[k] = table_cache_get(op->db->table_cache, op->fm[k]->number,
                                           &op->th[k])) == 0)
            sst_reader_prefetch(table_handle_reader(op->th[k]), op->hash);
    }
    op->n = n;
    return n;
}

static sst_reader *cur_reader(const get_op *op)
{
    return table_handle_reader(op->th[op->i]);
}

/* The current table: filter, index, cache; S_BLOCK, S_MISS, or the next. */
static int visit_table(get_op *op)
{
    lsm_db *db = op->db;
    if (op->oerr[op->i])
        return op->oerr[op->i];
    sst_reader *r = cur_reader(op);
    atomic_fetch_add_explicit(&db->stat_tables_probed, 1, RELAXED);
    atomic_fetch_add_explicit(&db->stat_bloom_checks, 1, RELAXED);
    int neg;
    int rc = sst_reader_locate(r, op->hash, op->target, &op->h, &neg);
    if (neg)
        atomic_fetch_add_explicit(&db->stat_bloom_useful, 1, RELAXED);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        op->i++;
        return 0;
    }
    if ((rc = sst_reader_block_cached(r, op->h, &op->pin)) < 0)
        return rc;
    op->state = rc == 1 ? S_BLOCK : S_MISS;
    return 0;
}

enum get_step get_op_run(get_op *op)
{
    for (;;) {
        int rc;
        switch (op->state) {
        case S_MEM: {
            superversion *sv = op->sv;
            slice v;
            enum memtable_lookup m = memtable_get(sv->mem, op->ukey, op->seq, &v);
            for (int k = 0; m == MEMTABLE_ABSENT && k < sv->nimm; k++)
                m = memtable_get(sv->imm[k], op->ukey, op->seq, &v);
            if (m == MEMTABLE_FOUND)
                return done(op, take_value(op, v));
            if (m == MEMTABLE_DELETED)
                return done(op, LSM_ENOTFOUND);
            op->state = S_TABLES;
            break;
        }
        case S_TABLES:
            if (op->i == op->n && !next_batch(op))
                return done(op, LSM_ENOTFOUND);
            if ((rc = visit_table(op)) != 0)
                return done(op, rc);
            break;
        case S_MISS:
        case S_READ:
            return GET_OP_NEEDS_IO;
        case S_BLOCK: {
            enum value_type type;
            rc = sst_reader_block_get(cur_reader(op), &op->pin, op->h, op->target, &type,
                                      take_value, op);
            sst_reader_block_unpin(cur_reader(op), &op->pin);
            if (rc < 0)
                return done(op, rc);
            if (rc == 1)
                return done(op, type == LSM_TYPE_DELETE ? LSM_ENOTFOUND : 0);
            op->i++;
            op->state = S_TABLES;
            break;
        }
        default:
            return GET_OP_DONE;
        }
    }
}

uint64_t get_op_file(const get_op *op)
{
    return op->fm[op->i]->number;
}

io_op *get_op_prepare_read(get_op *op)
{
    int rc = sst_reader_block_read_prepare(cur_reader(op), op->h, &op->bf);
    if (rc) {
        done(op, rc);
        return NULL;
    }
    op->bf.op.user = op;
    op->state = S_READ;
    return &op->bf.op;
}

void get_op_retry_cached(get_op *op)
{
    int rc = sst_reader_block_cached(cur_reader(op), op->h, &op->pin);
    if (rc < 0)
        done(op, rc);
    else
        op->state = rc == 1 ? S_BLOCK : S_MISS;
}

void get_op_read_done(get_op *op, long res)
{
    int rc = sst_reader_block_read_finish(cur_reader(op), op->h, &op->bf, res, &op->pin);
    if (rc)
        done(op, rc);
    else
        op->state = S_BLOCK;
}

static void op_release(get_op *op)
{
    release_tables(op);
    if (op->target.data != op->kbuf)
        free((void *)op->target.data);
    op->target = slice_make(NULL, 0);
    if (op->sv)
        db_sv_release(op->sv);
    op->sv = NULL;
}

int get_op_finish(get_op *op)
{
    op_release(op);
    histogram_record_atomic(&op->db->get_latency, db_mono_ns() - op->t0);
    if (op->rc != 0) {
        free(op->value);
        op->value = NULL;
    }
    return op->rc;
}

int get_op_run_sync(get_op *op)
{
    while (get_op_run(op) == GET_OP_NEEDS_IO) {
        io_op *io = get_op_prepare_read(op);
        if (io)
            get_op_read_done(op, block_fetch_sync(op->db->io, &op->bf));
    }
    return get_op_finish(op);
}

void get_op_cancel(get_op *op)
{
    if (op->state == S_BLOCK)
        sst_reader_block_unpin(cur_reader(op), &op->pin);
    else if (op->state == S_READ)
        sst_reader_block_read_cancel(&op->bf);
    op->state = S_DONE;
    op_release(op);
    free(op->value);
    op->value = NULL;
}

bool get_op_is_done(const get_op *op)
{
    return op->state == S_DONE && op->sv;
}

bool get_op_in_flight(const get_op *op)
{
    return op->state == S_READ;
}
