/*
 * test_big_values.c — issue 14 item 10: any value the engine accepts (up
 * to LSM_MAX_VALUE_SIZE, 64 MiB) comes back through a connection with the
 * default 2 MiB large region, which never grows: the value crosses it in
 * pieces (ITER_PIECE, docs/shm-protocol.md "Big entries").  A real lsmd.
 *
 *   test_big_get_scan     3, 20 and 64 MiB values among small ones: get,
 *       get_into and multi-get; lsmd_scan forward and reverse, with a
 *       limit and one page only; an lsmd_iter forward and reverse: every
 *       entry, in order, with its exact bytes; from the memtable, then
 *       (gets and whole scans) from tables after a flush.  The segment's size is the same
 *       before and after (the bound: a connection's memory is its segment
 *       plus one heap copy of the entry being read).
 *   The puts of those values go in pieces too (PUT_PIECE), through the
 *   same 2 MiB region.
 *   test_above_limit      a value of LSM_MAX_VALUE_SIZE + 1 is refused
 *       (-EINVAL) by the library and by the daemon, nothing is stored, and
 *       the connection goes on.
 *   test_put_pieces_bounded  the daemon stages one value per session: a
 *       new value, a piece out of sequence (gap, other key, other length)
 *       and the client's exit each free what was staged (its VmRSS comes
 *       back), and nothing of it is stored.
 *   test_iter_piece_refusals  ITER_PIECE: an unknown iterator is -EBADF, an
 *       offset past the entry -EINVAL; the last piece with PAST closes a
 *       one-key scan (SHM_CQ_ITER_END), after which the id is -EBADF.
 *   test_max_key_big_value  a 64 KiB key (no successor to bound the scan
 *       with) with a 3 MiB value reads back.
 *   test_others_served    an honest client on the same single worker keeps
 *       its usual latency while 64 MiB values stream to another client.
 * Under a sanitizer (LSM_TEST_SHORT=1) the three values are 3, 5 and 9
 * MiB: the same paths, in seconds instead of minutes.
 *   test_lsmctl_big       `lsmctl get` writes a 20 MiB value byte for byte
 *       (compared with what was put); `lsmctl scan --json` carries a 3 MiB
 *       one whole.
 *   test_json_scan_cut    the daemon dies while `lsmctl scan --json` is
 *       midway: exit status not 0, a message on stderr, and the output
 *       does not end with the closing "]".
 *   test_large_bytes_env  LSMD_LARGE_BYTES=100M gives a 100 MiB region;
 *       "100X", "-1" and "9G" are refused at connect with a message naming
 *       the variable.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "harness.h"
#include "honest.h"

#define MIB (1024u * 1024u)

static th_daemon g_d;
/* One worker: the honest client shares it with the big reads. */
static const char *const g_extra[] = { "--workers", "1", "--memtable-bytes", "256M", NULL };
static th_fixture g_fx = { &g_d, LSMD_BIN, "bigvalues", g_extra, .start = true };

struct big {
    const char *key;
    size_t len;
};
/* Between small keys, so scans cross small and big entries. */
/* Under a sanitizer (LSM_TEST_SHORT=1, scripts/run-tests.sh) the same
 * paths with smaller values, each still several times the 2 MiB region:
 * those runs hunt races and memory errors, and a 64 MiB value costs
 * minutes there (main sets the sizes). */
static struct big g_big[] = {
    { "b03", 3 * MIB }, { "b20", 20 * MIB }, { "b64", LSM_MAX_VALUE_SIZE },
};
static const size_t g_short_len[] = { 3 * MIB, 5 * MIB, 9 * MIB };
#define NBIG (sizeof g_big / sizeof g_big[0])
static const char *const g_small[] = { "a", "b03x", "b20x", "c" };
#define NSMALL (sizeof g_small / sizeof g_small[0])

/* key's value: every 8-byte word differs per key and per position (made a
 * word at a time: 64 MiB byte by byte is slow under the sanitizers). */
