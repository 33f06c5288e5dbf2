/*
 * workload.h — what each lsmbench workload does: its kind, its mix of
 * operations, its default key distribution and how many operations it runs.
 *
 *   fillseq          put keys 0, 1, 2, ... num-1 in order
 *   fillrandom       num puts of uniform random keys in [0, num) (with
 *                    repeats, as db_bench: ~63% distinct)
 *   overwrite        the same as fillrandom, meant for a filled database
 *   readrandom       gets of random keys
 *   readseq          one forward scan; each entry is one operation
 *   seekrandom       seek to a random key, then read --seek-nexts more
 *   multireadrandom  gets of random keys, --batch keys per multi-get call;
 *                    an operation is a key (ops/s = keys/s), latency is
 *                    per batch (reported with batches/s)
 *   compact          one full compaction of the database into one sorted
 *                    run (lsm_compact(db, -1)), timed: its MB/s are the
 *                    table bytes it wrote per second (not timed per op)
 *   readwhilewriting readrandom on --threads workers while one extra
 *                    writer thread puts random keys (reported apart, as
 *                    db_bench: the job's figures are the readers')
 *   mixed            --read-pct % gets, the rest puts of existing keys
 *   ycsb-a .. ycsb-f the YCSB core workloads:
 *                    A 50% read / 50% update, zipfian
 *                    B 95% read / 5% update, zipfian
 *                    C 100% read, zipfian
 *                    D 95% read / 5% insert, latest
 *                    E 95% scan (1..--scan-length entries) / 5% insert, zipfian
 *                    F 50% read / 50% read-modify-write, zipfian
 *
 * Counts: fills run --num operations; the rest run --reads (default
 * --num); --duration, when given, runs each job for that long instead.
 * Inserts take new key numbers num, num+1, ... from a counter shared by
 * every worker of every client process.
 *
 * Thread safety: the table is constant; an op_mix is plain data.
 */
#ifndef BENCH_WORKLOAD_H
#define BENCH_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keygen.h"

enum workload_kind {
    WL_FILLSEQ,            /* key of op i = i */
    WL_MIX,                /* random operations drawn from a mix */
    WL_READSEQ,            /* one cursor walk per worker */
    WL_READWHILEWRITING,   /* WL_MIX readers + one background writer */
    WL_MULTIREAD,          /* gets in batches of --batch (target multi_get) */
    WL_COMPACT,            /* one full compaction, run by the main thread */
};

/* Operations a mix draws from. */
enum op_kind { OP_READ, OP_UPDATE, OP_INSERT, OP_SCAN, OP_RMW, OP_NKINDS };

/* Latency / count classes: each is its own histogram.  The job's headline
 * figures merge every class but CLASS_BGWRITE. */
enum op_class { CLASS_READ, CLASS_WRITE, CLASS_SCAN, CLASS_RMW, CLASS_BGWRITE, NCLASS };

const char *op_class_name(int cls);

typedef struct workload {
    const char *name;
    int kind;                   /* enum workload_kind */
    uint8_t pct[OP_NKINDS];     /* WL_MIX: percent of each op_kind */
    int dist;                   /* default key distribution */
    bool counted_by_num;        /* fills: --num ops, else --reads */
    bool scan_fixed;            /* scans read 1 + --seek-nexts entries (else
                                   uniform 1..--scan-length, as YCSB E) */
    bool mixed_read_pct;        /* "mixed": pct comes from --read-pct */
    const char *help;
} workload;

/* The workload named s ("ycsb-a", "ycsb_a" and "ycsba" are one), or NULL. */
const workload *workload_find(const char *s);

/* Every workload, for --help. */
const workload *workload_list(size_t *n);

/* Cumulative thresholds out of 100 for drawing an op_kind. */
typedef struct op_mix {
    uint8_t cum[OP_NKINDS];
} op_mix;

/* The mix of w (read_pct: --read-pct, used by "mixed").  A workload
 * without a mix (fills, readseq) gets 100% OP_UPDATE. */
void workload_mix(const workload *w, int read_pct, op_mix *m);

static inline int mix_pick(const op_mix *m, bench_rng *r)
{
    uint64_t u = rng_below(r, 100);
    for (int k = 0; k < OP_NKINDS - 1; k++)
        if (u < m->cum[k])
            return k;
    return OP_NKINDS - 1;
}

/* The histogram class an op_kind is counted in. */
static inline int op_class_of(int kind)
{
    static const int map[OP_NKINDS] = { CLASS_READ, CLASS_WRITE, CLASS_WRITE, CLASS_SCAN,
                                        CLASS_RMW };
    return map[kind];
}

/* true when the workload writes (so --sync matters and it needs a
 * writable database). */
bool workload_writes(const workload *w, int read_pct);

#endif
