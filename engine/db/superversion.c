/*
 * superversion.c — the read view readers pin (superversion.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "db/superversion.h"
#include "db/bg_error.h"
#include "db/db_impl.h"

static void sv_free(superversion *sv)
{
    memtable_unref(sv->mem);
    for (int i = 0; i < sv->nimm; i++)
        memtable_unref(sv->imm[i]);
    version_unref(sv->v);
    free(sv);
}

void db_sv_release(superversion *sv)
{
    if (atomic_fetch_sub_explicit(&sv->refs, 1, memory_order_acq_rel) == 1)
        sv_free(sv);
}

superversion *db_sv_acquire(lsm_db *db)
{
    pthread_mutex_lock(&db->mu);
    superversion *sv = db->sv;
    atomic_fetch_add_explicit(&sv->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&db->mu);
    return sv;
}

int db_install_sv(lsm_db *db)
{
    superversion *sv = calloc(1, sizeof *sv);
    if (!sv) {
        /* The old view may lack a table or memtable just added: stop. */
        db_set_bg_error(db, -ENOMEM, "out of memory installing a new read view");
        return LSM_EREADONLY;
    }
    atomic_init(&sv->refs, 1);
    sv->mem = db->mem;
    memtable_ref(sv->mem);
    for (int i = db->nimm - 1; i >= 0; i--) {
        sv->imm[sv->nimm++] = db->imm[i].mem;
        memtable_ref(db->imm[i].mem);
    }
    sv->v = version_set_current(db->vs);
    superversion *old = db->sv;
    db->sv = sv;
    if (old)
        db_sv_release(old);
    return 0;
}
