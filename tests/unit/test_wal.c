/* test_wal.c — WAL writer and reader: round trips, the torn-tail rule,
 * mid-log corruption, zero-filled tails, entry checks.
 * Runs once per I/O backend: LSM_TEST_PER_BACKEND LSM_TEST_RING_PATHS. */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal/batch.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "io/io.h"
#include "base/log.h"
#include "lsm.h"
#include "wal/wal_format.h"
#include "wal/wal_reader.h"
#include "wal/wal_writer.h"

/* What a test wrote, to compare with what the reader returns. */
struct expect {
    uint64_t sequence;
    uint32_t count;
    char *payload;
    size_t len;
    uint64_t offset;
};

static uint64_t g_seed;

struct fixture {
    lsm_io *io;
    char *dir;
    char path[512];
    struct expect *recs;
    size_t n, cap;
    th_rng rng;
    int tiny; /* write_log writes one small entry per record */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(io_new(NULL, &f->io), 0);
    f->dir = th_tempdir("wal");
    snprintf(f->path, sizeof f->path, "%s/000001.log", f->dir);
    th_rng_seed(&f->rng, g_seed);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < f->n; i++)
        free(f->recs[i].payload);
    free(f->recs);
    io_destroy(f->io);
    th_rmrf_free(f->dir);
    free(f);
    return 0;
}

static void remember(struct fixture *f, uint64_t seq, uint32_t count, slice payload,
                     uint64_t offset)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->recs = realloc(f->recs, f->cap * sizeof *f->recs);
        assert_non_null(f->recs);
    }
    struct expect *e = &f->recs[f->n++];
    e->sequence = seq;
    e->count = count;
    e->len = payload.size;
    e->payload = malloc(payload.size ? payload.size : 1);
    assert_non_null(e->payload);
    if (payload.size)
        memcpy(e->payload, payload.data, payload.size);
    e->offset = offset;
}

/* Fills b with a random batch: mostly small entries, some deletes and empty
 * values, now and then a large value. */
static void random_batch(struct fixture *f, lsm_batch *b, size_t big)
{
    static char val[4 << 20];
    static int init;
    if (!init) {
        for (size_t i = 0; i < sizeof val; i++)
            val[i] = (char)(i * 131 + (i >> 9));
        init = 1;
    }
    lsm_batch_clear(b);
    uint64_t n = f->tiny ? 1 : 1 + th_rng_below(&f->rng, 8);
    for (uint64_t i = 0; i < n; i++) {
        char key[24];
        int kl = snprintf(key, sizeof key, "key-%llu",
                          (unsigned long long)th_rng_below(&f->rng, 100000));
        uint64_t kind = th_rng_below(&f->rng, 10);
        if (kind == 0) {
            assert_int_equal(lsm_batch_delete(b, key, (size_t)kl), 0);
        } else {
            size_t vl = kind == 1 ? 0 : (size_t)th_rng_below(&f->rng, f->tiny ? 9 : 300);
            if (big && i == 0)
                vl = big;
            size_t at = (size_t)th_rng_below(&f->rng, sizeof val - vl + 1);
            assert_int_equal(lsm_batch_put(b, key, (size_t)kl, val + at, vl), 0);
        }
    }
}

/* Appends one batch as a record, alternating the copying and the zero-copy
 * path, and remembers it. */
static void append_batch(struct fixture *f, wal_writer *w, lsm_batch *b, uint64_t *seq,
                         int sync)
{
    uint64_t off = wal_writer_size(w);
    slice p = batch_payload(b);
    if (th_rng_below(&f->rng, 2))
        assert_int_equal(wal_writer_append(w, *seq, batch_count(b), p, sync), 0);
    else
        assert_int_equal(wal_writer_append_frame(w, *seq, batch_count(b), batch_frame(b),
                                                 p.size, sync),
                         0);
    assert_int_equal(wal_writer_size(w), off + WAL_HEADER_SIZE + p.size);
    remember(f, *seq, batch_count(b), p, off);
    *seq += batch_count(b);
}

