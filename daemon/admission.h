/*
 * admission.h — connections between accept and hello: who may wait for a
 * hello, how many may wait, and for how long (docs/shm-protocol.md,
 * "Admission").
 *
 * A connection costs the daemon a descriptor from accept on, so the checks
 * run at accept, before it costs anything more:
 *   - a peer whose uid/gid the config refuses (SO_PEERCRED,
 *     config_peer_allowed) gets the -EACCES refusal reply and is closed;
 *   - over max_pending (all peers) or max_pending_per_uid (its uid), and
 *     silent so far: the -EAGAIN refusal reply ("retry"), closed;
 *   - otherwise it is pending until its hello is readable (the caller then
 *     takes it with admission_take) or hello_timeout_ms passes (closed).
 * Out of descriptors (EMFILE/ENFILE at accept): each waiting connection
 * is accepted with the listener's reserve fd, gets the -EMFILE refusal
 * reply and is closed (up to ADMISSION_ACCEPT_BATCH); then admission
 * stops watching the listener for ADMISSION_BACKOFF_MS instead of
 * spinning on it.  Other persistent accept errors (ENOMEM, ENOBUFS) back
 * off the same way.
 * Every log line here is one a client can trigger, so each is rate-limited.
 *
 * Thread safety: the main thread only.
 * Invariants: npending == length of the list == sum of the per-uid
 * counts <= ADMISSION_SPOKEN_CAP; the list is in accept order, which is deadline order (one
 * timeout for all).
 */
#ifndef LSMD_ADMISSION_H
#define LSMD_ADMISSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon.h"
#include "listener.h"

/* How long the listener is left alone after EMFILE/ENFILE. */
#define ADMISSION_BACKOFF_MS 100

/* Connections that already sent their hello (or anything) when accepted
 * are not silent: they may exceed the caps, so a burst of honest connects
 * is not refused for being fast, but the pending set never exceeds this. */
#define ADMISSION_SPOKEN_CAP(cfg) (2 * (cfg)->max_pending)

/* Accepts handled per wake-up, so a connect flood cannot starve the
 * rest of the event loop (the listener stays readable: epoll re-reports). */
#define ADMISSION_ACCEPT_BATCH 256

typedef struct admission_conn {
    int fd;
    pid_t pid;
    uid_t uid;
    gid_t gid;
    uint64_t deadline_ns;                 /* CLOCK_MONOTONIC */
    struct admission_conn *prev, *next;
} admission_conn;

typedef struct admission_uid {
    uid_t uid;
    int n;
} admission_uid;

typedef struct admission {
    daemon_ctx *d;
    listener *lst;
    int epfd;
    void *listener_tag;        /* epoll data of the listening socket */
    uintptr_t conn_kind;       /* or'ed into a pending conn's epoll data */
    admission_conn *head, *tail;
    int npending;
    admission_uid *uids;       /* uids with pending conns; cap SPOKEN_CAP */
    int nuids;
    bool paused;               /* listener not watched until resume_ns */
    uint64_t resume_ns;
} admission;

/* Starts watching l (EPOLLIN, data listener_tag) in epfd.  A pending
 * connection is watched with data (conn pointer | conn_kind); conn_kind
 * must fit in the pointer's alignment bits.  Errors: -ENOMEM, -errno
 * (epoll_ctl). */
int admission_init(admission *a, daemon_ctx *d, listener *l, int epfd, void *listener_tag,
                   uintptr_t conn_kind);

/* The listener is readable: accepts up to ADMISSION_ACCEPT_BATCH
 * connections and admits, refuses or sheds each as above. */
void admission_on_listener(admission *a);

/* c's socket is readable (its hello, or a hang-up): removes c from the
 * pending set and frees it.  Returns its fd (the caller owns it now) and
 * fills the peer's credentials. */
int admission_take(admission *a, admission_conn *c, pid_t *pid, uid_t *uid, gid_t *gid);

/* Milliseconds until admission_tick has work (a deadline or the end of a
 * back-off), rounded up; -1 when there is none. */
int admission_timeout_ms(const admission *a);

/* Closes pending connections past their deadline and resumes watching
 * the listener once a back-off has ended.  Call after each wake-up. */
void admission_tick(admission *a);

/* Closes every pending connection and frees the state (the listener is
 * the caller's).  Safe on a zeroed admission. */
void admission_close(admission *a);

#endif
