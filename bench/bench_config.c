/* bench_config.c — flags and job files (bench_config.h). */
#include "bench_config.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "keygen.h"
#include "lsm.h" /* LSM_VERSION */
#include "workload.h"

enum opt_type {
    T_STR, T_SIZE64, T_SIZE32, T_COUNT, T_INT, T_DOUBLE, T_DURATION, T_BOOL, T_DIST,
    T_GLOBAL, /* handled by set_global */
};

typedef struct opt_def {
    const char *key;     /* with '-' */
    int type;
    size_t off;          /* into bench_config */
    size_t len;          /* T_STR: buffer size */
    long lo, hi;         /* T_INT / T_SIZE32 range */
    uint32_t mask;       /* SET_* recorded when given */
    const char *help;
} opt_def;

#define OFF(f) offsetof(bench_config, f)
#define STR(f) OFF(f), sizeof(((bench_config *)0)->f)

static const opt_def k_opts[] = {
    { "target", T_STR, STR(target), 0, 0, 0,
      "embedded:DIR | rocksdb:DIR | lmdb:DIR | lsmd:SOCKET (repeat on the command line to "
      "compare; rocksdb and lmdb when built with their -dev packages)" },
    { "benchmarks", T_STR, STR(benchmarks), 0, 0, 0,
      "comma list of workloads, run in order on one database (default fillrandom,readrandom)" },
    { "name", T_STR, STR(name), 0, 0, 0, "job name (default: the job file section's)" },
    { "num", T_COUNT, OFF(num), 0, 0, 0, 0, "keys in the key space; ops of fills (1000000)" },
    { "reads", T_COUNT, OFF(reads), 0, 0, 0, 0, "ops of other workloads (default num)" },
    { "duration", T_DURATION, OFF(duration), 0, 0, 0, 0, "run each job this long instead (s)" },
    { "key-size", T_SIZE32, OFF(key_size), 0, 1, 65536, 0, "key bytes (16)" },
    { "value-size", T_SIZE32, OFF(value_size), 0, 0, 64 << 20, 0, "value bytes (100)" },
    { "clients", T_INT, OFF(clients), 0, 1, 1024, 0, "client processes, lsmd only (1)" },
    { "threads", T_INT, OFF(threads), 0, 1, 1024, 0, "worker threads per client (1)" },
    { "iodepth", T_INT, OFF(iodepth), 0, 1, 4096, 0, "requests in flight per worker, lsmd (1)" },
    { "sync", T_BOOL, OFF(sync), 0, 0, 0, 0, "writes wait for durability (0)" },
    { "seed", T_COUNT, OFF(seed), 0, 0, 0, 0, "random seed (1)" },
    { "distribution", T_DIST, OFF(distribution), 0, 0, 0, 0,
      "uniform | zipfian | latest (default: the workload's)" },
    { "zipf-theta", T_DOUBLE, OFF(zipf_theta), 0, 0, 0, 0, "zipfian skew, 0 < theta < 1 (0.99)" },
    { "zipf-scramble", T_BOOL, OFF(zipf_scramble), 0, 0, 0, 0,
      "spread hot keys over the key space, as YCSB (1)" },
    { "read-pct", T_INT, OFF(read_pct), 0, 0, 100, 0, "mixed: percent of gets (50)" },
    { "seek-nexts", T_INT, OFF(seek_nexts), 0, 0, 1 << 20, 0, "seekrandom: nexts per seek (10)" },
    { "scan-length", T_INT, OFF(scan_length), 0, 1, 1 << 20, 0, "ycsb-e: longest scan (100)" },
    { "batch", T_INT, OFF(batch), 0, 1, 65536, 0, "multireadrandom: keys per multi-get (32)" },
    { "cold", T_BOOL, OFF(cold), 0, 0, 0, 0,
      "out of memory: build/reuse a database >= 4 x cold-memory, run under a memory cgroup "
      "of cold-memory, drop the page cache before each workload (root only) (0)" },
    { "cold-memory", T_SIZE64, OFF(cold_memory), 0, 0, 0, 0,
      "--cold: memory this process (engine, caches, page cache) may use (512M)" },
    { "cold-mode", T_STR, STR(cold_mode), 0, 0, 0,
      "--cold: cgroup (buffered engine in a memory cgroup) | direct (direct I/O, the block "
      "cache the only cache) (cgroup)" },
    { "direct-io", T_BOOL, OFF(direct_io), 0, 0, 0, 0,
      "engine use_direct_io; RocksDB use_direct_reads + use_direct_io_for_flush_and_compaction "
      "(0)" },
    { "memtable-bytes", T_SIZE64, OFF(memtable_bytes), 0, 0, 0, SET_MEMTABLE,
      "memtable / RocksDB write_buffer_size (64M)" },
    { "cache-bytes", T_SIZE64, OFF(cache_bytes), 0, 0, 0, SET_CACHE, "block cache (64M)" },
    { "block-bytes", T_SIZE64, OFF(block_bytes), 0, 0, 0, 0, "data block size (4K)" },
    { "bloom-bits", T_INT, OFF(bloom_bits), 0, 0, 64, SET_BLOOM, "bloom bits per key, 0 = none (10)" },
    { "max-immutable", T_INT, OFF(max_immutable), 0, 1, 64, 0,
      "frozen memtables before writes stop (2; RocksDB max_write_buffer_number - 1)" },
    { "compaction-threads", T_INT, OFF(compaction_threads), 0, 1, 16, SET_COMPACTION_THREADS,
      "background compactions (1)" },
    { "compaction-style", T_STR, STR(compaction_style), 0, 0, SET_STYLE,
      "leveled | tiered (RocksDB: level | universal)" },
    { "use-existing", T_BOOL, OFF(use_existing), 0, 0, 0, 0,
      "keep the database's contents (default: start from an empty one)" },
    { "statistics", T_BOOL, OFF(statistics), 0, 0, 0, 0,
      "rocksdb: enable its statistics, for the cache hit rate (0)" },
    { "output-format", T_GLOBAL, 0, 0, 0, 0, 0, "text | json (global)" },
    { "svg-dir", T_GLOBAL, 0, 0, 0, 0, 0, "write latency and compaction SVGs here (global)" },
    { "progress", T_GLOBAL, 0, 0, 0, 0, 0, "auto | 1 | 0: the progress line (global)" },
};
#define NOPTS (sizeof k_opts / sizeof k_opts[0])