/* Writes n random records (record big_at, if < n, holds a value of big
 * bytes); the last one is small.  Returns the file size. */
static uint64_t write_log(struct fixture *f, size_t n, size_t big_at, size_t big, int sync)
{
    wal_writer *w;
    assert_int_equal(wal_writer_open(f->io, f->path, &w), 0);
    lsm_batch *b = lsm_batch_new();
    assert_non_null(b);
    uint64_t seq = 1 + th_rng_below(&f->rng, 1000);
    for (size_t i = 0; i < n; i++) {
        random_batch(f, b, i == big_at ? big : 0);
        append_batch(f, w, b, &seq, sync == 2 ? (int)(i % 3 == 0) : sync);
    }
    uint64_t size = wal_writer_size(w);
    assert_int_equal(wal_writer_sync(w), 0);
    assert_int_equal(wal_writer_error(w), 0);
    assert_int_equal(wal_writer_close(w), 0);
    lsm_batch_free(b);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal((uint64_t)st.st_size, size);
    return size;
}

/* Reads the log and checks it yields records [0, ngood) of f->recs, then
 * want_rc (0 or LSM_ECORRUPT) with the given torn flag, valid end and error
 * offset. */
static void check_read(struct fixture *f, int check_entries, size_t ngood, int want_rc,
                       int want_torn, uint64_t want_err_off)
{
    wal_reader *r;
    assert_int_equal(wal_reader_open(f->io, f->path, check_entries, &r), 0);
    wal_record rec;
    for (size_t i = 0; i < ngood; i++) {
        int rc = wal_reader_next(r, &rec);
        if (rc != 1)
            fail_msg("record %zu at offset %llu: got %d, want a record", i,
                     (unsigned long long)f->recs[i].offset, rc);
        const struct expect *e = &f->recs[i];
        assert_int_equal(rec.sequence, e->sequence);
        assert_int_equal(rec.count, e->count);
        assert_int_equal(rec.offset, e->offset);
        assert_int_equal(rec.payload.size, e->len);
        if (e->len)
            assert_memory_equal(rec.payload.data, e->payload, e->len);
    }
    int rc = wal_reader_next(r, &rec);
    if (rc != want_rc)
        fail_msg("after %zu records: got %d, want %d", ngood, rc, want_rc);
    assert_int_equal(wal_reader_next(r, &rec), want_rc); /* sticky */
    assert_int_equal(wal_reader_torn_tail(r), want_torn);
    uint64_t end = ngood ? f->recs[ngood - 1].offset + WAL_HEADER_SIZE + f->recs[ngood - 1].len
                         : 0;
    assert_int_equal(wal_reader_valid_end(r), end);
    assert_int_equal(wal_reader_error_offset(r), want_err_off);
    wal_reader_close(r);
}

static void file_truncate(const char *path, uint64_t size)
{
    assert_int_equal(truncate(path, (off_t)size), 0);
}

static unsigned char file_byte(const char *path, uint64_t off)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
    close(fd);
    return c;
}

static void file_poke(const char *path, uint64_t off, unsigned char c)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
    close(fd);
}

static void file_append(const char *path, const void *buf, size_t n)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, n), (ssize_t)n);
    close(fd);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    /* 300 records crossing several 1 MiB read chunks; record 100 holds a
     * 1 MiB value (with its header, more than a chunk). */
    write_log(f, 300, 100, 1u << 20, 2);
    check_read(f, 1, f->n, 0, 0, UINT64_MAX);
    check_read(f, 0, f->n, 0, 0, UINT64_MAX);
}

static void test_round_trip_sync_and_big(void **state)
{
    struct fixture *f = *state;
    write_log(f, 40, 20, 2u << 20, 1);
    check_read(f, 1, f->n, 0, 0, UINT64_MAX);
}

