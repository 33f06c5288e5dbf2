/*
 * worker.h — worker threads: each serves a set of sessions, polling their
 * submission rings, and sleeps (after a bounded spin) in one futex_waitv on
 * all of them when they are idle.
 *
 * Writes go to the worker's write groups (batcher.h): the worker applies
 * one group of requests across all its clients with one lsm_write_pos,
 * without waiting for a sync; the database's syncer thread makes synced
 * writes durable and acknowledges them (wal_syncer.h).  Any other request
 * of a client first has that client's writes applied (batcher_settle), so
 * every client reads its own writes.  Gets copy the key once into private
 * memory and have the engine write the value into the client's arena; one
 * that misses the block cache is parked (parked.h) and answered when its
 * read completes, so replies to gets may come out of order.  Iterator
 * pages of a scan that reads files go to the worker's iterator lane
 * (iter_lane.h).  Flush, compact,
 * set-option and stats go to the admin queue (admin_queue.h) so a long
 * compaction never stalls other clients.
 *
 * Thread safety: worker_add/worker_kick are called from the main thread;
 * the stats accessors from any; everything else about a worker is its own
 * thread's.
 */
#ifndef LSMD_WORKER_H
#define LSMD_WORKER_H

#include <stdatomic.h>
#include <stdint.h>

#include "daemon.h"

struct session;
typedef struct worker worker;

/* Creates and starts worker `index` (pinned per the NUMA plan).
 * Errors: -ENOMEM, -errno of pthread_create. */
int worker_start(daemon_ctx *d, int index, worker **out);

/* Asks the worker to finish: it serves what its clients have queued (the
 * drain), ends every session with ESHUTDOWN, reclaims them and exits.
 * worker_join waits for that; worker_free (after the admin thread, which
 * reads workers' counters, has stopped) frees w. */
void worker_stop(worker *w);
void worker_join(worker *w);
void worker_free(worker *w);

/* Hands s (with its worker reference) to w. */
void worker_add(worker *w, struct session *s);

/* Wakes w to look at its sessions (a death, a new session, shutdown). */
void worker_kick(worker *w);

/* For stats (any thread; values may be slightly stale). */
int worker_index(const worker *w);
int worker_node(const worker *w);        /* pinned node, -1 none */
int worker_cpu(const worker *w);         /* CPU it last ran on */
int worker_nsessions(const worker *w);
uint64_t worker_parked_gets(const worker *w); /* gets that waited for a read */
uint64_t worker_lane_iters(const worker *w);  /* iterator requests its lane served */
void worker_counters(const worker *w, uint64_t *requests, uint64_t *groups,
                     uint64_t *grouped_writes, uint64_t *sleeps);

#endif
