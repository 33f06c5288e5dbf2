/*
 * test_metrics_prometheus.c — lsmd's metrics read by the real Prometheus
 * tools (Debian package prometheus): `promtool check metrics` accepts what
 * GET /metrics and `lsmctl stats --format prometheus` print, and a real
 * prometheus server scraping lsmd on loopback (a free port, a temporary
 * config and storage directory) returns a counter through its HTTP API
 * (/api/v1/query) equal to the traffic the test made.  Exit 77 (skipped)
 * only when promtool or prometheus is not installed.
 */
#include "helpers.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "scrape.h"

static const char *const k_metrics_flags[] = { "--metrics-listen", "127.0.0.1:0", NULL };
static th_daemon g_d;
static th_fixture g_fx = { &g_d, LSMD_BIN, "metrics-prom", k_metrics_flags, .start = true };

enum { N = 37 }; /* gets: an odd number no default would produce */

static void gets(lsmd_conn *c)
{
    assert_int_equal(lsmd_put(c, "k", 1, "v", 1, 0), 0);
    for (int i = 0; i < N - 1; i++) {
        void *v;
        size_t vl;
        assert_int_equal(lsmd_get(c, 0, "k", 1, &v, &vl), 0);
        free(v);
    }
    void *v;
    size_t vl;
    assert_int_equal(lsmd_get(c, 0, "absent", 6, &v, &vl), LSM_ENOTFOUND);
}

static char *write_file(const th_daemon *d, const char *name, const char *text)
{
    char *path;
    assert_true(asprintf(&path, "%s/%s", d->root, name) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void promtool_accepts(const th_daemon *d, const char *name, const char *text)
{
    char *path = write_file(d, name, text);
    const char *argv[] = { "promtool", "check", "metrics", NULL };
    char *out;
    int rc = scrape_run(argv, path, &out, 60000);
    if (rc != 0 || out[0] != '\0')
        fail_msg("promtool check metrics < %s: exit %d: %s", path, rc, out);
    free(out);
    free(path);
}

static void test_promtool_check(void **state)
{
    th_fixture *fx = *state;
    lsmd_conn *c = thd_connect(fx->d);
    gets(c);
    assert_int_equal(lsmd_flush(c), 0);
    char *body;
    assert_int_equal(scrape_http(scrape_daemon_port(fx->d), "GET", "/metrics", NULL, &body, 10000),
                     200);
    promtool_accepts(fx->d, "http.prom", body);
    char *cli;
    assert_int_equal(lsmd_stats(c, LSMD_STATS_PROMETHEUS, &cli), 0);
    promtool_accepts(fx->d, "shm.prom", cli);
    free(cli);
    free(body);
    lsmd_disconnect(c);
}

/* The value of the first sample of an instant query's JSON answer, or -1
 * while there is none ("result":[]). */
static double query(int port, const char *expr)
{
    char path[256], *body;
    snprintf(path, sizeof path, "/api/v1/query?query=%s", expr);
    if (scrape_http(port, "GET", path, NULL, &body, 10000) != 200)
        return -1;
    double v = -1;
    const char *p = strstr(body, "\"value\":[");
    if (p && (p = strstr(p, ",\"")) != NULL)
        v = strtod(p + 2, NULL);
    free(body);
    return v;
}

static void test_prometheus_scrapes_lsmd(void **state)
{
    th_fixture *fx = *state;
    int lsmd_port = scrape_daemon_port(fx->d);
    lsmd_conn *c = thd_connect(fx->d);
    gets(c);

    char *cfg_text, *tsdb, *log;
    assert_true(asprintf(&cfg_text,
                         "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                         "scrape_configs:\n  - job_name: lsmd\n    static_configs:\n"
                         "      - targets: ['127.0.0.1:%d']\n",
                         lsmd_port) > 0);
    char *cfg = write_file(fx->d, "prometheus.yml", cfg_text);
    assert_true(asprintf(&tsdb, "%s/tsdb", fx->d->root) > 0);
    assert_true(asprintf(&log, "%s/prometheus.log", fx->d->root) > 0);
    int port = scrape_free_port();
    char cfg_flag[4096], tsdb_flag[4096], listen_flag[64];
    snprintf(cfg_flag, sizeof cfg_flag, "--config.file=%s", cfg);
    snprintf(tsdb_flag, sizeof tsdb_flag, "--storage.tsdb.path=%s", tsdb);
    snprintf(listen_flag, sizeof listen_flag, "--web.listen-address=127.0.0.1:%d", port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = freopen(log, "w", stdout);
        if (!f || dup2(1, 2) < 0)
            _exit(97);
        execlp("prometheus", "prometheus", cfg_flag, tsdb_flag, listen_flag,
               "--log.level=warn", (char *)NULL);
        _exit(98);
    }
    /* Prometheus starts, scrapes every second, and answers queries: wait
     * for the counter to come back equal to what the test did. */
    double v = -1, up = -1, deadline = th_now() + 90;
    while (th_now() < deadline) {
        v = query(port, "lsmd_gets_total");
        up = query(port, "up{job=%22lsmd%22}");
        if (v == N && up == 1)
            break;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            pid = -1;
            break;
        }
        usleep(200 * 1000);
    }
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    if (v != N || up != 1) {
        char *out;
        const char *cat[] = { "tail", "-n", "20", log, NULL };
        scrape_run(cat, NULL, &out, 10000);
        fail_msg("prometheus query lsmd_gets_total = %g (want %d), up = %g; its log:\n%s", v, N,
                 up, out);
    }
    lsmd_disconnect(c);
    free(cfg_text);
    free(cfg);
    free(tsdb);
    free(log);
}

int main(int argc, char **argv)
{
    if (!(argc > 1 && strcmp(argv[1], "--role") == 0) &&
        (!scrape_have("promtool") || !scrape_have("prometheus"))) {
        fprintf(stderr, "test_metrics_prometheus: skipped: promtool or prometheus is not "
                        "installed (Debian package prometheus)\n");
        return TEST_SKIP;
    }
    const struct CMUnitTest tests[] = {
        TH_TEST(test_promtool_check, &g_fx),
        TH_TEST(test_prometheus_scrapes_lsmd, &g_fx),
    };
    return TH_MAIN(argc, argv, NULL, NULL, tests);
}
