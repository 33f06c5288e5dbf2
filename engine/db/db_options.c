/*
 * db_options.c — checking options at open, changing them at run time
 * (lsm_set_option, which persists each change in DIR/OPTIONS first),
 * reading them back (lsm_get_option) and loading DIR/OPTIONS
 * (lsm_options_load).  One table describes every numeric option: its
 * name, where it lives in lsm_options, its range and whether it may change
 * at run time, so open-time checks, run-time parsing and the OPTIONS file
 * cannot drift apart.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_impl.h"
#include "base/log.h"
#include "base/reason.h"
#include "db/options_file.h"
#include "table/block_cache.h"

enum opt_kind { OPT_SIZE, OPT_INT, OPT_DOUBLE, OPT_U64 };

struct opt_desc {
    const char *name;
    enum opt_kind kind;
    size_t offset;
    double min, max;
    bool runtime;
    double runtime_min; /* a stricter floor for lsm_set_option, or 0 */
    const char *help;   /* one line for lsm_option_at (lsmd --help) */
};

#define OPT(name, kind, min, max, rt, help)                                                   \
    { #name, kind, offsetof(lsm_options, name), min, max, rt, 0, help }

/* The meanings are lsm.h's field comments cut to a line: lsmd --help and
 * its man page print them, so a new row documents its own flag. */
static const struct opt_desc g_opts[] = {
    /* A running database is not shrunk below LSM_MIN_RUNTIME_MEMTABLE_BYTES:
     * a request could otherwise make every few writes create a WAL, a
     * table and a MANIFEST edit.  Tests and embedders may still open with
     * tiny memtables on purpose (many flushes). */
    { "memtable_bytes", OPT_SIZE, offsetof(lsm_options, memtable_bytes), 4096,
      1099511627776.0, true, LSM_MIN_RUNTIME_MEMTABLE_BYTES,
      "a memtable this full is frozen and flushed to level 0 (>= 64K at run time)" },
    OPT(max_immutable_memtables, OPT_INT, 1, DB_MAX_IMM, false,
        "frozen memtables awaiting flush before writers wait"),
    OPT(block_bytes, OPT_SIZE, 64, 64 << 20, false, "target data block size"),
    OPT(block_restart_interval, OPT_INT, 1, 1024, false, "keys between restart points"),
    OPT(bloom_bits_per_key, OPT_INT, 0, 64, false, "bloom filter bits per key; 0 = no filter"),
    OPT(sstable_target_bytes, OPT_SIZE, 4096, 1099511627776.0, true, "compaction output file size"),
    OPT(l0_compaction_trigger, OPT_INT, 1, 1000, true,
        "leveled: L0 files that start an L0 compaction"),
    OPT(l0_slowdown_trigger, OPT_INT, 1, 10000, true,
        "L0 files at which writes are paced to delayed_write_rate"),
    OPT(l0_stop_trigger, OPT_INT, 1, 10000, true,
        "L0 files at which writes wait for compaction"),
    OPT(delayed_write_rate, OPT_SIZE, 0, 1099511627776.0, true,
        "bytes/s written while slowed down; 0 = no slowdown, only the stop"),
    OPT(level_size_ratio, OPT_DOUBLE, 1.5, 1000, true, "leveled: size ratio between levels"),
    OPT(level_base_bytes, OPT_SIZE, 4096, 1099511627776.0, true,
        "leveled: largest target of the base level"),
    OPT(tiered_size_ratio, OPT_DOUBLE, 0, 100, true,
        "tiered: a run joins a merge while <= (1 + ratio) x the newer runs"),
    OPT(tiered_min_merge, OPT_INT, 2, 1000, true, "tiered: fewest runs to merge"),
    OPT(tiered_max_runs, OPT_INT, 2, 1000, true, "tiered: bound on sorted runs"),
    OPT(tiered_max_space_amp, OPT_DOUBLE, 0.1, 1000, true,
        "tiered: merge everything when newer runs exceed this x the oldest"),
    OPT(compaction_threads, OPT_INT, 1, DB_MAX_COMPACTION_THREADS, true,
        "background compactions (1..16)"),
    OPT(compaction_rate_mb, OPT_INT, 0, 1000000, true,
        "compaction output MB/s; 0 = unlimited"),
    OPT(max_subcompactions, OPT_INT, 1, 16, true,
        "threads one compaction job may split into (1..16)"),
    OPT(compaction_readahead_bytes, OPT_SIZE, 0, 1 << 30, true,
        "read-ahead window per compaction input; 0 = off"),
    OPT(periodic_compaction_seconds, OPT_U64, 0, 1e12, true,
        "compact files older than this; 0 = off"),
    OPT(block_cache_bytes, OPT_SIZE, 0, 1099511627776.0 * 16, true, "cache of data blocks"),
    OPT(max_open_files, OPT_INT, 10, 1000000, false, "table readers kept open"),
    OPT(use_direct_io, OPT_INT, 0, 1, false,
        "1: write tables with O_DIRECT; the block cache is the only cache"),
    OPT(wal_retention_seconds, OPT_U64, 0, 1e12, true,
        "change feed: keep flushed WALs this long (0 and wal_retention_bytes 0: none)"),
    OPT(wal_retention_bytes, OPT_SIZE, 0, 1099511627776.0 * 1024, true,
        "change feed: keep flushed WALs up to this total size (0 = no size limit)"),
};

static const struct opt_desc *find_opt(const char *name)
{
    for (size_t i = 0; i < sizeof g_opts / sizeof g_opts[0]; i++)
        if (strcmp(g_opts[i].name, name) == 0)
            return &g_opts[i];
    return NULL;
}

static double get_value(const lsm_options *o, const struct opt_desc *d)
{
    const char *p = (const char *)o + d->offset;
    switch (d->kind) {
    case OPT_SIZE: return (double)*(const size_t *)p;
    case OPT_INT: return *(const int *)p;
    case OPT_DOUBLE: return *(const double *)p;
    default: return (double)*(const uint64_t *)p;
    }
}

static void set_value(lsm_options *o, const struct opt_desc *d, double v)
{
    char *p = (char *)o + d->offset;
    switch (d->kind) {
    case OPT_SIZE: *(size_t *)p = (size_t)v; break;
    case OPT_INT: *(int *)p = (int)v; break;
    case OPT_DOUBLE: *(double *)p = v; break;
    default: *(uint64_t *)p = (uint64_t)v; break;
    }
}

static int in_range(const struct opt_desc *d, double v, bool runtime)
{
    double min = runtime && d->runtime_min > d->min ? d->runtime_min : d->min;
    if (!(v >= min && v <= d->max)) {
        reason_set(-EINVAL, "%s: %.17g is %s %.17g%s", d->name, v,
                   v < min ? "below the minimum" : "above the maximum", v < min ? min : d->max,
                   runtime && v < min && min != d->min ? " at run time" : "");
        return 0;
    }
    return 1;
}

/* Pairs of options that only work in one order: lo <= hi (lo < hi when
 * strict).  Outside it the engine can wedge: writes stop waiting for a
 * compaction that never becomes due (issue 9: l0_stop_trigger 1 with
 * l0_compaction_trigger 4 stopped every writer for good). */
struct opt_pair {
    const char *lo, *hi;
    bool strict;
    const char *style; /* the rule holds only under this style; NULL: always */
    const char *why;
};

static const struct opt_pair g_pairs[] = {
    { "l0_compaction_trigger", "l0_stop_trigger", true, NULL,
      "writes would stop before an L0 compaction is due" },
    { "l0_compaction_trigger", "l0_slowdown_trigger", false, NULL,
      "writes would slow before L0 can compact" },
    { "l0_slowdown_trigger", "l0_stop_trigger", false, NULL,
      "writes would stop before they are ever slowed" },
    { "tiered_min_merge", "tiered_max_runs", false, NULL,
      "a merge would need more runs than allowed" },
    /* Tiered merges by run count, not l0_compaction_trigger: a stop on L0
     * files must mean more runs than the bound, so a merge is due. */
    { "tiered_max_runs", "l0_stop_trigger", true, "tiered",
      "tiered: writes would stop before a merge is due" },
};

/* See db_impl.h. */
int db_check_option_rules(const lsm_options *o, const char *changed)
{
    for (size_t i = 0; i < sizeof g_pairs / sizeof g_pairs[0]; i++) {
        const struct opt_pair *p = &g_pairs[i];
        if (p->style && (!o->compaction_style || strcmp(p->style, o->compaction_style) != 0))
            continue;
        double lo = get_value(o, find_opt(p->lo)), hi = get_value(o, find_opt(p->hi));
        if (p->strict ? lo < hi : lo <= hi)
            continue;
        (void)changed;
        return reason_set(-EINVAL, "%s (%g) must be %s %s (%g): %s", p->lo, lo,
                          p->strict ? "below" : "at most", p->hi, hi, p->why);
    }
    return 0;
}

int db_style_valid(const char *s)
{
    return s && (strcmp(s, "leveled") == 0 || strcmp(s, "tiered") == 0);
}

int db_check_options(const lsm_options *o)
{
    for (size_t i = 0; i < sizeof g_opts / sizeof g_opts[0]; i++)
        if (!in_range(&g_opts[i], get_value(o, &g_opts[i]), false))
            return -EINVAL;
    if (o->compaction_style && !db_style_valid(o->compaction_style)) {
        return reason_set(-EINVAL, "compaction_style: expected leveled or tiered, not \"%.40s\"",
                          o->compaction_style);
    }
    /* Owner read/write is needed by the engine itself; x, setuid and the
     * like have no business on data files. */
    if ((o->file_mode & 0600u) != 0600u || (o->file_mode & ~0666u) != 0) {
        return reason_set(-EINVAL, "file_mode: 0%o must include 0600 and lie within 0666",
                          o->file_mode);
    }
    if (memtable_impl_check(o->memtable_impl) != 0) {
        return reason_set(-EINVAL, "memtable_impl: expected skiplist or vector, not \"%.40s\"",
                          o->memtable_impl ? o->memtable_impl : "(null)");
    }
    return db_check_option_rules(o, NULL);
}

/* Parses a whole number or decimal with an optional K/M/G suffix (powers of
 * 1024), as in "64M".  Returns 0 or -EINVAL. */
static int parse_number(const char *s, enum opt_kind kind, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v))
        return -EINVAL;
    double mult = 1;
    if (*end && kind == OPT_SIZE) {
        switch (*end) {
        case 'k': case 'K': mult = 1024.0; break;
        case 'm': case 'M': mult = 1024.0 * 1024; break;
        case 'g': case 'G': mult = 1024.0 * 1024 * 1024; break;
        default: return -EINVAL;
        }
        end++;
    }
    if (*end)
        return -EINVAL;
    v *= mult;
    if (kind != OPT_DOUBLE && v != floor(v))
        return -EINVAL;
    *out = v;
    return 0;
}

