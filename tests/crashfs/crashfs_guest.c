/*
 * crashfs_guest.c — runs inside the QEMU guest of tests/crashfs/guest.sh:
 * crash consistency of the engine on a real ext4, the way xfstests and
 * CrashMonkey test file systems (docs/reliability.md, "Crash consistency on
 * a real file system").
 *
 * Disks: /dev/vda the data disk, /dev/vdb the dm-log-writes log, /dev/vdc
 * the replay target, /dev/vdd a snapshot's copy-on-write store.
 *
 * 1. dm-log-writes over vda records every write, flush and FUA; mkfs.ext4
 *    and mount on it.
 * 2. The workload: tests/helpers/history.h's history (puts, deletes,
 *    3-put batches) through a small memtable, so flushes, WAL switches and
 *    compactions happen; one op in eight with LSM_SYNC, a full compaction at
 *    a third, the switch to tiered compaction at a half, a close and reopen
 *    (a new MANIFEST, CURRENT renamed) at two thirds.  After each
 *    acknowledged synced op a mark "ack-I" goes into the log.
 * 3. For each flush or FUA entry after the database opened (all, or
 *    LSM_CRASHFS_POINTS spread evenly), in order: replay-log brings vdc up
 *    to that entry (from where the last one stopped); a non-persistent
 *    snapshot over vdc is mounted (ext4 journal recovery writes only to the
 *    snapshot), the database opened without create_if_missing, and checked:
 *    it holds exactly the history up to some op p (every op's keys as the
 *    model of ops 0..p says: no partial batch, nothing lost, no hole after
 *    p), and p is at least every op whose ack mark precedes the entry.
 *    The snapshot is dropped; vdc stays the replayed disk.
 *
 * Five passes.  Three replay passes, on fresh disks: the engine on the
 * default I/O path, the engine with use_direct_io, and lsmd serving
 * CLIENTS processes that do
 * synced puts (a mark "dC-J" after client C's put J is acknowledged; each
 * client's puts must be a prefix holding every acknowledged one).  Then
 * two dm-flakey passes (flakey_pass: writes dropped, or failed with EIO,
 * from the middle of the history on).
 * LSM_CRASHFS_OPS (default 1000) ops each; LSM_CRASHFS_POINTS (default 25)
 * points each, 0 = every point.  Prints "crashfs: point ..." per point and
 * a summary line per pass; cmocka's result follows.
 */
#include "helpers.h"
#include "history.h"
#include "lsmd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#define DATA "/dev/vda"
#define LOG "/dev/vdb"
#define REPLAY "/dev/vdc"
#define COW "/dev/vdd"
#define MNT "/mnt"
#define DBDIR "/mnt/db"
#define MAX_ENTRIES 2000000

/* Runs a shell command; fails the test when it fails. */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("crashfs: `%s` failed (status %d)", cmd, st);
}

static int g_direct; /* this pass opens with use_direct_io */

static lsm_db *open_dir(const char *dir, int create)
{
    lsm_options o;
    lsm_options_init(&o);
    o.memtable_bytes = 64 << 10;
    o.use_direct_io = g_direct;
    o.create_if_missing = create;
    lsm_db *db = NULL;
    int rc = lsm_open(dir, &o, &db);
    if (rc)
        fail_msg("crashfs: lsm_open(%s): %s (%s)", dir, lsm_strerror(rc), lsm_last_error());
    return db;
}

static lsm_db *open_db(int create)
{
    return open_dir(DBDIR, create);
}

static void mark(const char *fmt, long i)
{
    char name[64];
    snprintf(name, sizeof name, fmt, i);
    sh("dmsetup message lw 0 mark %s", name);
}