static char *make_value(const char *key, size_t len)
{
    char *v = malloc(len ? len : 1);
    assert_non_null(v);
    uint64_t seed = (uint64_t)strlen(key) * 31u + (unsigned char)key[1];
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w = (i * UINT64_C(0x9e3779b97f4a7c15)) ^ seed;
        memcpy(v + i, &w, 8);
    }
    for (; i < len; i++)
        v[i] = (char)(i ^ seed);
    return v;
}

/* The big values (those in mask: bit i for g_big[i]) and the small ones,
 * through a connection with the default region: the big puts go in
 * pieces. */
#define ALL_BIG ((1u << NBIG) - 1)
static void load(const th_daemon *d, unsigned mask)
{
    lsmd_conn *w = thd_connect(d);
    assert_int_equal(lsmd_max_request_bytes(w), SHM_DEFAULT_LARGE_BYTES);
    for (size_t i = 0; i < NBIG; i++) {
        if (!(mask & (1u << i)))
            continue;
        char *v = make_value(g_big[i].key, g_big[i].len);
        assert_int_equal(lsmd_put(w, g_big[i].key, strlen(g_big[i].key), v, g_big[i].len, 0), 0);
        free(v);
    }
    for (size_t i = 0; i < NSMALL; i++)
        assert_int_equal(lsmd_put(w, g_small[i], strlen(g_small[i]), g_small[i],
                                  strlen(g_small[i]), 0), 0);
    lsmd_disconnect(w);
}

/* key's value as expected, else the test fails naming the key. */
static void check_value(const char *key, const void *got, size_t glen, int rc)
{
    assert_int_equal(rc, 0);
    for (size_t i = 0; i < NBIG; i++) {
        if (strcmp(key, g_big[i].key) != 0)
            continue;
        static char *want[NBIG]; /* made once: 64 MiB takes a while */
        assert_int_equal(glen, g_big[i].len);
        if (!want[i])
            want[i] = make_value(key, g_big[i].len);
        if (memcmp(got, want[i], glen) != 0)
            fail_msg("%s: value differs", key);
        return;
    }
    assert_int_equal(glen, strlen(key));
    assert_memory_equal(got, key, glen);
}

static off_t segment_size(lsmd_conn *c)
{
    struct stat st;
    assert_int_equal(fstat(c->seg.fd, &st), 0);
    return st.st_size;
}

/* full: also get_into and multi-get (each read of a 64 MiB value from a
 * table costs a read and a checksum of its 64 MiB block). */
static void check_gets(lsmd_conn *c, bool full)
{
    for (size_t i = 0; i < NBIG; i++) {
        const char *k = g_big[i].key;
        void *v = NULL;
        size_t n = 0;
        int rc = lsmd_get(c, 0, k, strlen(k), &v, &n);
        check_value(k, v, n, rc);
        free(v);
        if (!full)
            continue;
        /* get_into: a buffer one byte short says how long; exact fits. */
        char *buf = malloc(g_big[i].len);
        assert_non_null(buf);
        assert_int_equal(lsmd_get_into(c, 0, k, strlen(k), buf, g_big[i].len - 1, &n),
                         LSM_ETOOSMALL);
        assert_int_equal(n, g_big[i].len);
        check_value(k, buf, n, lsmd_get_into(c, 0, k, strlen(k), buf, g_big[i].len, &n));
        free(buf);
    }
    if (!full)
        return;
    /* Multi-get: big, small and absent keys in one call. */
    const void *keys[NBIG + 2];
    size_t klens[NBIG + 2], vlens[NBIG + 2];
    void *vals[NBIG + 2];
    int st[NBIG + 2];
    for (size_t i = 0; i < NBIG; i++) {
        keys[i] = g_big[i].key;
        klens[i] = strlen(g_big[i].key);
    }
    keys[NBIG] = "c";
    klens[NBIG] = 1;
    keys[NBIG + 1] = "zz-absent";
    klens[NBIG + 1] = 9;
    assert_int_equal(lsmd_multi_get(c, 0, NBIG + 2, keys, klens, vals, vlens, st), 0);
    for (size_t i = 0; i < NBIG + 1; i++) {
        check_value(keys[i], vals[i], vlens[i], st[i]);
        free(vals[i]);
    }
    assert_int_equal(st[NBIG + 1], LSM_ENOTFOUND);
}


