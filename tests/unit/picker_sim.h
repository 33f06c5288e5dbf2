/*
 * picker_sim.h — a model LSM tree for the picker tests (test_picker_leveled.c,
 * test_picker_tiered.c): files with real entries, a fake executor, and the
 * checks every picked compaction and every resulting tree must pass.
 * Header-only so each test program stays one source file.
 */
#ifndef LSM_TEST_PICKER_SIM_H
#define LSM_TEST_PICKER_SIM_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compaction/compaction.h"
#include "compaction/compaction_picker.h"
#include "base/dbformat.h"
#include "version/version.h"
#include "version/version_builder.h"
#include "version/version_edit.h"

#define SIM_FN static __attribute__((unused))

/* ---- a model LSM tree ------------------------------------------------------
 * Each file of the model holds real entries (key, sequence, tombstone), kept
 * beside the version by file number.  A fake executor applies a picked
 * compaction: it merges the inputs' entries (newest per key survives; a
 * tombstone is dropped when the compaction is bottommost), cuts outputs at
 * target_file_bytes, and installs the edit with version_builder (which
 * refuses overlapping files in levels >= 1).  sim_check_reads then looks
 * every key up the way a read does and demands the newest write. */

#define ENTRY_BYTES 1024u /* the model size of one entry */

typedef struct entry {
    uint32_t key;
    uint64_t seq;
    bool del;
} entry;

typedef struct fdata {
    entry *e;
    size_t n;
} fdata;

typedef struct sim {
    version *v;
    uint64_t next_number, next_seq, now;
    fdata *data;          /* by file number */
    size_t data_cap;
    uint32_t nkeys;
    uint64_t *truth_seq;  /* newest sequence written per key; 0 = never */
    bool *truth_del;
    uint64_t flushed, written; /* entries, for write amplification */
    th_rng rng;
} sim;

SIM_FN void ukey(char *buf, uint32_t key)
{
    snprintf(buf, 16, "k%08u", key);
}

SIM_FN char *ikey_dup(uint32_t key, uint64_t seq, bool del, size_t *len)
{
    char u[16];
    ukey(u, key);
    char *p = malloc(strlen(u) + INTERNAL_TRAILER);
    assert_non_null(p);
    *len = ikey_encode(p, slice_make(u, strlen(u)), seq, del ? LSM_TYPE_DELETE : LSM_TYPE_PUT);
    return p;
}

SIM_FN void sim_init(sim *s, uint32_t nkeys, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    version_builder *b;
    assert_int_equal(version_builder_new(NULL, &b), 0);
    assert_int_equal(version_builder_finish(b, &s->v), 0);
    version_builder_free(b);
    s->next_number = 1;
    s->next_seq = 1;
    s->now = 1700000000;
    s->nkeys = nkeys;
    s->truth_seq = calloc(nkeys, sizeof *s->truth_seq);
    s->truth_del = calloc(nkeys, sizeof *s->truth_del);
    assert_true(s->truth_seq && s->truth_del);
    th_rng_seed(&s->rng, seed);
}

SIM_FN void sim_free(sim *s)
{
    version_unref(s->v);
    for (size_t i = 0; i < s->data_cap; i++)
        free(s->data[i].e);
    free(s->data);
    free(s->truth_seq);
    free(s->truth_del);
}

/* A new file holding e[0..n) (sorted by key, one entry per key); the model
 * keeps the entries (copied). */
SIM_FN file_meta *sim_file(sim *s, const entry *e, size_t n)
{
    assert_true(n > 0);
    file_meta *f = file_meta_new();
    assert_non_null(f);
    f->number = s->next_number++;
    f->smallest = ikey_dup(e[0].key, e[0].seq, e[0].del, &f->smallest_len);
    f->largest = ikey_dup(e[n - 1].key, e[n - 1].seq, e[n - 1].del, &f->largest_len);
    f->min_seq = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        if (e[i].seq < f->min_seq)
            f->min_seq = e[i].seq;
        if (e[i].seq > f->max_seq)
            f->max_seq = e[i].seq;
        f->deletions += e[i].del;
    }
    f->entries = n;
    f->size = n * ENTRY_BYTES;
    f->created_unix = s->now;
    if (f->number >= s->data_cap) {
        size_t cap = s->data_cap ? s->data_cap : 64;
        while (cap <= f->number)
            cap *= 2;
        s->data = realloc(s->data, cap * sizeof *s->data);
        assert_non_null(s->data);
        memset(s->data + s->data_cap, 0, (cap - s->data_cap) * sizeof *s->data);
        s->data_cap = cap;
    }
    s->data[f->number].e = malloc(n * sizeof *e);
    assert_non_null(s->data[f->number].e);
    memcpy(s->data[f->number].e, e, n * sizeof *e);
    s->data[f->number].n = n;
    return f;
}