/* The reason for a value parse_number refused. */
static int bad_number(const struct opt_desc *d, const char *value)
{
    return reason_set(-EINVAL, "%s: \"%.40s\" is not a %s", d->name, value,
                      d->kind == OPT_DOUBLE ? "number"
                      : d->kind == OPT_SIZE ? "whole number (K, M or G may follow)"
                                            : "whole number");
}

/* Applies next to the running database.  REQUIRES: mu held. */
static void install(lsm_db *db, const lsm_options *next)
{
    if (strcmp(db->picker->name, next->compaction_style) != 0) {
        log_info_limited("compaction style %s -> %s", db->picker->name, next->compaction_style);
        db->picker = compaction_picker_find(next->compaction_style);
        pthread_cond_broadcast(&db->compact_cv);
    }
    db->opt = *next;
}

/* Applies a changed block_cache_bytes. */
static void cache_options_changed(lsm_db *db)
{
    pthread_mutex_lock(&db->mu);
    size_t cap = db->opt.block_cache_bytes;
    pthread_mutex_unlock(&db->mu);
    block_cache_set_capacity(db->block_cache, cap);
}

/* Checks name = value as a run-time change; -EINVAL (with its reason) when
 * it is not one. */
static int check_runtime(const char *name, const char *value, const struct opt_desc **dp,
                         double *v)
{
    *dp = NULL;
    if (strcmp(name, "compaction_style") == 0) {
        if (!db_style_valid(value))
            return reason_set(-EINVAL, "compaction_style: expected leveled or tiered");
        return 0;
    }
    const struct opt_desc *d = find_opt(name);
    if (!d)
        return reason_set(-EINVAL, "no such option: %.80s", name);
    if (!d->runtime)
        return reason_set(-EINVAL, "%s can only be set at open", name);
    if (parse_number(value, d->kind, v) != 0)
        return bad_number(d, value);
    if (!in_range(d, *v, true))
        return -EINVAL;
    *dp = d;
    return 0;
}

