/* memtable_skiplist.c — the "skiplist" memtable (memtable.h): entries
 * stored inside the nodes of an arena skiplist (skiplist.h), one writer,
 * lock-free readers.  A lookup touches one cache line per node it passes. */
#include "memtable_internal.h"

#include <errno.h>
#include <stdlib.h>

#include "skiplist.h"

struct memtable_skiplist {
    struct memtable base;
    skiplist *list; /* in base.arena */
};

#define SL(m) ((struct memtable_skiplist *)(m))

/*
 * Probes.  Lookups (get, seek) hand the skiplist a `struct probe` instead of
 * an encoded entry, so they copy nothing and allocate nothing whatever the
 * key size.  The comparator tells the two apart by the first byte: a probe
 * starts with 0, a stored entry with varint32(ikey_len), and ikey_len >= 8
 * never encodes to a 0 first byte.  skiplist.h guarantees that only the
 * second argument of cmp is ever a probe.
 */
struct probe {
    unsigned char tag; /* 0 */
    slice ukey;
    uint64_t trailer;
};

/* Internal-key order (ikey_compare) between a stored entry and a stored
 * entry or a probe. */
static int entry_cmp(void *ctx, const char *entry, const char *probe)
{
    (void)ctx;
    slice a = memtable_entry_ikey(entry);
    if (probe[0] != 0)
        return ikey_compare(a, memtable_entry_ikey(probe));
    const struct probe *pr = (const struct probe *)(const void *)probe;
    int r = slice_compare(ikey_user(a), pr->ukey);
    if (r != 0)
        return r;
    uint64_t ta = ikey_trailer(a);
    return (ta < pr->trailer) - (ta > pr->trailer);
}

static char *sl_prepare(memtable *m, size_t n)
{
    return skiplist_prepare(SL(m)->list, n);
}

static void sl_publish(memtable *m, const char *entry)
{
    skiplist_insert_prepared(SL(m)->list, entry);
}

static enum memtable_lookup sl_get(memtable *m, slice key, uint64_t seq, slice *value)
{
    struct probe pr = { 0, key, pack_trailer(seq, LSM_TYPE_SEEK) };
    skiplist_iter it;
    skiplist_iter_init(&it, SL(m)->list);
    skiplist_iter_seek(&it, (const char *)&pr);
    if (!skiplist_iter_valid(&it))
        return MEMTABLE_ABSENT;
    slice ik = memtable_entry_ikey(skiplist_iter_entry(&it));
    if (!slice_equal(ikey_user(ik), key))
        return MEMTABLE_ABSENT;
    return memtable_entry_result(ik, value);
}

static void sl_freeze(memtable *m)
{
    (void)m; /* always ordered: nothing to do */
}

static size_t sl_memory_usage(const memtable *m)
{
    (void)m; /* everything lives in the arena */
    return 0;
}

static void sl_destroy(memtable *m)
{
    memtable_base_destroy(m); /* the list lives in the arena */
    free(m);
}

/* ---- iterator ---------------------------------------------------------- */

struct sl_iter {
    iter base;
    memtable *m;
    skiplist_iter sit;
};

#define SI(it) ((struct sl_iter *)(it))
#define CSI(it) ((const struct sl_iter *)(it))

static bool si_valid(const iter *it) { return skiplist_iter_valid(&CSI(it)->sit); }
static void si_first(iter *it) { skiplist_iter_first(&SI(it)->sit); }
static void si_last(iter *it) { skiplist_iter_last(&SI(it)->sit); }
static void si_next(iter *it) { skiplist_iter_next(&SI(it)->sit); }
static void si_prev(iter *it) { skiplist_iter_prev(&SI(it)->sit); }
static int si_status(const iter *it) { (void)it; return 0; }

static void si_seek(iter *it, slice target)
{
    assert(target.size >= INTERNAL_TRAILER);
    struct probe pr = { 0, ikey_user(target), ikey_trailer(target) };
    skiplist_iter_seek(&SI(it)->sit, (const char *)&pr);
}

static slice si_key(const iter *it)
{
    return memtable_entry_ikey(skiplist_iter_entry(&CSI(it)->sit));
}

static slice si_value(const iter *it)
{
    return memtable_entry_value(memtable_entry_ikey(skiplist_iter_entry(&CSI(it)->sit)));
}

static void si_destroy(iter *it)
{
    memtable_unref(SI(it)->m);
    free(it);
}

static const struct iter_ops sl_iter_ops = {
    .valid = si_valid,
    .first = si_first,
    .last = si_last,
    .seek = si_seek,
    .next = si_next,
    .prev = si_prev,
    .key = si_key,
    .value = si_value,
    .status = si_status,
    .destroy = si_destroy,
};

static iter *sl_iter_new(memtable *m)
{
    struct sl_iter *si = malloc(sizeof(*si));
    if (!si)
        return NULL;
    si->base.ops = &sl_iter_ops;
    si->m = m;
    memtable_ref(m);
    skiplist_iter_init(&si->sit, SL(m)->list);
    return &si->base;
}

/* ---- construction ------------------------------------------------------ */

static const struct memtable_ops skiplist_ops = {
    .name = "skiplist",
    /* Average node: entry, a key pointer and ~1.33 next pointers. */
    .entry_overhead = 2 * sizeof(void *),
    .prepare = sl_prepare,
    .publish = sl_publish,
    .get = sl_get,
    .iter_new = sl_iter_new,
    .freeze = sl_freeze,
    .memory_usage = sl_memory_usage,
    .destroy = sl_destroy,
};

int memtable_skiplist_create(memtable **out)
{
    struct memtable_skiplist *s =
        aligned_alloc(_Alignof(struct memtable_skiplist), sizeof(*s));
    if (!s)
        return -ENOMEM;
    int rc = memtable_base_init(&s->base, &skiplist_ops);
    s->list = rc == 0 ? skiplist_new(s->base.arena, entry_cmp, NULL) : NULL;
    if (!s->list) {
        memtable_base_destroy(&s->base);
        free(s);
        return -ENOMEM;
    }
    *out = &s->base;
    return 0;
}
