/*
 * hello.h — the attach handshake over the Unix socket, both sides
 * (docs/shm-protocol.md, "Attach").
 *
 *   client                                   daemon
 *   socket(AF_UNIX, SOCK_SEQPACKET); connect
 *   send shm_hello_req  ───────────────────▶ recv, check magic/size/version
 *                                            SO_PEERCRED check
 *                                            create + seal + map segment
 *                       ◀─────────────────── shm_hello_rep + SCM_RIGHTS
 *                                            {segment fd, directory fd}
 *   map both, check seals and header
 *   ... the socket stays open: its hang-up means "peer gone" ...
 *
 * Errors are 0 or -errno.  Thread safety: pure functions of their args.
 */
#ifndef LSM_SHM_HELLO_H
#define LSM_SHM_HELLO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol.h"

/* Writes the default socket path into buf: $XDG_RUNTIME_DIR/lsmd.sock if
 * XDG_RUNTIME_DIR is set and non-empty, else /tmp/lsmd-$UID/lsmd.sock.
 * Returns 0 or -ENAMETOOLONG (longer than cap, or than sun_path). */
int shm_default_socket_path(char *buf, size_t cap);

/* Client: connects a SOCK_SEQPACKET|SOCK_CLOEXEC socket to path.  Returns
 * the fd or -errno (-ENOENT / -ECONNREFUSED: no daemon listening there,
 * -ENAMETOOLONG, -EACCES). */
int shm_hello_connect(const char *path);

/* Fills a request for this process (pid, sched_getcpu) with the sizes
 * asked for (0 = daemon default). */
void shm_hello_req_init(struct shm_hello_req *req, uint32_t queue_depth,
                        uint32_t slot_bytes, uint32_t large_bytes);

/* Client: sends req, then waits up to timeout_ms (<= 0: 10 s) for the reply
 * and its fds.  On return 0, *rep is the reply (check rep->status) and, if
 * rep->status == 0, seg_fd/dir_fd are the received fds (caller owns them).
 * Errors: -EPROTO (bad magic/size in the reply, or status 0 without exactly
 * two fds), -ECONNRESET (daemon closed the socket), -ETIMEDOUT, -errno. */
int shm_hello_client(int sock, const struct shm_hello_req *req,
                     struct shm_hello_rep *rep, int *seg_fd, int *dir_fd,
                     int timeout_ms);

/* Daemon: reads the client's request, waiting up to timeout_ms (<= 0:
 * 5 s: a client that connects and says nothing must not hold a thread).
 * Checks magic, size and version; on a version mismatch it sends the
 * -EPROTO reply itself (with a message naming both versions).
 * Errors: -EPROTO (bad magic/size/version; the reason is in *why),
 * -ECONNRESET (peer hung up), -ETIMEDOUT, -errno. */
int shm_hello_server_recv(int sock, struct shm_hello_req *req, int timeout_ms,
                          const char **why);

/* Daemon: the peer's credentials (SO_PEERCRED).  Returns 0 or -errno. */
int shm_hello_peer_cred(int sock, pid_t *pid, uid_t *uid, gid_t *gid);

/* Daemon: sends a refusal (status < 0) with a printf-style message.
 * Returns 0 or -errno (ignored by most callers: the socket is closed next). */
int shm_hello_server_reject(int sock, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Daemon: sends the success reply with the segment and directory fds
 * (SCM_RIGHTS; the caller keeps its own copies).  Returns 0 or -errno. */
int shm_hello_server_accept(int sock, const struct shm_hello_rep *rep,
                            int seg_fd, int dir_fd);

/* Poll the socket without blocking: 0 while the peer is connected, -ENOTCONN
 * once it hung up (POLLHUP/POLLRDHUP/POLLERR, or readable with 0 bytes).
 * Used by the client's liveness check while it sleeps. */
int shm_hello_peer_alive(int sock);

#endif
