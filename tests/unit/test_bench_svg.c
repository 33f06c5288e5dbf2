/* test_bench_svg.c — lsmbench's statistics reading and pictures:
 * json_scan on nested objects, escapes and arrays; the event log keeping
 * events across snapshots and cutting a time window; the compaction
 * schedule drawn from hand-written events, from the daemon's wrapper and
 * from a real engine's lsm_stats_json; the latency chart; the summary
 * figures read from the stats; RocksDB's LOG events turned into ours. */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_log.h"
#include "viz/json_scan.h"
#include "lsm.h"
#include "rocksdb_log.h"
#include "svg_latency.h"
#include "viz/svg_schedule.h"
#include "target.h"

static const char k_stats[] =
    "{\"io_backend\":\"uring\",\"levels\":[{\"level\":0,\"files\":2}],"
    "\"name\":\"a \\\"quoted\\\" {brace] \\\\ x\",\"write_amplification\":2.500,"
    "\"space_amplification\":1.250,\"bytes\":{\"user\":100,\"tables\":12345},"
    "\"stalls\":{\"stops\":2,\"stop_us\":1500000,\"slowdowns\":3,\"slowdown_us\":500000},"
    "\"block_cache\":{\"hits\":90,\"misses\":10,\"hit_rate\":0.9000},"
    "\"events\":["
    "{\"id\":1,\"kind\":\"flush\",\"reason\":\"memtable full\",\"style\":\"leveled\","
    "\"input_levels\":0,\"output_level\":0,\"start_us\":1000000,\"end_us\":1200000,"
    "\"files_in\":0,\"files_out\":1,\"bytes_in\":0,\"bytes_out\":4194304,\"status\":0},"
    "{\"id\":2,\"kind\":\"compaction\",\"reason\":\"l0 files\",\"style\":\"leveled\","
    "\"input_levels\":3,\"output_level\":1,\"start_us\":1300000,\"end_us\":2300000,"
    "\"files_in\":5,\"files_out\":4,\"bytes_in\":20971520,\"bytes_out\":18874368,\"status\":0},"
    "{\"id\":3,\"kind\":\"compaction\",\"reason\":\"runs\",\"style\":\"tiered\","
    "\"input_levels\":6,\"output_level\":2,\"start_us\":1500000,\"end_us\":0,"
    "\"files_in\":3,\"files_out\":0,\"bytes_in\":9000000,\"bytes_out\":0,\"status\":0},"
    "{\"id\":4,\"kind\":\"compaction\",\"reason\":\"l0 files\",\"style\":\"leveled\","
    "\"input_levels\":1,\"output_level\":1,\"start_us\":1400000,\"end_us\":1900000,"
    "\"files_in\":1,\"files_out\":0,\"bytes_in\":1,\"bytes_out\":0,\"status\":-5}"
    "]}";

static void test_json_scan(void **state)
{
    (void)state;
    double d;
    assert_true(json_number(json_get(k_stats, "write_amplification"), &d));
    assert_true(d == 2.5);
    assert_true(json_num_or(k_stats, "stalls.stop_us", -1) == 1500000);
    assert_true(json_num_or(k_stats, "bytes.tables", -1) == 12345);
    assert_true(json_num_or(k_stats, "bytes.nope", -1) == -1);
    assert_true(json_num_or(k_stats, "io_backend", -1) == -1); /* a string */
    char s[64];
    assert_true(json_string(json_get(k_stats, "name"), s, sizeof s));
    assert_string_equal(s, "a \"quoted\" {brace] \\ x");
    assert_true(json_string(json_get(k_stats, "io_backend"), s, 3)); /* truncated */
    assert_string_equal(s, "ur");
    /* A member after a string holding brackets is still found. */
    assert_non_null(json_get(k_stats, "events"));
    int n = 0;
    for (const char *e = json_array_first(json_get(k_stats, "events")); e; e = json_array_next(e))
        n++;
    assert_int_equal(n, 4);
    assert_null(json_array_first("[ ]"));
    assert_null(json_get("[1,2]", "x"));
    assert_null(json_skip("{\"a\":[1,2"));
    /* json_find looks at any depth: the daemon wraps the engine's object. */
    const char *wrapped = "{\"daemon\":{\"pid\":1},\"engine\":{\"x\":{\"events\":[1]}}}";
    assert_non_null(json_find(wrapped, "events"));
    assert_true(json_num_or(wrapped, "daemon.pid", 0) == 1);
    assert_null(json_find(wrapped, "nothing"));
}

