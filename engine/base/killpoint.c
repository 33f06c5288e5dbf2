/* killpoint.c — see killpoint.h. */
#include "base/killpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

static const char *const g_names[] = {
    "wal.after_write_before_sync",
    "flush.mid",
    "flush.after_table_before_manifest",
    "compaction.mid",
    "compaction.after_tables_before_manifest",
    "manifest.after_write_before_current",
    "wal.retire",
    "checkpoint.after_files",
    "checkpoint.before_rename",
    NULL,
};
#define NPOINTS (sizeof g_names / sizeof g_names[0] - 1)

/* Set up while no engine thread runs (see the header); then only the
 * counters change, atomically. */
static struct {
    atomic_int armed;           /* 0: every hit returns at once */
    int target;                 /* index in g_names, -1: none */
    uint64_t target_n;          /* die at this hit of target */
    unsigned permille;          /* random kills, 0..1000 */
    uint64_t seed;
    _Atomic uint64_t draws;     /* random draws so far (Weyl sequence) */
    _Atomic uint64_t hits[NPOINTS];
    char log_path[PATH_MAX];    /* "" when LSMD_KILLPOINT_LOG is unset */
    void (*hook)(const char *, void *);
    void *hook_arg;
} g = { .target = -1 };

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static int name_index(const char *name)
{
    for (size_t i = 0; i < NPOINTS; i++)
        if (strcmp(g_names[i], name) == 0)
            return (int)i;
    return -1;
}

static void reset_counters(void)
{
    for (size_t i = 0; i < NPOINTS; i++)
        atomic_store(&g.hits[i], 0);
    atomic_store(&g.draws, 0);
}

static void update_armed(void)
{
    atomic_store(&g.armed, g.target >= 0 || g.permille > 0);
}

/* "name" or "name:N" into g.target / g.target_n; 0 or -EINVAL. */
static int parse_point(const char *spec)
{
    char name[96];
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    uint64_t n = 1;
    if (len >= sizeof name)
        return -EINVAL;
    memcpy(name, spec, len);
    name[len] = '\0';
    if (colon) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(colon + 1, &end, 10);
        if (errno || end == colon + 1 || *end || v == 0 || colon[1] == '-')
            return -EINVAL;
        n = v;
    }
    int idx = name_index(name);
    if (idx < 0)
        return -EINVAL;
    g.target = idx;
    g.target_n = n;
    return 0;
}

static uint64_t env_u64(const char *var, uint64_t def, uint64_t max)
{
    const char *s = getenv(var);
    if (!s || !*s)
        return def;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max || s[0] == '-') {
        log_error("killpoint: %s=%s is not a number in 0..%llu; ignored", var, s,
                  (unsigned long long)max);
        return def;
    }
    return v;
}

static void load_env(void)
{
    g.target = -1;
    g.target_n = 0;
    const char *spec = getenv("LSMD_KILLPOINT");
    if (spec && *spec && parse_point(spec) != 0) {
        g.target = -1;
        log_error("killpoint: LSMD_KILLPOINT=%s is not name[:N] with a known name "
                  "(see engine/base/killpoint.h) and N >= 1; ignored", spec);
    }
    g.permille = (unsigned)env_u64("LSMD_KILLPOINT_RANDOM", 0, 1000);
    g.seed = env_u64("LSMD_KILLPOINT_SEED", 1, UINT64_MAX);
    const char *log = getenv("LSMD_KILLPOINT_LOG");
    g.log_path[0] = '\0';
    if (log && strlen(log) < sizeof g.log_path)
        strcpy(g.log_path, log);
    reset_counters();
    update_armed();
#ifndef LSM_KILLPOINTS
    if (atomic_load(&g.armed))
        log_warn("killpoint: LSMD_KILLPOINT* is set but this build has no kill points "
                 "(build with make KILLPOINTS=1)");
#endif
}

void killpoint_reload_env(void)
{
    pthread_once(&g_once, load_env);
    load_env();
}

int killpoint_arm(const char *name, uint64_t n, unsigned random_permille, uint64_t seed)
{
    int idx = name ? name_index(name) : -1;
    if ((name && (idx < 0 || n == 0)) || random_permille > 1000)
        return -EINVAL;
    pthread_once(&g_once, load_env);
    g.target = idx;
    g.target_n = n;
    g.permille = random_permille;
    g.seed = seed;
    reset_counters();
    update_armed();
    return 0;
}

void killpoint_set_hook(void (*hook)(const char *name, void *arg), void *arg)
{
    g.hook = hook;
    g.hook_arg = arg;
}

uint64_t killpoint_hits(const char *name)
{
    int idx = name_index(name);
    return idx < 0 ? 0 : atomic_load(&g.hits[idx]);
}

const char *const *killpoint_names(void)
{
    return g_names;
}

int killpoint_compiled_in(void)
{
#ifdef LSM_KILLPOINTS
    return 1;
#else
    return 0;
#endif
}

static __attribute__((noreturn)) void die(const char *name)
{
    if (g.log_path[0]) {
        int fd = open(g.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
            char line[160];
            int n = snprintf(line, sizeof line, "%s %d\n", name, (int)getpid());
            if (n > 0 && (size_t)n < sizeof line && write(fd, line, (size_t)n) < 0)
                n = 0; /* nothing to do about it: we are dying */
            close(fd);
        }
    }
    log_warn("killpoint %s: SIGKILL", name);
    if (g.hook)
        g.hook(name, g.hook_arg);
    raise(SIGKILL);
    for (;;) /* not reached: SIGKILL cannot be caught */
        pause();
}

/* splitmix64's finaliser: a well-mixed draw from the hit ordinal. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

void killpoint_hit(const char *name)
{
    pthread_once(&g_once, load_env);
    if (!atomic_load_explicit(&g.armed, memory_order_relaxed))
        return;
    int idx = name_index(name);
    if (idx >= 0) {
        uint64_t n = atomic_fetch_add(&g.hits[idx], 1) + 1;
        if (idx == g.target && n == g.target_n)
            die(name);
    }
    if (g.permille) {
        uint64_t d = atomic_fetch_add(&g.draws, 1);
        if (mix(g.seed * UINT64_C(0x9e3779b97f4a7c15) + d) % 1000 < g.permille)
            die(name);
    }
}
