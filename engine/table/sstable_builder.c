/* sstable_builder.c — see sstable_builder.h and docs/sstable-format.md. */
#include "table/sstable_builder.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "table/block_builder.h"
#include "table/bloom.h"
#include "base/coding.h"
#include "base/dbformat.h"
#include "base/log.h"
#include "lsm.h"
#include "table/file_writer.h"
#include "table/sstable_format.h"

struct sst_builder {
    lsm_io *io;
    file_writer *w; /* the file, written behind (file_writer.h) */
    char *path;
    sst_options opt;
    int err;              /* first error; the builder is dead after one */

    block_builder data;
    block_builder index;
    bloom_builder bloom;

    /* The last key added; after a data block is flushed it is that block's
     * last key, waiting for the next key to pick the index separator. */
    char *last_key;
    size_t last_len, last_cap;
    bool pending_index;
    sst_handle pending_handle;

    sst_props props;
};

void sst_options_init(sst_options *o)
{
    o->block_bytes = SST_DEFAULT_BLOCK_BYTES;
    o->restart_interval = SST_DEFAULT_RESTART_INTERVAL;
    o->bloom_bits_per_key = SST_DEFAULT_BLOOM_BITS_PER_KEY;
    o->direct_io = 0;
}

void sst_props_free(sst_props *p)
{
    if (!p)
        return;
    free(p->smallest);
    free(p->largest);
    p->smallest = p->largest = NULL;
    p->smallest_len = p->largest_len = 0;
}

int sst_builder_new(lsm_io *io, const char *path, const sst_options *o, sst_builder **out)
{
    sst_options def;
    if (!o) {
        sst_options_init(&def);
        o = &def;
    }
    if (o->block_bytes < 1 || o->restart_interval < 1 || o->bloom_bits_per_key < 0) {
        log_error("sstable %s: bad options (block_bytes %zu, restart_interval %d, "
                  "bloom_bits_per_key %d)", path, o->block_bytes, o->restart_interval,
                  o->bloom_bits_per_key);
        return -EINVAL;
    }
    sst_builder *b = calloc(1, sizeof *b);
    if (!b || !(b->path = strdup(path))) {
        free(b);
        return -ENOMEM;
    }
    b->io = io;
    b->opt = *o;
    block_builder_init(&b->data, o->restart_interval);
    block_builder_init(&b->index, SST_INDEX_RESTART_INTERVAL);
    if (o->bloom_bits_per_key > 0)
        bloom_builder_init(&b->bloom, o->bloom_bits_per_key);
    b->props.format_version = SST_FORMAT_VERSION;
    b->props.created_unix = (uint64_t)time(NULL);
    int rc = fw_open(io, path, o->direct_io ? FW_DIRECT : 0, &b->w);
    if (rc) { /* fw_open logged why */
        b->w = NULL;
        io_unlink(io, path); /* it may have been created */
        sst_builder_abandon(b);
        return rc;
    }
    *out = b;
    return 0;
}

static void builder_free(sst_builder *b)
{
    block_builder_fini(&b->data);
    block_builder_fini(&b->index);
    bloom_builder_fini(&b->bloom);
    sst_props_free(&b->props);
    free(b->last_key);
    free(b->path);
    free(b);
}

/* Records the first error: the builder is dead from now on. */
static int fail(sst_builder *b, int err)
{
    if (!b->err)
        b->err = err;
    return b->err;
}

/* Appends bytes to the file (written behind, in chunks: file_writer.h). */
static int append(sst_builder *b, const char *p, size_t n)
{
    int rc = fw_append(b->w, p, n);
    return rc ? fail(b, rc) : 0;
}

static inline uint64_t offset_now(const sst_builder *b)
{
    return fw_offset(b->w);
}

