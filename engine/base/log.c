/* log.c — see log.h. */
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* -1: not read from the environment yet. */
static atomic_int g_level = -1;
/* Without a level set or LSMD_LOG_LEVEL: quiet, as a library should be. */
static atomic_int g_default_level = LSM_LOG_WARN;
/* The application's sink (lsm_set_log_callback); NULL: the descriptor. */
static _Atomic(lsm_log_fn) g_cb;
static _Atomic(void *) g_cb_ctx;
/* The log's descriptor: -1 = stderr.  Set once; later changes dup3 onto
 * it, so a thread that loaded it never writes to a recycled number. */
static atomic_int g_fd = -1;
/* 1: prefix journald priorities; 0: dates; -1: not decided yet. */
static atomic_int g_journal = -1;
static char *g_path; /* the log file; main thread only (log.h) */

static int level_from_env(void)
{
    int def = atomic_load(&g_default_level);
    const char *s = getenv("LSMD_LOG_LEVEL");
    if (!s)
        return def;
    static const char *const names[] = { "error", "warn", "info", "debug" };
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return def;
}

void lsm_log_set_default_level(enum lsm_log_level level)
{
    atomic_store(&g_default_level, (int)level);
    atomic_store(&g_level, -1); /* resolved again, with the new default */
}

void lsm_set_log_callback(lsm_log_fn fn, void *ctx)
{
    /* ctx first, fn second (release); vlog loads fn (acquire), then ctx. */
    atomic_store_explicit(&g_cb_ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&g_cb, fn, memory_order_release);
}

void lsm_log_set_level(enum lsm_log_level level)
{
    atomic_store(&g_level, (int)level);
}

void lsm_log_reset_level(void)
{
    atomic_store(&g_level, -1);
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

/* systemd sets JOURNAL_STREAM=DEV:INODE when it connects stderr to the
 * journal; comparing with stderr itself tells a child that inherited the
 * variable but whose stderr was redirected (systemd.exec(5)). */
static int stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    char tail;
    if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2)
        return 0;
    struct stat st;
    if (fstat(STDERR_FILENO, &st) != 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static int journal_mode(void)
{
    int j = atomic_load_explicit(&g_journal, memory_order_relaxed);
    if (j < 0) {
        j = stderr_is_journal();
        atomic_store(&g_journal, j);
    }
    return j;
}

/* "2026-12-07T18:43:55.123+01:00": local time with its UTC offset. */
static int format_date(char *buf, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    long off = tm.tm_gmtoff / 60;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    return snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ld%c%02ld:%02ld",
                    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                    tm.tm_sec, ts.tv_nsec / 1000000, sign, off / 60, off % 60);
}

static void vlog(enum lsm_log_level level, unsigned long long suppressed, const char *fmt,
                 va_list ap)
{
    static const char *const tags[] = { "ERROR", "WARN", "INFO", "DEBUG" };
    static const int prio[] = { 3, 4, 6, 7 }; /* syslog LOG_ERR .. LOG_DEBUG */
    char line[1024];
    lsm_log_fn cb = atomic_load_explicit(&g_cb, memory_order_acquire);
    int fd = atomic_load_explicit(&g_fd, memory_order_acquire);
    int n;
    if (cb) {
        n = 0; /* the message alone: the application adds its own prefix */
    } else if (journal_mode()) {
        n = snprintf(line, sizeof line, "<%d>lsm %-5s ", prio[level], tags[level]);
    } else {
        char date[128];
        format_date(date, sizeof date);
        n = snprintf(line, sizeof line, "%s lsm %-5s [%d] ", date, tags[level],
                     (int)getpid());
    }
    if (fd < 0)
        fd = STDERR_FILENO;
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
    if (cb) {
        line[len] = '\0';
        cb(atomic_load_explicit(&g_cb_ctx, memory_order_relaxed), level, line);
        return;
    }
    line[len++] = '\n';
    ssize_t w = write(fd, line, len);
    (void)w; /* nothing useful to do if the log is gone */
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

/* Opens path for appending, close-on-exec. */
static int open_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    return fd >= 0 ? fd : -errno;
}

/* Points the log at nfd's file (nfd is consumed). */
static int install_fd(int nfd)
{
    int cur = atomic_load(&g_fd);
    if (cur < 0) {
        atomic_store(&g_fd, nfd); /* release: the file is open before it is used */
        return 0;
    }
    /* dup3, not dup2: the log descriptor stays close-on-exec. */
    int rc = dup3(nfd, cur, O_CLOEXEC) < 0 ? -errno : 0;
    close(nfd);
    return rc;
}

int lsm_log_set_file(const char *path)
{
    if (!path) {
        if (atomic_load(&g_fd) >= 0) {
            int nfd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
            if (nfd < 0)
                return -errno;
            int rc = install_fd(nfd);
            if (rc)
                return rc;
        }
        /* Lines to stderr again: the journal test decides the format. */
        atomic_store(&g_journal, stderr_is_journal());
        free(g_path);
        g_path = NULL;
        return 0;
    }
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    int nfd = open_log(path);
    if (nfd < 0) {
        free(copy);
        return nfd;
    }
    /* Dates from here on, whatever stderr is (it is no longer the log). */
    atomic_store(&g_journal, 0);
    int rc = install_fd(nfd);
    if (rc) {
        atomic_store(&g_journal, g_path ? 0 : stderr_is_journal()); /* as it was */
        free(copy);
        return rc;
    }
    free(g_path);
    g_path = copy;
    return 0;
}

int lsm_log_reopen(void)
{
    if (!g_path)
        return 0;
    int nfd = open_log(g_path);
    return nfd < 0 ? nfd : install_fd(nfd);
}

const char *lsm_log_file(void)
{
    return g_path;
}
