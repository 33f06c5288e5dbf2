/* session.c — see session.h. */
#include "session.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "peer_auth.h"

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0)
        return fd;
    log_debug("session: pidfd_open(%d): %s (socket hang-up still detects death)",
              (int)pid, strerror(errno));
#else
    (void)pid;
#endif
    return -1;
}

/* Links s into the daemon's list, refusing past max_clients. */
static int list_add(daemon_ctx *d, session *s)
{
    int rc = 0;
    pthread_mutex_lock(&d->sessions_mu);
    if (d->nsessions >= d->cfg->max_clients) {
        rc = -EMFILE;
    } else {
        s->next = d->sessions;
        if (d->sessions)
            d->sessions->prev = s;
        d->sessions = s;
        d->nsessions++;
    }
    pthread_mutex_unlock(&d->sessions_mu);
    return rc;
}

static void list_remove(daemon_ctx *d, session *s)
{
    pthread_mutex_lock(&d->sessions_mu);
    if (s->prev)
        s->prev->next = s->next;
    else
        d->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    d->nsessions--;
    pthread_mutex_unlock(&d->sessions_mu);
}

static void refuse(daemon_ctx *d, int sock, int status, const char *why)
{
    atomic_fetch_add_explicit(&d->refusals, 1, memory_order_relaxed);
    shm_hello_server_reject(sock, status, "%s", why);
    close(sock);
}

/* Charges s (one session, its segment's bytes) to its uid's quota.  On
 * refusal msg says why, for the client.  Errors: -EMFILE, -ENOMEM. */
static int charge_uid(session *s, char *msg, size_t cap)
{
    uidq *q = s->d->quota;
    uint64_t bytes = shm_session_size(s->shm);
    int rc = uidq_take(q, s->uid, UIDQ_SESSIONS, 1);
    uidq_res what = UIDQ_SESSIONS;
    if (rc == 0) {
        what = UIDQ_ARENA_BYTES;
        rc = uidq_take(q, s->uid, UIDQ_ARENA_BYTES, bytes);
        if (rc)
            uidq_give(q, s->uid, UIDQ_SESSIONS, 1);
    }
    if (rc == 0) {
        s->quota_bytes = bytes;
        return 0;
    }
    /* Fits the hello reply's 96-byte message. */
    snprintf(msg, cap, "uid %u is at its share: %s = %llu", (unsigned)s->uid,
             uidq_key(what), (unsigned long long)uidq_limit(q, what));
    log_warn_limited("attach: pid %d refused: %s", (int)s->pid, msg);
    return rc;
}

/* Gives back what charge_uid took. */
static void uncharge_uid(session *s)
{
    if (!s->quota_bytes)
        return;
    uidq_give(s->d->quota, s->uid, UIDQ_SESSIONS, 1);
    uidq_give(s->d->quota, s->uid, UIDQ_ARENA_BYTES, s->quota_bytes);
    s->quota_bytes = 0;
}

int session_hello(daemon_ctx *d, int sock, pid_t pid, uid_t uid, gid_t gid,
                  session_peer *h)
{
    char bad[SHM_HELLO_WHY_BYTES];
    /* The socket is readable (the main loop checked), so this is quick.
     * A refused hello was already answered; the peer controls how often
     * this logs, hence the limit. */
    int rc = shm_hello_server_recv(sock, &h->req, 200, bad, sizeof bad);
    if (rc) {
        log_warn_limited("attach: pid %d uid %u: %s", (int)pid, (unsigned)uid, bad);
        close(sock);
        return rc;
    }
    if (!config_peer_allowed(d->cfg, uid, gid)) {
        log_warn_limited("attach: refused pid %d uid %u gid %u (not allowed by the config)",
                 (int)pid, (unsigned)uid, (unsigned)gid);
        char msg[80];
        snprintf(msg, sizeof msg, "uid %u gid %u not allowed by this lsmd", (unsigned)uid,
                 (unsigned)gid);
        refuse(d, sock, -EACCES, msg);
        return -EACCES;
    }
    if (atomic_load(&d->draining)) {
        refuse(d, sock, -ESHUTDOWN, "lsmd is shutting down");
        return -ESHUTDOWN;
    }
    h->sock = sock;
    h->pid = pid;
    h->uid = uid;
    h->gid = gid;
    return 0;
}

int session_attach(daemon_ctx *d, const session_peer *h, struct worker *w, int node,
                   session **out)
{
    const char *why = NULL;
    int sock = h->sock;
    pid_t pid = h->pid;
    session *s = calloc(1, sizeof *s);
    if (!s) {
        refuse(d, sock, -ENOMEM, "out of memory");
        return -ENOMEM;
    }
    s->d = d;
    s->sock = sock;
    s->pidfd = -1;
    s->pid = pid;
    s->uid = h->uid;
    s->gid = h->gid;
    s->admin = peer_auth_admin(d->cfg, sock, h->uid, h->gid);
    s->client_cpu = h->req.cpu;
    s->id = atomic_fetch_add(&d->next_client_id, 1);
    s->attach_ns = mono_ns();
    s->next_iter_id = 1;
    pthread_mutex_init(&s->mu, NULL);
    atomic_init(&s->refs, 2);

    s->worker = w;
    s->node = node;
    int rc = shm_session_create(&h->req, &d->limits, s->id, s->node, &s->shm, &why);
    if (rc) {
        log_warn_limited("attach: pid %d: %s", (int)pid, why ? why : strerror(-rc));
        refuse(d, sock, rc, why ? why : "cannot create the segment");
        pthread_mutex_destroy(&s->mu);
        free(s);
        return rc;
    }
    char msg[160];
    rc = charge_uid(s, msg, sizeof msg);
    if (rc == 0) {
        rc = list_add(d, s);
        if (rc) {
            uncharge_uid(s);
            log_warn_limited("attach: pid %d refused: %d clients attached (max_clients)",
                             (int)pid, d->cfg->max_clients);
            snprintf(msg, sizeof msg, "too many clients");
        }
    }
    if (rc) {
        refuse(d, sock, rc, msg);
        shm_session_destroy(s->shm);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return rc;
    }
    rc = shm_session_welcome(s->shm, sock, d->dir_ro_fd);
    if (rc) {
        log_warn_limited("attach: pid %d: sending the reply failed: %s", (int)pid,
                         strerror(-rc));
        atomic_store(&s->refs, 1);
        session_unref(s);
        return rc;
    }
    s->pidfd = open_pidfd(pid);
    atomic_fetch_add_explicit(&d->attaches, 1, memory_order_relaxed);
    *out = s;
    return 0;
}

