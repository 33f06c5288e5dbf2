/* server.c — the daemon's side of the transport (server.h). */
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hello.h"
#include "ring.h"
#include "segment.h"
#include "validate.h"
#include "wait.h"

struct shm_session {
    struct shm_segment seg;
    struct shm_seg_header *hdr;
    struct shm_ring sq;         /* we consume */
    struct shm_ring cq;         /* we produce */
    char *arena;
    struct shm_layout lay;
    uint64_t client_id;
    int numa_node;
    uint32_t inflight;          /* handed out by next(), not yet completed */
    uint32_t reason_seq;        /* the last reason written (protocol.h "Reasons") */
    int ended;
    struct shm_session_stats st;
};

void shm_server_limits_init(struct shm_server_limits *l)
{
    l->default_queue_depth = SHM_DEFAULT_QUEUE_DEPTH;
    l->max_queue_depth = SHM_MAX_QUEUE_DEPTH;
    l->default_slot_bytes = SHM_DEFAULT_SLOT_BYTES;
    l->max_slot_bytes = SHM_MAX_SLOT_BYTES;
    l->default_large_bytes = SHM_DEFAULT_LARGE_BYTES;
    l->max_large_bytes = SHM_MAX_LARGE_BYTES;
}

/* Requested value: 0 -> default, else clamped into [min, max]. */
static uint32_t grant(uint32_t asked, uint32_t def, uint32_t min, uint32_t max)
{
    uint32_t v = asked ? asked : def;
    if (v > max)
        v = max;
    if (v < min)
        v = min;
    return v;
}

int shm_session_create(const struct shm_hello_req *req,
                       const struct shm_server_limits *lim, uint64_t client_id,
                       int numa_node, struct shm_session **out, const char **why)
{
    const char *w = NULL;
    *out = NULL;
    struct shm_server_limits d;
    if (!lim) {
        shm_server_limits_init(&d);
        lim = &d;
    }
    if (lim->max_queue_depth < 1 || lim->max_queue_depth > SHM_MAX_QUEUE_DEPTH ||
        lim->max_slot_bytes > SHM_MAX_SLOT_BYTES || lim->max_slot_bytes < SHM_MIN_SLOT_BYTES ||
        lim->max_large_bytes > SHM_MAX_LARGE_BYTES || lim->max_large_bytes < SHM_MIN_LARGE_BYTES) {
        if (why)
            *why = "server limits outside the protocol's";
        return -EINVAL;
    }
    uint32_t qd = grant(req->queue_depth, lim->default_queue_depth, 1, lim->max_queue_depth);
    uint32_t slot = grant(req->slot_bytes, lim->default_slot_bytes, SHM_MIN_SLOT_BYTES,
                          lim->max_slot_bytes);
    uint32_t large = grant(req->large_bytes, lim->default_large_bytes, SHM_MIN_LARGE_BYTES,
                           lim->max_large_bytes);
    struct shm_session *s = calloc(1, sizeof(*s));
    if (!s) {
        if (why)
            *why = "out of memory";
        return -ENOMEM;
    }
    s->seg.fd = -1;
    int rc = shm_layout_compute(qd, slot, large, &s->lay);
    if (rc) {
        w = "segment would exceed 4 GiB";
        goto fail;
    }
    char name[48];
    snprintf(name, sizeof(name), "lsmd-client-%llu", (unsigned long long)client_id);
    rc = shm_segment_create(name, s->lay.segment_bytes, 0, numa_node, &s->seg);
    if (rc) {
        w = "cannot create the segment (memfd/mmap)";
        goto fail;
    }
    struct shm_seg_header *h = s->seg.base;
    s->hdr = h;
    /* The client cannot see the segment until welcome: plain stores. */
    h->magic = SHM_SEG_MAGIC;
    h->version = SHM_PROTO_VERSION;
    h->header_bytes = SHM_HDR_BYTES;
    h->segment_bytes = s->lay.segment_bytes;
    h->client_id = client_id;
    h->sq_off = s->lay.sq_off;
    h->sq_entries = s->lay.sq_entries;
    h->cq_off = s->lay.cq_off;
    h->cq_entries = s->lay.cq_entries;
    h->arena_off = s->lay.arena_off;
    h->arena_bytes = s->lay.arena_bytes;
    h->slot_bytes = s->lay.slot_bytes;
    h->nslots = s->lay.nslots;
    h->large_off = s->lay.large_off;
    h->large_bytes = s->lay.large_bytes;
    h->queue_depth = s->lay.queue_depth;
    h->sqe_size = sizeof(struct shm_sqe);
    h->cqe_size = sizeof(struct shm_cqe);
    h->daemon_pid = (uint32_t)getpid();
    char *base = s->seg.base;
    shm_ring_init(&s->sq, &h->sq_head, &h->sq_tail, base + s->lay.sq_off,
                  s->lay.sq_entries, sizeof(struct shm_sqe), false);
    shm_ring_init(&s->cq, &h->cq_head, &h->cq_tail, base + s->lay.cq_off,
                  s->lay.cq_entries, sizeof(struct shm_cqe), true);
    s->arena = base + s->lay.arena_off;
    s->client_id = client_id;
    s->numa_node = numa_node;
    *out = s;
    if (why)
        *why = NULL;
    return 0;
fail:
    shm_segment_close(&s->seg);
    free(s);
    if (why)
        *why = w;
    return rc;
}