void bench_config_init(bench_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->target, sizeof c->target, "embedded:/tmp/lsmbench-%u", (unsigned)getuid());
    snprintf(c->benchmarks, sizeof c->benchmarks, "fillrandom,readrandom");
    c->num = 1000000;
    c->key_size = 16;
    c->value_size = 100;
    c->clients = 1;
    c->threads = 1;
    c->iodepth = 1;
    c->seed = 1;
    c->distribution = DIST_DEFAULT;
    c->zipf_theta = 0.99;
    c->zipf_scramble = true;
    c->read_pct = 50;
    c->seek_nexts = 10;
    c->scan_length = 100;
    c->batch = 32;
    c->cold_memory = 512u << 20;
    snprintf(c->cold_mode, sizeof c->cold_mode, "cgroup");
    c->memtable_bytes = 64u << 20;
    c->cache_bytes = 64u << 20;
    c->block_bytes = 4096;
    c->bloom_bits = 10;
    c->max_immutable = 2;
    c->compaction_threads = 1;
    snprintf(c->compaction_style, sizeof c->compaction_style, "leveled");
}

void bench_global_init(bench_global *g)
{
    memset(g, 0, sizeof *g);
    g->format = FMT_TEXT;
    g->progress = -1;
}

/* ---- value parsers -------------------------------------------------------- */

static int parse_scaled(const char *s, uint64_t *out, uint64_t unit)
{
    if (!s || !*s || *s == '-')
        return -EINVAL;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || end == s || d < 0)
        return -EINVAL;
    uint64_t mul = 1;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': mul = unit; break;
        case 'm': case 'M': mul = unit * unit; break;
        case 'g': case 'G': mul = unit * unit * unit; break;
        default: return -EINVAL;
        }
        end++;
        if (unit == 1024 && (*end == 'i' || *end == 'I'))
            end++;
        if (unit == 1024 && (*end == 'b' || *end == 'B'))
            end++;
        if (*end)
            return -EINVAL;
    }
    double v = d * (double)mul;
    if (v >= 18446744073709551615.0 || v != floor(v))
        return -EINVAL;
    *out = (uint64_t)v;
    return 0;
}

