/* numa.c — see numa.h. */
#include "numa.h"

#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

struct numa_plan {
    enum numa_mode mode;
    bool active;
    int nworkers;
    int *worker_node; /* [nworkers], -1 when inactive */
};

/* true when node exists and has at least one CPU. */
static bool node_has_cpus(int node)
{
    struct bitmask *cpus = numa_allocate_cpumask();
    if (!cpus)
        return false;
    bool ok = numa_node_to_cpus(node, cpus) == 0 && numa_bitmask_weight(cpus) > 0;
    numa_bitmask_free(cpus);
    return ok;
}

int numa_plan_new(enum numa_mode mode, int node, int nworkers, numa_plan **out)
{
    numa_plan *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->mode = mode;
    p->nworkers = nworkers;
    p->worker_node = malloc((size_t)nworkers * sizeof *p->worker_node);
    if (!p->worker_node) {
        free(p);
        return -ENOMEM;
    }
    for (int i = 0; i < nworkers; i++)
        p->worker_node[i] = -1;

    bool have_numa = numa_available() >= 0;
    if (mode == NUMA_MODE_NODE) {
        if (!have_numa ? node != 0 : (node > numa_max_node() || !node_has_cpus(node))) {
            log_error("numa: node %d does not exist or has no CPUs", node);
            numa_plan_free(p);
            return -EINVAL;
        }
        p->active = have_numa;
        for (int i = 0; i < nworkers; i++)
            p->worker_node[i] = have_numa ? node : -1;
    } else if (mode == NUMA_MODE_AUTO && have_numa && numa_num_configured_nodes() > 1) {
        int nodes[64], n = 0;
        for (int nd = 0; nd <= numa_max_node() && n < 64; nd++)
            if (node_has_cpus(nd))
                nodes[n++] = nd;
        p->active = n > 1;
        for (int i = 0; p->active && i < nworkers; i++)
            p->worker_node[i] = nodes[i % n];
    }
    if (mode == NUMA_MODE_AUTO && !p->active)
        log_info("numa: single node (or no NUMA support): placement is a no-op");
    *out = p;
    return 0;
}

void numa_plan_free(numa_plan *p)
{
    if (!p)
        return;
    free(p->worker_node);
    free(p);
}

bool numa_plan_active(const numa_plan *p)
{
    return p->active;
}

int numa_plan_apply_process_policy(const numa_plan *p)
{
    if (!p->active)
        return 0;
    if (p->mode == NUMA_MODE_NODE) {
        numa_set_preferred(p->worker_node[0]);
    } else {
        numa_set_interleave_mask(numa_all_nodes_ptr);
    }
    return 0;
}

int numa_plan_worker_node(const numa_plan *p, int worker)
{
    if (worker < 0 || worker >= p->nworkers)
        return -1;
    return p->worker_node[worker];
}

int numa_plan_pin_worker(const numa_plan *p, int worker)
{
    int node = numa_plan_worker_node(p, worker);
    if (!p->active || node < 0)
        return 0;
    if (numa_run_on_node(node) != 0) {
        int e = errno;
        log_warn("numa: cannot pin worker %d to node %d: %s", worker, node, strerror(e));
        return -e;
    }
    /* The worker's own allocations (stacks, scratch) stay local. */
    numa_set_localalloc();
    return 0;
}

int numa_plan_client_node(const numa_plan *p, int cpu)
{
    if (!p->active)
        return -1;
    if (p->mode == NUMA_MODE_NODE)
        return p->worker_node[0];
    if (cpu < 0)
        return -1;
    int node = numa_node_of_cpu(cpu);
    if (node < 0)
        return -1;
    /* Only nodes that have a worker can serve. */
    for (int i = 0; i < p->nworkers; i++)
        if (p->worker_node[i] == node)
            return node;
    return -1;
}

int numa_addr_node(const void *addr)
{
    int node = -1;
    if (get_mempolicy(&node, NULL, 0, (void *)addr, MPOL_F_NODE | MPOL_F_ADDR) != 0)
        return -errno;
    return node;
}

int numa_cpu_node(int cpu)
{
    if (numa_available() < 0)
        return 0;
    int n = numa_node_of_cpu(cpu);
    return n < 0 ? 0 : n;
}
