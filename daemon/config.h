/*
 * config.h — lsmd settings: defaults, the INI file (libinih) and the
 * command-line flags, which share one set of keys.
 *
 * A key is spelled with '_' in the file and '-' or '_' on the command line
 * (`--spin-us 20` == `spin_us = 20`).  Later settings win: defaults, then
 * the file named by --config, then the other flags.
 *
 *   key                     meaning                                   default
 *   dir                     database directory (required)             -
 *   socket                  Unix socket path      $XDG_RUNTIME_DIR/lsmd.sock
 *                                                 else /tmp/lsmd-$UID/lsmd.sock
 *   workers                 worker threads (0 = 2 per NUMA node)      0
 *   numa                    off | auto | NODE                         auto
 *   compaction              leveled | tiered (engine compaction_style) engine's
 *   io                      auto | uring | posix                      auto
 *   spin_us                 busy-poll time before a worker sleeps     50
 *   max_clients             concurrent sessions                       256
 *   allow_uids, allow_gids  extra peers allowed (comma lists); the
 *                           daemon's own uid is always allowed        none
 *   admin_uids, admin_gids  peers that may FLUSH, COMPACT, SET_OPTION
 *                           (comma lists; a gid matches the primary or
 *                           a supplementary group); the daemon's own
 *                           uid always may.  They do not admit: an
 *                           admin must also be allowed to attach.     none
 *   -- admission (before the hello; docs/shm-protocol.md, "Attach") --
 *   socket_group            group (name or number) owning the socket,
 *                           which is then 0660; else the first of
 *                           allow_gids; else the socket is 0600      none
 *   max_pending             connections that have not said hello yet  64
 *   max_pending_per_uid     the same, per peer uid                    16
 *   hello_timeout_ms        a connection's deadline for its hello     1000
 *   max_request_bytes       largest WRITE_BATCH payload (4K .. 1G);
 *                           bigger ones get -E2BIG.  A PUT is bounded
 *                           by the key and value limits instead       2M
 *   log_level               error | warn | info | debug               env/info
 *   log_file                append the log to this file (0640) instead
 *                           of stderr; SIGHUP reopens it (rotation); ""
 *                           means stderr                              stderr
 *   max_snapshots           snapshot IDs listed at once; the directory
 *                           clients read holds exactly this many      4096
 *   max_clients_per_uid     sessions of one uid                max_clients/4
 *   max_snapshots_per_uid   snapshot pins (acquires + holds) of one
 *                           uid                             max_snapshots/4
 *   max_iters_per_uid       open iterators of one uid                 1024
 *   max_arena_bytes_per_uid bytes of shared segments of one uid         4G
 *   file_mode               octal permission bits of the database's
 *                           files (e.g. 0640: group may read); the
 *                           directory, when created, gets x where r
 *                           is set (0750).  Must include 0600 and lie
 *                           within 0666 (engine lsm_options.file_mode) 0600
 *   memtable_bytes, max_immutable_memtables, block_bytes,
 *   block_restart_interval, bloom_bits_per_key, sstable_target_bytes
 *                           lsm_options fields (engine/lsm.h)         engine's
 *   use_direct_io           1|0 (true/false, yes/no, on/off): tables
 *                           written with O_DIRECT; the block cache is
 *                           then the only cache (docs/tuning.md,
 *                           "Direct I/O").  Open-time only.  A flag
 *                           that may stand alone: --use-direct-io     0
 *   l0_compaction_trigger, level_size_ratio, tiered_size_ratio,
 *   tiered_min_merge, block_cache_bytes, compaction_threads,
 *   compaction_rate_mb, periodic_compaction_seconds, delayed_write_rate,
 *   max_subcompactions, compaction_readahead_bytes
 *                           runtime engine options, applied with
 *                           lsm_set_option right after lsm_open       engine's
 *   wal_retention_seconds, wal_retention_bytes
 *                           WALs kept after their flush for the change
 *                           feed (lsmctl changes): by age (seconds) and
 *                           total size (K/M/G); 0 and 0 = delete at
 *                           once.  Given to lsm_open (so the open keeps
 *                           them too); lsmctl set changes them later  0
 *
 * Engine options persist: a value given here wins over the one the
 * database last ran with (DIR/OPTIONS), which wins over the engine's
 * default; an option not given keeps its persisted value
 * (start_options.h).
 *   -- metrics (metrics_http.h, docs/operations.md "Monitoring") --
 *   metrics_listen          HOST:PORT serving GET /metrics (Prometheus
 *                           text); numeric host, [v6]:PORT, :PORT = all
 *                           interfaces, port 0 = any free one; "off"
 *                           or empty = none.  Unauthenticated: bind
 *                           it to loopback or a private network      off
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
 * [engine] section passes any NAME = VALUE to lsm_set_option unchecked,
 * except use_direct_io, an open-time field, which it sets as above.
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
    config_engine_opt *engine_opts; /* owned, applied in order; main thread */
    size_t n_engine_opts;
    int log_level;          /* enum lsm_log_level, -1 = not set; main thread */
    char *log_file;         /* owned, NULL = stderr; main thread */
    char *config_path;      /* owned: the last file config_load_file read */
    /* The open-time engine keys given (file or flags) this start, static
     * names: they win over DIR/OPTIONS (start_options.h). */
    const char *engine_given[16];
    size_t n_engine_given;
    /* metrics: the HTTP listener's address when metrics_on */
    bool metrics_on;
    listen_addr metrics_addr;
} daemon_config;

/* Fills c with the defaults.  Never fails. */
void config_init(daemon_config *c);

/* Sets one key (either spelling) from its text value.
 * Errors: -EINVAL (unknown key or bad value; the log says which),
 *         -ENOMEM. */
int config_set(daemon_config *c, const char *key, const char *value);

/* true for a key that is a switch (use_direct_io): on the command line
 * `--use-direct-io` alone means `--use-direct-io 1`. */
bool config_key_is_switch(const char *key);

/* Reads an INI file with libinih.  Errors: -ENOENT/-EACCES (cannot open),
 * -EINVAL (a syntax error or a bad key; line number logged), -ENOMEM. */
int config_load_file(daemon_config *c, const char *path);

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
