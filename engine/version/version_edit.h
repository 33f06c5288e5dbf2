/*
 * version_edit.h — one change to the set of live tables, as recorded in the
 * MANIFEST: files added and removed per level, plus the counters recovery
 * needs (oldest live WAL, next file number, last sequence).
 *
 * The encoding (tagged, length-prefixed fields, a terminator) is in
 * docs/manifest-format.md; the tag numbers below are on disk: never reuse
 * or renumber them.
 *
 * Ownership: an edit holds one reference on each file it adds and drops it
 * in version_edit_free.  Thread safety: an edit belongs to one thread.
 */
#ifndef LSM_VERSION_EDIT_H
#define LSM_VERSION_EDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "version/version.h"

/* ---- on-disk constants (docs/manifest-format.md, "Fields") ------------- */
enum edit_tag {
    EDIT_TAG_END = 0,          /* no length, no body: the last byte */
    EDIT_TAG_HEADER = 1,       /* magic[8] | varint format_version */
    EDIT_TAG_LOG_NUMBER = 2,   /* varint */
    EDIT_TAG_NEXT_FILE = 3,    /* varint */
    EDIT_TAG_LAST_SEQUENCE = 4,/* varint */
    EDIT_TAG_DELETED_FILE = 5, /* varint level | varint number */
    EDIT_TAG_NEW_FILE = 6,     /* see the document */
};
/* Tags >= this may be skipped by a reader that does not know them; an
 * unknown tag below it is corruption (incompatible changes bump
 * MANIFEST_FORMAT_VERSION instead). */
#define EDIT_TAG_IGNORABLE 64
#define MANIFEST_MAGIC "LSMDMFST" /* 8 bytes, readable in a hex dump */
#define MANIFEST_MAGIC_LEN 8
#define MANIFEST_FORMAT_VERSION 1

typedef struct edit_deleted {
    int level;
    uint64_t number;
} edit_deleted;

typedef struct edit_added {
    int level;
    file_meta *f;              /* one reference held by the edit */
} edit_added;

typedef struct version_edit {
    bool header;               /* carries the format header: set on the first
                                  record of every MANIFEST (a snapshot) */
    bool has_log_number, has_next_file, has_last_sequence;
    uint64_t log_number;       /* WALs numbered below it are not needed */
    uint64_t next_file;        /* above every file number handed out */
    uint64_t last_sequence;
    edit_deleted *deleted;
    size_t ndeleted, deleted_cap;
    edit_added *added;
    size_t nadded, added_cap;
} version_edit;

void version_edit_init(version_edit *e);
/* Drops the file references and frees the lists; e is left initialised. */
void version_edit_free(version_edit *e);

static inline void version_edit_set_log_number(version_edit *e, uint64_t n)
{ e->has_log_number = true; e->log_number = n; }
static inline void version_edit_set_next_file(version_edit *e, uint64_t n)
{ e->has_next_file = true; e->next_file = n; }
static inline void version_edit_set_last_sequence(version_edit *e, uint64_t s)
{ e->has_last_sequence = true; e->last_sequence = s; }

/* Records f as new at level; takes its own reference (the caller keeps
 * its).  Errors: -EINVAL (level out of range), -ENOMEM. */
int version_edit_add_file(version_edit *e, int level, file_meta *f);
/* Records that file number leaves level.  Errors: -EINVAL, -ENOMEM. */
int version_edit_delete_file(version_edit *e, int level, uint64_t number);

/* Encodes e into a malloc'd buffer (*buf, *len) the caller frees with
 * free().  Errors: -ENOMEM. */
int version_edit_encode(const version_edit *e, char **buf, size_t *len);

/* Decodes src into e (initialised here; free it with version_edit_free
 * either way).  Never reads outside src.  Keys are copied: e does not point
 * into src.  Errors: LSM_ECORRUPT (malformed or inconsistent input, unknown
 * non-ignorable tag; *why, if not NULL, gets a static reason), LSM_EVERSION
 * (a header with a newer format version), -ENOMEM. */
int version_edit_decode(version_edit *e, slice src, const char **why);

#endif
