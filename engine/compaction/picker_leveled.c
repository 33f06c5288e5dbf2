/*
 * picker_leveled.c — leveled compaction (RocksDB compaction_picker_level.cc,
 * LevelDB VersionSet::PickCompaction) with dynamic level targets (RocksDB's
 * level_compaction_dynamic_level_bytes, VersionStorageInfo::CalculateBaseBytes;
 * Pebble's initLevelMaxBytes).
 *
 * Shape: L0 holds overlapping flushes; L1 .. L6 are each one sorted run.
 * Targets follow the data, from the bottom up (picker_level_targets): L6's
 * target is the size of the largest level >= 1 (normally L6 itself), and
 * each level above has 1/ratio of the next one's, up to the "base" level,
 * the shallowest whose target is still above level_base_bytes / ratio.
 * Levels above the base stay empty and L0 compacts straight into the base:
 * a small tree uses few levels (just L6 below level_base_bytes), and about
 * ratio/(ratio+1) of the bytes sit in the last level, so space
 * amplification stays near 1 + 1/ratio — static targets (L1 =
 * level_base_bytes, x ratio per level) leave the deepest level part full.
 *
 * pick: the level with the highest score >= 1 compacts one step down
 *   L0 -> base every L0 file (none if one is busy: the L0 files overlap, and
 *              an older one left behind would end up above newer data) plus
 *              the base files overlapping their range.
 *   Ln -> Ln+1 one clean group of Ln (a file plus neighbours sharing a
 *              boundary user key) with the overlapping Ln+1 files.  Among the
 *              groups whose files are all idle, the one with the smallest
 *              overlap ratio (Ln+1 bytes rewritten per Ln byte moved; ties:
 *              the first by key) — RocksDB's kMinOverlappingRatio, which
 *              needs no state between picks.
 *   A group overlapping nothing below moves by a MANIFEST edit (trivial
 *   move); a single L0 file with nothing below moves too.
 * A level above the base that holds data (a tree left by static targets or
 * by tiered compaction, or one that shrank) is drained one step down like
 * an over-full level; until it is empty L0 compacts into it (never below
 * it: newer data must stay above older data).  RocksDB 8.2+ drains such
 * "unnecessary levels" the same way.
 * When no level can compact, a file created more than periodic_compaction_seconds
 * ago (the oldest first) is rewritten one level down (L0: into the base),
 * or in place at L6; periodic and manual compactions never move trivially
 * (they exist to rewrite).
 */
#include "compaction/compaction_picker.h"

#include <errno.h>
#include <stdlib.h>

#include "base/dbformat.h"

#define LAST_LEVEL (LSM_NUM_LEVELS - 1)

static const char STYLE[] = "leveled";

static double size_ratio(const picker_options *o)
{
    return o->level_size_ratio >= 1.0 ? o->level_size_ratio : 1.0; /* also NaN */
}

static uint64_t to_bytes(double t)
{
    return t >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)t;
}

void picker_level_targets(const picker_options *o, const version *v, level_targets *t)
{
    uint64_t largest = 0;
    t->first_used = LSM_NUM_LEVELS;
    for (int l = 0; l < LSM_NUM_LEVELS; l++) {
        t->bytes[l] = 0;
        uint64_t b = l ? version_level_bytes(v, l) : 0;
        if (b && t->first_used == LSM_NUM_LEVELS)
            t->first_used = l;
        if (b > largest)
            largest = b;
    }
    /* From the bottom up: L6 gets the largest level's size, each level above
     * 1/ratio of the next, while the level just set is still bigger than
     * level_base_bytes (so the base's target lands in (base/ratio, base]). */
    double ratio = size_ratio(o);
    double base_max = (double)(o->level_base_bytes ? o->level_base_bytes : 1);
    double size = (double)largest;
    int l = LAST_LEVEL;
    t->bytes[l] = largest;
    while (l > 1 && size > base_max) {
        size /= ratio;
        t->bytes[--l] = to_bytes(size);
    }
    t->first_needed = largest ? l : LAST_LEVEL;
    t->base_level = t->first_used < t->first_needed ? t->first_used : t->first_needed;
}

static uint64_t bytes_of(file_meta *const *files, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += files[i]->size;
    return sum;
}