/* Step 2.  Returns how many ops were written. */
static long history_workload(long nops)
{
    lsm_db *db = open_db(1);
    mark("db-open", 0);
    lsm_batch *b = lsm_batch_new();
    long synced = 0;
    for (long i = 0; i < nops; i++) {
        int sync = i % 8 == 7;
        int rc = history_do_op(db, b, i, sync ? LSM_SYNC : 0);
        if (rc)
            fail_msg("crashfs: op %ld: %s", i, lsm_strerror(rc));
        if (sync) {
            mark("ack-%ld", i);
            synced++;
        }
        if (i == nops / 3)
            assert_int_equal(lsm_compact(db, -1), 0);
        if (i == nops / 2)
            assert_int_equal(lsm_set_option(db, "compaction_style", "tiered"), 0);
        if (i == 2 * nops / 3) { /* a reopen writes a new MANIFEST and CURRENT */
            assert_int_equal(lsm_close(db), 0);
            db = open_db(1);
        }
    }
    lsm_batch_free(b);
    assert_int_equal(lsm_close(db), 0);
    printf("crashfs: workload%s: %ld ops, %ld acknowledged with LSM_SYNC\n",
           g_direct ? " (direct I/O)" : "", nops, synced);
    return nops;
}

typedef struct entry {
    long index;
    int point;     /* a flush or FUA */
    char mark[48]; /* a mark's name; else "" */
} entry;

/* The log's entries, from `replay-log --list`. */
static entry *read_log(long *n)
{
    FILE *p = popen("replay-log --log " LOG " --list", "r");
    assert_non_null(p);
    entry *e = calloc(MAX_ENTRIES, sizeof *e);
    assert_non_null(e);
    char line[512];
    long k = 0;
    while (fgets(line, sizeof line, p) && k < MAX_ENTRIES) {
        char flags[64];
        long idx;
        if (sscanf(line, "%ld %63s", &idx, flags) != 2)
            fail_msg("crashfs: replay-log printed \"%s\"", line);
        e[k] = (entry){ .index = idx };
        const char *m = strstr(line, " mark ");
        if (m)
            sscanf(m + 6, "%47s", e[k].mark);
        e[k].point = strstr(flags, "FLUSH") || strstr(flags, "FUA");
        k++;
    }
    assert_int_equal(pclose(p), 0);
    *n = k;
    return e;
}

/* 1 when the database's keys of op i are as the model says (a present
 * key must hold its value: history_db_has fails the test otherwise). */
static int op_matches(lsm_db *db, const history *h, long i)
{
    unsigned char p = h->present[i];
    if (history_db_has(db, i, '_') != (p & 1))
        return 0;
    if (history_op_kind(i) == HISTORY_BATCH)
        for (int s = 0; s < 3; s++)
            if (history_db_has(db, i, (char)('a' + s)) != !!(p & (2 << s)))
                return 0;
    return 1;
}

static void model_upto(history *h, long p)
{
    memset(h->present, 0, (size_t)h->cap + 2);
    for (long i = 0; i <= p; i++)
        history_apply(h, i);
}

/* Ops whose keys nothing in the history deletes: the puts of ops i % 5 ==
 * 1 and the batches (i % 5 == 4); their presence orders the search. */
static int witness(long i)
{
    return i % 5 == 1 || i % 5 == 4;
}

static int witness_present(lsm_db *db, long i)
{
    return history_db_has(db, i, i % 5 == 1 ? '_' : 'a');
}

/* Step 3's check at one point.  Returns p: the database holds exactly the
 * history's ops 0..p. */
static long check_db(long nops, long acked, long entry_index)
{
    lsm_db *db = open_db(0);
    /* The last witness present and the first absent one bound p. */
    long last = -1, next = nops;
    for (long i = 0; i < nops; i++) {
        if (!witness(i))
            continue;
        if (!witness_present(db, i)) {
            next = i;
            break;
        }
        last = i;
    }
    history h;
    history_init(&h, nops + 2);
    long p = -2;
    for (long c = last; c < next && p == -2; c++) {
        model_upto(&h, c);
        int ok = 1;
        for (long i = last - 2 > 0 ? last - 2 : 0; ok && i < nops && i <= next + 2; i++)
            ok = op_matches(db, &h, i);
        if (ok)
            p = c;
    }
    if (p == -2)
        fail_msg("crashfs: entry %ld: the database is no prefix of the history (ops %ld..%ld "
                 "match none)", entry_index, last, next);
    /* Every op, the model up to p and nothing after it: no hole. */
    model_upto(&h, p);
    for (long i = 0; i < nops; i++)
        if (!op_matches(db, &h, i))
            fail_msg("crashfs: entry %ld: the history up to op %ld, but op %ld's keys differ "
                     "(%s)", entry_index, p, i, i <= p ? "lost" : "present after a gap");
    if (p < acked)
        fail_msg("crashfs: entry %ld: op %ld was acknowledged as synced before it, but the "
                 "database holds ops only up to %ld", entry_index, acked, p);
    history_free(&h);
    assert_int_equal(lsm_close(db), 0);
    return p;
}

