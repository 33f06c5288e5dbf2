/*
 * client.h — the stress driver's child processes: a workload client that
 * writes and reads its own key space through libclient until the daemon
 * goes away, and an admin client that changes options (the compaction
 * style among them), flushes, compacts and holds snapshots meanwhile.
 *
 * Both run in a child forked by the driver and end with _exit (never
 * return): the driver's stdio buffers and atexit handlers stay the
 * driver's.  Everything the driver needs afterwards is in shared memory
 * (oplog, admin_log), so a client that had to be SIGKILLed loses nothing.
 *
 * A workload client checks each read against its own copy of the oracle
 * (inherited from the driver by fork, updated as writes are acknowledged):
 * it is the only writer of its keys and waits for each reply, so a get or
 * a scan must return exactly the acknowledged state.
 */
#ifndef STRESS_CLIENT_H
#define STRESS_CLIENT_H

#include <stdatomic.h>
#include <stdint.h>

#include "oracle.h"

typedef struct client_params {
    unsigned id;            /* key space: oracle_key(id, ...) */
    const char *socket;
    uint32_t nkeys;
    uint64_t seed;
    uint64_t next_seq;      /* first op sequence to use */
    /* The op mix, per mille of operations (the rest are single puts). */
    unsigned get_pm, scan_pm, delete_pm, batch_pm;
    unsigned sync_pm;       /* writes sent with LSM_SYNC */
    unsigned hot_pm;        /* ops on the first 1/16 of the keys */
} client_params;

/* Connects and runs the mix until a call fails (normally -ENOTCONN when
 * the daemon dies).  state[nkeys] is this process's copy of the client's
 * expected state.  Records every write in log (intent, then ack), read
 * checks in log's counters, the stopping error in log->end_rc. */
_Noreturn void client_run(const client_params *p, uint64_t *state, oplog *log);

/* What the admin client did, in shared memory (written by it only). */
typedef struct admin_log {
    _Atomic uint32_t finished;
    int32_t end_rc;
    uint32_t switches, flushes, compacts, options, snapshots, stats;
    uint32_t errors;            /* calls failing with something else than
                                   the daemon being gone */
    double switch_at;           /* seconds after start, < 0: none */
    char first_error[160];
    char switched_to[16];
} admin_log;

typedef struct admin_params {
    const char *socket;
    uint64_t seed;
    double switch_at;           /* switch compaction_style after this many
                                   seconds; < 0: never */
    const char *switch_to;      /* "leveled" or "tiered" */
    int busy;                   /* 0: only the switch; 1: also flushes,
                                   compactions, option changes, snapshots */
} admin_params;

_Noreturn void admin_run(const admin_params *p, admin_log *log);

/* true for the codes a call returns because the daemon went away. */
int client_rc_is_gone(int rc);

#endif
