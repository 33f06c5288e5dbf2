/*
 * test_mixed_load.c — 8 client processes against one lsmd for 10 s
 * (LSM_TEST_SHORT=1: 2 s): puts (some LSM_SYNC, some large), gets,
 * deletes, batches, asynchronous bursts and snapshot scans, each client on
 * its own keys.  Every client checks every read against what it was
 * acknowledged (reads its own writes); at the end each reports its final
 * model over a pipe and the test checks that the database equals the union
 * of the acknowledged writes — key by key, and by a full scan (nothing
 * extra).  The daemon must then shut down cleanly (exit 0; under ASan that
 * includes no leaks).
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define NCLIENTS 8
#define NKEYS 400
#define LARGE_VALUE (100 * 1024)

static th_daemon g_d;
/* Small memtables so flushes (and compactions) happen under load. */
static const char *const g_extra[] = { "--memtable-bytes", "1M", NULL };
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_BIN, .tag = "mixed", .extra = g_extra,
                           .start = true };

/* ---- deterministic values ------------------------------------------------- */

static uint64_t mix(uint64_t a, uint64_t b, uint64_t c)
{
    return th_mix64(a ^ th_mix64(b ^ th_mix64(c)));
}

/* Value of key k of client cl at version v (v >= 1). */
static size_t make_value(char *buf, int cl, int k, uint32_t v)
{
    uint64_t h = mix((uint64_t)cl, (uint64_t)k, v);
    size_t len = (h % 197 == 0) ? LARGE_VALUE : 12 + h % 300;
    int n = snprintf(buf, 48, "c%d-k%d-v%u|", cl, k, v);
    for (size_t i = (size_t)n; i < len; i++)
        buf[i] = (char)('a' + (h >> (i % 40)) % 26);
    return len;
}

static int make_key(char *buf, int cl, int k)
{
    return snprintf(buf, 32, "c%02d-%05d", cl, k);
}

/* ---- the client role ------------------------------------------------------ */

typedef struct client {
    lsmd_conn *c;
    int id;
    th_rng rng;
    uint32_t ver[NKEYS];   /* 0 = absent */
    uint32_t next_ver;
    char *vbuf, *gbuf;
    long ops, errors;
} client;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "client %d: ", cl->id);                             \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            return -1;                                                          \
        }                                                                       \
    } while (0)

static int verify_value(client *cl, int k, const void *val, size_t vlen, int rc)
{
    char key[32];
    make_key(key, cl->id, k);
    if (cl->ver[k] == 0) {
        CHECK(rc == LSM_ENOTFOUND, "%s: expected absent, got rc %d len %zu", key, rc, vlen);
        return 0;
    }
    CHECK(rc == 0, "%s: expected v%u, got %s", key, cl->ver[k], lsmd_strerror(rc));
    size_t n = make_value(cl->gbuf, cl->id, k, cl->ver[k]);
    CHECK(vlen == n && memcmp(val, cl->gbuf, n) == 0, "%s: wrong value (len %zu, want v%u len %zu)",
          key, vlen, cl->ver[k], n);
    return 0;
}

static int op_put(client *cl)
{
    int k = (int)th_rng_below(&cl->rng, NKEYS);
    char key[32];
    int kl = make_key(key, cl->id, k);
    uint32_t v = ++cl->next_ver;
    size_t n = make_value(cl->vbuf, cl->id, k, v);
    int sync = th_rng_below(&cl->rng, 10) == 0 ? LSM_SYNC : 0;
    int rc = lsmd_put(cl->c, key, (size_t)kl, cl->vbuf, n, sync);
    CHECK(rc == 0, "put %s: %s", key, lsmd_strerror(rc));
    cl->ver[k] = v;
    return 0;
}

static int op_get(client *cl)
{
    int k = (int)th_rng_below(&cl->rng, NKEYS);
    char key[32];
    int kl = make_key(key, cl->id, k);
    void *val = NULL;
    size_t vlen = 0;
    int rc = lsmd_get(cl->c, 0, key, (size_t)kl, &val, &vlen);
    int r = verify_value(cl, k, val, vlen, rc);
    free(val);
    return r;
}

static int op_del(client *cl)
{
    int k = (int)th_rng_below(&cl->rng, NKEYS);
    char key[32];
    int kl = make_key(key, cl->id, k);
    int rc = lsmd_delete(cl->c, key, (size_t)kl, th_rng_below(&cl->rng, 10) == 0 ? LSM_SYNC : 0);
    CHECK(rc == 0, "delete %s: %s", key, lsmd_strerror(rc));
    cl->ver[k] = 0;
    return 0;
}

