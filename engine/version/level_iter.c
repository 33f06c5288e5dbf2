/*
 * level_iter.c — one table iterator at a time over a level's sorted,
 * disjoint files; moving off either end of a table opens its neighbour.
 */
#include "version/level_iter.h"

#include <errno.h>
#include <stdlib.h>

#include "base/dbformat.h"

typedef struct level_iter {
    iter base;
    file_meta **files;
    size_t n;
    level_iter_open_fn open;
    void *ctx;
    size_t idx; /* file cur iterates; n when none is open */
    iter *cur;
    int status; /* sticky: an open error or cur's error */
} level_iter;

#define L(it) ((level_iter *)(it))
#define CL(it) ((const level_iter *)(it))

/* Makes file i (or none when i == n) the open one; keeps cur when it
 * already iterates file i. */
static void set_file(level_iter *l, size_t i)
{
    if (l->cur && l->idx == i)
        return;
    iter_destroy(l->cur);
    l->cur = NULL;
    l->idx = l->n;
    if (i >= l->n)
        return;
    iter *it = NULL;
    int rc = l->open(l->ctx, l->files[i], &it);
    if (rc != 0 || !it) {
        l->status = rc ? rc : -ENOMEM;
        return;
    }
    l->cur = it;
    l->idx = i;
}

/* cur stopped: record its error, if any.  True when the scan may go on. */
static bool cur_ok(level_iter *l)
{
    int rc = iter_status(l->cur);
    if (rc == 0)
        return true;
    l->status = rc;
    set_file(l, l->n);
    return false;
}

/* Moves forward over exhausted (or empty) tables. */
static void skip_forward(level_iter *l)
{
    while (l->cur && !iter_valid(l->cur)) {
        if (!cur_ok(l))
            return;
        set_file(l, l->idx + 1); /* idx + 1 == n closes the last one */
        if (l->cur)
            iter_first(l->cur);
    }
}

static void skip_backward(level_iter *l)
{
    while (l->cur && !iter_valid(l->cur)) {
        if (!cur_ok(l))
            return;
        set_file(l, l->idx == 0 ? l->n : l->idx - 1);
        if (l->cur)
            iter_last(l->cur);
    }
}

static bool lv_valid(const iter *it)
{
    const level_iter *l = CL(it);
    return l->cur && iter_valid(l->cur);
}

static void lv_first(iter *it)
{
    level_iter *l = L(it);
    if (l->status)
        return;
    set_file(l, 0);
    if (l->cur)
        iter_first(l->cur);
    skip_forward(l);
}

static void lv_last(iter *it)
{
    level_iter *l = L(it);
    if (l->status)
        return;
    set_file(l, l->n ? l->n - 1 : 0);
    if (l->cur)
        iter_last(l->cur);
    skip_backward(l);
}

/* Index of the first file whose largest key >= target (n if none). */
static size_t find_file(const level_iter *l, slice target)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ikey_compare(file_meta_largest(l->files[mid]), target) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void lv_seek(iter *it, slice target)
{
    level_iter *l = L(it);
    if (l->status)
        return;
    set_file(l, find_file(l, target));
    if (l->cur)
        iter_seek(l->cur, target);
    skip_forward(l);
}

static void lv_next(iter *it)
{
    level_iter *l = L(it);
    iter_next(l->cur);
    skip_forward(l);
}

static void lv_prev(iter *it)
{
    level_iter *l = L(it);
    iter_prev(l->cur);
    skip_backward(l);
}

static slice lv_key(const iter *it) { return iter_key(CL(it)->cur); }
static slice lv_value(const iter *it) { return iter_value(CL(it)->cur); }

static int lv_status(const iter *it)
{
    const level_iter *l = CL(it);
    if (l->status)
        return l->status;
    return l->cur ? iter_status(l->cur) : 0;
}

static void lv_destroy(iter *it)
{
    level_iter *l = L(it);
    iter_destroy(l->cur);
    for (size_t i = 0; i < l->n; i++)
        file_meta_unref(l->files[i]);
    free(l->files);
    free(l);
}

static const struct iter_ops level_iter_ops = {
    .valid = lv_valid, .first = lv_first, .last = lv_last, .seek = lv_seek,
    .next = lv_next, .prev = lv_prev, .key = lv_key, .value = lv_value,
    .status = lv_status, .destroy = lv_destroy,
};

iter *level_iter_new(file_meta **files, size_t n, level_iter_open_fn open, void *ctx)
{
    level_iter *l = calloc(1, sizeof *l);
    file_meta **copy = n ? malloc(n * sizeof *copy) : NULL;
    if (!l || (n && !copy)) {
        free(l);
        free(copy);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        copy[i] = files[i];
        file_meta_ref(files[i]);
    }
    l->base.ops = &level_iter_ops;
    l->files = copy;
    l->n = n;
    l->open = open;
    l->ctx = ctx;
    l->idx = n;
    return &l->base;
}
