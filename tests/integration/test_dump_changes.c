/*
 * test_dump_changes.c — a replica from a dump and the change feed
 * (lsmctl dump / changes / load, SHM_OP_CHANGES, WAL retention), with real
 * daemons, real writer processes and the real lsmctl:
 *   - a dump taken while writers run, then `changes --since` the dump's
 *     sequence, both loaded into a second daemon, give exactly the first
 *     daemon's contents (puts, overwrites, deletes, batches; memtables
 *     small enough that the changes span many WALs and flushes);
 *   - `changes --follow` streams writes made after it started, and ends
 *     its file cleanly on SIGTERM;
 *   - without retention, asking for flushed history fails clearly;
 *   - a damaged dump file loads nothing; through a pipe, the blocks before
 *     the damage are applied and none after (the batch boundary).
 */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NWRITERS 2
#define NOPS 6000
#define NKEYS 200

static th_daemon g_a;
static const char *const g_retain[] = { "--wal-retention-seconds", "3600", "--memtable-bytes",
                                        "64K", NULL };
static th_fixture g_fx_retain = { .d = &g_a, .bin = LSMD_BIN, .tag = "feed", .extra = g_retain,
                                  .start = true };
static th_fixture g_fx_plain = { .d = &g_a, .bin = LSMD_BIN, .tag = "feed-plain",
                                 .start = true };

/* argv: writer SOCKET ID.  Most writes go to a key of their own that
 * nothing overwrites ("u-W-I"), so a write missing from the replica (a gap
 * at the dump's sequence) shows in the comparison; every 7th deletes one
 * of those put 3 writes before, every 13th overwrites a key of a shared
 * space, every 11th is a batch of all three kinds.  Says "going" after the
 * first tenth, "done" at the end. */
static int role_writer(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int id = atoi(argv[2]);
    lsmd_conn *c;
    if (lsmd_connect(argv[1], &c) != 0)
        return 1;
    lsmd_batch *b = lsmd_batch_new();
    char k[32], v[96];
    unsigned x = 12345u + (unsigned)id * 7919u;
    for (int i = 0; i < NOPS; i++) {
        x = x * 1103515245u + 12345u;
        int vl = snprintf(v, sizeof v, "w%d-op%d-%048d", id, i, i);
        int kl = snprintf(k, sizeof k, "u-%d-%06d", id, i);
        int rc;
        if (i % 11 == 5) {
            lsmd_batch_clear(b);
            lsmd_batch_put(b, k, (size_t)kl, v, (size_t)vl);
            kl = snprintf(k, sizeof k, "shared%05u", (x >> 8) % NKEYS);
            lsmd_batch_put(b, k, (size_t)kl, v, (size_t)vl);
            kl = snprintf(k, sizeof k, "u-%d-%06d", id, i - 1);
            lsmd_batch_delete(b, k, (size_t)kl);
            rc = lsmd_write(c, b, 0);
        } else if (i % 7 == 3) {
            kl = snprintf(k, sizeof k, "u-%d-%06d", id, i - 3);
            rc = lsmd_delete(c, k, (size_t)kl, 0);
        } else if (i % 13 == 7) {
            kl = snprintf(k, sizeof k, "shared%05u", (x >> 8) % NKEYS);
            rc = lsmd_put(c, k, (size_t)kl, v, (size_t)vl, 0);
        } else {
            rc = lsmd_put(c, k, (size_t)kl, v, (size_t)vl, 0);
        }
        if (rc != 0) {
            fprintf(stderr, "writer %d: op %d: %s\n", id, i, lsmd_strerror(rc));
            return 1;
        }
        if (i == NOPS / 10)
            th_reply("going");
    }
    lsmd_batch_free(b);
    lsmd_disconnect(c);
    th_reply("done");
    return 0;
}

/* Runs sh -c cmd; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    assert_true(st != -1 && WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* The sequence in a dump file's header (docs/dump-format.md). */
static uint64_t header_sequence(const char *path)
{
    unsigned char h[32];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(h, 1, sizeof h, f), sizeof h);
    fclose(f);
    assert_memory_equal(h, "LSMDDUMP", 8);
    uint64_t s = 0;
    for (int i = 7; i >= 0; i--)
        s = (s << 8) | h[16 + i];
    return s;
}

