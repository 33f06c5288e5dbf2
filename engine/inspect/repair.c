/*
 * repair.c — a database rebuilt from the files it still has
 * (inspect_repair, lsm_repair), after RocksDB's RepairDB: WALs become
 * tables, every table is checked in full, a new MANIFEST names the intact
 * ones at level 0, and one whole-tree compaction through the engine puts
 * the newest version of every key first (compact_repaired says why).
 * Nothing is deleted: what repair takes out of use (damaged tables,
 * converted WALs, the old CURRENT and MANIFESTs) is moved into DIR/lost/,
 * and the tables the compaction replaces are hard-linked there first.
 *
 * Order, so that an interrupted repair loses nothing and can be run again:
 * a WAL leaves DIR only after the table made from it is synced; the new
 * MANIFEST is complete and synced before CURRENT is switched to it with a
 * rename (the old CURRENT is copied to lost/ first, never removed, since a
 * directory without CURRENT is a new database to lsm_open, which would
 * then delete every table as unreferenced); the old MANIFESTs leave last.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/filenames.h"
#include "inspect/repair_internal.h"
#include "lsm.h"
#include "version/version_edit.h"
#include "version/version_set.h"
#include "wal/wal_writer.h"

typedef struct found {
    enum file_kind kind;
    uint64_t number;
    char name[64];
} found;

typedef struct repair {
    insp c;
    lsm_io *io;
    const char *dir;
    char *lost;
    found *files;
    size_t nfiles, cap;
    uint64_t next_number;
    uint64_t *kept;            /* numbers of the tables the MANIFEST names */
    size_t nkept;
    inspect_repair_report rep;
} repair;

static int collect(void *ctx, const char *name, enum file_kind kind, uint64_t number)
{
    repair *r = ctx;
    if (kind == FILE_KIND_LOCK || strlen(name) >= sizeof r->files[0].name)
        return 0;
    if (r->nfiles == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        found *nf = realloc(r->files, cap * sizeof *nf);
        if (!nf)
            return -ENOMEM;
        r->files = nf;
        r->cap = cap;
    }
    found *f = &r->files[r->nfiles++];
    f->kind = kind;
    f->number = number;
    snprintf(f->name, sizeof f->name, "%s", name);
    if (number >= r->next_number)
        r->next_number = number + 1;
    return 0;
}

static int cmp_found(const void *a, const void *b)
{
    const found *x = a, *y = b;
    return x->number < y->number ? -1 : x->number > y->number;
}

