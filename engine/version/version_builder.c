/* version_builder.c — see version_builder.h. */
#include "version/version_builder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"
#include "lsm.h"

/* ---- version_builder ----------------------------------------------------
 * Files live in per-level arrays (a deleted file leaves a NULL hole); an
 * open-addressing table maps a file number to its level and index, so a
 * replay of many edits over many files stays linear. */

enum { SLOT_EMPTY = -1, SLOT_GONE = -2 };

typedef struct slot {
    uint64_t number;
    int32_t level; /* or SLOT_EMPTY / SLOT_GONE */
    uint32_t idx;
} slot;

struct version_builder {
    file_meta **lv[LSM_NUM_LEVELS];
    size_t n[LSM_NUM_LEVELS], cap[LSM_NUM_LEVELS];
    slot *tab;
    size_t tab_cap, tab_used; /* used counts live and SLOT_GONE slots */
    const char *why;
};

static size_t slot_hash(uint64_t number, size_t cap)
{
    number ^= number >> 33;
    number *= 0xff51afd7ed558ccdull;
    number ^= number >> 33;
    return (size_t)number & (cap - 1);
}

static slot *tab_find(const version_builder *b, uint64_t number)
{
    if (!b->tab_cap)
        return NULL;
    for (size_t i = slot_hash(number, b->tab_cap);; i = (i + 1) & (b->tab_cap - 1)) {
        slot *s = &b->tab[i];
        if (s->level == SLOT_EMPTY)
            return NULL;
        if (s->level >= 0 && s->number == number)
            return s;
    }
}

static void tab_put(slot *tab, size_t cap, uint64_t number, int level, size_t idx)
{
    size_t i = slot_hash(number, cap);
    while (tab[i].level >= 0)
        i = (i + 1) & (cap - 1);
    tab[i] = (slot){ number, level, (uint32_t)idx };
}

/* Keeps the table at most half full (live + tombstones) after one insert. */
static int tab_reserve(version_builder *b)
{
    if ((b->tab_used + 1) * 2 <= b->tab_cap)
        return 0;
    size_t live = 0;
    for (size_t i = 0; i < b->tab_cap; i++)
        live += b->tab[i].level >= 0;
    size_t cap = 64;
    while (cap < (live + 1) * 4)
        cap *= 2;
    slot *tab = malloc(cap * sizeof *tab);
    if (!tab)
        return -ENOMEM;
    for (size_t i = 0; i < cap; i++)
        tab[i].level = SLOT_EMPTY;
    for (size_t i = 0; i < b->tab_cap; i++)
        if (b->tab[i].level >= 0)
            tab_put(tab, cap, b->tab[i].number, b->tab[i].level, b->tab[i].idx);
    free(b->tab);
    b->tab = tab;
    b->tab_cap = cap;
    b->tab_used = live;
    return 0;
}

/* Appends f (taking a reference) to level. */
static int builder_add(version_builder *b, int level, file_meta *f)
{
    if (b->n[level] == b->cap[level]) {
        size_t cap = b->cap[level] ? b->cap[level] * 2 : 16;
        file_meta **a = realloc(b->lv[level], cap * sizeof *a);
        if (!a)
            return -ENOMEM;
        b->lv[level] = a;
        b->cap[level] = cap;
    }
    if (tab_reserve(b))
        return -ENOMEM;
    if (b->n[level] >= UINT32_MAX)
        return -ENOMEM;
    tab_put(b->tab, b->tab_cap, f->number, level, b->n[level]);
    b->tab_used++;
    file_meta_ref(f);
    b->lv[level][b->n[level]++] = f;
    return 0;
}

int version_builder_new(const version *base, version_builder **out)
{
    version_builder *b = calloc(1, sizeof *b);
    if (!b)
        return -ENOMEM;
    for (int level = 0; base && level < LSM_NUM_LEVELS; level++) {
        for (size_t i = 0; i < base->nfiles[level]; i++) {
            if (builder_add(b, level, base->files[level][i])) {
                version_builder_free(b);
                return -ENOMEM;
            }
        }
    }
    *out = b;
    return 0;
}

int version_builder_apply(version_builder *b, const version_edit *e)
{
    for (size_t i = 0; i < e->ndeleted; i++) {
        slot *s = tab_find(b, e->deleted[i].number);
        if (!s || s->level != e->deleted[i].level) {
            b->why = "edit deletes a file that is not in that level";
            return LSM_ECORRUPT;
        }
        file_meta **fp = &b->lv[s->level][s->idx];
        file_meta_unref(*fp);
        *fp = NULL;
        s->level = SLOT_GONE;
    }
    for (size_t i = 0; i < e->nadded; i++) {
        file_meta *f = e->added[i].f;
        const char *bad = file_meta_check(f);
        if (!bad && tab_find(b, f->number))
            bad = "edit adds a file number that is already live";
        if (bad) {
            b->why = bad;
            return LSM_ECORRUPT;
        }
        if (builder_add(b, e->added[i].level, f))
            return -ENOMEM;
    }
    return 0;
}

/* Level 0: newest first. */
static int cmp_l0(const void *pa, const void *pb)
{
    const file_meta *a = *(file_meta *const *)pa, *b = *(file_meta *const *)pb;
    if (a->max_seq != b->max_seq)
        return a->max_seq > b->max_seq ? -1 : 1;
    return (a->number < b->number) - (a->number > b->number);
}

/* Levels >= 1: by smallest key. */
static int cmp_smallest(const void *pa, const void *pb)
{
    const file_meta *a = *(file_meta *const *)pa, *b = *(file_meta *const *)pb;
    int r = ikey_compare(file_meta_smallest(a), file_meta_smallest(b));
    return r ? r : (a->number > b->number) - (a->number < b->number);
}

int version_builder_finish(version_builder *b, version **out)
{
    version *v = calloc(1, sizeof *v);
    if (!v)
        return -ENOMEM;
    atomic_init(&v->refs, 1);
    for (int level = 0; level < LSM_NUM_LEVELS; level++) {
        size_t n = 0;
        for (size_t i = 0; i < b->n[level]; i++)
            n += b->lv[level][i] != NULL;
        if (n == 0)
            continue;
        file_meta **files = malloc(n * sizeof *files);
        if (!files) {
            version_unref(v); /* one reference, not linked: frees it */
            return -ENOMEM;
        }
        n = 0;
        for (size_t i = 0; i < b->n[level]; i++) {
            if (b->lv[level][i]) {
                file_meta_ref(b->lv[level][i]);
                files[n++] = b->lv[level][i];
            }
        }
        v->files[level] = files;
        v->nfiles[level] = n;
        qsort(files, n, sizeof *files, level == 0 ? cmp_l0 : cmp_smallest);
        for (size_t i = 1; level > 0 && i < n; i++) {
            if (ikey_compare(file_meta_largest(files[i - 1]),
                             file_meta_smallest(files[i])) >= 0) {
                b->why = "overlapping files in a level >= 1";
                version_unref(v); /* one reference, not linked: frees it */
                return LSM_ECORRUPT;
            }
        }
    }
    *out = v;
    return 0;
}

const char *version_builder_why(const version_builder *b)
{
    return b->why;
}

void version_builder_free(version_builder *b)
{
    if (!b)
        return;
    for (int level = 0; level < LSM_NUM_LEVELS; level++) {
        for (size_t i = 0; i < b->n[level]; i++)
            file_meta_unref(b->lv[level][i]);
        free(b->lv[level]);
    }
    free(b->tab);
    free(b);
}
