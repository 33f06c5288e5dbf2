/* options_table.c — see options_table.h. */
#include "db/options_table.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "compaction/compaction_picker.h"
#include "db/db_impl.h"
#include "io/io.h"
#include "memtable/memtable.h"

#define OPT(name, kind, min, max, rt) { #name, kind, offsetof(lsm_options, name), min, max, rt, 0 }

const struct opt_desc opt_table[] = {
    /* A running database is not shrunk below LSM_MIN_RUNTIME_MEMTABLE_BYTES:
     * a request could otherwise make every few writes create a WAL, a
     * table and a MANIFEST edit.  Tests and embedders may still open with
     * tiny memtables on purpose (many flushes). */
    { "memtable_bytes", OPT_SIZE, offsetof(lsm_options, memtable_bytes), 4096,
      1099511627776.0, true, LSM_MIN_RUNTIME_MEMTABLE_BYTES },
    OPT(max_immutable_memtables, OPT_INT, 1, DB_MAX_IMM, false),
    OPT(block_bytes, OPT_SIZE, 64, 64 << 20, false),
    OPT(block_restart_interval, OPT_INT, 1, 1024, false),
    OPT(bloom_bits_per_key, OPT_INT, 0, 64, false),
    OPT(sstable_target_bytes, OPT_SIZE, 4096, 1099511627776.0, true),
    OPT(l0_compaction_trigger, OPT_INT, 1, 1000, true),
    OPT(l0_slowdown_trigger, OPT_INT, 1, 10000, true),
    OPT(l0_stop_trigger, OPT_INT, 1, 10000, true),
    OPT(delayed_write_rate, OPT_SIZE, 0, 1099511627776.0, true),
    OPT(level_size_ratio, OPT_DOUBLE, 1.5, 1000, true),
    OPT(level_base_bytes, OPT_SIZE, 4096, 1099511627776.0, true),
    OPT(tiered_size_ratio, OPT_DOUBLE, 0, 100, true),
    OPT(tiered_min_merge, OPT_INT, 2, 1000, true),
    OPT(tiered_max_runs, OPT_INT, 2, 1000, true),
    OPT(tiered_max_space_amp, OPT_DOUBLE, 0.1, 1000, true),
    OPT(compaction_threads, OPT_INT, 1, DB_MAX_COMPACTION_THREADS, true),
    OPT(compaction_rate_mb, OPT_INT, 0, 1000000, true),
    OPT(max_subcompactions, OPT_INT, 1, 16, true),
    OPT(compaction_readahead_bytes, OPT_SIZE, 0, 1 << 30, true),
    OPT(periodic_compaction_seconds, OPT_U64, 0, 1e12, true),
    OPT(block_cache_bytes, OPT_SIZE, 0, 1099511627776.0 * 16, true),
    OPT(max_open_files, OPT_INT, 10, 1000000, false),
    OPT(use_direct_io, OPT_INT, 0, 1, false),
};

/* See options_table.h. */
const struct opt_desc *opt_find(const char *name)
{
    for (size_t i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++)
        if (strcmp(opt_table[i].name, name) == 0)
            return &opt_table[i];
    return NULL;
}

/* See options_table.h. */
double opt_get(const lsm_options *o, const struct opt_desc *d)
{
    const char *p = (const char *)o + d->offset;
    switch (d->kind) {
    case OPT_SIZE: return (double)*(const size_t *)p;
    case OPT_INT: return *(const int *)p;
    case OPT_DOUBLE: return *(const double *)p;
    default: return (double)*(const uint64_t *)p;
    }
}

/* See options_table.h. */
void opt_set(lsm_options *o, const struct opt_desc *d, double v)
{
    char *p = (char *)o + d->offset;
    switch (d->kind) {
    case OPT_SIZE: *(size_t *)p = (size_t)v; break;
    case OPT_INT: *(int *)p = (int)v; break;
    case OPT_DOUBLE: *(double *)p = v; break;
    default: *(uint64_t *)p = (uint64_t)v; break;
    }
}

