/*
 * db_impl.h — the inside of an lsm_db, the one header every unit of db/
 * shares (as RocksDB's db_impl.h).  Each unit below owns one concern and
 * declares its calls in its own header; the cross-unit calls of the big
 * ones are declared here:
 *   db.c             open, close, recovery, the thin public write wrappers,
 *                    snapshots
 *   db_write.c       group commit, memtable switch, write slowdown
 *   db_read.c        gets
 *   db_iter.c        iterators (db_iter.h)
 *   db_flush.c       memtable -> level 0
 *   db_compact.c     compaction threads, lsm_compact, run-time changes to
 *                    compaction
 *   db_options.c     option checks, lsm_set_option, every option by name
 *                    (lsm_get_option, lsm_options_get/set/load)
 *   options_file.c   DIR/OPTIONS as bytes: framing, checksum, rename
 *   db_stats.c       lsm_stats_json
 *   db_transient.c   retrying resource errors
 *   db_checkpoint.c  lsm_checkpoint: a consistent copy in another directory
 *   db_changes.c     the change feed (lsm_changes_*) from the WALs
 * and the shared services, each with its own header:
 *   superversion.h   the read view readers pin
 *   bg_error.h       the sticky background error
 *   pending_outputs.h  tables being written, kept from deletion
 *   obsolete_files.h deleting what no version needs (and WAL retention)
 *   wal_files.h      the WALs present, in number order
 *   events.h         the flush/compaction event log
 *   paths.h          paths of the database's files
 *   clock.h          wall and monotonic clocks
 * The calls among units form no circle: db.c (open/close) is on top; the
 * services call nothing above them.
 *
 * Thread safety / invariants
 *   mu guards every field marked [mu].  I/O is never done under mu except
 *   the rare memtable switch (create the next WAL file).
 *   Lock order: manifest_mu before mu (a checkpoint's capture nests them,
 *   db_checkpoint.c); nothing takes manifest_mu while holding mu.
 *   Only the group-commit leader (the head of the writer queue) inserts into
 *   db->mem, appends to db->wal or switches the memtable; it may do so
 *   without mu, since leadership is exclusive.
 *   Readers see a write only when last_seq covers it; last_seq is published
 *   (release) after the whole group is in the memtable, so a batch is seen
 *   all at once or not at all.
 *   A superversion is an immutable, refcounted triple (memtable, frozen
 *   memtables, version); readers pin one and read without locks.
 */
#ifndef LSM_DB_IMPL_H
#define LSM_DB_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "io/io.h"
#include "base/iterator.h"
#include "lsm.h"
#include "memtable/memtable.h"
#include "version/version.h"
#include "version/version_set.h"
#include "wal/wal_writer.h"
#include "compaction/compaction_picker.h"
#include "base/histogram.h"
#include "compaction/rate_limiter.h"

#define DB_MAX_IMM 16
#define DB_MAX_COMPACTION_THREADS 16
#define DB_MAX_PENDING 64   /* flushes + compactions in flight */
#define DB_EVENT_LOG 256    /* flush/compaction events kept for stats */
#define DB_CHANGES_POS 8    /* change-reader positions remembered */

/* Retrying after resource errors (db_transient.c). */
#define DB_BACKOFF_MIN_NS   10000000ull    /* 10 ms, doubling ... */
#define DB_BACKOFF_MAX_NS   1000000000ull  /* ... to 1 s */
#define DB_TRANSIENT_WAIT_NS 2000000000ull /* a writer waits this long at most
                                              for a step that keeps failing */

/* What readers pin: never changes after install; freed at the last unref. */
typedef struct superversion {
    _Atomic int refs;
    memtable *mem;
    memtable *imm[DB_MAX_IMM]; /* newest first */
    int nimm;
    version *v;
} superversion;

/* A waiting writer in the group-commit queue (lives on its caller's stack). */
typedef struct db_writer {
    lsm_batch *batch; /* NULL: a request to switch the memtable (lsm_flush) */
    int sync;
    bool done;
    int status;
    uint64_t seq;     /* set when done: the group's last sequence */
    pthread_cond_t cv;
    struct db_writer *next;
} db_writer;

