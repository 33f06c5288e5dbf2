/* numa_cpus.c — see numa_cpus.h. */
#include "numa_cpus.h"

#include <numa.h>
#include <unistd.h>

void numa_process_cpus(cpu_set_t *set)
{
    if (sched_getaffinity(0, sizeof *set, set) != 0 || CPU_COUNT(set) == 0) {
        CPU_ZERO(set);
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        for (long c = 0; c < (n > 0 ? n : 1) && c < CPU_SETSIZE; c++)
            CPU_SET((int)c, set);
    }
}

int numa_node_usable_cpus(int node, const cpu_set_t *allowed, cpu_set_t *out)
{
    CPU_ZERO(out);
    if (numa_available() < 0 || node < 0 || node > numa_max_node())
        return 0;
    struct bitmask *cpus = numa_allocate_cpumask();
    if (!cpus)
        return 0;
    if (numa_node_to_cpus(node, cpus) == 0)
        for (unsigned c = 0; c < cpus->size && c < CPU_SETSIZE; c++)
            if (numa_bitmask_isbitset(cpus, c) && CPU_ISSET(c, allowed))
                CPU_SET(c, out);
    numa_bitmask_free(cpus);
    return CPU_COUNT(out);
}

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

int numa_default_workers(bool off, int node)
{
    cpu_set_t allowed, on;
    numa_process_cpus(&allowed);
    int one_node = min_int(NUMA_WORKERS_PER_NODE, CPU_COUNT(&allowed));
    if (off || numa_available() < 0)
        return one_node;
    if (node >= 0) {
        int n = numa_node_usable_cpus(node, &allowed, &on);
        return n > 0 ? min_int(NUMA_WORKERS_PER_NODE, n) : 1; /* the plan refuses the node */
    }
    int sum = 0;
    for (int nd = 0; nd <= numa_max_node(); nd++)
        sum += min_int(NUMA_WORKERS_PER_NODE, numa_node_usable_cpus(nd, &allowed, &on));
    return sum > 0 ? sum : one_node;
}