/* The score of level under targets t (level_score's contract). */
static double score_of(const picker_options *o, const version *v, const level_targets *t,
                       int level)
{
    if (level < 0 || level >= LAST_LEVEL)
        return 0;
    /* Busy files are already on their way down: count only the rest. */
    uint64_t idle = 0;
    for (size_t i = 0; i < v->nfiles[level]; i++)
        if (!v->files[level][i]->being_compacted)
            idle += level == 0 ? 1 : v->files[level][i]->size;
    if (level == 0)
        return (double)idle / (o->l0_compaction_trigger > 0 ? o->l0_compaction_trigger : 1);
    if (idle == 0)
        return 0;
    if (level < t->first_needed) {
        /* Should be empty: due, and the more so the more it holds (against
         * the smallest target a level in use can have). */
        double least = (double)(o->level_base_bytes ? o->level_base_bytes : 1) / size_ratio(o);
        double s = (double)idle / (least > 1 ? least : 1);
        return s > 1.0 ? s : 1.0;
    }
    uint64_t target = t->bytes[level];
    return (double)idle / (double)(target ? target : 1);
}

static double leveled_score(const picker_options *o, const version *v, int level)
{
    if (level < 0 || level >= LAST_LEVEL)
        return 0;
    level_targets t;
    picker_level_targets(o, v, &t);
    return score_of(o, v, &t, level);
}

/* The user-key hull of files[0..n). */
static void hull(file_meta *const *files, size_t n, slice *lo, slice *hi)
{
    for (size_t i = 0; i < n; i++) {
        slice s = ikey_user(file_meta_smallest(files[i]));
        slice g = ikey_user(file_meta_largest(files[i]));
        if (i == 0 || slice_compare(s, *lo) < 0)
            *lo = s;
        if (i == 0 || slice_compare(g, *hi) > 0)
            *hi = g;
    }
}

/* A planned compaction: files [a, b) of level into out, where it meets
 * files [f, e) of out (none when out == level: a rewrite in place). */
typedef struct plan {
    int level, out;
    size_t a, b, f, e;
} plan;

/* Fills the output side of p.  false when a needed file is busy or the
 * output range conflicts with a running compaction. */
static bool plan_output(const picker_options *o, const version *v, plan *p)
{
    file_meta *const *in = v->files[p->level] + p->a;
    size_t nin = p->b - p->a;
    if (compaction_any_busy(in, nin))
        return false;
    slice lo, hi;
    hull(in, nin, &lo, &hi);
    p->f = p->e = 0;
    if (p->out != p->level) {
        compaction_level_overlaps(v, p->out, lo, hi, &p->f, &p->e);
        file_meta *const *below = p->e > p->f ? v->files[p->out] + p->f : NULL;
        if (compaction_any_busy(below, p->e - p->f))
            return false;
        if (p->e > p->f) {
            slice blo, bhi;
            hull(below, p->e - p->f, &blo, &bhi);
            if (slice_compare(blo, lo) < 0)
                lo = blo;
            if (slice_compare(bhi, hi) > 0)
                hi = bhi;
        }
    }
    return !compaction_range_conflicts(p->out, lo, hi, o->running, o->nrunning);
}

static compaction *build(const picker_options *o, const version *v, const plan *p,
                         enum compaction_reason reason, bool allow_trivial, int *err)
{
    compaction *c = compaction_new(reason, STYLE, p->out);
    if (!c || compaction_add_inputs(c, p->level, v->files[p->level] + p->a, p->b - p->a) ||
        (p->e > p->f && compaction_add_inputs(c, p->out, v->files[p->out] + p->f, p->e - p->f))) {
        compaction_free(c);
        *err = -ENOMEM;
        return NULL;
    }
    c->trivial_move = allow_trivial && p->out != p->level && p->b - p->a == 1 && p->e == p->f;
    compaction_finish(c, v, o->target_file_bytes);
    return c;
}

/* Files [a, b) of level (clean) into out; NULL when busy or conflicting. */
static compaction *compact_range(const picker_options *o, const version *v, int level,
                                 size_t a, size_t b, int out, enum compaction_reason reason,
                                 bool allow_trivial, int *err)
{
    plan p = { .level = level, .out = out, .a = a, .b = b };
    if (a >= b || !plan_output(o, v, &p))
        return NULL;
    return build(o, v, &p, reason, allow_trivial, err);
}

