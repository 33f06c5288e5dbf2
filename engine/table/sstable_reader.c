/* sstable_reader.c — see sstable_reader.h and docs/sstable-format.md. */
#include "table/sstable_reader.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "table/block.h"
#include "table/block_fetch.h"
#include "table/bloom.h"
#include "table/readahead.h"
#include "base/coding.h"
#include "base/log.h"
#include "lsm.h"
#include "table/sstable_format.h"
#include "table/sstable_internal.h"

/* A cached block is one allocation: this header (the parsed block, whose
 * data points just past it), then the block's bytes and trailer. */
typedef union cached_block {
    block blk;
    max_align_t align;
} cached_block;

/* Unpins a cached block (keeping any heap buffer for the next load). */
void sst_block_buf_unpin(const sst_reader *r, block_buf *bb)
{
    if (bb->ch) {
        block_cache_release(r->cache, bb->ch);
        bb->ch = NULL;
    }
    bb->loaded = false;
}

void sst_block_buf_release(const sst_reader *r, block_buf *bb)
{
    sst_block_buf_unpin(r, bb);
    free(bb->heap);
    bb->heap = NULL;
    bb->heap_cap = 0;
}

int sst_corrupt(const sst_reader *r, uint64_t off, const char *what)
{
    log_error("sstable %s: corruption at offset %llu: %s", r->path, (unsigned long long)off,
              what);
    return LSM_ECORRUPT;
}

/* Verifies the trailer after bytes[0..h.size): type and checksum. */
int sst_check_trailer(const sst_reader *r, const char *bytes, sst_handle h)
{
    uint8_t type = (uint8_t)bytes[h.size];
    if (type != SST_COMPRESSION_NONE)
        return sst_corrupt(r, h.offset, "unknown compression type");
    uint32_t stored = get_fixed32(bytes + h.size + 1);
    if (stored != sst_block_crc(slice_make(bytes, h.size), type))
        return sst_corrupt(r, h.offset, "block checksum mismatch");
    return 0;
}

/* Reads n bytes at off into dst: buffered, or the aligned span under
 * direct I/O (block_fetch.h).  0, LSM_ECORRUPT (the file ends first),
 * -errno. */
static int read_at(const sst_reader *r, char *dst, size_t n, uint64_t off)
{
    return block_fetch_read_into(r->io, r->file, r->direct, off, n, dst);
}

/* Reads the n bytes of the block at h into dst, verifies and parses it. */
static int read_block(const sst_reader *r, sst_handle h, char *dst, size_t n, block *blk)
{
    int rc = read_at(r, dst, n, h.offset);
    if (rc == LSM_ECORRUPT)
        return sst_corrupt(r, h.offset, "file ends inside a data block");
    if (rc) {
        log_error("sstable %s: read of %zu bytes at %llu failed: %s", r->path, n,
                  (unsigned long long)h.offset, lsm_strerror(rc));
        return rc;
    }
    if ((rc = sst_check_trailer(r, dst, h)))
        return rc;
    if (block_init(blk, slice_make(dst, (size_t)h.size)))
        return sst_corrupt(r, h.offset, "malformed data block restart array");
    return 0;
}

/* ---- data blocks: the steps a get takes, shared by sync and async ------- */

/* The bytes n of the block at h, with its trailer; corrupt when h lies
 * outside the data blocks. */
static int block_span(const sst_reader *r, sst_handle h, size_t *n)
{
    if (!sst_handle_inside(h, r->data_end) || h.size > SIZE_MAX - SST_BLOCK_TRAILER_SIZE -
                                                       sizeof(cached_block))
        return sst_corrupt(r, h.offset, "data block handle out of range");
    *n = (size_t)h.size + SST_BLOCK_TRAILER_SIZE;
    return 0;
}

