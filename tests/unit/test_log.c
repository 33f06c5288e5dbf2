/* test_log.c — base/log.h: the rate limit for client-triggered lines; the
 * line formats (ISO 8601 date with the UTC offset; journald priority
 * prefixes when JOURNAL_STREAM names stderr); the log file and its
 * reopening after a rename (rotation); the embedded library is quiet by
 * default (no INFO on the host's stderr, warnings still shown) and hands
 * its lines to the application's callback (lsm_set_log_callback). */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

/* Runs fn with stderr redirected into buf (NUL-terminated). */
static void capture(void (*fn)(void), char *buf, size_t cap)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    int saved = dup(STDERR_FILENO);
    dup2(p[1], STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(p[1]);
    ssize_t n = read(p[0], buf, cap - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(p[0]);
}

static lsm_log_limit g_lim;

static void burst(void)
{
    for (int i = 0; i < 100; i++)
        lsm_log_limited(&g_lim, 200000000ull, LSM_LOG_WARN, "attempt %d", i);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_limited_burst_then_summary(void **state)
{
    (void)state;
    lsm_log_set_level(LSM_LOG_WARN);
    char buf[8192];
    capture(burst, buf, sizeof buf);
    assert_int_equal(count_lines(buf), 1);
    assert_non_null(strstr(buf, "attempt 0"));
    assert_null(strstr(buf, "suppressed"));
    usleep(250000);
    capture(burst, buf, sizeof buf);
    assert_int_equal(count_lines(buf), 1);
    assert_non_null(strstr(buf, "attempt 0 (99 similar lines suppressed)"));
}

static void below_level(void)
{
    static lsm_log_limit lim;
    lsm_log_limited(&lim, 1, LSM_LOG_INFO, "hidden");
}

static void test_limited_respects_level(void **state)
{
    (void)state;
    lsm_log_set_level(LSM_LOG_WARN);
    char buf[256];
    capture(below_level, buf, sizeof buf);
    assert_string_equal(buf, "");
}

static void matches(const char *text, const char *re)
{
    regex_t rx;
    assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB | REG_NEWLINE), 0);
    if (regexec(&rx, text, 0, NULL, 0) != 0)
        fail_msg("\"%s\" does not match %s", text, re);
    regfree(&rx);
}

static void one_warning(void)
{
    log_warn("hello %d", 42);
}

/* A zone west of UTC with a half hour: the offset is -03:30. */
static void test_iso_date_with_offset(void **state)
{
    (void)state;
    lsm_log_set_level(LSM_LOG_WARN);
    setenv("TZ", "<-0330>3:30", 1);
    tzset();
    char buf[512];
    capture(one_warning, buf, sizeof buf);
    char re[256];
    snprintf(re, sizeof re,
             "^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}-03:30 "
             "lsm WARN  \\[%d\\] hello 42\n$",
             (int)getpid());
    matches(buf, re);
    /* The date is today's there. */
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char day[16];
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    assert_memory_equal(buf, day, 10);
    unsetenv("TZ");
    tzset();
}

static void journal_lines(void)
{
    struct stat st;
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    char js[64];
    snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", js, 1);
    assert_int_equal(lsm_log_set_file(NULL), 0); /* decides the format again */
    log_error("e");
    log_warn("w");
    log_info("i");
    log_debug("d");
    /* Inherited from a parent whose stderr was the journal, but not ours. */
    snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + 1);
    setenv("JOURNAL_STREAM", js, 1);
    assert_int_equal(lsm_log_set_file(NULL), 0);
    log_info("dated");
    unsetenv("JOURNAL_STREAM");
    assert_int_equal(lsm_log_set_file(NULL), 0);
}

static void test_journal_priorities(void **state)
{
    (void)state;
    lsm_log_set_level(LSM_LOG_DEBUG);
    char buf[1024];
    capture(journal_lines, buf, sizeof buf);
    const char *want = "<3>lsm ERROR e\n<4>lsm WARN  w\n<6>lsm INFO  i\n<7>lsm DEBUG d\n";
    assert_memory_equal(buf, want, strlen(want));
    matches(buf + strlen(want), "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}"
                                "[+-][0-9]{2}:[0-9]{2} lsm INFO  \\[[0-9]+\\] dated\n$");
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The descriptors open on path's file are close-on-exec (a program the
 * daemon starts must not inherit the log).  Fails when none is open. */
