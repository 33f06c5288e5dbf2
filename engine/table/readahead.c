/* readahead.c — see readahead.h. */
#include "table/readahead.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "io/io_buf_pool.h"
#include "io/io_direct.h"
#include "lsm.h"

enum { CH_FREE, CH_INFLIGHT, CH_DONE };

typedef struct ra_chunk {
    io_op op;     /* op.user points back here */
    char *buf;    /* aligned, cap bytes */
    size_t cap;
    uint64_t off; /* file offset of buf[0] */
    size_t len;   /* bytes asked for */
    int state;
} ra_chunk;

struct readahead {
    io_queue *q;
    lsm_file *f;
    uint64_t start, end, end_aligned;
    size_t chunk_max;
    unsigned k;
    ra_chunk ch[READAHEAD_MAX_CHUNKS];
    /* Held chunks: ch[(head + i) % k] for i < count, contiguous and
     * ascending from ch[head].off up to next_off. */
    unsigned head, count;
    uint64_t next_off;  /* where the next chunk read starts */
    size_t next_len;    /* its size (ramps up to chunk_max) */
    unsigned finished;  /* chunks consumed since the last (re)start */
    char *stitch;       /* ranges that straddle chunks */
    size_t stitch_cap;
    int err;            /* sticky */
    bool leak;          /* the queue failed with reads in flight: never free
                           their buffers (the kernel may still write them) */
    uint64_t reads, bytes;
};

int readahead_new(lsm_file *f, uint64_t start, uint64_t end, const readahead_cfg *cfg,
                  readahead **out)
{
    *out = NULL;
    if (!cfg || !cfg->q || !f || start > end || cfg->window < IO_DIRECT_ALIGN ||
        cfg->chunks < 1 || cfg->chunks > READAHEAD_MAX_CHUNKS)
        return -EINVAL;
    readahead *ra = calloc(1, sizeof *ra);
    if (!ra)
        return -ENOMEM;
    ra->q = cfg->q;
    ra->f = f;
    ra->start = start;
    ra->end = end;
    ra->end_aligned = io_align_up(end);
    ra->k = cfg->chunks;
    ra->chunk_max = (size_t)io_align_up(cfg->window / cfg->chunks);
    if (ra->chunk_max < IO_DIRECT_ALIGN)
        ra->chunk_max = IO_DIRECT_ALIGN;
    *out = ra;
    return 0;
}

uint64_t readahead_reads(const readahead *ra) { return ra->reads; }
uint64_t readahead_bytes(const readahead *ra) { return ra->bytes; }

static size_t first_len(const readahead *ra)
{
    return READAHEAD_FIRST_CHUNK < ra->chunk_max ? READAHEAD_FIRST_CHUNK : ra->chunk_max;
}

static ra_chunk *held(readahead *ra, unsigned i)
{
    return &ra->ch[(ra->head + i) % ra->k];
}

/* Reaps what has completed on the queue (waiting for at least wait), for
 * every reader sharing it.  Returns the queue's own error. */
static int reap(io_queue *q, size_t wait)
{
    io_op *done[32];
    int err = 0;
    size_t n = io_queue_reap(q, done, 32, wait, &err);
    for (size_t i = 0; i < n; i++)
        ((ra_chunk *)done[i]->user)->state = CH_DONE;
    return err;
}

static int fail(readahead *ra, int rc)
{
    if (!ra->err)
        ra->err = rc;
    return ra->err;
}

static int wait_chunk(readahead *ra, ra_chunk *c)
{
    while (c->state == CH_INFLIGHT) {
        int rc = reap(ra->q, 1);
        if (rc) {
            ra->leak = true;
            return fail(ra, rc);
        }
    }
    return 0;
}

/* Drops the oldest held chunk (waiting for it if in flight). */
static int release_front(readahead *ra, bool consumed)
{
    ra_chunk *c = held(ra, 0);
    int rc = wait_chunk(ra, c);
    if (rc)
        return rc;
    c->state = CH_FREE;
    ra->head = (ra->head + 1) % ra->k;
    ra->count--;
    if (consumed)
        ra->finished++;
    return 0;
}

/* Drops the window and restarts it at the aligned offset covering off. */
static int restart(readahead *ra, uint64_t off)
{
    while (ra->count) {
        int rc = release_front(ra, false);
        if (rc)
            return rc;
    }
    ra->head = 0;
    ra->next_off = io_align_down(off);
    ra->next_len = first_len(ra);
    ra->finished = 0;
    return 0;
}

/* Tops the window up: as many chunk reads as the ramp, the window and the
 * queue's room allow, in one submission.  With nothing held it makes room
 * (reaping others' completions) so the reader always progresses. */