void shm_session_reply(const struct shm_session *s, struct shm_hello_rep *rep)
{
    memset(rep, 0, sizeof(*rep));
    rep->magic = SHM_HELLO_REP_MAGIC;
    rep->version = SHM_PROTO_VERSION;
    rep->status = 0;
    rep->size = sizeof(*rep);
    rep->daemon_pid = (uint32_t)getpid();
    rep->client_id = s->client_id;
    rep->segment_bytes = s->lay.segment_bytes;
    rep->queue_depth = s->lay.queue_depth;
    rep->slot_bytes = s->lay.slot_bytes;
    rep->large_bytes = s->lay.large_bytes;
    rep->numa_node = s->numa_node;
    rep->max_queue_depth = SHM_MAX_QUEUE_DEPTH;
    rep->max_large_bytes = SHM_MAX_LARGE_BYTES;
}

int shm_session_welcome(struct shm_session *s, int sock, int dir_fd)
{
    struct shm_hello_rep rep;
    shm_session_reply(s, &rep);
    struct stat st;
    if (dir_fd < 0 || fstat(dir_fd, &st) != 0)
        return -EBADF;
    rep.directory_bytes = (uint64_t)st.st_size;
    return shm_hello_server_accept(sock, &rep, s->seg.fd, dir_fd);
}

/* Posts a completion; REQUIRES room (guaranteed by next()'s reservation). */
static int post(struct shm_session *s, const struct shm_cqe *cqe)
{
    if (s->inflight == 0)
        return -ENOSPC;
    int space = shm_ring_space_min(&s->cq, 1);
    if (space < 0)
        return space;
    if (space == 0)
        return -EPROTO; /* only a client lying about cq_head gets here */
    memcpy(shm_ring_slot(&s->cq, 0), cqe, sizeof(*cqe));
    shm_ring_publish(&s->cq, 1); /* release: pairs with the client's acquire of cq_tail */
    s->inflight--;
    return 0;
}

int shm_session_next(struct shm_session *s, struct shm_sqe *sqe)
{
    for (;;) {
        /* Reserve: hand out a request only if a completion for it and for
         * every one already handed out fits in the CQ. */
        int space = shm_ring_space_min(&s->cq, s->inflight + 1);
        if (space < 0)
            return space;
        if ((uint32_t)space <= s->inflight)
            return 0;
        int ready = shm_ring_ready(&s->sq);
        if (ready <= 0)
            return ready; /* 0: empty; -EPROTO: impossible sq_tail */
        /* Read once: after this copy, the shared entry is never looked at
         * again; consuming it lets the client reuse it. */
        shm_sqe_read(shm_ring_peek(&s->sq, 0), sqe);
        shm_ring_consume(&s->sq, 1);
        s->inflight++;
        const char *why;
        int rc = shm_validate_sqe(sqe, s->lay.arena_bytes, &why);
        if (rc == 0) {
            s->st.requests++;
            return 1;
        }
        s->st.rejected++;
        s->st.last_reject = why;
        struct shm_cqe c = { .tag = sqe->tag, .status = rc };
        char text[SHM_REASON_TEXT];
        shm_validate_explain(sqe, why, text, sizeof text);
        shm_session_reason(s, &c, text);
        rc = post(s, &c);
        if (rc)
            return rc;
        shm_session_wake_client(s);
    }
}

