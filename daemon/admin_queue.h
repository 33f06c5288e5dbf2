/*
 * admin_queue.h — where workers hand admin requests (FLUSH, COMPACT,
 * CHECKPOINT, SET_OPTION, STATS): two FIFOs, one per lane, that the admin threads
 * (admin.h) take jobs from.  The queue decides what may enter; the admin
 * threads run what entered.  So a worker never calls into the code that
 * runs a job (which reads the workers for STATS).
 *
 * Lanes
 *   Two, each served by its own thread, so a quick request never queues
 *   behind a long one:
 *     control  STATS, SET_OPTION, CHANGES  (milliseconds)
 *     work     FLUSH, COMPACT, CHECKPOINT  (seconds to minutes)
 *
 * Authorization
 *   FLUSH, COMPACT, CHECKPOINT and SET_OPTION need an admin session (session.admin,
 *   decided at attach: peer_auth.h).  Others get -EPERM (the completion
 *   has no room for a message: lsmd_strerror(-EPERM) names the config
 *   keys), and the daemon logs the refusal, at most one line a second.
 *   STATS and CHANGES are open to every attached client (read-only).
 *
 * Limits
 *   A session has at most one job outstanding (queued or running) per lane
 *   (its bit in session.admin_jobs, which this unit alone changes):
 *   another request for a busy lane gets -EBUSY.  So a lane never holds
 *   more than max_clients jobs, and one client cannot bury another's STATS
 *   or SET_OPTION under its own.  A session may still have one STATS or
 *   SET_OPTION in the control lane while its COMPACT runs.
 *
 * Thread safety: admin_queue_submit from any worker; take and done from
 * the lane's admin thread; stats from any thread; new, stop and free from
 * main.  Each lane's FIFO and counts are under its own mutex; the totals
 * are relaxed atomics.
 */
#ifndef LSMD_ADMIN_QUEUE_H
#define LSMD_ADMIN_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol.h"

struct session;
typedef struct admin_queue admin_queue;

enum { ADMIN_LANE_CONTROL, ADMIN_LANE_WORK, ADMIN_NLANES };

/* One queued request.  Holds a session reference until admin_queue_done. */
typedef struct admin_job {
    struct admin_job *next;
    struct session *s;
    const char *op_name;  /* "STATS", "FLUSH", ... for log lines */
    int lane;
    struct shm_sqe q;
    char *name, *value;   /* SET_OPTION: private NUL-terminated copies;
                             CHECKPOINT: name = the directory, value "" */
} admin_job;

/* What the queue has seen, for stats. */
typedef struct admin_queue_counts {
    unsigned queued[ADMIN_NLANES], running[ADMIN_NLANES];
    uint64_t run, dropped, refused, busy; /* jobs run, dropped (their
                                             session had died), -EPERM
                                             and -EBUSY answers */
} admin_queue_counts;

/* Errors: -ENOMEM. */
int admin_queue_new(admin_queue **out);

/* Frees q.  REQUIRES: no thread uses q any more (admin_stop returned). */
void admin_queue_free(admin_queue *q);

/* Queues an admin request of s on its lane: copies what it needs from the
 * arena now and takes a session reference; an admin thread completes the
 * request later.  Returns 0, or an error the caller completes the request
 * with: -EPERM (not an admin session), -EBUSY (s has a job outstanding on
 * that lane), -EINVAL (a NUL inside a SET_OPTION name or value or a
 * CHECKPOINT directory),
 * -EOPNOTSUPP (not an admin opcode), -ENOMEM. */
int admin_queue_submit(admin_queue *q, struct session *s, const struct shm_sqe *sqe);

/* Waits for the next job of lane and marks the lane running.  Returns
 * NULL once admin_queue_stop was called and the lane is empty. */
admin_job *admin_queue_take(admin_queue *q, int lane);

/* Frees the job's lane slot in its session: call before posting its
 * completion (the client may send its next request as soon as it sees it). */
void admin_queue_release_lane(admin_job *j);

/* Ends a job taken from its lane: ran says whether it was run, or dropped
 * because its session had died (then its lane slot is released here and
 * the drop logged).  Drops the session reference and frees j. */
void admin_queue_done(admin_queue *q, admin_job *j, bool ran);

/* Asks every lane's thread to finish: admin_queue_take hands out what is
 * queued, then returns NULL. */
void admin_queue_stop(admin_queue *q);

void admin_queue_stats(admin_queue *q, admin_queue_counts *out);

#endif
