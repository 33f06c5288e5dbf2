/* config.c — see config.h. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "numa_cpus.h"
#include "protocol.h"
#include "validate.h"

/* Runtime options the engine takes through lsm_set_option (engine/lsm.h). */
static const char *const k_runtime_opts[] = {
    "l0_compaction_trigger", "level_size_ratio", "tiered_size_ratio",
    "tiered_min_merge", "block_cache_bytes", "compaction_threads",
    "compaction_rate_mb", "periodic_compaction_seconds", "delayed_write_rate",
    "max_subcompactions", "compaction_readahead_bytes",
};

void config_init(daemon_config *c)
{
    memset(c, 0, sizeof *c);
    c->log_level = -1;
    c->numa = NUMA_MODE_AUTO;
    c->numa_node = -1;
    c->spin_us = 50;
    c->max_clients = 256;
    c->max_snapshots = 4096;
    c->max_iters_per_uid = 1024;
    c->max_arena_bytes_per_uid = 4ull << 30;
    c->max_pending = 64;
    c->max_pending_per_uid = 16;
    c->hello_timeout_ms = 1000;
    c->max_request_bytes = LSMD_DEFAULT_MAX_REQUEST_BYTES;
    lsm_options_init(&c->engine);
    c->engine.io_backend = NULL; /* NULL: let LSMD_IO decide, as "auto" */
}

/* "2M" -> 2097152.  Returns -EINVAL on junk or overflow. */
static int parse_size(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -EINVAL;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s)
        return -EINVAL;
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: break;
    }
    if (*end == 'i' || *end == 'I') /* accept "KiB"-ish spellings: Ki, MiB */
        end++;
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end || (shift && v > (ULLONG_MAX >> shift)))
        return -EINVAL;
    v <<= shift;
    if (v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* A non-negative integer in [lo, hi] (suffixes allowed, as sizes). */
static int parse_int(const char *s, long lo, long hi, long *out)
{
    unsigned long long v;
    if (parse_size(s, (unsigned long long)hi, &v) || (long)v < lo)
        return -EINVAL;
    *out = (long)v;
    return 0;
}

static int set_str(char **dst, const char *v)
{
    char *s = strdup(v);
    if (!s)
        return -ENOMEM;
    free(*dst);
    *dst = s;
    return 0;
}

/* "1000, 1001" -> array; both uid_t and gid_t are unsigned 32-bit here. */
static int parse_id_list(const char *v, unsigned **arr, size_t *n)
{
    unsigned *out = NULL;
    size_t cnt = 0;
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (!*p)
            break;
        char *end;
        errno = 0;
        unsigned long id = strtoul(p, &end, 10);
        if (errno || end == p || id >= UINT_MAX) {
            free(out);
            return -EINVAL;
        }
        unsigned *grown = realloc(out, (cnt + 1) * sizeof *out);
        if (!grown) {
            free(out);
            return -ENOMEM;
        }
        out = grown;
        out[cnt++] = (unsigned)id;
        p = end;
        if (*p && *p != ',' && *p != ' ' && *p != '\t') {
            free(out);
            return -EINVAL;
        }
    }
    free(*arr);
    *arr = out;
    *n = cnt;
    return 0;
}

static int add_engine_opt(daemon_config *c, const char *name, const char *value)
{
    config_engine_opt *g = realloc(c->engine_opts, (c->n_engine_opts + 1) * sizeof *g);
    if (!g)
        return -ENOMEM;
    c->engine_opts = g;
    config_engine_opt *o = &g[c->n_engine_opts];
    o->name = strdup(name);
    o->value = strdup(value);
    if (!o->name || !o->value) {
        free(o->name);
        free(o->value);
        return -ENOMEM;
    }
    c->n_engine_opts++;
    return 0;
}

/* Stored, not applied: config_apply_logging applies it once the whole
 * file and command line parsed, so a reload that fails half-way changes
 * nothing. */
static int set_log_level(daemon_config *c, const char *v)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    for (int i = 0; i < 4; i++)
        if (strcmp(v, names[i]) == 0) {
            c->log_level = i;
            return 0;
        }
    return -EINVAL;
}

/* "0640" (always octal, as chmod reads it) -> 0640.  The engine's rule
 * (owner rw, nothing outside 0666) is checked here too, so a bad file is
 * refused with the key's name before the engine starts. */