static void test_empty_and_missing(void **state)
{
    struct fixture *f = *state;
    wal_reader *r;
    assert_int_equal(wal_reader_open(f->io, f->path, 1, &r), -ENOENT);

    wal_writer *w;
    assert_int_equal(wal_writer_open(f->io, f->path, &w), 0);
    assert_int_equal(wal_writer_close(w), 0);
    check_read(f, 1, 0, 0, 0, UINT64_MAX); /* empty file: clean end */

    /* A record with no entries and no payload is valid framing. */
    assert_int_equal(wal_writer_open(f->io, f->path, &w), 0);
    assert_int_equal(wal_writer_append(w, 7, 0, slice_make(NULL, 0), 0), 0);
    remember(f, 7, 0, slice_make(NULL, 0), 0);
    /* A payload over the format limit is refused without poisoning. */
    static char dummy;
    assert_int_equal(wal_writer_append(w, 8, 1, slice_make(&dummy, WAL_MAX_PAYLOAD + 1ull), 0),
                     -EINVAL);
    assert_int_equal(wal_writer_error(w), 0);
    assert_int_equal(wal_writer_append(w, 8, 0, slice_make(NULL, 0), 1), 0);
    remember(f, 8, 0, slice_make(NULL, 0), WAL_HEADER_SIZE);
    assert_int_equal(wal_writer_close(w), 0);
    check_read(f, 1, 2, 0, 0, UINT64_MAX);
}

/* Cut the file at every length inside its last record. */
static void test_torn_tail_every_offset(void **state)
{
    struct fixture *f = *state;
    uint64_t size = write_log(f, 30, 10, 200000, 0);
    const struct expect *last = &f->recs[f->n - 1];
    assert_int_equal(last->offset + WAL_HEADER_SIZE + last->len, size);
    for (uint64_t len = size - 1; len > last->offset; len--) {
        file_truncate(f->path, len);
        check_read(f, 1, f->n - 1, 0, 1, UINT64_MAX);
    }
    file_truncate(f->path, last->offset);
    check_read(f, 1, f->n - 1, 0, 0, UINT64_MAX); /* a clean end again */
}

/* A last record much larger than a read chunk, cut at sampled offsets. */
static void test_torn_tail_big_record(void **state)
{
    struct fixture *f = *state;
    uint64_t size = write_log(f, 5, 4, 3u << 20, 0);
    uint64_t start = f->recs[f->n - 1].offset;
    for (int i = 0; i < 40; i++) {
        uint64_t len = start + 1 + th_rng_below(&f->rng, size - start - 1);
        if (i == 0)
            len = size - 1;
        if (i == 1)
            len = start + WAL_HEADER_SIZE;
        file_truncate(f->path, len);
        check_read(f, 1, f->n - 1, 0, 1, UINT64_MAX);
        size = len;
    }
}

/* 1 if every byte of path from off to its end is zero. */
static int file_zero_from(const char *path, uint64_t off)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    unsigned char c;
    int zero = 1;
    while (zero && pread(fd, &c, 1, (off_t)off++) == 1)
        zero = c == 0;
    close(fd);
    return zero;
}

/* The reader's verdict, by the torn-tail rule of docs/wal-format.md, for a
 * record at start whose byte at off now holds new (the CRC no longer
 * matches).  A change in the length field moves the record's end. */
static int expect_after_flip(const char *path, uint64_t start, uint32_t length, uint64_t off,
                             unsigned char new)
{
    uint64_t len = length;
    if (off >= start + WAL_OFF_LENGTH && off < start + WAL_OFF_LENGTH + 4) {
        unsigned shift = (unsigned)(off - start - WAL_OFF_LENGTH) * 8;
        len = (len & ~((uint64_t)0xff << shift)) | ((uint64_t) new << shift);
    }
    uint64_t end = start + WAL_HEADER_SIZE + len;
    if (end >= file_size(path) || file_zero_from(path, end))
        return 0;        /* runs past EOF, or only zeros follow: torn */
    return LSM_ECORRUPT; /* bytes that are not all zero follow */
}

