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
 * Thread safety: a job runs on one thread without the db mutex; the inputs
 * are protected by the caller (refs, being_compacted), the version set
 * only hands out file numbers.
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
#include "table/sstable_builder.h"
#include "version/version.h"
#include "version/version_edit.h"
#include "version/version_set.h"

typedef int (*compaction_open_fn)(void *ctx, file_meta *fm, iter **out);

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
    /* Called with open_ctx after each output table is created (the step
     * that fails when descriptors run out), or NULL. */
    void (*created)(void *ctx);
    const atomic_bool *cancel;   /* set when the database closes */
} compaction_env;

typedef struct compaction_stats {
    uint64_t bytes_read, bytes_written;
    uint64_t entries_in, entries_out, entries_dropped;
    uint64_t files_in, files_out;
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
