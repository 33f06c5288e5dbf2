/*
 * lsmctl.c — command-line client of lsmd.
 *
 *   lsmctl [--socket PATH] [--json] COMMAND [ARGS]
 *     get KEY [--snapshot ID]          print the value
 *     mget KEY... [--snapshot ID]      KEY<TAB>VALUE lines in one multi-get
 *                                      (absent keys: KEY<TAB> and exit 1)
 *     put KEY VALUE [--sync]
 *     del KEY [--sync]
 *     scan [LO [HI]] [--limit N] [--snapshot ID] [--reverse]
 *                                      KEY<TAB>VALUE lines, [LO, HI)
 *     stats                            summary (--json: the daemon's JSON)
 *     flush | compact [LEVEL]          LEVEL -1 (default) = whole tree
 *     set NAME VALUE                   runtime engine option
 *                                      (flush, compact, set: admins only,
 *                                      i.e. the daemon's uid or a uid/gid
 *                                      in its admin_uids/admin_gids)
 *     snapshot create [--hold SECS]    print a new snapshot ID; the pin
 *                                      lasts while lsmctl runs (SECS, -1 =
 *                                      until SIGINT/SIGTERM; default 0)
 *     snapshot list                    published snapshots
 *     snapshot release ID              drop this connection's hold (useful
 *                                      in `shell`)
 *     levels                           files/bytes/score per level
 *     compactions [--svg FILE]         flush/compaction event log; the SVG
 *                                      draws them on a time line per level
 *     shell                            read commands from stdin, one per
 *                                      line, on one connection
 *
 * Exit status: 0 ok, 1 the command failed (message on stderr), 2 usage.
 * --json output is one JSON value per command on stdout.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lsmd.h"
#include "viz/svg_schedule.h"

static bool g_json;

/* ---- a small JSON reader for the daemon's stats ----------------------------
 * Enough for what the daemon emits: objects, arrays, strings (escapes kept
 * verbatim except \" and \\), numbers, true/false/null. */
typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;
typedef struct jv {
    jtype t;
    double num;
    char *str;          /* J_STR */
    struct jv *kids;    /* J_ARR, J_OBJ */
    char **keys;        /* J_OBJ */
    size_t n;
} jv;

static void jv_free(jv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        jv_free(&v->kids[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->kids);
    free(v->keys);
    free(v->str);
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static const char *parse_str(const char *p, char **out)
{
    const char *s = ++p; /* after the quote */
    while (*p && *p != '"')
        p += (*p == '\\' && p[1]) ? 2 : 1;
    if (*p != '"')
        return NULL;
    char *d = malloc((size_t)(p - s) + 1), *q = d;
    if (!d)
        return NULL;
    for (const char *r = s; r < p; r++) {
        if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
            r++;
        *q++ = *r;
    }
    *q = '\0';
    *out = d;
    return p + 1;
}

static const char *parse_val(const char *p, jv *v, int depth)
{
    memset(v, 0, sizeof *v);
    p = skip_ws(p);
    if (depth > 32)
        return NULL;
    if (*p == '{' || *p == '[') {
        bool obj = *p == '{';
        char close = obj ? '}' : ']';
        v->t = obj ? J_OBJ : J_ARR;
        p = skip_ws(p + 1);
        size_t cap = 0;
        while (*p && *p != close) {
            if (v->n == cap) {
                cap = cap ? 2 * cap : 8;
                jv *k = realloc(v->kids, cap * sizeof *k);
                char **ks = obj ? realloc(v->keys, cap * sizeof *ks) : NULL;
                if (k)
                    v->kids = k;
                if (ks)
                    v->keys = ks;
                if (!k || (obj && !ks))
                    return NULL;
            }
            if (obj) {
                if (*p != '"' || !(p = parse_str(p, &v->keys[v->n])))
                    return NULL;
                p = skip_ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            if (!(p = parse_val(p, &v->kids[v->n], depth + 1)))
                return NULL;
            v->n++;
            p = skip_ws(p);
            if (*p == ',')
                p = skip_ws(p + 1);
        }
        return *p == close ? p + 1 : NULL;
    }
    if (*p == '"') {
        v->t = J_STR;
        return parse_str(p, &v->str);
    }
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
        v->t = J_BOOL;
        v->num = *p == 't';
        return p + (*p == 't' ? 4 : 5);
    }
    if (strncmp(p, "null", 4) == 0)
        return p + 4;
    char *end;
    v->t = J_NUM;
    v->num = strtod(p, &end);
    return end == p ? NULL : end;
}

static const jv *jget(const jv *o, const char *key)
{
    if (!o || o->t != J_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0)
            return &o->kids[i];
    return NULL;
}

static double jnum(const jv *o, const char *key)
{
    const jv *v = jget(o, key);
    return v && (v->t == J_NUM || v->t == J_BOOL) ? v->num : 0;
}

static const char *jstr(const jv *o, const char *key)
{
    const jv *v = jget(o, key);
    return v && v->t == J_STR ? v->str : "";
}

/* ---- output helpers -------------------------------------------------------- */

static void json_bytes(FILE *f, const void *p, size_t n)
{
    const unsigned char *s = p;
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            fprintf(f, "\\%c", s[i]);
        else if (s[i] < 0x20 || s[i] >= 0x7f)
            fprintf(f, "\\u%04x", s[i]);
        else
            fputc(s[i], f);
    }
    fputc('"', f);
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "lsmctl: %s: %s\n", what, lsmd_strerror(rc));
    return 1;
}

