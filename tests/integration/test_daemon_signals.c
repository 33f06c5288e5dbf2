/*
 * test_daemon_signals.c — lsmd as a service: SIGHUP, systemd readiness,
 * the log's formats, and the unit file.
 *
 *   sighup_reload      a real lsmd with --config and log_file gets SIGHUP
 *                      (it used to die, exit 129): it keeps serving the
 *                      same connection, the renamed log is left alone and
 *                      a new one appears, a changed block_cache_bytes
 *                      shows in the stats, log_level debug turns on the
 *                      attach/detach lines (absent at info), a changed
 *                      open-time key is reported as waiting for a restart,
 *                      a value set with lsmd_set_option since survives a
 *                      reload that leaves it, and a broken file changes
 *                      nothing.
 *   sd_notify          NOTIFY_SOCKET names a datagram socket the test
 *                      owns: READY=1 arrives and the socket is connectable
 *                      at that moment; SIGHUP without a config file gives
 *                      RELOADING=1 then READY=1; SIGTERM gives STOPPING=1
 *                      and exit 0.
 *   journal_prefix     JOURNAL_STREAM names the daemon's stderr: lines carry
 *                      <6> (info), <7> (debug), <3> (error) and no date;
 *                      without it, every line has an ISO 8601 date with its
 *                      UTC offset (checked in sighup_reload).
 *   bad_log_file       a --log-file that cannot be opened: exit 2, and
 *                      stderr says why.
 *   unit_verify        `systemd-analyze verify` accepts daemon/lsmd.service
 *                      (ExecStart pointed at this build's lsmd) with no
 *                      complaint; skipped with a message when systemd-analyze
 *                      is missing.
 *   make_install_unit  make install-service into a DESTDIR rewrites the
 *                      unit's paths to PREFIX and SYSCONFDIR, installs the
 *                      sysusers entry and the example config, and never
 *                      overwrites an existing config (nor does uninstall
 *                      remove it).
 *
 * LSMD_TEST_BIN overrides the daemon (to run these against an older one).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lsm.h"

static th_daemon g_d;
static th_fixture g_fx = { &g_d, LSMD_BIN, "sig", NULL, .start = false };

/* ---- small helpers ----------------------------------------------------------- */

static char *path_in(const th_daemon *d, const char *name)
{
    char *p;
    if (asprintf(&p, "%s/%s", d->root, name) < 0)
        fail_msg("asprintf");
    return p;
}

static void write_text(const char *path, const char *text)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, path), 0); /* the daemon never reads half a file */
}

/* The whole file (malloc'd, NUL-terminated), or NULL when absent. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = (n + 4096 + 1) * 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Waits up to 10 s for path to contain needle. */
static void await_text(const th_daemon *d, const char *path, const char *needle)
{
    double deadline = th_now() + 10;
    for (;;) {
        char *t = read_text(path);
        bool found = t && strstr(t, needle);
        free(t);
        if (found)
            return;
        if (th_now() > deadline || !thd_alive((th_daemon *)d)) {
            char *all = read_text(path);
            fail_msg("%s never said \"%s\" (daemon %s); it holds:\n%s", path, needle,
                     thd_alive((th_daemon *)d) ? "alive" : "dead", all ? all : "(no file)");
        }
        usleep(20000);
    }
}

static unsigned long long cache_capacity(lsmd_conn *c)
{
    char *json;
    assert_int_equal(lsmd_stats_json(c, &json), 0);
    const char *p = strstr(json, "\"block_cache\":{\"capacity\":");
    if (!p)
        fail_msg("no block_cache capacity in %.300s", json);
    unsigned long long v = strtoull(p + strlen("\"block_cache\":{\"capacity\":"), NULL, 10);
    free(json);
    return v;
}

/* Every line of text matches the ERE re. */
static void every_line_matches(const char *text, const char *re)
{
    regex_t rx;
    assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    char *copy = strdup(text), *save = NULL;
    int lines = 0;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (regexec(&rx, l, 0, NULL, 0) != 0)
            fail_msg("log line does not match %s:\n%s", re, l);
        lines++;
    }
    assert_true(lines > 0);
    free(copy);
    regfree(&rx);
}

#define ISO_LINE                                                                    \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}[+-][0-9]{2}:[0-9]{2} " \
    "lsm (ERROR|WARN |INFO |DEBUG) \\[[0-9]+\\] "

