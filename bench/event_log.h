/*
 * event_log.h — the flush/compaction events of a run, gathered from
 * repeated statistics snapshots.
 *
 * The engine keeps only its latest 256 events (lsm_stats_json "events"), so
 * lsmbench reads the statistics every second during a job and keeps every
 * event it sees, by id; an event seen while running (end_us 0) is replaced
 * when it is seen finished.  The log then yields the events of a time
 * window as a {"events":[...]} text that svg_compaction_schedule draws.
 *
 * Thread safety: one thread.
 */
#ifndef BENCH_EVENT_LOG_H
#define BENCH_EVENT_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct event_rec {
    uint64_t id, start_us, end_us;
    char *text;          /* the event's JSON object, verbatim, malloc'd */
} event_rec;

typedef struct event_log {
    event_rec *v;        /* sorted by id */
    size_t n, cap;
} event_log;

void event_log_init(event_log *l);
void event_log_free(event_log *l);

/* Adds or updates the events of a statistics JSON text (the engine's
 * object or the daemon's wrapper).  Returns how many events the text
 * held, or -ENOMEM. */
int event_log_add_json(event_log *l, const char *stats_json);

/* A malloc'd {"events":[...]} with every event that overlaps
 * [from_us, to_us] (wall clock; a running event counts as open-ended).
 * NULL on ENOMEM. */
char *event_log_window_json(const event_log *l, uint64_t from_us, uint64_t to_us);

#endif
