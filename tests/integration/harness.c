/* harness.c — see harness.h. */
#include "helpers.h"

#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double th_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double th_duration(double def, double short_def)
{
    return th_env_long("LSM_TEST_SHORT", 0) ? short_def : def;
}

static char *join(const char *a, const char *b)
{
    char *p;
    if (asprintf(&p, "%s/%s", a, b) < 0)
        fail_msg("asprintf");
    return p;
}

void thd_init(th_daemon *d, const char *bin, const char *tag)
{
    memset(d, 0, sizeof *d);
    d->bin = bin;
    if (access(bin, X_OK) != 0)
        fail_msg("daemon binary %s is missing (build it first)", bin);
    d->root = th_tempdir(tag);
    d->db = join(d->root, "db");
    d->sock = join(d->root, "lsmd.sock");
    d->log = join(d->root, "lsmd.log");
}

static int exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 255;
}

void thd_spawn(th_daemon *d, const char *const *extra)
{
    assert_int_equal(d->pid, 0);
    const char *argv[32] = { d->bin, "--dir", d->db, "--socket", d->sock, "--workers", "2" };
    int n = 7;
    for (int i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
            close(fd);
        }
        execv(d->bin, (char *const *)argv);
        _exit(127);
    }
    d->pid = pid;
}

void thd_start(th_daemon *d, const char *const *extra)
{
    thd_spawn(d, extra);
    thd_wait_serving(d);
}

void thd_wait_serving(th_daemon *d)
{
    pid_t pid = d->pid;
    double deadline = th_now() + 20;
    for (;;) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            d->pid = 0;
            thd_dump_log(d);
            fail_msg("lsmd exited during start-up (code %d)", exit_code(status));
        }
        lsmd_conn *c;
        if (lsmd_connect(d->sock, &c) == 0) {
            int rc = lsmd_ping(c);
            lsmd_disconnect(c);
            if (rc == 0)
                return;
        }
        if (th_now() > deadline) {
            thd_dump_log(d);
            fail_msg("lsmd did not answer within 20 s");
        }
        usleep(20000);
    }
}

int thd_stop(th_daemon *d)
{
    if (d->pid == 0)
        return -1;
    kill(d->pid, SIGTERM);
    int status = 0;
    waitpid(d->pid, &status, 0);
    d->pid = 0;
    int rc = exit_code(status);
    if (rc != 0)
        thd_dump_log(d);
    return rc;
}

void thd_kill(th_daemon *d)
{
    if (d->pid == 0)
        return;
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
}

bool thd_alive(th_daemon *d)
{
    if (d->pid == 0)
        return false;
    int status;
    if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
        fprintf(stderr, "lsmd exited with code %d\n", exit_code(status));
        d->pid = 0;
        return false;
    }
    return true;
}

void thd_dump_log(const th_daemon *d)
{
    FILE *f = fopen(d->log, "r");
    if (!f)
        return;
    /* The last ~40 lines: enough for an ASan report's head or the reason. */
    char *lines[40] = { 0 };
    size_t cap[40] = { 0 };
    int n = 0;
    while (getline(&lines[n % 40], &cap[n % 40], f) > 0)
        n++;
    fclose(f);
    fprintf(stderr, "---- tail of %s ----\n", d->log);
    for (int i = n > 40 ? n - 40 : 0; i < n; i++)
        fputs(lines[i % 40], stderr);
    fprintf(stderr, "---- end of log ----\n");
    for (int i = 0; i < 40; i++)
        free(lines[i]);
}

void thd_cleanup(th_daemon *d)
{
    thd_kill(d);
    th_rmrf_free(d->root);
    free(d->db);
    free(d->sock);
    free(d->log);
    memset(d, 0, sizeof *d);
}

lsmd_conn *thd_connect(const th_daemon *d)
{
    lsmd_conn *c = NULL;
    int rc = lsmd_connect(d->sock, &c);
    if (rc)
        fail_msg("lsmd_connect(%s): %s", d->sock, lsmd_strerror(rc));
    return c;
}

void th_expect_option(lsmd_conn *c, const char *name, const char *want)
{
    char *v = NULL;
    assert_int_equal(lsmd_get_option(c, name, &v), 0);
    if (strcmp(v, want) != 0)
        fail_msg("%s = %s, want %s", name, v, want);
    free(v);
}

int thd_lsmctl(const th_daemon *d, int (*prep)(void *), void *arg, const char *const *args,
               char *err, size_t cap)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], 2);
        close(pfd[0]);
        if (prep && prep(arg) != 0)
            _exit(99);
        const char *argv[16] = { "lsmctl", "--socket", d->sock };
        int n = 3;
        for (int i = 0; args[i] && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(LSMCTL_BIN, (char *const *)argv);
        _exit(98);
    }
    close(pfd[1]);
    size_t used = 0;
    ssize_t r;
    while (used + 1 < cap && (r = read(pfd[0], err + used, cap - 1 - used)) > 0)
        used += (size_t)r;
    err[used] = '\0';
    close(pfd[0]);
    int status;
    waitpid(pid, &status, 0);
    return exit_code(status);
}

