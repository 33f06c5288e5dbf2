/*
 * memtable_vector.c — the "vector" memtable (memtable.h) for bulk loads:
 * inserts append, readers build the order lazily.  The idea is RocksDB's
 * VectorRep; the structure (a lock-free log plus a shared sorted run that
 * readers merge the tail into) is ours.
 *
 * Design
 *   The log holds every entry pointer, with its user key's hash, in
 *   insertion order, in chunks that never move (chunk k has LOG_BASE << k
 *   slots), so appending is two stores and a release of n: no lock, no
 *   ordering work, no copying.
 *
 *   The run is an immutable, reference-counted sorted array covering
 *   log[0, run->n); the rest of the log is the unsorted tail.  Each run
 *   slot caches the first 8 bytes of its user key (big-endian, zero-padded)
 *   so most comparisons in sorts and binary searches never touch the entry.
 *
 *   A get binary-searches the run and scans the tail's hashes.  When the
 *   tail grows past max(TAIL_MIN, run->n >> TAIL_SHIFT), or at all once
 *   the memtable is frozen, the reader merges: it copies and sorts the
 *   tail (radix sort on the cached prefixes), merges it with the run into
 *   a new run (galloping: O(t log(n/t)) comparisons plus an O(n) copy) and
 *   swaps the new run in.  TAIL_SHIFT trades the scan against how often
 *   the O(n) copy is paid (docs/architecture.md, "Memtable
 *   implementations").  An iterator first merges whatever tail exists, then walks
 *   the run it references: a consistent snapshot, O(1) next and prev.
 *
 * Thread safety / Invariants
 *   (1) Log slots below n, and the chunk pointers they lie in, are written
 *       by the writer before its release store of n and never again;
 *       readers acquire n and read only below it.
 *   (2) A run never changes once published.  v->run is replaced only by a
 *       holder of merge_mu (so a merger may read it without the rwlock),
 *       under the write side of `lock`; gets use the run under the read
 *       side, iterators take a reference, so the old run is dropped right
 *       after the swap.  The swap is O(1): all merge work happens before.
 *   (3) run->n <= n, and run->n only grows (a merge covers a prefix of the
 *       log at least as long as the run it replaces).
 *   (4) The rwlock prefers writers: a stream of gets cannot starve a swap.
 */
#include "memtable/memtable_base.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define LOG_BASE_SHIFT 10
#define LOG_BASE ((size_t)1 << LOG_BASE_SHIFT) /* slots in chunk 0 */
#define LOG_CHUNKS 40                          /* ~2^50 slots: more than memory */

#define TAIL_MIN 1024 /* a get merges past max(TAIL_MIN, run->n >> TAIL_SHIFT) */
#define TAIL_SHIFT 4

struct vslot {
    uint64_t prefix; /* key_prefix() of the entry's user key */
    const char *e;
};

/* A log slot: the hash lets a get skip the tail's other keys without
 * touching their entries (16 bytes read per entry instead of a cache line
 * behind a pointer). */
struct lslot {
    const char *e;
    uint64_t hash; /* XXH3_64bits of the user key */
};

struct vrun {
    atomic_int refs;
    size_t n; /* covers log[0, n) */
    struct vslot s[];
};

struct memtable_vector {
    struct memtable base;
    /* Written by the writer on every add, read by every get. */
    _Alignas(64) atomic_size_t n; /* log slots published */
    /* Read-mostly. */
    _Alignas(64) struct lslot *chunk[LOG_CHUNKS];
    pthread_rwlock_t lock;     /* read: using v->run; write: replacing it */
    struct vrun *run;          /* see (2) */
    pthread_mutex_t merge_mu;  /* one merger at a time */
    atomic_size_t covered;     /* run->n, readable without the lock */
    atomic_bool frozen;
    atomic_size_t log_bytes;   /* memory_usage bookkeeping */
    atomic_size_t run_bytes;
};

#define VEC(m) ((struct memtable_vector *)(m))

/* The first 8 bytes of ukey as a big-endian number, zero-padded: if
 * prefix(a) < prefix(b) then a < b bytewise; equal prefixes decide
 * nothing. */
static inline uint64_t key_prefix(slice ukey)
{
    uint64_t x = 0;
    if (ukey.size) /* an empty key may have a NULL pointer */
        memcpy(&x, ukey.data, ukey.size < 8 ? ukey.size : 8);
    return be64toh(x);
}

