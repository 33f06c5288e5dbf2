/*
 * conn.h — internals of an lsmd_conn shared by the client library's files
 * (conn.c: attach, request/completion plumbing, waiting; ops.c: the
 * synchronous calls; async.c; iter.c).  Not installed.
 *
 * Arena use (docs/shm-protocol.md, "Arena"): slot i (0 .. nslots-1) belongs
 * to asynchronous request tag i from submit until the lsmd_poll call after
 * the one that returned its completion; the large region belongs to the one
 * synchronous request in flight (tag SHM_TAG_LARGE).  Fire-and-forget
 * requests (tag SHM_TAG_DISCARD) use no arena bytes.
 *
 * Thread safety: one thread at a time per connection (lsmd.h).
 */
#ifndef LSMD_CONN_H
#define LSMD_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "directory.h"
#include "last_error.h"
#include "lsmd.h"
#include "protocol.h"
#include "ring.h"
#include "segment.h"

enum slot_state { SLOT_FREE = 0, SLOT_INFLIGHT, SLOT_DONE, SLOT_DELIVERED };

struct conn_slot {
    uint64_t user_data;
    uint8_t state;          /* enum slot_state */
    uint8_t op;             /* LSMD_OP_* */
    uint32_t out_off;       /* get: arena offset of the value; multi-get:
                               of its results */
    uint32_t count;         /* multi-get: keys; scan: most entries asked
                               (0 = no limit) */
};

struct lsmd_conn {
    int sock;               /* attach socket, kept open: hang-up = daemon gone */
    int dead;               /* 0, or the code every call returns (-ENOTCONN) */
    struct shm_segment seg;
    struct shm_dir dir;
    struct shm_seg_header *hdr;
    struct shm_ring sq;     /* producer view */
    struct shm_ring cq;     /* consumer view */
    char *arena;
    uint32_t arena_bytes, slot_bytes, nslots, large_off, large_bytes, qd;
    uint64_t client_id;
    uint64_t spin_ns;

    struct conn_slot *slots;   /* [nslots] */
    uint32_t *free_slots;      /* stack of free slot indices */
    uint32_t nfree;
    uint32_t *delivered;       /* slots returned by the last lsmd_poll */
    uint32_t ndelivered;
    struct shm_cqe *pending;   /* async completions reaped, not yet polled */
    char (*pending_why)[SHM_REASON_TEXT]; /* their reasons, read when reaped */
    uint32_t pend_head, npending; /* ring of nslots entries */
    uint32_t async_inflight;   /* submitted and not yet returned by poll */
    uint32_t discards;         /* SHM_TAG_DISCARD requests in flight */

    bool sync_done;            /* the synchronous request completed */
    struct shm_cqe sync_cqe;
    char sync_reason[SHM_REASON_TEXT]; /* its reason, read when reaped */

    conn_error err; /* lsmd_last_error: the last failure (last_error.h) */
};

/* 0, or the connection's death code; checks the daemon_gone flag (one
 * load) so a daemon-ended session fails fast. */
int conn_alive(lsmd_conn *c);

/* Marks the connection dead (-ENOTCONN from now on).  why, when not NULL,
 * is a protocol violation by the daemon, said once on stderr; the daemon
 * going away is an expected event and passes NULL. */
void conn_kill(lsmd_conn *c, const char *why);

/* Reaps every completion in the CQ: routes the synchronous one to
 * sync_cqe, asynchronous ones to the pending queue, drops discards.
 * Returns 0 or the death code (a completion with an impossible tag kills
 * the connection). */
int conn_reap(lsmd_conn *c);

/* Pushes one descriptor into the SQ (waiting for room if fire-and-forget
 * requests fill it), without waking anyone.  Returns 0 or the death code. */
int conn_push(lsmd_conn *c, const struct shm_sqe *sqe);
/* conn_push, then wakes the daemon if it announced sleep (shm_wake, with
 * its fence): for a request the caller is about to wait for. */
int conn_submit(lsmd_conn *c, const struct shm_sqe *sqe);
/* conn_push, then wakes the daemon only if a plain load already shows it
 * asleep (no fence): for async submissions; every wait (lsmd_poll's
 * included) starts with the full shm_wake, so a request is never stranded
 * while its caller waits.  Saves a full fence per request. */
int conn_submit_nofence(lsmd_conn *c, const struct shm_sqe *sqe);

/* Waits until the synchronous request completes (sync_done): first wakes
 * the daemon if it sleeps (shm_wake), then spins (not for a durable
 * write: its reply waits for an fdatasync), then sleeps, checking the
 * daemon's liveness between sleep slices.  Returns 0 or the death code. */
int conn_wait_sync(lsmd_conn *c, bool durable);

/* Waits until at least one asynchronous completion is pending. */
int conn_wait_pending(lsmd_conn *c);

