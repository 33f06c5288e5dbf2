/*
 * compaction.h — the description of one compaction (which files it reads
 * from each level, where its output goes, and why), and the queries on a
 * version that every picker shares: overlapping files, user-key-clean
 * boundaries, busy files, the bottommost test.
 *
 * A picker (compaction_picker.h) builds a compaction from one version.  The
 * compaction holds a reference on each input file, so it stays valid after
 * that version is released; compaction_free drops them.
 *
 * Invariants of a compaction made by a picker
 *   - inputs[l] keeps the version's order (level 0 newest first, levels >= 1
 *     by smallest key) and, for l >= 1, is a contiguous slice of level l.
 *   - No user key is split: for every level l >= 1, a file of level l that
 *     is not an input never shares a user key with an input of level l.
 *   - Every file of output_level whose user-key range meets the inputs'
 *     range is an input (levels >= 1 stay disjoint after the edit).
 *   - No input was being_compacted when it was picked.
 *
 * Thread safety: a compaction belongs to one thread.  The queries read an
 * immutable version and the files' being_compacted flags, which the engine
 * guards with its db mutex (REQUIRES lines below).
 */
#ifndef LSM_COMPACTION_H
#define LSM_COMPACTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "version/version.h"

enum compaction_reason {
    COMPACTION_L0_FILES,          /* leveled: L0 file count reached the trigger */
    COMPACTION_LEVEL_SIZE,        /* leveled: a level exceeds its target size */
    COMPACTION_TIERED_SIZE_RATIO, /* tiered: runs of similar size */
    COMPACTION_TIERED_RUNS,       /* tiered: more sorted runs than allowed */
    COMPACTION_SPACE_AMP,         /* tiered: newer runs too big for the oldest */
    COMPACTION_PERIODIC,          /* a file older than periodic_compaction_seconds */
    COMPACTION_MANUAL,            /* lsm_compact */
};
#define COMPACTION_NUM_REASONS 7

/* A static lower-case name ("l0_files", "level_size", "tiered_size_ratio",
 * "tiered_runs", "space_amp", "periodic", "manual"); "unknown" otherwise. */
const char *compaction_reason_name(enum compaction_reason r);

typedef struct compaction {
    enum compaction_reason reason;
    const char *style;                  /* "leveled" | "tiered" (static) */
    int output_level;
    file_meta **inputs[LSM_NUM_LEVELS]; /* files taken from each level (one
                                           reference each, held by c) */
    size_t ninputs[LSM_NUM_LEVELS];
    int trivial_move;    /* 1: exactly one input file, moved to output_level
                            by a MANIFEST edit, no rewrite */
    int bottommost;      /* 1: no file outside the inputs can hold an older
                            version of a key in the inputs' range (see
                            compaction_finish): tombstones may be dropped,
                            snapshots permitting */
    uint64_t target_file_bytes; /* split outputs at this size (at user-key
                            boundaries); 0 = one output file (always 0 when
                            output_level == 0) */
    uint64_t input_bytes;       /* sum of the inputs' sizes */

    /* Set by compaction_finish; the keys point into input files (valid as
     * long as c). */
    slice smallest, largest;    /* internal keys: hull of the inputs */
    uint64_t min_seq, max_seq;  /* sequence range of the inputs */
    size_t ninput_files;        /* sum of ninputs[] */
    size_t cap_[LSM_NUM_LEVELS];/* private: allocated room in inputs[] */
} compaction;

/* A compaction with no inputs yet; NULL when out of memory.  style is a
 * static string.  REQUIRES: 0 <= output_level < LSM_NUM_LEVELS. */
compaction *compaction_new(enum compaction_reason reason, const char *style, int output_level);

/* Appends files[0..n) to inputs[level], taking a reference on each.
 * Errors: -ENOMEM (c unchanged). */
int compaction_add_inputs(compaction *c, int level, file_meta *const *files, size_t n);

/* Completes c after its inputs are in: input_bytes, smallest/largest,
 * min/max_seq, ninput_files, bottommost (computed against v, the version
 * the inputs come from) and target_file_bytes (target when output_level >=
 * 1, else 0).  REQUIRES: at least one input. */
void compaction_finish(compaction *c, const version *v, uint64_t target);

/* Drops the input references and frees c.  c may be NULL. */
void compaction_free(compaction *c);

/* Sum of the sizes of the inputs (the same as c->input_bytes once
 * finished). */
uint64_t compaction_total_bytes(const compaction *c);

/* The user-key range of the inputs: false when c has no input. */
bool compaction_user_range(const compaction *c, slice *lo, slice *hi);

/* 1 when f is one of c's inputs at level. */
bool compaction_has_input(const compaction *c, int level, const file_meta *f);

/* Sets being_compacted on every input (what the executor does before
 * running c, and clears after).  REQUIRES: the db mutex. */
void compaction_mark_busy(compaction *c, bool busy);

/* 1 when c would write into output_level a key range that a running
 * compaction also writes into the same level (RocksDB's
 * FilesRangeOverlapWithCompaction): the two outputs could overlap.  Busy
 * flags alone prevent this within one style; across a style switch the
 * executor must pass its running compactions (picker_options.running).
 * REQUIRES: c is not among running. */
bool compaction_conflicts(const compaction *c, const compaction *const *running, size_t nrunning);
/* The same test for a planned output: level and user-key range [lo, hi]. */
bool compaction_range_conflicts(int output_level, slice lo, slice hi,
                                const compaction *const *running, size_t nrunning);

/* ---- queries on a version ----------------------------------------------
 * User-key ranges are inclusive.  These never allocate. */

/* Files of level (>= 1) whose user-key range meets [lo, hi]: the index
 * range [*first, *end), widened so no user key is split between a file
 * inside and a file outside it.  Empty range: *first == *end. */
void compaction_level_overlaps(const version *v, int level, slice lo, slice hi,
                               size_t *first, size_t *end);

/* Widens [*first, *end) of level (>= 1) until no user key is split: a file
 * whose largest user key equals its successor's smallest joins it. */
void compaction_clean_cut(const version *v, int level, size_t *first, size_t *end);

/* The smallest clean index range [*first, *end) of level (>= 1) holding
 * every file numbered below floor (every file when floor is 0): what a
 * manual in-place rewrite takes.  false when there is none. */
bool compaction_below_floor(const version *v, int level, uint64_t floor, size_t *first,
                            size_t *end);

/* 1 when some file of files[0..n) is being_compacted.
 * REQUIRES: the db mutex. */
bool compaction_any_busy(file_meta *const *files, size_t n);

/* 1 when some file of v is being_compacted: a manual pick that returned
 * NULL may only be busy, not done (wait for running compactions and call
 * again).  REQUIRES: the db mutex. */
bool compaction_version_busy(const version *v);

/* Sorted runs of v: each L0 file plus each non-empty level >= 1. */
int compaction_sorted_runs(const version *v);

/* The bottommost rule used by compaction_finish: 1 when no file of v other
 * than c's inputs overlaps c's user-key range and holds an entry at least
 * as old as c's newest (min_seq <= c->max_seq).  Files holding only newer
 * entries (newer L0 files) cannot hide what a dropped tombstone hides.
 * REQUIRES: c finished or min/max computed (compaction_finish). */
bool compaction_bottommost(const version *v, const compaction *c);

#endif
