/*
 * test_io_fault.c — the fault-injection backend: failing the Nth operation
 * and power loss (io/io.h, io/io_fault.c).  Wraps each base backend in turn:
 * LSM_TEST_PER_BACKEND.
 */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io.h"

struct fx {
    lsm_io *base;
    lsm_io *io; /* fault(base) */
    char *dir;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_int_equal(io_new(NULL, &fx->base), 0);
    assert_int_equal(io_fault_new(fx->base, &fx->io), 0);
    fx->dir = th_tempdir("iofault");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    io_destroy(fx->io);
    io_destroy(fx->base);
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

/* -1 if the file does not exist. */
static long long disk_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Reads a file with plain syscalls (not through any backend). */
static size_t disk_read(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, cap);
    assert_true(n >= 0);
    close(fd);
    return (size_t)n;
}

static int count_trash(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, ".fault-trash", 12) == 0)
            n++;
    closedir(d);
    return n;
}

/* Creates name holding content, fully durable (file sync + dir sync). */
static void make_durable(struct fx *fx, const char *name, const char *content)
{
    char *p = path_in(fx, name);
    lsm_file *f;
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    assert_int_equal(io_write_sync(fx->io, f, content, strlen(content), 0), 0);
    assert_int_equal(io_close(fx->io, f), 0);
    assert_int_equal(io_sync_dir(fx->io, fx->dir), 0);
    free(p);
}

static void assert_content(struct fx *fx, const char *name, const char *content)
{
    char *p = path_in(fx, name);
    char buf[256];
    size_t n = disk_read(p, buf, sizeof buf);
    assert_int_equal(n, strlen(content));
    assert_memory_equal(buf, content, n);
    free(p);
}

static void test_name_and_passthrough(void **state)
{
    struct fx *fx = *state;
    char want[64];
    snprintf(want, sizeof want, "fault(%s)", fx->base->name);
    assert_string_equal(fx->io->name, want);
    assert_int_equal(fx->io->kind, IO_KIND_FAULT);
    assert_int_equal(io_fault_ops(fx->io), 0);

    char *p = path_in(fx, "x");
    char *q = path_in(fx, "y");
    lsm_file *f;
    char buf[8];
    uint64_t sz;
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);           /* 1 */
    assert_int_equal(io_write(fx->io, f, "abc", 3, 0), 0);             /* 2 */
    assert_int_equal(io_write_sync(fx->io, f, "d", 1, 3), 0);          /* 3 */
    assert_int_equal(io_sync(fx->io, f), 0);                           /* 4 */
    assert_int_equal(io_read(fx->io, f, buf, sizeof buf, 0), 4);       /* 5 */
    assert_memory_equal(buf, "abcd", 4);
    assert_int_equal(io_truncate(fx->io, f, 2), 0);                    /* 6 */
    assert_int_equal(io_size(fx->io, f, &sz), 0);                      /* - */
    assert_int_equal(sz, 2);
    assert_int_equal(io_close(fx->io, f), 0);                          /* - */
    assert_int_equal(io_sync_dir(fx->io, fx->dir), 0);                 /* 7 */
    assert_int_equal(io_rename(fx->io, p, q), 0);                      /* 8 */
    assert_int_equal(io_unlink(fx->io, q), 0);                         /* 9 */
    assert_int_equal(io_unlink(fx->io, q), -ENOENT);                   /* 10 */
    assert_int_equal(io_fault_ops(fx->io), 10);
    io_fault_arm(fx->io, 0, 0, 0); /* resets the count */
    assert_int_equal(io_fault_ops(fx->io), 0);

    /* Not a fault backend: the controls do nothing. */
    io_fault_arm(fx->base, 1, EIO, 1);
    assert_int_equal(io_fault_ops(fx->base), 0);
    assert_int_equal(io_fault_power_loss(fx->base), -EINVAL);
    free(p);
    free(q);
}

/* The armed write fails with EIO, nothing of it lands; the fault is
 * transient, so the next write goes through. */
