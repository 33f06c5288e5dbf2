/*
 * test_db_iter.c — lsm_iter_* through the public API against a real
 * database, compared with a model: puts, deletes, batches and flushes
 * spreading keys over the memtable, frozen memtables and tables; bounds;
 * snapshots; reverse; seeks; direction changes at every position; keys with
 * hundreds of versions; a view that never changes while writes, flushes
 * and compactions continue (also from another thread); a read error.
 * LSM_TEST_PER_BACKEND
 */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lsm.h"

/* table_bytes: a small compaction output size gives levels of many files. */
static lsm_db *open_db_ex(const char *dir, size_t memtable_bytes, size_t table_bytes)
{
    lsm_options o;
    lsm_options_init(&o);
    if (memtable_bytes)
        o.memtable_bytes = memtable_bytes;
    if (table_bytes)
        o.sstable_target_bytes = table_bytes;
    lsm_db *db = NULL;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    return db;
}

static lsm_db *open_db(const char *dir, size_t memtable_bytes)
{
    return open_db_ex(dir, memtable_bytes, 0);
}

/* ---- the model ------------------------------------------------------------
 * NK keys of 1..6 bytes over the alphabet {a, b, 0x00, 0xff}, so keys are
 * prefixes of each other and need unsigned byte order; sorted bytewise.
 * A state gives each key a value (len >= 0, possibly empty) or none (-1). */
#define NK 160
#define VMAX 200

typedef struct mkey {
    char k[8];
    size_t len;
} mkey;

static mkey g_keys[NK];

typedef struct mstate {
    char v[NK][VMAX];
    int len[NK];
} mstate;

static int key_cmp(const void *pa, const void *pb)
{
    const mkey *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int r = memcmp(a->k, b->k, n);
    return r ? r : (a->len > b->len) - (a->len < b->len);
}

static int group_setup(void **state)
{
    (void)state;
    static const char alpha[4] = { 'a', 'b', '\0', (char)0xff };
    th_rng r;
    th_rng_seed(&r, 7);
    size_t n = 0;
    while (n < NK) {
        mkey k;
        k.len = 1 + th_rng_below(&r, 6);
        for (size_t i = 0; i < k.len; i++)
            k.k[i] = alpha[th_rng_below(&r, 4)];
        bool dup = false;
        for (size_t i = 0; i < n && !dup; i++)
            dup = key_cmp(&g_keys[i], &k) == 0;
        if (!dup)
            g_keys[n++] = k;
    }
    qsort(g_keys, NK, sizeof(mkey), key_cmp);
    return 0;
}

static mstate *state_new(void)
{
    mstate *s = calloc(1, sizeof *s);
    assert_non_null(s);
    for (int i = 0; i < NK; i++)
        s->len[i] = -1;
    return s;
}

/* A random write (put, delete, or a batch of both) applied to db and s. */
static void random_write(lsm_db *db, mstate *s, th_rng *r, unsigned tag)
{
    unsigned op = (unsigned)th_rng_below(r, 10);
    if (op < 2) {
        lsm_batch *b = lsm_batch_new();
        assert_non_null(b);
        int n = 1 + (int)th_rng_below(r, 8);
        for (int j = 0; j < n; j++) {
            int k = (int)th_rng_below(r, NK);
            if (th_rng_below(r, 3) == 0) {
                assert_int_equal(lsm_batch_delete(b, g_keys[k].k, g_keys[k].len), 0);
                s->len[k] = -1;
            } else {
                int len = snprintf(s->v[k], VMAX, "b%u.%d.%llu", tag, j,
                                   (unsigned long long)th_rng_below(r, 1000000));
                assert_int_equal(lsm_batch_put(b, g_keys[k].k, g_keys[k].len, s->v[k],
                                               (size_t)len), 0);
                s->len[k] = len;
            }
        }
        assert_int_equal(lsm_write(db, b, 0), 0);
        lsm_batch_free(b);
        return;
    }
    int k = (int)th_rng_below(r, NK);
    if (op < 5) {
        assert_int_equal(lsm_delete(db, g_keys[k].k, g_keys[k].len, 0), 0);
        s->len[k] = -1;
        return;
    }
    int len = (int)th_rng_below(r, VMAX); /* 0: an empty value, not a delete */
    for (int i = 0; i < len; i++)
        s->v[k][i] = (char)('A' + (tag + (unsigned)i) % 26);
    assert_int_equal(lsm_put(db, g_keys[k].k, g_keys[k].len, s->v[k], (size_t)len, 0), 0);
    s->len[k] = len;
}

