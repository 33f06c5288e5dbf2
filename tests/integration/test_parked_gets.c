/*
 * test_parked_gets.c — gets that miss the block cache are parked by their
 * worker (daemon/parked.h) and answered when their read completes, while
 * the worker serves everything else.  The daemon runs with one worker,
 * direct I/O and a 64 KiB block cache, so a get of a key in a table
 * really reads the disk, and a get of a key in the memtable never does.
 *
 *   test_out_of_order     a client keeps 32 requests in flight: gets of
 *       table keys (cold), gets of memtable keys (hot), and puts each
 *       followed at once by a get of the same key.  Every value is exact,
 *       every get after a put sees it, and hot gets overtake cold ones
 *       (a completion arrives while an earlier request is still pending);
 *       the daemon's stats count parked gets.
 *   test_kill_parked      a client with 32 cold gets in flight is SIGKILLed,
 *       eight times; meanwhile another client reads and checks values.
 *       Afterwards the daemon has the same descriptors as after the first
 *       round, its VmRSS is within RSS_SLACK_MB, and it stops cleanly (0:
 *       under ASan no leak either).
 *   test_snapshot_parked  a client holds a snapshot taken before every key
 *       was overwritten (and compacted), starts 32 cold gets at it, and
 *       releases it (as does its creator) while they are in flight: every
 *       get still returns the snapshot's value.  Then the same with the
 *       client SIGKILLed instead; the daemon stays well.
 *   test_too_small        a parked get of a value longer than the
 *       request's buffer gets LSM_ETOOSMALL and the value's length, the
 *       reply the synchronous path gives.
 *   test_fault_one_read   (the test daemon lsmd-fault: lsmd with the engine's
 *       fault backend, armed through a trigger file, tests/integration/
 *       lsmd_fault.c) the next I/O operation is failed with EIO while a
 *       client has 32 cold gets in flight: exactly one get gets the error,
 *       the 31 others their values, and afterwards every key reads back.
 */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define NCOLD 12000    /* keys in tables */
#define NHOT 64        /* keys in the memtable */
#define VSIZE 200
#define DEPTH 32
#define RSS_SLACK_MB 24.0
#define KILL_ROUNDS 8

static th_daemon g_d;
static const char *const g_extra[] = { "--workers", "1", "--use-direct-io",
                                       "--block-cache-bytes", "64K", NULL };
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_BIN, .tag = "parked", .extra = g_extra,
                           .start = true };
static th_fixture g_fx_fault = { .d = &g_d, .bin = LSMD_FAULT_BIN, .tag = "parkfault",
                                 .extra = g_extra, .start = false };

/* ---- keys and values -------------------------------------------------------- */

static size_t cold_key(char *b, int i) { return (size_t)sprintf(b, "pk%07d", i); }
static size_t hot_key(char *b, int i) { return (size_t)sprintf(b, "hk%05d", i); }

static void value_of(char *b, const char *key, int gen)
{
    int m = snprintf(b, VSIZE, "%s|%d|", key, gen);
    for (int i = m; i < VSIZE; i++)
        b[i] = (char)('a' + (i * 7 + gen + key[2]) % 26);
}

/* xorshift for the client roles */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static lsmd_conn *role_connect(const char *sock)
{
    lsmd_conn *c;
    int rc = lsmd_connect(sock, &c);
    if (rc) {
        th_reply("err connect: %s", lsmd_strerror(rc));
        exit(1);
    }
    return c;
}

/* At least one completion into cq[DEPTH]; exits the role on error. */
static int role_poll(lsmd_conn *c, lsmd_completion *cq)
{
    int got = lsmd_poll(c, cq, DEPTH, 1);
    if (got < 0) {
        th_reply("err poll: %s", lsmd_strerror(got));
        exit(1);
    }
    return got;
}

/* ---- the mixer role: out-of-order completion --------------------------------- */

