/*
 * test_stress_oracle.c — the stress driver's oracle (tests/stress/oracle.h):
 * values and keys round-trip, and oracle_verify finds the recovered prefix,
 * counts lost synced / unsynced acknowledged writes, accepts an in-flight
 * op landed whole or not at all, and reports holes (a later write present
 * while an earlier one is missing, a partial batch, a resurrected delete, a
 * key no op touched that changed) and corrupt values.
 */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>

#include "oracle.h"

#define NKEYS 64

/* Builds a history in a shared log the way a client does. */
typedef struct hist {
    oplog *log;
    uint64_t seq;
} hist;

static void h_op(hist *h, int kind, int sync, const uint32_t *keys, const int *del, unsigned n)
{
    oplog *l = h->log;
    uint32_t i = atomic_load(&l->n_intent);
    l->ops[i] = (oplog_op){ .seq = h->seq++, .first = l->n_entries, .n = (uint16_t)n,
                            .kind = (uint8_t)kind, .sync = (uint8_t)sync };
    for (unsigned j = 0; j < n; j++)
        l->entries[l->n_entries++] = (oplog_entry){ keys[j], (uint32_t)del[j] };
    atomic_store(&l->n_intent, i + 1);
    atomic_store(&l->n_acked, i + 1);
}

static void h_put(hist *h, uint32_t key, int sync)
{
    int del = 0;
    h_op(h, OP_PUT, sync, &key, &del, 1);
}

static void h_del(hist *h, uint32_t key, int sync)
{
    int del = 1;
    h_op(h, OP_DELETE, sync, &key, &del, 1);
}

/* The state after the first p ops of the log, from base. */
static void model(const oplog *l, const uint64_t *base, uint32_t p, uint64_t *out)
{
    memcpy(out, base, NKEYS * sizeof *out);
    for (uint32_t i = 0; i < p; i++) {
        const oplog_op *op = &l->ops[i];
        for (unsigned j = 0; j < op->n; j++) {
            const oplog_entry *e = &l->entries[op->first + j];
            out[e->key] = e->del ? VID_ABSENT : vid_make(op->seq, j);
        }
    }
}

typedef struct fixture {
    oracle o;
    hist h;
    uint64_t base[NKEYS], obs[NKEYS];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(oracle_init(&f->o, 2, NKEYS), 0);
    f->h.log = oplog_map();
    assert_non_null(f->h.log);
    f->h.seq = 1;
    /* A base state from an earlier cycle: even keys present. */
    for (uint32_t k = 0; k < NKEYS; k += 2)
        oracle_state(&f->o, 1)[k] = vid_make(1000 + k, 0);
    f->h.seq = 5000;
    memcpy(f->base, oracle_state(&f->o, 1), sizeof f->base);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    oplog_unmap(f->h.log);
    oracle_free(&f->o);
    free(f);
    return 0;
}

/* A history of 12 ops on client 1: puts, deletes, a batch that writes one
 * key twice.  Ops 1..12; sync where noted. */
static void history(fixture *f)
{
    hist *h = &f->h;
    h_put(h, 1, 0);                               /* 1 */
    h_put(h, 3, 1);                               /* 2: synced */
    h_del(h, 2, 0);                               /* 3: deletes a base key */
    h_put(h, 1, 0);                               /* 4: overwrites op 1 */
    uint32_t bk[4] = { 5, 7, 5, 4 };
    int bd[4] = { 0, 0, 0, 1 };
    h_op(h, OP_BATCH, 0, bk, bd, 4);              /* 5: key 5 twice, delete 4 */
    h_put(h, 9, 0);                               /* 6 */
    h_put(h, 11, 1);                              /* 7: synced */
    h_del(h, 1, 0);                               /* 8 */
    h_put(h, 13, 0);                              /* 9 */
    h_put(h, 15, 0);                              /* 10 */
    h_put(h, 17, 0);                              /* 11 */
    h_put(h, 19, 0);                              /* 12 */
}

static verify_result check(fixture *f)
{
    verify_result r;
    assert_int_equal(oracle_verify(&f->o, 1, f->h.log, f->obs, &r, NULL), 0);
    return r;
}

static void test_values_and_keys(void **state)
{
    (void)state;
    static char v[ORACLE_MAX_VALUE];
    th_rng rng;
    th_rng_seed(&rng, 7);
    for (int i = 0; i < 2000; i++) {
        unsigned c = (unsigned)th_rng_below(&rng, 99);
        uint32_t k = (uint32_t)th_rng_below(&rng, 1000000);
        uint64_t vid = vid_make(1 + th_rng_below(&rng, 1ull << 40), (unsigned)th_rng_below(&rng, 16));
        size_t n = oracle_value(v, c, k, vid);
        assert_true(n >= 17 && n <= ORACLE_MAX_VALUE);
        assert_true(oracle_value_vid(v, n, c, k) == vid);
        assert_true(oracle_value_vid(v, n, c, k + 1) == VID_CORRUPT); /* another key's */
        assert_true(oracle_value_vid(v, n - 1, c, k) == VID_CORRUPT); /* cut short */
        size_t at = th_rng_below(&rng, n);
        v[at] ^= 1;
        assert_true(oracle_value_vid(v, n, c, k) == VID_CORRUPT);     /* one bit flipped */

        char key[ORACLE_KEY_LEN + 1], lo[8], hi[8];
        size_t kl = oracle_key(key, c, k);
        assert_int_equal(kl, ORACLE_KEY_LEN);
        assert_int_equal(oracle_parse_key(key, kl, c), (long)k);
        assert_int_equal(oracle_parse_key(key, kl, (c + 1) % 99), -1);
        size_t bl = oracle_range(lo, hi, c);
        assert_true(memcmp(lo, key, bl) <= 0 && memcmp(key, hi, bl) < 0);
    }
}