int sst_reader_block_cached(const sst_reader *r, sst_handle h, sst_block_pin *pin)
{
    size_t n;
    int rc = block_span(r, h, &n);
    if (rc)
        return rc;
    pin->ch = NULL;
    pin->own = NULL;
    if (!r->cache || !(pin->ch = block_cache_lookup(r->cache, r->number, h.offset)))
        return 0;
    /* A size that disagrees with the index means the key names other
     * bytes: a file number reused among a cache's users. */
    if (cache_handle_data(pin->ch).size != sizeof(cached_block) + n) {
        block_cache_release(r->cache, pin->ch);
        pin->ch = NULL;
        return sst_corrupt(r, h.offset, "cached block size differs from the index");
    }
    /* The same as the cached header's parse (block_init accepted these
     * bytes at insert), but read from the restart array, which the seek
     * touches next anyway, instead of from the header's own cache line. */
    const char *data = (const char *)((const cached_block *)cache_handle_value(pin->ch) + 1);
    uint32_t nr = get_fixed32(data + h.size - 4);
    pin->blk = (block){ data, (uint32_t)(h.size - 4 - (uint64_t)nr * 4), nr };
    return 1;
}

int sst_reader_block_read_prepare(const sst_reader *r, sst_handle h, block_fetch *bf)
{
    size_t n;
    int rc = block_span(r, h, &n);
    if (rc)
        return rc;
    /* Buffered, the read lands in the cache entry's own bytes; direct, in
     * the aligned span, copied at finish (the entry then costs the block,
     * not the span). */
    cached_block *cb = NULL;
    if (!r->direct && !(cb = malloc(sizeof(cached_block) + n)))
        return -ENOMEM;
    if ((rc = block_fetch_prepare(bf, r->file, r->direct, h.offset, n, (char *)(cb + 1)))) {
        free(cb);
        return rc;
    }
    return 0;
}

int sst_reader_block_read_finish(const sst_reader *r, sst_handle h, block_fetch *bf, long res,
                                 sst_block_pin *pin)
{
    size_t n = bf->n;
    cached_block *cb = bf->dst ? (cached_block *)bf->dst - 1 : NULL;
    pin->ch = NULL;
    pin->own = NULL;
    int rc = block_fetch_finish(bf, res);
    if (rc == LSM_ECORRUPT)
        rc = sst_corrupt(r, h.offset, "file ends inside a data block");
    else if (rc)
        log_error("sstable %s: read of %zu bytes at %llu failed: %s", r->path, n,
                  (unsigned long long)h.offset, lsm_strerror(rc));
    if (!rc && !cb && !(cb = malloc(sizeof(cached_block) + n)))
        rc = -ENOMEM;
    if (!rc && bf->span)
        memcpy(cb + 1, block_fetch_data(bf), n);
    block_fetch_release(bf);
    const char *bytes = (const char *)(cb + 1);
    if (!rc && !(rc = sst_check_trailer(r, bytes, h)) &&
        block_init(&cb->blk, slice_make(bytes, (size_t)h.size)))
        rc = sst_corrupt(r, h.offset, "malformed data block restart array");
    if (rc) {
        free(cb);
        return rc;
    }
    if (!r->cache) {
        pin->own = cb;
        pin->blk = cb->blk;
        return 0;
    }
    size_t total = sizeof(cached_block) + n;
    if (!(pin->ch = block_cache_insert(r->cache, r->number, h.offset, cb, total,
                                       total + BLOCK_CACHE_ENTRY_OVERHEAD))) {
        free(cb);
        return -ENOMEM;
    }
    /* Not cb: another reader may have inserted the block first. */
    pin->blk = ((const cached_block *)cache_handle_value(pin->ch))->blk;
    return 0;
}

void sst_reader_block_read_cancel(block_fetch *bf)
{
    if (bf->dst)
        free((cached_block *)bf->dst - 1);
    bf->dst = NULL;
    block_fetch_release(bf);
}

void sst_reader_block_unpin(const sst_reader *r, sst_block_pin *pin)
{
    if (pin->ch)
        block_cache_release(r->cache, pin->ch);
    free(pin->own);
    pin->ch = NULL;
    pin->own = NULL;
}

/* The block at h, pinned (0), read now on a miss. */
static int block_pin_sync(const sst_reader *r, sst_handle h, sst_block_pin *pin)
{
    int rc = sst_reader_block_cached(r, h, pin);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    block_fetch bf;
    if ((rc = sst_reader_block_read_prepare(r, h, &bf)))
        return rc;
    return sst_reader_block_read_finish(r, h, &bf, block_fetch_sync(r->io, &bf), pin);
}

/* Loads the data block at h into bb, verified and parsed: from the cache
 * when it holds the block, else from the file (into the cache when fill).
 * The one place an iterator's data blocks are read; see block_buf. */
