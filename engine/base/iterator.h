/*
 * iterator.h — the one iterator shape shared by memtables, blocks, tables
 * and (later) the merging iterator.
 *
 * Keys are internal keys (dbformat.h).  key() and value() slices stay valid
 * until the next call that moves the iterator or destroys it.
 *
 * Thread safety: an iterator belongs to one thread at a time.
 */
#ifndef LSM_ITERATOR_H
#define LSM_ITERATOR_H

#include <stdbool.h>
#include "base/slice.h"

typedef struct iter iter;

struct iter_ops {
    bool (*valid)(const iter *it);
    void (*first)(iter *it);
    void (*last)(iter *it);
    void (*seek)(iter *it, slice target); /* first entry >= target */
    void (*next)(iter *it);               /* REQUIRES: valid */
    void (*prev)(iter *it);               /* REQUIRES: valid */
    slice (*key)(const iter *it);         /* REQUIRES: valid */
    slice (*value)(const iter *it);       /* REQUIRES: valid */
    int (*status)(const iter *it);        /* 0, or the first error seen */
    void (*destroy)(iter *it);
};

/* Every implementation embeds this as its first member. */
struct iter {
    const struct iter_ops *ops;
};

static inline bool iter_valid(const iter *it) { return it->ops->valid(it); }
static inline void iter_first(iter *it) { it->ops->first(it); }
static inline void iter_last(iter *it) { it->ops->last(it); }
static inline void iter_seek(iter *it, slice t) { it->ops->seek(it, t); }
static inline void iter_next(iter *it) { it->ops->next(it); }
static inline void iter_prev(iter *it) { it->ops->prev(it); }
static inline slice iter_key(const iter *it) { return it->ops->key(it); }
static inline slice iter_value(const iter *it) { return it->ops->value(it); }
static inline int iter_status(const iter *it) { return it->ops->status(it); }
static inline void iter_destroy(iter *it)
{
    if (it)
        it->ops->destroy(it);
}

#endif
