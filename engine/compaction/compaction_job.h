/*
 * compaction_job.h — runs one compaction chosen by a picker: merges the
 * input tables into new tables at the output level and describes the
 * result as a version edit.
 *
 * What is kept (RocksDB's snapshot stripes, a refinement of LevelDB's
 * DoCompactionWork rule): the live snapshots s1 < s2 < ... < sk cut the
 * sequence space into stripes; the stripe of sequence q is the first
 * snapshot >= q (or "latest" past sk).  Walking the merged entries (user
 * key ascending, sequence descending), an entry is dropped when the newer
 * entry of the same user key lies in the same stripe: every reader that
 * could see it sees that newer entry instead.  A tombstone is dropped when
 * every snapshot sees it (its stripe is the first) and no file outside the
 * compaction could hold an older version of its key (`bottommost`).
 * Every version a live snapshot can see survives; versions between
 * snapshots are reclaimed even while an old snapshot is held.
 *
 * Outputs at levels >= 1 are cut near target_file_bytes, but never between
 * two entries of one user key, so a user key lives in one file per level.
 *
 * Subcompactions (subcompaction.h): a job with max_subcompactions > 1 and
 * enough input is split into disjoint user-key ranges, each merged by its
 * own thread (the caller's runs the first) into its own outputs, under the
 * same rules; the outputs of all ranges form one edit.  All or nothing: if
 * any range fails, the others stop at their next entry and every output of
 * every range is removed.  The rate limiter is shared by the ranges.
 *
 * Read-ahead (table/readahead.h): with readahead_bytes > 0 each range
 * makes one io_queue and reads every input through a window of that many
 * bytes, several reads in flight, instead of one read per block.
 *
 * Thread safety: a job runs without the db mutex on the caller's thread
 * and on the threads it starts for its ranges (joined before it returns);
 * env's callbacks (open, sample, created) and the version set's file
 * numbers are used from all of them.  The inputs are protected by the
 * caller (refs, being_compacted).
 */
#ifndef LSM_COMPACTION_JOB_H
#define LSM_COMPACTION_JOB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "compaction/compaction.h"
#include "io/io.h"
#include "base/iterator.h"
#include "compaction/rate_limiter.h"
#include "compaction/subcompaction.h"
#include "table/readahead.h"
#include "table/sstable_builder.h"
#include "version/version.h"
#include "version/version_edit.h"
#include "version/version_set.h"

/* An iterator over one input table, reading ahead through ra when not
 * NULL (sst_reader_iter_new_ra). */
typedef int (*compaction_open_fn)(void *ctx, file_meta *fm, const readahead_cfg *ra, iter **out);

typedef struct compaction_env {
    lsm_io *io;
    const char *dir;
    version_set *vs;
    const version *v;            /* the version the inputs were picked from */
    sst_options sst;
    const uint64_t *snapshots;   /* live snapshot sequences, ascending */
    size_t nsnapshots;
    rate_limiter *rl;            /* NULL = unlimited */
    compaction_open_fn open;     /* an iterator over one input table */
    void *open_ctx;
    /* Samples of one input's index (subcompaction.h), with open_ctx; NULL:
     * never split. */
    subcompaction_sampler sample;
    int max_subcompactions;      /* ranges run in parallel; <= 1: one */
    size_t readahead_bytes;      /* window per input; 0: a read per block */
    /* Called with open_ctx after each output table is created (the step
     * that fails when descriptors run out), or NULL. */
    void (*created)(void *ctx);
    const atomic_bool *cancel;   /* set when the database closes */
} compaction_env;

typedef struct compaction_stats {
    uint64_t bytes_read, bytes_written;
    uint64_t entries_in, entries_out, entries_dropped;
    uint64_t files_in, files_out;
    uint64_t ranges; /* key ranges merged in parallel (1: unsplit) */
} compaction_stats;

/* Runs c.  On success edit holds a delete for every input and an add for
 * every output (files fdatasynced, directory synced); the caller applies it.
 * A trivial move writes nothing.  On error every output written so far is
 * removed and edit is left without outputs.
 * Errors: -errno, LSM_ECORRUPT (an input failed a checksum), LSM_ECLOSED
 * (cancelled), -ENOMEM. */
int compaction_job_run(const compaction_env *env, const compaction *c, version_edit *edit,
                       compaction_stats *st);

/* 1 when no file of v outside c could hold a version of a key in c's range
 * older than c's newest entry: tombstones may then be dropped. */
int compaction_is_bottommost(const version *v, const compaction *c);

#endif
