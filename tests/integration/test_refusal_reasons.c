/*
 * test_refusal_reasons.c — a refusal says why (issue 14, items 7 and 12),
 * with a real lsmd and real lsmctl processes:
 *
 *   lsmctl_reasons     each refusal of item 7 (and its neighbours) through
 *                      lsmctl: exit 1 and the reason on stderr, never a
 *                      bare "Invalid argument" (a table: arguments, text).
 *   client_reasons     the same through liblsmd: lsmd_last_error() after
 *                      each failed call, whether the daemon refused it (the
 *                      reason came back in the segment) or the library did
 *                      before sending; a later successful call forgets it.
 *   daemon_checks      the daemon's own descriptor checks (raw requests the
 *                      library would refuse) carry the same wording back.
 *   no_daemon          lsmctl against a socket nobody listens on names the
 *                      path it tried and asks "is lsmd running?".
 *   missing_socket_dir lsmd with its socket in a missing directory names
 *                      that directory, not its .lock file.
 */
#include "helpers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "harness.h"

static th_daemon g_d;
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_BIN, .tag = "reasons", .start = true };

/* The whole file at path, NUL-terminated (caller frees), or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0;
    FILE *m = open_memstream(&buf, &cap);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    fclose(m);
    return buf;
}

/* A key of n bytes of 'k' (caller frees). */
static char *long_key(size_t n)
{
    char *k = malloc(n + 1);
    assert_non_null(k);
    memset(k, 'k', n);
    k[n] = '\0';
    return k;
}

/* ---- through lsmctl -------------------------------------------------------- */

