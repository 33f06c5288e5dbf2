/* admission.c — see admission.h. */
#include "admission.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "hello.h"
#include "base/log.h"
#include "wait.h"

#define NS_PER_MS 1000000ull

int admission_init(admission *a, daemon_ctx *d, listener *l, int epfd, void *listener_tag,
                   uintptr_t conn_kind)
{
    memset(a, 0, sizeof *a);
    a->d = d;
    a->lst = l;
    a->epfd = epfd;
    a->listener_tag = listener_tag;
    a->conn_kind = conn_kind;
    a->uids = calloc((size_t)ADMISSION_SPOKEN_CAP(d->cfg), sizeof *a->uids);
    if (!a->uids)
        return -ENOMEM;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = listener_tag };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, l->fd, &ev) == 0 ? 0 : -errno;
}

/* The per-uid slot of uid, or NULL. */
static admission_uid *uid_slot(admission *a, uid_t uid)
{
    for (int i = 0; i < a->nuids; i++)
        if (a->uids[i].uid == uid)
            return &a->uids[i];
    return NULL;
}

/* REQUIRES: a pending connection of uid is in the list. */
static void uid_put(admission *a, uid_t uid)
{
    admission_uid *u = uid_slot(a, uid);
    if (--u->n == 0)
        *u = a->uids[--a->nuids];
}

/* Refuses fd before its hello: the refusal reply, then close. */
static void refuse(admission *a, int fd, int status, const char *msg)
{
    atomic_fetch_add_explicit(&a->d->refusals, 1, memory_order_relaxed);
    shm_hello_server_reject(fd, status, "%s", msg);
    close(fd);
}

/* true when the peer already sent something (or hung up): its hello is
 * handled on the next turn of the loop, so it is not a silent connection. */
static bool has_spoken(int fd)
{
    char c;
    return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 || (errno != EAGAIN && errno != EINTR);
}

/* Admits fd as pending, or refuses it over a cap (unless it already spoke:
 * a burst of honest connects must not be refused for being fast).  Never
 * fails otherwise: without memory or an epoll slot, the connection is
 * refused. */
static void admit(admission *a, int fd, pid_t pid, uid_t uid, gid_t gid)
{
    const daemon_config *c = a->d->cfg;
    admission_uid *u = uid_slot(a, uid);
    bool over = a->npending >= c->max_pending || (u && u->n >= c->max_pending_per_uid);
    if (a->npending >= ADMISSION_SPOKEN_CAP(c) || (over && !has_spoken(fd))) {
        bool global = a->npending >= c->max_pending || !u;
        log_warn_limited("admission: pid %d uid %u refused: %d connections already wait "
                         "for their hello (%s %d)",
                         (int)pid, (unsigned)uid, global ? a->npending : u->n,
                         global ? "max_pending" : "max_pending_per_uid",
                         global ? c->max_pending : c->max_pending_per_uid);
        refuse(a, fd, -EAGAIN, "too many connections waiting for their hello; retry");
        return;
    }
    admission_conn *p = calloc(1, sizeof *p);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
                              .data.ptr = (void *)((uintptr_t)p | a->conn_kind) };
    if (!p || epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        free(p);
        refuse(a, fd, -ENOMEM, "lsmd cannot take the connection now; retry");
        return;
    }
    *p = (admission_conn){ .fd = fd, .pid = pid, .uid = uid, .gid = gid,
                           .deadline_ns = shm_now_ns() + (uint64_t)c->hello_timeout_ms * NS_PER_MS,
                           .prev = a->tail };
    if (a->tail)
        a->tail->next = p;
    else
        a->head = p;
    a->tail = p;
    a->npending++;
    if (!u) {
        /* nuids <= npending - 1 < ADMISSION_SPOKEN_CAP: there is room. */
        u = &a->uids[a->nuids++];
        *u = (admission_uid){ .uid = uid };
    }
    u->n++;
}