/* What a pass runs and checks. */
typedef struct pass_kind {
    const char *name;  /* in the summary line */
    const char *start; /* points count after this mark */
    void (*run)(void);
    void (*on_mark)(const char *mark);   /* a mark before the next point */
    void (*check)(long entry_index, char *said, size_t cap); /* the snapshot is at MNT */
} pass_kind;

/* The history workload's state: the ops, the last acknowledged synced op. */
static long g_nops, g_acked;

static void history_run(void)
{
    g_nops = th_env_long("LSM_CRASHFS_OPS", 1000);
    g_acked = -1;
    history_workload(g_nops);
}

static void history_mark(const char *mark)
{
    if (strncmp(mark, "ack-", 4) == 0)
        g_acked = strtol(mark + 4, NULL, 10);
}

static void history_check(long entry_index, char *said, size_t cap)
{
    long p = check_db(g_nops, g_acked, entry_index);
    snprintf(said, cap, "ops 0..%ld present, acked up to %ld", p, g_acked);
}

/* Steps 1 to 3 on fresh disks (the data disk is formatted again, the log
 * starts over, the replay target is zeroed). */
static void pass(const pass_kind *w)
{
    long want = th_env_long("LSM_CRASHFS_POINTS", 25); /* per pass; 0: every point */

    /* Steps 1 and 2. */
    sh("dd if=/dev/zero of=" REPLAY " bs=1M 2>/dev/null; true");
    sh("echo \"0 $(blockdev --getsz " DATA ") log-writes " DATA " " LOG "\" | dmsetup create lw");
    sh("dmsetup mknodes && mkfs.ext4 -q -F /dev/mapper/lw && mkdir -p " MNT
       " && mount -t ext4 /dev/mapper/lw " MNT);
    w->run();
    sh("umount " MNT " && dmsetup remove lw");

    /* Step 3. */
    long n;
    entry *e = read_log(&n);
    long first = -1, points = 0;
    for (long i = 0; i < n; i++) {
        if (strcmp(e[i].mark, w->start) == 0)
            first = i;
        points += first >= 0 && e[i].point;
    }
    assert_true(first >= 0);
    long every = want > 0 && points > want ? points / want : 1;
    const char *io = g_direct ? ", direct I/O" : "";
    printf("crashfs: %s%s: log of %ld entries, %ld flush/FUA points after \"%s\"; checking "
           "one in %ld\n", w->name, io, n, points, w->start, every);
    fflush(stdout);
    long replayed = -1, seen = 0, checked = 0;
    char said[256] = "";
    for (long i = 0; i < n; i++) {
        if (e[i].mark[0])
            w->on_mark(e[i].mark);
        if (i <= first || !e[i].point || seen++ % every != 0)
            continue;
        sh("replay-log --log " LOG " --replay " REPLAY " --from %ld --upto %ld", replayed + 1,
           e[i].index);
        replayed = e[i].index;
        sh("echo \"0 $(blockdev --getsz " REPLAY ") snapshot " REPLAY " " COW " N 8\" | "
           "dmsetup create snap && dmsetup mknodes && mount -t ext4 /dev/mapper/snap " MNT);
        w->check(e[i].index, said, sizeof said);
        printf("crashfs: point: entry %ld: %s\n", e[i].index, said);
        fflush(stdout);
        sh("umount " MNT " && dmsetup remove snap");
        checked++;
    }
    printf("crashfs: %ld replay points checked (%s%s); the last: %s\n", checked, w->name, io,
           said);
    free(e);
}

static const pass_kind k_history = { "engine", "db-open", history_run, history_mark,
                                    history_check };

static void test_buffered(void **state)
{
    (void)state;
    g_direct = 0;
    pass(&k_history);
}