/* A frozen memtable waiting for its flush, with the WAL that holds it. */
typedef struct imm_entry {
    memtable *mem;
    uint64_t wal_number;
    const char *why;   /* why it was frozen, static, < 24 bytes: the flush
                          event's reason ("memtable full", "manual flush") */
} imm_entry;

/* One flush or compaction, for stats and the compaction picture. */
typedef struct db_event {
    uint64_t id;
    char kind[12];             /* "flush" | "compaction" | "move" */
    char reason[24];
    char style[10];
    int input_levels_mask;     /* bit l: inputs from level l */
    int output_level;
    uint64_t start_us, end_us; /* wall clock, microseconds */
    uint64_t files_in, files_out, bytes_in, bytes_out;
    int status;                /* 0 or the error */
} db_event;

/* A WAL number an open change reader still needs: WALs from it on are
 * never deleted (db_changes.c sets it, obsolete_files.c honours it). */
typedef struct db_wal_pin {
    uint64_t number;                   /* [mu] */
    struct db_wal_pin *prev, *next;    /* [mu] db->wal_pins */
} db_wal_pin;

struct lsm_snapshot {
    uint64_t seq;
    struct lsm_snapshot *prev, *next; /* [mu] the db's list, oldest first */
};

struct lsm_db {
    char *dir;
    lsm_options opt;
    lsm_io *io;
    bool own_io;
    int lock_fd;
    version_set *vs;

    pthread_mutex_t mu;
    pthread_cond_t bg_cv;        /* flush progress, background errors */
    pthread_cond_t work_cv;      /* wakes the flush thread */
    db_writer *wq_head, *wq_tail;/* [mu] group-commit queue */
    int writers_inflight;        /* [mu] inside db_write_batch */
    lsm_batch *group_batch;      /* leader only: followers merged here */

    memtable *mem;               /* leader writes, [mu] to swap */
    uint64_t wal_number;         /* [mu] WAL of mem */
    wal_writer *wal;             /* leader only */
    imm_entry imm[DB_MAX_IMM];   /* [mu] oldest first */
    int nimm;                    /* [mu] */
    uint64_t imm_frozen;         /* [mu] memtables ever frozen */
    uint64_t imm_flushed;        /* [mu] memtables ever flushed */
    superversion *sv;            /* [mu] the current one */

    _Atomic uint64_t last_seq;   /* highest sequence visible to readers */

    /* Highest sequence whose WAL record is written (not necessarily
     * durable): stored by the leader after each append (release), before
     * the group is visible; a sync loads it (acquire) before its
     * fdatasync, which then covers every record up to it. */
    _Atomic uint64_t wal_seq;

    /* WAL syncs run outside the writer queue (db_sync_upto), so the next
     * group appends while this one waits for its fdatasync and one
     * fdatasync covers every group written before it began.  [sync_mu] */
    pthread_mutex_t sync_mu;
    pthread_cond_t sync_cv;
    wal_writer *sync_writer;     /* the current WAL, for syncing */
    uint64_t synced_seq;         /* every write up to it is durable (older
                                    WALs were synced whole at their switch) */
    bool syncing;                /* a thread is in fdatasync */
    int sync_error;              /* sticky: a failed fdatasync */
    pthread_mutex_t manifest_mu; /* serializes version_set_log_and_apply */
    pthread_mutex_t options_mu;  /* serializes lsm_set_option, so DIR/OPTIONS
                                    is written in the order changes apply;
                                    taken before mu, never under it */

    int bg_error;                /* [mu] 0, or the error that made us read-only */
    int flush_transient;         /* [mu] the flush is retrying after this
                                    resource error (0: it is not) */
    int compact_transient;       /* [mu] likewise the last compaction;
                                    cleared when one creates an output,
                                    succeeds, or none is due */
    const char *bg_why;          /* [mu] static text: what failed */
    bool closing;                /* [mu] */
    pthread_t flush_thread;
    bool flush_thread_started;
    bool compaction_started;

    lsm_snapshot snapshots;      /* [mu] list head (sentinel) */
    int deletion_holds;          /* [mu] checkpoints copying files: while
                                    > 0 db_delete_obsolete deletes nothing
                                    (cf. RocksDB's DisableFileDeletions) */