static void put_get(lsmd_conn *c, const char *k, const char *v)
{
    assert_int_equal(lsmd_put(c, k, strlen(k), v, strlen(v), 0), 0);
    void *got;
    size_t n;
    assert_int_equal(lsmd_get(c, 0, k, strlen(k), &got, &n), 0);
    assert_int_equal(n, strlen(v));
    assert_memory_equal(got, v, n);
    free(got);
}

/* ---- SIGHUP -------------------------------------------------------------------- */

static void test_sighup_reload(void **state)
{
    th_fixture *fx = *state;
    th_daemon *d = fx->d;
    char *ini = path_in(d, "lsmd.ini"), *flog = path_in(d, "file.log"),
         *rotated = path_in(d, "file.log.1");
    char text[4096];
    snprintf(text, sizeof text,
             "[lsmd]\nlog_level = info\nlog_file = %s\n[engine]\nblock_cache_bytes = 8M\n",
             flog);
    write_text(ini, text);
    const char *const flags[] = { "--config", ini, NULL };
    thd_start(d, flags);
    lsmd_conn *c = thd_connect(d);
    assert_int_equal(cache_capacity(c), 8ull << 20);
    put_get(c, "before", "1");

    /* Rotate: rename, change two runtime options, HUP. */
    assert_int_equal(rename(flog, rotated), 0);
    snprintf(text, sizeof text,
             "[lsmd]\nlog_level = debug\nlog_file = %s\nspin_us = 7\n[engine]\n"
             "block_cache_bytes = 16M\n",
             flog);
    write_text(ini, text);
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    await_text(d, flog, "reload: done");
    await_text(d, flog, "reload: spin_us changed in the configuration; it takes effect at "
                        "the next restart");
    assert_true(thd_alive(d));
    assert_int_equal(cache_capacity(c), 16ull << 20); /* the same connection serves */
    put_get(c, "after", "2");
    lsmd_disconnect(c);
    c = thd_connect(d); /* a new client: logged at DEBUG now */
    put_get(c, "again", "3");
    lsmd_disconnect(c);
    await_text(d, flog, "detach: client");

    char *old = read_text(rotated), *cur = read_text(flog);
    assert_non_null(old);
    assert_non_null(strstr(old, "serving"));
    /* At info, the test's connections left no attach/detach lines. */
    assert_null(strstr(old, "attach: client"));
    assert_null(strstr(old, "detach: client"));
    assert_null(strstr(old, "reload: done")); /* written after the reopen */
    assert_non_null(strstr(cur, "reload: block_cache_bytes = 16M (was 8M)"));
    assert_non_null(strstr(cur, "attach: client"));
    every_line_matches(old, ISO_LINE);
    every_line_matches(cur, ISO_LINE);
    free(old);
    free(cur);

    /* A value set by an admin since survives a reload that leaves it. */
    c = thd_connect(d);
    assert_int_equal(lsmd_set_option(c, "block_cache_bytes", "32M"), 0);
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    await_text(d, flog, "0 engine options changed, 1 keys wait for a restart");
    assert_int_equal(cache_capacity(c), 32ull << 20);
    lsmd_disconnect(c);

    /* A broken file: refused, nothing changes, the daemon stays. */
    snprintf(text, sizeof text,
             "[lsmd]\nlog_file = %s\n[engine]\nblock_cache_bytes = 4M\nthis is not ini\n", flog);
    write_text(ini, text);
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    await_text(d, flog, "the running one is kept");
    c = thd_connect(d);
    assert_int_equal(cache_capacity(c), 32ull << 20);
    put_get(c, "still", "4");
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(d), 0);
    free(ini);
    free(flog);
    free(rotated);
}

/* ---- sd_notify ------------------------------------------------------------------- */