static int ok_json(void)
{
    if (g_json)
        puts("{\"ok\":true}");
    return 0;
}

static int usage_err(const char *msg)
{
    fprintf(stderr, "lsmctl: %s (lsmctl --help for usage)\n", msg);
    return 2;
}

static void usage(FILE *f)
{
    fputs("usage: lsmctl [--socket PATH] [--json] COMMAND [ARGS]\n"
          "  get KEY [--snapshot ID]\n"
          "  mget KEY... [--snapshot ID]  (up to 64 keys)\n"
          "  put KEY VALUE [--sync]\n"
          "  del KEY [--sync]\n"
          "  scan [LO [HI]] [--limit N] [--snapshot ID] [--reverse]\n"
          "  stats\n"
          "  flush\n"
          "  compact [LEVEL]            (-1 = whole tree, the default)\n"
          "  set NAME VALUE             (flush, compact, set: admins only)\n"
          "  snapshot create [--hold SECS] | snapshot list | snapshot release ID\n"
          "  levels\n"
          "  compactions [--svg FILE]\n"
          "  shell                      commands from stdin on one connection\n"
          "Socket: --socket, else $LSMD_SOCKET, else $XDG_RUNTIME_DIR/lsmd.sock,\n"
          "else /tmp/lsmd-$UID/lsmd.sock.\n",
          f);
}

/* ---- command arguments ------------------------------------------------------ */

#define MAX_POS 64       /* positional arguments (mget's keys) */

typedef struct cmd_args {
    const char *pos[MAX_POS]; /* positional arguments after the command */
    int npos;
    bool sync, reverse;
    uint64_t snapshot;
    long limit;          /* -1 = none */
    long hold;
    const char *svg;
} cmd_args;

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_cmd_args(int argc, char **argv, cmd_args *a)
{
    memset(a, 0, sizeof *a);
    a->limit = -1;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        bool has_next = i + 1 < argc;
        uint64_t u;
        if (strcmp(s, "--sync") == 0) {
            a->sync = true;
        } else if (strcmp(s, "--reverse") == 0) {
            a->reverse = true;
        } else if (strcmp(s, "--json") == 0) {
            g_json = true;
        } else if (strcmp(s, "--snapshot") == 0 && has_next) {
            if (parse_u64(argv[++i], &a->snapshot))
                return usage_err("--snapshot takes an ID");
        } else if (strcmp(s, "--limit") == 0 && has_next) {
            if (parse_u64(argv[++i], &u))
                return usage_err("--limit takes a number");
            a->limit = (long)u;
        } else if (strcmp(s, "--hold") == 0 && has_next) {
            a->hold = strtol(argv[++i], NULL, 10);
        } else if (strcmp(s, "--svg") == 0 && has_next) {
            a->svg = argv[++i];
        } else if (strncmp(s, "--", 2) == 0 && s[2]) {
            fprintf(stderr, "lsmctl: unknown option %s\n", s);
            return 2;
        } else {
            if (a->npos == MAX_POS)
                return usage_err("too many arguments");
            a->pos[a->npos++] = s;
        }
    }
    return 0;
}