/* ikey_compare order between two slots. */
static inline int slot_cmp(const struct vslot *a, const struct vslot *b)
{
    if (a->prefix != b->prefix)
        return a->prefix < b->prefix ? -1 : 1;
    return ikey_compare(memtable_entry_ikey(a->e), memtable_entry_ikey(b->e));
}

struct vprobe {
    uint64_t prefix;
    slice ukey;
    uint64_t trailer;
};

static inline int slot_cmp_probe(const struct vslot *s, const struct vprobe *p)
{
    if (s->prefix != p->prefix)
        return s->prefix < p->prefix ? -1 : 1;
    slice ik = memtable_entry_ikey(s->e);
    int r = slice_compare(ikey_user(ik), p->ukey);
    if (r != 0)
        return r;
    uint64_t t = ikey_trailer(ik);
    return (t < p->trailer) - (t > p->trailer);
}

/* The first slot of r not before p (r->n if none). */
static size_t run_lower_bound(const struct vrun *r, const struct vprobe *p)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (slot_cmp_probe(&r->s[mid], p) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- runs -------------------------------------------------------------- */

static struct vrun *run_alloc(size_t n)
{
    if (n > (SIZE_MAX - sizeof(struct vrun)) / sizeof(struct vslot))
        return NULL;
    struct vrun *r = malloc(sizeof(*r) + n * sizeof(struct vslot));
    if (r) {
        atomic_init(&r->refs, 1);
        r->n = n;
    }
    return r;
}

static void run_unref(struct vrun *r)
{
    /* Acq_rel: as memtable_unref, the freer sees every holder's reads done. */
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
        free(r);
}

/* ---- the log ----------------------------------------------------------- */

/* Chunk k holds log slots [LOG_BASE * (2^k - 1), LOG_BASE * (2^(k+1) - 1)). */
static inline unsigned log_chunk(size_t i, size_t *off)
{
    size_t j = (i >> LOG_BASE_SHIFT) + 1;
    unsigned k = (unsigned)(63 - __builtin_clzll((unsigned long long)j));
    *off = i - ((((size_t)1 << k) - 1) << LOG_BASE_SHIFT);
    return k;
}

/* Points *p at log slots [i, i + returned count), all in one chunk and
 * below end.  REQUIRES: i < end <= an acquired n. */
static size_t log_span(const struct memtable_vector *v, size_t i, size_t end,
                       const struct lslot **p)
{
    size_t off;
    unsigned k = log_chunk(i, &off);
    *p = v->chunk[k] + off;
    size_t c = (LOG_BASE << k) - off;
    return c < end - i ? c : end - i;
}

static char *vec_prepare(memtable *m, size_t len)
{
    struct memtable_vector *v = VEC(m);
    assert(!atomic_load_explicit(&v->frozen, memory_order_relaxed));
    size_t off;
    unsigned k = log_chunk(atomic_load_explicit(&v->n, memory_order_relaxed), &off);
    if (k >= LOG_CHUNKS)
        return NULL;
    if (!v->chunk[k]) {
        /* Published to readers by the release of n in vec_publish (1). */
        v->chunk[k] = malloc((LOG_BASE << k) * sizeof(struct lslot));
        if (!v->chunk[k])
            return NULL;
        atomic_fetch_add_explicit(&v->log_bytes, (LOG_BASE << k) * sizeof(struct lslot),
                                  memory_order_relaxed);
    }
    return arena_alloc(m->arena, len);
}

static void vec_publish(memtable *m, const char *entry)
{
    struct memtable_vector *v = VEC(m);
    size_t i = atomic_load_explicit(&v->n, memory_order_relaxed), off;
    unsigned k = log_chunk(i, &off);
    slice ukey = ikey_user(memtable_entry_ikey(entry));
    v->chunk[k][off].e = entry;
    v->chunk[k][off].hash = XXH3_64bits(ukey.data, ukey.size);
    /* Release: pairs with the readers' acquire of n; whoever sees n > i
     * sees the slot, its chunk pointer and the entry bytes. */
    atomic_store_explicit(&v->n, i + 1, memory_order_release);
}

/* ---- sorting and merging ---------------------------------------------- */

static int slot_qcmp(const void *a, const void *b)
{
    return slot_cmp(a, b);
}

/* Sorts a[0, n) using tmp[0, n) as scratch: an LSD radix sort on the
 * prefixes (one counting pass, then one scatter per byte on which the
 * slots differ), then a comparison sort of each group of equal prefixes
 * (keys sharing their first 8 bytes). */
static void slots_sort(struct vslot *a, struct vslot *tmp, size_t n)
{
    if (n < 64) {
        qsort(a, n, sizeof(*a), slot_qcmp);
        return;
    }
    size_t (*cnt)[256] = calloc(8, sizeof(*cnt));
    if (!cnt) {
        qsort(a, n, sizeof(*a), slot_qcmp); /* glibc's qsort degrades gracefully */
        return;
    }
    for (size_t i = 0; i < n; i++)
        for (unsigned b = 0; b < 8; b++)
            cnt[b][(a[i].prefix >> (8 * b)) & 0xff]++;
    struct vslot *src = a, *dst = tmp;
    for (unsigned b = 0; b < 8; b++) {
        unsigned shift = 8 * b;
        if (cnt[b][(src[0].prefix >> shift) & 0xff] == n)
            continue; /* every slot has the same byte here */
        size_t pos = 0;
        for (unsigned d = 0; d < 256; d++) {
            size_t c = cnt[b][d];
            cnt[b][d] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[cnt[b][(src[i].prefix >> shift) & 0xff]++] = src[i];
        struct vslot *t = src;
        src = dst;
        dst = t;
    }
    free(cnt);
    if (src != a)
        memcpy(a, src, n * sizeof(*a));
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && a[j].prefix == a[i].prefix)
            j++;
        if (j - i > 1)
            qsort(a + i, j - i, sizeof(*a), slot_qcmp);
        i = j;
    }
}