int sst_reader_load_block(const sst_reader *r, sst_handle h, bool fill, block_buf *bb)
{
    /* Unpin first: a scan then never holds two blocks at once. */
    sst_block_buf_unpin(r, bb);
    sst_block_pin pin;
    /* 1: pinned from the cache (read into it on a miss when fill). */
    int rc = r->cache && fill ? block_pin_sync(r, h, &pin) : sst_reader_block_cached(r, h, &pin);
    if (rc < 0)
        return rc;
    if (pin.ch) {
        bb->ch = pin.ch;
        bb->blk = pin.blk;
    } else {
        size_t n;
        if ((rc = block_span(r, h, &n)))
            return rc;
        char *dst = bb->stack;
        if (n > bb->stack_cap) {
            if (n > bb->heap_cap) {
                char *p = realloc(bb->heap, n);
                if (!p)
                    return -ENOMEM;
                bb->heap = p;
                bb->heap_cap = n;
            }
            dst = bb->heap;
        }
        if ((rc = read_block(r, h, dst, n, &bb->blk)))
            return rc;
    }
    bb->loaded = true;
    bb->offset = h.offset;
    return 0;
}

/* ---- open ----------------------------------------------------------------- */

static int parse_props(sst_reader *r, slice s, uint64_t off)
{
    sst_props *p = &r->props;
    const char *q = s.data, *end = s.data + s.size;
    while (q < end) {
        uint32_t tag, len;
        uint64_t v;
        if (!(q = get_varint32(q, end, &tag)))
            return sst_corrupt(r, off, "truncated properties tag");
        uint32_t field = tag >> 1;
        if ((tag & 1) == SST_WIRE_BYTES) {
            if (!(q = get_varint32(q, end, &len)) || (size_t)(end - q) < len)
                return sst_corrupt(r, off, "truncated properties bytes");
            char **dst = field == SST_PROP_SMALLEST ? &p->smallest
                       : field == SST_PROP_LARGEST ? &p->largest : NULL;
            if (dst) {
                size_t *dlen = dst == &p->smallest ? &p->smallest_len : &p->largest_len;
                free(*dst);
                if (!(*dst = malloc(len ? len : 1)))
                    return -ENOMEM;
                memcpy(*dst, q, len);
                *dlen = len;
            }
            q += len;
            continue;
        }
        if (!(q = get_varint64(q, end, &v)))
            return sst_corrupt(r, off, "truncated properties value");
        switch (field) {
        case SST_PROP_SMALLEST:
        case SST_PROP_LARGEST: return sst_corrupt(r, off, "key property with varint type");
        case SST_PROP_ENTRIES: p->entries = v; break;
        case SST_PROP_DELETIONS: p->deletions = v; break;
        case SST_PROP_MIN_SEQ: p->min_seq = v; break;
        case SST_PROP_MAX_SEQ: p->max_seq = v; break;
        case SST_PROP_RAW_KEY_BYTES: p->raw_key_bytes = v; break;
        case SST_PROP_RAW_VALUE_BYTES: p->raw_value_bytes = v; break;
        case SST_PROP_DATA_BLOCKS: p->data_blocks = v; break;
        case SST_PROP_DATA_BYTES: p->data_bytes = v; break;
        case SST_PROP_INDEX_BYTES: p->index_bytes = v; break;
        case SST_PROP_FILTER_BYTES: p->filter_bytes = v; break;
        case SST_PROP_CREATED_UNIX: p->created_unix = v; break;
        default: break; /* SST_PROP_FORMAT_VERSION comes from the footer;
                           unknown fields are skipped (doc §Properties) */
        }
    }
    if (p->entries && (p->smallest_len < INTERNAL_TRAILER || p->largest_len < INTERNAL_TRAILER))
        return sst_corrupt(r, off, "properties lack the key range");
    return 0;
}

