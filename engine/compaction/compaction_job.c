/* compaction_job.c — see compaction_job.h. */
#include "compaction/compaction_job.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"
#include "base/filenames.h"
#include "base/killpoint.h"
#include "base/log.h"
#include "io/io_direct.h"
#include "io/io_queue.h"
#include "lsm.h"
#include "table/merge_iter.h"
#include "compaction/table_output.h"

/* Bytes of output between two rate-limiter requests. */
#define RATE_CHUNK (256u << 10)

static int is_input(const compaction *c, const file_meta *f)
{
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < c->ninputs[l]; i++)
            if (c->inputs[l][i] == f)
                return 1;
    return 0;
}

int compaction_is_bottommost(const version *v, const compaction *c)
{
    slice lo = { 0 }, hi = { 0 };
    uint64_t max_seq = 0;
    int any = 0;
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < c->ninputs[l]; i++) {
            const file_meta *f = c->inputs[l][i];
            slice s = ikey_user(file_meta_smallest(f)), g = ikey_user(file_meta_largest(f));
            if (!any || slice_compare(s, lo) < 0)
                lo = s;
            if (!any || slice_compare(g, hi) > 0)
                hi = g;
            if (f->max_seq > max_seq)
                max_seq = f->max_seq;
            any = 1;
        }
    if (!any)
        return 0;
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < v->nfiles[l]; i++) {
            const file_meta *f = v->files[l][i];
            if (is_input(c, f))
                continue;
            slice s = ikey_user(file_meta_smallest(f)), g = ikey_user(file_meta_largest(f));
            if (slice_compare(g, lo) < 0 || slice_compare(s, hi) > 0)
                continue;
            /* A newer file cannot hold what a dropped tombstone hides. */
            if (f->min_seq <= max_seq)
                return 0;
        }
    return 1;
}

static int trivial_move(const compaction *c, version_edit *edit, compaction_stats *st)
{
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < c->ninputs[l]; i++) {
            file_meta *f = c->inputs[l][i];
            int rc = version_edit_delete_file(edit, l, f->number);
            if (rc == 0)
                rc = version_edit_add_file(edit, c->output_level, f);
            if (rc != 0)
                return rc;
            st->files_in++;
        }
    return 0;
}

/* Outputs written so far, removed again on failure. */
typedef struct outputs {
    file_meta **f;
    size_t n, cap;
} outputs;

static int outputs_push(outputs *o, file_meta *f)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 8;
        file_meta **nf = realloc(o->f, cap * sizeof *nf);
        if (!nf)
            return -ENOMEM;
        o->f = nf;
        o->cap = cap;
    }
    o->f[o->n++] = f;
    return 0;
}

static void outputs_discard(const compaction_env *env, outputs *o)
{
    for (size_t i = 0; i < o->n; i++) {
        char *path = filename_table(env->dir, o->f[i]->number);
        if (path)
            io_unlink(env->io, path); /* best effort: unrecorded, so obsolete */
        free(path);
        file_meta_unref(o->f[i]);
    }
    free(o->f);
    o->f = NULL;
    o->n = o->cap = 0;
}

/* One key range of a job (all of it when unsplit) and what it made. */
typedef struct sub_range {
    const compaction_env *env;
    const compaction *c;
    int bottommost;
    slice lo, hi;          /* user keys; data NULL: unbounded */
    atomic_bool *stop;     /* set when another range failed */
    outputs outs;
    compaction_stats st;   /* entries_* only */
    int rc;
    pthread_t thread;
    bool started;
} sub_range;

/* Another range failed: this one stops and returns this (never reported). */
#define RANGE_STOPPED (-ECANCELED)

/* The user-key range of f meets [lo, hi). */
static bool file_in_range(const file_meta *f, slice lo, slice hi)
{
    if (hi.data && slice_compare(ikey_user(file_meta_smallest(f)), hi) >= 0)
        return false;
    if (lo.data && slice_compare(ikey_user(file_meta_largest(f)), lo) < 0)
        return false;
    return true;
}

