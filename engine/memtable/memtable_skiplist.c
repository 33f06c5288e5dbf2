/* memtable_skiplist.c — the "skiplist" memtable (memtable.h): entries
 * stored inside the nodes of an arena skiplist (skiplist.h), one writer,
 * lock-free readers.  A lookup touches one cache line per node it passes:
 * ~20 cache misses in a full 64 MiB memtable, so gets first ask a bloom
 * filter of the user keys (below) and skip the search for most keys the
 * memtable does not hold (cf. RocksDB's memtable_whole_key_filtering). */
#include "memtable/memtable_base.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "table/bloom.h"
#include "memtable/skiplist.h"

/*
 * The key filter: cache-local blooms (each key sets MB_PROBES bits inside
 * one 64-byte line, so a probe costs one cache miss).  A memtable does not
 * know how many keys it will get, so the filter grows like a scalable bloom
 * filter: when the newest segment has taken the keys it was sized for, a
 * segment 4x bigger takes the next ones; a get asks every segment.  The
 * first segment is sized from the last memtable freed (g_size_hint), so in
 * a steady state one segment suffices.
 *
 * Thread safety: the one writer sets bits (relaxed load + store: no other
 * writer) before it links the entry into the list, and publishes new
 * segments with a release store; readers load relaxed.  A reader that must
 * see an entry (its read sequence covers it) synchronised with the writer
 * through the engine's last_seq after that entry's add, so it also sees
 * the bits.  If a segment cannot be allocated the filter is switched off
 * for good (`off`, set before the first key it misses is linked).
 */
#define MB_PROBES 6
#define MB_BITS_PER_KEY 10
#define MB_SEGMENTS 8
#define MB_MIN_KEYS 4096u
#define MB_MAX_FIRST_KEYS (1u << 22)

typedef struct mb_segment {
    size_t nlines;  /* 64-byte lines */
    uint64_t cap;   /* keys it was sized for */
    uint64_t added; /* writer only */
    _Alignas(64) _Atomic uint64_t words[]; /* 8 per line */
} mb_segment;

static _Atomic uint64_t g_size_hint = 65536; /* keys of the last memtable freed */

struct memtable_skiplist {
    struct memtable base;
    skiplist *list; /* in base.arena */
    _Atomic(mb_segment *) seg[MB_SEGMENTS];
    atomic_int nseg;
    atomic_bool off;
};

static mb_segment *mb_segment_new(uint64_t cap)
{
    size_t nlines = (size_t)((cap * MB_BITS_PER_KEY + 511) / 512);
    size_t bytes = sizeof(mb_segment) + nlines * 64;
    mb_segment *g = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (!g)
        return NULL;
    memset(g, 0, bytes);
    g->nlines = nlines;
    g->cap = cap;
    return g;
}

/* The line of h, and the MB_PROBES bit numbers inside it in *bits. */
static inline _Atomic uint64_t *mb_line(const mb_segment *g, uint64_t h)
{
    size_t line = (size_t)(((unsigned __int128)h * g->nlines) >> 64);
    return (_Atomic uint64_t *)&g->words[line * 8];
}

static inline uint64_t mb_bits(uint64_t h)
{
    return h * UINT64_C(0x9e3779b97f4a7c15); /* 9 bits per probe */
}

static bool mb_segment_may_contain(const mb_segment *g, uint64_t h)
{
    const _Atomic uint64_t *w = mb_line(g, h);
    uint64_t b = mb_bits(h);
    for (int j = 0; j < MB_PROBES; j++, b >>= 9) {
        unsigned bit = (unsigned)b & 511;
        if (!(atomic_load_explicit(&w[bit >> 6], memory_order_relaxed) &
              (UINT64_C(1) << (bit & 63))))
            return false;
    }
    return true;
}

/* Writer only: records h, growing the filter when the newest segment is
 * full (or switching it off when memory runs out). */
static void mb_add(struct memtable_skiplist *s, uint64_t h)
{
    if (atomic_load_explicit(&s->off, memory_order_relaxed))
        return;
    int n = atomic_load_explicit(&s->nseg, memory_order_relaxed);
    mb_segment *g = n ? atomic_load_explicit(&s->seg[n - 1], memory_order_relaxed) : NULL;
    if ((!g || g->added >= g->cap) && n < MB_SEGMENTS) {
        uint64_t cap;
        if (g) {
            cap = g->cap * 4;
        } else {
            cap = atomic_load_explicit(&g_size_hint, memory_order_relaxed);
            cap = cap < MB_MIN_KEYS ? MB_MIN_KEYS : cap > MB_MAX_FIRST_KEYS ? MB_MAX_FIRST_KEYS : cap;
        }
        mb_segment *ng = mb_segment_new(cap);
        if (!ng) {
            atomic_store_explicit(&s->off, true, memory_order_release);
            return;
        }
        atomic_store_explicit(&s->seg[n], ng, memory_order_release);
        atomic_store_explicit(&s->nseg, n + 1, memory_order_release);
        g = ng;
    }
    _Atomic uint64_t *w = mb_line(g, h);
    uint64_t b = mb_bits(h);
    for (int j = 0; j < MB_PROBES; j++, b >>= 9) {
        unsigned bit = (unsigned)b & 511;
        _Atomic uint64_t *word = &w[bit >> 6];
        atomic_store_explicit(word,
                              atomic_load_explicit(word, memory_order_relaxed) |
                                  (UINT64_C(1) << (bit & 63)),
                              memory_order_relaxed);
    }
    g->added++;
}

/* false: no entry of user key is in the memtable. */
static bool mb_may_contain(const struct memtable_skiplist *s, slice key)
{
    if (atomic_load_explicit(&s->off, memory_order_acquire))
        return true;
    int n = atomic_load_explicit(&s->nseg, memory_order_acquire);
    if (n == 0)
        return false; /* nothing added before the caller's read point */
    uint64_t h = bloom_hash(key);
    for (int i = 0; i < n; i++)
        if (mb_segment_may_contain(atomic_load_explicit(&s->seg[i], memory_order_acquire), h))
            return true;
    return false;
}

static size_t mb_bytes(const struct memtable_skiplist *s)
{
    size_t sum = 0;
    int n = atomic_load_explicit(&s->nseg, memory_order_acquire);
    for (int i = 0; i < n; i++)
        sum += sizeof(mb_segment) +
               atomic_load_explicit(&s->seg[i], memory_order_acquire)->nlines * 64;
    return sum;
}

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
    mb_add(SL(m), bloom_hash(ikey_user(memtable_entry_ikey(entry))));
    skiplist_insert_prepared(SL(m)->list, entry);
}

static enum memtable_lookup sl_get(memtable *m, slice key, uint64_t seq, slice *value)
{
    if (!mb_may_contain(SL(m), key))
        return MEMTABLE_ABSENT;
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
    /* The list lives in the arena; the key filter does not. */
    return mb_bytes((const struct memtable_skiplist *)m);
}

static void sl_destroy(memtable *m)
{
    struct memtable_skiplist *s = SL(m);
    uint64_t n = memtable_entries(m);
    if (n >= MB_MIN_KEYS) /* the next memtable will likely see as many */
        atomic_store_explicit(&g_size_hint, n + n / 8, memory_order_relaxed);
    for (int i = 0; i < atomic_load_explicit(&s->nseg, memory_order_relaxed); i++)
        free(atomic_load_explicit(&s->seg[i], memory_order_relaxed));
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
    for (int i = 0; i < MB_SEGMENTS; i++)
        atomic_init(&s->seg[i], NULL);
    atomic_init(&s->nseg, 0);
    atomic_init(&s->off, false);
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
