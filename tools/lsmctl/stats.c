/* stats.c — lsmctl's commands over the daemon's stats: stats, levels,
 * compactions (and its SVG schedule). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "lsmctl.h"
#include "viz/svg_schedule.h"

static int fetch_stats(lsmd_conn *c, char **text, jv *root)
{
    int rc = lsmd_stats_json(c, text);
    if (rc)
        return ctl_fail("stats", rc);
    if (root && !jv_parse(*text, root, 0)) {
        jv_free(root);
        free(*text);
        fprintf(stderr, "lsmctl: the daemon's stats are not valid JSON\n");
        return 1;
    }
    return 0;
}

static void print_levels(const jv *eng)
{
    const jv *lv = jv_get(eng, "levels");
    printf("%-6s %8s %12s %8s\n", "level", "files", "bytes", "score");
    for (size_t i = 0; lv && lv->t == J_ARR && i < lv->n; i++) {
        char b[32];
        ctl_human_bytes(jv_num(&lv->kids[i], "bytes"), b, sizeof b);
        printf("L%-5.0f %8.0f %12s %8.2f\n", jv_num(&lv->kids[i], "level"),
               jv_num(&lv->kids[i], "files"), b, jv_num(&lv->kids[i], "score"));
    }
}

/* What went through io_uring and what was issued inline, per I/O kind. */
static void print_io(const jv *eng)
{
    static const char *const kinds[] = { "wal_write", "wal_sync", "table_read", "table_write" };
    const jv *io = jv_get(eng, "io");
    if (!io)
        return;
    printf("%-12s %12s %12s %12s %12s\n", "io kind", "ops", "ring", "inline", "submissions");
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        const jv *k = jv_get(io, kinds[i]);
        printf("%-12s %12.0f %12.0f %12.0f %12.0f\n", kinds[i], jv_num(k, "ops"), jv_num(k, "ring"),
               jv_num(k, "inline"), jv_num(k, "submissions"));
    }
}

/* The daemon renders Prometheus text itself (daemon/metrics.h), the same
 * text its GET /metrics serves: print it as it comes. */
static int print_prometheus(lsmd_conn *c)
{
    char *text;
    int rc = lsmd_stats(c, LSMD_STATS_PROMETHEUS, &text);
    if (rc)
        return ctl_fail("stats --format prometheus", rc);
    fputs(text, stdout);
    free(text);
    return 0;
}

int cmd_stats(lsmd_conn *c, const cmd_args *a)
{
    char *text;
    jv root;
    if (a->format && strcmp(a->format, "prometheus") == 0)
        return print_prometheus(c);
    if (a->format && strcmp(a->format, "json") != 0 && strcmp(a->format, "text") != 0)
        return ctl_usage_err("stats --format takes text, json or prometheus");
    if (ctl_json || (a->format && strcmp(a->format, "json") == 0)) {
        int rc = fetch_stats(c, &text, NULL);
        if (rc == 0) {
            puts(text);
            free(text);
        }
        return rc;
    }
    int rc = fetch_stats(c, &text, &root);
    if (rc)
        return rc;
    const jv *eng = jv_get(&root, "engine"), *dm = jv_get(&root, "daemon");
    printf("lsmd pid %.0f, up %.0f s, %s on %s\n", jv_num(dm, "pid"), jv_num(dm, "uptime_s"),
           jv_str(dm, "dir"), jv_str(dm, "socket"));
    printf("io %s%s, compaction %s, last sequence %.0f\n", jv_str(eng, "io_backend"),
           jv_num(eng, "use_direct_io") > 0 ? " (direct I/O)" : "", jv_str(eng, "compaction_style"),
           jv_num(eng, "last_sequence"));
    printf("write amp %.2f, space amp %.2f, files probed/get %.2f, compactions %.0f\n",
           jv_num(eng, "write_amplification"), jv_num(eng, "space_amplification"),
           jv_num(eng, "files_probed_per_get"), jv_num(eng, "compactions"));
    const jv *wal = jv_get(eng, "wal"), *bc = jv_get(eng, "block_cache"), *st = jv_get(eng, "stalls");
    printf("wal syncs %.0f, groups %.0f, mean group %.2f; cache hit rate %.3f; stalls %.0f "
           "(%.0f us)\n",
           jv_num(wal, "syncs"), jv_num(wal, "groups"), jv_num(wal, "mean_group"),
           jv_num(bc, "hit_rate"), jv_num(st, "stops"), jv_num(st, "stop_us"));
    const jv *sy = jv_get(dm, "syncer");
    printf("synced writes %.0f in %.0f syncer rounds (mean %.2f per fdatasync, %.0f "
           "gathered)\n",
           jv_num(sy, "writes"), jv_num(sy, "rounds"), jv_num(sy, "mean_round"),
           jv_num(sy, "gathers"));
    print_io(eng);
    print_levels(eng);
    const jv *nm = jv_get(dm, "numa");
    printf("workers %.0f (numa %s%s), clients %.0f, snapshots %zu\n", jv_num(dm, "workers"),
           jv_str(nm, "mode"), jv_num(nm, "active") ? ", active" : "", jv_num(dm, "clients"),
           jv_get(dm, "snapshots") ? jv_get(dm, "snapshots")->n : 0);
    const jv *cl = jv_get(dm, "client_list");
    for (size_t i = 0; cl && cl->t == J_ARR && i < cl->n; i++) {
        const jv *x = &cl->kids[i];
        printf("  client %.0f pid %.0f: cpu %.0f (node %.0f) -> worker %.0f cpu %.0f (node "
               "%.0f), segment on node %.0f, %.0f ops\n",
               jv_num(x, "id"), jv_num(x, "pid"), jv_num(x, "client_cpu"), jv_num(x, "client_node"),
               jv_num(x, "worker"), jv_num(x, "worker_cpu"), jv_num(x, "worker_node"),
               jv_num(x, "segment_node"), jv_num(x, "ops"));
    }
    jv_free(&root);
    free(text);
    return 0;
}

