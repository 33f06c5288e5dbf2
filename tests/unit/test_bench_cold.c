/* test_bench_cold.c — lsmbench's out-of-memory case (bench/cold.h), the
 * parts that need neither root nor a cgroup: the configuration checks
 * (target in this process, the 4x size rule, room for the engine's own
 * memory), the database stamp (what it records, where it lives, reuse
 * only on an exact match) and finding the memory controller in
 * /proc/self/mounts text (v1 preferred, v2 as fallback). */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_config.h"
#include "cold.h"

static bench_config cold_cfg(void)
{
    bench_config c;
    bench_config_init(&c);
    c.cold = true;
    c.num = 5000000;
    c.value_size = 500;
    snprintf(c.target, sizeof c.target, "embedded:/tmp/db");
    return c;
}

static void test_check_config(void **state)
{
    (void)state;
    char err[512];
    bench_config c = cold_cfg();
    assert_int_equal(cold_check_config(&c, err, sizeof err), 0);

    /* Exactly 4 x cold-memory passes; one key less does not. */
    c.cold_memory = 512u << 20;
    c.key_size = 16;
    c.value_size = 1008; /* 1 KiB a key */
    c.num = 4u * 512 * 1024;
    assert_int_equal(cold_check_config(&c, err, sizeof err), 0);
    c.num--;
    assert_int_equal(cold_check_config(&c, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "4 x cold-memory"));
    /* Without --cold nothing is checked. */
    c.cold = false;
    assert_int_equal(cold_check_config(&c, err, sizeof err), 0);

    /* A daemon is not in this process's cgroup. */
    c = cold_cfg();
    snprintf(c.target, sizeof c.target, "lsmd:/tmp/sock");
    assert_int_equal(cold_check_config(&c, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "not in this process"));
    snprintf(c.target, sizeof c.target, "rocksdb:/tmp/r");
    assert_int_equal(cold_check_config(&c, err, sizeof err), 0);

    /* The cgroup must hold memtables + cache + 64 MiB, else the OOM killer
     * ends the run instead of the reads going to disk. */
    c = cold_cfg();
    c.cold_memory = 300u << 20; /* 64M x 3 + 64M + 64M = 320 MiB needed */
    assert_int_equal(cold_check_config(&c, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "320 MiB"));
    c.cold_memory = 320u << 20;
    assert_int_equal(cold_check_config(&c, err, sizeof err), 0);
    c.cold_memory = 32u << 20;
    assert_int_equal(cold_check_config(&c, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "64 MiB"));
}

static void test_stamp(void **state)
{
    (void)state;
    char *dir = th_tempdir("benchcold");
    bench_config c = cold_cfg();
    snprintf(c.target, sizeof c.target, "embedded:%s/db/", dir);

    char path[BENCH_PATH_MAX + 32], want[BENCH_PATH_MAX + 32];
    assert_int_equal(cold_stamp_path(c.target, path, sizeof path), 0);
    snprintf(want, sizeof want, "%s/db.lsmbench-cold", dir);
    assert_string_equal(path, want); /* beside DIR, trailing '/' ignored */
    assert_int_equal(cold_stamp_path(c.target, path, 8), -ENAMETOOLONG);

    char text[512];
    int n = cold_stamp_format(&c, text, sizeof text);
    assert_true(n > 0);
    assert_non_null(strstr(text, "target=embedded\n"));
    assert_non_null(strstr(text, "num=5000000\n"));
    assert_non_null(strstr(text, "value_size=500\n"));
    assert_int_equal(cold_stamp_format(&c, text, 10), -ENOSPC);

    assert_false(cold_stamp_matches(&c)); /* none yet */
    assert_int_equal(cold_stamp_write(&c), 0);
    assert_true(cold_stamp_matches(&c));
    /* Settings that change what is on disk make it not match; those that
     * only change how it is read do not. */
    bench_config d = c;
    d.value_size = 400;
    assert_false(cold_stamp_matches(&d));
    d = c;
    d.bloom_bits = 0;
    assert_false(cold_stamp_matches(&d));
    d = c;
    snprintf(d.target, sizeof d.target, "rocksdb:%s/db", dir);
    assert_false(cold_stamp_matches(&d));
    d = c;
    d.batch = 7;
    d.cache_bytes = 1u << 20;
    d.cold_memory = 1u << 30;
    assert_true(cold_stamp_matches(&d));

    assert_int_equal(cold_stamp_remove(&c), 0);
    assert_false(cold_stamp_matches(&c));
    assert_int_equal(cold_stamp_remove(&c), 0); /* already gone */
    th_rmrf_free(dir);
}

static void test_find_memcg(void **state)
{
    (void)state;
    char dir[256];
    bool v2 = true;
    /* This machine's shape: v1 controllers, one each, plus a v2 tree. */
    const char *mixed = "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
                        "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n"
                        "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
                        "cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n"
                        "cgroup /sys/fs/cgroup/blkio cgroup rw,relatime,blkio 0 0";
    assert_int_equal(cold_find_memcg(mixed, dir, sizeof dir, &v2), 0);
    assert_string_equal(dir, "/sys/fs/cgroup/memory");
    assert_false(v2);

    /* "memory" must be a whole option, not part of one. */
    const char *v2only = "cgroup /sys/fs/cgroup/x cgroup rw,memory_pressure 0 0\n"
                         "cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate,memory_recursiveprot 0 0\n";
    assert_int_equal(cold_find_memcg(v2only, dir, sizeof dir, &v2), 0);
    assert_string_equal(dir, "/sys/fs/cgroup");
    assert_true(v2);

    assert_int_equal(cold_find_memcg("proc /proc proc rw 0 0\n", dir, sizeof dir, &v2), -ENOENT);
    assert_int_equal(cold_find_memcg("", dir, sizeof dir, &v2), -ENOENT);
    assert_int_equal(cold_find_memcg(mixed, dir, 5, &v2), -ENAMETOOLONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_config),
        cmocka_unit_test(test_stamp),
        cmocka_unit_test(test_find_memcg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
