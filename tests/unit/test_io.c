/*
 * test_io.c — the I/O backends (io_uring, posix) through the io/io.h
 * contract.
 *
 * LSM_TEST_PER_BACKEND LSM_TEST_RING_PATHS: make test runs this once with LSMD_IO=uring and
 * once with LSMD_IO=posix; the backend under test comes from io_new(NULL).
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io.h"
#include "io/io_internal.h"
#include "lsm.h"

struct fx {
    lsm_io *io;
    char *dir;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_int_equal(io_new(NULL, &fx->io), 0);
    const char *want = getenv("LSMD_IO");
    if (want && strcmp(want, "posix") == 0)
        assert_int_equal(fx->io->kind, IO_KIND_POSIX);
    if (want && strcmp(want, "uring") == 0)
        assert_int_equal(fx->io->kind, IO_KIND_URING);
    fx->dir = th_tempdir("io");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    io_destroy(fx->io);
    th_rmrf_free(fx->dir);
    free(fx);
    return 0;
}

static char *path_in(const struct fx *fx, const char *name)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", fx->dir, name) > 0);
    return p;
}

static void fill(char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)(seed * 131u + i * 7u + (i >> 9));
}

static uint64_t disk_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static void test_write_read_size(void **state)
{
    struct fx *fx = *state;
    char *p = path_in(fx, "a");
    lsm_file *f;
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    uint64_t sz = 99;
    assert_int_equal(io_size(fx->io, f, &sz), 0);
    assert_int_equal(sz, 0);

    char w[10000], r[10000];
    fill(w, sizeof w, 1);
    assert_int_equal(io_write(fx->io, f, w, 4000, 0), 0);
    assert_int_equal(io_write(fx->io, f, w + 4000, 6000, 4000), 0);
    assert_int_equal(io_write(fx->io, f, "", 0, 10000), 0);
    assert_int_equal(io_size(fx->io, f, &sz), 0);
    assert_int_equal(sz, 10000);

    assert_int_equal(io_read(fx->io, f, r, sizeof r, 0), 10000);
    assert_memory_equal(r, w, sizeof w);
    assert_int_equal(io_read(fx->io, f, r, 100, 9950), 50); /* short at EOF */
    assert_memory_equal(r, w + 9950, 50);
    assert_int_equal(io_read(fx->io, f, r, 100, 10000), 0);
    assert_int_equal(io_read(fx->io, f, r, 100, 20000), 0);
    assert_int_equal(io_read(fx->io, f, r, 0, 0), 0);

    /* A hole reads as zeros. */
    assert_int_equal(io_write(fx->io, f, "x", 1, 20000), 0);
    assert_int_equal(io_read(fx->io, f, r, 10, 15000), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(r[i], 0);
    assert_int_equal(io_close(fx->io, f), 0);
    assert_int_equal(disk_size(p), 20001);
    free(p);
}

