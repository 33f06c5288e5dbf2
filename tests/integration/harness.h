/*
 * harness.h — helpers for the service integration tests: a real lsmd
 * process on a temporary directory and socket, and client processes (the
 * test binary itself, re-executed in a "role") talking to the test over
 * pipes, one line per message.
 *
 * A test program describes its daemon once and runs each test against a
 * fresh one:
 *     static th_daemon g_d;
 *     static th_fixture g_fx = { &g_d, LSMD_BIN, "tag", NULL, .start = true };
 *     int main(int argc, char **argv)
 *     {
 *         static const th_role roles[] = { { "writer", role_writer }, { NULL, NULL } };
 *         const struct CMUnitTest tests[] = { TH_TEST(test_x, &g_fx) };
 *         return TH_MAIN(argc, argv, roles, NULL, tests);
 *     }
 * TH_MAIN runs a role when asked to (th_spawn() runs
 * `/proc/self/exe --role NAME ARGS...` with its stdin and stdout connected
 * to the test), skips when the test needs root and is not, and otherwise
 * runs the tests.
 *
 * Everything fails the current cmocka test on unexpected errors.
 */
#ifndef LSMD_TEST_HARNESS_H
#define LSMD_TEST_HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "helpers.h"
#include "lsmd.h"

/* ---- the daemon ------------------------------------------------------------ */
typedef struct th_daemon {
    pid_t pid;          /* 0 when not running */
    const char *bin;
    char *root;         /* temp dir: db/, lsmd.sock, lsmd.log */
    char *db, *sock, *log;
} th_daemon;

/* Prepares paths under a fresh temp dir named after tag; does not start. */
void thd_init(th_daemon *d, const char *bin, const char *tag);
/* Starts `bin --dir db --socket sock --workers 2 EXTRA...` (extra may be
 * NULL, else NULL-terminated) with stderr to the log, and waits until a
 * client can ping it (up to 20 s). */
void thd_start(th_daemon *d, const char *const *extra);
/* The waiting half of thd_start, for a d->pid started another way. */
void thd_wait_serving(th_daemon *d);
/* The same without the wait: the daemon may not accept yet. */
void thd_spawn(th_daemon *d, const char *const *extra);
/* SIGTERM and wait: the exit status (0 = clean), or 128+signal. */
int thd_stop(th_daemon *d);
/* SIGKILL and wait. */
void thd_kill(th_daemon *d);
/* true while the daemon process runs. */
bool thd_alive(th_daemon *d);
/* Prints the last lines of the daemon's log to stderr (on failures). */
void thd_dump_log(const th_daemon *d);
/* Kills it if running and removes the temp dir. */
void thd_cleanup(th_daemon *d);

/* Connects to d, failing the test on error. */
lsmd_conn *thd_connect(const th_daemon *d);

/* Fails the test unless the engine option name reads want (get-option). */
void th_expect_option(lsmd_conn *c, const char *name, const char *want);

/* Runs `lsmctl --socket d->sock ARGS...` (args NULL-terminated) in a child
 * that first calls prep(arg) when prep is not NULL (e.g. to change uid or
 * directory; a nonzero return exits 99 without running lsmctl).  Its
 * stderr (up to cap - 1 bytes, NUL-terminated) goes to err; returns its
 * exit code, or 128 when it did not exit. */
int thd_lsmctl(const th_daemon *d, int (*prep)(void *), void *arg, const char *const *args,
               char *err, size_t cap);

/* ---- client processes ------------------------------------------------------- */
typedef int (*th_role_fn)(int argc, char **argv); /* argv[0] = role name */
typedef struct th_role {
    const char *name;
    th_role_fn fn;
} th_role;

/* Runs the role named by argv[2] with argv + 2; returns its exit code. */
int th_role_dispatch(int argc, char **argv, const th_role *roles);

/* ---- one test, one fresh daemon --------------------------------------------- */
typedef struct th_fixture {
    th_daemon *d;              /* the test's daemon (a static of the test) */
    const char *bin;           /* LSMD_BIN, LSMD_ASAN_BIN, ... */
    const char *tag;           /* names the temp dir */
    const char *const *extra;  /* thd_start's extra flags, or NULL */
    bool start;                /* setup starts it (else each test does) */
    bool open_dir;             /* temp dir mode 0755: other uids reach the socket */
} th_fixture;

/* cmocka setup and teardown with a th_fixture as the test's state:
 * thd_init (+ chmod, + thd_start), and thd_cleanup. */
int th_fixture_setup(void **state);
int th_fixture_teardown(void **state);
#define TH_TEST(fn, fixture) \
    cmocka_unit_test_prestate_setup_teardown(fn, th_fixture_setup, th_fixture_teardown, fixture)

/* An integration test's main(): runs the role named by `--role NAME`
 * (roles may be NULL: no roles), else returns TEST_SKIP when needs_root
 * names why root is needed and the effective uid is not 0, else runs the
 * tests. */
int th_main(int argc, char **argv, const th_role *roles, const char *needs_root,
            const struct CMUnitTest *tests, size_t ntests);
#define TH_MAIN(argc, argv, roles, needs_root, tests) \
    th_main(argc, argv, roles, needs_root, tests, sizeof(tests) / sizeof((tests)[0]))

/* ---- talking to client processes --------------------------------------------- */
typedef struct th_child {
    pid_t pid;
    int to_fd, from_fd;     /* the child's stdin / stdout */
    char buf[8192];         /* reply line buffer */
    size_t used;
} th_child;

/* Spawns this binary as `--role role args...` (args NULL-terminated). */
void th_spawn(th_child *c, const char *role, const char *const *args);
/* Sends one line (printf-style, newline added). */
void th_send(th_child *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads one reply line (without newline) into a static-per-child buffer;
 * NULL on EOF.  Fails the test after timeout_ms without a line. */
const char *th_recv(th_child *c, int timeout_ms);
/* th_send then th_recv (30 s). */
const char *th_ask(th_child *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Closes the pipes and waits: the exit code, or 128+signal. */
int th_wait(th_child *c);
/* SIGKILL, then th_wait. */
int th_kill(th_child *c);

/* In a role: one reply line on stdout, flushed. */
void th_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whole seconds a long test should run: def, or short_def when
 * LSM_TEST_SHORT=1. */
double th_duration(double def, double short_def);

/* CLOCK_MONOTONIC seconds. */
double th_now(void);

/* A process's VmRSS in MiB (fails the test when it cannot be read). */
double th_vmrss_mb(pid_t pid);

/* Sets ASan's quarantine (256 MiB by default) of the processes started
 * from now on to 16 MiB, so a daemon's VmRSS shows what it really holds.
 * Harmless without ASan. */
void th_small_asan_quarantine(void);

#endif
