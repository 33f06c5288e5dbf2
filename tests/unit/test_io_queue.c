/*
 * test_io_queue.c — io_queue (io_queue.h) on every backend: the io_uring
 * queue, the generic inline queue (posix) and the fault backend's queue over
 * each; and the per-I/O-kind counters (io.h) that say what went through a
 * ring.  Each test builds its backends by name, so one run covers them all.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/io.h"
#include "io/io_direct.h"
#include "io/io_queue.h"
#include "lsm.h"

#define DEPTH 32
#define BLK 4096

/* The backends a queue test runs on. */
enum backend { B_URING, B_POSIX, B_FAULT_URING, B_FAULT_POSIX, B_COUNT };
static const char *const backend_name[B_COUNT] = { "uring", "posix", "fault(uring)",
                                                   "fault(posix)" };

struct be {
    lsm_io *base, *io; /* io == base, or the fault backend over it */
};

static void be_open(struct be *b, enum backend which)
{
    const char *base = which == B_URING || which == B_FAULT_URING ? "uring" : "posix";
    assert_int_equal(io_new(base, &b->base), 0);
    b->io = b->base;
    if (which == B_FAULT_URING || which == B_FAULT_POSIX)
        assert_int_equal(io_fault_new(b->base, &b->io), 0);
}

static void be_close(struct be *b)
{
    if (b->io != b->base)
        io_destroy(b->io);
    io_destroy(b->base);
}

static char *path_in(const char *dir, const char *name)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

static void fill(char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)(seed * 131u + i * 7u + (i >> 9));
}

/* A file of n bytes of fill(seed), written and synced with the blocking
 * calls. */
static lsm_file *make_file(lsm_io *io, const char *path, size_t n, unsigned seed)
{
    char *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    fill(buf, n, seed);
    lsm_file *f;
    assert_int_equal(io_open(io, path, IO_CREATE, &f), 0);
    assert_int_equal(io_write(io, f, buf, n, 0), 0);
    assert_int_equal(io_sync(io, f), 0);
    free(buf);
    return f;
}

/* Reaps until nothing is in flight, in pieces of at most max, checking that
 * every op comes back exactly once (its user field counts returns). */
static void reap_all(io_queue *q, size_t max)
{
    io_op *done[DEPTH];
    while (io_queue_inflight(q) > 0) {
        int err = -1;
        size_t got = io_queue_reap(q, done, max, 1, &err);
        assert_int_equal(err, 0);
        assert_true(got >= 1 && got <= max);
        for (size_t i = 0; i < got; i++)
            done[i]->user = (char *)done[i]->user + 1;
    }
}

/* ---- a mixed batch at depth 32 ------------------------------------------- */

