/*
 * bg_error.c — the sticky background error (bg_error.h).
 */
#include "db/bg_error.h"
#include "db/db_impl.h"
#include "base/log.h"

void db_set_bg_error(lsm_db *db, int err, const char *why)
{
    if (!db->bg_error) {
        db->bg_error = err;
        db->bg_why = why;
        log_error("database %s is now read-only: %s: %s", db->dir, why, lsm_strerror(err));
    }
    pthread_cond_broadcast(&db->bg_cv);
    pthread_cond_broadcast(&db->work_cv);
}

int lsm_db_error(lsm_db *db, const char **why)
{
    pthread_mutex_lock(&db->mu);
    int err = db->bg_error;
    if (why)
        *why = db->bg_why;
    pthread_mutex_unlock(&db->mu);
    return err;
}
