/*
 * memtable.h — the in-memory write buffer: internal keys (dbformat.h) and
 * their values in an arena-backed skiplist.
 *
 * Each entry is one arena allocation: its skiplist node (8 bytes plus 8 per
 * level, 1.33 levels on average) followed by the entry bytes
 *
 *   varint32 ikey_len | user key | fixed64 (seq << 8 | type) | varint32 value_len | value
 *
 * so a lookup touches one cache line per node it passes.
 *
 * Thread safety / Invariants
 *   One writer at a time calls memtable_add (the caller serialises, e.g.
 *   the write group leader).  memtable_get, iterators, memtable_bytes and
 *   memtable_entries are lock-free and safe from any thread concurrently
 *   with the writer.  Entries are never changed or removed, so a slice
 *   handed out stays valid while the memtable lives.  The memtable lives
 *   while any reference (memtable_ref, or an iterator) is held.
 */
#ifndef LSM_MEMTABLE_H
#define LSM_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "dbformat.h"
#include "iterator.h"
#include "slice.h"

#define MEMTABLE_BLOCK_BYTES (1u << 20) /* arena block size */

typedef struct memtable memtable;

/* An empty memtable with a reference count of 1.  NULL on ENOMEM. */
memtable *memtable_new(void);

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
 * REQUIRES: no entry with the same key and seq is present. */
int memtable_add(memtable *m, uint64_t seq, enum value_type type, slice key, slice value);

enum memtable_lookup {
    MEMTABLE_ABSENT = 0,  /* no version of key with sequence <= seq */
    MEMTABLE_FOUND = 1,   /* *value set */
    MEMTABLE_DELETED = 2, /* the newest such version is a deletion */
};

/* Looks up the newest entry for user key with sequence <= seq.  On FOUND
 * *value points into the memtable and stays valid while the caller holds a
 * reference.  Allocates nothing.  Safe concurrently with the writer. */
enum memtable_lookup memtable_get(memtable *m, slice key, uint64_t seq, slice *value);

/* Bytes added so far (entries plus node overhead): what the engine compares
 * with memtable_bytes to decide the memtable is full.  Any thread. */
size_t memtable_bytes(const memtable *m);

/* Memory reserved from the system (arena blocks).  Any thread. */
size_t memtable_memory_usage(const memtable *m);

/* Number of entries added so far.  Any thread. */
uint64_t memtable_entries(const memtable *m);

/* An iterator over the internal keys (user key ascending, sequence
 * descending) and their values.  key()/value() slices stay valid while the
 * iterator lives (longer than iterator.h promises).  The iterator holds a
 * reference on m until iter_destroy.  It sees some, all or none of the
 * entries added after its creation.  seek() REQUIRES a target of at least
 * INTERNAL_TRAILER bytes.  status() is always 0.  NULL on ENOMEM. */
iter *memtable_iter_new(memtable *m);

#endif
