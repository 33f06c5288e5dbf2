/*
 * worker.c — see worker.h.
 *
 * One pass of the loop: pick up new sessions, detach dying ones, take up
 * to ROUND_MAX requests from each session, serve them and wake the client,
 * then start the write group (batcher.h).  When a pass finds nothing
 * the worker waits in shm_server_wait (spin, then futex_waitv on every
 * session's daemon_sleeping word plus its own kick word), or sleeps at
 * once when a spin would not pay (see worker_main).  A session whose
 * completion ring is full (a client that does not read its completions)
 * would look busy forever, so it is left out of the wait and re-polled
 * every STALL_POLL_NS instead.
 *
 * Gets never wait for the disk here: they go through the worker's parked
 * table (parked.h), made on this thread after its NUMA binding.  A pass
 * also posts the replies of parked gets that finished; a worker about to
 * sleep with gets parked arms the table's completion watcher, which kicks
 * it when a read completes (parked.h, "Waiting").
 *
 * Iterator pages of a session whose last page waited long for file reads
 * go to the worker's iterator lane (iter_lane.h), a thread that serves
 * them while the worker serves everyone else; the session is held
 * meanwhile (none of its requests taken, not detached) and the lane kicks
 * the worker when it releases it.
 */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin_queue.h"
#include "base/log.h"
#include "session.h"
#include "validate.h"
#include "wait.h"
#include "batcher.h"
#include "iter_lane.h"
#include "iter_ops.h"
#include "get_option.h"
#include "multi_get.h"
#include "parked.h"
#include "put_pieces.h"

#define ROUND_MAX 32                    /* requests from one session per pass */
#define STALL_POLL_NS 1000000u          /* re-poll of stalled sessions */
#define DRAIN_MAX_NS 5000000000ull      /* bound on the shutdown drain */
#define SPIN_LATE_MAX 4                 /* late waits before spinning stops */
#define SPIN_PROBE 32                   /* then spin once per this many waits */
#define WAKE_SLACK_NS 100000u           /* futex wake-up allowance */

struct worker {
    daemon_ctx *d;
    int index, node;
    pthread_t thread;
    bool started;
    uint32_t kick;                 /* futex word: shm_server_kick */
    _Atomic int stop;
    _Atomic int cpu;
    _Atomic int nsessions;

    pthread_mutex_t inbox_mu;
    session **inbox;               /* [inbox_mu] sessions to adopt */
    size_t ninbox, cap_inbox;

    /* worker thread only */
    session **sessions;
    struct shm_session **ss;       /* wait set, parallel to sessions */
    int n, cap;
    batcher *writes;                /* group commit of this worker's writes */
    iter_lane *iters;              /* iterator pages that read files */
    parked *parked;                /* gets in flight; NULL: gets block */
    char *scratch;                 /* private copies of keys */
    size_t scratch_cap;
    iter_retired retired;          /* iterators awaiting release */

    unsigned late, waits;          /* idle waits: late in a row, all */

    _Atomic uint64_t requests, sleeps, parked_gets;
};

/* ---- small helpers -------------------------------------------------------- */

static char *scratch(worker *w, size_t n)
{
    if (n > w->scratch_cap) {
        size_t cap = w->scratch_cap ? w->scratch_cap : 4096;
        while (cap < n)
            cap *= 2;
        char *p = realloc(w->scratch, cap);
        if (!p)
            return NULL;
        w->scratch = p;
        w->scratch_cap = cap;
    }
    return w->scratch;
}

/* Posts one completion; the client is woken at the end of its turn. */
static void complete(session *s, const struct shm_cqe *c)
{
    session_post(s, c);
    s->need_wake = true;
}

static void complete_status(session *s, uint32_t tag, int status)
{
    struct shm_cqe c = { .tag = tag, .status = status };
    complete(s, &c);
}

/* The reason an admin request was not queued (admin_queue_submit). */
static const char *admin_refusal(int rc)
{
    switch (rc) {
    case -EPERM: return "permission denied: an admin request needs the daemon's uid, or a uid "
                        "or group in admin_uids/admin_gids";
    case -EBUSY: return "another admin request of this connection is still running";
    default: return NULL;
    }
}