static void mixed_batch(enum backend which)
{
    char *dir = th_tempdir("ioq");
    struct be b;
    be_open(&b, which);
    char *rp = path_in(dir, "r.sst"), *wp = path_in(dir, "w.sst");
    const size_t rsize = 64 * BLK;
    lsm_file *rf = make_file(b.io, rp, rsize, 1), *wf;
    assert_int_equal(io_open(b.io, wp, IO_CREATE, &wf), 0);

    io_queue *q;
    assert_int_equal(io_queue_new(b.io, DEPTH, &q), 0);
    assert_int_equal(io_queue_room(q), DEPTH);
    io_op ops[DEPTH];
    io_op *ptrs[DEPTH];
    char *bufs = malloc((size_t)DEPTH * BLK);
    char *expect = malloc(rsize);
    assert_non_null(bufs);
    assert_non_null(expect);
    fill(expect, rsize, 1);
    /* 20 reads of scattered blocks (some unaligned), 10 writes of distinct
     * blocks, 2 syncs. */
    for (int i = 0; i < DEPTH; i++) {
        char *buf = bufs + (size_t)i * BLK;
        ops[i] = (io_op){ .f = rf, .buf = buf, .n = BLK, .user = NULL };
        if (i < 20) {
            ops[i].code = IO_OP_READ;
            ops[i].off = (uint64_t)((i * 37) % 63) * BLK + (i % 3) * 100;
        } else if (i < 30) {
            ops[i].code = IO_OP_WRITE;
            ops[i].f = wf;
            ops[i].off = (uint64_t)(i - 20) * BLK;
            fill(buf, BLK, 100u + (unsigned)i);
        } else {
            ops[i].code = IO_OP_SYNC;
            ops[i].f = i == 30 ? wf : rf;
        }
        ops[i].res = 12345;
        ptrs[i] = &ops[i];
    }
    assert_int_equal(io_queue_submit(q, ptrs, DEPTH), 0);
    assert_int_equal(io_queue_inflight(q), DEPTH);
    assert_int_equal(io_queue_room(q), 0);
    reap_all(q, 5); /* pieces of 5: completions in any order and split */
    for (int i = 0; i < DEPTH; i++) {
        assert_ptr_equal(ops[i].user, (void *)1); /* came back exactly once */
        if (ops[i].code == IO_OP_READ) {
            assert_int_equal(ops[i].res, BLK);
            assert_memory_equal(ops[i].buf, expect + ops[i].off, BLK);
        } else if (ops[i].code == IO_OP_WRITE) {
            assert_int_equal(ops[i].res, BLK);
        } else {
            assert_int_equal(ops[i].res, 0);
        }
    }
    /* The writes are in the file. */
    char got[BLK], want[BLK];
    for (int i = 20; i < 30; i++) {
        assert_int_equal(io_read(b.io, wf, got, BLK, (uint64_t)(i - 20) * BLK), BLK);
        fill(want, BLK, 100u + (unsigned)i);
        assert_memory_equal(got, want, BLK);
    }
    io_queue_destroy(q);
    io_close(b.io, rf);
    io_close(b.io, wf);
    be_close(&b);
    free(bufs);
    free(expect);
    free(rp);
    free(wp);
    th_rmrf_free(dir);
}

static void test_mixed_batch(void **state)
{
    (void)state;
    for (int w = 0; w < B_COUNT; w++) {
        print_message("backend %s\n", backend_name[w]);
        mixed_batch((enum backend)w);
    }
}

/* ---- end of file, depth, eventfd ----------------------------------------- */

static void test_read_at_eof_is_short(void **state)
{
    (void)state;
    for (int w = 0; w < B_COUNT; w++) {
        char *dir = th_tempdir("ioq");
        struct be b;
        be_open(&b, (enum backend)w);
        char *p = path_in(dir, "e.sst");
        lsm_file *f = make_file(b.io, p, 10000, 3);
        io_queue *q;
        assert_int_equal(io_queue_new(b.io, 4, &q), 0);
        char b1[BLK], b2[BLK], b3[3 * BLK], expect[10000];
        fill(expect, sizeof expect, 3);
        io_op ops[3] = {
            { .code = IO_OP_READ, .f = f, .buf = b1, .n = BLK, .off = 8192 },   /* 1808 left */
            { .code = IO_OP_READ, .f = f, .buf = b2, .n = BLK, .off = 20000 },  /* past EOF */
            { .code = IO_OP_READ, .f = f, .buf = b3, .n = 3 * BLK, .off = 0 },  /* whole file */
        };
        io_op *ptrs[3] = { &ops[0], &ops[1], &ops[2] };
        assert_int_equal(io_queue_submit(q, ptrs, 3), 0);
        reap_all(q, 3);
        assert_int_equal(ops[0].res, 10000 - 8192);
        assert_memory_equal(b1, expect + 8192, 10000 - 8192);
        assert_int_equal(ops[1].res, 0);
        assert_int_equal(ops[2].res, 10000);
        assert_memory_equal(b3, expect, 10000);
        io_queue_destroy(q);
        io_close(b.io, f);
        be_close(&b);
        free(p);
        th_rmrf_free(dir);
    }
}

/* O_DIRECT: a read across the end of a file whose size is not aligned ends
 * short there, through the queue and through the blocking io_read (the
 * backend's next read starts at an unaligned offset: Linux returns 0 there
 * at EOF, not EINVAL). */
