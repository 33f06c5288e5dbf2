/*
 * compaction_picker.h — what to compact next.  A picker looks at one
 * version (and the being_compacted flags of its files) and describes the
 * most useful compaction (compaction.h); the executor runs it.  Pickers
 * keep no state between calls: everything they decide follows from the
 * version and the options, so the style can change between two calls
 * (lsm_set_option("compaction_style")) and repeated picks converge to that
 * style's shape.
 *
 *   leveled  L0 overlapping files -> the base level .. L6, disjoint
 *            levels, each level_size_ratio x bigger than the one above,
 *            with targets set from the bottom by the data
 *            (picker_level_targets; picker_leveled.c, after RocksDB
 *            compaction_picker_level.cc with
 *            level_compaction_dynamic_level_bytes, and LevelDB
 *            VersionSet::PickCompaction).
 *   tiered   sorted runs (each L0 file, each non-empty level >= 1) merged
 *            when they have similar sizes (picker_tiered.c, after RocksDB
 *            universal compaction).
 *
 * docs/architecture.md, "Compaction pickers", says how to add one.
 *
 * Thread safety: pickers are pure functions of their arguments.  They read
 * file_meta.being_compacted, so call them under the db mutex (REQUIRES).
 * Errors: *err is 0, or -ENOMEM when an allocation failed (the result is
 * then NULL); pick_manual also returns -EINVAL for a level out of range.
 */
#ifndef LSM_COMPACTION_PICKER_H
#define LSM_COMPACTION_PICKER_H

#include <stdint.h>

#include "compaction/compaction.h"
#include "version/version.h"

typedef struct picker_options {
    int l0_compaction_trigger;   /* leveled: L0 files that trigger L0->base
                                    (default 4) */
    double level_size_ratio;     /* leveled: target(Ln+1) = target(Ln) x
                                    ratio (default 10; values < 1 act as 1) */
    uint64_t level_base_bytes;   /* leveled: largest target of the base level,
                                    the shallowest in use (default 256 MiB) */
    uint64_t target_file_bytes;  /* output file size at levels >= 1
                                    (default 64 MiB) */
    double tiered_size_ratio;    /* tiered: walking from the newest run, the
                                    next older run joins the candidates while
                                    its size <= (1 + ratio) x the candidates'
                                    total (default 1.0: up to twice as big;
                                    RocksDB's size_ratio=1 is 0.01 here) */
    int tiered_min_merge;        /* tiered: a size-ratio merge takes at least
                                    this many runs (default 4; < 2 acts as 2) */
    int tiered_max_runs;         /* tiered: above this many sorted runs the
                                    newest runs are merged regardless of size
                                    (default 12) */
    double tiered_max_space_amp; /* tiered: when (bytes of all runs but the
                                    oldest) > this x (bytes of the oldest),
                                    everything merges into the bottom level
                                    (default 2.0 = 200%) */
    uint64_t periodic_compaction_seconds; /* 0 = off (default): files created
                                    more than this long ago are rewritten even
                                    without a size trigger (created_unix 0 =
                                    unknown: never) */
    uint64_t now_unix;           /* the clock for periodic compaction */

    /* Compactions in flight (may include other styles' after a switch): a
     * pick never writes into an output level and key range one of them
     * writes (compaction_conflicts).  NULL/0 (default): rely on the busy
     * flags, which is enough while one style's compactions run. */
    const compaction *const *running;
    size_t nrunning;
    /* Manual compactions: files numbered >= this were written by the manual
     * compaction in progress and are not rewritten in place again.  Set it
     * to the next file number when lsm_compact starts; 0 (default) = unset,
     * see pick_manual. */
    uint64_t manual_floor;
} picker_options;

/* Fills *o with the defaults above (now_unix = 0: set it when periodic
 * compaction is on). */
void picker_options_init(picker_options *o);

typedef struct compaction_picker {
    const char *name;
    /* The most urgent compaction, or NULL when none is due (or every
     * candidate is busy).  REQUIRES: the db mutex. */
    compaction *(*pick)(const picker_options *o, const version *v, int *err);
    /* A compaction of level, or of the whole tree for level -1; NULL when
     * nothing is left to do or the files it needs are busy
     * (compaction_version_busy tells the two apart).
     *   leveled, level 0: all L0 files -> the base level (where automatic
     *     L0 compactions go, picker_level_targets).
     *   leveled, 0 < level < 6: all files of level -> level + 1.
     *   leveled, level 6: rewrite in place the files numbered below
     *     manual_floor (all files when it is 0), so tombstones drop.
     *   leveled, -1: one step at a time: the shallowest non-empty level
     *     merges into the next non-empty level below it (empty levels are
     *     skipped; a tree that is only L0 goes to L6), until one level holds
     *     everything; then, only if manual_floor is set, that level's files
     *     below it are rewritten in place.
     *   tiered, any level or -1: all runs merge into L6; a tree that is
     *     already one run at L6 is rewritten (files below manual_floor) when
     *     level >= 0 or manual_floor is set, else NULL.
     * Repeated calls, each after the previous compaction ran, reach NULL.
     * REQUIRES: the db mutex. */
    compaction *(*pick_manual)(const picker_options *o, const version *v, int level, int *err);
    /* For stats and scheduling: score >= 1 means compaction is due.
     * leveled: L0 = non-busy L0 files / trigger; Ln = non-busy bytes /
     *   target (picker_level_targets; 0 for the last level, which never
     *   compacts down); a level above the base that holds data must
     *   drain: max(1, non-busy bytes / (level_base_bytes / ratio)).
     * tiered: the whole tree's score on level 0 (max of the space-amp,
     *   run-count and size-ratio triggers), 0 on other levels. */
    double (*level_score)(const picker_options *o, const version *v, int level);
    /* Sorted runs in v as this style sees them (L0 files + non-empty
     * levels >= 1, for both styles). */
    int (*sorted_runs)(const version *v);
    /* Estimated bytes compaction must still read before no trigger fires
     * (stats: "pending compaction bytes"; RocksDB's estimate for leveled,
     * the next merge's input for tiered).  Busy files count too. */
    uint64_t (*pending_bytes)(const picker_options *o, const version *v);
} compaction_picker;

extern const compaction_picker picker_leveled;
extern const compaction_picker picker_tiered;

/* "leveled" or "tiered"; NULL if unknown. */
const compaction_picker *compaction_picker_find(const char *name);

/* Leveled level targets of a version (RocksDB's dynamic level bytes): the
 * last level's target is the size of the largest level >= 1 (normally the
 * last itself), each level above has 1/level_size_ratio of the next one's
 * (ratios < 1 act as 1), up to first_needed, the shallowest level whose
 * target still exceeds level_base_bytes / ratio.  Levels above it should be
 * empty.  L0 compacts into base_level: first_needed, or the shallowest
 * non-empty level >= 1 if that is above it (levels that should be empty
 * but are not, drained from the top; data never moves above older data).
 * An empty tree below L0 has base_level = first_needed = 6.  A pure
 * function of v and o that reads no busy flags: any version will do. */
typedef struct level_targets {
    int base_level;                  /* 1..6: where L0 compacts to */
    int first_needed;                /* 1..6: levels 1 .. first_needed-1
                                        should be empty */
    int first_used;                  /* shallowest non-empty level >= 1;
                                        LSM_NUM_LEVELS if none */
    uint64_t bytes[LSM_NUM_LEVELS];  /* targets; 0 for L0 and for levels
                                        above first_needed; saturate at
                                        UINT64_MAX */
} level_targets;

void picker_level_targets(const picker_options *o, const version *v, level_targets *t);

#endif