static void test_nth_write_fails(void **state)
{
    struct fx *fx = *state;
    char *p = path_in(fx, "wal");
    lsm_file *f;
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    assert_int_equal(io_write(fx->io, f, "0123", 4, 0), 0);
    io_fault_arm(fx->io, 3, EIO, 0);
    assert_int_equal(io_write(fx->io, f, "4567", 4, 4), 0);
    assert_int_equal(io_write(fx->io, f, "89", 2, 8), 0);
    assert_int_equal(io_write(fx->io, f, "XXXX", 4, 10), -EIO);
    assert_int_equal(disk_size(p), 10);
    assert_int_equal(io_fault_ops(fx->io), 3);
    assert_int_equal(io_write_sync(fx->io, f, "ab", 2, 10), 0);
    assert_int_equal(io_fault_ops(fx->io), 4);
    assert_int_equal(io_close(fx->io, f), 0);
    assert_content(fx, "wal", "0123456789ab");
    free(p);
}

/* ENOSPC on every kind of operation: none of them reaches the disk. */
static void test_nth_fails_each_op(void **state)
{
    struct fx *fx = *state;
    char *p = path_in(fx, "f");
    char *q = path_in(fx, "g");
    make_durable(fx, "f", "data");
    lsm_file *f;
    char buf[8];

    io_fault_arm(fx->io, 1, ENOSPC, 0);
    assert_int_equal(io_open(fx->io, q, IO_CREATE, &f), -ENOSPC);
    assert_int_equal(disk_size(q), -1);

    io_fault_arm(fx->io, 1, ENOSPC, 0);
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), -ENOSPC);
    assert_int_equal(disk_size(p), 4); /* not truncated */

    assert_int_equal(io_open(fx->io, p, IO_APPEND, &f), 0);
    io_fault_arm(fx->io, 1, ENOSPC, 0);
    assert_int_equal(io_write_sync(fx->io, f, "more", 4, 4), -ENOSPC);
    assert_int_equal(disk_size(p), 4);
    io_fault_arm(fx->io, 1, EIO, 0);
    assert_int_equal(io_read(fx->io, f, buf, sizeof buf, 0), -EIO);
    io_fault_arm(fx->io, 1, EIO, 0);
    assert_int_equal(io_sync(fx->io, f), -EIO);
    io_fault_arm(fx->io, 1, ENOSPC, 0);
    assert_int_equal(io_truncate(fx->io, f, 1), -ENOSPC);
    assert_int_equal(disk_size(p), 4);
    assert_int_equal(io_close(fx->io, f), 0);

    io_fault_arm(fx->io, 1, EIO, 0);
    assert_int_equal(io_rename(fx->io, p, q), -EIO);
    assert_int_equal(disk_size(p), 4);
    assert_int_equal(disk_size(q), -1);
    io_fault_arm(fx->io, 1, EIO, 0);
    assert_int_equal(io_unlink(fx->io, p), -EIO);
    assert_int_equal(disk_size(p), 4);
    io_fault_arm(fx->io, 1, EIO, 0);
    assert_int_equal(io_sync_dir(fx->io, fx->dir), -EIO);
    assert_int_equal(io_fault_ops(fx->io), 1);
    assert_content(fx, "f", "data");
    assert_int_equal(count_trash(fx->dir), 0);
    free(p);
    free(q);
}

static void test_persistent(void **state)
{
    struct fx *fx = *state;
    char *p = path_in(fx, "p");
    lsm_file *f;
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    io_fault_arm(fx->io, 2, EIO, 1);
    assert_int_equal(io_write(fx->io, f, "a", 1, 0), 0);
    assert_int_equal(io_write(fx->io, f, "b", 1, 1), -EIO);
    assert_int_equal(io_write(fx->io, f, "c", 1, 1), -EIO);
    assert_int_equal(io_sync(fx->io, f), -EIO);
    assert_int_equal(io_sync_dir(fx->io, fx->dir), -EIO);
    char buf[4];
    assert_int_equal(io_read(fx->io, f, buf, 1, 0), -EIO);
    uint64_t sz;
    assert_int_equal(io_size(fx->io, f, &sz), 0); /* size is not counted */
    assert_int_equal(sz, 1);
    assert_int_equal(io_fault_ops(fx->io), 6);
    io_fault_arm(fx->io, 0, 0, 0); /* the disk comes back */
    assert_int_equal(io_write(fx->io, f, "b", 1, 1), 0);
    assert_int_equal(io_close(fx->io, f), 0);
    assert_content(fx, "p", "ab");
    free(p);
}

