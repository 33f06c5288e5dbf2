/* placement.c — see placement.h. */
#include "placement.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "session.h"
#include "worker.h"

/* Pages sampled per client in the stats, and at attach (faulted in then:
 * a whole segment would make every client resident at once). */
#define STATS_SAMPLES 64
#define SETTLE_SAMPLES 64
#define MAX_COUNTED_NODES 64

/* The least loaded worker on node (-1 = any), else the least loaded overall. */
static struct worker *least_loaded(daemon_ctx *d, int node)
{
    worker *best = NULL, *best_any = NULL;
    for (int i = 0; i < d->nworkers; i++) {
        worker *w = d->workers[i];
        int load = worker_nsessions(w);
        if (!best_any || load < worker_nsessions(best_any))
            best_any = w;
        if (node >= 0 && worker_node(w) == node && (!best || load < worker_nsessions(best)))
            best = w;
    }
    return best ? best : best_any;
}

struct worker *placement_pick(daemon_ctx *d, int client_cpu, int *node)
{
    int n = numa_plan_client_node(d->numa, client_cpu);
    worker *w = least_loaded(d, n);
    *node = n >= 0 ? n : worker_node(w);
    return w;
}

/* Faults in the pages numa_range_nodes samples (the same spread: page
 * i * npages / n), reading them, so the binding decides where they go. */
static void touch_samples(const void *base, size_t size, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), npages = (size + page - 1) / page;
    n = n < npages ? n : npages;
    for (size_t i = 0; i < n; i++)
        (void)*(volatile const char *)((const char *)base + (i * npages / n) * page);
}

long placement_settle(daemon_ctx *d, struct session *s)
{
    if (!numa_plan_active(d->numa) || s->node < 0 || s->node >= MAX_COUNTED_NODES)
        return 0;
    void *base = shm_session_base(s->shm);
    size_t size = (size_t)shm_session_size(s->shm);
    touch_samples(base, size, SETTLE_SAMPLES);
    unsigned counts[MAX_COUNTED_NODES];
    long present = numa_range_nodes(base, size, SETTLE_SAMPLES, counts, MAX_COUNTED_NODES);
    if (present < 0) {
        log_warn("numa: client %llu (pid %d): cannot read where its segment is: %s",
                 (unsigned long long)s->id, (int)s->pid, strerror((int)-present));
        return 0;
    }
    long off = present - counts[s->node];
    if (off > 0) {
        atomic_fetch_add_explicit(&d->numa_spills, 1, memory_order_relaxed);
        log_warn("numa: client %llu (pid %d): %ld of %ld sampled pages of its segment are not "
                 "on node %d (node %d has %lld MiB free; full, or the binding failed): its "
                 "requests cross the interconnect",
                 (unsigned long long)s->id, (int)s->pid, off, present, s->node, s->node,
                 numa_node_free_mib(s->node));
    }
    return off;
}

static int node_of(int cpu)
{
    return cpu >= 0 ? numa_cpu_node(cpu) : -1;
}

bool placement_stats_client(FILE *f, daemon_ctx *d, struct session *s)
{
    int wcpu = worker_cpu(s->worker), wnode = worker_node(s->worker);
    int now = numa_pid_cpu(s->pid);
    now = now < 0 ? -1 : now;
    unsigned counts[MAX_COUNTED_NODES];
    long present = numa_range_nodes(shm_session_base(s->shm), (size_t)shm_session_size(s->shm),
                                    STATS_SAMPLES, counts, MAX_COUNTED_NODES);
    int maxn = numa_max_node_id();
    maxn = maxn < MAX_COUNTED_NODES ? maxn : MAX_COUNTED_NODES - 1;
    int seg_node = -1;
    for (int n = 0; present > 0 && n <= maxn; n++)
        if (counts[n] > 0 && (seg_node < 0 || counts[n] > counts[seg_node]))
            seg_node = n;
    bool mismatch = false;
    if (numa_plan_active(d->numa) && wnode >= 0)
        mismatch = (present > 0 && (long)counts[wnode] < present) ||
                   (now >= 0 && node_of(now) != wnode);
    fprintf(f,
            ",\"client_cpu\":%d,\"client_node\":%d,\"now_cpu\":%d,\"now_node\":%d,\"worker\":%d,"
            "\"worker_cpu\":%d,\"worker_node\":%d,\"segment_node\":%d,\"segment_pages\":[",
            s->client_cpu, node_of(s->client_cpu), now, node_of(now), worker_index(s->worker),
            wcpu, wnode >= 0 ? wnode : node_of(wcpu), seg_node);
    for (int n = 0; n <= maxn; n++)
        fprintf(f, "%s%u", n ? "," : "", present > 0 ? counts[n] : 0u);
    fprintf(f, "],\"mismatch\":%s", mismatch ? "true" : "false");
    return mismatch;
}