static void wake(session *s)
{
    if (s->need_wake) {
        s->need_wake = false;
        session_wake(s);
    }
}

/* ---- reads ---------------------------------------------------------------- */

static void op_get(worker *w, session *s, const struct shm_sqe *q)
{
    struct shm_cqe c = { .tag = q->tag };
    const lsm_snapshot *snap = NULL;
    if (q->arg0) {
        c.status = snapreg_ref(w->d->snaps, s->id, q->arg0, &snap);
        if (c.status) {
            complete(s, &c);
            return;
        }
    }
    /* The key is read once into private memory: the engine compares it many
     * times and must not see it change. */
    char *key = scratch(w, q->key_len);
    if (!key) {
        c.status = -ENOMEM;
    } else {
        char *arena = shm_session_arena(s->shm);
        memcpy(key, arena + q->key_off, q->key_len);
        /* The value is copied once, from the memtable or the block cache
         * straight into the client's arena. */
        size_t n = 0;
        c.status = lsm_get_into(w->d->db, snap, key, q->key_len, arena + q->out_off,
                                q->out_cap, &n);
        c.r0 = n;
    }
    if (snap)
        snapreg_unref(w->d->snaps, q->arg0);
    complete(s, &c);
}

/* ---- snapshots ------------------------------------------------------------ */

static void op_snap_list(worker *w, session *s, const struct shm_sqe *q)
{
    struct shm_cqe c = { .tag = q->tag };
    size_t fit = q->out_cap / sizeof(struct shm_dir_entry);
    snapreg_info *tmp = fit ? malloc(fit * sizeof *tmp) : NULL;
    if (fit && !tmp) {
        c.status = -ENOMEM;
        complete(s, &c);
        return;
    }
    size_t total = snapreg_list(w->d->snaps, tmp, fit);
    size_t n = total < fit ? total : fit;
    char *out = shm_session_arena(s->shm) + q->out_off;
    for (size_t i = 0; i < n; i++) {
        struct shm_dir_entry e = {
            .id = tmp[i].id, .sequence = snapreg_sequence_of(tmp[i].id),
            .holders = tmp[i].holders,
            .flags = SHM_DIR_LIVE, .created_ns = tmp[i].created_ns,
            .creator_id = tmp[i].creator, .creator_pid = tmp[i].creator_pid,
        };
        memcpy(out + i * sizeof e, &e, sizeof e);
    }
    free(tmp);
    c.r0 = n;
    c.r1 = total;
    c.status = total > n ? LSM_ETOOSMALL : 0;
    complete(s, &c);
}

static void op_snap(worker *w, session *s, const struct shm_sqe *q)
{
    struct shm_cqe c = { .tag = q->tag };
    switch (q->opcode) {
    case SHM_OP_SNAP_ACQUIRE:
        c.status = snapreg_acquire(w->d->snaps, s->id, s->uid, (uint32_t)s->pid, &c.r0);
        c.r1 = snapreg_sequence_of(c.r0);
        break;
    case SHM_OP_SNAP_HOLD:
        c.status = snapreg_hold(w->d->snaps, s->id, s->uid, q->arg0);
        break;
    case SHM_OP_SNAP_RELEASE:
        c.status = snapreg_release(w->d->snaps, s->id, q->arg0);
        break;
    default:
        op_snap_list(w, s, q);
        return;
    }
    complete(s, &c);
}

/* ---- dispatch ------------------------------------------------------------- */

