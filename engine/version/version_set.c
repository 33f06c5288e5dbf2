/* version_set.c — see version_set.h and docs/manifest-format.md. */
#include "version/version_set.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/filenames.h"
#include "base/killpoint.h"
#include "base/log.h"
#include "lsm.h"
#include "version/version_builder.h"
#include "wal/wal_reader.h"
#include "wal/wal_writer.h"

struct version_set {
    lsm_io *io;
    char *dir;
    version_list list;          /* live versions; list.mu also guards current */
    version *current;           /* [list.mu] holds one reference */
    uint64_t version_ids;       /* [list.mu] */

    _Atomic uint64_t next_file; /* the next number to hand out */
    _Atomic uint64_t last_sequence;
    _Atomic uint64_t log_number;
    _Atomic uint64_t manifest_number;

    /* Owned by the (serialized) log_and_apply caller. */
    wal_writer *manifest;
    uint64_t manifest_records;  /* records written to it: the WAL sequence */
    uint64_t roll_bytes;        /* growth that triggers a roll */
    uint64_t roll_at;           /* roll the MANIFEST beyond this size */
    _Atomic int manifest_err;   /* sticky write/sync error (read by
                                   version_set_error from any thread) */
    /* A MANIFEST switch whose CURRENT rename is not yet durable: the
     * directory sync failed with a resource error (io_error_is_transient).
     * Nothing is appended to the new MANIFEST, and the old one is kept,
     * until a directory sync succeeds, so after a crash meanwhile CURRENT
     * names one of two complete MANIFESTs. */
    bool current_unsynced;
    uint64_t unsynced_old;      /* the MANIFEST to delete after that, or 0 */
};

static int set_new(lsm_io *io, const char *dir, version_set **out)
{
    version_set *vs = calloc(1, sizeof *vs);
    if (!vs)
        return -ENOMEM;
    vs->dir = strdup(dir);
    int rc = vs->dir ? pthread_mutex_init(&vs->list.mu, NULL) : ENOMEM;
    if (rc) {
        free(vs->dir);
        free(vs);
        return -rc;
    }
    vs->io = io;
    vs->roll_bytes = VERSION_SET_MANIFEST_ROLL_BYTES;
    atomic_init(&vs->next_file, 2);
    *out = vs;
    return 0;
}

/* Makes v (one reference, transferred) the current version. */
static void install(version_set *vs, version *v)
{
    pthread_mutex_lock(&vs->list.mu);
    v->id = ++vs->version_ids;
    version_link(&vs->list, v);
    version *old = vs->current;
    vs->current = v;
    pthread_mutex_unlock(&vs->list.mu);
    version_unref(old);
}

/* ---- CURRENT ------------------------------------------------------------ */

/* Points CURRENT at MANIFEST-number: CURRENT.tmp, sync, rename, sync_dir.
 * *renamed tells whether the rename happened (CURRENT may then name either
 * MANIFEST after a crash, even when this returns an error). */
int version_set_write_current(lsm_io *io, const char *dir, uint64_t number, int *renamed)
{
    *renamed = 0;
    char *tmp = filename_current_tmp(dir), *cur = filename_current(dir);
    char body[48];
    int len = snprintf(body, sizeof body, "MANIFEST-%06llu\n", (unsigned long long)number);
    lsm_file *f = NULL;
    int rc = tmp && cur ? io_open(io, tmp, IO_CREATE, &f) : -ENOMEM;
    if (rc == 0) {
        rc = io_write_sync(io, f, body, (size_t)len, 0);
        int crc = io_close(io, f);
        rc = rc ? rc : crc;
    }
    if (rc == 0) {
        rc = io_rename(io, tmp, cur);
        if (rc == 0) {
            *renamed = 1;
            rc = io_sync_dir(io, dir);
        }
    }
    if (rc != 0 && !*renamed && tmp)
        io_unlink(io, tmp);
    if (rc != 0)
        log_error("manifest: switching %s/CURRENT to MANIFEST-%06llu failed: %s",
                  dir, (unsigned long long)number, lsm_strerror(rc));
    free(tmp);
    free(cur);
    return rc;
}

static int set_current(version_set *vs, uint64_t number, int *renamed)
{
    return version_set_write_current(vs->io, vs->dir, number, renamed);
}

/* Reads CURRENT into *number.  -ENOENT when absent, LSM_ECORRUPT when it
 * does not hold exactly "MANIFEST-<digits>\n". */
