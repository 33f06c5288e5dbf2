/*
 * events.c — the flush and compaction event log (events.h).
 */
#include <stdio.h>
#include <string.h>

#include "db/events.h"
#include "db/clock.h"
#include "db/db_impl.h"

db_event *db_event_begin(lsm_db *db, const char *kind, const char *reason, int output_level)
{
    db_event *e = &db->events[db->nevents % DB_EVENT_LOG];
    memset(e, 0, sizeof *e);
    e->id = ++db->nevents;
    snprintf(e->kind, sizeof e->kind, "%s", kind);
    snprintf(e->reason, sizeof e->reason, "%s", reason);
    snprintf(e->style, sizeof e->style, "%s", db->picker->name);
    e->output_level = output_level;
    e->start_us = db_now_us();
    return e;
}
