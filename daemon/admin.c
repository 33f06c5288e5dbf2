/* admin.c — see admin.h. */
#include "admin.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "session.h"
#include "wait.h"
#include "worker.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59 /* Linux 4.13; older headers lack the name */
#endif

enum { LANE_CONTROL, LANE_WORK, ADMIN_NLANES };

/* Which lane runs an opcode and whether it needs an admin session. */
typedef struct admin_op {
    uint8_t opcode;
    uint8_t lane;
    bool admin_only;
    const char *name;
} admin_op;

static const admin_op k_ops[] = {
    { SHM_OP_STATS, LANE_CONTROL, false, "STATS" },
    { SHM_OP_SET_OPTION, LANE_CONTROL, true, "SET_OPTION" },
    { SHM_OP_FLUSH, LANE_WORK, true, "FLUSH" },
    { SHM_OP_COMPACT, LANE_WORK, true, "COMPACT" },
    /* CHECKPOINT goes here: LANE_WORK, admin only. */
};

typedef struct admin_job {
    struct admin_job *next;
    session *s;
    const admin_op *op;
    struct shm_sqe q;
    char *name, *value; /* SET_OPTION: private NUL-terminated copies */
} admin_job;

typedef struct admin_lane {
    struct admin *a;
    const char *thread_name;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    admin_job *head, *tail; /* [mu] FIFO */
    unsigned queued;        /* [mu] jobs in the FIFO */
    unsigned running;       /* [mu] 0 or 1 */
    bool stop;              /* [mu] */
} admin_lane;

struct admin {
    daemon_ctx *d;
    admin_lane lanes[ADMIN_NLANES];
    _Atomic uint64_t run, dropped, refused, busy; /* stats */
};

/* ---- JSON ----------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void stats_snapshots(FILE *f, daemon_ctx *d)
{
    size_t n = snapreg_list(d->snaps, NULL, 0);
    snapreg_info *v = n ? malloc(n * sizeof *v) : NULL;
    n = v ? snapreg_list(d->snaps, v, n) : 0;
    fputs("\"snapshots\":[", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s{\"id\":%llu,\"holders\":%u,\"pins\":%u,\"creator_pid\":%u}",
                i ? "," : "", (unsigned long long)v[i].id, v[i].holders, v[i].pins,
                v[i].creator_pid);
    fputc(']', f);
    free(v);
}

static void stats_workers(FILE *f, daemon_ctx *d)
{
    fputs("\"worker_list\":[", f);
    for (int i = 0; i < d->nworkers; i++) {
        struct worker *w = d->workers[i];
        uint64_t req, groups, grouped, sleeps;
        worker_counters(w, &req, &groups, &grouped, &sleeps);
        int cpu = worker_cpu(w);
        fprintf(f,
                "%s{\"index\":%d,\"cpu\":%d,\"node\":%d,\"sessions\":%d,\"requests\":%llu,"
                "\"groups\":%llu,\"grouped_writes\":%llu,\"sleeps\":%llu}",
                i ? "," : "", i, cpu, cpu >= 0 ? numa_cpu_node(cpu) : -1,
                worker_nsessions(w), (unsigned long long)req, (unsigned long long)groups,
                (unsigned long long)grouped, (unsigned long long)sleeps);
    }
    fputc(']', f);
}

static void stats_clients(FILE *f, daemon_ctx *d)
{
    fputs("\"client_list\":[", f);
    pthread_mutex_lock(&d->sessions_mu);
    bool first = true;
    for (session *s = d->sessions; s; s = s->next) {
        struct shm_session_stats st;
        pthread_mutex_lock(&s->mu);
        shm_session_stats(s->shm, &st);
        pthread_mutex_unlock(&s->mu);
        int wcpu = worker_cpu(s->worker);
        /* Read back where the pages are (the list lock keeps it mapped). */
        int seg_node = numa_addr_node(shm_session_base(s->shm));
        fprintf(f,
                "%s{\"id\":%llu,\"pid\":%d,\"uid\":%u,\"admin\":%s,\"client_cpu\":%d,"
                "\"client_node\":%d,\"worker\":%d,\"worker_cpu\":%d,\"worker_node\":%d,"
                "\"segment_node\":%d,"
                "\"segment_bytes\":%llu,\"queue_depth\":%u,\"ops\":%llu,\"rejected\":%llu,"
                "\"dying\":%s}",
                first ? "" : ",", (unsigned long long)s->id, (int)s->pid, (unsigned)s->uid,
                s->admin ? "true" : "false", s->client_cpu,
                s->client_cpu >= 0 ? numa_cpu_node(s->client_cpu) : -1,
                worker_index(s->worker), wcpu, wcpu >= 0 ? numa_cpu_node(wcpu) : -1, seg_node,
                (unsigned long long)shm_session_size(s->shm), shm_session_queue_depth(s->shm),
                (unsigned long long)atomic_load_explicit(&s->ops, memory_order_relaxed),
                (unsigned long long)st.rejected, atomic_load(&s->dying) ? "true" : "false");
        first = false;
    }
    int n = d->nsessions;
    pthread_mutex_unlock(&d->sessions_mu);
    fprintf(f, "],\"clients\":%d", n);
}

