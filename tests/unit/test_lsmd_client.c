/* test_lsmd_client.c — the client library (libclient/lsmd.h) against a
 * small fake daemon in a child process (fake_lsmd.h): the real socket
 * handshake, segment, rings, wait/wake and directory, with a sorted
 * in-memory table instead of the engine.  Covers every call, large values, the async queue, pages of
 * an iterator, snapshot holds seen in the directory, and the daemon dying
 * or ending the session (calls fail with -ENOTCONN, never hang).
 * The real daemon's integration tests live in tests/integration. */
#include "helpers.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_lsmd.h"
#include "lsmd.h"
#include "protocol.h"
#include "wait.h"

static lsmd_conn *conn(uint32_t qd)
{
    lsmd_conn_options o;
    lsmd_conn_options_init(&o);
    o.queue_depth = qd;
    lsmd_conn *c = NULL;
    int rc = lsmd_connect_opts(fake_lsmd_socket(), &o, &c);
    if (rc)
        fail_msg("connect: %s", lsmd_strerror(rc));
    return c;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_connect_refused(void **state)
{
    (void)state;
    lsmd_conn *c = NULL;
    char p[300];
    snprintf(p, sizeof(p), "%s/nothing.sock", fake_lsmd_dir());
    assert_int_equal(lsmd_connect(p, &c), -ENOENT);
    assert_null(c);
    lsmd_disconnect(NULL);
}

static void test_put_get_delete(void **state)
{
    (void)state;
    lsmd_conn *c = conn(0);
    assert_int_equal(lsmd_queue_depth(c), SHM_DEFAULT_QUEUE_DEPTH);
    assert_int_equal(lsmd_client_id(c), 77);
    assert_int_equal(lsmd_ping(c), 0);
    assert_int_equal(lsmd_put(c, "alpha", 5, "one", 3, 0), 0);
    assert_int_equal(lsmd_put(c, "beta", 4, "", 0, LSM_SYNC), 0);
    void *v;
    size_t vl;
    assert_int_equal(lsmd_get(c, 0, "alpha", 5, &v, &vl), 0);
    assert_int_equal(vl, 3);
    assert_memory_equal(v, "one", 3);
    free(v);
    assert_int_equal(lsmd_get(c, 0, "beta", 4, &v, &vl), 0);
    assert_int_equal(vl, 0);
    free(v);
    char buf[2];
    assert_int_equal(lsmd_get_into(c, 0, "alpha", 5, buf, sizeof(buf), &vl), LSM_ETOOSMALL);
    assert_int_equal(vl, 3);
    assert_int_equal(lsmd_delete(c, "alpha", 5, 0), 0);
    assert_int_equal(lsmd_get(c, 0, "alpha", 5, &v, &vl), LSM_ENOTFOUND);
    /* refused before anything is sent */
    assert_int_equal(lsmd_put(c, "", 0, "x", 1, 0), -EINVAL);
    assert_int_equal(lsmd_put(c, "k", 1, "x", 1, 4), -EINVAL);
    static char bigkey[LSM_MAX_KEY_SIZE + 1];
    assert_int_equal(lsmd_put(c, bigkey, sizeof(bigkey), "x", 1, 0), -EINVAL);
    assert_string_equal(lsmd_strerror(-ENOTCONN),
                        "not connected: the lsmd daemon is gone (reconnect)");
    lsmd_disconnect(c);
}

/* Puts val under key and reads it back, exactly. */
static void put_get_same(lsmd_conn *c, const char *key, const char *val, size_t n)
{
    assert_int_equal(lsmd_put(c, key, strlen(key), val, n, 0), 0);
    void *v;
    size_t vl;
    assert_int_equal(lsmd_get(c, 0, key, strlen(key), &v, &vl), 0);
    assert_int_equal(vl, n);
    assert_memory_equal(v, val, n);
    free(v);
}

/* 1 MiB works by default; more than the engine's limit is -EINVAL. */
static void test_large_values(void **state)
{
    (void)state;
    lsmd_conn *c = conn(4);
    size_t n = 1 << 20;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 7);
    assert_true(lsmd_max_request_bytes(c) >= n + LSM_MAX_KEY_SIZE);
    put_get_same(c, "big", big, n);
    /* Above the region a put goes in pieces (test_big_values, against a
     * real lsmd); above the engine's limit it is refused before sending. */
    size_t too = (size_t)LSM_MAX_VALUE_SIZE + 1;
    char *huge = calloc(1, too);
    assert_int_equal(lsmd_put(c, "h", 1, huge, too, 0), -EINVAL);
    /* an async request must fit a slot */
    assert_int_equal(lsmd_submit_put(c, "b", 1, big, SHM_DEFAULT_SLOT_BYTES, 0, 0), -E2BIG);
    free(huge);
    free(big);
    lsmd_disconnect(c);
}

