/* test_log_writes.c — the dm-log-writes reader and replay (log_writes.h,
 * replay-log) on logs laid out as the kernel's target writes them: every
 * prefix replays to the image a model computes, in one step or several;
 * the replay points; bad logs refused with the entry named. */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log_writes.h"

#define DEV_BLOCKS 16

/* dir/name, malloc'd. */
static char *path_in(const char *dir, const char *name)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

/* One entry of a made-up log. */
struct ent {
    uint64_t sector, nr, flags;
    char fill;         /* the data's byte (writes) */
    const char *mark;  /* a mark's name */
};

static void put64(char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (char)(v >> (8 * i));
}

/* Writes a log of the entries at path, in the kernel's layout (the super's
 * nr_entries = nr_super). */
static void write_log(const char *path, uint32_t ss, const struct ent *e, size_t n,
                      uint64_t nr_super, uint64_t magic)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    char *block = calloc(1, ss);
    put64(block, magic);
    put64(block + 8, LW_VERSION);
    put64(block + 16, nr_super);
    block[24] = (char)ss;
    block[25] = (char)(ss >> 8);
    block[26] = (char)(ss >> 16);
    assert_int_equal(fwrite(block, 1, ss, f), ss);
    for (size_t i = 0; i < n; i++) {
        memset(block, 0, ss);
        put64(block, e[i].sector);
        put64(block + 8, e[i].nr);
        put64(block + 16, e[i].flags);
        if (e[i].mark) {
            put64(block + 24, strlen(e[i].mark));
            memcpy(block + 32, e[i].mark, strlen(e[i].mark));
        }
        assert_int_equal(fwrite(block, 1, ss, f), ss);
        if (e[i].flags & LW_DISCARD)
            continue; /* no data logged */
        memset(block, e[i].fill, ss);
        for (uint64_t b = 0; b < e[i].nr; b++)
            assert_int_equal(fwrite(block, 1, ss, f), ss);
    }
    free(block);
    assert_int_equal(fclose(f), 0);
}

/* The image after entries 0..upto, by hand. */
static void model(char *img, uint32_t ss, const struct ent *e, size_t upto)
{
    memset(img, 0, (size_t)DEV_BLOCKS * ss);
    for (size_t i = 0; i <= upto; i++) {
        if (e[i].mark || (e[i].nr == 0))
            continue;
        char c = (e[i].flags & LW_DISCARD) ? 0 : e[i].fill;
        memset(img + e[i].sector * ss, c, e[i].nr * ss);
    }
}

static const struct ent sample[] = {
    { 0, 2, 0, 'A', NULL },
    { 4, 1, LW_METADATA, 'B', NULL },
    { 0, 0, LW_FLUSH, 0, NULL },
    { 0, 0, LW_MARK, 0, "acked-1" },
    { 0, 1, LW_DISCARD, 0, NULL },
    { 5, 3, LW_FUA, 'C', NULL },
    { 1, 1, 0, 'D', NULL },
    { 15, 1, LW_FLUSH | LW_FUA, 'E', NULL },
};
#define NSAMPLE (sizeof sample / sizeof sample[0])

static char *make_target(const char *dir, uint32_t ss)
{
    char *p = path_in(dir, "target.img");
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)DEV_BLOCKS * ss), 0);
    close(fd);
    return p;
}

static void read_target(const char *p, char *buf, size_t n)
{
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, n, 0), (ssize_t)n);
    close(fd);
}

/* Replays entries from..upto of the log onto the target. */
static void replay(const char *logp, const char *target, uint64_t from, uint64_t upto)
{
    char why[256];
    lw_log *lw;
    assert_int_equal(lw_open(logp, &lw, why, sizeof why), 0);
    int fd = open(target, O_WRONLY);
    assert_true(fd >= 0);
    lw_entry e;
    while (lw_next(lw, &e, why, sizeof why) == 1 && e.index <= upto)
        if (e.index >= from)
            assert_int_equal(lw_apply(lw, &e, fd, (uint64_t)DEV_BLOCKS * lw_sectorsize(lw),
                                      why, sizeof why),
                             0);
    close(fd);
    lw_close(lw);
}

