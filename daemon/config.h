/*
 * config.h — lsmd settings: the daemon_config they fill, its defaults
 * (config_init) and what follows from them (config_finish).  The keys are
 * config_keys.h, the INI file config_file.h, the command line flags.h:
 * the file and the flags share one set of keys.
 *
 * A key is spelled with '_' in the file and '-' or '_' on the command line
 * (`--spin-us 20` == `spin_us = 20`).  Later settings win: defaults, then
 * the file named by --config, then the other flags; the socket's path also
 * comes from LSMD_SOCKET when no --socket flag gives it (it then wins over
 * the file, so lsmd and lsmctl, which read the same variable, agree).
 *
 * The keys, their defaults and meanings are one table, config_keys.h
 * (printed by `lsmd --help`), plus every engine option (lsm_option_at).
 *
 * Engine options persist: a value given here wins over the one the
 * database last ran with (DIR/OPTIONS), which wins over the engine's
 * default; an option not given keeps its persisted value
 * (start_options.h).
 *
 * Limits and quotas.  Past max_snapshots an acquire is refused with
 * -EMFILE instead of unlisting someone's snapshot.  The *_per_uid quotas
 * (uid_quota.h) refuse with -EMFILE (-ENOMEM for arena bytes) and apply to
 * every uid except the daemon's own: a process of that uid can signal the
 * daemon and read its files anyway, and it is the usual (often the only)
 * client, so the global limits alone bound it and a single-uid deployment
 * can still use all max_clients sessions.  The quotas keep foreign uids
 * (allow_uids, allow_gids) from starving each other and the daemon's uid:
 * one uid gets at most a quarter of the sessions and snapshot slots, so it
 * takes four colluding uids to fill them.  1024 iterators (16 sessions'
 * worth at 64 each) and 4 GiB of segments (one maximal segment, or about
 * a thousand default ones) bound one uid's memory in the daemon
 * (docs/security.md, "Limits").  Each is also a per-session limit
 * where one exists (daemon.h: 1024 snapshot pins, 64 iterators).
 *
 * In the file, keys may sit before any section or under [lsmd]; an
 * [engine] section takes engine options only (the same keys).
 * Sizes accept a K, M or G suffix (powers of 1024).
 *
 * Reload (SIGHUP, daemon/reload.h): the file and the flags are read again
 * into a fresh daemon_config; log_level, log_file and the runtime engine
 * options take effect, other changed keys wait for a restart (logged).
 *
 * Thread safety: a daemon_config is filled by the main thread before any
 * other thread starts and is read-only afterwards, except the fields
 * marked "main thread" (read and replaced by the main thread only, at a
 * reload).
 */
#ifndef LSMD_CONFIG_H
#define LSMD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "listen_addr.h"
#include "lsm.h"

/* max_request_bytes: the engine applies one write at a time, and a batch
 * holds it for its WAL append and memtable insertion, in proportion to
 * its size (docs/tuning.md, "The service"), so a bound keeps other
 * clients' writes from waiting long; 2 MiB is the client library's default
 * large region, so clients with default settings never meet it. */
#define LSMD_DEFAULT_MAX_REQUEST_BYTES ((size_t)2 << 20)

enum numa_mode { NUMA_MODE_OFF, NUMA_MODE_AUTO, NUMA_MODE_NODE };

/* A runtime engine option to apply after lsm_open (in file order). */
typedef struct config_engine_opt {
    char *name, *value;
} config_engine_opt;

typedef struct daemon_config {
    char *dir;              /* owned */
    char *socket_path;      /* owned; set by config_finish when absent */
    int workers;            /* >= 1 after config_finish */
    enum numa_mode numa;
    int numa_node;          /* NUMA_MODE_NODE only */
    char *io;               /* owned: "auto" | "uring" | "posix" */
    unsigned spin_us;
    int max_clients;
    uid_t *allow_uids;      /* owned arrays */
    size_t n_allow_uids;
    gid_t *allow_gids;
    size_t n_allow_gids;
    /* limits and per-uid quotas (see above); 0 in a *_per_uid field until
     * config_finish derives its default */
    unsigned max_snapshots;
    unsigned max_clients_per_uid;
    unsigned max_snapshots_per_uid;
    unsigned max_iters_per_uid;
    unsigned long long max_arena_bytes_per_uid;
    uid_t *admin_uids;      /* owned arrays (admin.h) */
    size_t n_admin_uids;
    gid_t *admin_gids;
    size_t n_admin_gids;
    /* admission (config_finish derives socket_gid) */
    char *socket_group;     /* owned; as given, NULL = none */
    bool socket_gid_set;    /* the socket is group-owned, mode 0660 */
    gid_t socket_gid;       /* socket_group, else allow_gids[0] */
    int max_pending;
    int max_pending_per_uid;
    int hello_timeout_ms;
    size_t max_request_bytes; /* WRITE_BATCH payload bound (batcher.h) */
    lsm_options engine;     /* io_backend points at io */
    config_engine_opt *engine_opts; /* owned: the given engine options that can
                                       change at run time, as text, for a
                                       reload (reload.h); main thread */
    size_t n_engine_opts;
    int log_level;          /* enum lsm_log_level, -1 = not set; main thread */
    char *log_file;         /* owned, NULL = stderr; main thread */
    char *config_path;      /* owned: the last file config_load_file read */
    /* The open-time engine keys given (file or flags) this start, static
     * names: they win over DIR/OPTIONS (start_options.h). */
    const char *engine_given[64];
    size_t n_engine_given;
    /* metrics: the HTTP listener's address when metrics_on */
    bool metrics_on;
    listen_addr metrics_addr;
} daemon_config;

/* Fills c with the defaults.  Never fails. */
void config_init(daemon_config *c);

/* Checks the result and fills derived defaults (socket path, workers,
 * max_clients_per_uid, max_snapshots_per_uid, socket_gid).  Creates the
 * default socket directory (mode 0700) when it is used.  Warns when
 * allow_uids names other uids but no group grants them the 0600 socket.
 * Errors: -EINVAL (dir missing, socket_group names no group), -errno
 * (creating the socket directory). */
int config_finish(daemon_config *c);

/* Applies log_level (unset: LSMD_LOG_LEVEL, else info) and log_file
 * (opened when it differs from the current log file).  Main thread.
 * Errors: -errno of opening log_file (logged; the log stays where it
 * was), -ENOMEM. */
int config_apply_logging(const daemon_config *c);

/* true when a peer with these credentials may attach. */
bool config_peer_allowed(const daemon_config *c, uid_t uid, gid_t gid);

/* true when a peer with these credentials may run admin operations:
 * the daemon's own uid, a uid in admin_uids, or a primary or
 * supplementary gid (groups[0..ngroups)) in admin_gids. */
bool config_peer_admin(const daemon_config *c, uid_t uid, gid_t gid, const gid_t *groups,
                       size_t ngroups);

/* The default socket path (malloc'd; NULL on ENOMEM) and, in *dir_to_make
 * (malloc'd or NULL), the directory that must exist with mode 0700.
 * Shared with lsmctl's and the client's idea of the default. */
char *config_default_socket(char **dir_to_make);

void config_free(daemon_config *c);

#endif
