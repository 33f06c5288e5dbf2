/*
 * lsm.h — the lsmd storage engine, embeddable C API.
 *
 * A log-structured merge tree: writes go to a write-ahead log (group commit)
 * and a memtable; full memtables are flushed in the background to level-0
 * SSTables; reads merge the memtables and the tables, newest first.
 *
 * Return codes
 *   Every int-returning call returns 0 on success or a negative code:
 *     -errno        an operating-system error (-EIO, -ENOSPC, -ENOMEM, ...);
 *     LSM_E*        one of the library codes below (a reserved range).
 *   lsm_strerror() describes any of them.  Calls that can fail list their
 *   codes beside them.
 *
 * Transient and sticky errors
 *   A failed WAL write or sync, or an I/O error (EIO, ENOSPC, ...) while
 *   switching the WAL, flushing or compacting, is sticky: the database
 *   turns read-only (LSM_EREADONLY) until reopened, since a file may be in
 *   an unknown state.  Running out of descriptors or memory (EMFILE,
 *   ENFILE, ENOMEM) in those background steps is not: nothing on disk is
 *   in doubt, so the step is cleaned up and retried with back-off (10 ms
 *   doubling to 1 s).  Meanwhile writes that need it stall, and after
 *   about 2 s one is refused with that error (-EMFILE, ...); the next one
 *   tries again.  lsm_stats_json counts the retries (transient_errors).
 *
 * Thread safety
 *   An lsm_db is safe to use from many threads at once.  An lsm_batch and an
 *   lsm_iter belong to one thread at a time.
 *
 * Formats: docs/wal-format.md, docs/sstable-format.md, docs/manifest-format.md.
 */
#ifndef LSM_H
#define LSM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The release, for programs and tools (--version).  The one place the
 * version is written: the Makefile reads it for the .pc files and SONAMEs.
 * LSM_VERSION_MAJOR changes when the ABI breaks. */
#define LSM_VERSION_MAJOR 0
#define LSM_VERSION_MINOR 2
#define LSM_VERSION_PATCH 0
#define LSM_VERSION "0.2.0"

/* ---- Library error codes (reserved range -1000 .. -1099) ---------------- */
#define LSM_ENOTFOUND  (-1000) /* the key is absent (or deleted) */
#define LSM_ECORRUPT   (-1001) /* on-disk data (or an encoded batch) failed a
                                  checksum or sanity check */
#define LSM_EREADONLY  (-1002) /* a background error (failed sync, flush, ...)
                                  put the database in read-only mode; the
                                  cause is in lsm_db_error() and the log */
#define LSM_ETOOSMALL  (-1003) /* a caller's buffer is too small */
#define LSM_ECLOSED    (-1004) /* the database is closing */
#define LSM_EVERSION   (-1005) /* a file has an unknown format version */
#define LSM_ECODE_MIN  (-1099)
#define LSM_ECODE_MAX  (-1000)

/* Limits: keys of 1 B .. 64 KiB and values of 0 B .. 64 MiB; anything outside
 * is refused with -EINVAL and never truncated. */
#define LSM_MAX_KEY_SIZE   (64u * 1024u)
#define LSM_MAX_VALUE_SIZE (64u * 1024u * 1024u)

/* A batch is at most 1 GiB encoded; each entry takes its key and value
 * bytes plus LSM_BATCH_ENTRY_OVERHEAD (see lsm_batch_append_encoded). */
#define LSM_MAX_BATCH_BYTES (1u << 30)
#define LSM_BATCH_ENTRY_OVERHEAD 9u

/* lsm_set_option refuses a memtable_bytes below this (lsm_open takes down
 * to 4 KiB): see "Option rules" below. */
#define LSM_MIN_RUNTIME_MEMTABLE_BYTES (64u * 1024u)

/* ---- Opaque handles ------------------------------------------------------ */
typedef struct lsm_db lsm_db;
typedef struct lsm_snapshot lsm_snapshot;
typedef struct lsm_iter lsm_iter;
typedef struct lsm_batch lsm_batch;
struct lsm_io; /* engine/io/io.h: an I/O backend (advanced: tests, tools) */

