/* test_segment.c — sealed memfd segments between two real processes:
 * seals present and enforced, ping-pong round trips through the real rings
 * with spinning and with futex sleeps, the handshake over a SOCK_SEQPACKET
 * pair (fds passed with SCM_RIGHTS, version mismatch, hang-up), and the
 * read-only directory's seqlock under a writer in another process. */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "directory.h"
#include "hello.h"
#include "protocol.h"
#include "ring.h"
#include "segment.h"
#include "server.h"
#include "validate.h"
#include "wait.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

static void wait_child(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- seals ---------------------------------------------------------------- */

static void test_seals(void **state)
{
    (void)state;
    struct shm_segment s;
    assert_int_equal(shm_segment_create("test", 10000, 0, -1, &s), 0);
    assert_int_equal(s.size, 12288); /* page rounded */
    int seals = shm_segment_seals(s.fd);
    assert_true(seals >= 0);
    assert_int_equal(seals & SHM_SEALS_REQUIRED, SHM_SEALS_REQUIRED);
    /* the size is final, in both directions, and no seal can be removed
     * or added */
    assert_int_equal(ftruncate(s.fd, 4096), -1);
    assert_int_equal(errno, EPERM);
    assert_int_equal(ftruncate(s.fd, 1 << 20), -1);
    assert_int_equal(errno, EPERM);
    assert_int_equal(fcntl(s.fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
    assert_int_equal(errno, EPERM);
    /* a peer maps it: size checked */
    struct shm_segment m;
    assert_int_equal(shm_segment_map(dup(s.fd), 12288, PROT_READ | PROT_WRITE, &m), 0);
    ((char *)m.base)[5000] = 'x';
    assert_int_equal(((char *)s.base)[5000], 'x');
    shm_segment_close(&m);
    assert_int_equal(shm_segment_map(dup(s.fd), 4096, PROT_READ, &m), -EPROTO);
    shm_segment_close(&s);
    shm_segment_close(&s); /* idempotent */

    /* an unsealed memfd, a pipe: refused */
    int fd = memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 4096), 0);
    assert_int_equal(shm_segment_map(fd, 0, PROT_READ, &m), -EPROTO);
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[1]);
    assert_int_equal(shm_segment_map(p[0], 0, PROT_READ, &m), -EPROTO);
    assert_int_equal(shm_segment_create("zero", 0, 0, -1, &m), -EINVAL);
}

/* ---- ping-pong through a real session ------------------------------------ */

struct client_view {
    struct shm_segment seg;
    struct shm_seg_header *h;
    struct shm_ring sq, cq;
};

static void client_map(struct client_view *v, int fd, uint64_t size)
{
    assert_int_equal(shm_segment_map(fd, size, PROT_READ | PROT_WRITE, &v->seg), 0);
    v->h = v->seg.base;
    assert_int_equal(v->h->magic, SHM_SEG_MAGIC);
    char *b = v->seg.base;
    shm_ring_init(&v->sq, &v->h->sq_head, &v->h->sq_tail, b + v->h->sq_off,
                  v->h->sq_entries, sizeof(struct shm_sqe), true);
    shm_ring_init(&v->cq, &v->h->cq_head, &v->h->cq_tail, b + v->h->cq_off,
                  v->h->cq_entries, sizeof(struct shm_cqe), false);
}

static bool cq_nonempty(void *ctx)
{
    struct client_view *v = ctx;
    return shm_ring_ready(&v->cq) > 0;
}

/* Daemon process: answers PING with r0 = tag * 3 until it sees tag 0. */
static void serve(struct shm_session *s, uint64_t spin_ns)
{
    uint32_t kick = 0;
    for (;;) {
        struct shm_sqe sqe;
        int rc = shm_session_next(s, &sqe);
        if (rc < 0)
            _exit(10);
        if (rc == 0) {
            if (shm_server_wait(&s, 1, &kick, 0, spin_ns, 5000000000ull) == 0)
                _exit(11); /* 5 s without a request: the parent died */
            continue;
        }
        struct shm_cqe c = { .tag = sqe.tag, .r0 = (uint64_t)sqe.tag * 3 };
        if (shm_session_complete(s, &c) != 0)
            _exit(12);
        if (sqe.tag == 0)
            _exit(0);
    }
}

