/*
 * killpoint.h — named crash points for the crash tests and the stress
 * driver (docs/reliability.md, "Kill points").
 *
 * A kill point marks a moment where a crash is interesting because the
 * files on disk are between two consistent states:
 *
 *     KILLPOINT("flush.after_table_before_manifest");
 *
 * Compiled in only when the build defines LSM_KILLPOINTS (`make KILLPOINTS=1
 * B=build/kp`, and the test_killpoint binary of `make test`).  Otherwise the
 * macro expands to an empty statement: no code, no data, no cost.
 *
 * When compiled in, the environment decides what happens (read once, at the
 * first kill point reached, or again by killpoint_reload_env()):
 *   LSMD_KILLPOINT=name[:N]   the Nth time (default 1st) the point `name` is
 *                             reached, the process kills itself with
 *                             SIGKILL (raise(SIGKILL): no atexit handlers,
 *                             no buffered-data flush, exactly like kill -9).
 *   LSMD_KILLPOINT_RANDOM=P   every kill point reached kills with
 *                             probability P/1000 (0..1000).
 *   LSMD_KILLPOINT_SEED=S     seeds the random choice (default 1), so a run
 *                             with the same operations replays.
 *   LSMD_KILLPOINT_LOG=path   before dying, append "NAME PID\n" to path
 *                             (O_APPEND, one write), so a driver can tell a
 *                             kill point's death from any other SIGKILL.
 * Unset: every kill point is a relaxed atomic load and a not-taken branch.
 *
 * The named points (killpoint_names() lists them; docs/reliability.md says
 * what is on disk at each):
 *   wal.after_write_before_sync            db/db_write.c: a group's WAL
 *                                          record is written, its sync not
 *                                          waited for, not yet in the
 *                                          memtable nor acknowledged
 *   flush.mid                              db/db_flush.c: every memtable
 *                                          entry is in the table builder,
 *                                          the table is not finished
 *   flush.after_table_before_manifest      db/db_flush.c: the level-0 table
 *                                          is synced, the MANIFEST edit not
 *                                          written
 *   compaction.mid                         compaction/compaction_job.c:
 *                                          every input read, the last output
 *                                          table unfinished
 *   compaction.after_tables_before_manifest compaction/compaction_job.c:
 *                                          outputs synced, the MANIFEST edit
 *                                          not written
 *   manifest.after_write_before_current    version/version_set.c: a new
 *                                          MANIFEST is written and synced,
 *                                          CURRENT still names the old one
 *   wal.retire                             db/obsolete_files.c: before each
 *                                          obsolete WAL file is deleted
 *   checkpoint.after_files                 db/db_checkpoint.c: a checkpoint's
 *                                          tables and WALs are in DIR.tmp,
 *                                          no MANIFEST nor CURRENT yet
 *   checkpoint.before_rename               db/db_checkpoint.c: DIR.tmp is
 *                                          complete and synced, not yet
 *                                          renamed to DIR
 *
 * Thread safety: KILLPOINT() may be reached from any thread at once.
 * killpoint_reload_env(), killpoint_arm() and killpoint_set_hook() are for
 * set-up: REQUIRES no other thread is inside the engine.
 */
#ifndef LSM_KILLPOINT_H
#define LSM_KILLPOINT_H

#include <stddef.h>
#include <stdint.h>

#ifdef LSM_KILLPOINTS
#define KILLPOINT(name) killpoint_hit(name)
#else
#define KILLPOINT(name) do { } while (0)
#endif

/* Reached a kill point: returns, or never returns (SIGKILL).  name is a
 * string literal from the list above.  Exists in every build, so a program
 * built without LSM_KILLPOINTS can still link code that was built with it. */
void killpoint_hit(const char *name);

/* Re-reads the LSMD_KILLPOINT* variables and resets the hit counters (a
 * forked child sets its own variables, then calls this).  An unknown point
 * name or a malformed value is logged and disarms that setting. */
void killpoint_reload_env(void);

/* Arms programmatically, replacing the environment's settings: name (NULL:
 * none) dies at its nth hit (n >= 1), and any point with probability
 * random_permille/1000 using seed.  Resets the counters.
 * Returns 0, or -EINVAL (unknown name, n == 0, random_permille > 1000). */
int killpoint_arm(const char *name, uint64_t n, unsigned random_permille, uint64_t seed);

/* Called with the point's name just before the process kills itself (after
 * the LSMD_KILLPOINT_LOG line); it may write to a pipe, must not allocate
 * or take locks, and should return (the kill follows).  NULL removes it. */
void killpoint_set_hook(void (*hook)(const char *name, void *arg), void *arg);

/* How many times the point name was reached since the last reload/arm
 * (counted only while something is armed).  0 for an unknown name. */
uint64_t killpoint_hits(const char *name);

/* The known point names, NULL-terminated, in the order of the list above. */
const char *const *killpoint_names(void);

/* 1 when this build's engine objects call kill points (the library itself
 * was compiled with LSM_KILLPOINTS), else 0. */
int killpoint_compiled_in(void);

#endif
