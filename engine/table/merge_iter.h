/*
 * merge_iter.h — one sorted stream of internal keys out of many sorted
 * children (memtables, level-0 tables, level iterators): the read path's
 * and compaction's view of "everything at once".
 *
 * Order: ikey_compare (base/dbformat.h); entries that compare equal (the same
 * internal key in two children, which the engine never produces) come in
 * child order forward and in reverse child order backward.  Keys are never
 * deduplicated: every version of every key is yielded.
 *
 * Cost: a binary heap over the positioned children, so next and prev cost
 * O(log n) key comparisons; first, last and seek position every child.
 * Changing direction (next after prev or prev after next) re-seeks every
 * child but the current one, as LevelDB's MergingIterator does.
 *
 * Errors: when a child stops with a non-zero status the merged iterator
 * stops too (invalid, status = that error) rather than silently skipping
 * the child's remaining entries; errors are sticky.
 *
 * Thread safety: one thread at a time, like its children.
 */
#ifndef LSM_MERGE_ITER_H
#define LSM_MERGE_ITER_H

#include <stddef.h>

#include "base/iterator.h"

/* A merging iterator over children[0..n), which yield internal keys.  It
 * takes ownership of the children (destroyed with it) but not of the array.
 * n may be 0 (an empty iterator); for n == 1 the child itself is returned.
 * Starts unpositioned.  NULL on ENOMEM, after destroying the children. */
iter *merge_iter_new(iter **children, size_t n);

#endif