/* The keys of s inside [lo, hi) (NULL: open), as indices into g_keys. */
typedef struct expect {
    int idx[NK];
    int n;
} expect;

static int below(const mkey *k, const void *b, size_t blen)
{
    mkey t = { { 0 }, blen };
    memcpy(t.k, b, blen < sizeof t.k ? blen : sizeof t.k);
    if (blen > sizeof t.k) { /* longer than any key: compare the prefix */
        int r = memcmp(k->k, b, k->len < blen ? k->len : blen);
        return r < 0 || (r == 0 && k->len < blen);
    }
    return key_cmp(k, &t) < 0;
}

static void expect_build(expect *e, const mstate *s, const void *lo, size_t lolen,
                         const void *hi, size_t hilen)
{
    e->n = 0;
    for (int i = 0; i < NK; i++) {
        if (s->len[i] < 0)
            continue;
        if (lo && below(&g_keys[i], lo, lolen))
            continue;
        if (hi && !below(&g_keys[i], hi, hilen))
            continue;
        e->idx[e->n++] = i;
    }
}

/* The iterator is at expected position i (i >= n or < 0: invalid). */
static void at(lsm_iter *it, const expect *e, const mstate *s, int i)
{
    if (i < 0 || i >= e->n) {
        assert_false(lsm_iter_valid(it));
        assert_int_equal(lsm_iter_status(it), 0);
        return;
    }
    assert_true(lsm_iter_valid(it));
    int k = e->idx[i];
    size_t kl, vl;
    const void *kp = lsm_iter_key(it, &kl);
    const void *vp = lsm_iter_value(it, &vl);
    assert_int_equal(kl, g_keys[k].len);
    assert_memory_equal(kp, g_keys[k].k, kl);
    assert_int_equal(vl, (size_t)s->len[k]);
    if (vl)
        assert_memory_equal(vp, s->v[k], vl);
}

/* First expected position whose key >= (t, tlen). */
static int lower(const expect *e, const void *t, size_t tlen)
{
    int i = 0;
    while (i < e->n && below(&g_keys[e->idx[i]], t, tlen))
        i++;
    return i;
}

/* Everything an iterator over [lo, hi) of state s must do. */
static void check_iter(lsm_iter *it, const mstate *s, const void *lo, size_t lolen,
                       const void *hi, size_t hilen, th_rng *r)
{
    expect e;
    expect_build(&e, s, lo, lolen, hi, hilen);
    int i = 0;
    for (lsm_iter_first(it); lsm_iter_valid(it); lsm_iter_next(it))
        at(it, &e, s, i++);
    assert_int_equal(i, e.n);
    assert_int_equal(lsm_iter_status(it), 0);
    for (lsm_iter_last(it); lsm_iter_valid(it); lsm_iter_prev(it))
        at(it, &e, s, --i);
    assert_int_equal(i, 0);

    /* Direction changes at every position, both ways. */
    lsm_iter_first(it);
    for (i = 0; i < e.n; i++) {
        at(it, &e, s, i);
        lsm_iter_prev(it);
        at(it, &e, s, i - 1);
        if (i == 0)
            lsm_iter_first(it);
        else
            lsm_iter_next(it);
        at(it, &e, s, i);
        lsm_iter_next(it);
        if (i + 1 < e.n) {
            lsm_iter_prev(it);
            at(it, &e, s, i);
            lsm_iter_next(it);
        }
    }
    at(it, &e, s, e.n);
    lsm_iter_last(it);
    for (i = e.n - 1; i >= 0; i--) {
        at(it, &e, s, i);
        if (i + 1 < e.n) {
            lsm_iter_next(it);
            at(it, &e, s, i + 1);
            lsm_iter_prev(it);
            at(it, &e, s, i);
        }
        lsm_iter_prev(it);
    }
    at(it, &e, s, -1);

    /* Seeks: to every key (present or not) and to keys plus a byte. */
    for (int k = 0; k < NK; k++) {
        char t[9];
        memcpy(t, g_keys[k].k, g_keys[k].len);
        size_t tl = g_keys[k].len + (size_t)(k % 2);
        t[g_keys[k].len] = 'a';
        lsm_iter_seek(it, t, tl);
        int want = lower(&e, t, tl);
        at(it, &e, s, want);
        if (want < e.n && want > 0) {
            lsm_iter_prev(it);
            at(it, &e, s, want - 1);
        }
    }

    /* A random walk. */
    int pos = -1;
    for (int step = 0; step < 300; step++) {
        unsigned op = (unsigned)th_rng_below(r, 8);
        if (pos < 0 || pos >= e.n || op == 0) {
            unsigned how = (unsigned)th_rng_below(r, 3);
            if (how == 0) {
                lsm_iter_first(it);
                pos = 0;
            } else if (how == 1) {
                lsm_iter_last(it);
                pos = e.n - 1;
            } else {
                int k = (int)th_rng_below(r, NK);
                lsm_iter_seek(it, g_keys[k].k, g_keys[k].len);
                pos = lower(&e, g_keys[k].k, g_keys[k].len);
            }
        } else if (op < 5) {
            lsm_iter_next(it);
            pos++;
        } else {
            lsm_iter_prev(it);
            pos--;
        }
        at(it, &e, s, pos);
    }
}

