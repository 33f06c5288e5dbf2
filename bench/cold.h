/*
 * cold.h — lsmbench's out-of-memory case (--cold): reads that must go to
 * the disk because the database is several times larger than the memory
 * the engine may use, and nothing is left in the page cache from before.
 *
 * What --cold does, in lsmbench.c's order:
 *   1. refuses to start unless root (dropping the page cache and making a
 *      memory cgroup both need it), unless the target runs in this process
 *      (embedded, rocksdb, lmdb: the cgroup holds this process; a daemon
 *      would need its own), and unless --num x (key-size + value-size) is
 *      at least COLD_RATIO x --cold-memory;
 *   2. reuses the database when its stamp (DIR.lsmbench-cold, beside the
 *      directory: the directory itself must hold only database files)
 *      records the same key space and table settings and the opened
 *      database still holds COLD_RATIO x --cold-memory of tables; otherwise
 *      empties it, fills it with fillseq (every key present, one per key
 *      number) and writes the stamp;
 *   3. --cold-mode cgroup (the default) moves this whole process (every
 *      thread: cgroup.procs, not tasks)
 *      into a new memory cgroup limited to --cold-memory: engine heap,
 *      block cache, memtables and the page cache it reads through all
 *      count.  cgroup v1 (MOUNT/memory.limit_in_bytes) when the memory
 *      controller is mounted as v1, else v2 (MOUNT/memory.max);
 *      --cold-mode direct instead opens the engine with use_direct_io: its
 *      block cache is its only cache, and the memory rule of
 *      cold_check_config bounds memtables + cache by --cold-memory;
 *   4. before each workload: sync, then echo 3 > /proc/sys/vm/drop_caches.
 *   At exit the process moves back to the cgroup it came from and the new
 *   one is removed.
 *
 * Thread safety: call from the main thread, before or between runs.
 */
#ifndef BENCH_COLD_H
#define BENCH_COLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_config.h"

/* The database must hold at least this many times the memory the engine
 * may use (the rule for "out of memory"). */
#define COLD_RATIO 4

/* Checks the configuration of a --cold job before anything runs (lsmbench's
 * precheck): a target
 * in this process, the size rule, and a cold_memory of at least 64 MiB
 * (below that the engine's own heap would not fit).  0, or -EINVAL with a
 * message in err. */
int cold_check_config(const bench_config *c, char *err, size_t cap);

/* The stamp text recording what the database holds (key space, key and
 * value sizes, table settings, the target's scheme).  Returns its length,
 * or -ENOSPC when cap is too small. */
int cold_stamp_format(const bench_config *c, char *buf, size_t cap);

/* DIR.lsmbench-cold for target "scheme:DIR".  -ENAMETOOLONG or 0. */
int cold_stamp_path(const char *target_spec, char *out, size_t cap);

/* true when the stamp file exists and equals cold_stamp_format(c). */
bool cold_stamp_matches(const bench_config *c);
/* Writes / removes the stamp.  0 or -errno (remove: a missing one is 0). */
int cold_stamp_write(const bench_config *c);
int cold_stamp_remove(const bench_config *c);

/* Where the memory controller is, from /proc/self/mounts text: a v1
 * "cgroup" mount with the "memory" option (preferred), else a "cgroup2"
 * mount.  Sets *v2.  0, or -ENOENT when neither is mounted. */
int cold_find_memcg(const char *mounts, char *dir, size_t cap, bool *v2);

/* Does step 3 (see above) with a limit of bytes.  0, or -errno with a
 * message on stderr.  Once per process; cold_cgroup_leave undoes it (and
 * is harmless when nothing was entered). */
int cold_cgroup_enter(uint64_t bytes);
void cold_cgroup_leave(void);
/* The cgroup's directory after cold_cgroup_enter, else "". */
const char *cold_cgroup_dir(void);

/* sync, then drops the page cache, dentries and inodes.  0 or -errno
 * (-EACCES / -EPERM: not root). */
int cold_drop_caches(void);

/* 0 when this process may do what --cold needs (root, and
 * /proc/sys/vm/drop_caches writable), else -EPERM with a message in err. */
int cold_check_privileges(char *err, size_t cap);

#endif