static char *join(const char *a, const char *b, unsigned suffix)
{
    size_t n = strlen(a) + strlen(b) + 24;
    char *p = malloc(n);
    if (p && suffix)
        snprintf(p, n, "%s/%s.%u", a, b, suffix);
    else if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* A free name for `name` in lost/: name, else name.1, name.2, ... */
static char *lost_path(repair *r, const char *name)
{
    for (unsigned i = 0;; i++) {
        char *p = join(r->lost, name, i);
        if (!p || access(p, F_OK) != 0)
            return p;
        free(p);
    }
}

/* Moves DIR/name into lost/ (a rename: never a copy and delete). */
static int move_to_lost(repair *r, const char *name, const char *why)
{
    char *from = join(r->dir, name, 0), *to = lost_path(r, name);
    int rc = from && to ? io_rename(r->io, from, to) : -ENOMEM;
    if (rc == 0) {
        r->rep.files_moved++;
        insp_printf(&r->c, "moved %s to %s (%s)\n", name, to, why);
    }
    free(from);
    free(to);
    return rc;
}

/* Copies DIR/CURRENT into lost/ (it is replaced, not moved: see above). */
static int save_current(repair *r)
{
    char *from = filename_current(r->dir), *to = lost_path(r, "CURRENT");
    char *buf = NULL;
    size_t n = 0;
    lsm_file *f = NULL;
    int rc = from && to ? io_read_all(r->io, from, &buf, &n) : -ENOMEM;
    if (rc == -ENOENT) {
        rc = 0; /* nothing to keep */
    } else if (rc == 0) {
        rc = io_open(r->io, to, IO_CREATE, &f);
        if (rc == 0) {
            rc = n ? io_write_sync(r->io, f, buf, n, 0) : io_sync(r->io, f);
            int crc = io_close(r->io, f);
            rc = rc ? rc : crc;
        }
        if (rc == 0)
            insp_printf(&r->c, "copied CURRENT to %s\n", to);
    }
    free(buf);
    free(from);
    free(to);
    return rc;
}

/* Step 1: every WAL, oldest first, into a table; then the WAL to lost/. */
static int convert_wals(repair *r)
{
    size_t n = r->nfiles;
    for (size_t i = 0; i < n; i++) {
        if (r->files[i].kind != FILE_KIND_WAL)
            continue;
        char *path = join(r->dir, r->files[i].name, 0);
        if (!path)
            return -ENOMEM;
        uint64_t number = r->next_number;
        repair_wal_result res;
        int rc = repair_convert_wal(&r->c, r->io, r->dir, path, number, &res);
        free(path);
        if (rc)
            return rc;
        r->rep.wals_converted++;
        r->rep.wal_records += res.records;
        r->rep.wals_damaged += res.damaged;
        if (res.table_written) {
            r->next_number++;
            insp_printf(&r->c, "%s: %llu records -> %06llu.sst\n", r->files[i].name,
                        (unsigned long long)res.records, (unsigned long long)number);
            /* r->files may move: collect by value. */
            found t = { FILE_KIND_TABLE, number, "" };
            snprintf(t.name, sizeof t.name, "%06llu.sst", (unsigned long long)number);
            if ((rc = collect(r, t.name, t.kind, t.number)) != 0)
                return rc;
        }
        rc = move_to_lost(r, r->files[i].name, res.damaged ? "damaged WAL, good records converted"
                                                          : "WAL converted to a table");
        if (rc)
            return rc;
    }
    return 0;
}

/* Step 2: one table, kept in e or moved to lost/. */
static int check_table(repair *r, const found *f, version_edit *e, uint64_t *last_seq)
{
    char *path = join(r->dir, f->name, 0);
    if (!path)
        return -ENOMEM;
    insp_table t;
    int rc = insp_sst_check(&r->c, r->io, path, INSPECT_QUIET, &t);
    free(path);
    const char *why = NULL;
    if (rc == LSM_ECORRUPT)
        why = "damaged table";
    else if (rc == LSM_EVERSION)
        why = "table of a newer format";
    else if (rc == 0 && t.entries == 0)
        why = "empty table";
    else if (rc)
        goto out;
    file_meta *m = NULL;
    if (!why) {
        if (!(m = file_meta_new())) {
            rc = -ENOMEM;
            goto out;
        }
        m->number = f->number;
        m->size = t.size;
        m->smallest = t.smallest;
        m->smallest_len = t.smallest_len;
        m->largest = t.largest;
        m->largest_len = t.largest_len;
        t.smallest = t.largest = NULL; /* now m's */
        m->min_seq = t.min_seq;
        m->max_seq = t.max_seq;
        m->entries = t.entries;
        m->deletions = t.deletions;
        m->created_unix = t.created_unix;
        if (file_meta_check(m))
            why = "table with keys or sequences outside the limits";
    }
    if (why) {
        file_meta_unref(m);
        r->rep.tables_lost++;
        rc = move_to_lost(r, f->name, why);
        goto out;
    }
    rc = version_edit_add_file(e, 0, m);
    if (rc == 0) {
        r->rep.tables_kept++;
        r->rep.entries += m->entries;
        if (m->max_seq > *last_seq)
            *last_seq = m->max_seq;
    }
    file_meta_unref(m);
out:
    insp_table_free(&t);
    return rc;
}

/* Step 3: the new MANIFEST, one snapshot edit, synced. */
static int write_manifest(repair *r, version_edit *e, uint64_t number)
{
    char *path = filename_manifest(r->dir, number), *buf = NULL;
    size_t len;
    wal_writer *w = NULL;
    int rc = path ? version_edit_encode(e, &buf, &len) : -ENOMEM;
    if (rc == 0)
        rc = wal_writer_open(r->io, path, &w);
    if (rc == 0)
        rc = wal_writer_append(w, 1, 1, slice_make(buf, len), 1);
    if (w) {
        int crc = wal_writer_close(w);
        rc = rc ? rc : crc;
    }
    free(buf);
    free(path);
    return rc;
}

/* Step 4a: a hard link in lost/ to every kept table, so the compaction
 * after it (which deletes its inputs) leaves the files repair started
 * from where an operator can still find them.  Links cost no space until
 * the originals go. */
static int link_kept(repair *r)
{
    for (size_t i = 0; i < r->nkept; i++) {
        char name[32];
        snprintf(name, sizeof name, "%06llu.sst", (unsigned long long)r->kept[i]);
        char *from = join(r->dir, name, 0), *to = lost_path(r, name);
        int rc = !from || !to ? -ENOMEM : link(from, to) != 0 ? -errno : 0;
        free(from);
        free(to);
        if (rc)
            return rc;
    }
    if (r->nkept)
        insp_printf(&r->c, "linked the %zu kept tables into %s (the compaction below "
                    "replaces them)\n", r->nkept, r->lost);
    return io_sync_dir(r->io, r->lost);
}

/* Step 4b: one whole-tree compaction through the engine.  Every kept table
 * sits at level 0, where a get takes the first table (newest max_seq
 * first) holding the key; a table that held an older version of a key in
 * a deeper level can have a larger max_seq than the one above it that
 * holds the newer version.  Merging everything by sequence puts the newest
 * version of every key first again.  REQUIRES: LOCK released (lsm_open
 * takes it). */
static int compact_repaired(repair *r)
{
    lsm_options o;
    lsm_options_init(&o);
    o.create_if_missing = 0;
    lsm_db *db;
    int rc = lsm_open(r->dir, &o, &db);
    if (rc)
        return rc;
    rc = lsm_compact(db, -1);
    int crc = lsm_close(db);
    rc = rc ? rc : crc;
    if (rc == 0)
        insp_printf(&r->c, "compacted %s: the newest version of every key first again\n",
                    r->dir);
    return rc;
}

static int repair_locked(repair *r)
{
    int rc = filename_scan(r->dir, collect, r);
    if (rc)
        return rc;
    if (r->next_number < 2)
        r->next_number = 2;
    qsort(r->files, r->nfiles, sizeof *r->files, cmp_found);
    if ((rc = convert_wals(r)) != 0)
        return rc;
    version_edit e;
    version_edit_init(&e);
    uint64_t last_seq = 0;
    for (size_t i = 0; i < r->nfiles && rc == 0; i++)
        if (r->files[i].kind == FILE_KIND_TABLE)
            rc = check_table(r, &r->files[i], &e, &last_seq);
    uint64_t manifest = r->next_number++;
    if (rc == 0) {
        e.header = true;
        version_edit_set_log_number(&e, r->next_number); /* every WAL is converted */
        version_edit_set_next_file(&e, r->next_number);
        version_edit_set_last_sequence(&e, last_seq);
        r->rep.last_sequence = last_seq;
        rc = write_manifest(r, &e, manifest);
    }
    if (rc == 0 && e.nadded && !(r->kept = malloc(e.nadded * sizeof *r->kept)))
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < e.nadded; i++)
        r->kept[r->nkept++] = e.added[i].f->number;
    version_edit_free(&e);
    if (rc == 0)
        rc = save_current(r);
    int renamed;
    if (rc == 0)
        rc = version_set_write_current(r->io, r->dir, manifest, &renamed);
    for (size_t i = 0; i < r->nfiles && rc == 0; i++)
        if (r->files[i].kind == FILE_KIND_MANIFEST || r->files[i].kind == FILE_KIND_TEMP)
            rc = move_to_lost(r, r->files[i].name, "replaced by the repaired MANIFEST");
    if (rc == 0)
        rc = io_sync_dir(r->io, r->lost);
    if (rc == 0)
        rc = io_sync_dir(r->io, r->dir);
    if (rc == 0 && r->nkept > 1)
        rc = link_kept(r);
    if (rc == 0)
        insp_printf(&r->c, "repaired %s: MANIFEST-%06llu names %llu tables (%llu entries), "
                    "last sequence %llu; %llu WALs converted (%llu records), %llu damaged "
                    "tables and %llu damaged WALs, %llu files moved to %s\n",
                    r->dir, (unsigned long long)manifest, (unsigned long long)r->rep.tables_kept,
                    (unsigned long long)r->rep.entries, (unsigned long long)last_seq,
                    (unsigned long long)r->rep.wals_converted,
                    (unsigned long long)r->rep.wal_records,
                    (unsigned long long)r->rep.tables_lost,
                    (unsigned long long)r->rep.wals_damaged,
                    (unsigned long long)r->rep.files_moved, r->lost);
    return rc;
}