static void test_batch(void **state)
{
    (void)state;
    lsmd_conn *c = conn(4);
    lsmd_batch *b = lsmd_batch_new();
    assert_int_equal(lsmd_write(c, b, 0), 0); /* empty: no-op */
    assert_int_equal(lsmd_batch_put(b, "a", 1, "1", 1), 0);
    assert_int_equal(lsmd_batch_put(b, "b", 1, "2", 1), 0);
    assert_int_equal(lsmd_batch_delete(b, "a", 1), 0);
    assert_int_equal(lsmd_batch_put(b, "", 0, "x", 1), -EINVAL);
    assert_int_equal(lsmd_batch_count(b), 3);
    assert_int_equal(lsmd_write(c, b, LSM_SYNC), 0);
    void *v;
    size_t vl;
    assert_int_equal(lsmd_get(c, 0, "a", 1, &v, &vl), LSM_ENOTFOUND);
    assert_int_equal(lsmd_get(c, 0, "b", 1, &v, &vl), 0);
    assert_memory_equal(v, "2", 1);
    free(v);
    lsmd_batch_clear(b);
    assert_int_equal(lsmd_batch_count(b), 0);
    lsmd_batch_free(b);
    lsmd_batch_free(NULL);
    lsmd_disconnect(c);
}

static void test_async(void **state)
{
    (void)state;
    lsmd_conn *c = conn(8);
    assert_int_equal(lsmd_queue_depth(c), 8);
    char k[16], val[32];
    for (int i = 0; i < 8; i++) {
        int kl = snprintf(k, sizeof(k), "key%03d", i);
        int vl = snprintf(val, sizeof(val), "value-%d", i * i);
        assert_true(lsmd_submit_put(c, k, (size_t)kl, val, (size_t)vl, 0, 1000 + (uint64_t)i) >= 0);
    }
    assert_int_equal(lsmd_submit_put(c, "x", 1, "y", 1, 0, 0), -EBUSY);
    assert_int_equal(lsmd_inflight(c), 8);
    /* a synchronous call in the middle keeps the async completions */
    assert_int_equal(lsmd_ping(c), 0);
    lsmd_completion comp[16];
    int got = 0;
    while (got < 8) {
        int n = lsmd_poll(c, comp, 16, 1);
        assert_true(n >= 1);
        for (int j = 0; j < n; j++) {
            assert_int_equal(comp[j].status, 0);
            assert_int_equal(comp[j].op, LSMD_OP_PUT);
            assert_true(comp[j].user_data >= 1000 && comp[j].user_data < 1008);
        }
        got += n;
    }
    assert_int_equal(lsmd_inflight(c), 0);
    /* gets, values read in place, many rounds through the slots */
    uint64_t t0 = shm_now_ns();
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 8; i++) {
            int kl = snprintf(k, sizeof(k), "key%03d", (i + round) % 9);
            assert_true(lsmd_submit_get(c, 0, k, (size_t)kl, (uint64_t)((i + round) % 9)) >= 0);
        }
        int seen = 0;
        while (seen < 8) {
            int n = lsmd_poll(c, comp, 3, 3 < 8 - seen ? 3 : 8 - seen);
            assert_true(n > 0);
            for (int j = 0; j < n; j++) {
                uint64_t i = comp[j].user_data;
                assert_int_equal(comp[j].op, LSMD_OP_GET);
                if (i == 8) {
                    assert_int_equal(comp[j].status, LSM_ENOTFOUND);
                    continue;
                }
                assert_int_equal(comp[j].status, 0);
                int vl = snprintf(val, sizeof(val), "value-%d", (int)(i * i));
                assert_int_equal(comp[j].vlen, (size_t)vl);
                assert_memory_equal(comp[j].val, val, (size_t)vl);
            }
            seen += n;
        }
    }
    /* a lost wake-up costs the fake daemon's 3 s timeout */
    assert_true(shm_now_ns() - t0 < 2500000000ull);
    assert_int_equal(lsmd_poll(c, comp, 16, 4), 0); /* nothing in flight: no wait */
    assert_true(lsmd_submit_delete(c, "key000", 6, LSM_SYNC, 5) >= 0);
    assert_int_equal(lsmd_poll(c, comp, 1, 1), 1);
    assert_int_equal(comp[0].op, LSMD_OP_DELETE);
    lsmd_disconnect(c);
}