/* Writes contents plus trailer; *h receives where. */
static int write_block(sst_builder *b, slice contents, sst_handle *h)
{
    char trailer[SST_BLOCK_TRAILER_SIZE];
    trailer[0] = SST_COMPRESSION_NONE;
    put_fixed32(trailer + 1, sst_block_crc(contents, SST_COMPRESSION_NONE));
    h->offset = offset_now(b);
    h->size = contents.size;
    int rc = append(b, contents.data, contents.size);
    return rc ? rc : append(b, trailer, sizeof trailer);
}

/* Picks an index key k with last <= k < next that is as short as we cheaply
 * can (doc §Index block).  Writes it into dst (room for last.size bytes) and
 * returns its length, or 0 when last itself is the best choice. */
static size_t shorten_separator(slice last, slice next, char *dst)
{
    slice a = ikey_user(last), b = ikey_user(next);
    size_t n = a.size < b.size ? a.size : b.size, i = 0;
    while (i < n && a.data[i] == b.data[i])
        i++;
    if (i == n) /* one user key is a prefix of the other: nothing shorter */
        return 0;
    /* Here a[i] < b[i].  Bump the first byte at or after i that can be
     * bumped without reaching b, and cut after it. */
    size_t j = i;
    unsigned char c = (unsigned char)a.data[i];
    if (c + 1 >= (unsigned char)b.data[i]) {
        for (j = i + 1; j < a.size && (unsigned char)a.data[j] == 0xff; j++) {
        }
        if (j >= a.size)
            return 0;
    }
    if (j + 1 + INTERNAL_TRAILER >= last.size) /* no shorter than last */
        return 0;
    memcpy(dst, a.data, j);
    dst[j] = (char)((unsigned char)a.data[j] + 1);
    put_fixed64(dst + j + 1, pack_trailer(LSM_MAX_SEQUENCE, LSM_TYPE_SEEK));
    return j + 1 + INTERNAL_TRAILER;
}

static int add_index_entry(sst_builder *b, slice next_key)
{
    char sep_buf[256];
    char *sep = sep_buf;
    slice last = slice_make(b->last_key, b->last_len);
    slice key = last;
    if (next_key.data) {
        if (last.size > sizeof sep_buf && !(sep = malloc(last.size)))
            return fail(b, -ENOMEM);
        size_t n = shorten_separator(last, next_key, sep);
        if (n)
            key = slice_make(sep, n);
    }
    char hbuf[SST_HANDLE_MAX_ENCODED];
    char *e = sst_handle_encode(hbuf, b->pending_handle);
    int rc = block_builder_add(&b->index, key, slice_make(hbuf, (size_t)(e - hbuf)));
    if (sep != sep_buf)
        free(sep);
    if (rc)
        return fail(b, rc);
    b->pending_index = false;
    return 0;
}

static int flush_data_block(sst_builder *b)
{
    slice contents;
    int rc = block_builder_finish(&b->data, &contents);
    if (rc || (rc = write_block(b, contents, &b->pending_handle)))
        return fail(b, rc);
    b->props.data_blocks++;
    b->props.data_bytes += contents.size + SST_BLOCK_TRAILER_SIZE;
    b->pending_index = true;
    block_builder_reset(&b->data);
    return 0;
}

static int remember_key(sst_builder *b, slice ikey)
{
    if (ikey.size > b->last_cap) {
        size_t cap = b->last_cap ? b->last_cap : 64;
        while (cap < ikey.size)
            cap *= 2;
        char *k = realloc(b->last_key, cap);
        if (!k)
            return fail(b, -ENOMEM);
        b->last_key = k;
        b->last_cap = cap;
    }
    memcpy(b->last_key, ikey.data, ikey.size);
    b->last_len = ikey.size;
    return 0;
}