/* Runs n round trips; returns the mean in ns and the client's sleeps. */
static uint64_t pingpong(uint64_t spin_ns, int n, uint64_t *sleeps)
{
    struct shm_hello_req req;
    shm_hello_req_init(&req, 4, 0, 0);
    struct shm_session *s;
    const char *why;
    assert_int_equal(shm_session_create(&req, NULL, 7, -1, &s, &why), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        serve(s, spin_ns); /* never returns */
    }
    struct client_view v;
    client_map(&v, dup(shm_session_segment_fd(s)), shm_session_size(s));
    struct shm_wait_policy pol = { .spin_ns = spin_ns, .slice_ns = 100000000 };
    *sleeps = 0;
    uint64_t t0 = shm_now_ns();
    for (int i = n; i >= 0; i--) { /* the last one, tag 0, ends the server */
        struct shm_sqe e = { .opcode = SHM_OP_PING, .tag = (uint32_t)i };
        assert_true(shm_ring_space(&v.sq) > 0);
        memcpy(shm_ring_slot(&v.sq, 0), &e, sizeof(e));
        shm_ring_publish(&v.sq, 1);
        shm_wake(&v.h->daemon_sleeping);
        assert_int_equal(shm_wait(&v.h->client_sleeping, cq_nonempty, &v, &pol, sleeps), 0);
        struct shm_cqe c;
        memcpy(&c, shm_ring_peek(&v.cq, 0), sizeof(c));
        shm_ring_consume(&v.cq, 1);
        assert_int_equal(c.tag, (uint32_t)i);
        assert_int_equal(c.status, 0);
        assert_int_equal(c.r0, (uint64_t)i * 3);
    }
    uint64_t mean = (shm_now_ns() - t0) / (uint64_t)(n + 1);
    wait_child(pid);
    shm_segment_close(&v.seg);
    shm_session_destroy(s);
    return mean;
}

static void test_pingpong_spin(void **state)
{
    (void)state;
    uint64_t sleeps;
    uint64_t ns = pingpong(200000000ull /* never sleep */, 2000, &sleeps);
    assert_int_equal(sleeps, 0);
    assert_true(ns > 0);
}

static void test_pingpong_futex(void **state)
{
    (void)state;
    uint64_t sleeps;
    uint64_t ns = pingpong(0 /* sleep at once */, 300, &sleeps);
    assert_true(sleeps > 0); /* it did go through the futex */
    assert_true(ns > 0);
}

/* ---- handshake ------------------------------------------------------------ */

static void daemon_side(int sock, int dir_fd)
{
    struct shm_hello_req req;
    const char *why;
    char reason[SHM_HELLO_WHY_BYTES];
    int rc = shm_hello_server_recv(sock, &req, 2000, reason, sizeof reason);
    if (rc == -EPROTO)
        _exit(3); /* version mismatch: already answered */
    if (rc)
        _exit(1);
    uid_t uid;
    if (shm_hello_peer_cred(sock, NULL, &uid, NULL) || uid != getuid())
        _exit(2);
    struct shm_session *s;
    if (shm_session_create(&req, NULL, 1234, -1, &s, &why))
        _exit(4);
    if (shm_session_welcome(s, sock, dir_fd))
        _exit(5);
    shm_session_destroy(s);
    _exit(0);
}

static void test_handshake(void **state)
{
    (void)state;
    struct shm_dir dir;
    assert_int_equal(shm_dir_create(0, &dir), 0);
    int rfd = shm_dir_reader_fd(&dir);
    assert_true(rfd >= 0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SHM_SOCK_TYPE | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        daemon_side(sv[1], rfd);
    }
    close(sv[1]);
    struct shm_hello_req req;
    shm_hello_req_init(&req, 8, 0, SHM_MIN_LARGE_BYTES);
    struct shm_hello_rep rep;
    int seg_fd, dir_fd;
    assert_int_equal(shm_hello_client(sv[0], &req, &rep, &seg_fd, &dir_fd, 2000), 0);
    assert_int_equal(rep.status, 0);
    assert_int_equal(rep.client_id, 1234);
    assert_int_equal(rep.queue_depth, 8);
    assert_int_equal(rep.large_bytes, SHM_MIN_LARGE_BYTES);
    assert_int_equal(rep.slot_bytes, SHM_DEFAULT_SLOT_BYTES);
    struct client_view v;
    client_map(&v, seg_fd, rep.segment_bytes);
    struct shm_layout l;
    assert_int_equal(shm_layout_compute(8, rep.slot_bytes, rep.large_bytes, &l), 0);
    assert_int_equal(v.h->arena_off, l.arena_off);
    assert_int_equal(v.h->client_id, 1234);
    /* the directory arrives read-only: mapping it writable is refused */
    assert_int_equal(fcntl(dir_fd, F_GETFL) & O_ACCMODE, O_RDONLY);
    void *w = mmap(NULL, rep.directory_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, dir_fd, 0);
    assert_true(w == MAP_FAILED);
    struct shm_dir cd;
    assert_int_equal(shm_dir_map(dir_fd, &cd), 0);
    assert_int_equal(cd.capacity, SHM_DIR_DEFAULT_CAPACITY);
    wait_child(pid);
    /* the daemon exited: its end of the socket is closed */
    assert_int_equal(shm_hello_peer_alive(sv[0]), -ENOTCONN);
    close(sv[0]);
    shm_dir_close(&cd);
    shm_segment_close(&v.seg);
    close(rfd);
    shm_dir_close(&dir);
}

