/* timeline.c — see timeline.h. */
#include "timeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct rec_head {
    uint32_t interval, nbuckets;
    uint64_t count, sum, min, max;
} rec_head;

typedef struct rec_bucket {
    uint32_t bucket, samples;
} rec_bucket;

void timeline_init(timeline *t)
{
    memset(t, 0, sizeof *t);
    histogram_init(&t->cur);
    t->cur_index = -1;
}

void timeline_free(timeline *t)
{
    free(t->blob);
    t->blob = NULL;
    t->len = t->cap = 0;
}

static int reserve(timeline *t, size_t more)
{
    if (t->len + more <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + more)
        cap *= 2;
    char *nb = realloc(t->blob, cap);
    if (!nb)
        return t->err = -ENOMEM;
    t->blob = nb;
    t->cap = cap;
    return 0;
}

void timeline_close_interval(timeline *t)
{
    histogram *h = &t->cur;
    if (h->count == 0 || t->cur_index < 0)
        return;
    uint32_t nb = 0;
    for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++)
        nb += h->buckets[b] != 0;
    if (reserve(t, sizeof(rec_head) + nb * sizeof(rec_bucket)) == 0) {
        rec_head hd = { (uint32_t)t->cur_index, nb, h->count, h->sum, h->min, h->max };
        memcpy(t->blob + t->len, &hd, sizeof hd);
        t->len += sizeof hd;
        for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++) {
            if (!h->buckets[b])
                continue;
            /* 2^32 samples in 100 ms cannot happen; clamp rather than wrap. */
            rec_bucket rb = { b, h->buckets[b] > UINT32_MAX ? UINT32_MAX
                                                            : (uint32_t)h->buckets[b] };
            memcpy(t->blob + t->len, &rb, sizeof rb);
            t->len += sizeof rb;
        }
    }
    histogram_init(h);
}

void timeline_flush(timeline *t)
{
    timeline_close_interval(t);
    t->cur_index = -1;
}

int timeline_append(timeline *t, const void *blob, size_t len)
{
    if (len == 0)
        return 0;
    if (reserve(t, len))
        return -ENOMEM;
    memcpy(t->blob + t->len, blob, len);
    t->len += len;
    return 0;
}

typedef struct rec_ref {
    uint32_t interval;
    size_t off;
} rec_ref;

static int cmp_ref(const void *a, const void *b)
{
    const rec_ref *x = a, *y = b;
    if (x->interval != y->interval)
        return x->interval < y->interval ? -1 : 1;
    return (x->off > y->off) - (x->off < y->off);
}

int timeline_points(const void *blob, size_t len, timeline_point **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const char *p = blob;
    /* Index the records, then walk them interval by interval. */
    size_t nrec = 0, cap = 0;
    rec_ref *refs = NULL;
    for (size_t off = 0; off < len;) {
        rec_head hd;
        if (len - off < sizeof hd)
            goto bad;
        memcpy(&hd, p + off, sizeof hd);
        size_t body = (size_t)hd.nbuckets * sizeof(rec_bucket);
        if (hd.nbuckets > HISTOGRAM_BUCKETS || len - off - sizeof hd < body)
            goto bad;
        if (nrec == cap) {
            cap = cap ? cap * 2 : 64;
            rec_ref *nr = realloc(refs, cap * sizeof *nr);
            if (!nr) {
                free(refs);
                return -ENOMEM;
            }
            refs = nr;
        }
        refs[nrec++] = (rec_ref){ hd.interval, off };
        off += sizeof hd + body;
    }
    if (nrec == 0) {
        free(refs);
        return 0;
    }
    qsort(refs, nrec, sizeof *refs, cmp_ref);
    timeline_point *pts = malloc(nrec * sizeof *pts);
    histogram *h = malloc(sizeof *h);
    if (!pts || !h) {
        free(pts);
        free(h);
        free(refs);
        return -ENOMEM;
    }
    size_t np = 0;
    for (size_t i = 0; i < nrec;) {
        histogram_init(h);
        uint32_t iv = refs[i].interval;
        for (; i < nrec && refs[i].interval == iv; i++) {
            rec_head hd;
            memcpy(&hd, p + refs[i].off, sizeof hd);
            /* Rebuild the histogram's plain fields; histogram_check below
             * keeps a mangled record from producing nonsense. */
            h->count += hd.count;
            uint64_t lo = h->sum;
            h->sum += hd.sum;
            h->sum_hi += h->sum < lo;
            if (hd.min < h->min)
                h->min = hd.min;
            if (hd.max > h->max)
                h->max = hd.max;
            const char *q = p + refs[i].off + sizeof hd;
            for (uint32_t k = 0; k < hd.nbuckets; k++) {
                rec_bucket rb;
                memcpy(&rb, q + k * sizeof rb, sizeof rb);
                if (rb.bucket >= HISTOGRAM_BUCKETS)
                    goto bad_free;
                h->buckets[rb.bucket] += rb.samples;
            }
        }
        if (!histogram_check(h))
            goto bad_free;
        uint64_t v[2];
        static const double ps[2] = { 50, 99 };
        histogram_percentiles(h, ps, 2, v);
        pts[np++] = (timeline_point){ iv, h->count, v[0], v[1], h->max };
    }
    free(h);
    free(refs);
    *out = pts;
    *n = np;
    return 0;
bad_free:
    free(pts);
    free(h);
bad:
    free(refs);
    return -EINVAL;
}