int sst_builder_add(sst_builder *b, slice ikey, slice value)
{
    if (b->err)
        return b->err;
    bool first = b->props.entries == 0;
    if (ikey.size < INTERNAL_TRAILER) {
        log_error("sstable %s: internal key of %zu bytes", b->path, ikey.size);
        return fail(b, -EINVAL);
    }
    slice last = slice_make(b->last_key, b->last_len);
    if (!first && ikey_compare(last, ikey) >= 0) {
        log_error("sstable %s: keys added out of order (entry %llu)", b->path,
                  (unsigned long long)b->props.entries);
        return fail(b, -EINVAL);
    }
    if (b->pending_index && add_index_entry(b, ikey))
        return b->err;
    if (b->opt.bloom_bits_per_key > 0 &&
        (first || !slice_equal(ikey_user(last), ikey_user(ikey))) &&
        bloom_builder_add(&b->bloom, bloom_hash(ikey_user(ikey))))
        return fail(b, -ENOMEM);
    int rc = remember_key(b, ikey);
    if (rc)
        return rc;
    if ((rc = block_builder_add(&b->data, ikey, value)))
        return fail(b, rc);

    sst_props *p = &b->props;
    uint64_t seq = ikey_seq(ikey);
    if (first) {
        if (!(p->smallest = malloc(ikey.size)))
            return fail(b, -ENOMEM);
        memcpy(p->smallest, ikey.data, ikey.size);
        p->smallest_len = ikey.size;
        p->min_seq = p->max_seq = seq;
    }
    p->entries++;
    p->deletions += ikey_type(ikey) == LSM_TYPE_DELETE;
    if (seq < p->min_seq)
        p->min_seq = seq;
    if (seq > p->max_seq)
        p->max_seq = seq;
    p->raw_key_bytes += ikey.size;
    p->raw_value_bytes += value.size;

    if (block_builder_size_estimate(&b->data) >= b->opt.block_bytes)
        return flush_data_block(b);
    return 0;
}

uint64_t sst_builder_file_size(const sst_builder *b)
{
    uint64_t n = offset_now(b);
    if (!block_builder_empty(&b->data))
        n += block_builder_size_estimate(&b->data) + SST_BLOCK_TRAILER_SIZE;
    return n;
}

uint64_t sst_builder_entries(const sst_builder *b)
{
    return b->props.entries;
}

/* Appends one properties field (doc §Properties block). */
static char *put_prop(char *p, enum sst_prop_field f, uint64_t v)
{
    p = put_varint32(p, (uint32_t)f << 1 | SST_WIRE_VARINT);
    return put_varint64(p, v);
}

static char *put_prop_bytes(char *p, enum sst_prop_field f, const char *s, size_t n)
{
    p = put_varint32(p, (uint32_t)f << 1 | SST_WIRE_BYTES);
    p = put_varint32(p, (uint32_t)n);
    memcpy(p, s, n);
    return p + n;
}

static int write_props(sst_builder *b, sst_handle *h)
{
    const sst_props *p = &b->props;
    size_t cap = p->smallest_len + p->largest_len + 32 * (VARINT32_MAX + VARINT64_MAX);
    char *buf = malloc(cap), *e = buf;
    if (!buf)
        return fail(b, -ENOMEM);
    if (p->entries) {
        e = put_prop_bytes(e, SST_PROP_SMALLEST, p->smallest, p->smallest_len);
        e = put_prop_bytes(e, SST_PROP_LARGEST, p->largest, p->largest_len);
    }
    e = put_prop(e, SST_PROP_ENTRIES, p->entries);
    e = put_prop(e, SST_PROP_DELETIONS, p->deletions);
    e = put_prop(e, SST_PROP_MIN_SEQ, p->min_seq);
    e = put_prop(e, SST_PROP_MAX_SEQ, p->max_seq);
    e = put_prop(e, SST_PROP_RAW_KEY_BYTES, p->raw_key_bytes);
    e = put_prop(e, SST_PROP_RAW_VALUE_BYTES, p->raw_value_bytes);
    e = put_prop(e, SST_PROP_DATA_BLOCKS, p->data_blocks);
    e = put_prop(e, SST_PROP_DATA_BYTES, p->data_bytes);
    e = put_prop(e, SST_PROP_INDEX_BYTES, p->index_bytes);
    e = put_prop(e, SST_PROP_FILTER_BYTES, p->filter_bytes);
    e = put_prop(e, SST_PROP_CREATED_UNIX, p->created_unix);
    e = put_prop(e, SST_PROP_FORMAT_VERSION, p->format_version);
    e = put_prop(e, SST_PROP_BLOOM_BITS_PER_KEY, (uint64_t)b->opt.bloom_bits_per_key);
    if (b->opt.bloom_bits_per_key > 0)
        e = put_prop(e, SST_PROP_FILTER_KEYS, b->bloom.n);
    int rc = write_block(b, slice_make(buf, (size_t)(e - buf)), h);
    free(buf);
    return rc;
}

