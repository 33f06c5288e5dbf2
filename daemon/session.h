/*
 * session.h — one attached client: its segment (shm_session), its socket
 * and pidfd (how its death is seen), its iterators and, through the
 * snapshot registry, its pins.
 *
 * Life cycle and references
 *   session_hello and session_attach (main thread) run the handshake and
 *   return a session with two references: the main loop's (its socket and
 *   pidfd are in the epoll set) and the serving worker's.  An admin lane
 *   takes one more per queued job (admin_queue.h).  Death is noticed by the main loop (socket hang-up,
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
 *   its apart thread, the syncer and the admin lanes (shm/server.h requires it).
 *   The iterator table, need_wake and iter_cold belong to the serving
 *   worker thread, and to its iterator lane while the session is held
 *   there (iter_held; iter_lane.h, "Ownership"); stalled to the worker
 *   only.
 */
#ifndef LSMD_SESSION_H
#define LSMD_SESSION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "client_writes.h"
#include "daemon.h"
#include "hello.h"
#include "protocol.h"

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
    bool admin;                  /* may FLUSH, COMPACT, SET_OPTION (peer_auth.h) */

    pthread_mutex_t mu;          /* see above */
    _Atomic int refs;
    _Atomic int dying;           /* 1 once death or detach was noticed */

    /* serving worker only */
    session_iter *iters;         /* the iterator table: session.c's alone, */
    uint32_t niters, cap_iters;  /* reached through session_iter_* */
    uint64_t next_iter_id;
    _Atomic uint32_t open_iters; /* niters, for stats ("iters"); any thread reads */
    struct put_staging *staged;  /* a put arriving in pieces (put_pieces.h) */
    bool need_wake;              /* completions posted, client not woken yet */
    bool stalled;                /* last poll found work but no room to
                                    complete it (client not reading) */
    struct shm_sqe deferred;     /* a request taken behind a run handed to */
    bool has_deferred;           /* the lane, served first once it is done
                                    (worker.c, serve) */
    bool iter_cold;              /* its last iterator page waited long for
                                    file reads: the next goes to the lane
                                    (iter_lane.h) */
    _Atomic bool iter_held;      /* a request is in the iterator lane: set
                                    by the worker, cleared (release) by the
                                    lane (iter_lane_held) */

    struct client_writes writes; /* the batcher's (client_writes.h) */

    _Atomic uint64_t ops;        /* requests served (stats) */
    _Atomic unsigned admin_jobs; /* admin lanes holding a job of this
                                    session, one bit each (admin_queue.c) */
    bool main_detached;          /* main thread only: fds left the epoll set */

    struct session *prev, *next; /* [d->sessions_mu] */
} session;

/* A client between its hello and its session (main thread). */
typedef struct session_peer {
    int sock;
    pid_t pid;
    uid_t uid;
    gid_t gid;
    struct shm_hello_req req;    /* what it asked for, and its CPU */
} session_peer;

/* The handshake, in two steps around the choice of its worker and node
 * (placement.h), which the caller makes in between from h->req.cpu.
 *
 * session_hello reads the hello on an accepted socket whose peer is
 * pid/uid/gid and checks the credentials against the config.  On success
 * *h holds what session_attach needs.  On failure the client was told why
 * (when it got that far) and sock is closed.
 * Errors: -EACCES (credentials refused), -ESHUTDOWN (draining), -EPROTO,
 *   -ECONNRESET, -ETIMEDOUT, -errno.
 *
 * session_attach creates the segment on node (-1: none), replies with the
 * fds and opens a pidfd on the peer; w is the worker that will serve it.
 * On success *out holds two references (main's and the worker's; the
 * caller hands it to worker_add).  On failure the client was told why
 * and h->sock is closed.  The session and its segment bytes are charged
 * to uid's quota (uid_quota.h) until the last unref.
 * Errors: -EMFILE (max_clients or max_clients_per_uid), -ENOMEM
 *   (max_arena_bytes_per_uid, or memory), -errno. */
int session_hello(daemon_ctx *d, int sock, pid_t pid, uid_t uid, gid_t gid,
                  session_peer *h);
int session_attach(daemon_ctx *d, const session_peer *h, struct worker *w, int node,
                   session **out);

void session_ref(session *s);
/* Drops a reference; the last one destroys the session (see above). */
void session_unref(session *s);

/* Posts one completion under s->mu (any thread); does not wake the
 * client.  A client that corrupted its completion ring index has its
 * session ended (session_end(s, EPROTO)). */
void session_post(session *s, const struct shm_cqe *c);
/* session_post with the failure's reason for the client (lsmd_last_error):
 * why (NULL or "" = none) travels in the segment's reason table when
 * c->status < 0 (shm/protocol.h, "Reasons"). */
void session_post_why(session *s, struct shm_cqe *c, const char *why);

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
 * session_iter_full: the table holds DAEMON_MAX_ITERS_PER_CLIENT already
 * (checked before the caller builds one).
 * session_iter_add gives *it the session's next iterator id and puts it
 * in the table, which then owns it (it, bounds, snapshot reference).
 * Errors: -EMFILE (DAEMON_MAX_ITERS_PER_CLIENT or max_iters_per_uid;
 * logged, rate-limited), -ENOMEM; then *it is the caller's still. */
bool session_iter_full(const session *s);
int session_iter_add(session *s, session_iter *it);
session_iter *session_iter_find(session *s, uint64_t id);
/* Frees the engine iterator, bounds and snapshot reference.
 * Returns 0 or -EBADF (unknown id). */
int session_iter_close(session *s, uint64_t id);
/* Takes iterator id out of the table without freeing it: *out now owns
 * what the table owned (the caller frees it later with
 * session_iter_release).  Returns 0 or -EBADF (unknown id). */
int session_iter_take(session *s, uint64_t id, session_iter *out);
/* Frees what si owns (engine iterator, bounds, snapshot reference in d's
 * registry): for an iterator taken out with session_iter_take.  Any
 * thread that owns si. */
void session_iter_release(daemon_ctx *d, session_iter *si);

#endif