static void test_lsmctl_reasons(void **state)
{
    th_fixture *fx = *state;
    char *k65537 = long_key(LSM_MAX_KEY_SIZE + 1);
    static const char *const unknown[] = { "set", "no_such_option", "5", NULL };
    static const char *const style[] = { "set", "compaction_style", "sideways", NULL };
    static const char *const threads[] = { "set", "compaction_threads", "99", NULL };
    static const char *const floor_[] = { "set", "memtable_bytes", "1K", NULL };
    static const char *const notnum[] = { "set", "l0_stop_trigger", "many", NULL };
    static const char *const openonly[] = { "set", "max_open_files", "100", NULL };
    static const char *const pair[] = { "set", "l0_stop_trigger", "2", NULL };
    static const char *const empty[] = { "put", "", "v", NULL };
    static const char *const getopt[] = { "get-option", "no_such_option", NULL };
    static const char *const level[] = { "compact", "99", NULL };
    static const char *const emptyget[] = { "get", "", NULL };
    const char *const bigkey[] = { "put", k65537, "v", NULL };
    static const struct {
        const char *const *args;
        const char *want;
    } rows[] = {
        { unknown, "lsmctl: set: no such option: no_such_option" },
        { style, "lsmctl: set: compaction_style: expected leveled or tiered" },
        { threads, "lsmctl: set: compaction_threads: 99 is above the maximum 16" },
        { floor_, "memtable_bytes: 1024 is below the minimum 65536 at run time" },
        { notnum, "l0_stop_trigger: \"many\" is not a whole number" },
        { openonly, "max_open_files can only be set at open" },
        { pair, "l0_compaction_trigger (4) must be below l0_stop_trigger (2)" },
        { empty, "lsmctl: put: empty key" },
        { getopt, "no such option: no_such_option" },
        { level, "level out of range" },
        { emptyget, "lsmctl: get: empty key" },
        { NULL, "lsmctl: put: key of 65537 bytes exceeds the 65536-byte limit" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *const *args = rows[i].args ? rows[i].args : bigkey;
        char err[1024];
        int code = thd_lsmctl(fx->d, NULL, NULL, args, err, sizeof err);
        if (code != 1 || !strstr(err, rows[i].want) || strstr(err, "Invalid argument"))
            fail_msg("lsmctl %s %s: exit %d, stderr \"%s\"; wanted exit 1 and \"%s\"", args[0],
                     args[1], code, err, rows[i].want);
    }
    /* Nothing refused changed anything. */
    lsmd_conn *c = thd_connect(fx->d);
    char *v = NULL;
    assert_int_equal(lsmd_get_option(c, "compaction_style", &v), 0);
    assert_string_equal(v, "leveled");
    free(v);
    lsmd_disconnect(c);
    free(k65537);
}

/* ---- through liblsmd ------------------------------------------------------- */

static void test_client_reasons(void **state)
{
    th_fixture *fx = *state;
    lsmd_conn *c = thd_connect(fx->d);
    char *k = long_key(LSM_MAX_KEY_SIZE + 1);

    /* Refused by the daemon (the engine's reason, carried back). */
    assert_int_equal(lsmd_set_option(c, "no_such_option", "5"), -EINVAL);
    assert_string_equal(lsmd_last_error(c), "no such option: no_such_option");
    assert_int_equal(lsmd_set_option(c, "compaction_threads", "99"), -EINVAL);
    assert_string_equal(lsmd_last_error(c), "compaction_threads: 99 is above the maximum 16");
    assert_int_equal(lsmd_set_option(c, "compaction_style", "sideways"), -EINVAL);
    assert_string_equal(lsmd_last_error(c), "compaction_style: expected leveled or tiered");

    /* A success forgets the last failure. */
    assert_int_equal(lsmd_set_option(c, "compaction_threads", "2"), 0);
    assert_string_equal(lsmd_last_error(c), lsmd_strerror(0));

    /* Refused by the library before anything is sent. */
    assert_int_equal(lsmd_put(c, "", 0, "v", 1, 0), -EINVAL);
    assert_string_equal(lsmd_last_error(c), "empty key");
    assert_int_equal(lsmd_put(c, k, LSM_MAX_KEY_SIZE + 1, "v", 1, 0), -EINVAL);
    assert_string_equal(lsmd_last_error(c), "key of 65537 bytes exceeds the 65536-byte limit");
    void *v;
    size_t vlen;
    assert_int_equal(lsmd_get(c, 0, k, LSM_MAX_KEY_SIZE + 1, &v, &vlen), -EINVAL);
    assert_string_equal(lsmd_last_error(c), "key of 65537 bytes exceeds the 65536-byte limit");

    assert_int_equal(lsmd_set_option(c, "", "1"), -EINVAL);
    assert_string_equal(lsmd_last_error(c), "no option name");
    assert_int_equal(lsmd_compact(c, -2), -EINVAL);
    assert_string_equal(lsmd_last_error(c), "level out of range: -1 (the whole tree) or 0 .. 64");

    /* A failure without a reason: the code's text, not a stale reason. */
    assert_int_equal(lsmd_get(c, 0, "absent", 6, &v, &vlen), LSM_ENOTFOUND);
    assert_string_equal(lsmd_last_error(c), lsmd_strerror(LSM_ENOTFOUND));

    /* More failures than the reason table has slots: each still reads its own. */
    for (unsigned i = 0; i < 3 * SHM_REASON_SLOTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "nope_%u", i);
        assert_int_equal(lsmd_set_option(c, name, "1"), -EINVAL);
        char want[64];
        snprintf(want, sizeof want, "no such option: %s", name);
        assert_string_equal(lsmd_last_error(c), want);
    }
    free(k);
    lsmd_disconnect(c);
}

/* The daemon's own check of a descriptor (shm/validate.c), reached with
 * raw requests the library would have refused itself. */