char *shm_session_arena(struct shm_session *s)
{
    return s->arena;
}

uint64_t shm_session_arena_bytes(const struct shm_session *s)
{
    return s->lay.arena_bytes;
}

int shm_session_post(struct shm_session *s, const struct shm_cqe *cqe)
{
    return post(s, cqe);
}

void shm_session_wake_client(struct shm_session *s)
{
    /* shm_wake's fence [B] orders the cq_tail release above before the
     * load of client_sleeping; pairs with the client's [A]. */
    if (shm_wake(&s->hdr->client_sleeping))
        s->st.wakes++;
}

void shm_session_reason(struct shm_session *s, struct shm_cqe *cqe, const char *why)
{
    if (!why || !*why || cqe->status >= 0)
        return;
    if (++s->reason_seq == 0)
        s->reason_seq = 1; /* 0 marks a slot being written */
    uint32_t n = s->reason_seq;
    struct shm_reason *r =
        (struct shm_reason *)((char *)s->hdr + SHM_REASON_OFF) + n % SHM_REASON_SLOTS;
    size_t len = strnlen(why, SHM_REASON_TEXT - 1);
    __atomic_store_n(&r->seq, 0, __ATOMIC_RELAXED);
    /* Pairs with the client's acquire fence before its second seq load: a
     * client that copies the text while it changes sees seq != n after. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    r->len = (uint32_t)len;
    memcpy(r->text, why, len);
    r->text[len] = '\0';
    /* Pairs with the client's acquire load of seq: the text is there. */
    __atomic_store_n(&r->seq, n, __ATOMIC_RELEASE);
    cqe->flags |= SHM_CQ_REASON;
    cqe->aux = n;
}

int shm_session_complete(struct shm_session *s, const struct shm_cqe *cqe)
{
    int rc = post(s, cqe);
    if (rc == 0)
        shm_session_wake_client(s);
    return rc;
}

bool shm_session_has_work(const struct shm_session *s)
{
    return !shm_ring_empty(&s->sq);
}

uint32_t shm_session_inflight(const struct shm_session *s)
{
    return s->inflight;
}

