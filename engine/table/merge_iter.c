/*
 * merge_iter.c — a heap of children ordered by their current internal key.
 *
 * Forward, heap[0] is the child with the smallest (key, child index);
 * backward, the one with the largest.  Each child's current key is cached
 * in its slot so heap comparisons make no indirect calls; the cache is
 * refreshed whenever that child moves (its old key slice may be gone).
 */
#include "table/merge_iter.h"

#include <stdint.h>
#include <stdlib.h>

#include "base/dbformat.h"

enum { FORWARD, REVERSE };

typedef struct mchild {
    iter *it;
    slice key; /* it's current key while it sits in the heap */
} mchild;

typedef struct merge_iter {
    iter base;
    mchild *c;      /* n children */
    uint32_t *heap; /* indices into c; heap[0] is the current child */
    size_t n, hn;   /* children, entries in the heap */
    int dir;
    int status;
} merge_iter;

#define M(it) ((merge_iter *)(it))
#define CM(it) ((const merge_iter *)(it))

/* True when child a comes before child b in the current direction. */
static inline bool before(const merge_iter *m, uint32_t a, uint32_t b)
{
    int r = ikey_compare(m->c[a].key, m->c[b].key);
    if (m->dir == FORWARD)
        return r < 0 || (r == 0 && a < b);
    return r > 0 || (r == 0 && a > b);
}

static void sift_down(merge_iter *m, size_t i)
{
    uint32_t *h = m->heap;
    uint32_t x = h[i];
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= m->hn)
            break;
        size_t r = l + 1;
        size_t best = (r < m->hn && before(m, h[r], h[l])) ? r : l;
        if (!before(m, h[best], x))
            break;
        h[i] = h[best];
        i = best;
    }
    h[i] = x;
}

/* Records the error of a child that stopped; true if there was one. */
static bool child_failed(merge_iter *m, const iter *child)
{
    int rc = iter_status(child);
    if (rc != 0 && m->status == 0)
        m->status = rc;
    return rc != 0;
}

/* Puts every positioned child in the heap (in direction dir). */
static void rebuild(merge_iter *m, int dir)
{
    m->dir = dir;
    m->hn = 0;
    for (size_t i = 0; i < m->n; i++) {
        iter *it = m->c[i].it;
        if (iter_valid(it)) {
            m->c[i].key = iter_key(it);
            m->heap[m->hn++] = (uint32_t)i;
        } else {
            child_failed(m, it);
        }
    }
    if (m->status) {
        m->hn = 0;
        return;
    }
    for (size_t i = m->hn / 2; i-- > 0;)
        sift_down(m, i);
}

/* The current child moved: refresh its key or drop it from the heap. */
static void fix_top(merge_iter *m)
{
    uint32_t top = m->heap[0];
    iter *it = m->c[top].it;
    if (iter_valid(it)) {
        m->c[top].key = iter_key(it);
    } else {
        if (child_failed(m, it)) {
            m->hn = 0;
            return;
        }
        m->heap[0] = m->heap[--m->hn];
    }
    if (m->hn > 1)
        sift_down(m, 0);
}

static bool mg_valid(const iter *it)
{
    return CM(it)->hn > 0;
}

static void mg_first(iter *it)
{
    merge_iter *m = M(it);
    if (m->status)
        return;
    for (size_t i = 0; i < m->n; i++)
        iter_first(m->c[i].it);
    rebuild(m, FORWARD);
}

static void mg_last(iter *it)
{
    merge_iter *m = M(it);
    if (m->status)
        return;
    for (size_t i = 0; i < m->n; i++)
        iter_last(m->c[i].it);
    rebuild(m, REVERSE);
}

static void mg_seek(iter *it, slice target)
{
    merge_iter *m = M(it);
    if (m->status)
        return;
    for (size_t i = 0; i < m->n; i++)
        iter_seek(m->c[i].it, target);
    rebuild(m, FORWARD);
}

