/*
 * version_set.h — the MANIFEST, CURRENT, and the chain of versions.
 *
 * The MANIFEST is a log of version edits framed like the WAL (wal_writer /
 * wal_reader, docs/wal-format.md); its first record is a snapshot edit of the
 * whole state.  CURRENT names the live MANIFEST and is replaced atomically
 * (CURRENT.tmp, sync, rename, directory sync).  Every open replays the
 * MANIFEST, then starts a fresh one holding a single snapshot, so the log
 * never grows across restarts; a MANIFEST that grows past
 * VERSION_SET_MANIFEST_ROLL_BYTES while running is rolled the same way.
 * Format: docs/manifest-format.md.
 *
 * Thread safety / invariants
 *   version_set_log_and_apply calls are serialized by the caller (one at a
 *   time); everything else may run concurrently with it and with itself.
 *   The current version and the list of live versions are guarded by an
 *   internal mutex, held only for pointer updates and list walks, never
 *   across I/O.  Counters (next file, last sequence, log number) are atomic.
 *   Every version installed as current stays linked in the live list until
 *   its last reference is dropped (version_unref, any thread).
 */
#ifndef LSM_VERSION_SET_H
#define LSM_VERSION_SET_H

#include <stddef.h>
#include <stdint.h>

#include "io/io.h"
#include "version/version.h"
#include "version/version_edit.h"

/* A running MANIFEST larger than this is replaced by a fresh snapshot. */
#define VERSION_SET_MANIFEST_ROLL_BYTES (64u << 20)

typedef struct version_set version_set;

/* New database in dir (which must exist): writes MANIFEST-000001 holding a
 * snapshot edit (next file 2, last sequence 0, log number 0), syncs it, and
 * points CURRENT at it via CURRENT.tmp + sync + rename + directory sync.
 * An existing CURRENT is replaced: the caller decides whether dir is new.
 * io is not owned and must outlive the set.
 * Errors: -ENOMEM, -errno from io (the set is not created). */
int version_set_create(lsm_io *io, const char *dir, version_set **out);

/* Existing database: reads CURRENT, replays the MANIFEST it names, builds
 * the current version, then writes a new MANIFEST (next file number)
 * holding one snapshot edit, switches CURRENT to it and deletes the old one.
 * A torn last record is tolerated (that edit was never acknowledged).
 * Errors: -ENOENT (no CURRENT: no database here); LSM_ECORRUPT (CURRENT
 *   malformed or naming a missing MANIFEST, a record failing its checksum
 *   before the tail, an undecodable or inconsistent edit, a missing header
 *   or counters; path, offset and reason are logged); LSM_EVERSION (a
 *   newer MANIFEST format); -ENOMEM; -errno from io. */
int version_set_recover(lsm_io *io, const char *dir, version_set **out);

/* Points dir/CURRENT at MANIFEST-number atomically: CURRENT.tmp written
 * and synced, renamed over CURRENT, directory synced (what create, recover
 * and a roll do; repair too, engine/inspect/repair.c).  *renamed is 1 once
 * the rename happened (a later failure is then only the directory sync).
 * REQUIRES: the MANIFEST is complete and synced.  Errors: -ENOMEM, -errno
 * (logged). */
int version_set_write_current(lsm_io *io, const char *dir, uint64_t number, int *renamed);

/* The current version with a new reference (release with version_unref). */
version *version_set_current(version_set *vs);

/* Appends e to the MANIFEST (synced), then installs current + e as the new
 * current version and applies e's log number, next file and last sequence.
 * Before writing, the set fills in e: next_file = the file-number counter
 * (so it stays above every number handed out), last_sequence = the larger
 * of e's (if any) and the set's, log_number = the set's if e has none.
 * REQUIRES: calls serialized by the caller; e is not shared.
 * Errors: -EINVAL (e is inconsistent with the current version: deletes an
 *   absent file, adds a live number, overlaps at a level >= 1, or moves the
 *   log number backwards or past the file counter; logged; nothing written);
 *   -ENOMEM; -errno when the MANIFEST write or sync failed: the current
 *   version is unchanged and every later call returns the same error (the
 *   writer's state on disk is unknown; reopen to recover).
 *   -EMFILE/-ENFILE/-ENOMEM (io_error_is_transient) from the directory
 *   sync of an earlier MANIFEST roll, retried first: nothing written, not
 *   sticky; call again later.  (A roll's own failure to create files is
 *   logged and the current MANIFEST kept.) */
int version_set_log_and_apply(version_set *vs, version_edit *e);

/* The sticky error that stops every later log_and_apply, or 0.  Any
 * thread. */
int version_set_error(const version_set *vs);

/* Sets the size past which a running MANIFEST is rolled (default
 * VERSION_SET_MANIFEST_ROLL_BYTES); takes effect after the next edit.
 * REQUIRES: serialized with version_set_log_and_apply. */
void version_set_set_manifest_roll_bytes(version_set *vs, uint64_t bytes);

/* A fresh file number (atomic increment). */
uint64_t version_set_new_file_number(version_set *vs);
/* Makes sure later numbers are above n (e.g. a WAL found on disk at open
 * that no edit recorded). */
void version_set_mark_file_number_used(version_set *vs, uint64_t n);
/* The next number version_set_new_file_number would return. */
uint64_t version_set_next_file_number(const version_set *vs);

uint64_t version_set_last_sequence(const version_set *vs);
/* Raises the last sequence to s (never lowers it). */
void version_set_set_last_sequence(version_set *vs, uint64_t s);
/* WAL files numbered below this are no longer needed. */
uint64_t version_set_log_number(const version_set *vs);
uint64_t version_set_manifest_number(const version_set *vs);
/* The oldest MANIFEST a reopen may still read: the one a MANIFEST roll
 * replaced while CURRENT's rename is not yet durable (its directory sync
 * ran out of descriptors), else the current one.  Deleting anything
 * numbered below it is safe; deleting the replaced one is not, since after
 * power loss the durable CURRENT may still name it.
 * REQUIRES: serialized with version_set_log_and_apply. */
uint64_t version_set_oldest_manifest(const version_set *vs);

/* Fills a malloc'd array (*nums, *n; free with free(), may be NULL when
 * *n == 0) with the number of every file in any live version: the current
 * one and every older one still referenced.  Sorted ascending, no
 * duplicates.
 * Errors: -ENOMEM. */
int version_set_live_files(version_set *vs, uint64_t **nums, size_t *n);

/* Closes the MANIFEST and drops the set's reference on the current version.
 * REQUIRES: no other thread uses vs; versions still referenced elsewhere
 * are detached (their later unref no longer touches vs). */
void version_set_free(version_set *vs); /* vs may be NULL */

#endif