static int read_current(lsm_io *io, const char *dir, uint64_t *number)
{
    char *path = filename_current(dir), *buf = NULL;
    size_t n = 0;
    int rc = path ? io_read_all(io, path, &buf, &n) : -ENOMEM;
    if (rc == 0) {
        enum file_kind kind;
        char name[64];
        int ok = n > 1 && n < sizeof name && buf[n - 1] == '\n' &&
                 !memchr(buf, '\0', n);
        if (ok) {
            memcpy(name, buf, n - 1);
            name[n - 1] = '\0';
            ok = filename_parse(name, &kind, number) && kind == FILE_KIND_MANIFEST;
        }
        if (!ok) {
            log_error("manifest: %s does not name a MANIFEST", path);
            rc = LSM_ECORRUPT;
        }
    }
    free(buf);
    free(path);
    return rc;
}

/* ---- writing MANIFESTs -------------------------------------------------- */

/* Appends an encoded edit to w as one synced record; the WAL sequence field
 * holds the record's ordinal (1, 2, ...), checked on replay. */
static int append_record(wal_writer *w, uint64_t *records, const char *buf, size_t len)
{
    int rc = wal_writer_append(w, *records + 1, 1, slice_make(buf, len), 1);
    if (rc == 0)
        (*records)++;
    return rc;
}

static void remove_manifest(version_set *vs, uint64_t number);

/* Writes MANIFEST-<new number> holding one snapshot edit of v and the
 * counters, then switches CURRENT to it.  On success the set writes to the
 * new file from now on and *old_number is the MANIFEST it replaced (0 if
 * none).  On failure the set is unchanged; *renamed says whether CURRENT
 * may nevertheless name the new file. */
static int start_manifest(version_set *vs, version *v, uint64_t *old_number, int *renamed)
{
    *renamed = 0;
    uint64_t number = version_set_new_file_number(vs);
    version_edit snap;
    version_edit_init(&snap);
    snap.header = true;
    version_edit_set_log_number(&snap, atomic_load(&vs->log_number));
    version_edit_set_next_file(&snap, atomic_load(&vs->next_file));
    version_edit_set_last_sequence(&snap, atomic_load(&vs->last_sequence));
    int rc = 0;
    for (int level = 0; level < LSM_NUM_LEVELS && rc == 0; level++)
        for (size_t i = 0; i < v->nfiles[level] && rc == 0; i++)
            rc = version_edit_add_file(&snap, level, v->files[level][i]);

    char *path = filename_manifest(vs->dir, number);
    wal_writer *w = NULL;
    uint64_t records = 0;
    if (rc == 0)
        rc = path ? wal_writer_open(vs->io, path, &w) : -ENOMEM;
    char *buf = NULL;
    size_t len = 0;
    if (rc == 0)
        rc = version_edit_encode(&snap, &buf, &len);
    version_edit_free(&snap);
    if (rc == 0)
        rc = append_record(w, &records, buf, len);
    free(buf);
    if (rc == 0) KILLPOINT("manifest.after_write_before_current");
    if (rc == 0)
        rc = set_current(vs, number, renamed);
    /* Renamed but the directory sync ran out of descriptors: CURRENT
     * names the new file, so it becomes the writer, with the sync retried
     * before its first append (version_set_log_and_apply). */
    bool unsynced = rc != 0 && *renamed && io_error_is_transient(rc);
    if (unsynced)
        rc = 0;
    if (rc != 0) {
        if (w)
            wal_writer_close(w);
        if (w && !*renamed)
            io_unlink(vs->io, path);
        log_error("manifest: starting %s failed: %s", path ? path : "MANIFEST",
                  lsm_strerror(rc));
        free(path);
        return rc;
    }
    free(path);
    if (vs->manifest)
        wal_writer_close(vs->manifest);
    vs->manifest = w;
    vs->manifest_records = records;
    vs->roll_at = wal_writer_size(w) + vs->roll_bytes;
    *old_number = atomic_exchange(&vs->manifest_number, number);
    if (unsynced) {
        log_warn("manifest: CURRENT names MANIFEST-%06llu, but its directory sync is "
                 "retried before the next edit", (unsigned long long)number);
        /* The old MANIFEST may still be CURRENT after a crash: keep it. */
        vs->current_unsynced = true;
        vs->unsynced_old = *old_number;
        *old_number = 0;
    }
    log_debug("manifest: now MANIFEST-%06llu", (unsigned long long)number);
    return 0;
}

/* Finishes a MANIFEST switch left by start_manifest: the directory sync
 * that makes CURRENT's rename durable, then the old MANIFEST's removal.
 * A resource error is returned as is (retry later); any other is sticky. */
