/*
 * fuzz_dump_format.c — lsmctl's dump file reader (tools/lsmctl/dump_format.h,
 * docs/dump-format.md) over arbitrary file contents: what `lsmctl load`
 * reads from a file or a pipe nobody vouches for.
 *
 * Input: one flags byte, then the file image.
 *   flags bit 0  rewrite the header, block and trailer CRCs first, so
 *                mutations reach the structural checks behind them
 * Properties, besides memory safety:
 *   - every block returned has 1.. entries, each within the format's
 *     limits (type 0 or 1, key 1 .. 64 KiB, no value on a delete), that
 *     fill the block exactly;
 *   - a refusal says why (err is set), an acceptance consumed the file;
 *   - an accepted file is canonical: the writer, fed the same header,
 *     entries and block boundaries, writes the same bytes back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/lsmctl/dump_format.h"
#include "fuzzkit.h"
#include "lsm.h"

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites every CRC the format has, walking the blocks as a reader
 * would; stops at the first thing that is not a block. */
static void fix_crcs(uint8_t *d, size_t n)
{
    if (n < DUMP_HEADER_BYTES)
        return;
    put32(d + 24, dump_crc32c(0, d, 24));
    size_t pos = DUMP_HEADER_BYTES;
    while (n - pos >= DUMP_BLOCK_HEADER_BYTES && memcmp(d + pos, DUMP_BLOCK_TAG, 4) == 0) {
        uint32_t len = get32(d + pos + 8);
        if (len > n - pos - DUMP_BLOCK_HEADER_BYTES)
            return;
        uint32_t crc = dump_crc32c(0, d + pos + 4, 8);
        crc = dump_crc32c(crc, d + pos + 16, 8);
        crc = dump_crc32c(crc, d + pos + DUMP_BLOCK_HEADER_BYTES, len);
        put32(d + pos + 12, crc);
        pos += DUMP_BLOCK_HEADER_BYTES + len;
    }
    if (n - pos >= DUMP_TRAILER_BYTES && memcmp(d + pos, DUMP_TRAILER_TAG, 4) == 0)
        put32(d + pos + 24, dump_crc32c(0, d, pos + 24));
}

struct walk {
    dump_writer *w;
    uint32_t seen;
};

static int check_entry(void *arg, int type, const void *key, size_t klen, const void *val,
                       size_t vlen)
{
    struct walk *k = arg;
    FK_CHECK(type == 0 || type == 1, "type %d", type);
    FK_CHECK(klen >= 1 && klen <= LSM_MAX_KEY_SIZE, "key size %zu", klen);
    FK_CHECK(vlen <= LSM_MAX_VALUE_SIZE, "value size %zu", vlen);
    FK_CHECK(type == 1 || vlen == 0, "delete with a value");
    k->seen++;
    if (k->w)
        FK_CHECK(dump_writer_add(k->w, type, 0, key, klen, val, vlen) == 0, "writer add");
    return 0;
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
    FK_CHECK(img != NULL, "out of memory");
    memcpy(img, data + 1, n);
    if (flags & 1)
        fix_crcs(img, n);

    FILE *f = fmemopen(img, n ? n : 1, "rb");
    FK_CHECK(f != NULL, "fmemopen");
    if (n == 0)
        fgetc(f); /* fmemopen wants a size of at least 1: read it as empty */
    char *out = NULL;
    size_t outn = 0;
    FILE *o = open_memstream(&out, &outn);
    FK_CHECK(o != NULL, "open_memstream");
    dump_reader r;
    dump_header h;
    dump_writer w = { 0 };
    bool canonical = true; /* every block below the writer's target */
    int got = dump_reader_start(&r, f, &h);
    if (got == 0)
        FK_CHECK(dump_writer_start(&w, o, h.kind, h.sequence) == 0, "writer start");
    dump_block b;
    while (got == 0 && (got = dump_reader_next(&r, &b)) == 1) {
        FK_CHECK(b.count >= 1 && b.length <= DUMP_MAX_BLOCK, "block %u / %u", b.count, b.length);
        canonical &= b.length < DUMP_BLOCK_TARGET;
        struct walk k = { canonical ? &w : NULL, 0 };
        FK_CHECK(dump_block_walk(&b, check_entry, &k) == 0, "walk");
        FK_CHECK(k.seen == b.count, "walked %u of %u entries", k.seen, b.count);
        if (canonical) {
            w.last_seq = b.last_seq;
            FK_CHECK(dump_writer_flush(&w) == 0, "writer flush");
        }
        got = 0;
    }
    if (got != 0) {
        FK_CHECK(got == -1 && r.err[0], "refused without a reason (%d)", got);
    } else if (canonical) {
        w.last_seq = r.last_seq;
        FK_CHECK(dump_writer_finish(&w) == 0, "writer finish");
        fflush(o);
        FK_CHECK(outn == n && memcmp(out, img, n) == 0,
                 "accepted a file the writer would not write (%zu vs %zu bytes)", n, outn);
    }
    if (got != 0 || !canonical)
        dump_writer_free(&w);
    dump_reader_free(&r);
    fclose(o);
    free(out);
    fclose(f);
    free(img);
    return 0;
}
