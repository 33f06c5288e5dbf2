/*
 * bench_config.h — lsmbench's settings: one key set shared by command-line
 * flags and fio-like INI job files.
 *
 *   lsmbench [--KEY[=VALUE] | --KEY VALUE ...] [JOBFILE.ini]
 *
 * A key is spelled with '-' or '_' (--key-size == key_size).  Values:
 *   sizes  (memtable-bytes, cache-bytes, block-bytes, key-size,
 *           value-size):  bytes, with an optional K, M or G (x 1024)
 *   counts (num, reads):  with an optional k, m or g (x 1000)
 *   duration:             seconds, or with a suffix ms, s, m, h
 *   booleans:             1/0, true/false, yes/no, on/off; a bare --flag is 1
 *
 * Job files (fio style): a [global] section and any number of job
 * sections, one job each, run in file order on one database per target:
 *
 *   [global]
 *   target = embedded:/tmp/db
 *   num = 1000000
 *   [load]
 *   benchmarks = fillrandom
 *   [run]
 *   benchmarks = ycsb-a,ycsb-b
 *   threads = 4
 *
 * Precedence, lowest first: built-in defaults, the file's [global], the
 * command-line flags (they act as global options, as fio's do), then each
 * job's own section.  output-format, svg-dir, progress and (repeated)
 * target on the command line are global: --target given several times
 * runs every job against each target in turn and ends with a comparison
 * table.
 *
 * Thread safety: none needed (parsed once, before anything runs).
 */
#ifndef BENCH_CONFIG_H
#define BENCH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_MAX_TARGETS 8
#define BENCH_PATH_MAX 1024

enum bench_format { FMT_TEXT, FMT_JSON };

/* Bits of bench_config.explicit_mask: engine settings the user gave (the
 * lsmd target applies only these, at run time, to a running daemon). */
#define SET_MEMTABLE (1u << 0)
#define SET_CACHE (1u << 1)
#define SET_STYLE (1u << 2)
#define SET_COMPACTION_THREADS (1u << 3)
#define SET_BLOOM (1u << 4)

typedef struct bench_config {
    char name[64];                 /* job name: the section's, or --name; "" = none */
    char target[BENCH_PATH_MAX];   /* "embedded:DIR", "rocksdb:DIR", "lsmd:SOCKET" */
    char benchmarks[512];          /* comma list of workloads, run in order */
    uint64_t num;                  /* key space; ops of fills (default 1000000) */
    uint64_t reads;                /* ops of other jobs; 0 = num */
    double duration;               /* seconds per job; 0 = by count */
    uint32_t key_size;             /* default 16 */
    uint32_t value_size;           /* default 100 */
    int clients;                   /* processes (lsmd only), default 1 */
    int threads;                   /* workers per client, default 1 */
    int iodepth;                   /* requests in flight per worker (lsmd) */
    bool sync;                     /* writes with LSM_SYNC */
    uint64_t seed;                 /* default 1 */
    int distribution;              /* enum bench_dist; DIST_DEFAULT = workload's */
    double zipf_theta;             /* default 0.99 */
    bool zipf_scramble;            /* default 1 */
    int read_pct;                  /* "mixed", default 50 */
    int seek_nexts;                /* seekrandom, default 10 */
    int scan_length;               /* ycsb-e max scan length, default 100 */
    int batch;                     /* multireadrandom: keys per multi-get (32) */
    /* The out-of-memory case (cold.h): build or reuse a database of at
     * least COLD_RATIO x cold_memory, run this process under a memory
     * cgroup of cold_memory bytes, drop the page cache before each
     * workload. */
    bool cold;
    uint64_t cold_memory;          /* default 512 MiB */
    char cold_mode[16];            /* "cgroup" (default): buffered engine in a
                                      memory cgroup; "direct": direct I/O, no
                                      cgroup (implies direct_io) */
    bool direct_io;                /* engine use_direct_io; RocksDB direct
                                      reads and flush/compaction writes */
    /* Database settings, mapped onto every target (see docs/benchmarking.md) */
    uint64_t memtable_bytes;       /* default 64 MiB */
    uint64_t cache_bytes;          /* block cache, default 64 MiB */
    uint64_t block_bytes;          /* default 4 KiB */
    int bloom_bits;                /* default 10; 0 = none */
    int max_immutable;             /* frozen memtables before write stop, 2 */
    int compaction_threads;        /* default 1 */
    char compaction_style[16];     /* leveled | tiered */
    bool use_existing;             /* keep the database (default: start empty) */
    bool statistics;               /* rocksdb: enable its statistics (needed
                                      for its cache hit rate; costs a little) */
    uint32_t explicit_mask;        /* SET_* given by the user */
} bench_config;

/* What applies to the whole run. */
typedef struct bench_global {
    int format;                    /* FMT_TEXT (default) | FMT_JSON */
    char svg_dir[BENCH_PATH_MAX];  /* "" = no pictures */
    int progress;                  /* -1 auto (a terminal and text), 0, 1 */
    int ntargets;                  /* --target given this many times */
    char targets[BENCH_MAX_TARGETS][BENCH_PATH_MAX];
} bench_global;

typedef struct bench_plan {
    bench_global g;
    bench_config *jobs;            /* malloc'd */
    size_t njobs;
} bench_plan;

/* Whether the job runs the engine with direct I/O (--direct-io, or
 * --cold-mode direct). */
static inline bool bench_direct_io(const bench_config *c)
{
    return c->direct_io || (c->cold && c->cold_mode[0] == 'd');
}

void bench_config_init(bench_config *c);
void bench_global_init(bench_global *g);

/* Sets one key from text.  global may be NULL (a job section: global-only
 * keys are then refused).  Errors: -EINVAL with a message in err (unknown
 * key, bad value), -ENOENT for an unknown key (also with a message). */
int bench_config_set(bench_config *c, bench_global *g, const char *key, const char *value,
                     char *err, size_t errcap);

/* Checks a finished job (ranges, known workloads, a target); errors
 * -EINVAL with a message. */
int bench_config_check(const bench_config *c, char *err, size_t errcap);

/* Parses argv (flags and at most one job file) into plan.  Returns 0, 1
 * when --help or --list was printed to stdout, or -EINVAL / -ENOENT /
 * -ENOMEM with a message in err. */
int bench_plan_parse(bench_plan *plan, int argc, char **argv, char *err, size_t errcap);
void bench_plan_free(bench_plan *plan);

/* Value parsers (exposed for tests).  0 or -EINVAL. */
int bench_parse_size(const char *s, uint64_t *out);   /* K/M/G = 1024^k */
int bench_parse_count(const char *s, uint64_t *out);  /* k/m/g = 1000^k */
int bench_parse_duration(const char *s, double *out); /* seconds */
int bench_parse_bool(const char *s, bool *out);

void bench_usage(FILE *f);

/* The i-th key of the table (0, 1, ... until NULL) and c's value for it as
 * text in buf (numbers plain, sizes in bytes, booleans true/false), for the
 * JSON report's record of a run's options; *is_string says whether the
 * value is text to quote.  Returns "" for a key of the whole run (format,
 * svg-dir, progress: bench_global), which the caller skips. */
const char *bench_config_key(size_t i, char *buf, size_t cap, const bench_config *c,
                             bool *is_string);

#endif