/* io_writeback is an operation like any other for the counter: counted,
 * failed when it is the Nth (without reaching the disk), and failed by a
 * persistent fault; it never affects the bytes on disk. */
static void test_writeback_counted_and_failed(void **state)
{
    struct fx *fx = *state;
    char *p = path_in(fx, "wal");
    lsm_file *f;
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    assert_int_equal(io_write(fx->io, f, "0123", 4, 0), 0);
    io_fault_arm(fx->io, 2, EIO, 0);
    assert_int_equal(io_writeback(fx->io, f, 0, 4), 0);
    assert_int_equal(io_fault_ops(fx->io), 1);
    assert_int_equal(io_writeback(fx->io, f, 0, 4), -EIO);
    assert_int_equal(io_fault_ops(fx->io), 2);
    assert_int_equal(io_writeback(fx->io, f, 0, 4), 0); /* transient */
    io_fault_arm(fx->io, 1, ENOSPC, 1);
    assert_int_equal(io_writeback(fx->io, f, 0, 4), -ENOSPC);
    assert_int_equal(io_write(fx->io, f, "x", 1, 4), -ENOSPC);
    assert_int_equal(io_writeback(fx->io, f, 0, 4), -ENOSPC);
    assert_int_equal(io_fault_ops(fx->io), 3);
    io_fault_arm(fx->io, 0, 0, 0);
    assert_int_equal(io_close(fx->io, f), 0);
    assert_content(fx, "wal", "0123");
    free(p);
}

/* Appends of several MiB with io_writeback_progress after each: every
 * IO_WRITEBACK_BYTES one hint is counted, and power loss still drops every
 * byte that only a hint (never a sync) covered. */
static void test_power_loss_ignores_writeback(void **state)
{
    struct fx *fx = *state;
    char *p = path_in(fx, "wal");
    lsm_file *f;
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    assert_int_equal(io_sync_dir(fx->io, fx->dir), 0);
    assert_int_equal(io_write_sync(fx->io, f, "head", 4, 0), 0);
    size_t piece = 64u << 10, total = 3u * IO_WRITEBACK_BYTES + 100;
    char *buf = malloc(piece);
    assert_non_null(buf);
    memset(buf, 'w', piece);
    io_fault_arm(fx->io, 0, 0, 0); /* resets the count */
    uint64_t hinted = 0, off = 4, writes = 0;
    while (off < 4 + total) {
        size_t n = 4 + total - off < piece ? 4 + total - off : piece;
        assert_int_equal(io_write(fx->io, f, buf, n, off), 0);
        writes++;
        off += n;
        io_writeback_progress(fx->io, f, &hinted, off);
    }
    assert_int_equal(hinted, 3u * IO_WRITEBACK_BYTES);
    assert_int_equal(io_fault_ops(fx->io), writes + 3);
    assert_int_equal(io_writeback(fx->io, f, 0, 0), 0); /* the whole file */
    assert_int_equal(disk_size(p), 4 + total);
    assert_int_equal(io_fault_power_loss(fx->io), 0);
    assert_int_equal(io_writeback(fx->io, f, 0, 4), -EIO); /* the machine is off */
    assert_int_equal(io_close(fx->io, f), 0);
    assert_content(fx, "wal", "head");
    free(buf);
    free(p);
}

/* ---- power loss -------------------------------------------------------------- */

