/*
 * daemon_proc.h — the stress driver's lsmd process: randomized settings
 * (written to an INI file per start), kill-point arming through the
 * environment, start-up until it answers, SIGKILL, clean stop, and telling
 * a kill point's death from any other (LSMD_KILLPOINT_LOG,
 * engine/base/killpoint.h).
 *
 * Layout under root: db/ (the database), lsmd.sock, lsmd.conf (the last
 * start's settings), lsmd.log (every start's stderr, each after a
 * "==== stress start" line naming the settings and the arming),
 * killpoints.log (a line "NAME PID" per kill-point death).
 *
 * Not thread-safe: one driver thread owns a dp_daemon.
 */
#ifndef STRESS_DAEMON_PROC_H
#define STRESS_DAEMON_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Settings of one daemon start. */
typedef struct dp_settings {
    const char *compaction;     /* "leveled" | "tiered" */
    const char *io;             /* "uring" | "posix" */
    int workers;
    uint64_t memtable_bytes;    /* 64 KiB .. 4 MiB */
    int bloom_bits;             /* 0 (no filter) .. 16 */
    uint64_t block_bytes;
    uint64_t sstable_target_bytes;
    uint64_t level_base_bytes;
    int l0_trigger;
    int max_imm;
    int tiered_min_merge;
} dp_settings;

/* Draws settings from seed material r (any 64-bit random numbers). */
void dp_settings_random(dp_settings *s, uint64_t r1, uint64_t r2);
/* One-line description ("leveled mt=256K bloom=10 io=uring w=2 ..."). */
void dp_settings_str(const dp_settings *s, char *buf, size_t cap);

/* How this start is armed to die. */
enum dp_arm_mode { DP_ARM_NONE, DP_ARM_POINT, DP_ARM_RANDOM };
typedef struct dp_arm {
    enum dp_arm_mode mode;
    const char *point;          /* DP_ARM_POINT: LSMD_KILLPOINT=point:n */
    uint64_t n;
    unsigned permille;          /* DP_ARM_RANDOM: LSMD_KILLPOINT_RANDOM */
    uint64_t seed;              /* LSMD_KILLPOINT_SEED */
} dp_arm;
void dp_arm_str(const dp_arm *a, char *buf, size_t cap);

/* How the daemon ended. */
typedef struct dp_exit {
    int status;                 /* waitpid status */
    bool killpoint;             /* it killed itself at a kill point */
    char point[64];             /* which one */
} dp_exit;
/* "SIGKILL at flush.mid", "SIGKILL", "exit 1", "SIGSEGV", ... */
void dp_exit_str(const dp_exit *e, char *buf, size_t cap);

typedef struct dp_daemon {
    const char *bin;
    char *root, *db, *sock, *conf, *log, *kplog;
    pid_t pid;                  /* 0 when not running */
    unsigned starts;
    long kplog_seen;            /* bytes of killpoints.log already read */
} dp_daemon;

/* Paths under root (which must exist).  Errors: -ENOMEM. */
int dp_init(dp_daemon *d, const char *bin, const char *root);
void dp_free(dp_daemon *d);

enum { DP_STARTED = 0, DP_DIED = 1 };
/* Writes lsmd.conf, starts `bin --config lsmd.conf --dir db --socket sock`
 * with the arming in its environment and waits until a ping succeeds.
 * Returns DP_STARTED, DP_DIED (it exited first: *ex says how), or
 * -ETIMEDOUT (killed after timeout_s), -errno (fork, files). */
int dp_start(dp_daemon *d, const dp_settings *s, const dp_arm *a, double timeout_s, dp_exit *ex);
/* dp_start in two halves: start the process (0 or -errno), then wait
 * until it answers (as dp_start).  Between them the driver may kill it in
 * the middle of its recovery. */
int dp_spawn(dp_daemon *d, const dp_settings *s, const dp_arm *a);
int dp_wait_ready(dp_daemon *d, double timeout_s, dp_exit *ex);

/* true once the daemon has exited (reaped; *ex filled); never blocks. */
bool dp_exited(dp_daemon *d, dp_exit *ex);
/* SIGKILL (unless it is already dead) and reap. */
void dp_kill(dp_daemon *d, dp_exit *ex);
/* SIGTERM and wait up to timeout_s (then SIGKILL).  Returns 0 on a clean
 * exit (status 0), else -1; *ex says how it ended. */
int dp_stop(dp_daemon *d, double timeout_s, dp_exit *ex);

/* Copies the last `lines` lines of lsmd.log to f. */
void dp_dump_log(const dp_daemon *d, FILE *f, int lines);

/* CLOCK_MONOTONIC seconds. */
double dp_now(void);

#endif