static void check_prefixes(uint32_t ss)
{
    char *dir = th_tempdir("logwrites");
    char *logp = path_in(dir, "log");
    write_log(logp, ss, sample, NSAMPLE, NSAMPLE, LW_MAGIC);
    size_t bytes = (size_t)DEV_BLOCKS * ss;
    char *want = malloc(bytes), *got = malloc(bytes);
    char *stepped = make_target(dir, ss);
    for (size_t k = 0; k < NSAMPLE; k++) {
        model(want, ss, sample, k);
        char *one = make_target(dir, ss); /* from scratch, up to k */
        replay(logp, one, 0, k);
        read_target(one, got, bytes);
        assert_memory_equal(got, want, bytes);
        free(one);
        replay(logp, stepped, k, k); /* the entry after the last step */
        read_target(stepped, got, bytes);
        assert_memory_equal(got, want, bytes);
    }
    free(want);
    free(got);
    free(stepped);
    free(logp);
    th_rmrf_free(dir);
}

static void test_prefixes_512(void **state)
{
    (void)state;
    check_prefixes(512);
}

static void test_prefixes_4096(void **state)
{
    (void)state;
    check_prefixes(4096);
}

/* Replay points are flushes, FUAs and marks; the listing names them. */
static void test_points_and_listing(void **state)
{
    (void)state;
    char *dir = th_tempdir("logwrites");
    char *logp = path_in(dir, "log");
    write_log(logp, 512, sample, NSAMPLE, NSAMPLE, LW_MAGIC);
    char why[256];
    lw_log *lw;
    assert_int_equal(lw_open(logp, &lw, why, sizeof why), 0);
    assert_int_equal(lw_sectorsize(lw), 512);
    assert_int_equal(lw_nr_entries(lw), NSAMPLE);
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    lw_entry e;
    int points = 0;
    while (lw_next(lw, &e, why, sizeof why) == 1) {
        lw_print(mem, &e);
        points += lw_is_point(&e);
    }
    fclose(mem);
    assert_int_equal(points, 4); /* FLUSH, MARK, FUA, FLUSH|FUA */
    assert_non_null(strstr(text, "0 WRITE sector 0 len 2\n"));
    assert_non_null(strstr(text, "2 FLUSH sector 0 len 0\n"));
    assert_non_null(strstr(text, "3 MARK sector 0 len 0 mark acked-1\n"));
    assert_non_null(strstr(text, "4 DISCARD sector 0 len 1\n"));
    assert_non_null(strstr(text, "7 FLUSH|FUA sector 15 len 1\n"));
    assert_int_equal(lw_next(lw, &e, why, sizeof why), 0); /* stays at the end */
    free(text);
    lw_close(lw);
    free(logp);
    th_rmrf_free(dir);
}

/* A log whose super counts fewer entries (read before the target was
 * removed) ends there. */
static void test_super_counts(void **state)
{
    (void)state;
    char *dir = th_tempdir("logwrites");
    char *logp = path_in(dir, "log");
    write_log(logp, 512, sample, NSAMPLE, 4, LW_MAGIC);
    char why[256];
    lw_log *lw;
    assert_int_equal(lw_open(logp, &lw, why, sizeof why), 0);
    lw_entry e;
    int n = 0;
    while (lw_next(lw, &e, why, sizeof why) == 1)
        n++;
    assert_int_equal(n, 4);
    lw_close(lw);
    free(logp);
    th_rmrf_free(dir);
}

static void expect_open_error(const char *logp, const char *words)
{
    char why[256] = "";
    lw_log *lw = NULL;
    assert_int_equal(lw_open(logp, &lw, why, sizeof why), -EINVAL);
    assert_null(lw);
    if (!strstr(why, words))
        fail_msg("\"%s\" does not say \"%s\"", why, words);
}

static void expect_next_error(const char *logp, uint64_t bad_index, const char *words)
{
    char why[256] = "";
    lw_log *lw;
    assert_int_equal(lw_open(logp, &lw, why, sizeof why), 0);
    lw_entry e;
    int rc;
    while ((rc = lw_next(lw, &e, why, sizeof why)) == 1)
        ;
    assert_int_equal(rc, -EINVAL);
    char name[32];
    snprintf(name, sizeof name, "entry %llu", (unsigned long long)bad_index);
    if (!strstr(why, words) || !strstr(why, name))
        fail_msg("\"%s\" does not say \"%s\" and \"%s\"", why, name, words);
    lw_close(lw);
}

