/* reload.c — see reload.h. */
#include "reload.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "flags.h"

/* The last entry of name in opts (later entries win, as at start), or
 * NULL. */
static const config_engine_opt *last_opt(const config_engine_opt *opts, size_t n,
                                         const char *name)
{
    for (size_t i = n; i-- > 0;)
        if (strcmp(opts[i].name, name) == 0)
            return &opts[i];
    return NULL;
}

/* Applies the options of nc that differ from what oc last applied.  An
 * entry the engine refuses gets the old value back (NULL: none), so the
 * list keeps saying what is applied.  Returns how many were applied. */
static int apply_engine_opts(daemon_ctx *d, const daemon_config *oc, daemon_config *nc)
{
    int applied = 0;
    for (size_t i = 0; i < nc->n_engine_opts; i++) {
        config_engine_opt *o = &nc->engine_opts[i];
        if (last_opt(nc->engine_opts, nc->n_engine_opts, o->name) != o)
            continue; /* a later entry sets it */
        const config_engine_opt *was = last_opt(oc->engine_opts, oc->n_engine_opts, o->name);
        const char *old = was ? was->value : NULL;
        if (old && strcmp(old, o->value) == 0)
            continue;
        int rc = lsm_set_option(d->db, o->name, o->value);
        if (rc == 0) {
            log_info("reload: %s = %s (was %s)", o->name, o->value,
                     old ? old : "not in the configuration");
            applied++;
            continue;
        }
        log_error("reload: %s = %s refused: %s; keeps its value", o->name, o->value,
                  *lsm_last_error() ? lsm_last_error() : lsm_strerror(rc));
        free(o->value);
        o->value = old ? strdup(old) : NULL; /* NULL: compared as never applied */
    }
    for (size_t i = 0; i < oc->n_engine_opts; i++) {
        const config_engine_opt *o = &oc->engine_opts[i];
        if (o->value && last_opt(oc->engine_opts, oc->n_engine_opts, o->name) == o &&
            !last_opt(nc->engine_opts, nc->n_engine_opts, o->name))
            log_info("reload: %s is no longer in the configuration; it keeps its value "
                     "(%s) until a restart or lsmctl set", o->name, o->value);
    }
    return applied;
}

/* Keys read once at start: a change waits for a restart.  A new key that
 * is not a runtime engine option belongs in one of these tables. */
#define F(name, field) { name, offsetof(daemon_config, field), sizeof(((daemon_config *)0)->field) }
static const struct restart_key {
    const char *name;
    size_t off, size;
} k_scalars[] = {
    F("workers", workers), F("spin_us", spin_us),
    F("max_clients", max_clients), F("max_snapshots", max_snapshots),
    F("max_clients_per_uid", max_clients_per_uid),
    F("max_snapshots_per_uid", max_snapshots_per_uid),
    F("max_iters_per_uid", max_iters_per_uid),
    F("max_arena_bytes_per_uid", max_arena_bytes_per_uid), F("max_pending", max_pending),
    F("max_pending_per_uid", max_pending_per_uid), F("hello_timeout_ms", hello_timeout_ms),
    F("max_request_bytes", max_request_bytes),
    F("create_if_missing", engine.create_if_missing),
    F("error_if_exists", engine.error_if_exists),
}, k_strings[] = {
    F("dir", dir), F("socket", socket_path), F("io", io), F("socket_group", socket_group),
};
#undef F

static bool str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

static bool ids_differ(const unsigned *a, size_t na, const unsigned *b, size_t nb)
{
    return na != nb || (na && memcmp(a, b, na * sizeof *a) != 0);
}

static void restart_changed(const char *name, int *n)
{
    log_warn("reload: %s changed in the configuration; it takes effect at the next restart",
             name);
    (*n)++;
}

