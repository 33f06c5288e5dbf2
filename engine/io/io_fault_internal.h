/*
 * io_fault_internal.h — what the fault backend's files share (io_fault.c,
 * the blocking calls and power loss; io_fault_queue.c, its io_queue).  Not
 * part of the I/O contract (io.h).  The locking rules are io_fault.c's
 * ("Thread safety / invariants").
 */
#ifndef LSM_IO_FAULT_INTERNAL_H
#define LSM_IO_FAULT_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "io/io.h"

/* One file's content (an inode), as far as this layer has seen it. */
struct fault_ino {
    uint64_t durable_len;    /* [mu] */
    char *trash;             /* hidden hard link keeping it, or NULL */
    struct fault_ent *cur;   /* the entry naming it now, or NULL */
    unsigned dur_refs;       /* entries naming it durably */
    unsigned open_refs;      /* open fault_files */
    struct fault_ino *next, *prev;
};

/* One path: what it names now, and what it names after power loss. */
struct fault_ent {
    char *path; /* canonical */
    char *dir;  /* canonical directory */
    struct fault_ino *cur, *dur;
    struct fault_ent *next, *prev;
};

/* What io_open hands out (cast to lsm_file *). */
struct fault_file {
    lsm_file *bf;
    struct fault_ino *ino;
};

struct fault_io {
    lsm_io io;
    lsm_io *base;
    char name[64];
    pthread_rwlock_t gate;
    pthread_mutex_t mu;
    uint64_t ops;      /* [mu] since creation or the last arm */
    uint64_t hints;    /* [mu] of which writeback hints */
    uint64_t arm_n;    /* [mu] 0: disarmed */
    int arm_err;       /* [mu] */
    int persistent;    /* [mu] */
    int tripped;       /* [mu] a persistent fault fired */
    int win_err;       /* [mu] descriptor window: 0 = closed */
    unsigned win_ops;  /* [mu] IO_FAULT_* kinds it fails */
    char *win_pattern; /* [mu] path substring, NULL = any */
    uint64_t win_hits; /* [mu] operations it failed */
    uint64_t win_skip; /* [mu] matching operations still let through */
    int dead;          /* [mu] power is off */
    int durable_unlinks; /* [gate] io_fault_durable_unlinks */
    uint64_t trash_seq;
    struct fault_ent *ents;
    struct fault_ino *inos;
};

static inline struct fault_io *fio(lsm_io *io) { return (struct fault_io *)io; }
static inline struct fault_file *ffile(lsm_file *f) { return (struct fault_file *)f; }

/* Counts one operation and decides whether it fails (io_fault_arm; a dead
 * backend fails everything with -EIO).  Returns 0 or -err. */
int fault_op_begin(struct fault_io *fi);

/* A completed sync of n covered len bytes: raises its durable length. */
void fault_durable_at_least(struct fault_io *fi, struct fault_ino *n, uint64_t len);

/* io_fault_queue.c: the fault backend's queue_new op. */
int fault_queue_new(lsm_io *io, unsigned depth, struct io_queue **out);

#endif
