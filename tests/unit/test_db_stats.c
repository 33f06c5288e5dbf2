/*
 * test_db_stats.c — lsm_stats_json while other threads write and read.
 *
 * The latency histograms are recorded with relaxed atomics by every reader
 * and writer; lsm_stats_json must read them through private copies.  Under
 * SAN=thread a plain read of a histogram being recorded is a reported race
 * (CI caught one through the daemon).  Once the workers have joined, the
 * counts the JSON reports must equal the operations done.
 */
#include "helpers.h"

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

static void test_stats_while_busy(void **state)
{
    (void)state;
    char *dir = th_tempdir("stats");
    lsm_options o;
    lsm_options_init(&o);
    o.memtable_bytes = 64 * 1024; /* flushes happen meanwhile */
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);

    atomic_store(&workers_done, 0);
    pthread_t t[WORKERS];
    worker_arg args[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        args[i] = (worker_arg){ db, i };
        assert_int_equal(pthread_create(&t[i], NULL, worker, &args[i]), 0);
    }
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_while_busy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
