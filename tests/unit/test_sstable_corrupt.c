/* test_sstable_corrupt.c — a damaged or unreadable table is refused with a
 * clear code, never crashes the reader: flipped data bytes, bad magic,
 * versions, footers and meta blocks, truncations, and I/O errors injected
 * into every write, sync and read.
 * LSM_TEST_PER_BACKEND: run once with LSMD_IO=uring and once with posix. */
#include "helpers.h"

#include "sstable_model.h"

/* ---- corruption ---------------------------------------------------------- */

static void flip(const char *path, uint64_t off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
    c ^= 0x20;
    assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
    close(fd);
}

typedef struct fixture {
    const char *path;
    model m;
    sst_props p;
} fixture;

static int fixture_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (scratch_setup(state))
        return -1;
    f->path = g_path;
    model_init(&f->m, 1000);
    build_table(f->path, &f->m, NULL, &f->p);
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    fixture *f = *state;
    sst_props_free(&f->p);
    model_free(&f->m);
    free(f);
    return scratch_teardown(state);
}

static void test_corrupt_data_block(void **state)
{
    fixture *f = *state;
    flip(f->path, 100); /* inside the first data block */
    sst_reader *r;
    assert_int_equal(sst_reader_open(g_io, f->path, &r), 0); /* meta blocks are intact */
    char ub[17];
    enum value_type t;
    char *val;
    size_t vlen;
    assert_int_equal(sst_reader_get(r, ukey(ub, 0), LSM_MAX_SEQUENCE, &t, &val, &vlen, NULL),
                     LSM_ECORRUPT);
    assert_null(val);
    check_get(r, &f->m, f->m.nusers - 1, LSM_MAX_SEQUENCE); /* another block still reads */
    iter *it = sst_reader_iter_new(r);
    iter_first(it);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), LSM_ECORRUPT);
    iter_seek(it, slice_make("\0\0\0\0\0\0\0\0", 8)); /* errors are sticky */
    assert_false(iter_valid(it));
    iter_destroy(it);
    /* A backward scan reaches the bad block last. */
    it = sst_reader_iter_new(r);
    size_t n = 0;
    for (iter_last(it); iter_valid(it); iter_prev(it))
        n++;
    assert_true(n > 0 && n < f->m.n);
    assert_int_equal(iter_status(it), LSM_ECORRUPT);
    iter_destroy(it);
    sst_reader_close(r);
}

/* Damage done to a good table, and what sst_reader_open must then say.
 * Offsets count from the end of the file (base END, negative), from the
 * start of the filter or index block, or from the start of the file. */
enum dmg_kind { FLIP, CUT, VERSION_RESIGNED, VERSION_STALE_CRC };
enum dmg_base { END, FILTER, INDEX, START };
static const struct damage {
    const char *what;
    enum dmg_kind kind;
    enum dmg_base base;
    int64_t off;
    int want;
} damages[] = {
    { "magic", FLIP, END, -1, LSM_ECORRUPT },
    { "magic first byte", FLIP, END, -8, LSM_ECORRUPT },
    { "footer index handle", FLIP, END, -64 + SST_FOOTER_INDEX_OFF, LSM_ECORRUPT },
    { "footer props handle", FLIP, END, -64 + SST_FOOTER_PROPS_OFF + 9, LSM_ECORRUPT },
    { "footer crc", FLIP, END, -64 + SST_FOOTER_CRC_OFF, LSM_ECORRUPT },
    /* a newer writer's file: its footer checksum is right */
    { "version 2", VERSION_RESIGNED, END, SST_FORMAT_VERSION + 1, LSM_EVERSION },
    /* version is checked before the crc: a new layout may checksum differently */
    { "version 0, stale crc", VERSION_STALE_CRC, END, 0, LSM_EVERSION },
    { "props trailer crc", FLIP, END, -64 - 1, LSM_ECORRUPT },
    { "props trailer type", FLIP, END, -64 - 5, LSM_ECORRUPT },
    { "props contents", FLIP, END, -64 - 10, LSM_ECORRUPT },
    { "filter contents", FLIP, FILTER, 3, LSM_ECORRUPT },
    { "index contents", FLIP, INDEX, 3, LSM_ECORRUPT },
    { "cut 1 byte", CUT, END, -1, LSM_ECORRUPT },
    { "cut 10 bytes", CUT, END, -10, LSM_ECORRUPT },
    { "cut the footer", CUT, END, -64, LSM_ECORRUPT },
    { "cut 4 KiB", CUT, END, -4096, LSM_ECORRUPT },
    { "cut to 30 bytes", CUT, START, 30, LSM_ECORRUPT },
    { "cut to nothing", CUT, START, 0, LSM_ECORRUPT },
    { "data block (read lazily)", FLIP, START, 100, 0 },
};

