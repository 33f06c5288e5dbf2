/*
 * events.h — the event log: one record per flush or compaction (kind,
 * reason, style, levels, sizes, times, status), kept in a ring of
 * DB_EVENT_LOG in lsm_db for stats (db_stats.c prints it) and the
 * compaction picture.  The record type, db_event, is in db_impl.h: the
 * ring is part of lsm_db.
 *
 * A job opens its record with db_event_begin and fills in the rest (end
 * time, sizes, status) itself, under mu.
 *
 * Thread safety: REQUIRES db->mu held (the ring is a [mu] field).
 */
#ifndef LSM_DB_EVENTS_H
#define LSM_DB_EVENTS_H

#include "lsm.h"

typedef struct db_event db_event;

/* Logs an event started now under the current compaction style; returns
 * its record for completion (valid until DB_EVENT_LOG more events are
 * logged).  REQUIRES: mu held. */
db_event *db_event_begin(lsm_db *db, const char *kind, const char *reason, int output_level);

#endif