int cmd_levels(lsmd_conn *c, const cmd_args *a)
{
    (void)a;
    char *text;
    jv root;
    int rc = fetch_stats(c, &text, &root);
    if (rc)
        return rc;
    const jv *eng = jv_get(&root, "engine");
    if (ctl_json) {
        /* Re-emit the levels array from the parsed numbers. */
        const jv *lv = jv_get(eng, "levels");
        putchar('[');
        for (size_t i = 0; lv && i < lv->n; i++)
            printf("%s{\"level\":%.0f,\"files\":%.0f,\"bytes\":%.0f,\"score\":%.3f}", i ? "," : "",
                   jv_num(&lv->kids[i], "level"), jv_num(&lv->kids[i], "files"),
                   jv_num(&lv->kids[i], "bytes"), jv_num(&lv->kids[i], "score"));
        puts("]");
    } else {
        printf("compaction style %s, sorted runs %.0f\n", jv_str(eng, "compaction_style"),
               jv_num(eng, "sorted_runs"));
        print_levels(eng);
    }
    jv_free(&root);
    free(text);
    return 0;
}

/* The compaction schedule as SVG, drawn by the same code as lsmbench's
 * pictures (libclient/viz/svg_schedule.c): one lane per level, one bar per event. */
static int write_svg(const char *path, const char *stats_text)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!f) {
        fprintf(stderr, "lsmctl: %s: %s\n", path, strerror(errno));
        return 1;
    }
    int rc = svg_compaction_schedule(stats_text, f);
    if (rc != 0)
        fprintf(stderr, "lsmctl: drawing %s: %s\n", path, lsmd_strerror(rc));
    if (f != stdout && fclose(f) != 0 && rc == 0) {
        fprintf(stderr, "lsmctl: %s: %s\n", path, strerror(errno));
        return 1;
    }
    return rc != 0;
}

int cmd_compactions(lsmd_conn *c, const cmd_args *a)
{
    char *text;
    jv root;
    int rc = fetch_stats(c, &text, &root);
    if (rc)
        return rc;
    const jv *ev = jv_get(jv_get(&root, "engine"), "events");
    if (!ev || ev->t != J_ARR) {
        fprintf(stderr, "lsmctl: not yet: this engine keeps no flush/compaction event log\n");
        rc = 1;
    } else if (a->svg) {
        rc = write_svg(a->svg, text);
    } else if (ctl_json) {
        const char *p = strstr(text, "\"events\":");
        /* The engine's own array, verbatim: find its extent by nesting. */
        p = p ? strchr(p, '[') : NULL;
        int depth = 0;
        const char *q = p;
        for (; q && *q; q++) {
            depth += (*q == '[' || *q == '{') - (*q == ']' || *q == '}');
            if (depth == 0)
                break;
        }
        if (p && q && *q)
            printf("%.*s\n", (int)(q - p + 1), p);
        else
            puts("[]");
    } else {
        printf("%5s %-10s %-12s %4s %6s %12s %6s %12s %9s\n", "id", "kind", "reason", "out",
               "in", "bytes in", "out", "bytes out", "ms");
        for (size_t i = 0; i < ev->n; i++) {
            const jv *e = &ev->kids[i];
            char bi[32], bo[32];
            ctl_human_bytes(jv_num(e, "bytes_in"), bi, sizeof bi);
            ctl_human_bytes(jv_num(e, "bytes_out"), bo, sizeof bo);
            printf("%5.0f %-10s %-12s L%-3.0f %6.0f %12s %6.0f %12s %9.1f\n", jv_num(e, "id"),
                   jv_str(e, "kind"), jv_str(e, "reason"), jv_num(e, "output_level"),
                   jv_num(e, "files_in"), bi, jv_num(e, "files_out"), bo,
                   (jv_num(e, "end_us") - jv_num(e, "start_us")) / 1e3);
        }
    }
    jv_free(&root);
    free(text);
    return rc;
}