static int submit_more(readahead *ra)
{
    unsigned limit = ra->finished + 2 < ra->k ? ra->finished + 2 : ra->k;
    io_op *ops[READAHEAD_MAX_CHUNKS];
    size_t n = 0;
    while (ra->count + n < limit && ra->next_off < ra->end_aligned) {
        if (io_queue_room(ra->q) <= n) {
            if (ra->count + n > 0)
                break;
            int rc = reap(ra->q, 1); /* room 0: depth ops in flight */
            if (rc)
                return fail(ra, rc);
            continue;
        }
        ra_chunk *c = held(ra, ra->count + (unsigned)n);
        uint64_t left = ra->end_aligned - ra->next_off;
        size_t len = left < ra->next_len ? (size_t)left : ra->next_len;
        if (c->cap < len) {
            io_buf_put(c->buf, c->cap);
            c->cap = 0;
            if (!(c->buf = io_buf_get(len, &c->cap)))
                break; /* submit what we have; nothing held: -ENOMEM below */
        }
        c->off = ra->next_off;
        c->len = len;
        c->op = (io_op){ .code = IO_OP_READ, .f = ra->f, .buf = c->buf, .n = len,
                         .off = c->off, .user = c };
        ops[n++] = &c->op;
        ra->next_off += len;
        ra->next_len = ra->next_len * 2 < ra->chunk_max ? ra->next_len * 2 : ra->chunk_max;
    }
    if (n == 0)
        return ra->count == 0 && ra->next_off < ra->end_aligned ? fail(ra, -ENOMEM) : 0;
    int rc = io_queue_submit(ra->q, ops, n);
    if (rc) {
        /* None started: give the offsets back. */
        ra->next_off = ((ra_chunk *)ops[0]->user)->off;
        return fail(ra, rc);
    }
    for (size_t i = 0; i < n; i++) {
        ((ra_chunk *)ops[i]->user)->state = CH_INFLIGHT;
        ra->reads++;
        ra->bytes += ops[i]->n;
    }
    ra->count += (unsigned)n;
    return 0;
}

/* Waits for the oldest held chunk and checks that its bytes cover
 * [pos, pos + n) (n is clipped to the chunk). */
static int front_ready(readahead *ra, uint64_t pos, size_t n)
{
    ra_chunk *c = held(ra, 0);
    int rc = wait_chunk(ra, c);
    if (rc)
        return rc;
    if (c->op.res < 0) {
        log_error("readahead: read of %zu bytes at %llu failed: %s", c->len,
                  (unsigned long long)c->off, lsm_strerror((int)c->op.res));
        return fail(ra, (int)c->op.res);
    }
    uint64_t have = c->off + (uint64_t)c->op.res;
    uint64_t want = pos + n < c->off + c->len ? pos + n : c->off + c->len;
    if (have < want)
        return fail(ra, LSM_ECORRUPT); /* the file ends first */
    return 0;
}

int readahead_get(readahead *ra, uint64_t off, size_t n, const char **out)
{
    *out = NULL;
    if (ra->err)
        return ra->err;
    if (off < ra->start || off > ra->end || n > ra->end - off)
        return -EINVAL;
    int rc;
    if (ra->count == 0 || off < held(ra, 0)->off || off >= ra->next_off)
        if ((rc = restart(ra, off)))
            return rc;
    /* Chunks wholly before off are consumed: refill them further on. */
    while (ra->count && held(ra, 0)->off + held(ra, 0)->len <= off)
        if ((rc = release_front(ra, true)))
            return rc;
    if ((rc = submit_more(ra)))
        return rc;
    ra_chunk *c = held(ra, 0);
    if (off + n <= c->off + c->len) {
        if ((rc = front_ready(ra, off, n)))
            return rc;
        *out = c->buf + (off - c->off);
        return 0;
    }
    if (n > ra->stitch_cap) {
        char *p = realloc(ra->stitch, n);
        if (!p)
            return -ENOMEM;
        ra->stitch = p;
        ra->stitch_cap = n;
    }
    size_t copied = 0;
    while (copied < n) {
        uint64_t pos = off + copied;
        if ((rc = submit_more(ra)) || (rc = front_ready(ra, pos, n - copied)))
            return rc;
        c = held(ra, 0);
        uint64_t cend = c->off + c->len;
        size_t part = n - copied < cend - pos ? n - copied : (size_t)(cend - pos);
        memcpy(ra->stitch + copied, c->buf + (pos - c->off), part);
        copied += part;
        if (pos + part == cend && (rc = release_front(ra, true)))
            return rc;
    }
    *out = ra->stitch;
    return 0;
}

void readahead_free(readahead *ra)
{
    if (!ra)
        return;
    while (ra->count && !ra->leak)
        (void)release_front(ra, false);
    if (ra->leak) {
        log_error("readahead: the queue failed with reads in flight; %u buffers leaked",
                  ra->count);
        for (unsigned i = 0; i < ra->count; i++)
            held(ra, i)->buf = NULL;
    }
    for (unsigned i = 0; i < READAHEAD_MAX_CHUNKS; i++)
        io_buf_put(ra->ch[i].buf, ra->ch[i].cap);
    free(ra->stitch);
    free(ra);
}
