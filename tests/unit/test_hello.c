/*
 * test_hello.c — the attach handshake's checks and refusals (shm/hello.h):
 *   - shm_hello_parse, table-driven: each malformed hello is refused with a
 *     reason that says what came (a wrong size field names the field's
 *     value, not the message's length); nonzero flags and reserved bytes
 *     are refused; fds are refused;
 *   - shm_hello_server_recv answers every refused hello with the -EPROTO
 *     reply before returning, including oversized and fd-carrying ones,
 *     and closes the fds that came;
 *   - the client side (shm_hello_client, lsmd_connect) reports the
 *     daemon's refusal and its reason, also when the daemon refused and
 *     closed before or without reading the hello; lsmd_connect retries a
 *     -EAGAIN refusal within its timeout.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hello.h"
#include "lsmd.h"
#include "protocol.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct shm_hello_req good(void)
{
    struct shm_hello_req r;
    shm_hello_req_init(&r, 0, 0, 0);
    return r;
}

/* ---- shm_hello_parse --------------------------------------------------- */

enum mutation { M_NONE, M_SIZE_FIELD, M_MAGIC, M_VERSION, M_FLAGS, M_RESERVED };

static const struct parse_case {
    const char *name;
    enum mutation m;
    size_t len;        /* bytes of the message (a longer one is zero-padded) */
    int nfds;
    int rc;
    const char *why;   /* expected substring of the reason */
} k_cases[] = {
    { "valid", M_NONE, 64, 0, 0, "" },
    { "size field", M_SIZE_FIELD, 64, 0, -EPROTO, "size field says 65, expected 64" },
    { "short message", M_NONE, 63, 0, -EPROTO, "hello of 63 bytes, expected 64" },
    { "oversized message", M_NONE, 80, 0, -EPROTO, "hello of 80 bytes, expected 64" },
    { "too short", M_NONE, 8, 0, -EPROTO, "hello of 8 bytes is too short" },
    { "empty", M_NONE, 0, 0, -EPROTO, "hello of 0 bytes is too short" },
    { "magic", M_MAGIC, 64, 0, -EPROTO, "bad hello magic" },
    { "version", M_VERSION, 64, 0, -EPROTO, "protocol version mismatch: client 2, daemon 1" },
    { "newer, longer", M_VERSION, 96, 0, -EPROTO, "protocol version mismatch" },
    { "flags", M_FLAGS, 64, 0, -EPROTO, "hello flags 0x4 are not supported" },
    { "reserved", M_RESERVED, 64, 0, -EPROTO, "reserved byte 45 is 0x7" },
    { "one fd", M_NONE, 64, 1, -EPROTO, "carries 1 file descriptor;" },
    { "fds", M_NONE, 64, 3, -EPROTO, "carries 3 file descriptors" },
};

static void mutate(struct shm_hello_req *r, enum mutation m)
{
    switch (m) {
    case M_NONE: break;
    case M_SIZE_FIELD: r->size = 65; break;
    case M_MAGIC: r->magic ^= 1; break;
    case M_VERSION: r->version = 2; break;
    case M_FLAGS: r->flags = 4; break;
    case M_RESERVED: r->reserved[5] = 7; break;
    }
}

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        const struct parse_case *c = &k_cases[i];
        uint8_t msg[128] = { 0 };
        struct shm_hello_req r = good();
        mutate(&r, c->m);
        memcpy(msg, &r, sizeof r);
        struct shm_hello_req out;
        char why[SHM_HELLO_WHY_BYTES];
        int rc = shm_hello_parse(msg, c->len, c->nfds, &out, why, sizeof why);
        if (rc != c->rc || !strstr(why, c->why))
            fail_msg("%s: rc %d why '%s', expected %d '%s'", c->name, rc, why, c->rc, c->why);
        if (rc == 0)
            assert_memory_equal(&out, &r, sizeof r);
        /* The reason is cut to the caller's room, and why may be absent. */
        char tiny[8];
        assert_int_equal(shm_hello_parse(msg, c->len, c->nfds, &out, tiny, sizeof tiny), rc);
        assert_true(strlen(tiny) < sizeof tiny);
        assert_int_equal(shm_hello_parse(msg, c->len, c->nfds, &out, NULL, 0), rc);
    }
}

/* ---- shm_hello_server_recv: the refusal reply ---------------------------- */

/* Sends msg (with fd when fd >= 0) from sv[0]; the server end refuses it
 * with a reply whose message contains want. */
