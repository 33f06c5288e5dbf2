/*
 * test_snapshot_registry.c — daemon/snapshot_registry.c on a real engine:
 * holders and counts, sharing one engine snapshot per sequence, -ESRCH and
 * -EMFILE, dropping a dead holder, reader references that outlive the last
 * release, and what gets published; the limits: repeated holds count
 * against the holder's limit (the pin count can no longer wrap and release
 * the owner's snapshot), max_listed refuses an acquire instead of listing
 * more than the directory holds, and the per-uid quota.
 */
#include "helpers.h"

#include <errno.h>
#include <string.h>

#include "lsm.h"
#include "snapshot_registry.h"
#include "uid_quota.h"

typedef struct pub {
    snapreg_info last[16];
    size_t n;
    int calls;
} pub;

static void on_publish(void *ctx, const snapreg_info *list, size_t n)
{
    pub *p = ctx;
    p->n = n;
    memcpy(p->last, list, (n < 16 ? n : 16) * sizeof *list);
    p->calls++;
}

typedef struct fixture {
    char *dir;
    lsm_db *db;
    snapreg *r;
    pub p;
} fixture;

static int setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    f.dir = th_tempdir("snapreg");
    assert_int_equal(lsm_open(f.dir, NULL, &f.db), 0);
    const snapreg_limits lim = { .max_listed = 8, .max_per_holder = 3 };
    assert_int_equal(snapreg_new(f.db, &lim, NULL, on_publish, &f.p, &f.r), 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    snapreg_free(f->r);
    assert_int_equal(lsm_close(f->db), 0);
    th_rmrf_free(f->dir);
    return 0;
}

static void put(fixture *f, const char *k, const char *v)
{
    assert_int_equal(lsm_put(f->db, k, strlen(k), v, strlen(v), 0), 0);
}

/* Regression: a snapshot of an empty database pins sequence 0, and ID 0
 * means "latest" in the protocol; IDs must never be 0. */
static void test_empty_db_id_not_zero(void **state)
{
    fixture *f = *state;
    uint64_t id;
    assert_int_equal(snapreg_acquire(f->r, 1, 0, 1, &id), 0);
    assert_true(id != 0);
    assert_int_equal(snapreg_sequence_of(id), 0);
    put(f, "k", "v");
    const lsm_snapshot *s;
    assert_int_equal(snapreg_ref(f->r, 1, id, &s), 0);
    void *v;
    size_t n;
    assert_int_equal(lsm_get(f->db, s, "k", 1, &v, &n), LSM_ENOTFOUND);
    snapreg_unref(f->r, id);
}

static void test_acquire_hold_release(void **state)
{
    fixture *f = *state;
    put(f, "k", "1");
    uint64_t id;
    assert_int_equal(snapreg_acquire(f->r, 1, 0, 100, &id), 0);
    assert_int_equal(f->p.n, 1);
    assert_int_equal(f->p.last[0].id, id);
    assert_int_equal(f->p.last[0].holders, 1);
    assert_int_equal(f->p.last[0].creator_pid, 100);

    assert_int_equal(snapreg_hold(f->r, 2, 0, id), 0);
    assert_int_equal(snapreg_hold(f->r, 2, 0, id), 0); /* twice counts twice */
    assert_int_equal(f->p.last[0].holders, 2);
    assert_int_equal(f->p.last[0].pins, 3);

    /* The view is the one of the acquire. */
    put(f, "k", "2");
    const lsm_snapshot *s;
    assert_int_equal(snapreg_ref(f->r, 2, id, &s), 0);
    void *v;
    size_t n;
    assert_int_equal(lsm_get(f->db, s, "k", 1, &v, &n), 0);
    assert_memory_equal(v, "1", 1);
    lsm_free(v);
    snapreg_unref(f->r, id);

    /* Only holders may read at it or release it. */
    assert_int_equal(snapreg_ref(f->r, 3, id, &s), -ESRCH);
    assert_int_equal(snapreg_release(f->r, 3, id), -ESRCH);

    assert_int_equal(snapreg_release(f->r, 1, id), 0);
    assert_int_equal(snapreg_release(f->r, 2, id), 0);
    assert_int_equal(f->p.n, 1);
    assert_int_equal(snapreg_release(f->r, 2, id), 0);
    assert_int_equal(f->p.n, 0); /* last pin gone: unlisted */
    assert_int_equal(snapreg_hold(f->r, 2, 0, id), -ESRCH);
    assert_int_equal(snapreg_release(f->r, 2, id), -ESRCH);
}