int bench_parse_size(const char *s, uint64_t *out)
{
    return parse_scaled(s, out, 1024);
}

int bench_parse_count(const char *s, uint64_t *out)
{
    return parse_scaled(s, out, 1000);
}

int bench_parse_duration(const char *s, double *out)
{
    if (!s || !*s)
        return -EINVAL;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || end == s || d < 0 || !isfinite(d))
        return -EINVAL;
    if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
        ;
    else if (strcmp(end, "ms") == 0)
        d /= 1000;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        d *= 60;
    else if (strcmp(end, "h") == 0)
        d *= 3600;
    else
        return -EINVAL;
    *out = d;
    return 0;
}

int bench_parse_bool(const char *s, bool *out)
{
    static const char *yes[] = { "1", "true", "yes", "on" }, *no[] = { "0", "false", "no", "off" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* ---- setting one key ------------------------------------------------------ */

/* key with '_' or '-' -> its definition. */
static const opt_def *find_opt(const char *key)
{
    char k[64];
    size_t n = 0;
    for (; *key && n + 1 < sizeof k; key++)
        k[n++] = *key == '_' ? '-' : *key;
    k[n] = 0;
    for (size_t i = 0; i < NOPTS; i++)
        if (strcmp(k_opts[i].key, k) == 0)
            return &k_opts[i];
    return NULL;
}

static int set_global(bench_global *g, const char *key, const char *v, char *err, size_t cap)
{
    if (strcmp(key, "output-format") == 0) {
        if (strcmp(v, "text") == 0)
            g->format = FMT_TEXT;
        else if (strcmp(v, "json") == 0)
            g->format = FMT_JSON;
        else
            goto bad;
    } else if (strcmp(key, "svg-dir") == 0) {
        if (strlen(v) >= sizeof g->svg_dir)
            goto bad;
        snprintf(g->svg_dir, sizeof g->svg_dir, "%s", v);
    } else if (strcmp(key, "progress") == 0) {
        bool b;
        if (strcmp(v, "auto") == 0)
            g->progress = -1;
        else if (bench_parse_bool(v, &b) == 0)
            g->progress = b;
        else
            goto bad;
    }
    return 0;
bad:
    snprintf(err, cap, "bad value '%s' for %s", v, key);
    return -EINVAL;
}

int bench_config_set(bench_config *c, bench_global *g, const char *key, const char *value,
                     char *err, size_t errcap)
{
    const opt_def *o = find_opt(key);
    if (!o) {
        snprintf(err, errcap, "unknown option '%s' (see --help)", key);
        return -ENOENT;
    }
    if (!value)
        value = o->type == T_BOOL ? "1" : "";
    if (o->type == T_GLOBAL) {
        if (!g) {
            snprintf(err, errcap, "%s is a global option: put it in [global] or on the "
                                  "command line", o->key);
            return -EINVAL;
        }
        return set_global(g, o->key, value, err, errcap);
    }
    char *p = (char *)c + o->off;
    uint64_t u;
    int rc = 0;
    switch (o->type) {
    case T_STR:
        if (strlen(value) >= o->len)
            rc = -EINVAL;
        else
            snprintf(p, o->len, "%s", value);
        break;
    case T_SIZE64:
        rc = bench_parse_size(value, &u);
        if (rc == 0)
            memcpy(p, &u, sizeof u);
        break;
    case T_SIZE32:
        rc = bench_parse_size(value, &u);
        if (rc == 0 && (u < (uint64_t)o->lo || u > (uint64_t)o->hi))
            rc = -EINVAL;
        if (rc == 0) {
            uint32_t v32 = (uint32_t)u;
            memcpy(p, &v32, sizeof v32);
        }
        break;
    case T_COUNT:
        rc = bench_parse_count(value, &u);
        if (rc == 0)
            memcpy(p, &u, sizeof u);
        break;
    case T_INT: {
        char *end;
        errno = 0;
        long l = strtol(value, &end, 10);
        if (errno || end == value || *end || l < o->lo || l > o->hi)
            rc = -EINVAL;
        else {
            int i = (int)l;
            memcpy(p, &i, sizeof i);
        }
        break;
    }
    case T_DOUBLE: {
        char *end;
        double d = strtod(value, &end);
        if (end == value || *end || !isfinite(d))
            rc = -EINVAL;
        else
            memcpy(p, &d, sizeof d);
        break;
    }
    case T_DURATION: {
        double d;
        rc = bench_parse_duration(value, &d);
        if (rc == 0)
            memcpy(p, &d, sizeof d);
        break;
    }
    case T_BOOL: {
        bool b;
        rc = bench_parse_bool(value, &b);
        if (rc == 0)
            memcpy(p, &b, sizeof b);
        break;
    }
    case T_DIST: {
        int d = dist_parse(value);
        if (d < 0)
            rc = -EINVAL;
        else
            memcpy(p, &d, sizeof d);
        break;
    }
    }
    if (rc) {
        snprintf(err, errcap, "bad value '%s' for %s", value, o->key);
        return -EINVAL;
    }
    c->explicit_mask |= o->mask;
    return 0;
}

const char *bench_config_key(size_t i, char *buf, size_t cap, const bench_config *c,
                             bool *is_string)
{
    if (i >= NOPTS)
        return NULL;
    const opt_def *o = &k_opts[i];
    if (o->type == T_GLOBAL)
        return ""; /* not a job's: the caller records bench_global itself */
    const char *p = (const char *)c + o->off;
    *is_string = false;
    switch (o->type) {
    case T_STR:
        *is_string = true;
        snprintf(buf, cap, "%s", p);
        break;
    /* p points at the field itself (offsetof), so it is aligned for it */
    case T_SIZE64:
    case T_COUNT:
        snprintf(buf, cap, "%llu", (unsigned long long)*(const uint64_t *)p);
        break;
    case T_SIZE32:
        snprintf(buf, cap, "%u", *(const uint32_t *)p);
        break;
    case T_INT:
        snprintf(buf, cap, "%d", *(const int *)p);
        break;
    case T_DOUBLE:
    case T_DURATION:
        snprintf(buf, cap, "%.17g", *(const double *)p);
        break;
    case T_BOOL:
        snprintf(buf, cap, "%s", *(const bool *)p ? "true" : "false");
        break;
    case T_DIST: {
        int d = *(const int *)p;
        *is_string = true;
        snprintf(buf, cap, "%s", d == DIST_DEFAULT ? "default" : dist_name(d));
        break;
    }
    }
    return o->key;
}

int bench_config_check(const bench_config *c, char *err, size_t cap)
{
    const char *name = c->name[0] ? c->name : "(command line)";
    if (!strchr(c->target, ':')) {
        snprintf(err, cap, "job %s: target '%s' is not SCHEME:ARG (embedded:DIR, "
                           "rocksdb:DIR, lmdb:DIR, lsmd:SOCKET)", name, c->target);
        return -EINVAL;
    }
    if (c->num == 0) {
        snprintf(err, cap, "job %s: num must be > 0", name);
        return -EINVAL;
    }
    if (!(c->zipf_theta > 0 && c->zipf_theta < 1)) {
        snprintf(err, cap, "job %s: zipf-theta must be in (0, 1), got %g", name,
                 c->zipf_theta);
        return -EINVAL;
    }
    if (key_digits(c->num - 1) > (int)c->key_size) {
        snprintf(err, cap, "job %s: key-size %u cannot hold %d-digit key numbers (num %llu)",
                 name, c->key_size, key_digits(c->num - 1), (unsigned long long)c->num);
        return -EINVAL;
    }
    if (strcmp(c->compaction_style, "leveled") && strcmp(c->compaction_style, "tiered")) {
        snprintf(err, cap, "job %s: compaction-style must be leveled or tiered", name);
        return -EINVAL;
    }
    if (strcmp(c->cold_mode, "cgroup") && strcmp(c->cold_mode, "direct")) {
        snprintf(err, cap, "job %s: cold-mode must be cgroup or direct", name);
        return -EINVAL;
    }
    char list[sizeof c->benchmarks];
    snprintf(list, sizeof list, "%s", c->benchmarks);
    int n = 0;
    for (char *save, *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        if (!workload_find(w)) {
            snprintf(err, cap, "job %s: unknown workload '%s' (see --list)", name, w);
            return -EINVAL;
        }
        n++;
    }
    if (n == 0) {
        snprintf(err, cap, "job %s: no benchmarks", name);
        return -EINVAL;
    }
    return 0;
}

/* ---- job files ------------------------------------------------------------- */

typedef struct ini_entry {
    char *section, *key, *value;
} ini_entry;

typedef struct ini_ctx {
    ini_entry *e;
    size_t n, cap;
    int oom;
    char err[256];
} ini_ctx;

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
    ini_ctx *x = user;
    bool global = section[0] == 0 || strcmp(section, "global") == 0;
    /* Validate now, so ini_parse reports the line of a bad key. */
    bench_config scratch;
    bench_global gs;
    bench_config_init(&scratch);
    bench_global_init(&gs);
    if (bench_config_set(&scratch, global ? &gs : NULL, name, value, x->err, sizeof x->err))
        return 0;
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 32;
        ini_entry *ne = realloc(x->e, cap * sizeof *ne);
        if (!ne) {
            x->oom = 1;
            return 0;
        }
        x->e = ne;
        x->cap = cap;
    }
    ini_entry *e = &x->e[x->n++];
    e->section = strdup(global ? "global" : section);
    e->key = strdup(name);
    e->value = strdup(value);
    if (!e->section || !e->key || !e->value)
        x->oom = 1;
    return !x->oom;
}