SIM_FN void sim_install(sim *s, const version_edit *e)
{
    version_builder *b;
    version *nv;
    assert_int_equal(version_builder_new(s->v, &b), 0);
    assert_int_equal(version_builder_apply(b, e), 0);
    int rc = version_builder_finish(b, &nv);
    if (rc)
        fail_msg("version_builder_finish: %s", version_builder_why(b));
    version_builder_free(b);
    version_unref(s->v);
    s->v = nv;
}

/* Adds a file with e[0..n) at level (a test's hand-made shape). */
SIM_FN void sim_add(sim *s, int level, const entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_true(e[i].key < s->nkeys);
        if (e[i].seq >= s->truth_seq[e[i].key]) {
            s->truth_seq[e[i].key] = e[i].seq;
            s->truth_del[e[i].key] = e[i].del;
        }
        if (e[i].seq >= s->next_seq)
            s->next_seq = e[i].seq + 1;
    }
    version_edit ed;
    version_edit_init(&ed);
    file_meta *f = sim_file(s, e, n);
    assert_int_equal(version_edit_add_file(&ed, level, f), 0);
    file_meta_unref(f);
    sim_install(s, &ed);
    version_edit_free(&ed);
}

SIM_FN int cmp_entry(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->seq < b->seq) - (a->seq > b->seq); /* newest first */
}

/* Keys [lo, hi) (when hi > lo) or n random keys written with fresh
 * sequences, 1 in del_every a tombstone (0: none), flushed to L0. */
SIM_FN void sim_flush(sim *s, size_t n, uint32_t lo, uint32_t hi, unsigned del_every)
{
    entry *e = malloc((hi > lo ? hi - lo : n) * sizeof *e);
    assert_non_null(e);
    size_t m = 0;
    if (hi > lo) {
        for (uint32_t k = lo; k < hi; k++)
            e[m++] = (entry){ k, 0, false };
    } else {
        for (size_t i = 0; i < n; i++)
            e[m++] = (entry){ (uint32_t)th_rng_below(&s->rng, s->nkeys), 0, false };
    }
    qsort(e, m, sizeof *e, cmp_entry);
    size_t u = 0;
    for (size_t i = 0; i < m; i++)
        if (u == 0 || e[u - 1].key != e[i].key)
            e[u++] = e[i];
    for (size_t i = 0; i < u; i++) {
        e[i].seq = s->next_seq++;
        e[i].del = del_every && th_rng_below(&s->rng, del_every) == 0;
        s->truth_seq[e[i].key] = e[i].seq;
        s->truth_del[e[i].key] = e[i].del;
    }
    s->flushed += u;
    version_edit ed;
    version_edit_init(&ed);
    file_meta *f = sim_file(s, e, u);
    assert_int_equal(version_edit_add_file(&ed, 0, f), 0);
    file_meta_unref(f);
    sim_install(s, &ed);
    version_edit_free(&ed);
    free(e);
}

/* The fake executor. */
SIM_FN void sim_apply(sim *s, const compaction *c)
{
    version_edit ed;
    version_edit_init(&ed);
    size_t total = 0;
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < c->ninputs[l]; i++) {
            assert_int_equal(version_edit_delete_file(&ed, l, c->inputs[l][i]->number), 0);
            total += s->data[c->inputs[l][i]->number].n;
        }
    if (c->trivial_move) {
        for (int l = 0; l < LSM_NUM_LEVELS; l++)
            if (c->ninputs[l])
                assert_int_equal(version_edit_add_file(&ed, c->output_level, c->inputs[l][0]), 0);
        sim_install(s, &ed);
        version_edit_free(&ed);
        return;
    }
    entry *all = malloc((total ? total : 1) * sizeof *all);
    assert_non_null(all);
    size_t m = 0;
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < c->ninputs[l]; i++) {
            fdata *d = &s->data[c->inputs[l][i]->number];
            memcpy(all + m, d->e, d->n * sizeof *all);
            m += d->n;
        }
    qsort(all, m, sizeof *all, cmp_entry);
    size_t u = 0;
    for (size_t i = 0; i < m; i++) {
        if (i > 0 && all[i].key == all[i - 1].key)
            continue; /* shadowed: no snapshots in the model */
        if (all[i].del && c->bottommost)
            continue;
        all[u++] = all[i];
    }
    size_t per = c->target_file_bytes ? (size_t)(c->target_file_bytes / ENTRY_BYTES) : u;
    if (per == 0)
        per = 1;
    for (size_t i = 0; i < u; i += per) {
        size_t n = u - i < per ? u - i : per;
        file_meta *f = sim_file(s, all + i, n);
        assert_int_equal(version_edit_add_file(&ed, c->output_level, f), 0);
        file_meta_unref(f);
    }
    s->written += u;
    free(all);
    sim_install(s, &ed);
    version_edit_free(&ed);
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < c->ninputs[l]; i++) {
            fdata *d = &s->data[c->inputs[l][i]->number];
            free(d->e);
            d->e = NULL;
            d->n = 0;
        }
}

