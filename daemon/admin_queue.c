/* admin_queue.c — see admin_queue.h. */
#include "admin_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "session.h"

/* Which lane runs an opcode and whether it needs an admin session. */
typedef struct admin_op {
    uint8_t opcode;
    uint8_t lane;
    bool admin_only;
    const char *name;
} admin_op;

static const admin_op k_ops[] = {
    { SHM_OP_STATS, ADMIN_LANE_CONTROL, false, "STATS" },
    { SHM_OP_SET_OPTION, ADMIN_LANE_CONTROL, true, "SET_OPTION" },
    { SHM_OP_FLUSH, ADMIN_LANE_WORK, true, "FLUSH" },
    { SHM_OP_COMPACT, ADMIN_LANE_WORK, true, "COMPACT" },
    { SHM_OP_CHECKPOINT, ADMIN_LANE_WORK, true, "CHECKPOINT" },
    /* Reads WAL files (milliseconds to a few hundred): off the workers, and
     * beside STATS rather than behind a compaction. */
    { SHM_OP_CHANGES, ADMIN_LANE_CONTROL, false, "CHANGES" },
};

typedef struct admin_lane {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    admin_job *head, *tail; /* [mu] FIFO */
    unsigned queued;        /* [mu] jobs in the FIFO */
    unsigned running;       /* [mu] 0 or 1 */
    bool stop;              /* [mu] */
} admin_lane;

struct admin_queue {
    admin_lane lanes[ADMIN_NLANES];
    _Atomic uint64_t run, dropped, refused, busy; /* stats */
};

int admin_queue_new(admin_queue **out)
{
    admin_queue *q = calloc(1, sizeof *q);
    if (!q)
        return -ENOMEM;
    for (int i = 0; i < ADMIN_NLANES; i++) {
        pthread_mutex_init(&q->lanes[i].mu, NULL);
        pthread_cond_init(&q->lanes[i].cv, NULL);
    }
    *out = q;
    return 0;
}

void admin_queue_free(admin_queue *q)
{
    if (!q)
        return;
    for (int i = 0; i < ADMIN_NLANES; i++) {
        pthread_mutex_destroy(&q->lanes[i].mu);
        pthread_cond_destroy(&q->lanes[i].cv);
    }
    free(q);
}

static const admin_op *find_op(uint8_t opcode)
{
    for (size_t i = 0; i < sizeof k_ops / sizeof *k_ops; i++)
        if (k_ops[i].opcode == opcode)
            return &k_ops[i];
    return NULL;
}

/* The lane's bit in session.admin_jobs. */
static unsigned lane_bit(int lane)
{
    return 1u << lane;
}

/* Frees the lane slot of j's session (release: pairs with the acquire in
 * admin_queue_submit, through the client seeing the completion posted
 * after). */
void admin_queue_release_lane(admin_job *j)
{
    atomic_fetch_and_explicit(&j->s->admin_jobs, ~lane_bit(j->lane), memory_order_release);
}

static void job_free(admin_job *j)
{
    session_unref(j->s);
    free(j->name);
    free(j);
}

admin_job *admin_queue_take(admin_queue *q, int lane)
{
    admin_lane *l = &q->lanes[lane];
    pthread_mutex_lock(&l->mu);
    while (!l->head && !l->stop)
        pthread_cond_wait(&l->cv, &l->mu);
    admin_job *j = l->head;
    if (j) {
        l->head = j->next;
        if (!l->head)
            l->tail = NULL;
        l->queued--;
        l->running = 1;
    }
    pthread_mutex_unlock(&l->mu);
    return j; /* NULL: stop, and nothing queued */
}

void admin_queue_done(admin_queue *q, admin_job *j, bool ran)
{
    admin_lane *l = &q->lanes[j->lane];
    if (ran) {
        atomic_fetch_add_explicit(&q->run, 1, memory_order_relaxed);
    } else {
        admin_queue_release_lane(j);
        atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
        log_debug("admin: dropped %s of departed client %llu", j->op_name,
                  (unsigned long long)j->s->id);
    }
    job_free(j);
    pthread_mutex_lock(&l->mu);
    l->running = 0;
    pthread_mutex_unlock(&l->mu);
}

void admin_queue_stop(admin_queue *q)
{
    for (int i = 0; i < ADMIN_NLANES; i++) {
        admin_lane *l = &q->lanes[i];
        pthread_mutex_lock(&l->mu);
        l->stop = true;
        pthread_cond_signal(&l->cv);
        pthread_mutex_unlock(&l->mu);
    }
}

void admin_queue_stats(admin_queue *q, admin_queue_counts *out)
{
    for (int i = 0; i < ADMIN_NLANES; i++) {
        admin_lane *l = &q->lanes[i];
        pthread_mutex_lock(&l->mu);
        out->queued[i] = l->queued;
        out->running[i] = l->running;
        pthread_mutex_unlock(&l->mu);
    }
    out->run = atomic_load(&q->run);
    out->dropped = atomic_load(&q->dropped);
    out->refused = atomic_load(&q->refused);
    out->busy = atomic_load(&q->busy);
}

/* SET_OPTION: one private buffer "name\0value\0", copied once from the
 * arena.  Errors: -ENOMEM, -EINVAL (a NUL inside name or value). */
static int copy_option(admin_job *j, session *s, const struct shm_sqe *q)
{
    const char *arena = shm_session_arena(s->shm);
    j->name = malloc((size_t)q->key_len + q->val_len + 2);
    if (!j->name)
        return -ENOMEM;
    memcpy(j->name, arena + q->key_off, q->key_len);
    j->name[q->key_len] = '\0';
    j->value = j->name + q->key_len + 1;
    memcpy(j->value, arena + q->val_off, q->val_len);
    j->value[q->val_len] = '\0';
    if (strlen(j->name) != q->key_len || strlen(j->value) != q->val_len)
        return -EINVAL;
    return 0;
}

int admin_queue_submit(admin_queue *a, session *s, const struct shm_sqe *q)
{
    const admin_op *op = find_op(q->opcode);
    if (!op)
        return -EOPNOTSUPP;
    if (op->admin_only && !s->admin) {
        atomic_fetch_add_explicit(&a->refused, 1, memory_order_relaxed);
        log_warn_limited("admin: refused %s from client %llu (pid %d uid %u gid %u): not "
                         "the daemon's uid, nor in admin_uids/admin_gids",
                         op->name, (unsigned long long)s->id, (int)s->pid, (unsigned)s->uid,
                         (unsigned)s->gid);
        return -EPERM;
    }
    admin_job *j = calloc(1, sizeof *j);
    if (!j)
        return -ENOMEM;
    j->q = *q;
    j->op_name = op->name;
    j->lane = op->lane;
    /* CHECKPOINT's directory is its key, copied the same way (no value). */
    if (q->opcode == SHM_OP_SET_OPTION || q->opcode == SHM_OP_CHECKPOINT) {
        int rc = copy_option(j, s, q);
        if (rc) {
            free(j->name);
            free(j);
            return rc;
        }
    }
    /* acquire: pairs with admin_queue_release_lane. */
    if (atomic_fetch_or_explicit(&s->admin_jobs, lane_bit(op->lane), memory_order_acquire) &
        lane_bit(op->lane)) {
        atomic_fetch_add_explicit(&a->busy, 1, memory_order_relaxed);
        free(j->name);
        free(j);
        return -EBUSY;
    }
    session_ref(s);
    j->s = s;
    admin_lane *l = &a->lanes[op->lane];
    pthread_mutex_lock(&l->mu);
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->queued++;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    return 0;
}
