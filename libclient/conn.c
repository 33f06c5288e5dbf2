/* conn.c — attaching to lsmd and the request/completion plumbing shared by
 * every client call (conn.h, lsmd.h). */
#include "conn.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hello.h"
#include "wait.h"

/* ---- liveness ------------------------------------------------------------ */

void conn_kill(lsmd_conn *c, const char *why)
{
    if (!c->dead && why)
        fprintf(stderr, "lsmd client: connection %llu lost: %s\n",
                (unsigned long long)c->client_id, why);
    c->dead = -ENOTCONN;
}

int conn_alive(lsmd_conn *c)
{
    if (c->dead)
        return c->dead;
    /* Acquire: pairs with shm_session_end's release store. */
    uint32_t gone = __atomic_load_n(&c->hdr->daemon_gone, __ATOMIC_ACQUIRE);
    if (gone) {
        /* Expected events, reported by the error code, not on stderr. */
        conn_kill(c, NULL);
        return c->dead;
    }
    return 0;
}

/* Between sleep slices: also ask the kernel whether the socket hung up
 * (a crashed daemon never sets daemon_gone). */
static int check_liveness(void *ctx)
{
    lsmd_conn *c = ctx;
    int rc = conn_alive(c);
    if (rc)
        return rc;
    if (shm_hello_peer_alive(c->sock) < 0) {
        conn_kill(c, NULL); /* daemon exited or crashed */
        return c->dead;
    }
    return 0;
}

/* ---- completions --------------------------------------------------------- */

int conn_reap(lsmd_conn *c)
{
    for (;;) {
        int n = shm_ring_ready(&c->cq);
        if (n < 0) {
            conn_kill(c, "impossible completion ring index");
            return c->dead;
        }
        if (n == 0)
            return 0;
        for (int i = 0; i < n; i++) {
            struct shm_cqe e;
            memcpy(&e, shm_ring_peek(&c->cq, (uint32_t)i), sizeof(e));
            if (e.tag == SHM_TAG_LARGE) {
                c->sync_cqe = e;
                conn_take_reason(c, &e, c->sync_reason);
                c->sync_done = true;
            } else if (e.tag == SHM_TAG_DISCARD) {
                if (c->discards)
                    c->discards--;
            } else if (e.tag < c->nslots && c->slots[e.tag].state == SLOT_INFLIGHT) {
                uint32_t at = (c->pend_head + c->npending) % c->nslots;
                /* Now: the daemon reuses the reason's slot after more failures. */
                conn_take_reason(c, &e, c->pending_why[at]);
                c->slots[e.tag].state = SLOT_DONE;
                c->pending[at] = e;
                c->npending++;
            } else {
                shm_ring_consume(&c->cq, (uint32_t)i + 1);
                conn_kill(c, "completion for a request not in flight");
                return c->dead;
            }
        }
        shm_ring_consume(&c->cq, (uint32_t)n);
    }
}

static bool sync_ready(void *ctx)
{
    lsmd_conn *c = ctx;
    return c->dead || conn_reap(c) != 0 || c->sync_done;
}

static bool pending_ready(void *ctx)
{
    lsmd_conn *c = ctx;
    return c->dead || conn_reap(c) != 0 || c->npending > 0;
}

static bool sq_room(void *ctx)
{
    lsmd_conn *c = ctx;
    return c->dead || conn_reap(c) != 0 || shm_ring_space(&c->sq) != 0;
}

static bool discard_done(void *ctx)
{
    lsmd_conn *c = ctx;
    return c->dead || conn_reap(c) != 0 || c->discards < SHM_SQ_SPARE;
}

static int wait_for(lsmd_conn *c, shm_ready_fn ready, uint64_t spin_ns)
{
    struct shm_wait_policy p = {
        .spin_ns = spin_ns,
        .check = check_liveness,
        .check_ctx = c,
    };
    /* Whatever we wait for needs the daemon to run: wake it if it sleeps.
     * This is the [B] of every request pushed without one (async submits,
     * the synchronous call just pushed). */
    shm_wake(&c->hdr->daemon_sleeping);
    /* 0 once ready() held, even if the daemon is gone by now: a request
     * that completed keeps its result. */
    return shm_wait(&c->hdr->client_sleeping, ready, c, &p, NULL);
}

