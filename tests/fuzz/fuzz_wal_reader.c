/*
 * fuzz_wal_reader.c — the WAL reader over arbitrary file contents.
 *
 * Input: one flags byte, then the file image.
 *   flags bit 0  rewrite every complete record's CRC first (fuzzkit.h), so
 *                mutations reach the header fields and the payload checks
 *   flags bit 1  open with check_entries (the WAL's mode; off: MANIFEST's)
 * Properties, besides memory safety:
 *   - records come in file order, inside the file, back to back;
 *   - with check_entries, batch_iterate accepts every payload returned;
 *   - the result is sticky (a second next() returns the same);
 *   - a clean end consumed the whole file; a torn tail or corruption lies
 *     at or past the last good record's end;
 *   - the file cut at wal_reader_valid_end() reads back the same records
 *     and ends cleanly (that is what recovery truncates to).
 */
#include <stdlib.h>
#include <string.h>

#include "wal/batch.h"
#include "base/crc32c.h"
#include "fuzzkit.h"
#include "lsm.h"
#include "wal/wal_format.h"
#include "wal/wal_reader.h"

#define MAX_RECORDS 4096

struct rec_sum {
    uint64_t offset, sequence;
    uint32_t count, crc;
    size_t size;
};

static int check_entry(void *ctx, enum value_type type, slice key, slice value)
{
    (void)ctx;
    FK_CHECK(type == LSM_TYPE_PUT || type == LSM_TYPE_DELETE, "type %d", (int)type);
    FK_CHECK(key.size >= 1 && key.size <= LSM_MAX_KEY_SIZE, "key size %zu", key.size);
    FK_CHECK(value.size <= LSM_MAX_VALUE_SIZE, "value size %zu", value.size);
    FK_CHECK(type == LSM_TYPE_PUT || value.size == 0, "delete with a value");
    return 0;
}

/* Reads path to the end; fills sums (up to MAX_RECORDS); returns the final
 * wal_reader_next result and the reader's end state. */
static int read_all(const char *path, int check, uint64_t file_size, struct rec_sum *sums,
                    size_t *nrec, uint64_t *valid_end, int *torn)
{
    wal_reader *r;
    int rc = wal_reader_open(fk_io(), path, check, &r);
    FK_CHECK(rc == 0, "open: %d", rc);
    wal_record rec;
    uint64_t expect_off = 0;
    *nrec = 0;
    while ((rc = wal_reader_next(r, &rec)) == 1) {
        FK_CHECK(rec.offset == expect_off, "record at %llu, expected %llu",
                 (unsigned long long)rec.offset, (unsigned long long)expect_off);
        FK_CHECK(rec.payload.size <= file_size - rec.offset - WAL_HEADER_SIZE,
                 "payload past the end of the file");
        uint32_t crc = crc32c(rec.payload.data, rec.payload.size); /* touches every byte */
        if (check)
            FK_CHECK(batch_iterate(rec.payload, rec.count, check_entry, NULL) == 0,
                     "a returned payload fails batch_iterate");
        if (*nrec < MAX_RECORDS)
            sums[(*nrec)++] = (struct rec_sum){ rec.offset, rec.sequence, rec.count, crc,
                                                rec.payload.size };
        expect_off = rec.offset + WAL_HEADER_SIZE + rec.payload.size;
    }
    FK_CHECK(rc == 0 || rc == LSM_ECORRUPT || (rc < 0 && rc > -4096), "next: %d", rc);
    FK_CHECK(wal_reader_next(r, &rec) == rc, "result not sticky");
    *valid_end = wal_reader_valid_end(r);
    *torn = wal_reader_torn_tail(r);
    FK_CHECK(*valid_end == expect_off, "valid_end %llu, last record ends at %llu",
             (unsigned long long)*valid_end, (unsigned long long)expect_off);
    if (rc == 0 && !*torn)
        FK_CHECK(*valid_end == file_size, "clean end at %llu of %llu",
                 (unsigned long long)*valid_end, (unsigned long long)file_size);
    if (rc == LSM_ECORRUPT) {
        uint64_t bad = wal_reader_error_offset(r);
        FK_CHECK(bad >= *valid_end && bad < file_size, "error offset %llu",
                 (unsigned long long)bad);
    } else {
        FK_CHECK(wal_reader_error_offset(r) == UINT64_MAX, "error offset without error");
    }
    wal_reader_close(r);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fk_init();
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    size_t n = size - 1;
    uint8_t *img = malloc(n ? n : 1);
    if (!img)
        return 0;
    memcpy(img, data + 1, n);
    if (flags & 1)
        fk_fix_wal_crcs(img, n);
    int check = (flags >> 1) & 1;
    const char *path = fk_path("000001.log");
    fk_write_file(path, img, n);

    static struct rec_sum a[MAX_RECORDS], b[MAX_RECORDS];
    size_t na, nb;
    uint64_t end_a, end_b;
    int torn_a, torn_b;
    int rc = read_all(path, check, n, a, &na, &end_a, &torn_a);
    if (rc == 0 || rc == LSM_ECORRUPT) {
        /* What recovery keeps: the good prefix, read again on its own. */
        fk_write_file(path, img, (size_t)end_a);
        int rc2 = read_all(path, check, end_a, b, &nb, &end_b, &torn_b);
        FK_CHECK(rc2 == 0 && !torn_b && end_b == end_a, "prefix rc %d torn %d", rc2, torn_b);
        FK_CHECK(nb == na && memcmp(a, b, na * sizeof a[0]) == 0,
                 "prefix reads back %zu records, not %zu", nb, na);
    }
    free(img);
    return 0;
}
