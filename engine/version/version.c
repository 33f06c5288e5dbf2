/* version.c — see version.h. */
#include "version/version.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"
#include "lsm.h"

/* ---- file_meta ---------------------------------------------------------- */

file_meta *file_meta_new(void)
{
    file_meta *f = calloc(1, sizeof *f);
    if (f)
        atomic_init(&f->refs, 1);
    return f;
}

void file_meta_ref(file_meta *f)
{
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
}

void file_meta_unref(file_meta *f)
{
    /* acq_rel: the freeing thread sees every write made before other
     * threads dropped their references. */
    if (!f || atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(f->smallest);
    free(f->largest);
    free(f);
}

const char *file_meta_check(const file_meta *f)
{
    const size_t min = INTERNAL_TRAILER + 1, max = LSM_MAX_KEY_SIZE + INTERNAL_TRAILER;
    if (!f->smallest || f->smallest_len < min || f->smallest_len > max ||
        !f->largest || f->largest_len < min || f->largest_len > max)
        return "file key of impossible length";
    if (ikey_compare(file_meta_smallest(f), file_meta_largest(f)) > 0)
        return "file smallest key after its largest";
    if (f->min_seq > f->max_seq || f->max_seq > LSM_MAX_SEQUENCE)
        return "file sequence range invalid";
    if (f->deletions > f->entries)
        return "file has more deletions than entries";
    return NULL;
}

/* ---- version ------------------------------------------------------------ */

void version_ref(version *v)
{
    atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

static void version_free(version *v)
{
    for (int level = 0; level < LSM_NUM_LEVELS; level++) {
        for (size_t i = 0; i < v->nfiles[level]; i++)
            file_meta_unref(v->files[level][i]);
        free(v->files[level]);
    }
    free(v);
}

void version_unref(version *v)
{
    if (!v || atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
        return;
    version_list *l = v->list;
    if (l) {
        /* Walkers of the list (version_set_live_files) hold mu, so once v is
         * unlinked nobody can reach it. */
        pthread_mutex_lock(&l->mu);
        if (v->prev)
            v->prev->next = v->next;
        else
            l->head = v->next;
        if (v->next)
            v->next->prev = v->prev;
        pthread_mutex_unlock(&l->mu);
    }
    version_free(v);
}

void version_link(version_list *list, version *v)
{
    v->list = list;
    v->prev = NULL;
    v->next = list->head;
    if (list->head)
        list->head->prev = v;
    list->head = v;
}

uint64_t version_level_bytes(const version *v, int level)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < v->nfiles[level]; i++)
        sum += v->files[level][i]->size;
    return sum;
}

size_t version_total_files(const version *v)
{
    size_t n = 0;
    for (int level = 0; level < LSM_NUM_LEVELS; level++)
        n += v->nfiles[level];
    return n;
}

size_t version_find_file_index(const version *v, int level, slice ikey)
{
    file_meta *const *files = v->files[level];
    size_t lo = 0, hi = v->nfiles[level];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ikey_compare(file_meta_largest(files[mid]), ikey) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

file_meta *version_find_file(const version *v, int level, slice user_key)
{
    file_meta *const *files = v->files[level];
    size_t lo = 0, hi = v->nfiles[level];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (slice_compare(ikey_user(file_meta_largest(files[mid])), user_key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == v->nfiles[level] ||
        slice_compare(user_key, ikey_user(file_meta_smallest(files[lo]))) < 0)
        return NULL;
    return files[lo];
}
