/*
 * test_daemon_config.c — daemon/config.c: keys shared by flags and the INI
 * file, sizes with suffixes, refusals of bad keys and values, [engine]
 * pass-through, peer credential policy, default socket path, admission
 * keys and the socket's group; log_level and log_file, and the command
 * line over the file (flags.h).
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "config.h"
#include "config_file.h"
#include "config_keys.h"
#include "flags.h"
#include "start_options.h"

/* A log callback that keeps the last line (lsm_set_log_callback). */
static void keep_line(void *ctx, enum lsm_log_level level, const char *msg)
{
    (void)level;
    snprintf(ctx, 512, "%s", msg);
}

static void test_keys_and_values(void **state)
{
    (void)state;
    daemon_config c;
    config_init(&c);
    assert_int_equal(config_set(&c, "dir", "/tmp/x"), 0);
    assert_string_equal(c.dir, "/tmp/x");
    assert_int_equal(config_set(&c, "workers", "3"), 0);
    assert_int_equal(c.workers, 3);
    assert_int_equal(config_set(&c, "spin-us", "20"), 0); /* flag spelling */
    assert_int_equal(c.spin_us, 20);
    assert_int_equal(config_set(&c, "memtable_bytes", "2M"), 0);
    assert_int_equal(c.engine.memtable_bytes, 2u << 20);
    assert_int_equal(config_set(&c, "memtable-bytes", "64KiB"), 0);
    assert_int_equal(c.engine.memtable_bytes, 64u << 10);
    assert_int_equal(config_set(&c, "numa", "off"), 0);
    assert_int_equal(c.numa, NUMA_MODE_OFF);
    assert_int_equal(config_set(&c, "numa", "1"), 0);
    assert_int_equal(c.numa, NUMA_MODE_NODE);
    assert_int_equal(c.numa_node, 1);
    assert_int_equal(config_set(&c, "io", "posix"), 0);
    assert_string_equal(c.engine.io_backend, "posix");
    assert_int_equal(config_set(&c, "io", "auto"), 0);
    assert_null(c.engine.io_backend);
    /* memtable_bytes changes at run time: kept for a reload too */
    assert_int_equal(c.n_engine_opts, 2);
    assert_string_equal(c.engine_opts[1].value, "64K"); /* lsm_set_option's spelling */
    assert_int_equal(config_set(&c, "compaction", "tiered"), 0);
    assert_int_equal(c.n_engine_opts, 3);
    assert_string_equal(c.engine_opts[2].name, "compaction_style");
    assert_string_equal(c.engine_opts[2].value, "tiered");
    assert_string_equal(c.engine.compaction_style, "tiered");
    assert_int_equal(config_set(&c, "l0_compaction_trigger", "8"), 0);
    assert_int_equal(c.n_engine_opts, 4);
    assert_int_equal(c.engine.l0_compaction_trigger, 8);
    /* Both spellings of the compaction I/O keys reach lsm_set_option. */
    assert_int_equal(config_set(&c, "max-subcompactions", "2"), 0);
    assert_int_equal(config_set(&c, "compaction_readahead_bytes", "4M"), 0);
    assert_int_equal(c.n_engine_opts, 6);
    assert_string_equal(c.engine_opts[4].name, "max_subcompactions");
    assert_string_equal(c.engine_opts[5].name, "compaction_readahead_bytes");
    assert_string_equal(c.engine_opts[5].value, "4M");
    /* use_direct_io: an open-time lsm_options field, not a runtime option */
    assert_int_equal(c.engine.use_direct_io, 0);
    assert_int_equal(config_set(&c, "use-direct-io", "1"), 0);
    assert_int_equal(c.engine.use_direct_io, 1);
    assert_int_equal(config_set(&c, "use_direct_io", "off"), 0);
    assert_int_equal(c.engine.use_direct_io, 0);
    assert_int_equal(config_set(&c, "use_direct_io", "Yes"), 0);
    assert_int_equal(c.engine.use_direct_io, 1);
    /* WAL retention: lsm_options fields too (lsm_open must not delete the
     * history before a runtime set could keep it) */
    assert_int_equal(c.engine.wal_retention_seconds, 0);
    assert_int_equal(c.engine.wal_retention_bytes, 0);
    assert_int_equal(config_set(&c, "wal-retention-seconds", "3600"), 0);
    assert_int_equal(c.engine.wal_retention_seconds, 3600);
    assert_int_equal(config_set(&c, "wal_retention_bytes", "2G"), 0);
    assert_int_equal(c.engine.wal_retention_bytes, 2ull << 30);
    assert_int_equal(config_set(&c, "wal_retention_seconds", "-5"), -EINVAL);
    assert_int_equal(config_set(&c, "wal_retention_bytes", "lots"), -EINVAL);
    assert_int_equal(c.engine.wal_retention_bytes, 2ull << 30);
    assert_int_equal(c.n_engine_opts, 8); /* refusals add nothing */
    assert_true(config_key_is_switch("use-direct-io"));
    assert_false(config_key_is_switch("workers"));

    /* Refusals: unknown keys, junk, out of range, negative sizes.  The log
     * line of a daemon key's refusal carries no reason of its own, and not
     * the one the engine left for the wal_retention_bytes refusal above. */
    assert_int_equal(config_set(&c, "no_such_key", "1"), -EINVAL);
    char line[512] = "";
    lsm_set_log_callback(keep_line, line);
    assert_int_equal(config_set(&c, "workers", "many"), -EINVAL);
    lsm_set_log_callback(NULL, NULL);
    assert_string_equal(line, "config: bad value 'many' for 'workers'");
    assert_int_equal(config_set(&c, "memtable_bytes", "lots"), -EINVAL);
    assert_int_equal(config_set(&c, "workers", "5000"), -EINVAL);
    assert_int_equal(config_set(&c, "memtable_bytes", "-1"), -EINVAL);
    assert_int_equal(config_set(&c, "memtable_bytes", "1X"), -EINVAL);
    assert_int_equal(config_set(&c, "numa", "sometimes"), -EINVAL);
    assert_int_equal(config_set(&c, "compaction", "random"), -EINVAL);
    assert_int_equal(config_set(&c, "io", "mmap"), -EINVAL);
    assert_int_equal(config_set(&c, "allow_uids", "1,x"), -EINVAL);
    assert_int_equal(config_set(&c, "use_direct_io", "2"), -EINVAL);
    assert_int_equal(config_set(&c, "use_direct_io", ""), -EINVAL);
    assert_int_equal(c.engine.use_direct_io, 1);
    assert_int_equal(c.workers, 3); /* unchanged by refusals */
    config_free(&c);
}