/* ---- Options ------------------------------------------------------------- */
typedef struct lsm_options {
    int create_if_missing;      /* default 1: create the directory and DB */
    int error_if_exists;        /* default 0 */
    size_t memtable_bytes;      /* default 64 MiB: a memtable this full is
                                   frozen and flushed to level 0 */
    int max_immutable_memtables;/* default 2: writers wait (write stop) when
                                   this many frozen memtables await flush */
    size_t block_bytes;         /* default 4 KiB: target data block size */
    int block_restart_interval; /* default 16: keys between restart points */
    int bloom_bits_per_key;     /* default 10; 0 disables the bloom filter */
    size_t sstable_target_bytes;/* default 64 MiB: compaction output size */
    const char *memtable_impl;  /* "skiplist" (default) or "vector" (fast
                                   appends for bulk loads, slow reads of the
                                   live memtable) */

    /* Compaction.  Each can change at run time with lsm_set_option under
     * the same name except max_open_files, use_direct_io, io_backend, io
     * and file_mode (lsm_set_option's list of names, and lsm_option_at,
     * say which options can). */
    const char *compaction_style; /* "leveled" (default) or "tiered" */
    int l0_compaction_trigger;  /* default 4: leveled L0 files that start an
                                   L0 compaction into the base level */
    int l0_slowdown_trigger;    /* default 20: L0 files at which writes are
                                   paced to delayed_write_rate (write
                                   slowdown), falling to 1/8 of it as L0
                                   nears l0_stop_trigger */
    int l0_stop_trigger;        /* default 36: L0 files at which a full
                                   memtable is not switched: writes wait for
                                   compaction (write stop) */
    size_t delayed_write_rate;  /* default 16 MiB: bytes/s written while
                                   slowed down (also tiered, at
                                   tiered_max_runs runs); 0 = no
                                   slowdown, only the stop */
    double level_size_ratio;    /* default 10: leveled size ratio between
                                   adjacent levels */
    size_t level_base_bytes;    /* default 256 MiB: leveled: the largest
                                   target of the base level (the shallowest
                                   in use, where L0 compacts to); targets
                                   are set from L6 up by the data (RocksDB's
                                   dynamic level bytes) */
    double tiered_size_ratio;   /* default 1.0: tiered: a run joins a merge
                                   while its size <= (1 + ratio) x the newer
                                   runs chosen so far */
    int tiered_min_merge;       /* default 4: tiered: fewest runs to merge */
    int tiered_max_runs;        /* default 12: tiered: bound on sorted runs */
    double tiered_max_space_amp;/* default 2.0: tiered: merge everything when
                                   the newer runs exceed this x the oldest */
    int compaction_threads;     /* default 1 (1..16): background compactions */
    int compaction_rate_mb;     /* default 0 = unlimited: compaction output
                                   MB/s */
    int max_subcompactions;     /* default 2 (1..16): threads one compaction
                                   job may split into, each merging a
                                   disjoint key range (a job is split only
                                   when it has about one target file of
                                   input per range) */
    size_t compaction_readahead_bytes; /* default 2 MiB (0 = off, at most
                                   1 GiB): read-ahead window per compaction
                                   input, split into 4 reads in flight
                                   (smaller windows into fewer 4 KiB reads) */
    uint64_t periodic_compaction_seconds; /* default 0 = off: compact files
                                   older than this even without a trigger */
    size_t block_cache_bytes;   /* default 64 MiB: cache of data blocks */
    int max_open_files;         /* default 1000: table readers kept open */
    int use_direct_io;          /* default 0 (0 or 1; open-time only): tables
                                   are written (flush, compaction) with
                                   O_DIRECT, bypassing the page cache, so the
                                   block cache is the only cache: size
                                   block_cache_bytes accordingly
                                   (docs/tuning.md, "Direct I/O").  lsm_open
                                   fails with -EINVAL when the directory's
                                   file system refuses O_DIRECT */
    const char *io_backend;     /* "auto" (default), "uring" or "posix"; the
                                   environment variable LSMD_IO overrides a
                                   NULL or "auto" value */
    struct lsm_io *io;          /* advanced: use this backend instead (e.g. the
                                   fault injector); not owned, must outlive
                                   the lsm_db */
    unsigned file_mode;         /* default 0600 (0 means 0600): permission
                                   bits of every file the engine creates
                                   (WAL, tables, MANIFEST, CURRENT, LOCK,
                                   temporary files); a database directory it
                                   creates gets the same bits plus x wherever
                                   r is set (0600 -> 0700, 0640 -> 0750 for
                                   group read access).  Must include 0600
                                   and lie within 0666, else -EINVAL.  The
                                   process umask still applies; existing
                                   files and directories keep their mode. */

    /* Change feed (lsm_changes_open).  WALs whose writes are already in
     * tables are deleted at once when both are 0 (the default); otherwise
     * they are kept as history, and deleted at the next flush or
     * compaction once older than wal_retention_seconds (by mtime; 0 = no
     * age limit) or, oldest first, while all kept ones pass
     * wal_retention_bytes (0 = no size limit).  An open lsm_changes keeps
     * the WALs it still has to read whatever the limits.  Both can change
     * at run time (lsm_set_option). */
    uint64_t wal_retention_seconds; /* default 0 */
    size_t wal_retention_bytes;     /* default 0 (K/M/G suffixes) */
} lsm_options;

/* Option rules, checked by lsm_open (-EINVAL) and by lsm_set_option
 * against the current value of the other member of each pair (-EINVAL;
 * the log names the pair and why):
 *   l0_compaction_trigger <  l0_stop_trigger   (else writes stop before the
 *                                               compaction that frees them
 *                                               is due: a permanent stop)
 *   l0_compaction_trigger <= l0_slowdown_trigger <= l0_stop_trigger
 *   tiered_min_merge      <= tiered_max_runs
 *   tiered_max_runs       <  l0_stop_trigger   (under compaction_style
 *                                               tiered, also checked when
 *                                               the style is switched: a
 *                                               stop on L0 files must find
 *                                               a merge due)
 *   memtable_bytes >= 4 KiB at open, >= LSM_MIN_RUNTIME_MEMTABLE_BYTES
 *   (64 KiB) at run time.
 * The defaults (4 <= 20 <= 36, tiered 4 <= 12 < 36) satisfy every rule. */

/* Fills *o with the defaults above. */
void lsm_options_init(lsm_options *o);

/* Opens (or creates) the database in directory dir.  o may be NULL for
 * defaults.  Recovers from the MANIFEST and WAL left by a crash.
 * On success *out is a handle the caller closes with lsm_close().
 * Errors: -EINVAL (bad argument/option: lsm_last_error() names it), -EBUSY
 *   (another process or handle holds dir/LOCK; lsm_last_error() and the log
 *   give the holder's pid), -ENOENT (missing and
 *   create_if_missing is 0), -EEXIST (exists and error_if_exists),
 *   LSM_ECORRUPT (a MANIFEST or WAL record other than a torn WAL tail fails
 *   its checksum; file and offset are logged), LSM_EVERSION, -errno. */
int lsm_open(const char *dir, const lsm_options *o, lsm_db **out);

/* Waits for background work, syncs the WAL and frees db.
 * Snapshots still held are released.  REQUIRES: every iterator of db has
 * been freed.  Returns the first
 * background error seen, if any; db is freed in every case. */
