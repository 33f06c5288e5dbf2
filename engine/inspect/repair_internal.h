/*
 * repair_internal.h — what repair.c (the whole repair) and repair_wal.c
 * (one WAL made a table) share.
 */
#ifndef LSM_REPAIR_INTERNAL_H
#define LSM_REPAIR_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "inspect/inspect_internal.h"

typedef struct repair_wal_result {
    uint64_t records;    /* good records read */
    bool damaged;        /* stopped at a bad record (reported to c) */
    bool table_written;  /* table `number` now holds their entries */
} repair_wal_result;

/* Reads the WAL at path up to its end or first bad record and writes its
 * entries as table `number` in dir (through NNNNNN.sst.repair, synced,
 * renamed, directory synced); no table when it holds no record.  The WAL
 * itself is not touched.  Returns 0 (also when damaged), -ENOMEM, -errno. */
int repair_convert_wal(insp *c, lsm_io *io, const char *dir, const char *path, uint64_t number,
                       repair_wal_result *res);

#endif
