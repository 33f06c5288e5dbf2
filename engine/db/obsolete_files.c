/*
 * obsolete_files.c — deleting files no one needs any more (obsolete_files.h).
 */
#include <stdbool.h>
#include <stdlib.h>

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

struct obsolete_ctx {
    lsm_db *db;
    const uint64_t *live;   /* sorted */
    size_t nlive;
    uint64_t log_number, manifest, pending_min;
};

static int delete_if_obsolete(void *ctx, const char *name, enum file_kind kind, uint64_t number)
{
    struct obsolete_ctx *o = ctx;
    lsm_db *db = o->db;
    bool obsolete = false;
    if (kind == FILE_KIND_WAL)
        obsolete = number < o->log_number;
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
    char *path = db_path(db, name);
    if (path) {
        log_debug("deleting obsolete %s", name);
        io_unlink(db->io, path); /* best effort: it is retried at the next open */
        free(path);
    }
    return 0;
}

void db_delete_obsolete(lsm_db *db)
{
    uint64_t *live = NULL;
    size_t nlive = 0;
    /* A table being written is not live yet: everything numbered from the
     * oldest job in flight on is left alone. */
    pthread_mutex_lock(&db->mu);
    uint64_t pending_min = db_pending_min(db);
    int held = db->deletion_holds;
    pthread_mutex_unlock(&db->mu);
    /* A checkpoint is linking or copying files: delete nothing; it calls
     * again when it lets go (db_checkpoint.c). */
    if (held)
        return;
    pthread_mutex_lock(&db->manifest_mu);
    if (version_set_live_files(db->vs, &live, &nlive) != 0) {
        pthread_mutex_unlock(&db->manifest_mu);
        return;
    }
    uint64_t log_number = version_set_log_number(db->vs);
    /* Not manifest_number: after a roll whose directory sync failed, the
     * durable CURRENT may still name the one before it. */
    uint64_t manifest = version_set_oldest_manifest(db->vs);
    pthread_mutex_unlock(&db->manifest_mu);

    struct obsolete_ctx o = { db, live, nlive, log_number, manifest, pending_min };
    filename_scan(db->dir, delete_if_obsolete, &o); /* best effort */
    free(live);
}
