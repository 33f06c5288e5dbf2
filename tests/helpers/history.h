/*
 * history.h — the deterministic write history the crash tests replay
 * (tests/crash/test_crash.c, tests/unit/test_killpoint.c), and its model.
 *
 * Op i, by i % 5: 0, 1, 3 put k<i>_; 2 deletes k<i-2>_; 4 is a batch that
 * puts k<i>a, k<i>b, k<i>c and deletes k<i-1>_.  Every key is written once
 * with a value derived from it, so after a crash each op is either wholly
 * in the database or wholly absent, and the model (which keys each op left
 * present) says what a prefix of the history looks like.
 * Header-only (like tests/unit/picker_sim.h): each test program links it
 * with the engine.
 */
#ifndef LSM_TEST_HISTORY_H
#define LSM_TEST_HISTORY_H

#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"
#include "lsm.h"

#define HISTORY_FN static __attribute__((unused))

enum { HISTORY_PUT, HISTORY_DELETE, HISTORY_BATCH };

typedef struct history {
    unsigned char *present; /* per op: bit 0 k<i>_, bits 1..3 k<i>a..c */
    long cap;
} history;

HISTORY_FN int history_op_kind(long i)
{
    switch (i % 5) {
    case 2: return HISTORY_DELETE;
    case 4: return HISTORY_BATCH;
    default: return HISTORY_PUT;
    }
}

HISTORY_FN size_t history_key(char *buf, long i, char suffix)
{
    return (size_t)sprintf(buf, "k%08ld%c", i, suffix);
}

/* Long enough that small memtables flush often. */
HISTORY_FN size_t history_value(char *buf, long i, char suffix)
{
    return (size_t)sprintf(buf, "v%ld%c-%0160ld", i, suffix, i);
}

HISTORY_FN void history_init(history *h, long cap)
{
    h->present = calloc((size_t)cap + 2, 1);
    h->cap = cap;
    assert_non_null(h->present);
}

HISTORY_FN void history_free(history *h)
{
    free(h->present);
    h->present = NULL;
}

/* Writes op i to db (b is scratch for batches). */
HISTORY_FN int history_do_op(lsm_db *db, lsm_batch *b, long i, int flags)
{
    char k[32], v[256];
    switch (history_op_kind(i)) {
    case HISTORY_PUT:
        return lsm_put(db, k, history_key(k, i, '_'), v, history_value(v, i, '_'), flags);
    case HISTORY_DELETE:
        return lsm_delete(db, k, history_key(k, i - 2, '_'), flags);
    default:
        lsm_batch_clear(b);
        for (char s = 'a'; s <= 'c'; s++)
            lsm_batch_put(b, k, history_key(k, i, s), v, history_value(v, i, s));
        lsm_batch_delete(b, k, history_key(k, i - 1, '_'));
        return lsm_write(db, b, flags);
    }
}

/* The model after op i. */
HISTORY_FN void history_apply(history *h, long i)
{
    switch (history_op_kind(i)) {
    case HISTORY_PUT: h->present[i] |= 1; break;
    case HISTORY_DELETE: h->present[i - 2] &= (unsigned char)~1; break;
    default:
        h->present[i] |= 2 | 4 | 8;
        h->present[i - 1] &= (unsigned char)~1;
    }
}

/* 1 if key k is in db, 0 if not; a present key must hold exactly v (the
 * test fails otherwise). */
HISTORY_FN int history_db_holds(lsm_db *db, const char *k, size_t kn, const char *v, size_t vn)
{
    void *got = NULL;
    size_t n = 0;
    int rc = lsm_get(db, NULL, k, kn, &got, &n);
    if (rc == LSM_ENOTFOUND)
        return 0;
    assert_int_equal(rc, 0);
    assert_int_equal(n, vn);
    assert_memory_equal(got, v, n);
    lsm_free(got);
    return 1;
}

/* 1 if the key of op i with suffix is in db; a present key must hold
 * exactly its value. */
HISTORY_FN int history_db_has(lsm_db *db, long i, char suffix)
{
    char k[32], v[256];
    size_t kn = history_key(k, i, suffix), vn = history_value(v, i, suffix);
    return history_db_holds(db, k, kn, v, vn);
}

/* Did op x (the one in flight at the kill) land?  The model holds the
 * history up to x - 1. */
HISTORY_FN int history_op_landed(lsm_db *db, const history *h, long x)
{
    switch (history_op_kind(x)) {
    case HISTORY_PUT: return history_db_has(db, x, '_');
    case HISTORY_DELETE:
        return x >= 2 && (h->present[x - 2] & 1) && !history_db_has(db, x - 2, '_');
    default: return history_db_has(db, x, 'a');
    }
}

/* Fails the test unless op i's keys are exactly as the model says. */
HISTORY_FN void history_check_op(lsm_db *db, const history *h, long i)
{
    unsigned char p = h->present[i];
    if (history_db_has(db, i, '_') != (p & 1))
        fail_msg("op %ld key k_: db %s, history says %s", i, (p & 1) ? "lacks it" : "has it",
                 (p & 1) ? "present" : "absent");
    if (history_op_kind(i) == HISTORY_BATCH)
        for (int s = 0; s < 3; s++)
            if (history_db_has(db, i, (char)('a' + s)) != !!(p & (2 << s)))
                fail_msg("op %ld: partial or lost batch (key %c)", i, 'a' + s);
}

#endif