static void flip_and_check(struct fixture *f, size_t victim)
{
    const struct expect *e = &f->recs[victim];
    static const unsigned char masks[] = { 0x01, 0xff };
    for (uint64_t off = e->offset; off < e->offset + WAL_HEADER_SIZE + e->len; off++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            unsigned char old = file_byte(f->path, off);
            unsigned char new = (unsigned char)(old ^ masks[m]);
            file_poke(f->path, off, new);
            int want = expect_after_flip(f->path, e->offset, (uint32_t)e->len, off, new);
            check_read(f, 1, victim, want, want == 0,
                       want == LSM_ECORRUPT ? e->offset : UINT64_MAX);
            file_poke(f->path, off, old);
        }
    }
    check_read(f, 1, f->n, 0, 0, UINT64_MAX); /* restored */
}

static void test_flipped_byte_last_record(void **state)
{
    struct fixture *f = *state;
    f->tiny = 1; /* every byte is flipped: keep the victim short */
    write_log(f, 20, SIZE_MAX, 0, 0);
    flip_and_check(f, f->n - 1);
}

static void test_flipped_byte_middle_record(void **state)
{
    struct fixture *f = *state;
    f->tiny = 1;
    write_log(f, 20, SIZE_MAX, 0, 0);
    flip_and_check(f, 10);
    flip_and_check(f, 0);
}

/* Corruption in a middle record of a log much larger than a read chunk. */
static void test_corruption_offset_far_in(void **state)
{
    struct fixture *f = *state;
    write_log(f, 400, 150, 1u << 20, 0);
    size_t victim = 300;
    uint64_t off = f->recs[victim].offset + WAL_HEADER_SIZE; /* first payload byte */
    file_poke(f->path, off, (unsigned char)(file_byte(f->path, off) ^ 0x20));
    check_read(f, 1, victim, LSM_ECORRUPT, 0, f->recs[victim].offset);
    check_read(f, 0, victim, LSM_ECORRUPT, 0, f->recs[victim].offset);
}

static void test_zero_filled_tail(void **state)
{
    struct fixture *f = *state;
    write_log(f, 10, SIZE_MAX, 0, 0);
    static const size_t tails[] = { 1, 19, 20, 21, 4096, 3u << 20 };
    char *zeros = calloc(1, 3u << 20);
    assert_non_null(zeros);
    uint64_t size = file_size(f->path);
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        file_truncate(f->path, size);
        file_append(f->path, zeros, tails[i]);
        check_read(f, 1, f->n, 0, 1, UINT64_MAX);
    }
    /* A zero gap followed by anything else is corruption at the gap. */
    file_truncate(f->path, size);
    file_append(f->path, zeros, 5000);
    file_append(f->path, "x", 1);
    check_read(f, 1, f->n, LSM_ECORRUPT, 0, size);
    /* A partly written last record followed by zeros (later writes whose
     * data was lost): torn, whether its length ends inside the zeros or
     * past them. */
    const struct expect *last = &f->recs[f->n - 1];
    for (size_t keep = 1; keep < WAL_HEADER_SIZE + last->len; keep += 1 + keep / 2) {
        size_t cut = keep > WAL_HEADER_SIZE ? keep - WAL_HEADER_SIZE : 0, z = cut;
        while (z < last->len && last->payload[z] == 0)
            z++;
        if (z == last->len)
            continue; /* the cut bytes were zeros: the record is still whole */
        file_truncate(f->path, last->offset + keep);
        file_append(f->path, zeros, keep % 2 ? 5000 : 3);
        check_read(f, 1, f->n - 1, 0, 1, UINT64_MAX);
    }
    free(zeros);
}

/* A record whose CRC is right but whose payload is not a valid entry list:
 * corruption for a WAL reader (check_entries), fine for a MANIFEST one. */