static void test_direct_read_at_eof_is_short(void **state)
{
    (void)state;
    for (int w = 0; w < B_COUNT; w++) {
        char *dir = th_tempdir("ioq");
        struct be b;
        be_open(&b, (enum backend)w);
        char *p = path_in(dir, "e.sst");
        io_close(b.io, make_file(b.io, p, 10000, 8));
        lsm_file *f;
        assert_int_equal(io_open(b.io, p, IO_READ | IO_DIRECT, &f), 0);
        char expect[10000];
        fill(expect, sizeof expect, 8);
        char *buf = io_aligned_alloc(4 * BLK), *buf2 = io_aligned_alloc(4 * BLK);
        assert_non_null(buf);
        assert_non_null(buf2);
        io_queue *q;
        assert_int_equal(io_queue_new(b.io, 4, &q), 0);
        io_op ops[2] = {
            { .code = IO_OP_READ, .f = f, .buf = buf, .n = 4 * BLK, .off = 0 },
            { .code = IO_OP_READ, .f = f, .buf = buf2, .n = 2 * BLK, .off = 2 * BLK },
        };
        io_op *ptrs[2] = { &ops[0], &ops[1] };
        assert_int_equal(io_queue_submit(q, ptrs, 2), 0);
        reap_all(q, 2);
        assert_int_equal(ops[0].res, 10000);
        assert_memory_equal(buf, expect, 10000);
        assert_int_equal(ops[1].res, 10000 - 2 * BLK);
        assert_memory_equal(buf2, expect + 2 * BLK, 10000 - 2 * BLK);
        memset(buf, 0, 4 * BLK);
        assert_int_equal(io_read(b.io, f, buf, 4 * BLK, 0), 10000);
        assert_memory_equal(buf, expect, 10000);
        io_queue_destroy(q);
        io_close(b.io, f);
        free(buf);
        free(buf2);
        be_close(&b);
        free(p);
        th_rmrf_free(dir);
    }
}

/* A short read is resubmitted for the rest, inside the queue: on a FIFO
 * (the one way to get a short read before the end of the data) a read of
 * 7 bytes gets the 3 there, waits in the ring for the other 4 (a reap
 * with wait_nr 0 returns at once, without it), and completes with 7.
 * io_uring only: pread on a FIFO is ESPIPE. */
static void test_short_read_resubmitted(void **state)
{
    (void)state;
    char *dir = th_tempdir("ioq");
    char *p = path_in(dir, "fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    int wfd = open(p, O_RDWR | O_CLOEXEC); /* a writer, so the open below returns */
    assert_true(wfd >= 0);
    lsm_io *io;
    assert_int_equal(io_new("uring", &io), 0);
    lsm_file *f;
    assert_int_equal(io_open(io, p, IO_READ, &f), 0);
    io_queue *q;
    assert_int_equal(io_queue_new(io, 2, &q), 0);
    assert_int_equal(write(wfd, "abc", 3), 3);
    char buf[8] = { 0 };
    io_op op = { .code = IO_OP_READ, .f = f, .buf = buf, .n = 7 }, *ptr = &op, *done[2];
    assert_int_equal(io_queue_submit(q, &ptr, 1), 0);
    int err = -1;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(io_queue_reap(q, done, 2, 0, &err), 0); /* 3 of 7: not done */
        assert_int_equal(err, 0);
        usleep(2000);
    }
    assert_int_equal(write(wfd, "defg", 4), 4);
    assert_int_equal(io_queue_reap(q, done, 2, 1, &err), 1);
    assert_ptr_equal(done[0], &op);
    assert_int_equal(op.res, 7);
    assert_string_equal(buf, "abcdefg");
    io_queue_destroy(q);
    io_close(io, f);
    close(wfd);
    io_destroy(io);
    free(p);
    th_rmrf_free(dir);
}

