/*
 * picker_tiered.c — tiered (size-tiered) compaction, after RocksDB's
 * universal compaction (compaction_picker_universal.cc).
 *
 * Sorted runs, newest first: each L0 file (newest first), then each
 * non-empty level >= 1 (one run per level; a level is busy when any of its
 * files is).  A compaction merges runs that are consecutive in age, so the
 * result is again one run in the same place of the age order.  Triggers,
 * in order:
 *   1. space amp: the longest idle span ending at the oldest run, when
 *      (its bytes but the oldest's) > max_space_amp x (the oldest's);
 *   2. size ratio: from each idle run in turn (newest first), grow a set of
 *      consecutive idle runs while the next one is <= (1 + ratio) x the
 *      set's bytes; the first set of >= min_merge runs is merged;
 *   3. run count: more than max_runs runs: the newest idle span of
 *      max(runs - max_runs + 1, min_merge) runs (fewer if the span is short);
 *   4. periodic: from the newest run holding an expired file through the
 *      oldest run (RocksDB: a full merge of the affected runs).
 * Output level of runs [s, e) (RocksDB's rule, the deepest level that keeps
 * levels disjoint and ordered by age): L6 when e is the end; else 0 when
 * run e is an L0 file (the merged runs are then L0 files, whose one output
 * keeps its place by sequence: L0 files have disjoint sequence ranges);
 * else level(run e) - 1, which is either the oldest merged level or an
 * empty level between it and run e.
 */
#include "compaction/compaction_picker.h"

#include <errno.h>
#include <stdlib.h>

#define LAST_LEVEL (LSM_NUM_LEVELS - 1)

static const char STYLE[] = "tiered";

typedef struct run {
    int level;     /* 0: the L0 file files[0][idx] */
    size_t idx;
    uint64_t bytes;
    bool busy;
    bool expired;  /* holds a file due for periodic compaction */
} run;

typedef struct runs {
    run *r;
    size_t n;
} runs;

static bool expired(const picker_options *o, const file_meta *f)
{
    return o->periodic_compaction_seconds && f->created_unix != 0 &&
           o->now_unix >= f->created_unix &&
           o->now_unix - f->created_unix >= o->periodic_compaction_seconds;
}

static int collect(const picker_options *o, const version *v, runs *rs)
{
    rs->n = 0;
    rs->r = malloc((v->nfiles[0] + LSM_NUM_LEVELS) * sizeof *rs->r);
    if (!rs->r)
        return -ENOMEM;
    for (size_t i = 0; i < v->nfiles[0]; i++) {
        const file_meta *f = v->files[0][i];
        rs->r[rs->n++] = (run){ 0, i, f->size, f->being_compacted, expired(o, f) };
    }
    for (int l = 1; l < LSM_NUM_LEVELS; l++) {
        if (!v->nfiles[l])
            continue;
        run r = { .level = l };
        for (size_t i = 0; i < v->nfiles[l]; i++) {
            const file_meta *f = v->files[l][i];
            r.bytes += f->size;
            r.busy |= f->being_compacted;
            r.expired |= expired(o, f);
        }
        rs->r[rs->n++] = r;
    }
    return 0;
}

static int min_merge(const picker_options *o)
{
    return o->tiered_min_merge >= 2 ? o->tiered_min_merge : 2;
}

static int output_level(const runs *rs, size_t e)
{
    if (e == rs->n)
        return LAST_LEVEL;
    return rs->r[e].level == 0 ? 0 : rs->r[e].level - 1;
}

/* A planned merge of runs [s, e). */
typedef struct span {
    size_t s, e;
    enum compaction_reason reason;
} span;

static uint64_t span_bytes(const runs *rs, size_t s, size_t e)
{
    uint64_t sum = 0;
    for (size_t i = s; i < e; i++)
        sum += rs->r[i].bytes;
    return sum;
}

