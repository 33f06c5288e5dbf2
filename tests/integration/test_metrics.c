/*
 * test_metrics.c — lsmd --metrics-listen and `lsmctl stats --format
 * prometheus` against a real daemon: the counters follow real client
 * traffic, the histograms are well formed, HTTP and the shared-memory
 * path print the same families (one renderer), unknown paths and methods
 * are refused, bad addresses stop start-up with the reason, and scrapes
 * running flat out beside writers and readers neither fail nor stop them.
 * (promtool and a real Prometheus server: test_metrics_prometheus.)
 */
#include "helpers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "scrape.h"

static const char *const k_metrics_flags[] = { "--metrics-listen", "127.0.0.1:0", NULL };
static th_daemon g_d;
static th_fixture g_fx = { &g_d, LSMD_BIN, "metrics", k_metrics_flags, .start = true };
static th_fixture g_plain = { &g_d, LSMD_BIN, "metrics-off", NULL, .start = true };
static th_fixture g_nostart = { &g_d, LSMD_BIN, "metrics-bad", NULL, .start = false };

enum { N = 50 };

/* N puts and N gets of present keys, one get of an absent key, a flush. */
static void traffic(lsmd_conn *c)
{
    char k[32], v[64];
    for (int i = 0; i < N; i++) {
        int kl = snprintf(k, sizeof k, "key%04d", i);
        int vl = snprintf(v, sizeof v, "value-%d", i);
        assert_int_equal(lsmd_put(c, k, (size_t)kl, v, (size_t)vl, 0), 0);
    }
    for (int i = 0; i < N; i++) {
        int kl = snprintf(k, sizeof k, "key%04d", i);
        void *got;
        size_t gl;
        assert_int_equal(lsmd_get(c, 0, k, (size_t)kl, &got, &gl), 0);
        free(got);
    }
    void *got;
    size_t gl;
    assert_int_equal(lsmd_get(c, 0, "absent", 6, &got, &gl), LSM_ENOTFOUND);
    assert_int_equal(lsmd_flush(c), 0);
}

/* The "# TYPE" lines, in order, as one string (malloc'd). */
static char *families(const char *text)
{
    size_t cap = strlen(text) + 1, used = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, "# TYPE ", 7) != 0)
            continue;
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p + 1) : strlen(p);
        memcpy(out + used, p, n);
        used += n;
    }
    out[used] = '\0';
    return out;
}

/* Every bucket line of histogram name: cumulative counts never fall, and
 * +Inf equals _count. */
static void check_histogram(const char *text, const char *name)
{
    char prefix[128], inf[160], count[128];
    snprintf(prefix, sizeof prefix, "%s_bucket{le=\"", name);
    snprintf(inf, sizeof inf, "%s_bucket{le=\"+Inf\"}", name);
    snprintf(count, sizeof count, "%s_count", name);
    double last = 0;
    int buckets = 0;
    for (const char *p = strstr(text, prefix); p; p = strstr(p + 1, prefix)) {
        const char *sp = strchr(p, ' ');
        double v = strtod(sp + 1, NULL);
        assert_true(v >= last);
        last = v;
        buckets++;
    }
    assert_true(buckets >= 2);
    assert_true(scrape_value(text, inf) == scrape_value(text, count));
    assert_true(last == scrape_value(text, count));
}

static char *lsmctl_prometheus(const th_daemon *d)
{
    const char *argv[] = { LSMCTL_BIN, "--socket", d->sock, "stats", "--format", "prometheus",
                           NULL };
    char *out;
    int rc = scrape_run(argv, NULL, &out, 30000);
    if (rc != 0)
        fail_msg("lsmctl stats --format prometheus: exit %d: %s", rc, out);
    return out;
}

static void test_scrape_counts_traffic(void **state)
{
    th_fixture *fx = *state;
    int port = scrape_daemon_port(fx->d);
    lsmd_conn *c = thd_connect(fx->d);
    traffic(c);

    char *head, *body;
    assert_int_equal(scrape_http(port, "GET", "/metrics", &head, &body, 10000), 200);
    assert_non_null(strstr(head, "Content-Type: text/plain; version=0.0.4"));
    assert_true(scrape_value(body, "lsmd_gets_total") == N + 1);
    assert_true(scrape_value(body, "lsmd_get_latency_seconds_count") == N + 1);
    assert_true(scrape_value(body, "lsmd_write_latency_seconds_count") >= N);
    assert_true(scrape_value(body, "lsmd_wal_group_writes_total") == N);
    assert_true(scrape_value(body, "lsmd_wal_group_size_count") ==
                scrape_value(body, "lsmd_wal_groups_total"));
    assert_true(scrape_value(body, "lsmd_user_written_bytes_total") > 0);
    assert_true(scrape_value(body, "lsmd_level_files{level=\"0\"}") >= 1);
    assert_true(scrape_value(body, "lsmd_flush_written_bytes_total") > 0);
    assert_true(scrape_value(body, "lsmd_clients") == 1);
    assert_true(scrape_value(body, "lsmd_background_error") == 0);
    assert_true(scrape_value(body, "lsmd_io_operations_total{kind=\"wal_write\",path=\"ring\"}") +
                    scrape_value(body,
                                 "lsmd_io_operations_total{kind=\"wal_write\",path=\"inline\"}") >=
                1);
    check_histogram(body, "lsmd_get_latency_seconds");
    check_histogram(body, "lsmd_write_latency_seconds");
    check_histogram(body, "lsmd_wal_group_size");
    for (const char *p = body; *p; p++) /* text only: no NUL, no control bytes */
        assert_true(*p == '\n' || (*p >= 0x20 && *p < 0x7f));

    /* The shared-memory path: the same renderer, so the same families. */
    char *cli = lsmctl_prometheus(fx->d);
    char *f_http = families(body), *f_cli = families(cli);
    assert_string_equal(f_http, f_cli);
    assert_true(scrape_value(cli, "lsmd_gets_total") == N + 1);
    free(f_http);
    free(f_cli);
    free(cli);
    free(head);
    free(body);

    assert_int_equal(scrape_http(port, "HEAD", "/metrics", NULL, NULL, 10000), 200);
    assert_int_equal(scrape_http(port, "GET", "/", NULL, NULL, 10000), 200);
    assert_int_equal(scrape_http(port, "GET", "/metrics/x", NULL, NULL, 10000), 404);
    assert_int_equal(scrape_http(port, "POST", "/metrics", NULL, NULL, 10000), 405);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(fx->d), 0);
}