static void test_over_depth_is_eagain(void **state)
{
    (void)state;
    for (int w = 0; w < B_COUNT; w++) {
        char *dir = th_tempdir("ioq");
        struct be b;
        be_open(&b, (enum backend)w);
        char *p = path_in(dir, "d.sst");
        lsm_file *f = make_file(b.io, p, 8 * BLK, 4);
        io_queue *q;
        assert_int_equal(io_queue_new(b.io, 4, &q), 0);
        char buf[5][BLK];
        io_op ops[5];
        io_op *ptrs[5];
        for (int i = 0; i < 5; i++) {
            ops[i] = (io_op){ .code = IO_OP_READ, .f = f, .buf = buf[i], .n = BLK,
                              .off = (uint64_t)i * BLK };
            ptrs[i] = &ops[i];
        }
        assert_int_equal(io_queue_submit(q, ptrs, 5), -EAGAIN);
        assert_int_equal(io_queue_inflight(q), 0); /* none queued */
        assert_int_equal(io_queue_submit(q, ptrs, 3), 0);
        assert_int_equal(io_queue_submit(q, ptrs + 3, 2), -EAGAIN);
        assert_int_equal(io_queue_submit(q, ptrs + 3, 1), 0);
        assert_int_equal(io_queue_room(q), 0);
        reap_all(q, 4);
        for (int i = 0; i < 4; i++)
            assert_int_equal(ops[i].res, BLK);
        assert_null(ops[4].user); /* never submitted, never returned */
        io_queue_destroy(q);
        io_close(b.io, f);
        be_close(&b);
        free(p);
        th_rmrf_free(dir);
    }
}

static void test_eventfd_readable(void **state)
{
    (void)state;
    for (int w = 0; w < B_COUNT; w++) {
        char *dir = th_tempdir("ioq");
        struct be b;
        be_open(&b, (enum backend)w);
        char *p = path_in(dir, "v.sst");
        lsm_file *f = make_file(b.io, p, 8 * BLK, 5);
        io_queue *q;
        assert_int_equal(io_queue_new(b.io, 8, &q), 0);
        int efd = io_queue_fd(q);
        assert_true(efd >= 0);
        struct pollfd pfd = { .fd = efd, .events = POLLIN };
        assert_int_equal(poll(&pfd, 1, 0), 0); /* nothing yet */
        char buf[8][BLK];
        io_op ops[8];
        io_op *ptrs[8];
        for (int i = 0; i < 8; i++) {
            ops[i] = (io_op){ .code = IO_OP_READ, .f = f, .buf = buf[i], .n = BLK,
                              .off = (uint64_t)(7 - i) * BLK };
            ptrs[i] = &ops[i];
        }
        assert_int_equal(io_queue_submit(q, ptrs, 8), 0);
        /* An event loop: poll, clear, reap without blocking. */
        io_op *done[8];
        size_t total = 0;
        while (total < 8) {
            assert_int_equal(poll(&pfd, 1, 10000), 1);
            uint64_t v;
            assert_int_equal(read(efd, &v, sizeof v), (ssize_t)sizeof v);
            total += io_queue_reap(q, done, 8, 0, NULL);
        }
        assert_int_equal(io_queue_inflight(q), 0);
        for (int i = 0; i < 8; i++)
            assert_int_equal(ops[i].res, BLK);
        io_queue_destroy(q);
        io_close(b.io, f);
        be_close(&b);
        free(p);
        th_rmrf_free(dir);
    }
}

/* ---- the fault backend's queue ------------------------------------------- */

/* Arms the nth op of a batch of reads and writes: only it fails, with its
 * errno; the others complete with the right data, and the disk holds every
 * write but the failed one. */