static void ini_ctx_free(ini_ctx *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->e[i].section);
        free(x->e[i].key);
        free(x->e[i].value);
    }
    free(x->e);
}

static int add_job(bench_plan *p, const bench_config *c)
{
    bench_config *nj = realloc(p->jobs, (p->njobs + 1) * sizeof *nj);
    if (!nj)
        return -ENOMEM;
    p->jobs = nj;
    p->jobs[p->njobs++] = *c;
    return 0;
}

/* ---- the command line ------------------------------------------------------ */

typedef struct kv {
    const char *key, *value;
} kv;

static void list_workloads(FILE *f)
{
    size_t n;
    const workload *w = workload_list(&n);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-17s %s\n", w[i].name, w[i].help);
}

void bench_usage(FILE *f)
{
    fputs("usage: lsmbench [--KEY[=VALUE] ...] [JOBFILE.ini]\n"
          "       lsmbench --list | --help | --version\n"
          "fio-style benchmark of the lsmd engine (embedded), the lsmd daemon, RocksDB and LMDB.\n"
          "Keys (also valid in job files, spelled with - or _):\n",
          f);
    for (size_t i = 0; i < NOPTS; i++)
        fprintf(f, "  --%-19s %s\n", k_opts[i].key, k_opts[i].help);
    fputs("Workloads (--list):\n", f);
    list_workloads(f);
    fputs("Sizes take K/M/G (x1024), counts k/m/g (x1000).  See docs/benchmarking.md.\n", f);
}