static void expect_refused(const void *msg, size_t len, int fd, const char *want)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SHM_SOCK_TYPE | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(shm_send_with_fds(sv[0], msg, len, &fd, fd >= 0 ? 1 : 0), 0);
    int before = th_open_fds();
    struct shm_hello_req req;
    char why[SHM_HELLO_WHY_BYTES];
    assert_int_equal(shm_hello_server_recv(sv[1], &req, 100, why, sizeof why), -EPROTO);
    if (!strstr(why, want))
        fail_msg("reason '%s' does not say '%s'", why, want);
    assert_int_equal(th_open_fds(), before); /* the passed fd was closed */
    struct shm_hello_rep rep;
    memset(&rep, 0, sizeof rep);
    assert_int_equal(recv(sv[0], &rep, sizeof rep, MSG_DONTWAIT), (ssize_t)sizeof rep);
    assert_true(rep.magic == SHM_HELLO_REP_MAGIC);
    assert_int_equal(rep.status, -EPROTO);
    if (strcmp(rep.message, why) != 0)
        fail_msg("reply says '%s', log says '%s'", rep.message, why);
    close(sv[0]);
    close(sv[1]);
}

static void test_server_replies_to_refused_hellos(void **state)
{
    (void)state;
    struct shm_hello_req r = good();
    uint8_t big[200] = { 0 };
    memcpy(big, &r, sizeof r);
    expect_refused(big, sizeof big, -1, "hello of 200 bytes, expected 64");
    int p[2];
    assert_int_equal(pipe(p), 0);
    expect_refused(&r, sizeof r, p[0], "carries 1 file descriptor");
    close(p[0]);
    close(p[1]);
    r.size = 128;
    expect_refused(&r, sizeof r, -1, "size field says 128, expected 64");
    r = good();
    r.flags = 1;
    expect_refused(&r, sizeof r, -1, "hello flags 0x1");
    r = good();
    r.reserved[0] = 1;
    expect_refused(&r, sizeof r, -1, "reserved byte 40");
    uint64_t junk = 0x5a5a5a5a5a5a5a5aull;
    expect_refused(&junk, sizeof junk, -1, "too short");
}

/* ---- the client hears the refusal ----------------------------------------- */

struct refuser {
    int sock;
    bool wait_hello; /* refuse only once the hello is queued, unread */
};

/* Refuses like admission does at accept: reply, close, hello never read. */
static void *refuse_thread(void *arg)
{
    struct refuser *r = arg;
    if (r->wait_hello) {
        struct pollfd p = { .fd = r->sock, .events = POLLIN };
        assert_int_equal(poll(&p, 1, 5000), 1);
    }
    shm_hello_server_reject(r->sock, -EACCES, "uid %u gid %u not allowed by this lsmd", 7u, 8u);
    close(r->sock);
    return NULL;
}

static void client_hears(bool wait_hello)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SHM_SOCK_TYPE | SOCK_CLOEXEC, 0, sv), 0);
    struct refuser rf = { .sock = sv[1], .wait_hello = wait_hello };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, refuse_thread, &rf), 0);
    if (!wait_hello)
        pthread_join(t, NULL); /* refused and closed before our hello */
    struct shm_hello_req req = good();
    struct shm_hello_rep rep;
    int seg, dir;
    assert_int_equal(shm_hello_client(sv[0], &req, &rep, &seg, &dir, 2000), 0);
    assert_int_equal(rep.status, -EACCES);
    assert_string_equal(rep.message, "uid 7 gid 8 not allowed by this lsmd");
    assert_int_equal(seg, -1);
    if (wait_hello)
        pthread_join(t, NULL);
    close(sv[0]);
}

static void test_client_hears_refusal_before_hello(void **state)
{
    (void)state;
    client_hears(false);
}

static void test_client_hears_refusal_with_hello_unread(void **state)
{
    (void)state;
    client_hears(true);
}

struct flag_server {
    int sock;
};

static void *parse_thread(void *arg)
{
    struct flag_server *f = arg;
    struct shm_hello_req req;
    char why[SHM_HELLO_WHY_BYTES];
    shm_hello_server_recv(f->sock, &req, 5000, why, sizeof why);
    return NULL;
}

/* A client whose hello sets a flag hears why it was refused. */
static void test_client_hears_flags_reason(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SHM_SOCK_TYPE | SOCK_CLOEXEC, 0, sv), 0);
    struct flag_server f = { .sock = sv[1] };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, parse_thread, &f), 0);
    struct shm_hello_req req = good();
    req.flags = 2;
    struct shm_hello_rep rep;
    int seg, dir;
    assert_int_equal(shm_hello_client(sv[0], &req, &rep, &seg, &dir, 2000), 0);
    pthread_join(t, NULL);
    assert_int_equal(rep.status, -EPROTO);
    assert_non_null(strstr(rep.message, "hello flags 0x2 are not supported"));
    close(sv[0]);
    close(sv[1]);
}

