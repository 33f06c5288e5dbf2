/*
 * clock.h — the two clocks of the database layer, one place for both.
 *
 *   db_now_us   wall clock (gettimeofday), microseconds: event start and
 *               end times shown in stats, comparable across processes.
 *   db_mono_ns  CLOCK_MONOTONIC, nanoseconds: back-off, slowdown and
 *               transient-error deadlines, never moved by a clock step.
 *
 * Thread safety: both are plain system calls; any thread.
 */
#ifndef LSM_DB_CLOCK_H
#define LSM_DB_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

static inline uint64_t db_now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static inline uint64_t db_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
