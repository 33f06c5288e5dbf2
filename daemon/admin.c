/* admin.c — see admin.h. */
#include "admin.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "session.h"
#include "wait.h"
#include "worker.h"

typedef struct admin_job {
    struct admin_job *next;
    session *s;
    struct shm_sqe q;
    char *name, *value; /* SET_OPTION: private NUL-terminated copies */
} admin_job;

struct admin {
    daemon_ctx *d;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    admin_job *head, *tail; /* [mu] FIFO */
    bool stop;              /* [mu] */
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
                "%s{\"id\":%llu,\"pid\":%d,\"uid\":%u,\"client_cpu\":%d,\"client_node\":%d,"
                "\"worker\":%d,\"worker_cpu\":%d,\"worker_node\":%d,\"segment_node\":%d,"
                "\"segment_bytes\":%llu,\"queue_depth\":%u,\"ops\":%llu,\"rejected\":%llu,"
                "\"dying\":%s}",
                first ? "" : ",", (unsigned long long)s->id, (int)s->pid, (unsigned)s->uid,
                s->client_cpu, s->client_cpu >= 0 ? numa_cpu_node(s->client_cpu) : -1,
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

/* ---- jobs ----------------------------------------------------------------- */

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
        log_info("set %s = %s by client %llu: %s", j->name, j->value,
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
    pthread_mutex_lock(&s->mu);
    shm_session_complete(s->shm, &c);
    pthread_mutex_unlock(&s->mu);
}

static void *admin_main(void *arg)
{
    admin *a = arg;
    pthread_setname_np(pthread_self(), "lsmd-admin");
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->head && !a->stop)
            pthread_cond_wait(&a->cv, &a->mu);
        admin_job *j = a->head;
        if (!j)
            break; /* stop, and nothing queued */
        a->head = j->next;
        if (!a->head)
            a->tail = NULL;
        pthread_mutex_unlock(&a->mu);
        run_job(a, j);
        session_unref(j->s);
        free(j->name);
        free(j);
        pthread_mutex_lock(&a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int admin_start(daemon_ctx *d, admin **out)
{
    admin *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    a->d = d;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    int rc = pthread_create(&a->thread, NULL, admin_main, a);
    if (rc) {
        free(a);
        return -rc;
    }
    *out = a;
    return 0;
}

int admin_submit(admin *a, session *s, const struct shm_sqe *q)
{
    admin_job *j = calloc(1, sizeof *j);
    if (!j)
        return -ENOMEM;
    j->q = *q;
    if (q->opcode == SHM_OP_SET_OPTION) {
        /* One private buffer "name\0value\0", copied once from the arena. */
        const char *arena = shm_session_arena(s->shm);
        j->name = malloc((size_t)q->key_len + q->val_len + 2);
        if (!j->name) {
            free(j);
            return -ENOMEM;
        }
        memcpy(j->name, arena + q->key_off, q->key_len);
        j->name[q->key_len] = '\0';
        j->value = j->name + q->key_len + 1;
        memcpy(j->value, arena + q->val_off, q->val_len);
        j->value[q->val_len] = '\0';
        if (strlen(j->name) != q->key_len || strlen(j->value) != q->val_len) {
            free(j->name);
            free(j);
            return -EINVAL; /* embedded NUL */
        }
    }
    session_ref(s);
    j->s = s;
    pthread_mutex_lock(&a->mu);
    if (a->tail)
        a->tail->next = j;
    else
        a->head = j;
    a->tail = j;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return 0;
}

void admin_stop(admin *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}
