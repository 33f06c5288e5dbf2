/* block_fetch.c — see block_fetch.h. */
#include "table/block_fetch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_direct.h"
#include "lsm.h"

int block_fetch_prepare(block_fetch *bf, lsm_file *f, bool direct, uint64_t off, size_t n,
                        char *dst)
{
    memset(bf, 0, sizeof *bf);
    bf->op.code = IO_OP_READ;
    bf->op.f = f;
    bf->n = n;
    if (!direct) {
        bf->dst = dst;
        bf->op.buf = dst;
        bf->op.n = n;
        bf->op.off = off;
        return 0;
    }
    io_span s = io_span_of(off, n);
    if (!(bf->span = io_aligned_alloc(s.len)))
        return -ENOMEM;
    bf->op.buf = bf->span;
    bf->op.n = s.len;
    bf->op.off = s.off;
    bf->skip = s.skip;
    return 0;
}

long block_fetch_sync(lsm_io *io, block_fetch *bf)
{
    /* Backends loop until op.n bytes or the end of the file. */
    bf->op.res = io_read(io, bf->op.f, bf->op.buf, bf->op.n, bf->op.off);
    return bf->op.res;
}

int block_fetch_finish(const block_fetch *bf, long res)
{
    if (res < 0)
        return (int)res;
    /* A direct span may run past the end of the file (short is fine
     * there); the wanted bytes may not. */
    return (size_t)res >= bf->skip + bf->n ? 0 : LSM_ECORRUPT;
}

void block_fetch_release(block_fetch *bf)
{
    free(bf->span);
    bf->span = NULL;
}

int block_fetch_read_into(lsm_io *io, lsm_file *f, bool direct, uint64_t off, size_t n,
                          char *dst)
{
    block_fetch bf;
    int rc = block_fetch_prepare(&bf, f, direct, off, n, dst);
    if (rc)
        return rc;
    rc = block_fetch_finish(&bf, block_fetch_sync(io, &bf));
    if (rc == 0 && direct)
        memcpy(dst, block_fetch_data(&bf), n);
    block_fetch_release(&bf);
    return rc;
}