static void test_iterator_pages(void **state)
{
    (void)state;
    lsmd_conn *c = conn(4);
    char k[16];
    for (int i = 0; i < 300; i++) {
        int kl = snprintf(k, sizeof(k), "k%04d", i);
        assert_int_equal(lsmd_put(c, k, (size_t)kl, k, (size_t)kl, 0), 0);
    }
    lsmd_iter *it;
    assert_int_equal(lsmd_iter_new(c, 0, "k0010", 5, "k0250", 5, &it), 0);
    int n = 10;
    for (; lsmd_iter_valid(it); lsmd_iter_next(it), n++) {
        size_t kl, vl;
        const char *key = lsmd_iter_key(it, &kl);
        const char *v = lsmd_iter_value(it, &vl);
        int want = snprintf(k, sizeof(k), "k%04d", n);
        assert_int_equal(kl, (size_t)want);
        assert_memory_equal(key, k, kl);
        assert_memory_equal(v, k, vl);
        if (n == 100) { /* a synchronous call inside the scan is fine */
            void *gv;
            size_t gl;
            assert_int_equal(lsmd_get(c, 0, "k0005", 5, &gv, &gl), 0);
            free(gv);
        }
    }
    assert_int_equal(n, 250);
    assert_int_equal(lsmd_iter_status(it), 0);
    lsmd_iter_free(it);
    /* stop early: the close goes out without a round trip, many times over
     * (more than the fire-and-forget budget) */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(lsmd_iter_new(c, 0, NULL, 0, NULL, 0, &it), 0);
        assert_true(lsmd_iter_valid(it));
        lsmd_iter_next(it);
        lsmd_iter_free(it);
    }
    assert_int_equal(lsmd_ping(c), 0);
    assert_int_equal(lsmd_iter_new_ex(c, 0, NULL, 0, NULL, 0, LSMD_ITER_REVERSE, &it),
                     -EOPNOTSUPP);
    /* an empty range */
    assert_int_equal(lsmd_iter_new(c, 0, "z", 1, NULL, 0, &it), 0);
    assert_false(lsmd_iter_valid(it));
    assert_int_equal(lsmd_iter_status(it), 0);
    lsmd_iter_free(it);
    lsmd_disconnect(c);
}

struct scan_seen {
    int n, first, stop_at;
    bool ordered;
    bool wait_next;      /* at entry 0: wait for the fake daemon's next page */
    uint32_t nexts_before; /* *nexts_served before the scan */
    bool next_was_ahead; /* it came while entry 0 was being read */
};

static int scan_cb(void *arg, const void *key, size_t klen, const void *value, size_t vlen)
{
    struct scan_seen *s = arg;
    char k[16];
    int want = snprintf(k, sizeof k, "k%04d", s->first + s->n);
    if (s->wait_next && s->n == 0) {
        for (int i = 0; i < 2000 && !s->next_was_ahead; i++) {
            s->next_was_ahead =
                fake_lsmd_nexts_served() != s->nexts_before;
            usleep(1000);
        }
    }
    s->ordered &= klen == (size_t)want && memcmp(key, k, klen) == 0 && vlen == klen &&
                  memcmp(value, k, vlen) == 0;
    return ++s->n == s->stop_at;
}

/* lsmd_scan against the fake daemon (8 iterator slots): bounded scans
 * leave nothing open (else the slots run out), seek keys, pages after
 * the first, an early stop, and the argument checks. */
