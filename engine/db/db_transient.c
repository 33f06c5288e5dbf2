/*
 * db_transient.c — resource errors in background steps (issue 9).
 *
 * A memtable switch, flush or compaction that runs out of descriptors or
 * memory (io_error_is_transient) has lost nothing: the memtable is still
 * in its synced WAL, the compaction's inputs are still live.  So instead
 * of the sticky background error (read-only until reopen), the step is
 * cleaned up and retried with back-off (DB_BACKOFF_MIN_NS doubling to
 * DB_BACKOFF_MAX_NS), and writers that wait for it wait at most
 * DB_TRANSIENT_WAIT_NS before their own write is refused with the
 * transient error.  Every such failure counts in stats (transient_errors).
 */
#include <stdlib.h>
#include <time.h>

#include "db/db_impl.h"
#include "db/clock.h"
#include "db/paths.h"
#include "base/filenames.h"
#include "base/log.h"

bool db_error_transient(lsm_db *db, int rc)
{
    /* A resource error from a MANIFEST that already failed a write is
     * that sticky failure, not a new one. */
    return io_error_is_transient(rc) && version_set_error(db->vs) == 0;
}

void db_transient_note(lsm_db *db, int rc, const char *what, int *slot)
{
    atomic_fetch_add_explicit(&db->stat_transient_errors, 1, memory_order_relaxed);
    if (slot)
        *slot = rc;
    log_warn_limited("%s: %s: %s; retrying", db->dir, what, lsm_strerror(rc));
    pthread_cond_broadcast(&db->bg_cv); /* waiters switch to bounded waits */
}

/* An absolute CLOCK_REALTIME time ns from now (the condvars' clock). */
static struct timespec after_ns(uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t n = (uint64_t)ts.tv_nsec + ns;
    ts.tv_sec += (time_t)(n / 1000000000u);
    ts.tv_nsec = (long)(n % 1000000000u);
    return ts;
}

void db_backoff_wait(lsm_db *db, pthread_cond_t *cv, uint64_t *delay_ns)
{
    uint64_t end = db_mono_ns() + *delay_ns;
    while (!db->closing && !db->bg_error) {
        uint64_t now = db_mono_ns();
        if (now >= end)
            break;
        struct timespec ts = after_ns(end - now);
        pthread_cond_timedwait(cv, &db->mu, &ts);
    }
    *delay_ns = *delay_ns >= DB_BACKOFF_MAX_NS / 2 ? DB_BACKOFF_MAX_NS : *delay_ns * 2;
}

int db_wait_progress(lsm_db *db, int transient, uint64_t *since_ns)
{
    if (!transient) {
        *since_ns = 0;
        pthread_cond_wait(&db->bg_cv, &db->mu);
        return 0;
    }
    uint64_t now = db_mono_ns();
    if (!*since_ns)
        *since_ns = now;
    if (now - *since_ns >= DB_TRANSIENT_WAIT_NS)
        return transient;
    struct timespec ts = after_ns(DB_BACKOFF_MIN_NS);
    pthread_cond_timedwait(&db->bg_cv, &db->mu, &ts);
    return 0;
}

void db_remove_table(lsm_db *db, uint64_t number)
{
    char *path = db_sst_path(db, number);
    if (path && io_unlink(db->io, path) == 0)
        log_debug("removed unrecorded table %06llu", (unsigned long long)number);
    free(path); /* best effort: an unrecorded table is obsolete anyway */
}

void db_discard_added(lsm_db *db, const version_edit *e)
{
    for (size_t i = 0; i < e->nadded; i++)
        db_remove_table(db, e->added[i].f->number);
}
