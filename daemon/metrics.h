/*
 * metrics.h — the daemon's statistics in the Prometheus text exposition
 * format 0.0.4: the one renderer behind both GET /metrics
 * (metrics_http.h) and SHM_OP_STATS with arg0 = SHM_STATS_PROMETHEUS
 * (`lsmctl stats --format prometheus`), so the two always agree.
 *
 * Naming (https://prometheus.io/docs/practices/naming/): every name starts
 * with lsmd_; counters end in _total; sizes are _bytes, times _seconds;
 * latencies are histograms with fixed buckets (lsm.h, lsm_metrics:
 * 1 us .. 2.5 s), so rates and quantiles over any window can be computed
 * (histogram_quantile), not only percentiles since start.  The families:
 *
 *   engine (lsm_metrics_get)
 *     lsmd_info{io_backend,compaction_style}                  gauge 1
 *     lsmd_last_sequence                                      gauge
 *     lsmd_level_files{level}, lsmd_level_bytes{level},
 *     lsmd_level_score{level}                                 gauges
 *     lsmd_sorted_runs, lsmd_table_bytes,
 *     lsmd_pending_compaction_bytes, lsmd_memtable_bytes,
 *     lsmd_immutable_memtables, lsmd_compactions_running      gauges
 *     lsmd_user_written_bytes_total, lsmd_flush_written_bytes_total,
 *     lsmd_compaction_read_bytes_total,
 *     lsmd_compaction_written_bytes_total                     counters
 *     lsmd_write_amplification, lsmd_space_amplification      gauges
 *     lsmd_compactions_total, lsmd_subcompactions_total       counters
 *     lsmd_write_stalls_total, lsmd_write_stall_seconds_total,
 *     lsmd_write_slowdowns_total,
 *     lsmd_write_slowdown_seconds_total,
 *     lsmd_compaction_rate_limit_wait_seconds_total           counters
 *     lsmd_wal_syncs_total, lsmd_wal_groups_total,
 *     lsmd_wal_group_writes_total (mean group size =
 *       rate(writes) / rate(groups))                          counters
 *     lsmd_gets_total, lsmd_get_tables_probed_total,
 *     lsmd_bloom_checks_total, lsmd_bloom_useful_total,
 *     lsmd_block_cache_hits_total, lsmd_block_cache_misses_total,
 *     lsmd_table_cache_opens_total, lsmd_table_cache_hits_total,
 *     lsmd_table_cache_evictions_total                        counters
 *     lsmd_block_cache_capacity_bytes, lsmd_block_cache_usage_bytes,
 *     lsmd_table_cache_open_tables, lsmd_table_cache_max_open_tables  gauges
 *     lsmd_background_error (1 = read-only), lsmd_background_error_code,
 *     lsmd_transient_error_code                               gauges
 *     lsmd_transient_errors_total                             counter
 *     lsmd_io_operations_total{kind,path="ring"|"inline"},
 *     lsmd_io_submissions_total{kind},
 *     lsmd_io_ring_submissions_total                          counters
 *     lsmd_get_latency_seconds, lsmd_write_latency_seconds    histograms
 *   daemon
 *     lsmd_uptime_seconds, lsmd_workers, lsmd_clients,
 *     lsmd_snapshots (published snapshot IDs held)            gauges
 *     lsmd_client_attaches_total, lsmd_client_refusals_total,
 *     lsmd_client_deaths_total                                counters
 *     lsmd_worker_requests_total{worker},
 *     lsmd_worker_sleeps_total{worker},
 *     lsmd_worker_parked_gets_total{worker}                   counters
 *     lsmd_admin_jobs_total{result="run"|"dropped"|"refused"|"busy"}  counter
 *     lsmd_admin_queued{lane}, lsmd_admin_running{lane}       gauges
 *
 * Cost and bounds: built from counters and snapshots (lsm_metrics_get
 * holds the engine mutex for a few loads; the session list lock and the
 * snapshot registry lock are taken only to count), no I/O, O(workers)
 * lines; the text is refused past METRICS_MAX_BYTES rather than grown
 * without end.
 *
 * Thread safety: any thread, several at once (the HTTP thread and the
 * admin control lane).  REQUIRES: d's workers, admin queue, snapshot
 * registry and engine stay up meanwhile (main stops the HTTP server
 * before them).
 */
#ifndef LSMD_METRICS_H
#define LSMD_METRICS_H

#include <stddef.h>

#include "daemon.h"

/* About 12 KiB with 2 workers, 150 bytes more per worker: a 1024-worker
 * daemon stays far below. */
#define METRICS_MAX_BYTES ((size_t)1 << 20)

/* The text (malloc'd, NUL-terminated, *len without the NUL; free()).
 * Errors: -ENOMEM, -E2BIG (above METRICS_MAX_BYTES), the engine's
 * lsm_metrics_get error. */
int metrics_text(daemon_ctx *d, char **text, size_t *len);

#endif
