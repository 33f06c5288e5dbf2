/*
 * numa_guest.c — NUMA placement read back from the kernel, inside a QEMU
 * guest with a real NUMA topology (tests/numa/guest.sh boots it; the host
 * side is test_numa.c).  Against a real lsmd and this process as a real
 * client; nothing is taken from the daemon's plan that the kernel can say:
 * worker CPUs from sched_getaffinity, page nodes from move_pages and
 * /proc/PID/numa_maps.
 *
 * The guest's kernel command line says what topology to expect:
 *   LSM_NUMA_NODES=N           nodes in /sys/devices/system/node
 *   LSM_NUMA_WORKERS=a,b,...   default workers per node (--workers 0)
 * Each test prints "placement: ..." lines; the host shows them.
 * LSM_NUMA_VERBOSE=1 also prints the daemon's mappings that
 * test_engine_memory counts, and its log (guest.sh's LSM_NUMA_SCRIPT runs
 * a script of yours in the guest).
 */
#include "helpers.h"

#include <dirent.h>
#include <numaif.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "harness.h"

#define MAX_NODES 8

static th_daemon g_d;
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_BIN, .tag = "numa-guest" };

/* ---- the topology, from sysfs ----------------------------------------------- */

static int sys_nodes(void)
{
    int n = 0;
    char p[64];
    for (;; n++) {
        snprintf(p, sizeof p, "/sys/devices/system/node/node%d", n);
        if (access(p, F_OK) != 0)
            return n;
    }
}

/* The CPUs of node from its cpulist ("0-1,3"); their count. */
static int node_cpus(int node, cpu_set_t *set)
{
    CPU_ZERO(set);
    char p[64], buf[256] = "";
    snprintf(p, sizeof p, "/sys/devices/system/node/node%d/cpulist", node);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    if (!fgets(buf, sizeof buf, f))
        buf[0] = 0;
    fclose(f);
    for (char *s = buf; *s && *s != '\n';) {
        char *e;
        long a = strtol(s, &e, 10), b = a;
        if (*e == '-')
            b = strtol(e + 1, &e, 10);
        for (long c = a; c <= b; c++)
            CPU_SET((int)c, set);
        s = *e == ',' ? e + 1 : e;
    }
    return CPU_COUNT(set);
}

/* MemFree of node, from its meminfo. */
static long long node_free_mib(int node)
{
    char p[64], line[256];
    snprintf(p, sizeof p, "/sys/devices/system/node/node%d/meminfo", node);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    long long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "MemFree:"))
            sscanf(strstr(line, "MemFree:") + 8, "%lld", &kb);
    fclose(f);
    return kb / 1024;
}

/* The node of cpu (-1: none), from sysfs (libnuma's numa.h is shadowed
 * here by the daemon's). */
static int node_of_cpu(int cpu)
{
    char p[80];
    for (int n = 0; n < MAX_NODES; n++) {
        snprintf(p, sizeof p, "/sys/devices/system/node/node%d/cpu%d", n, cpu);
        if (access(p, F_OK) == 0)
            return n;
    }
    return -1;
}

/* The whole file at path, NUL-terminated (free()). */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    buf[len] = 0;
    return buf;
}

/* The last node with CPUs: the "other" node a client moves to. */
static int last_cpu_node(void)
{
    cpu_set_t s;
    int last = 0;
    for (int n = 0; n < sys_nodes(); n++)
        if (node_cpus(n, &s) > 0)
            last = n;
    return last;
}

static void run_on_node(int node)
{
    cpu_set_t s;
    assert_true(node_cpus(node, &s) > 0);
    assert_int_equal(sched_setaffinity(0, sizeof s, &s), 0);
    sched_yield();
    assert_int_equal(node_of_cpu(sched_getcpu()), node);
}

/* Every CPU: the daemon inherits this process's affinity, and an lsmd
 * confined to one node's CPUs places nothing (numa.h). */
static void all_cpus(cpu_set_t *all)
{
    cpu_set_t s;
    CPU_ZERO(all);
    for (int n = 0; n < sys_nodes(); n++) {
        node_cpus(n, &s);
        CPU_OR(all, all, &s);
    }
}

static void run_anywhere(void)
{
    cpu_set_t all;
    all_cpus(&all);
    assert_int_equal(sched_setaffinity(0, sizeof all, &all), 0);
}

/* A client connected from node's CPUs (which it stays on). */
static lsmd_conn *connect_on(int node)
{
    run_on_node(node);
    return thd_connect(&g_d);
}