static void check_db(lsm_db *db, const lsm_snapshot *snap, const mstate *s, th_rng *r)
{
    lsm_iter *it;
    assert_int_equal(lsm_iter_new(db, snap, NULL, 0, NULL, 0, &it), 0);
    assert_false(lsm_iter_valid(it)); /* unpositioned */
    check_iter(it, s, NULL, 0, NULL, 0, r);
    lsm_iter_free(it);
}

/* ---- tests ------------------------------------------------------------ */

static void test_empty_db(void **state)
{
    (void)state;
    char *dir = th_tempdir("dbiter");
    lsm_db *db = open_db(dir, 0);
    lsm_iter *it;
    assert_int_equal(lsm_iter_new(NULL, NULL, NULL, 0, NULL, 0, &it), -EINVAL);
    assert_int_equal(lsm_iter_new(db, NULL, NULL, 0, NULL, 0, NULL), -EINVAL);
    assert_int_equal(lsm_iter_new(db, NULL, NULL, 0, NULL, 0, &it), 0);
    lsm_iter_first(it);
    assert_false(lsm_iter_valid(it));
    lsm_iter_last(it);
    assert_false(lsm_iter_valid(it));
    lsm_iter_seek(it, "a", 1);
    assert_false(lsm_iter_valid(it));
    assert_int_equal(lsm_iter_status(it), 0);
    lsm_iter_free(it);
    lsm_iter_free(NULL);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

/* Bounded iterators over random ranges of s (one in three bounds is not a
 * key; some are open). */
static void check_random_bounds(lsm_db *db, const mstate *s, th_rng *r, int rounds)
{
    for (int round = 0; round < rounds; round++) {
        const mkey *a = &g_keys[th_rng_below(r, NK)], *b = &g_keys[th_rng_below(r, NK)];
        char lo[9], hi[9];
        size_t lolen = a->len, hilen = b->len;
        memcpy(lo, a->k, lolen);
        memcpy(hi, b->k, hilen);
        if (round % 3 == 1)
            lo[lolen++] = 'a';
        const void *lop = round % 5 == 4 ? NULL : lo;
        const void *hip = round % 7 == 6 ? NULL : hi;
        lsm_iter *it;
        assert_int_equal(lsm_iter_new(db, NULL, lop, lolen, hip, hilen, &it), 0);
        check_iter(it, s, lop, lolen, hip, hilen, r);
        /* Seeks below lo clamp to lo. */
        if (lop && lolen > 1) {
            lsm_iter_seek(it, lo, 1);
            expect e;
            expect_build(&e, s, lop, lolen, hip, hilen);
            at(it, &e, s, lower(&e, lo, lolen));
        }
        lsm_iter_free(it);
    }
}

static void test_model_with_flushes(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    char *dir = th_tempdir("dbiter");
    /* Small memtables (switches, many flushes, compactions) and small
     * compaction outputs (levels of many files). */
    lsm_db *db = open_db_ex(dir, 16 << 10, 4 << 10);
    mstate *s = state_new();
    check_db(db, NULL, s, &r);
    for (unsigned round = 0; round < 6; round++) {
        for (unsigned i = 0; i < 150; i++)
            random_write(db, s, &r, round * 1000 + i);
        check_db(db, NULL, s, &r);
        if (round % 2 == 0)
            assert_int_equal(lsm_flush(db), 0);
    }
    check_random_bounds(db, s, &r, 8);
    int rc = lsm_compact(db, -1); /* everything into one level of tables */
    assert_true(rc == 0 || rc == -ENOSYS);
    check_db(db, NULL, s, &r);
    check_random_bounds(db, s, &r, 8);
    /* After a reopen everything comes from tables (and the replayed WAL). */
    assert_int_equal(lsm_close(db), 0);
    db = open_db_ex(dir, 16 << 10, 4 << 10);
    check_db(db, NULL, s, &r);
    assert_int_equal(lsm_close(db), 0);
    free(s);
    th_rmrf_free(dir);
}

static void test_bounds(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    char *dir = th_tempdir("dbiter");
    lsm_db *db = open_db(dir, 0);
    mstate *s = state_new();
    for (unsigned i = 0; i < 400; i++) {
        random_write(db, s, &r, i);
        if (i == 200)
            assert_int_equal(lsm_flush(db), 0);
    }
    check_random_bounds(db, s, &r, 24);
    /* An empty upper bound admits nothing; so does lo >= hi. */
    lsm_iter *it;
    assert_int_equal(lsm_iter_new(db, NULL, NULL, 0, "", 0, &it), 0);
    lsm_iter_first(it);
    assert_false(lsm_iter_valid(it));
    lsm_iter_last(it);
    assert_false(lsm_iter_valid(it));
    lsm_iter_free(it);
    assert_int_equal(lsm_iter_new(db, NULL, "b", 1, "a", 1, &it), 0);
    lsm_iter_first(it);
    assert_false(lsm_iter_valid(it));
    lsm_iter_last(it);
    assert_false(lsm_iter_valid(it));
    lsm_iter_seek(it, "a", 1);
    assert_false(lsm_iter_valid(it));
    lsm_iter_free(it);
    assert_int_equal(lsm_close(db), 0);
    free(s);
    th_rmrf_free(dir);
}

static void test_snapshots(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    char *dir = th_tempdir("dbiter");
    lsm_db *db = open_db(dir, 32 << 10);
    mstate *s = state_new();
    enum { NSNAP = 3 };
    lsm_snapshot *snap[NSNAP];
    mstate *old[NSNAP];
    for (int k = 0; k < NSNAP; k++) {
        for (unsigned i = 0; i < 200; i++)
            random_write(db, s, &r, (unsigned)k * 1000 + i);
        if (k % 2)
            assert_int_equal(lsm_flush(db), 0);
        snap[k] = lsm_snapshot_acquire(db);
        assert_non_null(snap[k]);
        old[k] = state_new();
        memcpy(old[k], s, sizeof *s);
    }
    for (unsigned i = 0; i < 300; i++)
        random_write(db, s, &r, 9000 + i);
    assert_int_equal(lsm_flush(db), 0);
    for (int k = 0; k < NSNAP; k++)
        check_db(db, snap[k], old[k], &r);
    check_db(db, NULL, s, &r);
    for (int k = 0; k < NSNAP; k++) {
        lsm_snapshot_release(db, snap[k]);
        free(old[k]);
    }
    assert_int_equal(lsm_close(db), 0);
    free(s);
    th_rmrf_free(dir);
}

/* Keys with hundreds of versions, some newer than the snapshot read, some
 * shadowed, some ending in a delete; across the memtable and tables. */
static void test_many_versions(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    char *dir = th_tempdir("dbiter");
    lsm_db *db = open_db(dir, 0);
    mstate *s = state_new();
    int hot[4] = { NK / 5, NK / 5 + 1, NK / 2, NK - 1 };
    for (int k = 0; k < NK; k += 3)
        random_write(db, s, &r, (unsigned)k);
    lsm_snapshot *snap = NULL;
    mstate *old = state_new();
    for (unsigned v = 0; v < 700; v++) {
        for (int h = 0; h < 4; h++) {
            int k = hot[h];
            if (h == 2 && v % 50 == 49) {
                assert_int_equal(lsm_delete(db, g_keys[k].k, g_keys[k].len, 0), 0);
                s->len[k] = -1;
            } else {
                s->len[k] = snprintf(s->v[k], VMAX, "ver%u.%d", v, h);
                assert_int_equal(lsm_put(db, g_keys[k].k, g_keys[k].len, s->v[k],
                                         (size_t)s->len[k], 0), 0);
            }
        }
        if (v == 300) {
            snap = lsm_snapshot_acquire(db);
            memcpy(old, s, sizeof *s);
        }
        if (v == 150 || v == 500)
            assert_int_equal(lsm_flush(db), 0);
    }
    /* The last hot key ends deleted after many versions. */
    assert_int_equal(lsm_delete(db, g_keys[hot[3]].k, g_keys[hot[3]].len, 0), 0);
    s->len[hot[3]] = -1;
    check_db(db, NULL, s, &r);
    check_db(db, snap, old, &r);
    lsm_snapshot_release(db, snap);
    assert_int_equal(lsm_close(db), 0);
    free(old);
    free(s);
    th_rmrf_free(dir);
}

/* An iterator's view never changes: writes, flushes and compactions after
 * its creation are invisible to it, even mid-scan. */
static void test_view_is_pinned(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    char *dir = th_tempdir("dbiter");
    lsm_db *db = open_db(dir, 16 << 10);
    mstate *s = state_new();
    for (unsigned i = 0; i < 500; i++)
        random_write(db, s, &r, i);
    assert_int_equal(lsm_flush(db), 0);
    for (unsigned i = 0; i < 100; i++)
        random_write(db, s, &r, 1000 + i);
    mstate *then = state_new();
    memcpy(then, s, sizeof *s);
    lsm_iter *it;
    assert_int_equal(lsm_iter_new(db, NULL, NULL, 0, NULL, 0, &it), 0);
    expect e;
    expect_build(&e, then, NULL, 0, NULL, 0);
    lsm_iter_first(it);
    int i = 0;
    for (int round = 0; round < 8; round++) {
        /* Half a dozen steps, then a burst of writes and a flush. */
        for (int k = 0; k < 6 && lsm_iter_valid(it); k++)
            at(it, &e, then, i++), lsm_iter_next(it);
        for (unsigned w = 0; w < 150; w++)
            random_write(db, s, &r, 2000 + (unsigned)round * 200 + w);
        assert_int_equal(lsm_flush(db), 0);
        if (round == 5) {
            int rc = lsm_compact(db, -1); /* when compaction exists */
            assert_true(rc == 0 || rc == -ENOSYS || rc == -EINVAL);
        }
    }
    check_iter(it, then, NULL, 0, NULL, 0, &r);
    lsm_iter_free(it);
    check_db(db, NULL, s, &r);
    assert_int_equal(lsm_close(db), 0);
    free(then);
    free(s);
    th_rmrf_free(dir);
}

/* ---- concurrency: a writer thread and scanning iterators ----------------
 * The writer rewrites groups of GK keys in one batch each (all to one
 * generation, or all deleted) and flushes now and then.  Every scan must
 * see each group whole, and two scans of one iterator must be identical. */
#define NG 20
#define GK 6

typedef struct writer_arg {
    lsm_db *db;
    unsigned target;         /* batches to write */
    atomic_uint batches;     /* written so far */
} writer_arg;

static void group_key(char *buf, int g, int k)
{
    snprintf(buf, 16, "g%02d.%d", g, k);
}

static void *writer_main(void *p)
{
    writer_arg *a = p;
    th_rng r;
    th_rng_seed(&r, 99);
    lsm_batch *b = lsm_batch_new();
    for (unsigned n = 0; n < a->target; n++) {
        int g = (int)th_rng_below(&r, NG);
        bool del = th_rng_below(&r, 5) == 0;
        char val[32];
        int vl = snprintf(val, sizeof val, "gen%u", n);
        lsm_batch_clear(b);
        for (int k = 0; k < GK; k++) {
            char key[16];
            group_key(key, g, k);
            int rc = del ? lsm_batch_delete(b, key, strlen(key))
                         : lsm_batch_put(b, key, strlen(key), val, (size_t)vl);
            if (rc)
                abort();
        }
        if (lsm_write(a->db, b, 0))
            abort();
        atomic_store(&a->batches, n + 1);
        if (n % 400 == 399 && lsm_flush(a->db))
            abort();
    }
    lsm_batch_free(b);
    return NULL;
}

/* One scan into buf: "key=value;" per entry.  Returns its length. */
static size_t scan(lsm_iter *it, char *buf, size_t cap, bool reverse)
{
    size_t n = 0;
    char *ent[NG * GK];
    size_t elen[NG * GK];
    int cnt = 0;
    char tmp[NG * GK][40];
    for (reverse ? lsm_iter_last(it) : lsm_iter_first(it); lsm_iter_valid(it);
         reverse ? lsm_iter_prev(it) : lsm_iter_next(it)) {
        size_t kl, vl;
        const char *k = lsm_iter_key(it, &kl), *v = lsm_iter_value(it, &vl);
        assert_true(cnt < NG * GK && kl + vl + 2 < sizeof tmp[0]);
        memcpy(tmp[cnt], k, kl);
        tmp[cnt][kl] = '=';
        memcpy(tmp[cnt] + kl + 1, v, vl);
        tmp[cnt][kl + vl + 1] = ';';
        ent[cnt] = tmp[cnt];
        elen[cnt] = kl + vl + 2;
        cnt++;
    }
    assert_int_equal(lsm_iter_status(it), 0);
    for (int i = 0; i < cnt; i++) {
        int j = reverse ? cnt - 1 - i : i;
        assert_true(n + elen[j] < cap);
        memcpy(buf + n, ent[j], elen[j]);
        n += elen[j];
    }
    buf[n] = '\0';
    return n;
}

/* Each group is absent or whole at one generation. */
static void check_groups(const char *buf)
{
    for (int g = 0; g < NG; g++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "g%02d.", g);
        const char *first = strstr(buf, prefix);
        int present = 0;
        char gen[32] = "";
        for (const char *p = first; p && strncmp(p, prefix, 4) == 0;) {
            const char *eq = strchr(p, '='), *semi = strchr(p, ';');
            char v[32];
            size_t vl = (size_t)(semi - eq - 1);
            memcpy(v, eq + 1, vl);
            v[vl] = '\0';
            if (present == 0)
                strcpy(gen, v);
            assert_string_equal(v, gen);
            present++;
            p = semi + 1;
        }
        assert_true(present == 0 || present == GK);
    }
}