static int parse_file_mode(const char *v, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long m = strtoul(v, &end, 8);
    if (!*v || *v == '-' || errno || *end || (m & 0600u) != 0600u || (m & ~0666ul) != 0)
        return -EINVAL;
    *out = (unsigned)m;
    return 0;
}

/* 1/0, true/false, yes/no, on/off. */
static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = { "1", "true", "yes", "on" };
    static const char *const no[] = { "0", "false", "no", "off" };
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -EINVAL;
}

/* Records an open-time engine key as given (start_options.h). */
static void mark_given(daemon_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_engine_given; i++)
        if (strcmp(c->engine_given[i], name) == 0)
            return;
    if (c->n_engine_given < sizeof c->engine_given / sizeof *c->engine_given)
        c->engine_given[c->n_engine_given++] = name;
}

/* metrics_listen: parsed now, so a bad address stops start-up with the
 * reason, before anything is opened. */
static int set_metrics_listen(daemon_config *c, const char *v)
{
    if (!*v || strcmp(v, "off") == 0) {
        c->metrics_on = false;
        return 0;
    }
    const char *why;
    listen_addr a;
    if (listen_addr_parse(v, &a, &why) != 0) {
        log_error("config: metrics_listen '%s': %s", v, why);
        return -EINVAL;
    }
    c->metrics_addr = a;
    c->metrics_on = true;
    return 0;
}

/* Keys that are switches: on the command line they may stand alone. */
static const char *const k_bool_keys[] = { "use_direct_io" };

bool config_key_is_switch(const char *key)
{
    char k[64];
    size_t len = strlen(key);
    if (len >= sizeof k)
        return false;
    for (size_t i = 0; i <= len; i++)
        k[i] = key[i] == '-' ? '_' : key[i];
    for (size_t i = 0; i < sizeof k_bool_keys / sizeof *k_bool_keys; i++)
        if (strcmp(k, k_bool_keys[i]) == 0)
            return true;
    return false;
}

