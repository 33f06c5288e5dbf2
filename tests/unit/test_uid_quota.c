/*
 * test_uid_quota.c — daemon/uid_quota.c: per-uid counts against their
 * limits, all-or-nothing charges, the exempt uid, -EMFILE vs -ENOMEM,
 * arithmetic at the 64-bit boundary, and entries that vanish at zero.
 */
#include "helpers.h"

#include <errno.h>
#include <stdint.h>

#include "uid_quota.h"

#define DAEMON_UID 0
#define FOREIGN 1000

static void test_limits_per_uid(void **state)
{
    (void)state;
    const uint64_t lim[UIDQ_NRES] = { [UIDQ_SESSIONS] = 2, [UIDQ_ITERS] = 3,
                                      [UIDQ_SNAPSHOTS] = 0, [UIDQ_ARENA_BYTES] = 100 };
    uidq *q;
    assert_int_equal(uidq_new(lim, DAEMON_UID, &q), 0);
    assert_int_equal(uidq_take(q, FOREIGN, UIDQ_SESSIONS, 1), 0);
    assert_int_equal(uidq_take(q, FOREIGN, UIDQ_SESSIONS, 1), 0);
    assert_int_equal(uidq_take(q, FOREIGN, UIDQ_SESSIONS, 1), -EMFILE);
    assert_int_equal(uidq_used(q, FOREIGN, UIDQ_SESSIONS), 2);
    /* Another uid has its own share; the daemon's uid is never refused. */
    assert_int_equal(uidq_take(q, FOREIGN + 1, UIDQ_SESSIONS, 2), 0);
    assert_int_equal(uidq_take(q, DAEMON_UID, UIDQ_SESSIONS, 50), 0);
    assert_int_equal(uidq_used(q, DAEMON_UID, UIDQ_SESSIONS), 50);
    /* All or nothing; arena bytes over the limit are -ENOMEM. */
    assert_int_equal(uidq_take(q, FOREIGN, UIDQ_ITERS, 4), -EMFILE);
    assert_int_equal(uidq_used(q, FOREIGN, UIDQ_ITERS), 0);
    assert_int_equal(uidq_take(q, FOREIGN, UIDQ_ARENA_BYTES, 60), 0);
    assert_int_equal(uidq_take(q, FOREIGN, UIDQ_ARENA_BYTES, 41), -ENOMEM);
    assert_int_equal(uidq_take(q, FOREIGN, UIDQ_ARENA_BYTES, 40), 0);
    /* 0 = unlimited. */
    assert_int_equal(uidq_take(q, FOREIGN, UIDQ_SNAPSHOTS, 100000), 0);
    /* Giving back makes room again. */
    uidq_give(q, FOREIGN, UIDQ_SESSIONS, 1);
    assert_int_equal(uidq_take(q, FOREIGN, UIDQ_SESSIONS, 1), 0);
    assert_int_equal(uidq_limit(q, UIDQ_ITERS), 3);
    assert_string_equal(uidq_key(UIDQ_ARENA_BYTES), "max_arena_bytes_per_uid");
    uidq_free(q);
}

/* "used + n > limit" would wrap for n near 2^64 and let the charge
 * through; the check must not, for limited and exempt uids alike, and a
 * give of more than was taken stops at 0. */
static void test_arithmetic_at_the_boundary(void **state)
{
    (void)state;
    const uint64_t lim[UIDQ_NRES] = { [UIDQ_SESSIONS] = 10, [UIDQ_ARENA_BYTES] = UINT64_MAX };
    uidq *q;
    assert_int_equal(uidq_new(lim, DAEMON_UID, &q), 0);
    assert_int_equal(uidq_take(q, FOREIGN, UIDQ_SESSIONS, 1), 0);
    assert_int_equal(uidq_take(q, FOREIGN, UIDQ_SESSIONS, UINT64_MAX), -EMFILE);
    assert_int_equal(uidq_take(q, FOREIGN, UIDQ_SESSIONS, UINT64_MAX - 5), -EMFILE);
    assert_int_equal(uidq_used(q, FOREIGN, UIDQ_SESSIONS), 1);
    assert_int_equal(uidq_take(q, FOREIGN, UIDQ_ARENA_BYTES, UINT64_MAX - 1), 0);
    assert_int_equal(uidq_take(q, FOREIGN, UIDQ_ARENA_BYTES, 1), 0);
    assert_int_equal(uidq_take(q, FOREIGN, UIDQ_ARENA_BYTES, 1), -ENOMEM);
    assert_int_equal(uidq_used(q, FOREIGN, UIDQ_ARENA_BYTES), UINT64_MAX);
    /* Unlimited for the exempt uid, but never a wrap. */
    assert_int_equal(uidq_take(q, DAEMON_UID, UIDQ_ITERS, UINT64_MAX), 0);
    assert_int_equal(uidq_take(q, DAEMON_UID, UIDQ_ITERS, 1), -EMFILE);
    assert_int_equal(uidq_used(q, DAEMON_UID, UIDQ_ITERS), UINT64_MAX);
    uidq_give(q, FOREIGN, UIDQ_SESSIONS, 7);
    assert_int_equal(uidq_used(q, FOREIGN, UIDQ_SESSIONS), 0);
    uidq_free(q);
}

/* A uid's entry goes when everything is given back; a NULL quota charges
 * nothing and refuses nothing. */
static void test_entries_and_null(void **state)
{
    (void)state;
    const uint64_t lim[UIDQ_NRES] = { [UIDQ_ITERS] = 1 };
    uidq *q;
    assert_int_equal(uidq_new(lim, DAEMON_UID, &q), 0);
    for (uid_t u = 1; u <= 100; u++) /* grows the table */
        assert_int_equal(uidq_take(q, u, UIDQ_ITERS, 1), 0);
    for (uid_t u = 1; u <= 100; u++) {
        assert_int_equal(uidq_take(q, u, UIDQ_ITERS, 1), -EMFILE);
        uidq_give(q, u, UIDQ_ITERS, 1);
        assert_int_equal(uidq_used(q, u, UIDQ_ITERS), 0);
    }
    uidq_give(q, 4242, UIDQ_ITERS, 1); /* unknown uid: no-op */
    assert_int_equal(uidq_take(q, 7, UIDQ_ITERS, 1), 0);
    uidq_free(q);
    assert_int_equal(uidq_take(NULL, FOREIGN, UIDQ_ITERS, 1000), 0);
    assert_int_equal(uidq_used(NULL, FOREIGN, UIDQ_ITERS), 0);
    uidq_give(NULL, FOREIGN, UIDQ_ITERS, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits_per_uid),
        cmocka_unit_test(test_arithmetic_at_the_boundary),
        cmocka_unit_test(test_entries_and_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