int conn_wait_sync(lsmd_conn *c, bool durable)
{
    /* A durable write's reply comes after an fdatasync, far longer than the
     * spin: spinning would only take a CPU the daemon's committer needs
     * (docs/tuning.md, "The service"). */
    return wait_for(c, sync_ready, durable ? 0 : c->spin_ns);
}

int conn_wait_pending(lsmd_conn *c)
{
    return wait_for(c, pending_ready, c->spin_ns);
}

int conn_submit(lsmd_conn *c, const struct shm_sqe *sqe)
{
    int rc = conn_push(c, sqe);
    if (rc == 0)
        shm_wake(&c->hdr->daemon_sleeping); /* [B]: pairs with the daemon's [A] */
    return rc;
}

int conn_submit_nofence(lsmd_conn *c, const struct shm_sqe *sqe)
{
    int rc = conn_push(c, sqe);
    /* Without fence [B] this load may miss a daemon that is just going to
     * sleep; every wait (wait_for, lsmd_poll's included) starts with the
     * full shm_wake, so the request is never stranded while its caller
     * waits for it. */
    if (rc == 0 && __atomic_load_n(&c->hdr->daemon_sleeping, __ATOMIC_RELAXED))
        shm_wake(&c->hdr->daemon_sleeping);
    return rc;
}

int conn_push(lsmd_conn *c, const struct shm_sqe *sqe)
{
    int space = shm_ring_space_min(&c->sq, 1);
    if (space == 0) {
        /* Only fire-and-forget requests can fill the ring; the daemon
         * drains it as we consume completions. */
        int rc = wait_for(c, sq_room, c->spin_ns);
        if (rc || c->dead)
            return rc ? rc : c->dead;
        space = shm_ring_space(&c->sq);
    }
    if (space < 0) {
        conn_kill(c, "impossible submission ring index");
        return c->dead;
    }
    memcpy(shm_ring_slot(&c->sq, 0), sqe, sizeof(*sqe));
    shm_ring_publish(&c->sq, 1); /* release: pairs with the daemon's acquire of sq_tail */
    return 0;
}

/* Pushes the synchronous request; wake: also wake a sleeping daemon now
 * (a caller that waits at once leaves that to the wait). */
static int call_push(lsmd_conn *c, struct shm_sqe *sqe, bool wake)
{
    int rc = conn_alive(c);
    if (rc)
        return rc;
    conn_error_reset(c);
    sqe->tag = SHM_TAG_LARGE;
    c->sync_done = false;
    return wake ? conn_submit(c, sqe) : conn_push(c, sqe);
}

int conn_call_begin(lsmd_conn *c, struct shm_sqe *sqe)
{
    return call_push(c, sqe, true);
}

int conn_call_end(lsmd_conn *c, const struct shm_sqe *sqe, struct shm_cqe *cqe)
{
    int rc = conn_wait_sync(c, (sqe->flags & SHM_SQ_SYNC) != 0);
    if (rc)
        return rc;
    if (!c->sync_done)
        return c->dead ? c->dead : -EPROTO;
    *cqe = c->sync_cqe;
    conn_error_from(c, cqe, c->sync_reason);
    return 0;
}

int conn_call(lsmd_conn *c, struct shm_sqe *sqe, struct shm_cqe *cqe)
{
    int rc = call_push(c, sqe, false); /* conn_call_end's wait wakes the daemon */
    return rc ? rc : conn_call_end(c, sqe, cqe);
}

int conn_call_out(lsmd_conn *c, struct shm_sqe *sqe, struct shm_cqe *cqe)
{
    sqe->out_off = c->large_off;
    sqe->out_cap = c->large_bytes;
    int rc = conn_call(c, sqe, cqe);
    if (rc)
        return rc;
    return cqe->status == LSM_ETOOSMALL ? -E2BIG : cqe->status;
}

int conn_send_discard(lsmd_conn *c, struct shm_sqe *sqe)
{
    int rc = conn_alive(c);
    if (rc)
        return rc;
    while (c->discards >= SHM_SQ_SPARE) {
        /* Bounded: at most SHM_SQ_SPARE unanswered discards in flight. */
        rc = conn_reap(c);
        if (rc)
            return rc;
        if (c->discards >= SHM_SQ_SPARE) {
            rc = wait_for(c, discard_done, c->spin_ns);
            if (rc || c->dead)
                return rc ? rc : c->dead;
        }
    }
    sqe->tag = SHM_TAG_DISCARD;
    rc = conn_submit(c, sqe);
    if (rc == 0)
        c->discards++;
    return rc;
}