int lsm_close(lsm_db *db);

/* ---- Writes -------------------------------------------------------------- */
#define LSM_SYNC 1 /* flag: acknowledged only after its WAL bytes are durable */

/* Without LSM_SYNC a write is in the operating system when acknowledged: it
 * survives a crash of the process, not of the machine.
 * Errors: -EINVAL (key/value size out of range, NULL key, unknown flag;
 *   nothing is written), LSM_EREADONLY (an earlier WAL write or sync or a
 *   background flush failed: the database refuses all writes until it is
 *   reopened), -EIO, -ENOSPC, -ENOMEM (this write failed and the database is
 *   now read-only; the write is not visible now, and may or may not be
 *   present after a reopen, as with LevelDB and RocksDB — only a successful
 *   return promises anything), -EMFILE, -ENFILE, -ENOMEM after waiting
 *   about 2 s for a memtable switch or flush that keeps running out of
 *   descriptors or memory (nothing is written; the database stays
 *   writable: retry later; see "Transient and sticky errors"). */
int lsm_put(lsm_db *db, const void *key, size_t klen, const void *val,
            size_t vlen, int flags);
int lsm_delete(lsm_db *db, const void *key, size_t klen, int flags);

/* A batch applies atomically: all of it or none, also across crashes. */
lsm_batch *lsm_batch_new(void);  /* NULL when out of memory */
/* Copies key and value into the batch.  Errors: -EINVAL (sizes), -ENOMEM. */
int lsm_batch_put(lsm_batch *b, const void *key, size_t klen, const void *val,
                  size_t vlen);
int lsm_batch_delete(lsm_batch *b, const void *key, size_t klen);
void lsm_batch_clear(lsm_batch *b);
void lsm_batch_free(lsm_batch *b);
/* Appends count entries given in their encoded form, the WAL payload of
 * docs/wal-format.md ("Payload"):
 *   entry = type u8 (1 put, 0 delete) | key_length u32 | value_length u32
 *           | key | value                     (little-endian, back to back)
 * This is how a server applies batches that clients encoded (lsmd's
 * WRITE_BATCH): one copy, no per-entry work beyond the check.
 * All or nothing: the bytes are copied into b and then checked in full, so
 * data may be memory that another process rewrites meanwhile (shared
 * memory): that can make the call fail, never put a malformed entry in b.
 * data is only read during the call; len 0 with count 0 is a no-op.
 * Errors (b keeps its entries; nothing is logged):
 *   -EINVAL (b NULL, or data NULL with len > 0),
 *   -E2BIG (b would pass LSM_MAX_BATCH_BYTES encoded),
 *   LSM_ECORRUPT (data is not exactly count well-formed entries: an entry
 *     cut short, a type other than 0 or 1, a key or value length outside
 *     the limits above, a delete with a value, or bytes after the last),
 *   -ENOMEM.
 * Thread safety: as every batch call, one thread per batch at a time. */
int lsm_batch_append_encoded(lsm_batch *b, const void *data, size_t len, uint32_t count);
/* Errors: as lsm_put; -EINVAL also for a batch over 1 GiB encoded.  The
 * batch is left unchanged and may be reused. */
int lsm_write(lsm_db *db, lsm_batch *b, int flags);

/* Writes in two steps: apply now, make durable later, for a server that
 * must not hold a thread for each fdatasync (lsmd applies a client's
 * write on its worker thread and acknowledges synced writes from one sync
 * thread per database, docs/architecture.md, "Writes in two steps").
 *
 * lsm_write_pos is lsm_write (same flags, errors, atomicity) that also
 * sets *pos to the write's WAL position: a number that grows with the
 * order writes are applied in (it is the sequence of the last entry of
 * the engine's write group that carried b; an empty b gets the position
 * of the latest write).  Without LSM_SYNC it returns once b is in the WAL
 * file (the operating system) and the memtable: visible to readers, not
 * yet durable against power loss.
 *
 * lsm_sync_wal returns once every write whose position is <= pos is
 * durable: its WAL bytes and every earlier write's, also across memtable
 * switches (a WAL switched away from is synced whole before the next one
 * takes writes, and its directory entry too), so a power loss keeps a
 * prefix of the writes that includes every one up to pos.  It costs
 * nothing when pos is already durable (a synced write, or an earlier
 * lsm_sync_wal, covered it); otherwise one fdatasync covers every write
 * applied before it starts, and callers that come while it runs share
 * the next one.
 * Thread safety: both from any thread, concurrently with any other call
 * but lsm_close; at most one fdatasync runs at a time.
 * Errors (lsm_sync_wal): -EINVAL (db NULL, or pos above every position a
 *   write returned), or the fdatasync's -EIO, -ENOSPC...: the database is
 *   then read-only (LSM_EREADONLY for writes, as after a failed synced
 *   lsm_write), and the writes after the last successful sync may or may
 *   not survive a power loss; later calls return the same error. */
int lsm_write_pos(lsm_db *db, lsm_batch *b, int flags, uint64_t *pos);
int lsm_sync_wal(lsm_db *db, uint64_t pos);

/* ---- Reads --------------------------------------------------------------- */
/* On success *val is a malloc'd copy (free it with lsm_free) of *vlen bytes.
 * snap NULL reads the latest state.
 * Errors: LSM_ENOTFOUND (absent or deleted), -EINVAL, LSM_ECORRUPT (a block
 *   on the read path failed its checksum), -EIO, -ENOMEM. */
int lsm_get(lsm_db *db, const lsm_snapshot *snap, const void *key, size_t klen,
            void **val, size_t *vlen);
void lsm_free(void *p);

