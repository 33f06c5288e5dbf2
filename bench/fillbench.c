/*
 * fillbench.c — a small timing program for the embedded engine until
 * lsmbench exists: fillseq and fillrandom of N puts (16-byte keys, 100-byte
 * values by default, no sync), then readrandom, in one fresh directory each.
 *
 *   build/fillbench [--num N] [--value-size B] [--dir DIR] [--sync]
 *   build/fillbench --fillsync THREADS [--seconds S] [--dir DIR]
 *
 *   build/fillbench --readonly DIR [--num N] [--reads R] [--passes P] [--cache-mb M]
 *
 * --readonly opens an existing database (say, one lsmbench filled with
 * --num N: the same key format) and runs P passes of R random gets of keys
 * in [0, N), printing each pass's rate by wall clock and by the thread's
 * CPU time: on a shared machine the second is the steadier A/B figure for
 * the read path, and the loop is a clean target for perf record.
 *
 * --fillsync runs THREADS writers doing LSM_SYNC puts for S seconds (like
 * db_bench --benchmarks=fillsync --threads=T) to measure group commit.
 *
 * Keys are formatted like db_bench's (zero-padded decimal, 16 bytes), and
 * fillrandom draws uniform random key numbers in [0, N), so the figures
 * compare with `db_bench --benchmarks=fillseq,fillrandom,readrandom
 * --num=N --key_size=16 --value_size=100 --compression_type=none`.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lsm.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

static void make_key(char *k, uint64_t n)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%016llu", (unsigned long long)n);
    memcpy(k, tmp, 16);
}

static void rmrf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* A fresh database in dir, or NULL (with a message). */
static lsm_db *open_fresh(const char *dir)
{
    rmrf(dir);
    lsm_db *db;
    int rc = lsm_open(dir, NULL, &db);
    if (rc != 0) {
        fprintf(stderr, "open %s: %s\n", dir, lsm_strerror(rc));
        return NULL;
    }
    return db;
}

static int run_fill(const char *dir, const char *name, long num, size_t vsize, int sync,
                    int random_keys, int then_read)
{
    lsm_db *db = open_fresh(dir);
    if (!db)
        return 1;
    int rc;
    char key[16];
    char *val = malloc(vsize);
    for (size_t i = 0; i < vsize; i++)
        val[i] = (char)('a' + i % 26);
    uint64_t seed = 0x1234567;
    double t0 = now_s();
    for (long i = 0; i < num; i++) {
        uint64_t n = random_keys ? rng_next(&seed) % (uint64_t)num : (uint64_t)i;
        make_key(key, n);
        memcpy(val, &n, sizeof n < vsize ? sizeof n : vsize);
        rc = lsm_put(db, key, 16, val, vsize, sync ? LSM_SYNC : 0);
        if (rc != 0) {
            fprintf(stderr, "put: %s\n", lsm_strerror(rc));
            return 1;
        }
    }
    double dt = now_s() - t0;
    printf("%-12s %10.0f ops/s  %8.2f MB/s  %7.3f us/op  (%ld ops)\n", name, num / dt,
           num * (16.0 + (double)vsize) / dt / 1e6, dt * 1e6 / num, num);
    if (then_read) {
        long found = 0;
        seed = 0x7654321;
        t0 = now_s();
        for (long i = 0; i < num; i++) {
            make_key(key, rng_next(&seed) % (uint64_t)num);
            void *v;
            size_t vn;
            if (lsm_get(db, NULL, key, 16, &v, &vn) == 0) {
                found++;
                lsm_free(v);
            }
        }
        dt = now_s() - t0;
        printf("%-12s %10.0f ops/s  %7.3f us/op  (%ld of %ld found)\n", "readrandom",
               num / dt, dt * 1e6 / num, found, num);
    }
    free(val);
    lsm_close(db);
    return 0;
}