typedef struct req {
    int kind;          /* 0 cold get, 1 hot get, 2 put, 3 get after put */
    char key[16];
    int gen;
    unsigned seq;      /* submission order */
    bool done;
} req;

static int role_mixer(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    lsmd_conn *c = role_connect(argv[1]);
    int rounds = atoi(argv[2]);
    static int gen[NCOLD];
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    long overtakes = 0, gets = 0, cold = 0;
    for (int r = 0; r < rounds; r++) {
        req q[DEPTH];
        int n = 0;
        while (n < DEPTH) {
            req *x = &q[n];
            memset(x, 0, sizeof *x);
            x->seq = (unsigned)n;
            int i = (int)(rnd(&seed) % NCOLD);
            if (n % 8 == 6) { /* a put, then a get of the same key */
                cold_key(x->key, i);
                x->kind = 2;
                x->gen = ++gen[i];
                req *y = &q[n + 1];
                memset(y, 0, sizeof *y);
                *y = *x;
                y->kind = 3;
                y->seq = (unsigned)n + 1;
                n += 2;
            } else if (n % 2) {
                hot_key(x->key, (int)(rnd(&seed) % NHOT));
                x->kind = 1;
                n++;
            } else {
                cold_key(x->key, i);
                x->kind = 0;
                x->gen = gen[i];
                cold += gen[i] == 0;
                n++;
            }
        }
        for (int k = 0; k < n; k++) {
            int rc;
            if (q[k].kind == 2) {
                char v[VSIZE];
                value_of(v, q[k].key, q[k].gen);
                rc = lsmd_submit_put(c, q[k].key, strlen(q[k].key), v, VSIZE, 0, (uint64_t)k);
            } else {
                rc = lsmd_submit_get(c, 0, q[k].key, strlen(q[k].key), (uint64_t)k);
            }
            if (rc < 0) {
                th_reply("err submit: %s", lsmd_strerror(rc));
                return 1;
            }
        }
        int left = n;
        while (left > 0) {
            lsmd_completion cq[DEPTH];
            int got = role_poll(c, cq);
            for (int j = 0; j < got; j++) {
                req *x = &q[cq[j].user_data];
                x->done = true;
                left--;
                for (int k = 0; k < (int)x->seq; k++)
                    if (!q[k].done) {
                        overtakes++;
                        break;
                    }
                if (cq[j].status) {
                    th_reply("err %s (kind %d): %s", x->key, x->kind,
                             lsmd_strerror(cq[j].status));
                    return 1;
                }
                if (x->kind == 2)
                    continue;
                gets++;
                char want[VSIZE];
                value_of(want, x->key, x->gen);
                if (cq[j].vlen != VSIZE || memcmp(cq[j].val, want, VSIZE) != 0) {
                    th_reply("err %s (kind %d, gen %d): wrong value (%zu bytes: %.24s)",
                             x->key, x->kind, x->gen, cq[j].vlen, (const char *)cq[j].val);
                    return 1;
                }
            }
        }
    }
    th_reply("ok overtakes %ld gets %ld cold %ld", overtakes, gets, cold);
    lsmd_disconnect(c);
    return 0;
}

/* ---- the flooder role: cold gets in flight until killed ------------------------ */

static int role_flooder(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    lsmd_conn *c = role_connect(argv[1]);
    uint64_t seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull | 1;
    bool told = false;
    for (;;) {
        while (lsmd_inflight(c) < DEPTH) {
            char k[16];
            int i = (int)(rnd(&seed) % NCOLD);
            int rc = lsmd_submit_get(c, 0, k, cold_key(k, i), (uint64_t)i);
            if (rc < 0) {
                th_reply("err submit: %s", lsmd_strerror(rc));
                return 1;
            }
        }
        if (!told) {
            th_reply("ready");
            told = true;
        }
        lsmd_completion cq[DEPTH];
        role_poll(c, cq);
    }
}

/* ---- the snapper role: gets at a snapshot released meanwhile ------------------ */

