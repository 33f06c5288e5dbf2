/*
 * inspect_manifest.c — CURRENT and the MANIFEST it names, edit by edit
 * (inspect_manifest_dump; verify's first step).  The records are read with
 * wal_reader and the edits decoded and applied with the engine's own
 * version_edit_decode and version_builder, so what is judged damage here is
 * what recovery refuses (docs/manifest-format.md, "Validity rules").
 */
#include <errno.h>
#include <stdlib.h>

#include "base/filenames.h"
#include "inspect/inspect_internal.h"
#include "lsm.h"
#include "version/version_builder.h"
#include "version/version_edit.h"
#include "wal/wal_reader.h"

static void print_edit(FILE *out, uint64_t ordinal, uint64_t off, const version_edit *e)
{
    fprintf(out, "edit %llu at offset %llu:%s", (unsigned long long)ordinal,
            (unsigned long long)off, e->header ? " header(LSMDMFST v1)" : "");
    if (e->has_log_number)
        fprintf(out, " log_number %llu", (unsigned long long)e->log_number);
    if (e->has_next_file)
        fprintf(out, " next_file %llu", (unsigned long long)e->next_file);
    if (e->has_last_sequence)
        fprintf(out, " last_sequence %llu", (unsigned long long)e->last_sequence);
    fputc('\n', out);
    for (size_t i = 0; i < e->ndeleted; i++)
        fprintf(out, "  - L%d %06llu.sst\n", e->deleted[i].level,
                (unsigned long long)e->deleted[i].number);
    for (size_t i = 0; i < e->nadded; i++) {
        const file_meta *f = e->added[i].f;
        fprintf(out,
                "  + L%d %06llu.sst %llu bytes, %llu entries (%llu deletions), seq %llu..%llu, ",
                e->added[i].level, (unsigned long long)f->number, (unsigned long long)f->size,
                (unsigned long long)f->entries, (unsigned long long)f->deletions,
                (unsigned long long)f->min_seq, (unsigned long long)f->max_seq);
        insp_ikey(out, file_meta_smallest(f));
        fputs(" .. ", out);
        insp_ikey(out, file_meta_largest(f));
        fputc('\n', out);
    }
}

int insp_manifest_read(insp *c, lsm_io *io, const char *dir, bool quiet, version **v_out,
                       uint64_t *log_number)
{
    uint64_t number;
    int rc = insp_read_current(c, io, dir, &number);
    if (rc)
        return rc;
    char *path = filename_manifest(dir, number);
    if (!path)
        return -ENOMEM;
    FILE *out = quiet ? NULL : c->out;
    if (out)
        fprintf(out, "CURRENT names %s\n", path);
    wal_reader *r = NULL;
    version_builder *b = NULL;
    rc = wal_reader_open(io, path, 0, &r);
    if (rc == -ENOENT) {
        insp_damage(c, path, UINT64_MAX, "CURRENT names a MANIFEST that does not exist");
        rc = LSM_ECORRUPT;
        goto out;
    }
    if (rc || (rc = version_builder_new(NULL, &b)) != 0)
        goto out;
    wal_record rec;
    uint64_t ordinal = 0, log_num = 0, before = c->ndamage;
    bool counters[3] = { false, false, false };
    while ((rc = wal_reader_next(r, &rec)) == 1) {
        ordinal++;
        if (rec.sequence != ordinal || rec.count != 1) {
            insp_damage(c, path, rec.offset, "record %llu carries ordinal %llu, count %u",
                        (unsigned long long)ordinal, (unsigned long long)rec.sequence, rec.count);
            rc = LSM_ECORRUPT;
            break;
        }
        version_edit e;
        const char *why = NULL;
        rc = version_edit_decode(&e, rec.payload, &why);
        if (rc == 0 && e.header != (ordinal == 1)) {
            rc = LSM_ECORRUPT;
            why = ordinal == 1 ? "first edit without the header" : "a header after the first edit";
        }
        if (rc == 0) {
            if (out)
                print_edit(out, ordinal, rec.offset, &e);
            counters[0] |= e.has_log_number;
            counters[1] |= e.has_next_file;
            counters[2] |= e.has_last_sequence;
            if (e.has_log_number)
                log_num = e.log_number;
            rc = version_builder_apply(b, &e);
            if (rc == LSM_ECORRUPT)
                why = version_builder_why(b);
        }
        version_edit_free(&e);
        if (rc) {
            if (rc == LSM_ECORRUPT)
                insp_damage(c, path, rec.offset, "edit %llu: %s", (unsigned long long)ordinal,
                            why ? why : "malformed");
            break;
        }
    }
    if (rc == LSM_ECORRUPT && c->ndamage == before)
        insp_damage(c, path, wal_reader_error_offset(r), "bad record after %llu good ones",
                    (unsigned long long)ordinal);
    if (rc)
        goto out;
    if (wal_reader_torn_tail(r) && out)
        fprintf(out, "torn tail at offset %llu (an edit never acknowledged; not damage)\n",
                (unsigned long long)wal_reader_valid_end(r));
    if (ordinal == 0 || !counters[0] || !counters[1] || !counters[2]) {
        insp_damage(c, path, 0, "%s", ordinal == 0 ? "no complete edit"
                                                   : "the counters (log number, next file, "
                                                     "last sequence) are missing");
        rc = LSM_ECORRUPT;
        goto out;
    }
    version *v;
    rc = version_builder_finish(b, &v);
    if (rc == LSM_ECORRUPT) {
        insp_damage(c, path, UINT64_MAX, "%s", version_builder_why(b) ? version_builder_why(b)
                                                                       : "overlapping files");
        goto out;
    }
    if (rc)
        goto out;
    if (out) {
        fprintf(out, "state: log_number %llu, %zu files\n", (unsigned long long)log_num,
                version_total_files(v));
        for (int l = 0; l < LSM_NUM_LEVELS; l++)
            if (v->nfiles[l])
                fprintf(out, "  L%d: %zu files, %llu bytes\n", l, v->nfiles[l],
                        (unsigned long long)version_level_bytes(v, l));
    }
    if (log_number)
        *log_number = log_num;
    if (v_out)
        *v_out = v;
    else
        version_unref(v);
out:
    version_builder_free(b);
    wal_reader_close(r);
    free(path);
    return rc;
}

int inspect_manifest_dump(const char *dir, FILE *out, inspect_damage *first)
{
    insp c = { .out = out, .first = first };
    lsm_io *io;
    int rc = insp_io_new(&io);
    if (rc)
        return rc;
    rc = insp_manifest_read(&c, io, dir, false, NULL, NULL);
    if (rc == 0)
        insp_printf(&c, "ok\n");
    io_destroy(io);
    return rc;
}