static void test_concurrent_writes(void **state)
{
    (void)state;
    char *dir = th_tempdir("dbiter");
    lsm_db *db = open_db(dir, 32 << 10); /* small: frequent memtable switches */
    writer_arg a = { .db = db, .target = (unsigned)th_env_long("LSM_TEST_ITER_BATCHES", 4000) };
    atomic_init(&a.batches, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer_main, &a), 0);
    static char first[16384], again[16384];
    lsm_iter *held = NULL;
    size_t held_len = 0;
    static char held_buf[16384];
    /* Scan until the writer is done (and at least a few dozen times). */
    for (long round = 0; round < 40 || atomic_load(&a.batches) < a.target; round++) {
        lsm_iter *it;
        assert_int_equal(lsm_iter_new(db, NULL, NULL, 0, NULL, 0, &it), 0);
        size_t n = scan(it, first, sizeof first, round % 2);
        check_groups(first);
        assert_int_equal(scan(it, again, sizeof again, round % 2 == 0), n);
        assert_string_equal(first, again);
        if (round == 5) {
            held = it; /* rescanned below while the writer goes on */
            held_len = n;
            memcpy(held_buf, first, n + 1);
        } else {
            lsm_iter_free(it);
        }
        if (held && round % 10 == 0) {
            assert_int_equal(scan(held, again, sizeof again, round % 20 == 0), held_len);
            assert_string_equal(again, held_buf);
        }
    }
    pthread_join(t, NULL);
    assert_int_equal(scan(held, again, sizeof again, false), held_len);
    assert_string_equal(again, held_buf);
    lsm_iter_free(held);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

