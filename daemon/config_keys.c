/* config_keys.c — see config_keys.h. */
#include "config_keys.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "protocol.h"
#include "validate.h"

/* ---- value parsers -------------------------------------------------------- */

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

/* ---- engine options ------------------------------------------------------- */

static const lsm_option_info *engine_option(const char *name)
{
    const lsm_option_info *o;
    for (size_t i = 0; (o = lsm_option_at(i)) != NULL; i++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

bool config_key_is_engine(const char *name)
{
    return engine_option(name) != NULL;
}

/* Records an open-time engine key as given (start_options.h); name is
 * static (the engine's table or a row of ours). */
static void mark_given(daemon_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_engine_given; i++)
        if (strcmp(c->engine_given[i], name) == 0)
            return;
    if (c->n_engine_given < sizeof c->engine_given / sizeof *c->engine_given)
        c->engine_given[c->n_engine_given++] = name;
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

/* An engine option: checked by the engine's own parser now (a bad value
 * stops the start with the key's name, before anything opens), given to
 * lsm_open, and kept as text for a reload when it can change at run time
 * (reload.h). */
static int set_engine(daemon_config *c, const lsm_option_info *o, const char *v)
{
    /* The daemon's sizes also read "64KiB", "64KB", "512B": the engine's
     * parser takes the bare K/M/G, so drop the rest. */
    char num[64];
    size_t len = strlen(v);
    if (len >= sizeof num)
        return -EINVAL;
    memcpy(num, v, len + 1);
    if (len > 1 && (num[len - 1] == 'b' || num[len - 1] == 'B'))
        num[--len] = '\0';
    if (len > 2 && (num[len - 1] == 'i' || num[len - 1] == 'I') && strchr("kKmMgG", num[len - 2]))
        num[--len] = '\0';
    lsm_options next = c->engine;
    if (lsm_options_set(&next, o->name, num) != 0)
        return -EINVAL;
    if (o->runtime) {
        int rc = add_engine_opt(c, o->name, num); /* as lsm_set_option reads it */
        if (rc)
            return rc;
    }
    c->engine = next;
    mark_given(c, o->name);
    return 0;
}

/* ---- the rows that need code -------------------------------------------- */

static int set_numa(daemon_config *c, const char *v)
{
    unsigned long long n;
    if (strcmp(v, "off") == 0) {
        c->numa = NUMA_MODE_OFF;
    } else if (strcmp(v, "auto") == 0) {
        c->numa = NUMA_MODE_AUTO;
    } else {
        if (parse_size(v, 4095, &n))
            return -EINVAL;
        c->numa = NUMA_MODE_NODE;
        c->numa_node = (int)n;
    }
    return 0;
}

static int set_compaction(daemon_config *c, const char *v)
{
    return set_engine(c, engine_option("compaction_style"), v);
}

static int set_io(daemon_config *c, const char *v)
{
    if (strcmp(v, "auto") && strcmp(v, "uring") && strcmp(v, "posix"))
        return -EINVAL;
    int rc = set_str(&c->io, v);
    /* "auto" leaves io_backend NULL so LSMD_IO still overrides it. */
    c->engine.io_backend = (rc == 0 && strcmp(v, "auto") != 0) ? c->io : NULL;
    return rc;
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

static int set_log_file(daemon_config *c, const char *v)
{
    if (*v)
        return set_str(&c->log_file, v);
    free(c->log_file); /* "" = stderr, e.g. to undo the file's */
    c->log_file = NULL;
    return 0;
}

/* "0640" (always octal, as chmod reads it).  The engine's rule (owner rw,
 * nothing outside 0666) is checked here too, so a bad value is refused
 * with the key's name before the engine starts. */
static int set_file_mode(daemon_config *c, const char *v)
{
    char *end;
    errno = 0;
    unsigned long m = strtoul(v, &end, 8);
    if (!*v || *v == '-' || errno || *end || (m & 0600u) != 0600u || (m & ~0666ul) != 0)
        return -EINVAL;
    c->engine.file_mode = (unsigned)m;
    mark_given(c, "file_mode");
    return 0;
}

static int set_direct_io(daemon_config *c, const char *v)
{
    int rc = parse_bool(v, &c->engine.use_direct_io);
    if (rc == 0)
        mark_given(c, "use_direct_io");
    return rc;
}

/* How to open, not what the database is: not persisted, never "given". */
static int set_create(daemon_config *c, const char *v)
{
    return parse_bool(v, &c->engine.create_if_missing);
}

static int set_error_if_exists(daemon_config *c, const char *v)
{
    return parse_bool(v, &c->engine.error_if_exists);
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

/* ---- the table ------------------------------------------------------------ */

#define FIELD(f) offsetof(daemon_config, f), sizeof(((daemon_config *)0)->f)
#define NUM(n, f, lo, hi, arg, def, help) \
    { #n, arg, def, help, CK_NUM, false, FIELD(f), 0, lo, hi, NULL }
#define STR(n, f, arg, def, help) { #n, arg, def, help, CK_STR, false, FIELD(f), 0, 0, 0, NULL }
#define IDS(n, f, help)                                                                  \
    { #n, "ID,...", "none", help, CK_IDS, false, FIELD(f), offsetof(daemon_config, n_##f), \
      0, 0, NULL }
#define FN(n, fn, arg, def, help) { #n, arg, def, help, CK_FN, false, 0, 0, 0, 0, 0, fn }
#define SWITCH(n, fn, def, help) { #n, "0|1", def, help, CK_FN, true, 0, 0, 0, 0, 0, fn }

static const config_key k_keys[] = {
    STR(dir, dir, "DIR", "none (required)", "database directory"),
    STR(socket, socket_path, "PATH", "$XDG_RUNTIME_DIR/lsmd.sock",
        "Unix socket clients attach to; without XDG_RUNTIME_DIR the default is\n"
        "/tmp/lsmd-$UID/lsmd.sock (directory created 0700).  The environment\n"
        "variable LSMD_SOCKET, which lsmctl and liblsmd read too, wins over the\n"
        "default and the --config file; --socket wins over it"),
    NUM(workers, workers, 0, 1024, "N", NULL, "worker threads; 0 = one per usable CPU"),
    FN(numa, set_numa, "off|auto|NODE", "auto", "NUMA placement of workers and memory"),
    FN(compaction, set_compaction, "leveled|tiered", "compaction_style's",
       "the same as --compaction-style"),
    FN(io, set_io, "auto|uring|posix", "auto",
       "I/O backend (auto: $LSMD_IO, else uring if usable)"),
    NUM(spin_us, spin_us, 0, 1000000, "US", NULL, "busy-poll time before a worker sleeps"),
    NUM(max_clients, max_clients, 1, 65536, "N", NULL, "concurrent sessions"),
    IDS(allow_uids, allow_uids, "extra peer uids allowed to attach (the daemon's own always is)"),
    IDS(allow_gids, allow_gids, "extra peer gids allowed to attach"),
    IDS(admin_uids, admin_uids,
        "uids that may FLUSH, COMPACT, SET_OPTION (the daemon's own always may);\n"
        "an admin must also be allowed to attach"),
    IDS(admin_gids, admin_gids, "gids (primary or supplementary) that may run admin operations"),
    STR(socket_group, socket_group, "GROUP", "none",
        "group (name or number) owning the socket, then mode 0660; else the\n"
        "first of allow_gids; else the socket is 0600"),
    NUM(max_pending, max_pending, 1, 65536, "N", NULL, "connections that have not said hello yet"),
    NUM(max_pending_per_uid, max_pending_per_uid, 1, 65536, "N", NULL,
        "the same, per peer uid"),
    NUM(hello_timeout_ms, hello_timeout_ms, 10, 60000, "MS", NULL,
        "a connection's deadline for its hello"),
    NUM(max_request_bytes, max_request_bytes, 4096, SHM_MAX_BATCH_BYTES, "SIZE", NULL,
        "largest WRITE_BATCH payload (4K .. 1G); bigger ones get -E2BIG"),
    FN(log_level, set_log_level, "error|warn|info|debug", "$LSMD_LOG_LEVEL, else info",
       "log verbosity"),
    FN(log_file, set_log_file, "PATH", "stderr",
       "append the log to this file (0640); SIGHUP reopens it; \"\" = stderr"),
    NUM(max_snapshots, max_snapshots, 1, SHM_DIR_MAX_CAPACITY, "N", NULL,
        "snapshot IDs listed at once (past it an acquire gets -EMFILE)"),
    NUM(max_clients_per_uid, max_clients_per_uid, 1, 65536, "N", "max_clients/4",
        "sessions of one uid other than the daemon's"),
    NUM(max_snapshots_per_uid, max_snapshots_per_uid, 1, 1ull << 30, "N", "max_snapshots/4",
        "snapshot pins (acquires + holds) of one uid other than the daemon's"),
    NUM(max_iters_per_uid, max_iters_per_uid, 1, 1ull << 30, "N", NULL,
        "open iterators of one uid other than the daemon's"),
    NUM(max_arena_bytes_per_uid, max_arena_bytes_per_uid, 1, 1ull << 50, "SIZE", NULL,
        "bytes of shared segments of one uid other than the daemon's"),
    FN(file_mode, set_file_mode, "OCTAL", "0600",
       "permission bits of the database's files (0640: group may read); a\n"
       "directory lsmd creates gets x where r is set.  Within 0666, at least 0600"),
    SWITCH(use_direct_io, set_direct_io, "0",
           "write tables with O_DIRECT; the block cache is then the only cache.\n"
           "Open-time only; --use-direct-io alone means 1 (also true/yes/on)"),
    SWITCH(create_if_missing, set_create, "1",
           "create DIR and a new database when there is none; 0: refuse to start"),
    SWITCH(error_if_exists, set_error_if_exists, "0",
           "refuse to start on an existing database"),
    FN(metrics_listen, set_metrics_listen, "HOST:PORT", "off",
       "serve GET /metrics (Prometheus text) there; [v6]:PORT, :PORT = all\n"
       "interfaces, port 0 = any free one; off or \"\" = none.  Unauthenticated"),
};

#define N_KEYS (sizeof k_keys / sizeof k_keys[0])

const config_key *config_key_at(size_t i)
{
    return i < N_KEYS ? &k_keys[i] : NULL;
}

const config_key *config_key_find(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(k_keys[i].name, name) == 0)
            return &k_keys[i];
    return NULL;
}

static int set_row(daemon_config *c, const config_key *k, const char *v)
{
    char *field = (char *)c + k->off;
    unsigned long long n;
    switch (k->kind) {
    case CK_NUM:
        if (parse_size(v, k->hi, &n) || n < k->lo)
            return -EINVAL;
        if (k->size == sizeof(uint32_t))
            *(uint32_t *)field = (uint32_t)n; /* int or unsigned; hi keeps it in range */
        else
            *(uint64_t *)field = n;
        return 0;
    case CK_STR:
        return *v ? set_str((char **)field, v) : -EINVAL;
    case CK_IDS:
        return parse_id_list(v, (unsigned **)field, (size_t *)((char *)c + k->off2));
    default:
        return k->set(c, v);
    }
}

int config_key_set(daemon_config *c, const char *name, const char *value)
{
    const config_key *k = config_key_find(name);
    if (k)
        return set_row(c, k, value);
    const lsm_option_info *o = engine_option(name);
    return o ? set_engine(c, o, value) : -ENOENT;
}

/* ---- by name, either spelling ------------------------------------------ */

/* key with '-' read as '_' into k (cap bytes); false when it does not fit. */
bool config_key_normalize(const char *key, char *k, size_t cap)
{
    size_t len = strlen(key);
    if (len >= cap)
        return false;
    for (size_t i = 0; i <= len; i++)
        k[i] = key[i] == '-' ? '_' : key[i];
    return true;
}

bool config_key_is_switch(const char *key)
{
    char k[64];
    const config_key *row = config_key_normalize(key, k, sizeof k) ? config_key_find(k) : NULL;
    return row && row->is_switch;
}

int config_set(daemon_config *c, const char *key, const char *value)
{
    char k[64];
    if (!config_key_normalize(key, k, sizeof k)) {
        log_error("config: unknown key '%s'", key);
        return -EINVAL;
    }
    int rc = config_key_set(c, k, value ? value : "");
    if (rc == -ENOENT) {
        log_error("config: unknown key '%s' (lsmd --help lists them)", key);
        return -EINVAL;
    }
    if (rc == -EINVAL) {
        /* An engine option's refusal carries the engine's reason; a
         * daemon key's row sets none, and an older one may linger. */
        const char *why = config_key_find(k) ? "" : lsm_last_error();
        log_error("config: bad value '%s' for '%s'%s%s", value ? value : "", key,
                  *why ? ": " : "", why);
    }
    return rc;
}

/* ---- --help ------------------------------------------------------------- */

/* "  --name ARG (note)  [default: DEF]", then the meaning indented. */
static void print_key(FILE *f, const char *name, const char *arg, const char *def,
                      const char *help, const char *note)
{
    fputs("  --", f);
    for (const char *p = name; *p; p++)
        fputc(*p == '_' ? '-' : *p, f);
    fprintf(f, " %s%s  [default: %s]\n      ", arg, note, def);
    for (const char *p = help; *p; p++) {
        if (*p == '\n')
            fputs("\n      ", f);
        else
            fputc(*p, f);
    }
    fputc('\n', f);
}

/* A row's default: its text, else (a plain number) the field's value in
 * a config_init'd config, so the number is written once. */
static const char *row_default(const config_key *k, const daemon_config *d, char *buf,
                               size_t cap)
{
    if (k->def)
        return k->def;
    const char *field = (const char *)d + k->off;
    unsigned long long v = k->size == sizeof(uint32_t) ? *(const uint32_t *)field
                                                       : *(const uint64_t *)field;
    snprintf(buf, cap, "%llu", v);
    return buf;
}

void config_usage(FILE *f)
{
    fputs("usage: lsmd --dir DIR [--config FILE] [--KEY VALUE | --KEY=VALUE ...]\n"
          "       lsmd --help | --version\n"
          "\n"
          "lsmd serves the LSM database in DIR to local clients (liblsmd, lsmctl)\n"
          "over a Unix socket and shared memory.\n"
          "\n"
          "Every setting below is a flag, '-' or '_' alike (--spin-us 20 ==\n"
          "--spin_us=20), and a key of the --config INI file (spin_us = 20, before\n"
          "any section or under [lsmd]; engine options also under [engine]).\n"
          "Later settings win: defaults, then the --config file, then the flags.\n"
          "Sizes take K, M or G (powers of 1024).  SIGHUP reopens the log and\n"
          "reloads the file and flags: log_level, log_file and the engine options\n"
          "marked (runtime) apply at once, the rest at the next restart.\n"
          "SIGTERM or SIGINT stops lsmd cleanly.\n"
          "\n"
          "  --config FILE\n"
          "      read settings from this INI file first\n"
          "\n"
          "Service:\n",
          f);
    daemon_config d;
    config_init(&d);
    char buf[32];
    for (size_t i = 0; i < N_KEYS; i++)
        print_key(f, k_keys[i].name, k_keys[i].arg, row_default(&k_keys[i], &d, buf, sizeof buf),
                  k_keys[i].help, "");
    config_free(&d);
    fputs("\nEngine options (the engine's lsm_options; they persist in DIR/OPTIONS,\n"
          "and a value given here wins over the persisted one; lsmctl set changes\n"
          "those marked (runtime) while lsmd runs):\n",
          f);
    lsm_options def;
    lsm_options_init(&def);
    const lsm_option_info *o;
    for (size_t i = 0; (o = lsm_option_at(i)) != NULL; i++) {
        if (config_key_find(o->name))
            continue; /* a row above documents it */
        char v[64];
        if (lsm_options_get(&def, o->name, v, sizeof v) < 0)
            snprintf(v, sizeof v, "?");
        print_key(f, o->name, "VALUE", v, o->help, o->runtime ? " (runtime)" : "");
    }
}
