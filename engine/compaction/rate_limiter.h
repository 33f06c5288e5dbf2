/*
 * rate_limiter.h — a token bucket that paces background writes
 * (compaction output) to a byte rate, so compaction does not starve
 * foreground I/O (cf. RocksDB's GenericRateLimiter, simplified).
 *
 * Thread safety: all calls are safe from any thread.
 */
#ifndef LSM_RATE_LIMITER_H
#define LSM_RATE_LIMITER_H

#include <stdint.h>

typedef struct rate_limiter rate_limiter;

/* bytes_per_sec 0 = unlimited.  NULL on ENOMEM. */
rate_limiter *rate_limiter_new(uint64_t bytes_per_sec);
void rate_limiter_free(rate_limiter *rl);

/* Changes the rate at run time (0 = unlimited); wakes sleeping callers. */
void rate_limiter_set_rate(rate_limiter *rl, uint64_t bytes_per_sec);
uint64_t rate_limiter_rate(const rate_limiter *rl);

/* Takes n bytes of budget, sleeping until the bucket has them.  A request
 * larger than one second of budget is granted in one-second slices. */
void rate_limiter_request(rate_limiter *rl, uint64_t n);

/* Total nanoseconds callers have slept (for stats). */
uint64_t rate_limiter_wait_ns(const rate_limiter *rl);

#endif
