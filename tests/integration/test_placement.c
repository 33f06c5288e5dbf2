/*
 * test_placement.c — NUMA placement, read back from the pages.
 *
 * For --numa auto and --numa 0 (and off): a client attaches, and the node
 * of its segment's pages — read with get_mempolicy(MPOL_F_NODE|MPOL_F_ADDR)
 * both by the daemon (stats: client_list[].segment_node) and by the client
 * on its own mapping — must be the node the daemon says it serves the
 * client from (the hello's numa_node; any node when placement is off).  On
 * a single-node machine that is node 0 everywhere, and auto is a no-op.
 */
#include "helpers.h"

#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "harness.h"

static th_daemon g_d;
/* Each case starts the daemon with its own --numa mode. */
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_BIN, .tag = "numa" };

static int page_node(const void *addr)
{
    int node = -1;
    if (get_mempolicy(&node, NULL, 0, (void *)addr, MPOL_F_NODE | MPOL_F_ADDR) != 0)
        return -1;
    return node;
}

/* The integer after "key": in the first client_list entry of the stats. */
static long stat_of_client(const char *json, const char *key)
{
    const char *p = strstr(json, "\"client_list\":[");
    assert_non_null(p);
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = strstr(p, pat);
    assert_non_null(p);
    return strtol(p + strlen(pat), NULL, 10);
}

static void check_mode(const char *mode, int want_node)
{
    const char *extra[] = { "--numa", mode, NULL };
    thd_start(&g_d, extra);
    lsmd_conn *c = thd_connect(&g_d);
    /* Touch every page of the arena from the client side. */
    assert_int_equal(lsmd_put(c, "k", 1, "v", 1, 0), 0);
    int mine = page_node(c->seg.base);
    int arena = page_node(c->arena + c->arena_bytes - 1);
    char *json;
    assert_int_equal(lsmd_stats_json(c, &json), 0);
    long seg = stat_of_client(json, "segment_node");
    long wnode = stat_of_client(json, "worker_node");
    free(json);
    fprintf(stderr, "numa %s: segment on node %d (client view), %ld (daemon view), arena end "
                    "%d, worker node %ld\n", mode, mine, seg, arena, wnode);
    assert_true(mine >= 0);
    assert_int_equal(seg, mine);
    assert_int_equal(arena, mine);
    if (want_node >= 0)
        assert_int_equal(mine, want_node);
    assert_int_equal(wnode, mine); /* served from the node its memory is on */
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(&g_d), 0);
}

static void test_placement(void **state)
{
    (void)state;
    int node = page_node(&g_d); /* a node that exists: the one we run on */
    assert_true(node >= 0);
    check_mode("auto", -1);
    char n[16];
    snprintf(n, sizeof n, "%d", node);
    check_mode(n, node);
    check_mode("off", -1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = { TH_TEST(test_placement, &g_fx) };
    return TH_MAIN(argc, argv, NULL, NULL, tests);
}