static void test_exact_history(void **state)
{
    fixture *f = *state;
    history(f);
    model(f->h.log, f->base, 12, f->obs);
    verify_result r = check(f);
    assert_int_equal(r.acked, 12);
    assert_int_equal(r.synced_acked, 2);
    assert_int_equal(r.prefix, 12);
    assert_int_equal(r.lost_synced + r.lost_unsynced + r.holes + r.corrupt, 0);
    /* The new base is what was found; sequences move on. */
    assert_memory_equal(oracle_state(&f->o, 1), f->obs, sizeof f->obs);
    assert_true(f->o.next_seq[1] == f->h.seq);
}

static void test_lost_suffix(void **state)
{
    fixture *f = *state;
    history(f);
    model(f->h.log, f->base, 8, f->obs); /* ops 9..12 (unsynced) lost */
    verify_result r = check(f);
    assert_int_equal(r.prefix, 8);
    assert_int_equal(r.lost_unsynced, 4);
    assert_int_equal(r.lost_synced + r.holes, 0);

    /* Losing from op 7 on loses a synced write. */
    teardown(state);
    setup(state);
    f = *state;
    history(f);
    model(f->h.log, f->base, 6, f->obs);
    r = check(f);
    assert_int_equal(r.prefix, 6);
    assert_int_equal(r.lost_synced, 1);
    assert_int_equal(r.lost_unsynced, 5);
    assert_int_equal(r.holes, 0);
}

static void test_inflight(void **state)
{
    fixture *f = *state;
    history(f);
    atomic_store(&f->h.log->n_acked, 11); /* op 12 was in flight */
    model(f->h.log, f->base, 12, f->obs);
    verify_result r = check(f);
    assert_int_equal(r.inflight, 1);
    assert_int_equal(r.inflight_landed, 1);
    assert_int_equal(r.lost_synced + r.lost_unsynced + r.holes, 0);

    teardown(state);
    setup(state);
    f = *state;
    history(f);
    atomic_store(&f->h.log->n_acked, 11);
    model(f->h.log, f->base, 11, f->obs);
    r = check(f);
    assert_int_equal(r.inflight, 1);
    assert_int_equal(r.inflight_landed, 0);
    assert_int_equal(r.acked, 11);
    assert_int_equal(r.lost_synced + r.lost_unsynced + r.holes, 0);
}

static void test_hole(void **state)
{
    fixture *f = *state;
    history(f);
    model(f->h.log, f->base, 12, f->obs);
    f->obs[9] = VID_ABSENT; /* op 6 missing, ops 7..12 present */
    verify_result r = check(f);
    assert_true(r.holes >= 1);
}

static void test_partial_batch(void **state)
{
    fixture *f = *state;
    history(f);
    model(f->h.log, f->base, 12, f->obs);
    f->obs[4] = f->base[4]; /* the batch's delete of key 4 did not land */
    verify_result r = check(f);
    assert_true(r.holes >= 1);

    /* The batch's first write of key 5 is not a valid state either: the
     * batch's last entry for a key wins. */
    teardown(state);
    setup(state);
    f = *state;
    history(f);
    model(f->h.log, f->base, 12, f->obs);
    f->obs[5] = vid_make(f->h.log->ops[4].seq, 0);
    r = check(f);
    assert_true(r.holes >= 1);
}

static void test_resurrected_delete(void **state)
{
    fixture *f = *state;
    history(f);
    model(f->h.log, f->base, 12, f->obs);
    f->obs[2] = f->base[2]; /* op 3's delete undone, later ops present */
    verify_result r = check(f);
    assert_true(r.holes >= 1);
}

static void test_untouched_and_corrupt(void **state)
{
    fixture *f = *state;
    history(f);
    model(f->h.log, f->base, 12, f->obs);
    f->obs[40] = VID_ABSENT;        /* untouched base key vanished */
    f->obs[41] = vid_make(77, 0);   /* untouched absent key appeared */
    f->obs[42] = VID_CORRUPT;       /* untouched key with bad bytes */
    f->obs[3] = VID_CORRUPT;        /* touched key with bad bytes */
    verify_result r = check(f);
    assert_int_equal(r.holes, 2);
    assert_int_equal(r.corrupt, 2);
    assert_int_equal(r.lost_synced + r.lost_unsynced, 0);
}

static void test_empty_cycle(void **state)
{
    fixture *f = *state;
    memcpy(f->obs, f->base, sizeof f->obs);
    verify_result r = check(f);
    assert_int_equal(r.intents + r.holes + r.corrupt + r.prefix, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_keys),
        cmocka_unit_test_setup_teardown(test_exact_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_suffix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inflight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resurrected_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_untouched_and_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_cycle, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
