/*
 * numa.h — NUMA placement for lsmd (libnuma and the raw system calls).
 *
 * The plan decides, once at start-up, which node each worker thread runs
 * on; a client is then served by a worker of the node its CPU belongs to
 * (the client reports its CPU at attach), and its shared segment is bound to
 * that node before any page of it is touched, so requests, keys and values
 * never cross the interconnect.  docs/tuning.md ("NUMA") is the operator's
 * side of this file.
 *
 *   mode   what happens
 *   off    nothing: no pinning, no memory policy
 *   auto   workers spread over the nodes that have CPUs this process may
 *          use (round-robin, no node given more workers than it has such
 *          CPUs while another has room), each pinned to its node's CPUs;
 *          engine memory (memtables, block cache) interleaved over all
 *          nodes; segments on the client's node.  A machine with one such
 *          node (or no NUMA support) makes this a no-op.
 *   NODE   everything on one node: workers pinned there, engine memory and
 *          segments preferred there.
 *
 * Segments are placed by shm_segment_create (mbind MPOL_PREFERRED before
 * first touch: a full node spills over rather than failing);
 * placement_settle (placement.h) then reads back where the pages landed.
 * Every failure to place is logged as a warning; none stops the daemon.
 *
 * Thread safety: a numa_plan is immutable after numa_plan_new and may be
 * read from any thread.  The other functions are stateless.  The default
 * worker count and each node's usable CPUs: numa_cpus.h.
 */
#ifndef LSMD_NUMA_H
#define LSMD_NUMA_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

typedef struct numa_plan numa_plan;

/* Builds the plan for nworkers workers.
 * Errors: -EINVAL (NODE mode with a node that does not exist or has no
 *   CPUs this process may use), -ENOMEM. */
int numa_plan_new(enum numa_mode mode, int node, int nworkers, numa_plan **out);
void numa_plan_free(numa_plan *p);

/* true when placement does anything (a multi-node machine, or NODE mode). */
bool numa_plan_active(const numa_plan *p);

/* Sets the process memory policy for engine allocations (interleave over
 * the nodes with memory in auto mode, prefer the node in NODE mode).  Call
 * in the main thread before lsm_open and before starting threads, which
 * inherit it.  Returns 0 or -errno (logged; the daemon carries on). */
int numa_plan_apply_process_policy(const numa_plan *p);

/* The node worker i runs on, or -1 when placement is off. */
int numa_plan_worker_node(const numa_plan *p, int worker);

/* Pins the calling thread to worker i's node's usable CPUs.  Its memory
 * policy stays the process's (engine memory it allocates, a memtable
 * block say, is engine memory).  Returns 0 or -errno (logged); a no-op
 * when placement is off. */
int numa_plan_pin_worker(const numa_plan *p, int worker);

/* The node that should serve a client running on cpu (-1: any; also when
 * cpu < 0 or unknown, or placement is off). */
int numa_plan_client_node(const numa_plan *p, int cpu);

/* The node holding the page at addr (touching it in if needed), or -errno. */
int numa_addr_node(const void *addr);

/* Where the pages of [base, base + size) are, without touching any: up to
 * max_samples pages spread evenly over the range are looked up; counts[n]
 * (n < ncounts, zeroed first) gets how many of them are on node n.
 * Returns how many of the sampled pages are present (pages never touched
 * are in no count), or -errno. */
long numa_range_nodes(const void *base, size_t size, size_t max_samples, unsigned *counts,
                      int ncounts);

/* The node of cpu (0 on a machine without NUMA support). */
int numa_cpu_node(int cpu);

/* The CPU process pid last ran on (/proc/PID/stat), or -errno. */
int numa_pid_cpu(pid_t pid);

/* Free memory of node in MiB, or -1 when unknown. */
long long numa_node_free_mib(int node);

/* The highest node number (0 without NUMA support). */
int numa_max_node_id(void);

#endif