    /* Change feed readers (db_changes.c): each keeps the WALs numbered
     * from its pin on (obsolete_files.c). */
    struct db_wal_pin *wal_pins; /* [mu] list, one per open reader */
    int obsolete_running;        /* [mu] db_delete_obsolete calls under way:
                                    a new reader waits for them (they may
                                    have chosen their victims before its
                                    pin), bg_cv says when one ends */
    /* Where closed readers left off (db_changes.c), so a reader opened at
     * the sequence an earlier one reached (a follower's next page) starts
     * there instead of searching the WALs from their beginning. */
    struct db_changes_pos {
        uint64_t wal, offset;    /* a record's start in WAL wal */
        uint64_t below;          /* every entry before it is <= below */
    } changes_pos[DB_CHANGES_POS];  /* [mu] ring; wal 0 = empty */
    unsigned changes_pos_next;   /* [mu] */

    /* Compaction. */
    const compaction_picker *picker;          /* [mu] */
    pthread_cond_t compact_cv;                /* wakes compaction threads */
    pthread_t compact_thread[DB_MAX_COMPACTION_THREADS];
    struct db_thread_arg { lsm_db *db; int idx; } compact_arg[DB_MAX_COMPACTION_THREADS];
    int running_levels;                       /* [mu] levels touched by
                                                 running compactions */
    int compact_threads_started;              /* [mu] */
    int compactions_running;                  /* [mu] */
    int manual_compactions;                   /* [mu] automatic picks pause */
    uint64_t pending[DB_MAX_PENDING];         /* [mu] first file number of
                                                 each job writing tables */
    int npending;                             /* [mu] */
    rate_limiter *rl;
    atomic_bool cancel;                       /* closing: stop compactions */
    db_event events[DB_EVENT_LOG];            /* [mu] ring */
    uint64_t nevents;                         /* [mu] events ever logged */
    uint64_t slowdown_next_ns;                /* [mu] write slowdown: when the next
                                                 group may start (db_write.c) */

    struct block_cache *block_cache;
    struct table_cache *table_cache;
    struct get_queue_pool *_Atomic get_queues; /* lsm_multi_get's io_queues
                                                  (get_queues.h); NULL until
                                                  the first one */
    histogram get_latency, write_latency;     /* nanoseconds, atomic records */
    histogram wal_group_size;                 /* writes per WAL group, atomic records */

    /* Counters for stats (relaxed atomics). */
    _Atomic uint64_t stat_user_bytes;         /* key+value bytes written */
    _Atomic uint64_t stat_compact_read, stat_compact_written, stat_compactions;
    _Atomic uint64_t stat_subcompactions; /* ranges of the jobs that were split */
    _Atomic uint64_t stat_gets, stat_tables_probed;
    _Atomic uint64_t stat_slowdowns, stat_slowdown_us;
    _Atomic uint64_t stat_wal_syncs, stat_wal_groups, stat_wal_grouped_writes;
    _Atomic uint64_t stat_bloom_checks, stat_bloom_useful;
    _Atomic uint64_t stat_stall_us, stat_stalls;
    _Atomic uint64_t stat_bytes_flushed;
    _Atomic uint64_t stat_transient_errors;   /* resource errors retried */
    /* Retired WALs kept for the change feed, as of the last
     * db_delete_obsolete (obsolete_files.c). */
    _Atomic uint64_t stat_wal_retained_files, stat_wal_retained_bytes;
};

/* db_transient.c: resource errors (io_error_is_transient) in a switch,
 * flush or compaction are retried, never made sticky.
 * true when rc is such an error and nothing sticky stands behind it. */
bool db_error_transient(lsm_db *db, int rc);
/* Counts and logs (rate-limited) a transient failure of `what`, stores rc
 * in *slot if slot is not NULL, and wakes waiters.  REQUIRES: mu held. */
void db_transient_note(lsm_db *db, int rc, const char *what, int *slot);
/* Waits *delay_ns on cv (other wakeups do not cut it short; closing or a
 * background error do), then doubles *delay_ns up to DB_BACKOFF_MAX_NS.
 * REQUIRES: mu held. */