/* Every key and value of d, as "key\tvalue\n" lines in a malloc'd string. */
static char *contents(th_daemon *d, size_t *nkeys)
{
    lsmd_conn *c = thd_connect(d);
    lsmd_iter *it;
    assert_int_equal(lsmd_iter_new(c, 0, NULL, 0, NULL, 0, &it), 0);
    size_t cap = 1 << 16, len = 0;
    char *s = malloc(cap);
    *nkeys = 0;
    for (; lsmd_iter_valid(it); lsmd_iter_next(it)) {
        size_t kl, vl;
        const void *k = lsmd_iter_key(it, &kl);
        const void *v = lsmd_iter_value(it, &vl);
        while (len + kl + vl + 2 > cap)
            s = realloc(s, cap *= 2);
        memcpy(s + len, k, kl);
        s[len + kl] = '\t';
        memcpy(s + len + kl + 1, v, vl);
        len += kl + vl + 1;
        s[len++] = '\n';
        (*nkeys)++;
    }
    assert_int_equal(lsmd_iter_status(it), 0);
    lsmd_iter_free(it);
    lsmd_disconnect(c);
    s[len] = '\0';
    return s;
}

static void start_replica(th_daemon *b, const char *tag)
{
    thd_init(b, LSMD_BIN, tag);
    thd_start(b, NULL);
}

/* THE test: dump under live writes + changes since its sequence, loaded
 * into a second daemon, equal the first. */
static void test_dump_then_changes_make_a_replica(void **state)
{
    th_fixture *fx = *state;
    th_daemon *a = fx->d;
    th_child w[NWRITERS];
    for (int i = 0; i < NWRITERS; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", i);
        const char *args[] = { a->sock, id, NULL };
        th_spawn(&w[i], "writer", args);
    }
    for (int i = 0; i < NWRITERS; i++)
        assert_string_equal(th_recv(&w[i], 60000), "going");
    char dump[1024], changes[1024];
    snprintf(dump, sizeof dump, "%s/dump.bin", a->root);
    snprintf(changes, sizeof changes, "%s/changes.bin", a->root);
    assert_int_equal(sh("%s --socket %s dump > %s", LSMCTL_BIN, a->sock, dump), 0);
    for (int i = 0; i < NWRITERS; i++) {
        const char *line = th_recv(&w[i], 120000);
        assert_non_null(line);
        assert_string_equal(line, "done");
        assert_int_equal(th_wait(&w[i]), 0);
    }
    uint64_t seq = header_sequence(dump);
    assert_true(seq > 0);
    assert_int_equal(sh("%s --socket %s changes --since %llu > %s", LSMCTL_BIN, a->sock,
                        (unsigned long long)seq, changes), 0);

    th_daemon b;
    start_replica(&b, "feed-replica");
    assert_int_equal(sh("%s --socket %s load %s >/dev/null", LSMCTL_BIN, b.sock, dump), 0);
    size_t nb_dump;
    free(contents(&b, &nb_dump));
    assert_int_equal(sh("%s --socket %s --json load %s > %s/load.json", LSMCTL_BIN, b.sock,
                        changes, a->root), 0);
    char path[1100], json[512] = "";
    snprintf(path, sizeof path, "%s/load.json", a->root);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(json, sizeof json, f));
    fclose(f);
    /* Writes came after the dump: the changes are not empty, and they end
     * at the last write (every op of every writer has a sequence). */
    unsigned long long entries = th_json_u64(json, "\"changes\"", "\"entries\":");
    unsigned long long last = th_json_u64(json, "\"changes\"", "\"last_sequence\":");
    assert_true(entries > 1000);
    assert_true(last > seq);
    assert_int_equal(last - seq, entries);

    size_t na, nb;
    char *ca = contents(a, &na), *cb = contents(&b, &nb);
    assert_true(na > 100);
    assert_int_equal(na, nb);
    assert_string_equal(ca, cb);
    free(ca);
    free(cb);
    /* The history spans many WALs, flushed and kept (64 KiB memtables):
     * the test would pass on one live WAL alone otherwise. */
    DIR *dir = opendir(a->db);
    assert_non_null(dir);
    int wals = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
        wals += strstr(e->d_name, ".log") != NULL;
    closedir(dir);
    assert_true(wals > 5);
    assert_int_equal(thd_stop(&b), 0);
    thd_cleanup(&b);
}

static void put_range(th_daemon *d, const char *prefix, int from, int to)
{
    lsmd_conn *c = thd_connect(d);
    for (int i = from; i < to; i++) {
        char k[32], v[32];
        int kl = snprintf(k, sizeof k, "%s%05d", prefix, i);
        int vl = snprintf(v, sizeof v, "v%d", i);
        assert_int_equal(lsmd_put(c, k, (size_t)kl, v, (size_t)vl, 0), 0);
        if (i % 5 == 4) /* and some deletes (of keys never written) */
            assert_int_equal(lsmd_delete(c, k, (size_t)kl - 1, 0), 0);
    }
    lsmd_disconnect(c);
}

/* The history survives a SIGKILL: the WAL that was live is replayed at
 * the restart and kept, sequences go on from it, and a dump from before
 * the crash plus `changes --after` it still make an equal replica. */
