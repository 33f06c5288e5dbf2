/*
 * subcompaction.h — where to split one compaction into disjoint user-key
 * ranges of similar size, so the ranges can be merged by parallel threads
 * (RocksDB's subcompactions; the planning is ours).
 *
 * Why user keys: every version of one user key must meet in one merge for
 * the snapshot-stripe and tombstone rules (compaction_job.h) to decide
 * what survives; splitting between user keys keeps each range's decisions
 * exactly those of the whole job.  Ranges are [lo, hi) with the first
 * unbounded below and the last unbounded above, so outputs of different
 * ranges never overlap and concatenate into a sorted level.
 *
 * How: each input's index is sampled (sst_reader_index_sample through the
 * caller's sampler: about SUBCOMPACTION_SAMPLES_PER_FILE separator keys
 * with the data bytes before each), the samples of all inputs are sorted by
 * user key, and cuts are placed where the running byte total crosses
 * total * i / n.  Block-level samples weigh the bytes where they really
 * lie, unlike file boundaries alone (a level-0 file spans the whole key
 * space); a cut is a separator key, which need not exist in any file.
 *
 * Thread safety: none needed (the caller's thread, before the ranges run).
 */
#ifndef LSM_SUBCOMPACTION_H
#define LSM_SUBCOMPACTION_H

#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "compaction/compaction.h"

#define SUBCOMPACTION_SAMPLES_PER_FILE 128
#define SUBCOMPACTION_MAX 16

/* Calls fn(fn_ctx, internal key, bytes) for samples of fm's index, as
 * sst_reader_index_sample.  Returns 0 or an error. */
typedef int (*subcompaction_sampler)(void *ctx, file_meta *fm, size_t max,
                                     void (*fn)(void *fn_ctx, slice ikey, uint64_t bytes),
                                     void *fn_ctx);

/* The cuts: keys[0..n) ascending user keys, range i being [keys[i-1],
 * keys[i]) (unbounded at both ends). */
typedef struct subcompaction_cuts {
    slice *keys; /* each key's bytes are malloc'd */
    size_t n;
} subcompaction_cuts;

/* How many ranges c should run as: 1 unless c writes a level >= 1 in
 * split outputs, and then at most max and about one per target file of
 * input (small jobs are not split: each range costs a thread and a partial
 * last file). */
int subcompaction_count(const compaction *c, int max);

/* Plans up to nranges - 1 cuts of c (fewer when the samples have fewer
 * distinct keys; none for nranges <= 1).  REQUIRES: c finished.
 * Errors: the sampler's, -ENOMEM (*cuts empty then). */
int subcompaction_plan(const compaction *c, int nranges, subcompaction_sampler sample, void *ctx,
                       subcompaction_cuts *cuts);

void subcompaction_cuts_free(subcompaction_cuts *cuts);

#endif