static void test_fault_fails_one_op_of_a_batch(void **state)
{
    (void)state;
    for (int w = B_FAULT_URING; w <= B_FAULT_POSIX; w++) {
        for (int nth = 1; nth <= 8; nth += 3) {
            char *dir = th_tempdir("ioq");
            struct be b;
            be_open(&b, (enum backend)w);
            char *rp = path_in(dir, "r.sst"), *wp = path_in(dir, "w.sst");
            lsm_file *rf = make_file(b.io, rp, 8 * BLK, 6);
            lsm_file *wf = make_file(b.io, wp, 8 * BLK, 7);
            io_queue *q;
            assert_int_equal(io_queue_new(b.io, 8, &q), 0);
            char buf[8][BLK], expect[8 * BLK], orig[8 * BLK];
            fill(expect, sizeof expect, 6);
            fill(orig, sizeof orig, 7);
            io_op ops[8];
            io_op *ptrs[8];
            for (int i = 0; i < 8; i++) {
                int wr = i % 2;
                ops[i] = (io_op){ .code = wr ? IO_OP_WRITE : IO_OP_READ, .f = wr ? wf : rf,
                                  .buf = buf[i], .n = BLK, .off = (uint64_t)i * BLK };
                if (wr)
                    fill(buf[i], BLK, 50u + (unsigned)i);
                ptrs[i] = &ops[i];
            }
            io_fault_arm(b.io, (uint64_t)nth, ENOSPC, 0);
            assert_int_equal(io_queue_submit(q, ptrs, 8), 0);
            reap_all(q, 8);
            assert_int_equal(io_fault_ops(b.io), 8); /* one operation each */
            io_fault_arm(b.io, 0, 0, 0);
            for (int i = 0; i < 8; i++) {
                char want[BLK], got[BLK];
                if (i == nth - 1) {
                    assert_int_equal(ops[i].res, -ENOSPC);
                    if (ops[i].code == IO_OP_WRITE) { /* never reached the disk */
                        assert_int_equal(io_read(b.io, wf, got, BLK, ops[i].off), BLK);
                        assert_memory_equal(got, orig + ops[i].off, BLK);
                    }
                    continue;
                }
                assert_int_equal(ops[i].res, BLK);
                if (ops[i].code == IO_OP_READ) {
                    assert_memory_equal(buf[i], expect + ops[i].off, BLK);
                } else {
                    fill(want, BLK, 50u + (unsigned)i);
                    assert_int_equal(io_read(b.io, wf, got, BLK, ops[i].off), BLK);
                    assert_memory_equal(got, want, BLK);
                }
            }
            io_queue_destroy(q);
            io_close(b.io, rf);
            io_close(b.io, wf);
            be_close(&b);
            free(rp);
            free(wp);
            th_rmrf_free(dir);
        }
    }
}

static uint64_t disk_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* Queued writes are lost at power loss unless a queued SYNC submitted after
 * they completed has completed; a SYNC in the same batch covers only what
 * was already written (the batch runs in any order). */
static void test_fault_power_loss_through_queue(void **state)
{
    (void)state;
    for (int w = B_FAULT_URING; w <= B_FAULT_POSIX; w++) {
        for (int mode = 0; mode < 3; mode++) { /* no sync, sync after, sync in batch */
            char *dir = th_tempdir("ioq");
            struct be b;
            be_open(&b, (enum backend)w);
            char *p = path_in(dir, "p.log");
            lsm_file *f;
            assert_int_equal(io_open(b.io, p, IO_CREATE, &f), 0);
            assert_int_equal(io_sync_dir(b.io, dir), 0); /* the name is durable */
            io_queue *q;
            assert_int_equal(io_queue_new(b.io, 8, &q), 0);
            char buf[4][BLK];
            io_op ops[5];
            io_op *ptrs[5];
            for (int i = 0; i < 4; i++) {
                fill(buf[i], BLK, 70u + (unsigned)i);
                ops[i] = (io_op){ .code = IO_OP_WRITE, .f = f, .buf = buf[i], .n = BLK,
                                  .off = (uint64_t)i * BLK };
                ptrs[i] = &ops[i];
            }
            ops[4] = (io_op){ .code = IO_OP_SYNC, .f = f };
            ptrs[4] = &ops[4];
            assert_int_equal(io_queue_submit(q, ptrs, mode == 2 ? 5 : 4), 0);
            reap_all(q, 8);
            if (mode == 1) {
                assert_int_equal(io_queue_submit(q, ptrs + 4, 1), 0);
                reap_all(q, 8);
            }
            for (int i = 0; i < (mode ? 5 : 4); i++)
                assert_int_equal(ops[i].res, i < 4 ? BLK : 0);
            assert_int_equal(disk_size(p), 4 * BLK);
            io_queue_destroy(q);
            assert_int_equal(io_fault_power_loss(b.io), 0);
            io_close(b.io, f);
            assert_int_equal(disk_size(p), mode == 1 ? 4 * BLK : 0);
            be_close(&b);
            free(p);
            th_rmrf_free(dir);
        }
    }
}

/* ---- per-I/O-kind counters ----------------------------------------------- */