/* As lsm_get, but copies the value straight into buf (cap bytes), with no
 * allocation: the service path uses it to write a value once, from the
 * memtable or block cache into a client's shared memory.  *vlen is the
 * value's length (also when it did not fit).  Errors: as lsm_get, and
 * LSM_ETOOSMALL when the value is longer than cap (buf's contents are then
 * unspecified). */
int lsm_get_into(lsm_db *db, const lsm_snapshot *snap, const void *key, size_t klen,
                 void *buf, size_t cap, size_t *vlen);

/* As lsm_get_into, but only from memory (memtables, the block cache):
 * -EWOULDBLOCK, with nothing copied and *vlen 0, when the answer needs a
 * block read.  An event loop answers most gets this way at the cost of a
 * plain lsm_get_into, with no queue and no eventfd write, and starts only
 * the others with lsm_getq_start (lsmd's workers: daemon/parked.h).  A
 * get that returns -EWOULDBLOCK counts in the statistics as no get (the
 * getq's does), though its block cache miss counts.  (Opening a table not
 * in the table cache still reads the disk here, as in lsm_getq_start.) */
int lsm_get_into_cached(lsm_db *db, const lsm_snapshot *snap, const void *key, size_t klen,
                        void *buf, size_t cap, size_t *vlen);

/* Blocking file reads the calling thread has made, on any database, since
 * it started (lsm_thread_reads), and the nanoseconds they took
 * (lsm_thread_read_ns): table blocks that missed the block cache, table
 * opens, WAL and MANIFEST reads at open (the reads of an lsm_getq are not
 * counted: they never block the caller).  Differences around an operation
 * say how long it waited for files, and how long per read: a few
 * microseconds for a read the page cache serves, a device's latency for
 * one from the disk.  lsmd moves iterators that wait for the disk off its
 * workers (daemon/iter_lane.h).  Cheap: one thread-local load each.  (The
 * model is RocksDB's thread-local perf context: block_read_count,
 * block_read_time.) */
uint64_t lsm_thread_reads(void);
uint64_t lsm_thread_read_ns(void);

/* ---- Many reads in flight ----------------------------------------------- */
/* n point lookups in one call, as of snap (NULL: a view taken now, the same
 * for every key).  For each i, statuses[i] is 0 (values[i] and value_lens[i]
 * set; free values[i] with lsm_free), LSM_ENOTFOUND (values[i] NULL), or a
 * negative code for that key alone.  Duplicate keys are allowed.  It finds
 * every key's candidate block first, then submits all the block reads that
 * miss the block cache in one submission and completes keys as their blocks
 * arrive; the results equal n calls of lsm_get.  Keys that need the same
 * block share one read.  On the POSIX backend the reads run one after
 * another.  The call borrows an I/O queue from a pool kept per database
 * (made once, reused by later calls on any thread).  Returns 0, or -EINVAL when the call itself
 * is invalid (db, a NULL array with n > 0, n > LSM_MULTI_GET_MAX); a bad key
 * (empty, too long) is -EINVAL in its own status. */
#define LSM_MULTI_GET_MAX 65536u
int lsm_multi_get(lsm_db *db, const lsm_snapshot *snap, size_t n, const void *const *keys,
                  const size_t *key_lens, void **values, size_t *value_lens, int *statuses);

/* Non-blocking gets, for an event loop.  A get queue belongs to one thread
 * at a time.  lsm_getq_start never waits for the disk: what it can answer
 * from memory (memtables, cached blocks) completes at once; a get that must
 * read a block leaves the read in flight.  Completions are collected with
 * lsm_getq_poll, which never blocks either; lsm_getq_fd is readable when
 * completions may be waiting (an eventfd: read it to clear it, then poll).
 * A get that completes inside lsm_getq_start (from memory, or on the POSIX
 * backend, where a get's reads run synchronously there) also makes the fd
 * readable, so a loop that only waits on the fd never misses a result;
 * its result waits for the next poll.  Each get holds its view (memtables
 * and tables) until it completes, and has at most one block read in
 * flight.
 *
 *   lsm_getq *q;  lsm_getq_new(db, 64, &q);
 *   lsm_getq_start(q, NULL, "k", 1, NULL, 0, tag);
 *   ... poll(lsm_getq_fd(q)) ..., read the eventfd, then
 *   lsm_get_result r[16];  size_t got = lsm_getq_poll(q, r, 16);
 *
 * A snapshot passed to start must stay acquired, and the key and buf must
 * stay valid and untouched, until its result comes back from poll (the get
 * reads the key at every step, and writes buf when its block arrives).
 * Destroying a queue waits for the reads still in flight and drops their
 * results. */
typedef struct lsm_getq lsm_getq;

typedef struct lsm_get_result {
    void *user;       /* as passed to lsm_getq_start */
    int status;       /* 0, LSM_ENOTFOUND, LSM_ETOOSMALL, or negative */
    void *value;      /* status 0: buf if one was given, else a malloc'd
                         copy for lsm_free; otherwise NULL */
    size_t value_len; /* status 0 or LSM_ETOOSMALL: the value's length */
} lsm_get_result;

/* A queue for up to depth (1..4096) gets in flight.
 * Errors: -EINVAL, -ENOMEM, the I/O backend's -errno. */
int lsm_getq_new(lsm_db *db, unsigned depth, lsm_getq **out);
void lsm_getq_destroy(lsm_getq *q);
int lsm_getq_fd(const lsm_getq *q);
/* Gets started and not yet returned by poll. */
unsigned lsm_getq_pending(const lsm_getq *q);