static void assert_all_fail(struct fx *fx, lsm_file *f)
{
    char *p = path_in(fx, "after");
    char *q = path_in(fx, "after2");
    lsm_file *g;
    char buf[4];
    uint64_t sz;
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &g), -EIO);
    assert_int_equal(disk_size(p), -1);
    assert_int_equal(io_write(fx->io, f, "z", 1, 0), -EIO);
    assert_int_equal(io_write_sync(fx->io, f, "z", 1, 0), -EIO);
    assert_int_equal(io_read(fx->io, f, buf, 1, 0), -EIO);
    assert_int_equal(io_sync(fx->io, f), -EIO);
    assert_int_equal(io_writeback(fx->io, f, 0, 1), -EIO);
    assert_int_equal(io_truncate(fx->io, f, 0), -EIO);
    assert_int_equal(io_size(fx->io, f, &sz), -EIO);
    assert_int_equal(io_sync_dir(fx->io, fx->dir), -EIO);
    assert_int_equal(io_rename(fx->io, p, q), -EIO);
    assert_int_equal(io_unlink(fx->io, p), -EIO);
    char *all;
    size_t n;
    assert_int_equal(io_read_all(fx->io, p, &all, &n), -EIO);
    /* Arming cannot revive it. */
    io_fault_arm(fx->io, 0, 0, 0);
    assert_int_equal(io_sync_dir(fx->io, fx->dir), -EIO);
    free(p);
    free(q);
}

static void test_power_loss_appends(void **state)
{
    struct fx *fx = *state;
    char *p = path_in(fx, "wal");
    lsm_file *f;
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    assert_int_equal(io_sync_dir(fx->io, fx->dir), 0); /* the name is durable */
    assert_int_equal(io_write(fx->io, f, "aaaa", 4, 0), 0);
    assert_int_equal(io_write_sync(fx->io, f, "bbbb", 4, 4), 0);
    assert_int_equal(io_write(fx->io, f, "cccc", 4, 8), 0);
    assert_int_equal(io_sync(fx->io, f), 0);
    assert_int_equal(io_write(fx->io, f, "dddd", 4, 12), 0); /* lost */
    assert_int_equal(io_write(fx->io, f, "eeee", 4, 16), 0); /* lost */
    assert_int_equal(disk_size(p), 20);
    assert_int_equal(io_fault_power_loss(fx->io), 0);
    assert_content(fx, "wal", "aaaabbbbcccc");
    assert_all_fail(fx, f);
    assert_int_equal(io_close(fx->io, f), 0);
    free(p);
}

static void test_power_loss_files(void **state)
{
    struct fx *fx = *state;
    lsm_file *f;
    /* Created, dir synced, data never synced: present but empty. */
    char *b = path_in(fx, "000006.log");
    assert_int_equal(io_open(fx->io, b, IO_CREATE, &f), 0);
    assert_int_equal(io_sync_dir(fx->io, fx->dir), 0);
    assert_int_equal(io_write(fx->io, f, "lost", 4, 0), 0);
    assert_int_equal(io_close(fx->io, f), 0);
    /* Created after that sync_dir and synced, but the directory never was
     * again: gone. */
    char *a = path_in(fx, "000005.sst");
    assert_int_equal(io_open(fx->io, a, IO_CREATE, &f), 0);
    assert_int_equal(io_write_sync(fx->io, f, "table", 5, 0), 0);
    assert_int_equal(io_close(fx->io, f), 0);
    /* Created in another directory whose sync_dir does not cover this one. */
    char *sub = path_in(fx, "sub");
    assert_int_equal(mkdir(sub, 0755), 0);
    char *c = path_in(fx, "sub/000007.log");
    assert_int_equal(io_open(fx->io, c, IO_CREATE, &f), 0);
    assert_int_equal(io_write_sync(fx->io, f, "x", 1, 0), 0);
    assert_int_equal(io_close(fx->io, f), 0);
    assert_int_equal(io_sync_dir(fx->io, sub), 0);
    char *c2 = path_in(fx, "sub/../000008.log"); /* not durable: gone */
    assert_int_equal(io_open(fx->io, c2, IO_CREATE, &f), 0);
    assert_int_equal(io_close(fx->io, f), 0);
    /* Existed before the fault backend saw it: durable as it was. */
    char *d = path_in(fx, "OLD");
    int fd = open(d, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "before", 6), 6);
    close(fd);
    assert_int_equal(io_open(fx->io, d, IO_APPEND, &f), 0);
    assert_int_equal(io_write(fx->io, f, "+after", 6, 6), 0);
    assert_int_equal(io_close(fx->io, f), 0);

    assert_int_equal(io_fault_power_loss(fx->io), 0);
    assert_int_equal(disk_size(a), -1);
    assert_int_equal(disk_size(b), 0);
    assert_int_equal(disk_size(c), 1);
    assert_int_equal(disk_size(c2), -1);
    assert_content(fx, "OLD", "before");
    assert_int_equal(count_trash(fx->dir), 0);
    free(a);
    free(b);
    free(c);
    free(c2);
    free(sub);
    free(d);
}

