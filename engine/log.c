/* log.c — see log.h. */
#include "log.h"

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

void lsm_log(enum lsm_log_level level, const char *fmt, ...)
{
    static const char *const tags[] = { "ERROR", "WARN", "INFO", "DEBUG" };
    if (!lsm_log_enabled(level))
        return;
    char line[1024];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld lsm %-5s [%d] ",
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                     tags[level], (int)getpid());
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w; /* nothing useful to do if stderr is gone */
}
