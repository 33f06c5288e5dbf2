/*
 * test_crash.c — real processes, real SIGKILL.
 *
 * A child opens the database and runs a deterministic history of operations
 * (puts, deletes of earlier keys, 4-entry batches), reporting each
 * acknowledged operation's index through a pipe.  The parent kills it with
 * SIGKILL at a random moment (during open, writes, flushes, WAL switches),
 * reopens the database and checks:
 *   - every acknowledged operation is present;
 *   - the state is exactly a prefix of the history: no holes, no partial
 *     batch, no resurrected delete (the one in-flight operation may or may
 *     not have landed, as a whole).
 * Odd cycles write with LSM_SYNC, even ones without: a process crash must
 * keep both.  LSM_CRASH_CYCLES sets the number of cycles (default 50).
 * LSM_TEST_PER_BACKEND
 */
#include "helpers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lsm.h"

#define MAX_OPS 2000000

/* Op kinds by i % 5: 0,1,3 put k<i>; 2 delete k<i-2>; 4 batch: put k<i>a,
 * k<i>b, k<i>c and delete k<i-1>. */
enum { OP_PUT, OP_DELETE, OP_BATCH };

static int op_kind(long i)
{
    switch (i % 5) {
    case 2: return OP_DELETE;
    case 4: return OP_BATCH;
    default: return OP_PUT;
    }
}

static size_t key_of(char *buf, long i, char suffix)
{
    return (size_t)sprintf(buf, "k%08ld%c", i, suffix);
}

/* Values are long enough that the small memtable flushes often. */
static size_t value_of(char *buf, long i, char suffix)
{
    return (size_t)sprintf(buf, "v%ld%c-%0180ld", i, suffix, i);
}

static lsm_db *open_small(const char *dir)
{
    lsm_options o;
    lsm_options_init(&o);
    o.memtable_bytes = 32 << 10;
    lsm_db *db = NULL;
    int rc = lsm_open(dir, &o, &db);
    if (rc != 0) {
        fprintf(stderr, "open failed: %s\n", lsm_strerror(rc));
        return NULL;
    }
    return db;
}

static int do_op(lsm_db *db, lsm_batch *b, long i, int flags)
{
    char k[32], v[256];
    switch (op_kind(i)) {
    case OP_PUT:
        return lsm_put(db, k, key_of(k, i, '_'), v, value_of(v, i, '_'), flags);
    case OP_DELETE:
        return lsm_delete(db, k, key_of(k, i - 2, '_'), flags);
    default:
        lsm_batch_clear(b);
        for (char s = 'a'; s <= 'c'; s++)
            lsm_batch_put(b, k, key_of(k, i, s), v, value_of(v, i, s));
        lsm_batch_delete(b, k, key_of(k, i - 1, '_'));
        return lsm_write(db, b, flags);
    }
}

static void child_main(const char *dir, long first, int flags, int fd)
{
    lsm_db *db = open_small(dir);
    if (!db)
        _exit(2);
    lsm_batch *b = lsm_batch_new();
    for (long i = first; i < MAX_OPS; i++) {
        if (do_op(db, b, i, flags) != 0)
            _exit(3);
        if (write(fd, &i, sizeof i) != sizeof i)
            _exit(4);
    }
    for (;;)
        pause(); /* the parent's SIGKILL ends us */
}

/* Model: per op index, which of its keys exist. */
struct model {
    unsigned char *present; /* bit 0: k<i>_, bits 1..3: k<i>a..c */
};

static void model_apply(struct model *m, long i)
{
    switch (op_kind(i)) {
    case OP_PUT: m->present[i] |= 1; break;
    case OP_DELETE: m->present[i - 2] &= (unsigned char)~1; break;
    default:
        m->present[i] |= 2 | 4 | 8;
        m->present[i - 1] &= (unsigned char)~1;
    }
}

static int db_has(lsm_db *db, long i, char suffix, int want)
{
    char k[32], v[256];
    size_t kn = key_of(k, i, suffix), vn = value_of(v, i, suffix);
    void *got = NULL;
    size_t n = 0;
    int rc = lsm_get(db, NULL, k, kn, &got, &n);
    if (rc == LSM_ENOTFOUND)
        return 0;
    assert_int_equal(rc, 0);
    if (want) { /* a present key must hold exactly its value */
        assert_int_equal(n, vn);
        assert_memory_equal(got, v, n);
    }
    lsm_free(got);
    return 1;
}

/* Did op x (the one in flight at the kill) land? */
static int op_landed(lsm_db *db, long x)
{
    switch (op_kind(x)) {
    case OP_PUT: return db_has(db, x, '_', 1);
    case OP_DELETE: return !db_has(db, x - 2, '_', 0);
    default: return db_has(db, x, 'a', 1);
    }
}

static void check_op(lsm_db *db, const struct model *m, long i)
{
    {
        unsigned char p = m->present[i];
        if (db_has(db, i, '_', 1) != (p & 1)) {
            fail_msg("op %ld key k_: db %s, history says %s", i,
                     (p & 1) ? "lacks it" : "has it", (p & 1) ? "present" : "absent");
        }
        if (op_kind(i) == OP_BATCH)
            for (int s = 0; s < 3; s++)
                if (db_has(db, i, (char)('a' + s), 1) != !!(p & (2 << s)))
                    fail_msg("op %ld: partial or lost batch (key %c)", i, 'a' + s);
    }
}

/* Every op of this cycle (and the one after the in-flight one), plus a
 * random sample of the older history: checking all of it every cycle would
 * make the test quadratic. */
static void check_state(lsm_db *db, const struct model *m, long from, long upto, th_rng *rng)
{
    for (long i = from; i < upto; i++)
        check_op(db, m, i);
    for (int s = 0; s < 1000 && from > 0; s++)
        check_op(db, m, (long)th_rng_below(rng, (uint64_t)from));
}

static void test_sigkill_cycles(void **state)
{
    (void)state;
    long cycles = th_env_long("LSM_CRASH_CYCLES", 50);
    th_rng rng;
    th_rng_seed(&rng, th_seed());
    char *dir = th_tempdir("crash");
    struct model m = { calloc(MAX_OPS, 1) };
    long next = 0, landed_inflight = 0, total_acked = 0;

    for (long c = 0; c < cycles; c++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        int flags = (c & 1) ? LSM_SYNC : 0;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child_main(dir, next, flags, fds[1]);
        }
        close(fds[1]);
        struct timespec d = { 0, (long)(1 + th_rng_below(&rng, 60)) * 1000000L };
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status))
            fail_msg("child exited with %d before the kill", WEXITSTATUS(status));
        long acked = next - 1, i;
        ssize_t r;
        while ((r = read(fds[0], &i, sizeof i)) == sizeof i) {
            assert_int_equal(i, acked + 1);
            acked = i;
        }
        close(fds[0]);
        total_acked += acked - next + 1;

        lsm_db *db = open_small(dir);
        assert_non_null(db);
        for (long j = next; j <= acked; j++)
            model_apply(&m, j);
        long x = acked + 1; /* in flight when killed, maybe */
        if (x < MAX_OPS && op_landed(db, x)) {
            model_apply(&m, x);
            acked = x;
            landed_inflight++;
        }
        check_state(db, &m, next, acked + 2 < MAX_OPS ? acked + 2 : MAX_OPS, &rng);
        assert_int_equal(lsm_close(db), 0);
        next = acked + 1;
    }
    fprintf(stderr, "crash: %ld cycles, %ld acknowledged ops, %ld in-flight ops landed\n",
            cycles, total_acked, landed_inflight);
    assert_true(next > 0);
    free(m.present);
    th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_cycles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
