/*
 * version.h — file_meta (one table and what the MANIFEST records about it)
 * and version (the set of live tables at one moment, level by level).
 *
 * Both are immutable once published and shared by reference count: the
 * version set holds its current version; readers, iterators and snapshots
 * pin the version they read; a version pins its files.  A file is obsolete
 * (its .sst may be deleted) once no live version lists it; see
 * version_set_live_files().
 *
 * Ordering invariants of a version (checked by version_builder_finish):
 *   level 0   newest first: larger max_seq first, ties by larger number.
 *             Ranges may overlap.
 *   level >=1 sorted by smallest key (ikey_compare, base/dbformat.h) and
 *             disjoint: each file's largest < the next file's smallest.
 *
 * Thread safety / invariants
 *   *_ref and *_unref are atomic and may be called from any thread.  The
 *   last unref frees: a version drops its refs on its files; a file_meta
 *   frees its keys.  A version linked into a
 *   version_list is unlinked under the list's mutex before it is freed, so a
 *   walker holding that mutex never sees a freed version.
 *   Apart from `being_compacted` (guarded by the engine's mutex) nothing in
 *   a published file_meta or version changes.
 */
#ifndef LSM_VERSION_H
#define LSM_VERSION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/slice.h"

#define LSM_NUM_LEVELS 7

typedef struct file_meta {
    uint64_t number;           /* NNNNNN.sst */
    uint64_t size;             /* bytes */
    char *smallest;            /* internal keys; malloc'd, owned: freed */
    size_t smallest_len;       /*   with free() at the last unref */
    char *largest;
    size_t largest_len;
    uint64_t min_seq, max_seq; /* sequence range of the entries */
    uint64_t entries, deletions;
    uint64_t created_unix;     /* seconds; for periodic compaction */
    /* Set while a compaction has this file as input, so no other compaction
     * picks it.  [the engine's db mutex] */
    bool being_compacted;
    _Atomic int refs;
} file_meta;

/* A zeroed file_meta with one reference; NULL when out of memory. */
file_meta *file_meta_new(void);
void file_meta_ref(file_meta *f);
void file_meta_unref(file_meta *f);   /* f may be NULL */

/* NULL if f's fields are consistent (internal keys of 8 .. 64 KiB + 8
 * bytes, smallest <= largest, min_seq <= max_seq <= LSM_MAX_SEQUENCE,
 * deletions <= entries), else a static description of the first problem. */
const char *file_meta_check(const file_meta *f);

static inline slice file_meta_smallest(const file_meta *f)
{ return slice_make(f->smallest, f->smallest_len); }
static inline slice file_meta_largest(const file_meta *f)
{ return slice_make(f->largest, f->largest_len); }

/* A list of live versions guarded by mu (owned by the version set). */
typedef struct version_list {
    pthread_mutex_t mu;
    struct version *head;       /* [mu] */
} version_list;

typedef struct version {
    _Atomic int refs;
    file_meta **files[LSM_NUM_LEVELS]; /* NULL when the level is empty */
    size_t nfiles[LSM_NUM_LEVELS];
    uint64_t id;                /* increases with every installed version */
    version_list *list;         /* NULL when not linked */
    struct version *prev, *next;/* [list->mu] */
} version;

void version_ref(version *v);
/* Drops a reference; the last one unlinks v from its list and frees it. */
void version_unref(version *v); /* v may be NULL */

/* Links v into list (REQUIRES: list->mu held, v not linked). */
void version_link(version_list *list, version *v);

/* Sum of the file sizes of a level. */
uint64_t version_level_bytes(const version *v, int level);
/* Number of files in all levels. */
size_t version_total_files(const version *v);

/* Index of the first file of level whose largest key >= ikey (nfiles if
 * none): the only file of the level that can hold entries at or after ikey.
 * REQUIRES: level >= 1. */
size_t version_find_file_index(const version *v, int level, slice ikey);

/* The file of level whose user-key range may contain user_key, or NULL.  If
 * one user key spans two files, the first (holding its newest entries) is
 * returned; use version_find_file_index to continue from a sequence.
 * REQUIRES: level >= 1. */
file_meta *version_find_file(const version *v, int level, slice user_key);

#endif
