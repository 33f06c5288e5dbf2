/* result.c — see result.h. */
#include "result.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RESULT_MAGIC "LSMBRES1"
#define RESULT_VERSION 1

typedef struct result_wire {
    char magic[8];
    uint32_t version, nclass;
    uint64_t hist_bytes;
    run_counts counts;
    uint64_t timeline_len;
} result_wire;

run_result *result_new(void)
{
    run_result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    for (int i = 0; i < NCLASS; i++)
        histogram_init(&r->h[i]);
    timeline_init(&r->tl);
    return r;
}

void result_free(run_result *r)
{
    if (!r)
        return;
    timeline_free(&r->tl);
    free(r);
}

int result_merge(run_result *dst, const run_result *src)
{
    run_counts *d = &dst->c;
    const run_counts *s = &src->c;
    for (int i = 0; i < NCLASS; i++) {
        d->ops[i] += s->ops[i];
        d->bytes[i] += s->bytes[i];
        histogram_merge(&dst->h[i], &src->h[i]);
    }
    d->found += s->found;
    d->notfound += s->notfound;
    d->batches += s->batches;
    d->errors += s->errors;
    if (!d->first_error)
        d->first_error = s->first_error;
    if (s->start_ns && (!d->start_ns || s->start_ns < d->start_ns))
        d->start_ns = s->start_ns;
    if (s->end_ns > d->end_ns)
        d->end_ns = s->end_ns;
    return timeline_append(&dst->tl, src->tl.blob, src->tl.len);
}

void result_headline(const run_result *r, histogram *out, uint64_t *ops, uint64_t *bytes)
{
    histogram_init(out);
    *ops = *bytes = 0;
    for (int i = 0; i < NCLASS; i++) {
        if (i == CLASS_BGWRITE)
            continue;
        histogram_merge(out, &r->h[i]);
        *ops += r->c.ops[i];
        *bytes += r->c.bytes[i];
    }
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int result_send(int fd, const run_result *r)
{
    result_wire w;
    memset(&w, 0, sizeof w);
    memcpy(w.magic, RESULT_MAGIC, 8);
    w.version = RESULT_VERSION;
    w.nclass = NCLASS;
    w.hist_bytes = sizeof(histogram);
    w.counts = r->c;
    w.timeline_len = r->tl.len;
    int rc = write_all(fd, &w, sizeof w);
    if (rc == 0)
        rc = write_all(fd, r->h, sizeof r->h);
    if (rc == 0 && r->tl.len)
        rc = write_all(fd, r->tl.blob, r->tl.len);
    return rc;
}

int result_parse(const void *buf, size_t len, run_result *r)
{
    result_wire w;
    if (len < sizeof w)
        return -EPROTO;
    memcpy(&w, buf, sizeof w);
    if (memcmp(w.magic, RESULT_MAGIC, 8) != 0 || w.version != RESULT_VERSION ||
        w.nclass != NCLASS || w.hist_bytes != sizeof(histogram) ||
        w.timeline_len != len - sizeof w - sizeof r->h || len < sizeof w + sizeof r->h)
        return -EPROTO;
    const char *p = (const char *)buf + sizeof w;
    memcpy(r->h, p, sizeof r->h);
    for (int i = 0; i < NCLASS; i++)
        if (!histogram_check(&r->h[i]))
            return -EPROTO;
    r->c = w.counts;
    timeline_free(&r->tl);
    timeline_init(&r->tl);
    return timeline_append(&r->tl, p + sizeof r->h, (size_t)w.timeline_len);
}
