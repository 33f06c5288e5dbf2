/*
 * test_admission.c — issue 9, item 1: connections that never say hello
 * must not exhaust the daemon's descriptors, spin its main loop, flood its
 * log or turn the database read-only.  Against the ASan+UBSan daemon
 * (LSMD_ASAN_BIN), started with a 256-descriptor limit (prlimit after
 * start-up, so its raise-to-hard cannot undo it), with an honest client
 * and an attached admin client alongside.
 *
 * test_silent_flood: uid 65534 (allowed through allow_gids, so its
 * connections are admitted) opens 1,200 non-blocking connections, never
 * says hello, and holds them.  During the attack:
 *   - the honest client keeps its latency (th_honest_expect);
 *   - a new client (another uid) attaches, puts and reads back at once;
 *   - the admin client's FLUSH succeeds and a put after it succeeds (no
 *     LSM_EREADONLY: the WAL switch found a descriptor);
 *   - the daemon's main thread uses < 0.1 s of CPU per second;
 *   - the attacker's connections are all closed by hello_timeout_ms
 *     (1 s) + slack;
 *   - the log has fewer than 20 accept/admission/hello lines.
 * test_fd_exhaustion: the same flood with the pending caps lifted runs
 * the daemon out of descriptors: it sheds the excess with its reserve fd
 * (the backlog keeps moving), backs off instead of spinning (< 0.1 s CPU
 * per s), logs fewer than 20 such lines, and recovers after the deadline.
 * test_connect_burst: 40 honest connects of one uid, each with its hello
 * already queued when the daemon looks, all attach (the caps count only
 * silent connections).
 * test_refused_before_hello: a uid the config refuses, on a socket it can
 * reach (mode opened by hand), hears -EACCES at once without sending a
 * hello.
 *
 * Needs root (setuid 65534, prlimit); skipped (77) otherwise.
 */
#include "helpers.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "hello.h"
#include "honest.h"

#define NOBODY 65534
#define FLOOD 1200
#define DAEMON_NOFILE 256

static th_daemon g_d;
/* uid NOBODY must reach the socket's directory. */
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_ASAN_BIN, .tag = "admission", .open_dir = true };
static th_child g_kids[8];
static int g_nkids;

static th_child *spawn(const char *role, const char *const *args)
{
    th_child *c = &g_kids[g_nkids++];
    th_spawn(c, role, args);
    return c;
}

static void become_nobody(void)
{
    if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0) {
        th_reply("err setuid: %s", strerror(errno));
        exit(1);
    }
}