int bench_plan_parse(bench_plan *plan, int argc, char **argv, char *err, size_t errcap)
{
    memset(plan, 0, sizeof *plan);
    bench_global_init(&plan->g);
    kv *flags = calloc((size_t)argc + 1, sizeof *flags);
    if (!flags)
        return -ENOMEM;
    size_t nflags = 0;
    const char *jobfile = NULL;
    int rc = 0;
    /* keys of "--key=value" flags are copied here, one slot per argv entry */
    char (*keys)[128] = calloc((size_t)argc + 1, sizeof *keys);
    if (!keys) {
        free(flags);
        return -ENOMEM;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            bench_usage(stdout);
            rc = 1;
            goto out;
        }
        if (strcmp(a, "--version") == 0) {
            printf("lsmbench %s\n", LSM_VERSION);
            rc = 1;
            goto out;
        }
        if (strcmp(a, "--list") == 0) {
            list_workloads(stdout);
            rc = 1;
            goto out;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (jobfile) {
                snprintf(err, errcap, "more than one job file (%s, %s)", jobfile, a);
                rc = -EINVAL;
                goto out;
            }
            jobfile = a;
            continue;
        }
        const char *eq = strchr(a + 2, '=');
        const char *value;
        char *key = keys[i];
        if (eq) {
            size_t n = (size_t)(eq - (a + 2));
            if (n >= sizeof keys[0])
                n = sizeof keys[0] - 1;
            memcpy(key, a + 2, n);
            key[n] = 0;
            value = eq + 1;
        } else {
            snprintf(key, sizeof keys[0], "%s", a + 2);
            const opt_def *o = find_opt(key);
            if (!o) {
                snprintf(err, errcap, "unknown option --%s (see --help)", key);
                rc = -ENOENT;
                goto out;
            }
            /* A bare boolean flag is true; others take the next argument. */
            if (o->type == T_BOOL &&
                (i + 1 >= argc || bench_parse_bool(argv[i + 1], &(bool){ 0 }) != 0))
                value = "1";
            else if (i + 1 < argc)
                value = argv[++i];
            else {
                snprintf(err, errcap, "--%s needs a value", key);
                rc = -EINVAL;
                goto out;
            }
        }
        const opt_def *o = find_opt(key);
        if (!o) {
            snprintf(err, errcap, "unknown option --%s (see --help)", key);
            rc = -ENOENT;
            goto out;
        }
        if (strcmp(o->key, "target") == 0) {
            if (plan->g.ntargets == BENCH_MAX_TARGETS || strlen(value) >= BENCH_PATH_MAX) {
                snprintf(err, errcap, "too many --target flags or too long a target");
                rc = -EINVAL;
                goto out;
            }
            snprintf(plan->g.targets[plan->g.ntargets++], BENCH_PATH_MAX, "%s", value);
            continue;
        }
        flags[nflags++] = (kv){ key, value };
    }

    bench_config base;
    bench_config_init(&base);
    ini_ctx x = { 0 };
    if (jobfile) {
        int line = ini_parse(jobfile, ini_cb, &x);
        if (line != 0 || x.oom) {
            if (x.oom || line == -2)
                rc = -ENOMEM, snprintf(err, errcap, "out of memory reading %s", jobfile);
            else if (line == -1)
                rc = -ENOENT, snprintf(err, errcap, "cannot open job file %s", jobfile);
            else
                rc = -EINVAL, snprintf(err, errcap, "%s:%d: %s", jobfile, line,
                                       x.err[0] ? x.err : "syntax error");
            ini_ctx_free(&x);
            goto out;
        }
        for (size_t i = 0; i < x.n; i++)
            if (strcmp(x.e[i].section, "global") == 0 &&
                (rc = bench_config_set(&base, &plan->g, x.e[i].key, x.e[i].value, err, errcap)))
                break;
    }
    for (size_t i = 0; rc == 0 && i < nflags; i++)
        rc = bench_config_set(&base, &plan->g, flags[i].key, flags[i].value, err, errcap);
    if (rc == 0 && plan->g.ntargets > 0)
        snprintf(base.target, sizeof base.target, "%s", plan->g.targets[0]);
    /* One job per non-global section, in file order. */
    for (size_t i = 0; rc == 0 && i < x.n; i++) {
        if (strcmp(x.e[i].section, "global") == 0)
            continue;
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen |= strcmp(x.e[j].section, x.e[i].section) == 0;
        if (seen)
            continue;
        bench_config job = base;
        snprintf(job.name, sizeof job.name, "%s", x.e[i].section);
        for (size_t j = i; rc == 0 && j < x.n; j++)
            if (strcmp(x.e[j].section, x.e[i].section) == 0)
                rc = bench_config_set(&job, NULL, x.e[j].key, x.e[j].value, err, errcap);
        if (rc == 0)
            rc = add_job(plan, &job);
    }
    if (rc == 0 && plan->njobs == 0)
        rc = add_job(plan, &base); /* the command line's job: unnamed unless --name */
    ini_ctx_free(&x);
    for (size_t i = 0; rc == 0 && i < plan->njobs; i++)
        rc = bench_config_check(&plan->jobs[i], err, errcap);
    if (rc == -ENOMEM)
        snprintf(err, errcap, "out of memory");
out:
    free(flags);
    free(keys);
    if (rc < 0)
        bench_plan_free(plan);
    return rc;
}

void bench_plan_free(bench_plan *plan)
{
    free(plan->jobs);
    plan->jobs = NULL;
    plan->njobs = 0;
}