int lsm_set_option(lsm_db *db, const char *name, const char *value)
{
    reason_clear();
    if (!db || !name || !value)
        return reason_set(-EINVAL, "lsm_set_option: a NULL argument");
    const struct opt_desc *d;
    double v = 0;
    int rc = check_runtime(name, value, &d, &v);
    if (rc)
        return rc;
    /* options_mu makes check, persist and apply one step among sets: the
     * file always holds what is (or is about to be) in force, and the new
     * value is checked against each partner's current value, so two sets
     * cannot each pass against the other's old value. */
    pthread_mutex_lock(&db->options_mu);
    pthread_mutex_lock(&db->mu);
    lsm_options next = db->opt;
    if (d)
        set_value(&next, d, v);
    else
        next.compaction_style = compaction_picker_find(value)->name;
    rc = db_check_option_rules(&next, name);
    pthread_mutex_unlock(&db->mu);
    /* Persisted before it applies: a failed write changes nothing, and a
     * crash between the two finds the new value, as if it had applied. */
    bool renamed = false;
    if (rc == 0)
        rc = db_options_persist(db, &next, &renamed);
    if (rc != 0 && renamed) {
        /* Only the directory sync failed, so OPTIONS holds next, which is
         * not in force: put the old options back (best effort). */
        pthread_mutex_lock(&db->mu);
        lsm_options old = db->opt;
        pthread_mutex_unlock(&db->mu);
        (void)db_options_persist(db, &old, NULL);
    }
    if (rc == 0) {
        pthread_mutex_lock(&db->mu);
        install(db, &next);
        pthread_mutex_unlock(&db->mu);
    }
    pthread_mutex_unlock(&db->options_mu);
    if (rc)
        return rc;
    log_info_limited("option %s set to %s", name, value);
    db_options_changed(db);
    cache_options_changed(db);
    return 0;
}

