/*
 * wal_syncer.h — the second step of a synced write: the syncer of a
 * database (two threads) makes the WAL durable and acknowledges the
 * synced writes.
 *
 * The workers apply writes themselves (batcher.h, lsm_write_pos without
 * LSM_SYNC: WAL write + memtable, no fdatasync) and hand each synced write
 * here with the WAL position it was applied at.  A syncer thread takes
 * everything handed so far (a round), calls lsm_sync_wal up to the
 * highest position among it (one fdatasync, shared by every worker's
 * writes: the writes handed while it runs make up the next round), then
 * posts each write's completion to its client's ring and wakes the
 * client.  The second thread takes the next round meanwhile, so its
 * fdatasync starts as soon as the previous one ends instead of after the
 * acknowledgements; rounds are acknowledged in the order taken.  So no worker
 * ever waits for an fdatasync, and a client's synced write is acknowledged
 * only once it is durable (it survives SIGKILL of the daemon and power
 * loss).  A failed sync fails every write it covered, with its error; the
 * engine is read-only from then on.
 *
 * Order: a worker hands a client's writes in the order it applied them,
 * and the syncer posts them in the order handed (round after round), so a client's synced
 * writes are acknowledged in its order.  (A later unsynced write may be
 * acknowledged before an earlier synced one: it is applied after it, so
 * nothing a client can observe breaks.)
 *
 * Sessions: each handed write holds a reference on its session until it
 * is acknowledged, so a client that detaches meanwhile leaves a session
 * that is still valid to post to (session_post is safe on an ended one).
 *
 * Thread safety: wal_syncer_add and wal_syncer_flush from any thread;
 * new/free from the main thread, free after every worker stopped.
 */
#ifndef LSMD_WAL_SYNCER_H
#define LSMD_WAL_SYNCER_H

#include <stdint.h>

#include "lsm.h"

struct session;
typedef struct wal_syncer wal_syncer;

/* A synced write applied and awaiting its acknowledgement. */
typedef struct wal_ack {
    struct session *s; /* a reference, handed over with the ack */
    uint32_t tag;
} wal_ack;

/* Starts the syncer threads for db.  Errors: -ENOMEM, -errno of
 * pthread_create. */
int wal_syncer_new(lsm_db *db, wal_syncer **out);

/* Acknowledges every write still handed (after syncing them), stops the
 * threads and frees sy; NULL is a no-op. */
void wal_syncer_free(wal_syncer *sy);

/* Hands over n synced writes applied at WAL positions <= pos (the
 * references in acks go with them).  Returns at once; the completions
 * (status 0, or the sync's error) are posted once the WAL is durable up
 * to pos.  Out of memory it syncs and acknowledges them itself, here. */
void wal_syncer_add(wal_syncer *sy, const wal_ack *acks, int n, uint64_t pos);

/* Counters since start: synced writes acknowledged, and the rounds (one
 * lsm_sync_wal each) that acknowledged them; writes / rounds is the mean
 * number of synced writes one fdatasync made durable.  gathers: rounds
 * taken after waiting for more writes (wal_syncer.c, "Gathering"). */
typedef struct wal_syncer_stats {
    uint64_t writes, rounds, gathers;
} wal_syncer_stats;
void wal_syncer_stats_get(wal_syncer *sy, wal_syncer_stats *out);

/* Returns once every write handed before the call is acknowledged. */
void wal_syncer_flush(wal_syncer *sy);

#endif