static void assert_cloexec_fd_on(const char *path)
{
    struct stat want, st;
    assert_int_equal(stat(path, &want), 0);
    int found = 0;
    for (int fd = 3; fd < 1024; fd++)
        if (fstat(fd, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino) {
            assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
            found++;
        }
    assert_int_equal(found, 1);
}

static void to_stderr_again(void)
{
    assert_int_equal(lsm_log_set_file(NULL), 0);
    assert_null(lsm_log_file());
    log_warn("four");
}

static void test_file_and_reopen(void **state)
{
    (void)state;
    lsm_log_set_level(LSM_LOG_WARN);
    char *dir = th_tempdir("log");
    char a[512], rotated[512], bad[512];
    snprintf(a, sizeof a, "%s/lsmd.log", dir);
    snprintf(rotated, sizeof rotated, "%s/lsmd.log.1", dir);
    snprintf(bad, sizeof bad, "%s/missing/lsmd.log", dir);
    mode_t mask = umask(022); /* 0640 survives it */
    assert_int_equal(lsm_log_set_file(a), 0);
    umask(mask);
    assert_string_equal(lsm_log_file(), a);
    log_warn("one");
    struct stat st;
    assert_int_equal(stat(a, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(rename(a, rotated), 0);
    log_warn("still to the renamed file");
    assert_int_equal(lsm_log_reopen(), 0);
    log_warn("two");
    assert_cloexec_fd_on(a);
    /* A path that cannot be opened: refused, the log stays where it was. */
    assert_int_equal(lsm_log_set_file(bad), -ENOENT);
    assert_string_equal(lsm_log_file(), a);
    log_warn("three");
    char *t = slurp(rotated);
    assert_non_null(strstr(t, "one"));
    assert_non_null(strstr(t, "still to the renamed file"));
    assert_null(strstr(t, "two"));
    t = slurp(a);
    assert_null(strstr(t, "one"));
    assert_non_null(strstr(t, "] two\n"));
    assert_non_null(strstr(t, "] three\n"));
    char buf[512];
    capture(to_stderr_again, buf, sizeof buf);
    assert_non_null(strstr(buf, "] four\n"));
    assert_null(strstr(slurp(a), "four"));
    th_rmrf_free(dir);
}

/* A database's life with INFO-worthy events: open, writes, a flush, an
 * option change, close. */
static void embedded_life(void)
{
    char *dir = th_tempdir("log_quiet");
    lsm_db *db;
    assert_int_equal(lsm_open(dir, NULL, &db), 0);
    assert_int_equal(lsm_put(db, "k", 1, "v", 1, 0), 0);
    assert_int_equal(lsm_flush(db), 0);
    assert_int_equal(lsm_set_option(db, "compaction_threads", "2"), 0);
    assert_int_equal(lsm_set_option(db, "no_such_option", "2"), -EINVAL); /* refused: returned, not logged */
    lsm_close(db);
    th_rmrf_free(dir);
}

static void warn_once(void)
{
    lsm_log(LSM_LOG_WARN, "a warning");
    lsm_log(LSM_LOG_INFO, "an info line");
}

/* The host program's environment as usual: no LSMD_LOG_LEVEL, no level. */
static void default_level(void)
{
    unsetenv("LSMD_LOG_LEVEL");
    lsm_log_reset_level();
}

static void test_library_quiet_by_default(void **state)
{
    (void)state;
    default_level();
    char buf[8192];
    capture(embedded_life, buf, sizeof buf);
    if (buf[0])
        fail_msg("the embedded library wrote on stderr at the default level:\n%s", buf);
    /* Warnings still show, alone. */
    capture(warn_once, buf, sizeof buf);
    assert_non_null(strstr(buf, "WARN"));
    assert_non_null(strstr(buf, "a warning"));
    assert_null(strstr(buf, "an info line"));
    assert_int_equal(count_lines(buf), 1);
    /* lsmd's default (info) shows info lines. */
    lsm_log_set_default_level(LSM_LOG_INFO);
    capture(warn_once, buf, sizeof buf);
    assert_non_null(strstr(buf, "an info line"));
    lsm_log_set_default_level(LSM_LOG_WARN);
}

struct sink {
    pthread_mutex_t mu;
    char text[16384];
    size_t len;
    int lines, bad_level;
};

/* An lsm_log_fn: any thread (the flush thread's lines come here too). */
static void collect(void *ctx, enum lsm_log_level level, const char *msg)
{
    struct sink *k = ctx;
    pthread_mutex_lock(&k->mu);
    if (level > LSM_LOG_INFO)
        k->bad_level++;
    int n = snprintf(k->text + k->len, sizeof k->text - k->len, "%d %s\n", (int)level, msg);
    if (n > 0 && (size_t)n < sizeof k->text - k->len)
        k->len += (size_t)n;
    k->lines++;
    pthread_mutex_unlock(&k->mu);
}

static void test_callback_receives_lines(void **state)
{
    (void)state;
    default_level();
    static struct sink k = { .mu = PTHREAD_MUTEX_INITIALIZER };
    lsm_set_log_callback(collect, &k);
    lsm_log_set_level(LSM_LOG_INFO);
    char buf[8192];
    capture(embedded_life, buf, sizeof buf);
    capture(warn_once, buf + strlen(buf), sizeof buf - strlen(buf));
    lsm_set_log_callback(NULL, NULL);
    default_level();
    if (buf[0])
        fail_msg("with a callback set, stderr got:\n%s", buf);
    pthread_mutex_lock(&k.mu);
    fprintf(stderr, "callback got %d lines:\n%s", k.lines, k.text);
    /* Info lines from the flush thread, the message alone (no date, no
     * level tag, no newline inside), and the warning with its level. */
    assert_non_null(strstr(k.text, "2 flush: table "));
    assert_non_null(strstr(k.text, "1 a warning\n"));
    assert_non_null(strstr(k.text, "2 an info line\n"));
    assert_null(strstr(k.text, " lsm INFO "));
    assert_int_equal(k.bad_level, 0);
    pthread_mutex_unlock(&k.mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limited_burst_then_summary),
        cmocka_unit_test(test_limited_respects_level),
        cmocka_unit_test(test_iso_date_with_offset),
        cmocka_unit_test(test_journal_priorities),
        /* Before test_file_and_reopen: it leaves the log on a copy of the
         * stderr it captured. */
        cmocka_unit_test(test_library_quiet_by_default),
        cmocka_unit_test(test_callback_receives_lines),
        cmocka_unit_test(test_file_and_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