/* 1. The longest idle span ending at the oldest run, if amp is too high. */
static bool plan_space_amp(const picker_options *o, const runs *rs, span *sp)
{
    if (rs->n < 2 || rs->r[rs->n - 1].busy)
        return false;
    size_t s = rs->n - 1;
    while (s > 0 && !rs->r[s - 1].busy)
        s--;
    if (s == rs->n - 1)
        return false;
    double newer = (double)span_bytes(rs, s, rs->n - 1);
    double oldest = (double)rs->r[rs->n - 1].bytes;
    if (!(newer > o->tiered_max_space_amp * oldest))
        return false;
    *sp = (span){ s, rs->n, COMPACTION_SPACE_AMP };
    return true;
}

/* 2. The first set of >= min_merge runs of similar size. */
static bool plan_size_ratio(const picker_options *o, const runs *rs, span *sp)
{
    double grow = 1.0 + (o->tiered_size_ratio > 0 ? o->tiered_size_ratio : 0);
    for (size_t s = 0; s < rs->n; s++) {
        if (rs->r[s].busy)
            continue;
        double sum = (double)rs->r[s].bytes;
        size_t e = s + 1;
        while (e < rs->n && !rs->r[e].busy && (double)rs->r[e].bytes <= grow * sum)
            sum += (double)rs->r[e++].bytes;
        if (e - s >= (size_t)min_merge(o)) {
            *sp = (span){ s, e, COMPACTION_TIERED_SIZE_RATIO };
            return true;
        }
    }
    return false;
}

/* 3. Too many runs: merge the newest idle ones. */
static bool plan_run_count(const picker_options *o, const runs *rs, span *sp)
{
    size_t max_runs = o->tiered_max_runs >= 1 ? (size_t)o->tiered_max_runs : 1;
    if (rs->n <= max_runs)
        return false;
    size_t want = rs->n - max_runs + 1;
    if (want < (size_t)min_merge(o))
        want = (size_t)min_merge(o);
    for (size_t s = 0; s < rs->n; s++) {
        size_t e = s;
        while (e < rs->n && e - s < want && !rs->r[e].busy)
            e++;
        if (e - s >= 2) {
            *sp = (span){ s, e, COMPACTION_TIERED_RUNS };
            return true;
        }
        s = e; /* skip the busy run that stopped us */
    }
    return false;
}

/* 4. From the newest run with an expired file through the oldest run. */
static bool plan_periodic(const picker_options *o, const runs *rs, span *sp)
{
    (void)o; /* expiry is in the runs */
    size_t s = 0;
    while (s < rs->n && !rs->r[s].expired)
        s++;
    if (s == rs->n)
        return false;
    for (size_t i = s; i < rs->n; i++)
        if (rs->r[i].busy)
            return false;
    *sp = (span){ s, rs->n, COMPACTION_PERIODIC };
    return true;
}

/* The triggers, most urgent first. */
typedef bool (*planner)(const picker_options *o, const runs *rs, span *sp);
static const planner planners[] = { plan_space_amp, plan_size_ratio, plan_run_count,
                                    plan_periodic };
#define NPLANNERS (sizeof planners / sizeof planners[0])

static compaction *build(const picker_options *o, const version *v, const runs *rs,
                         const span *sp, int *err)
{
    compaction *c = compaction_new(sp->reason, STYLE, output_level(rs, sp->e));
    if (!c)
        goto nomem;
    for (size_t i = sp->s; i < sp->e; i++) {
        const run *r = &rs->r[i];
        int rc = r->level == 0
                     ? compaction_add_inputs(c, 0, &v->files[0][r->idx], 1)
                     : compaction_add_inputs(c, r->level, v->files[r->level], v->nfiles[r->level]);
        if (rc)
            goto nomem;
    }
    compaction_finish(c, v, o->target_file_bytes);
    if (compaction_conflicts(c, o->running, o->nrunning)) {
        compaction_free(c);
        return NULL;
    }
    return c;
nomem:
    compaction_free(c);
    *err = -ENOMEM;
    return NULL;
}

static compaction *tiered_pick(const picker_options *o, const version *v, int *err)
{
    *err = 0;
    runs rs;
    if ((*err = collect(o, v, &rs)) != 0)
        return NULL;
    compaction *c = NULL;
    span sp;
    /* A merge that conflicts with a running compaction gives way to the
     * next trigger's. */
    for (size_t i = 0; i < NPLANNERS && !c && !*err; i++)
        if (planners[i](o, &rs, &sp))
            c = build(o, v, &rs, &sp, err);
    free(rs.r);
    return c;
}

