/* test_bench_config.c — lsmbench's flags and fio-like job files
 * (bench/bench_config.h): value parsers, key spellings, precedence
 * (defaults < [global] < command line < [job]), global-only keys, errors
 * with line numbers, and the checks run before anything starts; --help
 * names every target (lmdb:DIR too), --version, and the JSON report
 * records the run's options. */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_config.h"
#include "keygen.h"
#include "lsm.h" /* LSM_VERSION */
#include "report.h"

/* argc counts argv[0] too, as main's does. */
static int parse(bench_plan *p, char *err, size_t cap, int argc, ...)
{
    char *argv[64];
    va_list ap;
    va_start(ap, argc);
    argv[0] = "lsmbench";
    for (int i = 1; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    argv[argc] = NULL;
    return bench_plan_parse(p, argc, argv, err, cap);
}

static void test_value_parsers(void **state)
{
    (void)state;
    uint64_t u;
    assert_int_equal(bench_parse_size("4096", &u), 0);
    assert_int_equal(u, 4096);
    assert_int_equal(bench_parse_size("64M", &u), 0);
    assert_int_equal(u, 64u << 20);
    assert_int_equal(bench_parse_size("8k", &u), 0);
    assert_int_equal(u, 8192);
    assert_int_equal(bench_parse_size("1GiB", &u), 0);
    assert_int_equal(u, 1u << 30);
    assert_int_equal(bench_parse_size("1.5K", &u), 0);
    assert_int_equal(u, 1536);
    assert_int_equal(bench_parse_count("1m", &u), 0);
    assert_int_equal(u, 1000000);
    assert_int_equal(bench_parse_count("2.5k", &u), 0);
    assert_int_equal(u, 2500);
    assert_int_equal(bench_parse_size("-1", &u), -EINVAL);
    assert_int_equal(bench_parse_size("12Q", &u), -EINVAL);
    assert_int_equal(bench_parse_size("", &u), -EINVAL);
    assert_int_equal(bench_parse_count("0.5", &u), -EINVAL); /* not whole */
    double d;
    assert_int_equal(bench_parse_duration("30", &d), 0);
    assert_true(d == 30);
    assert_int_equal(bench_parse_duration("250ms", &d), 0);
    assert_true(d == 0.25);
    assert_int_equal(bench_parse_duration("2m", &d), 0);
    assert_true(d == 120);
    assert_int_equal(bench_parse_duration("1h", &d), 0);
    assert_true(d == 3600);
    assert_int_equal(bench_parse_duration("3 days", &d), -EINVAL);
    bool b;
    assert_int_equal(bench_parse_bool("yes", &b), 0);
    assert_true(b);
    assert_int_equal(bench_parse_bool("OFF", &b), 0);
    assert_false(b);
    assert_int_equal(bench_parse_bool("maybe", &b), -EINVAL);
}

static void test_set_keys(void **state)
{
    (void)state;
    bench_config c;
    bench_global g;
    bench_config_init(&c);
    bench_global_init(&g);
    char err[256];
    assert_int_equal(c.num, 1000000);
    assert_int_equal(c.key_size, 16);
    assert_int_equal(c.value_size, 100);
    assert_true(c.zipf_theta == 0.99);
    assert_int_equal(bench_config_set(&c, &g, "key_size", "24", err, sizeof err), 0);
    assert_int_equal(bench_config_set(&c, &g, "value-size", "1K", err, sizeof err), 0);
    assert_int_equal(c.key_size, 24);
    assert_int_equal(c.value_size, 1024);
    assert_int_equal(bench_config_set(&c, &g, "distribution", "latest", err, sizeof err), 0);
    assert_int_equal(c.distribution, DIST_LATEST);
    assert_int_equal(bench_config_set(&c, &g, "sync", NULL, err, sizeof err), 0);
    assert_true(c.sync);
    assert_int_equal(bench_config_set(&c, &g, "memtable-bytes", "4M", err, sizeof err), 0);
    assert_true(c.explicit_mask & SET_MEMTABLE);
    assert_false(c.explicit_mask & SET_CACHE);
    assert_int_equal(bench_config_set(&c, &g, "no-such-key", "1", err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "no-such-key"));
    assert_int_equal(bench_config_set(&c, &g, "threads", "0", err, sizeof err), -EINVAL);
    assert_int_equal(bench_config_set(&c, &g, "threads", "4x", err, sizeof err), -EINVAL);
    assert_int_equal(bench_config_set(&c, &g, "read-pct", "101", err, sizeof err), -EINVAL);
    assert_int_equal(bench_config_set(&c, &g, "output-format", "json", err, sizeof err), 0);
    assert_int_equal(g.format, FMT_JSON);
    assert_int_equal(bench_config_set(&c, &g, "output-format", "xml", err, sizeof err), -EINVAL);
    /* multireadrandom's batch: 32 by default, 1..65536. */
    assert_int_equal(c.batch, 32);
    assert_int_equal(bench_config_set(&c, &g, "batch", "128", err, sizeof err), 0);
    assert_int_equal(c.batch, 128);
    assert_int_equal(bench_config_set(&c, &g, "batch", "0", err, sizeof err), -EINVAL);
    assert_int_equal(bench_config_set(&c, &g, "batch", "65537", err, sizeof err), -EINVAL);
    /* --cold and its memory (a size). */
    assert_false(c.cold);
    assert_int_equal(c.cold_memory, 512u << 20);
    assert_int_equal(bench_config_set(&c, &g, "cold", NULL, err, sizeof err), 0);
    assert_true(c.cold);
    assert_int_equal(bench_config_set(&c, &g, "cold_memory", "1G", err, sizeof err), 0);
    assert_int_equal(c.cold_memory, 1u << 30);
    /* Global-only keys are refused in a job section (g == NULL). */
    assert_int_equal(bench_config_set(&c, NULL, "svg-dir", "/tmp", err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "global"));
}

static void test_command_line(void **state)
{
    (void)state;
    bench_plan p;
    char err[256];
    int rc = parse(&p, err, sizeof err, 14, "--num=1k", "--threads", "4", "--sync",
                   "--benchmarks", "ycsb-a,ycsb_b", "--target", "embedded:/x", "--target",
                   "rocksdb:/y", "--output-format", "json", "--zipf-theta=0.8");
    assert_int_equal(rc, 0);
    assert_int_equal(p.njobs, 1);
    bench_config *c = &p.jobs[0];
    assert_int_equal(c->num, 1000);
    assert_int_equal(c->threads, 4);
    assert_true(c->sync);
    assert_true(c->zipf_theta == 0.8);
    assert_string_equal(c->benchmarks, "ycsb-a,ycsb_b");
    assert_string_equal(c->name, "");
    assert_int_equal(p.g.ntargets, 2);
    assert_string_equal(p.g.targets[1], "rocksdb:/y");
    assert_string_equal(c->target, "embedded:/x");
    assert_int_equal(p.g.format, FMT_JSON);
    bench_plan_free(&p);

    /* A bare bool followed by a value-taking flag; --sync 0 consumes 0. */
    assert_int_equal(parse(&p, err, sizeof err, 5, "--sync", "0", "--iodepth", "8"), 0);
    assert_false(p.jobs[0].sync);
    assert_int_equal(p.jobs[0].iodepth, 8);
    bench_plan_free(&p);

    assert_int_equal(parse(&p, err, sizeof err, 2, "--bogus"), -ENOENT);
    assert_int_equal(parse(&p, err, sizeof err, 2, "--threads"), -EINVAL);
    assert_non_null(strstr(err, "needs a value"));
    assert_int_equal(parse(&p, err, sizeof err, 3, "--benchmarks", "fillrandom,nope"), -EINVAL);
    assert_non_null(strstr(err, "nope"));
    assert_int_equal(parse(&p, err, sizeof err, 3, "--zipf-theta", "1.0"), -EINVAL);
    /* 8-digit key numbers do not fit 4-byte keys. */
    assert_int_equal(parse(&p, err, sizeof err, 5, "--num", "10m", "--key-size", "4"), -EINVAL);
    assert_non_null(strstr(err, "key-size"));
    assert_int_equal(parse(&p, err, sizeof err, 3, "--target", "nocolon"), -EINVAL);
    assert_int_equal(parse(&p, err, sizeof err, 3, "a.ini", "b.ini"), -EINVAL);
    assert_int_equal(parse(&p, err, sizeof err, 8, "--cold", "--num", "5m", "--value-size", "500",
                           "--batch", "64"),
                     0);
    assert_true(p.jobs[0].cold);
    assert_int_equal(p.jobs[0].batch, 64);
    assert_string_equal(p.jobs[0].cold_mode, "cgroup");
    assert_false(bench_direct_io(&p.jobs[0]));
    bench_plan_free(&p);
    /* --cold-mode direct implies direct I/O; other modes are refused. */
    assert_int_equal(parse(&p, err, sizeof err, 4, "--cold", "--cold-mode", "direct"), 0);
    assert_true(bench_direct_io(&p.jobs[0]));
    bench_plan_free(&p);
    assert_int_equal(parse(&p, err, sizeof err, 3, "--cold-mode", "tmpfs"), -EINVAL);
    assert_non_null(strstr(err, "cold-mode"));
    assert_int_equal(parse(&p, err, sizeof err, 2, "--direct-io"), 0);
    assert_true(bench_direct_io(&p.jobs[0]));
    bench_plan_free(&p);
}

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *path;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_job_file(void **state)
{
    (void)state;
    char *dir = th_tempdir("benchcfg");
    char *path = write_file(dir, "jobs.ini",
                            "; a comment\n"
                            "[global]\n"
                            "target = embedded:/tmp/x\n"
                            "num = 2000\n"
                            "threads = 2\n"
                            "svg-dir = /tmp/pics\n"
                            "\n"
                            "[load]\n"
                            "benchmarks = fillrandom\n"
                            "\n"
                            "[run]\n"
                            "benchmarks = ycsb-a,ycsb-c\n"
                            "threads = 8\n"
                            "zipf_theta = 0.7\n");
    bench_plan p;
    char err[256];
    /* The command line overrides [global] but not the job sections. */
    assert_int_equal(parse(&p, err, sizeof err, 5, "--threads=3", "--num", "5000", path), 0);
    assert_int_equal(p.njobs, 2);
    assert_string_equal(p.jobs[0].name, "load");
    assert_string_equal(p.jobs[0].benchmarks, "fillrandom");
    assert_int_equal(p.jobs[0].threads, 3);
    assert_int_equal(p.jobs[0].num, 5000);
    assert_string_equal(p.jobs[0].target, "embedded:/tmp/x");
    assert_string_equal(p.jobs[1].name, "run");
    assert_int_equal(p.jobs[1].threads, 8);
    assert_true(p.jobs[1].zipf_theta == 0.7);
    assert_true(p.jobs[0].zipf_theta == 0.99);
    assert_string_equal(p.g.svg_dir, "/tmp/pics");
    bench_plan_free(&p);

    /* --target on the command line beats [global]'s. */
    assert_int_equal(parse(&p, err, sizeof err, 4, "--target", "rocksdb:/r", path), 0);
    assert_string_equal(p.jobs[0].target, "rocksdb:/r");
    bench_plan_free(&p);
    free(path);

    /* A bad key is reported with its line. */
    path = write_file(dir, "bad.ini", "[global]\nnum = 10\n[j]\nthreads = 2\ncolour = red\n");
    assert_int_equal(parse(&p, err, sizeof err, 2, path), -EINVAL);
    assert_non_null(strstr(err, ":5:"));
    assert_non_null(strstr(err, "colour"));
    free(path);
    /* Global-only keys belong in [global]. */
    path = write_file(dir, "glob.ini", "[j]\noutput-format = json\n");
    assert_int_equal(parse(&p, err, sizeof err, 2, path), -EINVAL);
    assert_non_null(strstr(err, "global"));
    free(path);
    /* Only a [global]: one job from it. */
    path = write_file(dir, "only.ini", "[global]\nbenchmarks = readrandom\n");
    assert_int_equal(parse(&p, err, sizeof err, 2, path), 0);
    assert_int_equal(p.njobs, 1);
    assert_string_equal(p.jobs[0].benchmarks, "readrandom");
    bench_plan_free(&p);
    free(path);
    assert_int_equal(parse(&p, err, sizeof err, 2, "/nonexistent/x.ini"), -ENOENT);
    th_rmrf_free(dir);
}

static void test_help_version_and_json_options(void **state)
{
    (void)state;
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    bench_usage(f);
    fclose(f);
    for (const char *t = "embedded:DIR\0rocksdb:DIR\0lmdb:DIR\0lsmd:SOCKET\0--version\0"; *t;
         t += strlen(t) + 1)
        if (!strstr(text, t))
            fail_msg("lsmbench --help does not mention %s", t);
    free(text);

    bench_plan p;
    char err[256];
    assert_int_equal(parse(&p, err, sizeof err, 2, "--version"), 1); /* printed; exit 0 */
    bench_plan_free(&p);

    /* The JSON report carries the version and each job's every key. */
    assert_int_equal(parse(&p, err, sizeof err, 7, "--num=1234", "--target", "lsmd:/s \"q\"",
                           "--distribution", "zipfian", "--sync"), 0);
    f = open_memstream(&text, &len);
    assert_non_null(f);
    report_json(f, NULL, 0, NULL, 0, &p);
    fclose(f);
    const char *want[] = {
        "\"version\":\"" LSM_VERSION "\"", "\"targets\":[\"lsmd:/s \\\"q\\\"\"]",
        "\"num\":1234,", "\"distribution\":\"zipfian\"", "\"sync\":true", "\"key-size\":16,",
        "\"svg-dir\":null",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(text, want[i]))
            fail_msg("the JSON report lacks %s: %s", want[i], text);
    assert_null(strstr(text, "\"output-format\"")); /* the run's, not a job's */
    free(text);
    bench_plan_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_parsers),
        cmocka_unit_test(test_set_keys),
        cmocka_unit_test(test_command_line),
        cmocka_unit_test(test_job_file),
        cmocka_unit_test(test_help_version_and_json_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