void conn_iter_close(lsmd_conn *c, uint64_t id)
{
    struct shm_sqe sqe = { .opcode = SHM_OP_ITER_CLOSE, .arg0 = id };
    (void)conn_send_discard(c, &sqe);
}

/* ---- attach -------------------------------------------------------------- */

/* The header the daemon wrote must match the layout implied by the sizes it
 * granted in the reply: anything else is not a conforming daemon. */
static int check_header(const struct shm_seg_header *h, const struct shm_hello_rep *rep)
{
    struct shm_layout l;
    if (shm_layout_compute(rep->queue_depth, rep->slot_bytes, rep->large_bytes, &l))
        return -EPROTO;
    if (h->magic != SHM_SEG_MAGIC || h->version != SHM_PROTO_VERSION ||
        h->header_bytes != SHM_HDR_BYTES || h->segment_bytes != l.segment_bytes ||
        h->client_id != rep->client_id || h->sq_off != l.sq_off ||
        h->sq_entries != l.sq_entries || h->cq_off != l.cq_off ||
        h->cq_entries != l.cq_entries || h->arena_off != l.arena_off ||
        h->arena_bytes != l.arena_bytes || h->slot_bytes != l.slot_bytes ||
        h->nslots != l.nslots || h->large_off != l.large_off ||
        h->large_bytes != l.large_bytes || h->queue_depth != l.queue_depth ||
        h->sqe_size != sizeof(struct shm_sqe) || h->cqe_size != sizeof(struct shm_cqe))
        return -EPROTO;
    return 0;
}

static int setup_slots(lsmd_conn *c)
{
    c->slots = calloc(c->nslots, sizeof(*c->slots));
    c->free_slots = malloc(c->nslots * sizeof(*c->free_slots));
    c->delivered = malloc(c->nslots * sizeof(*c->delivered));
    c->pending = malloc(c->nslots * sizeof(*c->pending));
    c->pending_why = malloc(c->nslots * sizeof(*c->pending_why));
    if (!c->slots || !c->free_slots || !c->delivered || !c->pending || !c->pending_why)
        return -ENOMEM;
    /* Highest index at the bottom: slot 0 is handed out first. */
    for (uint32_t i = 0; i < c->nslots; i++)
        c->free_slots[i] = c->nslots - 1 - i;
    c->nfree = c->nslots;
    return 0;
}

static void conn_free(lsmd_conn *c)
{
    if (c->sock >= 0)
        close(c->sock);
    shm_segment_close(&c->seg);
    shm_dir_close(&c->dir);
    free(c->slots);
    free(c->free_slots);
    free(c->delivered);
    free(c->pending);
    free(c->pending_why);
    free(c);
}

int lsmd_connect(const char *socket_path, lsmd_conn **out)
{
    return lsmd_connect_opts(socket_path, NULL, out);
}