/* The tree is one run at the bottom: rewrite it in place (tombstones
 * drop) when a level is named, or for the whole tree when a floor stops
 * the repetition. */
static compaction *rewrite_bottom(const picker_options *o, const version *v, int level,
                                  int *err)
{
    size_t a, b;
    if ((level == -1 && !o->manual_floor) ||
        !compaction_below_floor(v, LAST_LEVEL, o->manual_floor, &a, &b))
        return NULL;
    compaction *c = compaction_new(COMPACTION_MANUAL, STYLE, LAST_LEVEL);
    if (!c || compaction_add_inputs(c, LAST_LEVEL, v->files[LAST_LEVEL] + a, b - a)) {
        compaction_free(c);
        *err = -ENOMEM;
        return NULL;
    }
    compaction_finish(c, v, o->target_file_bytes);
    if (compaction_conflicts(c, o->running, o->nrunning)) {
        compaction_free(c);
        return NULL;
    }
    return c;
}

static compaction *tiered_manual(const picker_options *o, const version *v, int level, int *err)
{
    *err = 0;
    if (level < -1 || level >= LSM_NUM_LEVELS) {
        *err = -EINVAL;
        return NULL;
    }
    runs rs;
    if ((*err = collect(o, v, &rs)) != 0)
        return NULL;
    bool busy = false;
    for (size_t i = 0; i < rs.n; i++)
        busy |= rs.r[i].busy;
    compaction *c = NULL;
    if (busy || rs.n == 0) {
        /* NULL: busy (compaction_version_busy) or empty */
    } else if (rs.n == 1 && rs.r[0].level == LAST_LEVEL) {
        c = rewrite_bottom(o, v, level, err);
    } else {
        span all = { 0, rs.n, COMPACTION_MANUAL };
        c = build(o, v, &rs, &all, err);
    }
    free(rs.r);
    return c;
}

static double tiered_score(const picker_options *o, const version *v, int level)
{
    if (level != 0)
        return 0;
    runs rs;
    if (collect(o, v, &rs) != 0)
        return 1.0; /* cannot tell: let the picker try */
    double score = 0;
    if (rs.n >= 2) {
        double newer = (double)span_bytes(&rs, 0, rs.n - 1);
        double limit = o->tiered_max_space_amp * (double)rs.r[rs.n - 1].bytes;
        if (newer > limit) /* due (plan_space_amp's test) */
            score = limit > 0 ? newer / limit : 2.0;
        else if (limit > 0) /* below 1 even at the limit itself */
            score = newer / limit < 0.999 ? newer / limit : 0.999;
    }
    if (o->tiered_max_runs >= 1) {
        double r = (double)rs.n / (o->tiered_max_runs + 1); /* > max_runs is due */
        if (r > score)
            score = r;
    }
    span sp;
    if (score < 1.0 && (plan_size_ratio(o, &rs, &sp) || plan_periodic(o, &rs, &sp)))
        score = 1.0;
    free(rs.r);
    return score;
}

static uint64_t tiered_pending_bytes(const picker_options *o, const version *v)
{
    runs rs;
    if (collect(o, v, &rs) != 0)
        return 0;
    for (size_t i = 0; i < rs.n; i++)
        rs.r[i].busy = false; /* busy work is pending too */
    span sp;
    uint64_t bytes = 0;
    for (size_t i = 0; i < NPLANNERS && !bytes; i++)
        if (planners[i](o, &rs, &sp))
            bytes = span_bytes(&rs, sp.s, sp.e);
    free(rs.r);
    return bytes;
}

const compaction_picker picker_tiered = {
    .name = "tiered",
    .pick = tiered_pick,
    .pick_manual = tiered_manual,
    .level_score = tiered_score,
    .sorted_runs = compaction_sorted_runs,
    .pending_bytes = tiered_pending_bytes,
};