static void test_damaged_open(void **state)
{
    fixture *f = *state;
    size_t size = (size_t)f->p.file_size;
    char *pristine = malloc(size);
    int fd = open(f->path, O_RDONLY);
    assert_int_equal(pread(fd, pristine, size, 0), (ssize_t)size);
    close(fd);
    for (size_t i = 0; i < sizeof damages / sizeof damages[0]; i++) {
        const struct damage *d = &damages[i];
        print_message("damage: %s\n", d->what);
        fd = open(f->path, O_WRONLY | O_TRUNC);
        assert_int_equal(pwrite(fd, pristine, size, 0), (ssize_t)size);
        close(fd);
        int64_t base = d->base == END ? (int64_t)size
                     : d->base == FILTER ? (int64_t)f->p.data_bytes
                     : d->base == INDEX ? (int64_t)(f->p.data_bytes + f->p.filter_bytes) : 0;
        uint64_t off = (uint64_t)(base + d->off);
        char footer[SST_FOOTER_SIZE];
        switch (d->kind) {
        case FLIP:
            flip(f->path, off);
            break;
        case CUT:
            assert_int_equal(truncate(f->path, (off_t)off), 0);
            break;
        case VERSION_RESIGNED:
        case VERSION_STALE_CRC:
            memcpy(footer, pristine + size - sizeof footer, sizeof footer);
            put_fixed32(footer + SST_FOOTER_VERSION_OFF, (uint32_t)d->off);
            if (d->kind == VERSION_RESIGNED)
                put_fixed32(footer + SST_FOOTER_CRC_OFF, sst_footer_crc(footer));
            fd = open(f->path, O_WRONLY);
            assert_int_equal(pwrite(fd, footer, sizeof footer, (off_t)(size - sizeof footer)),
                             (ssize_t)sizeof footer);
            close(fd);
            break;
        }
        sst_reader *r = NULL;
        assert_int_equal(sst_reader_open(g_io, f->path, &r), d->want);
        if (d->want)
            assert_null(r);
        sst_reader_close(r);
    }
    free(pristine);
    sst_reader *r = NULL;
    char *missing;
    assert_true(asprintf(&missing, "%s/nope.sst", g_dir) > 0);
    assert_int_equal(sst_reader_open(g_io, missing, &r), -ENOENT);
    assert_null(r);
    free(missing);
}

/* ---- I/O errors ------------------------------------------------------------ */

/* Builds a table through a fault backend whose nth operation fails;
 * returns the first error seen (0 if none). */
static int build_with_fault(lsm_io *fio, const char *path, const model *m, uint64_t nth)
{
    io_fault_arm(fio, nth, EIO, 0);
    sst_builder *b;
    int rc = sst_builder_new(fio, path, NULL, &b);
    if (rc)
        return rc;
    char kb[64], vb[128];
    for (size_t i = 0; i < m->n && rc == 0; i++)
        rc = sst_builder_add(b, ikey(kb, m->u[i], m->ver[i]), value_of(vb, m->u[i], m->ver[i]));
    if (rc) {
        assert_int_equal(sst_builder_finish(b, NULL), rc); /* the same error again */
        return rc;
    }
    return sst_builder_finish(b, NULL);
}