/* ---- options by name: lsm_get_option, the OPTIONS file ------------------ */

/* Every persisted option, in the order lsm_get_option lists them and the
 * OPTIONS file holds them: the two style strings, g_opts' rows, file_mode.
 * Not persisted: create_if_missing and error_if_exists (how to open, not
 * what the database is), io_backend and io (the machine's, not the
 * data's). */
enum { NAMED_STYLE = -1, NAMED_IMPL = -2, NAMED_MODE = -3 };

#define N_OPTS (sizeof g_opts / sizeof g_opts[0])
#define N_NAMED ((int)N_OPTS + 3)

/* The i-th persisted option: its name and g_opts row (NULL for the three
 * kept apart) or its NAMED_* code. */
static const char *named(int i, const struct opt_desc **d, int *special)
{
    *d = NULL;
    *special = 0;
    if (i == 0) {
        *special = NAMED_STYLE;
        return "compaction_style";
    }
    if (i == 1) {
        *special = NAMED_IMPL;
        return "memtable_impl";
    }
    if (i - 2 < (int)N_OPTS) {
        *d = &g_opts[i - 2];
        return (*d)->name;
    }
    *special = NAMED_MODE;
    return "file_mode";
}

/* lsm_option_at's table: filled once from named() and g_opts. */
static lsm_option_info g_info[N_NAMED];
static pthread_once_t g_info_once = PTHREAD_ONCE_INIT;