void db_backoff_wait(lsm_db *db, pthread_cond_t *cv, uint64_t *delay_ns);
/* One wait on bg_cv for background progress.  transient: the step waited
 * for is retrying after that error (0: not); then the wait is bounded:
 * once DB_TRANSIENT_WAIT_NS have passed since *since_ns (0: set now),
 * returns transient so the caller refuses its request.  Returns 0 to wait
 * on.  REQUIRES: mu held. */
int db_wait_progress(lsm_db *db, int transient, uint64_t *since_ns);
/* Unlinks table `number`, which no MANIFEST names (best effort). */
void db_remove_table(lsm_db *db, uint64_t number);
/* Unlinks the tables e adds, after a failure that recorded e nowhere
 * (only then: a MANIFEST write that failed may have reached the disk). */
void db_discard_added(lsm_db *db, const version_edit *e);

/* db_flush.c */
void *db_flush_main(void *arg);
/* Writes mem to a new level-0 table; *out is NULL when mem is empty.
 * REQUIRES: mu not held (it takes mu to read the table options). */
int db_build_l0(lsm_db *db, memtable *mem, file_meta **out);

/* db_compact.c */
int db_compaction_start(lsm_db *db);    /* at open */
void db_compaction_stop(lsm_db *db);    /* at close: cancel and join */
/* Wakes compaction threads (a flush finished, an option changed). */
void db_compaction_wake(lsm_db *db);
/* The picker's view of the options.  REQUIRES: mu held. */
void db_picker_options(const lsm_db *db, picker_options *po);
/* Bytes the current picker would still like to compact in v. */
uint64_t db_pending_compaction_bytes(lsm_db *db, const version *v);
/* Applies changed run-time options (rate, threads) and wakes work; the
 * block cache's capacity is db_options.c's. */
void db_options_changed(lsm_db *db);

/* db_metrics.c */
/* Bytes in all of v's tables; *deepest = bytes of the deepest non-empty
 * level (of the oldest L0 file when only L0 holds tables): the
 * denominator of space amplification. */
uint64_t db_table_bytes(const version *v, uint64_t *deepest);

/* db_options.c */
int db_check_options(const lsm_options *o);
/* The rules between pairs of options (lsm.h, "Option rules"), under
 * o->compaction_style (NULL: leveled).  changed names the option a
 * run-time set changes (NULL at open), for the log line that says which
 * pair and why.  Returns 0 or -EINVAL. */
int db_check_option_rules(const lsm_options *o, const char *changed);
int db_style_valid(const char *s);
/* name's value as text into buf (NUL-terminated), or with name NULL or ""
 * every option as "name=value\n" lines.  Returns the length (without the
 * NUL), -EINVAL (unknown name), LSM_ETOOSMALL (cap too small). */
int db_options_text(const lsm_options *o, const char *name, char *buf, size_t cap);
/* Writes o to DIR/OPTIONS (options_file_write; *renamed as there).
 * REQUIRES: options_mu held, or no other thread yet (lsm_open). */
int db_options_persist(lsm_db *db, const lsm_options *o, bool *renamed);

/* db_write.c */
/* b NULL: switch.  *seq (may be NULL) gets the write's WAL position: the
 * last sequence of its group (last_seq for a switch). */
int db_write_batch(lsm_db *db, lsm_batch *b, int sync, uint64_t *seq);
/* lsm_sync_wal (lsm.h): returns once every write up to seq is durable. */
int db_sync_upto(lsm_db *db, uint64_t seq);
/* Inserts an encoded batch payload into mem; entry i gets first_seq + i.
 * Used by the group-commit leader and by WAL replay. */
int db_insert_entries(memtable *mem, uint64_t first_seq, slice payload, uint32_t count);

/* db_read.c */
/* An iterator over all internal keys of fm's table; it keeps the table
 * open until destroyed (the caller also holds a ref on fm or its version).
 * Errors: as sst_reader_open, -ENOMEM. */
int db_table_iter_new(lsm_db *db, file_meta *fm, iter **out);

#endif