static void stats_admin(FILE *f, admin *a)
{
    fputs("\"admin\":{", f);
    static const char *const names[ADMIN_NLANES] = { "control", "work" };
    for (int i = 0; a && i < ADMIN_NLANES; i++) {
        admin_lane *l = &a->lanes[i];
        pthread_mutex_lock(&l->mu);
        fprintf(f, "\"%s\":{\"queued\":%u,\"running\":%u},", names[i], l->queued, l->running);
        pthread_mutex_unlock(&l->mu);
    }
    if (a)
        fprintf(f, "\"run\":%llu,\"dropped\":%llu,\"refused\":%llu,\"busy\":%llu",
                (unsigned long long)atomic_load(&a->run),
                (unsigned long long)atomic_load(&a->dropped),
                (unsigned long long)atomic_load(&a->refused),
                (unsigned long long)atomic_load(&a->busy));
    fputc('}', f);
}

int admin_stats_json(daemon_ctx *d, char **json, size_t *len)
{
    char *eng = NULL;
    int erc = lsm_stats_json(d->db, &eng);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) {
        lsm_free(eng);
        return -ENOMEM;
    }
    fputs("{\"engine\":", f);
    if (erc == 0)
        fputs(eng, f);
    else
        fprintf(f, "null,\"engine_error\":\"%s\"", lsm_strerror(erc));
    lsm_free(eng);
    const char *mode = d->cfg->numa == NUMA_MODE_OFF ? "off"
                       : d->cfg->numa == NUMA_MODE_AUTO ? "auto" : "node";
    fprintf(f, ",\"daemon\":{\"pid\":%d,\"uptime_s\":%.3f,\"socket\":", (int)getpid(),
            (double)(shm_now_ns() - d->start_ns) / 1e9);
    json_str(f, d->cfg->socket_path);
    fputs(",\"dir\":", f);
    json_str(f, d->cfg->dir);
    fprintf(f,
            ",\"workers\":%d,\"spin_us\":%u,\"numa\":{\"mode\":\"%s\",\"active\":%s},"
            "\"attaches\":%llu,\"refusals\":%llu,\"deaths\":%llu,",
            d->nworkers, d->cfg->spin_us, mode, numa_plan_active(d->numa) ? "true" : "false",
            (unsigned long long)atomic_load(&d->attaches),
            (unsigned long long)atomic_load(&d->refusals),
            (unsigned long long)atomic_load(&d->deaths));
    stats_admin(f, d->admin);
    fputc(',', f);
    stats_snapshots(f, d);
    fputc(',', f);
    stats_workers(f, d);
    fputc(',', f);
    stats_clients(f, d);
    fputs("}}", f);
    if (fclose(f) != 0) {
        free(buf);
        return -ENOMEM;
    }
    *json = buf;
    *len = n;
    return 0;
}

/* ---- authorization ---------------------------------------------------------- */

bool admin_peer_authorized(const daemon_config *cfg, int sock, uid_t uid, gid_t gid)
{
    if (config_peer_admin(cfg, uid, gid, NULL, 0))
        return true;
    if (cfg->n_admin_gids == 0)
        return false;
    gid_t small[32], *groups = small;
    socklen_t len = sizeof small;
    int rc = getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
    if (rc != 0 && errno == ERANGE && len > sizeof small) { /* len: the size needed */
        groups = malloc(len);
        rc = groups ? getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, groups, &len) : -1;
        if (!groups)
            errno = ENOMEM;
    }
    bool ok = false;
    if (rc == 0)
        ok = config_peer_admin(cfg, uid, gid, groups, len / sizeof *groups);
    else
        log_warn_limited("admin: SO_PEERGROUPS: %s; admin_gids match the primary gid only",
                         strerror(errno));
    if (groups != small)
        free(groups);
    return ok;
}

/* ---- jobs ----------------------------------------------------------------- */

static const admin_op *find_op(uint8_t opcode)
{
    for (size_t i = 0; i < sizeof k_ops / sizeof *k_ops; i++)
        if (k_ops[i].opcode == opcode)
            return &k_ops[i];
    return NULL;
}

/* The lane's bit in session.admin_jobs. */
static unsigned lane_bit(const admin_op *op)
{
    return 1u << op->lane;
}

/* Frees the lane slot of j's session (release: pairs with the acquire in
 * admin_submit, through the client seeing the completion posted after). */