/* Writes 300 keys, flushes them to one table, closes, and damages the
 * table at offset off (from the end when negative). */
static char *damaged_db(long off)
{
    char *dir = th_tempdir("dbiter");
    lsm_db *db = open_db(dir, 0);
    char key[16], val[64];
    memset(val, 'v', sizeof val);
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "k%04d", i);
        assert_int_equal(lsm_put(db, key, strlen(key), val, sizeof val, 0), 0);
    }
    assert_int_equal(lsm_flush(db), 0);
    assert_int_equal(lsm_close(db), 0);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int damaged = 0;
    for (struct dirent *de; (de = readdir(d));) {
        size_t l = strlen(de->d_name);
        if (l < 4 || strcmp(de->d_name + l - 4, ".sst") != 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        int fd = open(path, O_RDWR);
        assert_true(fd >= 0);
        off_t at = off >= 0 ? off : lseek(fd, 0, SEEK_END) + off;
        assert_int_equal(pwrite(fd, "XXXX", 4, at), 4);
        close(fd);
        damaged++;
    }
    closedir(d);
    assert_int_equal(damaged, 1);
    return dir;
}

/* A data block that fails its checksum: the scan stops with LSM_ECORRUPT
 * instead of showing the keys around it. */
static void test_read_error(void **state)
{
    (void)state;
    char *dir = damaged_db(20);
    lsm_db *db = open_db(dir, 0);
    lsm_iter *it;
    assert_int_equal(lsm_iter_new(db, NULL, NULL, 0, NULL, 0, &it), 0);
    int n = 0;
    for (lsm_iter_first(it); lsm_iter_valid(it); lsm_iter_next(it))
        n++;
    assert_int_equal(lsm_iter_status(it), LSM_ECORRUPT);
    assert_true(n < 300);
    lsm_iter_last(it);
    assert_false(lsm_iter_valid(it));
    lsm_iter_next(it); /* misuse is harmless */
    size_t kl = 1;
    assert_null(lsm_iter_key(it, &kl));
    assert_int_equal(kl, 0);
    lsm_iter_free(it);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

/* A table that cannot even be opened (its footer is damaged): creating the
 * iterator succeeds, positioning it reports the error. */
static void test_open_error(void **state)
{
    (void)state;
    char *dir = damaged_db(-8);
    lsm_db *db = open_db(dir, 0);
    lsm_iter *it;
    assert_int_equal(lsm_iter_new(db, NULL, NULL, 0, NULL, 0, &it), 0);
    lsm_iter_first(it);
    assert_false(lsm_iter_valid(it));
    int rc = lsm_iter_status(it);
    assert_true(rc == LSM_ECORRUPT || rc == LSM_EVERSION);
    lsm_iter_seek(it, "k0100", 5);
    assert_false(lsm_iter_valid(it));
    lsm_iter_free(it);
    /* A range that excludes the table never touches it. */
    assert_int_equal(lsm_iter_new(db, NULL, "z", 1, NULL, 0, &it), 0);
    lsm_iter_first(it);
    assert_false(lsm_iter_valid(it));
    assert_int_equal(lsm_iter_status(it), 0);
    lsm_iter_free(it);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_db),
        cmocka_unit_test(test_model_with_flushes),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_snapshots),
        cmocka_unit_test(test_many_versions),
        cmocka_unit_test(test_view_is_pinned),
        cmocka_unit_test(test_concurrent_writes),
        cmocka_unit_test(test_read_error),
        cmocka_unit_test(test_open_error),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
