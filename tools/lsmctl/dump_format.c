/* dump_format.c — writing and checking dump files (dump_format.h,
 * docs/dump-format.md). */
#include "dump_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lsm.h"

/* ---- CRC-32C, bytewise from a table (dumps are I/O bound) ------------------ */

static uint32_t crc_table[256];
static bool crc_ready;

uint32_t dump_crc32c(uint32_t crc, const void *data, size_t n)
{
    if (!crc_ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u))); /* Castagnoli, reflected */
            crc_table[i] = c;
        }
        crc_ready = true;
    }
    const unsigned char *p = data;
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

/* ---- little-endian fields ---------------------------------------------------- */

static void put32(char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (char)(v >> (8 * i));
}

static void put64(char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (char)(v >> (8 * i));
}

static uint32_t get32(const char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | (unsigned char)p[i];
    return v;
}

static uint64_t get64(const char *p)
{
    return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}

/* ---- writer ------------------------------------------------------------------- */

static int emit(dump_writer *w, const void *p, size_t n)
{
    w->crc = dump_crc32c(w->crc, p, n);
    return fwrite(p, 1, n, w->f) == n ? 0 : -1;
}

int dump_writer_start(dump_writer *w, FILE *f, uint32_t kind, uint64_t sequence)
{
    memset(w, 0, sizeof *w);
    w->f = f;
    w->last_seq = sequence;
    char h[DUMP_HEADER_BYTES] = { 0 };
    memcpy(h, DUMP_MAGIC, 8);
    put32(h + 8, DUMP_VERSION);
    put32(h + 12, kind);
    put64(h + 16, sequence);
    put32(h + 24, dump_crc32c(0, h, 24));
    return emit(w, h, sizeof h);
}

static int close_block(dump_writer *w)
{
    if (w->count == 0)
        return 0;
    char h[DUMP_BLOCK_HEADER_BYTES];
    memcpy(h, DUMP_BLOCK_TAG, 4);
    put32(h + 4, w->count);
    put32(h + 8, (uint32_t)w->len);
    put64(h + 16, w->last_seq);
    /* The block CRC covers count, length, last_seq and the payload. */
    uint32_t crc = dump_crc32c(0, h + 4, 8);
    crc = dump_crc32c(crc, h + 16, 8);
    crc = dump_crc32c(crc, w->buf, w->len);
    put32(h + 12, crc);
    if (emit(w, h, sizeof h) != 0 || emit(w, w->buf, w->len) != 0)
        return -1;
    w->count = 0;
    w->len = 0;
    return 0;
}

int dump_writer_add(dump_writer *w, int type, uint64_t seq, const void *key, size_t klen,
                    const void *val, size_t vlen)
{
    size_t need = DUMP_ENTRY_HEADER_BYTES + klen + vlen;
    if (w->len + need > w->cap) {
        size_t cap = w->cap ? w->cap : DUMP_BLOCK_TARGET + 4096;
        while (cap < w->len + need)
            cap *= 2;
        char *b = realloc(w->buf, cap);
        if (!b)
            return -1;
        w->buf = b;
        w->cap = cap;
    }
    char *p = w->buf + w->len;
    p[0] = (char)type;
    put32(p + 1, (uint32_t)klen);
    put32(p + 5, (uint32_t)vlen);
    memcpy(p + DUMP_ENTRY_HEADER_BYTES, key, klen);
    if (vlen)
        memcpy(p + DUMP_ENTRY_HEADER_BYTES + klen, val, vlen);
    w->len += need;
    w->count++;
    w->entries++;
    if (seq)
        w->last_seq = seq;
    return w->len >= DUMP_BLOCK_TARGET ? close_block(w) : 0;
}

int dump_writer_flush(dump_writer *w)
{
    if (close_block(w) != 0)
        return -1;
    return fflush(w->f) == 0 ? 0 : -1;
}

int dump_writer_finish(dump_writer *w)
{
    int rc = close_block(w);
    char t[DUMP_TRAILER_BYTES] = { 0 };
    memcpy(t, DUMP_TRAILER_TAG, 4);
    put64(t + 8, w->entries);
    put64(t + 16, w->last_seq);
    w->crc = dump_crc32c(w->crc, t, 24);
    put32(t + 24, w->crc);
    if (rc == 0 && fwrite(t, 1, sizeof t, w->f) != sizeof t)
        rc = -1;
    if (rc == 0 && fflush(w->f) != 0)
        rc = -1;
    dump_writer_free(w);
    return rc;
}

void dump_writer_free(dump_writer *w)
{
    free(w->buf);
    w->buf = NULL;
    w->cap = w->len = 0;
}

/* ---- reader ------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static int bad(dump_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return -1;
}

/* Reads exactly n bytes; -1 with r->err on a short read. */
static int take(dump_reader *r, void *p, size_t n, const char *what)
{
    size_t got = fread(p, 1, n, r->f);
    if (got != n) {
        if (ferror(r->f))
            return bad(r, "read error at offset %" PRIu64 ": %s", r->offset + got,
                       strerror(errno));
        return bad(r, "file ends at offset %" PRIu64 " inside the %s (truncated)",
                   r->offset + got, what);
    }
    r->offset += n;
    return 0;
}

