/* block.c — see block.h and docs/sstable-format.md §Block contents. */
#include "table/block.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/coding.h"
#include "base/dbformat.h"
#include "lsm.h"
#include "table/sstable_format.h"

int block_init(block *b, slice contents)
{
    if (contents.size < SST_BLOCK_MIN_SIZE || contents.size > UINT32_MAX)
        return LSM_ECORRUPT;
    uint32_t n = get_fixed32(contents.data + contents.size - 4);
    size_t max = (contents.size - 4) / 4;
    if (n == 0 || n > max)
        return LSM_ECORRUPT;
    uint32_t roff = (uint32_t)(contents.size - 4 - (size_t)n * 4);
    const char *r = contents.data + roff;
    if (get_fixed32(r) != 0)
        return LSM_ECORRUPT;
    /* An empty block is exactly one restart at 0 and no entries. */
    if (roff == 0 && n != 1)
        return LSM_ECORRUPT;
    uint32_t prev = 0;
    for (uint32_t i = 1; i < n; i++) {
        uint32_t off = get_fixed32(r + 4 * (size_t)i);
        if (off <= prev || off >= roff)
            return LSM_ECORRUPT;
        prev = off;
    }
    b->data = contents.data;
    b->restarts_off = roff;
    b->num_restarts = n;
    return 0;
}

static inline uint32_t restart_at(const block_iter *it, uint32_t i)
{
    return get_fixed32(it->data + it->restarts_off + 4 * (size_t)i);
}

/* Decodes the entry header at p (before limit).  Returns the first key-delta
 * byte, or NULL if the header or its key delta and value run past limit. */
static inline const char *decode_entry(const char *p, const char *limit, uint32_t *shared,
                                       uint32_t *unshared, uint32_t *vlen)
{
    if (limit - p < 3)
        return NULL;
    const unsigned char *u = (const unsigned char *)p;
    if ((u[0] | u[1] | u[2]) < 0x80) { /* the usual case: three 1-byte varints */
        *shared = u[0];
        *unshared = u[1];
        *vlen = u[2];
        p += 3;
    } else {
        if (!(p = get_varint32(p, limit, shared)) ||
            !(p = get_varint32(p, limit, unshared)) ||
            !(p = get_varint32(p, limit, vlen)))
            return NULL;
    }
    if ((uint64_t)(limit - p) < (uint64_t)*unshared + *vlen)
        return NULL;
    return p;
}

static void set_error(block_iter *it, int err)
{
    if (it->status == 0)
        it->status = err;
    it->valid = false;
    it->key_len = 0;
    it->value = slice_make(NULL, 0);
}

static void mark_end(block_iter *it)
{
    it->valid = false;
    it->cur = it->next = it->restarts_off;
    it->restart_idx = it->num_restarts;
}

static bool key_reserve(block_iter *it, size_t n)
{
    if (n <= it->key_cap)
        return true;
    size_t cap = it->key_cap * 2;
    while (cap < n)
        cap *= 2;
    char *k = it->key == it->key_inline ? malloc(cap) : realloc(it->key, cap);
    if (!k) {
        set_error(it, -ENOMEM);
        return false;
    }
    if (it->key == it->key_inline)
        memcpy(k, it->key_inline, it->key_len);
    it->key = k;
    it->key_cap = cap;
    return true;
}

/* Decodes the entry at it->next and makes it current.  At the end of the
 * entries the iterator becomes invalid.  Returns false if no entry was
 * parsed (end or corruption). */
