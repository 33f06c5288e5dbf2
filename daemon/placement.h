/*
 * placement.h — where a new client is served: which worker, and on which
 * NUMA node its segment goes.
 *
 * The worker is the least loaded one (fewest sessions) on the client's
 * node (numa_plan_client_node of the CPU it reported in its hello), else
 * the least loaded overall.  The segment goes on the client's node, or on
 * that worker's node when the client's is unknown (-1: none).
 *
 * Thread safety: main thread (between session_hello and session_attach);
 * the workers' session counts it reads may be slightly stale.
 */
#ifndef LSMD_PLACEMENT_H
#define LSMD_PLACEMENT_H

#include "daemon.h"

struct worker;

/* The worker for a client on client_cpu (-1: unknown); *node gets the
 * node for its segment. */
struct worker *placement_pick(daemon_ctx *d, int client_cpu, int *node);

#endif