/* ---- data commands ----------------------------------------------------------- */

static int cmd_get(lsmd_conn *c, const cmd_args *a)
{
    if (a->npos != 1)
        return usage_err("get KEY");
    void *val;
    size_t n;
    int rc = lsmd_get(c, a->snapshot, a->pos[0], strlen(a->pos[0]), &val, &n);
    if (rc == LSM_ENOTFOUND && g_json) {
        puts("null");
        return 1;
    }
    if (rc)
        return fail("get", rc);
    if (g_json) {
        fputs("{\"key\":", stdout);
        json_bytes(stdout, a->pos[0], strlen(a->pos[0]));
        fputs(",\"value\":", stdout);
        json_bytes(stdout, val, n);
        puts("}");
    } else {
        fwrite(val, 1, n, stdout);
        putchar('\n');
    }
    free(val);
    return 0;
}

/* One lsmd_multi_get of every key: KEY<TAB>VALUE per found key, KEY<TAB>
 * per absent one (--json: an array of {"key", "value"} with null values). */
static int cmd_mget(lsmd_conn *c, const cmd_args *a)
{
    if (a->npos < 1)
        return usage_err("mget KEY...");
    size_t n = (size_t)a->npos, lens[MAX_POS], vl[MAX_POS];
    void *vals[MAX_POS];
    int st[MAX_POS], worst = 0;
    bool first = true;
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(a->pos[i]);
    int rc = lsmd_multi_get(c, a->snapshot, n, (const void *const *)a->pos, lens, vals, vl, st);
    if (rc)
        return fail("mget", rc);
    if (g_json)
        putchar('[');
    for (size_t i = 0; i < n; i++) {
        if (st[i] != 0 && st[i] != LSM_ENOTFOUND) {
            fprintf(stderr, "lsmctl: mget %s: %s\n", a->pos[i], lsmd_strerror(st[i]));
            worst = 1;
            continue;
        }
        worst |= st[i] != 0;
        if (g_json) {
            fputs(first ? "{\"key\":" : ",{\"key\":", stdout);
            first = false;
            json_bytes(stdout, a->pos[i], lens[i]);
            fputs(",\"value\":", stdout);
            if (st[i] == 0)
                json_bytes(stdout, vals[i], vl[i]);
            else
                fputs("null", stdout);
            putchar('}');
        } else {
            printf("%s\t", a->pos[i]);
            if (st[i] == 0)
                fwrite(vals[i], 1, vl[i], stdout);
            putchar('\n');
        }
        free(vals[i]);
    }
    if (g_json)
        puts("]");
    return worst;
}

static int cmd_put_del(lsmd_conn *c, const char *cmd, const cmd_args *a)
{
    bool put = strcmp(cmd, "put") == 0;
    if (a->npos != (put ? 2 : 1))
        return usage_err(put ? "put KEY VALUE" : "del KEY");
    int flags = a->sync ? LSM_SYNC : 0;
    int rc = put ? lsmd_put(c, a->pos[0], strlen(a->pos[0]), a->pos[1], strlen(a->pos[1]),
                            flags)
                 : lsmd_delete(c, a->pos[0], strlen(a->pos[0]), flags);
    return rc ? fail(cmd, rc) : ok_json();
}

static int cmd_scan(lsmd_conn *c, const cmd_args *a)
{
    if (a->npos > 2)
        return usage_err("scan [LO [HI]]");
    const char *lo = a->npos > 0 ? a->pos[0] : NULL;
    const char *hi = a->npos > 1 ? a->pos[1] : NULL;
    lsmd_iter *it;
    int rc = lsmd_iter_new_ex(c, a->snapshot, lo, lo ? strlen(lo) : 0, hi, hi ? strlen(hi) : 0,
                              a->reverse ? LSMD_ITER_REVERSE : 0, &it);
    if (rc)
        return fail("scan", rc);
    long n = 0;
    if (g_json)
        putchar('[');
    for (; lsmd_iter_valid(it) && (a->limit < 0 || n < a->limit); lsmd_iter_next(it), n++) {
        size_t kl, vl;
        const void *k = lsmd_iter_key(it, &kl);
        const void *v = lsmd_iter_value(it, &vl);
        if (g_json) {
            fputs(n ? ",{\"key\":" : "{\"key\":", stdout);
            json_bytes(stdout, k, kl);
            fputs(",\"value\":", stdout);
            json_bytes(stdout, v, vl);
            putchar('}');
        } else {
            fwrite(k, 1, kl, stdout);
            putchar('\t');
            fwrite(v, 1, vl, stdout);
            putchar('\n');
        }
    }
    rc = lsmd_iter_status(it);
    lsmd_iter_free(it);
    if (g_json)
        puts("]");
    return rc ? fail("scan", rc) : 0;
}

