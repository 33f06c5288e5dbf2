/*
 * superversion.h — the read view: what a reader pins to read without locks.
 *
 * A superversion is an immutable, refcounted triple (the memtable, the
 * frozen memtables newest first, the current version); its type is in
 * db_impl.h, since lsm_db holds the current one.  Whoever changes one of
 * the three (the write leader switching the memtable, a flush, a
 * compaction) installs a new one under mu; readers (gets, iterators,
 * stats) pin the current one and release it when done.  The last release
 * unrefs the memtables and the version.  (RocksDB: SuperVersion.)
 *
 * Thread safety: db_sv_acquire takes mu briefly, db_sv_release is
 * lock-free (any thread), db_install_sv REQUIRES mu held.
 */
#ifndef LSM_DB_SUPERVERSION_H
#define LSM_DB_SUPERVERSION_H

#include "lsm.h"

typedef struct superversion superversion;

/* Pins the current view (one reference).  Takes mu briefly. */
superversion *db_sv_acquire(lsm_db *db);
/* Drops a reference; the last one frees the view.  Any thread. */
void db_sv_release(superversion *sv);
/* Publishes a new view of mem, imm and the current version.  On ENOMEM
 * sets the background error and returns LSM_EREADONLY.  REQUIRES: mu held. */
int db_install_sv(lsm_db *db);

#endif
