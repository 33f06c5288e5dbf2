/*
 * oracle.h — the stress driver's expected-state oracle (issue 6).
 *
 * Every client process owns a disjoint key space ("stCC-KKKKKK") and is the
 * only writer of it, so its keys' state is a pure function of its own
 * history.  The oracle keeps, per client and key, the identity of the value
 * the database must hold (a "vid"; 0 = absent).  Values are derived from
 * (client, key, vid), so the bytes read back say exactly which write put
 * them there and are checked byte for byte.
 *
 * History: during a cycle a client appends each write to its op log (a
 * shared anonymous mapping, so it survives whoever dies) *before* sending
 * it, and marks it acknowledged after.  After the daemon is killed and
 * restarted, oracle_verify() reads what the database holds and finds the
 * prefixes p of the cycle's history (0..n_intent ops) whose state equals it,
 * key by key (an interval count over p: each key contributes the p-ranges
 * where its expected value equals the observed one).  The largest p valid
 * for every key is the recovered prefix:
 *   - acked ops after p are lost (synced ones must never be);
 *   - the in-flight op (intent without ack) may be in or out, as a whole;
 *   - no valid p at all = a hole: some later write is present while an
 *     earlier one is missing (or a batch landed partially, or a deleted
 *     value came back).  Keys no op of the cycle touched must hold their
 *     base value.
 * The state found becomes the base of the next cycle.
 *
 * Thread safety: none needed; the driver is single-threaded and reads a
 * client's log only after that client exited (waitpid orders the memory).
 */
#ifndef STRESS_ORACLE_H
#define STRESS_ORACLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ORACLE_MAX_CLIENTS 64
#define ORACLE_MAX_BATCH 16        /* entries in one batch */
#define ORACLE_KEY_LEN 11          /* "stCC-KKKKKK" without NUL, CC < 100 */
#define ORACLE_MAX_VALUE 16384
#define OPLOG_MAX_OPS (1u << 18)   /* per client per cycle; then it only reads */
#define OPLOG_MAX_ENTRIES (1u << 20)

/* vid: (op sequence << 5) | entry index in the op; 0 = absent. */
#define VID_ABSENT 0u
#define VID_CORRUPT UINT64_MAX     /* observed bytes that no write produced */
static inline uint64_t vid_make(uint64_t op_seq, unsigned idx)
{
    return (op_seq << 5) | idx;
}
static inline uint64_t vid_op(uint64_t vid) { return vid >> 5; }

enum { OP_PUT = 1, OP_DELETE = 2, OP_BATCH = 3 };

typedef struct oplog_op {
    uint64_t seq;       /* the client's op sequence, >= 1, never reused */
    uint32_t first;     /* index of its first entry in oplog.entries */
    uint16_t n;         /* entries (1 for put/delete) */
    uint8_t kind;       /* OP_* */
    uint8_t sync;       /* sent with LSM_SYNC */
} oplog_op;

typedef struct oplog_entry {
    uint32_t key;
    uint32_t del;       /* 1: delete; else put of vid_make(op.seq, index) */
} oplog_entry;

/* One client's record of one cycle, in shared memory.  Written only by the
 * client; the driver resets it before forking the client. */
typedef struct oplog {
    _Atomic uint32_t n_intent;  /* ops logged; the last may be in flight.
                                   Release-stored after the op's fields */
    _Atomic uint32_t n_acked;   /* ops acknowledged (n_intent or one less) */
    _Atomic int32_t end_rc;     /* the error that stopped the client */
    _Atomic uint32_t finished;  /* 1 once the client is done */
    uint32_t n_entries;
    uint32_t log_full;          /* stopped writing: the log is full */
    uint64_t gets, scans, scanned, read_mismatches, read_errors;
    char first_mismatch[256];   /* what the first read mismatch was */
    oplog_op ops[OPLOG_MAX_OPS];
    oplog_entry entries[OPLOG_MAX_ENTRIES];
} oplog;

/* Maps a zeroed shared log (MAP_SHARED | MAP_ANONYMOUS).  NULL on error. */
oplog *oplog_map(void);
void oplog_unmap(oplog *l);
/* Zeroes the header (the arrays are overwritten as they fill). */
void oplog_reset(oplog *l);

/* ---- keys and values ---------------------------------------------------- */
/* Writes the key of (client, key) into buf (>= ORACLE_KEY_LEN + 1 bytes,
 * NUL-terminated) and returns ORACLE_KEY_LEN. */
size_t oracle_key(char *buf, unsigned client, uint32_t key);
/* The client's key range [lo, hi) (buffers of 8 bytes); returns the
 * length of each bound (5). */
size_t oracle_range(char *lo, char *hi, unsigned client);
/* Parses a key of client; returns the key index or -1. */
long oracle_parse_key(const void *k, size_t klen, unsigned client);

/* Writes the value of (client, key, vid) into buf (ORACLE_MAX_VALUE bytes)
 * and returns its length (17..ORACLE_MAX_VALUE). */
size_t oracle_value(char *buf, unsigned client, uint32_t key, uint64_t vid);
/* The vid whose value these bytes are, or VID_CORRUPT if they are not
 * exactly some value of (client, key). */
uint64_t oracle_value_vid(const void *v, size_t vlen, unsigned client, uint32_t key);

/* ---- expected state ------------------------------------------------------ */
typedef struct oracle {
    unsigned nclients;
    uint32_t nkeys;             /* per client */
    uint64_t *state;            /* [client * nkeys + key]: vid, 0 = absent */
    uint64_t *next_seq;         /* [client]: next op sequence to use */
} oracle;

int oracle_init(oracle *o, unsigned nclients, uint32_t nkeys); /* 0 / -ENOMEM */
void oracle_free(oracle *o);
static inline uint64_t *oracle_state(const oracle *o, unsigned client)
{
    return o->state + (size_t)client * o->nkeys;
}

/* What one client's verification found. */
typedef struct verify_result {
    uint64_t intents, acked, synced_acked;   /* ops of the cycle */
    uint64_t prefix;            /* ops of the recovered prefix */
    uint64_t lost_synced, lost_unsynced;      /* acked ops past the prefix */
    uint64_t inflight, inflight_landed;       /* 0/1 each */
    uint64_t holes;             /* keys no prefix explains */
    uint64_t corrupt;           /* values no write produced */
} verify_result;

/* Checks one client: observed[nkeys] holds the vids read from the database
 * (VID_ABSENT, a vid, or VID_CORRUPT).  Fills *r, prints up to a few lines
 * per problem to diag (may be NULL), and makes observed the client's new
 * base state (next_seq moves past every logged op).
 * Errors: -ENOMEM (then nothing changed). */
int oracle_verify(oracle *o, unsigned client, const oplog *log, const uint64_t *observed,
                  verify_result *r, FILE *diag);

#endif
