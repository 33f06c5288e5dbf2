/*
 * test_lsmd_multi_get.c — SHM_OP_MULTI_GET through a real lsmd and real
 * client processes.  The daemon is this build's (so SAN=thread runs it
 * under TSan), except for bad_requests: the ASan+UBSan lsmd, where a
 * memory error in the daemon aborts it and fails the test.
 *
 *   equals_get      a reader process: lsmd_multi_get equals lsmd_get key by
 *                   key for present, deleted, absent and duplicate keys, bad
 *                   keys, more keys than one request carries, values that
 *                   do not fit one reply and a value larger than the
 *                   segment; the same through lsmd_submit_multi_get
 *   snapshot        while a writer process rewrites every key in atomic
 *                   generations, a reader holding a snapshot another
 *                   process acquired gets exactly the snapshot's values,
 *                   and a multi-get at snapshot 0 always sees one
 *                   generation (one view), also when split into requests
 *   bad_requests    hand-made MULTI_GET descriptors (no keys, too many,
 *                   broken key lists, a list above max_request_bytes, an
 *                   output too small for the table, a snapshot not held)
 *                   each get their error, and the daemon goes on serving;
 *                   lsmd_multi_get splits a call the daemon's
 *                   max_request_bytes refuses, transparently; lsmctl mget
 */
#include "helpers.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "harness.h"

static th_daemon g_d;
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_BIN, .tag = "mget", .start = true };
static const char *const small_req[] = { "--max-request-bytes", "4096", NULL };
static th_fixture g_fx_small = { .d = &g_d, .bin = LSMD_ASAN_BIN, .tag = "mget-small",
                                 .extra = small_req, .start = true };

#define NKEYS 300   /* keys k0000 .. k0299 */
#define GEN_KEYS 5000 /* the snapshot test: more than one request carries */

static void key_of(char *buf, size_t cap, int k)
{
    snprintf(buf, cap, "k%04d", k);
}

/* Value of key k: k % 3 == 0 deleted, k % 7 == 0 a 40 KiB value (several
 * do not fit one reply of a 128 KiB segment), k == 5 a 200 KiB value
 * (larger than that segment: -E2BIG), else short. */
static size_t value_of(char *buf, int k)
{
    size_t n = k == 5 ? 200000 : k % 7 == 0 ? 40000 : 10 + (size_t)k % 50;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)('a' + (k + (int)i) % 26);
    return n;
}