static int open_inputs(const sub_range *sr, const readahead_cfg *ra, iter **out)
{
    const compaction *c = sr->c;
    size_t n = 0;
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        n += c->ninputs[l];
    iter **children = calloc(n ? n : 1, sizeof *children);
    if (!children)
        return -ENOMEM;
    size_t k = 0;
    int rc = 0;
    for (int l = 0; l < LSM_NUM_LEVELS && rc == 0; l++)
        for (size_t i = 0; i < c->ninputs[l] && rc == 0; i++) {
            file_meta *f = c->inputs[l][i];
            if (!file_in_range(f, sr->lo, sr->hi))
                continue;
            rc = sr->env->open(sr->env->open_ctx, f, ra, &children[k]);
            if (rc == 0)
                k++;
        }
    if (rc != 0) {
        for (size_t i = 0; i < k; i++)
            iter_destroy(children[i]);
        free(children);
        return rc;
    }
    *out = merge_iter_new(children, k); /* owns the children, even on NULL */
    free(children);
    return *out ? 0 : -ENOMEM;
}

/* The index of the first snapshot >= seq (nsnapshots: only "latest"). */
static size_t stripe_of(const compaction_env *env, uint64_t seq)
{
    size_t lo = 0, hi = env->nsnapshots;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (env->snapshots[mid] >= seq)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* The merge loop: decides what survives and cuts outputs. */
static int merge_entries(sub_range *sr, iter *it)
{
    const compaction_env *env = sr->env;
    const compaction *c = sr->c;
    int bottommost = sr->bottommost;
    outputs *outs = &sr->outs;
    compaction_stats *st = &sr->st;
    table_output t = { 0 };
    bool open = false;
    char *cur = NULL;       /* current user key */
    size_t cur_len = 0, cur_cap = 0;
    bool have_cur = false;
    size_t prev_stripe = 0; /* stripe of the newer entry of this key */
    uint64_t pending_rate = 0;
    int rc = 0;
    uint64_t split = c->output_level >= 1 ? c->target_file_bytes : 0;

    if (sr->lo.data) {
        char kbuf[256];
        char *tk = sr->lo.size + INTERNAL_TRAILER <= sizeof kbuf
                       ? kbuf : malloc(sr->lo.size + INTERNAL_TRAILER);
        if (!tk)
            return -ENOMEM;
        iter_seek(it, slice_make(tk, ikey_encode(tk, sr->lo, LSM_MAX_SEQUENCE, LSM_TYPE_SEEK)));
        if (tk != kbuf)
            free(tk);
    } else {
        iter_first(it);
    }
    for (; iter_valid(it); iter_next(it)) {
        if (env->cancel && atomic_load_explicit(env->cancel, memory_order_relaxed)) {
            rc = LSM_ECLOSED;
            break;
        }
        if (atomic_load_explicit(sr->stop, memory_order_relaxed)) {
            rc = RANGE_STOPPED;
            break;
        }
        slice ik = iter_key(it), val = iter_value(it);
        slice uk = ikey_user(ik);
        if (sr->hi.data && slice_compare(uk, sr->hi) >= 0)
            break;
        st->entries_in++;
        bool new_key = !have_cur || uk.size != cur_len || memcmp(uk.data, cur, cur_len) != 0;
        if (new_key) {
            if (uk.size > cur_cap) {
                char *nc = realloc(cur, uk.size);
                if (!nc) {
                    rc = -ENOMEM;
                    break;
                }
                cur = nc;
                cur_cap = uk.size;
            }
            memcpy(cur, uk.data, uk.size);
            cur_len = uk.size;
            have_cur = true;
        }
        size_t stripe = stripe_of(env, ikey_seq(ik));
        bool drop = (!new_key && stripe == prev_stripe) ||
                    (ikey_type(ik) == LSM_TYPE_DELETE && stripe == 0 && bottommost);
        prev_stripe = stripe;
        if (drop) {
            st->entries_dropped++;
            continue;
        }
        if (open && new_key && split && table_output_size(&t) >= split) {
            file_meta *fm;
            open = false;
            if ((rc = table_output_finish(&t, &fm)) != 0)
                break;
            if ((rc = outputs_push(outs, fm)) != 0) {
                file_meta_unref(fm);
                break;
            }
        }
        if (!open) {
            if ((rc = table_output_open(env->io, env->dir, env->vs, &env->sst, &t)) != 0)
                break;
            open = true;
            if (env->created)
                env->created(env->open_ctx);
        }
        if ((rc = table_output_add(&t, ik, val)) != 0)
            break;
        st->entries_out++;
        pending_rate += ik.size + val.size;
        if (pending_rate >= RATE_CHUNK) {
            rate_limiter_request(env->rl, pending_rate);
            pending_rate = 0;
        }
    }
    if (rc == 0)
        rc = iter_status(it);
    KILLPOINT("compaction.mid");
    if (open) {
        if (rc == 0) {
            file_meta *fm;
            rc = table_output_finish(&t, &fm);
            if (rc == 0 && (rc = outputs_push(outs, fm)) != 0)
                file_meta_unref(fm);
        } else {
            table_output_abandon(&t);
        }
    }
    free(cur);
    return rc;
}

/* Merges one range: its own queue for read-ahead, its own outputs.  On
 * error the range's unfinished output is removed; finished ones stay in
 * sr->outs for the caller to discard. */
static void run_range(sub_range *sr)
{
    const compaction_env *env = sr->env;
    io_queue *q = NULL;
    readahead_cfg ra = { 0 };
    if (env->readahead_bytes) {
        size_t n = 0;
        for (int l = 0; l < LSM_NUM_LEVELS; l++)
            for (size_t i = 0; i < sr->c->ninputs[l]; i++)
                n += file_in_range(sr->c->inputs[l][i], sr->lo, sr->hi);
        ra.window = env->readahead_bytes;
        ra.chunks = READAHEAD_DEFAULT_CHUNKS;
        if (ra.window < (size_t)ra.chunks * IO_DIRECT_ALIGN)
            ra.chunks = ra.window < IO_DIRECT_ALIGN ? 1 : (unsigned)(ra.window / IO_DIRECT_ALIGN);
        if (ra.window < IO_DIRECT_ALIGN)
            ra.window = IO_DIRECT_ALIGN;
        size_t depth = n * ra.chunks;
        depth = depth < 8 ? 8 : depth > 256 ? 256 : depth;
        int qrc = io_queue_new(env->io, (unsigned)depth, &q);
        if (qrc != 0) {
            /* Slower, not wrong: merge with a read per block. */
            log_warn_limited("compaction: no I/O queue for read-ahead (%s)", lsm_strerror(qrc));
            q = NULL;
        }
        ra.q = q;
    }
    iter *it;
    sr->rc = open_inputs(sr, q ? &ra : NULL, &it);
    if (sr->rc == 0) {
        sr->rc = merge_entries(sr, it);
        iter_destroy(it); /* waits for its reads in flight */
    }
    if (q)
        io_queue_destroy(q);
    if (sr->rc != 0 && sr->rc != RANGE_STOPPED)
        atomic_store(sr->stop, true);
}

static void *range_main(void *arg)
{
    run_range(arg);
    return NULL;
}

/* Splits c into ranges (one when unsplit) and merges them, the first on
 * this thread.  Returns the first range's error that is not a stop. */
static int run_ranges(const compaction_env *env, const compaction *c, sub_range **out,
                      size_t *nout)
{
    *out = NULL;
    *nout = 0;
    int want = subcompaction_count(c, env->max_subcompactions);
    subcompaction_cuts cuts = { 0 };
    if (want > 1 && env->sample) {
        /* An input that cannot be sampled would fail the merge too. */
        int prc = subcompaction_plan(c, want, env->sample, env->open_ctx, &cuts);
        if (prc != 0)
            return prc;
    }
    size_t n = cuts.n + 1;
    sub_range *sr = calloc(n, sizeof *sr);
    atomic_bool *stop = malloc(sizeof *stop);
    if (!sr || !stop) {
        free(sr);
        free(stop);
        subcompaction_cuts_free(&cuts);
        return -ENOMEM;
    }
    atomic_init(stop, false);
    int bottommost = compaction_is_bottommost(env->v, c);
    for (size_t i = 0; i < n; i++) {
        sr[i] = (sub_range){ .env = env, .c = c, .bottommost = bottommost, .stop = stop };
        if (i > 0)
            sr[i].lo = cuts.keys[i - 1];
        if (i < cuts.n)
            sr[i].hi = cuts.keys[i];
    }
    for (size_t i = 1; i < n; i++)
        sr[i].started = pthread_create(&sr[i].thread, NULL, range_main, &sr[i]) == 0;
    run_range(&sr[0]);
    for (size_t i = 1; i < n; i++) {
        if (sr[i].started)
            pthread_join(sr[i].thread, NULL);
        else
            run_range(&sr[i]); /* no thread: run it here, in turn */
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (sr[i].rc != RANGE_STOPPED)
            rc = sr[i].rc;
    /* The cut keys are the ranges' bounds: free them only now. */
    subcompaction_cuts_free(&cuts);
    for (size_t i = 0; i < n; i++)
        sr[i].lo = sr[i].hi = (slice){ 0 };
    free(stop);
    *out = sr;
    *nout = n;
    return rc;
}

int compaction_job_run(const compaction_env *env, const compaction *c, version_edit *edit,
                       compaction_stats *st)
{
    memset(st, 0, sizeof *st);
    if (c->trivial_move)
        return trivial_move(c, edit, st);

    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < c->ninputs[l]; i++) {
            st->bytes_read += c->inputs[l][i]->size;
            st->files_in++;
        }
    sub_range *sr;
    size_t nsr;
    int rc = run_ranges(env, c, &sr, &nsr);
    if (rc == -ENOMEM && nsr == 0)
        return rc;
    /* The ranges' outputs, in key order. */
    outputs outs = { 0 };
    for (size_t i = 0; i < nsr; i++) {
        st->entries_in += sr[i].st.entries_in;
        st->entries_out += sr[i].st.entries_out;
        st->entries_dropped += sr[i].st.entries_dropped;
        for (size_t j = 0; j < sr[i].outs.n; j++)
            if (outputs_push(&outs, sr[i].outs.f[j]) == 0)
                sr[i].outs.f[j] = NULL;
            else if (rc == 0)
                rc = -ENOMEM;
        /* What could not move stays here, discarded now on error. */
        size_t k = 0;
        for (size_t j = 0; j < sr[i].outs.n; j++)
            if (sr[i].outs.f[j])
                sr[i].outs.f[k++] = sr[i].outs.f[j];
        sr[i].outs.n = k;
        outputs_discard(env, &sr[i].outs);
    }
    free(sr);
    st->ranges = nsr;
    /* One directory sync makes every output's name durable before the
     * MANIFEST names them. */
    if (rc == 0 && outs.n > 0)
        rc = io_sync_dir(env->io, env->dir);
    if (rc == 0) KILLPOINT("compaction.after_tables_before_manifest");
    for (int l = 0; l < LSM_NUM_LEVELS && rc == 0; l++)
        for (size_t i = 0; i < c->ninputs[l] && rc == 0; i++)
            rc = version_edit_delete_file(edit, l, c->inputs[l][i]->number);
    for (size_t i = 0; i < outs.n && rc == 0; i++)
        rc = version_edit_add_file(edit, c->output_level, outs.f[i]);
    if (rc != 0) {
        outputs_discard(env, &outs);
        return rc;
    }
    for (size_t i = 0; i < outs.n; i++) {
        st->bytes_written += outs.f[i]->size;
        file_meta_unref(outs.f[i]); /* the edit holds its own ref */
    }
    st->files_out = outs.n;
    free(outs.f);
    return 0;
}