static void dispatch(worker *w, session *s, const struct shm_sqe *q)
{
    atomic_fetch_add_explicit(&s->ops, 1, memory_order_relaxed);
    switch (q->opcode) {
    case SHM_OP_PUT:
    case SHM_OP_DELETE:
    case SHM_OP_WRITE_BATCH:
        batcher_add(w->writes, s, q);
        return;
    case SHM_OP_PUT_PIECE: /* no write until its last piece */
        put_piece_serve(w->writes, s, q);
        return;
    default:
        break;
    }
    /* Anything else sees this session's earlier writes. */
    batcher_settle(w->writes, s);
    switch (q->opcode) {
    case SHM_OP_PING: {
        struct shm_cqe c = { .tag = q->tag, .r0 = (uint64_t)getpid() };
        complete(s, &c);
        return;
    }
    case SHM_OP_GET:
        switch (w->parked ? parked_get(w->parked, s, q) : PARKED_FULL) {
        case PARKED_FULL: /* no table, or 256 reads in flight: this one waits */
            op_get(w, s, q);
            break;
        case PARKED_PARKED:
            atomic_fetch_add_explicit(&w->parked_gets, 1, memory_order_relaxed);
            break;
        case PARKED_ANSWERED:
            break;
        }
        return;
    case SHM_OP_MULTI_GET: { /* blocks for one batch of reads: multi_get.h */
        struct shm_cqe c;
        multi_get_serve(w->d, s, q, &c);
        complete(s, &c);
        return;
    }
    case SHM_OP_SNAP_ACQUIRE:
    case SHM_OP_SNAP_HOLD:
    case SHM_OP_SNAP_RELEASE:
    case SHM_OP_SNAP_LIST:
        op_snap(w, s, q);
        return;
    case SHM_OP_ITER_OPEN:
    case SHM_OP_ITER_NEXT:
    case SHM_OP_ITER_CLOSE:
    case SHM_OP_ITER_SCAN:
    case SHM_OP_ITER_PIECE:
        iter_lane_inline(w->d, &w->retired, s, q);
        return;
    case SHM_OP_GET_OPTION: { /* quick and read-only: get_option.h */
        struct shm_cqe c = { .tag = q->tag };
        char why[SHM_REASON_TEXT];
        get_option_serve(w->d, s, q, &c, why, sizeof why);
        session_post_why(s, &c, why);
        s->need_wake = true;
        return;
    }
    case SHM_OP_FLUSH:
    case SHM_OP_COMPACT:
    case SHM_OP_SET_OPTION:
    case SHM_OP_STATS:
    case SHM_OP_CHANGES:
    case SHM_OP_CHECKPOINT: {
        int rc = admin_queue_submit(w->d->admin_queue, s, q);
        if (rc) {
            struct shm_cqe c = { .tag = q->tag, .status = rc };
            session_post_why(s, &c, admin_refusal(rc));
            s->need_wake = true;
        }
        return;
    }
    default:
        complete_status(s, q->tag, -EOPNOTSUPP);
        return;
    }
}

/* Hands the run of iterator requests q[0..n-1] of s to the lane
 * (iter_lane.h), after s's earlier writes are applied and its client woken
 * for the replies before them; served here when the lane has no memory
 * for the job. */
static void hand_off(worker *w, session *s, const struct shm_sqe *q, int n)
{
    atomic_fetch_add_explicit(&s->ops, (uint64_t)n, memory_order_relaxed);
    batcher_settle(w->writes, s);
    wake(s);
    if (iter_lane_add(w->iters, s, q, (unsigned)n) == 0)
        return;
    for (int i = 0; i < n; i++)
        iter_lane_inline(w->d, &w->retired, s, &q[i]);
}

/* Whether s may not be served now: a large write of s is being applied,
 * or an iterator page of s is in the lane (they kick the worker). */
static bool held(const session *s)
{
    return batcher_held(s) || iter_lane_held(s);
}