static const entry *file_lookup(const sim *s, const file_meta *f, uint32_t key)
{
    const fdata *d = &s->data[f->number];
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->e[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < d->n && d->e[lo].key == key ? &d->e[lo] : NULL;
}

/* Every key read like a get does (L0 newest first, then one file per
 * level): the newest write, or nothing for a key whose newest write is a
 * dropped tombstone. */
SIM_FN void sim_check_reads(const sim *s)
{
    char u[16];
    for (uint32_t k = 0; k < s->nkeys; k++) {
        const entry *hit = NULL;
        for (size_t i = 0; !hit && i < s->v->nfiles[0]; i++)
            hit = file_lookup(s, s->v->files[0][i], k);
        ukey(u, k);
        for (int l = 1; !hit && l < LSM_NUM_LEVELS; l++) {
            file_meta *f = version_find_file(s->v, l, slice_make(u, strlen(u)));
            if (f)
                hit = file_lookup(s, f, k);
        }
        if (s->truth_seq[k] == 0) {
            assert_null(hit);
        } else if (hit) {
            if (hit->seq != s->truth_seq[k])
                fail_msg("key %u: read seq %llu, newest %llu", k, (unsigned long long)hit->seq,
                         (unsigned long long)s->truth_seq[k]);
            assert_int_equal(hit->del, s->truth_del[k]);
        } else if (!s->truth_del[k]) {
            fail_msg("key %u lost (newest seq %llu)", k, (unsigned long long)s->truth_seq[k]);
        }
    }
    /* No user key split between neighbours of a level >= 1. */
    for (int l = 1; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 1; i < s->v->nfiles[l]; i++)
            assert_false(slice_equal(ikey_user(file_meta_largest(s->v->files[l][i - 1])),
                                     ikey_user(file_meta_smallest(s->v->files[l][i]))));
}

/* What every picked compaction must satisfy (compaction/compaction.h,
 * "Invariants"). */
SIM_FN void check_compaction(const version *v, const compaction *c)
{
    assert_true(c->output_level >= 0 && c->output_level < LSM_NUM_LEVELS);
    assert_non_null(c->style);
    size_t nfiles = 0;
    uint64_t bytes = 0;
    int deepest = -1;
    for (int l = 0; l < LSM_NUM_LEVELS; l++) {
        if (!c->ninputs[l])
            continue;
        deepest = l;
        nfiles += c->ninputs[l];
        for (size_t i = 0; i < c->ninputs[l]; i++) {
            assert_false(c->inputs[l][i]->being_compacted);
            bytes += c->inputs[l][i]->size;
        }
        /* the same order as the version; for l >= 1 a contiguous slice */
        size_t at = 0;
        while (at < v->nfiles[l] && v->files[l][at] != c->inputs[l][0])
            at++;
        assert_true(at < v->nfiles[l]);
        if (l >= 1) {
            assert_true(at + c->ninputs[l] <= v->nfiles[l]);
            for (size_t i = 0; i < c->ninputs[l]; i++)
                assert_ptr_equal(v->files[l][at + i], c->inputs[l][i]);
            size_t end = at + c->ninputs[l];
            if (at > 0)
                assert_false(slice_equal(ikey_user(file_meta_largest(v->files[l][at - 1])),
                                         ikey_user(file_meta_smallest(v->files[l][at]))));
            if (end < v->nfiles[l])
                assert_false(slice_equal(ikey_user(file_meta_largest(v->files[l][end - 1])),
                                         ikey_user(file_meta_smallest(v->files[l][end]))));
        } else {
            for (size_t i = 1; i < c->ninputs[0]; i++) {
                size_t j = at;
                while (j < v->nfiles[0] && v->files[0][j] != c->inputs[0][i])
                    j++;
                assert_true(j < v->nfiles[0] && j > at);
                at = j;
            }
        }
    }
    assert_true(nfiles > 0);
    assert_true(deepest <= c->output_level);
    assert_int_equal(c->ninput_files, nfiles);
    assert_int_equal(c->input_bytes, bytes);
    assert_int_equal(compaction_total_bytes(c), bytes);
    if (c->output_level == 0)
        assert_int_equal(c->target_file_bytes, 0);
    else
        assert_true(c->target_file_bytes > 0);
    if (c->trivial_move) {
        assert_int_equal(nfiles, 1);
        assert_int_equal(c->ninputs[c->output_level], 0);
    }
    /* every file of output_level (>= 1) meeting the inputs' range is an input */
    slice lo, hi;
    assert_true(compaction_user_range(c, &lo, &hi));
    if (c->output_level >= 1) {
        int out = c->output_level;
        for (size_t i = 0; i < v->nfiles[out]; i++) {
            const file_meta *f = v->files[out][i];
            bool meets = slice_compare(ikey_user(file_meta_largest(f)), lo) >= 0 &&
                         slice_compare(ikey_user(file_meta_smallest(f)), hi) <= 0;
            if (meets)
                assert_true(compaction_has_input(c, out, f));
        }
    }
    /* bottommost, by brute force */
    bool bottom = true;
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < v->nfiles[l]; i++) {
            const file_meta *f = v->files[l][i];
            bool meets = slice_compare(ikey_user(file_meta_largest(f)), lo) >= 0 &&
                         slice_compare(ikey_user(file_meta_smallest(f)), hi) <= 0;
            if (meets && f->min_seq <= c->max_seq && !compaction_has_input(c, l, f))
                bottom = false;
        }
    assert_int_equal(c->bottommost, bottom);
}