static int load(lsmd_conn *c)
{
    static char v[200000];
    char key[16];
    for (int k = 0; k < NKEYS; k++) {
        key_of(key, sizeof key, k);
        size_t n = value_of(v, k);
        int rc = lsmd_put(c, key, strlen(key), v, n, 0);
        if (rc == 0 && k % 3 == 0)
            rc = lsmd_delete(c, key, strlen(key), 0);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- roles ----------------------------------------------------------------- */

/* Compares lsmd_multi_get of keys[] with lsmd_get of each; replies "ok" or
 * what differs. */
static int compare(lsmd_conn *c, uint64_t snap, size_t n, const void *const *keys,
                   const size_t *lens, const char *what)
{
    void **vals = calloc(n, sizeof *vals);
    size_t *vl = calloc(n, sizeof *vl);
    int *st = calloc(n, sizeof *st);
    int rc = lsmd_multi_get(c, snap, n, keys, lens, vals, vl, st);
    int bad = 0;
    if (rc) {
        th_reply("err %s: multi_get %s", what, lsmd_strerror(rc));
        bad = 1;
    }
    for (size_t i = 0; i < n && !bad; i++) {
        void *v = NULL;
        size_t l = 0;
        int g = lsmd_get(c, snap, keys[i], lens[i], &v, &l);
        if (g != st[i] || (g == 0 && (l != vl[i] || memcmp(v, vals[i], l) != 0)) ||
            (g != 0 && vals[i] != NULL)) {
            th_reply("err %s: key %zu: get %d (%zu bytes), multi_get %d (%zu bytes)", what, i,
                     g, l, st[i], vl[i]);
            bad = 1;
        }
        free(v);
    }
    for (size_t i = 0; i < n; i++)
        free(vals[i]);
    free(vals);
    free(vl);
    free(st);
    return bad;
}

/* The async API: one request per 20 keys; each key's result equals
 * lsmd_get's, or is LSM_ETOOSMALL / -EAGAIN (did not fit the slot). */
static int compare_async(lsmd_conn *c, size_t n, const void *const *keys, const size_t *lens)
{
    int fits = 0;
    for (size_t at = 0; at < n; at += 20) {
        size_t m = n - at < 20 ? n - at : 20;
        int tag = lsmd_submit_multi_get(c, 0, m, keys + at, lens + at, at);
        if (tag < 0) {
            th_reply("err submit_multi_get: %s", lsmd_strerror(tag));
            return 1;
        }
        lsmd_completion cp;
        if (lsmd_poll(c, &cp, 1, 1) != 1 || cp.status != 0 || cp.op != LSMD_OP_MULTI_GET ||
            cp.user_data != at || cp.count != m) {
            th_reply("err poll: status %d count %zu", cp.status, cp.count);
            return 1;
        }
        int st[20];
        const void *vals[20];
        size_t vl[20];
        if (lsmd_completion_multi_get(&cp, st, vals, vl) != (int)m) {
            th_reply("err completion_multi_get");
            return 1;
        }
        for (size_t i = 0; i < m; i++) {
            void *v = NULL;
            size_t l = 0;
            int g = lsmd_get(c, 0, keys[at + i], lens[at + i], &v, &l);
            bool ok;
            if (st[i] == 0)
                ok = g == 0 && l == vl[i] && memcmp(v, vals[i], l) == 0;
            else if (st[i] == LSM_ETOOSMALL) /* did not fit the slot */
                ok = (g == 0 || g == -E2BIG) && vl[i] > 0 && (g != 0 || vl[i] == l);
            else if (st[i] == -EAGAIN)       /* not looked up: the slot was full */
                ok = vl[i] == 0 && !vals[i];
            else
                ok = st[i] == g && !vals[i];
            fits += st[i] == 0;
            free(v);
            if (!ok) {
                th_reply("err async key %zu: get %d, multi %d", at + i, g, st[i]);
                return 1;
            }
        }
    }
    if (fits == 0) {
        th_reply("err async: nothing found");
        return 1;
    }
    return 0;
}

/* reader SOCKET: "load", "compare", "exit". */
static int role_reader(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    lsmd_conn_options o;
    lsmd_conn_options_init(&o);
    o.large_bytes = SHM_MIN_LARGE_BYTES; /* 128 KiB: values must be fetched again */
    lsmd_conn *c;
    int rc = lsmd_connect_opts(argv[1], &o, &c);
    if (rc) {
        th_reply("err connect: %s", lsmd_strerror(rc));
        return 1;
    }
    enum { N = NKEYS + 60 + 6000 };
    static char kbuf[N][16];
    static const void *keys[N];
    static size_t lens[N];
    size_t n = 0;
    for (int k = 0; k < NKEYS + 60; k++) { /* 60 absent keys */
        key_of(kbuf[n], 16, k);
        keys[n] = kbuf[n];
        lens[n] = strlen(kbuf[n]);
        n++;
    }
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "load", 4) == 0) {
            lsmd_conn *w; /* default segment: room for the 200 KB value */
            rc = lsmd_connect(argv[1], &w);
            if (rc == 0)
                rc = load(w);
            lsmd_disconnect(w);
            th_reply("%s %d", rc ? "err" : "ok", rc);
        } else if (strncmp(line, "compare", 7) == 0) {
            /* Reversed order with duplicates, and bad keys. */
            static const void *k2[2 * (NKEYS + 60) + 3];
            static size_t l2[2 * (NKEYS + 60) + 3];
            size_t m = 0;
            for (size_t i = n; i-- > 0;) {
                k2[m] = keys[i], l2[m++] = lens[i];
                if (i % 4 == 0)
                    k2[m] = keys[i], l2[m++] = lens[i];
            }
            static char longkey[LSM_MAX_KEY_SIZE + 1];
            k2[m] = "x", l2[m++] = 0;
            k2[m] = NULL, l2[m++] = 3;
            k2[m] = longkey, l2[m++] = sizeof longkey;
            void *v[3];
            size_t vl[3];
            int st[3];
            if (compare(c, 0, m - 3, k2, l2, "mixed"))
                continue;
            if ((rc = lsmd_multi_get(c, 0, 3, k2 + m - 3, l2 + m - 3, v, vl, st)) != 0 ||
                st[0] != -EINVAL || st[1] != -EINVAL || st[2] != -EINVAL || v[0] || v[1] || v[2]) {
                th_reply("err bad keys: rc %d, statuses %d %d %d", rc, st[0], st[1], st[2]);
                continue;
            }
            /* More keys than one request carries (SHM_MGET_MAX_KEYS). */
            for (size_t i = 0; i < 6000; i++) {
                keys[n + i] = keys[i % n];
                lens[n + i] = lens[i % n];
            }
            if (compare(c, 0, n + 6000, keys, lens, "split"))
                continue;
            if (compare_async(c, n, keys, lens))
                continue;
            /* Nothing at all, and NULL arrays. */
            if (lsmd_multi_get(c, 0, 0, NULL, NULL, NULL, NULL, NULL) != 0 ||
                lsmd_multi_get(c, 0, 2, NULL, lens, v, vl, st) != -EINVAL) {
                th_reply("err n = 0 / NULL arrays");
                continue;
            }
            th_reply("ok");
        } else {
            break;
        }
    }
    lsmd_disconnect(c);
    return 0;
}