void shm_session_end(struct shm_session *s, int reason)
{
    if (s->ended)
        return;
    s->ended = 1;
    /* Release: pairs with the client's acquire load of daemon_gone in its
     * liveness check; then wake it so it looks now, not after a slice. */
    __atomic_store_n(&s->hdr->daemon_gone, (uint32_t)(reason > 0 ? reason : ESHUTDOWN),
                     __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(&s->hdr->client_sleeping, 0u, __ATOMIC_RELAXED);
    shm_futex_wake(&s->hdr->client_sleeping, 1);
}

void shm_session_destroy(struct shm_session *s)
{
    if (!s)
        return;
    shm_segment_close(&s->seg);
    free(s);
}

void shm_session_stats(const struct shm_session *s, struct shm_session_stats *st)
{
    *st = s->st;
}

uint64_t shm_session_client_id(const struct shm_session *s) { return s->client_id; }
uint32_t shm_session_queue_depth(const struct shm_session *s) { return s->lay.queue_depth; }
int shm_session_segment_fd(const struct shm_session *s) { return s->seg.fd; }
void *shm_session_base(const struct shm_session *s) { return s->seg.base; }
uint64_t shm_session_size(const struct shm_session *s) { return s->lay.segment_bytes; }

/* ---- waiting across sessions ------------------------------------------- */

static bool any_work(struct shm_session *const ss[], int n, const uint32_t *kick,
                     uint32_t kick_seen)
{
    if (kick && __atomic_load_n(kick, __ATOMIC_ACQUIRE) != kick_seen)
        return true;
    for (int i = 0; i < n; i++)
        if (ss[i] && !ss[i]->ended && shm_session_has_work(ss[i]))
            return true;
    return false;
}

static void announce_all(struct shm_session *const ss[], int n, bool on)
{
    for (int i = 0; i < n; i++) {
        if (!ss[i] || ss[i]->ended)
            continue;
        if (on)
            __atomic_store_n(&ss[i]->hdr->daemon_sleeping, 1u, __ATOMIC_RELAXED);
        else
            shm_sleep_cancel(&ss[i]->hdr->daemon_sleeping);
    }
}

int shm_server_wait(struct shm_session *const ss[], int n, uint32_t *kick,
                    uint32_t kick_seen, uint64_t spin_ns, uint64_t timeout_ns)
{
    uint64_t start = shm_now_ns();
    if (any_work(ss, n, kick, kick_seen))
        return 1;
    if (spin_ns) {
        for (unsigned i = 1;; i++) {
            shm_cpu_relax();
            if (any_work(ss, n, kick, kick_seen))
                return 1;
            if ((i & 15) == 0 && shm_now_ns() - start >= spin_ns)
                break;
        }
    }
    announce_all(ss, n, true);
    /* [A] for every session at once: the daemon_sleeping stores above are
     * ordered before the re-check loads; pairs with each client's [B] in
     * shm_wake after it publishes sq_tail. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (any_work(ss, n, kick, kick_seen)) {
        announce_all(ss, n, false);
        return 1;
    }
    uint32_t *words[SHM_WAITV_MAX];
    uint32_t expect[SHM_WAITV_MAX];
    int k = 0;
    if (kick) {
        words[k] = kick;
        expect[k++] = kick_seen;
    }
    bool fits = true;
    for (int i = 0; i < n; i++) {
        if (!ss[i] || ss[i]->ended)
            continue;
        if (k == SHM_WAITV_MAX) {
            fits = false;
            break;
        }
        words[k] = &ss[i]->hdr->daemon_sleeping;
        expect[k++] = 1u;
    }
    uint64_t remaining = 0;
    if (timeout_ns) {
        uint64_t spent = shm_now_ns() - start;
        remaining = spent >= timeout_ns ? 1 : timeout_ns - spent;
    }
    int rc = 0;
    if (fits && k > 0) {
        rc = shm_futex_waitv(words, expect, k, 0, remaining);
        if (rc == -ENOSYS)
            fits = false;
    }
    if (!fits || k == 0) {
        /* Too many sessions for one futex_waitv, or an old kernel: sleep in
         * short slices on the first word and poll the rest. */
        uint64_t slice = 200000; /* 200 us */
        if (remaining && remaining < slice)
            slice = remaining;
        if (k > 0)
            rc = shm_futex_wait(words[0], expect[0], slice);
        else
            rc = usleep((useconds_t)(slice / 1000)) ? -errno : -ETIMEDOUT;
        if (rc == -ETIMEDOUT && (!remaining || shm_now_ns() - start < timeout_ns))
            rc = 0; /* a slice, not the caller's timeout: report "look again" */
    }
    announce_all(ss, n, false);
    if (rc == -ETIMEDOUT)
        return any_work(ss, n, kick, kick_seen) ? 1 : 0;
    if (rc == -EINTR)
        return 1;
    return rc < 0 ? rc : 1;
}

void shm_server_kick(uint32_t *kick)
{
    __atomic_fetch_add(kick, 1u, __ATOMIC_RELEASE);
    shm_futex_wake(kick, 1);
}

/* ---- pages ---------------------------------------------------------------- */

int shm_page_append(void *page, uint32_t cap, uint32_t *used, const void *key,
                    uint32_t klen, const void *val, uint32_t vlen)
{
    uint64_t need = (uint64_t)SHM_PAGE_ENTRY_HDR + klen + vlen;
    if (*used > cap || need > cap - *used)
        return -ENOSPC;
    char *p = (char *)page + *used;
    memcpy(p, &klen, 4);
    memcpy(p + 4, &vlen, 4);
    memcpy(p + 8, key, klen);
    if (vlen)
        memcpy(p + 8 + klen, val, vlen);
    *used += (uint32_t)need;
    return 0;
}