/* ---- stats-based commands ------------------------------------------------------ */

static int fetch_stats(lsmd_conn *c, char **text, jv *root)
{
    int rc = lsmd_stats_json(c, text);
    if (rc)
        return fail("stats", rc);
    if (root && !parse_val(*text, root, 0)) {
        jv_free(root);
        free(*text);
        fprintf(stderr, "lsmctl: the daemon's stats are not valid JSON\n");
        return 1;
    }
    return 0;
}

static void human_bytes(double b, char *out, size_t cap)
{
    const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int i = 0;
    while (b >= 1024 && i < 4) {
        b /= 1024;
        i++;
    }
    snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

static void print_levels(const jv *eng)
{
    const jv *lv = jget(eng, "levels");
    printf("%-6s %8s %12s %8s\n", "level", "files", "bytes", "score");
    for (size_t i = 0; lv && lv->t == J_ARR && i < lv->n; i++) {
        char b[32];
        human_bytes(jnum(&lv->kids[i], "bytes"), b, sizeof b);
        printf("L%-5.0f %8.0f %12s %8.2f\n", jnum(&lv->kids[i], "level"),
               jnum(&lv->kids[i], "files"), b, jnum(&lv->kids[i], "score"));
    }
}

/* What went through io_uring and what was issued inline, per I/O kind. */
static void print_io(const jv *eng)
{
    static const char *const kinds[] = { "wal_write", "wal_sync", "table_read", "table_write" };
    const jv *io = jget(eng, "io");
    if (!io)
        return;
    printf("%-12s %12s %12s %12s %12s\n", "io kind", "ops", "ring", "inline", "submissions");
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        const jv *k = jget(io, kinds[i]);
        printf("%-12s %12.0f %12.0f %12.0f %12.0f\n", kinds[i], jnum(k, "ops"), jnum(k, "ring"),
               jnum(k, "inline"), jnum(k, "submissions"));
    }
}

