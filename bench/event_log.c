/* event_log.c — see event_log.h. */
#include "event_log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viz/json_scan.h"

void event_log_init(event_log *l)
{
    memset(l, 0, sizeof *l);
}

void event_log_free(event_log *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].text);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Index of the first record with id >= id. */
static size_t lower_bound(const event_log *l, uint64_t id)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (l->v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int upsert(event_log *l, const char *obj, const char *end)
{
    double id, s, e;
    if (!json_number(json_get(obj, "id"), &id) || !json_number(json_get(obj, "start_us"), &s))
        return 0; /* not an event: skip */
    if (!json_number(json_get(obj, "end_us"), &e))
        e = 0;
    size_t i = lower_bound(l, (uint64_t)id);
    bool exists = i < l->n && l->v[i].id == (uint64_t)id;
    if (exists && l->v[i].end_us != 0)
        return 0; /* finished events never change */
    char *text = strndup(obj, (size_t)(end - obj));
    if (!text)
        return -ENOMEM;
    if (exists) {
        free(l->v[i].text);
    } else {
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 64;
            event_rec *nv = realloc(l->v, cap * sizeof *nv);
            if (!nv) {
                free(text);
                return -ENOMEM;
            }
            l->v = nv;
            l->cap = cap;
        }
        memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof *l->v);
        l->n++;
    }
    l->v[i] = (event_rec){ (uint64_t)id, (uint64_t)s, (uint64_t)e, text };
    return 0;
}

int event_log_add_json(event_log *l, const char *stats_json)
{
    const char *arr = json_find(stats_json, "events");
    int n = 0;
    for (const char *e = json_array_first(arr); e; e = json_array_next(e)) {
        const char *end = json_skip(e);
        if (!end)
            break;
        int rc = upsert(l, e, end);
        if (rc)
            return rc;
        n++;
    }
    return n;
}

char *event_log_window_json(const event_log *l, uint64_t from_us, uint64_t to_us)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fputs("{\"events\":[", f);
    int k = 0;
    for (size_t i = 0; i < l->n; i++) {
        const event_rec *r = &l->v[i];
        bool overlaps = r->start_us <= to_us && (r->end_us == 0 || r->end_us >= from_us);
        if (!overlaps)
            continue;
        fprintf(f, "%s%s", k++ ? "," : "", r->text);
    }
    fputs("]}", f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
