/*
 * snapshot_registry.c — see snapshot_registry.h.
 *
 * Entries live in an array sorted by id (IDs are sequences and grow, so new
 * entries are nearly always appended; lookups are binary searches).  An
 * entry is listed while it has pins, and kept (unlisted) while readers
 * still reference it; it is freed, and its engine snapshot released, when
 * both are zero.
 */
#include "snapshot_registry.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    uint32_t total_pins; /* sum of counts: listed while > 0 */
    uint32_t readers;    /* snapreg_ref references */
} snap_entry;

struct snapreg {
    pthread_mutex_t mu;
    lsm_db *db;
    unsigned max_per_holder;
    snapreg_publish_fn publish;
    void *ctx;
    snap_entry **e;      /* sorted by id */
    size_t n, cap;
    snapreg_info *scratch; /* publication buffer, grown with cap */
};

int snapreg_new(lsm_db *db, unsigned max_per_holder, snapreg_publish_fn publish,
                void *ctx, snapreg **out)
{
    snapreg *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    pthread_mutex_init(&r->mu, NULL);
    r->db = db;
    r->max_per_holder = max_per_holder ? max_per_holder : 1;
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
    return (snapreg_info){ e->id, e->npins, e->total_pins, e->created_ns, e->creator,
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

/* Number of distinct ids holder pins. REQUIRES: mu held. */
static unsigned holder_count(const snapreg *r, uint64_t holder)
{
    unsigned n = 0;
    for (size_t i = 0; i < r->n; i++)
        for (uint32_t j = 0; j < r->e[i]->npins; j++)
            if (r->e[i]->pins[j].holder == holder)
                n++;
    return n;
}

/* Adds one pin of holder to e. REQUIRES: mu held. */
static int add_pin(snapreg *r, snap_entry *e, uint64_t holder)
{
    for (uint32_t j = 0; j < e->npins; j++)
        if (e->pins[j].holder == holder) {
            if (e->pins[j].count == UINT32_MAX)
                return -EMFILE;
            e->pins[j].count++;
            e->total_pins++;
            return 0;
        }
    if (holder_count(r, holder) >= r->max_per_holder)
        return -EMFILE;
    if (e->npins == e->cap_pins) {
        uint32_t cap = e->cap_pins ? 2 * e->cap_pins : 4;
        holder_pin *p = realloc(e->pins, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        e->pins = p;
        e->cap_pins = cap;
    }
    e->pins[e->npins++] = (holder_pin){ holder, 1 };
    e->total_pins++;
    return 0;
}

/* Room for one more entry (and its publication slot). REQUIRES: mu held. */
static int reserve(snapreg *r)
{
    if (r->n < r->cap)
        return 0;
    size_t cap = r->cap ? 2 * r->cap : 16;
    snap_entry **e = realloc(r->e, cap * sizeof *e);
    if (!e)
        return -ENOMEM;
    r->e = e;
    snapreg_info *s = realloc(r->scratch, cap * sizeof *s);
    if (!s)
        return -ENOMEM;
    r->scratch = s;
    r->cap = cap;
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
                        uint32_t pid)
{
    if (holder_count(r, holder) >= r->max_per_holder)
        return -EMFILE;
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
    *e = (snap_entry){ .id = snapreg_id_of(lsm_snapshot_id(s)), .snap = s,
                       .created_ns = now_ns(),
                       .creator = holder, .creator_pid = pid, .pins = pin,
                       .npins = 1, .cap_pins = 4, .total_pins = 1 };
    pin[0] = (holder_pin){ holder, 1 };
    memmove(&r->e[pos + 1], &r->e[pos], (r->n - pos) * sizeof *r->e);
    r->e[pos] = e;
    r->n++;
    return 0;
}

int snapreg_acquire(snapreg *r, uint64_t holder, uint32_t pid, uint64_t *id)
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
        rc = add_pin(r, e, holder);
        if (rc == 0 && relisted) {
            e->created_ns = now_ns();
            e->creator = holder;
            e->creator_pid = pid;
        }
    } else {
        rc = insert_entry(r, pos, s, holder, pid);
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

int snapreg_hold(snapreg *r, uint64_t holder, uint64_t id)
{
    pthread_mutex_lock(&r->mu);
    snap_entry *e = find(r, id, NULL);
    int rc = (!e || e->total_pins == 0) ? -ESRCH : add_pin(r, e, holder);
    if (rc == 0)
        publish_locked(r);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* Drops count pins of holder from e (all when count is 0).  Returns the
 * number dropped. REQUIRES: mu held. */
static uint32_t drop_pins(snap_entry *e, uint64_t holder, uint32_t count)
{
    for (uint32_t j = 0; j < e->npins; j++) {
        if (e->pins[j].holder != holder)
            continue;
        uint32_t n = (count == 0 || count > e->pins[j].count) ? e->pins[j].count : count;
        e->pins[j].count -= n;
        e->total_pins -= n;
        if (e->pins[j].count == 0)
            e->pins[j] = e->pins[--e->npins];
        return n;
    }
    return 0;
}

int snapreg_release(snapreg *r, uint64_t holder, uint64_t id)
{
    pthread_mutex_lock(&r->mu);
    size_t pos;
    snap_entry *e = find(r, id, &pos);
    int rc = (e && drop_pins(e, holder, 1) == 1) ? 0 : -ESRCH;
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
        uint32_t n = drop_pins(e, holder, 0);
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
    for (uint32_t j = 0; e && j < e->npins; j++)
        if (e->pins[j].holder == holder) {
            e->readers++;
            *snap = e->snap;
            rc = 0;
            break;
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
