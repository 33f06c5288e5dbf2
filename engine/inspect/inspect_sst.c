/*
 * inspect_sst.c — one table checked block by block (inspect_sst_dump, and
 * the check verify and repair run on every table).
 *
 * The walk does not go through sst_reader's iterator: it reads the footer,
 * the meta blocks and then each data block itself, so every problem is
 * reported with the offset of the block (or footer field) it is in, and a
 * damaged data block is skipped while the others are still checked.  The
 * properties, filter and index contents are parsed by sst_reader_open, the
 * same code the engine trusts (docs/sstable-format.md, "Validity rules").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/coding.h"
#include "base/dbformat.h"
#include "inspect/inspect_internal.h"
#include "lsm.h"
#include "table/block.h"
#include "table/sstable_format.h"
#include "table/sstable_reader.h"

typedef struct sst_walk {
    insp *c;
    lsm_io *io;
    lsm_file *f;
    const char *path;
    unsigned flags;
    insp_table *t;
    char *buf;        /* a block with its trailer */
    size_t cap;
    char *prev;       /* the last key seen, across blocks */
    size_t prev_len, prev_cap;
} sst_walk;

/* h, with its trailer, lies inside [0, end). */
static bool handle_inside(sst_handle h, uint64_t end)
{
    return end >= SST_BLOCK_TRAILER_SIZE && h.offset <= end - SST_BLOCK_TRAILER_SIZE &&
           h.size <= end - SST_BLOCK_TRAILER_SIZE - h.offset;
}

