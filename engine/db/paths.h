/*
 * paths.h — the paths of the database's files (dir/NAME, WALs, tables),
 * built from base/filenames.h's names.
 *
 * Thread safety: reads only db->dir, which is fixed at open; any thread.
 */
#ifndef LSM_DB_PATHS_H
#define LSM_DB_PATHS_H

#include <stdint.h>

#include "lsm.h"

/* Paths of files in the db directory: malloc'd (caller frees with free),
 * NULL on ENOMEM. */
char *db_path(const lsm_db *db, const char *name);
char *db_wal_path(const lsm_db *db, uint64_t number);
char *db_sst_path(const lsm_db *db, uint64_t number);

#endif