static int cmd_stats(lsmd_conn *c)
{
    char *text;
    jv root;
    if (g_json) {
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
    const jv *eng = jget(&root, "engine"), *dm = jget(&root, "daemon");
    printf("lsmd pid %.0f, up %.0f s, %s on %s\n", jnum(dm, "pid"), jnum(dm, "uptime_s"),
           jstr(dm, "dir"), jstr(dm, "socket"));
    printf("io %s%s, compaction %s, last sequence %.0f\n", jstr(eng, "io_backend"),
           jnum(eng, "use_direct_io") > 0 ? " (direct I/O)" : "", jstr(eng, "compaction_style"),
           jnum(eng, "last_sequence"));
    printf("write amp %.2f, space amp %.2f, files probed/get %.2f, compactions %.0f\n",
           jnum(eng, "write_amplification"), jnum(eng, "space_amplification"),
           jnum(eng, "files_probed_per_get"), jnum(eng, "compactions"));
    const jv *wal = jget(eng, "wal"), *bc = jget(eng, "block_cache"), *st = jget(eng, "stalls");
    printf("wal syncs %.0f, groups %.0f, mean group %.2f; cache hit rate %.3f; stalls %.0f "
           "(%.0f us)\n",
           jnum(wal, "syncs"), jnum(wal, "groups"), jnum(wal, "mean_group"),
           jnum(bc, "hit_rate"), jnum(st, "stops"), jnum(st, "stop_us"));
    print_io(eng);
    print_levels(eng);
    const jv *nm = jget(dm, "numa");
    printf("workers %.0f (numa %s%s), clients %.0f, snapshots %zu\n", jnum(dm, "workers"),
           jstr(nm, "mode"), jnum(nm, "active") ? ", active" : "", jnum(dm, "clients"),
           jget(dm, "snapshots") ? jget(dm, "snapshots")->n : 0);
    const jv *cl = jget(dm, "client_list");
    for (size_t i = 0; cl && cl->t == J_ARR && i < cl->n; i++) {
        const jv *x = &cl->kids[i];
        printf("  client %.0f pid %.0f: cpu %.0f (node %.0f) -> worker %.0f cpu %.0f (node "
               "%.0f), segment on node %.0f, %.0f ops\n",
               jnum(x, "id"), jnum(x, "pid"), jnum(x, "client_cpu"), jnum(x, "client_node"),
               jnum(x, "worker"), jnum(x, "worker_cpu"), jnum(x, "worker_node"),
               jnum(x, "segment_node"), jnum(x, "ops"));
    }
    jv_free(&root);
    free(text);
    return 0;
}

static int cmd_levels(lsmd_conn *c)
{
    char *text;
    jv root;
    int rc = fetch_stats(c, &text, &root);
    if (rc)
        return rc;
    const jv *eng = jget(&root, "engine");
    if (g_json) {
        /* Re-emit the levels array from the parsed numbers. */
        const jv *lv = jget(eng, "levels");
        putchar('[');
        for (size_t i = 0; lv && i < lv->n; i++)
            printf("%s{\"level\":%.0f,\"files\":%.0f,\"bytes\":%.0f,\"score\":%.3f}", i ? "," : "",
                   jnum(&lv->kids[i], "level"), jnum(&lv->kids[i], "files"),
                   jnum(&lv->kids[i], "bytes"), jnum(&lv->kids[i], "score"));
        puts("]");
    } else {
        printf("compaction style %s, sorted runs %.0f\n", jstr(eng, "compaction_style"),
               jnum(eng, "sorted_runs"));
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

static int cmd_compactions(lsmd_conn *c, const cmd_args *a)
{
    char *text;
    jv root;
    int rc = fetch_stats(c, &text, &root);
    if (rc)
        return rc;
    const jv *ev = jget(jget(&root, "engine"), "events");
    if (!ev || ev->t != J_ARR) {
        fprintf(stderr, "lsmctl: not yet: this engine keeps no flush/compaction event log\n");
        rc = 1;
    } else if (a->svg) {
        rc = write_svg(a->svg, text);
    } else if (g_json) {
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
            human_bytes(jnum(e, "bytes_in"), bi, sizeof bi);
            human_bytes(jnum(e, "bytes_out"), bo, sizeof bo);
            printf("%5.0f %-10s %-12s L%-3.0f %6.0f %12s %6.0f %12s %9.1f\n", jnum(e, "id"),
                   jstr(e, "kind"), jstr(e, "reason"), jnum(e, "output_level"),
                   jnum(e, "files_in"), bi, jnum(e, "files_out"), bo,
                   (jnum(e, "end_us") - jnum(e, "start_us")) / 1e3);
        }
    }
    jv_free(&root);
    free(text);
    return rc;
}

/* ---- admin and snapshots --------------------------------------------------------- */

static volatile sig_atomic_t g_stop;
static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int cmd_snapshot(lsmd_conn *c, const cmd_args *a)
{
    const char *sub = a->npos > 0 ? a->pos[0] : "";
    if (strcmp(sub, "create") == 0) {
        uint64_t id;
        int rc = lsmd_snapshot_acquire(c, &id);
        if (rc)
            return fail("snapshot create", rc);
        printf(g_json ? "{\"id\":%llu}\n" : "%llu\n", (unsigned long long)id);
        fflush(stdout);
        if (a->hold != 0) {
            signal(SIGINT, on_signal);
            signal(SIGTERM, on_signal);
            time_t end = time(NULL) + a->hold;
            while (!g_stop && (a->hold < 0 || time(NULL) < end) && lsmd_ping(c) == 0)
                usleep(100000);
        }
        return 0;
    }
    if (strcmp(sub, "release") == 0) {
        uint64_t id;
        if (a->npos != 2 || parse_u64(a->pos[1], &id))
            return usage_err("snapshot release ID");
        int rc = lsmd_snapshot_release(c, id);
        return rc ? fail("snapshot release", rc) : ok_json();
    }
    if (strcmp(sub, "list") == 0) {
        lsmd_snapshot_info v[256];
        size_t n;
        int rc = lsmd_snapshot_list(c, v, 256, &n);
        if (rc)
            return fail("snapshot list", rc);
        if (n > 256)
            n = 256;
        if (g_json)
            putchar('[');
        else
            printf("%-20s %8s %10s %8s\n", "id", "holders", "creator", "age s");
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        double tnow = (double)now.tv_sec + now.tv_nsec / 1e9;
        for (size_t i = 0; i < n; i++) {
            double age = tnow - (double)v[i].created_ns / 1e9;
            if (g_json)
                printf("%s{\"id\":%llu,\"sequence\":%llu,\"holders\":%u,\"creator_pid\":%u,"
                       "\"creator_id\":%llu,\"age_s\":%.3f}",
                       i ? "," : "", (unsigned long long)v[i].id,
                       (unsigned long long)v[i].sequence, v[i].holders, v[i].creator_pid,
                       (unsigned long long)v[i].creator_id, age);
            else
                printf("%-20llu %8u %10u %8.1f\n", (unsigned long long)v[i].id, v[i].holders,
                       v[i].creator_pid, age);
        }
        if (g_json)
            puts("]");
        return 0;
    }
    return usage_err("snapshot create|list|release ID");
}

static int run_command(lsmd_conn *c, int argc, char **argv);

/* Commands from stdin, one per line, split on blanks, on this connection. */
static int cmd_shell(lsmd_conn *c)
{
    char *line = NULL;
    size_t cap = 0;
    int worst = 0;
    while (getline(&line, &cap, stdin) > 0) {
        char *argv[16];
        int argc = 0;
        for (char *tok = strtok(line, " \t\r\n"); tok && argc < 16; tok = strtok(NULL, " \t\r\n"))
            argv[argc++] = tok;
        if (argc == 0 || argv[0][0] == '#')
            continue;
        if (strcmp(argv[0], "shell") == 0)
            continue;
        int rc = run_command(c, argc, argv);
        fflush(stdout);
        if (rc > worst)
            worst = rc;
    }
    free(line);
    return worst;
}

static int run_command(lsmd_conn *c, int argc, char **argv)
{
    const char *cmd = argv[0];
    cmd_args a;
    int rc = parse_cmd_args(argc - 1, argv + 1, &a);
    if (rc)
        return rc;
    if (strcmp(cmd, "get") == 0)
        return cmd_get(c, &a);
    if (strcmp(cmd, "mget") == 0)
        return cmd_mget(c, &a);
    if (strcmp(cmd, "put") == 0 || strcmp(cmd, "del") == 0)
        return cmd_put_del(c, cmd, &a);
    if (strcmp(cmd, "scan") == 0)
        return cmd_scan(c, &a);
    if (strcmp(cmd, "stats") == 0)
        return cmd_stats(c);
    if (strcmp(cmd, "flush") == 0) {
        rc = lsmd_flush(c);
        return rc ? fail("flush", rc) : ok_json();
    }
    if (strcmp(cmd, "compact") == 0) {
        long level = a.npos ? strtol(a.pos[0], NULL, 10) : -1;
        rc = lsmd_compact(c, (int)level);
        return rc ? fail("compact", rc) : ok_json();
    }
    if (strcmp(cmd, "set") == 0) {
        if (a.npos != 2)
            return usage_err("set NAME VALUE");
        rc = lsmd_set_option(c, a.pos[0], a.pos[1]);
        return rc ? fail("set", rc) : ok_json();
    }
    if (strcmp(cmd, "snapshot") == 0)
        return cmd_snapshot(c, &a);
    if (strcmp(cmd, "levels") == 0)
        return cmd_levels(c);
    if (strcmp(cmd, "compactions") == 0)
        return cmd_compactions(c, &a);
    if (strcmp(cmd, "shell") == 0)
        return cmd_shell(c);
    fprintf(stderr, "lsmctl: unknown command '%s'\n", cmd);
    return 2;
}

int main(int argc, char **argv)
{
    const char *sock = NULL;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
            sock = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            g_json = true;
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "lsmctl: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (i == argc) {
        usage(stderr);
        return 2;
    }
    lsmd_conn *c;
    int rc = lsmd_connect(sock, &c);
    if (rc) {
        fprintf(stderr, "lsmctl: cannot attach to lsmd at %s: %s\n",
                sock ? sock : "the default socket", lsmd_strerror(rc));
        return 1;
    }
    rc = run_command(c, argc - i, argv + i);
    lsmd_disconnect(c);
    return rc;
}
