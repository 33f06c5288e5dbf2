/*
 * db_iter.c — internal keys to the user's view (db_iter_new), and the
 * public lsm_iter_* calls that build one over a pinned superversion.
 */
#include "db/db_iter.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_impl.h"
#include "db/superversion.h"
#include "base/dbformat.h"
#include "version/level_iter.h"
#include "table/merge_iter.h"

/* Invisible or shadowed versions of one key stepped over before a forward
 * scan re-seeks past them (a seek on a merge costs one per child). */
#define DB_ITER_MAX_SKIP 32

enum { FORWARD, REVERSE };

/* A growable byte buffer, reused for the life of the iterator. */
typedef struct kbuf {
    char *p;
    size_t len, cap;
} kbuf;

static int kbuf_reserve(kbuf *b, size_t n)
{
    if (n <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < n)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int kbuf_set(kbuf *b, slice s)
{
    if (kbuf_reserve(b, s.size))
        return -ENOMEM;
    if (s.size)
        memcpy(b->p, s.data, s.size);
    b->len = s.size;
    return 0;
}

static inline slice kbuf_slice(const kbuf *b) { return slice_make(b->p, b->len); }

typedef struct db_iter {
    iter base;
    iter *in;
    uint64_t seq;
    slice lo, hi;   /* copies in bounds; size 0 = open */
    char *bounds;
    int dir;
    bool valid;
    int status;
    kbuf skey;      /* forward: key to skip past; reverse: the shown key */
    kbuf sval;      /* reverse: the shown value */
    kbuf target;    /* internal keys built for seeks */
} db_iter;

#define D(it) ((db_iter *)(it))
#define CD(it) ((const db_iter *)(it))

static void fail(db_iter *d, int rc)
{
    if (!d->status)
        d->status = rc;
    d->valid = false;
}

/* The internal iterator ran out: an error, or just the end. */
static void stop(db_iter *d)
{
    d->valid = false;
    int rc = iter_status(d->in);
    if (rc)
        fail(d, rc);
}

/* Seeks the internal iterator to (ukey, seq, type). */
static void seek_internal(db_iter *d, slice ukey, uint64_t seq, enum value_type t)
{
    if (kbuf_reserve(&d->target, ukey.size + INTERNAL_TRAILER)) {
        fail(d, -ENOMEM);
        return;
    }
    d->target.len = ikey_encode(d->target.p, ukey, seq, t);
    iter_seek(d->in, kbuf_slice(&d->target));
}

/* Forward: stops at the newest visible entry of the next user key that is
 * not deleted, skipping keys <= skey when skipping. */
static void find_next_user_entry(db_iter *d, bool skipping)
{
    int skipped = 0;
    d->dir = FORWARD;
    while (!d->status && iter_valid(d->in)) {
        slice ik = iter_key(d->in);
        slice uk = ikey_user(ik);
        if (d->hi.size && slice_compare(uk, d->hi) >= 0)
            break;
        uint64_t tr = ikey_trailer(ik);
        if ((tr >> 8) > d->seq) {
            /* Newer than the view.  Many in a row: jump to the newest
             * version of this key the view can see. */
            if (++skipped > DB_ITER_MAX_SKIP) {
                skipped = 0;
                seek_internal(d, uk, d->seq, LSM_TYPE_SEEK);
                continue;
            }
        } else if (skipping && slice_compare(uk, kbuf_slice(&d->skey)) <= 0) {
            /* Shadowed by a newer version already shown or deleted.  Many:
             * jump past the oldest possible version of the key. */
            if (++skipped > DB_ITER_MAX_SKIP) {
                skipped = 0;
                seek_internal(d, kbuf_slice(&d->skey), 0, LSM_TYPE_DELETE);
                continue;
            }
        } else if ((enum value_type)(tr & 0xff) == LSM_TYPE_DELETE) {
            if (kbuf_set(&d->skey, uk)) {
                fail(d, -ENOMEM);
                return;
            }
            skipping = true;
            skipped = 0;
        } else {
            d->valid = true;
            return;
        }
        iter_next(d->in);
    }
    stop(d);
}

/* Backward: walks to the previous user key with a visible, non-deleted
 * newest entry, copying it into skey/sval; the internal iterator ends just
 * before that key's entries.  Versions come oldest first, so the last
 * visible one seen before the key changes is the newest. */
static void find_prev_user_entry(db_iter *d)
{
    enum value_type vt = LSM_TYPE_DELETE; /* nothing to show yet */
    d->dir = REVERSE;
    while (iter_valid(d->in)) {
        slice ik = iter_key(d->in);
        slice uk = ikey_user(ik);
        if (d->lo.size && slice_compare(uk, d->lo) < 0)
            break;
        uint64_t tr = ikey_trailer(ik);
        if ((tr >> 8) <= d->seq) {
            if (vt != LSM_TYPE_DELETE && slice_compare(uk, kbuf_slice(&d->skey)) < 0)
                break; /* past the key found */
            vt = (enum value_type)(tr & 0xff);
            if (vt != LSM_TYPE_DELETE &&
                (kbuf_set(&d->skey, uk) || kbuf_set(&d->sval, iter_value(d->in)))) {
                fail(d, -ENOMEM);
                return;
            }
        }
        iter_prev(d->in);
    }
    int rc = iter_status(d->in);
    if (rc) {
        fail(d, rc); /* the walk may have missed newer versions */
        return;
    }
    d->valid = vt != LSM_TYPE_DELETE;
}

static bool di_valid(const iter *it) { return CD(it)->valid; }

static void di_first(iter *it)
{
    db_iter *d = D(it);
    if (d->status)
        return;
    if (d->lo.size)
        seek_internal(d, d->lo, d->seq, LSM_TYPE_SEEK);
    else
        iter_first(d->in);
    find_next_user_entry(d, false);
}

static void di_last(iter *it)
{
    db_iter *d = D(it);
    if (d->status)
        return;
    d->valid = false;
    if (d->hi.size) {
        /* The first entry of any key >= hi, then one step back. */
        seek_internal(d, d->hi, LSM_MAX_SEQUENCE, LSM_TYPE_SEEK);
        if (iter_valid(d->in))
            iter_prev(d->in);
        else if (iter_status(d->in) == 0 && !d->status)
            iter_last(d->in);
    } else {
        iter_last(d->in);
    }
    if (!d->status)
        find_prev_user_entry(d);
}

static void di_seek(iter *it, slice target)
{
    db_iter *d = D(it);
    if (d->status)
        return;
    if (d->lo.size && slice_compare(target, d->lo) < 0)
        target = d->lo;
    if (d->hi.size && slice_compare(target, d->hi) >= 0) {
        d->valid = false;
        return;
    }
    seek_internal(d, target, d->seq, LSM_TYPE_SEEK);
    find_next_user_entry(d, false);
}

static void di_next(iter *it)
{
    db_iter *d = D(it);
    if (d->dir == REVERSE) {
        /* The internal iterator is just before the shown key's entries,
         * and skey already holds that key. */
        if (iter_valid(d->in))
            iter_next(d->in);
        else
            iter_first(d->in);
    } else {
        if (kbuf_set(&d->skey, ikey_user(iter_key(d->in)))) {
            fail(d, -ENOMEM);
            return;
        }
        iter_next(d->in);
    }
    find_next_user_entry(d, true);
}

static void di_prev(iter *it)
{
    db_iter *d = D(it);
    if (d->dir == FORWARD) {
        /* Step back over every entry of the shown key. */
        if (kbuf_set(&d->skey, ikey_user(iter_key(d->in)))) {
            fail(d, -ENOMEM);
            return;
        }
        slice cur = kbuf_slice(&d->skey);
        do {
            iter_prev(d->in);
        } while (iter_valid(d->in) && slice_compare(ikey_user(iter_key(d->in)), cur) >= 0);
    }
    find_prev_user_entry(d);
}

static slice di_key(const iter *it)
{
    const db_iter *d = CD(it);
    return d->dir == FORWARD ? ikey_user(iter_key(d->in)) : kbuf_slice(&d->skey);
}

static slice di_value(const iter *it)
{
    const db_iter *d = CD(it);
    return d->dir == FORWARD ? iter_value(d->in) : kbuf_slice(&d->sval);
}

static int di_status(const iter *it)
{
    const db_iter *d = CD(it);
    return d->status ? d->status : iter_status(d->in);
}

static void di_destroy(iter *it)
{
    db_iter *d = D(it);
    iter_destroy(d->in);
    free(d->bounds);
    free(d->skey.p);
    free(d->sval.p);
    free(d->target.p);
    free(d);
}

static const struct iter_ops db_iter_ops = {
    .valid = di_valid, .first = di_first, .last = di_last, .seek = di_seek,
    .next = di_next, .prev = di_prev, .key = di_key, .value = di_value,
    .status = di_status, .destroy = di_destroy,
};

iter *db_iter_new(iter *internal, uint64_t seq, slice lo, slice hi)
{
    db_iter *d = calloc(1, sizeof *d);
    char *bounds = lo.size + hi.size ? malloc(lo.size + hi.size) : NULL;
    if (!d || (lo.size + hi.size && !bounds)) {
        free(d);
        free(bounds);
        iter_destroy(internal);
        return NULL;
    }
    if (lo.size)
        memcpy(bounds, lo.data, lo.size);
    if (hi.size)
        memcpy(bounds + lo.size, hi.data, hi.size);
    d->base.ops = &db_iter_ops;
    d->in = internal;
    d->seq = seq;
    d->bounds = bounds;
    d->lo = slice_make(bounds, lo.size);
    d->hi = slice_make(bounds ? bounds + lo.size : NULL, hi.size);
    d->dir = FORWARD;
    return &d->base;
}

/* ---- the public iterator ------------------------------------------------ */

struct lsm_iter {
    iter *it;          /* a db_iter over the merge of sv's parts */
    superversion *sv;  /* pinned until lsm_iter_free */
};

/* A child that is never valid and reports err: a table that failed to open
 * when the iterator was created (lsm_iter_new reports only EINVAL/ENOMEM). */
typedef struct err_iter {
    iter base;
    int err;
} err_iter;

static bool ei_valid(const iter *it) { (void)it; return false; }
static void ei_nop(iter *it) { (void)it; }
static void ei_seek(iter *it, slice t) { (void)it; (void)t; }
static slice ei_none(const iter *it) { (void)it; return slice_make(NULL, 0); }
static int ei_status(const iter *it) { return ((const err_iter *)it)->err; }
static void ei_destroy(iter *it) { free(it); }

static const struct iter_ops err_iter_ops = {
    .valid = ei_valid, .first = ei_nop, .last = ei_nop, .seek = ei_seek,
    .next = ei_nop, .prev = ei_nop, .key = ei_none, .value = ei_none,
    .status = ei_status, .destroy = ei_destroy,
};

static int table_child(lsm_db *db, file_meta *fm, iter **out)
{
    int rc = db_table_iter_new(db, fm, out);
    if (rc == 0 || rc == -ENOMEM)
        return rc;
    err_iter *e = malloc(sizeof *e);
    if (!e)
        return -ENOMEM;
    e->base.ops = &err_iter_ops;
    e->err = rc;
    *out = &e->base;
    return 0;
}

static int open_level_table(void *ctx, file_meta *fm, iter **out)
{
    return db_table_iter_new(ctx, fm, out);
}

/* True when fm may hold user keys in [lo, hi) (size 0 = open). */
static bool file_in_range(const file_meta *fm, slice lo, slice hi)
{
    if (lo.size && slice_compare(ikey_user(file_meta_largest(fm)), lo) < 0)
        return false;
    return !hi.size || slice_compare(ikey_user(file_meta_smallest(fm)), hi) < 0;
}

/* The files [*first, *end) of a sorted, disjoint level that may hold user
 * keys in [lo, hi). */
static void level_range(file_meta *const *f, size_t n, slice lo, slice hi,
                        size_t *first, size_t *end)
{
    size_t a = 0, b = n;
    while (a < b) { /* first file whose largest user key >= lo */
        size_t mid = a + (b - a) / 2;
        if (lo.size && slice_compare(ikey_user(file_meta_largest(f[mid])), lo) < 0)
            a = mid + 1;
        else
            b = mid;
    }
    *first = a;
    b = n;
    while (a < b) { /* first file whose smallest user key >= hi */
        size_t mid = a + (b - a) / 2;
        if (!hi.size || slice_compare(ikey_user(file_meta_smallest(f[mid])), hi) < 0)
            a = mid + 1;
        else
            b = mid;
    }
    *end = a;
}

/* The children of sv's merged view restricted to [lo, hi), newest first;
 * *n of them in *out (malloc'd).  On error nothing is left allocated. */
static int build_children(lsm_db *db, superversion *sv, slice lo, slice hi,
                          iter ***out, size_t *n)
{
    version *v = sv->v;
    size_t cap = 1 + (size_t)sv->nimm + v->nfiles[0] + LSM_NUM_LEVELS;
    iter **c = malloc(cap * sizeof *c);
    if (!c)
        return -ENOMEM;
    size_t k = 0;
    int rc = 0;
    c[k] = memtable_iter_new(sv->mem);
    if (!c[k++])
        rc = -ENOMEM;
    for (int i = 0; rc == 0 && i < sv->nimm; i++) {
        c[k] = memtable_iter_new(sv->imm[i]);
        if (!c[k++])
            rc = -ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < v->nfiles[0]; i++) {
        if (!file_in_range(v->files[0][i], lo, hi))
            continue;
        c[k] = NULL;
        rc = table_child(db, v->files[0][i], &c[k]);
        k++;
    }
    for (int level = 1; rc == 0 && level < LSM_NUM_LEVELS; level++) {
        size_t a, b;
        level_range(v->files[level], v->nfiles[level], lo, hi, &a, &b);
        if (a >= b)
            continue;
        c[k] = level_iter_new(v->files[level] + a, b - a, open_level_table, db);
        if (!c[k++])
            rc = -ENOMEM;
    }
    if (rc) {
        for (size_t i = 0; i < k; i++)
            iter_destroy(c[i]);
        free(c);
        return rc;
    }
    *out = c;
    *n = k;
    return 0;
}

int lsm_iter_new(lsm_db *db, const lsm_snapshot *snap, const void *lo, size_t lolen,
                 const void *hi, size_t hilen, lsm_iter **out)
{
    if (!db || !out)
        return -EINVAL;
    *out = NULL;
    lsm_iter *li = malloc(sizeof *li);
    if (!li)
        return -ENOMEM;
    /* The sequence is read before the view is pinned: every entry up to it
     * is then in the pinned memtables or tables (a later memtable switch
     * or flush only moves entries into what a newer view pins).  Pairs
     * with the write leader's release store of last_seq. */
    uint64_t seq = snap ? snap->seq
                        : atomic_load_explicit(&db->last_seq, memory_order_acquire);
    superversion *sv = db_sv_acquire(db);
    slice slo = lo ? slice_make(lo, lolen) : slice_make(NULL, 0);
    slice shi = hi ? slice_make(hi, hilen) : slice_make(NULL, 0);
    iter **children = NULL;
    size_t n = 0;
    int rc = 0;
    /* A present but empty upper bound admits no key: merge nothing. */
    if (!(hi && hilen == 0))
        rc = build_children(db, sv, slo, shi, &children, &n);
    iter *merged = rc ? NULL : merge_iter_new(children, n);
    free(children);
    iter *it = merged ? db_iter_new(merged, seq, slo, shi) : NULL;
    if (!it) {
        db_sv_release(sv);
        free(li);
        return rc ? rc : -ENOMEM;
    }
    li->it = it;
    li->sv = sv;
    *out = li;
    return 0;
}

void lsm_iter_first(lsm_iter *it) { iter_first(it->it); }
void lsm_iter_last(lsm_iter *it) { iter_last(it->it); }

void lsm_iter_seek(lsm_iter *it, const void *key, size_t klen)
{
    iter_seek(it->it, key ? slice_make(key, klen) : slice_make(NULL, 0));
}

/* The REQUIRES of next/prev/key/value are checked: a misuse from a client
 * of the daemon must not crash it, and the branch is cheap. */
void lsm_iter_next(lsm_iter *it)
{
    if (iter_valid(it->it))
        iter_next(it->it);
}

void lsm_iter_prev(lsm_iter *it)
{
    if (iter_valid(it->it))
        iter_prev(it->it);
}

int lsm_iter_valid(const lsm_iter *it) { return iter_valid(it->it); }

const void *lsm_iter_key(const lsm_iter *it, size_t *klen)
{
    slice k = iter_valid(it->it) ? iter_key(it->it) : slice_make(NULL, 0);
    if (klen)
        *klen = k.size;
    return k.data;
}

const void *lsm_iter_value(const lsm_iter *it, size_t *vlen)
{
    slice v = iter_valid(it->it) ? iter_value(it->it) : slice_make(NULL, 0);
    if (vlen)
        *vlen = v.size;
    return v.data;
}

int lsm_iter_status(const lsm_iter *it) { return iter_status(it->it); }

void lsm_iter_free(lsm_iter *it)
{
    if (!it)
        return;
    iter_destroy(it->it); /* before the view that keeps its tables alive */
    db_sv_release(it->sv);
    free(it);
}
