/*
 * db_options.c — checking options at open and changing them at run time
 * (lsm_set_option).  One table describes every numeric option: its name,
 * where it lives in lsm_options, its range and whether it may change at run
 * time, so open-time checks and run-time parsing cannot drift apart.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "db_impl.h"
#include "log.h"

enum opt_kind { OPT_SIZE, OPT_INT, OPT_DOUBLE, OPT_U64 };

struct opt_desc {
    const char *name;
    enum opt_kind kind;
    size_t offset;
    double min, max;
    bool runtime;
};

#define OPT(name, kind, min, max, rt) { #name, kind, offsetof(lsm_options, name), min, max, rt }

static const struct opt_desc g_opts[] = {
    OPT(memtable_bytes, OPT_SIZE, 4096, 1099511627776.0, true),
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
    OPT(periodic_compaction_seconds, OPT_U64, 0, 1e12, true),
    OPT(block_cache_bytes, OPT_SIZE, 0, 1099511627776.0 * 16, true),
    OPT(max_open_files, OPT_INT, 10, 1000000, false),
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

static int in_range(const struct opt_desc *d, double v)
{
    if (!(v >= d->min && v <= d->max)) {
        log_error("option %s = %g is outside [%g, %g]", d->name, v, d->min, d->max);
        return 0;
    }
    return 1;
}

int db_style_valid(const char *s)
{
    return s && (strcmp(s, "leveled") == 0 || strcmp(s, "tiered") == 0);
}

int db_check_options(const lsm_options *o)
{
    for (size_t i = 0; i < sizeof g_opts / sizeof g_opts[0]; i++)
        if (!in_range(&g_opts[i], get_value(o, &g_opts[i])))
            return -EINVAL;
    if (o->compaction_style && !db_style_valid(o->compaction_style)) {
        log_error("option compaction_style = \"%s\": expected leveled or tiered",
                  o->compaction_style);
        return -EINVAL;
    }
    if (memtable_impl_check(o->memtable_impl) != 0) {
        log_error("option memtable_impl = \"%s\": expected skiplist or vector",
                  o->memtable_impl ? o->memtable_impl : "(null)");
        return -EINVAL;
    }
    if (o->l0_stop_trigger < o->l0_slowdown_trigger) {
        log_error("option l0_stop_trigger (%d) is below l0_slowdown_trigger (%d)",
                  o->l0_stop_trigger, o->l0_slowdown_trigger);
        return -EINVAL;
    }
    return 0;
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

int lsm_set_option(lsm_db *db, const char *name, const char *value)
{
    if (!db || !name || !value)
        return -EINVAL;
    if (strcmp(name, "compaction_style") == 0) {
        if (!db_style_valid(value)) {
            log_error("lsm_set_option compaction_style: \"%s\" is not leveled or tiered", value);
            return -EINVAL;
        }
        return db_set_compaction_style(db, value);
    }
    const struct opt_desc *d = find_opt(name);
    if (!d) {
        log_error("lsm_set_option: unknown option \"%s\"", name);
        return -EINVAL;
    }
    if (!d->runtime) {
        log_error("lsm_set_option: %s can only be set at open", name);
        return -EINVAL;
    }
    double v;
    if (parse_number(value, d->kind, &v) != 0) {
        log_error("lsm_set_option %s: \"%s\" is not a valid %s", name, value,
                  d->kind == OPT_DOUBLE ? "number" : "whole number");
        return -EINVAL;
    }
    if (!in_range(d, v))
        return -EINVAL;
    pthread_mutex_lock(&db->mu);
    lsm_options next = db->opt;
    set_value(&next, d, v);
    if (next.l0_stop_trigger < next.l0_slowdown_trigger) {
        pthread_mutex_unlock(&db->mu);
        log_error("lsm_set_option %s: l0_stop_trigger would fall below l0_slowdown_trigger", name);
        return -EINVAL;
    }
    set_value(&db->opt, d, v);
    pthread_mutex_unlock(&db->mu);
    log_info("option %s set to %s", name, value);
    db_options_changed(db);
    return 0;
}