/* ---- reading the stats ------------------------------------------------------- */

static __attribute__((noinline)) char *stats(lsmd_conn *c)
{
    char *json = NULL;
    assert_int_equal(lsmd_stats_json(c, &json), 0);
    return json;
}

/* The integer after "key": at or after from. */
static long jint(const char *from, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(from, pat);
    assert_non_null(p);
    return strtol(p + strlen(pat), NULL, 10);
}

/* c's entry in the client_list (the harness's ping may still be listed). */
static const char *client_entry(const char *json, const lsmd_conn *c)
{
    char pat[48];
    snprintf(pat, sizeof pat, "{\"id\":%llu,", (unsigned long long)c->client_id);
    const char *p = strstr(json, "\"client_list\":[{");
    assert_non_null(p);
    p = strstr(p, pat);
    assert_non_null(p);
    return p;
}

/* ---- reading the kernel ------------------------------------------------------ */

/* Where the pages of [base, base+size) are: counts[node]; all are touched
 * first (reads: the segment's contents are the protocol's). */
static long pages_by_node(const void *base, size_t size, long *counts)
{
    size_t n = size / 4096;
    void **pages = malloc(n * sizeof *pages);
    int *status = malloc(n * sizeof *status);
    assert_non_null(pages);
    assert_non_null(status);
    for (size_t i = 0; i < n; i++) {
        pages[i] = (char *)base + i * 4096;
        (void)*(volatile const char *)pages[i];
    }
    assert_int_equal(move_pages(0, n, pages, NULL, status, 0), 0);
    memset(counts, 0, MAX_NODES * sizeof *counts);
    for (size_t i = 0; i < n; i++) {
        assert_true(status[i] >= 0 && status[i] < MAX_NODES);
        counts[status[i]]++;
    }
    free(pages);
    free(status);
    return (long)n;
}

/* Sums the N<node>=pages of pid's anonymous and memfd mappings in
 * /proc/PID/numa_maps (anon: engine and heap; memfd: segments); *policies
 * gets whether any mapping of that kind has a policy other than default. */
static long numa_maps_pages(pid_t pid, bool memfd, long *counts, bool *policies)
{
    char p[64], line[4096];
    snprintf(p, sizeof p, "/proc/%d/numa_maps", (int)pid);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    memset(counts, 0, MAX_NODES * sizeof *counts);
    *policies = false;
    long total = 0;
    while (fgets(line, sizeof line, f)) {
        bool is_memfd = strstr(line, "file=/memfd:") != NULL;
        bool is_anon = strstr(line, " anon=") && !strstr(line, "file=") && !strstr(line, "stack");
        if (memfd ? !is_memfd : !is_anon)
            continue;
        const char *pol = strchr(line, ' ') + 1;
        if (strncmp(pol, "default", 7) != 0)
            *policies = true;
        for (char *t = strtok(line, " \n"); t; t = strtok(NULL, " \n")) {
            int node;
            long pages;
            if (sscanf(t, "N%d=%ld", &node, &pages) == 2 && node < MAX_NODES) {
                counts[node] += pages;
                total += pages;
            }
        }
    }
    fclose(f);
    return total;
}

/* The affinity of pid's thread named name (comm), into set; false if none. */
static bool thread_affinity(pid_t pid, const char *name, cpu_set_t *set)
{
    char p[300], comm[64];
    snprintf(p, sizeof p, "/proc/%d/task", (int)pid);
    DIR *dir = opendir(p);
    assert_non_null(dir);
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "/proc/%d/task/%s/comm", (int)pid, e->d_name);
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        if (fgets(comm, sizeof comm, f) && strncmp(comm, name, strlen(name)) == 0 &&
            comm[strlen(name)] == '\n') {
            found = sched_getaffinity((pid_t)atoi(e->d_name), sizeof *set, set) == 0;
        }
        fclose(f);
    }
    closedir(dir);
    return found;
}

static int expected_workers(int node)
{
    const char *s = getenv("LSM_NUMA_WORKERS");
    assert_non_null(s);
    for (int i = 0; i < node && s; i++)
        if ((s = strchr(s, ',')))
            s++;
    return s ? atoi(s) : 0;
}

/* ---- the tests ---------------------------------------------------------------- */

static void start(const char *numa, const char *workers)
{
    const char *extra[] = { "--numa", numa, "--workers", workers, NULL };
    run_anywhere();
    thd_start(&g_d, extra);
}