/* Writes generation g of every GEN_KEYS key in one batch: value "gNNNNNN". */
static int write_gen(lsmd_conn *c, int g)
{
    lsmd_batch *b = lsmd_batch_new();
    char key[16], val[32];
    int rc = 0;
    for (int k = 0; k < GEN_KEYS && rc == 0; k++) {
        key_of(key, sizeof key, k);
        int vn = snprintf(val, sizeof val, "g%06d-%d", g, k);
        rc = lsmd_batch_put(b, key, strlen(key), val, (size_t)vn);
    }
    if (rc == 0)
        rc = lsmd_write(c, b, 0);
    lsmd_batch_free(b);
    return rc;
}

/* writer SOCKET: writes generation 0, replies, then generations 1, 2, ...
 * until stdin closes or says "stop"; replies the last generation. */
static int role_writer(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    lsmd_conn_options o;
    lsmd_conn_options_init(&o);
    o.large_bytes = 4u << 20;
    lsmd_conn *c;
    int rc = lsmd_connect_opts(argv[1], &o, &c);
    if (rc) {
        th_reply("err connect: %s", lsmd_strerror(rc));
        return 1;
    }
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        return 1;
    rc = write_gen(c, 0);
    th_reply("%s %d", rc ? "err" : "ok", rc);
    int g = 1;
    for (; rc == 0; g++) {
        struct pollfd p = { .fd = 0, .events = POLLIN };
        if (poll(&p, 1, 0) > 0)
            break;
        rc = write_gen(c, g);
    }
    if (fgets(line, sizeof line, stdin))
        th_reply("%s %d", rc ? "err" : "ok", g - 1);
    lsmd_disconnect(c);
    return 0;
}

/* Checks one multi-get of M keys (every GEN_KEYS key, then the first ones
 * again):
 * all of one generation; want >= 0: that one.  Returns the generation,
 * or -1 after replying the error. */
