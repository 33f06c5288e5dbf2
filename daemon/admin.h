/*
 * admin.h — admin requests (FLUSH, COMPACT, SET_OPTION, STATS), run off the
 * workers (a compaction can take minutes; a worker must keep serving its
 * other clients meanwhile).
 *
 * Lanes
 *   Two threads, each with its own FIFO, so a quick request never queues
 *   behind a long one:
 *     control  "lsmd-admin-ctl"   STATS, SET_OPTION  (milliseconds)
 *     work     "lsmd-admin-work"  FLUSH, COMPACT     (seconds to minutes)
 *   So `set compaction_rate_mb 0` reaches the engine while a throttled
 *   compaction runs, and the running compaction sees the new rate at its
 *   next rate-limiter slice (rate_limiter_set_rate wakes it).  A future
 *   CHECKPOINT belongs to the work lane and is admin-only: a line in the
 *   op table at the top of admin.c and a case in its run_job.
 *
 * Authorization
 *   FLUSH, COMPACT and SET_OPTION need an admin session: the peer's uid is
 *   the daemon's own or in admin_uids, or its primary gid or one of its
 *   supplementary groups (SO_PEERGROUPS) is in admin_gids (config.h).
 *   Decided once at attach (admin_peer_authorized -> session.admin).
 *   Others get -EPERM (the completion has no room for a message:
 *   lsmd_strerror(-EPERM) names the config keys), and the daemon logs the
 *   refusal, at most one line a second.  STATS is open to every attached
 *   client (read-only).  The SET_OPTION log line is rate-limited too.
 *
 * Limits
 *   A session has at most one job outstanding (queued or running) per lane:
 *   another request for a busy lane gets -EBUSY.  So a lane never holds
 *   more than max_clients jobs, and one client cannot bury another's STATS
 *   or SET_OPTION under its own.  A session may still have one STATS or
 *   SET_OPTION in the control lane while its COMPACT runs.
 *   A job whose session died (session.dying) before its turn is dropped:
 *   not run, and no completion is posted.  A job already running finishes.
 *
 * Stats JSON (SHM_OP_STATS, `lsmctl stats --json`):
 *   { "engine": <lsm_stats_json>,
 *     "daemon": { "pid", "uptime_s", "socket", "dir", "workers",
 *                 "spin_us", "numa": { "mode", "active" },
 *                 "attaches", "refusals", "deaths", "clients",
 *                 "admin": { "control": { "queued", "running" },
 *                            "work": { "queued", "running" },
 *                            "run", "dropped", "refused", "busy" },
 *                 "snapshots": [ { "id", "holders", "pins", "creator_pid" } ],
 *                 "worker_list": [ { "index", "cpu", "node", "sessions",
 *                                    "requests", "groups", "grouped_writes",
 *                                    "sleeps" } ],
 *                 "client_list": [ { "id", "pid", "uid", "admin",
 *                                    "client_cpu", "client_node", "worker",
 *                                    "worker_cpu", "worker_node",
 *                                    "segment_node", "segment_bytes",
 *                                    "queue_depth", "ops", "rejected",
 *                                    "dying" } ] } }
 *   segment_node is read back from the pages with get_mempolicy
 *   (MPOL_F_NODE|MPOL_F_ADDR), not taken from the plan.  admin.run counts
 *   jobs run, dropped those of departed sessions, refused the -EPERM
 *   answers, busy the -EBUSY ones.
 *
 * Thread safety: admin_submit from any worker; admin_peer_authorized from
 * any thread; admin_start and admin_stop from main.
 */
#ifndef LSMD_ADMIN_H
#define LSMD_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "daemon.h"
#include "protocol.h"

struct session;
typedef struct admin admin;

/* Starts both lanes.  Errors: -ENOMEM, -errno of pthread_create. */
int admin_start(daemon_ctx *d, admin **out);

/* Whether the peer on sock (uid, primary gid) may run admin operations
 * (see above).  Reads the peer's supplementary groups with SO_PEERGROUPS
 * only when admin_gids is set and nothing else matched; where the kernel
 * lacks it, only the primary gid counts (logged, at most once a second). */
bool admin_peer_authorized(const daemon_config *cfg, int sock, uid_t uid, gid_t gid);

/* Queues an admin request of s (FLUSH, COMPACT, SET_OPTION, STATS) on its
 * lane: copies what it needs from the arena now, takes a session
 * reference, and completes the request from the lane's thread later.
 * Returns 0, or an error the caller completes the request with: -EPERM
 * (not an admin session), -EBUSY (s has a job outstanding on that lane),
 * -EINVAL (a NUL inside a SET_OPTION name or value), -EOPNOTSUPP (not an
 * admin opcode), -ENOMEM. */
int admin_submit(admin *a, struct session *s, const struct shm_sqe *sqe);

/* Runs the queued jobs of live sessions, drops the others, stops both
 * threads and frees a.  REQUIRES: no admin_submit from now on (workers
 * joined).  A running compaction is waited for. */
void admin_stop(admin *a);

/* Builds the stats JSON (malloc'd, NUL-terminated; free()).
 * Errors: -ENOMEM, or the engine's lsm_stats_json error. */
int admin_stats_json(daemon_ctx *d, char **json, size_t *len);

#endif