/* The topology booted as the host asked (else every other result means
 * nothing). */
static void test_topology(void **state)
{
    (void)state;
    const char *want = getenv("LSM_NUMA_NODES");
    assert_non_null(want);
    assert_int_equal(sys_nodes(), atoi(want));
    for (int n = 0; n < sys_nodes(); n++) {
        cpu_set_t s;
        printf("placement: node %d: %d CPUs, %lld MiB free\n", n, node_cpus(n, &s),
               node_free_mib(n));
    }
}

/* Default workers: NUMA_WORKERS_PER_NODE per node, capped at its CPUs;
 * each pinned to exactly its node's CPUs (read back from the kernel). */
static void test_workers_pinned(void **state)
{
    (void)state;
    start("auto", "0");
    lsmd_conn *c = thd_connect(&g_d);
    char *json = stats(c);
    int per_node[MAX_NODES] = { 0 }, nworkers = (int)jint(json, "workers");
    const char *p = strstr(json, "\"worker_list\":[");
    assert_non_null(p);
    for (int i = 0; i < nworkers; i++) {
        p = strstr(p, "\"index\":");
        assert_non_null(p);
        int node = (int)jint(p, "pinned_node");
        assert_true(node >= 0 && node < MAX_NODES);
        per_node[node]++;
        char name[24];
        snprintf(name, sizeof name, "lsmd-w%d", i);
        cpu_set_t got, want;
        assert_true(thread_affinity(g_d.pid, name, &got));
        node_cpus(node, &want);
        printf("placement: worker %d pinned to node %d: affinity %d CPUs, %s the node's\n", i,
               node, CPU_COUNT(&got), CPU_EQUAL(&got, &want) ? "exactly" : "NOT");
        assert_true(CPU_EQUAL(&got, &want));
        assert_int_equal(node_of_cpu((int)jint(p, "cpu")), node);
        p++;
    }
    for (int n = 0; n < sys_nodes(); n++) {
        printf("placement: node %d: %d workers (expected %d)\n", n, per_node[n],
               expected_workers(n));
        assert_int_equal(per_node[n], expected_workers(n));
    }
    free(json);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(&g_d), 0);
}

/* A client on node N is served by a node-N worker and every page of its
 * segment is on node N, for every node with CPUs. */
static void test_client_on_its_node(void **state)
{
    (void)state;
    start("auto", "0");
    for (int node = 0; node < sys_nodes(); node++) {
        cpu_set_t s;
        if (node_cpus(node, &s) == 0)
            continue;
        lsmd_conn *c = connect_on(node);
        assert_int_equal(lsmd_put(c, "k", 1, "v", 1, 0), 0);
        long counts[MAX_NODES];
        long n = pages_by_node(c->seg.base, c->seg.size, counts);
        char *json = stats(c);
        const char *e = client_entry(json, c);
        printf("placement: client on node %d: worker %ld on node %ld, %ld of %ld segment pages "
               "on node %d (daemon's sample: segment_node %ld)\n",
               node, jint(e, "worker"), jint(e, "worker_node"), counts[node], n, node,
               jint(e, "segment_node"));
        assert_int_equal(jint(e, "client_node"), node);
        assert_int_equal(jint(e, "worker_node"), node);
        assert_int_equal(counts[node], n);
        assert_int_equal(jint(e, "segment_node"), node);
        assert_false(strstr(e, "\"mismatch\":true"));
        free(json);
        lsmd_disconnect(c);
    }
    assert_int_equal(thd_stop(&g_d), 0);
}

/* A client that moves to another node after attaching keeps its worker
 * and its segment (placement.h says why); it is still served correctly,
 * and the stats show and count the mismatch until it moves back. */
