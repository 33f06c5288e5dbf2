/*
 * skiplist.h — an ordered set of entries in an arena, with one writer and
 * any number of lock-free readers (the memtable's index).
 *
 * An entry is a `const char *` to bytes the caller encoded (normally in the
 * same arena); the list never looks at them except through cmp.  The list
 * and its nodes are allocated in the arena and die with it: there is no
 * skiplist_free, and entries are never removed.
 *
 * Thread safety
 *   Writes (skiplist_insert) need external synchronisation: one writer at a
 *   time, and the writer must be the arena's only allocator meanwhile.
 *   Reads (skiplist_contains, iterators) need none: they may run in any
 *   number of threads concurrently with each other and with the writer.
 *   The arena must outlive every reader.
 *
 * Invariants
 *   (1) Nodes are never deleted or moved until the arena is freed, so a
 *       reader's node pointer stays valid however the list changes.
 *   (2) A node's contents (entry, and next[] at levels not yet linked)
 *       are written before the node is published by a release store into
 *       its predecessor's next[]; readers load next[] with acquire, so a
 *       reader that reaches a node sees it fully built.
 *   (3) Level 0 is the whole list in order; level i is a sorted sub-list
 *       of level i-1.  A node appears at level 0 first, then higher levels,
 *       so a reader can see it at level 0 but not yet above — harmless.
 *
 * Comparator
 *   cmp(ctx, e, probe) returns <0, 0, >0 as e sorts before, equal to, after
 *   probe.  It is only ever called with an entry stored in the list as its
 *   first argument and the argument of skiplist_insert, _contains, _seek
 *   (or an entry of the list, for _prev) as the second.  So a probe may use
 *   a different encoding from stored entries, as long as cmp can tell them
 *   apart.
 */
#ifndef LSM_SKIPLIST_H
#define LSM_SKIPLIST_H

#include <stdbool.h>

#include "base/arena.h"

#define SKIPLIST_MAX_HEIGHT 12
#define SKIPLIST_BRANCHING 4 /* a node reaches level i+1 with p = 1/4 */

typedef int (*skiplist_cmp)(void *ctx, const char *entry, const char *probe);

typedef struct skiplist skiplist;
struct skiplist_node;

/* A new empty list allocated in a; ctx is passed to every cmp call.
 * NULL on ENOMEM.  REQUIRES: the caller is a's writer. */
skiplist *skiplist_new(arena *a, skiplist_cmp cmp, void *ctx);

/* Inserts entry (the pointer is stored, the bytes are not copied; they
 * must stay unchanged for the arena's lifetime).  0, or -ENOMEM (the list
 * is unchanged).
 * REQUIRES: nothing that compares equal to entry is in the list.
 * REQUIRES: external synchronisation with other writers and allocators. */
int skiplist_insert(skiplist *sl, const char *entry);

/* The same in two steps, with the entry's bytes stored inside the node so
 * that a search touches one cache line per node instead of two (the node,
 * then the entry it points to).  skiplist_prepare returns room for n bytes
 * (aligned to ARENA_ALIGN, valid for the arena's lifetime), or NULL on
 * ENOMEM; the caller writes the entry there and then calls
 * skiplist_insert_prepared with that pointer, which cannot fail.  An
 * unpublished prepared entry is simply wasted arena space.
 * REQUIRES: as skiplist_insert, and no other insert between the two calls. */
char *skiplist_prepare(skiplist *sl, size_t n);
void skiplist_insert_prepared(skiplist *sl, const char *entry);

/* True if an entry comparing equal to probe is in the list.  Any thread. */
bool skiplist_contains(const skiplist *sl, const char *probe);

/* A cursor over the list, meant to live on the stack; no cleanup needed.
 * It sees entries inserted after it was initialised as it passes them.
 * One thread at a time per iterator. */
typedef struct skiplist_iter {
    const skiplist *sl;
    const struct skiplist_node *node; /* NULL: not valid */
} skiplist_iter;

/* Initialises it over sl, not yet valid. */
void skiplist_iter_init(skiplist_iter *it, const skiplist *sl);
bool skiplist_iter_valid(const skiplist_iter *it);
/* REQUIRES: valid */
const char *skiplist_iter_entry(const skiplist_iter *it);
/* REQUIRES: valid.  Becomes invalid past the last entry. */
void skiplist_iter_next(skiplist_iter *it);
/* REQUIRES: valid.  Becomes invalid before the first entry.  O(log n): the
 * list has no back links, so this searches for the last entry < current. */
void skiplist_iter_prev(skiplist_iter *it);
/* Positions at the first entry >= probe (invalid if none). */
void skiplist_iter_seek(skiplist_iter *it, const char *probe);
/* Positions at the first / last entry (invalid if the list is empty). */
void skiplist_iter_first(skiplist_iter *it);
void skiplist_iter_last(skiplist_iter *it);

#endif