/* Serves up to ROUND_MAX requests of s.  Returns how many. */
static int serve(worker *w, session *s)
{
    struct shm_sqe q[ROUND_MAX];
    int n = 0, rc = 0;
    int run = -1; /* q[run..n-1]: iterator requests for the lane */
    if (held(s)) {
        /* Its next requests wait. */
        s->stalled = false;
        return 0;
    }
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (s->has_deferred) {
            q[n] = s->deferred; /* first: it came before the ring's */
            s->has_deferred = false;
        } else if (n == ROUND_MAX || (rc = shm_session_next(s->shm, &q[n])) != 1) {
            break;
        }
        const struct shm_sqe *x = &q[n++];
        if (run >= 0) {
            if (iter_lane_is_iter(x))
                continue; /* the run goes on */
            /* Taken, but after the run: served once the lane is done. */
            s->deferred = *x;
            s->has_deferred = true;
            n--;
            break;
        }
        if (batcher_apart(x))
            break; /* the requests after it wait until it is applied */
        if (iter_lane_wants(s, x)) {
            run = n - 1;
            continue;
        }
        if (x->opcode == SHM_OP_MULTI_GET)
            break; /* up to 4096 keys read in place: the other sessions
                      get their turn before this one's next request */
    }
    pthread_mutex_unlock(&s->mu);
    s->stalled = n == 0 && rc == 0 && shm_session_has_work(s->shm);
    for (int i = 0; i < (run >= 0 ? run : n); i++)
        dispatch(w, s, &q[i]);
    if (run >= 0)
        hand_off(w, s, &q[run], n - run);
    if (rc < 0) {
        log_warn("client %llu (pid %d): impossible submission ring index; ending it",
                 (unsigned long long)s->id, (int)s->pid);
        session_end(s, EPROTO);
    }
    if (!iter_lane_held(s))
        wake(s); /* (held: the lane owns need_wake and wakes the client) */
    iter_retired_release(w->d, &w->retired); /* after the wake: no reply waits */
    atomic_fetch_add_explicit(&w->requests, (uint64_t)n, memory_order_relaxed);
    return n;
}

/* ---- session set ---------------------------------------------------------- */

static void adopt_inbox(worker *w)
{
    pthread_mutex_lock(&w->inbox_mu);
    for (size_t i = 0; i < w->ninbox; i++) {
        if (w->n == w->cap) {
            int cap = w->cap ? 2 * w->cap : 16;
            session **a = realloc(w->sessions, (size_t)cap * sizeof *a);
            struct shm_session **b = a ? realloc(w->ss, (size_t)cap * sizeof *b) : NULL;
            if (a)
                w->sessions = a;
            if (!b) {
                /* Keep it in the inbox; try again next pass. */
                memmove(w->inbox, w->inbox + i, (w->ninbox - i) * sizeof *w->inbox);
                w->ninbox -= i;
                pthread_mutex_unlock(&w->inbox_mu);
                return;
            }
            w->ss = b;
            w->cap = cap;
        }
        w->sessions[w->n++] = w->inbox[i];
    }
    w->ninbox = 0;
    pthread_mutex_unlock(&w->inbox_mu);
}

/* Drops sessions[i] (its writes in flight keep their own references and
 * are still committed). */
static void detach(worker *w, int i)
{
    session *s = w->sessions[i];
    w->sessions[i] = w->sessions[--w->n];
    atomic_fetch_sub_explicit(&w->nsessions, 1, memory_order_relaxed);
    put_piece_drop(s); /* a put it never finished */
    session_reclaim(s);
    session_unref(s);
}

/* One pass over every session.  Returns requests served. */
static int pass(worker *w, bool *stalled)
{
    int served = 0;
    *stalled = false;
    for (int i = 0; i < w->n; i++) {
        session *s = w->sessions[i];
        if (atomic_load_explicit(&s->dying, memory_order_acquire)) {
            if (!iter_lane_held(s)) /* else the lane has its iterators */
                detach(w, i--);
            continue;
        }
        served += serve(w, s);
        *stalled |= s->stalled;
    }
    batcher_flush(w->writes);
    return served;
}

/* Shutdown: serve what is queued (bounded), then end every session. */
static void drain(worker *w)
{
    adopt_inbox(w);
    uint64_t start = shm_now_ns();
    bool stalled;
    /* Sessions held by the lane are served once it has served them.  The
     * loop ends right after a drain of the lane, so no session is held
     * when they are reclaimed below. */
    do {
        while (pass(w, &stalled) > 0 && shm_now_ns() - start < DRAIN_MAX_NS)
            ;
    } while (iter_lane_drain(w->iters) > 0 && shm_now_ns() - start < DRAIN_MAX_NS);
    batcher_drain(w->writes);
    /* Parked gets: their replies go out before the sessions end. */
    while (w->parked && parked_count(w->parked) > 0 && shm_now_ns() - start < DRAIN_MAX_NS)
        if (parked_poll(w->parked) == 0)
            usleep(100);
    for (int i = 0; i < w->n; i++)
        session_end(w->sessions[i], ESHUTDOWN);
    while (w->n > 0)
        detach(w, w->n - 1);
}