/* Starts a get of key as of snap (NULL: now).  With buf (cap bytes) the
 * value is copied there (LSM_ETOOSMALL and value_len when it does not
 * fit); with buf NULL the result holds a malloc'd copy.  Returns 0 (the
 * result will come from poll, perhaps the very next one), -EAGAIN (depth
 * gets pending), -EINVAL (bad key or arguments).  Never blocks on I/O. */
int lsm_getq_start(lsm_getq *q, const lsm_snapshot *snap, const void *key, size_t klen,
                   void *buf, size_t cap, void *user);

/* Advances the gets whose reads completed and moves up to max finished
 * ones to out[].  Returns the count.  Never blocks. */
size_t lsm_getq_poll(lsm_getq *q, lsm_get_result *out, size_t max);

/* Batching.  Between lsm_getq_plug and lsm_getq_unplug, the block reads
 * that lsm_getq_start (and lsm_getq_poll) prepare are held, and unplug
 * submits them together in one system call; an event loop plugs around a
 * run of starts.  Held reads are not in flight: unplug before waiting on
 * the fd.  (Unplugged, each start submits its read at once, and each poll
 * submits the next reads of the gets it advanced in one batch.) */
void lsm_getq_plug(lsm_getq *q);
void lsm_getq_unplug(lsm_getq *q);

/* ---- Snapshots ----------------------------------------------------------- */
/* A snapshot pins the state at the moment of the call.  NULL on ENOMEM. */
lsm_snapshot *lsm_snapshot_acquire(lsm_db *db);
uint64_t lsm_snapshot_id(const lsm_snapshot *s); /* the pinned sequence */
void lsm_snapshot_release(lsm_db *db, lsm_snapshot *s);

/* ---- Iterators ----------------------------------------------------------- */
/* An iterator over the user keys in [lo, hi) (a NULL bound is open) as of
 * snap, or of a consistent view taken now when snap is NULL.  It pins that
 * view (memtables and tables) until lsm_iter_free, so later writes and
 * compactions never change what it shows.  Deleted keys are skipped.
 * The iterator starts unpositioned: call first/last/seek.  Errors:
 * -EINVAL, -ENOMEM; read errors later surface in lsm_iter_status.
 * next/prev on an invalid iterator do nothing; key/value then return NULL.
 * REQUIRES: every iterator is freed before lsm_close.
 * Thread safety: one thread at a time per iterator. */
int lsm_iter_new(lsm_db *db, const lsm_snapshot *snap, const void *lo, size_t lolen,
                 const void *hi, size_t hilen, lsm_iter **out);
void lsm_iter_first(lsm_iter *it);
void lsm_iter_last(lsm_iter *it);
void lsm_iter_seek(lsm_iter *it, const void *key, size_t klen); /* first key >= key */
void lsm_iter_next(lsm_iter *it);  /* REQUIRES: lsm_iter_valid */
void lsm_iter_prev(lsm_iter *it);  /* REQUIRES: lsm_iter_valid */
int lsm_iter_valid(const lsm_iter *it);
/* Valid until the iterator moves or is freed. REQUIRES: lsm_iter_valid. */
const void *lsm_iter_key(const lsm_iter *it, size_t *klen);
const void *lsm_iter_value(const lsm_iter *it, size_t *vlen);
/* 0, or the first error met (LSM_ECORRUPT, -EIO, ...); an iterator that hit
 * an error is not valid. */
int lsm_iter_status(const lsm_iter *it);
void lsm_iter_free(lsm_iter *it);

/* ---- Change feed --------------------------------------------------------- */
/* Every write after a sequence, read back from the WALs (kept after their
 * flush for this: wal_retention_seconds / wal_retention_bytes above), in
 * the order it was applied, one entry at a time: what a replica or a
 * migration replays after loading a snapshot of the same sequence
 * (lsm_snapshot_id; docs/dump-format.md, docs/upgrade.md).
 *
 * Sequences: each entry of a write has its own (a batch of n entries takes
 * n consecutive ones), the same numbers lsm_snapshot_id reports, so
 * "since = a snapshot's id" gives exactly the writes the snapshot does not
 * see.  Sequences may jump where a power loss dropped unsynced writes
 * (they are gone from the database too), never elsewhere.
 *
 * lsm_changes_open: a reader of the entries with sequence > since.  It
 * keeps the WALs it has still to read from deletion until closed.
 * Errors: -EINVAL, -ERANGE (the WALs holding since + 1 were deleted
 *   already: the history is gone; take a new snapshot and start from it),
 *   -ENOMEM, -errno reading a WAL, LSM_ECORRUPT.
 * lsm_changes_next: 1 and *out (key and value valid until the next call
 *   or close), or 0 when every write visible now has been returned (call
 *   again later for newer ones: the reader follows the live WAL), or an
 *   error (-ERANGE if a WAL it needed vanished, -errno, LSM_ECORRUPT;
 *   then it stays in error).  Entries are never returned before readers
 *   can see them.
 * REQUIRES: every reader is closed before lsm_close.
 * Thread safety: a reader belongs to one thread at a time; any number may
 * be open. */
#define LSM_CHANGE_DELETE 0
#define LSM_CHANGE_PUT 1
typedef struct lsm_changes lsm_changes;
typedef struct lsm_change {
    uint64_t seq;
    int type;            /* LSM_CHANGE_PUT or LSM_CHANGE_DELETE */
    const void *key;
    size_t klen;
    const void *value;   /* empty for a delete */
    size_t vlen;
} lsm_change;
int lsm_changes_open(lsm_db *db, uint64_t since, lsm_changes **out);
int lsm_changes_next(lsm_changes *c, lsm_change *out);
void lsm_changes_close(lsm_changes *c);