static int check_gen(lsmd_conn *c, uint64_t snap, int want, int M)
{
    static char kbuf[GEN_KEYS][16];
    static const void *keys[GEN_KEYS + 100];
    static size_t lens[GEN_KEYS + 100];
    static void *vals[GEN_KEYS + 100];
    static size_t vl[GEN_KEYS + 100];
    static int st[GEN_KEYS + 100];
    if (M > GEN_KEYS + 100)
        M = GEN_KEYS + 100;
    for (int k = 0; k < M; k++) {
        int kk = k % GEN_KEYS;
        key_of(kbuf[kk], 16, kk);
        keys[k] = kbuf[kk];
        lens[k] = strlen(kbuf[kk]);
    }
    int rc = lsmd_multi_get(c, snap, M, keys, lens, vals, vl, st);
    if (rc) {
        th_reply("err multi_get: %s", lsmd_strerror(rc));
        return -1;
    }
    int gen = -1, bad = -1;
    for (int k = 0; k < M && bad < 0; k++) {
        int g, kk;
        char tail;
        if (st[k] != 0 || vl[k] > 30) {
            bad = k;
            break;
        }
        char s[32];
        memcpy(s, vals[k], vl[k]);
        s[vl[k]] = '\0';
        if (sscanf(s, "g%d-%d%c", &g, &kk, &tail) != 2 || kk != k % GEN_KEYS)
            bad = k;
        else if (gen < 0)
            gen = g;
        else if (g != gen)
            bad = k;
    }
    for (int k = 0; k < M; k++)
        free(vals[k]);
    if (bad >= 0 || (want >= 0 && gen != want)) {
        th_reply("err key %d: status %d, generation %d, want %d", bad, bad >= 0 ? st[bad] : 0,
                 gen, want);
        return -1;
    }
    return gen;
}

/* agent SOCKET: "acquire" -> "ok ID"; "hold ID"; "check ID GEN [COUNT]"
 * (GEN -1: any single generation; COUNT keys, GEN_KEYS + 100 by default)
 * -> "ok GEN"; "exit". */
static int role_agent(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    lsmd_conn *c;
    int rc = lsmd_connect(argv[1], &c);
    if (rc) {
        th_reply("err connect: %s", lsmd_strerror(rc));
        return 1;
    }
    char line[128];
    while (fgets(line, sizeof line, stdin)) {
        unsigned long long id;
        int want, count = GEN_KEYS + 100;
        if (strncmp(line, "acquire", 7) == 0) {
            uint64_t sid = 0;
            rc = lsmd_snapshot_acquire(c, &sid);
            th_reply("%s %llu", rc ? "err" : "ok", (unsigned long long)sid);
        } else if (sscanf(line, "hold %llu", &id) == 1) {
            rc = lsmd_snapshot_hold(c, id);
            th_reply("%s %d", rc ? "err" : "ok", rc);
        } else if (sscanf(line, "check %llu %d %d", &id, &want, &count) >= 2) {
            int g = check_gen(c, id, want, count);
            if (g >= 0)
                th_reply("ok %d", g);
        } else {
            break;
        }
    }
    lsmd_disconnect(c);
    return 0;
}

/* ---- tests ----------------------------------------------------------------- */

static void expect_ok(const char *what, const char *reply)
{
    if (!reply || strncmp(reply, "ok", 2) != 0)
        fail_msg("%s: %s", what, reply ? reply : "(no reply)");
}

static void test_equals_get(void **state)
{
    th_fixture *fx = *state;
    th_child r;
    th_spawn(&r, "reader", (const char *const[]){ fx->d->sock, NULL });
    expect_ok("load", th_ask(&r, "load"));
    expect_ok("compare", th_ask(&r, "compare"));
    /* Again after a flush: the values now come from tables. */
    lsmd_conn *c = thd_connect(fx->d);
    assert_int_equal(lsmd_flush(c), 0);
    lsmd_disconnect(c);
    expect_ok("compare after flush", th_ask(&r, "compare"));
    th_send(&r, "exit");
    assert_int_equal(th_wait(&r), 0);
    assert_true(thd_alive(fx->d));
    assert_int_equal(thd_stop(fx->d), 0);
}