static int set_known(daemon_config *c, const char *k, const char *v)
{
    long n;
    unsigned long long sz;
    if (strcmp(k, "dir") == 0)
        return *v ? set_str(&c->dir, v) : -EINVAL;
    if (strcmp(k, "socket") == 0)
        return *v ? set_str(&c->socket_path, v) : -EINVAL;
    if (strcmp(k, "workers") == 0) {
        if (parse_int(v, 0, 1024, &n))
            return -EINVAL;
        c->workers = (int)n;
        return 0;
    }
    if (strcmp(k, "numa") == 0) {
        if (strcmp(v, "off") == 0) {
            c->numa = NUMA_MODE_OFF;
        } else if (strcmp(v, "auto") == 0) {
            c->log_level = -1;
    c->numa = NUMA_MODE_AUTO;
        } else {
            if (parse_int(v, 0, 4095, &n))
                return -EINVAL;
            c->numa = NUMA_MODE_NODE;
            c->numa_node = (int)n;
        }
        return 0;
    }
    if (strcmp(k, "compaction") == 0 || strcmp(k, "compaction_style") == 0) {
        if (strcmp(v, "leveled") != 0 && strcmp(v, "tiered") != 0)
            return -EINVAL;
        return add_engine_opt(c, "compaction_style", v);
    }
    if (strcmp(k, "io") == 0) {
        if (strcmp(v, "auto") && strcmp(v, "uring") && strcmp(v, "posix"))
            return -EINVAL;
        int rc = set_str(&c->io, v);
        /* "auto" leaves io_backend NULL so LSMD_IO still overrides it. */
        c->engine.io_backend = (rc == 0 && strcmp(v, "auto") != 0) ? c->io : NULL;
        return rc;
    }
    if (strcmp(k, "spin_us") == 0) {
        if (parse_int(v, 0, 1000000, &n))
            return -EINVAL;
        c->spin_us = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "max_clients") == 0) {
        if (parse_int(v, 1, 65536, &n))
            return -EINVAL;
        c->max_clients = (int)n;
        return 0;
    }
    /* limits and per-uid quotas */
    if (strcmp(k, "max_snapshots") == 0) {
        if (parse_int(v, 1, SHM_DIR_MAX_CAPACITY, &n))
            return -EINVAL;
        c->max_snapshots = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "max_clients_per_uid") == 0) {
        if (parse_int(v, 1, 65536, &n))
            return -EINVAL;
        c->max_clients_per_uid = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "max_snapshots_per_uid") == 0) {
        if (parse_int(v, 1, 1L << 30, &n))
            return -EINVAL;
        c->max_snapshots_per_uid = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "max_iters_per_uid") == 0) {
        if (parse_int(v, 1, 1L << 30, &n))
            return -EINVAL;
        c->max_iters_per_uid = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "max_arena_bytes_per_uid") == 0) {
        if (parse_size(v, 1ull << 50, &sz) || sz == 0)
            return -EINVAL;
        c->max_arena_bytes_per_uid = sz;
        return 0;
    }
    if (strcmp(k, "max_request_bytes") == 0) {
        if (parse_size(v, SHM_MAX_BATCH_BYTES, &sz) || sz < 4096)
            return -EINVAL;
        c->max_request_bytes = (size_t)sz;
        return 0;
    }
    if (strcmp(k, "allow_uids") == 0)
        return parse_id_list(v, (unsigned **)&c->allow_uids, &c->n_allow_uids);
    if (strcmp(k, "allow_gids") == 0)
        return parse_id_list(v, (unsigned **)&c->allow_gids, &c->n_allow_gids);
    if (strcmp(k, "admin_uids") == 0)
        return parse_id_list(v, (unsigned **)&c->admin_uids, &c->n_admin_uids);
    if (strcmp(k, "admin_gids") == 0)
        return parse_id_list(v, (unsigned **)&c->admin_gids, &c->n_admin_gids);
    if (strcmp(k, "log_level") == 0)
        return set_log_level(c, v);
    if (strcmp(k, "log_file") == 0) /* "" = stderr, e.g. to undo the file's */
        return *v ? set_str(&c->log_file, v) : (free(c->log_file), c->log_file = NULL, 0);
    /* admission */
    if (strcmp(k, "socket_group") == 0)
        return *v ? set_str(&c->socket_group, v) : -EINVAL;
    if (strcmp(k, "max_pending") == 0 || strcmp(k, "max_pending_per_uid") == 0) {
        if (parse_int(v, 1, 65536, &n))
            return -EINVAL;
        if (strcmp(k, "max_pending") == 0)
            c->max_pending = (int)n;
        else
            c->max_pending_per_uid = (int)n;
        return 0;
    }
    if (strcmp(k, "hello_timeout_ms") == 0) {
        if (parse_int(v, 10, 60000, &n))
            return -EINVAL;
        c->hello_timeout_ms = (int)n;
        return 0;
    }
    if (strcmp(k, "file_mode") == 0) {
        mark_given(c, "file_mode");
        return parse_file_mode(v, &c->engine.file_mode);
    }
    /* lsm_options fields; the engine checks ranges at lsm_open. */
    if (strcmp(k, "memtable_bytes") == 0) {
        mark_given(c, "memtable_bytes");
        if (parse_size(v, SIZE_MAX, &sz))
            return -EINVAL;
        c->engine.memtable_bytes = (size_t)sz;
        return 0;
    }
    if (strcmp(k, "block_bytes") == 0) {
        mark_given(c, "block_bytes");
        if (parse_size(v, SIZE_MAX, &sz))
            return -EINVAL;
        c->engine.block_bytes = (size_t)sz;
        return 0;
    }
    if (strcmp(k, "sstable_target_bytes") == 0) {
        mark_given(c, "sstable_target_bytes");
        if (parse_size(v, SIZE_MAX, &sz))
            return -EINVAL;
        c->engine.sstable_target_bytes = (size_t)sz;
        return 0;
    }
    if (strcmp(k, "max_immutable_memtables") == 0) {
        mark_given(c, "max_immutable_memtables");
        if (parse_int(v, 0, INT_MAX, &n))
            return -EINVAL;
        c->engine.max_immutable_memtables = (int)n;
        return 0;
    }
    if (strcmp(k, "block_restart_interval") == 0) {
        mark_given(c, "block_restart_interval");
        if (parse_int(v, 0, INT_MAX, &n))
            return -EINVAL;
        c->engine.block_restart_interval = (int)n;
        return 0;
    }
    if (strcmp(k, "bloom_bits_per_key") == 0) {
        mark_given(c, "bloom_bits_per_key");
        if (parse_int(v, 0, INT_MAX, &n))
            return -EINVAL;
        c->engine.bloom_bits_per_key = (int)n;
        return 0;
    }
    if (strcmp(k, "use_direct_io") == 0) { /* open-time only */
        mark_given(c, "use_direct_io");
        return parse_bool(v, &c->engine.use_direct_io);
    }
    /* Change-feed history: needed at lsm_open already, which would delete
     * the WALs a runtime set after it comes too late for (lsmctl set
     * changes them later).  Given here, they win over DIR/OPTIONS. */
    if (strcmp(k, "wal_retention_seconds") == 0) {
        if (parse_size(v, 1000000000000ull, &sz))
            return -EINVAL;
        c->engine.wal_retention_seconds = sz;
        mark_given(c, "wal_retention_seconds");
        return 0;
    }
    if (strcmp(k, "wal_retention_bytes") == 0) {
        if (parse_size(v, SIZE_MAX, &sz))
            return -EINVAL;
        c->engine.wal_retention_bytes = (size_t)sz;
        mark_given(c, "wal_retention_bytes");
        return 0;
    }
    if (strcmp(k, "metrics_listen") == 0)
        return set_metrics_listen(c, v);
    for (size_t i = 0; i < sizeof k_runtime_opts / sizeof *k_runtime_opts; i++)
        if (strcmp(k, k_runtime_opts[i]) == 0)
            return add_engine_opt(c, k, v);
    return -ENOENT;
}

