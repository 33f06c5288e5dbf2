/*
 * repair_wal.c — one WAL turned into a table (RocksDB's ConvertLogToTable):
 * its records up to the end or the first bad one, sorted into internal-key
 * order, written as NNNNNN.sst through a temporary name, synced, renamed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/dbformat.h"
#include "base/filenames.h"
#include "inspect/repair_internal.h"
#include "lsm.h"
#include "table/sstable_builder.h"
#include "wal/batch.h"
#include "wal/wal_reader.h"

typedef struct wal_entry {
    char *ikey;        /* user key || trailer, then the value, one malloc */
    size_t klen, vlen;
} wal_entry;

typedef struct wal_entries {
    wal_entry *v;
    size_t n, cap;
    uint64_t seq;      /* of the next entry */
} wal_entries;

static int add_entry(void *ctx, enum value_type type, slice key, slice value)
{
    wal_entries *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        wal_entry *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    char *p = malloc(key.size + INTERNAL_TRAILER + value.size);
    if (!p)
        return -ENOMEM;
    size_t kl = ikey_encode(p, key, l->seq++, type);
    memcpy(p + kl, value.data, value.size);
    l->v[l->n++] = (wal_entry){ p, kl, value.size };
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    const wal_entry *x = a, *y = b;
    return ikey_compare(slice_make(x->ikey, x->klen), slice_make(y->ikey, y->klen));
}

static void free_entries(wal_entries *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].ikey);
    free(l->v);
}

/* Writes the sorted entries as table number in dir. */
static int write_table(lsm_io *io, const char *dir, uint64_t number, wal_entries *l)
{
    char *final = filename_table(dir, number);
    size_t tl = final ? strlen(final) + sizeof ".repair" : 0;
    char *tmp = final ? malloc(tl) : NULL;
    if (!tmp) {
        free(final);
        return -ENOMEM;
    }
    snprintf(tmp, tl, "%s.repair", final);
    sst_builder *b;
    int rc = sst_builder_new(io, tmp, NULL, &b);
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        slice k = slice_make(l->v[i].ikey, l->v[i].klen);
        /* The same sequence twice can only be a WAL copied into itself:
         * keep one. */
        if (i && ikey_compare(slice_make(l->v[i - 1].ikey, l->v[i - 1].klen), k) == 0)
            continue;
        rc = sst_builder_add(b, k, slice_make(l->v[i].ikey + l->v[i].klen, l->v[i].vlen));
    }
    if (rc == 0)
        rc = sst_builder_finish(b, NULL); /* synced */
    else
        sst_builder_abandon(b);
    if (rc == 0)
        rc = io_rename(io, tmp, final);
    if (rc == 0)
        rc = io_sync_dir(io, dir);
    free(tmp);
    free(final);
    return rc;
}

int repair_convert_wal(insp *c, lsm_io *io, const char *dir, const char *path, uint64_t number,
                       repair_wal_result *res)
{
    memset(res, 0, sizeof *res);
    wal_reader *r;
    int rc = wal_reader_open(io, path, 1, &r);
    if (rc)
        return rc;
    wal_entries l = { 0 };
    wal_record rec;
    while ((rc = wal_reader_next(r, &rec)) == 1) {
        l.seq = rec.sequence;
        /* The reader checked the entries, so a failure here is -ENOMEM. */
        if ((rc = batch_iterate(rec.payload, rec.count, add_entry, &l)) != 0)
            break;
        res->records++;
    }
    if (rc == LSM_ECORRUPT) {
        res->damaged = true;
        insp_damage(c, path, wal_reader_error_offset(r),
                    "bad record followed by more data; the %llu records before it are kept",
                    (unsigned long long)res->records);
        rc = 0;
    }
    wal_reader_close(r);
    if (rc == 0 && l.n) {
        qsort(l.v, l.n, sizeof *l.v, cmp_entry);
        rc = write_table(io, dir, number, &l);
        if (rc == 0)
            res->table_written = true;
    }
    free_entries(&l);
    return rc;
}
