/* config.c — see config.h. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "numa_cpus.h"

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