static void test_bad_logs(void **state)
{
    (void)state;
    char *dir = th_tempdir("logwrites");
    char *logp = path_in(dir, "log");
    write_log(logp, 512, sample, NSAMPLE, NSAMPLE, 0x1234);
    expect_open_error(logp, "not a dm-log-writes log");
    write_log(logp, 1000, sample, 1, 1, LW_MAGIC);
    expect_open_error(logp, "sectorsize 1000");
    /* the data of the last write cut off */
    write_log(logp, 512, sample, NSAMPLE, NSAMPLE, LW_MAGIC);
    assert_int_equal(truncate(logp, (off_t)16 * 512), 0); /* 17 blocks: 7's header is the 16th */
    expect_next_error(logp, 7, "past the end of the log");
    /* unknown flags, a mark longer than its block */
    struct ent odd[] = { { 0, 1, 1u << 9, 'x', NULL } };
    write_log(logp, 512, odd, 1, 1, LW_MAGIC);
    expect_next_error(logp, 0, "unknown flags");
    char long_name[600];
    memset(long_name, 'm', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    struct ent longmark[] = { { 0, 1, 0, 'a', NULL }, { 0, 0, LW_MARK, 0, long_name + 300 } };
    write_log(logp, 4096, longmark, 2, 2, LW_MAGIC);
    expect_next_error(logp, 1, "a mark of 299 bytes");
    /* a write past the end of the target: a log of another device */
    struct ent far[] = { { DEV_BLOCKS - 1, 2, 0, 'f', NULL } };
    write_log(logp, 512, far, 1, 1, LW_MAGIC);
    char why[256] = "";
    lw_log *lw;
    assert_int_equal(lw_open(logp, &lw, why, sizeof why), 0);
    lw_entry e;
    assert_int_equal(lw_next(lw, &e, why, sizeof why), 1);
    char *target = make_target(dir, 512);
    int fd = open(target, O_WRONLY);
    assert_int_equal(lw_apply(lw, &e, fd, DEV_BLOCKS * 512, why, sizeof why), -EINVAL);
    assert_non_null(strstr(why, "past the end of the target"));
    close(fd);
    lw_close(lw);
    free(target);
    free(logp);
    th_rmrf_free(dir);
}

/* Runs replay-log with args; returns its exit status, stderr in err. */
static int run_cli(char *err, size_t cap, const char *const *args)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], 2);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execv(REPLAY_LOG_BIN, (char *const *)args);
        _exit(127);
    }
    close(pfd[1]);
    ssize_t n = read(pfd[0], err, cap - 1);
    err[n > 0 ? n : 0] = 0;
    close(pfd[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The command line: up to a mark, in steps with --from, and its refusals. */
static void test_cli(void **state)
{
    (void)state;
    char *dir = th_tempdir("logwrites");
    char *logp = path_in(dir, "log");
    write_log(logp, 512, sample, NSAMPLE, NSAMPLE, LW_MAGIC);
    char *target = make_target(dir, 512);
    char err[512];
    const char *to_mark[] = { "replay-log", "--log", logp, "--replay", target,
                              "--upto-mark", "acked-1", NULL };
    assert_int_equal(run_cli(err, sizeof err, to_mark), 0);
    char want[DEV_BLOCKS * 512], got[DEV_BLOCKS * 512];
    model(want, 512, sample, 3);
    read_target(target, got, sizeof got);
    assert_memory_equal(got, want, sizeof got);
    const char *rest[] = { "replay-log", "--log", logp, "--replay", target, "--from", "4",
                           "--upto", "7", NULL };
    assert_int_equal(run_cli(err, sizeof err, rest), 0);
    model(want, 512, sample, 7);
    read_target(target, got, sizeof got);
    assert_memory_equal(got, want, sizeof got);
    const char *no_mark[] = { "replay-log", "--log", logp, "--replay", target,
                              "--upto-mark", "never", NULL };
    assert_int_equal(run_cli(err, sizeof err, no_mark), 1);
    assert_non_null(strstr(err, "no mark \"never\""));
    const char *too_far[] = { "replay-log", "--log", logp, "--replay", target, "--upto", "99",
                              NULL };
    assert_int_equal(run_cli(err, sizeof err, too_far), 1);
    assert_non_null(strstr(err, "no entry 99"));
    const char *bad_num[] = { "replay-log", "--log", logp, "--replay", target, "--upto", "x",
                              NULL };
    assert_int_equal(run_cli(err, sizeof err, bad_num), 2);
    assert_non_null(strstr(err, "--upto wants a number"));
    const char *both[] = { "replay-log", "--log", logp, "--list", "--points", NULL };
    assert_int_equal(run_cli(err, sizeof err, both), 2);
    const char *nolog[] = { "replay-log", "--log", target, "--list", NULL };
    assert_int_equal(run_cli(err, sizeof err, nolog), 1);
    assert_non_null(strstr(err, "not a dm-log-writes log"));
    free(target);
    free(logp);
    th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefixes_512),
        cmocka_unit_test(test_prefixes_4096),
        cmocka_unit_test(test_points_and_listing),
        cmocka_unit_test(test_super_counts),
        cmocka_unit_test(test_bad_logs),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