static void test_check_entries(void **state)
{
    struct fixture *f = *state;
    wal_writer *w;
    assert_int_equal(wal_writer_open(f->io, f->path, &w), 0);
    lsm_batch *b = lsm_batch_new();
    assert_non_null(b);
    assert_int_equal(lsm_batch_put(b, "a", 1, "1", 1), 0);
    uint64_t seq = 1;
    append_batch(f, w, b, &seq, 0);
    const char bad[] = "not an entry list";
    assert_int_equal(wal_writer_append(w, seq, 1, slice_make(bad, sizeof bad), 0), 0);
    remember(f, seq, 1, slice_make(bad, sizeof bad), f->recs[0].offset + WAL_HEADER_SIZE +
                                                          f->recs[0].len);
    seq++;
    /* count disagrees with the entries */
    assert_int_equal(wal_writer_append(w, seq, 2, batch_payload(b), 0), 0);
    remember(f, seq, 2, batch_payload(b), wal_writer_size(w) - WAL_HEADER_SIZE -
                                              batch_payload(b).size);
    seq += 2;
    append_batch(f, w, b, &seq, 1);
    assert_int_equal(wal_writer_close(w), 0);
    lsm_batch_free(b);

    check_read(f, 0, 4, 0, 0, UINT64_MAX);
    check_read(f, 1, 1, LSM_ECORRUPT, 0, f->recs[1].offset);

    /* The same bad record as the last one is a torn tail. */
    file_truncate(f->path, f->recs[2].offset);
    check_read(f, 1, 1, 0, 1, UINT64_MAX);
    check_read(f, 0, 2, 0, 0, UINT64_MAX);
}

/* The worked example of docs/wal-format.md, byte for byte. */
static void test_doc_example(void **state)
{
    struct fixture *f = *state;
    wal_writer *w;
    assert_int_equal(wal_writer_open(f->io, f->path, &w), 0);
    lsm_batch *b = lsm_batch_new();
    assert_non_null(b);
    assert_int_equal(lsm_batch_put(b, "cat", 3, "meow", 4), 0);
    assert_int_equal(lsm_batch_delete(b, "dog", 3), 0);
    assert_int_equal(wal_writer_append_frame(w, 42, batch_count(b), batch_frame(b),
                                             batch_payload(b).size, 1),
                     0);
    assert_int_equal(wal_writer_close(w), 0);
    lsm_batch_free(b);

    static const unsigned char want[] = {
        0x13, 0xe7, 0x7a, 0x8c, /* masked crc32c (see the doc) */
        0x1c, 0x00, 0x00, 0x00, /* length 28 */
        0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* sequence 42 */
        0x02, 0x00, 0x00, 0x00, /* count 2 */
        0x01, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 'c', 'a', 't', 'm', 'e', 'o', 'w',
        0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 'd', 'o', 'g',
    };
    assert_int_equal(file_size(f->path), sizeof want);
    unsigned char got[sizeof want];
    int fd = open(f->path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, got, sizeof got), (ssize_t)sizeof got);
    close(fd);
    /* The CRC is recomputed here so a mismatch names the field at fault. */
    uint32_t crc = crc32c_mask(crc32c(got + WAL_CRC_START, sizeof got - WAL_CRC_START));
    assert_int_equal(get_fixed32((const char *)got), crc);
    assert_memory_equal(got, want, sizeof want);

    /* The doc's claims about this file. */
    file_poke(f->path, 29, 'C');
    check_read(f, 1, 0, 0, 1, UINT64_MAX);
    file_append(f->path, want, sizeof want);
    check_read(f, 1, 0, LSM_ECORRUPT, 0, 0);
    for (uint64_t len = sizeof want - 1; len > 0; len--) {
        file_truncate(f->path, len);
        check_read(f, 1, 0, 0, 1, UINT64_MAX);
    }
}


/* ---- failures (engine/io/io_fault.c) ------------------------------------ */