static int role_snapper(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    lsmd_conn *c = role_connect(argv[1]);
    uint64_t snap = strtoull(argv[2], NULL, 10);
    bool die = strcmp(argv[3], "die") == 0;
    int rc = lsmd_snapshot_hold(c, snap);
    if (rc) {
        th_reply("err hold: %s", lsmd_strerror(rc));
        return 1;
    }
    int idx[DEPTH];
    for (int k = 0; k < DEPTH; k++) {
        char key[16];
        idx[k] = (k * 373 + 101) % NCOLD;
        rc = lsmd_submit_get(c, snap, key, cold_key(key, idx[k]), (uint64_t)k);
        if (rc < 0) {
            th_reply("err submit: %s", lsmd_strerror(rc));
            return 1;
        }
    }
    /* Released while they are in flight (requests are served in order). */
    rc = lsmd_snapshot_release(c, snap);
    if (rc) {
        th_reply("err release: %s", lsmd_strerror(rc));
        return 1;
    }
    th_reply("released");
    if (die)
        for (;;)
            pause(); /* the test kills it */
    int left = DEPTH;
    while (left > 0) {
        lsmd_completion cq[DEPTH];
        int got = role_poll(c, cq);
        for (int j = 0; j < got; j++, left--) {
            char key[16], want[VSIZE];
            cold_key(key, idx[cq[j].user_data]);
            value_of(want, key, 0);
            if (cq[j].status || cq[j].vlen != VSIZE || memcmp(cq[j].val, want, VSIZE)) {
                th_reply("err %s at the snapshot: status %d, %zu bytes", key, cq[j].status,
                         cq[j].vlen);
                return 1;
            }
        }
    }
    th_reply("ok");
    lsmd_disconnect(c);
    return 0;
}

/* ---- the test's side ------------------------------------------------------------ */

static void load(lsmd_conn *c)
{
    char k[16], v[VSIZE];
    for (int i = 0; i < NCOLD; i++) {
        size_t kl = cold_key(k, i);
        value_of(v, k, 0);
        int rc = lsmd_put(c, k, kl, v, VSIZE, 0);
        if (rc)
            fail_msg("put %s: %s", k, lsmd_strerror(rc));
    }
    assert_int_equal(lsmd_flush(c), 0);
    assert_int_equal(lsmd_compact(c, -1), 0);
    for (int i = 0; i < NHOT; i++) {
        size_t kl = hot_key(k, i);
        value_of(v, k, 0);
        assert_int_equal(lsmd_put(c, k, kl, v, VSIZE, 0), 0);
    }
}

static void check_key(lsmd_conn *c, int i)
{
    char k[16], want[VSIZE];
    size_t kl = cold_key(k, i);
    value_of(want, k, 0);
    void *v;
    size_t n;
    int rc = lsmd_get(c, 0, k, kl, &v, &n);
    if (rc)
        fail_msg("get %s: %s", k, lsmd_strerror(rc));
    assert_int_equal(n, VSIZE);
    assert_memory_equal(v, want, VSIZE);
    free(v);
}

static unsigned long long stat_u64(lsmd_conn *c, const char *name)
{
    char *json;
    assert_int_equal(lsmd_stats_json(c, &json), 0);
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", name);
    const char *p = strstr(json, pat);
    unsigned long long v = p ? strtoull(p + strlen(pat), NULL, 10) : 0;
    free(json);
    return v;
}

static const char *expect_line(th_child *ch, const char *prefix, int timeout_ms)
{
    const char *r = th_recv(ch, timeout_ms);
    if (!r || strncmp(r, prefix, strlen(prefix)) != 0) {
        thd_dump_log(&g_d);
        fail_msg("client: %s", r ? r : "exited");
    }
    return r;
}