/* Every key in order, as a scan must see them. */
static const char *const g_order[] = { "a", "b03", "b03x", "b20", "b20x", "b64", "c" };
#define NORDER (sizeof g_order / sizeof g_order[0])

struct seen {
    size_t n;
    bool reverse;
};

static int on_entry(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct seen *s = arg;
    assert_true(s->n < NORDER);
    const char *want = g_order[s->reverse ? NORDER - 1 - s->n : s->n];
    assert_int_equal(klen, strlen(want));
    assert_memory_equal(key, want, klen);
    check_value(want, val, vlen, 0);
    s->n++;
    return 0;
}

static void check_scans(lsmd_conn *c, bool full)
{
    for (int rev = 0; rev < 2; rev++) {
        struct seen s = { .reverse = rev };
        uint64_t visited = 0;
        assert_int_equal(lsmd_scan(c, 0, NULL, 0, NULL, 0, NULL, 0, 0, 0,
                                   rev ? LSMD_ITER_REVERSE : 0, on_entry, &s, &visited), 0);
        assert_int_equal(s.n, NORDER);
        assert_int_equal(visited, NORDER);
    }
    if (!full)
        return;
    /* A limit that ends on a big entry, then one page from a big one. */
    struct seen s = { 0 };
    assert_int_equal(lsmd_scan(c, 0, NULL, 0, NULL, 0, NULL, 0, 4, 0, 0, on_entry, &s, NULL), 0);
    assert_int_equal(s.n, 4);
    s = (struct seen){ .n = 5 };
    assert_int_equal(lsmd_scan(c, 0, NULL, 0, NULL, 0, "b64", 3, 0, 0, LSMD_SCAN_ONE_PAGE,
                               on_entry, &s, NULL), 0);
    assert_int_equal(s.n, 6);
    /* An iterator, forward and reverse. */
    for (int rev = 0; rev < 2; rev++) {
        lsmd_iter *it;
        assert_int_equal(lsmd_iter_new_ex(c, 0, NULL, 0, NULL, 0, rev ? LSMD_ITER_REVERSE : 0,
                                          &it), 0);
        size_t n = 0;
        for (; lsmd_iter_valid(it); lsmd_iter_next(it), n++) {
            size_t kl, vl;
            const char *k = lsmd_iter_key(it, &kl);
            const void *v = lsmd_iter_value(it, &vl);
            const char *want = g_order[rev ? NORDER - 1 - n : n];
            assert_int_equal(kl, strlen(want));
            assert_memory_equal(k, want, kl);
            check_value(want, v, vl, 0);
        }
        assert_int_equal(lsmd_iter_status(it), 0);
        assert_int_equal(n, NORDER);
        lsmd_iter_free(it);
    }
}

/* Gets and scans from the memtable, then from tables after a flush. */
static void test_big_get_scan(void **state)
{
    th_fixture *fx = *state;
    load(fx->d, ALL_BIG);
    lsmd_conn *c = thd_connect(fx->d);
    off_t seg = segment_size(c);
    assert_int_equal(lsmd_max_request_bytes(c), SHM_DEFAULT_LARGE_BYTES);
    for (int pass = 0; pass < 2; pass++) {
        check_gets(c, pass == 0);
        check_scans(c, pass == 0);
        if (pass == 0)
            assert_int_equal(lsmd_flush(c), 0);
    }
    assert_int_equal(segment_size(c), seg);
    assert_int_equal(lsmd_max_request_bytes(c), SHM_DEFAULT_LARGE_BYTES);
    lsmd_disconnect(c);
}

