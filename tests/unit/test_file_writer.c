/* test_file_writer.c — engine/table/file_writer.c, the sequential writer
 * with write-behind: buffered and direct, sizes around the alignment and
 * the chunk, exact length and content after finish, O_DIRECT really used,
 * and a write failing among others in flight fails finish and leaves no
 * file behind (also through the table builder).
 * LSM_TEST_PER_BACKEND: run once with LSMD_IO=uring and once with posix. */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io.h"
#include "io/io_direct.h"
#include "table/file_writer.h"
#include "table/sstable_builder.h"
#include "base/coding.h"
#include "base/dbformat.h"

static char *g_dir;
static char g_path[512];

static int setup(void **state)
{
    (void)state;
    g_dir = th_tempdir("fw");
    snprintf(g_path, sizeof g_path, "%s/out", g_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    th_rmrf_free(g_dir);
    return 0;
}

/* Byte i of every file written here. */
static char pattern(uint64_t i)
{
    return (char)((i * 2654435761u) >> 13);
}

/* Appends size pattern bytes in pieces of 1 .. 70000 bytes. */
static int append_pattern(file_writer *w, uint64_t size, th_rng *r)
{
    static char piece[70000];
    uint64_t done = 0;
    while (done < size) {
        size_t n = 1 + (size_t)(th_rng_next(r) % sizeof piece);
        if (n > size - done)
            n = (size_t)(size - done);
        for (size_t i = 0; i < n; i++)
            piece[i] = pattern(done + i);
        int rc = fw_append(w, piece, n);
        if (rc)
            return rc;
        done += n;
        assert_int_equal(fw_offset(w), done);
    }
    return 0;
}

/* The file at path is exactly size pattern bytes. */
static void check_file(const char *path, uint64_t size)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((uint64_t)st.st_size, size);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[65536];
    uint64_t off = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < n; i++)
            if (buf[i] != pattern(off + i))
                fail_msg("%s: byte %llu differs", path, (unsigned long long)(off + i));
        off += n;
    }
    fclose(f);
    assert_int_equal(off, size);
}

static const uint64_t k_sizes[] = {
    0, 1, 4095, 4096, 4097, 100000, FW_CHUNK - 1, FW_CHUNK, FW_CHUNK + 1,
    /* more chunks than FW_DEPTH: buffers are reused after their write */
    (FW_DEPTH + 2) * FW_CHUNK + 12345,
};

static void sizes_in_mode(int flags)
{
    lsm_io *io;
    assert_int_equal(io_new(NULL, &io), 0);
    th_rng r;
    th_rng_seed(&r, th_seed());
    for (size_t i = 0; i < sizeof k_sizes / sizeof k_sizes[0]; i++) {
        file_writer *w;
        assert_int_equal(fw_open(io, g_path, flags, &w), 0);
        assert_int_equal(append_pattern(w, k_sizes[i], &r), 0);
        assert_int_equal(fw_finish(w), 0);
        assert_int_equal(fw_offset(w), k_sizes[i]);
        assert_int_equal(fw_close(w, 0), 0);
        check_file(g_path, k_sizes[i]);
    }
    io_destroy(io);
}

static void test_sizes_buffered(void **state)
{
    (void)state;
    sizes_in_mode(0);
}

static void test_sizes_direct(void **state)
{
    (void)state;
    sizes_in_mode(FW_DIRECT);
}

/* Pages of path in the page cache. */
static size_t resident_pages(const char *path)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    size_t len = (size_t)st.st_size;
    void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(p != MAP_FAILED);
    long pg = sysconf(_SC_PAGESIZE);
    size_t npages = (len + (size_t)pg - 1) / (size_t)pg, n = 0;
    unsigned char *vec = malloc(npages);
    assert_non_null(vec);
    assert_int_equal(mincore(p, len, vec), 0);
    for (size_t i = 0; i < npages; i++)
        n += vec[i] & 1;
    free(vec);
    munmap(p, len);
    close(fd);
    return n;
}

/* Direct mode bypasses the page cache (the point of it); buffered mode
 * leaves the written pages cached. */
static void test_direct_bypasses_page_cache(void **state)
{
    (void)state;
    lsm_io *io;
    assert_int_equal(io_new(NULL, &io), 0);
    th_rng r;
    th_rng_seed(&r, th_seed());
    uint64_t size = 3 * FW_CHUNK + 777;
    file_writer *w;
    assert_int_equal(fw_open(io, g_path, FW_DIRECT, &w), 0);
    assert_int_equal(append_pattern(w, size, &r), 0);
    assert_int_equal(fw_finish(w), 0);
    assert_int_equal(fw_close(w, 0), 0);
    size_t direct = resident_pages(g_path);
    assert_true(direct <= 1); /* the truncated last page may be read back */

    assert_int_equal(fw_open(io, g_path, 0, &w), 0);
    assert_int_equal(append_pattern(w, size, &r), 0);
    assert_int_equal(fw_finish(w), 0);
    assert_int_equal(fw_close(w, 0), 0);
    assert_true(resident_pages(g_path) > direct + 100);
    check_file(g_path, size);
    io_destroy(io);
}

