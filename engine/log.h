/*
 * log.h — leveled diagnostic logging to stderr.
 *
 * The level comes from the environment variable LSMD_LOG_LEVEL
 * (error|warn|info|debug; default info) or lsm_log_set_level().
 * Thread safety: safe from any thread; one line is written with one write().
 */
#ifndef LSM_LOG_H
#define LSM_LOG_H

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
#define log_debug(...)                                          \
    do {                                                        \
        if (lsm_log_enabled(LSM_LOG_DEBUG))                     \
            lsm_log(LSM_LOG_DEBUG, __VA_ARGS__);                \
    } while (0)

#endif