/* See options_table.h. */
int opt_in_range(const struct opt_desc *d, double v, bool runtime)
{
    double min = runtime && d->runtime_min > d->min ? d->runtime_min : d->min;
    if (!(v >= min && v <= d->max)) {
        log_warn_limited("option %s = %g is outside [%g, %g]%s", d->name, v, min, d->max,
                         runtime && min != d->min ? " at run time" : "");
        return 0;
    }
    return 1;
}

int db_style_valid(const char *s)
{
    return s && (strcmp(s, "leveled") == 0 || strcmp(s, "tiered") == 0);
}

/* Parses a whole number or decimal with an optional K/M/G suffix (powers of
 * 1024), as in "64M".  Returns 0 or -EINVAL. */
/* See options_table.h. */
int opt_parse_number(const char *s, enum opt_kind kind, double *out)
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

/* ---- options by name: lsm_get_option, the OPTIONS file ------------------ */

/* Every persisted option, in the order lsm_get_option lists them and the
 * OPTIONS file holds them: the two style strings, opt_table' rows, file_mode.
 * Not persisted: create_if_missing and error_if_exists (how to open, not
 * what the database is), io_backend and io (the machine's, not the
 * data's). */
enum { NAMED_STYLE = -1, NAMED_IMPL = -2, NAMED_MODE = -3 };

#define N_OPTS OPT_TABLE_LEN
#define N_NAMED ((int)N_OPTS + 3)
_Static_assert(N_NAMED <= DB_OPTIONS_COUNT, "raise DB_OPTIONS_COUNT");

/* The i-th persisted option: its name and opt_table row (NULL for the three
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
        *d = &opt_table[i - 2];
        return (*d)->name;
    }
    *special = NAMED_MODE;
    return "file_mode";
}

/* See db_impl.h. */
int db_option_index(const char *name)
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
        int i = db_option_index(name);
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
        int w = snprintf(buf + len, cap > len ? cap - len : 0, "%s=%s\n", n, v);
        len += (size_t)w;
    }
    if (len >= cap)
        return LSM_ETOOSMALL;
    return (int)len;
}

/* See db_impl.h. */
int db_option_parse(lsm_options *o, const char *name, const char *value)
{
    int i = db_option_index(name);
    if (i < 0)
        return -ENOENT;
    const struct opt_desc *d;
    int sp;
    named(i, &d, &sp);
    if (sp == NAMED_STYLE) {
        const compaction_picker *p = db_style_valid(value) ? compaction_picker_find(value) : NULL;
        if (!p)
            return -EINVAL;
        o->compaction_style = p->name; /* static */
        return 0;
    }
    if (sp == NAMED_IMPL) {
        const char *impl = memtable_impl_lookup(value);
        if (!impl)
            return -EINVAL;
        o->memtable_impl = impl; /* static */
        return 0;
    }
    if (sp == NAMED_MODE) {
        char *end;
        errno = 0;
        unsigned long m = strtoul(value, &end, 8);
        if (!*value || *end || errno || m > 07777)
            return -EINVAL;
        o->file_mode = (unsigned)m;
        return 0;
    }
    double v;
    if (opt_parse_number(value, d->kind, &v) != 0 || !opt_in_range(d, v, false))
        return -EINVAL;
    opt_set(o, d, v);
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
    if (!o || !name || !value)
        return -EINVAL;
    int rc = db_option_parse(o, name, value);
    if (rc == -ENOENT) {
        log_warn_limited("lsm_options_set: unknown option \"%s\"", name);
        return -EINVAL;
    }
    if (rc)
        log_warn_limited("lsm_options_set %s: \"%s\" is not a valid value", name, value);
    return rc;
}


_Static_assert(sizeof opt_table / sizeof opt_table[0] == OPT_TABLE_LEN, "OPT_TABLE_LEN");
