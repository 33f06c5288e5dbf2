/*
 * listener.h — the daemon's Unix socket: claim the path, accept, check the
 * peer.
 *
 * Claiming a path: the listener takes an flock on PATH.lock for its whole
 * life, so a second daemon on the same socket path is refused with
 * -EADDRINUSE (and told the holder's pid) instead of silently stealing the
 * socket from a live daemon; a leftover socket file from a dead daemon is
 * removed.  A path that exists and is not a socket is never removed.
 *
 * Who may connect: the socket is mode 0600 (only the daemon's uid can
 * connect) unless it is given a group, then it is chowned to that group
 * and made 0660 (config: socket_group, else the first of allow_gids).
 * It is never world-writable: a uid the config refuses should not even
 * reach accept.  SO_PEERCRED, checked at accept, is the real check; the
 * directory must also let the allowed peers in.
 *
 * Descriptor exhaustion: the listener keeps one reserve descriptor (on
 * /dev/null).  When accept fails with EMFILE/ENFILE, listener_accept
 * gives the reserve up and accepts the waiting connection with it, marked
 * "shed": the caller refuses and closes it at once, so its peer hears a
 * refusal instead of hanging in the backlog, and the next call takes the
 * reserve back.  The caller should also stop watching the socket for a
 * moment rather than retry at once.
 *
 * Thread safety: one listener is used by the main thread only.
 */
#ifndef LSMD_LISTENER_H
#define LSMD_LISTENER_H

#include <stdbool.h>
#include <sys/types.h>

/* Raises the soft RLIMIT_NOFILE to the hard limit and returns the soft
 * limit now in force (logged at info), or -errno. */
long listener_raise_fd_limit(void);

typedef struct listener {
    int fd;          /* listening socket, non-blocking, close-on-exec */
    int lock_fd;     /* flock on path.lock */
    char *path;      /* owned */
    char *lock_path; /* owned */
    int reserve_fd;  /* /dev/null, given up to accept under EMFILE; -1 */
    dev_t dev;       /* identity of the socket file we bound */
    ino_t ino;
} listener;

/* Claims path and starts listening: mode 0600, or, when group_access,
 * owned by group and mode 0660.  Errors: -EADDRINUSE (a live daemon holds
 * it; logged with its pid), -EEXIST (path exists and is not a socket),
 * -ENAMETOOLONG, -ENOMEM, -EPERM (cannot chown to group), -errno. */
int listener_open(listener *l, const char *path, bool group_access, gid_t group);

/* Accepts one connection.  Returns the new descriptor (non-blocking,
 * close-on-exec) with the peer's credentials, -EAGAIN when none is
 * pending, -EMFILE when out of descriptors (EMFILE or ENFILE) even with
 * the reserve, or another -errno.  *shed is true when the descriptor is
 * the reserve's (the process is out of descriptors): the caller must
 * close it before calling again. */
int listener_accept(listener *l, pid_t *pid, uid_t *uid, gid_t *gid, bool *shed);

/* Closes the socket and removes the path (only if it is still the file we
 * bound); PATH.lock stays, unlinking it would race with a new daemon. */
void listener_close(listener *l);

#endif
