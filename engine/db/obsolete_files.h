/*
 * obsolete_files.h — deleting the files no one needs any more: tables that
 * no live version references and no job in flight may be writing
 * (pending_outputs.h), WALs below the version set's log number, and
 * MANIFESTs older than the oldest one CURRENT may still name.  Run after
 * every flush and compaction and at open; best effort (what is left is
 * retried at the next call or open).  (RocksDB: db_impl_files.cc.)
 *
 * Thread safety: takes mu and manifest_mu briefly; call with neither held.
 */
#ifndef LSM_DB_OBSOLETE_FILES_H
#define LSM_DB_OBSOLETE_FILES_H

#include "lsm.h"

/* Deletes .sst files no live version references and WALs below the
 * version set's log number (and stale MANIFESTs); evicts the deleted
 * tables from the table cache.  Does nothing while a checkpoint holds
 * deletions (db->deletion_holds > 0); the checkpoint calls it again when
 * it lets go. */
void db_delete_obsolete(lsm_db *db);

/* qsort/bsearch order for uint64_t (file numbers). */
int db_cmp_u64(const void *a, const void *b);

#endif