static void test_scan(void **state)
{
    (void)state;
    lsmd_conn *c = conn(4);
    char k[16];
    for (int i = 0; i < 300; i++) {
        int kl = snprintf(k, sizeof(k), "k%04d", i);
        assert_int_equal(lsmd_put(c, k, (size_t)kl, k, (size_t)kl, 0), 0);
    }
    uint64_t visited;
    for (int i = 0; i < 40; i++) {
        struct scan_seen s = { .first = i, .ordered = true };
        snprintf(k, sizeof k, "k%04d", i);
        assert_int_equal(lsmd_scan(c, 0, k, 5, NULL, 0, NULL, 0, 5, 0, 0, scan_cb, &s, &visited),
                         0);
        assert_int_equal(s.n, 5);
        assert_int_equal(visited, 5);
        assert_true(s.ordered);
    }
    /* seek past lo; a 64-byte page size: many ITER_NEXT pages */
    struct scan_seen s = { .first = 120, .ordered = true };
    assert_int_equal(lsmd_scan(c, 0, "k0100", 5, "k0200", 5, "k0120", 5, 0, 64, 0, scan_cb, &s,
                               &visited),
                     0);
    assert_int_equal(s.n, 80);
    assert_true(s.ordered);
    /* Read-ahead: the first entry of the first page waits until the
     * daemon has filled the next page (asked for before this one is read,
     * in another part of the large region); the entries still read right,
     * so the two pages did not overlap. */
    s = (struct scan_seen){ .first = 120, .ordered = true, .wait_next = true,
                            .nexts_before = fake_lsmd_nexts_served() };
    assert_int_equal(lsmd_scan(c, 0, "k0100", 5, "k0200", 5, "k0120", 5, 0, 64, 0, scan_cb, &s,
                               &visited),
                     0);
    assert_int_equal(s.n, 80);
    assert_true(s.ordered);
    assert_true(s.next_was_ahead);
    /* the callback stops the scan: the open iterator is closed */
    for (int i = 0; i < 20; i++) {
        s = (struct scan_seen){ .first = 0, .ordered = true, .stop_at = 3 };
        assert_int_equal(lsmd_scan(c, 0, NULL, 0, NULL, 0, NULL, 0, 0, 64, 0, scan_cb, &s,
                                   &visited),
                         0);
        assert_int_equal(visited, 3);
    }
    /* one page only */
    for (int i = 0; i < 20; i++) {
        s = (struct scan_seen){ .first = 0, .ordered = true };
        assert_int_equal(lsmd_scan(c, 0, NULL, 0, NULL, 0, NULL, 0, 7, 0, LSMD_SCAN_ONE_PAGE,
                                   scan_cb, &s, &visited),
                         0);
        assert_int_equal(visited, 7);
    }
    assert_int_equal(lsmd_ping(c), 0);
    assert_int_equal(lsmd_scan(c, 0, NULL, 0, NULL, 0, NULL, 0, 1, 0, 0x100, scan_cb, &s, NULL),
                     -EINVAL);
    assert_int_equal(lsmd_scan(c, 0, NULL, 0, NULL, 0, NULL, 0, 1, 0, 0, NULL, NULL, NULL),
                     -EINVAL);
    assert_int_equal(lsmd_scan(c, 0, "k", LSM_MAX_KEY_SIZE + 1, NULL, 0, NULL, 0, 1, 0, 0,
                               scan_cb, &s, NULL),
                     -EINVAL);
    /* A daemon without ITER_SCAN: lsmd_scan says so, lsmd_iter falls back
     * to ITER_OPEN. */
    assert_int_equal(lsmd_set_option(c, "noscan", "1"), 0);
    assert_int_equal(lsmd_scan(c, 0, NULL, 0, NULL, 0, NULL, 0, 1, 0, 0, scan_cb, &s, NULL),
                     -EOPNOTSUPP);
    lsmd_iter *it;
    assert_int_equal(lsmd_iter_new(c, 0, "k0290", 5, NULL, 0, &it), 0);
    int n = 0;
    for (; lsmd_iter_valid(it); lsmd_iter_next(it))
        n++;
    assert_int_equal(n, 10);
    lsmd_iter_free(it);
    lsmd_disconnect(c);
}

