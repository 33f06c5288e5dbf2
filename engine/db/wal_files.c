/* wal_files.c — see wal_files.h. */
#include <errno.h>
#include <stdlib.h>

#include "db/wal_files.h"
#include "db/obsolete_files.h"
#include "base/filenames.h"

struct wal_list {
    uint64_t min;
    wal_files_seen_fn seen;
    void *ctx;
    uint64_t *v;
    size_t len, cap;
};

static int collect(void *arg, const char *name, enum file_kind kind, uint64_t number)
{
    (void)name;
    struct wal_list *l = arg;
    if (l->seen)
        l->seen(l->ctx, number);
    if (kind != FILE_KIND_WAL || number < l->min)
        return 0;
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        uint64_t *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->len++] = number;
    return 0;
}

int db_list_wals(const char *dir, uint64_t min, wal_files_seen_fn seen, void *ctx,
                 uint64_t **out, size_t *n)
{
    struct wal_list l = { min, seen, ctx, NULL, 0, 0 };
    int rc = filename_scan(dir, collect, &l);
    if (rc != 0) {
        free(l.v);
        return rc;
    }
    if (l.len)
        qsort(l.v, l.len, sizeof *l.v, db_cmp_u64);
    *out = l.v;
    *n = l.len;
    return 0;
}
