/*
 * svg_schedule.h — the compaction schedule picture: one lane per level,
 * one bar per flush or compaction, from the "events" array of
 * lsm_stats_json (also found inside lsmd_stats_json's {"engine": {...}}).
 *
 * Each event object carries: id, kind (flush | compaction | move), reason,
 * style (leveled | tiered), input_levels (bit l = inputs from level l),
 * output_level, start_us, end_us (wall clock; 0 while running), files_in,
 * files_out, bytes_in, bytes_out, status (0 or an error code).
 *
 * Drawing
 *   x is time; each level's lane holds the events whose output is that
 *   level (a flush lands in L0); events that overlap in time get stacked
 *   sub-rows inside the lane.  A bar is labelled "in -> out" bytes when it
 *   is wide enough; hovering shows everything (<title>).  Colours: flush
 *   blue, leveled compaction orange, tiered compaction green with a hatch,
 *   trivial move grey; a failed event has a red outline, a running one a
 *   dashed outline up to the window's end.
 *
 * Linking (lsmctl, lsmbench): build/libviz.a (libclient/viz/); add -lm.
 *
 * Thread safety: writes only to out.
 */
#ifndef LSM_VIZ_SVG_SCHEDULE_H
#define LSM_VIZ_SVG_SCHEDULE_H

#include <stdint.h>
#include <stdio.h>

typedef struct svg_schedule_opts {
    const char *title;      /* NULL: "flush / compaction schedule" */
    uint64_t from_us;       /* window (wall-clock us); 0: the first event */
    uint64_t to_us;         /* 0: the last event's end */
    int width;              /* pixels; 0: 1200 */
} svg_schedule_opts;

/* Draws the events of events_json (a statistics object, or any JSON text
 * holding an "events" array) as an SVG document on out.  An empty array
 * gives a picture that says so.
 * Errors: -EINVAL (no "events" array in the text), -ENOMEM, -EIO (writing
 * out failed). */
int svg_compaction_schedule(const char *events_json, FILE *out);
int svg_compaction_schedule_ex(const char *events_json, FILE *out,
                               const svg_schedule_opts *opts);

#endif
