/*
 * snapshot_registry.c — see snapshot_registry.h.
 *
 * Entries live in an array sorted by id (IDs are sequences and grow, so new
 * entries are nearly always appended; lookups are binary searches).  An
 * entry is listed while it has pins, and kept (unlisted) while readers
 * still reference it; it is freed, and its engine snapshot released, when
 * both are zero.  Each holder with pins has an account (its uid and pin
 * count) in a second, unsorted array (one per session holding snapshots:
 * a few, at most max_clients), so the per-holder limit costs a walk over
 * the holders, not over every entry.
 *
 * A new pin is admitted in two steps: admit_pin checks every limit and
 * reserves all the memory the pin needs, then commit_pin records it and
 * cannot fail; a refused pin leaves nothing behind.
 */
#include "snapshot_registry.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

typedef struct holder_pin {
    uint64_t holder;
    uint32_t count;
} holder_pin;

typedef struct snap_entry {
    uint64_t id;
    lsm_snapshot *snap;
    uint64_t created_ns;
    uint64_t creator;
    uint32_t creator_pid;
    holder_pin *pins;    /* one per distinct holder */
    uint32_t npins, cap_pins;
    uint64_t total_pins; /* sum of counts: listed while > 0.  64 bits: a sum
                            of 32-bit counts over many holders */
    uint32_t readers;    /* snapreg_ref references */
} snap_entry;

/* One holder's pins over all entries (present while > 0). */
typedef struct holder_acct {
    uint64_t holder;
    uid_t uid;           /* charged in the uid quota */
    uint32_t pins;       /* <= max_per_holder */
} holder_acct;

struct snapreg {
    pthread_mutex_t mu;
    lsm_db *db;
    snapreg_limits lim;
    uidq *quota;         /* may be NULL */
    snapreg_publish_fn publish;
    void *ctx;
    snap_entry **e;      /* sorted by id */
    size_t n, cap;
    size_t listed;       /* entries with total_pins > 0, <= lim.max_listed */
    snapreg_info *scratch; /* publication buffer, grown with cap */
    holder_acct *h;      /* holders with pins, unordered */
    size_t nh, cap_h;
};

int snapreg_new(lsm_db *db, const snapreg_limits *lim, uidq *quota,
                snapreg_publish_fn publish, void *ctx, snapreg **out)
{
    snapreg *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    pthread_mutex_init(&r->mu, NULL);
    r->db = db;
    r->lim.max_listed = lim->max_listed ? lim->max_listed : 1;
    r->lim.max_per_holder = lim->max_per_holder ? lim->max_per_holder : 1;
    r->quota = quota;
    r->publish = publish;
    r->ctx = ctx;
    *out = r;
    return 0;
}

static void entry_free(snapreg *r, snap_entry *e)
{
    lsm_snapshot_release(r->db, e->snap);
    free(e->pins);
    free(e);
}

