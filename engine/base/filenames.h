/*
 * filenames.h — the names of the files in a database directory, and a
 * parser for them (to find obsolete files and the MANIFEST named by CURRENT).
 *
 *   NNNNNN.log        a write-ahead log segment          FILE_KIND_WAL
 *   NNNNNN.sst        a table                            FILE_KIND_TABLE
 *   MANIFEST-NNNNNN   a version-edit log (manifest-format.md) FILE_KIND_MANIFEST
 *   CURRENT           names the live MANIFEST            FILE_KIND_CURRENT
 *   CURRENT.tmp       CURRENT being replaced (rename)    FILE_KIND_TEMP
 *   LOCK              flock'd by the owning process      FILE_KIND_LOCK
 *
 * NNNNNN is a decimal file number, zero-padded to at least six digits; every
 * number comes from one counter (version_set_new_file_number), so a number
 * names at most one file of any kind.
 *
 * Every builder returns a malloc'd "dir/name" string the caller frees with
 * free(), or NULL when out of memory.  Thread safety: all functions are pure.
 */
#ifndef LSM_FILENAMES_H
#define LSM_FILENAMES_H

#include <stdint.h>

enum file_kind {
    FILE_KIND_WAL,
    FILE_KIND_TABLE,
    FILE_KIND_MANIFEST,
    FILE_KIND_CURRENT,
    FILE_KIND_TEMP,
    FILE_KIND_LOCK,
};

/* "dir/" followed by the name of a file of that kind; number is ignored for
 * CURRENT, CURRENT.tmp and LOCK. */
char *filename_make(const char *dir, enum file_kind kind, uint64_t number);

static inline char *filename_wal(const char *dir, uint64_t number)
{ return filename_make(dir, FILE_KIND_WAL, number); }
static inline char *filename_table(const char *dir, uint64_t number)
{ return filename_make(dir, FILE_KIND_TABLE, number); }
static inline char *filename_manifest(const char *dir, uint64_t number)
{ return filename_make(dir, FILE_KIND_MANIFEST, number); }
static inline char *filename_current(const char *dir)
{ return filename_make(dir, FILE_KIND_CURRENT, 0); }
static inline char *filename_current_tmp(const char *dir)
{ return filename_make(dir, FILE_KIND_TEMP, 0); }
static inline char *filename_lock(const char *dir)
{ return filename_make(dir, FILE_KIND_LOCK, 0); }

/* Parses a bare file name (no directory, e.g. a readdir entry).  Returns 1
 * and fills *kind and *number (0 for the unnumbered kinds) when name is one
 * of the forms above; 0 otherwise (other files, numbers that overflow 64
 * bits, stray suffixes). */
int filename_parse(const char *name, enum file_kind *kind, uint64_t *number);

/* Calls fn for every file in dir whose name filename_parse recognises (in
 * directory order), stopping early if fn returns nonzero.  Returns 0, fn's
 * nonzero return, or -errno if dir cannot be read. */
typedef int (*filename_scan_fn)(void *ctx, const char *name, enum file_kind kind,
                                uint64_t number);
int filename_scan(const char *dir, filename_scan_fn fn, void *ctx);

#endif
