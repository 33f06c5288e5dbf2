/*
 * numa_cpus.h — the CPUs of each NUMA node that this process may run on,
 * and the default worker count derived from them.  Apart from numa.h so
 * that config.c can size the workers without numa.h's plan (which reads
 * the config).
 *
 * "May run on" is the process's affinity at the call (taskset, systemd's
 * CPUAffinity=): an lsmd confined to one node's CPUs sees one node.
 *
 * Thread safety: stateless; any thread.
 */
#ifndef LSMD_NUMA_CPUS_H
#define LSMD_NUMA_CPUS_H

#include <sched.h>
#include <stdbool.h>

/* Workers per node when --workers is 0: a node's clients are served on
 * their node even while one of its workers is busy with a long request
 * (docs/tuning.md, "NUMA").  Never more than the node's usable CPUs. */
#define NUMA_WORKERS_PER_NODE 2

/* The CPUs this process may run on, into set (every online CPU when the
 * affinity cannot be read). */
void numa_process_cpus(cpu_set_t *set);

/* The CPUs of node that are in allowed, into out; their count (0 when the
 * node does not exist, has no CPUs, or there is no NUMA support). */
int numa_node_usable_cpus(int node, const cpu_set_t *allowed, cpu_set_t *out);

/* The default worker count: NUMA_WORKERS_PER_NODE per node with usable
 * CPUs (capped at their count) — only node's when node >= 0 (--numa NODE);
 * as for one node when off (--numa off) or without NUMA support.  At
 * least 1. */
int numa_default_workers(bool off, int node);

#endif