/* Off by default; the shared-memory path works without the listener. */
static void test_off_by_default(void **state)
{
    th_fixture *fx = *state;
    lsmd_conn *c = thd_connect(fx->d);
    traffic(c);
    FILE *f = fopen(fx->d->log, "r");
    assert_non_null(f);
    char line[512];
    while (fgets(line, sizeof line, f))
        assert_null(strstr(line, "metrics on"));
    fclose(f);
    char *cli = lsmctl_prometheus(fx->d);
    assert_true(scrape_value(cli, "lsmd_gets_total") == N + 1);
    free(cli);
    /* An unknown format is refused by the daemon, not taken for JSON. */
    char *text;
    assert_int_equal(lsmd_stats(c, 7, &text), -EINVAL);
    lsmd_disconnect(c);
}

/* Exit status and output of lsmd started with one --metrics-listen. */
static int start_with(const th_daemon *d, const char *listen, char **out)
{
    const char *argv[] = { d->bin, "--dir", d->db, "--socket", d->sock, "--metrics-listen",
                           listen, NULL };
    return scrape_run(argv, NULL, out, 30000);
}

static void test_bad_listen_stops_startup(void **state)
{
    th_fixture *fx = *state;
    static const char *const bad[] = { "9464", "localhost:9464", "127.0.0.1:", "127.0.0.1:65536",
                                       "127.0.0.1:94x", "[::1", "[::1]9464", "1.2.3:80",
                                       "300.0.0.1:80", "[nonsense]:80" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *out;
        int rc = start_with(fx->d, bad[i], &out);
        if (rc != 2 || !strstr(out, "metrics_listen"))
            fail_msg("--metrics-listen %s: exit %d (want 2), output: %s", bad[i], rc, out);
        free(out);
    }
    /* A port in use: refused before the engine opens (no database made). */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 1), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    char busy[64];
    snprintf(busy, sizeof busy, "127.0.0.1:%u", ntohs(a.sin_port));
    char *out;
    int rc = start_with(fx->d, busy, &out);
    if (rc != 1 || !strstr(out, "cannot listen") || !strstr(out, busy))
        fail_msg("--metrics-listen %s (in use): exit %d, output: %s", busy, rc, out);
    free(out);
    close(s);
    struct stat st;
    assert_int_not_equal(stat(fx->d->db, &st), 0);
}

/* Scrapes flat out beside writers and readers: every scrape answers, the
 * counters only grow, and the clients' work finishes. */
typedef struct scraper {
    int port;
    _Atomic bool *stop;
    int scrapes, failures; /* each thread its own */
    double last_gets;
    bool went_back;
} scraper;

static void *scrape_loop(void *arg)
{
    scraper *s = arg;
    while (!atomic_load(s->stop)) {
        char *body;
        int st = scrape_http(s->port, "GET", "/metrics", NULL, &body, 10000);
        if (st != 200) {
            s->failures++;
            continue;
        }
        const char *p = strstr(body, "\nlsmd_gets_total ");
        double g = p ? strtod(p + 17, NULL) : -1;
        s->went_back |= g < s->last_gets;
        s->last_gets = g;
        s->scrapes++;
        free(body);
    }
    return NULL;
}

static void test_scrapes_beside_clients(void **state)
{
    th_fixture *fx = *state;
    _Atomic bool stop = false;
    scraper s[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        s[i] = (scraper){ .port = scrape_daemon_port(fx->d), .stop = &stop };
        assert_int_equal(pthread_create(&t[i], NULL, scrape_loop, &s[i]), 0);
    }
    lsmd_conn *c = thd_connect(fx->d);
    double t0 = th_now();
    for (int round = 0; round < 4; round++)
        traffic(c);
    double took = th_now() - t0;
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        print_message("scraper %d: %d scrapes beside 4 x %d puts+gets+flush (%.2f s)\n", i,
                      s[i].scrapes, N, took);
        assert_int_equal(s[i].failures, 0);
        assert_false(s[i].went_back);
        assert_true(s[i].scrapes >= 1);
        assert_true(s[i].last_gets <= 4 * (N + 1));
    }
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(fx->d), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        TH_TEST(test_scrape_counts_traffic, &g_fx),
        TH_TEST(test_off_by_default, &g_plain),
        TH_TEST(test_bad_listen_stops_startup, &g_nostart),
        TH_TEST(test_scrapes_beside_clients, &g_fx),
    };
    return TH_MAIN(argc, argv, NULL, NULL, tests);
}
