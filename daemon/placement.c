/* placement.c — see placement.h. */
#include "placement.h"

#include "worker.h"

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