/* lsmd_connect returns the refusal's status and prints its reason. */
struct listen_refuser {
    int lfd;
};

static void *accept_refuse_thread(void *arg)
{
    struct listen_refuser *l = arg;
    struct refuser r = { .sock = accept4(l->lfd, NULL, NULL, SOCK_CLOEXEC) };
    assert_true(r.sock >= 0);
    return refuse_thread(&r);
}

static void test_lsmd_connect_reports_reason(void **state)
{
    (void)state;
    char *dir = th_tempdir("hello");
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s/s.sock", dir);
    struct listen_refuser l = { .lfd = socket(AF_UNIX, SHM_SOCK_TYPE | SOCK_CLOEXEC, 0) };
    assert_true(l.lfd >= 0);
    assert_int_equal(bind(l.lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l.lfd, 4), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, accept_refuse_thread, &l), 0);
    /* Capture stderr, where the client library says why. */
    char errpath[600];
    snprintf(errpath, sizeof errpath, "%s/stderr", dir);
    int efd = open(errpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(efd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(efd, 2);
    lsmd_conn *c = NULL;
    int rc = lsmd_connect(a.sun_path, &c);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    pthread_join(t, NULL);
    assert_int_equal(rc, -EACCES);
    assert_null(c);
    char buf[512] = { 0 };
    assert_true(pread(efd, buf, sizeof buf - 1, 0) > 0);
    close(efd);
    if (!strstr(buf, "uid 7 gid 8 not allowed by this lsmd"))
        fail_msg("the client library did not report the reason: '%s'", buf);
    close(l.lfd);
    th_rmrf_free(dir);
}

/* Refuses `again` connections with -EAGAIN, then one with -EACCES. */
struct again_server {
    int lfd, again, accepted;
};

static void *again_thread(void *arg)
{
    struct again_server *g = arg;
    for (;;) {
        int fd = accept4(g->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            return NULL; /* the test shut the socket down */
        bool last = g->accepted++ == g->again;
        shm_hello_server_reject(fd, last ? -EACCES : -EAGAIN, last ? "final" : "retry");
        close(fd);
        if (last)
            return NULL;
    }
}

/* lsmd_connect retries a -EAGAIN refusal ("too many connections waiting
 * for their hello") within its timeout, then reports what it got. */
static void test_lsmd_connect_retries_eagain(void **state)
{
    (void)state;
    char *dir = th_tempdir("again");
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s/s.sock", dir);
    struct again_server g = { .lfd = socket(AF_UNIX, SHM_SOCK_TYPE | SOCK_CLOEXEC, 0),
                              .again = 3 };
    assert_true(g.lfd >= 0);
    assert_int_equal(bind(g.lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(g.lfd, 4), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, again_thread, &g), 0);
    lsmd_conn *c = NULL;
    int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    int rc = lsmd_connect(a.sun_path, &c);
    pthread_join(t, NULL);
    assert_int_equal(rc, -EACCES); /* it came back after three -EAGAINs */
    assert_int_equal(g.accepted, 4);
    /* Always -EAGAIN: given up after the handshake timeout. */
    g.again = 1000000;
    g.accepted = 0;
    assert_int_equal(pthread_create(&t, NULL, again_thread, &g), 0);
    lsmd_conn_options o;
    lsmd_conn_options_init(&o);
    o.connect_timeout_ms = 100;
    double t0 = now_s();
    rc = lsmd_connect_opts(a.sun_path, &o, &c);
    double took = now_s() - t0;
    dup2(saved, 2);
    close(saved);
    close(devnull);
    shutdown(g.lfd, SHUT_RDWR);
    pthread_join(t, NULL);
    assert_int_equal(rc, -EAGAIN);
    assert_true(g.accepted > 1);
    if (took > 1.0)
        fail_msg("gave up after %.2f s (timeout 0.1 s)", took);
    close(g.lfd);
    th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_server_replies_to_refused_hellos),
        cmocka_unit_test(test_client_hears_refusal_before_hello),
        cmocka_unit_test(test_client_hears_refusal_with_hello_unread),
        cmocka_unit_test(test_client_hears_flags_reason),
        cmocka_unit_test(test_lsmd_connect_reports_reason),
        cmocka_unit_test(test_lsmd_connect_retries_eagain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
