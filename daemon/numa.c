/* numa.c — see numa.h. */
#include "numa.h"

#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "numa_cpus.h"

#define NUMA_MAX_NODES 64 /* nodes a plan spreads workers over */

struct numa_plan {
    enum numa_mode mode;
    bool active;
    int nworkers;
    int *worker_node; /* [nworkers], -1 when inactive */
    cpu_set_t allowed; /* the process's CPUs at start: pins stay inside them */
};

static bool have_numa(void)
{
    return numa_available() >= 0;
}

/* Auto mode: round-robin over the nodes with usable CPUs, skipping a node
 * that has as many workers as such CPUs while another still has room. */
static void spread_workers(numa_plan *p, const int *nodes, const int *ncpus, int n)
{
    int given[NUMA_MAX_NODES] = { 0 };
    int next = 0;
    for (int i = 0; i < p->nworkers; i++) {
        int pick = -1;
        for (int k = 0; k < n && pick < 0; k++) {
            int j = (next + k) % n;
            if (given[j] < ncpus[j])
                pick = j;
        }
        if (pick < 0)
            pick = next % n; /* every node full: plain round-robin */
        p->worker_node[i] = nodes[pick];
        given[pick]++;
        next = pick + 1;
    }
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
    numa_process_cpus(&p->allowed);

    bool numa = have_numa();
    cpu_set_t on;
    if (mode == NUMA_MODE_NODE) {
        if (!numa ? node != 0 : numa_node_usable_cpus(node, &p->allowed, &on) == 0) {
            log_error("numa: node %d does not exist or has no CPUs this process may use", node);
            numa_plan_free(p);
            return -EINVAL;
        }
        p->active = numa;
        for (int i = 0; i < nworkers; i++)
            p->worker_node[i] = numa ? node : -1;
    } else if (mode == NUMA_MODE_AUTO && numa) {
        int nodes[NUMA_MAX_NODES], ncpus[NUMA_MAX_NODES], n = 0;
        for (int nd = 0; nd <= numa_max_node() && n < NUMA_MAX_NODES; nd++) {
            int c = numa_node_usable_cpus(nd, &p->allowed, &on);
            if (c > 0) {
                nodes[n] = nd;
                ncpus[n++] = c;
            }
        }
        p->active = n > 1;
        if (p->active)
            spread_workers(p, nodes, ncpus, n);
    }
    if (mode == NUMA_MODE_AUTO && !p->active)
        log_info("numa: one node with usable CPUs (or no NUMA support): placement is a no-op");
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
    int rc;
    const char *what;
    if (p->mode == NUMA_MODE_NODE) {
        struct bitmask *m = numa_allocate_nodemask();
        if (!m)
            return -ENOMEM;
        numa_bitmask_setbit(m, (unsigned)p->worker_node[0]);
        rc = set_mempolicy(MPOL_PREFERRED, m->maskp, m->size + 1);
        numa_bitmask_free(m);
        what = "prefer the node";
    } else {
        /* numa_all_nodes_ptr: the nodes this process may allocate on. */
        rc = set_mempolicy(MPOL_INTERLEAVE, numa_all_nodes_ptr->maskp,
                           numa_all_nodes_ptr->size + 1);
        what = "interleave over the nodes";
    }
    if (rc != 0) {
        int e = errno;
        log_warn("numa: cannot set the engine's memory policy (%s): %s; engine memory goes "
                 "where it is first touched", what, strerror(e));
        return -e;
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
    cpu_set_t set;
    int e = 0;
    if (numa_node_usable_cpus(node, &p->allowed, &set) == 0)
        e = ENODEV; /* its CPUs went offline since the plan */
    else if (sched_setaffinity(0, sizeof set, &set) != 0)
        e = errno;
    if (e) {
        log_warn("numa: cannot pin worker %d to node %d: %s; it runs on any CPU", worker, node,
                 strerror(e));
        return -e;
    }
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

long numa_range_nodes(const void *base, size_t size, size_t max_samples, unsigned *counts,
                      int ncounts)
{
    memset(counts, 0, (size_t)ncounts * sizeof *counts);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t npages = (size + page - 1) / page;
    size_t n = npages < max_samples ? npages : max_samples;
    if (n == 0)
        return 0;
    void **pages = malloc(n * sizeof *pages);
    int *status = malloc(n * sizeof *status);
    long present = -ENOMEM;
    if (pages && status) {
        for (size_t i = 0; i < n; i++)
            pages[i] = (char *)base + (i * npages / n) * page;
        /* nodes == NULL: only report where each page is (move_pages(2)). */
        if (move_pages(0, (unsigned long)n, pages, NULL, status, 0) != 0) {
            present = -errno;
        } else {
            present = 0;
            for (size_t i = 0; i < n; i++)
                if (status[i] >= 0) {
                    present++;
                    if (status[i] < ncounts)
                        counts[status[i]]++;
                }
        }
    }
    free(pages);
    free(status);
    return present;
}

int numa_cpu_node(int cpu)
{
    if (numa_available() < 0)
        return 0;
    int n = numa_node_of_cpu(cpu);
    return n < 0 ? 0 : n;
}

int numa_pid_cpu(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* Field 39 (processor); count from after the ")" that ends comm, which
     * may itself hold spaces and parentheses. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -EINVAL;
    int field = 2;
    for (; *p && field < 39; p++)
        if (*p == ' ')
            field++;
    char *end;
    long cpu = strtol(p, &end, 10);
    return end == p || cpu < 0 ? -EINVAL : (int)cpu;
}

long long numa_node_free_mib(int node)
{
    long long free_b = -1;
    if (!have_numa() || numa_node_size64(node, &free_b) < 0 || free_b < 0)
        return -1;
    return free_b >> 20;
}

int numa_max_node_id(void)
{
    return have_numa() ? numa_max_node() : 0;
}