static bool parse_next(block_iter *it)
{
    it->cur = it->next;
    if (it->cur >= it->restarts_off) {
        mark_end(it);
        return false;
    }
    const char *limit = it->data + it->restarts_off;
    uint32_t shared, unshared, vlen;
    const char *p = decode_entry(it->data + it->cur, limit, &shared, &unshared, &vlen);
    if (!p || shared > it->key_len || shared + (size_t)unshared < INTERNAL_TRAILER) {
        set_error(it, LSM_ECORRUPT);
        return false;
    }
    if (!key_reserve(it, (size_t)shared + unshared))
        return false;
    memcpy(it->key + shared, p, unshared);
    it->key_len = (size_t)shared + unshared;
    it->value = slice_make(p + unshared, vlen);
    it->next = (uint32_t)(p + unshared + vlen - it->data);
    while (it->restart_idx + 1 < it->num_restarts && restart_at(it, it->restart_idx + 1) <= it->cur)
        it->restart_idx++;
    it->valid = true;
    return true;
}

/* Positions just before restart point i: the next parse_next decodes it. */
static void seek_restart(block_iter *it, uint32_t i)
{
    it->key_len = 0; /* a restart entry shares nothing */
    it->restart_idx = i;
    it->next = restart_at(it, i);
    it->valid = false;
}

/* The whole key stored at restart point i, or an empty slice if corrupt. */
static slice restart_key(const block_iter *it, uint32_t i)
{
    uint32_t off = restart_at(it, i);
    uint32_t shared, unshared, vlen;
    const char *p = decode_entry(it->data + off, it->data + it->restarts_off, &shared,
                                 &unshared, &vlen);
    if (!p || shared != 0 || unshared < INTERNAL_TRAILER)
        return slice_make(NULL, 0);
    return slice_make(p, unshared);
}

void block_iter_reset(block_iter *it, const block *b)
{
    it->data = b->data;
    it->restarts_off = b->restarts_off;
    it->num_restarts = b->num_restarts;
    it->status = 0;
    it->key_len = 0;
    it->value = slice_make(NULL, 0);
    mark_end(it);
}

void block_iter_init(block_iter *it, const block *b)
{
    it->base.ops = NULL;
    it->key = it->key_inline;
    it->key_cap = sizeof it->key_inline;
    block_iter_reset(it, b);
}

void block_iter_fini(block_iter *it)
{
    if (it->key != it->key_inline)
        free(it->key);
    it->key = it->key_inline;
    it->key_cap = sizeof it->key_inline;
    it->key_len = 0;
    it->valid = false;
}

void block_iter_first(block_iter *it)
{
    if (it->status)
        return;
    seek_restart(it, 0);
    parse_next(it);
}

void block_iter_last(block_iter *it)
{
    if (it->status)
        return;
    seek_restart(it, it->num_restarts - 1);
    while (parse_next(it) && it->next < it->restarts_off) {
    }
}

/* Starts loading the lines of restart interval i, which the scan is about
 * to walk: entries with values span many lines, and fetching them at once
 * overlaps misses the scan would otherwise take one after the other.  At
 * most 32 lines (a hint: the scan usually stops halfway). */
static inline void prefetch_interval(const block_iter *it, uint32_t i)
{
    uint32_t from = restart_at(it, i);
    uint32_t to = i + 1 < it->num_restarts ? restart_at(it, i + 1) : it->restarts_off;
    if (to - from > 32 * 64)
        to = from + 32 * 64;
    for (uint32_t off = from & ~63u; off < to; off += 64)
        __builtin_prefetch(it->data + off);
}

void block_iter_seek(block_iter *it, slice target)
{
    if (it->status)
        return;
    /* Find the last restart whose key is < target; entries before it are
     * all smaller, so the scan starts there.  A data block has a handful
     * of restarts: fetch all their keys at once rather than one miss per
     * step of the search. */
    if (it->num_restarts <= 8)
        for (uint32_t i = 1; i < it->num_restarts; i++)
            __builtin_prefetch(it->data + restart_at(it, i));
    uint32_t lo = 0, hi = it->num_restarts - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        slice k = restart_key(it, mid);
        if (!k.data) {
            set_error(it, LSM_ECORRUPT);
            return;
        }
        if (ikey_compare(k, target) < 0)
            lo = mid;
        else
            hi = mid - 1;
    }
    seek_restart(it, lo);
    prefetch_interval(it, lo);
    while (parse_next(it)) {
        if (ikey_compare(block_iter_key(it), target) >= 0)
            return;
    }
}