/* The MANIFEST switch: CURRENT.tmp written, synced and renamed over
 * CURRENT, but the directory not synced: the old CURRENT comes back. */
static void test_power_loss_undoes_rename(void **state)
{
    struct fx *fx = *state;
    make_durable(fx, "CURRENT", "MANIFEST-000001\n");
    char *tmp = path_in(fx, "CURRENT.tmp");
    char *cur = path_in(fx, "CURRENT");
    lsm_file *f;
    assert_int_equal(io_open(fx->io, tmp, IO_CREATE, &f), 0);
    assert_int_equal(io_write_sync(fx->io, f, "MANIFEST-000002\n", 16, 0), 0);
    assert_int_equal(io_close(fx->io, f), 0);
    assert_int_equal(io_rename(fx->io, tmp, cur), 0);
    assert_content(fx, "CURRENT", "MANIFEST-000002\n");
    assert_int_equal(count_trash(fx->dir), 1); /* old CURRENT kept aside */

    assert_int_equal(io_fault_power_loss(fx->io), 0);
    assert_content(fx, "CURRENT", "MANIFEST-000001\n");
    assert_int_equal(disk_size(tmp), -1);
    assert_int_equal(count_trash(fx->dir), 0);
    free(tmp);
    free(cur);
}

/* The same with a sync_dir after the rename: the new CURRENT stays, and the
 * kept-aside copy is dropped at once. */
static void test_power_loss_keeps_synced_rename(void **state)
{
    struct fx *fx = *state;
    make_durable(fx, "CURRENT", "MANIFEST-000001\n");
    make_durable(fx, "CURRENT.tmp", "MANIFEST-000002\n");
    char *tmp = path_in(fx, "CURRENT.tmp");
    char *cur = path_in(fx, "CURRENT");
    assert_int_equal(io_rename(fx->io, tmp, cur), 0);
    assert_int_equal(count_trash(fx->dir), 1);
    assert_int_equal(io_sync_dir(fx->io, fx->dir), 0);
    assert_int_equal(count_trash(fx->dir), 0);

    assert_int_equal(io_fault_power_loss(fx->io), 0);
    assert_content(fx, "CURRENT", "MANIFEST-000002\n");
    assert_int_equal(disk_size(tmp), -1);
    free(tmp);
    free(cur);
}

/* A rename of a durable file with no sync_dir: both names go back. */
static void test_power_loss_undoes_move(void **state)
{
    struct fx *fx = *state;
    make_durable(fx, "a", "AAA");
    make_durable(fx, "b", "BBB");
    char *a = path_in(fx, "a"), *b = path_in(fx, "b"), *c = path_in(fx, "c");
    /* Swap a and b through c, never syncing the directory. */
    assert_int_equal(io_rename(fx->io, a, c), 0);
    assert_int_equal(io_rename(fx->io, b, a), 0);
    assert_int_equal(io_rename(fx->io, c, b), 0);
    assert_content(fx, "a", "BBB");
    assert_content(fx, "b", "AAA");
    assert_int_equal(io_fault_power_loss(fx->io), 0);
    assert_content(fx, "a", "AAA");
    assert_content(fx, "b", "BBB");
    assert_int_equal(disk_size(c), -1);
    assert_int_equal(count_trash(fx->dir), 0);
    free(a);
    free(b);
    free(c);
}