static void test_above_limit(void **state)
{
    th_fixture *fx = *state;
    lsmd_conn *w = thd_connect(fx->d);
    size_t n = (size_t)LSM_MAX_VALUE_SIZE + 1;
    char *v = calloc(1, n);
    assert_non_null(v);
    assert_int_equal(lsmd_put(w, "over", 4, v, n, 0), -EINVAL);
    free(v);
    void *got = NULL;
    size_t gl;
    assert_int_equal(lsmd_get(w, 0, "over", 4, &got, &gl), LSM_ENOTFOUND);
    /* The daemon refuses it too (a client that skips the library's check). */
    struct shm_sqe q = { .opcode = SHM_OP_PUT_PIECE, .arg0 = n, .key_off = w->large_off,
                         .key_len = 4, .val_off = w->large_off + 8, .val_len = 1 };
    memcpy(conn_large(w), "over", 4);
    struct shm_cqe cqe;
    assert_int_equal(conn_call(w, &q, &cqe), 0);
    assert_int_equal(cqe.status, -EINVAL);
    /* The connection goes on. */
    assert_int_equal(lsmd_put(w, "under", 5, "v", 1, 0), 0);
    assert_int_equal(lsmd_get(w, 0, "under", 5, &got, &gl), 0);
    assert_int_equal(gl, 1);
    free(got);
    lsmd_disconnect(w);
}

/* Sends the pieces of a value of total bytes under key, from offset from
 * up to to (exclusive), in pieces of the large region less a page: each
 * must be answered status 0 (none is the last). */
static void stage(lsmd_conn *c, const char *key, uint64_t total, uint64_t from, uint64_t to)
{
    uint32_t room = c->large_bytes - SHM_PAGE;
    size_t kl = strlen(key);
    for (uint64_t off = from; off < to;) {
        uint32_t n = to - off < room ? (uint32_t)(to - off) : room;
        memcpy(conn_large(c), key, kl);
        memset(conn_large(c) + SHM_PAGE, 'x', n);
        struct shm_sqe q = { .opcode = SHM_OP_PUT_PIECE, .arg0 = total, .arg1 = off,
                             .key_off = c->large_off, .key_len = (uint32_t)kl,
                             .val_off = c->large_off + SHM_PAGE, .val_len = n };
        struct shm_cqe cqe;
        assert_int_equal(conn_call(c, &q, &cqe), 0);
        assert_int_equal(cqe.status, 0);
        off += n;
        assert_int_equal(cqe.r0, off);
    }
}

/* One raw piece; its status. */
static int piece(lsmd_conn *c, const char *key, uint64_t total, uint64_t off, uint32_t n)
{
    size_t kl = strlen(key);
    memcpy(conn_large(c), key, kl);
    struct shm_sqe q = { .opcode = SHM_OP_PUT_PIECE, .arg0 = total, .arg1 = off,
                         .key_off = c->large_off, .key_len = (uint32_t)kl,
                         .val_off = c->large_off + SHM_PAGE, .val_len = n };
    struct shm_cqe cqe;
    assert_int_equal(conn_call(c, &q, &cqe), 0);
    return cqe.status;
}

/* The daemon holds at most one staged value per session, drops it on a
 * piece out of sequence, on a new value and at disconnect, and stores
 * nothing of it. */
