/* target.c — target registry and helpers shared by the targets (target.h). */
#include "target.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "viz/json_scan.h"
#include "lsm.h"

static const target_ops *const k_targets[] = {
    &target_embedded_ops,
    &target_lsmd_ops,
#ifdef LSMBENCH_ROCKSDB
    &target_rocksdb_ops,
#endif
#ifdef LSMBENCH_LMDB
    &target_lmdb_ops,
#endif
};

const target_ops *target_lookup(const char *spec, const char **arg, char *err, size_t cap)
{
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    for (size_t i = 0; i < sizeof k_targets / sizeof k_targets[0]; i++) {
        if (strlen(k_targets[i]->scheme) == n && strncmp(spec, k_targets[i]->scheme, n) == 0) {
            *arg = colon ? colon + 1 : "";
            return k_targets[i];
        }
    }
    if (n == 7 && strncmp(spec, "rocksdb", 7) == 0)
        snprintf(err, cap, "target rocksdb: this lsmbench was built without RocksDB "
                           "(install librocksdb-dev and rebuild)");
    else if (n == 4 && strncmp(spec, "lmdb", 4) == 0)
        snprintf(err, cap, "target lmdb: this lsmbench was built without LMDB "
                           "(install liblmdb-dev and rebuild)");
    else
        snprintf(err, cap,
                 "unknown target '%s' (embedded:DIR, rocksdb:DIR, lmdb:DIR, lsmd:SOCKET)", spec);
    return NULL;
}

const char *target_strerror(int err)
{
    if (err >= LSM_ECODE_MIN && err <= LSM_ECODE_MAX)
        return lsm_strerror(err);
    return strerror(err < 0 ? -err : err);
}

int target_summary_from_json(const char *json, db_summary *s)
{
    const char *eng = json_get(json, "engine");
    if (!eng || *json_ws(eng) != '{')
        eng = json;
    if (!json_get(eng, "write_amplification"))
        return -EINVAL;
    s->have |= HAVE_WA | HAVE_SA | HAVE_STALL;
    s->write_amp = json_num_or(eng, "write_amplification", 0);
    s->space_amp = json_num_or(eng, "space_amplification", 0);
    s->stall_s = (json_num_or(eng, "stalls.stop_us", 0) +
                  json_num_or(eng, "stalls.slowdown_us", 0)) / 1e6;
    s->stall_stops = (uint64_t)json_num_or(eng, "stalls.stops", 0);
    s->stall_slowdowns = (uint64_t)json_num_or(eng, "stalls.slowdowns", 0);
    s->table_bytes = (uint64_t)json_num_or(eng, "bytes.tables", 0);
    double hits = json_num_or(eng, "block_cache.hits", -1);
    double misses = json_num_or(eng, "block_cache.misses", -1);
    if (hits >= 0 && misses >= 0) {
        s->have |= HAVE_CACHE;
        s->cache_hit_rate = hits + misses > 0 ? hits / (hits + misses) : 0;
    }
    return 0;
}

/* Names an LSM engine (ours: NNNNNN.log/.sst, MANIFEST-N, CURRENT, LOCK)
 * or RocksDB (also IDENTITY, LOG, LOG.old.*, OPTIONS-*, *.dbtmp) writes. */
static bool db_file_name(const char *name)
{
    static const char *pats[] = { "*.sst", "*.log", "MANIFEST-*", "CURRENT", "CURRENT.tmp",
                                  "LOCK", "IDENTITY", "LOG", "LOG.old.*", "OPTIONS-*",
                                  "*.dbtmp", "*.blob" };
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++)
        if (fnmatch(pats[i], name, 0) == 0)
            return true;
    return false;
}

/* -EBUSY when a process holds DIR/LOCK: ours with flock, RocksDB's with an
 * fcntl record lock.  Wiping a live database would destroy it. */
static int lock_held(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/LOCK", dir);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int rc = 0;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        rc = -EBUSY;
    } else {
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
            rc = -EBUSY;
        flock(fd, LOCK_UN);
    }
    close(fd);
    return rc;
}

int target_wipe_dir(const char *dir)
{
    int busy = lock_held(dir);
    if (busy)
        return busy;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno != ENOENT)
            return -errno;
        return mkdir(dir, 0755) == 0 ? 0 : -errno;
    }
    int fd = dirfd(d);
    struct dirent *e;
    /* First pass: refuse unless everything is a database file. */
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            !db_file_name(e->d_name)) {
            closedir(d);
            return -ENOTEMPTY;
        }
    }
    rewinddir(d);
    int rc = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (unlinkat(fd, e->d_name, 0) != 0 && errno != ENOENT && !rc)
            rc = -errno;
    }
    closedir(d);
    return rc;
}