/* What the backends count for: a WAL write, a WAL sync, a WAL write_sync,
 * a table write, a blocking table read, and one queue batch of 8 table
 * reads. */
static void kind_workload(lsm_io *io, const char *dir, struct io_stats *out)
{
    char *lp = path_in(dir, "000001.log"), *tp = path_in(dir, "000002.sst");
    char *mp = path_in(dir, "MANIFEST-000003");
    lsm_file *lf, *tf, *mf;
    char buf[8][BLK];
    memset(buf, 'x', sizeof buf);
    assert_int_equal(io_open(io, lp, IO_CREATE, &lf), 0);
    assert_int_equal(io_open(io, tp, IO_CREATE, &tf), 0);
    assert_int_equal(io_open(io, mp, IO_CREATE, &mf), 0);
    struct io_stats before;
    io_stats_snapshot(io, &before);
    assert_int_equal(io_write(io, lf, buf[0], 100, 0), 0);
    assert_int_equal(io_sync(io, lf), 0);
    assert_int_equal(io_write_sync(io, lf, buf[0], 100, 100), 0);
    assert_int_equal(io_write(io, tf, buf[0], 8 * BLK, 0), 0);
    assert_int_equal(io_read(io, tf, buf[0], BLK, 0), BLK);
    /* Not counted by kind: a MANIFEST. */
    assert_int_equal(io_write_sync(io, mf, buf[0], 10, 0), 0);
    io_queue *q;
    assert_int_equal(io_queue_new(io, 8, &q), 0);
    io_op ops[8];
    io_op *ptrs[8];
    for (int i = 0; i < 8; i++) {
        ops[i] = (io_op){ .code = IO_OP_READ, .f = tf, .buf = buf[i], .n = BLK,
                          .off = (uint64_t)i * BLK };
        ptrs[i] = &ops[i];
    }
    assert_int_equal(io_queue_submit(q, ptrs, 8), 0);
    reap_all(q, 8);
    io_queue_destroy(q);
    io_stats_snapshot(io, out);
    for (int k = 0; k < IO_STAT_KINDS; k++) {
        out->kind[k].ops -= before.kind[k].ops;
        out->kind[k].ring -= before.kind[k].ring;
        out->kind[k].inlined -= before.kind[k].inlined;
        out->kind[k].submissions -= before.kind[k].submissions;
        assert_int_equal(out->kind[k].ops, out->kind[k].ring + out->kind[k].inlined);
    }
    out->submissions -= before.submissions;
    io_close(io, lf);
    io_close(io, tf);
    io_close(io, mf);
    free(lp);
    free(tp);
    free(mp);
}

static void expect_kind(const struct io_stats *s, enum io_stat_kind k, uint64_t ops,
                        uint64_t ring, uint64_t subs)
{
    print_message("  %s ops %llu ring %llu inline %llu submissions %llu\n",
                  io_stat_kind_name(k), (unsigned long long)s->kind[k].ops,
                  (unsigned long long)s->kind[k].ring, (unsigned long long)s->kind[k].inlined,
                  (unsigned long long)s->kind[k].submissions);
    assert_int_equal(s->kind[k].ops, ops);
    assert_int_equal(s->kind[k].ring, ring);
    assert_int_equal(s->kind[k].inlined, ops - ring);
    assert_int_equal(s->kind[k].submissions, subs);
}

static void test_stats_posix(void **state)
{
    (void)state;
    char *dir = th_tempdir("ioq");
    lsm_io *io, *fio;
    assert_int_equal(io_new("posix", &io), 0);
    assert_int_equal(io_fault_new(io, &fio), 0);
    for (int pass = 0; pass < 2; pass++) { /* posix, then fault over it */
        struct io_stats s;
        kind_workload(pass ? fio : io, dir, &s);
        expect_kind(&s, IO_STAT_WAL_WRITE, 2, 0, 0);
        expect_kind(&s, IO_STAT_WAL_SYNC, 2, 0, 0);
        expect_kind(&s, IO_STAT_TABLE_WRITE, 1, 0, 0);
        expect_kind(&s, IO_STAT_TABLE_READ, 9, 0, 0);
        assert_int_equal(s.submissions, 0);
    }
    io_destroy(fio);
    io_destroy(io);
    th_rmrf_free(dir);
}