static int op_batch(client *cl)
{
    lsmd_batch *b = lsmd_batch_new();
    CHECK(b != NULL, "batch_new");
    int n = 2 + (int)th_rng_below(&cl->rng, 19);
    int keys[20];
    uint32_t vers[20];
    for (int i = 0; i < n; i++) {
        int k = keys[i] = (int)th_rng_below(&cl->rng, NKEYS);
        char key[32];
        int kl = make_key(key, cl->id, k);
        if (th_rng_below(&cl->rng, 4) == 0) {
            vers[i] = 0;
            CHECK(lsmd_batch_delete(b, key, (size_t)kl) == 0, "batch_delete");
        } else {
            vers[i] = ++cl->next_ver;
            size_t vl = make_value(cl->vbuf, cl->id, k, vers[i]);
            if (vl > 4096)
                vl = make_value(cl->vbuf, cl->id, k, vers[i] = ++cl->next_ver);
            if (vl > 4096) { /* two large draws in a row: make it a delete */
                vers[i] = 0;
                CHECK(lsmd_batch_delete(b, key, (size_t)kl) == 0, "batch_delete");
                continue;
            }
            CHECK(lsmd_batch_put(b, key, (size_t)kl, cl->vbuf, vl) == 0, "batch_put");
        }
    }
    int rc = lsmd_write(cl->c, b, th_rng_below(&cl->rng, 8) == 0 ? LSM_SYNC : 0);
    lsmd_batch_free(b);
    CHECK(rc == 0, "write batch of %d: %s", n, lsmd_strerror(rc));
    for (int i = 0; i < n; i++) /* in order: a later entry wins */
        cl->ver[keys[i]] = vers[i];
    return 0;
}

/* Distinct keys: half are put, half read, all in flight together. */
static int op_async(client *cl)
{
    int depth = (int)lsmd_queue_depth(cl->c);
    int n = depth < 16 ? depth : 16;
    int keys[16];
    uint32_t vers[16];
    for (int i = 0; i < n; i++) {
        int k;
        bool dup;
        do {
            k = (int)th_rng_below(&cl->rng, NKEYS);
            dup = false;
            for (int j = 0; j < i; j++)
                dup |= keys[j] == k;
        } while (dup);
        keys[i] = k;
        char key[32];
        int kl = make_key(key, cl->id, k);
        int tag;
        if (i % 2 == 0) {
            vers[i] = ++cl->next_ver;
            size_t vl = make_value(cl->vbuf, cl->id, k, vers[i]);
            if (vl > 16384)
                vl = make_value(cl->vbuf, cl->id, k, vers[i] = ++cl->next_ver);
            if (vl > 16384) {
                vers[i] = 0;
                tag = lsmd_submit_delete(cl->c, key, (size_t)kl, 0, (uint64_t)i);
            } else {
                tag = lsmd_submit_put(cl->c, key, (size_t)kl, cl->vbuf, vl, 0, (uint64_t)i);
            }
        } else {
            tag = lsmd_submit_get(cl->c, 0, key, (size_t)kl, (uint64_t)i);
        }
        CHECK(tag >= 0, "submit %d: %s", i, lsmd_strerror(tag));
    }
    int got = 0;
    lsmd_completion comp[16];
    while (got < n) {
        int m = lsmd_poll(cl->c, comp, 16, 1);
        CHECK(m > 0, "poll: %s", lsmd_strerror(m));
        for (int j = 0; j < m; j++) {
            int i = (int)comp[j].user_data;
            if (comp[j].op == LSMD_OP_GET) {
                if (comp[j].status == LSM_ETOOSMALL) /* larger than a slot */
                    continue;
                if (verify_value(cl, keys[i], comp[j].val, comp[j].vlen, comp[j].status))
                    return -1;
            } else {
                CHECK(comp[j].status == 0, "async write: %s", lsmd_strerror(comp[j].status));
                cl->ver[keys[i]] = vers[i];
            }
        }
        got += m;
    }
    return 0;
}

/* A scan of this client's keys, at a snapshot half of the time. */
static int op_scan(client *cl)
{
    uint64_t snap = 0;
    if (th_rng_below(&cl->rng, 2)) {
        int rc = lsmd_snapshot_acquire(cl->c, &snap);
        CHECK(rc == 0, "snapshot_acquire: %s", lsmd_strerror(rc));
    }
    char lo[32], hi[32];
    snprintf(lo, sizeof lo, "c%02d-", cl->id);
    snprintf(hi, sizeof hi, "c%02d.", cl->id); /* '.' follows '-' */
    lsmd_iter *it;
    int rc = lsmd_iter_new(cl->c, snap, lo, strlen(lo), hi, strlen(hi), &it);
    CHECK(rc == 0, "iter_new: %s", lsmd_strerror(rc));
    int expect = 0;
    for (; lsmd_iter_valid(it); lsmd_iter_next(it)) {
        size_t kl, vl;
        const char *k = lsmd_iter_key(it, &kl);
        const void *v = lsmd_iter_value(it, &vl);
        int idx = atoi(k + 4);
        while (expect < idx) {
            CHECK(cl->ver[expect] == 0, "scan: key %d missing", expect);
            expect++;
        }
        if (verify_value(cl, idx, v, vl, 0)) {
            lsmd_iter_free(it);
            return -1;
        }
        expect = idx + 1;
    }
    rc = lsmd_iter_status(it);
    lsmd_iter_free(it);
    CHECK(rc == 0, "scan: %s", lsmd_strerror(rc));
    for (; expect < NKEYS; expect++)
        CHECK(cl->ver[expect] == 0, "scan: key %d missing at the end", expect);
    if (snap) {
        rc = lsmd_snapshot_release(cl->c, snap);
        CHECK(rc == 0, "snapshot_release: %s", lsmd_strerror(rc));
    }
    return 0;
}