/* Receives notify datagrams until one has the line want; fails after 20 s. */
static void await_notify(int fd, const char *want)
{
    double deadline = th_now() + 20;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int left = (int)((deadline - th_now()) * 1000);
        if (left <= 0 || poll(&p, 1, left) <= 0)
            fail_msg("no %s from lsmd within 20 s", want);
        char msg[1024];
        ssize_t n = recv(fd, msg, sizeof msg - 1, 0);
        assert_true(n >= 0);
        msg[n] = '\0';
        char *save = NULL;
        for (char *l = strtok_r(msg, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
            if (strcmp(l, want) == 0)
                return;
    }
}

static void test_sd_notify(void **state)
{
    th_fixture *fx = *state;
    th_daemon *d = fx->d;
    char *np = path_in(d, "notify.sock");
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    assert_true(strlen(np) < sizeof a.sun_path);
    strcpy(a.sun_path, np);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);

    /* thd_spawn: thd_start would wait for the socket itself. */
    setenv("NOTIFY_SOCKET", np, 1);
    thd_spawn(d, NULL);
    unsetenv("NOTIFY_SOCKET");
    pid_t pid = d->pid;
    await_notify(fd, "READY=1");
    /* Ready means ready: the first attempt connects and is served. */
    lsmd_conn *c = NULL;
    int rc = lsmd_connect(d->sock, &c);
    if (rc)
        fail_msg("READY=1 came before the socket accepted: %s", lsmd_strerror(rc));
    assert_int_equal(lsmd_ping(c), 0);

    /* SIGHUP with no config file: a reload, not a death. */
    assert_int_equal(kill(pid, SIGHUP), 0);
    await_notify(fd, "RELOADING=1");
    await_notify(fd, "READY=1");
    assert_true(thd_alive(d));
    put_get(c, "k", "v");
    lsmd_disconnect(c);

    assert_int_equal(kill(pid, SIGTERM), 0);
    await_notify(fd, "STOPPING=1");
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    d->pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(fd);
    free(np);
}

/* ---- journald priorities ------------------------------------------------------------ */