static void test_stats_uring(void **state)
{
    (void)state;
    char *dir = th_tempdir("ioq");
    for (int via_ring = 0; via_ring < 2; via_ring++) {
        /* The backend reads these at creation. */
        if (via_ring) {
            setenv("LSMD_URING_WRITES", "ring", 1);
            setenv("LSMD_URING_SYNC", "ring", 1);
        } else {
            unsetenv("LSMD_URING_WRITES");
            unsetenv("LSMD_URING_SYNC");
        }
        lsm_io *io, *fio;
        assert_int_equal(io_new("uring", &io), 0);
        assert_int_equal(io_fault_new(io, &fio), 0);
        for (int pass = 0; pass < 2; pass++) { /* uring, then fault over it */
            print_message("via_ring %d fault %d\n", via_ring, pass);
            struct io_stats s;
            kind_workload(pass ? fio : io, dir, &s);
            /* Table reads: the blocking one and the batch of 8 in one
             * submission each. */
            expect_kind(&s, IO_STAT_TABLE_READ, 9, 9, 2);
            if (!via_ring) {
                expect_kind(&s, IO_STAT_WAL_WRITE, 2, 0, 0);
                expect_kind(&s, IO_STAT_WAL_SYNC, 2, 0, 0);
                expect_kind(&s, IO_STAT_TABLE_WRITE, 1, 0, 0);
                assert_int_equal(s.submissions, 2);
            } else {
                /* write, sync, and write+sync linked in ONE submission. */
                expect_kind(&s, IO_STAT_WAL_WRITE, 2, 2, 2);
                expect_kind(&s, IO_STAT_WAL_SYNC, 2, 2, 2);
                expect_kind(&s, IO_STAT_TABLE_WRITE, 1, 1, 1);
                /* 3 WAL + 1 table write + 2 table read + 1 MANIFEST. */
                assert_int_equal(s.submissions, 7);
            }
        }
        io_destroy(fio);
        io_destroy(io);
    }
    unsetenv("LSMD_URING_WRITES");
    unsetenv("LSMD_URING_SYNC");
    th_rmrf_free(dir);
}

/* The engine's stats JSON reports the counters ("io"), through the fault
 * backend without double counting. */