/* Direction changes.  The current child stays where it is; every other
 * child is moved to the first entry after (forward) or the last entry
 * before (reverse) the current (key, child) in the merged order, so the
 * rebuilt heap yields exactly the neighbours of the current entry.  The
 * current key slice stays valid meanwhile: its child does not move. */
static void switch_to_forward(merge_iter *m)
{
    uint32_t cur = m->heap[0];
    slice k = m->c[cur].key;
    for (uint32_t i = 0; i < m->n; i++) {
        if (i == cur)
            continue;
        iter *c = m->c[i].it;
        iter_seek(c, k);
        /* Equal keys of lower-numbered children precede the current one. */
        if (i < cur && iter_valid(c) && ikey_compare(iter_key(c), k) == 0)
            iter_next(c);
    }
    rebuild(m, FORWARD);
}

static void switch_to_reverse(merge_iter *m)
{
    uint32_t cur = m->heap[0];
    slice k = m->c[cur].key;
    for (uint32_t i = 0; i < m->n; i++) {
        if (i == cur)
            continue;
        iter *c = m->c[i].it;
        iter_seek(c, k);
        if (!iter_valid(c)) {
            /* Every entry is before k (unless the seek failed: the
             * rebuild reports that error). */
            if (iter_status(c) == 0)
                iter_last(c);
        } else if (!(i < cur && ikey_compare(iter_key(c), k) == 0)) {
            /* At the first entry >= k: step back to the last one that
             * precedes the current entry in reverse order. */
            iter_prev(c);
        }
    }
    rebuild(m, REVERSE);
}

static void mg_next(iter *it)
{
    merge_iter *m = M(it);
    if (m->dir != FORWARD) {
        switch_to_forward(m);
        if (m->hn == 0)
            return; /* an error while repositioning */
    }
    iter_next(m->c[m->heap[0]].it);
    fix_top(m);
}

static void mg_prev(iter *it)
{
    merge_iter *m = M(it);
    if (m->dir != REVERSE) {
        switch_to_reverse(m);
        if (m->hn == 0)
            return;
    }
    iter_prev(m->c[m->heap[0]].it);
    fix_top(m);
}

static slice mg_key(const iter *it)
{
    const merge_iter *m = CM(it);
    return m->c[m->heap[0]].key;
}

static slice mg_value(const iter *it)
{
    const merge_iter *m = CM(it);
    return iter_value(m->c[m->heap[0]].it);
}

static int mg_status(const iter *it)
{
    const merge_iter *m = CM(it);
    if (m->status)
        return m->status;
    for (size_t i = 0; i < m->n; i++) {
        int rc = iter_status(m->c[i].it);
        if (rc)
            return rc;
    }
    return 0;
}

static void mg_destroy(iter *it)
{
    merge_iter *m = M(it);
    for (size_t i = 0; i < m->n; i++)
        iter_destroy(m->c[i].it);
    free(m->c);
    free(m->heap);
    free(m);
}

static const struct iter_ops merge_iter_ops = {
    .valid = mg_valid, .first = mg_first, .last = mg_last, .seek = mg_seek,
    .next = mg_next, .prev = mg_prev, .key = mg_key, .value = mg_value,
    .status = mg_status, .destroy = mg_destroy,
};

iter *merge_iter_new(iter **children, size_t n)
{
    if (n == 1)
        return children[0];
    merge_iter *m = calloc(1, sizeof *m);
    mchild *c = n && n <= UINT32_MAX ? calloc(n, sizeof *c) : NULL;
    uint32_t *heap = n ? malloc(n * sizeof *heap) : NULL;
    if (!m || (n && (!c || !heap))) {
        free(m);
        free(c);
        free(heap);
        for (size_t i = 0; i < n; i++)
            iter_destroy(children[i]);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        c[i].it = children[i];
    m->base.ops = &merge_iter_ops;
    m->c = c;
    m->heap = heap;
    m->n = n;
    m->dir = FORWARD;
    return &m->base;
}