static void test_direct_io(void **state)
{
    (void)state;
    g_direct = 1;
    pass(&k_history);
    g_direct = 0;
}

/* The daemon pass: lsmd on the recorded file system, CLIENTS processes
 * doing synced puts of their own keys, a mark "dC-J" after client C's put J
 * is acknowledged.  lsmd is stopped with SIGTERM; the power cut is the
 * replay point. */
#define LSMD_DIR MNT "/lsmd"
#define LSMD_SOCK "/tmp/lsmd.sock"
#define CLIENTS 4

static long g_puts;             /* per client */
static long g_dacked[CLIENTS]; /* last acknowledged put of each client */

#define DKEY_CAP 48
#define DVAL_CAP 192

static size_t dkey(char b[DKEY_CAP], int c, long j)
{
    return (size_t)snprintf(b, DKEY_CAP, "c%d-%06ld", c, j);
}

static size_t dval(char b[DVAL_CAP], int c, long j)
{
    return (size_t)snprintf(b, DVAL_CAP, "v%d-%ld-%0100ld", c, j, j);
}

/* One client process: its puts, each followed by its mark. */
static void client_main(int c)
{
    lsmd_conn *conn;
    if (lsmd_connect(LSMD_SOCK, &conn) != 0)
        _exit(2);
    for (long j = 0; j < g_puts; j++) {
        char k[DKEY_CAP], v[DVAL_CAP], cmd[96];
        if (lsmd_put(conn, k, dkey(k, c, j), v, dval(v, c, j), LSM_SYNC) != 0)
            _exit(3);
        snprintf(cmd, sizeof cmd, "dmsetup message lw 0 mark d%d-%ld", c, j);
        if (system(cmd) != 0)
            _exit(4);
    }
    lsmd_disconnect(conn);
    _exit(0);
}