static void test_put_pieces_bounded(void **state)
{
    th_fixture *fx = *state;
    lsmd_conn *c = thd_connect(fx->d);
    double rss0 = th_vmrss_mb(fx->d->pid);
    stage(c, "p1", LSM_MAX_VALUE_SIZE, 0, 48 * MIB);
    double rss1 = th_vmrss_mb(fx->d->pid);
    assert_true(rss1 > rss0 + 40); /* it is staged, in the daemon */
    stage(c, "p2", LSM_MAX_VALUE_SIZE, 0, 48 * MIB); /* a new value drops p1 */
    double rss2 = th_vmrss_mb(fx->d->pid);
    assert_true(rss2 < rss1 + 16);
    /* Out of sequence: a gap, another key, another length: each -EINVAL,
     * and what was staged is gone (continuing it is refused too). */
    assert_int_equal(piece(c, "p2", LSM_MAX_VALUE_SIZE, 48 * MIB + 4096, 4096), -EINVAL);
    assert_int_equal(piece(c, "p2", LSM_MAX_VALUE_SIZE, 48 * MIB, 4096), -EINVAL);
    stage(c, "p3", 16 * MIB, 0, 8 * MIB);
    assert_int_equal(piece(c, "p4", 16 * MIB, 8 * MIB, 4096), -EINVAL);
    assert_int_equal(piece(c, "p3", 16 * MIB, 8 * MIB, 4096), -EINVAL);
    stage(c, "p5", 16 * MIB, 0, 8 * MIB);
    assert_int_equal(piece(c, "p5", 16 * MIB + 1, 8 * MIB, 4096), -EINVAL);
    /* Refused by validation: a piece past the length. */
    assert_int_equal(piece(c, "p6", 4096, 0, 8192), -EINVAL);
    double rss3 = th_vmrss_mb(fx->d->pid);
    assert_true(rss3 < rss0 + 16);
    /* Staged, then the client leaves: freed with its session. */
    stage(c, "p7", LSM_MAX_VALUE_SIZE, 0, 48 * MIB);
    lsmd_disconnect(c);
    double rss4 = 0;
    for (int i = 0; i < 100; i++) {
        rss4 = th_vmrss_mb(fx->d->pid);
        if (rss4 < rss0 + 16)
            break;
        usleep(20000);
    }
    printf("# daemon VmRSS: %.0f MiB at start, %.0f with 48 MiB staged, %.0f after a "
           "second value, %.0f after refusals, %.0f after the client left\n",
           rss0, rss1, rss2, rss3, rss4);
    assert_true(rss4 < rss0 + 16);
    c = thd_connect(fx->d);
    static const char *const keys[] = { "p1", "p2", "p3", "p4", "p5", "p6", "p7" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        void *v;
        size_t vl;
        assert_int_equal(lsmd_get(c, 0, keys[i], 2, &v, &vl), LSM_ENOTFOUND);
    }
    lsmd_disconnect(c);
}

/* One raw ITER_PIECE of iterator id from offset off; its completion. */
static struct shm_cqe iter_piece(lsmd_conn *c, uint64_t id, uint64_t off, uint8_t flags)
{
    struct shm_sqe q = { .opcode = SHM_OP_ITER_PIECE, .flags = flags, .arg0 = id, .arg1 = off,
                         .out_off = c->large_off, .out_cap = c->large_bytes };
    struct shm_cqe cqe;
    assert_int_equal(conn_call(c, &q, &cqe), 0);
    return cqe;
}

/* ITER_PIECE refuses an unknown iterator and an offset past its entry;
 * the last piece with PAST closes a one-key scan's iterator. */
static void test_iter_piece_refusals(void **state)
{
    th_fixture *fx = *state;
    load(fx->d, 1u);
    lsmd_conn *c = thd_connect(fx->d);
    assert_int_equal(iter_piece(c, 4242, 0, 0).status, -EBADF);
    /* A scan of [b03, b03\0) whose page cannot hold the entry. */
    memcpy(conn_large(c), "b03b03\0", 7);
    struct shm_sqe q = { .opcode = SHM_OP_ITER_SCAN, .arg1 = SHM_SCAN_ARG1(1, 0),
                         .key_off = c->large_off, .key_len = 3,
                         .val_off = c->large_off + 3, .val_len = 4,
                         .out_off = c->large_off + 8, .out_cap = 4096 };
    struct shm_cqe cqe;
    assert_int_equal(conn_call(c, &q, &cqe), 0);
    assert_int_equal(cqe.status, LSM_ETOOSMALL);
    uint64_t id = cqe.r0, total = 3 + g_big[0].len;
    assert_true(id != 0);
    cqe = iter_piece(c, id, 0, 0);
    assert_int_equal(cqe.status, 0);
    assert_int_equal(cqe.r0, 3);
    assert_int_equal(cqe.r1, g_big[0].len);
    assert_int_equal(cqe.aux, c->large_bytes);
    assert_memory_equal(conn_large(c), "b03", 3);
    assert_int_equal(iter_piece(c, id, total + 1, 0).status, -EINVAL);
    cqe = iter_piece(c, id, total, SHM_SQ_PAST); /* nothing left: just past */
    assert_int_equal(cqe.status, 0);
    assert_int_equal(cqe.aux, 0);
    assert_true(cqe.flags & SHM_CQ_ITER_END);
    assert_int_equal(iter_piece(c, id, 0, 0).status, -EBADF); /* closed */
    lsmd_disconnect(c);
}