static void test_journal_prefix(void **state)
{
    th_fixture *fx = *state;
    th_daemon *d = fx->d;
    /* The log file thd_start sends stderr to plays the journal stream. */
    int lfd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    assert_true(lfd >= 0);
    struct stat st;
    assert_int_equal(fstat(lfd, &st), 0);
    close(lfd);
    char js[64];
    snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    char *ini = path_in(d, "lsmd.ini");
    write_text(ini, "log_level = debug\n");
    setenv("JOURNAL_STREAM", js, 1);
    const char *const flags[] = { "--config", ini, NULL };
    thd_start(d, flags);
    unsetenv("JOURNAL_STREAM");
    write_text(ini, "log_level = debug\nno_such_key = 1\n");
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    await_text(d, d->log, "the running one is kept");
    assert_int_equal(thd_stop(d), 0);
    char *log = read_text(d->log);
    /* stdout shares the file: its one "lsmd: serving" line is not a log line. */
    char *filtered = calloc(1, strlen(log) + 1), *save = NULL;
    for (char *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        if (strncmp(l, "lsmd: serving", 13) != 0)
            strcat(strcat(filtered, l), "\n");
    every_line_matches(filtered, "^<[3467]>lsm (ERROR|WARN |INFO |DEBUG) [^[]");
    assert_non_null(strstr(filtered, "<6>lsm INFO  lsmd "));
    assert_non_null(strstr(filtered, "<7>lsm DEBUG attach: client"));
    assert_non_null(strstr(filtered, "<3>lsm ERROR config: unknown key 'no_such_key'"));
    free(filtered);
    free(log);
    free(ini);
}

/* A log file that cannot be opened stops the start (exit 2), saying why on
 * stderr, instead of logging nowhere. */
static void test_bad_log_file(void **state)
{
    th_fixture *fx = *state;
    th_daemon *d = fx->d;
    char *bad = path_in(d, "missing/lsmd.log");
    const char *const flags[] = { "--log-file", bad, NULL };
    thd_spawn(d, flags);
    int status;
    assert_int_equal(waitpid(d->pid, &status, 0), d->pid);
    d->pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    char *log = read_text(d->log);
    char want[1200];
    snprintf(want, sizeof want, "config: cannot open the log file %s: No such file or directory",
             bad);
    if (!log || !strstr(log, want))
        fail_msg("stderr lacks \"%s\":\n%s", want, log ? log : "(none)");
    free(log);
    free(bad);
}

/* ---- the unit file ---------------------------------------------------------------- */

static void test_unit_verify(void **state)
{
    th_fixture *fx = *state;
    th_daemon *d = fx->d;
    if (system("command -v systemd-analyze >/dev/null 2>&1") != 0) {
        fprintf(stderr, "unit_verify: systemd-analyze is missing; check skipped\n");
        skip();
    }
    char *unit = read_text(LSMD_UNIT_FILE);
    assert_non_null(unit);
    const char *from = "ExecStart=/usr/local/bin/lsmd ";
    char *at = strstr(unit, from);
    assert_non_null(at);
    assert_non_null(strstr(unit, "\nType=notify\n"));
    char *copy = path_in(d, "lsmd.service");
    FILE *f = fopen(copy, "w");
    assert_non_null(f);
    fprintf(f, "%.*sExecStart=%s %s", (int)(at - unit), unit, d->bin, at + strlen(from));
    assert_int_equal(fclose(f), 0);
    char cmd[1024], out[4096] = "";
    snprintf(cmd, sizeof cmd, "systemd-analyze verify --man=no '%s' 2>&1", copy);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    if (rc != 0 || n != 0)
        fail_msg("systemd-analyze verify (exit %d) says:\n%s", rc, out);
    free(copy);
    free(unit);
}

/* make install-service (part of make install) into a DESTDIR: the unit with
 * PREFIX and SYSCONFDIR in its paths, the sysusers entry, the example
 * config, which a second install leaves alone; uninstall keeps it too. */
static void test_make_install_unit(void **state)
{
    th_fixture *fx = *state;
    th_daemon *d = fx->d;
    char src[1024];
    snprintf(src, sizeof src, "%s", LSMD_UNIT_FILE);
    *strrchr(src, '/') = '\0'; /* .../daemon */
    *strrchr(src, '/') = '\0'; /* the tree */
    char *dest = path_in(d, "dest"), cmd[4096];
    /* MAKEFLAGS: a make running this test must not pass its jobserver on. */
    snprintf(cmd, sizeof cmd,
             "env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C '%s' install-service "
             "DESTDIR='%s' PREFIX=/opt/lsmd SYSCONFDIR=/etc >&2",
             src, dest);
    assert_int_equal(system(cmd), 0);
    char p[2048];
    snprintf(p, sizeof p, "%s/opt/lsmd/lib/systemd/system/lsmd.service", dest);
    char *unit = read_text(p);
    assert_non_null(unit);
    assert_non_null(strstr(unit, "\nExecStart=/opt/lsmd/bin/lsmd --config /etc/lsmd/lsmd.conf "));
    assert_null(strstr(unit, "/usr/local"));
    free(unit);
    snprintf(p, sizeof p, "%s/opt/lsmd/lib/sysusers.d/lsmd.conf", dest);
    char *sysusers = read_text(p);
    assert_non_null(sysusers);
    assert_non_null(strstr(sysusers, "\nu lsmd "));
    free(sysusers);
    snprintf(p, sizeof p, "%s/etc/lsmd/lsmd.conf", dest);
    char *conf = read_text(p);
    assert_non_null(conf);
    free(conf);
    write_text(p, "log_level = warn\n"); /* the operator's own */
    assert_int_equal(system(cmd), 0);
    conf = read_text(p);
    assert_string_equal(conf, "log_level = warn\n");
    free(conf);
    snprintf(cmd, sizeof cmd,
             "env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C '%s' uninstall-service "
             "DESTDIR='%s' PREFIX=/opt/lsmd SYSCONFDIR=/etc >&2",
             src, dest);
    assert_int_equal(system(cmd), 0);
    snprintf(p, sizeof p, "%s/opt/lsmd/lib/systemd/system/lsmd.service", dest);
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof p, "%s/etc/lsmd/lsmd.conf", dest);
    assert_int_equal(access(p, F_OK), 0);
    free(dest);
}

int main(int argc, char **argv)
{
    const char *bin = getenv("LSMD_TEST_BIN");
    if (bin && *bin)
        g_fx.bin = bin;
    const struct CMUnitTest tests[] = {
        TH_TEST(test_sighup_reload, &g_fx),
        TH_TEST(test_sd_notify, &g_fx),
        TH_TEST(test_journal_prefix, &g_fx),
        TH_TEST(test_bad_log_file, &g_fx),
        TH_TEST(test_unit_verify, &g_fx),
        TH_TEST(test_make_install_unit, &g_fx),
    };
    return TH_MAIN(argc, argv, NULL, NULL, tests);
}