static int finish_unsynced_current(version_set *vs)
{
    if (!vs->current_unsynced)
        return 0;
    int rc = io_sync_dir(vs->io, vs->dir);
    if (rc != 0) {
        if (!io_error_is_transient(rc))
            vs->manifest_err = rc;
        return rc;
    }
    vs->current_unsynced = false;
    if (vs->unsynced_old)
        remove_manifest(vs, vs->unsynced_old);
    vs->unsynced_old = 0;
    return 0;
}

/* Deletes a MANIFEST that CURRENT no longer names (best effort: a leftover
 * is only wasted space). */
static void remove_manifest(version_set *vs, uint64_t number)
{
    if (number == 0) /* none (a new database, or removal deferred) */
        return;
    char *path = filename_manifest(vs->dir, number);
    int rc = path ? io_unlink(vs->io, path) : -ENOMEM;
    if (rc)
        log_warn("manifest: removing old MANIFEST-%06llu failed: %s",
                 (unsigned long long)number, lsm_strerror(rc));
    free(path);
}

int version_set_create(lsm_io *io, const char *dir, version_set **out)
{
    version_set *vs;
    int rc = set_new(io, dir, &vs);
    if (rc)
        return rc;
    atomic_store(&vs->next_file, 1); /* so the MANIFEST is number 1 */
    version *v = calloc(1, sizeof *v);
    if (!v) {
        version_set_free(vs);
        return -ENOMEM;
    }
    atomic_init(&v->refs, 1);
    install(vs, v);
    uint64_t old;
    int renamed;
    rc = start_manifest(vs, v, &old, &renamed);
    if (rc) {
        version_set_free(vs);
        return rc;
    }
    *out = vs;
    return 0;
}

/* ---- recovery ----------------------------------------------------------- */

/* Replays the MANIFEST at path into b and the counters of vs. */
static int replay(version_set *vs, const char *path, version_builder *b)
{
    wal_reader *r;
    int rc = wal_reader_open(vs->io, path, 0, &r);
    if (rc == -ENOENT) {
        log_error("manifest: CURRENT names %s, which does not exist", path);
        return LSM_ECORRUPT;
    }
    if (rc)
        return rc;
    bool has_log = false, has_next = false, has_seq = false;
    uint64_t records = 0;
    wal_record rec;
    bool bad_record = false; /* an edit failed, not the reader */
    while ((rc = wal_reader_next(r, &rec)) == 1) {
        const char *why = NULL;
        version_edit e;
        if (rec.sequence != records + 1 || rec.count != 1) {
            why = "record out of order";
            rc = LSM_ECORRUPT;
        } else {
            rc = version_edit_decode(&e, rec.payload, &why);
            if (rc == 0 && e.header != (records == 0)) {
                why = records == 0 ? "first record is not a snapshot" : "header past the first record";
                rc = LSM_ECORRUPT;
            }
            if (rc == 0) {
                rc = version_builder_apply(b, &e);
                why = version_builder_why(b);
            }
            if (rc == 0) {
                if (e.has_log_number) {
                    has_log = true;
                    atomic_store(&vs->log_number, e.log_number);
                }
                if (e.has_next_file) {
                    has_next = true;
                    if (e.next_file > 0)
                        version_set_mark_file_number_used(vs, e.next_file - 1);
                }
                if (e.has_last_sequence) {
                    has_seq = true;
                    version_set_set_last_sequence(vs, e.last_sequence);
                }
                for (size_t i = 0; i < e.nadded; i++)
                    version_set_mark_file_number_used(vs, e.added[i].f->number);
            }
            version_edit_free(&e);
        }
        if (rc) {
            log_error("manifest: %s: record %llu at offset %llu: %s",
                      path, (unsigned long long)records + 1,
                      (unsigned long long)rec.offset, why ? why : lsm_strerror(rc));
            bad_record = true;
            break;
        }
        records++;
    }
    if (rc == LSM_ECORRUPT && !bad_record)
        log_error("manifest: %s is corrupt at offset %llu (after %llu good records)",
                  path, (unsigned long long)wal_reader_error_offset(r),
                  (unsigned long long)records);
    else if (rc < 0 && !bad_record)
        log_error("manifest: reading %s failed: %s", path, lsm_strerror(rc));
    if (rc == 0 && wal_reader_torn_tail(r))
        log_warn("manifest: %s ends in a torn record after %llu records (an edit "
                 "that was never acknowledged); ignored", path, (unsigned long long)records);
    wal_reader_close(r);
    if (rc == 0 && (!has_log || !has_next || !has_seq)) {
        log_error("manifest: %s lacks %s", path,
                  records == 0 ? "any complete record" : "a required counter");
        rc = LSM_ECORRUPT;
    }
    return rc;
}