static void test_out_of_order(void **state)
{
    th_fixture *fx = *state;
    lsmd_conn *c = thd_connect(fx->d);
    load(c);
    unsigned long long parked0 = stat_u64(c, "parked_gets");
    th_child m;
    const char *args[] = { fx->d->sock, "40", NULL };
    th_spawn(&m, "mixer", args);
    const char *r = expect_line(&m, "ok", 120000);
    long overtakes = 0, gets = 0, cold = 0;
    assert_int_equal(sscanf(r, "ok overtakes %ld gets %ld cold %ld", &overtakes, &gets, &cold),
                     3);
    assert_int_equal(th_wait(&m), 0);
    unsigned long long parked = stat_u64(c, "parked_gets") - parked0;
    fprintf(stderr, "%ld gets (%ld of table keys), %ld completions overtook an earlier "
            "request, %llu gets parked\n", gets, cold, overtakes, parked);
    /* Hot gets answered while cold ones read the disk. */
    assert_true(overtakes > 0);
    assert_true(parked > 0);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(fx->d), 0);
}

static void test_snapshot_parked(void **state)
{
    th_fixture *fx = *state;
    lsmd_conn *c = thd_connect(fx->d);
    load(c);
    uint64_t snap;
    assert_int_equal(lsmd_snapshot_acquire(c, &snap), 0);
    char k[16], v[VSIZE];
    for (int i = 0; i < NCOLD; i++) {
        size_t kl = cold_key(k, i);
        value_of(v, k, 1);
        assert_int_equal(lsmd_put(c, k, kl, v, VSIZE, 0), 0);
    }
    assert_int_equal(lsmd_flush(c), 0);
    assert_int_equal(lsmd_compact(c, -1), 0);
    char arg[32];
    snprintf(arg, sizeof arg, "%llu", (unsigned long long)snap);
    unsigned long long parked0 = stat_u64(c, "parked_gets");
    for (int round = 0; round < 2; round++) {
        bool die = round == 1;
        th_child ch;
        const char *args[] = { fx->d->sock, arg, die ? "die" : "read", NULL };
        th_spawn(&ch, "snapper", args);
        expect_line(&ch, "released", 30000);
        if (round == 0)
            /* Its creator lets go too: only the gets in flight keep it. */
            assert_int_equal(lsmd_snapshot_release(c, snap), 0);
        if (die) {
            th_kill(&ch);
        } else {
            expect_line(&ch, "ok", 60000);
            assert_int_equal(th_wait(&ch), 0);
        }
        if (round == 0) {
            /* Nobody holds it now: a new client cannot either. */
            lsmd_conn *c2 = thd_connect(fx->d);
            assert_int_equal(lsmd_snapshot_hold(c2, snap), -ESRCH);
            lsmd_disconnect(c2);
            /* Round 1 pins it again through a new acquire at a new
             * sequence: take one, and let the snapper hold that. */
            assert_int_equal(lsmd_snapshot_acquire(c, &snap), 0);
            snprintf(arg, sizeof arg, "%llu", (unsigned long long)snap);
        }
    }
    unsigned long long parked = stat_u64(c, "parked_gets") - parked0;
    fprintf(stderr, "gets at a released snapshot: %llu parked\n", parked);
    assert_true(parked > 0);
    /* The latest state is the overwrite. */
    for (int i = 0; i < NCOLD; i += 501) {
        char want[VSIZE];
        size_t kl = cold_key(k, i);
        value_of(want, k, 1);
        void *got;
        size_t n;
        assert_int_equal(lsmd_get(c, 0, k, kl, &got, &n), 0);
        assert_int_equal(n, VSIZE);
        assert_memory_equal(got, want, VSIZE);
        free(got);
    }
    assert_int_equal(lsmd_ping(c), 0);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(fx->d), 0);
}