/* Whether every session waits for writes in flight: its next request then
 * comes a whole fdatasync later, after the syncer acknowledges. */
static bool all_await_writes(const worker *w)
{
    for (int i = 0; i < w->n; i++)
        if (!batcher_pending(w->sessions[i]))
            return false;
    return w->n > 0;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    char name[16];
    snprintf(name, sizeof name, "lsmd-w%d", w->index);
    pthread_setname_np(pthread_self(), name);
    numa_plan_pin_worker(w->d->numa, w->index);
    atomic_store(&w->cpu, sched_getcpu());
    /* After the binding: the table and its watcher stay on this node. */
    int prc = parked_new(w->d, &w->kick, &w->parked);
    if (prc)
        log_warn("worker %d: no parked gets (%s): gets wait for the disk", w->index,
                 lsm_strerror(prc));
    uint64_t spin_ns = (uint64_t)w->d->cfg->spin_us * 1000u;
    while (!atomic_load_explicit(&w->stop, memory_order_acquire)) {
        /* Read the kick word before looking at what it announces, so a kick
         * after this load makes the wait below return at once. */
        uint32_t kick_seen = __atomic_load_n(&w->kick, __ATOMIC_ACQUIRE);
        adopt_inbox(w);
        bool stalled;
        if (w->parked)
            parked_plug(w->parked); /* this turn's cold gets: one submission */
        int served = pass(w, &stalled);
        if (w->parked)
            parked_unplug(w->parked);
        bool in_flight = w->parked && parked_count(w->parked) > 0;
        if (in_flight)
            served += (int)parked_poll(w->parked);
        if (served > 0)
            continue;
        /* Gets in flight: the watcher kicks this thread when one completes
         * (a completion before this poll is collected by it). */
        if (in_flight && parked_sleep_begin(w->parked) > 0) {
            parked_sleep_end(w->parked);
            continue;
        }
        /* Held sessions are left out too: the apart thread or the
         * iterator lane kicks. */
        int open = 0; /* sessions whose rings the wait watches */
        for (int i = 0; i < w->n; i++) {
            session *s = w->sessions[i];
            w->ss[i] = s->stalled || held(s) ? NULL : s->shm;
            open += w->ss[i] != NULL;
        }
        /* Spin only when it may pay: a spin that finds nothing takes the
         * CPU from the clients and the syncer (docs/tuning.md, "The
         * service").  Not while every session
         * awaits its writes; nor after SPIN_LATE_MAX waits in a row that
         * outlasted the spin (an idle session beside the writers, say),
         * except once every SPIN_PROBE waits; nor when no ring is
         * watched (every session held by the lane or the apart thread:
         * only their kick can end the wait, and the spin would take the
         * CPU they need). */
        bool awaiting = all_await_writes(w);
        bool spin = !awaiting && open > 0 && spin_ns > 0 &&
                    (w->late < SPIN_LATE_MAX || ++w->waits % SPIN_PROBE == 0);
        uint64_t t0 = shm_now_ns();
        /* Without a watcher (no eventfd) nothing kicks this thread when a
         * parked read completes: poll for it like a stalled session. */
        bool unwatched = in_flight && !parked_watched(w->parked);
        int rc = shm_server_wait(w->ss, w->n, &w->kick, kick_seen, spin ? spin_ns : 0,
                                 stalled || unwatched ? STALL_POLL_NS : 0);
        if (in_flight)
            parked_sleep_end(w->parked);
        if (!awaiting) {
            /* A sleep also ends late by the wake-up itself: allow for it. */
            if (shm_now_ns() - t0 < spin_ns + (spin ? 0 : WAKE_SLACK_NS))
                w->late = 0;
            else if (w->late < SPIN_LATE_MAX)
                w->late++;
        }
        if (rc < 0 && rc != -EINTR)
            log_warn("worker %d: wait failed: %s", w->index, strerror(-rc));
        atomic_fetch_add_explicit(&w->sleeps, 1, memory_order_relaxed);
        atomic_store_explicit(&w->cpu, sched_getcpu(), memory_order_relaxed);
    }
    drain(w);
    parked_free(w->parked); /* before the registry and the engine close */
    w->parked = NULL;
    return NULL;
}