/* ---- client processes ------------------------------------------------------- */

int th_role_dispatch(int argc, char **argv, const th_role *roles)
{
    if (argc < 3)
        return 2;
    /* A role dies with its test, never lingers. */
    signal(SIGPIPE, SIG_DFL);
    for (const th_role *r = roles; r->name; r++)
        if (strcmp(r->name, argv[2]) == 0)
            return r->fn(argc - 2, argv + 2);
    fprintf(stderr, "unknown role %s\n", argv[2]);
    return 2;
}

/* ---- one test, one fresh daemon --------------------------------------------- */

int th_fixture_setup(void **state)
{
    const th_fixture *fx = *state;
    thd_init(fx->d, fx->bin, fx->tag);
    if (fx->open_dir)
        assert_int_equal(chmod(fx->d->root, 0755), 0);
    if (fx->start)
        thd_start(fx->d, fx->extra);
    return 0;
}

int th_fixture_teardown(void **state)
{
    const th_fixture *fx = *state;
    thd_cleanup(fx->d);
    return 0;
}

int th_main(int argc, char **argv, const th_role *roles, const char *needs_root,
            const struct CMUnitTest *tests, size_t ntests)
{
    if (roles && argc > 1 && strcmp(argv[1], "--role") == 0)
        return th_role_dispatch(argc, argv, roles);
    if (needs_root && geteuid() != 0) {
        fprintf(stderr, "%s: needs root %s; skipped\n", program_invocation_short_name, needs_root);
        return TEST_SKIP;
    }
    return _cmocka_run_group_tests("tests", tests, ntests, NULL, NULL);
}

/* ---- talking to client processes --------------------------------------------- */

void th_spawn(th_child *c, const char *role, const char *const *args)
{
    memset(c, 0, sizeof *c);
    int in[2], out[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    const char *argv[40] = { "lsmd-test-client", "--role", role };
    int n = 3;
    for (int i = 0; args && args[i] && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    c->pid = pid;
    c->to_fd = in[1];
    c->from_fd = out[0];
}

void th_send(th_child *c, const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && n < (int)sizeof line - 1);
    line[n++] = '\n';
    /* A client that died closed its stdin: say so instead of dying of
     * SIGPIPE with no message (the test process ignores SIGPIPE). */
    signal(SIGPIPE, SIG_IGN);
    if (write(c->to_fd, line, (size_t)n) != n) {
        const char *last = th_recv(c, 1000);
        fail_msg("client pid %d is gone; its last words: %s", (int)c->pid,
                 last ? last : "(none)");
    }
}

const char *th_recv(th_child *c, int timeout_ms)
{
    static char line[sizeof c->buf];
    double deadline = th_now() + timeout_ms / 1000.0;
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->used);
        if (nl) {
            size_t len = (size_t)(nl - c->buf);
            memcpy(line, c->buf, len);
            line[len] = '\0';
            memmove(c->buf, nl + 1, c->used - len - 1);
            c->used -= len + 1;
            return line;
        }
        if (c->used == sizeof c->buf)
            fail_msg("reply line too long");
        int left = (int)((deadline - th_now()) * 1000);
        if (left <= 0)
            fail_msg("no reply from client pid %d within %d ms", (int)c->pid, timeout_ms);
        struct pollfd p = { .fd = c->from_fd, .events = POLLIN };
        if (poll(&p, 1, left) <= 0)
            continue;
        ssize_t r = read(c->from_fd, c->buf + c->used, sizeof c->buf - c->used);
        if (r <= 0)
            return NULL;
        c->used += (size_t)r;
    }
}

const char *th_ask(th_child *c, const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    th_send(c, "%s", line);
    const char *r = th_recv(c, 30000);
    if (!r)
        fail_msg("client pid %d closed its pipe (asked: %s)", (int)c->pid, line);
    return r;
}

int th_wait(th_child *c)
{
    if (c->to_fd > 0)
        close(c->to_fd);
    if (c->from_fd > 0)
        close(c->from_fd);
    c->to_fd = c->from_fd = -1;
    int status = 0;
    if (c->pid > 0 && waitpid(c->pid, &status, 0) != c->pid)
        return -1;
    c->pid = 0;
    return exit_code(status);
}

int th_kill(th_child *c)
{
    if (c->pid > 0)
        kill(c->pid, SIGKILL);
    return th_wait(c);
}

void th_reply(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

double th_vmrss_mb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    assert_true(kb >= 0);
    return (double)kb / 1024.0;
}

void th_small_asan_quarantine(void)
{
    const char *old = getenv("ASAN_OPTIONS");
    char opts[512];
    snprintf(opts, sizeof opts, "%s%squarantine_size_mb=16", old ? old : "",
             old && *old ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
}