/* The end of the clean group of level that starts at index a. */
static size_t group_end(const version *v, int level, size_t a)
{
    size_t first = a, end = a + 1;
    compaction_clean_cut(v, level, &first, &end);
    return end;
}

/* Ln -> Ln+1 (1 <= level < LAST_LEVEL): the idle group with the smallest
 * overlap ratio. */
static compaction *pick_level(const picker_options *o, const version *v, int level, int *err)
{
    file_meta *const *files = v->files[level];
    file_meta *const *below = v->files[level + 1];
    size_t n = v->nfiles[level];
    plan best = { 0 };
    uint64_t best_in = 0, best_over = 0;
    bool found = false;
    for (size_t a = 0, b; a < n; a = b) {
        b = group_end(v, level, a);
        plan p = { .level = level, .out = level + 1, .a = a, .b = b };
        if (!plan_output(o, v, &p))
            continue;
        uint64_t in = bytes_of(files + a, b - a);
        uint64_t over = p.e > p.f ? bytes_of(below + p.f, p.e - p.f) : 0;
        if (in == 0)
            in = 1;
        /* over/in < best_over/best_in, without division or overflow. */
        if (!found || (unsigned __int128)over * best_in < (unsigned __int128)best_over * in) {
            best = p;
            best_in = in;
            best_over = over;
            found = true;
        }
    }
    return found ? build(o, v, &best, COMPACTION_LEVEL_SIZE, true, err) : NULL;
}

static bool expired(const picker_options *o, const file_meta *f)
{
    return f->created_unix != 0 && o->now_unix >= f->created_unix &&
           o->now_unix - f->created_unix >= o->periodic_compaction_seconds;
}

typedef struct aged {
    uint64_t created;
    int level;
    size_t idx;
} aged;

static int cmp_aged(const void *pa, const void *pb)
{
    const aged *a = pa, *b = pb;
    if (a->created != b->created)
        return a->created < b->created ? -1 : 1;
    return (a->level < b->level) - (a->level > b->level); /* deeper first */
}

/* The oldest expired idle file one level down (in place at the last
 * level); all of L0 goes into the base level when an L0 file expired. */
static compaction *pick_periodic(const picker_options *o, const version *v, int base,
                                 int *err)
{
    if (!o->periodic_compaction_seconds)
        return NULL;
    size_t n = 0;
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < v->nfiles[l]; i++)
            n += expired(o, v->files[l][i]) && !v->files[l][i]->being_compacted;
    if (n == 0)
        return NULL;
    aged *list = malloc(n * sizeof *list);
    if (!list) {
        *err = -ENOMEM;
        return NULL;
    }
    n = 0;
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < v->nfiles[l]; i++)
            if (expired(o, v->files[l][i]) && !v->files[l][i]->being_compacted)
                list[n++] = (aged){ v->files[l][i]->created_unix, l, i };
    qsort(list, n, sizeof *list, cmp_aged);
    compaction *c = NULL;
    bool tried_l0 = false;
    for (size_t k = 0; k < n && !c && !*err; k++) {
        int l = list[k].level;
        if (l == 0) {
            if (!tried_l0)
                c = compact_range(o, v, 0, 0, v->nfiles[0], base, COMPACTION_PERIODIC, false,
                                  err);
            tried_l0 = true;
            continue;
        }
        size_t a = list[k].idx, b = a + 1;
        compaction_clean_cut(v, l, &a, &b);
        c = compact_range(o, v, l, a, b, l == LAST_LEVEL ? l : l + 1, COMPACTION_PERIODIC,
                          false, err);
    }
    free(list);
    return c;
}