int config_set(daemon_config *c, const char *key, const char *value)
{
    char k[64];
    size_t len = strlen(key);
    if (len >= sizeof k) {
        log_error("config: unknown key '%s'", key);
        return -EINVAL;
    }
    for (size_t i = 0; i <= len; i++)
        k[i] = key[i] == '-' ? '_' : key[i];
    int rc = set_known(c, k, value ? value : "");
    if (rc == -ENOENT) {
        log_error("config: unknown key '%s'", key);
        return -EINVAL;
    }
    if (rc == -EINVAL)
        log_error("config: bad value '%s' for '%s'", value ? value : "", key);
    return rc;
}

struct ini_ctx {
    daemon_config *c;
    int err;
};

/* libinih handler: returns nonzero to continue. */
static int on_ini_line(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *x = user;
    int rc;
    if (strcmp(section, "engine") == 0 && config_key_is_switch(name))
        rc = config_set(x->c, name, value); /* open-time: not for lsm_set_option */
    else if (strcmp(section, "engine") == 0)
        rc = add_engine_opt(x->c, name, value);
    else if (section[0] == '\0' || strcmp(section, "lsmd") == 0)
        rc = config_set(x->c, name, value);
    else {
        log_error("config: unknown section [%s]", section);
        rc = -EINVAL;
    }
    if (rc && !x->err)
        x->err = rc;
    return rc == 0;
}

int config_load_file(daemon_config *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        log_error("config: cannot open %s: %s", path, strerror(e));
        return -e;
    }
    if (set_str(&c->config_path, path) != 0) {
        fclose(f);
        return -ENOMEM;
    }
    struct ini_ctx x = { c, 0 };
    int line = ini_parse_file(f, on_ini_line, &x);
    fclose(f);
    if (line != 0) {
        log_error("config: %s: error on line %d", path, line);
        return x.err ? x.err : -EINVAL;
    }
    return x.err;
}

int config_apply_logging(const daemon_config *c)
{
    if (c->log_level >= 0)
        lsm_log_set_level((enum lsm_log_level)c->log_level);
    else
        lsm_log_reset_level();
    const char *cur = lsm_log_file();
    if ((cur == NULL) == (c->log_file == NULL) && (!cur || strcmp(cur, c->log_file) == 0))
        return 0;
    int rc = lsm_log_set_file(c->log_file);
    if (rc)
        log_error("config: cannot open the log file %s: %s", c->log_file, strerror(-rc));
    return rc;
}

char *config_default_socket(char **dir_to_make)
{
    char *p = NULL;
    *dir_to_make = NULL;
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg)
        return asprintf(&p, "%s/lsmd.sock", xdg) < 0 ? NULL : p;
    if (asprintf(dir_to_make, "/tmp/lsmd-%u", (unsigned)getuid()) < 0) {
        *dir_to_make = NULL;
        return NULL;
    }
    if (asprintf(&p, "%s/lsmd.sock", *dir_to_make) < 0) {
        free(*dir_to_make);
        *dir_to_make = NULL;
        return NULL;
    }
    return p;
}

