/*
 * fuzz_manifest.c — the MANIFEST reader: version_edit_decode on its own,
 * and version_set_recover over a directory whose MANIFEST is the input.
 *
 * Input: one flags byte, then a body.  flags & 3 picks the mode:
 *   0  the body is one encoded edit (decode only);
 *   1  the body is a MANIFEST image (bit 2: rewrite its record CRCs first);
 *   2, 3  the body is a list of edits, each [u16 length][bytes], that the
 *      harness writes as MANIFEST records with correct framing (ordinals
 *      1, 2, ... and count 1), so mutations reach the decoder and the
 *      version builder instead of the CRC check.
 * Properties, besides memory safety:
 *   - decode: a decoded edit re-encodes to bytes that decode to the same
 *     edit and re-encode identically; every strict prefix of an accepted
 *     edit is refused (the END byte's promise, docs/manifest-format.md);
 *   - recover: only LSM_ECORRUPT / LSM_EVERSION / -ENOMEM as errors; on
 *     success every file passes file_meta_check, level >= 1 is sorted and
 *     disjoint, an empty edit can be logged, and a second recovery (from
 *     the MANIFEST the first one wrote) yields the same files and counters.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/dbformat.h"
#include "fuzzkit.h"
#include "lsm.h"
#include "version/version.h"
#include "version/version_edit.h"
#include "version/version_set.h"
#include "wal/wal_writer.h"

/* ---- decode --------------------------------------------------------------- */

static int same_file(const file_meta *a, const file_meta *b)
{
    return a->number == b->number && a->size == b->size &&
           slice_equal(file_meta_smallest(a), file_meta_smallest(b)) &&
           slice_equal(file_meta_largest(a), file_meta_largest(b)) &&
           a->min_seq == b->min_seq && a->max_seq == b->max_seq &&
           a->entries == b->entries && a->deletions == b->deletions &&
           a->created_unix == b->created_unix;
}

static void check_same_edit(const version_edit *a, const version_edit *b)
{
    FK_CHECK(a->header == b->header, "header");
    FK_CHECK(a->has_log_number == b->has_log_number &&
                 (!a->has_log_number || a->log_number == b->log_number), "log number");
    FK_CHECK(a->has_next_file == b->has_next_file &&
                 (!a->has_next_file || a->next_file == b->next_file), "next file");
    FK_CHECK(a->has_last_sequence == b->has_last_sequence &&
                 (!a->has_last_sequence || a->last_sequence == b->last_sequence),
             "last sequence");
    FK_CHECK(a->ndeleted == b->ndeleted && a->nadded == b->nadded, "counts");
    for (size_t i = 0; i < a->ndeleted; i++)
        FK_CHECK(a->deleted[i].level == b->deleted[i].level &&
                     a->deleted[i].number == b->deleted[i].number, "deleted %zu", i);
    for (size_t i = 0; i < a->nadded; i++)
        FK_CHECK(a->added[i].level == b->added[i].level &&
                     same_file(a->added[i].f, b->added[i].f), "added %zu", i);
}

static void fuzz_decode(const uint8_t *p, size_t n)
{
    version_edit e;
    const char *why = NULL;
    int rc = version_edit_decode(&e, slice_make(p, n), &why);
    if (rc != 0) {
        FK_CHECK(rc == LSM_ECORRUPT || rc == LSM_EVERSION || rc == -ENOMEM, "decode: %d", rc);
        FK_CHECK(rc == -ENOMEM || why != NULL, "refused without a reason");
        version_edit_free(&e);
        return;
    }
    for (size_t i = 0; i < e.nadded; i++)
        FK_CHECK(file_meta_check(e.added[i].f) == NULL, "decoded file: %s",
                 file_meta_check(e.added[i].f));
    char *enc, *enc2;
    size_t len, len2;
    FK_CHECK(version_edit_encode(&e, &enc, &len) == 0, "encode");
    version_edit e2;
    rc = version_edit_decode(&e2, slice_make(enc, len), &why);
    FK_CHECK(rc == 0, "re-encoded edit refused: %s", why ? why : "?");
    check_same_edit(&e, &e2);
    FK_CHECK(version_edit_encode(&e2, &enc2, &len2) == 0, "encode 2");
    FK_CHECK(len == len2 && memcmp(enc, enc2, len) == 0, "encoding not deterministic");
    /* Strict prefixes of a valid encoding are refused. */
    size_t step = len <= 256 ? 1 : len / 64;
    for (size_t k = 0; k < len; k += step) {
        version_edit e3;
        rc = version_edit_decode(&e3, slice_make(enc, k), NULL);
        FK_CHECK(rc != 0, "prefix of %zu of %zu bytes accepted", k, len);
        version_edit_free(&e3);
    }
    free(enc);
    free(enc2);
    version_edit_free(&e2);
    version_edit_free(&e);
}