static compaction *leveled_pick(const picker_options *o, const version *v, int *err)
{
    *err = 0;
    level_targets t;
    picker_level_targets(o, v, &t);
    int order[LAST_LEVEL];
    double score[LAST_LEVEL];
    for (int l = 0; l < LAST_LEVEL; l++) {
        score[l] = score_of(o, v, &t, l);
        /* insertion sort, highest score first (ties: shallower first) */
        int k = l;
        while (k > 0 && score[order[k - 1]] < score[l]) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = l;
    }
    for (int k = 0; k < LAST_LEVEL && score[order[k]] >= 1.0; k++) {
        int l = order[k];
        compaction *c = l == 0 ? compact_range(o, v, 0, 0, v->nfiles[0], t.base_level,
                                               COMPACTION_L0_FILES, true, err)
                               : pick_level(o, v, l, err);
        if (c || *err)
            return c;
    }
    return pick_periodic(o, v, t.base_level, err);
}

/* Files of level numbered below the floor (all when it is 0), as one clean
 * span rewritten in place.  REQUIRES: level >= 1. */
static compaction *rewrite_in_place(const picker_options *o, const version *v, int level,
                                    int *err)
{
    size_t a, b;
    if (!compaction_below_floor(v, level, o->manual_floor, &a, &b))
        return NULL;
    return compact_range(o, v, level, a, b, level, COMPACTION_MANUAL, false, err);
}

static compaction *leveled_manual(const picker_options *o, const version *v, int level, int *err)
{
    *err = 0;
    if (level < -1 || level >= LSM_NUM_LEVELS) {
        *err = -EINVAL;
        return NULL;
    }
    if (level == LAST_LEVEL)
        return rewrite_in_place(o, v, level, err);
    if (level > 0)
        return compact_range(o, v, level, 0, v->nfiles[level], level + 1, COMPACTION_MANUAL,
                             false, err);
    if (level == 0) { /* where automatic L0 compactions go */
        level_targets t;
        picker_level_targets(o, v, &t);
        return compact_range(o, v, 0, 0, v->nfiles[0], t.base_level, COMPACTION_MANUAL, false,
                             err);
    }
    /* The whole tree, one step per call: the shallowest non-empty level into
     * the next non-empty one (the levels between are empty, so skipping them
     * keeps every level's order). */
    int s = 0;
    while (s < LSM_NUM_LEVELS && v->nfiles[s] == 0)
        s++;
    if (s == LSM_NUM_LEVELS)
        return NULL;
    int t = s + 1;
    while (t < LSM_NUM_LEVELS && v->nfiles[t] == 0)
        t++;
    if (t < LSM_NUM_LEVELS || s == 0)
        return compact_range(o, v, s, 0, v->nfiles[s], t < LSM_NUM_LEVELS ? t : LAST_LEVEL,
                             COMPACTION_MANUAL, false, err);
    /* One sorted run left: rewriting it only converges with a floor. */
    return o->manual_floor ? rewrite_in_place(o, v, s, err) : NULL;
}

/* RocksDB's EstimateCompactionBytesNeeded: what each over-full level must
 * push down, times the rewrite of the level below it.  L0 goes into the
 * base level (the levels above it are empty); a level that should be empty
 * pushes down everything. */
static uint64_t leveled_pending_bytes(const picker_options *o, const version *v)
{
    level_targets t;
    picker_level_targets(o, v, &t);
    double total = 0, carry = 0;
    uint64_t l0 = version_level_bytes(v, 0);
    int trigger = o->l0_compaction_trigger > 0 ? o->l0_compaction_trigger : 1;
    bool l0_due = v->nfiles[0] >= (size_t)trigger;
    if (l0_due) { /* L0 and the base level it merges with */
        total += (double)l0 + (double)version_level_bytes(v, t.base_level);
        carry = (double)l0;
    }
    for (int l = t.base_level; l < LAST_LEVEL; l++) {
        double size = (double)version_level_bytes(v, l) + carry;
        double target = l < t.first_needed ? 0 : (double)t.bytes[l];
        carry = 0;
        if (size > target && size > 0) {
            carry = size - target;
            double next = (double)version_level_bytes(v, l + 1);
            total += carry * (next / size + 1.0);
        }
    }
    return to_bytes(total);
}

const compaction_picker picker_leveled = {
    .name = "leveled",
    .pick = leveled_pick,
    .pick_manual = leveled_manual,
    .level_score = leveled_score,
    .sorted_runs = compaction_sorted_runs,
    .pending_bytes = leveled_pending_bytes,
};