static void test_too_small(void **state)
{
    th_fixture *fx = *state;
    lsmd_conn *c = thd_connect(fx->d);
    /* Longer than an async slot (32 KiB), shorter than the large region. */
    enum { BIG = 40000 };
    char *big = malloc(BIG);
    assert_non_null(big);
    for (int i = 0; i < BIG; i++)
        big[i] = (char)('A' + i % 23);
    assert_int_equal(lsmd_put(c, "big", 3, big, BIG, 0), 0);
    load(c); /* flushed and compacted with the cold keys */
    for (int i = 0; i < 200; i++)
        check_key(c, (i * 61) % NCOLD); /* and out of the block cache */
    unsigned long long parked0 = stat_u64(c, "parked_gets");
    assert_true(lsmd_submit_get(c, 0, "big", 3, 7) >= 0);
    lsmd_completion cq;
    assert_int_equal(lsmd_poll(c, &cq, 1, 1), 1);
    unsigned long long parked = stat_u64(c, "parked_gets") - parked0;
    fprintf(stderr, "async get of a %d-byte value: %s, length %zu (parked: %llu)\n", BIG,
            lsmd_strerror(cq.status), cq.vlen, parked);
    assert_int_equal(cq.status, LSM_ETOOSMALL);
    assert_int_equal(cq.vlen, BIG);
    assert_int_equal(parked, 1);
    /* The synchronous call, with the large region, reads it whole. */
    void *got;
    size_t n;
    assert_int_equal(lsmd_get(c, 0, "big", 3, &got, &n), 0);
    assert_int_equal(n, BIG);
    assert_memory_equal(got, big, BIG);
    free(got);
    free(big);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(fx->d), 0);
}

static int count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *dir = opendir(path);
    assert_non_null(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
        n += e->d_name[0] != '.';
    closedir(dir);
    return n;
}

/* Waits until the daemon holds want descriptors (a killed client's are
 * closed once its session is reclaimed and its parked gets completed). */
static int settle_fds(pid_t pid, int want)
{
    int n = count_fds(pid);
    for (int i = 0; i < 200 && n != want; i++) {
        usleep(25000);
        n = count_fds(pid);
    }
    return n;
}

static void test_kill_parked(void **state)
{
    th_fixture *fx = *state;
    lsmd_conn *c = thd_connect(fx->d);
    load(c);
    int fds0 = -1;
    double rss0 = 0;
    uint64_t seed = 12345;
    unsigned long long parked0 = stat_u64(c, "parked_gets");
    for (int round = 0; round < KILL_ROUNDS; round++) {
        th_child f;
        const char *args[] = { fx->d->sock, NULL };
        th_spawn(&f, "flooder", args);
        expect_line(&f, "ready", 30000);
        /* The other client, on the same worker, meanwhile. */
        for (int k = 0; k < 50; k++)
            check_key(c, (int)(rnd(&seed) % NCOLD));
        th_kill(&f);
        for (int k = 0; k < 50; k++)
            check_key(c, (int)(rnd(&seed) % NCOLD));
        assert_int_equal(lsmd_ping(c), 0);
        if (round == 1) {
            /* Baseline after two rounds: the worker's get queue, caches,
             * allocator arenas (and ASan's quarantine) have grown by now. */
            usleep(200000);
            fds0 = count_fds(fx->d->pid);
            rss0 = th_vmrss_mb(fx->d->pid);
        }
    }
    int fds = settle_fds(fx->d->pid, fds0);
    double rss = th_vmrss_mb(fx->d->pid);
    unsigned long long parked = stat_u64(c, "parked_gets") - parked0;
    fprintf(stderr, "after %d killed clients: %d fds (after the second: %d), VmRSS %.1f MiB "
            "(after the second: %.1f), %llu gets parked\n",
            KILL_ROUNDS, fds, fds0, rss, rss0, parked);
    assert_int_equal(fds, fds0);
    assert_true(rss < rss0 + RSS_SLACK_MB);
    assert_true(parked > 0);
    for (int i = 0; i < NCOLD; i += 97)
        check_key(c, i);
    lsmd_disconnect(c);
    int st = thd_stop(fx->d);
    if (st)
        thd_dump_log(fx->d);
    assert_int_equal(st, 0);
}

