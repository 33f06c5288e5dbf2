/*
 * level_iter.h — a concatenating iterator over the disjoint tables of one
 * level (>= 1) or one sorted run: it behaves like a single table holding
 * all of them, and has at most one table iterator open at a time.
 *
 * Tables are opened lazily through a caller-supplied function, so a seek
 * opens only the one table that can hold the target (binary search over
 * the tables' largest keys) and a scan opens each table when it gets there.
 *
 * Errors: a failed open or a table iterator that stops with an error makes
 * the level iterator invalid with that status; errors are sticky.
 *
 * Thread safety: one thread at a time.  The open function is called from
 * that thread.
 */
#ifndef LSM_LEVEL_ITER_H
#define LSM_LEVEL_ITER_H

#include <stddef.h>

#include "base/iterator.h"
#include "version/version.h"

/* Opens an iterator over the internal keys of fm's table into *out.
 * Returns 0 or a negative error (then *out is ignored). */
typedef int (*level_iter_open_fn)(void *ctx, file_meta *fm, iter **out);

/* An iterator over files[0..n): disjoint tables sorted by smallest key
 * (ikey_compare), each holding only keys in [smallest, largest] (seek
 * relies on it; an empty table is merely skipped).  The array is copied and every file gets its own
 * reference (dropped at destroy), though the caller normally pins them
 * through a version anyway.  ctx is passed to open unchanged and must
 * outlive the iterator.  n may be 0.  Starts unpositioned.
 * NULL on ENOMEM. */
iter *level_iter_new(file_meta **files, size_t n, level_iter_open_fn open, void *ctx);

#endif