/* Merges sorted a[0, na) and b[0, nb) (no slot in both) into out.  Each b
 * finds its place by an exponential search from the previous one, so a big
 * run and a small batch cost O(nb log(na/nb)) comparisons plus the copy. */
static void slots_merge(const struct vslot *a, size_t na, const struct vslot *b, size_t nb,
                        struct vslot *out)
{
    size_t ia = 0;
    for (size_t ib = 0; ib < nb; ib++) {
        /* a[ia, lo) < b[ib]; a[hi] > b[ib] or hi == na. */
        size_t lo = ia, hi = na, step = 1;
        while (ia + step <= na) {
            if (slot_cmp(&a[ia + step - 1], &b[ib]) > 0) {
                hi = ia + step - 1;
                break;
            }
            lo = ia + step;
            step <<= 1;
        }
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (slot_cmp(&a[mid], &b[ib]) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        memcpy(out, a + ia, (lo - ia) * sizeof(*out));
        out += lo - ia;
        *out++ = b[ib];
        ia = lo;
    }
    memcpy(out, a + ia, (na - ia) * sizeof(*out));
}

/* Merges the whole tail present now into a new run and installs it.
 * 0 or -ENOMEM (nothing changed).  REQUIRES: merge_mu held. */
static int vec_merge_locked(struct memtable_vector *v)
{
    struct vrun *old = v->run; /* stable: we hold merge_mu (2) */
    size_t end = atomic_load_explicit(&v->n, memory_order_acquire);
    size_t t = end - old->n;
    if (t == 0)
        return 0;
    struct vrun *nr = run_alloc(end);
    struct vslot *batch = t <= SIZE_MAX / (2 * sizeof(*batch))
                              ? malloc(2 * t * sizeof(*batch)) /* + sort scratch */
                              : NULL;
    if (!nr || !batch) {
        free(nr);
        free(batch);
        return -ENOMEM;
    }
    size_t w = 0;
    for (size_t i = old->n; i < end;) {
        const struct lslot *p;
        size_t c = log_span(v, i, end, &p);
        for (size_t j = 0; j < c; j++, w++) {
            batch[w].e = p[j].e;
            batch[w].prefix = key_prefix(ikey_user(memtable_entry_ikey(p[j].e)));
        }
        i += c;
    }
    slots_sort(batch, batch + t, t);
    slots_merge(old->s, old->n, batch, t, nr->s);
    free(batch);

    pthread_rwlock_wrlock(&v->lock);
    v->run = nr;
    atomic_store_explicit(&v->covered, end, memory_order_relaxed);
    pthread_rwlock_unlock(&v->lock);
    atomic_store_explicit(&v->run_bytes, sizeof(*nr) + end * sizeof(struct vslot),
                          memory_order_relaxed);
    run_unref(old);
    return 0;
}

/* A get's decision to merge: the tail is long, or the memtable is frozen
 * and anything is left.  Never waits: if another reader is merging, this
 * one scans. */
static void vec_maybe_merge(struct memtable_vector *v)
{
    size_t end = atomic_load_explicit(&v->n, memory_order_relaxed);
    size_t covered = atomic_load_explicit(&v->covered, memory_order_relaxed);
    if (end <= covered)
        return;
    size_t limit = covered >> TAIL_SHIFT;
    if (limit < TAIL_MIN)
        limit = TAIL_MIN;
    if (end - covered <= limit && !atomic_load_explicit(&v->frozen, memory_order_relaxed))
        return;
    if (pthread_mutex_trylock(&v->merge_mu) != 0)
        return;
    (void)vec_merge_locked(v); /* on ENOMEM the tail stays and gets scan it */
    pthread_mutex_unlock(&v->merge_mu);
}

/* ---- reads ------------------------------------------------------------- */

static enum memtable_lookup vec_get(memtable *m, slice key, uint64_t seq, slice *value)
{
    struct memtable_vector *v = VEC(m);
    vec_maybe_merge(v);
    struct vprobe pr = { key_prefix(key), key, pack_trailer(seq, LSM_TYPE_SEEK) };
    const char *best = NULL;
    uint64_t best_tr = 0;