static void test_ini_file(void **state)
{
    (void)state;
    char *dir = th_tempdir("config");
    char *path;
    assert_true(asprintf(&path, "%s/lsmd.ini", dir) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("; comment\ndir = /srv/db\nworkers = 2\n[lsmd]\nallow_uids = 1000, 1001\n"
          "allow_gids = 50\nmax_clients = 9\nuse_direct_io = false\n[engine]\nlevel_size_ratio = 8\n"
          "use_direct_io = on\n",
          f);
    fclose(f);
    daemon_config c;
    config_init(&c);
    assert_int_equal(config_load_file(&c, path), 0);
    assert_string_equal(c.dir, "/srv/db");
    assert_int_equal(c.workers, 2);
    assert_int_equal(c.max_clients, 9);
    assert_int_equal(c.engine.use_direct_io, 1);
    assert_int_equal(c.n_allow_uids, 2);
    assert_int_equal(c.allow_uids[1], 1001);
    assert_true(config_peer_allowed(&c, 1001, 7));
    assert_true(config_peer_allowed(&c, 4242, 50));
    assert_true(config_peer_allowed(&c, geteuid(), 7));
    if (geteuid() != 4242)
        assert_false(config_peer_allowed(&c, 4242, 51));
    assert_int_equal(c.n_engine_opts, 1);
    assert_string_equal(c.engine_opts[0].name, "level_size_ratio");
    config_free(&c);

    f = fopen(path, "w");
    fputs("dir = /a\nbogus = 1\n", f);
    fclose(f);
    config_init(&c);
    assert_int_equal(config_load_file(&c, path), -EINVAL);
    config_free(&c);
    f = fopen(path, "w");
    fputs("[nosuchsection]\nx = 1\n", f);
    fclose(f);
    config_init(&c);
    assert_int_equal(config_load_file(&c, path), -EINVAL);
    config_free(&c);
    config_init(&c);
    assert_int_equal(config_load_file(&c, "/nonexistent/lsmd.ini"), -ENOENT);
    config_free(&c);
    free(path);
    th_rmrf_free(dir);
}

/* admin_uids / admin_gids: who may FLUSH, COMPACT, SET_OPTION (admin.h). */
static void test_admin_policy(void **state)
{
    (void)state;
    daemon_config c;
    config_init(&c);
    uid_t me = geteuid();
    uid_t other = me == 4242 ? 4243 : 4242;
    gid_t groups[] = { 70, 71 };
    /* None configured: only the daemon's own uid. */
    assert_true(config_peer_admin(&c, me, 9, NULL, 0));
    assert_false(config_peer_admin(&c, other, 9, groups, 2));
    assert_int_equal(config_set(&c, "admin_uids", "1000, 4242,4243"), 0);
    assert_int_equal(config_set(&c, "admin-gids", "71"), 0);
    assert_int_equal(c.n_admin_uids, 3);
    assert_true(config_peer_admin(&c, other, 9, NULL, 0));
    assert_true(config_peer_admin(&c, 5000, 71, NULL, 0));       /* primary gid */
    assert_true(config_peer_admin(&c, 5000, 9, groups, 2));      /* supplementary */
    assert_false(config_peer_admin(&c, 5000, 9, groups, 1));
    assert_false(config_peer_allowed(&c, 5000, 71)); /* admin does not admit */
    assert_int_equal(config_set(&c, "admin_gids", "7x"), -EINVAL);
    assert_int_equal(c.n_admin_gids, 1); /* unchanged by the refusal */
    config_free(&c);
}

/* file_mode: octal text, private by default, bad modes refused. */
static void test_file_mode(void **state)
{
    (void)state;
    daemon_config c;
    config_init(&c);
    assert_int_equal(c.engine.file_mode, 0600);
    assert_int_equal(config_set(&c, "file_mode", "0640"), 0);
    assert_int_equal(c.engine.file_mode, 0640);
    assert_int_equal(config_set(&c, "file-mode", "660"), 0); /* octal even without 0 */
    assert_int_equal(c.engine.file_mode, 0660);
    static const char *const bad[] = { "", "0644x", "-0600", "0400", "0700", "0755",
                                       "04600", "0999", "640640" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (config_set(&c, "file_mode", bad[i]) != -EINVAL)
            fail_msg("file_mode \"%s\" accepted", bad[i]);
    assert_int_equal(c.engine.file_mode, 0660); /* unchanged by refusals */
    config_free(&c);
}

static void test_finish_defaults(void **state)
{
    (void)state;
    daemon_config c;
    config_init(&c);
    assert_int_equal(config_finish(&c), -EINVAL); /* no dir */
    char *dir = th_tempdir("xdg");
    setenv("XDG_RUNTIME_DIR", dir, 1);
    assert_int_equal(config_set(&c, "dir", "/tmp/db"), 0);
    assert_int_equal(config_finish(&c), 0);
    char *want;
    assert_true(asprintf(&want, "%s/lsmd.sock", dir) > 0);
    assert_string_equal(c.socket_path, want);
    assert_true(c.workers >= 1);
    free(want);
    config_free(&c);
    unsetenv("XDG_RUNTIME_DIR");
    char *mk;
    char *p = config_default_socket(&mk);
    assert_non_null(mk);
    assert_true(strncmp(p, "/tmp/lsmd-", 10) == 0);
    free(p);
    free(mk);
    th_rmrf_free(dir);
}

/* The limits and per-uid quotas (issue 9): defaults, the quarter shares
 * derived at finish, explicit values kept, bad values refused. */
static void test_quota_keys(void **state)
{
    (void)state;
    daemon_config c;
    config_init(&c);
    assert_int_equal(config_set(&c, "dir", "/tmp/db"), 0);
    assert_int_equal(config_set(&c, "socket", "/tmp/x.sock"), 0);
    assert_int_equal(config_finish(&c), 0);
    assert_int_equal(c.max_snapshots, 4096);
    assert_int_equal(c.max_clients_per_uid, 64);    /* max_clients 256 / 4 */
    assert_int_equal(c.max_snapshots_per_uid, 1024); /* max_snapshots / 4 */
    assert_int_equal(c.max_iters_per_uid, 1024);
    assert_int_equal(c.max_arena_bytes_per_uid, 4ull << 30);
    config_free(&c);

    config_init(&c);
    assert_int_equal(config_set(&c, "dir", "/tmp/db"), 0);
    assert_int_equal(config_set(&c, "socket", "/tmp/x.sock"), 0);
    assert_int_equal(config_set(&c, "max-clients", "2"), 0);
    assert_int_equal(config_set(&c, "max_snapshots", "100"), 0);
    assert_int_equal(config_set(&c, "max-iters-per-uid", "8"), 0);
    assert_int_equal(config_set(&c, "max_arena_bytes_per_uid", "64M"), 0);
    assert_int_equal(config_finish(&c), 0);
    assert_int_equal(c.max_clients_per_uid, 1); /* at least one */
    assert_int_equal(c.max_snapshots_per_uid, 25);
    assert_int_equal(c.max_iters_per_uid, 8);
    assert_int_equal(c.max_arena_bytes_per_uid, 64u << 20);
    assert_int_equal(config_set(&c, "max_clients_per_uid", "3"), 0);
    assert_int_equal(config_set(&c, "max_snapshots_per_uid", "7"), 0);
    assert_int_equal(config_finish(&c), 0); /* explicit values stay */
    assert_int_equal(c.max_clients_per_uid, 3);
    assert_int_equal(c.max_snapshots_per_uid, 7);
    assert_int_equal(config_set(&c, "max_snapshots", "0"), -EINVAL);
    assert_int_equal(config_set(&c, "max_snapshots", "65537"), -EINVAL); /* directory max */
    assert_int_equal(config_set(&c, "max_clients_per_uid", "0"), -EINVAL);
    assert_int_equal(config_set(&c, "max_iters_per_uid", "-1"), -EINVAL);
    assert_int_equal(config_set(&c, "max_arena_bytes_per_uid", "0"), -EINVAL);
    assert_int_equal(c.max_snapshots, 100);
    config_free(&c);
}

/* Admission: defaults, ranges, and which group owns the socket. */
static void test_admission_keys(void **state)
{
    (void)state;
    char *dir = th_tempdir("adm");
    daemon_config c;
    config_init(&c);
    assert_int_equal(c.max_pending, 64);
    assert_int_equal(c.max_pending_per_uid, 16);
    assert_int_equal(c.hello_timeout_ms, 1000);
    assert_int_equal(config_set(&c, "max-pending", "8"), 0);
    assert_int_equal(config_set(&c, "max_pending_per_uid", "2"), 0);
    assert_int_equal(config_set(&c, "hello_timeout_ms", "250"), 0);
    assert_int_equal(c.max_pending, 8);
    assert_int_equal(c.max_pending_per_uid, 2);
    assert_int_equal(c.hello_timeout_ms, 250);
    assert_int_equal(config_set(&c, "max_pending", "0"), -EINVAL);
    assert_int_equal(config_set(&c, "hello_timeout_ms", "5"), -EINVAL);
    assert_int_equal(config_set(&c, "socket_group", ""), -EINVAL);
    assert_int_equal(config_set(&c, "dir", "/tmp/db"), 0);
    char *sock;
    assert_true(asprintf(&sock, "%s/s.sock", dir) > 0);
    assert_int_equal(config_set(&c, "socket", sock), 0);
    free(sock);
    /* No group: a private socket. */
    assert_int_equal(config_finish(&c), 0);
    assert_false(c.socket_gid_set);
    /* allow_gids: the first one owns the socket. */
    assert_int_equal(config_set(&c, "allow_gids", "4242, 51"), 0);
    assert_int_equal(config_finish(&c), 0);
    assert_true(c.socket_gid_set);
    assert_int_equal(c.socket_gid, 4242);
    /* socket_group wins, by number or by name. */
    assert_int_equal(config_set(&c, "socket_group", "77"), 0);
    assert_int_equal(config_finish(&c), 0);
    assert_int_equal(c.socket_gid, 77);
    assert_int_equal(config_set(&c, "socket_group", "root"), 0);
    assert_int_equal(config_finish(&c), 0);
    assert_int_equal(c.socket_gid, 0);
    assert_int_equal(config_set(&c, "socket_group", "no-such-group-lsmd"), 0);
    assert_int_equal(config_finish(&c), -EINVAL);
    config_free(&c);
    th_rmrf_free(dir);
}

/* max_request_bytes: a size, 4 KiB .. the engine's 1 GiB batch limit. */
static void test_max_request_bytes(void **state)
{
    (void)state;
    daemon_config c;
    config_init(&c);
    assert_int_equal(c.max_request_bytes, LSMD_DEFAULT_MAX_REQUEST_BYTES);
    assert_int_equal(config_set(&c, "max-request-bytes", "64M"), 0);
    assert_int_equal(c.max_request_bytes, 64u << 20);
    assert_int_equal(config_set(&c, "max_request_bytes", "1G"), 0);
    assert_int_equal(c.max_request_bytes, 1u << 30);
    assert_int_equal(config_set(&c, "max_request_bytes", "4096"), 0);
    assert_int_equal(config_set(&c, "max_request_bytes", "4095"), -EINVAL);
    assert_int_equal(config_set(&c, "max_request_bytes", "1073741825"), -EINVAL);
    assert_int_equal(config_set(&c, "max_request_bytes", "2G"), -EINVAL);
    assert_int_equal(c.max_request_bytes, 4096u);
    config_free(&c);
}

/* log_level and log_file are stored, not applied, until
 * config_apply_logging: a reload that fails half-way changes nothing.
 * The command line (flags.h) overrides the file, at start and reload. */
static void test_log_keys_and_flags(void **state)
{
    (void)state;
    char *dir = th_tempdir("config");
    char *ini, *logp;
    assert_true(asprintf(&ini, "%s/lsmd.ini", dir) > 0);
    assert_true(asprintf(&logp, "%s/lsmd.log", dir) > 0);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    fprintf(f, "dir = /srv/db\nlog_level = debug\nlog_file = %s\nspin_us = 7\n", logp);
    fclose(f);
    lsm_log_set_level(LSM_LOG_WARN);
    daemon_config c;
    config_init(&c);
    assert_int_equal(c.log_level, -1);
    char *argv[] = { "lsmd", "--spin-us", "9", "--config", ini, "--log-level=info", NULL };
    assert_int_equal(flags_parse(&c, 6, argv), 0);
    assert_false(lsm_log_enabled(LSM_LOG_INFO)); /* not applied yet */
    assert_int_equal(c.log_level, LSM_LOG_INFO); /* the flag beats the file */
    assert_int_equal(c.spin_us, 9);
    assert_string_equal(c.log_file, logp);
    assert_string_equal(c.config_path, ini);
    assert_int_equal(config_set(&c, "log-file", ""), 0); /* "" = stderr */
    assert_null(c.log_file);
    assert_int_equal(config_set(&c, "log_level", "loud"), -EINVAL);
    assert_int_equal(c.log_level, LSM_LOG_INFO);
    assert_int_equal(config_apply_logging(&c), 0);
    assert_true(lsm_log_enabled(LSM_LOG_INFO));
    assert_false(lsm_log_enabled(LSM_LOG_DEBUG));
    char *help[] = { "lsmd", "--help", NULL };
    assert_int_equal(flags_parse(&c, 2, help), 1);
    char *bad[] = { "lsmd", "--no-such-key", "1", NULL };
    assert_int_equal(flags_parse(&c, 3, bad), -EINVAL);
    config_free(&c);
    lsm_log_set_level(LSM_LOG_ERROR);
    free(ini);
    free(logp);
    th_rmrf_free(dir);
}

/* start_options: defaults < DIR/OPTIONS < given (file or flags). */
static void test_start_options_precedence(void **state)
{
    (void)state;
    char *dir = th_tempdir("startopt");
    lsm_options o;
    lsm_options_init(&o);
    o.compaction_style = "tiered";
    o.block_bytes = 8192;
    o.l0_compaction_trigger = 6;
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0); /* writes DIR/OPTIONS */
    assert_int_equal(lsm_close(db), 0);

    daemon_config c;
    config_init(&c);
    assert_int_equal(config_set(&c, "dir", dir), 0);
    lsm_options out;
    assert_int_equal(start_options(&c, &out), 0); /* nothing given */
    assert_string_equal(out.compaction_style, "tiered");
    assert_int_equal(out.block_bytes, 8192);
    assert_int_equal(out.l0_compaction_trigger, 6);
    assert_int_equal(out.memtable_bytes, 64u << 20); /* the default */
    assert_int_equal(config_set(&c, "block-bytes", "16K"), 0);
    assert_int_equal(config_set(&c, "compaction", "leveled"), 0);
    assert_int_equal(start_options(&c, &out), 0);
    assert_int_equal(out.block_bytes, 16384);              /* given */
    assert_string_equal(out.compaction_style, "leveled");  /* given */
    assert_int_equal(out.l0_compaction_trigger, 6);         /* persisted */
    config_free(&c);

    /* A damaged file stops the start. */
    char *path;
    assert_true(asprintf(&path, "%s/OPTIONS", dir) > 0);
    assert_int_equal(truncate(path, 20), 0);
    config_init(&c);
    assert_int_equal(config_set(&c, "dir", dir), 0);
    assert_int_equal(start_options(&c, &out), LSM_ECORRUPT);
    config_free(&c);
    free(path);
    th_rmrf_free(dir);
}

/* metrics_listen: numeric HOST:PORT parsed when set (so a bad one stops
 * start-up with the reason); "off" or empty turns it off. */
static void test_metrics_listen(void **state)
{
    (void)state;
    daemon_config c;
    config_init(&c);
    assert_false(c.metrics_on); /* off by default */
    char got[80];
    static const struct {
        const char *in, *out;
    } ok[] = {
        { "127.0.0.1:9464", "127.0.0.1:9464" }, { "0.0.0.0:0", "0.0.0.0:0" },
        { ":9464", "0.0.0.0:9464" },            { "[::1]:9464", "[::1]:9464" },
        { "[::]:65535", "[::]:65535" },
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        assert_int_equal(config_set(&c, "metrics-listen", ok[i].in), 0);
        assert_true(c.metrics_on);
        listen_addr_format((const struct sockaddr *)&c.metrics_addr.ss, got, sizeof got);
        assert_string_equal(got, ok[i].out);
    }
    static const char *const bad[] = { "9464",         "localhost:9464", "127.0.0.1:",
                                       "127.0.0.1:-1", "127.0.0.1:65536", "127.0.0.1:99999999999",
                                       "::1:9464",     "[::1]",          "[::1]:",
                                       "[]:80",        "1.2.3.4.5:80",   "127.0.0.1:80x" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (config_set(&c, "metrics_listen", bad[i]) != -EINVAL)
            fail_msg("metrics_listen '%s' accepted", bad[i]);
    assert_true(c.metrics_on); /* a refused value changes nothing */
    listen_addr_format((const struct sockaddr *)&c.metrics_addr.ss, got, sizeof got);
    assert_string_equal(got, "[::]:65535");
    assert_int_equal(config_set(&c, "metrics_listen", "off"), 0);
    assert_false(c.metrics_on);
    assert_int_equal(config_set(&c, "metrics_listen", "127.0.0.1:1"), 0);
    assert_int_equal(config_set(&c, "metrics_listen", ""), 0);
    assert_false(c.metrics_on);
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_and_values),
        cmocka_unit_test(test_ini_file),
        cmocka_unit_test(test_admin_policy),
        cmocka_unit_test(test_finish_defaults),
        cmocka_unit_test(test_quota_keys),
        cmocka_unit_test(test_admission_keys),
        cmocka_unit_test(test_file_mode),
        cmocka_unit_test(test_max_request_bytes),
        cmocka_unit_test(test_log_keys_and_flags),
        cmocka_unit_test(test_start_options_precedence),
        cmocka_unit_test(test_metrics_listen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