/* Asks lsmd-fault to fail its nth next I/O operation with err, and waits
 * until it has armed (it removes the trigger file). */
static void arm_fault(const th_daemon *d, int n, int err)
{
    char path[1100], tmp[1100];
    snprintf(path, sizeof path, "%s/fault.trigger", d->root);
    snprintf(tmp, sizeof tmp, "%s/fault.tmp", d->root);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fprintf(f, "%d %d\n", n, err);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, path), 0);
    struct stat st;
    for (int i = 0; i < 2000 && stat(path, &st) == 0; i++)
        usleep(1000);
    assert_int_not_equal(stat(path, &st), 0);
}

static void test_fault_one_read(void **state)
{
    th_fixture *fx = *state;
    char env[1100];
    snprintf(env, sizeof env, "%s/fault.trigger", fx->d->root);
    setenv("LSMD_FAULT_TRIGGER", env, 1);
    thd_start(fx->d, fx->extra);
    lsmd_conn *c = thd_connect(fx->d);
    load(c);
    /* 32 distinct table keys, far apart (no two share a block). */
    int idx[DEPTH];
    for (int k = 0; k < DEPTH; k++)
        idx[k] = (k * 373 + 11) % NCOLD;
    unsigned long long parked0 = stat_u64(c, "parked_gets");
    arm_fault(fx->d, 1, EIO);
    for (int k = 0; k < DEPTH; k++) {
        char key[16];
        int rc = lsmd_submit_get(c, 0, key, cold_key(key, idx[k]), (uint64_t)k);
        assert_true(rc >= 0);
    }
    int failed = 0, ok = 0, left = DEPTH, failed_err = 0;
    while (left > 0) {
        lsmd_completion cq[DEPTH];
        int got = lsmd_poll(c, cq, DEPTH, 1);
        assert_true(got > 0);
        for (int j = 0; j < got; j++, left--) {
            if (cq[j].status) {
                failed++;
                failed_err = cq[j].status;
                continue;
            }
            char key[16], want[VSIZE];
            cold_key(key, idx[cq[j].user_data]);
            value_of(want, key, 0);
            assert_int_equal(cq[j].vlen, VSIZE);
            assert_memory_equal(cq[j].val, want, VSIZE);
            ok++;
        }
    }
    unsigned long long parked = stat_u64(c, "parked_gets") - parked0;
    fprintf(stderr, "one failed read among %d gets in flight (%llu parked): %d failed (%s), "
            "%d exact\n", DEPTH, parked, failed, failed ? lsmd_strerror(failed_err) : "-", ok);
    assert_true(parked > 0);
    assert_int_equal(failed, 1);
    assert_int_equal(failed_err, -EIO);
    assert_int_equal(ok, DEPTH - 1);
    /* The daemon goes on: everything reads back. */
    for (int k = 0; k < DEPTH; k++)
        check_key(c, idx[k]);
    assert_int_equal(lsmd_ping(c), 0);
    lsmd_disconnect(c);
    unsetenv("LSMD_FAULT_TRIGGER");
    assert_int_equal(thd_stop(fx->d), 0);
}

int main(int argc, char **argv)
{
    th_small_asan_quarantine(); /* VmRSS: what the daemon itself holds */
    static const th_role roles[] = { { "mixer", role_mixer },
                                     { "flooder", role_flooder },
                                     { "snapper", role_snapper },
                                     { NULL, NULL } };
    const struct CMUnitTest tests[] = {
        TH_TEST(test_out_of_order, &g_fx),
        TH_TEST(test_kill_parked, &g_fx),
        TH_TEST(test_snapshot_parked, &g_fx),
        TH_TEST(test_too_small, &g_fx),
        TH_TEST(test_fault_one_read, &g_fx_fault),
    };
    return TH_MAIN(argc, argv, roles, NULL, tests);
}