static void put_footer_handle(char *f, sst_handle h)
{
    put_fixed64(f, h.offset);
    put_fixed64(f + 8, h.size);
}

/* Everything after the last add, up to and including the sync. */
static int finish_file(sst_builder *b)
{
    int rc;
    if (!block_builder_empty(&b->data) && (rc = flush_data_block(b)))
        return rc;
    if (b->pending_index && (rc = add_index_entry(b, slice_make(NULL, 0))))
        return rc;
    if (b->props.entries) {
        if (!(b->props.largest = malloc(b->last_len)))
            return fail(b, -ENOMEM);
        memcpy(b->props.largest, b->last_key, b->last_len);
        b->props.largest_len = b->last_len;
    }

    sst_handle filter = { 0, 0 }, index, props;
    if (b->opt.bloom_bits_per_key > 0) {
        size_t n = bloom_builder_filter_size(&b->bloom);
        char *f = malloc(n);
        if (!f)
            return fail(b, -ENOMEM);
        bloom_builder_build(&b->bloom, f);
        rc = write_block(b, slice_make(f, n), &filter);
        free(f);
        if (rc)
            return rc;
        b->props.filter_bytes = n + SST_BLOCK_TRAILER_SIZE;
    }
    slice contents;
    if ((rc = block_builder_finish(&b->index, &contents)))
        return fail(b, rc);
    if ((rc = write_block(b, contents, &index)))
        return rc;
    b->props.index_bytes = contents.size + SST_BLOCK_TRAILER_SIZE;
    if ((rc = write_props(b, &props)))
        return rc;

    char footer[SST_FOOTER_SIZE];
    put_footer_handle(footer + SST_FOOTER_INDEX_OFF, index);
    put_footer_handle(footer + SST_FOOTER_FILTER_OFF, filter);
    put_footer_handle(footer + SST_FOOTER_PROPS_OFF, props);
    put_fixed32(footer + SST_FOOTER_VERSION_OFF, SST_FORMAT_VERSION);
    put_fixed64(footer + SST_FOOTER_MAGIC_OFF, SST_MAGIC);
    put_fixed32(footer + SST_FOOTER_CRC_OFF, sst_footer_crc(footer));
    if ((rc = append(b, footer, sizeof footer)))
        return rc;
    b->props.file_size = fw_offset(b->w);
    if ((rc = fw_finish(b->w))) /* it logged what failed */
        return fail(b, rc);
    return 0;
}

int sst_builder_finish(sst_builder *b, sst_props *props_out)
{
    int rc = b->err ? b->err : finish_file(b);
    int crc = fw_close(b->w, rc != 0); /* a failed table is removed */
    b->w = NULL;
    if (!rc && crc) {
        rc = crc; /* fw_close logged it */
        io_unlink(b->io, b->path);
    }
    if (rc == 0 && props_out) {
        *props_out = b->props; /* hands the keys over */
        b->props.smallest = b->props.largest = NULL;
    }
    builder_free(b);
    return rc;
}

void sst_builder_abandon(sst_builder *b)
{
    if (!b)
        return;
    if (b->w)
        fw_close(b->w, 1);
    builder_free(b);
}
