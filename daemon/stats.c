/* stats.c — see stats.h. */
#include "stats.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "admin_queue.h"
#include "placement.h"
#include "session.h"
#include "wait.h"
#include "wal_syncer.h"
#include "worker.h"

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
                "%s{\"index\":%d,\"cpu\":%d,\"node\":%d,\"pinned_node\":%d,\"sessions\":%d,\"requests\":%llu,"
                "\"groups\":%llu,\"grouped_writes\":%llu,\"sleeps\":%llu,\"parked_gets\":%llu,"
                "\"lane_iters\":%llu}",
                i ? "," : "", i, cpu, cpu >= 0 ? numa_cpu_node(cpu) : -1, worker_node(w),
                worker_nsessions(w), (unsigned long long)req, (unsigned long long)groups,
                (unsigned long long)grouped, (unsigned long long)sleeps,
                (unsigned long long)worker_parked_gets(w),
                (unsigned long long)worker_lane_iters(w));
    }
    fputc(']', f);
}

static void stats_clients(FILE *f, daemon_ctx *d, unsigned *mismatches)
{
    fputs("\"client_list\":[", f);
    pthread_mutex_lock(&d->sessions_mu);
    bool first = true;
    *mismatches = 0;
    for (session *s = d->sessions; s; s = s->next) {
        struct shm_session_stats st;
        pthread_mutex_lock(&s->mu);
        shm_session_stats(s->shm, &st);
        pthread_mutex_unlock(&s->mu);
        fprintf(f, "%s{\"id\":%llu,\"pid\":%d,\"uid\":%u,\"admin\":%s", first ? "" : ",",
                (unsigned long long)s->id, (int)s->pid, (unsigned)s->uid,
                s->admin ? "true" : "false");
        /* Reads back where the pages are (the list lock keeps them mapped). */
        if (placement_stats_client(f, d, s) && !atomic_load(&s->dying))
            (*mismatches)++;
        fprintf(f,
                ",\"segment_bytes\":%llu,\"queue_depth\":%u,\"ops\":%llu,\"rejected\":%llu,"
                "\"iters\":%u,\"dying\":%s}",
                (unsigned long long)shm_session_size(s->shm), shm_session_queue_depth(s->shm),
                (unsigned long long)atomic_load_explicit(&s->ops, memory_order_relaxed),
                (unsigned long long)st.rejected,
                atomic_load_explicit(&s->open_iters, memory_order_relaxed),
                atomic_load(&s->dying) ? "true" : "false");
        first = false;
    }
    int n = d->nsessions;
    pthread_mutex_unlock(&d->sessions_mu);
    fprintf(f, "],\"clients\":%d", n);
}

static void stats_admin(FILE *f, admin_queue *q)
{
    fputs("\"admin\":{", f);
    static const char *const names[ADMIN_NLANES] = { "control", "work" };
    if (q) {
        admin_queue_counts st;
        admin_queue_stats(q, &st);
        for (int i = 0; i < ADMIN_NLANES; i++)
            fprintf(f, "\"%s\":{\"queued\":%u,\"running\":%u},", names[i], st.queued[i],
                    st.running[i]);
        fprintf(f, "\"run\":%llu,\"dropped\":%llu,\"refused\":%llu,\"busy\":%llu",
                (unsigned long long)st.run, (unsigned long long)st.dropped,
                (unsigned long long)st.refused, (unsigned long long)st.busy);
    }
    fputc('}', f);
}

/* The synced writes' second step (wal_syncer.h). */
static void stats_syncer(FILE *f, wal_syncer *sy)
{
    wal_syncer_stats st = { 0 };
    if (sy)
        wal_syncer_stats_get(sy, &st);
    fprintf(f,
            "\"syncer\":{\"writes\":%llu,\"rounds\":%llu,\"mean_round\":%.2f,"
            "\"gathers\":%llu}",
            (unsigned long long)st.writes, (unsigned long long)st.rounds,
            st.rounds ? (double)st.writes / (double)st.rounds : 0.0,
            (unsigned long long)st.gathers);
}

int stats_json(daemon_ctx *d, char **json, size_t *len)
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
    stats_admin(f, d->admin_queue);
    fputc(',', f);
    stats_syncer(f, d->syncer);
    fputc(',', f);
    stats_snapshots(f, d);
    fputc(',', f);
    stats_workers(f, d);
    fputc(',', f);
    unsigned mismatches;
    stats_clients(f, d, &mismatches);
    fprintf(f, ",\"placement\":{\"mismatches\":%u,\"spills\":%llu}}}", mismatches,
            (unsigned long long)atomic_load(&d->numa_spills));
    if (fclose(f) != 0) {
        free(buf);
        return -ENOMEM;
    }
    *json = buf;
    *len = n;
    return 0;
}
