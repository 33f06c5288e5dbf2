/*
 * test_iter_close.c — short scans through a real lsmd: seek, read a few
 * entries, free.  lsmd_iter_free's ITER_CLOSE is fire-and-forget, and the
 * daemon takes the iterator out of the client's table at once but frees it
 * only after the turn's replies (daemon/iter_ops.c retire), so this
 * checks that every close still lands: thousands of short scans, some
 * followed by an idle pause in which the daemon goes to sleep, and then
 * DAEMON_MAX_ITERS_PER_CLIENT iterators open at once (an iterator left
 * behind would make one fail with -EMFILE).  The scans run at a snapshot
 * taken before an overwrite of every key, so they must show the old values.
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "harness.h"

#define NKEYS 500
#define SCANS 3000
#define NEXTS 10

static th_daemon g_d;
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_BIN, .tag = "iterclose", .start = true };

static void key_of(char *buf, size_t n, int k)
{
    snprintf(buf, n, "k%05d", k);
}

static void put_all(lsmd_conn *c, const char *tag)
{
    for (int k = 0; k < NKEYS; k++) {
        char key[16], val[32];
        key_of(key, sizeof key, k);
        int vl = snprintf(val, sizeof val, "%s-%d", tag, k);
        assert_int_equal(lsmd_put(c, key, strlen(key), val, (size_t)vl, 0), 0);
    }
}

/* Seeks to key k at snap, checks up to NEXTS + 1 entries hold tag. */
static void short_scan(lsmd_conn *c, uint64_t snap, int k, const char *tag)
{
    char key[16], want[32];
    key_of(key, sizeof key, k);
    lsmd_iter *it;
    assert_int_equal(lsmd_iter_new(c, snap, key, strlen(key), NULL, 0, &it), 0);
    int n = 0;
    for (; n <= NEXTS && lsmd_iter_valid(it); n++, lsmd_iter_next(it)) {
        size_t kl, vl;
        const char *got = lsmd_iter_key(it, &kl);
        key_of(key, sizeof key, k + n);
        assert_int_equal(kl, strlen(key));
        assert_memory_equal(got, key, kl);
        const char *v = lsmd_iter_value(it, &vl);
        int wl = snprintf(want, sizeof want, "%s-%d", tag, k + n);
        assert_int_equal(vl, (size_t)wl);
        assert_memory_equal(v, want, vl);
    }
    assert_int_equal(lsmd_iter_status(it), 0);
    int expect = NKEYS - k < NEXTS + 1 ? NKEYS - k : NEXTS + 1;
    assert_int_equal(n, expect);
    lsmd_iter_free(it);
}

static void test_short_scans_close(void **state)
{
    (void)state;
    lsmd_conn *c = thd_connect(&g_d);
    put_all(c, "old");
    uint64_t snap;
    assert_int_equal(lsmd_snapshot_acquire(c, &snap), 0);
    put_all(c, "new");

    th_rng rng;
    th_rng_seed(&rng, 7);
    for (int i = 0; i < SCANS; i++) {
        int k = (int)th_rng_below(&rng, NKEYS);
        short_scan(c, i % 2 ? snap : 0, k, i % 2 ? "old" : "new");
        if (i % 500 == 499)
            usleep(20000); /* the daemon sleeps with a close not yet sent */
    }

    /* Every close above reached the daemon: the whole quota opens. */
    lsmd_iter *its[DAEMON_MAX_ITERS_PER_CLIENT];
    for (unsigned i = 0; i < DAEMON_MAX_ITERS_PER_CLIENT; i++)
        assert_int_equal(lsmd_iter_new(c, snap, NULL, 0, NULL, 0, &its[i]), 0);
    lsmd_iter *extra;
    assert_int_equal(lsmd_iter_new(c, snap, NULL, 0, NULL, 0, &extra), -EMFILE);
    for (unsigned i = 0; i < DAEMON_MAX_ITERS_PER_CLIENT; i++)
        lsmd_iter_free(its[i]);
    usleep(20000);

    /* And those closes too (sent while the daemon may be asleep). */
    for (unsigned i = 0; i < DAEMON_MAX_ITERS_PER_CLIENT; i++)
        assert_int_equal(lsmd_iter_new(c, 0, NULL, 0, NULL, 0, &its[i]), 0);
    for (unsigned i = 0; i < DAEMON_MAX_ITERS_PER_CLIENT; i++)
        lsmd_iter_free(its[i]);

    assert_int_equal(lsmd_snapshot_release(c, snap), 0);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(&g_d), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = { TH_TEST(test_short_scans_close, &g_fx) };
    return TH_MAIN(argc, argv, NULL, NULL, tests);
}
