/* test_direct_io.c — the use_direct_io option through lsm_open: a database
 * opened with it writes its tables (flush and compaction) with O_DIRECT
 * and reads back every value after a reopen; it is open-time only and in
 * the stats JSON; on a file system that refuses O_DIRECT (tmpfs on older
 * kernels: EINVAL) lsm_open fails cleanly with -EINVAL.
 * LSM_TEST_PER_BACKEND: run once with LSMD_IO=uring and once with posix. */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lsm.h"
#include "io/io.h"

static void fill(lsm_db *db, int from, int to, int gen)
{
    char k[32], v[300];
    for (int i = from; i < to; i++) {
        int kn = snprintf(k, sizeof k, "key%07d", i);
        int vn = snprintf(v, sizeof v, "value-%d-%d-", i, gen);
        memset(v + vn, 'a' + i % 26, sizeof v - (size_t)vn);
        assert_int_equal(lsm_put(db, k, (size_t)kn, v, sizeof v, 0), 0);
    }
}

static void check(lsm_db *db, int n, int gen)
{
    char k[32], want[32];
    for (int i = 0; i < n; i++) {
        int kn = snprintf(k, sizeof k, "key%07d", i);
        int wn = snprintf(want, sizeof want, "value-%d-%d-", i, gen);
        void *v;
        size_t vn;
        assert_int_equal(lsm_get(db, NULL, k, (size_t)kn, &v, &vn), 0);
        assert_int_equal(vn, 300);
        assert_memory_equal(v, want, (size_t)wn);
        assert_int_equal(((char *)v)[299], 'a' + i % 26);
        lsm_free(v);
    }
}

/* Of the pages of dir's tables, how many are in the page cache (*total:
 * how many there are). */
static size_t cached_table_pages(const char *dir, size_t *total)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t cached = 0;
    *total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t nl = strlen(e->d_name);
        if (nl < 4 || strcmp(e->d_name + nl - 4, ".sst") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int fd = open(path, O_RDONLY);
        struct stat st;
        assert_true(fd >= 0 && fstat(fd, &st) == 0);
        size_t len = (size_t)st.st_size, pages = (len + 4095) / 4096;
        void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
        assert_true(p != MAP_FAILED);
        unsigned char *vec = malloc(pages);
        assert_int_equal(mincore(p, len, vec), 0);
        for (size_t i = 0; i < pages; i++)
            cached += vec[i] & 1;
        *total += pages;
        free(vec);
        munmap(p, len);
        close(fd);
    }
    closedir(d);
    return cached;
}

static void test_direct_database(void **state)
{
    (void)state;
    char *dir = th_tempdir("dio");
    lsm_options o;
    lsm_options_init(&o);
    o.use_direct_io = 1;
    o.memtable_bytes = 1 << 20; /* several L0 tables, then a compaction */
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    char *json;
    assert_int_equal(lsm_stats_json(db, &json), 0);
    assert_non_null(strstr(json, "\"use_direct_io\":1"));
    lsm_free(json);
    assert_int_equal(lsm_set_option(db, "use_direct_io", "0"), -EINVAL);
    fill(db, 0, 20000, 1);
    fill(db, 0, 10000, 2); /* overwrite half: the compaction drops versions */
    assert_int_equal(lsm_flush(db), 0);
    assert_int_equal(lsm_compact(db, 0), 0);
    assert_int_equal(lsm_close(db), 0);
    /* The compaction's outputs went around the page cache: only what
     * opening them read (footer, index, filter) may be cached. */
    size_t total, cached = cached_table_pages(dir, &total);
    assert_true(total > 500);
    if (cached * 5 > total)
        fail_msg("%zu of %zu table pages cached after direct writes", cached, total);

    assert_int_equal(lsm_open(dir, &o, &db), 0);
    check(db, 10000, 2);
    char k[32];
    void *v;
    size_t vn;
    int kn = snprintf(k, sizeof k, "key%07d", 15000);
    assert_int_equal(lsm_get(db, NULL, k, (size_t)kn, &v, &vn), 0);
    lsm_free(v);
    assert_int_equal(lsm_close(db), 0);
    /* The same files open buffered: the format does not depend on it. */
    o.use_direct_io = 0;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    check(db, 10000, 2);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

/* ---- a backend whose file system refuses O_DIRECT ------------------------ */

static lsm_io *g_inner;

static int r_open(lsm_io *io, const char *path, int mode, lsm_file **out)
{
    (void)io;
    if (mode & IO_DIRECT)
        return -EINVAL; /* as open(2) on a file system without O_DIRECT */
    return io_open(g_inner, path, mode, out);
}
static int r_close(lsm_io *io, lsm_file *f) { (void)io; return io_close(g_inner, f); }
static long r_read(lsm_io *io, lsm_file *f, void *b, size_t n, uint64_t off)
{ (void)io; return io_read(g_inner, f, b, n, off); }
static int r_write(lsm_io *io, lsm_file *f, const void *b, size_t n, uint64_t off)
{ (void)io; return io_write(g_inner, f, b, n, off); }
static int r_write_sync(lsm_io *io, lsm_file *f, const void *b, size_t n, uint64_t off)
{ (void)io; return io_write_sync(g_inner, f, b, n, off); }
static int r_sync(lsm_io *io, lsm_file *f) { (void)io; return io_sync(g_inner, f); }
static int r_sync_dir(lsm_io *io, const char *d) { (void)io; return io_sync_dir(g_inner, d); }
static int r_rename(lsm_io *io, const char *a, const char *b)
{ (void)io; return io_rename(g_inner, a, b); }
static int r_unlink(lsm_io *io, const char *p) { (void)io; return io_unlink(g_inner, p); }
static int r_truncate(lsm_io *io, lsm_file *f, uint64_t n)
{ (void)io; return io_truncate(g_inner, f, n); }
static int r_size(lsm_io *io, lsm_file *f, uint64_t *n) { (void)io; return io_size(g_inner, f, n); }
static void r_destroy(lsm_io *io) { (void)io; }

static const struct io_ops k_refusing_ops = {
    .open = r_open, .close = r_close, .read = r_read, .write = r_write,
    .write_sync = r_write_sync, .sync = r_sync, .sync_dir = r_sync_dir,
    .rename = r_rename, .unlink = r_unlink, .truncate = r_truncate, .size = r_size,
    .destroy = r_destroy,
};

static void test_refused_by_file_system(void **state)
{
    (void)state;
    char *dir = th_tempdir("dio");
    assert_int_equal(io_posix_new(&g_inner), 0);
    lsm_io refusing = { .ops = &k_refusing_ops, .kind = IO_KIND_POSIX,
                        .name = "posix-no-direct", .file_mode = IO_DEFAULT_FILE_MODE };
    lsm_options o;
    lsm_options_init(&o);
    o.io = &refusing;
    o.use_direct_io = 1;
    lsm_db *db = NULL;
    int fds = th_open_fds();
    assert_int_equal(lsm_open(dir, &o, &db), -EINVAL);
    assert_null(db);
    assert_int_equal(th_open_fds(), fds); /* LOCK and all released */
    /* Without the option the same backend serves the database. */
    o.use_direct_io = 0;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    fill(db, 0, 100, 1);
    assert_int_equal(lsm_flush(db), 0);
    check(db, 100, 1);
    assert_int_equal(lsm_close(db), 0);
    io_destroy(g_inner);
    th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_database),
        cmocka_unit_test(test_refused_by_file_system),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
