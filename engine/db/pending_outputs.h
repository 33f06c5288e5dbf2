/*
 * pending_outputs.h — the registry of jobs writing tables (flushes and
 * compactions), so obsolete-file deletion leaves their outputs alone: a
 * table being written is in no version yet, yet it is not garbage.
 * (RocksDB: pending_outputs_ in db_impl_files.cc.)
 *
 * A job registers before it takes its first file number and ends its
 * registration once its tables are in the MANIFEST (or removed).  Every
 * table numbered at or above db_pending_min may belong to a job in flight.
 *
 * Thread safety: every call REQUIRES db->mu held (the slots are [mu]
 * fields of lsm_db, db_impl.h).
 */
#ifndef LSM_DB_PENDING_OUTPUTS_H
#define LSM_DB_PENDING_OUTPUTS_H

#include <stdint.h>

#include "lsm.h"

/* Registers a job about to write tables numbered from now on; returns a
 * slot for db_pending_end (-1 if all DB_MAX_PENDING slots are taken, which
 * cannot happen: jobs are bounded by threads + flush).  REQUIRES: mu held. */
int db_pending_begin(lsm_db *db);
/* Ends the registration of slot (-1: none).  REQUIRES: mu held. */
void db_pending_end(lsm_db *db, int slot);
/* Table numbers >= this may belong to a job in flight.  REQUIRES: mu held. */
uint64_t db_pending_min(lsm_db *db);

#endif