static void test_stats_json(void **state)
{
    (void)state;
    char *dir = th_tempdir("ioq");
    lsm_options o;
    lsm_options_init(&o);
    o.io_backend = "posix";
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(lsm_put(db, "k", 1, "v", 1, LSM_SYNC), 0);
    char *js;
    assert_int_equal(lsm_stats_json(db, &js), 0);
    unsigned long long wops = th_json_u64(js, "\"io\":{\"wal_write\":{", "\"ops\":");
    unsigned long long winl = th_json_u64(js, "\"io\":{\"wal_write\":{", "\"inline\":");
    unsigned long long sops = th_json_u64(js, "\"wal_sync\":{", "\"ops\":");
    assert_true(wops >= 10);
    assert_int_equal(winl, wops); /* posix: all inline */
    assert_true(sops >= 10);
    assert_int_equal(th_json_u64(js, "\"wal_write\":{", "\"ring\":"), 0);
    assert_int_equal(th_json_u64(js, "\"io\":{", "\"ring_submissions\":"), 0);
    th_json_u64(js, "\"table_read\":{", "\"submissions\":");
    th_json_u64(js, "\"table_write\":{", "\"ops\":");
    lsm_free(js);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

/* ---- sustained random reads at depth 32, O_DIRECT --------------------------
 * The queue kept full (reap one, submit one) for a while: every read must
 * return its whole block, with the right bytes.  Also the read
 * microbenchmark behind docs/tuning.md "I/O backend": with
 * LSM_IOQ_BENCH_FILE=path (an existing file, e.g. fio's 1 GiB one) and
 * LSM_IOQ_BENCH_SECONDS it reads that file instead and prints the rate of
 * each backend (a figure, never asserted). */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void direct_reads(enum backend which, const char *path, int check, double secs)
{
    struct be b;
    be_open(&b, which);
    lsm_file *f;
    assert_int_equal(io_open(b.io, path, IO_READ | IO_DIRECT, &f), 0);
    uint64_t size;
    assert_int_equal(io_size(b.io, f, &size), 0);
    uint64_t nblk = size / BLK;
    assert_true(nblk > 0);
    io_queue *q;
    assert_int_equal(io_queue_new(b.io, DEPTH, &q), 0);
    char *bufs = io_aligned_alloc((size_t)DEPTH * BLK);
    assert_non_null(bufs);
    io_op ops[DEPTH];
    uint64_t rnd = th_seed() | 1, n = 0;
    for (int i = 0; i < DEPTH; i++) {
        rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
        ops[i] = (io_op){ .code = IO_OP_READ, .f = f, .buf = bufs + (size_t)i * BLK,
                          .n = BLK, .off = (rnd % nblk) * BLK };
        io_op *p = &ops[i];
        assert_int_equal(io_queue_submit(q, &p, 1), 0);
    }
    double t0 = now_s(), t = t0;
    char want[BLK];
    while (t - t0 < secs) {
        io_op *done[DEPTH];
        int err;
        size_t got = io_queue_reap(q, done, DEPTH, 1, &err);
        assert_int_equal(err, 0);
        for (size_t i = 0; i < got; i++) {
            io_op *op = done[i];
            assert_int_equal(op->res, BLK);
            if (check) {
                fill(want, BLK, (unsigned)(op->off / BLK));
                assert_memory_equal(op->buf, want, BLK);
            }
            n++;
            rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
            op->off = (rnd % nblk) * BLK;
        }
        assert_int_equal(io_queue_submit(q, done, got), 0);
        t = now_s();
    }
    io_op *done[DEPTH];
    while (io_queue_inflight(q))
        io_queue_reap(q, done, DEPTH, io_queue_inflight(q), NULL);
    print_message("  %s: %.0f reads/s of 4 KiB at depth %d, O_DIRECT (%.1f s)\n",
                  backend_name[which], (double)n / (t - t0), DEPTH, t - t0);
    io_queue_destroy(q);
    free(bufs);
    io_close(b.io, f);
    be_close(&b);
}

static void test_direct_random_reads_at_depth(void **state)
{
    (void)state;
    const char *file = getenv("LSM_IOQ_BENCH_FILE");
    double secs = (double)th_env_long("LSM_IOQ_BENCH_SECONDS", 0);
    char *dir = NULL, *p = NULL;
    if (!file) {
        dir = th_tempdir("ioq");
        p = path_in(dir, "d.sst");
        lsm_io *io;
        assert_int_equal(io_new("posix", &io), 0);
        lsm_file *f;
        assert_int_equal(io_open(io, p, IO_CREATE, &f), 0);
        char blk[BLK];
        for (unsigned i = 0; i < 1024; i++) { /* 4 MiB, each block its own bytes */
            fill(blk, BLK, i);
            assert_int_equal(io_write(io, f, blk, BLK, (uint64_t)i * BLK), 0);
        }
        assert_int_equal(io_sync(io, f), 0);
        io_close(io, f);
        io_destroy(io);
        file = p;
        if (secs <= 0)
            secs = 0.2;
    }
    if (secs <= 0)
        secs = 10;
    for (int w = 0; w < B_COUNT; w++)
        direct_reads((enum backend)w, file, p != NULL, secs);
    free(p);
    if (dir)
        th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixed_batch),
        cmocka_unit_test(test_read_at_eof_is_short),
        cmocka_unit_test(test_direct_read_at_eof_is_short),
        cmocka_unit_test(test_short_read_resubmitted),
        cmocka_unit_test(test_over_depth_is_eagain),
        cmocka_unit_test(test_eventfd_readable),
        cmocka_unit_test(test_fault_fails_one_op_of_a_batch),
        cmocka_unit_test(test_fault_power_loss_through_queue),
        cmocka_unit_test(test_stats_posix),
        cmocka_unit_test(test_stats_uring),
        cmocka_unit_test(test_stats_json),
        cmocka_unit_test(test_direct_random_reads_at_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
