/*
 * daemon.h — the state one lsmd process shares between its threads.
 *
 * Threads
 *   main     the event loop (main.c): accepts attaches, runs the handshake,
 *            watches every client's socket and pidfd for death, handles
 *            SIGTERM/SIGINT (signalfd) and SIGHUP (reload.h).
 *   workers  worker.c: each serves a set of sessions, polling their rings.
 *   admin    admin.c, one thread per lane of admin_queue.c, so a quick
 *            request never waits for a long one: lsmd-admin-ctl (stats,
 *            set-option) and lsmd-admin-work
 *            (flush, compact, which may take minutes).  Workers hand them
 *            over, so they never block their other clients on them.
 *   metrics  metrics_http.c, only with metrics_listen: "lsmd-metrics",
 *            libmicrohttpd's thread, serving GET /metrics (metrics.h).
 *
 * Thread safety / invariants
 *   Everything here is set up by main before the threads start and read-only
 *   afterwards, except the fields marked otherwise.  sessions_mu guards the
 *   session list (stats walks it; a session leaves it only when its last
 *   reference goes, so a walker under the lock may read its segment).
 */
#ifndef LSMD_DAEMON_H
#define LSMD_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "directory.h"
#include "lsm.h"
#include "numa.h"
#include "server.h"
#include "snapshot_registry.h"
#include "uid_quota.h"

struct worker;
struct admin;
struct admin_queue;
struct session;

typedef struct daemon_ctx {
    daemon_config *cfg;
    lsm_db *db;
    numa_plan *numa;
    snapreg *snaps;
    uidq *quota;                 /* per-uid shares (config: max_*_per_uid) */
    struct shm_dir dir;          /* the published snapshot directory */
    int dir_ro_fd;               /* read-only fd handed to every client */
    struct shm_server_limits limits;
    struct worker **workers;
    int nworkers;
    struct admin_queue *admin_queue; /* workers hand admin requests here */
    struct admin *admin;         /* the threads that run them */
    struct wal_syncer *syncer;   /* acknowledges synced writes (wal_syncer.h) */
    uint64_t start_ns;           /* CLOCK_MONOTONIC */

    pthread_mutex_t sessions_mu;
    struct session *sessions;    /* [sessions_mu] list head */
    int nsessions;               /* [sessions_mu] */
    _Atomic uint64_t next_client_id;
    _Atomic uint64_t attaches, refusals, deaths; /* counters for stats */
    _Atomic uint64_t numa_spills; /* segments not all on their node (placement.h) */
    _Atomic int draining;        /* set once: SIGTERM/SIGINT received */
} daemon_ctx;

/* Limits for one client (hostile clients must not exhaust the daemon).
 * Snapshots count pins: every acquire and hold, repeats of one ID included
 * (so one client's count on an ID can never approach a 32-bit wrap).  A
 * quarter of the default max_snapshots: one session cannot fill the
 * directory, and equal to the default max_snapshots_per_uid, so the
 * per-session limit never binds a foreign uid before its quota does.
 * Beyond them, per uid: uid_quota.h and config.h. */
#define DAEMON_MAX_SNAPSHOTS_PER_CLIENT 1024u
#define DAEMON_MAX_ITERS_PER_CLIENT 64u

#endif