static void test_same_sequence_shared(void **state)
{
    fixture *f = *state;
    put(f, "a", "1");
    uint64_t a, b;
    assert_int_equal(snapreg_acquire(f->r, 1, 0, 1, &a), 0);
    assert_int_equal(snapreg_acquire(f->r, 2, 0, 2, &b), 0);
    assert_int_equal(a, b); /* nothing written in between: one entry */
    assert_int_equal(f->p.n, 1);
    assert_int_equal(f->p.last[0].holders, 2);
    put(f, "a", "2");
    uint64_t c;
    assert_int_equal(snapreg_acquire(f->r, 1, 0, 1, &c), 0);
    assert_true(c > a);
    assert_int_equal(f->p.n, 2);
    assert_true(f->p.last[0].id < f->p.last[1].id); /* sorted */
    snapreg_info all[4];
    assert_int_equal(snapreg_list(f->r, all, 4), 2);
}

static void test_drop_holder_and_limit(void **state)
{
    fixture *f = *state;
    uint64_t ids[3];
    for (int i = 0; i < 3; i++) {
        put(f, "x", "y");
        assert_int_equal(snapreg_acquire(f->r, 7, 0, 7, &ids[i]), 0);
    }
    put(f, "x", "z");
    uint64_t more;
    assert_int_equal(snapreg_acquire(f->r, 7, 0, 7, &more), -EMFILE); /* max_per_holder 3 */
    assert_int_equal(snapreg_hold(f->r, 8, 0, ids[1]), 0);
    assert_int_equal(f->p.n, 3);

    /* Holder 7 dies: only the ID 8 also holds stays. */
    assert_int_equal(snapreg_drop_holder(f->r, 7), 3);
    assert_int_equal(f->p.n, 1);
    assert_int_equal(f->p.last[0].id, ids[1]);
    assert_int_equal(snapreg_drop_holder(f->r, 7), 0);
    assert_int_equal(snapreg_drop_holder(f->r, 8), 1);
    assert_int_equal(f->p.n, 0);
}

static void test_reader_outlives_release(void **state)
{
    fixture *f = *state;
    put(f, "r", "old");
    uint64_t id;
    assert_int_equal(snapreg_acquire(f->r, 1, 0, 1, &id), 0);
    const lsm_snapshot *s;
    assert_int_equal(snapreg_ref(f->r, 1, id, &s), 0);
    assert_int_equal(snapreg_release(f->r, 1, id), 0);
    assert_int_equal(f->p.n, 0); /* unlisted at once ... */
    put(f, "r", "new");
    void *v;
    size_t n;
    assert_int_equal(lsm_get(f->db, s, "r", 1, &v, &n), 0); /* ... but still readable */
    assert_int_equal(n, 3);
    assert_memory_equal(v, "old", 3);
    lsm_free(v);
    snapreg_unref(f->r, id);
    /* Acquiring again at a new sequence works and lists one entry. */
    assert_int_equal(snapreg_acquire(f->r, 1, 0, 1, &id), 0);
    assert_int_equal(f->p.n, 1);
}

/* Regression (issue 9, item 5): a holder's repeated holds of another's
 * snapshot were limited only by UINT32_MAX each, and the snapshot's total
 * was a 32-bit sum, so 2^32 - 1 holds wrapped it to 0 and released the
 * owner's snapshot under it.  Every hold now counts against the holder's
 * limit (max_per_holder 3 here), far below any wrap, and the owner keeps
 * its snapshot through the other holder's holds and releases. */
