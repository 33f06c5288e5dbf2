/*
 * checkpoint.h — the test seam of lsm_checkpoint (db_checkpoint.c); the
 * call itself is public (lsm.h).
 *
 * A checkpoint pins one version and one sequence, then copies files for a
 * while; that window is where the live database's flushes and compactions
 * could delete what is being copied.  Tests widen it on purpose: the hook
 * runs on the checkpointing thread, with no engine lock held, after the
 * capture and before the first file is linked or copied, so it may call
 * lsm_put, lsm_flush or lsm_compact on the same database.
 *
 * Thread safety: set the hook while no checkpoint runs.
 */
#ifndef LSM_DB_CHECKPOINT_H
#define LSM_DB_CHECKPOINT_H

#include "lsm.h"

/* stage: "captured" (the only one so far). */
typedef void (*db_checkpoint_hook_fn)(lsm_db *db, const char *stage, void *arg);

/* Installs fn (NULL removes it) for every later lsm_checkpoint of any
 * database in the process. */
void db_checkpoint_set_hook(db_checkpoint_hook_fn fn, void *arg);

#endif