/* ---- Maintenance --------------------------------------------------------- */
/* Freezes the memtable and waits until every frozen memtable is in level 0.
 * Errors: LSM_EREADONLY, -EIO, -ENOSPC; -EMFILE, -ENFILE, -ENOMEM when the
 * switch or the flush kept failing for lack of descriptors or memory for
 * about 2 s (the flush goes on retrying in the background). */
int lsm_flush(lsm_db *db);

/* Compacts one level into the next (leveled; L0 into the base level) or
 * merges sorted runs (tiered); level -1 compacts the whole tree down to one
 * sorted run.
 * Waits until done.  Errors: -EINVAL (level out of range), LSM_EREADONLY,
 * -EIO, -ENOSPC; -EMFILE, -ENFILE, -ENOMEM when a step kept running out of
 * descriptors or memory for about 2 s (nothing is lost; call again). */
int lsm_compact(lsm_db *db, int level);

/* ---- Checkpoints ---------------------------------------------------------- */
/* Makes a consistent copy of the live database in dir, which must not exist
 * yet (its parent must).  The copy opens by itself (lsm_open, or lsmd --dir)
 * as an independent database holding the writes up to one sequence, taken
 * during the call: every write acknowledged before the call began is in it,
 * no write begun after it returned is.  Writers are not stopped (the
 * sequence is taken under the engine's mutex, a few loads).
 *   Tables are hard links when dir is on the database's file system (a
 *   table never changes once written, so the two databases share it safely;
 *   either may delete its name), else copies.  The WALs are copied up to
 *   the last record of that sequence, and a fresh MANIFEST names only the
 *   copied files.  Every file, the new directory and its parent are
 *   synced.
 *   Files are not deleted by flushes or compactions while the call runs (it
 *   is linking or reading them); what became obsolete is deleted when it
 *   returns.
 * Crash safety: the copy is built in "dir.tmp" (dir with trailing slashes
 *   removed, plus ".tmp") and renamed to dir when complete.  After an error
 *   dir does not exist and dir.tmp is removed; after a crash dir does not
 *   exist, or is complete.  A dir.tmp left by a crash opens only if it was
 *   complete (its CURRENT is written last); the next checkpoint into dir
 *   removes it.
 * dir.tmp is flock'ed while in use: a second checkpoint into the same dir
 *   at the same time fails with -EBUSY and harms neither.
 * Errors: -EINVAL (db or dir NULL or empty), -EEXIST (dir exists),
 *   -ENOENT (dir's parent does not exist), -EBUSY (another checkpoint is
 *   writing dir.tmp), -ENOTEMPTY (dir.tmp holds files that are not a
 *   database's: left alone; remove it), LSM_ECORRUPT (a WAL record before
 *   the sequence fails its check; logged), LSM_ECLOSED, -ENOMEM, -errno
 *   (-ENOSPC, -EIO, -EACCES, ...).  An error never changes the live
 *   database. */
int lsm_checkpoint(lsm_db *db, const char *dir);

/* Changes an option at runtime.  Names: compaction_style (leveled|tiered),
 * memtable_bytes, sstable_target_bytes, l0_compaction_trigger,
 * l0_slowdown_trigger, l0_stop_trigger, delayed_write_rate,
 * level_size_ratio, level_base_bytes, tiered_size_ratio, tiered_min_merge,
 * tiered_max_runs, tiered_max_space_amp, block_cache_bytes,
 * compaction_threads, compaction_rate_mb, max_subcompactions,
 * compaction_readahead_bytes, periodic_compaction_seconds,
 * wal_retention_seconds, wal_retention_bytes (see lsm_options for meanings and ranges).  Errors: -EINVAL for an
 * unknown name, a bad value, or a value breaking an option rule against
 * the current value of its partner ("Option rules" above); lsm_last_error()
 * says why and nothing changes.  To move a pair past each other, set the one
 * that keeps the rule first (e.g. raise l0_stop_trigger before
 * l0_slowdown_trigger).  A change is written to DIR/OPTIONS (see
 * "Persisted options" below) before it applies: if that write fails the
 * call returns its -errno (-EIO, -ENOSPC, ...) and nothing changes. */
int lsm_set_option(lsm_db *db, const char *name, const char *value);

/* ---- Persisted options (DIR/OPTIONS) ------------------------------------ */
/* lsm_open writes every option it opened with to DIR/OPTIONS, and each
 * successful lsm_set_option rewrites it, atomically (a temporary file,
 * fsync, rename, directory fsync): after a crash the file holds the
 * options last in force.  Persisted: compaction_style, memtable_impl, the
 * numeric fields of lsm_options and file_mode; not create_if_missing,
 * error_if_exists, io_backend, io.  Format: docs/options-format.md.
 * lsm_open does not read the file: the caller decides what wins (lsmd:
 * defaults < DIR/OPTIONS < what is given at start; docs/operations.md,
 * "Options"), as RocksDB's LoadLatestOptions leaves it to the caller. */

/* Every option listed by lsm_get_option(db, "", ...) fits in this many
 * bytes with its NUL. */
#define LSM_OPTIONS_TEXT_MAX 4096

/* Overlays the options persisted in DIR/OPTIONS onto *o (call
 * lsm_options_init first): the values found replace o's, the rest stay.
 * An unknown name (from a newer engine) is skipped with a warning.  On
 * any error *o is unchanged and the log says which file, line and why.
 * Errors: -ENOENT (no OPTIONS file: a new database, or one written before
 *   this version), LSM_ECORRUPT (the file is damaged: not ours, torn, or
 *   edited by hand, which its checksum refuses), LSM_EVERSION (a newer
 *   format), -EINVAL (a value out of range), -errno (cannot read). */
int lsm_options_load(const char *dir, lsm_options *o);

