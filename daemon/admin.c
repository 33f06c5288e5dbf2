/* admin.c — see admin.h. */
#include "admin.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "admin_queue.h"
#include "changes_page.h"
#include "base/log.h"
#include "metrics.h"
#include "session.h"
#include "stats.h"

typedef struct admin_thread {
    struct admin *a;
    int lane;
    pthread_t thread;
    bool started;
} admin_thread;

struct admin {
    daemon_ctx *d;
    admin_thread threads[ADMIN_NLANES];
};

static void run_job(admin *a, admin_job *j)
{
    daemon_ctx *d = a->d;
    session *s = j->s;
    struct shm_cqe c = { .tag = j->q.tag };
    const char *why = NULL; /* the refusal's reason, for the client */
    switch (j->q.opcode) {
    case SHM_OP_FLUSH:
        c.status = lsm_flush(d->db);
        break;
    case SHM_OP_COMPACT: {
        int64_t level = (int64_t)j->q.arg0;
        if (level < -1 || level > 64) {
            c.status = -EINVAL;
            why = "level out of range: -1 (the whole tree) or 0 .. 64";
        } else {
            c.status = lsm_compact(d->db, (int)level);
        }
        break;
    }
    case SHM_OP_SET_OPTION:
        c.status = lsm_set_option(d->db, j->name, j->value);
        why = lsm_last_error(); /* this thread's, set by that call */
        log_info_limited("set %s = %s by client %llu: %s", j->name, j->value,
                         (unsigned long long)s->id,
                         !c.status ? "ok" : *why ? why : lsm_strerror(c.status));
        break;
    case SHM_OP_CHECKPOINT:
        /* The daemon's cwd is not the client's: only absolute paths. */
        c.status = j->name[0] == '/' ? lsm_checkpoint(d->db, j->name) : -EINVAL;
        if (j->name[0] != '/')
            why = "checkpoint: the directory must be an absolute path";
        log_info("checkpoint into %s by client %llu: %s", j->name,
                 (unsigned long long)s->id, c.status ? lsm_strerror(c.status) : "ok");
        break;
    case SHM_OP_STATS: { /* arg0: the format, checked by validation */
        char *json;
        size_t len;
        c.status = j->q.arg0 == SHM_STATS_PROMETHEUS ? metrics_text(d, &json, &len)
                                                      : stats_json(d, &json, &len);
        if (c.status == 0) {
            c.r0 = len;
            if (len > j->q.out_cap)
                c.status = LSM_ETOOSMALL;
            else
                memcpy(shm_session_arena(s->shm) + j->q.out_off, json, len);
            free(json);
        }
        break;
    }
    case SHM_OP_CHANGES:
        changes_page_serve(d, s, &j->q, &c);
        break;
    default:
        c.status = -EOPNOTSUPP;
        break;
    }
    /* Before the completion: the client may send its next request as soon
     * as it sees this one done. */
    admin_queue_release_lane(j);
    session_post_why(s, &c, why);
    session_wake(s);
}

static void *lane_main(void *arg)
{
    static const char *const names[ADMIN_NLANES] = { "lsmd-admin-ctl", "lsmd-admin-work" };
    admin_thread *t = arg;
    admin *a = t->a;
    admin_queue *q = a->d->admin_queue;
    pthread_setname_np(pthread_self(), names[t->lane]);
    admin_job *j;
    while ((j = admin_queue_take(q, t->lane)) != NULL) {
        /* acquire: pairs with the release store that marked it dying. */
        if (atomic_load_explicit(&j->s->dying, memory_order_acquire)) {
            /* Its client is gone: nobody waits for this, so do not spend
             * minutes of compaction (or a stats walk) on it. */
            admin_queue_done(q, j, false);
        } else {
            run_job(a, j);
            admin_queue_done(q, j, true);
        }
    }
    return NULL;
}

/* Stops the threads that were started (all of them at admin_stop). */
static void stop_threads(admin *a)
{
    admin_queue_stop(a->d->admin_queue);
    for (int i = 0; i < ADMIN_NLANES; i++)
        if (a->threads[i].started)
            pthread_join(a->threads[i].thread, NULL);
}

int admin_start(daemon_ctx *d, admin **out)
{
    admin *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    a->d = d;
    int rc = 0;
    for (int i = 0; i < ADMIN_NLANES && rc == 0; i++) {
        admin_thread *t = &a->threads[i];
        t->a = a;
        t->lane = i;
        rc = pthread_create(&t->thread, NULL, lane_main, t);
        t->started = rc == 0;
    }
    if (rc) {
        stop_threads(a);
        free(a);
        return -rc;
    }
    *out = a;
    return 0;
}

void admin_stop(admin *a)
{
    if (!a)
        return;
    stop_threads(a);
    free(a);
}
