/*
 * server.h — the daemon's side of the transport.  The daemon wires these
 * calls to its listener, sessions and workers and to the engine; it never
 * touches the segment layout itself.
 *
 * Attach (one accepted socket, e.g. on the listener thread):
 *
 *   shm_hello_peer_cred(sock, &pid, &uid, &gid);        // daemon policy, at accept:
 *   if (!allowed) shm_hello_server_reject(sock, -EACCES, "uid %u not allowed", uid);
 *   struct shm_hello_req req;  char bad[SHM_HELLO_WHY_BYTES];  const char *why;
 *   rc = shm_hello_server_recv(sock, &req, 0, bad, sizeof bad);  // hello.h
 *   if (rc) { log(bad); close(sock); }                  // -EPROTO already answered
 *   node = <node of req.cpu, or -1>;
 *   rc = shm_session_create(&req, &limits, client_id, node, &s, &why);
 *   if (rc) shm_hello_server_reject(sock, rc, "%s", why);
 *   rc = shm_session_welcome(s, sock, dir_fd);          // reply + fds
 *
 * Serving (a worker thread owning a set of sessions):
 *
 *   struct shm_sqe sqe;
 *   while ((rc = shm_session_next(s, &sqe)) == 1) {
 *       // sqe is a private, validated copy; copy payload out of
 *       // shm_session_arena(s) + sqe.key_off etc. ONCE before use.
 *       struct shm_cqe c = { .tag = sqe.tag, .status = ..., .r0 = ... };
 *       shm_session_complete(s, &c);                    // post + wake
 *   }
 *   if (rc < 0) -> the client broke the ring: shm_session_end(s, EPROTO)
 *   idle: shm_server_wait(sessions, n, &kick, spin_ns, timeout_ns);
 *
 * Ending: shm_session_end(s, ESHUTDOWN) on drain (the client's calls then
 * fail with -ENOTCONN), then shm_session_destroy(s) once no thread uses it
 * and its requests are done.  A client's death is seen on its socket
 * (hang-up) or pidfd by the daemon, not here.
 *
 * Flow control: shm_session_next() hands out a request only while the
 * completion ring has room for a completion of every request handed out
 * and not yet completed, so shm_session_post() never finds the ring full
 * even with a client that submits more than its queue depth.
 *
 * Thread safety: a session is used by one thread at a time for next(); if
 * completions are posted from other threads (e.g. after group commit), the
 * caller serializes post/complete on that session (a mutex); next() and
 * post() on the same session may run in different threads only under that
 * same lock, since both update the in-flight count.
 * shm_server_wait() and shm_server_kick() are safe from any thread.
 */
#ifndef LSM_SHM_SERVER_H
#define LSM_SHM_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol.h"

struct shm_server_limits {
    uint32_t default_queue_depth, max_queue_depth;
    uint32_t default_slot_bytes, max_slot_bytes;
    uint32_t default_large_bytes, max_large_bytes;
};

/* Fills the SHM_DEFAULT_* / SHM_MAX_* values of protocol.h. */
void shm_server_limits_init(struct shm_server_limits *l);

struct shm_session; /* opaque */

/* Creates, seals, maps and initializes the segment for a hello request:
 * requested sizes of 0 take the defaults, larger ones are capped at the
 * maxima (a request above a maximum is granted the maximum, not refused;
 * the reply says what was granted).  numa_node >= 0 places the pages there.
 * Errors: -EINVAL (limits inconsistent; *why says which), -ENOMEM, -EMFILE,
 * -errno of memfd/mmap. */
int shm_session_create(const struct shm_hello_req *req,
                       const struct shm_server_limits *lim, uint64_t client_id,
                       int numa_node, struct shm_session **out, const char **why);

/* Sends the success reply with the segment fd and dir_fd on sock.
 * Returns 0 or -errno (then destroy the session and close sock). */
int shm_session_welcome(struct shm_session *s, int sock, int dir_fd);

/* Fills the success reply (what welcome sends), for callers that send it
 * themselves with shm_hello_server_accept(). */
void shm_session_reply(const struct shm_session *s, struct shm_hello_rep *rep);

/* The next request, copied once into *sqe and validated.  Returns 1 (a
 * request to serve), 0 (none ready, or the completion ring has no room
 * until the client consumes), or -EPROTO (the client wrote an impossible
 * ring index: end the session).  A descriptor that fails validation is
 * completed here with its error (-EINVAL / -EOPNOTSUPP) and counted; it is
 * never returned. */