/* mkdir 0700, or accept an existing directory we own with no group/other
 * access (someone else's /tmp/lsmd-UID would let them swap our socket). */
static int make_private_dir(const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        log_error("cannot create %s: %s", dir, strerror(e));
        return -e;
    }
    struct stat st;
    if (lstat(dir, &st) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077)) {
        log_error("%s must be a directory owned by uid %u with mode 0700",
                  dir, (unsigned)getuid());
        return -EPERM;
    }
    return 0;
}

/* socket_group (a name or a number), else the first allowed gid. */
static int finish_socket_group(daemon_config *c)
{
    c->socket_gid_set = false;
    if (c->socket_group) {
        char *end;
        errno = 0;
        unsigned long id = strtoul(c->socket_group, &end, 10);
        struct group *g = NULL;
        if (*end || end == c->socket_group) {
            g = getgrnam(c->socket_group);
            if (!g) {
                log_error("config: socket_group '%s' names no group", c->socket_group);
                return -EINVAL;
            }
            id = g->gr_gid;
        } else if (errno || id >= UINT_MAX) {
            log_error("config: bad socket_group '%s'", c->socket_group);
            return -EINVAL;
        }
        c->socket_gid = (gid_t)id;
        c->socket_gid_set = true;
    } else if (c->n_allow_gids > 0) {
        c->socket_gid = c->allow_gids[0];
        c->socket_gid_set = true;
    }
    bool others = false;
    for (size_t i = 0; i < c->n_allow_uids; i++)
        others |= c->allow_uids[i] != geteuid();
    if (others && !c->socket_gid_set)
        log_warn("config: allow_uids lists other uids, but the socket is 0600 (only our uid "
                 "can connect): set socket_group to a group those uids are in");
    return 0;
}

int config_finish(daemon_config *c)
{
    if (!c->dir) {
        log_error("lsmd: --dir DIR is required");
        return -EINVAL;
    }
    if (!c->socket_path) {
        char *dir;
        c->socket_path = config_default_socket(&dir);
        if (!c->socket_path)
            return -ENOMEM;
        int rc = dir ? make_private_dir(dir) : 0;
        free(dir);
        if (rc)
            return rc;
    }
    if (c->workers == 0)
        c->workers = numa_default_workers(c->numa == NUMA_MODE_OFF,
                                          c->numa == NUMA_MODE_NODE ? c->numa_node : -1);
    /* A quarter each: see config.h. */
    if (c->max_clients_per_uid == 0)
        c->max_clients_per_uid = c->max_clients > 4 ? (unsigned)c->max_clients / 4 : 1;
    if (c->max_snapshots_per_uid == 0)
        c->max_snapshots_per_uid = c->max_snapshots > 4 ? c->max_snapshots / 4 : 1;
    return finish_socket_group(c);
}

bool config_peer_allowed(const daemon_config *c, uid_t uid, gid_t gid)
{
    if (uid == geteuid())
        return true;
    for (size_t i = 0; i < c->n_allow_uids; i++)
        if (c->allow_uids[i] == uid)
            return true;
    for (size_t i = 0; i < c->n_allow_gids; i++)
        if (c->allow_gids[i] == gid)
            return true;
    return false;
}

static bool id_listed(const unsigned *ids, size_t n, unsigned id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

bool config_peer_admin(const daemon_config *c, uid_t uid, gid_t gid, const gid_t *groups,
                       size_t ngroups)
{
    if (uid == geteuid() || id_listed(c->admin_uids, c->n_admin_uids, uid) ||
        id_listed(c->admin_gids, c->n_admin_gids, gid))
        return true;
    for (size_t i = 0; i < ngroups; i++)
        if (id_listed(c->admin_gids, c->n_admin_gids, groups[i]))
            return true;
    return false;
}

void config_free(daemon_config *c)
{
    free(c->dir);
    free(c->socket_path);
    free(c->io);
    free(c->allow_uids);
    free(c->allow_gids);
    free(c->admin_uids);
    free(c->admin_gids);
    free(c->socket_group);
    free(c->log_file);
    free(c->config_path);
    for (size_t i = 0; i < c->n_engine_opts; i++) {
        free(c->engine_opts[i].name);
        free(c->engine_opts[i].value);
    }
    free(c->engine_opts);
    memset(c, 0, sizeof *c);
}