static void job_release_lane(admin_job *j)
{
    atomic_fetch_and_explicit(&j->s->admin_jobs, ~lane_bit(j->op), memory_order_release);
}

static void job_free(admin_job *j)
{
    session_unref(j->s);
    free(j->name);
    free(j);
}

static void run_job(admin *a, admin_job *j)
{
    daemon_ctx *d = a->d;
    session *s = j->s;
    struct shm_cqe c = { .tag = j->q.tag };
    switch (j->q.opcode) {
    case SHM_OP_FLUSH:
        c.status = lsm_flush(d->db);
        break;
    case SHM_OP_COMPACT: {
        int64_t level = (int64_t)j->q.arg0;
        c.status = (level < -1 || level > 64) ? -EINVAL : lsm_compact(d->db, (int)level);
        break;
    }
    case SHM_OP_SET_OPTION:
        c.status = lsm_set_option(d->db, j->name, j->value);
        log_info_limited("set %s = %s by client %llu: %s", j->name, j->value,
                         (unsigned long long)s->id, c.status ? lsm_strerror(c.status) : "ok");
        break;
    case SHM_OP_STATS: {
        char *json;
        size_t len;
        c.status = admin_stats_json(d, &json, &len);
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
    default:
        c.status = -EOPNOTSUPP;
        break;
    }
    /* Before the completion: the client may send its next request as soon
     * as it sees this one done. */
    job_release_lane(j);
    session_post(s, &c);
    session_wake(s);
}

static void *lane_main(void *arg)
{
    admin_lane *l = arg;
    admin *a = l->a;
    pthread_setname_np(pthread_self(), l->thread_name);
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->head && !l->stop)
            pthread_cond_wait(&l->cv, &l->mu);
        admin_job *j = l->head;
        if (!j)
            break; /* stop, and nothing queued */
        l->head = j->next;
        if (!l->head)
            l->tail = NULL;
        l->queued--;
        l->running = 1;
        pthread_mutex_unlock(&l->mu);
        /* acquire: pairs with the release store that marked it dying. */
        if (atomic_load_explicit(&j->s->dying, memory_order_acquire)) {
            /* Its client is gone: nobody waits for this, so do not spend
             * minutes of compaction (or a stats walk) on it. */
            job_release_lane(j);
            atomic_fetch_add_explicit(&a->dropped, 1, memory_order_relaxed);
            log_debug("admin: dropped %s of departed client %llu", j->op->name,
                      (unsigned long long)j->s->id);
        } else {
            run_job(a, j);
            atomic_fetch_add_explicit(&a->run, 1, memory_order_relaxed);
        }
        job_free(j);
        pthread_mutex_lock(&l->mu);
        l->running = 0;
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* Stops the lanes that were started (all of them at admin_stop). */
static void stop_lanes(admin *a)
{
    for (int i = 0; i < ADMIN_NLANES; i++) {
        admin_lane *l = &a->lanes[i];
        pthread_mutex_lock(&l->mu);
        l->stop = true;
        pthread_cond_signal(&l->cv);
        pthread_mutex_unlock(&l->mu);
    }
    for (int i = 0; i < ADMIN_NLANES; i++) {
        admin_lane *l = &a->lanes[i];
        if (l->started)
            pthread_join(l->thread, NULL);
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cv);
    }
}

int admin_start(daemon_ctx *d, admin **out)
{
    static const char *const names[ADMIN_NLANES] = { "lsmd-admin-ctl", "lsmd-admin-work" };
    admin *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    a->d = d;
    for (int i = 0; i < ADMIN_NLANES; i++) {
        admin_lane *l = &a->lanes[i];
        l->a = a;
        l->thread_name = names[i];
        pthread_mutex_init(&l->mu, NULL);
        pthread_cond_init(&l->cv, NULL);
    }
    int rc = 0;
    for (int i = 0; i < ADMIN_NLANES && rc == 0; i++) {
        admin_lane *l = &a->lanes[i];
        rc = pthread_create(&l->thread, NULL, lane_main, l);
        l->started = rc == 0;
    }
    if (rc) {
        stop_lanes(a);
        free(a);
        return -rc;
    }
    *out = a;
    return 0;
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

int admin_submit(admin *a, session *s, const struct shm_sqe *q)
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
    j->op = op;
    if (q->opcode == SHM_OP_SET_OPTION) {
        int rc = copy_option(j, s, q);
        if (rc) {
            free(j->name);
            free(j);
            return rc;
        }
    }
    /* acquire: pairs with job_release_lane. */
    if (atomic_fetch_or_explicit(&s->admin_jobs, lane_bit(op), memory_order_acquire) &
        lane_bit(op)) {
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

void admin_stop(admin *a)
{
    if (!a)
        return;
    stop_lanes(a);
    free(a);
}