/* Runs one synchronous request: sqe->tag is set to SHM_TAG_LARGE; payload
 * bytes must already be in the large region.  On return 0, *cqe is its
 * completion (check cqe->status). */
int conn_call(lsmd_conn *c, struct shm_sqe *sqe, struct shm_cqe *cqe);
/* conn_call in two halves, so the caller can work while the daemon
 * answers (a scan reads one page while the next is filled): begin pushes
 * the request, end waits for its completion.  Between them the
 * synchronous slot is taken: no other conn_call on c, and the large-region
 * bytes the request reads or writes are the daemon's.  Every successful
 * begin needs its end, even on the way out of an error. */
int conn_call_begin(lsmd_conn *c, struct shm_sqe *sqe);
int conn_call_end(lsmd_conn *c, const struct shm_sqe *sqe, struct shm_cqe *cqe);

/* conn_call for a request whose reply fills the large region (sqe's out
 * range is set to it): returns conn_call's error, else the completion's
 * status, with LSM_ETOOSMALL as -E2BIG (the reply cannot fit this
 * connection at all). */
int conn_call_out(lsmd_conn *c, struct shm_sqe *sqe, struct shm_cqe *cqe);

/* Sends a request whose completion nobody waits for (tag DISCARD). */
int conn_send_discard(lsmd_conn *c, struct shm_sqe *sqe);
/* Closes daemon iterator id without waiting for the reply (a discard):
 * closing must not cost a round trip. */
void conn_iter_close(lsmd_conn *c, uint64_t id);

/* ---- Options from the environment (conn_env.c) ---------------------------
 * lsmd_conn_options_init reads LSMD_QUEUE_DEPTH, LSMD_LARGE_BYTES (a size:
 * digits with an optional K, M or G suffix, powers of 1024) and
 * LSMD_SPIN_NS; a value it cannot read leaves a mark in the field
 * (CONN_OPT_BAD) that conn_options_check, at connect, turns into -EINVAL
 * and one line on stderr naming the variable and what it takes, instead
 * of a silent default. */
#define CONN_OPT_BAD32 UINT32_MAX
#define CONN_OPT_BAD64 UINT64_MAX
int conn_options_check(const lsmd_conn_options *o);

/* ---- Entries larger than the large region (big_entry.c) ----------------
 * The daemon iterator id stands at an entry a page could not hold (it
 * answered LSM_ETOOSMALL); conn_big_entry reads it with ITER_PIECE, one
 * large region at a time, into one malloc'd buffer the caller frees with
 * free(): with BIG_PAGE, laid out as a one-entry page ([u32 key_len][u32
 * val_len][key][value], *buf_bytes its size); with BIG_VALUE, the value
 * alone.  past: the last piece moves the iterator past the entry; *ended
 * is then whether that closed it (range exhausted).  The client's memory
 * for it is that one buffer: the segment never grows.
 * Errors: -ENOMEM (the iterator is left as it was), -EBADF, the
 * iterator's engine error, -ENOTCONN (a reply that contradicts the others
 * kills the connection). */
enum big_layout { BIG_PAGE, BIG_VALUE };
typedef struct big_entry {
    char *buf;
    size_t buf_bytes;
    size_t klen, vlen;
    bool ended;             /* past asked and the iterator is closed */
} big_entry;
int conn_big_entry(lsmd_conn *c, uint64_t id, enum big_layout layout, bool past,
                   big_entry *out);

/* ---- errors: last_error.h on the connection ---- */
/* Records a refusal's reason for lsmd_last_error; returns code. */
#define conn_fail(c, code, ...) conn_error_set(&(c)->err, (code), __VA_ARGS__)
/* 0 for a key of 1 .. LSM_MAX_KEY_SIZE bytes, else conn_fail(-EINVAL). */
static inline int conn_check_key(lsmd_conn *c, const void *key, size_t klen)
{
    return conn_error_check_key(&c->err, key, klen);
}
/* Forgets the last failure (a synchronous call starts). */
static inline void conn_error_reset(lsmd_conn *c)
{
    conn_error_clear(&c->err);
}
/* The reason of failed completion e into dst (conn_error_read_reason). */
static inline void conn_take_reason(lsmd_conn *c, const struct shm_cqe *e, char *dst)
{
    conn_error_read_reason(c->hdr, e, dst);
}
/* Records e's failure (status < 0) and reason as the last error. */
static inline void conn_error_from(lsmd_conn *c, const struct shm_cqe *e, const char *reason)
{
    conn_error_record(&c->err, e, reason);
}

/* The large region. */
static inline char *conn_large(lsmd_conn *c)
{
    return c->arena + c->large_off;
}

static inline uint32_t align8(uint32_t v)
{
    return (v + 7u) & ~7u;
}

#endif