static void test_power_loss_restores_unlink(void **state)
{
    struct fx *fx = *state;
    make_durable(fx, "000003.log", "records");
    make_durable(fx, "000004.log", "gone for good");
    char *p = path_in(fx, "000003.log");
    char *q = path_in(fx, "000004.log");
    assert_int_equal(io_unlink(fx->io, q), 0);
    assert_int_equal(io_sync_dir(fx->io, fx->dir), 0);
    assert_int_equal(count_trash(fx->dir), 0);
    assert_int_equal(io_unlink(fx->io, p), 0);
    assert_int_equal(disk_size(p), -1);
    assert_int_equal(count_trash(fx->dir), 1);

    /* The name is reused before the crash; neither the new file nor its
     * name is durable. */
    lsm_file *f;
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), 0);
    assert_int_equal(io_write_sync(fx->io, f, "new", 3, 0), 0);
    assert_int_equal(io_close(fx->io, f), 0);

    assert_int_equal(io_fault_power_loss(fx->io), 0);
    assert_content(fx, "000003.log", "records");
    assert_int_equal(disk_size(q), -1);
    assert_int_equal(count_trash(fx->dir), 0);
    free(p);
    free(q);
}

/* io_fault_durable_unlinks: an unlink no sync_dir covers stays done at
 * power loss, while an unsynced rename before it is undone. */
static void test_power_loss_durable_unlinks(void **state)
{
    struct fx *fx = *state;
    make_durable(fx, "MANIFEST-000001", "old");
    make_durable(fx, "CURRENT", "MANIFEST-000001");
    make_durable(fx, "CURRENT.tmp", "MANIFEST-000002");
    char *m = path_in(fx, "MANIFEST-000001");
    char *c = path_in(fx, "CURRENT");
    char *t = path_in(fx, "CURRENT.tmp");
    io_fault_durable_unlinks(fx->io, 1);
    assert_int_equal(io_rename(fx->io, t, c), 0);
    assert_int_equal(count_trash(fx->dir), 1); /* the old CURRENT */
    assert_int_equal(io_unlink(fx->io, m), 0);
    assert_int_equal(count_trash(fx->dir), 1); /* none for the MANIFEST */
    assert_int_equal(io_fault_power_loss(fx->io), 0);
    assert_content(fx, "CURRENT", "MANIFEST-000001");
    assert_int_equal(disk_size(m), -1);
    free(m);
    free(c);
    free(t);
}

/* io_fault_fd_window_skip lets the window's next n matches through. */
static void test_fd_window_skip(void **state)
{
    struct fx *fx = *state;
    io_fault_fd_window(fx->io, EMFILE, IO_FAULT_SYNC_DIR, NULL);
    io_fault_fd_window_skip(fx->io, 2);
    assert_int_equal(io_sync_dir(fx->io, fx->dir), 0);
    assert_int_equal(io_sync_dir(fx->io, fx->dir), 0);
    assert_int_equal(io_sync_dir(fx->io, fx->dir), -EMFILE);
    assert_int_equal(io_fault_fd_hits(fx->io), 1);
    io_fault_fd_window(fx->io, 0, 0, NULL);
    assert_int_equal(io_sync_dir(fx->io, fx->dir), 0);
}

/* IO_FAULT_CREATED: the create reaches the disk, then fails; the file is
 * there but not durable. */
static void test_fd_window_created(void **state)
{
    struct fx *fx = *state;
    char *p = path_in(fx, "000007.log");
    lsm_file *f;
    io_fault_fd_window(fx->io, ENOMEM, IO_FAULT_CREATED, ".log");
    assert_int_equal(io_open(fx->io, p, IO_CREATE, &f), -ENOMEM);
    assert_int_equal(io_fault_fd_hits(fx->io), 1);
    assert_int_equal(disk_size(p), 0);
    io_fault_fd_window(fx->io, 0, 0, NULL);
    assert_int_equal(io_fault_power_loss(fx->io), 0);
    assert_int_equal(disk_size(p), -1);
    free(p);
}

/* Appends to a durable file after its last sync are cut even when it was
 * renamed meanwhile (the length belongs to the file, not the name). */
