/*
 * placement.h — where a new client is served: which worker, and on which
 * NUMA node its segment goes; then where the segment really landed.
 *
 * The worker is the least loaded one (fewest sessions) on the client's
 * node (numa_plan_client_node of the CPU it reported in its hello), else
 * the least loaded overall.  The segment goes on the client's node, or on
 * that worker's node when the client's is unknown (-1: none).
 *
 * A client that later moves to another node keeps its worker and its
 * segment: they are fixed at attach (moving a live segment under a
 * busy-polling worker would cost more than the remote accesses, and the
 * client may move back).  The stats show it (placement_stats_client:
 * "now_node" differs from "worker_node") and count it as a mismatch.
 *
 * Thread safety: main thread (between session_hello and session_attach,
 * then placement_settle); the workers' session counts it reads may be
 * slightly stale.  placement_stats_client may run on any thread that keeps the
 * session's segment mapped (the sessions list lock).
 */
#ifndef LSMD_PLACEMENT_H
#define LSMD_PLACEMENT_H

#include <stdbool.h>
#include <stdio.h>

#include "daemon.h"

struct worker;
struct session;

/* The worker for a client on client_cpu (-1: unknown); *node gets the
 * node for its segment. */
struct worker *placement_pick(daemon_ctx *d, int client_cpu, int *node);

/* After session_attach, when placement is active and s has a node: faults
 * in 64 pages spread over s's segment (the binding decides where they
 * go), reads back where they are, and when some are not on s->node (the
 * node is full: the preferred policy spills over; or the binding failed)
 * logs a warning naming the client, the node and its free memory, and
 * counts it in d->numa_spills.  Returns how many sampled pages are off
 * the node.  Pages the client faults in later can still spill: the
 * stats' sample (placement_stats_client) shows them. */
long placement_settle(daemon_ctx *d, struct session *s);

/* Writes s's placement as JSON members (no braces; starts with a comma):
 * "client_cpu", "client_node" (at attach), "now_cpu", "now_node" (where the
 * client last ran), "worker", "worker_cpu", "worker_node", "segment_node"
 * (where most sampled pages are), "segment_pages" (sampled pages per node,
 * an array indexed by node), "mismatch" (pages off the worker's node, or
 * the client now on another node; only when placement is active).
 * Returns whether it is a mismatch. */
bool placement_stats_client(FILE *f, daemon_ctx *d, struct session *s);

#endif