/* Reads and checks the footer; fills the three handles. */
static int read_footer(sst_reader *r, uint64_t size, sst_handle *index, sst_handle *filter,
                       sst_handle *props)
{
    if (size < SST_FOOTER_SIZE)
        return sst_corrupt(r, 0, "file shorter than the footer");
    uint64_t foff = size - SST_FOOTER_SIZE;
    char f[SST_FOOTER_SIZE];
    int rc = read_at(r, f, sizeof f, foff);
    if (rc)
        return rc == LSM_ECORRUPT ? sst_corrupt(r, foff, "short footer read") : rc;
    if (get_fixed64(f + SST_FOOTER_MAGIC_OFF) != SST_MAGIC)
        return sst_corrupt(r, foff + SST_FOOTER_MAGIC_OFF, "bad magic (not an sstable or truncated)");
    uint32_t version = get_fixed32(f + SST_FOOTER_VERSION_OFF);
    if (version != SST_FORMAT_VERSION) {
        log_error("sstable %s: format version %u, this build reads %u", r->path, version,
                  SST_FORMAT_VERSION);
        return LSM_EVERSION;
    }
    if (get_fixed32(f + SST_FOOTER_CRC_OFF) != sst_footer_crc(f))
        return sst_corrupt(r, foff, "footer checksum mismatch");
    *index = (sst_handle){ get_fixed64(f), get_fixed64(f + 8) };
    *filter = (sst_handle){ get_fixed64(f + 16), get_fixed64(f + 24) };
    *props = (sst_handle){ get_fixed64(f + 32), get_fixed64(f + 40) };
    r->props.format_version = version;
    r->props.file_size = size;
    return 0;
}

/* With the handles of the index's entries in an array, a get finds its data
 * block through the hint alone, without touching the index entry (a cache
 * miss per get).  16 bytes per data block; on any failure the array is
 * left out and lookups decode the index as before. */
static void build_index_handles(sst_reader *r)
{
    uint32_t n = r->index_hint.num_restarts;
    sst_handle *hs = malloc((size_t)n * sizeof *hs);
    if (!hs)
        return;
    block_iter it;
    block_iter_init(&it, &r->index);
    uint32_t i = 0;
    for (block_iter_first(&it); block_iter_valid(&it); block_iter_next(&it)) {
        if (i == n || sst_handle_decode(block_iter_value(&it), &hs[i]))
            break;
        i++;
    }
    bool ok = !block_iter_valid(&it) && !block_iter_status(&it) && i == n;
    block_iter_fini(&it);
    if (ok)
        r->index_handles = hs;
    else
        free(hs);
}

/* The meta blocks sit together before the footer; one read fetches them. */
static int read_meta(sst_reader *r, sst_handle index, sst_handle filter, sst_handle props)
{
    uint64_t foff = r->props.file_size - SST_FOOTER_SIZE;
    bool has_filter = filter.size != 0;
    if (!sst_handle_inside(index, foff) || !sst_handle_inside(props, foff) ||
        (has_filter && !sst_handle_inside(filter, foff)))
        return sst_corrupt(r, foff, "footer block handle out of range");
    uint64_t start = index.offset < props.offset ? index.offset : props.offset;
    if (has_filter && filter.offset < start)
        start = filter.offset;
    size_t n = (size_t)(foff - start);
    if (!(r->meta = malloc(n ? n : 1)))
        return -ENOMEM;
    int rc = read_at(r, r->meta, n, start);
    if (rc)
        return rc == LSM_ECORRUPT ? sst_corrupt(r, start, "short meta block read") : rc;
    r->data_end = start;
    r->index_off = index.offset;

    const char *ib = r->meta + (index.offset - start);
    const char *pb = r->meta + (props.offset - start);
    if ((rc = sst_check_trailer(r, ib, index)) || (rc = sst_check_trailer(r, pb, props)))
        return rc;
    if (block_init(&r->index, slice_make(ib, (size_t)index.size)))
        return sst_corrupt(r, index.offset, "malformed index block");
    /* Every get searches the index: worth 8 bytes per data block.  Without
     * the hint (no memory, or an index its checks reject, which the seeks
     * then report) lookups are merely slower. */
    if (block_hint_build(&r->index_hint, &r->index) == 0 && r->index_hint.dense)
        build_index_handles(r);
    if (has_filter) {
        const char *fb = r->meta + (filter.offset - start);
        if ((rc = sst_check_trailer(r, fb, filter)))
            return rc;
        r->filter = slice_make(fb, (size_t)filter.size);
        if (bloom_filter_check(r->filter))
            return sst_corrupt(r, filter.offset, "malformed bloom filter");
    }
    return parse_props(r, slice_make(pb, (size_t)props.size), props.offset);
}

int sst_reader_open(lsm_io *io, const char *path, sst_reader **out)
{
    return sst_reader_open_ex(io, path, 0, NULL, out);
}

