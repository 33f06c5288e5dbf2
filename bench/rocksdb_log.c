/* rocksdb_log.c — see rocksdb_log.h. */
#include "rocksdb_log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viz/json_scan.h"

#define MARK "EVENT_LOG_v1 "

typedef struct rev {
    uint64_t job, start, end;
    bool flush;
    char reason[40];
    int in_mask, out_level;
    uint64_t files_in, files_out, bytes_in, bytes_out;
} rev;

typedef struct revs {
    rev *v;
    size_t n, cap;
} revs;

static rev *find(revs *r, uint64_t job)
{
    /* Jobs appear in increasing order; look from the end. */
    for (size_t i = r->n; i-- > 0;)
        if (r->v[i].job == job)
            return &r->v[i];
    return NULL;
}

static rev *add(revs *r, uint64_t job)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        rev *nv = realloc(r->v, cap * sizeof *nv);
        if (!nv)
            return NULL;
        r->v = nv;
        r->cap = cap;
    }
    rev *e = &r->v[r->n++];
    memset(e, 0, sizeof *e);
    e->job = job;
    return e;
}

/* One EVENT_LOG_v1 object. */
static int take(revs *r, const char *o)
{
    char ev[40];
    double job, t;
    if (!json_string(json_get(o, "event"), ev, sizeof ev) ||
        !json_number(json_get(o, "job"), &job) || !json_number(json_get(o, "time_micros"), &t))
        return 0;
    uint64_t id = (uint64_t)job;
    rev *e = find(r, id);
    bool fs = strcmp(ev, "flush_started") == 0, cs = strcmp(ev, "compaction_started") == 0;
    if (fs || cs) {
        if (!e && !(e = add(r, id)))
            return -ENOMEM;
        e->flush = fs;
        e->start = (uint64_t)t;
        json_string(json_get(o, fs ? "flush_reason" : "compaction_reason"), e->reason,
                    sizeof e->reason);
        if (fs) {
            e->bytes_in = (uint64_t)json_num_or(o, "total_data_size", 0);
            return 0;
        }
        e->bytes_in = (uint64_t)json_num_or(o, "input_data_size", 0);
        for (int l = 0; l < 31; l++) {
            char key[16];
            snprintf(key, sizeof key, "files_L%d", l);
            const char *arr = json_get(o, key);
            if (!arr)
                continue;
            e->in_mask |= 1 << l;
            for (const char *f = json_array_first(arr); f; f = json_array_next(f))
                e->files_in++;
        }
        /* The output level is only logged at the end; until then guess as
         * leveled compaction picks: into the deepest input level when two
         * levels merge, else into the next one. */
        int hi = 31 - __builtin_clz((unsigned)e->in_mask | 1u);
        e->out_level = (e->in_mask & ~(1 << hi)) ? hi : hi + 1;
        return 0;
    }
    if (!e)
        return 0; /* its start was before this LOG */
    if (strcmp(ev, "table_file_creation") == 0) {
        e->files_out++;
        e->bytes_out += (uint64_t)json_num_or(o, "file_size", 0);
    } else if (strcmp(ev, "flush_finished") == 0) {
        e->end = (uint64_t)t;
    } else if (strcmp(ev, "compaction_finished") == 0) {
        e->end = (uint64_t)t;
        e->out_level = (int)json_num_or(o, "output_level", 0);
        e->files_out = (uint64_t)json_num_or(o, "num_output_files", (double)e->files_out);
        e->bytes_out = (uint64_t)json_num_or(o, "total_output_size", (double)e->bytes_out);
    }
    return 0;
}

int rocksdb_log_events(const char *text, const char *style, char **json,
                       rocksdb_log_totals *tot)
{
    revs r = { 0 };
    memset(tot, 0, sizeof *tot);
    int rc = 0;
    for (const char *p = text; rc == 0 && (p = strstr(p, MARK)); p += sizeof MARK - 1) {
        const char *o = p + sizeof MARK - 1;
        const char *eol = strchr(o, '\n');
        /* json_skip stops at the object's end; a torn last line fails it. */
        const char *end = json_skip(o);
        if (end && (!eol || end <= eol))
            rc = take(&r, o);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = rc ? NULL : open_memstream(&buf, &len);
    if (!f) {
        free(r.v);
        return -ENOMEM;
    }
    fputs("{\"events\":[", f);
    for (size_t i = 0; i < r.n; i++) {
        const rev *e = &r.v[i];
        bool move = !e->flush && e->end && e->files_out == 0 && e->bytes_out == 0 &&
                    e->files_in > 0;
        const char *kind = e->flush ? "flush" : move ? "move" : "compaction";
        fprintf(f,
                "%s{\"id\":%llu,\"kind\":\"%s\",\"reason\":\"", i ? "," : "",
                (unsigned long long)e->job, kind);
        for (const char *c = e->reason; *c; c++)
            if (*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20)
                fputc(*c, f);
        fprintf(f,
                "\",\"style\":\"%s\",\"input_levels\":%d,\"output_level\":%d,"
                "\"start_us\":%llu,\"end_us\":%llu,\"files_in\":%llu,\"files_out\":%llu,"
                "\"bytes_in\":%llu,\"bytes_out\":%llu,\"status\":0}",
                style, e->in_mask, e->out_level, (unsigned long long)e->start,
                (unsigned long long)e->end, (unsigned long long)e->files_in,
                (unsigned long long)e->files_out, (unsigned long long)e->bytes_in,
                (unsigned long long)e->bytes_out);
        if (!e->end)
            continue;
        if (e->flush) {
            tot->flushes++;
            tot->flush_bytes += e->bytes_out;
        } else {
            tot->compactions++;
            tot->compact_bytes += e->bytes_out;
        }
    }
    fputs("]}", f);
    free(r.v);
    if (fclose(f) != 0) {
        free(buf);
        return -ENOMEM;
    }
    *json = buf;
    return 0;
}