/* Stops watching the listener for a while (EMFILE/ENFILE). */
static void back_off(admission *a)
{
    struct epoll_event ev = { .events = 0, .data.ptr = a->listener_tag };
    epoll_ctl(a->epfd, EPOLL_CTL_MOD, a->lst->fd, &ev);
    a->paused = true;
    a->resume_ns = shm_now_ns() + ADMISSION_BACKOFF_MS * NS_PER_MS;
}

void admission_on_listener(admission *a)
{
    int shed = 0;
    for (int i = 0; i < ADMISSION_ACCEPT_BATCH; i++) {
        pid_t pid;
        uid_t uid;
        gid_t gid;
        bool out_of_fds;
        int fd = listener_accept(a->lst, &pid, &uid, &gid, &out_of_fds);
        if (fd == -EAGAIN)
            break;
        if (fd == -EMFILE) {
            shed++;
            break;
        }
        if (fd == -ECONNABORTED || fd == -EPROTO || fd == -EINTR)
            continue; /* that connection is gone: go on */
        if (fd < 0) {
            /* ENOMEM, ENOBUFS...: retrying at once would spin. */
            log_warn_limited("admission: accept: %s; accept paused %d ms", strerror(-fd),
                             ADMISSION_BACKOFF_MS);
            back_off(a);
            return;
        }
        if (out_of_fds) {
            shed++;
            refuse(a, fd, -EMFILE, "lsmd is out of file descriptors; retry later");
            continue;
        }
        if (!config_peer_allowed(a->d->cfg, uid, gid)) {
            log_warn_limited("admission: refused pid %d uid %u gid %u (not allowed by the "
                             "config)", (int)pid, (unsigned)uid, (unsigned)gid);
            char msg[SHM_HELLO_WHY_BYTES];
            snprintf(msg, sizeof msg, "uid %u gid %u not allowed by this lsmd",
                     (unsigned)uid, (unsigned)gid);
            refuse(a, fd, -EACCES, msg);
            continue;
        }
        admit(a, fd, pid, uid, gid);
    }
    if (shed) {
        log_warn_limited("admission: out of file descriptors (%d connections wait for their "
                         "hello); refusing new ones, accept paused %d ms",
                         a->npending, ADMISSION_BACKOFF_MS);
        back_off(a);
    }
}

/* Unlinks p, updates the counts and frees it; returns its fd. */
static int unlink_conn(admission *a, admission_conn *p)
{
    epoll_ctl(a->epfd, EPOLL_CTL_DEL, p->fd, NULL);
    if (p->prev)
        p->prev->next = p->next;
    else
        a->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        a->tail = p->prev;
    a->npending--;
    uid_put(a, p->uid);
    int fd = p->fd;
    free(p);
    return fd;
}

int admission_take(admission *a, admission_conn *c, pid_t *pid, uid_t *uid, gid_t *gid)
{
    *pid = c->pid;
    *uid = c->uid;
    *gid = c->gid;
    return unlink_conn(a, c);
}

int admission_timeout_ms(const admission *a)
{
    uint64_t at = UINT64_MAX;
    if (a->head)
        at = a->head->deadline_ns;
    if (a->paused && a->resume_ns < at)
        at = a->resume_ns;
    if (at == UINT64_MAX)
        return -1;
    uint64_t now = shm_now_ns();
    return at <= now ? 0 : (int)((at - now + NS_PER_MS - 1) / NS_PER_MS);
}

void admission_tick(admission *a)
{
    uint64_t now = shm_now_ns();
    while (a->head && now >= a->head->deadline_ns) {
        log_warn_limited("admission: pid %d uid %u said no hello within %d ms; closed",
                         (int)a->head->pid, (unsigned)a->head->uid,
                         a->d->cfg->hello_timeout_ms);
        close(unlink_conn(a, a->head));
    }
    if (a->paused && now >= a->resume_ns) {
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = a->listener_tag };
        epoll_ctl(a->epfd, EPOLL_CTL_MOD, a->lst->fd, &ev);
        a->paused = false;
    }
}

void admission_close(admission *a)
{
    while (a->head)
        close(unlink_conn(a, a->head));
    free(a->uids);
    a->uids = NULL;
    a->nuids = 0;
}