static void daemon_run(void)
{
    g_puts = th_env_long("LSM_CRASHFS_PUTS", 30);
    for (int c = 0; c < CLIENTS; c++)
        g_dacked[c] = -1;
    const char *lsmd = getenv("LSM_CRASHFS_LSMD");
    assert_non_null(lsmd);
    pid_t d = fork();
    assert_true(d >= 0);
    if (d == 0) {
        execl(lsmd, "lsmd", "--dir", LSMD_DIR, "--socket", LSMD_SOCK, "--memtable-bytes", "64K",
              "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    /* Ready is a served connection, not the socket file: lsmd binds its
     * socket before it opens (creates) the database, so a mark placed when
     * the file appears can precede the database's creation on disk (CI
     * saw that point replayed without /mnt/lsmd). */
    lsmd_conn *up = NULL;
    for (int i = 0; i < 600 && lsmd_connect(LSMD_SOCK, &up) != 0; i++)
        usleep(100 * 1000);
    assert_non_null(up);
    lsmd_disconnect(up);
    mark("lsmd-up", 0);
    pid_t kids[CLIENTS];
    for (int c = 0; c < CLIENTS; c++) {
        kids[c] = fork();
        assert_true(kids[c] >= 0);
        if (kids[c] == 0)
            client_main(c);
    }
    for (int c = 0; c < CLIENTS; c++) {
        int st;
        assert_int_equal(waitpid(kids[c], &st, 0), kids[c]);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail_msg("crashfs: client %d failed (status %d)", c, st);
    }
    assert_int_equal(kill(d, SIGTERM), 0);
    int st;
    assert_int_equal(waitpid(d, &st, 0), d);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    printf("crashfs: lsmd: %d client processes x %ld puts, each acknowledged with LSM_SYNC\n",
           CLIENTS, g_puts);
}

static void daemon_mark(const char *m)
{
    int c;
    long j;
    if (sscanf(m, "d%d-%ld", &c, &j) == 2 && c >= 0 && c < CLIENTS)
        g_dacked[c] = j;
}

static int dhas(lsm_db *db, int c, long j)
{
    char k[DKEY_CAP], v[DVAL_CAP];
    size_t kn = dkey(k, c, j), vn = dval(v, c, j);
    return history_db_holds(db, k, kn, v, vn);
}

/* Each client's puts are a prefix of its sequence holding every
 * acknowledged one. */
static void daemon_check(long entry_index, char *said, size_t cap)
{
    lsm_db *db = open_dir(LSMD_DIR, 0);
    size_t len = 0;
    for (int c = 0; c < CLIENTS; c++) {
        long n = 0;
        while (n < g_puts && dhas(db, c, n))
            n++;
        for (long j = n + 1; j < g_puts; j++)
            if (dhas(db, c, j))
                fail_msg("crashfs: entry %ld: client %d's put %ld present, %ld missing",
                         entry_index, c, j, n);
        if (n - 1 < g_dacked[c])
            fail_msg("crashfs: entry %ld: client %d's put %ld was acknowledged before it, but "
                     "only %ld puts are there", entry_index, c, g_dacked[c], n);
        len += (size_t)snprintf(said + len, cap - len, "%sclient %d: %ld puts (%ld acked)",
                                c ? ", " : "", c, n, g_dacked[c] + 1);
        if (len >= cap)
            len = cap - 1;
    }
    assert_int_equal(lsm_close(db), 0);
}

static const pass_kind k_daemon = { "lsmd", "lsmd-up", daemon_run, daemon_mark, daemon_check };

static void test_daemon(void **state)
{
    (void)state;
    pass(&k_daemon);
}

/* The dm-flakey passes: the engine on ext4 over dm-flakey, which from op
 * nops/2 on drops every write (the disk says done and keeps nothing: a
 * power cut the process does not see) or fails it with EIO.  The file
 * system is then mounted from the disk itself (journal recovery) and the
 * database checked: a prefix of the history holding every op acknowledged
 * with LSM_SYNC before the cut; with EIO also every one acknowledged after
 * it (a synced write whose data did not reach the disk must fail). */
static void flakey_pass(int eio)
{
    const char *mode = eio ? "error_writes" : "drop_writes";
    long nops = th_env_long("LSM_CRASHFS_OPS", 1000), cut = nops / 2;
    sh("echo \"0 $(blockdev --getsz " DATA ") flakey " DATA " 0 1000 0\" | dmsetup create fl");
    sh("dmsetup mknodes && mkfs.ext4 -q -F /dev/mapper/fl && mount -t ext4 /dev/mapper/fl " MNT);
    lsm_db *db = open_db(1);
    lsm_batch *b = lsm_batch_new();
    long acked = -1, done = 0;
    int failed = 0;
    for (long i = 0; i < nops; i++) {
        if (i == cut)
            sh("dmsetup suspend fl && echo \"0 $(blockdev --getsz " DATA ") flakey " DATA
               " 0 0 1000 1 %s\" | dmsetup load fl && dmsetup resume fl", mode);
        int sync = i % 8 == 7;
        done = i + 1;
        if (history_do_op(db, b, i, sync ? LSM_SYNC : 0) != 0) {
            failed = 1;
            break;
        }
        if (sync && (i < cut || eio))
            acked = i;
    }
    lsm_batch_free(b);
    (void)lsm_close(db); /* fails after EIO: the engine is read-only */
    /* Not sh(): after EIO, ext4 may have aborted its journal. */
    if (system("umount " MNT " 2>/dev/null; dmsetup remove fl || dmsetup remove --force fl") != 0)
        fail_msg("crashfs: flakey %s: cannot remove the device", mode);
    sh("mount -t ext4 " DATA " " MNT);
    long p = check_db(done, acked, -1);
    sh("umount " MNT);
    printf("crashfs: flakey %s from op %ld: %ld ops written%s, the last acknowledged with "
           "LSM_SYNC and kept by the disk %ld; the database holds ops 0..%ld\n",
           mode, cut, done, failed ? " (the last failed)" : "", acked, p);
    if (eio && !failed)
        fail_msg("crashfs: flakey error_writes: no op failed after the disk began failing");
}

static void test_flakey_drop(void **state)
{
    (void)state;
    flakey_pass(0);
}

static void test_flakey_eio(void **state)
{
    (void)state;
    flakey_pass(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buffered),
        cmocka_unit_test(test_direct_io),
        cmocka_unit_test(test_daemon),
        cmocka_unit_test(test_flakey_drop),
        cmocka_unit_test(test_flakey_eio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