static void test_client_migrates(void **state)
{
    (void)state;
    start("auto", "0");
    int home = last_cpu_node();
    lsmd_conn *c = connect_on(home);
    run_on_node(0);
    char key[16], out[16];
    for (int i = 0; i < 200; i++) {
        int n = snprintf(key, sizeof key, "m%d", i);
        assert_int_equal(lsmd_put(c, key, (size_t)n, key, (size_t)n, 0), 0);
        size_t len;
        assert_int_equal(lsmd_get_into(c, 0, key, (size_t)n, out, sizeof out, &len), 0);
        assert_int_equal(len, (size_t)n);
        assert_memory_equal(out, key, (size_t)n);
    }
    long counts[MAX_NODES];
    long n = pages_by_node(c->seg.base, c->seg.size, counts);
    char *json = stats(c);
    const char *e = client_entry(json, c);
    printf("placement: client attached on node %d, moved to node %d: now_node %ld, worker_node "
           "%ld, %ld of %ld segment pages still on node %d, mismatch counted: %ld\n",
           home, 0, jint(e, "now_node"), jint(e, "worker_node"), counts[home], n, home,
           jint(json, "mismatches"));
    assert_int_equal(jint(e, "now_node"), 0);
    assert_int_equal(jint(e, "worker_node"), home);
    assert_int_equal(counts[home], n);
    assert_non_null(strstr(e, "\"mismatch\":true"));
    assert_int_equal(jint(json, "mismatches"), 1);
    free(json);
    run_on_node(home);
    json = stats(c);
    assert_non_null(strstr(client_entry(json, c), "\"mismatch\":false"));
    assert_int_equal(jint(json, "mismatches"), 0);
    free(json);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(&g_d), 0);
}

/* Fills the memtables (writes) and the block cache (reads after a flush):
 * n values of 4000 bytes, then n / 2 more. */
static void load_engine(lsmd_conn *c, int n_keys)
{
    static char val[4000];
    memset(val, 'x', sizeof val);
    char key[32];
    for (int i = 0; i < n_keys; i++) {
        int n = snprintf(key, sizeof key, "key%08d", i);
        assert_int_equal(lsmd_put(c, key, (size_t)n, val, sizeof val, 0), 0);
    }
    assert_int_equal(lsmd_flush(c), 0);
    for (int i = 0; i < n_keys; i++) {
        int n = snprintf(key, sizeof key, "key%08d", i * 7 % n_keys);
        size_t len;
        assert_int_equal(lsmd_get_into(c, 0, key, (size_t)n, val, sizeof val, &len), 0);
    }
    /* More writes: memtables again, after the flush emptied them. */
    for (int i = 0; i < n_keys / 2; i++) {
        int n = snprintf(key, sizeof key, "key2%08d", i);
        assert_int_equal(lsmd_put(c, key, (size_t)n, val, sizeof val, 0), 0);
    }
}

static const char *const ENGINE_FLAGS_END = NULL;

static void engine_pages(const char *numa, long *counts, long *total, bool *policies)
{
    const char *extra[] = { "--numa", numa, "--workers", "0", "--memtable-bytes", "8M",
                            "--block-cache-bytes", "32M", ENGINE_FLAGS_END };
    run_anywhere();
    thd_start(&g_d, extra);
    lsmd_conn *c = connect_on(0); /* one client, one worker: first touch would be node 0 */
    load_engine(c, 4000); /* 24 MB of values through 8 MiB memtables */
    *total = numa_maps_pages(g_d.pid, false, counts, policies);
    if (getenv("LSM_NUMA_VERBOSE")) { /* the mappings counted, and the log */
        char cmd[128];
        snprintf(cmd, sizeof cmd, "grep anon= /proc/%d/numa_maps | grep -v file=", (int)g_d.pid);
        if (system(cmd) != 0)
            printf("(no numa_maps)\n");
        thd_dump_log(&g_d);
    }
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(&g_d), 0);
}

/* auto: engine memory interleaved over every node; NODE: all on it. */
static void test_engine_memory(void **state)
{
    (void)state;
    long counts[MAX_NODES], total;
    bool policies;
    engine_pages("auto", counts, &total, &policies);
    for (int n = 0; n < sys_nodes(); n++) {
        printf("placement: --numa auto: engine and heap pages on node %d: %ld of %ld\n", n,
               counts[n], total);
        /* Interleaving gives each node about 1/nodes; allow half of that. */
        assert_true(counts[n] * sys_nodes() * 2 >= total);
    }
    int node = last_cpu_node();
    char arg[8];
    snprintf(arg, sizeof arg, "%d", node);
    engine_pages(arg, counts, &total, &policies);
    printf("placement: --numa %d: engine and heap pages on node %d: %ld of %ld\n", node, node,
           counts[node], total);
    /* A few pages (the loader's, the libraries') are touched before the
     * policy is set. */
    assert_true(counts[node] * 100 >= total * 98);
}

/* A child that fills node with anonymous memory until the kernel puts its
 * pages elsewhere (the node is below its watermark), then waits; its pid. */