void block_iter_next(block_iter *it)
{
    parse_next(it);
}

void block_iter_prev(block_iter *it)
{
    uint32_t original = it->cur;
    uint32_t i = it->restart_idx;
    while (restart_at(it, i) >= original) {
        if (i == 0) { /* already at the first entry */
            mark_end(it);
            return;
        }
        i--;
    }
    seek_restart(it, i);
    while (parse_next(it) && it->next < original) {
    }
}

/* ---- search hints --------------------------------------------------------- */

/* The 8 bytes at p (n of them available), big-endian, zero-padded. */
static inline uint64_t be_window(const char *p, size_t n)
{
    uint64_t v;
    if (n >= 8) {
        memcpy(&v, p, 8);
        return __builtin_bswap64(v);
    }
    v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)(unsigned char)p[i] << (56 - 8 * i);
    return v;
}

void block_hint_free(block_hint *h)
{
    free(h->pfx);
    *h = (block_hint){ 0 };
}

int block_hint_build(block_hint *h, const block *b)
{
    *h = (block_hint){ 0 };
    block_iter it;
    block_iter_init(&it, b);
    uint32_t n = b->num_restarts;
    slice first = restart_key(&it, 0), last = restart_key(&it, n - 1);
    if (b->restarts_off == 0 || !first.data || !last.data)
        return LSM_ECORRUPT; /* empty or malformed: nothing to speed up */
    first = ikey_user(first);
    last = ikey_user(last);
    size_t cl = 0;
    while (cl < first.size && cl < last.size && first.data[cl] == last.data[cl])
        cl++;
    uint64_t *pfx = malloc((size_t)n * sizeof *pfx);
    if (!pfx)
        return -ENOMEM;
    slice prev = slice_make(NULL, 0);
    for (uint32_t i = 0; i < n; i++) {
        slice k = restart_key(&it, i);
        if (!k.data || (prev.data && ikey_compare(prev, k) >= 0)) {
            free(pfx);
            return LSM_ECORRUPT;
        }
        /* Sorted keys between two that share a prefix share it too. */
        slice u = ikey_user(k);
        if (u.size < cl || memcmp(u.data, first.data, cl) != 0) {
            free(pfx);
            return LSM_ECORRUPT;
        }
        pfx[i] = be_window(u.data + cl, u.size - cl);
        prev = k;
    }
    /* Dense: each entry is a restart, i.e. entry i ends where restart i+1
     * begins.  Walk the entries once to find out. */
    uint32_t entries = 0;
    for (block_iter_first(&it); block_iter_valid(&it); block_iter_next(&it))
        entries++;
    if (block_iter_status(&it)) {
        block_iter_fini(&it);
        free(pfx);
        return LSM_ECORRUPT;
    }
    block_iter_fini(&it);
    *h = (block_hint){ .pfx = pfx, .common = first.data, .common_len = cl,
                       .num_restarts = n, .dense = entries == n };
    return 0;
}

/* First restart in [lo, hi) whose key is >= target (hi if none), by full
 * comparison; -1 if a restart key is malformed. */
