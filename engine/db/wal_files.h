/*
 * wal_files.h — the WAL files present in a database directory, in number
 * order: what recovery replays (db.c) and what the change feed reads
 * (db_changes.c).
 *
 * Thread safety: reads the directory only; any thread.
 */
#ifndef LSM_DB_WAL_FILES_H
#define LSM_DB_WAL_FILES_H

#include <stddef.h>
#include <stdint.h>

/* Called with the number of every numbered file found (WAL or not). */
typedef void (*wal_files_seen_fn)(void *ctx, uint64_t number);

/* The numbers of the WALs >= min in dir, ascending, in a malloc'd array
 * (*out, *n; the caller frees *out; NULL when none).  seen (may be NULL)
 * is called for every numbered file found.  Errors: -errno reading dir,
 * -ENOMEM. */
int db_list_wals(const char *dir, uint64_t min, wal_files_seen_fn seen, void *ctx,
                 uint64_t **out, size_t *n);

#endif