static void test_snapshots_and_admin(void **state)
{
    (void)state;
    lsmd_conn *c = conn(4);
    uint64_t id;
    assert_int_equal(lsmd_snapshot_acquire(c, &id), 0);
    assert_int_equal(lsmd_snapshot_hold(c, id), 0);
    lsmd_snapshot_info info[4];
    size_t n;
    assert_int_equal(lsmd_snapshot_list(c, info, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(info[0].id, id);
    assert_int_equal(info[0].holders, 2);
    assert_int_equal(info[0].creator_id, 77);
    assert_int_equal(lsmd_snapshot_release(c, id), 0);
    assert_int_equal(lsmd_snapshot_release(c, id), 0);
    assert_int_equal(lsmd_snapshot_release(c, id), -ESRCH);
    assert_int_equal(lsmd_snapshot_hold(c, 0), -ESRCH);
    assert_int_equal(lsmd_snapshot_list(c, info, 4, &n), 0);
    assert_int_equal(n, 0);

    assert_int_equal(lsmd_flush(c), 0);
    assert_int_equal(lsmd_compact(c, -1), 0);
    assert_int_equal(lsmd_compact(c, -2), -EINVAL);
    assert_int_equal(lsmd_set_option(c, "memtable_bytes", "1048576"), 0);
    assert_int_equal(lsmd_set_option(c, "bad", "x"), -EINVAL);
    assert_int_equal(lsmd_checkpoint(c, "/ck"), 0);
    assert_int_equal(lsmd_checkpoint(c, "/db"), -EEXIST);
    assert_int_equal(lsmd_checkpoint(c, "ck"), -EINVAL); /* relative: never sent */
    assert_int_equal(lsmd_checkpoint(c, NULL), -EINVAL);
    char *js;
    assert_int_equal(lsmd_stats_json(c, &js), 0);
    assert_string_equal(js, "{\"fake\":true}");
    free(js);
    char *v;
    assert_int_equal(lsmd_get_option(c, "compaction_style", &v), 0);
    assert_string_equal(v, "v:compaction_style"); /* name sent, reply read */
    free(v);
    assert_int_equal(lsmd_get_option(c, "", &v), 0);
    assert_string_equal(v, "a=1\nb=2\n");
    free(v);
    assert_int_equal(lsmd_get_option(c, NULL, &v), 0);
    assert_string_equal(v, "a=1\nb=2\n");
    free(v);
    assert_int_equal(lsmd_get_option(c, "nope", &v), -EINVAL);
    assert_int_equal(lsmd_get_option(c, "huge", &v), -E2BIG);
    char longname[4098];
    memset(longname, 'x', 4097);
    longname[4097] = '\0';
    assert_int_equal(lsmd_get_option(c, longname, &v), -EINVAL);
    assert_int_equal(lsmd_get_option(c, "x", NULL), -EINVAL);
    lsmd_disconnect(c);
}

struct got_changes { int n, stop_after; uint64_t seq[4]; int type[4]; char kv[4][8]; };

static int on_change(void *arg, uint64_t seq, int type, const void *key, size_t klen,
                     const void *value, size_t vlen)
{
    struct got_changes *g = arg;
    g->seq[g->n] = seq;
    g->type[g->n] = type;
    snprintf(g->kv[g->n], sizeof g->kv[0], "%.*s=%.*s", (int)klen, (const char *)key,
             (int)vlen, (const char *)value);
    return ++g->n == g->stop_after;
}

/* lsmd_changes: a page of puts and deletes with their sequences, where to
 * go on, caught up or not, a stop from the callback, -ERANGE, and a page
 * whose sequences go backwards ends the connection. */
static void test_changes(void **state)
{
    (void)state;
    lsmd_conn *c = conn(4);
    struct got_changes g = { 0 };
    uint64_t next;
    int caught_up;
    assert_int_equal(lsmd_changes(c, 10, 0, on_change, &g, &next, &caught_up), 0);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.seq[0], 11);
    assert_int_equal(g.seq[2], 13);
    assert_int_equal(g.type[1], LSM_CHANGE_DELETE);
    assert_string_equal(g.kv[0], "a=1");
    assert_string_equal(g.kv[1], "b=");
    assert_string_equal(g.kv[2], "c=33");
    assert_int_equal(next, 13);
    assert_int_equal(caught_up, 1);
    g = (struct got_changes){ .stop_after = 1 };
    assert_int_equal(lsmd_changes(c, 3, 0, on_change, &g, &next, &caught_up), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(next, 4);
    assert_int_equal(caught_up, 0);
    assert_int_equal(lsmd_changes(c, 99, 0, on_change, &g, &next, &caught_up), -ERANGE);
    assert_int_equal(lsmd_changes(c, 1, 0, NULL, &g, &next, &caught_up), -EINVAL);
    g = (struct got_changes){ 0 };
    assert_int_equal(lsmd_changes(c, 66, 0, on_change, &g, &next, &caught_up), -ENOTCONN);
    assert_int_equal(g.n, 2); /* the bad entry never reached the callback */
    assert_int_equal(lsmd_ping(c), -ENOTCONN);
    lsmd_disconnect(c);
}

/* The daemon ends the session (drain): the next call fails at once. */
static void test_session_ended(void **state)
{
    (void)state;
    lsmd_conn *c = conn(4);
    /* the daemon ends the session before answering: either outcome */
    int rc = lsmd_set_option(c, "shutdown", "now");
    assert_true(rc == 0 || rc == -ENOTCONN);
    assert_int_equal(lsmd_ping(c), -ENOTCONN);
    assert_int_equal(lsmd_put(c, "k", 1, "v", 1, 0), -ENOTCONN);
    assert_int_equal(lsmd_submit_get(c, 0, "k", 1, 0), -ENOTCONN);
    lsmd_disconnect(c);
}

/* The daemon is killed while a request waits: -ENOTCONN soon, no hang. */
static void test_daemon_killed(void **state)
{
    (void)state;
    lsmd_conn_options o;
    lsmd_conn_options_init(&o);
    o.spin_ns = 1000;
    lsmd_conn *c;
    assert_int_equal(lsmd_connect_opts(fake_lsmd_socket(), &o, &c), 0);
    assert_int_equal(lsmd_ping(c), 0);
    fake_lsmd_signal(SIGSTOP); /* requests now wait... */
    assert_true(lsmd_submit_get(c, 0, "k", 1, 9) >= 0);
    fake_lsmd_signal(SIGKILL); /* ...and the daemon dies */
    uint64_t t0 = shm_now_ns();
    lsmd_completion comp;
    assert_int_equal(lsmd_poll(c, &comp, 1, 1), -ENOTCONN);
    assert_int_equal(lsmd_ping(c), -ENOTCONN);
    assert_int_equal(lsmd_get(c, 0, "k", 1, &(void *){ 0 }, &(size_t){ 0 }), -ENOTCONN);
    assert_true(shm_now_ns() - t0 < 2000000000ull);
    lsmd_disconnect(c);
}

/* Values larger than the large region: the put goes in PUT_PIECE
 * requests, get and iterators read them with ITER_PIECE; a daemon whose
 * pieces contradict each other ends the connection (-ENOTCONN), never a
 * wrong value. */
static void test_pieces(void **state)
{
    (void)state;
    lsmd_conn *c = conn(4);
    size_t n = 2 * lsmd_max_request_bytes(c) + 4321;
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 13 + (i >> 9));
    put_get_same(c, "big", big, n);
    assert_int_equal(lsmd_put(c, "bih", 3, "after", 5, 0), 0);
    void *v;
    size_t vl;
    lsmd_iter *it;
    assert_int_equal(lsmd_iter_new(c, 0, "b", 1, "c", 1, &it), 0);
    assert_true(lsmd_iter_valid(it));
    size_t kl;
    assert_memory_equal(lsmd_iter_key(it, &kl), "big", 3);
    const void *iv = lsmd_iter_value(it, &vl);
    assert_int_equal(vl, n);
    assert_memory_equal(iv, big, n);
    lsmd_iter_next(it);
    assert_true(lsmd_iter_valid(it));
    assert_memory_equal(lsmd_iter_key(it, &kl), "bih", 3);
    lsmd_iter_next(it);
    assert_false(lsmd_iter_valid(it));
    assert_int_equal(lsmd_iter_status(it), 0);
    lsmd_iter_free(it);
    assert_int_equal(lsmd_set_option(c, "lie", "1"), 0);
    assert_int_equal(lsmd_get(c, 0, "big", 3, &v, &vl), -ENOTCONN);
    assert_int_equal(lsmd_get(c, 0, "bih", 3, &v, &vl), -ENOTCONN);
    free(big);
    lsmd_disconnect(c);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
#define T(f) cmocka_unit_test_setup_teardown(f, fake_lsmd_start, fake_lsmd_stop)
    const struct CMUnitTest tests[] = {
        T(test_connect_refused),
        T(test_put_get_delete),
        T(test_large_values),
        T(test_pieces),
        T(test_batch),
        T(test_async),
        T(test_iterator_pages),
        T(test_scan),
        T(test_snapshots_and_admin),
        T(test_changes),
        T(test_session_ended),
        T(test_daemon_killed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
