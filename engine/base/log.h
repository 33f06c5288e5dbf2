/*
 * log.h — leveled diagnostic logging to stderr.
 *
 * The level comes from the environment variable LSMD_LOG_LEVEL
 * (error|warn|info|debug; default info) or lsm_log_set_level().
 * Thread safety: safe from any thread; one line is written with one write().
 */
#ifndef LSM_LOG_H
#define LSM_LOG_H

#include <stdatomic.h>

enum lsm_log_level {
    LSM_LOG_ERROR = 0,
    LSM_LOG_WARN = 1,
    LSM_LOG_INFO = 2,
    LSM_LOG_DEBUG = 3,
};

void lsm_log_set_level(enum lsm_log_level level);
int lsm_log_enabled(enum lsm_log_level level);
void lsm_log(enum lsm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) lsm_log(LSM_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) lsm_log(LSM_LOG_WARN, __VA_ARGS__)
#define log_info(...) lsm_log(LSM_LOG_INFO, __VA_ARGS__)
/* A limit for log lines that a client can trigger (a refused request, a
 * silent connection): at most one line per interval_ns; the lines held
 * back meanwhile are counted and reported in the next line that passes
 * ("... (37 similar lines suppressed)").  Zero-initialize one per call
 * site, usually `static lsm_log_limit lim;`.  Thread-safe. */
typedef struct lsm_log_limit {
    _Atomic unsigned long long next_ns;    /* CLOCK_MONOTONIC: next line allowed */
    _Atomic unsigned long long suppressed; /* lines held back since the last */
} lsm_log_limit;

void lsm_log_limited(lsm_log_limit *lim, unsigned long long interval_ns,
                     enum lsm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* One line per second at most, from one call site. */
#define log_warn_limited(...)                                               \
    do {                                                                    \
        static lsm_log_limit lim_;                                          \
        lsm_log_limited(&lim_, 1000000000ull, LSM_LOG_WARN, __VA_ARGS__);   \
    } while (0)
#define log_info_limited(...)                                               \
    do {                                                                    \
        static lsm_log_limit lim_;                                          \
        lsm_log_limited(&lim_, 1000000000ull, LSM_LOG_INFO, __VA_ARGS__);   \
    } while (0)

#define log_debug(...)                                          \
    do {                                                        \
        if (lsm_log_enabled(LSM_LOG_DEBUG))                     \
            lsm_log(LSM_LOG_DEBUG, __VA_ARGS__);                \
    } while (0)

#endif
