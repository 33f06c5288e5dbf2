/*
 * test_power_loss.c — simulated power loss with the fault-injection backend.
 *
 * Each round writes a deterministic history (single puts of fresh keys and
 * 3-entry batches; some with LSM_SYNC) through a small memtable so flushes,
 * WAL switches and MANIFEST edits happen, then cuts the power at a random
 * moment: every byte and directory entry that no completed sync covers is
 * dropped.  The reopen must succeed, keep every write up to the last
 * acknowledged synced one, and hold exactly a prefix of the history.
 * Rounds continue on the same directory.  LSM_POWER_ROUNDS sets the count.
 * test_power_loss_rounds_direct repeats it with use_direct_io (tables
 * written with O_DIRECT underneath the fault backend) for a quarter of the
 * rounds.
 * LSM_TEST_PER_BACKEND LSM_TEST_RING_PATHS
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "lsm.h"

#define MAX_OPS 400000

static int is_batch(long i) { return i % 7 == 6; }

static size_t key_of(char *buf, long i, int part)
{
    return (size_t)sprintf(buf, "op%08ld.%d", i, part);
}

static size_t value_of(char *buf, long i, int part)
{
    return (size_t)sprintf(buf, "val%ld.%d-%0120ld", i, part, i);
}

static int do_op(lsm_db *db, lsm_batch *b, long i, int flags)
{
    char k[32], v[160];
    if (!is_batch(i))
        return lsm_put(db, k, key_of(k, i, 0), v, value_of(v, i, 0), flags);
    lsm_batch_clear(b);
    for (int p = 0; p < 3; p++)
        lsm_batch_put(b, k, key_of(k, i, p), v, value_of(v, i, p));
    return lsm_write(db, b, flags);
}

/* 1 if every key of op i is there, 0 if none is; fails on a partial op. */
static int op_present(lsm_db *db, long i)
{
    int parts = is_batch(i) ? 3 : 1, found = 0;
    for (int p = 0; p < parts; p++) {
        char k[32], v[160];
        size_t kn = key_of(k, i, p), vn = value_of(v, i, p);
        void *got;
        size_t n;
        int rc = lsm_get(db, NULL, k, kn, &got, &n);
        if (rc == LSM_ENOTFOUND)
            continue;
        assert_int_equal(rc, 0);
        assert_int_equal(n, vn);
        assert_memory_equal(got, v, n);
        lsm_free(got);
        found++;
    }
    if (found != 0 && found != parts)
        fail_msg("op %ld: partial batch (%d of %d keys)", i, found, parts);
    return found != 0;
}

static int g_direct; /* use_direct_io for every open of this run */

static lsm_db *open_with(const char *dir, lsm_io *io)
{
    lsm_options o;
    lsm_options_init(&o);
    o.memtable_bytes = 24 << 10;
    o.use_direct_io = g_direct;
    o.io = io;
    lsm_db *db = NULL;
    int rc = lsm_open(dir, &o, &db);
    if (rc != 0)
        fail_msg("reopen failed: %s", lsm_strerror(rc));
    return db;
}

static void power_loss_rounds(long rounds)
{
    th_rng rng;
    th_rng_seed(&rng, th_seed());
    char *dir = th_tempdir("power");
    long next = 0, lost_unsynced = 0;

    for (long r = 0; r < rounds; r++) {
        lsm_io *base, *fault;
        assert_int_equal(io_new(NULL, &base), 0);
        assert_int_equal(io_fault_new(base, &fault), 0);
        lsm_db *db = open_with(dir, fault);
        lsm_batch *b = lsm_batch_new();
        long synced_upto = next - 1; /* ops <= this must survive */
        long acked = next - 1;
        long n = 50 + (long)th_rng_below(&rng, 600);
        for (long i = next; i < next + n && i < MAX_OPS; i++) {
            int sync = th_rng_below(&rng, 8) == 0;
            if (do_op(db, b, i, sync ? LSM_SYNC : 0) != 0)
                break;
            acked = i;
            if (sync)
                synced_upto = i;
        }
        assert_int_equal(io_fault_power_loss(fault), 0);
        /* The machine is off: writes now fail and close reports it. */
        int rc = lsm_put(db, "after", 5, "x", 1, LSM_SYNC);
        assert_true(rc == -EIO || rc == LSM_EREADONLY);
        lsm_close(db);
        lsm_batch_free(b);
        io_destroy(fault);
        io_destroy(base);

        db = open_with(dir, NULL);
        long i = next;
        while (i <= acked && op_present(db, i))
            i++;
        if (i <= synced_upto)
            fail_msg("round %ld: synced op %ld lost (synced up to %ld)", r, i, synced_upto);
        /* A prefix: nothing after the first missing op, nor past acked. */
        for (long j = i; j <= acked + 1; j++)
            if (op_present(db, j))
                fail_msg("round %ld: hole: op %ld present, op %ld missing", r, j, i);
        for (int s = 0; s < 300 && next > 0; s++)
            assert_true(op_present(db, (long)th_rng_below(&rng, (uint64_t)next)));
        lost_unsynced += acked + 1 - i;
        assert_int_equal(lsm_close(db), 0);
        next = i;
    }
    fprintf(stderr, "power loss%s: %ld rounds, %ld ops kept, %ld unsynced ops dropped\n",
            g_direct ? " (direct I/O)" : "", rounds, next, lost_unsynced);
    th_rmrf_free(dir);
}

static void test_power_loss_rounds(void **state)
{
    (void)state;
    g_direct = 0;
    power_loss_rounds(th_env_long("LSM_POWER_ROUNDS", 40));
}

static void test_power_loss_rounds_direct(void **state)
{
    (void)state;
    g_direct = 1;
    long rounds = th_env_long("LSM_POWER_ROUNDS", 40) / 4;
    power_loss_rounds(rounds > 3 ? rounds : 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_power_loss_rounds),
        cmocka_unit_test(test_power_loss_rounds_direct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