/* Reports damage in w's table at off (insp_damage); returns LSM_ECORRUPT. */
static int damage(sst_walk *w, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int damage(sst_walk *w, uint64_t off, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    insp_damage(w->c, w->path, off, "%s", what);
    w->t->damaged = true;
    return LSM_ECORRUPT;
}

/* Reads the block at h with its trailer into w->buf and checks the
 * trailer; *contents points into w->buf. */
static int read_block(sst_walk *w, sst_handle h, const char *kind, slice *contents)
{
    size_t n = (size_t)h.size + SST_BLOCK_TRAILER_SIZE;
    if (n > w->cap) {
        char *nb = realloc(w->buf, n);
        if (!nb)
            return -ENOMEM;
        w->buf = nb;
        w->cap = n;
    }
    int rc = io_read_exact(w->io, w->f, w->buf, n, h.offset);
    if (rc == LSM_ECORRUPT)
        return damage(w, h.offset, "block runs past the end of the file (%llu bytes)",
                      (unsigned long long)n);
    if (rc)
        return rc;
    uint8_t type = (uint8_t)w->buf[h.size];
    uint32_t stored = get_fixed32(w->buf + h.size + 1);
    *contents = slice_make(w->buf, (size_t)h.size);
    if (type != SST_COMPRESSION_NONE) {
        return damage(w, h.offset + h.size, "%s block: unknown compression type %u", kind, type);
    }
    if (stored != sst_block_crc(*contents, type)) {
        return damage(w, h.offset, "%s block (%llu bytes): checksum mismatch", kind,
                      (unsigned long long)h.size);
    }
    return 0;
}

static int keep_key(char **dst, size_t *len, slice k)
{
    char *p = malloc(k.size ? k.size : 1);
    if (!p)
        return -ENOMEM;
    memcpy(p, k.data, k.size);
    free(*dst);
    *dst = p;
    *len = k.size;
    return 0;
}

/* Every entry of one data block: types, order (also against the previous
 * block's last key), counts; printed per flags. */
static int walk_data_block(sst_walk *w, uint64_t bi, sst_handle h, slice sep)
{
    slice contents;
    int rc = read_block(w, h, "data", &contents);
    if (rc)
        return rc;
    block b;
    if (block_init(&b, contents) != 0)
        return damage(w, h.offset, "data block: malformed restart array");
    block_iter it;
    block_iter_init(&it, &b);
    uint64_t n = 0;
    FILE *out = w->c->out;
    bool keys = out && (w->flags & (INSPECT_KEYS | INSPECT_VALUES)) && !(w->flags & INSPECT_QUIET);
    for (block_iter_first(&it); block_iter_valid(&it); block_iter_next(&it), n++) {
        slice k = block_iter_key(&it), v = block_iter_value(&it);
        unsigned type = (unsigned)ikey_type(k);
        if (type != LSM_TYPE_PUT && type != LSM_TYPE_DELETE) {
            rc = damage(w, h.offset, "data block: entry with value type %llu",
                        (unsigned long long)type);
            break;
        }
        if (w->prev && ikey_compare(slice_make(w->prev, w->prev_len), k) >= 0) {
            rc = damage(w, h.offset, "data block: key %llu out of order", (unsigned long long)n);
            break;
        }
        if (ikey_compare(k, sep) > 0) {
            rc = damage(w, h.offset, "data block: key %llu above the index separator",
                        (unsigned long long)n);
            break;
        }
        if (w->prev_cap < k.size) {
            char *np = realloc(w->prev, k.size);
            if (!np) {
                rc = -ENOMEM;
                break;
            }
            w->prev = np;
            w->prev_cap = k.size;
        }
        memcpy(w->prev, k.data, k.size);
        w->prev_len = k.size;
        insp_table *t = w->t;
        uint64_t seq = ikey_seq(k);
        if (t->entries == 0 || seq < t->min_seq)
            t->min_seq = seq;
        if (t->entries == 0 || seq > t->max_seq)
            t->max_seq = seq;
        if (t->entries == 0 && (rc = keep_key(&t->smallest, &t->smallest_len, k)) != 0)
            break;
        t->entries++;
        if (type == LSM_TYPE_DELETE)
            t->deletions++;
        if (keys) {
            fputs("    ", out);
            insp_ikey(out, k);
            if (w->flags & INSPECT_VALUES) {
                fputs(" => '", out);
                insp_bytes(out, v);
                fputc('\'', out);
            } else if (type == LSM_TYPE_PUT) {
                fprintf(out, " (%zu value bytes)", v.size);
            }
            fputc('\n', out);
        }
    }
    if (rc == 0 && block_iter_status(&it) != 0) {
        rc = block_iter_status(&it) == LSM_ECORRUPT
                 ? damage(w, h.offset, "data block: malformed entry after %llu good ones",
                          (unsigned long long)n)
                 : block_iter_status(&it);
    }
    if (rc == 0 && n == 0)
        rc = damage(w, h.offset, "data block %llu holds no entry", (unsigned long long)bi);
    block_iter_fini(&it);
    if (rc == 0 && w->prev)
        rc = keep_key(&w->t->largest, &w->t->largest_len,
                      slice_make(w->prev, w->prev_len));
    return rc;
}

static void print_props(sst_walk *w, const sst_props *p)
{
    FILE *out = w->c->out;
    if (!out || (w->flags & INSPECT_QUIET))
        return;
    fprintf(out, "properties:\n  entries %llu  deletions %llu  sequences %llu..%llu\n",
            (unsigned long long)p->entries, (unsigned long long)p->deletions,
            (unsigned long long)p->min_seq, (unsigned long long)p->max_seq);
    fprintf(out, "  raw key bytes %llu  raw value bytes %llu\n",
            (unsigned long long)p->raw_key_bytes, (unsigned long long)p->raw_value_bytes);
    fprintf(out, "  data blocks %llu  data bytes %llu  index bytes %llu  filter bytes %llu\n",
            (unsigned long long)p->data_blocks, (unsigned long long)p->data_bytes,
            (unsigned long long)p->index_bytes, (unsigned long long)p->filter_bytes);
    fprintf(out, "  created_unix %llu  format version %u\n",
            (unsigned long long)p->created_unix, p->format_version);
    if (p->smallest) {
        fputs("  smallest ", out);
        insp_ikey(out, slice_make(p->smallest, p->smallest_len));
        fputs("\n  largest  ", out);
        insp_ikey(out, slice_make(p->largest, p->largest_len));
        fputc('\n', out);
    }
}

/* What was counted against what the properties say. */
static void compare_props(sst_walk *w, const sst_props *p, uint64_t props_off)
{
    insp_table *t = w->t;
    if (t->entries != p->entries)
        damage(w, props_off, "properties say %llu entries, the blocks hold a different number",
               (unsigned long long)p->entries);
    else if (t->deletions != p->deletions)
        damage(w, props_off, "properties say %llu deletions, the blocks disagree",
               (unsigned long long)p->deletions);
    else if (t->entries && (t->min_seq != p->min_seq || t->max_seq != p->max_seq))
        damage(w, props_off, "properties' sequence range (max %llu) disagrees with the blocks",
               (unsigned long long)p->max_seq);
    else if (t->entries &&
             (!p->smallest ||
              slice_compare(slice_make(p->smallest, p->smallest_len),
                            slice_make(t->smallest, t->smallest_len)) != 0 ||
              slice_compare(slice_make(p->largest, p->largest_len),
                            slice_make(t->largest, t->largest_len)) != 0))
        damage(w, props_off, "properties' smallest/largest key disagrees with the blocks");
    else if (t->blocks != p->data_blocks)
        damage(w, props_off, "properties say %llu data blocks, the index disagrees",
               (unsigned long long)p->data_blocks);
}

/* The index, then every data block it names. */
static int walk_index(sst_walk *w, sst_handle ih, uint64_t data_end)
{
    slice contents;
    int rc = read_block(w, ih, "index", &contents);
    if (rc)
        return rc;
    /* read_block reuses w->buf for data blocks: keep the index apart. */
    char *index = malloc(contents.size ? contents.size : 1);
    if (!index)
        return -ENOMEM;
    memcpy(index, contents.data, contents.size);
    block b;
    if (block_init(&b, slice_make(index, contents.size)) != 0) {
        free(index);
        return damage(w, ih.offset, "index block: malformed restart array");
    }
    block_iter it;
    block_iter_init(&it, &b);
    bool listing = w->c->out && !(w->flags & INSPECT_QUIET);
    uint64_t expect = 0; /* data blocks follow one another with no gap */
    int worst = 0;
    for (block_iter_first(&it); block_iter_valid(&it); block_iter_next(&it)) {
        sst_handle h;
        slice sep = block_iter_key(&it);
        if (sst_handle_decode(block_iter_value(&it), &h) != 0 || h.offset != expect ||
            !handle_inside(h, data_end)) {
            worst = damage(w, ih.offset, "index entry %llu: bad block handle",
                           (unsigned long long)w->t->blocks);
            break;
        }
        if (listing) {
            fprintf(w->c->out, "data block %llu: offset %llu size %llu separator ",
                    (unsigned long long)w->t->blocks, (unsigned long long)h.offset,
                    (unsigned long long)h.size);
            insp_ikey(w->c->out, sep);
            fputc('\n', w->c->out);
        }
        /* sep points into index, which data block reads do not touch. */
        rc = walk_data_block(w, w->t->blocks, h, sep);
        w->t->blocks++;
        expect = h.offset + h.size + SST_BLOCK_TRAILER_SIZE;
        if (rc == -ENOMEM || (rc < 0 && rc != LSM_ECORRUPT)) {
            worst = rc;
            break;
        }
        if (rc)
            worst = rc;
    }
    if (worst == 0 && block_iter_status(&it) != 0)
        worst = damage(w, ih.offset, "index block: malformed entry");
    if (worst == 0 && expect != data_end)
        worst = damage(w, expect, "%llu bytes of data region that no index entry names",
                       (unsigned long long)(data_end - expect));
    block_iter_fini(&it);
    free(index);
    return worst;
}

static int check_footer(sst_walk *w, sst_handle hs[3], uint64_t *meta_start)
{
    uint64_t size = w->t->size;
    if (size < SST_FOOTER_SIZE)
        return damage(w, 0, "%llu bytes: shorter than a footer (truncated?)",
                      (unsigned long long)size);
    char ft[SST_FOOTER_SIZE];
    uint64_t fo = size - SST_FOOTER_SIZE;
    int rc = io_read_exact(w->io, w->f, ft, sizeof ft, fo);
    if (rc)
        return rc == LSM_ECORRUPT ? damage(w, fo, "footer: short read") : rc;
    if (get_fixed64(ft + SST_FOOTER_MAGIC_OFF) != SST_MAGIC)
        return damage(w, fo + SST_FOOTER_MAGIC_OFF,
                      "footer: bad magic (not a table, or truncated)");
    uint32_t version = get_fixed32(ft + SST_FOOTER_VERSION_OFF);
    if (version != SST_FORMAT_VERSION) {
        insp_printf(w->c, "%s: format version %u, this build reads %u\n", w->path, version,
                    SST_FORMAT_VERSION);
        return LSM_EVERSION;
    }
    if (get_fixed32(ft + SST_FOOTER_CRC_OFF) != sst_footer_crc(ft))
        return damage(w, fo + SST_FOOTER_CRC_OFF, "footer: checksum mismatch");
    static const char *const names[3] = { "index", "filter", "properties" };
    static const int offs[3] = { SST_FOOTER_INDEX_OFF, SST_FOOTER_FILTER_OFF,
                                 SST_FOOTER_PROPS_OFF };
    *meta_start = fo;
    for (int i = 0; i < 3; i++) {
        hs[i].offset = get_fixed64(ft + offs[i]);
        hs[i].size = get_fixed64(ft + offs[i] + 8);
        if (i == 1 && hs[i].size == 0 && hs[i].offset == 0)
            continue; /* no filter */
        if (!handle_inside(hs[i], fo))
            return damage(w, fo + (uint64_t)offs[i], "footer: %s handle outside the file",
                          names[i]);
        if (hs[i].offset < *meta_start)
            *meta_start = hs[i].offset;
    }
    if (!(w->flags & INSPECT_QUIET))
        insp_printf(w->c,
                    "footer: index %llu+%llu filter %llu+%llu properties %llu+%llu version %u\n",
                    (unsigned long long)hs[0].offset, (unsigned long long)hs[0].size,
                    (unsigned long long)hs[1].offset, (unsigned long long)hs[1].size,
                    (unsigned long long)hs[2].offset, (unsigned long long)hs[2].size, version);
    return 0;
}

int insp_sst_check(insp *c, lsm_io *io, const char *path, unsigned flags, insp_table *t)
{
    memset(t, 0, sizeof *t);
    sst_walk w = { .c = c, .io = io, .path = path, .flags = flags, .t = t };
    int rc = io_open(io, path, IO_READ, &w.f);
    if (rc)
        return rc;
    rc = io_size(io, w.f, &t->size);
    if (rc)
        goto out;
    if (!(flags & INSPECT_QUIET))
        insp_printf(c, "table %s: %llu bytes\n", path, (unsigned long long)t->size);
    sst_handle hs[3];
    uint64_t meta_start = 0;
    rc = check_footer(&w, hs, &meta_start);
    if (rc)
        goto out;
    static const char *const kinds[3] = { "index", "filter", "properties" };
    for (int i = 0; i < 3; i++) {
        slice s;
        if (i == 1 && hs[i].size == 0 && hs[i].offset == 0)
            continue;
        if ((rc = read_block(&w, hs[i], kinds[i], &s)) != 0)
            goto out;
    }
    /* The trailers are good: now the contents, parsed as the engine does. */
    sst_reader *r;
    rc = sst_reader_open(io, path, &r);
    if (rc == LSM_ECORRUPT) {
        rc = damage(&w, hs[2].offset, "properties, filter or index contents malformed "
                    "(the log line above says which)");
        goto out;
    }
    if (rc)
        goto out;
    const sst_props *p = sst_reader_props(r);
    t->created_unix = p->created_unix;
    print_props(&w, p);
    rc = walk_index(&w, hs[0], meta_start);
    if (rc == 0)
        compare_props(&w, p, hs[2].offset);
    sst_reader_close(r);
    if (rc == 0 && t->damaged)
        rc = LSM_ECORRUPT;
out:
    if (w.f)
        io_close(io, w.f);
    free(w.buf);
    free(w.prev);
    return rc;
}

static int sst_dump(insp *c, lsm_io *io, const char *path, unsigned flags)
{
    insp_table t;
    int rc = insp_sst_check(c, io, path, flags, &t);
    if (rc == 0)
        insp_printf(c, "ok: %llu data blocks, %llu entries, every checksum good\n",
                    (unsigned long long)t.blocks, (unsigned long long)t.entries);
    else if (rc == LSM_ECORRUPT)
        insp_printf(c, "%s: %llu damage(s) found\n", path, (unsigned long long)c->ndamage);
    insp_table_free(&t);
    return rc;
}

int inspect_sst_dump(const char *path, unsigned flags, FILE *out, inspect_damage *first)
{
    return insp_run_file(path, flags, out, first, sst_dump);
}
