/*
 * admin.h — the admin thread: flush, compact, set-option and stats
 * requests, run one at a time off the workers (a compaction can take
 * seconds; a worker must keep serving its other clients meanwhile).
 *
 * Stats JSON (SHM_OP_STATS, `lsmctl stats --json`):
 *   { "engine": <lsm_stats_json>,
 *     "daemon": { "pid", "uptime_s", "socket", "dir", "workers",
 *                 "numa": { "mode", "active", "nodes" },
 *                 "attaches", "refusals", "deaths", "clients",
 *                 "snapshots": [ { "id", "holders", "pins", "creator_pid" } ],
 *                 "worker_list": [ { "index", "cpu", "node", "sessions",
 *                                    "requests", "groups", "grouped_writes",
 *                                    "sleeps" } ],
 *                 "client_list": [ { "id", "pid", "uid", "client_cpu",
 *                                    "client_node", "worker", "worker_cpu",
 *                                    "worker_node", "segment_node",
 *                                    "segment_bytes", "queue_depth", "ops",
 *                                    "rejected", "iterators" } ] } }
 *   segment_node is read back from the pages with get_mempolicy
 *   (MPOL_F_NODE|MPOL_F_ADDR), not taken from the plan.
 *
 * Thread safety: admin_submit from any worker; the rest from main.
 */
#ifndef LSMD_ADMIN_H
#define LSMD_ADMIN_H

#include <stddef.h>

#include "daemon.h"
#include "protocol.h"

struct session;
typedef struct admin admin;

/* Errors: -ENOMEM, -errno of pthread_create. */
int admin_start(daemon_ctx *d, admin **out);

/* Queues an admin request of s (FLUSH, COMPACT, SET_OPTION, STATS): copies
 * what it needs from the arena now, takes a session reference, and
 * completes the request from the admin thread later.  Returns 0, or an
 * error the caller completes the request with (-ENOMEM, -EINVAL). */
int admin_submit(admin *a, struct session *s, const struct shm_sqe *sqe);

/* Finishes the queued jobs, stops the thread and frees a. */
void admin_stop(admin *a);

/* Builds the stats JSON (malloc'd, NUL-terminated; free()).
 * Errors: -ENOMEM, or the engine's lsm_stats_json error. */
int admin_stats_json(daemon_ctx *d, char **json, size_t *len);

#endif