static void test_power_loss_truncate_semantics(void **state)
{
    struct fx *fx = *state;
    make_durable(fx, "t", "0123456789");
    char *p = path_in(fx, "t");
    lsm_file *f;
    assert_int_equal(io_open(fx->io, p, IO_APPEND, &f), 0);
    assert_int_equal(io_truncate(fx->io, f, 4), 0);   /* durable at once */
    assert_int_equal(io_truncate(fx->io, f, 8), 0);   /* growth: not synced */
    assert_int_equal(io_write(fx->io, f, "xy", 2, 8), 0);
    assert_int_equal(io_close(fx->io, f), 0);
    assert_int_equal(io_fault_power_loss(fx->io), 0);
    assert_content(fx, "t", "0123");
    free(p);
}

/* Arming and power loss with threads doing I/O through the backend. */
#define NT 4
#define ROUNDS 50

struct tw {
    struct fx *fx;
    int id;
    int failures;
    uint64_t synced;
};

static void *tw_main(void *arg)
{
    struct tw *w = arg;
    char name[32], *p;
    snprintf(name, sizeof name, "t%d", w->id);
    if (asprintf(&p, "%s/%s", w->fx->dir, name) < 0)
        return NULL;
    lsm_file *f;
    if (io_open(w->fx->io, p, IO_CREATE, &f) != 0) {
        w->failures++;
        free(p);
        return NULL;
    }
    char buf[100];
    memset(buf, 'a' + w->id, sizeof buf);
    uint64_t off = 0;
    for (int i = 0; i < ROUNDS; i++) {
        int rc = (i % 5 == 4) ? io_write_sync(w->fx->io, f, buf, sizeof buf, off)
                              : io_write(w->fx->io, f, buf, sizeof buf, off);
        if (rc)
            w->failures++;
        off += sizeof buf;
        if (i % 5 == 4)
            w->synced = off;
    }
    if (io_close(w->fx->io, f) != 0)
        w->failures++;
    free(p);
    return NULL;
}

static void test_threads_then_power_loss(void **state)
{
    struct fx *fx = *state;
    pthread_t th[NT];
    struct tw w[NT];
    for (int i = 0; i < NT; i++) {
        w[i] = (struct tw){ .fx = fx, .id = i };
        assert_int_equal(pthread_create(&th[i], NULL, tw_main, &w[i]), 0);
    }
    for (int i = 0; i < NT; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < NT; i++)
        assert_int_equal(w[i].failures, 0);
    assert_int_equal(io_fault_ops(fx->io), NT * (ROUNDS + 1));
    assert_int_equal(io_sync_dir(fx->io, fx->dir), 0);
    assert_int_equal(io_fault_power_loss(fx->io), 0);
    for (int i = 0; i < NT; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s/t%d", fx->dir, i);
        assert_int_equal(disk_size(name), (long long)w[i].synced);
        assert_int_equal(w[i].synced, ROUNDS * 100);
    }
}

static void test_destroy_drops_trash(void **state)
{
    struct fx *fx = *state;
    make_durable(fx, "k", "keep");
    char *p = path_in(fx, "k");
    assert_int_equal(io_unlink(fx->io, p), 0);
    assert_int_equal(count_trash(fx->dir), 1);
    io_destroy(fx->io);
    assert_int_equal(count_trash(fx->dir), 0);
    assert_int_equal(io_fault_new(fx->base, &fx->io), 0); /* for teardown */
    free(p);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_name_and_passthrough),
        T(test_nth_write_fails),
        T(test_nth_fails_each_op),
        T(test_persistent),
        T(test_writeback_counted_and_failed),
        T(test_power_loss_appends),
        T(test_power_loss_files),
        T(test_power_loss_undoes_rename),
        T(test_power_loss_keeps_synced_rename),
        T(test_power_loss_undoes_move),
        T(test_power_loss_restores_unlink),
        T(test_power_loss_truncate_semantics),
        T(test_power_loss_ignores_writeback),
        T(test_threads_then_power_loss),
        T(test_destroy_drops_trash),
        T(test_power_loss_durable_unlinks),
        T(test_fd_window_skip),
        T(test_fd_window_created),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
