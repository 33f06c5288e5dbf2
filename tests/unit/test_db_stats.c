/*
 * test_db_stats.c — lsm_stats_json while other threads write and read.
 *
 * The latency histograms are recorded with relaxed atomics by every reader
 * and writer; lsm_stats_json must read them through private copies.  Under
 * SAN=thread a plain read of a histogram being recorded is a reported race
 * (CI caught one through the daemon).  Once the workers have joined, the
 * counts the JSON reports must equal the operations done.  The same for
 * lsm_metrics_get (the numbers behind lsmd's Prometheus text), whose fixed
 * buckets must also stay cumulative and within the count.
 */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm.h"

enum { WORKERS = 2, OPS = 3000 };

typedef struct {
    lsm_db *db;
    int id;
} worker_arg;

static atomic_int workers_done;

static void *worker(void *p)
{
    worker_arg *a = p;
    char key[32], val[32];
    for (int i = 0; i < OPS; i++) {
        int n = snprintf(key, sizeof key, "w%d-%06d", a->id, i);
        snprintf(val, sizeof val, "v%d", i);
        assert_int_equal(lsm_put(a->db, key, (size_t)n, val, strlen(val), 0), 0);
        void *got = NULL;
        size_t got_len = 0;
        assert_int_equal(lsm_get(a->db, NULL, key, (size_t)n, &got, &got_len), 0);
        assert_int_equal(got_len, strlen(val));
        lsm_free(got);
    }
    atomic_fetch_add(&workers_done, 1);
    return NULL;
}

/* The "count" of the histogram named `name` inside "latency_ns". */
static unsigned long long latency_count(const char *json, const char *name)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\":{\"count\":", name);
    return th_json_u64(json, "\"latency_ns\":", pat);
}

/* A database with small memtables, so flushes happen meanwhile. */
static lsm_db *open_db(const char *tag, char **dir)
{
    *dir = th_tempdir(tag);
    lsm_options o;
    lsm_options_init(&o);
    o.memtable_bytes = 64 * 1024;
    lsm_db *db;
    assert_int_equal(lsm_open(*dir, &o, &db), 0);
    return db;
}

static void start_workers(lsm_db *db, pthread_t *t, worker_arg *args)
{
    atomic_store(&workers_done, 0);
    for (int i = 0; i < WORKERS; i++) {
        args[i] = (worker_arg){ db, i };
        assert_int_equal(pthread_create(&t[i], NULL, worker, &args[i]), 0);
    }
}

static void test_stats_while_busy(void **state)
{
    (void)state;
    char *dir;
    lsm_db *db = open_db("stats", &dir);
    pthread_t t[WORKERS];
    worker_arg args[WORKERS];
    start_workers(db, t, args);
    unsigned long long last_gets = 0;
    int polls = 0;
    while (atomic_load(&workers_done) < WORKERS || polls == 0) {
        char *json = NULL;
        assert_int_equal(lsm_stats_json(db, &json), 0);
        unsigned long long gets = latency_count(json, "get");
        assert_true(gets >= last_gets); /* counts never go backwards */
        assert_true(gets <= (unsigned long long)WORKERS * OPS);
        last_gets = gets;
        lsm_free(json);
        polls++;
    }
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);

    char *json = NULL;
    assert_int_equal(lsm_stats_json(db, &json), 0);
    assert_int_equal(latency_count(json, "get"), (unsigned long long)WORKERS * OPS);
    assert_int_equal(latency_count(json, "write"), (unsigned long long)WORKERS * OPS);
    lsm_free(json);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

/* Fixed buckets: ascending bounds, cumulative counts within count. */
static void check_cut(const lsm_histogram_metrics *h)
{
    assert_true(h->nbounds > 0 && h->nbounds <= LSM_METRICS_MAX_BUCKETS);
    for (int i = 0; i < h->nbounds; i++) {
        assert_true(h->le[i] <= h->count);
        if (i) {
            assert_true(h->bound[i] > h->bound[i - 1]);
            assert_true(h->le[i] >= h->le[i - 1]);
        }
    }
}

static void test_metrics_while_busy(void **state)
{
    (void)state;
    char *dir;
    lsm_db *db = open_db("metrics", &dir);
    lsm_metrics m = { .size = sizeof m - 1 };
    assert_int_equal(lsm_metrics_get(db, &m), -EINVAL); /* another build's struct */
    pthread_t t[WORKERS];
    worker_arg args[WORKERS];
    start_workers(db, t, args);
    uint64_t last_gets = 0;
    int polls = 0;
    while (atomic_load(&workers_done) < WORKERS || polls == 0) {
        m.size = sizeof m;
        assert_int_equal(lsm_metrics_get(db, &m), 0);
        assert_true(m.get_latency_ns.count >= last_gets);
        assert_true(m.get_latency_ns.count <= (uint64_t)WORKERS * OPS);
        check_cut(&m.get_latency_ns);
        check_cut(&m.write_latency_ns);
        check_cut(&m.wal_group_size);
        last_gets = m.get_latency_ns.count;
        polls++;
    }
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);

    m.size = sizeof m;
    assert_int_equal(lsm_metrics_get(db, &m), 0);
    assert_int_equal(m.size, sizeof m);
    assert_int_equal(m.gets, (uint64_t)WORKERS * OPS);
    assert_int_equal(m.get_latency_ns.count, (uint64_t)WORKERS * OPS);
    assert_int_equal(m.write_latency_ns.count, (uint64_t)WORKERS * OPS);
    assert_int_equal(m.wal_group_writes, (uint64_t)WORKERS * OPS);
    assert_int_equal(m.wal_group_size.count, m.wal_groups);
    assert_true(m.wal_group_size.sum == (double)m.wal_group_writes);
    assert_int_equal(m.last_sequence, (uint64_t)WORKERS * OPS);
    assert_true(m.flushed_bytes > 0 && m.user_bytes > 0);
    uint64_t files = 0;
    for (int l = 0; l < LSM_METRICS_LEVELS; l++)
        files += m.level_files[l];
    assert_true(files >= 1);
    assert_int_equal(m.background_error, 0);
    assert_string_equal(lsm_metrics_io_kind(0), "wal_write");
    assert_null(lsm_metrics_io_kind(LSM_METRICS_IO_KINDS));
    /* The JSON and the struct read the same counters. */
    char *json = NULL;
    assert_int_equal(lsm_stats_json(db, &json), 0);
    assert_int_equal(th_json_u64(json, "\"wal\":", "\"groups\":"), m.wal_groups);
    assert_int_equal(th_json_u64(json, "\"bytes\":", "\"flushed\":"), m.flushed_bytes);
    lsm_free(json);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_while_busy),
        cmocka_unit_test(test_metrics_while_busy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