/* Logs every changed key that a reload cannot apply; returns how many. */
static int report_restart_keys(const daemon_config *oc, const daemon_config *nc)
{
    int n = 0;
    for (size_t i = 0; i < sizeof k_scalars / sizeof *k_scalars; i++) {
        const struct restart_key *k = &k_scalars[i];
        if (memcmp((const char *)oc + k->off, (const char *)nc + k->off, k->size) != 0)
            restart_changed(k->name, &n);
    }
    /* The engine's open-time options (its runtime ones are engine_opts). */
    const lsm_option_info *o;
    for (size_t i = 0; (o = lsm_option_at(i)) != NULL; i++) {
        char was[64], now[64];
        if (!o->runtime && lsm_options_get(&oc->engine, o->name, was, sizeof was) >= 0 &&
            lsm_options_get(&nc->engine, o->name, now, sizeof now) >= 0 && strcmp(was, now))
            restart_changed(o->name, &n);
    }
    if (oc->numa != nc->numa || oc->numa_node != nc->numa_node)
        restart_changed("numa", &n);
    if (oc->metrics_on != nc->metrics_on ||
        (nc->metrics_on && (oc->metrics_addr.len != nc->metrics_addr.len ||
                            memcmp(&oc->metrics_addr.ss, &nc->metrics_addr.ss,
                                   nc->metrics_addr.len) != 0)))
        restart_changed("metrics_listen", &n);
    for (size_t i = 0; i < sizeof k_strings / sizeof *k_strings; i++) {
        const struct restart_key *k = &k_strings[i];
        if (str_differs(*(char *const *)((const char *)oc + k->off),
                        *(char *const *)((const char *)nc + k->off)))
            restart_changed(k->name, &n);
    }
    if (ids_differ(oc->allow_uids, oc->n_allow_uids, nc->allow_uids, nc->n_allow_uids))
        restart_changed("allow_uids", &n);
    if (ids_differ(oc->allow_gids, oc->n_allow_gids, nc->allow_gids, nc->n_allow_gids))
        restart_changed("allow_gids", &n);
    if (ids_differ(oc->admin_uids, oc->n_admin_uids, nc->admin_uids, nc->n_admin_uids))
        restart_changed("admin_uids", &n);
    if (ids_differ(oc->admin_gids, oc->n_admin_gids, nc->admin_gids, nc->n_admin_gids))
        restart_changed("admin_gids", &n);
    return n;
}

int reload_run(daemon_ctx *d, int argc, char **argv)
{
    daemon_config *oc = d->cfg;
    int rc = lsm_log_reopen();
    if (rc)
        log_error("reload: cannot reopen the log file %s: %s; still writing to the old one",
                  lsm_log_file(), strerror(-rc));
    else if (lsm_log_file())
        log_info("reload: log file %s reopened", lsm_log_file());
    daemon_config nc;
    config_init(&nc);
    rc = flags_parse(&nc, argc, argv);
    if (rc == 0)
        rc = config_finish(&nc);
    if (rc) {
        log_error("reload: the configuration%s%s cannot be read (see above); the running "
                  "one is kept", oc->config_path ? " in " : "",
                  oc->config_path ? oc->config_path : "");
        config_free(&nc);
        return rc == -ENOMEM ? rc : -EINVAL;
    }
    static const char *const levels[] = { "error", "warn", "info", "debug" };
    if (nc.log_level != oc->log_level)
        log_info("reload: log_level = %s (was %s)",
                 nc.log_level >= 0 ? levels[nc.log_level] : "LSMD_LOG_LEVEL or info",
                 oc->log_level >= 0 ? levels[oc->log_level] : "LSMD_LOG_LEVEL or info");
    config_apply_logging(&nc); /* logs its own failure; the rest still applies */
    int applied = apply_engine_opts(d, oc, &nc);
    int waiting = report_restart_keys(oc, &nc);

    /* Keep what now applies: swap the main-thread fields (config.h). */
    config_engine_opt *opts = oc->engine_opts;
    size_t nopts = oc->n_engine_opts;
    oc->engine_opts = nc.engine_opts;
    oc->n_engine_opts = nc.n_engine_opts;
    nc.engine_opts = opts;
    nc.n_engine_opts = nopts;
    oc->log_level = nc.log_level;
    char *s = oc->log_file;
    oc->log_file = nc.log_file;
    nc.log_file = s;
    config_free(&nc);
    log_info("reload: done (%s; %d engine options changed, %d keys wait for a restart)",
             oc->config_path ? oc->config_path : "no config file", applied, waiting);
    return 0;
}