/* Every failed write or sync fails the build and leaves no file behind
 * (a failed writeback hint is ignored: the build then succeeds, and the
 * table reads back whole); every failed read fails the open, get or scan. */
static void test_io_errors(void **state)
{
    (void)state;
    const char *path = g_path;
    model m;
    model_init(&m, 20000); /* a few write chunks */
    lsm_io *fio;
    assert_int_equal(io_fault_new(g_io, &fio), 0);
    assert_int_equal(build_with_fault(fio, path, &m, 0), 0);
    uint64_t ops = io_fault_ops(fio); /* open, writes, hints, sync */
    uint64_t hints = io_fault_hints(fio);
    assert_true(ops >= 5);
    assert_true(hints >= 1); /* the table is over IO_WRITEBACK_BYTES */
    assert_int_equal(unlink(path), 0);
    uint64_t built = 0;
    for (uint64_t n = 1; n <= ops; n++) {
        int rc = build_with_fault(fio, path, &m, n);
        if (rc == 0) {
            /* Only a failed hint may leave a good table.  How many hints a
             * build makes depends on when its writes complete (the writer
             * keeps several in flight), so this run's count is what
             * matters, not the first run's. */
            assert_true(io_fault_hints(fio) > 0);
            built++;
            sst_reader *rd = NULL;
            io_fault_arm(fio, 0, 0, 0);
            assert_int_equal(sst_reader_open(fio, path, &rd), 0);
            assert_int_equal(sst_reader_props(rd)->entries, m.n);
            sst_reader_close(rd);
            assert_int_equal(unlink(path), 0);
            continue;
        }
        assert_int_equal(rc, -EIO);
        assert_int_equal(access(path, F_OK), -1);
    }
    assert_true(built <= ops);
    assert_int_equal(build_with_fault(fio, path, &m, 0), 0);

    sst_reader *r = NULL;
    io_fault_arm(fio, 0, 0, 0);
    assert_int_equal(sst_reader_open(fio, path, &r), 0);
    sst_reader_close(r);
    ops = io_fault_ops(fio); /* open, footer read, meta read */
    for (uint64_t n = 1; n <= ops; n++) {
        io_fault_arm(fio, n, EIO, 0);
        r = NULL;
        assert_int_equal(sst_reader_open(fio, path, &r), -EIO);
        assert_null(r);
    }
    io_fault_arm(fio, 0, 0, 0);
    assert_int_equal(sst_reader_open(fio, path, &r), 0);
    io_fault_arm(fio, 1, EIO, 0);
    char ub[17];
    enum value_type t;
    char *val;
    size_t vlen;
    assert_int_equal(sst_reader_get(r, ukey(ub, 2), LSM_MAX_SEQUENCE, &t, &val, &vlen, NULL),
                     -EIO);
    check_get(r, &m, 1, LSM_MAX_SEQUENCE); /* the next read works */
    iter *it = sst_reader_iter_new(r);
    iter_first(it);
    check_entry(it, &m, 0);
    io_fault_arm(fio, 1, EIO, 1); /* the disk dies */
    size_t n = 0;
    while (iter_valid(it)) {
        iter_next(it);
        n++;
    }
    assert_true(n < m.n);
    assert_int_equal(iter_status(it), -EIO);
    iter_destroy(it);
    sst_reader_close(r);
    io_destroy(fio);
    model_free(&m);
}

int main(void)
{
    int rc = io_new(NULL, &g_io);
    if (rc) {
        fprintf(stderr, "test_sstable_corrupt: no I/O backend (%s): skipped\n", lsm_strerror(rc));
        return TEST_SKIP;
    }
#define SCRATCH(f) cmocka_unit_test_setup_teardown(f, scratch_setup, scratch_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_corrupt_data_block, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_open, fixture_setup, fixture_teardown),
        SCRATCH(test_io_errors),
    };
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    io_destroy(g_io);
    return rc;
}