static pid_t fill_node(int node)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsigned long mask = 1ul << node;
        /* Preferred, not bound: a full node spills instead of the OOM killer. */
        if (set_mempolicy(MPOL_PREFERRED, &mask, MAX_NODES + 1) != 0)
            _exit(2);
        size_t chunk = 8u << 20;
        int spilled = 0;
        for (int i = 0; i < 1024 && spilled < 2; i++) {
            char *m = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (m == MAP_FAILED)
                _exit(3);
            memset(m, 1, chunk);
            void *last = m + chunk - 4096;
            int st = -1;
            if (move_pages(0, 1, &last, NULL, &st, 0) == 0 && st != node)
                spilled++;
        }
        if (write(pfd[1], "f", 1) != 1)
            _exit(4);
        pause();
        _exit(0);
    }
    close(pfd[1]);
    char ch;
    assert_int_equal(read(pfd[0], &ch, 1), 1);
    close(pfd[0]);
    return pid;
}

/* A node with no free memory: the segment spills over, the attach still
 * succeeds, and a warning names the client and the node. */
static void test_full_node_spills(void **state)
{
    (void)state;
    int node = last_cpu_node();
    start("auto", "0");
    pid_t hog = fill_node(node);
    printf("placement: node %d filled: %lld MiB free\n", node, node_free_mib(node));
    lsmd_conn *c = connect_on(node);
    assert_int_equal(lsmd_put(c, "k", 1, "v", 1, 0), 0);
    long counts[MAX_NODES];
    long n = pages_by_node(c->seg.base, c->seg.size, counts);
    char *json = stats(c);
    long id = jint(client_entry(json, c), "id");
    printf("placement: full node %d: %ld of %ld segment pages on it, spills %ld\n", node,
           counts[node], n, jint(json, "spills"));
    assert_true(counts[node] < n);
    assert_int_equal(jint(json, "spills"), 1);
    assert_non_null(strstr(client_entry(json, c), "\"mismatch\":true"));
    free(json);
    char want[96];
    snprintf(want, sizeof want, "numa: client %ld (pid %d): ", id, (int)getpid());
    char *log = read_text(g_d.log);
    const char *w = strstr(log, want);
    if (w)
        printf("placement: the daemon said: %.*s\n", (int)strcspn(w, "\n"), w);
    assert_non_null(w);
    snprintf(want, sizeof want, "are not on node %d (node %d has", node, node);
    assert_non_null(strstr(w, want));
    free(log);
    lsmd_disconnect(c);
    kill(hog, SIGKILL);
    waitpid(hog, NULL, 0);
    assert_int_equal(thd_stop(&g_d), 0);
}

/* --numa off: no pinning, no memory policy anywhere, nothing counted. */
static void test_numa_off(void **state)
{
    (void)state;
    start("off", "0");
    lsmd_conn *c = connect_on(last_cpu_node());
    load_engine(c, 1000);
    cpu_set_t all, got;
    all_cpus(&all);
    char *json = stats(c);
    int nworkers = (int)jint(json, "workers");
    for (int i = 0; i < nworkers; i++) {
        char name[24];
        snprintf(name, sizeof name, "lsmd-w%d", i);
        assert_true(thread_affinity(g_d.pid, name, &got));
        assert_true(CPU_EQUAL(&got, &all));
    }
    const char *p = strstr(json, "\"worker_list\":[");
    assert_int_equal(jint(p, "pinned_node"), -1);
    assert_int_equal(jint(json, "mismatches"), 0);
    assert_non_null(strstr(json, "\"mode\":\"off\",\"active\":false"));
    free(json);
    long counts[MAX_NODES];
    bool anon_pol, seg_pol;
    numa_maps_pages(g_d.pid, false, counts, &anon_pol);
    numa_maps_pages(g_d.pid, true, counts, &seg_pol);
    printf("placement: --numa off: %d workers on all %d CPUs; memory policies: engine %s, "
           "segments %s\n",
           nworkers, CPU_COUNT(&all), anon_pol ? "SET" : "default", seg_pol ? "SET" : "default");
    assert_false(anon_pol);
    assert_false(seg_pol);
    lsmd_disconnect(c);
    assert_int_equal(thd_stop(&g_d), 0);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topology),
        TH_TEST(test_workers_pinned, &g_fx),
        TH_TEST(test_client_on_its_node, &g_fx),
        TH_TEST(test_client_migrates, &g_fx),
        TH_TEST(test_engine_memory, &g_fx),
        TH_TEST(test_full_node_spills, &g_fx),
        TH_TEST(test_numa_off, &g_fx),
    };
    return TH_MAIN(argc, argv, NULL, NULL, tests);
}
