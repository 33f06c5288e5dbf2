/*
 * test_daemon_crash.c — SIGKILL the daemon while 4 client processes write
 * with LSM_SYNC; restart it on the same directory and socket; every put
 * that was acknowledged must be there with its value, and each client's
 * history must have no holes (its puts are sequential, so at most the one
 * in flight at the crash may be present without an acknowledgement).
 * Three crash cycles (LSM_TEST_SHORT=1: one).
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define NCLIENTS 4

static th_daemon g_d;
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_BIN, .tag = "crash", .start = true };

static int make_kv(char *k, char *v, int cycle, int cl, long i)
{
    snprintf(k, 48, "crash-%d-%d-%08ld", cycle, cl, i);
    return snprintf(v, 64, "value-%d-%d-%ld-%0*d", cycle, cl, i, (int)(i % 50), 0);
}

/* syncer SOCKET CYCLE ID: sync puts until the daemon goes away; prints the
 * index of each acknowledged put. */
static int role_syncer(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    int cycle = atoi(argv[2]), id = atoi(argv[3]);
    lsmd_conn *c;
    int rc = lsmd_connect(argv[1], &c);
    if (rc) {
        printf("connect %d\n", rc);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (long i = 0;; i++) {
        char k[48], v[64];
        int vl = make_kv(k, v, cycle, id, i);
        rc = lsmd_put(c, k, strlen(k), v, (size_t)vl, LSM_SYNC);
        if (rc)
            break;
        printf("%ld\n", i);
        fflush(stdout);
    }
    printf("end %d\n", rc);
    fflush(stdout);
    lsmd_disconnect(c);
    return 0;
}

static void test_daemon_crash(void **state)
{
    (void)state;
    int cycles = (int)th_duration(3, 1);
    th_rng rng;
    th_rng_seed(&rng, th_seed());
    for (int cycle = 0; cycle < cycles; cycle++) {
        th_child ch[NCLIENTS];
        for (int i = 0; i < NCLIENTS; i++) {
            char cy[16], id[16];
            snprintf(cy, sizeof cy, "%d", cycle);
            snprintf(id, sizeof id, "%d", i);
            const char *args[] = { g_d.sock, cy, id, NULL };
            th_spawn(&ch[i], "syncer", args);
            const char *r = th_recv(&ch[i], 20000);
            assert_non_null(r);
            assert_string_equal(r, "ready");
        }
        usleep((useconds_t)(300000 + th_rng_below(&rng, 700000)));
        thd_kill(&g_d);

        long acked[NCLIENTS];
        for (int i = 0; i < NCLIENTS; i++) {
            acked[i] = -1;
            const char *r;
            while ((r = th_recv(&ch[i], 30000)) != NULL) {
                if (strncmp(r, "end", 3) == 0) {
                    int rc = atoi(r + 4);
                    /* The daemon is gone: nothing else is acceptable. */
                    if (rc != -ENOTCONN)
                        fail_msg("client %d: put failed with %s", i, lsmd_strerror(rc));
                    break;
                }
                acked[i] = atol(r);
            }
            assert_int_equal(th_wait(&ch[i]), 0);
        }

        thd_start(&g_d, NULL);
        lsmd_conn *c = thd_connect(&g_d);
        long total = 0;
        for (int i = 0; i < NCLIENTS; i++) {
            for (long j = 0; j <= acked[i] + 2; j++) {
                char k[48], v[64];
                int vl = make_kv(k, v, cycle, i, j);
                void *got = NULL;
                size_t gl = 0;
                int rc = lsmd_get(c, 0, k, strlen(k), &got, &gl);
                if (j <= acked[i]) {
                    if (rc != 0)
                        fail_msg("cycle %d: acknowledged sync put %s lost: %s", cycle, k,
                                 lsmd_strerror(rc));
                    if (gl != (size_t)vl || memcmp(got, v, gl) != 0)
                        fail_msg("cycle %d: %s has a wrong value", cycle, k);
                } else if (j == acked[i] + 2 && rc != LSM_ENOTFOUND) {
                    fail_msg("cycle %d: %s present though never written", cycle, k);
                }
                free(got);
            }
            total += acked[i] + 1;
        }
        lsmd_disconnect(c);
        fprintf(stderr, "cycle %d: %ld acknowledged sync puts from %d clients survived\n", cycle,
                total, NCLIENTS);
        assert_true(total > 0);
    }
    assert_int_equal(thd_stop(&g_d), 0);
}

int main(int argc, char **argv)
{
    static const th_role roles[] = { { "syncer", role_syncer }, { NULL, NULL } };
    const struct CMUnitTest tests[] = { TH_TEST(test_daemon_crash, &g_fx) };
    return TH_MAIN(argc, argv, roles, NULL, tests);
}