static void test_snapshot_overwrite(void **state)
{
    th_fixture *fx = *state;
    th_child w, a, b;
    const char *const args[] = { fx->d->sock, NULL };
    th_spawn(&w, "writer", args);
    th_spawn(&a, "agent", args);
    th_spawn(&b, "agent", args);
    expect_ok("generation 0", th_ask(&w, "go"));
    const char *rep = th_ask(&a, "acquire");
    expect_ok("acquire", rep);
    unsigned long long id = strtoull(rep + 3, NULL, 10);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "hold %llu", id);
    expect_ok("hold", th_ask(&b, "%s", cmd));
    /* The writer goes on meanwhile; the snapshot holds whatever generation
     * it caught; B must read exactly it every time, A at 0 one each time. */
    rep = th_ask(&a, "check %llu -1", id);
    expect_ok("check A", rep);
    int gen = atoi(rep + 3);
    int seen_other = 0;
    double end = th_now() + th_duration(4, 2);
    while (th_now() < end) {
        expect_ok("check B", th_ask(&b, "check %llu %d", id, gen));
        rep = th_ask(&a, "check 0 -1");
        expect_ok("check latest", rep);
        seen_other |= atoi(rep + 3) != gen;
        /* One request of the most keys it may carry: the daemon reads
         * them in chunks, at one view. */
        expect_ok("check latest, one request", th_ask(&a, "check 0 -1 %u", SHM_MGET_MAX_KEYS));
    }
    th_send(&w, "stop");
    rep = th_recv(&w, 30000);
    expect_ok("writer", rep);
    assert_true(atoi(rep + 3) > gen);
    assert_true(seen_other); /* the latest view moved on */
    expect_ok("check B at the end", th_ask(&b, "check %llu %d", id, gen));
    th_send(&a, "exit");
    th_send(&b, "exit");
    assert_int_equal(th_wait(&w), 0);
    assert_int_equal(th_wait(&a), 0);
    assert_int_equal(th_wait(&b), 0);
    assert_int_equal(thd_stop(fx->d), 0);
}

/* One raw MULTI_GET of the list in the large region; its status. */
static int raw_mget(lsmd_conn *c, uint64_t snap, uint64_t n, uint32_t list, uint32_t out_cap,
                    struct shm_cqe *cqe)
{
    struct shm_sqe q = {
        .opcode = SHM_OP_MULTI_GET, .arg0 = snap, .arg1 = n,
        .key_off = c->large_off, .key_len = list,
        .out_off = c->large_off + ((list + 7) & ~7u), .out_cap = out_cap,
    };
    assert_int_equal(conn_call(c, &q, cqe), 0);
    return cqe->status;
}

static uint32_t put_entry(char *p, uint32_t pos, uint32_t len, const char *key)
{
    memcpy(p + pos, &len, 4);
    memcpy(p + pos + 4, key, strlen(key) < len ? strlen(key) : len);
    return pos + 4 + len;
}

