/* compaction.c — see compaction.h. */
#include "compaction/compaction.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"

const char *compaction_reason_name(enum compaction_reason r)
{
    static const char *const names[COMPACTION_NUM_REASONS] = {
        [COMPACTION_L0_FILES] = "l0_files",
        [COMPACTION_LEVEL_SIZE] = "level_size",
        [COMPACTION_TIERED_SIZE_RATIO] = "tiered_size_ratio",
        [COMPACTION_TIERED_RUNS] = "tiered_runs",
        [COMPACTION_SPACE_AMP] = "space_amp",
        [COMPACTION_PERIODIC] = "periodic",
        [COMPACTION_MANUAL] = "manual",
    };
    if ((unsigned)r >= COMPACTION_NUM_REASONS)
        return "unknown";
    return names[r];
}

/* ---- building ------------------------------------------------------------ */

compaction *compaction_new(enum compaction_reason reason, const char *style, int output_level)
{
    compaction *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->reason = reason;
    c->style = style;
    c->output_level = output_level;
    return c;
}

int compaction_add_inputs(compaction *c, int level, file_meta *const *files, size_t n)
{
    if (n == 0)
        return 0;
    size_t need = c->ninputs[level] + n;
    if (need > c->cap_[level]) {
        file_meta **a = realloc(c->inputs[level], need * sizeof *a);
        if (!a)
            return -ENOMEM;
        c->inputs[level] = a;
        c->cap_[level] = need;
    }
    for (size_t i = 0; i < n; i++) {
        file_meta_ref(files[i]);
        c->inputs[level][c->ninputs[level]++] = files[i];
    }
    return 0;
}

void compaction_finish(compaction *c, const version *v, uint64_t target)
{
    bool any = false;
    c->input_bytes = 0;
    c->ninput_files = 0;
    for (int l = 0; l < LSM_NUM_LEVELS; l++) {
        for (size_t i = 0; i < c->ninputs[l]; i++) {
            const file_meta *f = c->inputs[l][i];
            slice s = file_meta_smallest(f), g = file_meta_largest(f);
            if (!any || ikey_compare(s, c->smallest) < 0)
                c->smallest = s;
            if (!any || ikey_compare(g, c->largest) > 0)
                c->largest = g;
            if (!any || f->min_seq < c->min_seq)
                c->min_seq = f->min_seq;
            if (!any || f->max_seq > c->max_seq)
                c->max_seq = f->max_seq;
            any = true;
            c->input_bytes += f->size;
        }
        c->ninput_files += c->ninputs[l];
    }
    c->target_file_bytes = c->output_level >= 1 ? target : 0;
    c->bottommost = compaction_bottommost(v, c);
}

void compaction_free(compaction *c)
{
    if (!c)
        return;
    for (int l = 0; l < LSM_NUM_LEVELS; l++) {
        for (size_t i = 0; i < c->ninputs[l]; i++)
            file_meta_unref(c->inputs[l][i]);
        free(c->inputs[l]);
    }
    free(c);
}

uint64_t compaction_total_bytes(const compaction *c)
{
    uint64_t sum = 0;
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < c->ninputs[l]; i++)
            sum += c->inputs[l][i]->size;
    return sum;
}

bool compaction_user_range(const compaction *c, slice *lo, slice *hi)
{
    bool any = false;
    for (int l = 0; l < LSM_NUM_LEVELS; l++) {
        for (size_t i = 0; i < c->ninputs[l]; i++) {
            const file_meta *f = c->inputs[l][i];
            slice s = ikey_user(file_meta_smallest(f)), g = ikey_user(file_meta_largest(f));
            if (!any || slice_compare(s, *lo) < 0)
                *lo = s;
            if (!any || slice_compare(g, *hi) > 0)
                *hi = g;
            any = true;
        }
    }
    return any;
}

/* Inputs of a level >= 1 are sorted by smallest key like the level:
 * binary search.  Level 0 holds few files: scan. */
bool compaction_has_input(const compaction *c, int level, const file_meta *f)
{
    file_meta *const *in = c->inputs[level];
    size_t n = c->ninputs[level];
    if (level == 0) {
        for (size_t i = 0; i < n; i++)
            if (in[i] == f)
                return true;
        return false;
    }
    slice key = file_meta_smallest(f);
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ikey_compare(file_meta_smallest(in[mid]), key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < n && ikey_compare(file_meta_smallest(in[lo]), key) == 0; lo++)
        if (in[lo] == f)
            return true;
    return false;
}

