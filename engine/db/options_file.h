/*
 * options_file.h — DIR/OPTIONS: every persisted option of a database,
 * rewritten whole at each lsm_open and each successful lsm_set_option, so
 * a restart finds what the database last ran with (docs/options-format.md).
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
 * reading is pure apart from the file system.
 */
#ifndef LSM_DB_OPTIONS_FILE_H
#define LSM_DB_OPTIONS_FILE_H

#include <stdbool.h>

#include "io/io.h"
#include "lsm.h"

#define OPTIONS_FILE_NAME "OPTIONS"
#define OPTIONS_FILE_TMP "OPTIONS.tmp"
#define OPTIONS_FILE_MAGIC "LSMD-OPTIONS"
#define OPTIONS_FILE_VERSION 1
/* The whole file stays well below this (about 40 lines of < 64 bytes);
 * anything longer is not one of ours. */
#define OPTIONS_FILE_MAX 16384

/* Writes o to dir/OPTIONS through io (temp file, sync, rename, directory
 * sync).  On failure OPTIONS.tmp is removed and *renamed (may be NULL)
 * says whether dir/OPTIONS was already replaced (only the directory sync
 * failed: it then holds o, though a crash may bring back the old file).
 * Errors: -errno, -ENOMEM; logged. */
int options_file_write(lsm_io *io, const char *dir, const lsm_options *o, bool *renamed);

/* Parses the text of an OPTIONS file (n bytes) onto *o: the values found
 * replace o's, the rest stay.  An unknown name (a newer engine's option)
 * is skipped with a warning.  On error *o is unchanged.
 * Errors: LSM_ECORRUPT (no magic line, a torn or changed file: the
 *   checksum line is missing or does not match, a line without '=',
 *   a name twice), LSM_EVERSION (a version other than 1), -EINVAL (a
 *   well-formed file with a value the option refuses); what and where is
 *   logged under `path`. */
int options_file_parse(const char *path, const char *text, size_t n, lsm_options *o);

#endif