static lsm_batch *one_entry_batch(void)
{
    lsm_batch *b = lsm_batch_new();
    assert_non_null(b);
    assert_int_equal(lsm_batch_put(b, "key", 3, "value", 5), 0);
    return b;
}

/* After a failed write the writer returns that error forever, without
 * touching the file again, even though the fault was a one-off. */
static void test_poisoned_after_write_error(void **state)
{
    struct fixture *f = *state;
    lsm_io *fio;
    assert_int_equal(io_fault_new(f->io, &fio), 0);
    wal_writer *w;
    assert_int_equal(wal_writer_open(fio, f->path, &w), 0);
    lsm_batch *b = one_entry_batch();
    uint64_t seq = 1;
    append_batch(f, w, b, &seq, 0);
    append_batch(f, w, b, &seq, 1);
    uint64_t size = wal_writer_size(w);

    io_fault_arm(fio, 1, EIO, 0); /* the next operation only */
    assert_int_equal(wal_writer_append(w, seq, 1, batch_payload(b), 0), -EIO);
    uint64_t ops = io_fault_ops(fio);
    assert_int_equal(wal_writer_error(w), -EIO);
    assert_int_equal(wal_writer_append(w, seq, 1, batch_payload(b), 0), -EIO);
    assert_int_equal(wal_writer_append_frame(w, seq, 1, batch_frame(b), batch_payload(b).size, 1),
                     -EIO);
    assert_int_equal(wal_writer_sync(w), -EIO);
    assert_int_equal(io_fault_ops(fio), ops); /* nothing reached the backend */
    assert_int_equal(wal_writer_size(w), size);
    assert_int_equal(wal_writer_close(w), 0);
    lsm_batch_free(b);
    io_destroy(fio);
    check_read(f, 1, f->n, 0, 0, UINT64_MAX);
}

/* An fdatasync error is never retried as success. */
static void test_poisoned_after_sync_error(void **state)
{
    struct fixture *f = *state;
    static const int errs[] = { EIO, ENOSPC };
    for (int i = 0; i < 2; i++) {
        lsm_io *fio;
        assert_int_equal(io_fault_new(f->io, &fio), 0);
        wal_writer *w;
        assert_int_equal(wal_writer_open(fio, f->path, &w), 0);
        lsm_batch *b = one_entry_batch();
        assert_int_equal(wal_writer_append(w, 1, 1, batch_payload(b), 0), 0);
        io_fault_arm(fio, 1, errs[i], 0);
        if (i == 0)
            assert_int_equal(wal_writer_sync(w), -errs[i]);
        else /* the write half of a write+sync */
            assert_int_equal(wal_writer_append(w, 2, 1, batch_payload(b), 1), -errs[i]);
        uint64_t ops = io_fault_ops(fio);
        assert_int_equal(wal_writer_sync(w), -errs[i]);
        assert_int_equal(wal_writer_sync(w), -errs[i]);
        assert_int_equal(wal_writer_append(w, 3, 1, batch_payload(b), 1), -errs[i]);
        assert_int_equal(wal_writer_error(w), -errs[i]);
        assert_int_equal(io_fault_ops(fio), ops);
        assert_int_equal(wal_writer_close(w), 0);
        lsm_batch_free(b);
        io_destroy(fio);
    }
}