/* argv: mixed SOCKET ID SECONDS SEED */
static int role_mixed(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    static client cls;
    client *cl = &cls;
    cl->id = atoi(argv[2]);
    double secs = atof(argv[3]);
    th_rng_seed(&cl->rng, strtoull(argv[4], NULL, 0) + (uint64_t)cl->id * 7919);
    cl->vbuf = malloc(LARGE_VALUE);
    cl->gbuf = malloc(LARGE_VALUE);
    int rc = lsmd_connect(argv[1], &cl->c);
    if (rc) {
        fprintf(stderr, "client %d: connect: %s\n", cl->id, lsmd_strerror(rc));
        return 1;
    }
    double end = th_now() + secs;
    int failed = 0;
    while (!failed && th_now() < end) {
        for (int i = 0; i < 64 && !failed; i++) {
            uint64_t r = th_rng_below(&cl->rng, 100);
            failed = r < 35   ? op_put(cl)
                     : r < 65 ? op_get(cl)
                     : r < 75 ? op_del(cl)
                     : r < 87 ? op_batch(cl)
                     : r < 97 ? op_async(cl)
                              : op_scan(cl);
            cl->ops++;
        }
    }
    /* The model: the final acknowledged version of every key. */
    for (int k = 0; k < NKEYS && !failed; k++)
        printf("%d %u\n", k, cl->ver[k]);
    printf("END %ld %d\n", cl->ops, failed);
    fflush(stdout);
    lsmd_disconnect(cl->c);
    free(cl->vbuf);
    free(cl->gbuf);
    return failed ? 1 : 0;
}

/* ---- the test ------------------------------------------------------------- */

static void test_mixed_load(void **state)
{
    (void)state;
    double secs = th_duration(10, 2);
    uint64_t seed = th_seed();
    char seed_s[32], secs_s[32];
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)seed);
    snprintf(secs_s, sizeof secs_s, "%.1f", secs);
    th_child ch[NCLIENTS];
    for (int i = 0; i < NCLIENTS; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", i);
        const char *args[] = { g_d.sock, id, secs_s, seed_s, NULL };
        th_spawn(&ch[i], "mixed", args);
    }
    static uint32_t model[NCLIENTS][NKEYS];
    long total_ops = 0;
    for (int i = 0; i < NCLIENTS; i++) {
        int k = 0;
        for (;;) {
            const char *line = th_recv(&ch[i], (int)(secs * 1000) + 60000);
            if (!line)
                fail_msg("client %d ended without its report", i);
            long ops;
            int failed;
            if (sscanf(line, "END %ld %d", &ops, &failed) == 2) {
                assert_int_equal(failed, 0);
                total_ops += ops;
                break;
            }
            unsigned v;
            assert_int_equal(sscanf(line, "%d %u", &k, &v), 2);
            assert_true(k >= 0 && k < NKEYS);
            model[i][k] = v;
        }
        assert_int_equal(th_wait(&ch[i]), 0);
    }
    fprintf(stderr, "mixed load: %ld operations by %d clients in %.1f s\n", total_ops, NCLIENTS,
            secs);
    assert_true(thd_alive(&g_d));

    /* The database is the union of the acknowledged writes. */
    lsmd_conn *c = thd_connect(&g_d);
    char *want = malloc(LARGE_VALUE);
    long present = 0;
    for (int i = 0; i < NCLIENTS; i++)
        for (int k = 0; k < NKEYS; k++) {
            char key[32];
            int kl = make_key(key, i, k);
            void *val = NULL;
            size_t vlen = 0;
            int rc = lsmd_get(c, 0, key, (size_t)kl, &val, &vlen);
            if (model[i][k] == 0) {
                if (rc != LSM_ENOTFOUND)
                    fail_msg("%s should be absent: rc %d", key, rc);
            } else {
                present++;
                if (rc != 0)
                    fail_msg("%s v%u missing: %s", key, model[i][k], lsmd_strerror(rc));
                size_t n = make_value(want, i, k, model[i][k]);
                if (vlen != n || memcmp(val, want, n) != 0)
                    fail_msg("%s holds a wrong value (want v%u)", key, model[i][k]);
            }
            free(val);
        }
    lsmd_iter *it;
    assert_int_equal(lsmd_iter_new(c, 0, NULL, 0, NULL, 0, &it), 0);
    long scanned = 0;
    for (; lsmd_iter_valid(it); lsmd_iter_next(it))
        scanned++;
    assert_int_equal(lsmd_iter_status(it), 0);
    lsmd_iter_free(it);
    assert_int_equal(scanned, present);
    free(want);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(&g_d), 0);
}

int main(int argc, char **argv)
{
    static const th_role roles[] = { { "mixed", role_mixed }, { NULL, NULL } };
    const struct CMUnitTest tests[] = { TH_TEST(test_mixed_load, &g_fx) };
    return TH_MAIN(argc, argv, roles, NULL, tests);
}
