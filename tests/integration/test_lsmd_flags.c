/*
 * test_lsmd_flags.c — lsmd's command line, with a real lsmd and real
 * lsmctl processes:
 *   - every engine option (lsm_option_at) given as a flag with a value
 *     other than its default is in force in the engine;
 *   - engine options lsmd did not take before (max_open_files,
 *     memtable_impl, l0_stop_trigger, level_base_bytes,
 *     tiered_max_space_amp), given as flags or in the --config file's
 *     [engine] section, reach the engine (get-option through liblsmd and
 *     `lsmctl get-option`);
 *   - a reload (SIGHUP) applies a changed runtime engine option and says
 *     an open-time one waits for the restart;
 *   - a bad engine value stops lsmd before it opens anything, naming the key;
 *   - `lsmd --version` prints LSM_VERSION; `lsmd --help` lists every engine
 *     option and no source file;
 *   - LSMD_SOCKET: lsmd started with it and no --socket listens there, and
 *     lsmctl with the same variable reaches it.
 */
#include "harness.h"
#include "lsm.h"

#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static th_daemon g_d;
static th_fixture g_fx = { &g_d, LSMD_BIN, "flags", NULL, .start = false };

/* Runs argv (env_sock: LSMD_SOCKET for it, NULL = unset) with stdout and
 * stderr into out (cap bytes, NUL-terminated); returns the exit code. */
static int run(char *const argv[], const char *env_sock, char *out, size_t cap)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (env_sock)
            setenv("LSMD_SOCKET", env_sock, 1);
        else
            unsetenv("LSMD_SOCKET");
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0;
    ssize_t n;
    while ((n = read(p[0], out + len, cap - 1 - len)) > 0 && len + (size_t)n < cap - 1)
        len += (size_t)n;
    if (n > 0)
        len += (size_t)n;
    char sink[4096];
    while (read(p[0], sink, sizeof sink) > 0)
        ;
    out[len] = '\0';
    close(p[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Starts argv as d's lsmd, its output in d's log; env_sock and xdg (NULL:
 * inherited) set LSMD_SOCKET and XDG_RUNTIME_DIR for it. */
static void spawn_logged(th_daemon *d, char *const argv[], const char *env_sock, const char *xdg)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (env_sock)
            setenv("LSMD_SOCKET", env_sock, 1);
        if (xdg)
            setenv("XDG_RUNTIME_DIR", xdg, 1);
        int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    d->pid = pid;
}

/* Writes text to ROOT/lsmd.ini; returns its path (malloc'd). */
static char *write_ini(const th_daemon *d, const char *text)
{
    char *ini;
    assert_true(asprintf(&ini, "%s/lsmd.ini", d->root) > 0);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return ini;
}

static void test_new_engine_flags_reach_the_engine(void **state)
{
    th_daemon *d = ((th_fixture *)*state)->d;
    static const char *const extra[] = {
        "--max-open-files", "77", "--memtable-impl", "vector", "--l0-stop-trigger", "40",
        "--level_base_bytes=128M", "--tiered-max-space-amp", "1.5", NULL,
    };
    thd_start(d, extra);
    lsmd_conn *c = thd_connect(d);
    th_expect_option(c, "max_open_files", "77");
    th_expect_option(c, "memtable_impl", "vector");
    th_expect_option(c, "l0_stop_trigger", "40");
    th_expect_option(c, "level_base_bytes", "134217728");
    th_expect_option(c, "tiered_max_space_amp", "1.5");
    /* The vector memtable really serves: a put and a get through it. */
    assert_int_equal(lsmd_put(c, "k", 1, "v", 1, 0), 0);
    void *v = NULL;
    size_t vlen = 0;
    assert_int_equal(lsmd_get(c, 0, "k", 1, &v, &vlen), 0);
    assert_int_equal(vlen, 1);
    free(v);
    lsmd_disconnect(c);
    char out[256];
    char *const argv[] = { LSMCTL_BIN, "--socket", d->sock, "get-option", "max_open_files", NULL };
    assert_int_equal(run(argv, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "77"));
    assert_int_equal(thd_stop(d), 0);
}

static void test_config_file_engine_section(void **state)
{
    th_daemon *d = ((th_fixture *)*state)->d;
    char *ini = write_ini(d, "[lsmd]\nmax_open_files = 88\n[engine]\nmemtable_impl = vector\n"
                             "l0_slowdown_trigger = 25\n");
    const char *const extra[] = { "--config", ini, NULL };
    thd_start(d, extra);
    lsmd_conn *c = thd_connect(d);
    th_expect_option(c, "max_open_files", "88");
    th_expect_option(c, "memtable_impl", "vector");
    th_expect_option(c, "l0_slowdown_trigger", "25");
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(d), 0);
    free(ini);
}