static int open_conn(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* silent SOCKET N: as uid NOBODY, "ready"; on "go" opens N connections
 * (retrying while the backlog is full, for up to 1 s), never says hello.  "count" replies
 * "open X closed Y" (closed: the daemon hung up). */
static int role_silent(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int n = atoi(argv[2]);
    struct rlimit r = { (rlim_t)n + 64, (rlim_t)n + 64 };
    if (setrlimit(RLIMIT_NOFILE, &r) != 0) {
        th_reply("err setrlimit: %s", strerror(errno));
        return 1;
    }
    become_nobody();
    struct pollfd *p = calloc((size_t)n, sizeof *p);
    char line[64];
    th_reply("ready");
    int held = 0, rc = 0;
    if (!p || !fgets(line, sizeof line, stdin)) { /* "go" */
        n = 0;
        rc = 1;
    }
    double deadline = th_now() + 1;
    while (held < n && th_now() < deadline) {
        int fd = open_conn(argv[1]);
        if (fd == -EAGAIN) {
            usleep(1000);
            continue;
        }
        if (fd < 0) {
            th_reply("err connect: %s", strerror(-fd));
            rc = 1;
            break;
        }
        p[held++] = (struct pollfd){ .fd = fd, .events = POLLRDHUP };
    }
    if (rc == 0)
        th_reply("held %d", held);
    while (rc == 0 && fgets(line, sizeof line, stdin) && strncmp(line, "count", 5) == 0) {
        int closed = 0;
        poll(p, (nfds_t)held, 0);
        for (int i = 0; i < held; i++)
            closed += (p[i].revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0;
        th_reply("open %d closed %d", held - closed, closed);
    }
    for (int i = 0; i < held; i++)
        close(p[i].fd);
    free(p);
    return rc;
}

/* newcomer SOCKET: "ready"; on "go" attaches, puts and reads back;
 * "ok MS" (the whole time). */
static int role_newcomer(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    char line[16];
    th_reply("ready");
    if (!fgets(line, sizeof line, stdin))
        return 0;
    double t0 = th_now();
    lsmd_conn *c;
    int rc = lsmd_connect(argv[1], &c);
    if (rc) {
        th_reply("err connect %d", rc);
        return 1;
    }
    void *v = NULL;
    size_t vl = 0;
    rc = lsmd_put(c, "newcomer", 8, "arrived", 7, 0);
    if (rc == 0)
        rc = lsmd_get(c, 0, "newcomer", 8, &v, &vl);
    if (rc == 0 && (vl != 7 || memcmp(v, "arrived", 7) != 0))
        rc = -EBADMSG;
    free(v);
    lsmd_disconnect(c);
    if (rc)
        th_reply("err op %d", rc);
    else
        th_reply("ok %.1f", (th_now() - t0) * 1000);
    return rc ? 1 : 0;
}

/* admin SOCKET: attaches first ("ready"); "flush" replies
 * "flush RC put RC" (a FLUSH, then a put). */
static int role_admin(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    lsmd_conn *c;
    if (lsmd_connect(argv[1], &c))
        return 1;
    th_reply("ready");
    char line[64];
    while (fgets(line, sizeof line, stdin) && strncmp(line, "flush", 5) == 0) {
        int f = lsmd_flush(c);
        int p = lsmd_put(c, "after-flush", 11, "v", 1, LSM_SYNC);
        th_reply("flush %d put %d", f, p);
    }
    lsmd_disconnect(c);
    return 0;
}

/* refused SOCKET: as uid NOBODY, connects and waits (no hello) up to
 * 500 ms for the daemon's reply: "status S message" or "none". */
static int role_refused(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    become_nobody();
    int fd = open_conn(argv[1]);
    if (fd < 0) {
        th_reply("err connect %d", fd);
        return 1;
    }
    struct pollfd p = { .fd = fd, .events = POLLIN };
    struct shm_hello_rep rep;
    memset(&rep, 0, sizeof rep);
    if (poll(&p, 1, 500) == 1 && recv(fd, &rep, sizeof rep, 0) == (ssize_t)sizeof rep &&
        rep.magic == SHM_HELLO_REP_MAGIC) {
        rep.message[sizeof rep.message - 1] = '\0';
        th_reply("status %d %s", rep.status, rep.message);
    } else {
        th_reply("none");
    }
    close(fd);
    return 0;
}

/* CPU seconds (user + system) of the daemon's main thread. */
static double main_thread_cpu(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    assert_non_null(p);
    unsigned long long ut, st;
    /* After ")": state, then fields 4..13, then utime (14), stime (15). */
    int got = sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st);
    assert_int_equal(got, 2);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Log lines about accepting, admitting or hello deadlines. */
static int admission_log_lines(void)
{
    FILE *f = fopen(g_d.log, "r");
    assert_non_null(f);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, "accept") || strstr(line, "admission") || strstr(line, "hello");
    fclose(f);
    return n;
}

static void limit_daemon_fds(void)
{
    struct rlimit r = { DAEMON_NOFILE, DAEMON_NOFILE };
    if (prlimit(g_d.pid, RLIMIT_NOFILE, &r, NULL) != 0)
        fail_msg("prlimit: %s", strerror(errno));
}

/* Spawns a role and waits for its "ready" (so its start-up cost falls
 * outside the measured windows). */
static th_child *spawn_ready(const char *role, const char *const *args)
{
    th_child *c = spawn(role, args);
    const char *r = th_recv(c, 10000);
    if (!r || strcmp(r, "ready") != 0)
        fail_msg("%s: %s", role, r ? r : "exited");
    return c;
}

static th_child *spawn_flood(void)
{
    char nbuf[16];
    snprintf(nbuf, sizeof nbuf, "%d", FLOOD);
    const char *args[] = { g_d.sock, nbuf, NULL };
    return spawn_ready("silent", args);
}

/* Starts the flood; returns how many connections the attacker holds. */
static int start_flood(th_child *att)
{
    int held = 0;
    const char *r = th_ask(att, "go");
    if (!r || sscanf(r, "held %d", &held) != 1)
        fail_msg("attacker: %s", r ? r : "exited");
    return held;
}

/* The attacker's connections still open (not hung up by the daemon). */
static int flood_open(th_child *att, double t0)
{
    int open = -1, closed = -1;
    const char *r = th_ask(att, "count");
    if (!r || sscanf(r, "open %d closed %d", &open, &closed) != 2)
        fail_msg("attacker: %s", r ? r : "exited");
    fprintf(stderr, "after %.1f s: %d silent connections open, %d closed\n", th_now() - t0,
            open, closed);
    return open;
}

/* Sleeps until t0 + at seconds. */
static void sleep_until(double t0, double at)
{
    double left = at - (th_now() - t0);
    if (left > 0)
        usleep((useconds_t)(left * 1e6));
}

/* Fails unless the main thread used < 0.1 s CPU per s since (cpu0, w0)
 * (it idles at ~0.01 under attack; the spinning accept loop this pins
 * measured 0.2-1.0 depending on the machine's load). */
static void expect_idle_main(double cpu0, double w0)
{
    double cpu = (main_thread_cpu(g_d.pid) - cpu0) / (th_now() - w0);
    fprintf(stderr, "daemon main thread: %.3f s CPU per s during the flood\n", cpu);
    if (cpu >= 0.1)
        fail_msg("the daemon's main thread spins: %.2f s CPU per s", cpu);
}

static void expect_quiet_log(void)
{
    int lines = admission_log_lines();
    fprintf(stderr, "accept/admission/hello log lines: %d\n", lines);
    if (lines >= 20)
        fail_msg("%d accept/admission/hello log lines: not rate-limited", lines);
}

static th_child *spawn_newcomer(void)
{
    const char *args[] = { g_d.sock, NULL };
    return spawn_ready("newcomer", args);
}

/* The newcomer (uid 0) attaches, puts and reads back within 1 s. */
static void expect_newcomer(th_child *nc, const char *when)
{
    const char *r = th_ask(nc, "go");
    double ms = 0;
    if (!r || sscanf(r, "ok %lf", &ms) != 1)
        fail_msg("a new client could not attach %s: %s", when, r ? r : "exited");
    fprintf(stderr, "newcomer attached %s, put and read back in %.1f ms\n", when, ms);
    assert_true(ms < 1000);
    assert_int_equal(th_wait(nc), 0);
}

static void test_silent_flood(void **state)
{
    (void)state;
    const char *extra[] = { "--allow-gids", "65534", "--log-level", "warn", NULL };
    thd_start(&g_d, extra);
    limit_daemon_fds();
    const char *sock_args[] = { g_d.sock, NULL };
    th_child *admin = spawn_ready("admin", sock_args);
    th_child *att = spawn_flood(), *nc = spawn_newcomer();
    th_honest h;
    th_honest_start(&h, &g_d, "adm");
    double t0 = th_now();
    int held = start_flood(att);
    double cpu0 = main_thread_cpu(g_d.pid), w0 = th_now();
    fprintf(stderr, "attacker holds %d connections after %.0f ms\n", held, (w0 - t0) * 1000);

    /* FLUSH switches the WAL: it needs descriptors. */
    int frc = 1, prc = 1;
    const char *r = th_ask(admin, "flush");
    if (!r || sscanf(r, "flush %d put %d", &frc, &prc) != 2 || frc != 0 || prc != 0)
        fail_msg("admin flush during the flood: %s (0 expected for both)", r ? r : "exited");
    expect_newcomer(nc, "during the flood");
    th_honest_expect(&h, "silent flood");

    /* The main thread idles while the silent connections wait. */
    sleep_until(w0, 1.2);
    expect_idle_main(cpu0, w0);

    /* Every silent connection is closed by its deadline (1 s) + slack. */
    sleep_until(t0, 2.0);
    int open = flood_open(att, t0);
    if (open != 0)
        fail_msg("%d silent connections still open %.1f s after the flood", open,
                 th_now() - t0);
    th_honest_expect(&h, "after the flood");
    expect_quiet_log();
    th_send(att, "stop");
    assert_int_equal(th_wait(att), 0);
    th_send(admin, "stop");
    assert_int_equal(th_wait(admin), 0);
    th_honest_stop(&h);
    assert_true(thd_alive(&g_d));
    assert_int_equal(thd_stop(&g_d), 0);
}

/* With the pending caps lifted, the same flood exhausts the daemon's
 * descriptors: it must shed the excess with its reserve fd (the backlog
 * keeps moving, each peer hears a refusal), back off instead of spinning,
 * log a bounded number of lines, and recover once the deadlines pass. */
static void test_fd_exhaustion(void **state)
{
    (void)state;
    const char *extra[] = { "--allow-gids", "65534", "--log-level", "warn",
                            "--max-pending", "4000", "--max-pending-per-uid", "4000",
                            "--hello-timeout-ms", "3000", NULL };
    thd_start(&g_d, extra);
    limit_daemon_fds();
    th_child *att = spawn_flood(), *nc = spawn_newcomer();
    th_honest h;
    th_honest_start(&h, &g_d, "exh");
    double t0 = th_now();
    int held = start_flood(att);
    double cpu0 = main_thread_cpu(g_d.pid), w0 = th_now();
    fprintf(stderr, "attacker holds %d connections after %.0f ms\n", held, (w0 - t0) * 1000);
    /* More than the daemon's descriptors plus its backlog: it shed some. */
    if (held <= DAEMON_NOFILE + 128)
        fail_msg("only %d connections got through: the backlog stopped moving", held);
    th_honest_expect(&h, "descriptors exhausted");
    sleep_until(w0, 1.2);
    expect_idle_main(cpu0, w0);
    int open = flood_open(att, t0);
    if (open > DAEMON_NOFILE)
        fail_msg("%d connections open: more than the daemon's %d descriptors", open,
                 DAEMON_NOFILE);
    expect_quiet_log();
    /* Past the 3 s deadline every silent connection is gone. */
    sleep_until(t0, 4.0);
    open = flood_open(att, t0);
    if (open != 0)
        fail_msg("%d silent connections still open after their deadline", open);
    expect_newcomer(nc, "after the exhaustion");
    th_honest_expect(&h, "after the exhaustion");
    th_send(att, "stop");
    assert_int_equal(th_wait(att), 0);
    th_honest_stop(&h);
    assert_int_equal(thd_stop(&g_d), 0);
}

static void test_refused_before_hello(void **state)
{
    (void)state;
    const char *extra[] = { "--allow-uids", "12345", "--log-level", "warn", NULL };
    thd_start(&g_d, extra);
    /* Let everyone reach the socket: only SO_PEERCRED stands in the way. */
    assert_int_equal(chmod(g_d.sock, 0666), 0);
    const char *args[] = { g_d.sock, NULL };
    th_child *c = spawn("refused", args);
    const char *r = th_recv(c, 5000);
    int status = 0;
    if (!r || sscanf(r, "status %d", &status) != 1 || status != -EACCES ||
        !strstr(r, "uid 65534"))
        fail_msg("a refused uid should hear -EACCES without a hello: %s", r ? r : "exited");
    assert_int_equal(th_wait(c), 0);
    assert_int_equal(thd_stop(&g_d), 0);
}

/* A burst of honest connects of one uid, all queued (hello included)
 * before the daemon looks: more than max_pending_per_uid, yet none is
 * refused, since none is silent. */
static void test_connect_burst(void **state)
{
    (void)state;
    enum { BURST = 40 };
    const char *extra[] = { "--log-level", "warn", NULL };
    thd_start(&g_d, extra);
    assert_int_equal(kill(g_d.pid, SIGSTOP), 0);
    int fds[BURST];
    struct shm_hello_req req;
    shm_hello_req_init(&req, 0, 0, 0);
    for (int i = 0; i < BURST; i++) {
        fds[i] = shm_hello_connect(g_d.sock);
        assert_true(fds[i] >= 0);
        assert_int_equal(send(fds[i], &req, sizeof req, 0), (ssize_t)sizeof req);
    }
    assert_int_equal(kill(g_d.pid, SIGCONT), 0);
    int refused = 0;
    for (int i = 0; i < BURST; i++) {
        struct pollfd p = { .fd = fds[i], .events = POLLIN };
        assert_int_equal(poll(&p, 1, 10000), 1);
        struct shm_hello_rep rep;
        memset(&rep, 0, sizeof rep);
        ssize_t n = recv(fds[i], &rep, sizeof rep, 0);
        if (n < 0 && errno == ECONNRESET) /* refused with the hello unread */
            n = recv(fds[i], &rep, sizeof rep, 0);
        assert_true(n > 0);
        if (rep.status != 0) {
            fprintf(stderr, "connection %d refused: %d %s\n", i, rep.status, rep.message);
            refused++;
        }
        close(fds[i]); /* recv had no room for the reply's fds: the kernel dropped them */
    }
    if (refused)
        fail_msg("%d of %d honest connects refused in a burst", refused, BURST);
    assert_int_equal(thd_stop(&g_d), 0);
}

static int setup(void **state)
{
    g_nkids = 0;
    return th_fixture_setup(state);
}

static int teardown(void **state)
{
    for (int i = 0; i < g_nkids; i++)
        if (g_kids[i].pid > 0)
            th_kill(&g_kids[i]);
    return th_fixture_teardown(state);
}

#define TEST(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &g_fx)

int main(int argc, char **argv)
{
    static const th_role roles[] = {
        TH_HONEST_ROLE, { "silent", role_silent }, { "newcomer", role_newcomer },
        { "admin", role_admin }, { "refused", role_refused }, { NULL, NULL },
    };
    const struct CMUnitTest tests[] = {
        TEST(test_refused_before_hello),
        TEST(test_connect_burst),
        TEST(test_silent_flood),
        TEST(test_fd_exhaustion),
    };
    return TH_MAIN(argc, argv, roles, "(setuid 65534, prlimit)", tests);
}