int sst_reader_open_ex(lsm_io *io, const char *path, uint64_t file_number, block_cache *cache,
                       sst_reader **out)
{
    return sst_reader_open_flags(io, path, file_number, cache, 0, out);
}

int sst_reader_open_flags(lsm_io *io, const char *path, uint64_t file_number,
                          block_cache *cache, unsigned flags, sst_reader **out)
{
    if (flags & ~SST_OPEN_DIRECT)
        return -EINVAL;
    sst_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return -ENOMEM;
    }
    r->io = io;
    r->cache = cache;
    r->number = file_number;
    r->direct = (flags & SST_OPEN_DIRECT) != 0;
    int rc = io_open(io, path, IO_READ | (r->direct ? IO_DIRECT : 0), &r->file);
    if (rc) {
        r->file = NULL;
        log_error("sstable %s: open failed: %s", path, lsm_strerror(rc));
        sst_reader_close(r);
        return rc;
    }
    uint64_t size;
    sst_handle index = { 0, 0 }, filter = { 0, 0 }, props = { 0, 0 }; /* (gcc cannot see read_footer set them) */
    if ((rc = io_size(io, r->file, &size)) ||
        (rc = read_footer(r, size, &index, &filter, &props)) ||
        (rc = read_meta(r, index, filter, props))) {
        sst_reader_close(r);
        return rc;
    }
    r->props.filter_bytes = r->filter.size ? filter.size + SST_BLOCK_TRAILER_SIZE : 0;
    *out = r;
    return 0;
}

void sst_reader_close(sst_reader *r)
{
    if (!r)
        return;
    if (r->file)
        io_close(r->io, r->file);
    sst_props_free(&r->props);
    block_hint_free(&r->index_hint);
    free(r->index_handles);
    free(r->meta);
    free(r->path);
    free(r);
}

const sst_props *sst_reader_props(const sst_reader *r)
{
    return &r->props;
}

int sst_reader_may_contain(const sst_reader *r, slice user_key)
{
    return !r->filter.size || bloom_filter_may_contain(r->filter, bloom_hash(user_key));
}

/* ---- point lookups ------------------------------------------------------ */

void sst_reader_prefetch(const sst_reader *r, uint64_t hash)
{
    if (r->filter.size)
        bloom_filter_prefetch(r->filter, hash);
}

/* Finds the data block the index points at for target; 0 and *found = false
 * when target sorts after every key. */
static int index_lookup(const sst_reader *r, slice target, sst_handle *h, bool *found)
{
    if (r->index_handles) {
        int64_t i = block_hint_find(&r->index_hint, &r->index, target);
        if (i < 0)
            return sst_corrupt(r, r->index_off, "malformed index block entry");
        *found = i < r->index_hint.num_restarts;
        if (*found)
            *h = r->index_handles[i];
        return 0;
    }
    block_iter ii;
    block_iter_init(&ii, &r->index);
    block_iter_seek_hinted(&ii, &r->index_hint, target);
    int rc = block_iter_status(&ii);
    *found = block_iter_valid(&ii);
    if (*found && sst_handle_decode(block_iter_value(&ii), h))
        rc = sst_corrupt(r, r->index_off, "malformed block handle in the index");
    else if (rc)
        rc = sst_corrupt(r, r->index_off, "malformed index block entry");
    block_iter_fini(&ii);
    return rc;
}

int sst_reader_locate(const sst_reader *r, uint64_t hash, slice target, sst_handle *h,
                      int *bloom_negative)
{
    *bloom_negative = 0;
    if (r->filter.size && !bloom_filter_may_contain(r->filter, hash)) {
        *bloom_negative = 1;
        return 0;
    }
    bool found = false;
    int rc = index_lookup(r, target, h, &found);
    return rc ? rc : found;
}

