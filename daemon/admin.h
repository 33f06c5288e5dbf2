/*
 * admin.h — the admin threads: they run the admin requests (FLUSH,
 * COMPACT, CHECKPOINT, SET_OPTION, STATS) that workers queued (admin_queue.h), off the
 * workers (a compaction can take minutes; a worker must keep serving its
 * other clients meanwhile).
 *
 * Threads
 *   One per lane of the queue:
 *     control  "lsmd-admin-ctl"   STATS, SET_OPTION, CHANGES  (milliseconds;
 *                                  CHANGES reads WALs: changes_page.h)
 *     work     "lsmd-admin-work"  FLUSH, COMPACT,    (seconds to minutes)
 *                                 CHECKPOINT
 *   So `set compaction_rate_mb 0` reaches the engine while a throttled
 *   compaction runs, and the running compaction sees the new rate at its
 *   next rate-limiter slice (rate_limiter_set_rate wakes it).  The
 *   SET_OPTION log line is rate-limited.  STATS is built by stats.h (arg0
 *   SHM_STATS_JSON) or metrics.h (SHM_STATS_PROMETHEUS).
 *   A job whose session died (session.dying) before its turn is dropped:
 *   not run, and no completion is posted.  A job already running finishes.
 *
 * Thread safety: admin_start and admin_stop from main.
 */
#ifndef LSMD_ADMIN_H
#define LSMD_ADMIN_H

#include "daemon.h"

typedef struct admin admin;

/* Starts one thread per lane of d->admin_queue.
 * Errors: -ENOMEM, -errno of pthread_create. */
int admin_start(daemon_ctx *d, admin **out);

/* Runs the queued jobs of live sessions, drops the others, stops the
 * threads and frees a (NULL: nothing).  REQUIRES: no admin_queue_submit
 * from now on (workers joined).  A running compaction is waited for. */
void admin_stop(admin *a);

#endif