/* Polls d's log for text (up to 10 s); false when it never shows. */
static bool log_shows(const th_daemon *d, const char *text)
{
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(d->log, "r");
        char line[1024];
        bool found = false;
        while (f && !found && fgets(line, sizeof line, f))
            found = strstr(line, text) != NULL;
        if (f)
            fclose(f);
        if (found)
            return true;
        usleep(20000);
    }
    return false;
}

/* SIGHUP with a changed file: an engine option the engine changes at run
 * time (l0_stop_trigger, memtable_bytes in K/M/G spelling) applies at
 * once; an open-time one (max_open_files) waits for the restart, and the
 * log says so. */
static void test_reload_engine_keys(void **state)
{
    th_daemon *d = ((th_fixture *)*state)->d;
    char *ini = write_ini(d, "log_level = info\nl0_stop_trigger = 40\nmax_open_files = 100\n"
                             "memtable_bytes = 8MiB\n");
    const char *const extra[] = { "--config", ini, NULL };
    thd_start(d, extra);
    lsmd_conn *c = thd_connect(d);
    th_expect_option(c, "l0_stop_trigger", "40");
    th_expect_option(c, "memtable_bytes", "8388608");
    free(write_ini(d, "log_level = info\nl0_stop_trigger = 44\nmax_open_files = 200\n"
                      "memtable_bytes = 16MiB\n"));
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    assert_true(log_shows(d, "reload: memtable_bytes = 16M"));
    th_expect_option(c, "l0_stop_trigger", "44");
    th_expect_option(c, "memtable_bytes", "16777216");
    assert_true(log_shows(d, "reload: max_open_files changed in the configuration; it takes "
                             "effect at the next restart"));
    th_expect_option(c, "max_open_files", "100");
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(d), 0);
    free(ini);
}

/* A valid value other than the default for option o, into buf; NULL for
 * use_direct_io (a tmpfs refuses O_DIRECT: test_daemon_direct_io covers
 * it).  Numbers move up by one, which keeps every pair rule (4 < 20 < 36
 * becomes 5 < 21 < 37). */
static const char *other_value(const lsm_option_info *o, char *buf, size_t cap)
{
    if (strcmp(o->name, "compaction_style") == 0)
        return "tiered";
    if (strcmp(o->name, "memtable_impl") == 0)
        return "vector";
    if (strcmp(o->name, "file_mode") == 0)
        return "0640";
    if (strcmp(o->name, "use_direct_io") == 0)
        return NULL;
    lsm_options def;
    lsm_options_init(&def);
    char v[64];
    assert_true(lsm_options_get(&def, o->name, v, sizeof v) > 0);
    snprintf(buf, cap, "%.15g", strtod(v, NULL) + 1);
    return buf;
}

/* Every option of the engine's table, given as a flag with a value other
 * than its default, is in force in the engine lsmd runs. */
static void test_every_engine_option_as_a_flag(void **state)
{
    th_daemon *d = ((th_fixture *)*state)->d;
    static char flag[64][64], val[64][32];
    const char *name[64];
    char *argv[160] = { LSMD_BIN, "--dir", d->db, "--socket", d->sock, "--workers", "1" };
    int argc = 7, n = 0;
    const lsm_option_info *o;
    for (size_t i = 0; (o = lsm_option_at(i)) != NULL; i++) {
        assert_true(n < 64);
        const char *v = other_value(o, val[n], sizeof val[n]);
        if (!v)
            continue;
        if (v != val[n])
            snprintf(val[n], sizeof val[n], "%s", v);
        int len = snprintf(flag[n], sizeof flag[n], "--%s", o->name);
        for (int j = 2; j < len; j++)
            flag[n][j] = flag[n][j] == '_' ? '-' : flag[n][j];
        argv[argc++] = flag[n];
        argv[argc++] = val[n];
        name[n++] = o->name;
    }
    argv[argc] = NULL;
    spawn_logged(d, argv, NULL, NULL);
    thd_wait_serving(d);
    lsmd_conn *c = thd_connect(d);
    for (int i = 0; i < n; i++)
        th_expect_option(c, name[i], val[i]);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(d), 0);
}

/* A value the engine refuses stops lsmd at once (exit 2), naming the key,
 * before the database directory is created. */
