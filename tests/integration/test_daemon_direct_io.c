/*
 * test_daemon_direct_io.c — lsmd --use-direct-io end to end: the daemon reports
 * it in its stats, writes, flushes and compacts with O_DIRECT table
 * writes, and after a restart (the INI key this time) reads every value
 * back.  Kept short: a few thousand keys, tiny memtables.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm.h"

static th_daemon g_d;
static const char *const k_flags[] = { "--use-direct-io", "--memtable-bytes", "64K", NULL };
static th_fixture g_fx = { &g_d, LSMD_BIN, "dio", k_flags, .start = true };

#define NKEYS 4000

static size_t key_of(char *b, int i) { return (size_t)sprintf(b, "dk%06d", i); }
static size_t value_of(char *b, int i, int gen)
{
    return (size_t)sprintf(b, "v%d-%d-%0180d", gen, i, i);
}

static void write_all(lsmd_conn *c, int gen)
{
    char k[32], v[256];
    for (int i = 0; i < NKEYS; i++)
        assert_int_equal(lsmd_put(c, k, key_of(k, i), v, value_of(v, i, gen), 0), 0);
}

static void check_all(lsmd_conn *c, int gen)
{
    char k[32], v[256];
    for (int i = 0; i < NKEYS; i++) {
        void *got;
        size_t n, vn = value_of(v, i, gen);
        int rc = lsmd_get(c, 0, k, key_of(k, i), &got, &n);
        if (rc != 0)
            fail_msg("key %d: %s", i, lsm_strerror(rc));
        assert_int_equal(n, vn);
        assert_memory_equal(got, v, n);
        free(got);
    }
}

static void test_direct_daemon(void **state)
{
    th_fixture *fx = *state;
    th_daemon *d = fx->d;
    lsmd_conn *c = thd_connect(d);
    char *json;
    assert_int_equal(lsmd_stats_json(c, &json), 0);
    if (!strstr(json, "\"use_direct_io\":1"))
        fail_msg("stats do not show direct I/O: %.300s", json);
    free(json);
    write_all(c, 1);
    write_all(c, 2); /* every key twice: the compaction drops the old ones */
    assert_int_equal(lsmd_flush(c), 0);
    assert_int_equal(lsmd_compact(c, -1), 0);
    check_all(c, 2);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(d), 0);

    /* Restart from an INI file this time, then read everything back. */
    char ini[1024];
    snprintf(ini, sizeof ini, "%s/lsmd.ini", d->root);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    fputs("use_direct_io = 1\n", f);
    fclose(f);
    const char *const again[] = { "--config", ini, NULL };
    thd_start(d, again);
    c = thd_connect(d);
    assert_int_equal(lsmd_stats_json(c, &json), 0);
    assert_non_null(strstr(json, "\"use_direct_io\":1"));
    free(json);
    check_all(c, 2);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(d), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        TH_TEST(test_direct_daemon, &g_fx),
    };
    return TH_MAIN(argc, argv, NULL, NULL, tests);
}
