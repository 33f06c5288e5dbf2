/* honest.c — see honest.h. */
#include "helpers.h"

#include "honest.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int th_role_honest(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    lsmd_conn *c;
    int rc = lsmd_connect(argv[1], &c);
    char err[256] = "";
    if (rc)
        snprintf(err, sizeof err, "err connect: %s", lsmd_strerror(rc));
    long n = 0;
    double max_s = 0;
    for (;;) {
        struct pollfd p = { .fd = 0, .events = POLLIN };
        if (err[0] || poll(&p, 1, 0) > 0) {
            char line[64];
            bool stop = !fgets(line, sizeof line, stdin) || strncmp(line, "stop", 4) == 0;
            if (err[0]) {
                th_reply("%s", err);
                if (c && !rc)
                    lsmd_disconnect(c);
                return 1;
            }
            th_reply("ok %ld %.0f", n, max_s * 1e6);
            max_s = 0;
            if (stop)
                break;
        }
        char key[64], val[96];
        snprintf(key, sizeof key, "%s-%04ld", argv[2], n % 1000);
        int vl = snprintf(val, sizeof val, "honest value %ld of %s", n, argv[2]);
        double t0 = th_now();
        rc = lsmd_put(c, key, strlen(key), val, (size_t)vl, 0);
        double t1 = th_now();
        void *got = NULL;
        size_t gl = 0;
        if (rc == 0)
            rc = lsmd_get(c, 0, key, strlen(key), &got, &gl);
        double t2 = th_now();
        if (t1 - t0 > max_s)
            max_s = t1 - t0;
        if (t2 - t1 > max_s)
            max_s = t2 - t1;
        if (rc == 0 && (gl != (size_t)vl || memcmp(got, val, gl) != 0))
            snprintf(err, sizeof err, "err op %ld: get %s returned a wrong value", n, key);
        else if (rc)
            snprintf(err, sizeof err, "err op %ld on %s: %s", n, key, lsmd_strerror(rc));
        free(got);
        if (err[0]) {
            lsmd_disconnect(c);
            c = NULL;
            continue; /* report at the next command */
        }
        n++;
    }
    lsmd_disconnect(c);
    return 0;
}

static void ask(th_honest *h, const char *cmd, long *ops, double *max_ms)
{
    const char *r = th_ask(&h->c, "%s", cmd);
    double us = 0;
    if (!r || sscanf(r, "ok %ld %lf", ops, &us) != 2)
        fail_msg("honest client: %s", r ? r : "exited");
    *max_ms = us / 1000.0;
}

void th_honest_start(th_honest *h, const th_daemon *d, const char *tag)
{
    const char *args[] = { d->sock, tag, NULL };
    memset(h, 0, sizeof *h);
    th_spawn(&h->c, "honest", args);
    double max_ms;
    ask(h, "count", &h->ops, &max_ms); /* discards the connect and first ops */
    usleep(1000000);
    ask(h, "count", &h->ops, &h->usual_ms);
    if (h->ops == 0)
        fail_msg("honest client made no progress before the attack");
}

double th_honest_expect(th_honest *h, const char *phase)
{
    const char *env = getenv("LSM_TEST_LATENCY_SLACK_MS");
    double slack = env ? atof(env) : TH_HONEST_SLACK_MS;
    usleep(50000);
    long ops;
    double max_ms;
    ask(h, "count", &ops, &max_ms);
    fprintf(stderr, "%-28s honest client: %ld ops, slowest %.1f ms (usual %.1f ms)\n", phase,
            ops, max_ms, h->usual_ms);
    if (ops <= h->ops)
        fail_msg("%s: the honest client made no progress (%ld ops)", phase, ops);
    if (max_ms > h->usual_ms + slack)
        fail_msg("%s: an honest operation took %.1f ms (usual worst %.1f ms + %.0f ms)",
                 phase, max_ms, h->usual_ms, slack);
    h->ops = ops;
    return max_ms;
}

void th_honest_stop(th_honest *h)
{
    long ops;
    double max_ms;
    ask(h, "stop", &ops, &max_ms);
    assert_int_equal(th_wait(&h->c), 0);
}