/* The current value of option name, as text, into buf (cap bytes, NUL-
 * terminated): sizes and counts as decimal integers (bytes for sizes),
 * ratios as decimals that read back exactly, file_mode in octal ("0600").
 * An empty or NULL name lists every persisted option, one "name=value\n"
 * line each, in a fixed order.  Returns the length without the NUL.
 * Errors: -EINVAL (db NULL, unknown name), LSM_ETOOSMALL (cap too small;
 *   LSM_OPTIONS_TEXT_MAX always suffices).  Thread safety: any thread. */
int lsm_get_option(lsm_db *db, const char *name, char *buf, size_t cap);

/* The same two on an lsm_options that no database holds: get as
 * lsm_get_option; set parses one value as lsm_set_option does (K/M/G
 * suffixes for sizes), for any persisted option, and checks its range
 * (the rules between pairs are lsm_open's).  Errors (set): -EINVAL
 * (unknown name or bad value: lsm_last_error() says which; *o
 * unchanged). */
int lsm_options_get(const lsm_options *o, const char *name, char *buf, size_t cap);
int lsm_options_set(lsm_options *o, const char *name, const char *value);

/* ---- The option table ---------------------------------------------------- */
/* Every persisted option (the list above: compaction_style, memtable_impl,
 * the numeric fields of lsm_options, file_mode), in lsm_get_option's
 * order, for programs that present them (lsmd derives its flags, INI keys
 * and --help from it). */
typedef struct lsm_option_info {
    const char *name; /* as lsm_set_option, lsm_get_option and OPTIONS spell it */
    const char *help; /* its meaning in one line */
    int runtime;      /* 1: lsm_set_option changes it on an open database;
                         0: lsm_open only */
} lsm_option_info;

/* The i-th option (0-based), or NULL when i is past the last.  Static
 * storage: never freed.  Thread safety: any thread. */
const lsm_option_info *lsm_option_at(size_t i);

/* A malloc'd JSON object (free with lsm_free) describing levels, I/O,
 * WAL, cache, compaction and stall statistics and the recent
 * flush/compaction events; "transient_errors" counts the resource errors
 * retried instead of made sticky, "transient_error" is the one a flush or
 * compaction is retrying after now (0: none).  Errors: -ENOMEM. */
int lsm_stats_json(lsm_db *db, char **json);

/* ---- Metrics (numbers for exporters; lsmd renders them as Prometheus
 * text, daemon/metrics.h) ---------------------------------------------------
 * The figures of lsm_stats_json as plain numbers, plus latency histograms
 * with fixed buckets.  Counters (monotonic since open) and gauges (current
 * values) are read without stopping writers: relaxed atomic loads, the tree
 * shape from the current version; the compaction scores under the db
 * mutex (a pass over the tables' metadata, no I/O).  A monitoring cut, not an audit: two counters may be a
 * few operations apart. */
#define LSM_METRICS_LEVELS 7       /* levels L0..L6 */
#define LSM_METRICS_MAX_BUCKETS 20 /* fixed buckets of one histogram */
#define LSM_METRICS_IO_KINDS 4     /* wal_write wal_sync table_read table_write */

/* A histogram with fixed buckets (Prometheus "le"): latencies in
 * nanoseconds, bounds 1 us .. 2.5 s in 1-2.5-5 steps; WAL group sizes in
 * writes, bounds 1, 2, 4 .. 1024.  Derived from a finer histogram: a
 * sample less than 1/32 below a bound may be counted under the next bound,
 * never under a bound it exceeds (values below 64 are exact). */
typedef struct lsm_histogram_metrics {
    uint64_t count;   /* samples */
    double sum;       /* their sum, in the samples' unit */
    int nbounds;      /* bounds used, <= LSM_METRICS_MAX_BUCKETS */
    uint64_t bound[LSM_METRICS_MAX_BUCKETS]; /* ascending */
    uint64_t le[LSM_METRICS_MAX_BUCKETS];    /* samples <= bound[i], cumulative;
                                                +Inf is count */
} lsm_histogram_metrics;

typedef struct lsm_io_kind_metrics {
    uint64_t ring, inlined;   /* operations through io_uring / issued inline */
    uint64_t submissions;     /* io_uring_enter calls that submitted them */
} lsm_io_kind_metrics;

typedef struct lsm_metrics {
    size_t size; /* the caller sets sizeof(lsm_metrics) (header/library check) */
    char io_backend[16], compaction_style[16];
    uint64_t last_sequence;
    /* tree shape (gauges) */
    uint64_t level_files[LSM_METRICS_LEVELS], level_bytes[LSM_METRICS_LEVELS];
    double level_score[LSM_METRICS_LEVELS]; /* >= 1: the picker wants to compact it */
    uint64_t sorted_runs, table_bytes, pending_compaction_bytes;
    uint64_t memtable_bytes, immutable_memtables, compactions_running;
    /* bytes (counters): user = key+value bytes written; written by flushes
     * and by compactions; read by compactions */
    uint64_t user_bytes, flushed_bytes, compaction_read_bytes, compaction_written_bytes;
    double write_amplification, space_amplification; /* as lsm_stats_json */
    uint64_t compactions, subcompactions;
    /* stalls (counters) */
    uint64_t stalls, stall_us, slowdowns, slowdown_us, rate_limit_wait_us;
    /* WAL (counters): fdatasyncs; group commits and the writes they held
     * (their sizes: wal_group_size below) */
    uint64_t wal_syncs, wal_groups, wal_group_writes;
    /* reads (counters) */
    uint64_t gets, tables_probed, bloom_checks, bloom_useful;
    uint64_t block_cache_hits, block_cache_misses;
    uint64_t block_cache_capacity, block_cache_usage; /* bytes (gauges) */
    uint64_t table_cache_opens, table_cache_hits, table_cache_evictions;
    uint64_t table_cache_open, table_cache_max_open; /* gauges */
    /* errors: the sticky background error (0 none, as lsm_db_error), the
     * resource errors retried (counter) and the one retried now (0 none) */
    int background_error, transient_error;
    uint64_t transient_errors;
    /* I/O by kind, in LSM_METRICS_IO_KINDS order (lsm_metrics_io_kind) */
    lsm_io_kind_metrics io[LSM_METRICS_IO_KINDS];
    uint64_t io_ring_submissions; /* every io_uring_enter that submitted */
    lsm_histogram_metrics get_latency_ns, write_latency_ns, wal_group_size;
} lsm_metrics;