/* What a sync covered survives power loss; the rest is gone cleanly. */
static void test_power_loss_keeps_synced_records(void **state)
{
    struct fixture *f = *state;
    lsm_io *fio;
    assert_int_equal(io_fault_new(f->io, &fio), 0);
    wal_writer *w;
    assert_int_equal(wal_writer_open(fio, f->path, &w), 0);
    assert_int_equal(io_sync_dir(fio, f->dir), 0);
    lsm_batch *b = lsm_batch_new();
    assert_non_null(b);
    uint64_t seq = 1;
    size_t durable = 0;
    for (int i = 0; i < 50; i++) {
        random_batch(f, b, 0);
        int sync = i % 10 == 9;
        append_batch(f, w, b, &seq, sync && i < 30);
        if (sync && i < 30)
            durable = f->n;
        if (i == 39) {
            assert_int_equal(wal_writer_sync(w), 0);
            durable = f->n;
        }
    }
    assert_int_equal(io_fault_power_loss(fio), 0);
    assert_int_not_equal(wal_writer_append(w, seq, 1, batch_payload(b), 1), 0);
    wal_writer_close(w);
    io_destroy(fio);
    lsm_batch_free(b);
    assert_int_equal(durable, 40);
    check_read(f, 1, durable, 0, 0, UINT64_MAX);
}

/* Appends one ~64 KiB unsynced record; returns the operations it cost (1,
 * or 2 when it also started writeback).  REQUIRES: fio was armed or reset
 * just before, so its count starts at 0. */
static uint64_t append_counted(struct fixture *f, lsm_io *fio, wal_writer *w, lsm_batch *b,
                               uint64_t *seq)
{
    random_batch(f, b, 64u << 10);
    append_batch(f, w, b, seq, 0);
    assert_int_equal(wal_writer_error(w), 0);
    uint64_t ops = io_fault_ops(fio);
    assert_true(ops == 1 || ops == 2);
    return ops;
}

/* Unsynced appends start writeback every IO_WRITEBACK_BYTES; a failed hint
 * poisons nothing (the append succeeds, a later sync makes it all durable);
 * and power loss still drops what only a hint covered. */
static void test_writeback_hints(void **state)
{
    struct fixture *f = *state;
    lsm_io *fio;
    assert_int_equal(io_fault_new(f->io, &fio), 0);
    wal_writer *w;
    assert_int_equal(wal_writer_open(fio, f->path, &w), 0);
    assert_int_equal(io_sync_dir(fio, f->dir), 0);
    lsm_batch *b = lsm_batch_new();
    assert_non_null(b);
    uint64_t seq = 1, hints = 0;
    while (hints < 2) {
        io_fault_arm(fio, 0, 0, 0);
        uint64_t h = append_counted(f, fio, w, b, &seq) - 1;
        hints += h;
        /* Never early (a whole step written since the last hint), never
         * late by more than a record or two (they are ~64 KiB). */
        if (h)
            assert_true(wal_writer_size(w) >= hints * IO_WRITEBACK_BYTES);
        assert_true(wal_writer_size(w) < (hints + 1) * IO_WRITEBACK_BYTES + (256u << 10));
    }
    /* Fail the hint of the next append that makes one. */
    for (;;) {
        io_fault_arm(fio, 2, EIO, 0);
        if (append_counted(f, fio, w, b, &seq) == 2)
            break;
    }
    assert_int_equal(wal_writer_error(w), 0);
    assert_int_equal(wal_writer_sync(w), 0);
    size_t durable = f->n;
    /* More hinted but unsynced records: lost at power loss. */
    hints = 0;
    while (hints == 0) {
        io_fault_arm(fio, 0, 0, 0);
        hints += append_counted(f, fio, w, b, &seq) - 1;
    }
    assert_true(f->n > durable);
    assert_int_equal(io_fault_power_loss(fio), 0);
    wal_writer_close(w);
    io_destroy(fio);
    lsm_batch_free(b);
    check_read(f, 1, durable, 0, 0, UINT64_MAX);
}

int main(void)
{
    /* Thousands of torn tails are read on purpose; keep their warnings out
     * of the output unless asked for. */
    if (!getenv("LSMD_LOG_LEVEL"))
        lsm_log_set_level(LSM_LOG_ERROR);
    g_seed = th_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_sync_and_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_every_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_big_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte_last_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte_middle_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corruption_offset_far_in, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_filled_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_doc_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poisoned_after_write_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poisoned_after_sync_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_loss_keeps_synced_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writeback_hints, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
