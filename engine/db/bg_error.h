/*
 * bg_error.h — the background error: the first failure that a background
 * step (a flush, a compaction, a WAL sync, installing a read view) cannot
 * undo makes the database read-only until it is reopened; lsm_db_error
 * (lsm.h) reports it.  Resource errors that are retried instead are
 * db_transient.c's (db_impl.h), never this.
 *
 * Thread safety: the error and its text are [mu] fields of lsm_db;
 * db_set_bg_error REQUIRES mu held, lsm_db_error takes it.
 */
#ifndef LSM_DB_BG_ERROR_H
#define LSM_DB_BG_ERROR_H

#include "lsm.h"

/* Records err as the background error (first one wins; why is static
 * text), logs it and wakes every waiter on bg_cv and work_cv.
 * REQUIRES: mu held. */
void db_set_bg_error(lsm_db *db, int err, const char *why);

#endif
