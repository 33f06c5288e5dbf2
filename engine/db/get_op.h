/*
 * get_op.h — one key's point lookup as steps that never wait for the disk.
 *
 * The lookup of db_read.c (memtable, frozen memtables newest first, then
 * the level-0 tables whose range holds the key, newest first, then at most
 * one table per deeper level), cut where it would read a data block:
 * get_op_run goes as far as memory allows (memtables, filters, indexes,
 * the block cache) and either finishes or stops with one block read
 * prepared (get_op_read()).  The caller runs that read however it likes:
 * at once (get_op_run_sync: lsm_get), or in an io_queue among other keys'
 * reads (lsm_multi_get, lsm_getq), then hands back its result with
 * get_op_read_done and calls get_op_run again.  So every get path shares
 * one lookup; only who waits for the disk differs.
 *
 *   get_op_start -> get_op_run -> DONE -> get_op_finish
 *                        |  NEEDS_IO: get_op_prepare_read, run the read,
 *                        |  get_op_read_done, get_op_run again ...
 *
 * A started op pins a superversion (its memtables and tables stay alive)
 * until get_op_finish or get_op_cancel, and the table it is reading is
 * pinned in the table cache meanwhile.
 *
 * Limitation: opening a table that is not in the table cache (footer and
 * meta blocks) still blocks inside get_op_run; the table cache keeps
 * readers open (max_open_files), so this is once per table, not per get.
 *
 * An op belongs to one thread at a time.
 */
#ifndef LSM_GET_OP_H
#define LSM_GET_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db_impl.h"
#include "table/block_fetch.h"
#include "table/sstable_reader.h"
#include "table/table_cache.h"

/* Candidate tables pinned (and their filter probes prefetched) at once, so
 * the filters' cache misses overlap. */
#define GET_OP_BATCH 8

enum get_step {
    GET_OP_DONE,     /* get_op_finish gives the result */
    GET_OP_NEEDS_IO, /* a block read is wanted: get_op_prepare_read */
};

/* The tables a get may visit, in order (see above). */
typedef struct get_cand_iter {
    const version *v;
    slice ukey;
    size_t l0;  /* next level-0 index */
    int level;  /* next deeper level */
} get_cand_iter;

typedef struct get_op {
    lsm_db *db;
    superversion *sv;
    uint64_t seq, hash, t0;
    slice ukey;
    slice target;      /* internal lookup key (sst_target_encode) */
    char kbuf[96];     /* target's bytes when they fit, else malloc'd */
    /* The value: copied into buf (cap bytes; LSM_ETOOSMALL when it does
     * not fit) or, with buf NULL, to a malloc'd *value. */
    void *buf;
    size_t cap;
    void *value;
    size_t vlen;
    /* Candidate tables: fm/th[i..n) are the batch being visited. */
    get_cand_iter ci;
    file_meta *fm[GET_OP_BATCH];
    table_handle *th[GET_OP_BATCH];
    int oerr[GET_OP_BATCH];
    int n, i;
    /* The current table's block. */
    sst_handle h;
    sst_block_pin pin;
    block_fetch bf;    /* bf.op is the read; bf.op.user is this op */
    int state, rc;
    /* For callers that merge identical reads (lsm_multi_get). */
    struct get_op *next_waiter;
} get_op;

/* Starts a get of key as of snap (NULL: now) whose value goes to buf
 * (cap bytes) or, with buf NULL, to a malloc'd copy (get_op_value).
 * Counts it in stat_gets.  Returns 0 or -EINVAL (bad key); on error the op
 * holds nothing. */
int get_op_start(get_op *op, lsm_db *db, const lsm_snapshot *snap, const void *key,
                 size_t klen, void *buf, size_t cap);

/* As get_op_start, on a view the caller holds (sv, one reference of its
 * own that the op adds to) as of seq: the keys of one lsm_multi_get share
 * one view, taken once. */
int get_op_start_in(get_op *op, lsm_db *db, superversion *sv, uint64_t seq, const void *key,
                    size_t klen, void *buf, size_t cap);

/* Advances as far as memory allows.  NEEDS_IO: the block at
 * (get_op_file(op), op->h.offset) is wanted and not in the block cache. */
enum get_step get_op_run(get_op *op);

/* The table file whose block a NEEDS_IO op wants. */
uint64_t get_op_file(const get_op *op);

/* After NEEDS_IO: prepares the read, returns it (op->bf.op, user = op), or
 * NULL when preparing failed (the op is then DONE with the error). */
io_op *get_op_prepare_read(get_op *op);

/* After NEEDS_IO, instead of a read: looks the block up in the cache again
 * (another op's read of the same block just completed); the next
 * get_op_run continues from there, reading it itself on a miss. */
void get_op_retry_cached(get_op *op);

/* The prepared read completed with res (io_op.res; a -errno when it was
 * never run).  Verifies and caches the block; get_op_run continues. */
void get_op_read_done(get_op *op, long res);

/* REQUIRES: DONE.  Releases what the op holds, records its latency and
 * returns 0 (value: get_op_value), LSM_ENOTFOUND, LSM_ETOOSMALL or an
 * error. */
int get_op_finish(get_op *op);

/* The malloc'd value after a finish that returned 0 with buf NULL; the
 * caller owns it (lsm_free). */
static inline void *get_op_value(get_op *op, size_t *vlen)
{
    *vlen = op->vlen;
    return op->value;
}

/* The op reached DONE (and was not yet finished or cancelled); its read
 * is prepared and not yet handed back. */
bool get_op_is_done(const get_op *op);
bool get_op_in_flight(const get_op *op);

/* Runs the op to the end with blocking reads; returns get_op_finish's. */
int get_op_run_sync(get_op *op);

/* Drops a started op at any point but with no read in flight (its result
 * is lost, nothing leaks). */
void get_op_cancel(get_op *op);

#endif
