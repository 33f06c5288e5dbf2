/*
 * log.h — leveled diagnostic logging: to the application's callback
 * (lsm_set_log_callback, lsm.h), else to stderr or a log file.
 *
 * The level is the one set with lsm_log_set_level (lsm.h), else the
 * environment variable LSMD_LOG_LEVEL (error|warn|info|debug), else the
 * default: warn for the library, so an embedding program's stderr shows
 * only what needs attention; lsmd makes its default info
 * (lsm_log_set_default_level) and logs as a service does.
 *
 * Line format on stderr or a file, chosen once per destination:
 *   - stderr connected to the systemd journal (JOURNAL_STREAM names
 *     stderr's device and inode, see systemd.exec(5)): a syslog priority
 *     prefix that journald turns into the entry's PRIORITY, and no date
 *     or pid (the journal records both):
 *         <6>lsm INFO  lsmd: serving ...
 *     ERROR -> <3> (err), WARN -> <4> (warning), INFO -> <6> (info),
 *     DEBUG -> <7> (debug).
 *   - otherwise (a terminal, a pipe, a file): an ISO 8601 local date with
 *     milliseconds and the UTC offset, then the level and the pid:
 *         2026-12-07T18:43:55.123+00:00 lsm INFO  [4242] lsmd: serving ...
 * A callback gets the message alone.
 *
 * Thread safety: lsm_log* are safe from any thread; one line is written
 * with one write(), so lines from threads never interleave.
 * lsm_log_set_file and lsm_log_reopen must not run concurrently with each
 * other (the daemon calls them from its main thread only); they may run
 * while other threads log: the log descriptor is swapped with dup3(),
 * which is atomic, so a line goes wholly to the old or the new file.
 */
#ifndef LSM_LOG_H
#define LSM_LOG_H

#include <stdatomic.h>

#include "lsm.h" /* enum lsm_log_level, lsm_log_set_level, lsm_set_log_callback */

/* The level used when none was set and LSMD_LOG_LEVEL is unset: warn
 * unless changed here.  Call it first thing (lsmd: info, at the start of
 * main): it also forgets a level set with lsm_log_set_level. */
void lsm_log_set_default_level(enum lsm_log_level level);
/* Forgets a level set with lsm_log_set_level: LSMD_LOG_LEVEL (else the
 * default level) applies again. */
void lsm_log_reset_level(void);
int lsm_log_enabled(enum lsm_log_level level);
void lsm_log(enum lsm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sends the log to path (opened O_APPEND | O_CREAT, mode 0640), or back
 * to stderr when path is NULL, which also checks JOURNAL_STREAM again
 * (the format is otherwise decided once, at the first line).  Lines
 * already written stay where they are.  Errors: -errno of open (the log keeps its old destination),
 * -ENOMEM. */
int lsm_log_set_file(const char *path);

/* Opens the log file's path again (for log rotation: rename the file,
 * then reopen; a new file appears).  No-op (0) when logging to stderr.
 * Errors: as lsm_log_set_file; the old file is kept on error. */
int lsm_log_reopen(void);

/* The file set with lsm_log_set_file, or NULL for stderr.  Valid until
 * the next lsm_log_set_file; same thread rule as lsm_log_set_file. */
const char *lsm_log_file(void);

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