static void test_handshake_version_mismatch(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SHM_SOCK_TYPE | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        daemon_side(sv[1], -1);
    }
    close(sv[1]);
    struct shm_hello_req req;
    shm_hello_req_init(&req, 0, 0, 0);
    req.version = 999;
    struct shm_hello_rep rep;
    int seg_fd, dir_fd;
    assert_int_equal(shm_hello_client(sv[0], &req, &rep, &seg_fd, &dir_fd, 2000), 0);
    assert_int_equal(rep.status, -EPROTO);
    assert_int_equal(rep.version, SHM_PROTO_VERSION);
    assert_non_null(strstr(rep.message, "999"));
    assert_int_equal(seg_fd, -1);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_int_equal(WEXITSTATUS(st), 3);
    close(sv[0]);
}

/* The daemon must not wait forever on a client that says nothing, and a
 * hello with the wrong magic is refused. */
static void test_handshake_silent_and_bad_magic(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SHM_SOCK_TYPE | SOCK_CLOEXEC, 0, sv), 0);
    struct shm_hello_req req;
    char why[SHM_HELLO_WHY_BYTES] = "";
    assert_int_equal(shm_hello_server_recv(sv[1], &req, 50, why, sizeof why), -ETIMEDOUT);
    assert_true(why[0] != '\0');
    char junk[64];
    memset(junk, 0x5a, sizeof(junk));
    assert_int_equal(send(sv[0], junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
    assert_int_equal(shm_hello_server_recv(sv[1], &req, 50, why, sizeof why), -EPROTO);
    close(sv[0]);
    assert_int_equal(shm_hello_server_recv(sv[1], &req, 50, why, sizeof why), -ECONNRESET);
    close(sv[1]);
}

/* ---- directory seqlock across processes ----------------------------------- */

static void fill_table(struct shm_dir_entry *e, uint32_t n, uint64_t gen)
{
    for (uint32_t i = 0; i < n; i++) {
        memset(&e[i], 0, sizeof(e[i]));
        e[i].id = gen * 100000 + i + 1;
        e[i].sequence = gen;
        e[i].holders = i;
        e[i].flags = SHM_DIR_LIVE;
        e[i].creator_id = gen ^ 0xabcdef;
    }
}

static void test_directory_seqlock(void **state)
{
    (void)state;
    struct shm_dir d;
    assert_int_equal(shm_dir_create(256, &d), 0);
    int seals = shm_segment_seals(d.seg.fd);
    assert_true(seals & F_SEAL_FUTURE_WRITE);
    /* even the writable fd cannot be mapped writable again */
    void *w = mmap(NULL, d.seg.size, PROT_READ | PROT_WRITE, MAP_SHARED, d.seg.fd, 0);
    assert_true(w == MAP_FAILED);
    int rfd = shm_dir_reader_fd(&d);
    assert_true(rfd >= 0);
    struct shm_dir r;
    assert_int_equal(shm_dir_map(rfd, &r), 0);
    uint32_t n;
    struct shm_dir_entry out[256];
    assert_int_equal(shm_dir_read(&r, out, 256, &n, NULL), 0);
    assert_int_equal(n, 0);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* writer: tables of varying size, each entry stamped with its
         * generation, until killed */
        static struct shm_dir_entry t[256];
        for (uint64_t gen = 1;; gen++) {
            uint32_t cnt = (uint32_t)(gen % 200) + 1;
            fill_table(t, cnt, gen);
            shm_dir_publish(&d, t, cnt);
        }
    }
    uint64_t last_gen = 0;
    int reads = 0, distinct = 0;
    uint64_t t0 = shm_now_ns();
    while (shm_now_ns() - t0 < 300000000ull) {
        uint64_t gen;
        int rc = shm_dir_read(&r, out, 256, &n, &gen);
        if (rc == -EAGAIN)
            continue;
        assert_int_equal(rc, 0);
        reads++;
        if (n == 0)
            continue;
        /* every copy is one whole table: one generation throughout */
        uint64_t g = out[0].sequence;
        assert_int_equal(n, (uint32_t)(g % 200) + 1);
        for (uint32_t i = 0; i < n; i++) {
            assert_int_equal(out[i].sequence, g);
            assert_int_equal(out[i].id, g * 100000 + i + 1);
            assert_int_equal(out[i].holders, i);
            assert_int_equal(out[i].creator_id, g ^ 0xabcdef);
        }
        if (g != last_gen)
            distinct++;
        assert_true(g >= last_gen); /* never goes back in time */
        last_gen = g;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_true(reads > 10);
    assert_true(distinct > 1);
    /* a copy with a small cap still reports the total */
    struct shm_dir_entry one;
    if (shm_dir_read(&r, &one, 1, &n, NULL) == 0)
        assert_true(n >= 1);
    shm_dir_close(&r);
    shm_dir_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seals),
        cmocka_unit_test(test_pingpong_spin),
        cmocka_unit_test(test_pingpong_futex),
        cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_handshake_version_mismatch),
        cmocka_unit_test(test_handshake_silent_and_bad_magic),
        cmocka_unit_test(test_directory_seqlock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
