/* hello.c — the attach handshake over the Unix socket (hello.h). */
#include "hello.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int shm_default_socket_path(char *buf, size_t cap)
{
    struct sockaddr_un sa;
    size_t lim = cap < sizeof(sa.sun_path) ? cap : sizeof(sa.sun_path);
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;
    if (xdg && *xdg)
        n = snprintf(buf, cap, "%s/%s", xdg, SHM_SOCK_NAME);
    else
        n = snprintf(buf, cap, "/tmp/lsmd-%u/%s", (unsigned)getuid(), SHM_SOCK_NAME);
    return n < 0 || (size_t)n >= lim ? -ENAMETOOLONG : 0;
}

int shm_hello_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t len = strlen(path);
    if (len >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, len + 1);
    int fd = socket(AF_UNIX, SHM_SOCK_TYPE | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

void shm_hello_req_init(struct shm_hello_req *req, uint32_t queue_depth,
                        uint32_t slot_bytes, uint32_t large_bytes)
{
    memset(req, 0, sizeof(*req));
    req->magic = SHM_HELLO_REQ_MAGIC;
    req->version = SHM_PROTO_VERSION;
    req->size = sizeof(*req);
    req->pid = (uint32_t)getpid();
    req->cpu = sched_getcpu();
    req->queue_depth = queue_depth;
    req->slot_bytes = slot_bytes;
    req->large_bytes = large_bytes;
}

/* Waits for the socket to become readable; 0, -ETIMEDOUT or -errno. */
static int wait_readable(int sock, int timeout_ms)
{
    struct pollfd p = { .fd = sock, .events = POLLIN };
    for (;;) {
        int n = poll(&p, 1, timeout_ms);
        if (n > 0)
            return 0;
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

/* Writes a refusal reason; returns -EPROTO. */
static int refuse(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t cap, const char *fmt, ...)
{
    if (cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return -EPROTO;
}

/* Writes a fixed reason; returns rc. */
static int refuse_rc(int rc, char *why, size_t cap, const char *reason)
{
    if (cap)
        snprintf(why, cap, "%s", reason);
    return rc;
}

/* One message with up to two fds.  Returns bytes read, or -errno;
 * 0 means the peer hung up.  Received fds beyond *nfds are closed. */
static ssize_t recv_with_fds(int sock, void *buf, size_t len, int *fds, int *nfds)
{
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
    ssize_t n;
    do {
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    int want = nfds ? *nfds : 0, got = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (got < want)
                fds[got++] = fd;
            else
                close(fd), got = want + 1; /* too many: remember it */
        }
    }
    if (nfds)
        *nfds = got;
    if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        for (int i = 0; i < got && i < want; i++)
            close(fds[i]);
        if (nfds)
            *nfds = 0;
        return -EPROTO;
    }
    return n;
}

int shm_hello_client(int sock, const struct shm_hello_req *req,
                     struct shm_hello_rep *rep, int *seg_fd, int *dir_fd,
                     int timeout_ms)
{
    *seg_fd = *dir_fd = -1;
    if (timeout_ms <= 0)
        timeout_ms = 10000;
    ssize_t n;
    do {
        n = send(sock, req, sizeof(*req), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    /* The daemon may refuse at accept (credentials, caps) and close before
     * our hello goes out: the send then fails with EPIPE, but its refusal
     * is already queued on our socket, so read it anyway. */
    bool peer_closed = n < 0 && (errno == EPIPE || errno == ECONNRESET);
    if (n < 0 && !peer_closed)
        return -errno;
    if (!peer_closed && (size_t)n != sizeof(*req))
        return -EPROTO;
    int rc = wait_readable(sock, peer_closed ? 0 : timeout_ms);
    if (rc == -ETIMEDOUT && peer_closed)
        return -ECONNRESET;
    if (rc)
        return rc;
    int fds[2], nfds = 2;
    memset(rep, 0, sizeof(*rep));
    n = recv_with_fds(sock, rep, sizeof(*rep), fds, &nfds);
    /* A daemon that closes with our hello unread leaves ECONNRESET pending
     * on our socket, reported before the reply it queued: read again (the
     * peer is gone, so this cannot block). */
    if (n == -ECONNRESET) {
        nfds = 2;
        n = recv_with_fds(sock, rep, sizeof(*rep), fds, &nfds);
    }
    if (n < 0)
        return (int)n;
    if (n == 0)
        return -ECONNRESET;
    /* A daemon of another protocol version may send a reply of another
     * size; magic, version and status sit at the same offsets in every
     * version, so they are still readable when at least 16 bytes came. */
    if ((size_t)n < 16 || rep->magic != SHM_HELLO_REP_MAGIC)
        rc = -EPROTO;
    else if (rep->status != 0)
        rc = 0; /* caller reads status and message */
    else if ((size_t)n != sizeof(*rep) || rep->size != sizeof(*rep) ||
             rep->version != SHM_PROTO_VERSION || nfds != 2)
        rc = -EPROTO;
    if (rc || rep->status != 0) {
        for (int i = 0; i < nfds && i < 2; i++)
            close(fds[i]);
        rep->message[sizeof(rep->message) - 1] = '\0';
        return rc;
    }
    *seg_fd = fds[0];
    *dir_fd = fds[1];
    return 0;
}

int shm_hello_parse(const void *msg, size_t len, int nfds, struct shm_hello_req *req,
                    char *why, size_t why_cap)
{
    const size_t want = sizeof(*req);
    memset(req, 0, want);
    memcpy(req, msg, len < want ? len : want);
    /* Order matters: magic and version come before size, so a newer client
     * (whose hello may be longer) hears "version mismatch", not "size". */
    if (nfds > 0)
        return refuse(why, why_cap, "hello carries %d file descriptor%s; none are allowed",
                      nfds, nfds == 1 ? "" : "s");
    if (len < 16)
        return refuse(why, why_cap, "hello of %zu bytes is too short (expected %zu)", len,
                      want);
    if (req->magic != SHM_HELLO_REQ_MAGIC)
        return refuse(why, why_cap, "bad hello magic %#llx (not an lsmd client)",
                      (unsigned long long)req->magic);
    if (req->version != SHM_PROTO_VERSION)
        return refuse(why, why_cap, "protocol version mismatch: client %u, daemon %u",
                      req->version, SHM_PROTO_VERSION);
    if (len != want)
        return refuse(why, why_cap, "hello of %zu bytes, expected %zu", len, want);
    if (req->size != want)
        return refuse(why, why_cap, "hello size field says %u, expected %zu", req->size,
                      want);
    if (req->flags != 0)
        return refuse(why, why_cap, "hello flags %#x are not supported (must be 0)",
                      req->flags);
    for (size_t i = 0; i < sizeof(req->reserved); i++)
        if (req->reserved[i] != 0)
            return refuse(why, why_cap, "hello reserved byte %zu is %#x (must be 0)",
                          offsetof(struct shm_hello_req, reserved) + i, req->reserved[i]);
    if (why_cap)
        why[0] = '\0';
    return 0;
}

/* Reads one hello-sized message, closing every fd that came with it.
 * *len is the message's full length (MSG_TRUNC makes recvmsg report it
 * even when it was longer than the buffer), *nfds how many fds came.
 * Returns 0 (with *len == 0 when the peer hung up) or -errno. */
static int recv_hello_msg(int sock, struct shm_hello_req *req, size_t *len, int *nfds)
{
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { .iov_base = req, .iov_len = sizeof(*req) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
    ssize_t n;
    do {
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_TRUNC | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    int got = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++, got++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            close(fd);
        }
    }
    /* More fds than the control buffer holds: the kernel dropped the rest. */
    if ((mh.msg_flags & MSG_CTRUNC) && got == 0)
        got = 1;
    *len = (size_t)n;
    *nfds = got;
    return 0;
}

int shm_hello_server_recv(int sock, struct shm_hello_req *req, int timeout_ms,
                          char *why, size_t why_cap)
{
    if (timeout_ms <= 0)
        timeout_ms = 5000;
    int rc = wait_readable(sock, timeout_ms);
    if (rc)
        return refuse_rc(rc, why, why_cap,
                         rc == -ETIMEDOUT ? "no hello within the timeout" : "poll failed");
    memset(req, 0, sizeof(*req));
    size_t len = 0;
    int nfds = 0;
    rc = recv_hello_msg(sock, req, &len, &nfds);
    if (rc)
        return refuse_rc(rc, why, why_cap, "recvmsg failed");
    if (len == 0 && nfds == 0)
        return refuse_rc(-ECONNRESET, why, why_cap, "client hung up before its hello");
    struct shm_hello_req copy = *req;
    rc = shm_hello_parse(&copy, len, nfds, req, why, why_cap);
    if (rc)
        shm_hello_server_reject(sock, rc, "%s", why_cap ? why : "bad hello");
    return rc;
}

int shm_hello_peer_cred(int sock, pid_t *pid, uid_t *uid, gid_t *gid)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
        return -errno;
    if (pid)
        *pid = cr.pid;
    if (uid)
        *uid = cr.uid;
    if (gid)
        *gid = cr.gid;
    return 0;
}

int shm_send_with_fds(int sock, const void *msg, size_t len, const int *fds, int nfds)
{
    union {
        char buf[CMSG_SPACE(SHM_SEND_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    if (nfds < 0 || nfds > SHM_SEND_MAX_FDS)
        return -EINVAL;
    struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds > 0) {
        memset(&ctl, 0, sizeof(ctl));
        mh.msg_control = ctl.buf;
        mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
    }
    ssize_t n;
    do {
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return (size_t)n == len ? 0 : -EPROTO;
}

int shm_hello_server_reject(int sock, int status, const char *fmt, ...)
{
    struct shm_hello_rep rep;
    memset(&rep, 0, sizeof(rep));
    rep.magic = SHM_HELLO_REP_MAGIC;
    rep.version = SHM_PROTO_VERSION;
    rep.status = status < 0 ? status : -EPROTO;
    rep.size = sizeof(rep);
    rep.daemon_pid = (uint32_t)getpid();
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep.message, sizeof(rep.message), fmt, ap);
    va_end(ap);
    return shm_send_with_fds(sock, &rep, sizeof(rep), NULL, 0);
}

int shm_hello_server_accept(int sock, const struct shm_hello_rep *rep,
                            int seg_fd, int dir_fd)
{
    int fds[2] = { seg_fd, dir_fd };
    return shm_send_with_fds(sock, rep, sizeof(*rep), fds, 2);
}

int shm_hello_peer_alive(int sock)
{
    struct pollfd p = { .fd = sock, .events = POLLIN | POLLRDHUP };
    int n = poll(&p, 1, 0);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    if (n == 0)
        return 0;
    if (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL))
        return -ENOTCONN;
    if (p.revents & POLLIN) {
        /* The daemon never sends after the hello; a readable socket is
         * either EOF or garbage.  Peek to tell. */
        char c;
        ssize_t k = recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
            return -ENOTCONN;
    }
    return 0;
}