static void test_repeated_holds_cannot_release_owner(void **state)
{
    fixture *f = *state;
    put(f, "k", "owner's view");
    uint64_t id;
    assert_int_equal(snapreg_acquire(f->r, 1, 0, 1, &id), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(snapreg_hold(f->r, 2, 0, id), 0);
    assert_int_equal(snapreg_hold(f->r, 2, 0, id), -EMFILE);
    assert_int_equal(f->p.last[0].pins, 4); /* exact: 1 + 3 */
    uint64_t other;
    assert_int_equal(snapreg_acquire(f->r, 2, 0, 2, &other), -EMFILE); /* same limit */
    /* The attacker drops everything it holds, and then some. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(snapreg_release(f->r, 2, id), 0);
    assert_int_equal(snapreg_release(f->r, 2, id), -ESRCH);
    assert_int_equal(f->p.n, 1);
    assert_int_equal(f->p.last[0].pins, 1);
    put(f, "k", "later");
    const lsm_snapshot *s;
    assert_int_equal(snapreg_ref(f->r, 1, id, &s), 0);
    void *v;
    size_t n;
    assert_int_equal(lsm_get(f->db, s, "k", 1, &v, &n), 0);
    assert_int_equal(n, strlen("owner's view"));
    assert_memory_equal(v, "owner's view", n);
    lsm_free(v);
    snapreg_unref(f->r, id);
    /* Holds of a holder at its limit become possible again after releases. */
    assert_int_equal(snapreg_hold(f->r, 2, 0, id), 0);
    assert_int_equal(snapreg_release(f->r, 1, id), 0);
    assert_int_equal(snapreg_release(f->r, 2, id), 0);
    assert_int_equal(f->p.n, 0);
}

/* Issue 9, item 4: past max_listed an acquire that would list a new ID is
 * refused; nothing listed is ever dropped from the publication.  An acquire
 * at an already listed sequence and a hold list nothing new and pass. */
static void test_max_listed(void **state)
{
    fixture *f = *state;
    snapreg_free(f->r);
    const snapreg_limits lim = { .max_listed = 2, .max_per_holder = 8 };
    assert_int_equal(snapreg_new(f->db, &lim, NULL, on_publish, &f->p, &f->r), 0);
    uint64_t a, b, c;
    put(f, "m", "1");
    assert_int_equal(snapreg_acquire(f->r, 1, 0, 1, &a), 0);
    put(f, "m", "2");
    assert_int_equal(snapreg_acquire(f->r, 2, 0, 2, &b), 0);
    assert_int_equal(snapreg_acquire(f->r, 3, 0, 3, &c), 0); /* same sequence as b */
    assert_int_equal(c, b);
    /* An unlisted entry kept by a reader counts again once re-listed. */
    const lsm_snapshot *s;
    assert_int_equal(snapreg_ref(f->r, 2, b, &s), 0);
    assert_int_equal(snapreg_release(f->r, 2, b), 0);
    assert_int_equal(snapreg_release(f->r, 3, b), 0);
    assert_int_equal(f->p.n, 1);
    assert_int_equal(snapreg_acquire(f->r, 4, 0, 4, &c), 0); /* re-lists b */
    assert_int_equal(c, b);
    assert_int_equal(f->p.n, 2);
    put(f, "m", "3");
    assert_int_equal(snapreg_acquire(f->r, 5, 0, 5, &c), -EMFILE);
    assert_int_equal(snapreg_hold(f->r, 5, 0, a), 0);
    assert_int_equal(f->p.n, 2);
    assert_int_equal(f->p.last[0].id, a);
    assert_int_equal(f->p.last[1].id, b);
    snapreg_unref(f->r, b);
    assert_int_equal(snapreg_release(f->r, 4, b), 0);
    assert_int_equal(snapreg_acquire(f->r, 5, 0, 5, &c), 0); /* room again */
    assert_true(c > b);
    assert_int_equal(f->p.n, 2);
    assert_int_equal(snapreg_list(f->r, NULL, 0), 2);
}

/* The per-uid quota: pins of every holder of a uid count together; the
 * exempt uid is never refused; a dead holder's pins go back to its uid. */
static void test_uid_quota(void **state)
{
    fixture *f = *state;
    snapreg_free(f->r);
    const uint64_t quota[UIDQ_NRES] = { [UIDQ_SNAPSHOTS] = 2 };
    uidq *q;
    assert_int_equal(uidq_new(quota, 0, &q), 0);
    const snapreg_limits lim = { .max_listed = 16, .max_per_holder = 16 };
    assert_int_equal(snapreg_new(f->db, &lim, q, on_publish, &f->p, &f->r), 0);
    uint64_t id, other;
    assert_int_equal(snapreg_acquire(f->r, 1, 1000, 1, &id), 0);
    assert_int_equal(snapreg_hold(f->r, 2, 1000, id), 0);
    assert_int_equal(uidq_used(q, 1000, UIDQ_SNAPSHOTS), 2);
    assert_int_equal(snapreg_hold(f->r, 2, 1000, id), -EMFILE);
    put(f, "u", "1");
    assert_int_equal(snapreg_acquire(f->r, 3, 1000, 3, &other), -EMFILE);
    assert_int_equal(f->p.n, 1); /* the refused acquire listed nothing */
    for (int i = 0; i < 5; i++) /* the daemon's uid (exempt here: 0) */
        assert_int_equal(snapreg_hold(f->r, 4, 0, id), 0);
    assert_int_equal(uidq_used(q, 0, UIDQ_SNAPSHOTS), 5);
    assert_int_equal(snapreg_drop_holder(f->r, 1), 1);
    assert_int_equal(uidq_used(q, 1000, UIDQ_SNAPSHOTS), 1);
    assert_int_equal(snapreg_acquire(f->r, 3, 1000, 3, &other), 0);
    assert_int_equal(snapreg_drop_holder(f->r, 2), 1);
    assert_int_equal(snapreg_drop_holder(f->r, 3), 1);
    assert_int_equal(snapreg_drop_holder(f->r, 4), 5);
    assert_int_equal(uidq_used(q, 1000, UIDQ_SNAPSHOTS), 0);
    assert_int_equal(uidq_used(q, 0, UIDQ_SNAPSHOTS), 0);
    snapreg_free(f->r);
    f->r = NULL;
    uidq_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_db_id_not_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acquire_hold_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_sequence_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_holder_and_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_outlives_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeated_holds_cannot_release_owner, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_max_listed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uid_quota, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
