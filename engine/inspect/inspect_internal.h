/*
 * inspect_internal.h — what the inspect files share: the damage sink,
 * byte printing, the POSIX backend, DIR/LOCK, and one table's full check
 * (inspect_sst.c), which sst-dump, verify and repair all run.
 * Not for tools: they see inspect.h only.
 */
#ifndef LSM_INSPECT_INTERNAL_H
#define LSM_INSPECT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/slice.h"
#include "inspect/inspect.h"
#include "io/io.h"

/* Where a call prints, and the damage it has found so far. */
typedef struct insp {
    FILE *out;             /* NULL: silent */
    inspect_damage *first; /* NULL: not kept */
    uint64_t ndamage;
} insp;

/* Prints "DAMAGE path offset off: what" (offset UINT64_MAX: "-"), counts
 * it, and keeps it in c->first if it is the first. */
void insp_damage(insp *c, const char *path, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* printf to c->out, if any. */
void insp_printf(insp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s with bytes outside printable ASCII, and '\', as \xHH. */
void insp_bytes(FILE *f, slice s);
/* An internal key as 'user' @seq PUT|DEL (or type N). */
void insp_ikey(FILE *f, slice ik);

/* The POSIX backend (offline tools need no io_uring).  Errors: -ENOMEM. */
int insp_io_new(lsm_io **out);
/* Runs fn on path with a fresh backend and a sink printing to out and
 * keeping the first damage in *first (INSPECT_VALUES implies
 * INSPECT_KEYS): the shape of every one-file dump.  Returns fn's result,
 * or -ENOMEM. */
typedef int (*insp_file_fn)(insp *c, lsm_io *io, const char *path, unsigned flags);
int insp_run_file(const char *path, unsigned flags, FILE *out, inspect_damage *first,
                  insp_file_fn fn);
/* Takes DIR/LOCK as lsm_open does; *fd to close to release it.
 * Errors: -EBUSY (held by an open engine), -errno. */
int insp_lock(const char *dir, int *fd);

/* What a table holds, counted while checking it. */
typedef struct insp_table {
    uint64_t size, entries, deletions, min_seq, max_seq, blocks;
    char *smallest, *largest; /* malloc'd internal keys; NULL when empty */
    size_t smallest_len, largest_len;
    uint64_t created_unix;
    bool damaged;             /* a DAMAGE line was printed for this table */
} insp_table;
void insp_table_free(insp_table *t); /* frees the keys; t may be NULL */

/* Checks the table at path in full (inspect_sst_dump's rules), printing
 * per flags (INSPECT_*; INSPECT_QUIET prints only DAMAGE lines), and fills
 * *t (free with insp_table_free, whatever the result).  Returns 0,
 * LSM_ECORRUPT (t->damaged), LSM_EVERSION, -ENOMEM, -errno. */
int insp_sst_check(insp *c, lsm_io *io, const char *path, unsigned flags, insp_table *t);

/* Reads the WAL at path (inspect_wal_dump's rules), printing per flags
 * (INSPECT_QUIET: only the torn-tail note and DAMAGE lines).  Returns 0,
 * LSM_ECORRUPT (reported to c), -ENOMEM, -errno. */
int insp_wal_check(insp *c, lsm_io *io, const char *path, unsigned flags);

/* Reads CURRENT in dir into *number (the live MANIFEST's).  Returns 0,
 * -ENOENT (no CURRENT), LSM_ECORRUPT (malformed: reported to c), -errno. */
int insp_read_current(insp *c, lsm_io *io, const char *dir, uint64_t *number);

/* The MANIFEST of dir, as recovery reads it: CURRENT, every record (ordinal
 * and count checked), every edit decoded and applied.  Prints each edit
 * unless quiet.  On success *v (if not NULL) receives the resulting
 * version (release with version_unref) and *log_number the WAL number
 * recovery starts from.  Returns 0, -ENOENT (no CURRENT), LSM_ECORRUPT
 * (reported to c), LSM_EVERSION, -ENOMEM, -errno. */
struct version;
int insp_manifest_read(insp *c, lsm_io *io, const char *dir, bool quiet, struct version **v,
                       uint64_t *log_number);

#endif
