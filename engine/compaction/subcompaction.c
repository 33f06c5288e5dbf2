/* subcompaction.c — see subcompaction.h. */
#include "compaction/subcompaction.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"

int subcompaction_count(const compaction *c, int max)
{
    if (max <= 1 || c->trivial_move || c->output_level < 1 || c->target_file_bytes == 0)
        return 1;
    if (max > SUBCOMPACTION_MAX)
        max = SUBCOMPACTION_MAX;
    uint64_t per_file = c->input_bytes / c->target_file_bytes;
    return per_file < 1 ? 1 : per_file < (uint64_t)max ? (int)per_file : max;
}

typedef struct sample {
    char *key; /* user key */
    size_t len;
    uint64_t bytes;
} sample;

typedef struct samples {
    sample *a;
    size_t n, cap;
    int err;
} samples;

static void collect(void *ctx, slice ikey, uint64_t bytes)
{
    samples *s = ctx;
    if (s->err || ikey.size < INTERNAL_TRAILER)
        return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        sample *na = realloc(s->a, cap * sizeof *na);
        if (!na) {
            s->err = -ENOMEM;
            return;
        }
        s->a = na;
        s->cap = cap;
    }
    slice uk = ikey_user(ikey);
    char *k = malloc(uk.size ? uk.size : 1);
    if (!k) {
        s->err = -ENOMEM;
        return;
    }
    memcpy(k, uk.data, uk.size);
    s->a[s->n++] = (sample){ k, uk.size, bytes };
}

static int by_key(const void *x, const void *y)
{
    const sample *a = x, *b = y;
    return slice_compare(slice_make(a->key, a->len), slice_make(b->key, b->len));
}

void subcompaction_cuts_free(subcompaction_cuts *cuts)
{
    for (size_t i = 0; i < cuts->n; i++)
        free((void *)cuts->keys[i].data);
    free(cuts->keys);
    cuts->keys = NULL;
    cuts->n = 0;
}

int subcompaction_plan(const compaction *c, int nranges, subcompaction_sampler sample_fn,
                       void *ctx, subcompaction_cuts *cuts)
{
    cuts->keys = NULL;
    cuts->n = 0;
    if (nranges <= 1)
        return 0;
    samples s = { 0 };
    int rc = 0;
    for (int l = 0; l < LSM_NUM_LEVELS && rc == 0; l++)
        for (size_t i = 0; i < c->ninputs[l] && rc == 0; i++) {
            rc = sample_fn(ctx, c->inputs[l][i], SUBCOMPACTION_SAMPLES_PER_FILE, collect, &s);
            if (rc == 0)
                rc = s.err;
        }
    uint64_t total = 0;
    for (size_t i = 0; i < s.n; i++)
        total += s.a[i].bytes;
    if (rc == 0 && s.n > 0 && !(cuts->keys = malloc((size_t)(nranges - 1) * sizeof *cuts->keys)))
        rc = -ENOMEM;
    if (rc == 0 && s.n > 0) {
        qsort(s.a, s.n, sizeof *s.a, by_key);
        slice lo = ikey_user(c->smallest);
        uint64_t acc = 0;
        for (size_t i = 0; i < s.n && cuts->n < (size_t)nranges - 1; i++) {
            acc += s.a[i].bytes;
            /* Cut after the sample that reaches the next share, at a key
             * above the last cut and the job's smallest (no empty range). */
            if (acc < total / (uint64_t)nranges * (cuts->n + 1))
                continue;
            slice k = slice_make(s.a[i].key, s.a[i].len);
            if (slice_compare(k, lo) <= 0 ||
                (cuts->n && slice_compare(k, cuts->keys[cuts->n - 1]) <= 0))
                continue;
            cuts->keys[cuts->n++] = k;
            s.a[i].key = NULL; /* moved */
        }
    }
    for (size_t i = 0; i < s.n; i++)
        free(s.a[i].key);
    free(s.a);
    if (rc != 0)
        subcompaction_cuts_free(cuts);
    return rc;
}
