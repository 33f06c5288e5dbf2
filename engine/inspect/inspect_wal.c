/*
 * inspect_wal.c — a WAL record by record (inspect_wal_dump), read with the
 * engine's own wal_reader so the torn-tail rule is exactly recovery's
 * (docs/wal-format.md, "Torn tail or corruption").
 */
#include <errno.h>
#include <stdlib.h>

#include "inspect/inspect_internal.h"
#include "lsm.h"
#include "wal/batch.h"
#include "wal/wal_reader.h"

typedef struct entry_print {
    FILE *out;
    uint64_t seq;
    bool values;
} entry_print;

static int print_entry(void *ctx, enum value_type type, slice key, slice value)
{
    entry_print *e = ctx;
    fprintf(e->out, "    '");
    insp_bytes(e->out, key);
    fprintf(e->out, "' @%llu %s", (unsigned long long)e->seq++,
            type == LSM_TYPE_PUT ? "PUT" : "DEL");
    if (e->values && type == LSM_TYPE_PUT) {
        fputs(" => '", e->out);
        insp_bytes(e->out, value);
        fputc('\'', e->out);
    } else if (type == LSM_TYPE_PUT) {
        fprintf(e->out, " (%zu value bytes)", value.size);
    }
    fputc('\n', e->out);
    return 0;
}

int insp_wal_check(insp *c, lsm_io *io, const char *path, unsigned flags)
{
    FILE *out = c->out;
    bool listing = out && !(flags & INSPECT_QUIET);
    wal_reader *r;
    int rc = wal_reader_open(io, path, 1, &r);
    if (rc)
        return rc;
    uint64_t records = 0, entries = 0, last_seq = 0;
    wal_record rec;
    while ((rc = wal_reader_next(r, &rec)) == 1) {
        records++;
        entries += rec.count;
        if (rec.count)
            last_seq = rec.sequence + rec.count - 1;
        if (listing) {
            fprintf(out, "record at offset %llu: sequence %llu count %u payload %zu bytes\n",
                    (unsigned long long)rec.offset, (unsigned long long)rec.sequence,
                    rec.count, rec.payload.size);
            if (flags & INSPECT_KEYS) {
                entry_print e = { out, rec.sequence, (flags & INSPECT_VALUES) != 0 };
                batch_iterate(rec.payload, rec.count, print_entry, &e);
            }
        }
    }
    if (rc == 0) {
        if (wal_reader_torn_tail(r))
            insp_printf(c, "torn tail at offset %llu (not replayed; not damage: "
                        "docs/wal-format.md)\n",
                        (unsigned long long)wal_reader_valid_end(r));
        if (listing)
            insp_printf(c, "ok: %llu records, %llu entries, last sequence %llu\n",
                    (unsigned long long)records, (unsigned long long)entries,
                    (unsigned long long)last_seq);
    } else if (rc == LSM_ECORRUPT) {
        insp_damage(c, path, wal_reader_error_offset(r),
                    "bad record followed by more data (after %llu good records)",
                    (unsigned long long)records);
    }
    wal_reader_close(r);
    return rc;
}

int inspect_wal_dump(const char *path, unsigned flags, FILE *out, inspect_damage *first)
{
    return insp_run_file(path, flags, out, first, insp_wal_check);
}
