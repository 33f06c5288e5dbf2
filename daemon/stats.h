/*
 * stats.h — the daemon's stats JSON: the engine's lsm_stats_json plus the
 * daemon's own state (workers, clients, admin lanes, snapshots).  Run by
 * the admin control lane for SHM_OP_STATS (admin.h).
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
 *                 "worker_list": [ { "index", "cpu", "node", "pinned_node", "sessions",
 *                                    "requests", "groups", "grouped_writes",
 *                                    "sleeps" } ],
 *                 "client_list": [ { "id", "pid", "uid", "admin",
 *                                    "client_cpu", "client_node", "now_cpu",
 *                                    "now_node", "worker", "worker_cpu",
 *                                    "worker_node", "segment_node",
 *                                    "segment_pages", "mismatch",
 *                                    "segment_bytes", "queue_depth", "ops",
 *                                    "rejected", "dying" } ],
 *                 "placement": { "mismatches", "spills" } } }
 *   A worker's node is where its CPU is, pinned_node the plan's (-1: not
 *   pinned).  A client's placement members are placement_stats_client's
 *   (placement.h): segment_pages is read back from the pages with
 *   move_pages (64 sampled), not taken from the plan.  placement.mismatches
 *   counts the clients whose placement is a mismatch now, spills the
 *   attaches whose segment did not fit on its node.  admin.run counts
 *   jobs run, dropped those of departed sessions, refused the -EPERM
 *   answers, busy the -EBUSY ones.
 *
 * Thread safety: any thread.  Reads the session list under sessions_mu
 * and each session's segment stats under its mu; worker and admin-queue
 * counters are read as they are (a value may be slightly stale).
 */
#ifndef LSMD_STATS_H
#define LSMD_STATS_H

#include <stddef.h>

#include "daemon.h"

/* Builds the stats JSON (malloc'd, NUL-terminated; free()).
 * Errors: -ENOMEM, or the engine's lsm_stats_json error. */
int stats_json(daemon_ctx *d, char **json, size_t *len);

#endif
