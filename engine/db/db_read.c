/*
 * db_read.c — point lookups: the memtable, the frozen memtables (newest
 * first), then the tables of level 0 (newest first) and of each deeper level
 * (at most one file per level, found by binary search).  The first entry for
 * the key at or below the read sequence decides: a value or a tombstone.
 * The lookup itself is get_op.c's; lsm_multi_get and lsm_getq run it with
 * many reads in flight.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_impl.h"
#include "db/clock.h"
#include "db/superversion.h"
#include "base/dbformat.h"
#include "db/get_op.h"
#include "table/table_cache.h"
#include "base/reason.h"

int db_table_iter_new(lsm_db *db, file_meta *fm, iter **out)
{
    return table_cache_iter_new(db->table_cache, fm->number, out);
}

/* Every get path runs the same steps (get_op.h); this one waits for each
 * block read in turn. */
int lsm_get(lsm_db *db, const lsm_snapshot *snap, const void *key, size_t klen,
            void **val, size_t *vlen)
{
    reason_clear();
    if (!val || !vlen)
        return -EINVAL;
    get_op op;
    int rc = get_op_start(&op, db, snap, key, klen, NULL, 0);
    if (rc == 0 && (rc = get_op_run_sync(&op)) == 0)
        *val = get_op_value(&op, vlen);
    return rc;
}

/* lsm_get_into and, with cached, lsm_get_into_cached (which stops with
 * -EWOULDBLOCK where the get would read a block). */
static int get_into(lsm_db *db, const lsm_snapshot *snap, const void *key, size_t klen,
                    void *buf, size_t cap, size_t *vlen, bool cached)
{
    if (!vlen || (!buf && cap))
        return -EINVAL;
    get_op op;
    /* A get_op with buf NULL would malloc; give it a harmless one. */
    char none;
    int rc = get_op_start(&op, db, snap, key, klen, buf ? buf : &none, cap);
    *vlen = 0;
    if (rc)
        return rc;
    if (!cached) {
        rc = get_op_run_sync(&op);
    } else if (get_op_run(&op) == GET_OP_NEEDS_IO) {
        get_op_cancel(&op);
        atomic_fetch_sub_explicit(&db->stat_gets, 1, memory_order_relaxed);
        return -EWOULDBLOCK; /* counted as no get */
    } else {
        rc = get_op_finish(&op);
    }
    *vlen = op.vlen;
    return rc;
}

int lsm_get_into(lsm_db *db, const lsm_snapshot *snap, const void *key, size_t klen,
                 void *buf, size_t cap, size_t *vlen)
{
    return get_into(db, snap, key, klen, buf, cap, vlen, false);
}

int lsm_get_into_cached(lsm_db *db, const lsm_snapshot *snap, const void *key, size_t klen,
                        void *buf, size_t cap, size_t *vlen)
{
    return get_into(db, snap, key, klen, buf, cap, vlen, true);
}

void lsm_free(void *p)
{
    free(p);
}