static void test_bad_engine_value_refused(void **state)
{
    th_daemon *d = ((th_fixture *)*state)->d;
    static const struct {
        const char *flag, *value;
    } bad[] = {
        { "--max-open-files", "5" }, /* below 10 */
        { "--memtable-impl", "btree" },
        { "--l0-stop-trigger", "lots" },
        { "--compaction-threads", "99" }, /* was refused only after the open */
        { "--l0-compaction-trigger", "0" },
        { "--no-such-option", "1" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char out[4096];
        char *const argv[] = { LSMD_BIN, "--dir", d->db, "--socket", d->sock,
                               (char *)bad[i].flag, (char *)bad[i].value, NULL };
        int rc = run(argv, NULL, out, sizeof out);
        if (rc != 2 || !strstr(out, bad[i].flag + 2))
            fail_msg("%s %s: exit %d, output: %s", bad[i].flag, bad[i].value, rc, out);
        struct stat st;
        assert_int_not_equal(stat(d->db, &st), 0);
    }
}

static void test_version_and_help(void **state)
{
    (void)state;
    char out[64 * 1024];
    char *const version[] = { LSMD_BIN, "--version", NULL };
    assert_int_equal(run(version, NULL, out, sizeof out), 0);
    assert_string_equal(out, "lsmd " LSM_VERSION "\n");
    char *const help[] = { LSMD_BIN, "--help", NULL };
    assert_int_equal(run(help, NULL, out, sizeof out), 0);
    const lsm_option_info *o;
    for (size_t i = 0; (o = lsm_option_at(i)) != NULL; i++) {
        char flag[80];
        snprintf(flag, sizeof flag, "--%s ", o->name);
        for (char *p = flag; *p; p++)
            *p = *p == '_' ? '-' : *p;
        if (!strstr(out, flag))
            fail_msg("lsmd --help does not list %s", flag);
    }
    static const char *const some[] = { "--dir DIR", "--socket PATH", "--workers N",
                                        "--config FILE", "LSMD_SOCKET", "[default: " };
    for (size_t i = 0; i < sizeof some / sizeof *some; i++)
        if (!strstr(out, some[i]))
            fail_msg("lsmd --help does not mention %s", some[i]);
    assert_null(strstr(out, "config.h"));
}

/* lsmd with LSMD_SOCKET and no --socket: it listens there, and lsmctl with
 * the same variable (and no --socket) reaches it.  XDG_RUNTIME_DIR points
 * into the test's directory, so an lsmd that ignored the variable would
 * serve there, not on anyone's real default socket. */
static void test_lsmd_socket_env(void **state)
{
    th_daemon *d = ((th_fixture *)*state)->d;
    char *xdg, *env_sock;
    assert_true(asprintf(&xdg, "%s/xdg", d->root) > 0);
    assert_true(asprintf(&env_sock, "%s/env.sock", d->root) > 0);
    assert_int_equal(mkdir(xdg, 0700), 0);
    char *const argv[] = { LSMD_BIN, "--dir", d->db, "--workers", "1", NULL };
    spawn_logged(d, argv, env_sock, xdg);
    pid_t pid = d->pid;
    double deadline = th_now() + 10;
    struct stat st;
    while (stat(env_sock, &st) != 0) {
        if (th_now() > deadline || waitpid(pid, NULL, WNOHANG) == pid) {
            thd_dump_log(d);
            fail_msg("lsmd did not listen on LSMD_SOCKET %s", env_sock);
        }
        usleep(20000);
    }
    char out[4096];
    char *const put[] = { LSMCTL_BIN, "put", "envkey", "envvalue", NULL };
    char *const get[] = { LSMCTL_BIN, "get", "envkey", NULL };
    double until = th_now() + 10;
    while (run(put, env_sock, out, sizeof out) != 0) { /* listening before serving */
        if (th_now() > until)
            fail_msg("lsmctl put with LSMD_SOCKET: %s", out);
        usleep(50000);
    }
    assert_int_equal(run(get, env_sock, out, sizeof out), 0);
    assert_non_null(strstr(out, "envvalue"));
    /* liblsmd's default path follows the same variable. */
    setenv("LSMD_SOCKET", env_sock, 1);
    lsmd_conn *c;
    assert_int_equal(lsmd_connect(NULL, &c), 0);
    th_expect_option(c, "max_open_files", "1000");
    lsmd_disconnect(c);
    unsetenv("LSMD_SOCKET");
    assert_int_not_equal(stat(d->sock, &st), 0); /* the harness's path unused */
    assert_int_equal(thd_stop(d), 0);
    free(xdg);
    free(env_sock);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        TH_TEST(test_new_engine_flags_reach_the_engine, &g_fx),
        TH_TEST(test_config_file_engine_section, &g_fx),
        TH_TEST(test_every_engine_option_as_a_flag, &g_fx),
        TH_TEST(test_reload_engine_keys, &g_fx),
        TH_TEST(test_bad_engine_value_refused, &g_fx),
        TH_TEST(test_version_and_help, &g_fx),
        TH_TEST(test_lsmd_socket_env, &g_fx),
    };
    return TH_MAIN(argc, argv, NULL, NULL, tests);
}