int dump_reader_start(dump_reader *r, FILE *f, dump_header *h)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    char b[DUMP_HEADER_BYTES];
    if (take(r, b, sizeof b, "header") != 0)
        return -1;
    if (memcmp(b, DUMP_MAGIC, 8) != 0)
        return bad(r, "not a dump file (no LSMDDUMP magic at offset 0)");
    if (get32(b + 24) != dump_crc32c(0, b, 24))
        return bad(r, "header checksum mismatch at offset 0");
    h->version = get32(b + 8);
    h->kind = get32(b + 12);
    h->sequence = get64(b + 16);
    if (h->version != DUMP_VERSION)
        return bad(r, "dump format version %u; this lsmctl reads version %u", h->version,
                   DUMP_VERSION);
    if (h->kind != DUMP_KIND_SNAPSHOT && h->kind != DUMP_KIND_CHANGES)
        return bad(r, "unknown dump kind %u at offset 12", h->kind);
    if (get32(b + 28) != 0)
        return bad(r, "reserved header field not zero at offset 28");
    r->crc = dump_crc32c(0, b, sizeof b);
    r->last_seq = h->sequence;
    return 0;
}

static int check_entries(dump_reader *r, const char *p, uint32_t len, uint32_t count,
                         uint64_t at)
{
    uint64_t pos = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (len - pos < DUMP_ENTRY_HEADER_BYTES)
            return bad(r, "block at offset %" PRIu64 ": entry %u cut short", at, i);
        unsigned type = (unsigned char)p[pos];
        uint32_t klen = get32(p + pos + 1), vlen = get32(p + pos + 5);
        if (type > 1 || klen == 0 || klen > LSM_MAX_KEY_SIZE || vlen > LSM_MAX_VALUE_SIZE ||
            (type == 0 && vlen != 0))
            return bad(r, "block at offset %" PRIu64 ": entry %u has a bad header", at, i);
        pos += DUMP_ENTRY_HEADER_BYTES;
        if ((uint64_t)klen + vlen > len - pos)
            return bad(r, "block at offset %" PRIu64 ": entry %u runs past the block", at, i);
        pos += (uint64_t)klen + vlen;
    }
    if (pos != len)
        return bad(r, "block at offset %" PRIu64 ": bytes after its %u entries", at, count);
    return 0;
}

int dump_reader_next(dump_reader *r, dump_block *b)
{
    uint64_t at = r->offset;
    char h[DUMP_BLOCK_HEADER_BYTES];
    if (take(r, h, 4, "next block or trailer") != 0)
        return -1;
    if (memcmp(h, DUMP_TRAILER_TAG, 4) == 0) {
        char t[DUMP_TRAILER_BYTES];
        memcpy(t, h, 4);
        if (take(r, t + 4, sizeof t - 4, "trailer") != 0)
            return -1;
        uint32_t crc = dump_crc32c(r->crc, t, 24);
        if (get32(t + 24) != crc)
            return bad(r, "file checksum mismatch in the trailer at offset %" PRIu64, at);
        if (get32(t + 4) != 0 || get32(t + 28) != 0)
            return bad(r, "reserved trailer field not zero at offset %" PRIu64, at);
        if (get64(t + 8) != r->entries)
            return bad(r, "trailer at offset %" PRIu64 " counts %" PRIu64
                       " entries, the blocks hold %" PRIu64, at, get64(t + 8), r->entries);
        if (get64(t + 16) != r->last_seq)
            return bad(r, "trailer at offset %" PRIu64 " ends at sequence %" PRIu64
                       ", the blocks at %" PRIu64, at, get64(t + 16), r->last_seq);
        if (fgetc(r->f) != EOF)
            return bad(r, "bytes after the trailer at offset %" PRIu64, r->offset);
        return 0;
    }
    if (memcmp(h, DUMP_BLOCK_TAG, 4) != 0)
        return bad(r, "no block or trailer tag at offset %" PRIu64, at);
    if (take(r, h + 4, sizeof h - 4, "block header") != 0)
        return -1;
    uint32_t count = get32(h + 4), len = get32(h + 8);
    if (count == 0 || len > DUMP_MAX_BLOCK || count > len / DUMP_ENTRY_HEADER_BYTES)
        return bad(r, "block at offset %" PRIu64 ": impossible count %u / length %u", at,
                   count, len);
    if (len > r->cap) {
        char *nb = realloc(r->buf, len);
        if (!nb)
            return bad(r, "out of memory for a block of %u bytes", len);
        r->buf = nb;
        r->cap = len;
    }
    if (take(r, r->buf, len, "block payload") != 0)
        return -1;
    uint32_t crc = dump_crc32c(0, h + 4, 8);
    crc = dump_crc32c(crc, h + 16, 8);
    crc = dump_crc32c(crc, r->buf, len);
    if (crc != get32(h + 12))
        return bad(r, "block at offset %" PRIu64 ": checksum mismatch", at);
    if (check_entries(r, r->buf, len, count, at) != 0)
        return -1;
    r->crc = dump_crc32c(r->crc, h, sizeof h);
    r->crc = dump_crc32c(r->crc, r->buf, len);
    r->entries += count;
    r->blocks++;
    r->last_seq = get64(h + 16);
    *b = (dump_block){ r->buf, count, len, r->last_seq };
    return 1;
}

void dump_reader_free(dump_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}

int dump_block_walk(const dump_block *b, dump_entry_fn fn, void *arg)
{
    const char *p = b->payload;
    for (uint32_t i = 0; i < b->count; i++) {
        uint32_t klen = get32(p + 1), vlen = get32(p + 5);
        const char *key = p + DUMP_ENTRY_HEADER_BYTES;
        int rc = fn(arg, (unsigned char)p[0], key, klen, key + klen, vlen);
        if (rc)
            return rc;
        p = key + klen + vlen;
    }
    return 0;
}
