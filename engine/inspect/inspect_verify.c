/*
 * inspect_verify.c — a whole database directory checked offline
 * (inspect_verify, lsm_verify): the MANIFEST, every table it names against
 * what it records, every other table present, and the WALs recovery would
 * replay.  Reads only; holds DIR/LOCK so no engine changes the files
 * meanwhile.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/filenames.h"
#include "inspect/inspect_internal.h"
#include "lsm.h"
#include "version/version.h"

typedef struct numbers {
    uint64_t *v;
    size_t n, cap;
    enum file_kind kind;
} numbers;

static int collect(void *ctx, const char *name, enum file_kind kind, uint64_t number)
{
    (void)name;
    numbers *l = ctx;
    if (kind != l->kind)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        uint64_t *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = number;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The numbers of dir's files of one kind, sorted. */
static int list_files(const char *dir, enum file_kind kind, numbers *l)
{
    memset(l, 0, sizeof *l);
    l->kind = kind;
    int rc = filename_scan(dir, collect, l);
    if (rc) {
        free(l->v);
        l->v = NULL;
        return rc;
    }
    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, cmp_u64);
    return 0;
}

/* One table the MANIFEST names: present, intact, and as recorded. */
static int check_live(insp *c, lsm_io *io, const char *dir, int level, const file_meta *f)
{
    char *path = filename_table(dir, f->number);
    if (!path)
        return -ENOMEM;
    if (access(path, F_OK) != 0) {
        insp_damage(c, path, UINT64_MAX, "named by the MANIFEST at L%d but missing", level);
        free(path);
        return 0;
    }
    insp_table t;
    uint64_t before = c->ndamage;
    int rc = insp_sst_check(c, io, path, INSPECT_QUIET, &t);
    if (rc == 0) {
        if (t.size != f->size)
            insp_damage(c, path, UINT64_MAX, "%llu bytes, the MANIFEST records %llu",
                        (unsigned long long)t.size, (unsigned long long)f->size);
        else if (t.entries != f->entries || t.deletions != f->deletions ||
                 (t.entries &&
                  (slice_compare(slice_make(t.smallest, t.smallest_len), file_meta_smallest(f)) ||
                   slice_compare(slice_make(t.largest, t.largest_len), file_meta_largest(f)))))
            insp_damage(c, path, UINT64_MAX,
                        "entries or key range differ from what the MANIFEST records");
    }
    if (rc == 0 && c->ndamage == before)
        insp_printf(c, "ok %s: L%d, %llu entries, %llu blocks\n", path, level,
                    (unsigned long long)t.entries, (unsigned long long)t.blocks);
    insp_table_free(&t);
    free(path);
    return rc == LSM_ECORRUPT ? 0 : rc;
}

static bool is_live(const version *v, uint64_t number)
{
    for (int l = 0; v && l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < v->nfiles[l]; i++)
            if (v->files[l][i]->number == number)
                return true;
    return false;
}

static int verify_locked(insp *c, lsm_io *io, const char *dir, uint64_t *ntables, uint64_t *nwals)
{
    version *v = NULL;
    uint64_t log_number = 0;
    int rc = insp_manifest_read(c, io, dir, true, &v, &log_number);
    if (rc == -ENOENT) {
        insp_damage(c, dir, UINT64_MAX, "no CURRENT (not a database, or CURRENT lost: "
                    "lsmctl repair rebuilds it)");
        rc = LSM_ECORRUPT;
    }
    if (rc && rc != LSM_ECORRUPT)
        return rc;
    if (rc == 0)
        insp_printf(c, "ok MANIFEST: %zu live tables, log number %llu\n", version_total_files(v),
                    (unsigned long long)log_number);
    /* Without a readable MANIFEST every table is still checked on its own. */
    for (int l = 0; v && l < LSM_NUM_LEVELS; l++) {
        for (size_t i = 0; i < v->nfiles[l]; i++) {
            (*ntables)++;
            if ((rc = check_live(c, io, dir, l, v->files[l][i])) != 0)
                goto out;
        }
    }
    numbers tables, wals;
    if ((rc = list_files(dir, FILE_KIND_TABLE, &tables)) != 0)
        goto out;
    for (size_t i = 0; i < tables.n && rc == 0; i++) {
        if (is_live(v, tables.v[i]))
            continue;
        char *path = filename_table(dir, tables.v[i]);
        if (!path) {
            rc = -ENOMEM;
            break;
        }
        insp_table t;
        (*ntables)++;
        rc = insp_sst_check(c, io, path, INSPECT_QUIET, &t);
        if (rc == 0)
            insp_printf(c, "ok %s: not in the MANIFEST (%llu entries)\n", path,
                        (unsigned long long)t.entries);
        if (rc == LSM_ECORRUPT)
            rc = 0;
        insp_table_free(&t);
        free(path);
    }
    free(tables.v);
    if (rc || (rc = list_files(dir, FILE_KIND_WAL, &wals)) != 0)
        goto out;
    for (size_t i = 0; i < wals.n && rc == 0; i++) {
        if (wals.v[i] < log_number)
            continue; /* flushed already: recovery never reads it */
        char *path = filename_wal(dir, wals.v[i]);
        if (!path) {
            rc = -ENOMEM;
            break;
        }
        (*nwals)++;
        uint64_t before = c->ndamage;
        rc = insp_wal_check(c, io, path, INSPECT_QUIET);
        if (rc == 0 && c->ndamage == before)
            insp_printf(c, "ok %s\n", path);
        if (rc == LSM_ECORRUPT)
            rc = 0;
        free(path);
    }
    free(wals.v);
out:
    version_unref(v);
    return rc;
}

int inspect_verify(const char *dir, FILE *out, uint64_t *damaged, inspect_damage *first)
{
    insp c = { .out = out, .first = first };
    int fd;
    int rc = insp_lock(dir, &fd);
    if (rc)
        return rc;
    lsm_io *io;
    if ((rc = insp_io_new(&io)) != 0) {
        close(fd);
        return rc;
    }
    uint64_t ntables = 0, nwals = 0;
    rc = verify_locked(&c, io, dir, &ntables, &nwals);
    io_destroy(io);
    close(fd);
    if (damaged)
        *damaged = c.ndamage;
    if (rc)
        return rc;
    insp_printf(&c, "verify %s: %llu tables, %llu WALs checked, %llu damaged\n", dir,
                (unsigned long long)ntables, (unsigned long long)nwals,
                (unsigned long long)c.ndamage);
    return c.ndamage ? LSM_ECORRUPT : 0;
}

int lsm_verify(const char *dir)
{
    return inspect_verify(dir, NULL, NULL, NULL);
}