static void fill_info(void)
{
    for (int i = 0; i < N_NAMED; i++) {
        const struct opt_desc *d;
        int sp;
        g_info[i].name = named(i, &d, &sp);
        if (d) {
            g_info[i].help = d->help;
            g_info[i].runtime = d->runtime;
        } else if (sp == NAMED_STYLE) {
            g_info[i].help = "leveled or tiered";
            g_info[i].runtime = 1; /* check_runtime's special case */
        } else if (sp == NAMED_IMPL) {
            g_info[i].help = "skiplist, or vector (fast bulk loads, slow reads of the live "
                             "memtable)";
        } else {
            g_info[i].help = "octal permission bits of the files the engine creates (within "
                             "0666, at least 0600)";
        }
    }
}

const lsm_option_info *lsm_option_at(size_t i)
{
    pthread_once(&g_info_once, fill_info);
    return i < (size_t)N_NAMED ? &g_info[i] : NULL;
}

/* The option's index in the persisted list, or -1 for an unknown name. */
static int option_index(const char *name)
{
    const struct opt_desc *d;
    int sp;
    for (int i = 0; i < N_NAMED; i++)
        if (strcmp(named(i, &d, &sp), name) == 0)
            return i;
    return -1;
}

/* A double that reads back exactly: the shorter %.15g when it does. */
static void format_double(double v, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, cap, "%.17g", v);
}

static void format_named(const lsm_options *o, int i, char *buf, size_t cap)
{
    const struct opt_desc *d;
    int sp;
    named(i, &d, &sp);
    if (sp == NAMED_STYLE) {
        snprintf(buf, cap, "%s", o->compaction_style ? o->compaction_style : "leveled");
    } else if (sp == NAMED_IMPL) {
        snprintf(buf, cap, "%s", o->memtable_impl ? o->memtable_impl : "skiplist");
    } else if (sp == NAMED_MODE) {
        snprintf(buf, cap, "0%o", o->file_mode ? o->file_mode : IO_DEFAULT_FILE_MODE);
    } else {
        const char *p = (const char *)o + d->offset;
        switch (d->kind) {
        case OPT_SIZE: snprintf(buf, cap, "%zu", *(const size_t *)p); break;
        case OPT_INT: snprintf(buf, cap, "%d", *(const int *)p); break;
        case OPT_DOUBLE: format_double(*(const double *)p, buf, cap); break;
        default: snprintf(buf, cap, "%llu", (unsigned long long)*(const uint64_t *)p); break;
        }
    }
}

/* See db_impl.h. */
int db_options_text(const lsm_options *o, const char *name, char *buf, size_t cap)
{
    char v[64];
    size_t len = 0;
    if (name && *name) {
        int i = option_index(name);
        if (i < 0)
            return -EINVAL;
        format_named(o, i, v, sizeof v);
        len = strlen(v);
        if (len >= cap)
            return LSM_ETOOSMALL;
        memcpy(buf, v, len + 1);
        return (int)len;
    }
    for (int i = 0; i < N_NAMED; i++) {
        const struct opt_desc *d;
        int sp;
        const char *n = named(i, &d, &sp);
        format_named(o, i, v, sizeof v);
        char line[128];
        size_t w = (size_t)snprintf(line, sizeof line, "%s=%s\n", n, v);
        if (len + w < cap) /* room for it and the NUL */
            memcpy(buf + len, line, w + 1);
        len += w;
    }
    if (len >= cap)
        return LSM_ETOOSMALL;
    return (int)len;
}

/* Sets one option of *o from text (sizes take K/M/G) and checks its
 * range; pair rules are left to lsm_open.  Returns 0, -ENOENT (unknown
 * name) or -EINVAL (bad value, logged when out of range). */