/* Picks and applies until the picker has nothing left; returns the steps. */
SIM_FN int sim_settle(sim *s, const compaction_picker *p, const picker_options *o, int max_steps)
{
    for (int steps = 0;; steps++) {
        int err = -1;
        compaction *c = p->pick(o, s->v, &err);
        assert_int_equal(err, 0);
        if (!c)
            return steps;
        if (steps >= max_steps)
            fail_msg("%s picker did not settle in %d steps", p->name, max_steps);
        check_compaction(s->v, c);
        sim_apply(s, c);
        compaction_free(c);
    }
}

SIM_FN uint64_t live_bytes(const sim *s)
{
    uint64_t n = 0;
    for (uint32_t k = 0; k < s->nkeys; k++)
        n += s->truth_seq[k] && !s->truth_del[k];
    return n * ENTRY_BYTES;
}

SIM_FN uint64_t tree_bytes(const version *v)
{
    uint64_t n = 0;
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        n += version_level_bytes(v, l);
    return n;
}

/* p's pick / pick_manual, asserting no error and checking the result
 * against the rules of compaction/compaction.h. */
SIM_FN compaction *sim_pick(const compaction_picker *p, const picker_options *o, const version *v)
{
    int err = -1;
    compaction *c = p->pick(o, v, &err);
    assert_int_equal(err, 0);
    if (c)
        check_compaction(v, c);
    return c;
}

SIM_FN compaction *sim_pick_manual(const compaction_picker *p, const picker_options *o,
                                   const version *v, int level)
{
    int err = -1;
    compaction *c = p->pick_manual(o, v, level, &err);
    assert_int_equal(err, 0);
    if (c)
        check_compaction(v, c);
    return c;
}

/* 400 flushes with up to 4 compactions in flight, finishing in random
 * order; picks come from `main` except for flushes 150..249, which use
 * `other` (a style switch while the first style's jobs still run).  Every
 * pick is checked and every 40 flushes all reads are.  Drains at the end;
 * returns the most compactions seen in flight at once. */
SIM_FN size_t sim_concurrent_stream(sim *s, picker_options *o, const compaction_picker *main_p,
                                    const compaction_picker *other)
{
    compaction *running[4];
    size_t n = 0, max_seen = 0;
    for (int i = 0; i < 400; i++) {
        sim_flush(s, 48, 0, 0, 8);
        const compaction_picker *p = i >= 150 && i < 250 ? other : main_p;
        while (n < 4) {
            o->running = (const compaction *const *)running;
            o->nrunning = n;
            compaction *c = sim_pick(p, o, s->v);
            if (!c)
                break;
            compaction_mark_busy(c, true);
            running[n++] = c;
        }
        if (n > max_seen)
            max_seen = n;
        while (n > 0 && (n == 4 || th_rng_below(&s->rng, 3) != 0)) {
            size_t j = (size_t)th_rng_below(&s->rng, n);
            compaction *c = running[j];
            running[j] = running[--n];
            sim_apply(s, c);
            compaction_mark_busy(c, false);
            compaction_free(c);
        }
        if (i % 40 == 39)
            sim_check_reads(s);
    }
    while (n > 0) {
        compaction *c = running[--n];
        sim_apply(s, c);
        compaction_mark_busy(c, false);
        compaction_free(c);
    }
    o->running = NULL;
    o->nrunning = 0;
    return max_seen;
}

#endif
