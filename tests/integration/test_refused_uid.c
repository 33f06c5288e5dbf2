/*
 * test_refused_uid.c — who may attach.  As root, a process that setuid()s
 * to 65534 (nobody, group 65534):
 *   - cannot even connect to the default 0600 socket of a daemon whose
 *     config allows another uid only (connect: -EACCES);
 *   - with socket_group = 65534 it reaches the socket, but its uid is not
 *     allowed: it gets the -EACCES refusal reply, sent at accept, before
 *     any hello (the reply names its uid);
 *   - is accepted once allow_uids lists it (socket_group lets it reach the
 *     socket), or once allow_gids lists its group (the socket then belongs
 *     to that group, mode 0660).
 * Skipped (exit 77) when not run as root.
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "hello.h"

#define NOBODY 65534

static th_daemon g_d;
/* nobody must be able to reach the socket's directory: the socket's own
 * mode and SO_PEERCRED decide. */
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_BIN, .tag = "uid", .open_dir = true };

typedef struct nobody_result {
    int connect_rc;       /* shm_hello_connect: fd >= 0 -> 0, else -errno */
    int hello_rc, status; /* shm_hello_client's return and the reply status */
    char message[SHM_HELLO_WHY_BYTES];
    int put_rc;           /* lsmd_connect + put, when the hello was accepted */
} nobody_result;

/* Attaches as uid/gid NOBODY in a forked child: a raw handshake first (to
 * see where a refusal came from), then the client library. */
static nobody_result attach_as_nobody(void)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        nobody_result r = { .connect_rc = 1, .hello_rc = 1, .status = 1, .put_rc = 1 };
        if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
            r.connect_rc = -errno;
        int fd = r.connect_rc == 1 ? shm_hello_connect(g_d.sock) : -1;
        if (r.connect_rc == 1)
            r.connect_rc = fd < 0 ? fd : 0;
        if (fd >= 0) {
            struct shm_hello_req req;
            struct shm_hello_rep rep;
            int seg, dir;
            shm_hello_req_init(&req, 0, 0, 0);
            r.hello_rc = shm_hello_client(fd, &req, &rep, &seg, &dir, 2000);
            if (r.hello_rc == 0) {
                r.status = rep.status;
                memcpy(r.message, rep.message, sizeof r.message);
                if (rep.status == 0)
                    close(seg), close(dir);
            }
            close(fd);
        }
        lsmd_conn *c = NULL;
        if (r.status == 0 && (r.put_rc = lsmd_connect(g_d.sock, &c)) == 0) {
            r.put_rc = lsmd_put(c, "nobody", 6, "was here", 8, 0);
            lsmd_disconnect(c);
        }
        if (write(pfd[1], &r, sizeof r) != (ssize_t)sizeof r)
            _exit(2);
        _exit(0);
    }
    close(pfd[1]);
    nobody_result r;
    assert_int_equal(read(pfd[0], &r, sizeof r), (ssize_t)sizeof r);
    close(pfd[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return r;
}

/* Starts the daemon with these config lines (after [lsmd]). */
static void start_with(const char *lines)
{
    char *cfg;
    assert_true(asprintf(&cfg, "%s/lsmd.ini", g_d.root) > 0);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "# written by test_refused_uid\n[lsmd]\n%s\nspin_us = 20\n", lines);
    fclose(f);
    const char *extra[] = { "--config", cfg, NULL };
    thd_start(&g_d, extra);
    free(cfg);
}

static void expect_accepted(const char *config)
{
    start_with(config);
    nobody_result r = attach_as_nobody();
    if (r.connect_rc != 0 || r.hello_rc != 0 || r.status != 0 || r.put_rc != 0)
        fail_msg("uid %d should attach with '%s': connect %d, hello %d, status %d (%s), "
                 "put %d", NOBODY, config, r.connect_rc, r.hello_rc, r.status, r.message,
                 r.put_rc);
    assert_int_equal(thd_stop(&g_d), 0);
}

static void test_refused_uid(void **state)
{
    (void)state;
    /* 0600 socket: nobody cannot even connect. */
    start_with("allow_uids = 12345");
    nobody_result r = attach_as_nobody();
    if (r.connect_rc != -EACCES)
        fail_msg("uid %d should not reach a 0600 socket: connect %d", NOBODY, r.connect_rc);
    /* Our own uid is always allowed. */
    lsmd_conn *c = thd_connect(&g_d);
    assert_int_equal(lsmd_ping(c), 0);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(&g_d), 0);

    /* It reaches the socket (its group owns it) but its uid is refused at
     * accept, with the reply, though its hello may never have been read. */
    start_with("allow_uids = 12345\nsocket_group = 65534");
    r = attach_as_nobody();
    if (r.connect_rc != 0 || r.hello_rc != 0 || r.status != -EACCES ||
        !strstr(r.message, "uid 65534"))
        fail_msg("uid %d should get the -EACCES reply: connect %d, hello %d, status %d (%s)",
                 NOBODY, r.connect_rc, r.hello_rc, r.status, r.message);
    assert_int_equal(thd_stop(&g_d), 0);

    expect_accepted("allow_uids = 1000, 65534\nsocket_group = 65534");
    expect_accepted("allow_gids = 65534");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = { TH_TEST(test_refused_uid, &g_fx) };
    return TH_MAIN(argc, argv, NULL, "to setuid(65534)", tests);
}