static void test_history_survives_kill9(void **state)
{
    th_fixture *fx = *state;
    th_daemon *a = fx->d;
    put_range(a, "pre", 0, 3000);
    char dump[1024], changes[1024];
    snprintf(dump, sizeof dump, "%s/dump.bin", a->root);
    snprintf(changes, sizeof changes, "%s/changes.bin", a->root);
    assert_int_equal(sh("%s --socket %s dump > %s 2>/dev/null", LSMCTL_BIN, a->sock, dump), 0);
    put_range(a, "mid", 0, 3000);
    thd_kill(a);
    thd_start(a, fx->extra);
    put_range(a, "post", 0, 1000);
    assert_int_equal(sh("%s --socket %s changes --after %s > %s 2>/dev/null", LSMCTL_BIN,
                        a->sock, dump, changes), 0);
    th_daemon b;
    start_replica(&b, "feed-kill9");
    assert_int_equal(sh("%s --socket %s load %s >/dev/null", LSMCTL_BIN, b.sock, dump), 0);
    assert_int_equal(sh("%s --socket %s load %s >/dev/null", LSMCTL_BIN, b.sock, changes), 0);
    size_t na, nb;
    char *ca = contents(a, &na), *cb = contents(&b, &nb);
    assert_true(na > 5000);
    assert_int_equal(na, nb);
    assert_string_equal(ca, cb);
    free(ca);
    free(cb);
    assert_int_equal(thd_stop(&b), 0);
    thd_cleanup(&b);
}

/* dump --snapshot ID dumps a snapshot another client published, at its
 * sequence, not the latest state; load --sync applies it. */
static void test_dump_of_a_published_snapshot(void **state)
{
    th_fixture *fx = *state;
    th_daemon *a = fx->d;
    put_range(a, "old", 0, 100);
    lsmd_conn *c = thd_connect(a);
    uint64_t id;
    assert_int_equal(lsmd_snapshot_acquire(c, &id), 0);
    lsmd_snapshot_info info[4];
    size_t n;
    assert_int_equal(lsmd_snapshot_list(c, info, 4, &n), 0);
    assert_int_equal(n, 1);
    put_range(a, "new", 0, 100);
    char dump[1024];
    snprintf(dump, sizeof dump, "%s/snap.bin", a->root);
    assert_int_equal(sh("%s --socket %s dump --snapshot %llu > %s 2>/dev/null", LSMCTL_BIN,
                        a->sock, (unsigned long long)id, dump), 0);
    assert_int_equal(header_sequence(dump), info[0].sequence);
    /* Still held by its creator: the dump's own hold was released. */
    assert_int_equal(lsmd_snapshot_list(c, info, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(info[0].holders, 1);
    th_daemon b;
    start_replica(&b, "feed-snap");
    assert_int_equal(sh("%s --socket %s load %s --sync >/dev/null", LSMCTL_BIN, b.sock, dump),
                     0);
    size_t nb;
    char *cb = contents(&b, &nb);
    assert_int_equal(nb, 100); /* old00000 .. old00099 */
    assert_null(strstr(cb, "new"));
    free(cb);
    /* A snapshot nobody published is refused. */
    assert_int_equal(sh("%s --socket %s dump --snapshot 999999 > %s 2>/dev/null", LSMCTL_BIN,
                        a->sock, dump), 1);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(&b), 0);
    thd_cleanup(&b);
}

/* --follow streams what is written after it started, until SIGTERM. */
static void test_changes_follow(void **state)
{
    th_fixture *fx = *state;
    th_daemon *a = fx->d;
    lsmd_conn *c = thd_connect(a);
    assert_int_equal(lsmd_put(c, "before", 6, "x", 1, 0), 0);
    char out[1024];
    snprintf(out, sizeof out, "%s/follow.bin", a->root);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        execl(LSMCTL_BIN, LSMCTL_BIN, "--socket", a->sock, "changes", "--since", "1",
              "--follow", (char *)NULL);
        _exit(127);
    }
    usleep(300 * 1000);
    for (int i = 0; i < 50; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "f%03d", i);
        assert_int_equal(lsmd_put(c, k, (size_t)kl, "v", 1, 0), 0);
    }
    assert_int_equal(lsmd_flush(c), 0); /* the follower crosses a WAL switch */
    assert_int_equal(lsmd_delete(c, "f000", 4, 0), 0);
    usleep(600 * 1000);
    kill(pid, SIGTERM);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    lsmd_disconnect(c);

    th_daemon b;
    start_replica(&b, "feed-follow");
    assert_int_equal(sh("%s --socket %s load %s >/dev/null", LSMCTL_BIN, b.sock, out), 0);
    size_t n;
    char *cb = contents(&b, &n);
    assert_int_equal(n, 49); /* f001 .. f049; "before" was at sequence 1 */
    assert_null(strstr(cb, "before"));
    assert_null(strstr(cb, "f000\t"));
    free(cb);
    assert_int_equal(thd_stop(&b), 0);
    thd_cleanup(&b);
}

