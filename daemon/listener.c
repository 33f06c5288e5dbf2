/* listener.c — see listener.h. */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "protocol.h"

long listener_raise_fd_limit(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0)
        return -errno;
    rlim_t was = r.rlim_cur;
    if (r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &r) != 0) {
            int e = errno;
            log_warn("listener: cannot raise the descriptor limit from %llu: %s",
                     (unsigned long long)was, strerror(e));
            r.rlim_cur = was;
        }
    }
    long n = r.rlim_cur == RLIM_INFINITY || r.rlim_cur > LONG_MAX ? LONG_MAX : (long)r.rlim_cur;
    if (r.rlim_cur != was)
        log_info("listener: descriptor limit %ld (soft limit raised from %llu)", n,
                 (unsigned long long)was);
    else
        log_info("listener: descriptor limit %ld", n);
    return n;
}

/* Takes PATH.lock; on contention reports the pid written in it. */
static int take_lock(listener *l)
{
    if (asprintf(&l->lock_path, "%s.lock", l->path) < 0) {
        l->lock_path = NULL;
        return -ENOMEM;
    }
    l->lock_fd = open(l->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (l->lock_fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) {
            /* The lock file is ours to create: what is missing is the
             * socket's directory, so name that. */
            const char *slash = strrchr(l->path, '/');
            int dlen = slash ? (slash == l->path ? 1 : (int)(slash - l->path)) : 1;
            log_error("listener: socket directory %.*s does not exist (%s): create it or "
                      "choose another socket path", dlen, slash ? l->path : ".", strerror(e));
        } else {
            log_error("listener: cannot open %s: %s", l->lock_path, strerror(e));
        }
        return -e;
    }
    if (flock(l->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK) {
            char buf[32] = "";
            ssize_t n = pread(l->lock_fd, buf, sizeof buf - 1, 0);
            buf[n > 0 ? n : 0] = '\0';
            buf[strcspn(buf, "\n")] = '\0';
            log_error("listener: socket %s is held by a live lsmd (pid %s)", l->path,
                      buf[0] ? buf : "unknown");
            return -EADDRINUSE;
        }
        return -e;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(l->lock_fd, 0) != 0 || pwrite(l->lock_fd, pid, (size_t)n, 0) != n)
        log_warn("listener: cannot record our pid in %s", l->lock_path);
    return 0;
}

/* Removes a stale socket file; refuses anything that is not a socket. */
static int clear_path(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode)) {
        log_error("listener: %s exists and is not a socket; not touching it", path);
        return -EEXIST;
    }
    /* We hold the lock, so whoever bound it is gone (or predates the lock:
     * check it does not answer). */
    int fd = socket(AF_UNIX, SHM_SOCK_TYPE | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        memcpy(a.sun_path, path, strlen(path) + 1);
        int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
        close(fd);
        if (rc == 0) {
            log_error("listener: a live server answers on %s", path);
            return -EADDRINUSE;
        }
    }
    if (unlink(path) != 0 && errno != ENOENT)
        return -errno;
    log_info("listener: removed stale socket %s", path);
    return 0;
}

int listener_open(listener *l, const char *path, bool group_access, gid_t group)
{
    memset(l, 0, sizeof *l);
    l->fd = -1;
    l->lock_fd = -1;
    l->reserve_fd = -1;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof addr.sun_path) {
        log_error("listener: socket path too long (max %zu): %s",
                  sizeof addr.sun_path - 1, path);
        return -ENAMETOOLONG;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    l->path = strdup(path);
    if (!l->path)
        return -ENOMEM;
    int rc = take_lock(l);
    if (rc == 0)
        rc = clear_path(path);
    if (rc)
        goto fail;
    l->fd = socket(AF_UNIX, SHM_SOCK_TYPE | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0) {
        rc = -errno;
        goto fail;
    }
    /* Bind under a tight umask so the socket is never briefly open to all. */
    mode_t old = umask(0177);
    rc = bind(l->fd, (struct sockaddr *)&addr, sizeof addr);
    umask(old);
    if (rc != 0) {
        rc = -errno;
        log_error("listener: bind %s: %s", path, strerror(-rc));
        goto fail;
    }
    if (group_access) {
        /* Bound 0600 above; the group gets in only after the chown. */
        if (chown(path, (uid_t)-1, group) != 0 || chmod(path, 0660) != 0) {
            rc = -errno;
            log_error("listener: cannot give %s to group %u (mode 0660): %s", path,
                      (unsigned)group, strerror(-rc));
            goto fail;
        }
    }
    l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (stat(path, &st) == 0) {
        l->dev = st.st_dev;
        l->ino = st.st_ino;
    }
    if (listen(l->fd, 128) != 0) {
        rc = -errno;
        goto fail;
    }
    return 0;
fail:
    listener_close(l);
    return rc;
}

int listener_accept(listener *l, pid_t *pid, uid_t *uid, gid_t *gid, bool *shed)
{
    *shed = false;
    if (l->reserve_fd < 0) /* the last call shed a connection: take it back */
        l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE) && l->reserve_fd >= 0) {
        /* Out of descriptors: spend the reserve on the waiting connection,
         * so its peer hears a refusal and the backlog moves. */
        close(l->reserve_fd);
        l->reserve_fd = -1;
        fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        *shed = fd >= 0;
    }
    if (fd < 0) {
        int e = errno;
        if (e == EMFILE || e == ENFILE)
            return -EMFILE;
        return e == EWOULDBLOCK ? -EAGAIN : -e;
    }
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return fd;
}

void listener_close(listener *l)
{
    if (l->fd >= 0) {
        close(l->fd);
        struct stat st;
        /* Remove only our own socket file, never one a successor bound. */
        if (l->path && stat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
            unlink(l->path);
    }
    /* The lock file stays: unlinking it would let a daemon that opened the
     * old inode and one that creates a new file both "hold" the lock. */
    if (l->lock_fd >= 0)
        close(l->lock_fd);
    if (l->reserve_fd >= 0)
        close(l->reserve_fd);
    free(l->path);
    free(l->lock_path);
    memset(l, 0, sizeof *l);
    l->fd = -1;
    l->lock_fd = -1;
    l->reserve_fd = -1;
}