int version_set_recover(lsm_io *io, const char *dir, version_set **out)
{
    uint64_t number;
    int rc = read_current(io, dir, &number);
    if (rc)
        return rc;
    version_set *vs;
    rc = set_new(io, dir, &vs);
    if (rc)
        return rc;
    atomic_store(&vs->manifest_number, number);
    version_set_mark_file_number_used(vs, number);
    char *path = filename_manifest(dir, number);
    version_builder *b = NULL;
    rc = path ? version_builder_new(NULL, &b) : -ENOMEM;
    if (rc == 0)
        rc = replay(vs, path, b);
    version *v = NULL;
    if (rc == 0) {
        rc = version_builder_finish(b, &v);
        if (rc == LSM_ECORRUPT)
            log_error("manifest: %s: %s", path, version_builder_why(b));
    }
    version_builder_free(b);
    if (rc == 0) {
        install(vs, v);
        uint64_t old;
        int renamed;
        rc = start_manifest(vs, v, &old, &renamed);
        if (rc == 0)
            remove_manifest(vs, old);
    }
    if (rc == 0)
        log_info("manifest: recovered %s: %zu files, last sequence %llu, log %llu; "
                 "now MANIFEST-%06llu", path, version_total_files(v),
                 (unsigned long long)version_set_last_sequence(vs),
                 (unsigned long long)version_set_log_number(vs),
                 (unsigned long long)version_set_manifest_number(vs));
    free(path);
    if (rc) {
        version_set_free(vs);
        return rc;
    }
    *out = vs;
    return 0;
}

/* ---- running ------------------------------------------------------------ */

version *version_set_current(version_set *vs)
{
    pthread_mutex_lock(&vs->list.mu);
    version *v = vs->current;
    version_ref(v);
    pthread_mutex_unlock(&vs->list.mu);
    return v;
}

/* Replaces a MANIFEST grown past roll_at by a fresh snapshot.  The edit that
 * triggered this is already durable, so only a failure that leaves CURRENT
 * ambiguous stops the writer. */
static void maybe_roll(version_set *vs, version *v)
{
    if (wal_writer_size(vs->manifest) < vs->roll_at)
        return;
    uint64_t old;
    int renamed;
    int rc = start_manifest(vs, v, &old, &renamed);
    if (rc == 0) {
        remove_manifest(vs, old);
    } else if (renamed) {
        vs->manifest_err = rc; /* either MANIFEST may be current after a crash */
    } else {
        vs->roll_at = wal_writer_size(vs->manifest) + vs->roll_bytes;
        log_warn("manifest: roll failed (%s); continuing in the current one",
                 lsm_strerror(rc));
    }
}

int version_set_log_and_apply(version_set *vs, version_edit *e)
{
    if (vs->manifest_err)
        return vs->manifest_err;
    int rc = finish_unsynced_current(vs);
    if (rc != 0)
        return rc;
    /* A file number the counter did not hand out must not be reused. */
    for (size_t i = 0; i < e->nadded; i++)
        version_set_mark_file_number_used(vs, e->added[i].f->number);
    uint64_t log_number = atomic_load(&vs->log_number);
    uint64_t next_file = atomic_load(&vs->next_file);
    if (e->has_log_number && (e->log_number < log_number || e->log_number >= next_file)) {
        log_error("manifest: edit log number %llu outside [%llu, %llu)",
                  (unsigned long long)e->log_number, (unsigned long long)log_number,
                  (unsigned long long)next_file);
        return -EINVAL;
    }
    if (!e->has_log_number)
        version_edit_set_log_number(e, log_number);
    version_edit_set_next_file(e, next_file);
    uint64_t seq = atomic_load(&vs->last_sequence);
    if (!e->has_last_sequence || e->last_sequence < seq)
        version_edit_set_last_sequence(e, seq);
    e->header = false;

    /* The caller serializes us and only we replace current: no lock needed
     * to read it here. */
    version *base = vs->current, *v = NULL;
    version_builder *b;
    rc = version_builder_new(base, &b);
    if (rc == 0)
        rc = version_builder_apply(b, e);
    if (rc == 0)
        rc = version_builder_finish(b, &v);
    if (rc == LSM_ECORRUPT) {
        log_error("manifest: edit rejected: %s", version_builder_why(b));
        rc = -EINVAL;
    }
    version_builder_free(b);
    if (rc)
        return rc;

    char *buf;
    size_t len;
    rc = version_edit_encode(e, &buf, &len);
    if (rc == 0) {
        rc = append_record(vs->manifest, &vs->manifest_records, buf, len);
        free(buf);
        if (rc) {
            /* Part of the record may be on disk: the writer's position is
             * unknown, so nothing more may be appended. */
            vs->manifest_err = rc;
            log_error("manifest: writing MANIFEST-%06llu failed: %s; no further edits",
                      (unsigned long long)version_set_manifest_number(vs), lsm_strerror(rc));
        }
    }
    if (rc) {
        version_unref(v);
        return rc;
    }
    atomic_store(&vs->log_number, e->log_number);
    version_set_set_last_sequence(vs, e->last_sequence);
    install(vs, v);
    maybe_roll(vs, v);
    return 0;
}

