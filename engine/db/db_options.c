/*
 * db_options.c — checking options at open, changing them at run time
 * (lsm_set_option, which persists each change in DIR/OPTIONS first) and
 * reading them back (lsm_get_option).  The table of every option by name
 * is options_table.h's, so open-time checks, run-time parsing and the
 * OPTIONS file cannot drift apart.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_impl.h"
#include "base/log.h"
#include "db/options_file.h"
#include "db/options_table.h"
#include "table/block_cache.h"


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
      "writes would stop before the L0 compaction that lets them resume is due" },
    { "l0_compaction_trigger", "l0_slowdown_trigger", false, NULL,
      "writes would be slowed while L0 is too shallow to compact" },
    { "l0_slowdown_trigger", "l0_stop_trigger", false, NULL,
      "writes would stop before they are ever slowed" },
    { "tiered_min_merge", "tiered_max_runs", false, NULL,
      "a tiered merge would need more runs than the bound on runs allows" },
    /* Tiered merges by run count, not l0_compaction_trigger: a stop on L0
     * files must mean more runs than the bound, so a merge is due. */
    { "tiered_max_runs", "l0_stop_trigger", true, "tiered",
      "tiered: writes would stop on L0 files before the run bound makes a merge due" },
};

/* See db_impl.h. */
int db_check_option_rules(const lsm_options *o, const char *changed)
{
    for (size_t i = 0; i < sizeof g_pairs / sizeof g_pairs[0]; i++) {
        const struct opt_pair *p = &g_pairs[i];
        if (p->style && (!o->compaction_style || strcmp(p->style, o->compaction_style) != 0))
            continue;
        double lo = opt_get(o, opt_find(p->lo)), hi = opt_get(o, opt_find(p->hi));
        if (p->strict ? lo < hi : lo <= hi)
            continue;
        log_warn_limited("%s%s: option %s (%g) must be %s %s (%g): %s",
                         changed ? "lsm_set_option " : "lsm_open", changed ? changed : "",
                         p->lo, lo, p->strict ? "below" : "at most", p->hi, hi, p->why);
        return -EINVAL;
    }
    return 0;
}


int db_check_options(const lsm_options *o)
{
    for (size_t i = 0; i < OPT_TABLE_LEN; i++)
        if (!opt_in_range(&opt_table[i], opt_get(o, &opt_table[i]), false))
            return -EINVAL;
    if (o->compaction_style && !db_style_valid(o->compaction_style)) {
        log_error("option compaction_style = \"%s\": expected leveled or tiered",
                  o->compaction_style);
        return -EINVAL;
    }
    /* Owner read/write is needed by the engine itself; x, setuid and the
     * like have no business on data files. */
    if ((o->file_mode & 0600u) != 0600u || (o->file_mode & ~0666u) != 0) {
        log_error("option file_mode = 0%o: must include 0600 and lie within 0666",
                  o->file_mode);
        return -EINVAL;
    }
    if (memtable_impl_check(o->memtable_impl) != 0) {
        log_error("option memtable_impl = \"%s\": expected skiplist or vector",
                  o->memtable_impl ? o->memtable_impl : "(null)");
        return -EINVAL;
    }
    return db_check_option_rules(o, NULL);
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

/* Checks name = value as a run-time change; -EINVAL (logged) when it is
 * not one. */
static int check_runtime(const char *name, const char *value, const struct opt_desc **dp,
                         double *v)
{
    *dp = NULL;
    if (strcmp(name, "compaction_style") == 0) {
        if (!db_style_valid(value)) {
            log_warn_limited("lsm_set_option compaction_style: \"%s\" is not leveled or tiered",
                             value);
            return -EINVAL;
        }
        return 0;
    }
    const struct opt_desc *d = opt_find(name);
    if (!d) {
        log_warn_limited("lsm_set_option: unknown option \"%s\"", name);
        return -EINVAL;
    }
    if (!d->runtime) {
        log_warn_limited("lsm_set_option: %s can only be set at open", name);
        return -EINVAL;
    }
    if (opt_parse_number(value, d->kind, v) != 0) {
        log_warn_limited("lsm_set_option %s: \"%s\" is not a valid %s", name, value,
                         d->kind == OPT_DOUBLE ? "number" : "whole number");
        return -EINVAL;
    }
    if (!opt_in_range(d, *v, true))
        return -EINVAL;
    *dp = d;
    return 0;
}

int lsm_set_option(lsm_db *db, const char *name, const char *value)
{
    if (!db || !name || !value)
        return -EINVAL;
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
        opt_set(&next, d, v);
    else
        next.compaction_style = compaction_picker_find(value)->name;
    rc = db_check_option_rules(&next, name);
    pthread_mutex_unlock(&db->mu);
    /* Persisted before it applies: a failed write changes nothing, and a
     * crash between the two finds the new value, as if it had applied. */
    bool renamed = false;
    if (rc == 0)
        rc = options_file_write(db->io, db->dir, &next, &renamed);
    if (rc != 0 && renamed) {
        /* Only the directory sync failed, so OPTIONS holds next, which is
         * not in force: put the old options back (best effort). */
        pthread_mutex_lock(&db->mu);
        lsm_options old = db->opt;
        pthread_mutex_unlock(&db->mu);
        (void)options_file_write(db->io, db->dir, &old, NULL);
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

int lsm_get_option(lsm_db *db, const char *name, char *buf, size_t cap)
{
    if (!db || (!buf && cap))
        return -EINVAL;
    pthread_mutex_lock(&db->mu);
    lsm_options o = db->opt;
    pthread_mutex_unlock(&db->mu);
    return db_options_text(&o, name, buf, cap);
}