/* A key of the maximum length has no successor to bound a scan with:
 * its big value is read by an unbounded scan whose key is checked. */
static void test_max_key_big_value(void **state)
{
    th_fixture *fx = *state;
    lsmd_conn *c = thd_connect(fx->d);
    char *k = malloc(LSM_MAX_KEY_SIZE);
    assert_non_null(k);
    memset(k, 'k', LSM_MAX_KEY_SIZE);
    char *v = make_value("b03", 3 * MIB);
    assert_int_equal(lsmd_put(c, k, LSM_MAX_KEY_SIZE, v, 3 * MIB, 0), 0);
    void *got = NULL;
    size_t gl = 0;
    assert_int_equal(lsmd_get(c, 0, k, LSM_MAX_KEY_SIZE, &got, &gl), 0);
    assert_int_equal(gl, 3 * MIB);
    assert_memory_equal(got, v, gl);
    free(got);
    free(v);
    free(k);
    lsmd_disconnect(c);
}

static void test_others_served(void **state)
{
    th_fixture *fx = *state;
    load(fx->d, 1u << 2);
    th_honest h;
    th_honest_start(&h, fx->d, "honest");
    lsmd_conn *c = thd_connect(fx->d);
    double t0 = th_now();
    int rounds = 0;
    while (rounds < 3 || th_now() - t0 < 1.0) {
        void *v = NULL;
        size_t n = 0;
        assert_int_equal(lsmd_get(c, 0, "b64", 3, &v, &n), 0);
        assert_int_equal(n, g_big[2].len);
        free(v);
        rounds++;
    }
    double worst = th_honest_expect(&h, "64 MiB gets");
    printf("# %d gets of 64 MiB in %.2f s; honest client's slowest op %.2f ms\n", rounds,
           th_now() - t0, worst);
    th_honest_stop(&h);
    lsmd_disconnect(c);
}

/* thd_lsmctl's prep: the child's stdout to the file arg. */
static int stdout_to(void *arg)
{
    int fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    return fd < 0 || dup2(fd, 1) < 0 ? -1 : 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    b[n] = '\0';
    *len = (size_t)n;
    return b;
}

static void test_lsmctl_big(void **state)
{
    th_fixture *fx = *state;
    load(fx->d, 3u);
    char out[4096], err[4096];
    snprintf(out, sizeof out, "%s/out", fx->d->root);
    const char *get[] = { "get", "b20", NULL };
    assert_int_equal(thd_lsmctl(fx->d, stdout_to, out, get, err, sizeof err), 0);
    size_t n;
    char *got = slurp(out, &n);
    /* To a file, lsmctl get writes the value's bytes unchanged. */
    size_t want = g_big[1].len;
    assert_int_equal(n, want);
    check_value("b20", got, want, 0);
    free(got);
    const char *scan[] = { "--json", "scan", "b03", "b03x", NULL };
    assert_int_equal(thd_lsmctl(fx->d, stdout_to, out, scan, err, sizeof err), 0);
    got = slurp(out, &n);
    /* The value's bytes are not UTF-8: JSON carries them as hex
     * (docs/lsmctl.md), twice the value's length. */
    assert_true(n > 6 * MIB);
    static const char head[] = "[{\"key\":\"b03\",\"value\":{\"hex\":\"";
    assert_memory_equal(got, head, sizeof head - 1);
    assert_string_equal(got + n - 5, "\"}}]\n");
    free(got);
}

/* Many 1 MiB values: far more output than a pipe holds. */
static void load_many(const th_daemon *d)
{
    lsmd_conn *w = thd_connect(d);
    char *v = make_value("many", MIB);
    for (int i = 0; i < 24; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "m%03d", i);
        assert_int_equal(lsmd_put(w, k, (size_t)kl, v, MIB, 0), 0);
    }
    free(v);
    lsmd_disconnect(w);
}