void compaction_mark_busy(compaction *c, bool busy)
{
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < c->ninputs[l]; i++)
            c->inputs[l][i]->being_compacted = busy;
}

bool compaction_conflicts(const compaction *c, const compaction *const *running, size_t nrunning)
{
    slice lo, hi;
    if (!nrunning || !compaction_user_range(c, &lo, &hi))
        return false;
    return compaction_range_conflicts(c->output_level, lo, hi, running, nrunning);
}

bool compaction_range_conflicts(int output_level, slice lo, slice hi,
                                const compaction *const *running, size_t nrunning)
{
    for (size_t i = 0; i < nrunning; i++) {
        const compaction *r = running[i];
        slice rlo, rhi;
        if (!r || r->output_level != output_level || !compaction_user_range(r, &rlo, &rhi))
            continue;
        if (slice_compare(rhi, lo) >= 0 && slice_compare(rlo, hi) <= 0)
            return true;
    }
    return false;
}

/* ---- queries on a version ------------------------------------------------ */

static slice smallest_user(const file_meta *f)
{
    return ikey_user(file_meta_smallest(f));
}

static slice largest_user(const file_meta *f)
{
    return ikey_user(file_meta_largest(f));
}

void compaction_clean_cut(const version *v, int level, size_t *first, size_t *end)
{
    file_meta *const *files = v->files[level];
    size_t n = v->nfiles[level];
    if (*first >= *end)
        return;
    while (*first > 0 &&
           slice_equal(largest_user(files[*first - 1]), smallest_user(files[*first])))
        (*first)--;
    while (*end < n && slice_equal(largest_user(files[*end - 1]), smallest_user(files[*end])))
        (*end)++;
}

void compaction_level_overlaps(const version *v, int level, slice lo, slice hi,
                               size_t *first, size_t *end)
{
    file_meta *const *files = v->files[level];
    size_t n = v->nfiles[level];
    /* first: the first file whose largest user key >= lo. */
    size_t a = 0, b = n;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (slice_compare(largest_user(files[mid]), lo) < 0)
            a = mid + 1;
        else
            b = mid;
    }
    *first = a;
    /* end: the first file whose smallest user key > hi. */
    b = n;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (slice_compare(smallest_user(files[mid]), hi) <= 0)
            a = mid + 1;
        else
            b = mid;
    }
    *end = a;
    compaction_clean_cut(v, level, first, end);
}

bool compaction_below_floor(const version *v, int level, uint64_t floor, size_t *first,
                            size_t *end)
{
    size_t n = v->nfiles[level], a = n, b = 0;
    for (size_t i = 0; i < n; i++) {
        if (floor && v->files[level][i]->number >= floor)
            continue;
        if (a == n)
            a = i;
        b = i + 1;
    }
    if (a >= b)
        return false;
    *first = a;
    *end = b;
    compaction_clean_cut(v, level, first, end);
    return true;
}

bool compaction_any_busy(file_meta *const *files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (files[i]->being_compacted)
            return true;
    return false;
}

bool compaction_version_busy(const version *v)
{
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        if (compaction_any_busy(v->files[l], v->nfiles[l]))
            return true;
    return false;
}

int compaction_sorted_runs(const version *v)
{
    int runs = (int)v->nfiles[0];
    for (int l = 1; l < LSM_NUM_LEVELS; l++)
        runs += v->nfiles[l] > 0;
    return runs;
}

bool compaction_bottommost(const version *v, const compaction *c)
{
    slice lo, hi;
    if (!compaction_user_range(c, &lo, &hi))
        return false;
    for (int l = 0; l < LSM_NUM_LEVELS; l++) {
        size_t first = 0, end = v->nfiles[l];
        if (l >= 1)
            compaction_level_overlaps(v, l, lo, hi, &first, &end);
        for (size_t i = first; i < end; i++) {
            const file_meta *f = v->files[l][i];
            if (slice_compare(largest_user(f), lo) < 0 || slice_compare(smallest_user(f), hi) > 0)
                continue;
            if (f->min_seq <= c->max_seq && !compaction_has_input(c, l, f))
                return false;
        }
    }
    return true;
}
