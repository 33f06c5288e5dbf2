/*
 * inspect.h — offline inspection and repair of a database's files: what
 * `lsmctl sst-dump`, `wal-dump`, `manifest-dump`, `verify` and `repair` run
 * (docs/operations.md, "Inspection and repair").  The header tools may
 * include to reach engine internals (scripts/check-layers.py); lsm.h
 * carries lsm_verify and lsm_repair for embedders.
 *
 * Every call reads files with the POSIX backend and needs no running
 * engine.  The dumps and verify never write.  repair writes a new MANIFEST
 * and CURRENT, new tables made from WALs, and moves files aside into
 * DIR/lost/ (the tables its final compaction replaces are hard-linked
 * there first); it never deletes or truncates a file it found.  repair and verify
 * take DIR/LOCK (flock) as lsm_open does, so they refuse a directory an
 * engine has open (-EBUSY).
 *
 * Output: lines of text to out (NULL: nothing printed).  Damage is printed
 * as one line
 *     DAMAGE <path> offset <n>: <what>
 * and counted; the first one is also kept in *first (if not NULL), so a
 * caller can name file and offset without parsing the text.  Keys and
 * values are printed with bytes outside printable ASCII (and '\') as \xHH.
 *
 * Return values (all calls): 0 (read everything, no damage), LSM_ECORRUPT
 * (damage found: at least one DAMAGE line), LSM_EVERSION (a format too new
 * to judge), -EBUSY (repair, verify: the database is open elsewhere),
 * -ENOENT (no such file; for manifest-dump, no CURRENT), -ENOMEM, -errno.
 *
 * Thread safety: the calls share nothing; run any number at once on
 * different directories.
 */
#ifndef LSM_INSPECT_H
#define LSM_INSPECT_H

#include <stdint.h>
#include <stdio.h>

/* The first damage found (offset UINT64_MAX: the file as a whole, e.g.
 * missing). */
typedef struct inspect_damage {
    char path[512];
    uint64_t offset;
    char what[160];
} inspect_damage;

/* Flags for inspect_sst_dump. */
#define INSPECT_KEYS   1u /* print every key (with sequence and type) */
#define INSPECT_VALUES 2u /* print values too (implies INSPECT_KEYS) */
#define INSPECT_QUIET  4u /* only DAMAGE lines and the summary */

/* One table: footer, properties, index (one line per data block), then
 * with INSPECT_KEYS every entry.  Checks every block's checksum and
 * format, key order inside and across blocks, and that the properties
 * agree with what was counted (entries, deletions, smallest, largest,
 * sequences); a damaged data block is reported and skipped, the others are
 * still read.  Returns as above. */
int inspect_sst_dump(const char *path, unsigned flags, FILE *out, inspect_damage *first);

/* One WAL: a line per record (offset, sequence, count, bytes), and with
 * INSPECT_KEYS a line per entry.  A torn tail is reported as such (not
 * damage: docs/wal-format.md); corruption is damage at the record's
 * offset.  Returns as above. */
int inspect_wal_dump(const char *path, unsigned flags, FILE *out, inspect_damage *first);

/* DIR's CURRENT and the MANIFEST it names: every edit, field by field,
 * then the state they add up to (files per level, counters).  Damage: a
 * malformed CURRENT, a missing MANIFEST, a bad record or edit.  Returns
 * as above (-ENOENT when DIR has no CURRENT). */
int inspect_manifest_dump(const char *dir, FILE *out, inspect_damage *first);

/* Checks DIR as a whole: CURRENT and the MANIFEST (as manifest-dump), every
 * table the MANIFEST names (present, size as recorded, every block, and
 * keys inside the recorded range), every other table in DIR, and every
 * WAL the MANIFEST still needs.  Prints one line per file checked, one
 * DAMAGE line per problem, and a summary.  *damaged (if not NULL)
 * receives the number of DAMAGE lines.  Returns as above. */
int inspect_verify(const char *dir, FILE *out, uint64_t *damaged, inspect_damage *first);

/* What inspect_repair did. */
typedef struct inspect_repair_report {
    uint64_t tables_kept;      /* intact tables named in the new MANIFEST */
    uint64_t tables_lost;      /* damaged tables moved to DIR/lost/ */
    uint64_t wals_converted;   /* WALs whose good records became a table */
    uint64_t wal_records;      /* records recovered from them */
    uint64_t wals_damaged;     /* of which had a bad record (the rest of
                                  that WAL is in DIR/lost/ only) */
    uint64_t files_moved;      /* every file moved into DIR/lost/ */
    uint64_t entries;          /* entries in the kept tables */
    uint64_t last_sequence;    /* the new MANIFEST's */
} inspect_repair_report;

/* Rebuilds DIR's MANIFEST from the files present, like RocksDB's RepairDB:
 *   1. every WAL is read up to its end or its first bad record; the good
 *      records become a new table, and the WAL is moved to DIR/lost/;
 *   2. every table is read in full (every block, key order); a damaged one
 *      is moved to DIR/lost/, an intact one is kept as it is;
 *   3. a new MANIFEST naming every kept table at level 0 with last
 *      sequence = the largest found is written and synced, CURRENT is
 *      copied to DIR/lost/ and switched to it, the old MANIFESTs are moved
 *      to DIR/lost/;
 *   4. with two tables or more: each is hard-linked into DIR/lost/, DIR/LOCK
 *      is released and the engine opens DIR and compacts the whole tree
 *      (lsm_compact -1).  Level 0 is searched by max_seq, and a table from
 *      a deeper level can have a larger max_seq than the one above it that
 *      holds a newer version of a key; the merge puts the newest first.
 * A name clash in lost/ gets a ".N" suffix: nothing there is overwritten.
 * Data lost: the records after a WAL's first bad record and every entry of
 * a damaged table (both kept in lost/ for a manual salvage).  An entry a
 * table made obsolete before the damage (an old version, a key whose
 * tombstone was already dropped) can come back if the file holding it was
 * still in DIR.  Interrupted, it can be run again: the kept tables stay
 * where they are.  rep (if not NULL) receives counts.  Returns 0 (the
 * database opens), -EBUSY, -ENOENT (DIR missing, or holding no CURRENT,
 * MANIFEST, table or WAL: nothing is written there), -ENOMEM, -errno. */
int inspect_repair(const char *dir, FILE *out, inspect_repair_report *rep);

#endif
