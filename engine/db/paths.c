/*
 * paths.c — paths of the database's files (paths.h).
 */
#include <stdio.h>

#include "db/paths.h"
#include "db/db_impl.h"
#include "base/filenames.h"

char *db_path(const lsm_db *db, const char *name)
{
    char *p;
    return asprintf(&p, "%s/%s", db->dir, name) < 0 ? NULL : p;
}

char *db_wal_path(const lsm_db *db, uint64_t number)
{
    return filename_wal(db->dir, number);
}

char *db_sst_path(const lsm_db *db, uint64_t number)
{
    return filename_table(db->dir, number);
}
