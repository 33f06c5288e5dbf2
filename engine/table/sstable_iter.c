/*
 * sstable_iter.c — iterators over every internal key of a table
 * (sstable_reader.h: sst_reader_iter_new*): the index picks a data block,
 * a block iterator walks it; a compaction's iterator reads its blocks
 * through a read-ahead window (readahead.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "lsm.h"
#include "table/readahead.h"
#include "table/sstable_internal.h"
#include "table/sstable_reader.h"

/* ---- iterator ----------------------------------------------------------- */

/* A two-level iterator: the index block picks a data block, a block_iter
 * walks it.  Errors are sticky: the first one ends the iteration. */
typedef struct sst_iter {
    iter base;
    sst_reader *r;
    block_iter index;
    block_iter data;
    block_buf buf;
    bool data_ok;  /* data iterates the block the index points at */
    bool fill;     /* misses go into the block cache */
    readahead_cfg ra_cfg; /* q != NULL: data blocks come from a read-ahead */
    readahead *ra;        /* made at the first load */
    int status;
    void (*cleanup)(void *, void *);
    void *cleanup_arg1, *cleanup_arg2;
} sst_iter;

static void it_fail(sst_iter *it, int rc)
{
    if (!it->status)
        it->status = rc;
    it->data_ok = false;
}

/* Loads the data block at h from the iterator's read-ahead window
 * (readahead.h) instead of one read of its own: a compaction's one-pass
 * scan.  The block is verified like any other and never enters the cache;
 * its bytes live in the window until the next load. */
static int it_load_ahead(sst_iter *it, sst_handle h)
{
    const sst_reader *r = it->r;
    sst_block_buf_unpin(r, &it->buf);
    if (!sst_handle_inside(h, r->data_end) || h.size > SIZE_MAX - SST_BLOCK_TRAILER_SIZE)
        return sst_corrupt(r, h.offset, "data block handle out of range");
    size_t n = (size_t)h.size + SST_BLOCK_TRAILER_SIZE;
    int rc;
    if (!it->ra && (rc = readahead_new(r->file, 0, r->data_end, &it->ra_cfg, &it->ra)))
        return rc;
    const char *p;
    rc = readahead_get(it->ra, h.offset, n, &p);
    if (rc == LSM_ECORRUPT)
        return sst_corrupt(r, h.offset, "file ends inside a data block");
    if (rc) {
        log_error("sstable %s: read-ahead of %zu bytes at %llu failed: %s", r->path, n,
                  (unsigned long long)h.offset, lsm_strerror(rc));
        return rc;
    }
    if ((rc = sst_check_trailer(r, p, h)))
        return rc;
    if (block_init(&it->buf.blk, slice_make(p, (size_t)h.size)))
        return sst_corrupt(r, h.offset, "malformed data block restart array");
    it->buf.loaded = true;
    it->buf.offset = h.offset;
    return 0;
}

/* Points the data iterator at the block of the current index entry. */
static void it_load(sst_iter *it)
{
    it->data_ok = false;
    if (!block_iter_valid(&it->index)) {
        if (block_iter_status(&it->index))
            it_fail(it, sst_corrupt(it->r, it->r->index_off, "malformed index block entry"));
        return;
    }
    sst_handle h = { 0, 0 }; /* (gcc cannot see decode set it) */
    if (sst_handle_decode(block_iter_value(&it->index), &h)) {
        it_fail(it, sst_corrupt(it->r, it->r->index_off, "malformed block handle in the index"));
        return;
    }
    if (!it->buf.loaded || it->buf.offset != h.offset) {
        int rc = it->ra_cfg.q ? it_load_ahead(it, h)
                              : sst_reader_load_block(it->r, h, it->fill, &it->buf);
        if (rc) {
            it_fail(it, rc);
            return;
        }
    }
    block_iter_reset(&it->data, &it->buf.blk);
    it->data_ok = true;
}

/* True when the data iterator has an entry; records its errors. */
static bool it_data_valid(sst_iter *it)
{
    if (!it->data_ok)
        return false;
    if (block_iter_valid(&it->data))
        return true;
    if (block_iter_status(&it->data))
        it_fail(it, sst_corrupt(it->r, it->buf.offset, "malformed data block entry"));
    return false;
}