int sst_reader_block_get(const sst_reader *r, const sst_block_pin *pin, sst_handle h,
                         slice target, enum value_type *type, sst_value_sink sink, void *ctx)
{
    int rc = 0;
    block_iter di;
    block_iter_init(&di, &pin->blk);
    block_iter_seek(&di, target);
    if (block_iter_status(&di))
        rc = sst_corrupt(r, h.offset, "malformed data block entry");
    else if (block_iter_valid(&di) &&
             slice_equal(ikey_user(block_iter_key(&di)), ikey_user(target)))
        rc = 1;
    if (rc == 1) {
        slice k = block_iter_key(&di);
        *type = ikey_type(k);
        if (*type == LSM_TYPE_PUT) {
            int src = sink(ctx, block_iter_value(&di));
            if (src != 0)
                rc = src;
        } else if (*type != LSM_TYPE_DELETE) {
            rc = sst_corrupt(r, h.offset, "unknown value type");
        }
    }
    block_iter_fini(&di);
    return rc;
}

size_t sst_target_encode(char *buf, slice user_key, uint64_t seq)
{
    return ikey_encode(buf, user_key, seq > LSM_MAX_SEQUENCE ? LSM_MAX_SEQUENCE : seq,
                       LSM_TYPE_SEEK);
}

int sst_reader_get_to(sst_reader *r, slice user_key, uint64_t seq, enum value_type *type,
                      sst_value_sink sink, void *ctx, int *bloom_negative)
{
    char kbuf[128];
    char *tk = kbuf;
    if (user_key.size + INTERNAL_TRAILER > sizeof kbuf &&
        !(tk = malloc(user_key.size + INTERNAL_TRAILER)))
        return -ENOMEM;
    slice target = slice_make(tk, sst_target_encode(tk, user_key, seq));
    sst_handle h;
    int neg;
    int rc = sst_reader_locate(r, bloom_hash(user_key), target, &h, &neg);
    if (bloom_negative)
        *bloom_negative = neg;
    if (rc == 1) {
        sst_block_pin pin;
        if ((rc = block_pin_sync(r, h, &pin)) == 0) {
            rc = sst_reader_block_get(r, &pin, h, target, type, sink, ctx);
            sst_reader_block_unpin(r, &pin);
        }
    }
    if (tk != kbuf)
        free(tk);
    return rc;
}

/* The malloc'd copy sst_reader_get promises. */
struct copy_sink {
    char *value;
    size_t vlen;
};

static int copy_value(void *ctx, slice v)
{
    struct copy_sink *c = ctx;
    if (!(c->value = malloc(v.size ? v.size : 1)))
        return -ENOMEM;
    memcpy(c->value, v.data, v.size);
    c->vlen = v.size;
    return 0;
}

int sst_reader_get(sst_reader *r, slice user_key, uint64_t seq, enum value_type *type,
                   char **value, size_t *vlen, int *bloom_negative)
{
    struct copy_sink c = { NULL, 0 };
    int rc = sst_reader_get_to(r, user_key, seq, type, copy_value, &c, bloom_negative);
    if (rc < 0) {
        free(c.value);
        c.value = NULL;
        c.vlen = 0;
    }
    *value = c.value;
    *vlen = c.vlen;
    return rc;
}

int sst_reader_index_sample(const sst_reader *r, size_t max,
                            void (*fn)(void *ctx, slice ikey, uint64_t bytes), void *ctx)
{
    uint64_t nblocks = r->index_hint.num_restarts && r->index_hint.dense
                           ? r->index_hint.num_restarts
                           : r->props.data_blocks;
    uint64_t step = max && nblocks > max ? (nblocks + max - 1) / max : 1;
    block_iter ii;
    block_iter_init(&ii, &r->index);
    uint64_t i = 0, prev_end = 0, end = 0;
    int rc = 0;
    for (block_iter_first(&ii); block_iter_valid(&ii); block_iter_next(&ii), i++) {
        sst_handle h = { 0, 0 };
        if (sst_handle_decode(block_iter_value(&ii), &h)) {
            rc = sst_corrupt(r, r->index_off, "malformed block handle in the index");
            break;
        }
        end = h.offset + h.size + SST_BLOCK_TRAILER_SIZE;
        if ((i + 1) % step == 0) {
            fn(ctx, block_iter_key(&ii), end - prev_end);
            prev_end = end;
        }
    }
    if (!rc && block_iter_status(&ii))
        rc = sst_corrupt(r, r->index_off, "malformed index block entry");
    if (!rc && end > prev_end) { /* the last block, when the step skipped it */
        block_iter_last(&ii);
        if (block_iter_valid(&ii))
            fn(ctx, block_iter_key(&ii), end - prev_end);
    }
    block_iter_fini(&ii);
    return rc;
}
