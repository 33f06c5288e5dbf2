/* cold.c — the out-of-memory case (cold.h). */
#include "cold.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DROP_CACHES "/proc/sys/vm/drop_caches"
#define MIN_COLD_MEMORY (64ull << 20)

int cold_check_config(const bench_config *c, char *err, size_t cap)
{
    const char *name = c->name[0] ? c->name : "(command line)";
    if (!c->cold)
        return 0;
    if (strncmp(c->target, "embedded:", 9) && strncmp(c->target, "rocksdb:", 8) &&
        strncmp(c->target, "lmdb:", 5)) {
        snprintf(err, cap, "job %s: --cold runs the engine in this process's memory cgroup: "
                           "target %s is not in this process (start a daemon in a memory "
                           "cgroup yourself, and drop the page cache before reading)",
                 name, c->target);
        return -EINVAL;
    }
    if (c->cold_memory < MIN_COLD_MEMORY) {
        snprintf(err, cap, "job %s: cold-memory %llu is below 64 MiB (the engine's own "
                           "memtables and cache would not fit)",
                 name, (unsigned long long)c->cold_memory);
        return -EINVAL;
    }
    uint64_t engine = c->memtable_bytes * (uint64_t)(1 + c->max_immutable) + c->cache_bytes +
                      MIN_COLD_MEMORY;
    if (c->cold_memory < engine) {
        snprintf(err, cap, "job %s: cold-memory %llu MiB cannot hold the engine's own memory: "
                           "memtable-bytes x (1 + max-immutable) + cache-bytes + 64 MiB = "
                           "%llu MiB (the cgroup would kill lsmbench): raise --cold-memory or "
                           "lower --memtable-bytes / --cache-bytes",
                 name, (unsigned long long)(c->cold_memory >> 20),
                 (unsigned long long)(engine >> 20));
        return -EINVAL;
    }
    unsigned __int128 raw = (unsigned __int128)c->num * (c->key_size + c->value_size);
    if (raw < (unsigned __int128)COLD_RATIO * c->cold_memory) {
        snprintf(err, cap, "job %s: --cold needs a database of at least %d x cold-memory "
                           "(%llu MiB); num %llu x %u bytes is only %llu MiB: raise --num or "
                           "--value-size, or lower --cold-memory",
                 name, COLD_RATIO, (unsigned long long)(COLD_RATIO * c->cold_memory >> 20),
                 (unsigned long long)c->num, c->key_size + c->value_size,
                 (unsigned long long)(raw >> 20));
        return -EINVAL;
    }
    return 0;
}

int cold_stamp_format(const bench_config *c, char *buf, size_t cap)
{
    size_t scheme = strcspn(c->target, ":");
    int n = snprintf(buf, cap,
                     "lsmbench-cold 1\ntarget=%.*s\nnum=%llu\nkey_size=%u\nvalue_size=%u\n"
                     "block_bytes=%llu\nbloom_bits=%d\ncompaction_style=%s\n",
                     (int)scheme, c->target, (unsigned long long)c->num, c->key_size,
                     c->value_size, (unsigned long long)c->block_bytes, c->bloom_bits,
                     c->compaction_style);
    return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int cold_stamp_path(const char *spec, char *out, size_t cap)
{
    const char *colon = strchr(spec, ':');
    const char *dir = colon ? colon + 1 : spec;
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--; /* "DIR/" and "DIR" share one stamp */
    int n = snprintf(out, cap, "%.*s.lsmbench-cold", (int)len, dir);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

bool cold_stamp_matches(const bench_config *c)
{
    char path[BENCH_PATH_MAX + 32], want[512], have[513];
    if (cold_stamp_path(c->target, path, sizeof path) || cold_stamp_format(c, want, sizeof want) < 0)
        return false;
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(have, 1, sizeof have - 1, f);
    fclose(f);
    have[n] = 0;
    return strcmp(have, want) == 0;
}

int cold_stamp_write(const bench_config *c)
{
    char path[BENCH_PATH_MAX + 32], text[512];
    int n = cold_stamp_format(c, text, sizeof text);
    if (n < 0)
        return n;
    int rc = cold_stamp_path(c->target, path, sizeof path);
    if (rc)
        return rc;
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    bool ok = fwrite(text, 1, (size_t)n, f) == (size_t)n;
    if (fclose(f) != 0 || !ok)
        return -EIO;
    return 0;
}

int cold_stamp_remove(const bench_config *c)
{
    char path[BENCH_PATH_MAX + 32];
    int rc = cold_stamp_path(c->target, path, sizeof path);
    if (rc)
        return rc;
    return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
}

/* ---- the memory cgroup --------------------------------------------------- */

/* true when the comma list opts holds word. */
static bool has_opt(const char *opts, size_t len, const char *word)
{
    size_t wl = strlen(word);
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && opts[j] != ',')
            j++;
        if (j - i == wl && memcmp(opts + i, word, wl) == 0)
            return true;
        i = j + 1;
    }
    return false;
}

