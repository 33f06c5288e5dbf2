/*
 * hello.h — the attach handshake over the Unix socket, both sides
 * (docs/shm-protocol.md, "Attach").
 *
 *   client                                   daemon
 *   socket(AF_UNIX, SOCK_SEQPACKET); connect
 *                                            accept: SO_PEERCRED check,
 *                                            pending caps (may refuse here)
 *   send shm_hello_req  ───────────────────▶ recv, shm_hello_parse
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
 * A refusal sent before the hello (the daemon refuses some peers at
 * accept and closes) is still read and returned, though the send failed.
 * Errors: -EPROTO (bad magic/size in the reply, or status 0 without exactly
 * two fds), -ECONNRESET (daemon closed the socket), -ETIMEDOUT, -errno. */
int shm_hello_client(int sock, const struct shm_hello_req *req,
                     struct shm_hello_rep *rep, int *seg_fd, int *dir_fd,
                     int timeout_ms);

/* Room for a refusal reason: the reply's message field. */
#define SHM_HELLO_WHY_BYTES sizeof(((struct shm_hello_rep *)0)->message)

/* Pure: checks one hello message as received and, on success, copies it
 * into *req.  msg holds the message's first min(len, sizeof *req) bytes;
 * len is its full length (longer than *req for an oversized hello); nfds
 * is how many file descriptors came with it (the caller closed them).
 * Checks, in order: no fds, at least 16 bytes, magic, version, exact
 * size (message and size field), flags == 0, reserved bytes == 0.
 * Returns 0 (why = "") or -EPROTO with the reason, NUL-terminated and cut
 * to why_cap, in why (why_cap may be 0).  Thread safety: pure. */
int shm_hello_parse(const void *msg, size_t len, int nfds, struct shm_hello_req *req,
                    char *why, size_t why_cap);

/* Daemon: reads the client's request, waiting up to timeout_ms (<= 0:
 * 5 s), closes any fds that came with it and checks it with
 * shm_hello_parse.  Every refused hello gets the -EPROTO refusal reply
 * (the reason as its message) before this returns.
 * Errors: -EPROTO (refused; the reason is in why), -ECONNRESET (peer hung
 * up), -ETIMEDOUT, -EAGAIN (nothing to read yet), -errno; why always says
 * what happened (when why_cap > 0). */
int shm_hello_server_recv(int sock, struct shm_hello_req *req, int timeout_ms,
                          char *why, size_t why_cap);

/* Daemon: the peer's credentials (SO_PEERCRED).  Returns 0 or -errno. */
int shm_hello_peer_cred(int sock, pid_t *pid, uid_t *uid, gid_t *gid);

/* Daemon: sends a refusal (status < 0) with a printf-style message.
 * Returns 0 or -errno (ignored by most callers: the socket is closed next). */
int shm_hello_server_reject(int sock, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Daemon: sends the success reply with the segment and directory fds
 * (shm_send_with_fds).  Returns 0 or -errno. */
int shm_hello_server_accept(int sock, const struct shm_hello_rep *rep,
                            int seg_fd, int dir_fd);

/* Sends one message of len bytes with nfds (0..SHM_SEND_MAX_FDS) file
 * descriptors attached (SCM_RIGHTS; the caller keeps its copies).
 * Returns 0, -EINVAL (too many fds), -EPROTO (sent short) or -errno. */
#define SHM_SEND_MAX_FDS 4
int shm_send_with_fds(int sock, const void *msg, size_t len, const int *fds, int nfds);

/* Poll the socket without blocking: 0 while the peer is connected, -ENOTCONN
 * once it hung up (POLLHUP/POLLRDHUP/POLLERR, or readable with 0 bytes).
 * Used by the client's liveness check while it sleeps. */
int shm_hello_peer_alive(int sock);

#endif