/* ---- recover -------------------------------------------------------------- */

static void check_version(const version *v)
{
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < v->nfiles[l]; i++) {
            const file_meta *f = v->files[l][i];
            FK_CHECK(file_meta_check(f) == NULL, "L%d file %llu: %s", l,
                     (unsigned long long)f->number, file_meta_check(f));
            if (l >= 1 && i > 0)
                FK_CHECK(ikey_compare(file_meta_largest(v->files[l][i - 1]),
                                      file_meta_smallest(f)) < 0,
                         "L%d files %zu and %zu overlap", l, i - 1, i);
        }
}

static void check_same_version(const version *a, const version *b)
{
    for (int l = 0; l < LSM_NUM_LEVELS; l++) {
        FK_CHECK(a->nfiles[l] == b->nfiles[l], "L%d: %zu files, then %zu", l, a->nfiles[l],
                 b->nfiles[l]);
        for (size_t i = 0; i < a->nfiles[l]; i++)
            FK_CHECK(same_file(a->files[l][i], b->files[l][i]), "L%d file %zu differs", l, i);
    }
}

static void fuzz_recover(const char *dir)
{
    version_set *vs;
    int rc = version_set_recover(fk_io(), dir, &vs);
    if (rc != 0) {
        FK_CHECK(rc == LSM_ECORRUPT || rc == LSM_EVERSION || rc == -ENOMEM, "recover: %d", rc);
        return;
    }
    version *v = version_set_current(vs);
    check_version(v);
    uint64_t seq = version_set_last_sequence(vs), log = version_set_log_number(vs);
    uint64_t next = version_set_next_file_number(vs);
    FK_CHECK(next > version_set_manifest_number(vs), "next file %llu <= MANIFEST number",
             (unsigned long long)next);
    /* The running writer works too. */
    version_edit e;
    version_edit_init(&e);
    rc = version_set_log_and_apply(vs, &e);
    FK_CHECK(rc == 0, "empty edit after recovery: %d", rc);
    version_edit_free(&e);
    version_set_free(vs);

    rc = version_set_recover(fk_io(), dir, &vs);
    FK_CHECK(rc == 0, "second recovery: %d", rc);
    version *v2 = version_set_current(vs);
    check_same_version(v, v2);
    FK_CHECK(version_set_last_sequence(vs) == seq, "last sequence changed");
    FK_CHECK(version_set_log_number(vs) == log, "log number changed");
    FK_CHECK(version_set_next_file_number(vs) >= next, "next file went back");
    version_unref(v2);
    version_unref(v);
    version_set_free(vs);
}

static const char *fresh_db(void)
{
    const char *p = fk_path("db");
    static char dir[512];
    snprintf(dir, sizeof dir, "%s", p);
    fk_clear_dir(dir);
    mkdir(dir, 0755);
    char cur[600];
    snprintf(cur, sizeof cur, "%s/CURRENT", dir);
    fk_write_file(cur, "MANIFEST-000001\n", 16);
    return dir;
}

static void manifest_path(const char *dir, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/MANIFEST-000001", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fk_init();
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    char mpath[600];
    switch (flags & 3) {
    case 0:
        fuzz_decode(body, n);
        break;
    case 1: {
        uint8_t *img = malloc(n ? n : 1);
        FK_CHECK(img != NULL, "oom");
        memcpy(img, body, n);
        if (flags & 4)
            fk_fix_wal_crcs(img, n);
        const char *dir = fresh_db();
        manifest_path(dir, mpath, sizeof mpath);
        fk_write_file(mpath, img, n);
        free(img);
        fuzz_recover(dir);
        break;
    }
    default: {
        const char *dir = fresh_db();
        manifest_path(dir, mpath, sizeof mpath);
        wal_writer *w;
        FK_CHECK(wal_writer_open(fk_io(), mpath, &w) == 0, "writer");
        fk_in in = { body, n };
        for (uint64_t ord = 1; in.n > 0; ord++) {
            size_t got;
            uint16_t want = fk_u16(&in);
            const uint8_t *rec = fk_bytes(&in, want, &got);
            fuzz_decode(rec, got);
            FK_CHECK(wal_writer_append(w, ord, 1, slice_make(rec, got), 0) == 0, "append");
        }
        FK_CHECK(wal_writer_close(w) == 0, "close");
        fuzz_recover(dir);
        break;
    }
    }
    return 0;
}