/* Default retention (none): flushed history is refused with a clear
 * message and exit status 1. */
static void test_deleted_history_refused(void **state)
{
    th_fixture *fx = *state;
    th_daemon *a = fx->d;
    lsmd_conn *c = thd_connect(a);
    for (int i = 0; i < 20; i++)
        assert_int_equal(lsmd_put(c, "k", 1, "v", 1, 0), 0);
    assert_int_equal(lsmd_flush(c), 0);
    uint64_t next;
    int caught_up;
    assert_int_equal(lsmd_changes(c, 0, 0, NULL, NULL, &next, &caught_up), -EINVAL);
    lsmd_disconnect(c);
    char err[1024];
    snprintf(err, sizeof err, "%s/err.txt", a->root);
    assert_int_equal(sh("%s --socket %s changes --since 5 > /dev/null 2> %s", LSMCTL_BIN,
                        a->sock, err), 1);
    FILE *f = fopen(err, "r");
    char line[512] = "";
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_non_null(strstr(line, "history after sequence 5 is gone"));
    /* From the current sequence on it works. */
    assert_int_equal(sh("%s --socket %s changes --since 20 > /dev/null 2>&1", LSMCTL_BIN,
                        a->sock), 0);
}

/* Damage in a block: a file loads nothing; a pipe applies the blocks before
 * it (each one atomic) and nothing from it on. */
static void test_damaged_dump_refused(void **state)
{
    th_fixture *fx = *state;
    th_daemon *a = fx->d;
    lsmd_conn *c = thd_connect(a);
    char v[1000];
    memset(v, 'v', sizeof v);
    for (int i = 0; i < 700; i++) { /* ~700 KiB: three blocks */
        char k[16];
        int kl = snprintf(k, sizeof k, "big%04d", i);
        assert_int_equal(lsmd_put(c, k, (size_t)kl, v, sizeof v, 0), 0);
    }
    lsmd_disconnect(c);
    char dump[1024];
    snprintf(dump, sizeof dump, "%s/dump.bin", a->root);
    assert_int_equal(sh("%s --socket %s dump > %s", LSMCTL_BIN, a->sock, dump), 0);
    struct stat sb;
    assert_int_equal(stat(dump, &sb), 0);
    /* A byte in the last block's payload. */
    int fd = open(dump, O_RDWR);
    assert_true(fd >= 0);
    off_t at = sb.st_size - 32 - 100;
    char byte;
    assert_int_equal(pread(fd, &byte, 1, at), 1);
    byte ^= 0x20;
    assert_int_equal(pwrite(fd, &byte, 1, at), 1);
    close(fd);

    th_daemon b;
    start_replica(&b, "feed-damaged");
    assert_int_equal(sh("%s --socket %s load %s 2>/dev/null", LSMCTL_BIN, b.sock, dump), 1);
    size_t n;
    free(contents(&b, &n));
    assert_int_equal(n, 0);
    assert_int_equal(sh("cat %s | %s --socket %s load - 2>/dev/null", dump, LSMCTL_BIN, b.sock),
                     1);
    free(contents(&b, &n));
    /* Whole blocks only: a block closes once its payload reaches 256 KiB,
     * here 259 entries of 1016 bytes; the third (damaged) is not applied. */
    assert_int_equal(n, 2 * 259);
    /* A truncated file (no trailer) loads nothing either. */
    assert_int_equal(truncate(dump, sb.st_size - 10), 0);
    th_daemon b2;
    start_replica(&b2, "feed-truncated");
    assert_int_equal(sh("%s --socket %s load %s 2>/dev/null", LSMCTL_BIN, b2.sock, dump), 1);
    free(contents(&b2, &n));
    assert_int_equal(n, 0);
    assert_int_equal(thd_stop(&b2), 0);
    thd_cleanup(&b2);
    assert_int_equal(thd_stop(&b), 0);
    thd_cleanup(&b);
}

int main(int argc, char **argv)
{
    static const th_role roles[] = { { "writer", role_writer }, { NULL, NULL } };
    const struct CMUnitTest tests[] = {
        TH_TEST(test_dump_then_changes_make_a_replica, &g_fx_retain),
        TH_TEST(test_changes_follow, &g_fx_retain),
        TH_TEST(test_history_survives_kill9, &g_fx_retain),
        TH_TEST(test_dump_of_a_published_snapshot, &g_fx_plain),
        TH_TEST(test_deleted_history_refused, &g_fx_plain),
        TH_TEST(test_damaged_dump_refused, &g_fx_plain),
    };
    return TH_MAIN(argc, argv, roles, NULL, tests);
}
