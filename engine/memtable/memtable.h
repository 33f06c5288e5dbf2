/*
 * memtable.h — the in-memory write buffer: internal keys (base/dbformat.h)
 * and their values, behind one small interface with two implementations.
 *
 *   "skiplist" (memtable_new, the default)  an arena-backed skiplist
 *       (memtable_skiplist.c): O(log n) inserts and gets, lock-free readers.
 *   "vector" (memtable_create("vector"))     an append-only array for bulk
 *       loads, like RocksDB's VectorRep (memtable_vector.c): O(1) inserts
 *       with no ordering work and no lock; order is built lazily by
 *       readers.  Costs: while the memtable is being written, a get
 *       binary-searches the sorted part and then scans the unsorted tail
 *       (16 bytes per entry, up to max(1024, n/16) entries) before a reader
 *       sorts and merges the tail in (an O(n) copy of the index, inside
 *       that reader's get); every iterator created while the tail is
 *       non-empty first merges it.  Once frozen (memtable_freeze: the engine
 *       stops writing to it), the first reader sorts what remains once and
 *       every later get is a plain binary search.  Memory: 32 bytes of
 *       index per entry (a 16-byte append slot with the key's hash, a
 *       16-byte sorted slot caching the key's first 8 bytes), plus a
 *       transient second copy of the sorted index while a merge runs.
 *
 * Both store each entry as one arena allocation (the skiplist puts its
 * node in front of it) holding
 *
 *   varint32 ikey_len | user key | fixed64 (seq << 8 | type) | varint32 value_len | value
 *
 * Contract (every implementation)
 *   - One writer at a time calls memtable_add (the caller serialises: the
 *     engine's group-commit leader).
 *   - memtable_get, iterators, memtable_bytes, memtable_memory_usage and
 *     memtable_entries are safe from any thread concurrently with each
 *     other and with the writer.  Neither side ever waits for the other:
 *     the writer takes no lock; the vector's readers share a lock among
 *     themselves only (a reader may do merge work inside its call).
 *   - memtable_get returns the newest entry of the user key whose sequence
 *     is <= the read sequence.
 *   - An iterator walks internal keys in ikey_compare order (user key
 *     ascending, sequence descending) and holds a reference on the
 *     memtable until iter_destroy.  It sees every entry added before its
 *     creation, never a torn or out-of-order state, and some, all or none
 *     of the entries added later (the vector: none).
 *   - Entries are never changed or removed, so a slice handed out (by get
 *     or by an iterator) stays valid while the memtable lives.
 *   - memtable_bytes counts the bytes added (entries plus index overhead);
 *     the engine compares it with its memtable_bytes option.
 *   - The memtable lives while any reference (memtable_ref, or an
 *     iterator) is held.
 */
#ifndef LSM_MEMTABLE_H
#define LSM_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "base/dbformat.h"
#include "base/iterator.h"
#include "base/slice.h"

#define MEMTABLE_BLOCK_BYTES (1u << 20) /* arena block size */
#define MEMTABLE_IMPL_DEFAULT "skiplist"

typedef struct memtable memtable;

/* Making one by name (memtable_factory.c). */

/* An empty skiplist memtable with a reference count of 1.  NULL on ENOMEM. */
memtable *memtable_new(void);

/* An empty memtable of implementation impl ("skiplist" or "vector"; NULL
 * means MEMTABLE_IMPL_DEFAULT) with a reference count of 1, in *out.
 * Returns 0; -EINVAL (impl names no implementation); -ENOMEM.  *out is
 * NULL on error. */
int memtable_create(const char *impl, memtable **out);

/* The implementation's canonical name as a static string ("skiplist" for
 * NULL), or NULL if memtable_create would refuse impl: for validating an
 * option and storing it without owning a copy. */
const char *memtable_impl_lookup(const char *impl);

/* 0 if memtable_create would accept impl, else -EINVAL. */
int memtable_impl_check(const char *impl);

/* The rest: memtable_base.c. */

/* The implementation's name ("skiplist" or "vector"), a static string. */
const char *memtable_impl_name(const memtable *m);

/* Takes one more reference.  Any thread. */
void memtable_ref(memtable *m);

/* Drops a reference; the last one frees the memtable.  Any thread.
 * m may be NULL. */
void memtable_unref(memtable *m);

/* Adds (key, seq, type) -> value, copying key and value.  value is ignored
 * (store an empty slice) for LSM_TYPE_DELETE.
 * Returns 0; -ENOMEM (nothing added); -EINVAL if key or value is longer
 * than a varint32 can describe (callers enforce the real limits earlier).
 * REQUIRES: one writer at a time.
 * REQUIRES: no entry with the same key and seq is present.
 * REQUIRES: memtable_freeze(m) has not been called. */
int memtable_add(memtable *m, uint64_t seq, enum value_type type, slice key, slice value);

/* Marks m immutable: the caller (the writer) promises no further
 * memtable_add.  O(1); a hint that lets the vector sort its remaining tail
 * once at the next read instead of scanning it on every get.  Optional:
 * reads are correct without it.  Idempotent. */
void memtable_freeze(memtable *m);

enum memtable_lookup {
    MEMTABLE_ABSENT = 0,  /* no version of key with sequence <= seq */
    MEMTABLE_FOUND = 1,   /* *value set */
    MEMTABLE_DELETED = 2, /* the newest such version is a deletion */
};

/* Looks up the newest entry for user key with sequence <= seq (clamped to
 * LSM_MAX_SEQUENCE).  On FOUND *value points into the memtable and stays
 * valid while the caller holds a reference.  The skiplist allocates
 * nothing; the vector may sort and merge its tail here (allocating; on
 * ENOMEM it just scans).  Safe concurrently with the writer. */
enum memtable_lookup memtable_get(memtable *m, slice key, uint64_t seq, slice *value);

/* Bytes added so far (entries plus index overhead): what the engine
 * compares with memtable_bytes to decide the memtable is full.  Any
 * thread. */
size_t memtable_bytes(const memtable *m);

/* Memory reserved from the system (arena blocks plus index arrays).  Any
 * thread. */
size_t memtable_memory_usage(const memtable *m);

/* Number of entries added so far.  Any thread. */
uint64_t memtable_entries(const memtable *m);

/* An iterator over the internal keys (user key ascending, sequence
 * descending) and their values.  key()/value() slices stay valid while the
 * iterator lives (longer than base/iterator.h promises).  The iterator
 * holds a reference on m until iter_destroy.  seek() REQUIRES a target of
 * at least INTERNAL_TRAILER bytes.  status() is always 0.  NULL on ENOMEM. */
iter *memtable_iter_new(memtable *m);

#endif