static void test_summary(void **state)
{
    (void)state;
    db_summary s = { 0 };
    assert_int_equal(target_summary_from_json(k_stats, &s), 0);
    assert_true(s.write_amp == 2.5);
    assert_true(s.space_amp == 1.25);
    assert_true(s.stall_s == 2.0);
    assert_int_equal(s.stall_stops, 2);
    assert_int_equal(s.stall_slowdowns, 3);
    assert_true(s.cache_hit_rate == 0.9);
    assert_int_equal(s.have, HAVE_WA | HAVE_SA | HAVE_STALL | HAVE_CACHE);
    char *wrapped;
    assert_true(asprintf(&wrapped, "{\"engine\":%s,\"daemon\":{}}", k_stats) > 0);
    db_summary w = { 0 };
    assert_int_equal(target_summary_from_json(wrapped, &w), 0);
    assert_true(w.write_amp == 2.5);
    free(wrapped);
    assert_int_equal(target_summary_from_json("{\"x\":1}", &w), -EINVAL);
}

static void test_event_log(void **state)
{
    (void)state;
    event_log l;
    event_log_init(&l);
    assert_int_equal(event_log_add_json(&l, k_stats), 4);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.v[2].end_us, 0); /* id 3 still running */
    /* A later snapshot: event 3 finished, event 5 new, event 1 dropped
     * from the engine's ring (the log keeps it). */
    const char *later =
        "{\"events\":[{\"id\":3,\"kind\":\"compaction\",\"start_us\":1500000,"
        "\"end_us\":2600000},{\"id\":5,\"kind\":\"flush\",\"start_us\":9000000,"
        "\"end_us\":9100000}]}";
    assert_int_equal(event_log_add_json(&l, later), 2);
    assert_int_equal(l.n, 5);
    assert_int_equal(l.v[2].id, 3);
    assert_int_equal(l.v[2].end_us, 2600000);
    char *w = event_log_window_json(&l, 2000000, 3000000);
    assert_non_null(w);
    /* Events overlapping [2 s, 3 s]: 2 (ends 2.3 s) and 3 (ends 2.6 s). */
    int n = 0;
    for (const char *e = json_array_first(json_get(w, "events")); e; e = json_array_next(e)) {
        double id;
        assert_true(json_number(json_get(e, "id"), &id));
        assert_true(id == 2 || id == 3);
        n++;
    }
    assert_int_equal(n, 2);
    free(w);
    w = event_log_window_json(&l, 50000000, 60000000);
    assert_string_equal(w, "{\"events\":[]}");
    free(w);
    event_log_free(&l);
}

