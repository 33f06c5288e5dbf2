/*
 * db_iter.h — the user's view of a stream of internal keys: for each user
 * key, the newest entry with sequence <= a read sequence, skipping keys
 * whose newest visible entry is a deletion, within bounds [lo, hi).
 * db_iter.c also implements the public lsm_iter_* calls (lsm.h) on top of
 * it: a merge (table/merge_iter.h) of the memtable, the frozen memtables, the
 * level-0 tables and one level_iter per deeper level of a pinned
 * superversion.
 *
 * Positioning (LevelDB's DBIter is the model)
 *   Forward, the internal iterator sits on the entry being shown, so key()
 *   and value() point into it and nothing is copied but the user key that
 *   next() must skip past (into a reused buffer).  Backward, it sits just
 *   before every entry of the shown key, which is found only after walking
 *   past all its versions; so the shown key and value are copied into
 *   reused buffers.  Switching direction costs one step over the current
 *   key's versions (plus the child repositioning of a merge_iter).
 *   A forward run over more than a few dozen invisible or shadowed versions
 *   of one key re-seeks past them instead of stepping one by one.
 *
 * Errors: an internal iterator error ends the iteration (invalid, status
 * set); -ENOMEM when a buffer cannot grow.  Errors are sticky only as far
 * as the internal iterator's are (merge_iter's and the tables' are).
 *
 * Thread safety: one thread at a time.
 */
#ifndef LSM_DB_ITER_H
#define LSM_DB_ITER_H

#include <stdint.h>

#include "base/iterator.h"
#include "base/slice.h"

/* A user-key iterator over internal, which it owns (destroyed with it, and
 * on failure).  seq: entries with a larger sequence are invisible.  lo, hi:
 * bounds [lo, hi) on user keys, copied; a bound of size 0 is open.
 * The iterator's key() is a USER key, value() its value; seek() takes a
 * USER key (the first visible key >= it, clamped to lo).  Starts
 * unpositioned.  NULL on ENOMEM. */
iter *db_iter_new(iter *internal, uint64_t seq, slice lo, slice hi);

#endif