static int64_t restart_lower_bound(const block_iter *it, uint32_t lo, uint32_t hi, slice target)
{
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        slice k = restart_key(it, mid);
        if (!k.data)
            return -1;
        if (ikey_compare(k, target) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The first restart whose key is >= target (num_restarts if none), found
 * through h; -1 if a restart key is malformed.  REQUIRES: h->pfx. */
static int64_t hint_first_ge(const block_iter *it, const block_hint *h, slice target)
{
    uint32_t n = h->num_restarts;
    slice u = ikey_user(target);
    size_t cl = h->common_len, m = u.size < cl ? u.size : cl;
    int c = memcmp(u.data, h->common, m);
    if (c < 0 || (c == 0 && u.size < cl))
        return 0; /* before every restart key */
    if (c > 0)
        return n; /* after every restart key */
    /* Restarts below lo are < target, those from hi on are > target. */
    uint64_t t = be_window(u.data + cl, u.size - cl);
    const uint64_t *p = h->pfx;
    uint32_t a = 0, b = n; /* lower bound: first pfx >= t */
    while (a < b) {
        uint32_t mid = a + (b - a) / 2;
        if (p[mid] < t)
            a = mid + 1;
        else
            b = mid;
    }
    uint32_t lo = a;
    b = n; /* upper bound: first pfx > t, from lo */
    while (a < b) {
        uint32_t mid = a + (b - a) / 2;
        if (p[mid] <= t)
            a = mid + 1;
        else
            b = mid;
    }
    return lo < a ? restart_lower_bound(it, lo, a, target) : lo;
}

int64_t block_hint_find(const block_hint *h, const block *b, slice target)
{
    if (!h->pfx || !h->dense || h->num_restarts != b->num_restarts)
        return -EINVAL;
    block_iter it;
    it.data = b->data;
    it.restarts_off = b->restarts_off;
    it.num_restarts = b->num_restarts;
    int64_t r = hint_first_ge(&it, h, target);
    return r < 0 ? LSM_ECORRUPT : r;
}

void block_iter_seek_hinted(block_iter *it, const block_hint *h, slice target)
{
    if (!h->pfx || h->num_restarts != it->num_restarts) {
        block_iter_seek(it, target);
        return;
    }
    if (it->status)
        return;
    uint32_t n = h->num_restarts;
    int64_t first_ge = hint_first_ge(it, h, target);
    if (first_ge < 0) {
        set_error(it, LSM_ECORRUPT);
        return;
    }
    uint32_t a = (uint32_t)first_ge;
    if (h->dense) {
        /* Restart a is the first entry >= target. */
        if (a == n) {
            mark_end(it);
            return;
        }
        seek_restart(it, a);
        parse_next(it);
        return;
    }
    /* The first entry >= target lies after restart a-1, up to restart a. */
    seek_restart(it, a ? a - 1 : 0);
    while (parse_next(it)) {
        if (ikey_compare(block_iter_key(it), target) >= 0)
            return;
    }
}

/* ---- the iter interface ------------------------------------------------- */

static bool bi_valid(const iter *i) { return ((const block_iter *)i)->valid; }
static void bi_first(iter *i) { block_iter_first((block_iter *)i); }
static void bi_last(iter *i) { block_iter_last((block_iter *)i); }
static void bi_seek(iter *i, slice t) { block_iter_seek((block_iter *)i, t); }
static void bi_next(iter *i) { block_iter_next((block_iter *)i); }
static void bi_prev(iter *i) { block_iter_prev((block_iter *)i); }
static slice bi_key(const iter *i) { return block_iter_key((const block_iter *)i); }
static slice bi_value(const iter *i) { return block_iter_value((const block_iter *)i); }
static int bi_status(const iter *i) { return block_iter_status((const block_iter *)i); }
static void bi_destroy(iter *i)
{
    block_iter_fini((block_iter *)i);
    free(i);
}

static const struct iter_ops block_iter_ops = {
    .valid = bi_valid, .first = bi_first, .last = bi_last, .seek = bi_seek,
    .next = bi_next, .prev = bi_prev, .key = bi_key, .value = bi_value,
    .status = bi_status, .destroy = bi_destroy,
};

iter *block_iter_new(const block *b)
{
    block_iter *it = malloc(sizeof *it);
    if (!it)
        return NULL;
    block_iter_init(it, b);
    it->base.ops = &block_iter_ops;
    return &it->base;
}
