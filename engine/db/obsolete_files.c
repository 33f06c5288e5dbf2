/*
 * obsolete_files.c — deleting files no one needs any more (obsolete_files.h).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "db/obsolete_files.h"
#include "db/db_impl.h"
#include "db/paths.h"
#include "db/pending_outputs.h"
#include "base/filenames.h"
#include "base/killpoint.h"
#include "base/log.h"
#include "table/table_cache.h"

int db_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* A retired WAL kept as change-feed history (wal_retention_*). */
struct kept_wal {
    uint64_t number, bytes;
    time_t mtime;
};

struct obsolete_ctx {
    lsm_db *db;
    const uint64_t *live;   /* sorted */
    size_t nlive;
    uint64_t log_number, manifest, pending_min;
    uint64_t keep_from;     /* WALs from here on are pinned by a reader */
    bool retain;            /* a retention limit is set */
    struct kept_wal *kept;  /* retired WALs, when retain */
    size_t nkept, capkept;
};

static void delete_file(lsm_db *db, const char *name)
{
    char *path = db_path(db, name);
    if (path) {
        log_debug("deleting obsolete %s", name);
        io_unlink(db->io, path); /* best effort: it is retried at the next open */
        free(path);
    }
}

/* A retired WAL under a retention limit: noted for retire_kept_wals.  On
 * any failure here it is simply kept until the next call. */
static void note_kept_wal(struct obsolete_ctx *o, const char *name, uint64_t number)
{
    char *path = db_path(o->db, name);
    struct stat st;
    int rc = path ? stat(path, &st) : -1;
    free(path);
    if (rc != 0)
        return;
    if (o->nkept == o->capkept) {
        size_t cap = o->capkept ? o->capkept * 2 : 16;
        struct kept_wal *k = realloc(o->kept, cap * sizeof *k);
        if (!k)
            return;
        o->kept = k;
        o->capkept = cap;
    }
    o->kept[o->nkept++] = (struct kept_wal){ number, (uint64_t)st.st_size, st.st_mtime };
}

static int cmp_kept(const void *a, const void *b)
{
    return db_cmp_u64(&((const struct kept_wal *)a)->number,
                      &((const struct kept_wal *)b)->number);
}

/* Deletes the retired WALs past a retention limit: older than
 * wal_retention_seconds, then the oldest while the rest pass
 * wal_retention_bytes.  Only a prefix of the history goes, so what is
 * left has no hole (lsm_changes_open finds a range or none). */
static void retire_kept_wals(struct obsolete_ctx *o, uint64_t seconds, uint64_t bytes)
{
    if (!o->nkept) {
        atomic_store_explicit(&o->db->stat_wal_retained_files, 0, memory_order_relaxed);
        atomic_store_explicit(&o->db->stat_wal_retained_bytes, 0, memory_order_relaxed);
        return;
    }
    qsort(o->kept, o->nkept, sizeof *o->kept, cmp_kept);
    uint64_t total = 0;
    for (size_t i = 0; i < o->nkept; i++)
        total += o->kept[i].bytes;
    time_t now = time(NULL);
    size_t cut = 0; /* kept[0 .. cut) go */
    for (size_t i = 0; i < o->nkept; i++) {
        /* A clock set back makes a WAL look young, never old. */
        bool old = seconds && now > o->kept[i].mtime &&
                   (uint64_t)(now - o->kept[i].mtime) > seconds;
        bool over = bytes && total > bytes;
        if (old || over) {
            cut = i + 1;
            total -= o->kept[i].bytes;
        }
    }
    atomic_store_explicit(&o->db->stat_wal_retained_files, o->nkept - cut, memory_order_relaxed);
    atomic_store_explicit(&o->db->stat_wal_retained_bytes, total, memory_order_relaxed);
    for (size_t i = 0; i < cut; i++) {
        KILLPOINT("wal.retire");
        char *path = db_wal_path(o->db, o->kept[i].number);
        if (path) {
            log_debug("deleting retained WAL %s", path);
            io_unlink(o->db->io, path); /* best effort, as delete_file */
            free(path);
        }
    }
}

static int delete_if_obsolete(void *ctx, const char *name, enum file_kind kind, uint64_t number)
{
    struct obsolete_ctx *o = ctx;
    lsm_db *db = o->db;
    bool obsolete = false;
    if (kind == FILE_KIND_WAL) {
        obsolete = number < o->log_number && number < o->keep_from;
        if (obsolete && o->retain) {
            note_kept_wal(o, name, number);
            return 0;
        }
    }
    else if (kind == FILE_KIND_MANIFEST) /* left by a crash before CURRENT moved */
        obsolete = number < o->manifest;
    else if (kind == FILE_KIND_TABLE)
        obsolete = number < o->pending_min &&
                   !(o->nlive && bsearch(&number, o->live, o->nlive, sizeof *o->live, db_cmp_u64));
    if (!obsolete)
        return 0;
    if (kind == FILE_KIND_WAL)
        KILLPOINT("wal.retire");
    /* Its cached blocks age out: file numbers are never reused. */
    if (kind == FILE_KIND_TABLE)
        table_cache_evict(db->table_cache, number);
    delete_file(db, name);
    return 0;
}

/* Ends a db_delete_obsolete: a change reader waiting to pin may go on. */
static void obsolete_done(lsm_db *db)
{
    pthread_mutex_lock(&db->mu);
    db->obsolete_running--;
    pthread_cond_broadcast(&db->bg_cv);
    pthread_mutex_unlock(&db->mu);
}

void db_delete_obsolete(lsm_db *db)
{
    uint64_t *live = NULL;
    size_t nlive = 0;
    /* A table being written is not live yet: everything numbered from the
     * oldest job in flight on is left alone. */
    pthread_mutex_lock(&db->mu);
    db->obsolete_running++;
    uint64_t pending_min = db_pending_min(db);
    uint64_t keep_from = UINT64_MAX;
    for (const db_wal_pin *p = db->wal_pins; p; p = p->next)
        if (p->number < keep_from)
            keep_from = p->number;
    uint64_t ret_seconds = db->opt.wal_retention_seconds;
    uint64_t ret_bytes = db->opt.wal_retention_bytes;
    int held = db->deletion_holds;
    pthread_mutex_unlock(&db->mu);
    /* A checkpoint is linking or copying files: delete nothing; it calls
     * again when it lets go (db_checkpoint.c). */
    if (held) {
        obsolete_done(db);
        return;
    }
    pthread_mutex_lock(&db->manifest_mu);
    if (version_set_live_files(db->vs, &live, &nlive) != 0) {
        pthread_mutex_unlock(&db->manifest_mu);
        obsolete_done(db);
        return;
    }
    uint64_t log_number = version_set_log_number(db->vs);
    /* Not manifest_number: after a roll whose directory sync failed, the
     * durable CURRENT may still name the one before it. */
    uint64_t manifest = version_set_oldest_manifest(db->vs);
    pthread_mutex_unlock(&db->manifest_mu);

    struct obsolete_ctx o = { db, live, nlive, log_number, manifest, pending_min, keep_from,
                              ret_seconds || ret_bytes, NULL, 0, 0 };
    filename_scan(db->dir, delete_if_obsolete, &o); /* best effort */
    retire_kept_wals(&o, ret_seconds, ret_bytes);
    free(o.kept);
    free(live);
    obsolete_done(db);
}