static int option_parse(lsm_options *o, const char *name, const char *value)
{
    int i = option_index(name);
    if (i < 0)
        return -ENOENT;
    const struct opt_desc *d;
    int sp;
    named(i, &d, &sp);
    if (sp == NAMED_STYLE) {
        const compaction_picker *p = db_style_valid(value) ? compaction_picker_find(value) : NULL;
        if (!p)
            return reason_set(-EINVAL, "compaction_style: expected leveled or tiered");
        o->compaction_style = p->name; /* static */
        return 0;
    }
    if (sp == NAMED_IMPL) {
        const char *impl = memtable_impl_lookup(value);
        if (!impl)
            return reason_set(-EINVAL, "memtable_impl: expected skiplist or vector");
        o->memtable_impl = impl; /* static */
        return 0;
    }
    if (sp == NAMED_MODE) {
        char *end;
        errno = 0;
        unsigned long m = strtoul(value, &end, 8);
        if (!*value || *end || errno || m > 07777)
            return reason_set(-EINVAL, "file_mode: \"%.40s\" is not an octal mode", value);
        o->file_mode = (unsigned)m;
        return 0;
    }
    double v;
    if (parse_number(value, d->kind, &v) != 0)
        return bad_number(d, value);
    if (!in_range(d, v, false))
        return -EINVAL;
    set_value(o, d, v);
    return 0;
}

int lsm_options_get(const lsm_options *o, const char *name, char *buf, size_t cap)
{
    if (!o || (!buf && cap))
        return -EINVAL;
    return db_options_text(o, name, buf, cap);
}

int lsm_options_set(lsm_options *o, const char *name, const char *value)
{
    reason_clear();
    if (!o || !name || !value)
        return reason_set(-EINVAL, "lsm_options_set: a NULL argument");
    int rc = option_parse(o, name, value);
    if (rc == -ENOENT)
        return reason_set(-EINVAL, "no such option: %.80s", name);
    return rc;
}

int lsm_get_option(lsm_db *db, const char *name, char *buf, size_t cap)
{
    if (!db || (!buf && cap))
        return -EINVAL;
    pthread_mutex_lock(&db->mu);
    lsm_options o = db->opt;
    pthread_mutex_unlock(&db->mu);
    return db_options_text(&o, name, buf, cap);
}

/* See db_impl.h. */
int db_options_persist(lsm_db *db, const lsm_options *o, bool *renamed)
{
    char body[LSM_OPTIONS_TEXT_MAX];
    int n = db_options_text(o, NULL, body, sizeof body);
    if (n < 0)
        return n;
    return options_file_write(db->io, db->dir, body, (size_t)n, renamed);
}

struct load_ctx {
    const char *dir;
    lsm_options next;
    bool seen[N_NAMED];
};

/* One line of DIR/OPTIONS onto ctx->next (options_line_fn). */
static int load_line(void *arg, const char *name, const char *value, int line)
{
    struct load_ctx *x = arg;
    int i = option_index(name);
    if (i < 0) { /* a newer engine's option */
        log_warn("options: %s/OPTIONS line %d: unknown option \"%s\" skipped", x->dir, line,
                 name);
        return 0;
    }
    if (x->seen[i]) {
        log_error("options: %s/OPTIONS line %d: %s given twice", x->dir, line, name);
        return LSM_ECORRUPT;
    }
    x->seen[i] = true;
    if (option_parse(&x->next, name, value) != 0) {
        log_error("options: %s/OPTIONS line %d: bad value \"%s\" for %s: %s", x->dir, line,
                  value, name, reason_text());
        return -EINVAL;
    }
    return 0;
}

int lsm_options_load(const char *dir, lsm_options *o)
{
    if (!dir || !*dir || !o)
        return -EINVAL;
    struct load_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return -ENOMEM;
    x->dir = dir;
    x->next = *o;
    int rc = options_file_load(dir, load_line, x);
    if (rc == 0) {
        *o = x->next;
        log_info("options: loaded %s/OPTIONS", dir);
    }
    free(x);
    return rc;
}
