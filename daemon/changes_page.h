/*
 * changes_page.h — SHM_OP_CHANGES: a page of the change feed (every write
 * after a sequence, engine lsm_changes_*) written into a client's arena.
 * Wire format: shm/protocol.h and docs/shm-protocol.md, "Changes".
 *
 * Stateless: each request opens an engine change reader at arg0, copies
 * whole entries while they fit (and up to arg1 of them), and closes it, so
 * nothing is left in the daemon for a client that goes away.  A request
 * that continues the previous one (arg0 = its r0) resumes where the
 * engine's reader stopped (lsm.h, db_changes.c); any other open reads the
 * first record of each WAL kept and the WAL that holds arg0 up to it:
 * milliseconds for default memtables.  Between requests nothing pins the
 * WALs: the daemon's wal_retention_* must cover a consumer's lag.
 *
 * Thread safety: runs on the admin control lane (admin.c), one request of
 * a session at a time; the engine reader belongs to the call.
 */
#ifndef LSMD_CHANGES_PAGE_H
#define LSMD_CHANGES_PAGE_H

#include "daemon.h"
#include "protocol.h"
#include "session.h"

/* Serves q (a validated SHM_OP_CHANGES of session s) and fills *c, its
 * completion, for the caller to post. */
void changes_page_serve(daemon_ctx *d, session *s, const struct shm_sqe *q, struct shm_cqe *c);

#endif