int cold_find_memcg(const char *mounts, char *dir, size_t cap, bool *v2)
{
    char v2dir[BENCH_PATH_MAX] = "";
    for (const char *line = mounts; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        /* "SOURCE MOUNTPOINT FSTYPE OPTIONS ..." */
        char src[256], mnt[BENCH_PATH_MAX], type[64], opts[512];
        char copy[2048];
        if (len < sizeof copy) {
            memcpy(copy, line, len);
            copy[len] = 0;
            if (sscanf(copy, "%255s %1023s %63s %511s", src, mnt, type, opts) == 4) {
                if (strcmp(type, "cgroup") == 0 && has_opt(opts, strlen(opts), "memory")) {
                    if (strlen(mnt) >= cap)
                        return -ENAMETOOLONG;
                    snprintf(dir, cap, "%s", mnt);
                    *v2 = false;
                    return 0;
                }
                if (strcmp(type, "cgroup2") == 0 && !v2dir[0])
                    snprintf(v2dir, sizeof v2dir, "%s", mnt);
            }
        }
        line = end ? end + 1 : NULL;
    }
    if (!v2dir[0])
        return -ENOENT;
    if (strlen(v2dir) >= cap)
        return -ENAMETOOLONG;
    snprintf(dir, cap, "%s", v2dir);
    *v2 = true;
    return 0;
}

static struct {
    char dir[BENCH_PATH_MAX];     /* ours */
    char parent[BENCH_PATH_MAX];  /* where this process was */
} g_cg;

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int rc = n == (ssize_t)strlen(text) ? 0 : n < 0 ? -errno : -EIO;
    close(fd);
    return rc;
}

static int read_text(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = 0;
    return 0;
}

/* Removes lsmbench-PID cgroups under parent left by a run that was killed
 * (by the cgroup's own OOM killer, say): empty ones only (rmdir of a
 * cgroup with processes fails). */
static void remove_stale(const char *parent)
{
    DIR *d = opendir(parent);
    if (!d)
        return;
    struct dirent *e;
    char path[BENCH_PATH_MAX + 300];
    while ((e = readdir(d)) != NULL) {
        int pid;
        char tail;
        if (sscanf(e->d_name, "lsmbench-%d%c", &pid, &tail) != 1 || pid == (int)getpid())
            continue;
        snprintf(path, sizeof path, "%s/%s", parent, e->d_name);
        rmdir(path);
    }
    closedir(d);
}

/* This process's cgroup path under the controller ("/a/b"), from
 * /proc/self/cgroup: the v1 line naming memory, or v2's "0::" line. */
static void own_cgroup(bool v2, char *out, size_t cap)
{
    char text[4096];
    snprintf(out, cap, "/");
    if (read_text("/proc/self/cgroup", text, sizeof text))
        return;
    for (char *save, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        size_t cl = (size_t)(c2 - c1 - 1);
        bool match = v2 ? cl == 0 : has_opt(c1 + 1, cl, "memory");
        if (match) {
            snprintf(out, cap, "%s", c2 + 1);
            return;
        }
    }
}

