/*
 * get_queues.h — the io_queues lsm_multi_get borrows, kept per database.
 *
 * Setting up an io_uring queue costs far more than a multi-get of a few
 * keys, so queues are reused: a call takes one from its database's pool
 * (or makes one) and gives it back when done.  The pool grows to the
 * number of threads that ran multi-gets at once (at most
 * GET_QUEUES_MAX_IDLE stay idle) and is freed by lsm_close.  A pool per
 * database, not a queue per thread: a thread-local queue would outlive the
 * database (and its lsm_io) it was made on.
 */
#ifndef LSM_GET_QUEUES_H
#define LSM_GET_QUEUES_H

#include "db/db_impl.h"
#include "io/io_queue.h"

/* Operations in flight per borrowed queue. */
#define GET_QUEUE_DEPTH 128
#define GET_QUEUES_MAX_IDLE 16

/* A queue of GET_QUEUE_DEPTH on db->io for the calling thread until it is
 * given back.  Errors: -ENOMEM, the backend's -errno. */
int db_get_queue_take(lsm_db *db, io_queue **out);

/* Returns q (nothing in flight) to the pool, or frees it. */
void db_get_queue_give(lsm_db *db, io_queue *q);

/* Frees the pool.  REQUIRES: no multi-get running (lsm_close). */
void db_get_queues_free(lsm_db *db);

#endif