static void test_json_scan_cut(void **state)
{
    th_fixture *fx = *state;
    load_many(fx->d);
    int po[2], pe[2];
    assert_int_equal(pipe(po), 0);
    assert_int_equal(pipe(pe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        execl(LSMCTL_BIN, "lsmctl", "--socket", fx->d->sock, "--json", "scan", (char *)NULL);
        _exit(98);
    }
    close(po[1]);
    close(pe[1]);
    /* Read a little: the scan is under way, then lsmctl blocks on the
     * full pipe with most of the range still in the daemon. */
    char buf[65536];
    ssize_t r = read(po[0], buf, 4096);
    assert_true(r > 0);
    thd_kill(fx->d);
    size_t total = (size_t)r;
    char last = buf[r - 1];
    while ((r = read(po[0], buf, sizeof buf)) > 0) {
        total += (size_t)r;
        last = buf[r - 1];
    }
    size_t el = 0;
    while ((r = read(pe[0], buf + el, sizeof buf - 1 - el)) > 0)
        el += (size_t)r;
    buf[el] = '\0';
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    printf("# %zu bytes of JSON before the cut; stderr: %s", total, buf);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    assert_true(total < 24u * MIB);
    assert_true(last != ']' && last != '\n');
    assert_non_null(strstr(buf, "scan"));
}

static void test_large_bytes_env(void **state)
{
    th_fixture *fx = *state;
    lsmd_conn_options o;
    setenv("LSMD_LARGE_BYTES", "100M", 1);
    lsmd_conn_options_init(&o);
    assert_int_equal(o.large_bytes, 100 * MIB);
    lsmd_conn *c = NULL;
    assert_int_equal(lsmd_connect_opts(fx->d->sock, &o, &c), 0);
    assert_int_equal(lsmd_max_request_bytes(c), 100 * MIB);
    lsmd_disconnect(c);
    setenv("LSMD_LARGE_BYTES", "65536k", 1);
    lsmd_conn_options_init(&o);
    assert_int_equal(o.large_bytes, 64 * MIB);
    static const char *const bad[] = { "100X", "-1", "9G", "1.5M", " 2M", "M" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("LSMD_LARGE_BYTES", bad[i], 1);
        c = NULL;
        /* lsmd_connect reads the environment itself. */
        assert_int_equal(lsmd_connect(fx->d->sock, &c), -EINVAL);
        assert_null(c);
    }
    unsetenv("LSMD_LARGE_BYTES");
    /* The message names the variable: through lsmctl, whose stderr we see. */
    char err[4096];
    setenv("LSMD_LARGE_BYTES", "100X", 1);
    const char *ping[] = { "stats", NULL };
    int rc = thd_lsmctl(fx->d, NULL, NULL, ping, err, sizeof err);
    unsetenv("LSMD_LARGE_BYTES");
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err, "LSMD_LARGE_BYTES=100X is not a size"));
}

int main(int argc, char **argv)
{
    static const th_role roles[] = { TH_HONEST_ROLE, { NULL, NULL } };
    const struct CMUnitTest tests[] = {
        TH_TEST(test_big_get_scan, &g_fx),
        TH_TEST(test_above_limit, &g_fx),     TH_TEST(test_put_pieces_bounded, &g_fx),
        TH_TEST(test_iter_piece_refusals, &g_fx), TH_TEST(test_max_key_big_value, &g_fx),
        TH_TEST(test_others_served, &g_fx),
        TH_TEST(test_lsmctl_big, &g_fx),      TH_TEST(test_json_scan_cut, &g_fx),
        TH_TEST(test_large_bytes_env, &g_fx),
    };
    /* The daemons' freed staging buffers leave at once under ASan too, so
     * their VmRSS shows what they hold. */
    th_small_asan_quarantine();
    if (th_env_long("LSM_TEST_SHORT", 0))
        for (size_t i = 0; i < NBIG; i++)
            g_big[i].len = g_short_len[i];
    return TH_MAIN(argc, argv, roles, NULL, tests);
}