static void test_daemon_checks(void **state)
{
    th_fixture *fx = *state;
    lsmd_conn *c = thd_connect(fx->d);
    static const struct {
        uint32_t key_len;
        const char *want;
    } rows[] = {
        { 0, "empty key" },
        { LSM_MAX_KEY_SIZE + 1, "key of 65537 bytes exceeds the 65536-byte limit" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        memset(conn_large(c), 'k', rows[i].key_len);
        struct shm_sqe sqe = { .opcode = SHM_OP_PUT, .key_off = c->large_off,
                               .key_len = rows[i].key_len };
        struct shm_cqe cqe;
        assert_int_equal(conn_call(c, &sqe, &cqe), 0);
        assert_int_equal(cqe.status, -EINVAL);
        assert_true(cqe.flags & SHM_CQ_REASON);
        assert_string_equal(lsmd_last_error(c), rows[i].want);
    }
    /* Asynchronous requests the daemon refuses: each completion's reason,
     * as lsmd_poll returns it.  Up to SHM_REASON_SLOTS failures completed
     * before the client reaps them all keep their reasons; beyond that the
     * oldest fall back to the generic text, never to another's reason. */
    assert_true(c->qd >= SHM_REASON_SLOTS + 6);
    for (uint32_t n = SHM_REASON_SLOTS; n <= SHM_REASON_SLOTS + 6; n += 6) {
        for (uint32_t i = 0; i < n; i++) {
            uint32_t slot = c->free_slots[--c->nfree]; /* as async.c's take_slot */
            c->slots[slot] = (struct conn_slot){ .user_data = i, .op = LSMD_OP_PUT,
                                                 .state = SLOT_INFLIGHT };
            struct shm_sqe sqe = { .opcode = SHM_OP_PUT, .tag = slot, .key_off = c->large_off,
                                   .key_len = i % 2 ? LSM_MAX_KEY_SIZE + 1 : 0 };
            assert_int_equal(conn_push(c, &sqe), 0);
            c->async_inflight++;
        }
        /* All of them completed before the first is reaped. */
        assert_int_equal(lsmd_ping(c), 0);
        uint32_t generic = 0;
        for (uint32_t got = 0; got < n; got++) {
            lsmd_completion cp;
            assert_int_equal(lsmd_poll(c, &cp, 1, 1), 1);
            assert_int_equal(cp.status, -EINVAL);
            const char *want = rows[cp.user_data % 2].want, *why = lsmd_last_error(c);
            if (strcmp(why, lsmd_strerror(-EINVAL)) == 0 && cp.user_data < n - SHM_REASON_SLOTS)
                generic++; /* overwritten before it was reaped: the code's text */
            else
                assert_string_equal(why, want);
        }
        assert_true(generic <= n - SHM_REASON_SLOTS); /* fewer if reaped between rounds */
    }

    /* An asynchronous request refused by the library says why too. */
    assert_int_equal(lsmd_submit_put(c, "", 0, "v", 1, 0, 8), -EINVAL);
    assert_string_equal(lsmd_last_error(c), "empty key");
    lsmd_disconnect(c);
}

/* ---- no daemon, no directory ----------------------------------------------- */

static void test_no_daemon(void **state)
{
    (void)state;
    th_daemon none;
    thd_init(&none, LSMD_BIN, "reasons-none"); /* paths only: nothing listens */
    static const char *const args[] = { "stats", NULL };
    char err[1024];
    int code = thd_lsmctl(&none, NULL, NULL, args, err, sizeof err);
    char want[1200];
    snprintf(want, sizeof want, "lsmctl: cannot attach to lsmd at %s: ", none.sock);
    if (code != 1 || !strstr(err, want) || !strstr(err, "(is lsmd running?)"))
        fail_msg("exit %d, stderr \"%s\"; wanted \"%s... (is lsmd running?)\"", code, err, want);
    thd_cleanup(&none);
}

static void test_missing_socket_dir(void **state)
{
    (void)state;
    th_daemon d;
    thd_init(&d, LSMD_BIN, "reasons-nodir");
    char *dir = NULL, *sock = NULL;
    assert_true(asprintf(&dir, "%s/no/such/dir", d.root) > 0);
    assert_true(asprintf(&sock, "%s/lsmd.sock", dir) > 0);
    free(d.sock);
    d.sock = sock; /* thd_cleanup frees it */
    thd_spawn(&d, NULL);
    int status;
    double t0 = th_now();
    while (waitpid(d.pid, &status, WNOHANG) == 0) {
        if (th_now() - t0 > 20)
            fail_msg("lsmd kept running with its socket in a missing directory");
        usleep(10000);
    }
    d.pid = 0;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    char *log = slurp(d.log);
    assert_non_null(log);
    char want[1200];
    snprintf(want, sizeof want, "socket directory %s does not exist", dir);
    if (!strstr(log, want) || strstr(log, ".lock"))
        fail_msg("lsmd's log names the wrong thing; wanted \"%s\", got:\n%s", want, log);
    free(log);
    free(dir);
    thd_cleanup(&d);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        TH_TEST(test_lsmctl_reasons, &g_fx),
        TH_TEST(test_client_reasons, &g_fx),
        TH_TEST(test_daemon_checks, &g_fx),
        cmocka_unit_test(test_no_daemon),
        cmocka_unit_test(test_missing_socket_dir),
    };
    return TH_MAIN(argc, argv, NULL, NULL, tests);
}