int cold_cgroup_enter(uint64_t bytes)
{
    if (g_cg.dir[0])
        return 0;
    char mounts[16384], mnt[BENCH_PATH_MAX], own[BENCH_PATH_MAX];
    bool v2 = false;
    int rc = read_text("/proc/self/mounts", mounts, sizeof mounts);
    if (rc == 0)
        rc = cold_find_memcg(mounts, mnt, sizeof mnt, &v2);
    if (rc) {
        fprintf(stderr, "lsmbench: --cold: no memory cgroup controller is mounted (%s)\n",
                strerror(-rc));
        return rc;
    }
    /* A child of the cgroup this process is in: the limits of whoever
     * runs lsmbench still hold over it. */
    own_cgroup(v2, own, sizeof own);
    if (strcmp(own, "/") == 0)
        own[0] = 0;
    char dir[BENCH_PATH_MAX], path[BENCH_PATH_MAX + 32], text[32];
    if (snprintf(g_cg.parent, sizeof g_cg.parent, "%s%s", mnt, own) >= (int)sizeof g_cg.parent ||
        snprintf(dir, sizeof dir, "%s/lsmbench-%d", g_cg.parent, (int)getpid()) >= (int)sizeof dir)
        return -ENAMETOOLONG;
    remove_stale(g_cg.parent);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        rc = -errno;
        fprintf(stderr, "lsmbench: --cold: mkdir %s: %s\n", dir, strerror(errno));
        return rc;
    }
    snprintf(path, sizeof path, "%s/%s", dir, v2 ? "memory.max" : "memory.limit_in_bytes");
    snprintf(text, sizeof text, "%llu", (unsigned long long)bytes);
    rc = write_file(path, text);
    if (rc == 0) {
        /* cgroup.procs moves every thread (tasks would move only this one,
         * leaving the engine's background threads outside). */
        snprintf(path, sizeof path, "%s/cgroup.procs", dir);
        snprintf(text, sizeof text, "%d", (int)getpid());
        rc = write_file(path, text);
    }
    if (rc) {
        fprintf(stderr, "lsmbench: --cold: %s: %s%s\n", path, strerror(-rc),
                v2 ? " (cgroup v2: the parent's cgroup.subtree_control needs +memory)" : "");
        rmdir(dir);
        return rc;
    }
    snprintf(g_cg.dir, sizeof g_cg.dir, "%s", dir);
    return 0;
}

void cold_cgroup_leave(void)
{
    if (!g_cg.dir[0])
        return;
    char path[BENCH_PATH_MAX + 32], text[32];
    snprintf(path, sizeof path, "%s/cgroup.procs", g_cg.parent);
    snprintf(text, sizeof text, "%d", (int)getpid());
    int rc = write_file(path, text);
    /* v1 moves the remaining page-cache charges to the parent on rmdir. */
    if (rc || rmdir(g_cg.dir) != 0)
        fprintf(stderr, "lsmbench: --cold: could not remove cgroup %s: %s\n", g_cg.dir,
                strerror(rc ? -rc : errno));
    g_cg.dir[0] = 0;
}

const char *cold_cgroup_dir(void)
{
    return g_cg.dir;
}

int cold_drop_caches(void)
{
    sync();
    return write_file(DROP_CACHES, "3\n");
}

int cold_check_privileges(char *err, size_t cap)
{
    if (geteuid() != 0 || access(DROP_CACHES, W_OK) != 0) {
        snprintf(err, cap, "--cold needs root: it drops the page cache (%s) before each "
                           "workload and limits memory with a cgroup; run it as root, or "
                           "without --cold",
                 DROP_CACHES);
        return -EPERM;
    }
    return 0;
}