/* filename_scan callback: stops at the first file a database has. */
static int is_db_file(void *ctx, const char *name, enum file_kind kind, uint64_t number)
{
    (void)ctx, (void)name, (void)number;
    return kind == FILE_KIND_WAL || kind == FILE_KIND_TABLE || kind == FILE_KIND_MANIFEST ||
           kind == FILE_KIND_CURRENT;
}

int inspect_repair(const char *dir, FILE *out, inspect_repair_report *rep)
{
    repair r = { .c = { .out = out }, .dir = dir };
    /* A directory with none of a database's files is a mistyped path,
     * not a database to rebuild: leave it untouched (not even a LOCK). */
    int rc = filename_scan(dir, is_db_file, NULL);
    if (rc == 0) {
        insp_printf(&r.c, "%s: no CURRENT, MANIFEST, table or WAL: not a database\n", dir);
        rc = -ENOENT;
    }
    if (rc < 0)
        return rc;
    int fd;
    rc = insp_lock(dir, &fd);
    if (rc)
        return rc;
    r.lost = join(dir, "lost", 0);
    if (!r.lost)
        rc = -ENOMEM;
    else if (mkdir(r.lost, 0700) != 0 && errno != EEXIST) /* private, as the data */
        rc = -errno;
    if (rc == 0)
        rc = insp_io_new(&r.io);
    if (rc == 0) {
        rc = repair_locked(&r);
        io_destroy(r.io);
    }
    close(fd);
    if (rc == 0 && r.nkept > 1)
        rc = compact_repaired(&r);
    if (rep)
        *rep = r.rep;
    free(r.kept);
    free(r.files);
    free(r.lost);
    return rc;
}

int lsm_repair(const char *dir)
{
    return inspect_repair(dir, NULL, NULL);
}