int shm_session_next(struct shm_session *s, struct shm_sqe *sqe);

/* The arena: validated descriptors' offsets are relative to it and their
 * ranges lie inside it.  Shared with the client: copy before trusting. */
char *shm_session_arena(struct shm_session *s);
uint64_t shm_session_arena_bytes(const struct shm_session *s);

/* Gives a failed completion (status < 0) its reason: writes why (cut to
 * SHM_REASON_TEXT - 1 bytes) into the segment's reason table and marks
 * *cqe SHM_CQ_REASON with aux = its sequence (protocol.h, "Reasons").
 * Call it just before posting *cqe, under the same serialization as
 * post.  No-op for a NULL or empty why or a status >= 0. */
void shm_session_reason(struct shm_session *s, struct shm_cqe *cqe, const char *why);

/* Posts a completion and wakes the client if it sleeps.  Returns 0, or
 * -EPROTO (the client's cq_head is impossible: end the session), or -ENOSPC
 * (completing a request that next() never returned). */
int shm_session_complete(struct shm_session *s, const struct shm_cqe *cqe);
/* Posts without waking; call shm_session_wake_client() after a burst. */
int shm_session_post(struct shm_session *s, const struct shm_cqe *cqe);
void shm_session_wake_client(struct shm_session *s);

/* True when the submission ring holds work (one acquire load). */
bool shm_session_has_work(const struct shm_session *s);
/* Requests handed out by next() and not yet completed. */
uint32_t shm_session_inflight(const struct shm_session *s);

/* Ends the session from the daemon's side: sets daemon_gone = reason
 * (a positive errno: ESHUTDOWN on drain, EPROTO for a protocol violation)
 * and wakes the client, whose calls then fail with -ENOTCONN.  Idempotent. */
void shm_session_end(struct shm_session *s, int reason);

/* Unmaps the segment, closes its memfd and frees s.  NULL is a no-op. */
void shm_session_destroy(struct shm_session *s);

struct shm_session_stats {
    uint64_t requests;      /* returned by next() */
    uint64_t rejected;      /* refused by validation */
    uint64_t wakes;         /* futex wakes sent to the client */
    const char *last_reject; /* static reason of the last refusal, or NULL */
};
void shm_session_stats(const struct shm_session *s, struct shm_session_stats *st);

uint64_t shm_session_client_id(const struct shm_session *s);
uint32_t shm_session_queue_depth(const struct shm_session *s);
int shm_session_segment_fd(const struct shm_session *s);
/* The mapped segment (for NUMA checks with get_mempolicy) and its size. */
void *shm_session_base(const struct shm_session *s);
uint64_t shm_session_size(const struct shm_session *s);

/* ---- Waiting for work across many sessions ------------------------------ */
/* Spins up to spin_ns for work on any of ss[0..n) or a change of *kick, then
 * announces sleep on every session (daemon_sleeping = 1, wait.h), re-checks,
 * and sleeps in one futex_waitv on all of them plus *kick (a daemon-private
 * word other threads bump with shm_server_kick) for at most timeout_ns (0 =
 * forever).  Withdraws the announcements before returning.  kick_seen is
 * the value of *kick the caller last acted on.
 * Returns 1 (some session may have work, or the kick word moved), 0
 * (timeout), -errno.  n may exceed SHM_WAITV_MAX - 1 (then it sleeps in
 * short slices polling every session).  Sessions in ss may be NULL (skipped). */
int shm_server_wait(struct shm_session *const ss[], int n, uint32_t *kick,
                    uint32_t kick_seen, uint64_t spin_ns, uint64_t timeout_ns);
/* Bumps *kick and wakes a worker sleeping in shm_server_wait. */
void shm_server_kick(uint32_t *kick);

/* ---- Iterator pages (protocol.h, "Iterator pages") ---------------------- */
/* Appends one entry to a page of cap bytes at page, *used bytes so far.
 * Returns 0, or -ENOSPC (it does not fit; nothing written).  The daemon
 * writes page entries straight into the arena at out_off (out_cap bytes). */
int shm_page_append(void *page, uint32_t cap, uint32_t *used, const void *key,
                    uint32_t klen, const void *val, uint32_t vlen);

#endif
