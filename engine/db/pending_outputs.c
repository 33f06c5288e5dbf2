/*
 * pending_outputs.c — the registry of jobs writing tables (pending_outputs.h).
 */
#include "db/pending_outputs.h"
#include "db/db_impl.h"

int db_pending_begin(lsm_db *db)
{
    for (int i = 0; i < db->npending; i++)
        if (db->pending[i] == 0) {
            db->pending[i] = version_set_next_file_number(db->vs);
            return i;
        }
    if (db->npending == DB_MAX_PENDING)
        return -1; /* cannot happen: jobs are bounded by threads + flush */
    db->pending[db->npending] = version_set_next_file_number(db->vs);
    return db->npending++;
}

void db_pending_end(lsm_db *db, int slot)
{
    if (slot >= 0)
        db->pending[slot] = 0;
}

uint64_t db_pending_min(lsm_db *db)
{
    /* A job registering after this call numbers its tables from the
     * counter as it is now or later. */
    uint64_t min = version_set_next_file_number(db->vs);
    for (int i = 0; i < db->npending; i++)
        if (db->pending[i] && db->pending[i] < min)
            min = db->pending[i];
    return min;
}
