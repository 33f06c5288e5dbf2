/*
 * fast_client.h — the "fast" client role the isolation tests share
 * (test_sync_isolation.c, test_iter_lane.c): small in-memory puts, each
 * followed by a get that must return it, timed one by one, while another
 * client loads the same worker.  Include once per test program, after
 * helpers.h and harness.h.
 *
 * Protocol on stdin/stdout (th_spawn roles): the role replies READY; each
 * "run MS" line runs it for MS milliseconds and replies "OPS P99_US
 * MAX_US"; end of input ends it.
 */
#ifndef FAST_CLIENT_H
#define FAST_CLIENT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsmd.h"

#define LAT_MAX 1000000 /* latency samples kept per run */

/* In a role: fails the role (exit 1) with a message on stderr. */
#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "client: ");                                        \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            return 1;                                                           \
        }                                                                       \
    } while (0)

static long next_run(void)
{
    char line[64];
    long ms;
    if (!fgets(line, sizeof line, stdin) || sscanf(line, "run %ld", &ms) != 1)
        return -1;
    return ms;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* argv: fast SOCKET.  Per run: "OPS P99_US MAX_US". */
static int role_fast(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    lsmd_conn *c;
    int rc = lsmd_connect(argv[1], &c);
    CHECK(rc == 0, "connect: %s", lsmd_strerror(rc));
    double *lat = malloc(LAT_MAX * sizeof *lat);
    CHECK(lat != NULL, "out of memory");
    th_reply("READY");
    long ms, op = 0;
    while ((ms = next_run()) >= 0) {
        long n = 0;
        double end = th_now() + (double)ms / 1000.0;
        for (double t = th_now(); t < end; n++) {
            char key[32], val[32];
            int kl = snprintf(key, sizeof key, "fast-%04ld", (op / 2) % 1000);
            int vl = snprintf(val, sizeof val, "v%ld", op / 2);
            if (op++ % 2 == 0) {
                rc = lsmd_put(c, key, (size_t)kl, val, (size_t)vl, 0);
                CHECK(rc == 0, "put: %s", lsmd_strerror(rc));
            } else {
                void *v = NULL;
                size_t vlen = 0;
                rc = lsmd_get(c, 0, key, (size_t)kl, &v, &vlen);
                CHECK(rc == 0 && vlen == (size_t)vl && memcmp(v, val, vlen) == 0,
                      "get %s: %s, %zu bytes (want %s)", key, lsmd_strerror(rc), vlen, val);
                free(v);
            }
            double t2 = th_now();
            if (n < LAT_MAX)
                lat[n] = t2 - t;
            t = t2;
        }
        long k = n < LAT_MAX ? n : LAT_MAX;
        qsort(lat, (size_t)k, sizeof *lat, cmp_double);
        th_reply("%ld %.0f %.0f", n, k ? lat[k * 99 / 100] * 1e6 : 0.0,
                 k ? lat[k - 1] * 1e6 : 0.0);
    }
    free(lat);
    lsmd_disconnect(c);
    return 0;
}

#endif
