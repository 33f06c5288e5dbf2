/* test_log.c — base/log.h: the rate limit for client-triggered lines. */
#include "helpers.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limited_burst_then_summary),
        cmocka_unit_test(test_limited_respects_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
