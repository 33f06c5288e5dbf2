/*
 * reload.h — SIGHUP: reopen the log file and apply the configuration
 * file's runtime options without a restart.
 *
 * A reload parses the command line again (flags.h), and so the file named
 * by --config, into a fresh daemon_config: the precedence is the start's
 * (defaults < file < flags).  If anything in it is bad, nothing changes
 * and the log says why.  Otherwise:
 *   - log_level and log_file take effect (config_apply_logging);
 *   - each runtime engine option (an [engine] line, a runtime key such as
 *     block_cache_bytes or compaction_rate_mb, compaction) whose value
 *     differs from the one last applied from the configuration goes to
 *     lsm_set_option.  Unchanged ones are not applied again, so a value
 *     set since with `lsmctl set` survives a reload that did not touch it.
 *     An option removed from the file keeps its current value (logged);
 *     an option the engine refuses is logged and tried again at the next
 *     reload;
 *   - any other changed key (dir, socket, workers, memtable_bytes,
 *     allow_uids, ...) is logged as waiting for a restart.
 *
 * The log file is reopened first, whatever the configuration says, so
 * `mv lsmd.log lsmd.log.1; kill -HUP PID` rotates it.
 *
 * Thread safety: main thread only, while the other threads run (they
 * never read the fields a reload replaces: config.h, "main thread").
 */
#ifndef LSMD_RELOAD_H
#define LSMD_RELOAD_H

#include "daemon.h"

/* Reopens the log, then reloads as above from argv (the daemon's own).
 * Returns 0, or -EINVAL when the configuration could not be read (the
 * running one is kept), -ENOMEM.  Never stops the daemon. */
int reload_run(daemon_ctx *d, int argc, char **argv);

#endif
