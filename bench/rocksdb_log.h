/*
 * rocksdb_log.h — RocksDB's flush and compaction history, read from the
 * EVENT_LOG_v1 lines of its info LOG file, in lsm_stats_json's "events"
 * form, so the RocksDB target gets the same compaction-schedule picture
 * and exact write amplification (the C API has no event listener, and
 * "rocksdb.stats" rounds bytes to hundredths of a GB).
 *
 * Lines used (one JSON object after "EVENT_LOG_v1 ", all with "job" and
 * "time_micros", wall-clock microseconds as our events):
 *   flush_started        start; "flush_reason"; "total_data_size" = bytes in
 *   table_file_creation  one output file of the job: "file_size"
 *   flush_finished       end (output level 0)
 *   compaction_started   start; "compaction_reason"; "files_L<n>" arrays
 *                        give the input levels and files; "input_data_size";
 *                        the output level is guessed until it finishes
 *   compaction_finished  end; "output_level", "num_output_files",
 *                        "total_output_size"; a compaction with no output
 *                        from existing inputs is shown as a move
 * RocksDB flushes its LOG every few seconds, so the newest events may show
 * up late; everything is there once the database is closed.
 *
 * Thread safety: pure functions.
 */
#ifndef BENCH_ROCKSDB_LOG_H
#define BENCH_ROCKSDB_LOG_H

#include <stdint.h>

typedef struct rocksdb_log_totals {
    uint64_t flushes, compactions;
    uint64_t flush_bytes;      /* bytes of tables written by flushes */
    uint64_t compact_bytes;    /* bytes of tables written by compactions */
} rocksdb_log_totals;

/* Converts the text of a RocksDB LOG file into a malloc'd
 * {"events":[...]} (fields as lsm_stats_json's; style is the given
 * string) and fills *tot.  Returns 0, or -ENOMEM. */
int rocksdb_log_events(const char *log_text, const char *style, char **json,
                       rocksdb_log_totals *tot);

#endif