static void test_open_modes(void **state)
{
    struct fx *fx = *state;
    char *p = path_in(fx, "m");
    lsm_file *f;
    assert_int_equal(io_open(fx->io, p, IO_READ, &f), -ENOENT);
    assert_int_equal(io_open(fx->io, p, IO_APPEND, &f), -ENOENT);

    /* Private by default (issue 9); io_set_file_mode widens it. */
    mode_t old = umask(0);
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(io_close(fx->io, f), 0);
    assert_int_equal(unlink(p), 0);
    io_set_file_mode(fx->io, 0640);
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    io_set_file_mode(fx->io, IO_DEFAULT_FILE_MODE);
    umask(old);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_true(fcntl(f->fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(io_write(fx->io, f, "hello", 5, 0), 0);
    assert_int_equal(io_close(fx->io, f), 0);

    /* IO_APPEND keeps the content and writes at offsets. */
    assert_int_equal(io_open(fx->io, p, IO_APPEND, &f), 0);
    assert_true(fcntl(f->fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(io_write(fx->io, f, " you", 4, 5), 0);
    char buf[16];
    assert_int_equal(io_read(fx->io, f, buf, sizeof buf, 0), 9);
    assert_memory_equal(buf, "hello you", 9);
    assert_int_equal(io_close(fx->io, f), 0);

    /* IO_READ cannot write. */
    assert_int_equal(io_open(fx->io, p, IO_READ, &f), 0);
    assert_int_equal(io_write(fx->io, f, "x", 1, 0), -EBADF);
    assert_int_equal(io_read(fx->io, f, buf, sizeof buf, 0), 9);
    assert_int_equal(io_close(fx->io, f), 0);

    /* IO_CREATE truncates. */
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    uint64_t sz;
    assert_int_equal(io_size(fx->io, f, &sz), 0);
    assert_int_equal(sz, 0);
    assert_int_equal(io_close(fx->io, f), 0);
    free(p);
}

static void test_truncate(void **state)
{
    struct fx *fx = *state;
    char *p = path_in(fx, "t");
    lsm_file *f;
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    char w[1000];
    fill(w, sizeof w, 2);
    assert_int_equal(io_write(fx->io, f, w, sizeof w, 0), 0);
    assert_int_equal(io_truncate(fx->io, f, 300), 0);
    uint64_t sz;
    assert_int_equal(io_size(fx->io, f, &sz), 0);
    assert_int_equal(sz, 300);
    assert_int_equal(io_truncate(fx->io, f, 4096), 0); /* grows with zeros */
    assert_int_equal(io_size(fx->io, f, &sz), 0);
    assert_int_equal(sz, 4096);
    char r[1000];
    assert_int_equal(io_read(fx->io, f, r, sizeof r, 0), 1000);
    assert_memory_equal(r, w, 300);
    for (int i = 300; i < 1000; i++)
        assert_int_equal(r[i], 0);
    assert_int_equal(io_close(fx->io, f), 0);
    free(p);
}

static void test_read_exact(void **state)
{
    struct fx *fx = *state;
    char *p = path_in(fx, "e");
    lsm_file *f;
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    char w[100], r[100];
    fill(w, sizeof w, 3);
    assert_int_equal(io_write(fx->io, f, w, sizeof w, 0), 0);
    assert_int_equal(io_read_exact(fx->io, f, r, 100, 0), 0);
    assert_memory_equal(r, w, 100);
    assert_int_equal(io_read_exact(fx->io, f, r, 40, 60), 0);
    assert_memory_equal(r, w + 60, 40);
    assert_int_equal(io_read_exact(fx->io, f, r, 41, 60), LSM_ECORRUPT);
    assert_int_equal(io_read_exact(fx->io, f, r, 1, 100), LSM_ECORRUPT);
    assert_int_equal(io_read_exact(fx->io, f, r, 0, 100), 0);
    assert_int_equal(io_close(fx->io, f), 0);
    free(p);
}

static void test_read_all(void **state)
{
    struct fx *fx = *state;
    char *p = path_in(fx, "CURRENT");
    char *q = path_in(fx, "empty");
    char *missing = path_in(fx, "missing");
    lsm_file *f;
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    assert_int_equal(io_write(fx->io, f, "MANIFEST-000007\n", 16, 0), 0);
    assert_int_equal(io_close(fx->io, f), 0);
    assert_int_equal(io_open(fx->io, q, IO_CREATE, &f), 0);
    assert_int_equal(io_close(fx->io, f), 0);

    char *buf = NULL;
    size_t n = 0;
    assert_int_equal(io_read_all(fx->io, p, &buf, &n), 0);
    assert_int_equal(n, 16);
    assert_memory_equal(buf, "MANIFEST-000007\n", 16);
    assert_int_equal(buf[16], '\0');
    free(buf);

    assert_int_equal(io_read_all(fx->io, q, &buf, &n), 0);
    assert_int_equal(n, 0);
    assert_non_null(buf);
    free(buf);

    buf = NULL;
    assert_int_equal(io_read_all(fx->io, missing, &buf, &n), -ENOENT);
    assert_null(buf);
    free(p);
    free(q);
    free(missing);
}

static void test_rename_unlink_sync_dir(void **state)
{
    struct fx *fx = *state;
    char *a = path_in(fx, "CURRENT.tmp");
    char *b = path_in(fx, "CURRENT");
    lsm_file *f;
    assert_int_equal(io_open(fx->io, b, IO_CREATE, &f), 0);
    assert_int_equal(io_write_sync(fx->io, f, "old", 3, 0), 0);
    assert_int_equal(io_close(fx->io, f), 0);
    assert_int_equal(io_open(fx->io, a, IO_CREATE, &f), 0);
    assert_int_equal(io_write_sync(fx->io, f, "newer", 5, 0), 0);
    assert_int_equal(io_close(fx->io, f), 0);

    assert_int_equal(io_rename(fx->io, a, b), 0); /* replaces */
    assert_int_equal(access(a, F_OK), -1);
    char *buf;
    size_t n;
    assert_int_equal(io_read_all(fx->io, b, &buf, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "newer", 5);
    free(buf);
    assert_int_equal(io_sync_dir(fx->io, fx->dir), 0);

    assert_int_equal(io_rename(fx->io, a, b), -ENOENT);
    assert_int_equal(io_unlink(fx->io, b), 0);
    assert_int_equal(access(b, F_OK), -1);
    assert_int_equal(io_unlink(fx->io, b), -ENOENT);
    assert_int_equal(io_sync_dir(fx->io, fx->dir), 0);

    char *nodir = path_in(fx, "nodir");
    assert_int_equal(io_sync_dir(fx->io, nodir), -ENOENT);
    assert_int_equal(io_open(fx->io, a, IO_CREATE, &f), 0);
    assert_int_equal(io_close(fx->io, f), 0);
    assert_int_equal(io_sync_dir(fx->io, a), -ENOTDIR);
    free(nodir);
    free(a);
    free(b);
}

static void test_write_sync_and_sync(void **state)
{
    struct fx *fx = *state;
    char *p = path_in(fx, "wal");
    lsm_file *f;
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    size_t big = 3u << 20;
    char *w = malloc(big), *r = malloc(big);
    assert_non_null(w);
    assert_non_null(r);
    fill(w, big, 4);
    uint64_t off = 0;
    for (size_t len = 1; off + len <= big; len = len * 3 + 1) {
        assert_int_equal(io_write_sync(fx->io, f, w + off, len, off), 0);
        off += len;
    }
    assert_int_equal(io_write_sync(fx->io, f, w + off, big - off, off), 0);
    assert_int_equal(io_write_sync(fx->io, f, w, 0, big), 0);
    assert_int_equal(io_sync(fx->io, f), 0);
    assert_int_equal(io_read_exact(fx->io, f, r, big, 0), 0);
    assert_memory_equal(r, w, big);
    assert_int_equal(io_close(fx->io, f), 0);
    assert_int_equal(disk_size(p), big);
    free(w);
    free(r);
    free(p);
}

/* io_writeback (sync_file_range WRITE, inline or through the ring with
 * LSMD_URING_SYNC=ring): a hint over written, unwritten and empty ranges
 * succeeds and leaves the data intact; io_writeback_progress hints whole
 * IO_WRITEBACK_BYTES of full pages; a bad range is reported, not hidden. */
static void test_writeback(void **state)
{
    struct fx *fx = *state;
    char *p = path_in(fx, "wal");
    lsm_file *f;
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    size_t big = (2u << 20) + 123, piece = 64u << 10;
    char *w = malloc(big), *r = malloc(big);
    assert_non_null(w);
    assert_non_null(r);
    fill(w, big, 9);
    uint64_t hinted = 0, off = 0;
    while (off < big) {
        size_t n = big - off < piece ? big - off : piece;
        assert_int_equal(io_write(fx->io, f, w + off, n, off), 0);
        off += n;
        uint64_t before = hinted;
        io_writeback_progress(fx->io, f, &hinted, off);
        if (hinted != before) /* only ever by whole steps of full pages */
            assert_int_equal(hinted - before, IO_WRITEBACK_BYTES);
    }
    assert_int_equal(hinted, 2u << 20); /* the 123-byte tail page is left */
    assert_int_equal(io_writeback(fx->io, f, 0, big), 0);
    assert_int_equal(io_writeback(fx->io, f, 4096, 1), 0);
    assert_int_equal(io_writeback(fx->io, f, 0, 0), 0);             /* to EOF */
    assert_int_equal(io_writeback(fx->io, f, big, 1u << 20), 0);   /* past EOF */
    assert_int_equal(io_writeback(fx->io, f, (uint64_t)1 << 63, 4096), -EINVAL);
    assert_int_equal(io_read_exact(fx->io, f, r, big, 0), 0);
    assert_memory_equal(r, w, big);
    assert_int_equal(io_sync(fx->io, f), 0);
    assert_int_equal(io_close(fx->io, f), 0);
    assert_int_equal(disk_size(p), big);
    free(w);
    free(r);
    free(p);
}

/* RLIMIT_FSIZE makes the kernel write part of a request and then fail with
 * EFBIG: the backend must keep the part, retry the rest and report EFBIG
 * (and, for write_sync, not report a sync that never covered the tail). */
static void test_short_write(void **state)
{
    struct fx *fx = *state;
    char *p = path_in(fx, "short");
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    struct sigaction ign = { .sa_handler = SIG_IGN }, oldsa;
    assert_int_equal(sigaction(SIGXFSZ, &ign, &oldsa), 0);
    char w[8192];
    fill(w, sizeof w, 5);
    for (int mode = 0; mode < 2; mode++) {
        lsm_file *f;
        assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
        lim = old;
        lim.rlim_cur = 5000;
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
        int rc = mode ? io_write_sync(fx->io, f, w, sizeof w, 0)
                      : io_write(fx->io, f, w, sizeof w, 0);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        assert_int_equal(rc, -EFBIG);
        assert_int_equal(disk_size(p), 5000);
        char r[5000];
        assert_int_equal(io_read_exact(fx->io, f, r, sizeof r, 0), 0);
        assert_memory_equal(r, w, sizeof r);
        assert_int_equal(io_close(fx->io, f), 0);
    }
    assert_int_equal(sigaction(SIGXFSZ, &oldsa, NULL), 0);
    free(p);
}

/* ---- many threads ---------------------------------------------------------- */

#define NTHREADS 8
#define BLOCK 1000
#define BLOCKS 64

struct worker {
    const struct fx *fx;
    lsm_io *io;
    lsm_file *shared;
    int id;
    int failures;
    pthread_barrier_t *hold; /* if set: wait twice before exiting */
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char name[32];
    snprintf(name, sizeof name, "w%d", w->id);
    char *p;
    if (asprintf(&p, "%s/%s", w->fx->dir, name) < 0)
        return NULL;
    char buf[BLOCK], back[BLOCK];
    lsm_file *f;
    if (io_open(w->io, p, IO_CREATE, &f) != 0) {
        w->failures++;
        free(p);
        return NULL;
    }
    for (int b = 0; b < BLOCKS; b++) {
        fill(buf, BLOCK, (unsigned)(w->id * 1000 + b));
        uint64_t off = (uint64_t)b * BLOCK;
        int rc = (b % 8 == 7) ? io_write_sync(w->io, f, buf, BLOCK, off)
                              : io_write(w->io, f, buf, BLOCK, off);
        /* The shared file: each thread owns every NTHREADS-th block. */
        uint64_t soff = ((uint64_t)b * NTHREADS + (uint64_t)w->id) * BLOCK;
        rc |= io_write(w->io, w->shared, buf, BLOCK, soff);
        if (rc)
            w->failures++;
        if (io_read_exact(w->io, f, back, BLOCK, off) != 0 ||
            memcmp(back, buf, BLOCK) != 0)
            w->failures++;
        if (io_read_exact(w->io, w->shared, back, BLOCK, soff) != 0 ||
            memcmp(back, buf, BLOCK) != 0)
            w->failures++;
    }
    if (io_sync(w->io, f) != 0 || io_close(w->io, f) != 0)
        w->failures++;
    if (io_unlink(w->io, p) != 0)
        w->failures++;
    free(p);
    if (w->hold) {
        pthread_barrier_wait(w->hold); /* I/O done: main destroys the io */
        pthread_barrier_wait(w->hold); /* then lets the threads exit */
    }
    return NULL;
}

static void run_workers(struct fx *fx, lsm_io *io, int destroy_while_alive)
{
    char *sp = path_in(fx, "shared");
    lsm_file *shared;
    assert_int_equal(io_open(io, sp, IO_CREATE, &shared), 0);
    pthread_barrier_t hold;
    assert_int_equal(pthread_barrier_init(&hold, NULL, NTHREADS + 1), 0);
    pthread_t th[NTHREADS];
    struct worker w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){ .fx = fx, .io = io, .shared = shared, .id = i,
                                .hold = destroy_while_alive ? &hold : NULL };
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    if (destroy_while_alive)
        pthread_barrier_wait(&hold);
    else
        for (int i = 0; i < NTHREADS; i++)
            assert_int_equal(pthread_join(th[i], NULL), 0);

    uint64_t sz;
    assert_int_equal(io_size(io, shared, &sz), 0);
    assert_int_equal(sz, (uint64_t)NTHREADS * BLOCKS * BLOCK);
    char buf[BLOCK], back[BLOCK];
    for (int b = 0; b < BLOCKS; b++) {
        for (int i = 0; i < NTHREADS; i++) {
            fill(buf, BLOCK, (unsigned)(i * 1000 + b));
            uint64_t soff = ((uint64_t)b * NTHREADS + (uint64_t)i) * BLOCK;
            assert_int_equal(io_read_exact(io, shared, back, BLOCK, soff), 0);
            assert_memory_equal(back, buf, BLOCK);
        }
    }
    assert_int_equal(io_close(io, shared), 0);

    if (destroy_while_alive) {
        /* The workers' rings are freed here while the threads live on;
         * their exit must neither free them again nor touch them. */
        io_destroy(io);
        pthread_barrier_wait(&hold);
        for (int i = 0; i < NTHREADS; i++)
            assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(w[i].failures, 0);
    pthread_barrier_destroy(&hold);
    assert_int_equal(unlink(sp), 0);
    free(sp);
}

static void test_threads(void **state)
{
    struct fx *fx = *state;
    /* Threads exit first (their rings go at thread exit), then again on
     * the same backend with fresh threads. */
    run_workers(fx, fx->io, 0);
    run_workers(fx, fx->io, 0);
}

static void test_destroy_with_live_threads(void **state)
{
    struct fx *fx = *state;
    for (int round = 0; round < 3; round++) {
        lsm_io *io;
        assert_int_equal(io_new(NULL, &io), 0);
        assert_int_equal(io->kind, fx->io->kind);
        run_workers(fx, io, 1); /* destroys io */
    }
}

/* A thread whose ring cannot be set up (here: no free file descriptor)
 * gets the setup error from its call, and a working ring on a later call
 * once the cause is gone.  POSIX needs no descriptor for a write. */
struct nofile_arg {
    lsm_io *io;
    lsm_file *f;
    int rc_limited, rc_after;
};

static void *nofile_main(void *arg)
{
    struct nofile_arg *a = arg;
    struct rlimit old, lim;
    getrlimit(RLIMIT_NOFILE, &old);
    int lowest = dup(0);
    close(lowest);
    lim = old;
    lim.rlim_cur = (rlim_t)lowest; /* no new descriptor can be made */
    setrlimit(RLIMIT_NOFILE, &lim);
    /* A read: plain writes and syncs do not use the ring by default (see
     * ur_write, ur_sync); reads always do. */
    char b;
    a->rc_limited = (int)io_read(a->io, a->f, &b, 1, 0);
    setrlimit(RLIMIT_NOFILE, &old);
    a->rc_after = (int)io_read(a->io, a->f, &b, 1, 0);
    return NULL;
}

static void test_ring_setup_fails_at_first_use(void **state)
{
    struct fx *fx = *state;
    char *p = path_in(fx, "nofile");
    struct nofile_arg a = { .io = fx->io };
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &a.f), 0);
    assert_int_equal(io_write(fx->io, a.f, "x", 1, 0), 0); /* one byte to read */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, nofile_main, &a), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    if (fx->io->kind == IO_KIND_URING) {
        assert_int_equal(a.rc_limited, -EMFILE);
        assert_int_equal(a.rc_after, 1);
    } else {
        assert_int_equal(a.rc_limited, 1);
        assert_int_equal(a.rc_after, 1);
    }
    assert_int_equal(io_close(fx->io, a.f), 0);
    free(p);
}

/* ---- selection ------------------------------------------------------------ */

static void test_new_by_name(void **state)
{
    (void)state;
    lsm_io *io = NULL;
    assert_int_equal(io_new("bogus", &io), -EINVAL);
    assert_null(io);
    assert_int_equal(io_new("posix", &io), 0);
    assert_int_equal(io->kind, IO_KIND_POSIX);
    assert_string_equal(io->name, "posix");
    io_destroy(io);
    int rc = io_new("uring", &io);
    if (rc == 0) {
        assert_int_equal(io->kind, IO_KIND_URING);
        assert_string_equal(io->name, "io_uring");
        io_destroy(io);
    } else {
        assert_true(rc == -ENOSYS || rc == -EPERM || rc == -ENOMEM);
    }
    io_destroy(NULL);
}

static void test_env_override(void **state)
{
    (void)state;
    const char *prev = getenv("LSMD_IO");
    char *saved = prev ? strdup(prev) : NULL;
    lsm_io *io;

    assert_int_equal(setenv("LSMD_IO", "posix", 1), 0);
    assert_int_equal(io_new(NULL, &io), 0);
    assert_int_equal(io->kind, IO_KIND_POSIX);
    io_destroy(io);
    assert_int_equal(io_new("auto", &io), 0);
    assert_int_equal(io->kind, IO_KIND_POSIX);
    io_destroy(io);
    /* An explicit name wins over the environment. */
    assert_int_equal(io_new("posix", &io), 0);
    io_destroy(io);

    assert_int_equal(setenv("LSMD_IO", "nonsense", 1), 0);
    assert_int_equal(io_new(NULL, &io), -EINVAL);

    /* Unset: auto prefers io_uring when the kernel has it. */
    assert_int_equal(unsetenv("LSMD_IO"), 0);
    assert_int_equal(io_new(NULL, &io), 0);
    lsm_io *u;
    int urc = io_uring_new(&u);
    assert_int_equal(io->kind, urc == 0 ? IO_KIND_URING : IO_KIND_POSIX);
    if (urc == 0)
        io_destroy(u);
    io_destroy(io);

    if (saved)
        assert_int_equal(setenv("LSMD_IO", saved, 1), 0);
    free(saved);
}

/* Each io_read counts for the calling thread only (lsm_thread_reads,
 * lsm_thread_read_ns: what lsmd times its iterator pages with). */
static void *count_reads_main(void *arg)
{
    struct fx *fx = arg;
    lsm_file *f;
    char *p = path_in(fx, "counted");
    char b[4];
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    assert_int_equal(io_write(fx->io, f, "abcd", 4, 0), 0);
    uint64_t n0 = lsm_thread_reads(), t0 = lsm_thread_read_ns();
    assert_int_equal(io_read(fx->io, f, b, 4, 0), 4);
    assert_int_equal(io_read(fx->io, f, b, 4, 0), 4);
    assert_int_equal(lsm_thread_reads() - n0, 2);
    assert_true(lsm_thread_read_ns() > t0);
    assert_int_equal(io_close(fx->io, f), 0);
    free(p);
    return NULL;
}

static void test_thread_read_counts(void **state)
{
    struct fx *fx = *state;
    uint64_t n0 = lsm_thread_reads(), t0 = lsm_thread_read_ns();
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, count_reads_main, fx), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    /* Another thread's reads are not this one's. */
    assert_int_equal(lsm_thread_reads(), n0);
    assert_int_equal(lsm_thread_read_ns(), t0);
}

int main(void)
{
    /* LSMD_IO=uring on a kernel without io_uring: nothing to test here. */
    const char *want = getenv("LSMD_IO");
    lsm_io *probe;
    if (want && strcmp(want, "uring") == 0) {
        int rc = io_uring_new(&probe);
        if (rc == -ENOSYS || rc == -EPERM) {
            fprintf(stderr, "io_uring unavailable (%s): skipped\n", strerror(-rc));
            return TEST_SKIP;
        }
        if (rc == 0)
            io_destroy(probe);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_read_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_unlink_sync_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_sync_and_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writeback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_with_live_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_setup_fails_at_first_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_read_counts, setup, teardown),
        cmocka_unit_test(test_new_by_name),
        cmocka_unit_test(test_env_override),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
