/*
 * session.h — one attached client: its segment (shm_session), its socket
 * and pidfd (how its death is seen), its iterators and, through the
 * snapshot registry, its pins.
 *
 * Life cycle and references
 *   session_attach (main thread) runs the handshake and returns a session
 *   with two references: the main loop's (its socket and pidfd are in the
 *   epoll set) and the serving worker's.  An admin lane takes one more
 *   per queued job (admin.h).  Death is noticed by the main loop (socket hang-up,
 *   pidfd readable) or by the worker (a protocol violation: it ends the
 *   session and shuts the socket down, which the main loop then sees).
 *   Either way: main drops its fds from epoll, sets `dying`, kicks the
 *   worker and unrefs; the worker detaches the session, calls
 *   session_reclaim (iterators freed, pins dropped) and unrefs.  The last
 *   unref unmaps the segment, closes the fds and frees the session.
 *
 * Thread safety / invariants
 *   Fields set by session_attach are read-only afterwards.  `mu`
 *   serializes every shm_session_* call that changes the session (next,
 *   post, complete, wake, end) and shm_session_stats, between the worker,
 *   its committer and the admin lanes (shm/server.h requires it).
 *   The iterator table, need_wake and stalled belong to the serving worker
 *   thread only.
 */
#ifndef LSMD_SESSION_H
#define LSMD_SESSION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon.h"

/* A daemon-side iterator bound to a view (and maybe a registry snapshot). */
typedef struct session_iter {
    uint64_t id;
    lsm_iter *it;
    uint64_t snap_id;    /* registry reference to drop at close, 0 = none */
    void *bounds;        /* private copies of lo and hi (the engine may keep
                            pointers to them) */
    bool reverse;
} session_iter;

typedef struct session {
    daemon_ctx *d;
    uint64_t id;                 /* client_id, also the snapshot holder id */
    struct shm_session *shm;
    int sock, pidfd;             /* pidfd -1 when pidfd_open is unavailable */
    pid_t pid;
    uid_t uid;
    gid_t gid;
    int client_cpu;              /* reported at attach, -1 unknown */
    int node;                    /* node the segment was placed on, -1 none */
    struct worker *worker;
    uint64_t attach_ns;          /* CLOCK_MONOTONIC */
    uint64_t quota_bytes;        /* segment bytes charged to uid's quota; 0
                                    until the session counts (see attach) */
    bool admin;                  /* may FLUSH, COMPACT, SET_OPTION (admin.h) */

    pthread_mutex_t mu;          /* see above */
    _Atomic int refs;
    _Atomic int dying;           /* 1 once death or detach was noticed */

    /* serving worker only */
    session_iter *iters;
    uint32_t niters, cap_iters;
    uint64_t next_iter_id;
    _Atomic uint32_t pending_writes; /* writes taken, not yet acknowledged
                                    (write_group.c) */
    _Atomic bool write_alone;    /* a large write of it is being applied
                                    apart (write_group.c): the worker takes
                                    none of its requests until it is acked */
    bool need_wake;              /* completions posted, client not woken yet */
    bool stalled;                /* last poll found work but no room to
                                    complete it (client not reading) */

    _Atomic uint64_t ops;        /* requests served (stats) */
    _Atomic unsigned admin_jobs; /* admin lanes holding a job of this
                                    session, one bit each (admin.c) */
    bool main_detached;          /* main thread only: fds left the epoll set */

    struct session *prev, *next; /* [d->sessions_mu] */
} session;

/* Runs the handshake on an accepted socket whose peer is pid/uid/gid:
 * reads the hello, checks the credentials against the config, creates and
 * places the segment, picks a worker, replies with the fds and opens a
 * pidfd on the peer.  On success *out holds two references (main's and the
 * worker's; the caller hands it to worker_add).  On failure the client was
 * told why (when it got that far) and sock is closed.
 * The session and its segment bytes are charged to uid's quota
 * (uid_quota.h) until the last unref.
 * Errors: -EACCES (credentials refused), -EMFILE (max_clients or
 *   max_clients_per_uid), -ENOMEM (max_arena_bytes_per_uid, or memory),
 *   -EPROTO, -ECONNRESET, -ETIMEDOUT, -errno. */
int session_attach(daemon_ctx *d, int sock, pid_t pid, uid_t uid, gid_t gid,
                   session **out);

void session_ref(session *s);
/* Drops a reference; the last one destroys the session (see above). */
void session_unref(session *s);

/* Posts one completion under s->mu (any thread); does not wake the
 * client.  A client that corrupted its completion ring index has its
 * session ended (session_end(s, EPROTO)). */
void session_post(session *s, const struct shm_cqe *c);

/* Wakes the client if it sleeps waiting for completions (any thread). */
void session_wake(session *s);

/* Ends the session from the daemon's side (reason: a positive errno,
 * EPROTO or ESHUTDOWN), marks it dying and shuts its socket down so the
 * main loop drops it.  Any thread; idempotent. */
void session_end(session *s, int reason);

/* Frees the session's iterators and drops all its snapshot pins.
 * REQUIRES: called by the serving worker, once, after it detached s. */
void session_reclaim(session *s);

/* Iterator table (serving worker only).  Every iterator in the table
 * counts against the session's uid quota (UIDQ_ITERS).
 * session_iter_add errors: -EMFILE (DAEMON_MAX_ITERS_PER_CLIENT or
 * max_iters_per_uid; logged, rate-limited), -ENOMEM; on success the table
 * owns it (it, bounds, snapshot reference). */
int session_iter_add(session *s, const session_iter *it);
session_iter *session_iter_find(session *s, uint64_t id);
/* Frees the engine iterator, bounds and snapshot reference.
 * Returns 0 or -EBADF (unknown id). */
int session_iter_close(session *s, uint64_t id);
/* Takes iterator id out of the table without freeing it: *out now owns
 * what the table owned (the caller releases it later, as close would).
 * Returns 0 or -EBADF (unknown id). */
int session_iter_take(session *s, uint64_t id, session_iter *out);

#endif