/* ---- public --------------------------------------------------------------- */

int worker_start(daemon_ctx *d, int index, worker **out)
{
    worker *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->d = d;
    w->index = index;
    w->node = numa_plan_worker_node(d->numa, index);
    atomic_init(&w->cpu, -1);
    pthread_mutex_init(&w->inbox_mu, NULL);
    int rc = batcher_new(d, index, &w->kick, &w->writes);
    if (rc) {
        free(w);
        return rc;
    }
    rc = iter_lane_new(d, index, &w->kick, &w->iters);
    if (rc) {
        batcher_free(w->writes);
        free(w);
        return rc;
    }
    rc = pthread_create(&w->thread, NULL, worker_main, w);
    if (rc) {
        iter_lane_free(w->iters);
        batcher_free(w->writes);
        free(w);
        return -rc;
    }
    w->started = true;
    *out = w;
    return 0;
}

void worker_kick(worker *w)
{
    shm_server_kick(&w->kick);
}

void worker_stop(worker *w)
{
    atomic_store_explicit(&w->stop, 1, memory_order_release);
    worker_kick(w);
}

void worker_join(worker *w)
{
    if (w && w->started) {
        pthread_join(w->thread, NULL);
        w->started = false;
    }
}

void worker_free(worker *w)
{
    if (!w)
        return;
    worker_join(w);
    /* Sessions handed over after the drain started: end them here. */
    for (size_t i = 0; i < w->ninbox; i++) {
        session_reclaim(w->inbox[i]);
        session_unref(w->inbox[i]);
    }
    free(w->inbox);
    free(w->sessions);
    free(w->ss);
    free(w->scratch);
    iter_retired_free(w->d, &w->retired); /* empty after every serve() */
    iter_lane_free(w->iters); /* drained by the worker */
    batcher_free(w->writes);
    pthread_mutex_destroy(&w->inbox_mu);
    free(w);
}

void worker_add(worker *w, session *s)
{
    atomic_fetch_add_explicit(&w->nsessions, 1, memory_order_relaxed);
    pthread_mutex_lock(&w->inbox_mu);
    if (w->ninbox == w->cap_inbox) {
        size_t cap = w->cap_inbox ? 2 * w->cap_inbox : 8;
        session **a = realloc(w->inbox, cap * sizeof *a);
        if (!a) {
            pthread_mutex_unlock(&w->inbox_mu);
            /* Cannot serve it: end it; the main loop reaps it on hang-up. */
            atomic_fetch_sub_explicit(&w->nsessions, 1, memory_order_relaxed);
            session_end(s, ENOMEM);
            session_reclaim(s);
            session_unref(s);
            return;
        }
        w->inbox = a;
        w->cap_inbox = cap;
    }
    w->inbox[w->ninbox++] = s;
    pthread_mutex_unlock(&w->inbox_mu);
    worker_kick(w);
}

int worker_index(const worker *w) { return w->index; }
int worker_node(const worker *w) { return w->node; }
int worker_cpu(const worker *w) { return atomic_load_explicit(&w->cpu, memory_order_relaxed); }
uint64_t worker_parked_gets(const worker *w)
{
    return atomic_load_explicit(&w->parked_gets, memory_order_relaxed);
}
uint64_t worker_lane_iters(const worker *w)
{
    return iter_lane_pages(w->iters);
}
int worker_nsessions(const worker *w)
{
    return atomic_load_explicit(&w->nsessions, memory_order_relaxed);
}

void worker_counters(const worker *w, uint64_t *requests, uint64_t *groups,
                     uint64_t *grouped_writes, uint64_t *sleeps)
{
    *requests = atomic_load_explicit(&w->requests, memory_order_relaxed);
    batcher_counters(w->writes, groups, grouped_writes);
    *sleeps = atomic_load_explicit(&w->sleeps, memory_order_relaxed);
}
