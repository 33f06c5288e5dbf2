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
 * The socket is created mode 0600 when only the daemon's uid may attach,
 * 0666 when the configuration allows other uids or gids (SO_PEERCRED is the
 * real check; the directory must also let them in).
 *
 * Thread safety: one listener is used by the main thread only.
 */
#ifndef LSMD_LISTENER_H
#define LSMD_LISTENER_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct listener {
    int fd;          /* listening socket, non-blocking, close-on-exec */
    int lock_fd;     /* flock on path.lock */
    char *path;      /* owned */
    char *lock_path; /* owned */
    dev_t dev;       /* identity of the socket file we bound */
    ino_t ino;
} listener;

/* Claims path and starts listening.  Errors: -EADDRINUSE (a live daemon
 * holds it; logged with its pid), -EEXIST (path exists and is not a
 * socket), -ENAMETOOLONG, -ENOMEM, -errno. */
int listener_open(listener *l, const char *path, bool shared_mode);

/* Accepts one connection.  Returns the new descriptor (non-blocking,
 * close-on-exec) with the peer's credentials, -EAGAIN when none is
 * pending, or another -errno. */
int listener_accept(listener *l, pid_t *pid, uid_t *uid, gid_t *gid);

/* Closes the socket and removes the path (only if it is still the file we
 * bound); PATH.lock stays, unlinking it would race with a new daemon. */
void listener_close(listener *l);

#endif