static void test_bad_requests(void **state)
{
    th_fixture *fx = *state;
    lsmd_conn *c = thd_connect(fx->d);
    assert_int_equal(lsmd_put(c, "a", 1, "apple", 5, 0), 0);
    assert_int_equal(lsmd_put(c, "b", 1, "banana", 6, 0), 0);
    char *p = conn_large(c);
    struct shm_cqe cqe;
    /* A good one first: [a][zz][b] -> found, absent, found. */
    uint32_t n = put_entry(p, 0, 1, "a");
    n = put_entry(p, n, 2, "zz");
    n = put_entry(p, n, 1, "b");
    assert_int_equal(raw_mget(c, 0, 3, n, 64, &cqe), 0);
    assert_int_equal(cqe.r0, 3);
    assert_int_equal(cqe.r1, 24 + 11);
    const char *out = p + ((n + 7) & ~7u);
    struct shm_mget_res r[3];
    memcpy(r, out, sizeof r);
    assert_int_equal(r[0].status, 0);
    assert_int_equal(r[0].value_len, 5);
    assert_int_equal(r[1].status, LSM_ENOTFOUND);
    assert_int_equal(r[2].status, 0);
    assert_memory_equal(out + 24, "applebanana", 11);
    /* Room for "apple" only: banana is LSM_ETOOSMALL with its length. */
    assert_int_equal(raw_mget(c, 0, 3, n, 24 + 5, &cqe), 0);
    memcpy(r, out, sizeof r);
    assert_int_equal(r[2].status, LSM_ETOOSMALL);
    assert_int_equal(r[2].value_len, 6);
    /* Refusals. */
    assert_int_equal(raw_mget(c, 0, 0, n, 64, &cqe), -EINVAL);              /* no keys */
    assert_int_equal(raw_mget(c, 0, SHM_MGET_MAX_KEYS + 1, 5 * 4097, 8 * 4097, &cqe), -E2BIG);
    assert_int_equal(raw_mget(c, 0, 2, n, 64, &cqe), -EINVAL);              /* list too long */
    assert_int_equal(raw_mget(c, 0, 4, n, 64, &cqe), -EINVAL);              /* list too short */
    assert_int_equal(raw_mget(c, 0, 3, n, 23, &cqe), -EINVAL);              /* no room for table */
    assert_int_equal(raw_mget(c, 77, 3, n, 64, &cqe), -ESRCH);              /* snapshot not held */
    put_entry(p, 5, 0, "");                                                 /* empty 2nd key */
    assert_int_equal(raw_mget(c, 0, 3, n, 64, &cqe), -EINVAL);
    put_entry(p, 5, 0xfffffff0u, "zz");                                     /* length past it */
    assert_int_equal(raw_mget(c, 0, 3, n, 64, &cqe), -EINVAL);
    /* A key list above this daemon's max_request_bytes (4096). */
    uint32_t m = 0;
    for (int i = 0; i < 300; i++)
        m = put_entry(p, m, 16, "0123456789abcdef");
    assert_int_equal(raw_mget(c, 0, 300, m, 8 * 300 + 1024, &cqe), -E2BIG);
    /* The daemon still serves, this client and a new one. */
    assert_int_equal(lsmd_ping(c), 0);
    lsmd_conn *c2 = thd_connect(fx->d);
    /* lsmd_multi_get splits a call whose key list the daemon refuses. */
    enum { K = 600 };
    static char kb[K][20];
    const void *keys[K];
    size_t lens[K], vl[K];
    void *vals[K];
    int st[K];
    for (int i = 0; i < K; i++) {
        snprintf(kb[i], sizeof kb[i], i % 2 ? "a" : "absent-%09d", i);
        keys[i] = kb[i];
        lens[i] = strlen(kb[i]);
    }
    assert_int_equal(lsmd_multi_get(c2, 0, K, keys, lens, vals, vl, st), 0);
    for (int i = 0; i < K; i++) {
        if (i % 2) {
            assert_int_equal(st[i], 0);
            assert_int_equal(vl[i], 5);
            assert_memory_equal(vals[i], "apple", 5);
        } else {
            assert_int_equal(st[i], LSM_ENOTFOUND);
            assert_null(vals[i]);
        }
        free(vals[i]);
    }
    lsmd_disconnect(c2);
    lsmd_disconnect(c);
    /* lsmctl mget: one line per key; an absent key makes it exit 1. */
    char cmd[512], outb[256] = "";
    snprintf(cmd, sizeof cmd, "%s --socket %s mget a zz b", LSMCTL_BIN, fx->d->sock);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t got = fread(outb, 1, sizeof outb - 1, f);
    int status = pclose(f);
    outb[got] = '\0';
    assert_string_equal(outb, "a\tapple\nzz\t\nb\tbanana\n");
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    snprintf(cmd, sizeof cmd, "%s --socket %s --json mget b a", LSMCTL_BIN, fx->d->sock);
    f = popen(cmd, "r");
    assert_non_null(f);
    got = fread(outb, 1, sizeof outb - 1, f);
    status = pclose(f);
    outb[got] = '\0';
    assert_string_equal(outb, "[{\"key\":\"b\",\"value\":\"banana\"},"
                              "{\"key\":\"a\",\"value\":\"apple\"}]\n");
    assert_int_equal(status, 0);
    assert_true(thd_alive(fx->d));
    assert_int_equal(thd_stop(fx->d), 0);
}

int main(int argc, char **argv)
{
    static const th_role roles[] = {
        { "reader", role_reader }, { "writer", role_writer }, { "agent", role_agent },
        { NULL, NULL },
    };
    const struct CMUnitTest tests[] = {
        TH_TEST(test_equals_get, &g_fx),
        TH_TEST(test_snapshot_overwrite, &g_fx),
        TH_TEST(test_bad_requests, &g_fx_small),
    };
    return TH_MAIN(argc, argv, roles, NULL, tests);
}