void version_set_set_manifest_roll_bytes(version_set *vs, uint64_t bytes)
{
    vs->roll_bytes = bytes;
    if (vs->manifest)
        vs->roll_at = wal_writer_size(vs->manifest) + bytes;
}

int version_set_error(const version_set *vs)
{
    return atomic_load(&((version_set *)vs)->manifest_err);
}

uint64_t version_set_new_file_number(version_set *vs)
{
    return atomic_fetch_add(&vs->next_file, 1);
}

void version_set_mark_file_number_used(version_set *vs, uint64_t n)
{
    uint64_t cur = atomic_load(&vs->next_file);
    while (cur <= n && !atomic_compare_exchange_weak(&vs->next_file, &cur, n + 1))
        ;
}

uint64_t version_set_next_file_number(const version_set *vs)
{
    return atomic_load(&((version_set *)vs)->next_file);
}

uint64_t version_set_last_sequence(const version_set *vs)
{
    return atomic_load(&((version_set *)vs)->last_sequence);
}

void version_set_set_last_sequence(version_set *vs, uint64_t s)
{
    uint64_t cur = atomic_load(&vs->last_sequence);
    while (cur < s && !atomic_compare_exchange_weak(&vs->last_sequence, &cur, s))
        ;
}

uint64_t version_set_log_number(const version_set *vs)
{
    return atomic_load(&((version_set *)vs)->log_number);
}

uint64_t version_set_manifest_number(const version_set *vs)
{
    return atomic_load(&((version_set *)vs)->manifest_number);
}

uint64_t version_set_oldest_manifest(const version_set *vs)
{
    if (vs->current_unsynced && vs->unsynced_old)
        return vs->unsynced_old;
    return version_set_manifest_number(vs);
}

static int cmp_u64(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return (a > b) - (a < b);
}

int version_set_live_files(version_set *vs, uint64_t **nums, size_t *n)
{
    pthread_mutex_lock(&vs->list.mu);
    size_t total = 0;
    for (version *v = vs->list.head; v; v = v->next)
        total += version_total_files(v);
    uint64_t *a = total ? malloc(total * sizeof *a) : NULL;
    if (total && !a) {
        pthread_mutex_unlock(&vs->list.mu);
        return -ENOMEM;
    }
    size_t k = 0;
    for (version *v = vs->list.head; v; v = v->next)
        for (int level = 0; level < LSM_NUM_LEVELS; level++)
            for (size_t i = 0; i < v->nfiles[level]; i++)
                a[k++] = v->files[level][i]->number;
    pthread_mutex_unlock(&vs->list.mu);

    if (k)
        qsort(a, k, sizeof *a, cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || a[u - 1] != a[i])
            a[u++] = a[i];
    *nums = a;
    *n = u;
    return 0;
}

void version_set_free(version_set *vs)
{
    if (!vs)
        return;
    pthread_mutex_lock(&vs->list.mu);
    for (version *v = vs->list.head, *next; v; v = next) {
        next = v->next;
        v->list = NULL;
        v->prev = v->next = NULL;
    }
    vs->list.head = NULL;
    version *cur = vs->current;
    vs->current = NULL;
    pthread_mutex_unlock(&vs->list.mu);
    version_unref(cur);
    if (vs->manifest) {
        int rc = wal_writer_close(vs->manifest);
        if (rc)
            log_warn("manifest: closing MANIFEST-%06llu: %s",
                     (unsigned long long)version_set_manifest_number(vs), lsm_strerror(rc));
    }
    pthread_mutex_destroy(&vs->list.mu);
    free(vs->dir);
    free(vs);
}
