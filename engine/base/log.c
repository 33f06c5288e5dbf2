/* log.c — see log.h. */
#include "base/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* -1: not read from the environment yet. */
static atomic_int g_level = -1;

static int level_from_env(void)
{
    const char *s = getenv("LSMD_LOG_LEVEL");
    if (!s)
        return LSM_LOG_INFO;
    static const char *const names[] = { "error", "warn", "info", "debug" };
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return LSM_LOG_INFO;
}

void lsm_log_set_level(enum lsm_log_level level)
{
    atomic_store(&g_level, (int)level);
}

int lsm_log_enabled(enum lsm_log_level level)
{
    int cur = atomic_load_explicit(&g_level, memory_order_relaxed);
    if (cur < 0) {
        cur = level_from_env();
        atomic_store(&g_level, cur);
    }
    return (int)level <= cur;
}

static void vlog(enum lsm_log_level level, unsigned long long suppressed, const char *fmt,
                 va_list ap)
{
    static const char *const tags[] = { "ERROR", "WARN", "INFO", "DEBUG" };
    char line[1024];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld lsm %-5s [%d] ",
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                     tags[level], (int)getpid());
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    if (suppressed) {
        m = snprintf(line + len, sizeof line - len - 1, " (%llu similar lines suppressed)",
                     suppressed);
        len += m < 0 ? 0 : (size_t)m;
        if (len > sizeof line - 2)
            len = sizeof line - 2;
    }
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w; /* nothing useful to do if stderr is gone */
}

void lsm_log(enum lsm_log_level level, const char *fmt, ...)
{
    if (!lsm_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, 0, fmt, ap);
    va_end(ap);
}

void lsm_log_limited(lsm_log_limit *lim, unsigned long long interval_ns,
                     enum lsm_log_level level, const char *fmt, ...)
{
    if (!lsm_log_enabled(level))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long now = (unsigned long long)ts.tv_sec * 1000000000ull +
                             (unsigned long long)ts.tv_nsec;
    unsigned long long next = atomic_load_explicit(&lim->next_ns, memory_order_relaxed);
    /* One thread wins the slot; the others count themselves suppressed. */
    if (now < next || !atomic_compare_exchange_strong_explicit(
                          &lim->next_ns, &next, now + interval_ns, memory_order_relaxed,
                          memory_order_relaxed)) {
        atomic_fetch_add_explicit(&lim->suppressed, 1, memory_order_relaxed);
        return;
    }
    unsigned long long held = atomic_exchange_explicit(&lim->suppressed, 0,
                                                       memory_order_relaxed);
    va_list ap;
    va_start(ap, fmt);
    vlog(level, held, fmt, ap);
    va_end(ap);
}