#include <pthread.h>

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_readonly(const char *dir, long num, long reads, int passes, long cache_mb)
{
    lsm_options o;
    lsm_options_init(&o);
    o.block_cache_bytes = (size_t)cache_mb << 20;
    lsm_db *db;
    int rc = lsm_open(dir, &o, &db);
    if (rc != 0) {
        fprintf(stderr, "open %s: %s\n", dir, lsm_strerror(rc));
        return 1;
    }
    char key[16], buf[4096];
    uint64_t seed = 0x7654321;
    for (int p = 0; p < passes; p++) {
        long found = 0;
        double t0 = now_s(), c0 = thread_cpu_s();
        for (long i = 0; i < reads; i++) {
            make_key(key, rng_next(&seed) % (uint64_t)num);
            size_t vn;
            if (lsm_get_into(db, NULL, key, 16, buf, sizeof buf, &vn) == 0)
                found++;
        }
        double dt = now_s() - t0, dc = thread_cpu_s() - c0;
        printf("readrandom pass %d  %10.0f ops/s wall  %10.0f ops/cpu-s  %7.3f us/op cpu  "
               "(%ld of %ld found)\n", p + 1, reads / dt, reads / dc, dc * 1e6 / reads, found,
               reads);
    }
    lsm_close(db);
    return 0;
}

struct sync_arg {
    lsm_db *db;
    int id;
    volatile int *stop;
    long done;
};

static void *sync_writer(void *p)
{
    struct sync_arg *a = p;
    char key[16], val[100];
    memset(val, 'v', sizeof val);
    uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(a->id + 1);
    while (!*a->stop) {
        make_key(key, rng_next(&seed) % 100000000u);
        if (lsm_put(a->db, key, 16, val, sizeof val, LSM_SYNC) != 0)
            break;
        a->done++;
    }
    return NULL;
}

static int run_fillsync(const char *dir, int threads, double seconds)
{
    lsm_db *db = open_fresh(dir);
    if (!db)
        return 1;
    pthread_t t[64];
    struct sync_arg a[64];
    volatile int stop = 0;
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        a[i] = (struct sync_arg){ db, i, &stop, 0 };
        pthread_create(&t[i], NULL, sync_writer, &a[i]);
    }
    struct timespec ts = { (time_t)seconds, (long)((seconds - (long)seconds) * 1e9) };
    nanosleep(&ts, NULL);
    stop = 1;
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += a[i].done;
    }
    double dt = now_s() - t0;
    printf("fillsync     %10.0f ops/s  (%d threads, %ld synced puts in %.1f s)\n", total / dt,
           threads, total, dt);
    char *json;
    if (lsm_stats_json(db, &json) == 0) {
        const char *w = strstr(json, "\"wal\":");
        if (w)
            printf("             %.90s\n", w);
        lsm_free(json);
    }
    lsm_close(db);
    rmrf(dir);
    return 0;
}

int main(int argc, char **argv)
{
    long num = 1000000;
    size_t vsize = 100;
    int sync = 0, fillsync = 0;
    double seconds = 5;
    long reads = 1000000, cache_mb = 512;
    int passes = 3, readonly = 0;
    char dir[4096];
    snprintf(dir, sizeof dir, "/tmp/fillbench-%d", (int)getpid());
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--num") && i + 1 < argc)
            num = atol(argv[++i]);
        else if (!strcmp(argv[i], "--value-size") && i + 1 < argc)
            vsize = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            snprintf(dir, sizeof dir, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--sync"))
            sync = 1;
        else if (!strcmp(argv[i], "--fillsync") && i + 1 < argc)
            fillsync = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--readonly") && i + 1 < argc) {
            readonly = 1;
            snprintf(dir, sizeof dir, "%s", argv[++i]);
        } else if (!strcmp(argv[i], "--reads") && i + 1 < argc)
            reads = atol(argv[++i]);
        else if (!strcmp(argv[i], "--passes") && i + 1 < argc)
            passes = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cache-mb") && i + 1 < argc)
            cache_mb = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--num N] [--value-size B] [--dir DIR] [--sync]\n", argv[0]);
            return 2;
        }
    }
    if (readonly)
        return num > 0 && reads > 0 ? run_readonly(dir, num, reads, passes, cache_mb) : 2;
    if (fillsync > 0)
        return fillsync > 64 ? 2 : run_fillsync(dir, fillsync, seconds);
    if (num <= 0 || vsize < 8) {
        fprintf(stderr, "--num must be > 0 and --value-size >= 8\n");
        return 2;
    }
    int rc = run_fill(dir, "fillseq", num, vsize, sync, 0, 0);
    if (rc == 0)
        rc = run_fill(dir, "fillrandom", num, vsize, sync, 1, 1);
    rmrf(dir);
    return rc;
}