    pthread_rwlock_rdlock(&v->lock);
    const struct vrun *r = v->run;
    size_t covered = r->n;
    size_t pos = run_lower_bound(r, &pr);
    if (pos < covered && r->s[pos].prefix == pr.prefix) {
        slice ik = memtable_entry_ikey(r->s[pos].e);
        if (slice_equal(ikey_user(ik), key)) {
            best = r->s[pos].e;
            best_tr = ikey_trailer(ik);
        }
    }
    pthread_rwlock_unlock(&v->lock);

    /* The tail needs no lock (1).  Keep the newest visible version. */
    size_t end = atomic_load_explicit(&v->n, memory_order_acquire);
    uint64_t h = covered < end ? XXH3_64bits(key.data, key.size) : 0;
    for (size_t i = covered; i < end;) {
        const struct lslot *p;
        size_t c = log_span(v, i, end, &p);
        for (size_t j = 0; j < c; j++) {
            if (p[j].hash != h)
                continue;
            slice ik = memtable_entry_ikey(p[j].e);
            if (!slice_equal(ikey_user(ik), key))
                continue;
            uint64_t tr = ikey_trailer(ik);
            if (tr <= pr.trailer && (!best || tr > best_tr)) {
                best = p[j].e;
                best_tr = tr;
            }
        }
        i += c;
    }
    if (!best)
        return MEMTABLE_ABSENT;
    return memtable_entry_result(memtable_entry_ikey(best), value);
}

static void vec_freeze(memtable *m)
{
    /* Relaxed: only a hint for vec_maybe_merge; ordering comes from n. */
    atomic_store_explicit(&VEC(m)->frozen, true, memory_order_relaxed);
}

static size_t vec_memory_usage(const memtable *m)
{
    const struct memtable_vector *v = VEC(m);
    return sizeof(*v) + atomic_load_explicit(&v->log_bytes, memory_order_relaxed) +
           atomic_load_explicit(&v->run_bytes, memory_order_relaxed);
}

static void vec_destroy(memtable *m)
{
    struct memtable_vector *v = VEC(m);
    run_unref(v->run); /* iterators hold memtable refs, so this is the last */
    for (unsigned k = 0; k < LOG_CHUNKS; k++)
        free((void *)v->chunk[k]);
    pthread_rwlock_destroy(&v->lock);
    pthread_mutex_destroy(&v->merge_mu);
    memtable_base_destroy(m);
    free(v);
}

/* ---- iterator ---------------------------------------------------------- */

struct vec_iter {
    iter base;
    memtable *m;
    struct vrun *r; /* referenced */
    size_t pos;     /* r->n: not valid */
};

#define VI(it) ((struct vec_iter *)(it))
#define CVI(it) ((const struct vec_iter *)(it))

static bool vi_valid(const iter *it) { return CVI(it)->pos < CVI(it)->r->n; }
static void vi_first(iter *it) { VI(it)->pos = 0; }
static void vi_next(iter *it) { VI(it)->pos++; }
static int vi_status(const iter *it) { (void)it; return 0; }

static void vi_last(iter *it)
{
    struct vec_iter *vi = VI(it);
    vi->pos = vi->r->n ? vi->r->n - 1 : 0;
}

static void vi_prev(iter *it)
{
    struct vec_iter *vi = VI(it);
    vi->pos = vi->pos ? vi->pos - 1 : vi->r->n;
}

static void vi_seek(iter *it, slice target)
{
    assert(target.size >= INTERNAL_TRAILER);
    slice u = ikey_user(target);
    struct vprobe pr = { key_prefix(u), u, ikey_trailer(target) };
    VI(it)->pos = run_lower_bound(VI(it)->r, &pr);
}

static slice vi_key(const iter *it)
{
    return memtable_entry_ikey(CVI(it)->r->s[CVI(it)->pos].e);
}

static slice vi_value(const iter *it)
{
    return memtable_entry_value(vi_key(it));
}

static void vi_destroy(iter *it)
{
    run_unref(VI(it)->r);
    memtable_unref(VI(it)->m);
    free(it);
}

static const struct iter_ops vec_iter_ops = {
    .valid = vi_valid,
    .first = vi_first,
    .last = vi_last,
    .seek = vi_seek,
    .next = vi_next,
    .prev = vi_prev,
    .key = vi_key,
    .value = vi_value,
    .status = vi_status,
    .destroy = vi_destroy,
};

static iter *vec_iter_new(memtable *m)
{
    struct memtable_vector *v = VEC(m);
    struct vec_iter *vi = malloc(sizeof(*vi));
    if (!vi)
        return NULL;
    /* Every entry published before now must be in the run we take. */
    size_t end = atomic_load_explicit(&v->n, memory_order_acquire);
    for (;;) {
        pthread_rwlock_rdlock(&v->lock);
        struct vrun *r = v->run;
        if (r->n >= end) {
            atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
            pthread_rwlock_unlock(&v->lock);
            vi->r = r;
            break;
        }
        pthread_rwlock_unlock(&v->lock);
        pthread_mutex_lock(&v->merge_mu);
        int rc = vec_merge_locked(v); /* covers end: n only grows */
        pthread_mutex_unlock(&v->merge_mu);
        if (rc != 0) {
            free(vi);
            return NULL;
        }
    }
    vi->base.ops = &vec_iter_ops;
    vi->m = m;
    memtable_ref(m);
    vi->pos = vi->r->n;
    return &vi->base;
}

/* ---- construction ------------------------------------------------------ */

static const struct memtable_ops vector_ops = {
    .name = "vector",
    /* A log slot (pointer + hash) and a run slot (prefix + pointer). */
    .entry_overhead = sizeof(struct lslot) + sizeof(struct vslot),
    .prepare = vec_prepare,
    .publish = vec_publish,
    .get = vec_get,
    .iter_new = vec_iter_new,
    .freeze = vec_freeze,
    .memory_usage = vec_memory_usage,
    .destroy = vec_destroy,
};

int memtable_vector_create(memtable **out)
{
    struct memtable_vector *v = aligned_alloc(_Alignof(struct memtable_vector), sizeof(*v));
    if (!v)
        return -ENOMEM;
    memset(v->chunk, 0, sizeof(v->chunk));
    atomic_init(&v->n, 0);
    atomic_init(&v->covered, 0);
    atomic_init(&v->frozen, false);
    atomic_init(&v->log_bytes, 0);
    v->run = run_alloc(0);
    atomic_init(&v->run_bytes, sizeof(struct vrun));
    int rc = memtable_base_init(&v->base, &vector_ops);
    pthread_rwlockattr_t attr;
    bool attr_ok = false, lock_ok = false, mu_ok = false;
    if (rc == 0 && v->run && pthread_rwlockattr_init(&attr) == 0) {
        attr_ok = true;
        /* Writer preference (4): a GNU extension, hence _GNU_SOURCE. */
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        lock_ok = pthread_rwlock_init(&v->lock, &attr) == 0;
        mu_ok = lock_ok && pthread_mutex_init(&v->merge_mu, NULL) == 0;
    }
    if (attr_ok)
        pthread_rwlockattr_destroy(&attr);
    if (!mu_ok) {
        if (lock_ok)
            pthread_rwlock_destroy(&v->lock);
        free(v->run);
        memtable_base_destroy(&v->base);
        free(v);
        return -ENOMEM;
    }
    *out = &v->base;
    return 0;
}