/* Fills *m (set m->size = sizeof *m first).  Errors: -EINVAL (NULL, or
 * m->size is not this library's sizeof(lsm_metrics)). */
int lsm_metrics_get(lsm_db *db, lsm_metrics *m);

/* "wal_write", "wal_sync", "table_read", "table_write" for 0..3; NULL
 * otherwise. */
const char *lsm_metrics_io_kind(int kind);

/* Describes any return code of this library (never NULL). */
const char *lsm_strerror(int err);

/* Why the last refusal on this thread happened, as one short line (at most
 * 127 bytes) that names what was wrong, e.g. "no such option:
 * no_such_option", "compaction_style: expected leveled or tiered",
 * "compaction_threads: 99 is above the maximum 16", "empty key", "key of
 * 65537 bytes exceeds the 65536-byte limit".  Thread-local: set by the
 * call that failed on this thread.  lsm_open, lsm_put, lsm_delete,
 * lsm_get, lsm_batch_put, lsm_batch_delete, lsm_set_option and
 * lsm_options_set clear it when they start and set it when they refuse
 * their input; after a failure they give no reason for (I/O, memory) it
 * is "", and lsm_strerror(code) says what the code means.  Other calls
 * do not clear it (those that take a key, such as lsm_get_into, still set
 * it when they refuse one): read it right after the failed call.  Never
 * NULL; the text stays valid until the next call of those on this
 * thread. */
const char *lsm_last_error(void);

/* ---- Logging ---------------------------------------------------------------
 * The library is quiet by default: it reports warnings and errors (a
 * background flush or compaction that failed, a damaged file met on open)
 * and keeps informational lines (flushes, compactions, options set) to
 * itself.  Refusals of a caller's input are returned (lsm_last_error), not
 * logged above debug, except that a failed lsm_open logs one error line.
 *
 * Lines go to the callback set with lsm_set_log_callback, else to stderr,
 * one line per write, prefixed with a date, "lsm", the level and the pid.
 * Only lines at or below the level pass: the level is the one set with
 * lsm_log_set_level, else the environment variable LSMD_LOG_LEVEL (error,
 * warn, info or debug), else warn.  lsmd itself logs at info. */
enum lsm_log_level {
    LSM_LOG_ERROR = 0,
    LSM_LOG_WARN = 1,
    LSM_LOG_INFO = 2,
    LSM_LOG_DEBUG = 3,
};

/* Receives one log line: its level and the message, without date, level
 * or pid and without a trailing newline; the text is valid during the call
 * only.  Called from any thread of the library (background flush and
 * compaction threads included), possibly with internal locks held: it
 * must be thread-safe, return quickly and not call back into lsm_*. */
typedef void (*lsm_log_fn)(void *ctx, enum lsm_log_level level, const char *msg);

/* Sends the library's log lines to fn(ctx, ...) instead of stderr; NULL
 * goes back to stderr.  Set it before lsm_open: a line logged while it
 * changes may go to either destination. */
void lsm_set_log_callback(lsm_log_fn fn, void *ctx);

/* The level of lines that pass (see above); process-wide. */
void lsm_log_set_level(enum lsm_log_level level);

/* The background error that made the database read-only (0 if none), with a
 * static description of what failed in *why when why is not NULL. */
int lsm_db_error(lsm_db *db, const char **why);

/* ---- offline inspection and repair (engine/inspect/, docs/operations.md
 * "Inspection and repair"); both take dir/LOCK, so they refuse (-EBUSY) a
 * database an engine has open.  `lsmctl verify` and `lsmctl repair` print
 * what these find and do. ---- */

/* Checks every file of the database in dir, reading only: CURRENT, the
 * MANIFEST, every table (every block's checksum and format, key order, the
 * sizes and key ranges the MANIFEST records) and the WALs recovery would
 * replay.  Returns 0 (no damage), LSM_ECORRUPT (damage found),
 * LSM_EVERSION, -EBUSY, -ENOMEM, -errno. */
int lsm_verify(const char *dir);

/* Rebuilds the MANIFEST of the database in dir from the tables and WALs
 * present, like RocksDB's RepairDB, for a database that no longer opens
 * (lost or damaged CURRENT or MANIFEST, a damaged table or WAL): the good
 * records of every WAL become a table, every intact table is kept, a new
 * MANIFEST and CURRENT name them, and the whole tree is compacted once so
 * the newest version of every key comes first.  Nothing is deleted:
 * damaged tables, converted WALs and the old CURRENT and MANIFESTs are
 * moved into dir/lost/, and the tables the compaction replaces are
 * hard-linked there first (delete dir/lost/ when satisfied).  Data in a damaged table, and WAL records after a bad one,
 * are not in the repaired database.  Run it with no engine open on dir;
 * an interrupted repair can be run again.  Returns 0 (lsm_open will open
 * dir), -EBUSY, -ENOENT (no dir, or none of a database's files in it:
 * nothing is written), -ENOMEM, -errno. */
int lsm_repair(const char *dir);

#ifdef __cplusplus
}
#endif
#endif /* LSM_H */
