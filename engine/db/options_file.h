/*
 * options_file.h — the DIR/OPTIONS file as bytes: framing, checksum,
 * atomic replacement (docs/options-format.md).  What the lines mean is
 * db_options.c's (lsm_options_load, db_options_persist).
 *
 *   LSMD-OPTIONS 1\n            magic and format version
 *   compaction_style=tiered\n   one name=value line per option, in the
 *   ...                         order lsm_get_option lists them
 *   crc32c=0x1a2b3c4d\n         CRC-32C of every byte before this line
 *
 * Written atomically: OPTIONS.tmp, fsync, rename over OPTIONS, fsync of
 * the directory; so a crash leaves the old file or the new one, never a
 * mix, and a leftover OPTIONS.tmp is never read.
 *
 * Thread safety: the writer's callers serialize it (db->options_mu);
 * reading touches nothing but the file.
 */
#ifndef LSM_DB_OPTIONS_FILE_H
#define LSM_DB_OPTIONS_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "io/io.h"

#define OPTIONS_FILE_NAME "OPTIONS"
#define OPTIONS_FILE_TMP "OPTIONS.tmp"
/* "LSMD-OPTIONS": names the daemon and the file, readable in a hex dump. */
#define OPTIONS_FILE_MAGIC "LSMD-OPTIONS"
#define OPTIONS_FILE_VERSION 1
/* The whole file stays well below this (about 30 lines of < 64 bytes);
 * anything longer is not one of ours. */
#define OPTIONS_FILE_MAX 16384

/* Writes dir/OPTIONS through io: the header, body (len bytes of
 * "name=value\n" lines) and the checksum line, as a temporary file that is
 * synced and renamed over OPTIONS, then the directory synced.  On failure
 * OPTIONS.tmp is removed and *renamed (may be NULL) says whether OPTIONS
 * was already replaced (only the directory sync failed: it then holds the
 * new text, though a crash may bring back the old).
 * Errors: -errno, -ENOMEM, -E2BIG (body over the bound); logged. */
int options_file_write(lsm_io *io, const char *dir, const char *body, size_t len,
                       bool *renamed);

/* The file's bytes for body (header, body, checksum line) in a malloc'd
 * *text of *n bytes, for a writer that needs no rename: a checkpoint's
 * stage, which nobody reads before it is complete.  -ENOMEM, -E2BIG. */
int options_file_render(const char *body, size_t len, char **text, size_t *n);

/* Called for each option line, in order, with the line's number (the
 * header is line 1).  Returns 0 to go on, or an error that stops the
 * parse and is returned by it. */
typedef int (*options_line_fn)(void *ctx, const char *name, const char *value, int line);

/* Checks the text of an OPTIONS file (n bytes, from path for the log):
 * header, version, checksum, that every line holds a '=' — all before
 * the first call of fn, so fn never sees a line of a damaged file.
 * Errors: LSM_ECORRUPT (not ours, torn or changed: no header, no
 *   checksum line or a wrong one, bytes after it, a line without '='),
 *   LSM_EVERSION (a version other than 1), -ENOMEM, or fn's error;
 *   logged with path and line. */
int options_file_parse(const char *path, const char *text, size_t n, options_line_fn fn,
                       void *ctx);

/* Reads dir/OPTIONS and parses it as above.  Errors: -ENOENT (no file),
 * -errno (cannot read: logged), and options_file_parse's. */
int options_file_load(const char *dir, options_line_fn fn, void *ctx);

#endif