int lsmd_connect_opts(const char *socket_path, const lsmd_conn_options *o,
                      lsmd_conn **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    lsmd_conn_options def;
    if (!o) {
        lsmd_conn_options_init(&def);
        o = &def;
    }
    int bad = conn_options_check(o);
    if (bad)
        return bad;
    char path[PATH_MAX];
    int prc = lsmd_socket_path(socket_path, path, sizeof path);
    if (prc)
        return prc;
    socket_path = path;
    lsmd_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->sock = -1;
    c->seg.fd = -1;
    c->dir.seg.fd = -1;
    struct shm_hello_req req;
    shm_hello_req_init(&req, o->queue_depth, o->slot_bytes, o->large_bytes);
    struct shm_hello_rep rep;
    int seg_fd, dir_fd, rc;
    /* -EAGAIN: too many connections were waiting for their hello (a burst
     * of connects); the daemon asks us to retry, so we do, with a growing
     * pause, within the handshake timeout. */
    uint64_t give_up = shm_now_ns() + (uint64_t)(o->connect_timeout_ms > 0
                                                     ? o->connect_timeout_ms : 10000) * 1000000u;
    for (unsigned attempt = 0;; attempt++) {
        rc = shm_hello_connect(socket_path);
        if (rc < 0)
            goto fail;
        c->sock = rc;
        rc = shm_hello_client(c->sock, &req, &rep, &seg_fd, &dir_fd, o->connect_timeout_ms);
        if (rc)
            goto fail;
        if (rep.status != -EAGAIN || shm_now_ns() >= give_up)
            break;
        close(c->sock);
        c->sock = -1;
        usleep(1000u << (attempt < 5 ? attempt : 5)); /* 1 .. 32 ms */
    }
    if (rep.status != 0) {
        rc = rep.status;
        if (rc == -EPROTO && rep.version != SHM_PROTO_VERSION)
            fprintf(stderr, "lsmd client: protocol version mismatch: client %u, daemon %u (%s)\n",
                    SHM_PROTO_VERSION, rep.version, rep.message);
        else
            fprintf(stderr, "lsmd client: %s refused the connection: %s\n",
                    socket_path, rep.message[0] ? rep.message : strerror(-rc));
        goto fail;
    }
    rc = shm_segment_map(seg_fd, rep.segment_bytes, PROT_READ | PROT_WRITE, &c->seg);
    if (rc) {
        close(dir_fd);
        goto fail;
    }
    rc = shm_dir_map(dir_fd, &c->dir);
    if (rc)
        goto fail;
    c->hdr = c->seg.base;
    rc = check_header(c->hdr, &rep);
    if (rc) {
        fprintf(stderr, "lsmd client: the segment from %s does not match its hello\n",
                socket_path);
        goto fail;
    }
    struct shm_seg_header *h = c->hdr;
    char *base = c->seg.base;
    shm_ring_init(&c->sq, &h->sq_head, &h->sq_tail, base + h->sq_off, h->sq_entries,
                  sizeof(struct shm_sqe), true);
    shm_ring_init(&c->cq, &h->cq_head, &h->cq_tail, base + h->cq_off, h->cq_entries,
                  sizeof(struct shm_cqe), false);
    c->arena = base + h->arena_off;
    c->arena_bytes = h->arena_bytes;
    c->slot_bytes = h->slot_bytes;
    c->nslots = h->nslots;
    c->large_off = h->large_off;
    c->large_bytes = h->large_bytes;
    c->qd = h->queue_depth;
    c->client_id = h->client_id;
    c->spin_ns = o->spin_ns;
    rc = setup_slots(c);
    if (rc)
        goto fail;
    *out = c;
    return 0;
fail:
    conn_free(c);
    return rc;
}

void lsmd_disconnect(lsmd_conn *c)
{
    if (c)
        conn_free(c);
}

uint64_t lsmd_client_id(const lsmd_conn *c) { return c->client_id; }
uint32_t lsmd_queue_depth(const lsmd_conn *c) { return c->qd; }
size_t lsmd_max_request_bytes(const lsmd_conn *c) { return c->large_bytes; }

int lsmd_ping(lsmd_conn *c)
{
    struct shm_sqe sqe = { .opcode = SHM_OP_PING };
    struct shm_cqe cqe;
    int rc = conn_call(c, &sqe, &cqe);
    return rc ? rc : cqe.status;
}

const char *lsmd_last_error(const lsmd_conn *c)
{
    if (!c)
        return "no connection";
    const char *t = conn_error_text(&c->err);
    return t ? t : lsmd_strerror(c->err.code);
}

const char *lsmd_strerror(int err)
{
    switch (err) {
    case -ENOTCONN: return "not connected: the lsmd daemon is gone (reconnect)";
    case -EPROTO: return "protocol error: client and daemon versions differ or the daemon sent invalid data";
    case -E2BIG: return "request larger than the connection's shared-memory region";
    case -EBUSY: return "busy: queue depth reached (poll for completions first), or an admin "
                        "request of this connection is still running";
    case -EPERM: return "permission denied: admin operations need the daemon's uid or a "
                        "uid/gid in admin_uids/admin_gids";
    case -ESRCH: return "no such snapshot (not published or not held)";
    case -ESHUTDOWN: return "the daemon is shutting down";
    case -EMFILE: return "a limit of the daemon was reached (snapshots, iterators or sessions of this connection, of its uid, or in all); release some or see the daemon's log";
    default: return lsm_strerror(err); /* the engine's codes, and errno */
    }
}