/* Moves over empty or exhausted blocks: forward to the next block's first
 * entry, or backward to the previous block's last. */
static void it_skip(sst_iter *it, bool forward)
{
    while (!it_data_valid(it) && !it->status) {
        if (!block_iter_valid(&it->index)) {
            it_load(it); /* no block: only records an index error, if any */
            return;
        }
        if (forward)
            block_iter_next(&it->index);
        else
            block_iter_prev(&it->index);
        it_load(it);
        if (it->data_ok) {
            if (forward)
                block_iter_first(&it->data);
            else
                block_iter_last(&it->data);
        }
    }
}

static bool si_valid(const iter *i)
{
    const sst_iter *it = (const sst_iter *)i;
    return !it->status && it->data_ok && block_iter_valid(&it->data);
}

static void si_first(iter *i)
{
    sst_iter *it = (sst_iter *)i;
    if (it->status)
        return;
    block_iter_first(&it->index);
    it_load(it);
    if (it->data_ok)
        block_iter_first(&it->data);
    it_skip(it, true);
}

static void si_last(iter *i)
{
    sst_iter *it = (sst_iter *)i;
    if (it->status)
        return;
    block_iter_last(&it->index);
    it_load(it);
    if (it->data_ok)
        block_iter_last(&it->data);
    it_skip(it, false);
}

static void si_seek(iter *i, slice target)
{
    sst_iter *it = (sst_iter *)i;
    if (it->status)
        return;
    block_iter_seek_hinted(&it->index, &it->r->index_hint, target);
    it_load(it);
    if (it->data_ok)
        block_iter_seek(&it->data, target);
    it_skip(it, true);
}

static void si_next(iter *i)
{
    sst_iter *it = (sst_iter *)i;
    block_iter_next(&it->data);
    it_skip(it, true);
}

static void si_prev(iter *i)
{
    sst_iter *it = (sst_iter *)i;
    block_iter_prev(&it->data);
    it_skip(it, false);
}

static slice si_key(const iter *i) { return block_iter_key(&((const sst_iter *)i)->data); }
static slice si_value(const iter *i) { return block_iter_value(&((const sst_iter *)i)->data); }
static int si_status(const iter *i) { return ((const sst_iter *)i)->status; }

static void si_destroy(iter *i)
{
    sst_iter *it = (sst_iter *)i;
    block_iter_fini(&it->index);
    block_iter_fini(&it->data);
    sst_block_buf_release(it->r, &it->buf);
    readahead_free(it->ra);
    void (*cleanup)(void *, void *) = it->cleanup;
    void *a1 = it->cleanup_arg1, *a2 = it->cleanup_arg2;
    free(it);
    if (cleanup)
        cleanup(a1, a2);
}

static const struct iter_ops sst_iter_ops = {
    .valid = si_valid, .first = si_first, .last = si_last, .seek = si_seek,
    .next = si_next, .prev = si_prev, .key = si_key, .value = si_value,
    .status = si_status, .destroy = si_destroy,
};

iter *sst_reader_iter_new(sst_reader *r)
{
    return sst_reader_iter_new_ex(r, 0, NULL, NULL, NULL);
}

iter *sst_reader_iter_new_ex(sst_reader *r, unsigned flags, void (*cleanup)(void *, void *),
                             void *arg1, void *arg2)
{
    sst_iter *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    it->base.ops = &sst_iter_ops;
    it->r = r;
    it->fill = !(flags & SST_ITER_NO_FILL_CACHE);
    it->cleanup = cleanup;
    it->cleanup_arg1 = arg1;
    it->cleanup_arg2 = arg2;
    block_iter_init(&it->index, &r->index);
    block_iter_init(&it->data, &r->index); /* re-targeted on the first load */
    return &it->base;
}

iter *sst_reader_iter_new_ra(sst_reader *r, unsigned flags, const readahead_cfg *ra,
                             void (*cleanup)(void *, void *), void *arg1, void *arg2)
{
    iter *i = sst_reader_iter_new_ex(r, flags, cleanup, arg1, arg2);
    if (i && ra && ra->q && ra->window)
        ((sst_iter *)i)->ra_cfg = *ra;
    return i;
}