static char *draw(const char *json, int *rc, const svg_schedule_opts *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    *rc = svg_compaction_schedule_ex(json, f, o);
    fclose(f);
    return buf;
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

static void test_schedule(void **state)
{
    (void)state;
    int rc;
    char *svg = draw(k_stats, &rc, NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(svg, "<svg"));
    assert_non_null(strstr(svg, "</svg>"));
    assert_int_equal(count(svg, "<g><title>"), 4);          /* one bar per event */
    assert_non_null(strstr(svg, ">L0</text>"));              /* lanes L0..L2 */
    assert_non_null(strstr(svg, ">L2</text>"));
    assert_non_null(strstr(svg, "20M\xe2\x86\x92" "18M"));   /* in -> out label */
    assert_non_null(strstr(svg, "fill=\"url(#hatch)\""));    /* tiered is hatched */
    assert_non_null(strstr(svg, "stroke=\"#d0021b\""));      /* the failed one */
    assert_non_null(strstr(svg, "stroke-dasharray"));        /* the running one */
    assert_non_null(strstr(svg, "L0+L1 -&gt; L1"));          /* hover text */
    assert_non_null(strstr(svg, "1 flushes (4.0M written), 3 compactions"));
    free(svg);
    /* Overlapping events in one lane get separate rows: 2 and 4 overlap
     * in L1, so L1's lane is two rows high (bars at two y positions). */
    /* The daemon's wrapper works the same; text without events does not. */
    char *wrapped;
    assert_true(asprintf(&wrapped, "{\"engine\":%s}", k_stats) > 0);
    svg = draw(wrapped, &rc, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(count(svg, "<g><title>"), 4);
    free(svg);
    free(wrapped);
    svg = draw("{\"engine\":{}}", &rc, NULL);
    assert_int_equal(rc, -EINVAL);
    free(svg);
    svg = draw("{\"events\":[]}", &rc, NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(svg, "no flush or compaction"));
    free(svg);
    /* The plain entry point lsmctl uses. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(svg_compaction_schedule(k_stats, f), 0);
    fclose(f);
    assert_true(len > 1000);
    free(buf);
}

static void test_schedule_from_engine(void **state)
{
    (void)state;
    char *dir = th_tempdir("benchsvg");
    lsm_options o;
    lsm_options_init(&o);
    o.memtable_bytes = 64 << 10;
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    char key[16], val[100];
    memset(val, 'v', sizeof val);
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 2000; i++) {
            snprintf(key, sizeof key, "k%06d", (i * 7919 + round) % 5000);
            assert_int_equal(lsm_put(db, key, strlen(key), val, sizeof val, 0), 0);
        }
        assert_int_equal(lsm_flush(db), 0);
    }
    assert_int_equal(lsm_compact(db, -1), 0);
    char *json;
    assert_int_equal(lsm_stats_json(db, &json), 0);
    event_log l;
    event_log_init(&l);
    int n = event_log_add_json(&l, json);
    assert_true(n >= 6); /* six flushes at least, and the compaction */
    int rc;
    char *svg = draw(json, &rc, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(count(svg, "<g><title>"), n);
    assert_non_null(strstr(svg, "compaction ("));
    free(svg);
    db_summary s = { 0 };
    assert_int_equal(target_summary_from_json(json, &s), 0);
    assert_true(s.write_amp > 1.0);
    event_log_free(&l);
    lsm_free(json);
    assert_int_equal(lsm_close(db), 0);
    th_rmrf_free(dir);
}

/* EVENT_LOG_v1 lines as RocksDB 7.8 writes them (shortened), with other
 * log lines between, a job whose start is not in the file, and a torn
 * last line. */
static const char k_rocksdb_log[] =
    "2026/11/21-02:43:01.059475 7f1 [db/flush_job.cc:856] [default] [JOB 2] Flushing memtable\n"
    "2026/11/21-02:43:01.059480 7f1 EVENT_LOG_v1 {\"time_micros\": 1795228982059475, \"job\": 2, "
    "\"event\": \"flush_started\", \"num_memtables\": 1, \"num_entries\": 28020, "
    "\"total_data_size\": 3502500, \"flush_reason\": \"Write Buffer Full\"}\n"
    "2026/11/21-02:43:01.242718 7f1 EVENT_LOG_v1 {\"time_micros\": 1795228982242718, "
    "\"cf_name\": \"default\", \"job\": 2, \"event\": \"table_file_creation\", "
    "\"file_number\": 9, \"file_size\": 410500, \"table_properties\": {\"data_size\": 398041, "
    "\"comparator\": \"leveldb.BytewiseComparator\"}}\n"
    "2026/11/21-02:43:01.248391 7f1 EVENT_LOG_v1 {\"time_micros\": 1795228982248391, \"job\": 2, "
    "\"event\": \"flush_finished\", \"lsm_state\": [1, 0, 0, 0, 0, 0, 0]}\n"
    "2026/11/21-02:43:02.000000 7f1 EVENT_LOG_v1 {\"time_micros\": 1795228983000000, \"job\": 1, "
    "\"event\": \"compaction_finished\", \"output_level\": 1}\n"
    "2026/11/21-02:43:03.308763 7f2 EVENT_LOG_v1 {\"time_micros\": 1795228984308763, \"job\": 6, "
    "\"event\": \"compaction_started\", \"compaction_reason\": \"LevelL0FilesNum\", "
    "\"files_L0\": [15, 13, 11, 9], \"files_L1\": [7], \"score\": 1, "
    "\"input_data_size\": 1642326}\n"
    "2026/11/21-02:43:03.787653 7f2 EVENT_LOG_v1 {\"time_micros\": 1795228984787653, \"job\": 6, "
    "\"event\": \"compaction_finished\", \"compaction_time_micros\": 449699, "
    "\"output_level\": 1, \"num_output_files\": 1, \"total_output_size\": 1065767}\n"
    "2026/11/21-02:43:04.000000 7f2 EVENT_LOG_v1 {\"time_micros\": 1795228985000000, \"job\": 7, "
    "\"event\": \"compaction_started\", \"files_L1\": [20], \"input_data_size\": 500}\n"
    "2026/11/21-02:43:04.100000 7f2 EVENT_LOG_v1 {\"time_micros\": 1795228985100000, \"job\": 7, "
    "\"event\": \"compaction_finished\", \"output_level\": 2, \"num_output_files\": 0, "
    "\"total_output_size\": 0}\n"
    "2026/11/21-02:43:05.000000 7f1 EVENT_LOG_v1 {\"time_micros\": 1795228986000000, \"job\": 8, "
    "\"event\": \"flush_st";

static void test_rocksdb_log(void **state)
{
    (void)state;
    char *json;
    rocksdb_log_totals t;
    assert_int_equal(rocksdb_log_events(k_rocksdb_log, "leveled", &json, &t), 0);
    assert_int_equal(t.flushes, 1);
    assert_int_equal(t.flush_bytes, 410500);
    assert_int_equal(t.compactions, 2);
    assert_int_equal(t.compact_bytes, 1065767);
    const char *e = json_array_first(json_get(json, "events"));
    assert_non_null(e);
    char s[40];
    assert_true(json_string(json_get(e, "kind"), s, sizeof s));
    assert_string_equal(s, "flush");
    assert_true(json_string(json_get(e, "reason"), s, sizeof s));
    assert_string_equal(s, "Write Buffer Full");
    assert_true(json_num_or(e, "start_us", 0) == 1795228982059475.0);
    assert_true(json_num_or(e, "end_us", 0) == 1795228982248391.0);
    assert_true(json_num_or(e, "bytes_in", 0) == 3502500);
    assert_true(json_num_or(e, "files_out", 0) == 1);
    e = json_array_next(e);
    assert_true(json_num_or(e, "id", 0) == 6);
    assert_true(json_num_or(e, "input_levels", 0) == 3); /* L0 + L1 */
    assert_true(json_num_or(e, "files_in", 0) == 5);
    assert_true(json_num_or(e, "output_level", 0) == 1);
    assert_true(json_num_or(e, "bytes_out", 0) == 1065767);
    e = json_array_next(e);
    assert_true(json_string(json_get(e, "kind"), s, sizeof s));
    assert_string_equal(s, "move"); /* inputs, no output */
    assert_null(json_array_next(e)); /* job 1 had no start, job 8 is torn */
    int rc;
    char *svg = draw(json, &rc, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(count(svg, "<g><title>"), 3);
    free(svg);
    free(json);
    assert_int_equal(rocksdb_log_events("", "tiered", &json, &t), 0);
    assert_string_equal(json, "{\"events\":[]}");
    free(json);
}

static void test_latency_chart(void **state)
{
    (void)state;
    timeline_point p[6] = {
        { 0, 1000, 2000, 20000, 30000 }, { 1, 1200, 2100, 18000, 25000 },
        { 2, 900, 2500, 50000, 90000 },  { 5, 50, 3000, 900000, 1000000 },
        { 6, 1100, 2000, 19000, 21000 }, { 7, 1000, 1900, 17000, 20000 },
    };
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    svg_latency_opts o = { .title = "t <&>", .subtitle = "s" };
    assert_int_equal(svg_latency_chart(p, 6, f, &o), 0);
    fclose(f);
    assert_non_null(strstr(buf, "t &lt;&amp;&gt;"));
    assert_int_equal(count(buf, "<polyline"), 2 * 2); /* two runs x p50/p99 */
    assert_int_equal(count(buf, "nothing completed for"), 1); /* the 3-4 gap */
    assert_non_null(strstr(buf, "</svg>"));
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &len);
    assert_int_equal(svg_latency_chart(NULL, 0, f, NULL), 0);
    fclose(f);
    assert_non_null(strstr(buf, "no operations recorded"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_scan),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_event_log),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_schedule_from_engine),
        cmocka_unit_test(test_rocksdb_log),
        cmocka_unit_test(test_latency_chart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