/* One run: a writer on a fault backend failing operation k (0: none)
 * after the open.  Returns finish's result; *ops receives the operations
 * counted, *hints the writeback hints among them. */
static int faulty_run(lsm_io *fio, int flags, uint64_t k, uint64_t size, uint64_t *ops,
                      uint64_t *hints)
{
    th_rng r;
    th_rng_seed(&r, 42);
    file_writer *w;
    assert_int_equal(fw_open(fio, g_path, flags, &w), 0);
    io_fault_arm(fio, k, EIO, 0);
    int rc = append_pattern(w, size, &r);
    if (rc == 0)
        rc = fw_finish(w);
    else
        assert_int_equal(fw_finish(w), rc); /* the error sticks */
    *ops = io_fault_ops(fio);
    *hints = io_fault_hints(fio);
    io_fault_arm(fio, 0, 0, 0);
    assert_int_equal(fw_close(w, rc != 0), 0);
    return rc;
}

/* Every write (each one of several in flight), the truncate and the sync
 * fail finish when they fail; a failed file is removed; a finish that
 * succeeds (only when the failed operation was an ignored hint) left the
 * exact bytes. */
static void fault_loop(int flags)
{
    lsm_io *base, *fio;
    assert_int_equal(io_new(NULL, &base), 0);
    assert_int_equal(io_fault_new(base, &fio), 0);
    uint64_t size = (FW_DEPTH + 1) * FW_CHUNK + 5000, ops, hints;
    assert_int_equal(faulty_run(fio, flags, 0, size, &ops, &hints), 0);
    check_file(g_path, size);
    /* (FW_DEPTH + 2) writes, a truncate (direct), a sync */
    assert_true(ops >= FW_DEPTH + 4);
    if (flags & FW_DIRECT)
        assert_int_equal(hints, 0);
    uint64_t passed = 0;
    for (uint64_t k = 1; k <= ops; k++) {
        uint64_t o, h;
        int rc = faulty_run(fio, flags, k, size, &o, &h);
        if (rc == 0) {
            passed++;
            check_file(g_path, size);
        } else {
            assert_int_equal(rc, -EIO);
            assert_int_equal(access(g_path, F_OK), -1);
        }
    }
    assert_true(passed <= hints); /* only a failed hint may pass */
    io_destroy(fio);
    io_destroy(base);
}

static void test_fault_buffered(void **state)
{
    (void)state;
    fault_loop(0);
}

static void test_fault_direct(void **state)
{
    (void)state;
    fault_loop(FW_DIRECT);
}

/* Through the table builder: a failed write makes finish fail and remove
 * the table; a good one is a table of the exact size it reports. */
static void test_builder_direct_fault(void **state)
{
    (void)state;
    lsm_io *base, *fio;
    assert_int_equal(io_new(NULL, &base), 0);
    assert_int_equal(io_fault_new(base, &fio), 0);
    sst_options o;
    sst_options_init(&o);
    o.direct_io = 1;
    for (uint64_t k = 0; k <= 4; k++) {
        sst_builder *b;
        assert_int_equal(sst_builder_new(fio, g_path, &o, &b), 0);
        io_fault_arm(fio, k, EIO, 0);
        int rc = 0;
        char key[32], val[200];
        memset(val, 'v', sizeof val);
        for (int i = 0; i < 20000 && rc == 0; i++) {
            int n = snprintf(key, sizeof key, "key%08d", i);
            put_fixed64(key + n, pack_trailer((uint64_t)i + 1, LSM_TYPE_PUT));
            rc = sst_builder_add(b, slice_make(key, (size_t)n + 8), slice_make(val, sizeof val));
        }
        sst_props p = { 0 };
        int frc = sst_builder_finish(b, &p);
        io_fault_arm(fio, 0, 0, 0);
        if (k == 0) {
            assert_int_equal(frc, 0);
            struct stat st;
            assert_int_equal(stat(g_path, &st), 0);
            assert_int_equal((uint64_t)st.st_size, p.file_size);
            assert_true(p.file_size > 4 * FW_CHUNK);
        } else {
            assert_int_equal(frc, -EIO);
            assert_true(rc == 0 || rc == -EIO);
            assert_int_equal(access(g_path, F_OK), -1);
        }
        sst_props_free(&p);
    }
    io_destroy(fio);
    io_destroy(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sizes_buffered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sizes_direct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_bypasses_page_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_buffered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_direct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_builder_direct_fault, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