void session_ref(session *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void session_unref(session *s)
{
    /* acq_rel: the last holder sees every other holder's writes. */
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    list_remove(s->d, s);
    uncharge_uid(s);
    shm_session_destroy(s->shm);
    if (s->sock >= 0)
        close(s->sock);
    if (s->pidfd >= 0)
        close(s->pidfd);
    pthread_mutex_destroy(&s->mu);
    log_debug("session %llu freed", (unsigned long long)s->id);
    free(s);
}

void session_end(session *s, int reason)
{
    pthread_mutex_lock(&s->mu);
    shm_session_end(s->shm, reason);
    pthread_mutex_unlock(&s->mu);
    atomic_store_explicit(&s->dying, 1, memory_order_release);
    /* The main loop sees the hang-up and drops its reference. */
    shutdown(s->sock, SHUT_RDWR);
}

void session_post(session *s, const struct shm_cqe *c)
{
    pthread_mutex_lock(&s->mu);
    int rc = shm_session_post(s->shm, c);
    pthread_mutex_unlock(&s->mu);
    if (rc == -EPROTO) {
        log_warn("client %llu (pid %d): impossible completion ring index; ending it",
                 (unsigned long long)s->id, (int)s->pid);
        session_end(s, EPROTO);
    }
}

void session_wake(session *s)
{
    pthread_mutex_lock(&s->mu); /* the wake counts in the session's stats */
    shm_session_wake_client(s->shm);
    pthread_mutex_unlock(&s->mu);
}

void session_iter_release(daemon_ctx *d, session_iter *si)
{
    lsm_iter_free(si->it);
    if (si->snap_id)
        snapreg_unref(d->snaps, si->snap_id);
    free(si->bounds);
}

void session_reclaim(session *s)
{
    uint32_t n = s->niters;
    for (uint32_t i = 0; i < s->niters; i++)
        session_iter_release(s->d, &s->iters[i]);
    free(s->iters);
    s->iters = NULL;
    s->niters = s->cap_iters = 0;
    atomic_store_explicit(&s->open_iters, 0, memory_order_relaxed);
    uidq_give(s->d->quota, s->uid, UIDQ_ITERS, n);
    size_t pins = snapreg_drop_holder(s->d->snaps, s->id);
    if (n || pins)
        log_info("session %llu (pid %d): reclaimed %u iterators, %zu snapshot pins",
                 (unsigned long long)s->id, (int)s->pid, n, pins);
}

bool session_iter_full(const session *s)
{
    return s->niters >= DAEMON_MAX_ITERS_PER_CLIENT;
}

int session_iter_add(session *s, session_iter *it)
{
    if (s->niters >= DAEMON_MAX_ITERS_PER_CLIENT)
        return -EMFILE;
    if (s->niters == s->cap_iters) {
        uint32_t cap = s->cap_iters ? 2 * s->cap_iters : 4;
        session_iter *a = realloc(s->iters, cap * sizeof *a);
        if (!a)
            return -ENOMEM;
        s->iters = a;
        s->cap_iters = cap;
    }
    int rc = uidq_take(s->d->quota, s->uid, UIDQ_ITERS, 1);
    if (rc) {
        log_warn_limited("client %llu (pid %d): iterator refused: uid %u has %llu open "
                         "(max_iters_per_uid)",
                         (unsigned long long)s->id, (int)s->pid, (unsigned)s->uid,
                         (unsigned long long)uidq_used(s->d->quota, s->uid, UIDQ_ITERS));
        return rc;
    }
    it->id = s->next_iter_id++;
    s->iters[s->niters++] = *it;
    atomic_store_explicit(&s->open_iters, s->niters, memory_order_relaxed);
    return 0;
}

session_iter *session_iter_find(session *s, uint64_t id)
{
    for (uint32_t i = 0; i < s->niters; i++)
        if (s->iters[i].id == id)
            return &s->iters[i];
    return NULL;
}

int session_iter_take(session *s, uint64_t id, session_iter *out)
{
    session_iter *si = session_iter_find(s, id);
    if (!si)
        return -EBADF;
    *out = *si;
    *si = s->iters[--s->niters];
    atomic_store_explicit(&s->open_iters, s->niters, memory_order_relaxed);
    uidq_give(s->d->quota, s->uid, UIDQ_ITERS, 1);
    return 0;
}

int session_iter_close(session *s, uint64_t id)
{
    session_iter si;
    int rc = session_iter_take(s, id, &si);
    if (rc == 0)
        session_iter_release(s->d, &si);
    return rc;
}