void snapreg_free(snapreg *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        entry_free(r, r->e[i]);
    free(r->e);
    free(r->scratch);
    free(r->h);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* Index of the first entry with id >= id. REQUIRES: mu held. */
static size_t lower_bound(const snapreg *r, uint64_t id)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->e[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static snap_entry *find(const snapreg *r, uint64_t id, size_t *pos)
{
    size_t i = lower_bound(r, id);
    if (pos)
        *pos = i;
    return i < r->n && r->e[i]->id == id ? r->e[i] : NULL;
}

static snapreg_info info_of(const snap_entry *e)
{
    uint32_t pins = e->total_pins > UINT32_MAX ? UINT32_MAX : (uint32_t)e->total_pins;
    return (snapreg_info){ e->id, e->npins, pins, e->created_ns, e->creator,
                           e->creator_pid };
}

/* REQUIRES: mu held. */
static void publish_locked(snapreg *r)
{
    if (!r->publish)
        return;
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        const snap_entry *e = r->e[i];
        if (e->total_pins == 0)
            continue;
        r->scratch[k++] = info_of(e);
    }
    r->publish(r->ctx, r->scratch, k);
}

/* Frees e when nothing pins or references it. REQUIRES: mu held. */
static void maybe_retire(snapreg *r, snap_entry *e, size_t pos)
{
    if (e->total_pins || e->readers)
        return;
    memmove(&r->e[pos], &r->e[pos + 1], (r->n - pos - 1) * sizeof *r->e);
    r->n--;
    entry_free(r, e);
}

/* holder's account, or NULL. REQUIRES: mu held. */
static holder_acct *holder_find(const snapreg *r, uint64_t holder)
{
    for (size_t i = 0; i < r->nh; i++)
        if (r->h[i].holder == holder)
            return &r->h[i];
    return NULL;
}

/* The index of holder's pin on e, or -1. */
static int64_t pin_index(const snap_entry *e, uint64_t holder)
{
    for (uint32_t j = 0; j < e->npins; j++)
        if (e->pins[j].holder == holder)
            return j;
    return -1;
}

/* An array of n used elements of size bytes with room for one more:
 * a itself when *cap > n, else a grown copy (doubling, from first) with
 * *cap updated.  NULL on ENOMEM (a and *cap unchanged). */
static void *room_for_one(void *a, size_t n, size_t *cap, size_t size, size_t first)
{
    if (n < *cap)
        return a;
    size_t c = *cap ? 2 * *cap : first;
    void *g = realloc(a, c * size);
    if (g)
        *cap = c;
    return g;
}

/* Room for one more pin record on e. REQUIRES: mu held. */
static int reserve_pins(snap_entry *e)
{
    size_t cap = e->cap_pins;
    holder_pin *p = room_for_one(e->pins, e->npins, &cap, sizeof *p, 4);
    if (!p)
        return -ENOMEM;
    e->pins = p;
    e->cap_pins = (uint32_t)cap; /* <= holders, far below 2^32 */
    return 0;
}

/* Room for one more holder account. REQUIRES: mu held. */
static int reserve_holders(snapreg *r)
{
    holder_acct *h = room_for_one(r->h, r->nh, &r->cap_h, sizeof *h, 16);
    if (!h)
        return -ENOMEM;
    r->h = h;
    return 0;
}

/* Checks the limits for one more pin of holder on e (NULL: on a new entry,
 * whose slot the caller reserves), reserves the memory commit_pin needs
 * and charges the uid quota.  Errors: -EMFILE, -ENOMEM. REQUIRES: mu held. */
static int admit_pin(snapreg *r, snap_entry *e, uint64_t holder, uid_t uid)
{
    const holder_acct *h = holder_find(r, holder);
    if (h && h->pins >= r->lim.max_per_holder) {
        log_warn_limited("snapshots: client %" PRIu64 " (uid %u) refused: it holds %u "
                         "snapshot pins (the per-client limit)",
                         holder, (unsigned)uid, h->pins);
        return -EMFILE;
    }
    if ((!e || e->total_pins == 0) && r->listed >= r->lim.max_listed) {
        log_warn_limited("snapshots: client %" PRIu64 " (uid %u) refused: %zu snapshots "
                         "listed (max_snapshots)",
                         holder, (unsigned)uid, r->listed);
        return -EMFILE;
    }
    if ((!h && reserve_holders(r)) || (e && pin_index(e, holder) < 0 && reserve_pins(e)))
        return -ENOMEM;
    int rc = uidq_take(r->quota, uid, UIDQ_SNAPSHOTS, 1);
    if (rc == -EMFILE)
        log_warn_limited("snapshots: client %" PRIu64 " refused: uid %u holds %" PRIu64
                         " snapshot pins (max_snapshots_per_uid)",
                         holder, (unsigned)uid,
                         uidq_used(r->quota, uid, UIDQ_SNAPSHOTS));
    return rc;
}

/* Records one admitted pin of holder on e.  REQUIRES: mu held, admit_pin
 * succeeded for it with nothing changed since. */
static void commit_pin(snapreg *r, snap_entry *e, uint64_t holder, uid_t uid)
{
    holder_acct *h = holder_find(r, holder);
    if (!h) {
        h = &r->h[r->nh++];
        *h = (holder_acct){ .holder = holder, .uid = uid };
    }
    h->pins++;
    int64_t j = pin_index(e, holder);
    if (j < 0) {
        j = e->npins++;
        e->pins[j] = (holder_pin){ holder, 0 };
    }
    e->pins[j].count++; /* <= the holder's pins <= max_per_holder: no wrap */
    if (e->total_pins++ == 0)
        r->listed++;
}

/* Takes n pins of holder out of its account and the uid quota.
 * REQUIRES: mu held, the holder has at least n. */
static void uncount_pins(snapreg *r, uint64_t holder, uint32_t n)
{
    holder_acct *h = holder_find(r, holder);
    if (n == 0 || !h)
        return;
    uidq_give(r->quota, h->uid, UIDQ_SNAPSHOTS, n);
    h->pins -= n < h->pins ? n : h->pins;
    if (h->pins == 0)
        *h = r->h[--r->nh];
}

/* Room for one more entry (and its publication slot). REQUIRES: mu held. */
static int reserve(snapreg *r)
{
    size_t cap_e = r->cap, cap_s = r->cap;
    snap_entry **e = room_for_one(r->e, r->n, &cap_e, sizeof *e, 16);
    if (!e)
        return -ENOMEM;
    r->e = e;
    snapreg_info *s = room_for_one(r->scratch, r->n, &cap_s, sizeof *s, 16);
    if (!s)
        return -ENOMEM;
    r->scratch = s;
    r->cap = cap_e; /* both grew alike */
    return 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A new listed entry for s at index pos, pinned once by holder; takes s.
 * REQUIRES: mu held. */
static int insert_entry(snapreg *r, size_t pos, lsm_snapshot *s, uint64_t holder,
                        uid_t uid, uint32_t pid)
{
    int rc = reserve(r);
    if (rc)
        return rc;
    snap_entry *e = calloc(1, sizeof *e);
    holder_pin *pin = malloc(4 * sizeof *pin);
    if (!e || !pin) {
        free(e);
        free(pin);
        return -ENOMEM;
    }
    rc = admit_pin(r, NULL, holder, uid);
    if (rc) {
        free(e);
        free(pin);
        return rc;
    }
    *e = (snap_entry){ .id = snapreg_id_of(lsm_snapshot_id(s)), .snap = s,
                       .created_ns = now_ns(),
                       .creator = holder, .creator_pid = pid, .pins = pin,
                       .cap_pins = 4 };
    commit_pin(r, e, holder, uid);
    memmove(&r->e[pos + 1], &r->e[pos], (r->n - pos) * sizeof *r->e);
    r->e[pos] = e;
    r->n++;
    return 0;
}

int snapreg_acquire(snapreg *r, uint64_t holder, uid_t uid, uint32_t pid, uint64_t *id)
{
    lsm_snapshot *s = lsm_snapshot_acquire(r->db);
    if (!s)
        return -ENOMEM;
    uint64_t sid = snapreg_id_of(lsm_snapshot_id(s));
    pthread_mutex_lock(&r->mu);
    size_t pos;
    snap_entry *e = find(r, sid, &pos);
    int rc;
    if (e) {
        /* Same sequence as a live entry: share its engine snapshot. */
        bool relisted = e->total_pins == 0;
        rc = admit_pin(r, e, holder, uid);
        if (rc == 0)
            commit_pin(r, e, holder, uid);
        if (rc == 0 && relisted) {
            e->created_ns = now_ns();
            e->creator = holder;
            e->creator_pid = pid;
        }
    } else {
        rc = insert_entry(r, pos, s, holder, uid, pid);
        if (rc == 0)
            s = NULL; /* the entry owns it */
    }
    if (rc == 0) {
        *id = sid;
        publish_locked(r);
    }
    pthread_mutex_unlock(&r->mu);
    if (s)
        lsm_snapshot_release(r->db, s);
    return rc;
}

int snapreg_hold(snapreg *r, uint64_t holder, uid_t uid, uint64_t id)
{
    pthread_mutex_lock(&r->mu);
    snap_entry *e = find(r, id, NULL);
    int rc = (!e || e->total_pins == 0) ? -ESRCH : admit_pin(r, e, holder, uid);
    if (rc == 0) {
        commit_pin(r, e, holder, uid);
        publish_locked(r);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* Drops count pins of holder from e (all when count is 0), from its
 * account and from the uid quota.  Returns the number dropped.
 * REQUIRES: mu held. */
static uint32_t drop_pins(snapreg *r, snap_entry *e, uint64_t holder, uint32_t count)
{
    int64_t j = pin_index(e, holder);
    if (j < 0)
        return 0;
    uint32_t n = (count == 0 || count > e->pins[j].count) ? e->pins[j].count : count;
    e->pins[j].count -= n;
    e->total_pins -= n;
    if (e->total_pins == 0)
        r->listed--;
    if (e->pins[j].count == 0)
        e->pins[j] = e->pins[--e->npins];
    uncount_pins(r, holder, n);
    return n;
}

int snapreg_release(snapreg *r, uint64_t holder, uint64_t id)
{
    pthread_mutex_lock(&r->mu);
    size_t pos;
    snap_entry *e = find(r, id, &pos);
    int rc = (e && drop_pins(r, e, holder, 1) == 1) ? 0 : -ESRCH;
    if (rc == 0) {
        maybe_retire(r, e, pos);
        publish_locked(r);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

size_t snapreg_drop_holder(snapreg *r, uint64_t holder)
{
    size_t dropped = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = r->n; i-- > 0;) {
        snap_entry *e = r->e[i];
        uint32_t n = drop_pins(r, e, holder, 0);
        if (n) {
            dropped += n;
            maybe_retire(r, e, i);
        }
    }
    if (dropped)
        publish_locked(r);
    pthread_mutex_unlock(&r->mu);
    return dropped;
}

int snapreg_ref(snapreg *r, uint64_t holder, uint64_t id, const lsm_snapshot **snap)
{
    pthread_mutex_lock(&r->mu);
    snap_entry *e = find(r, id, NULL);
    int rc = -ESRCH;
    if (e && pin_index(e, holder) >= 0) {
        e->readers++;
        *snap = e->snap;
        rc = 0;
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void snapreg_unref(snapreg *r, uint64_t id)
{
    pthread_mutex_lock(&r->mu);
    size_t pos;
    snap_entry *e = find(r, id, &pos);
    if (e && e->readers > 0) {
        e->readers--;
        maybe_retire(r, e, pos);
    }
    pthread_mutex_unlock(&r->mu);
}

size_t snapreg_list(snapreg *r, snapreg_info *out, size_t cap)
{
    pthread_mutex_lock(&r->mu);
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        const snap_entry *e = r->e[i];
        if (e->total_pins == 0)
            continue;
        if (k < cap)
            out[k] = info_of(e);
        k++;
    }
    pthread_mutex_unlock(&r->mu);
    return k;
}
