/*
 * db_changes.c — the change feed (lsm.h, "Change feed"): every write after
 * a sequence, read back from the WALs in the order it was applied.
 *
 * WALs are numbered in the order they were created and each holds a run
 * of sequences that the next one continues, so the reader finds the WAL
 * whose first record is the last one at or below since + 1, walks its
 * records and then the newer WALs, and at the live WAL follows the file
 * as it grows.  A reader pins the WAL it is in (and so every newer one)
 * against deletion: obsolete_files.c keeps WALs numbered from the lowest
 * pin on, whatever the retention limits say.
 *
 * Visibility: a record is written to the WAL before its group's last_seq
 * is published, so an entry is returned only once its sequence is <=
 * last_seq (acquire): never a write that readers cannot see yet, and never
 * one that failed after its WAL write (that makes the database read-only
 * before last_seq moves).
 *
 * The live end: wal_reader reads up to the size it saw; at its end the
 * reader reads the size again (wal_reader_refresh) once, and if the
 * database has meanwhile switched to a newer WAL (db->wal_number, read
 * under mu before the refresh, so the old one was complete), goes on
 * there.
 *
 * No WAL goes from under a reader: its pin is in the list before it looks
 * at the directory, and it waits for a db_delete_obsolete already under
 * way (which chose its victims before the pin).  Deletions only ever take
 * the oldest WALs, so what a reader finds has no hole.
 *
 * Resuming: a closed reader leaves its position (the start of the last
 * record it loaded, and the highest sequence before it) in a small ring in
 * the db; a reader opened at a since at or above such a sequence starts
 * there, so a follower's next page (lsmd's CHANGES is one reader per page)
 * reads only what is new instead of the WALs from their first record.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "db/db_impl.h"
#include "db/paths.h"
#include "db/wal_files.h"
#include "base/log.h"
#include "wal/batch_format.h"
#include "wal/wal_reader.h"

/* A remembered position is used only this many entries short of since at
 * most: further back, searching the WALs' first records is cheaper than
 * walking from it (it is for the follower's next page). */
#define RESUME_SLACK (1u << 16)

struct lsm_changes {
    lsm_db *db;
    uint64_t since;                  /* entries at or below it are skipped */
    db_wal_pin pin;                  /* lowest WAL still needed */
    uint64_t wal;                    /* the WAL being read */
    wal_reader *r;
    const char *p;                   /* next entry of the current record */
    uint32_t left;                   /* entries left in it */
    uint64_t next_seq;               /* sequence of the entry at p */
    uint64_t rec_off, rec_seq;       /* the last record loaded (rec_seq 0:
                                        none yet in this WAL) */
    int status;                      /* sticky error */
};

static void set_pin(lsm_changes *c, uint64_t pin)
{
    pthread_mutex_lock(&c->db->mu);
    c->pin.number = pin;
    pthread_mutex_unlock(&c->db->mu);
}

static int open_wal(lsm_changes *c, uint64_t number)
{
    char *path = db_wal_path(c->db, number);
    if (!path)
        return -ENOMEM;
    wal_reader *r;
    int rc = wal_reader_open(c->db->io, path, 1, &r);
    free(path);
    if (rc == -ENOENT)
        return -ERANGE; /* deleted before the pin took hold: history gone */
    if (rc != 0)
        return rc;
    wal_reader_set_quiet(r, 1);
    wal_reader_close(c->r);
    c->r = r;
    c->wal = number;
    c->left = 0;
    c->rec_seq = 0;
    return 0;
}

/* A remembered position for since (one whose entries before it are all
 * <= since, the nearest), opened; 0 when none was usable. */
static int open_remembered(lsm_changes *c)
{
    lsm_db *db = c->db;
    struct db_changes_pos best = { 0, 0, 0 };
    pthread_mutex_lock(&db->mu);
    for (unsigned i = 0; i < DB_CHANGES_POS; i++) {
        const struct db_changes_pos *p = &db->changes_pos[i];
        if (p->wal && p->below <= c->since && c->since - p->below <= RESUME_SLACK &&
            (!best.wal || p->below > best.below))
            best = *p;
    }
    pthread_mutex_unlock(&db->mu);
    if (!best.wal || open_wal(c, best.wal) != 0)
        return 0; /* none, or its WAL is gone: search instead */
    if (wal_reader_seek(c->r, best.offset) != 0) {
        wal_reader_close(c->r);
        c->r = NULL;
        return 0;
    }
    return 1;
}

/* Remembers where c stands, for a reader that continues from it. */
static void remember(lsm_changes *c)
{
    if (c->status || !c->r || c->rec_seq == 0)
        return;
    lsm_db *db = c->db;
    /* From the last record's start: its entries may not all be returned. */
    struct db_changes_pos pos = { c->wal, c->rec_off, c->rec_seq - 1 };
    pthread_mutex_lock(&db->mu);
    bool known = false; /* an idle follower finds the same place each poll */
    for (unsigned i = 0; i < DB_CHANGES_POS; i++)
        known |= db->changes_pos[i].wal == pos.wal && db->changes_pos[i].offset == pos.offset;
    if (!known)
        db->changes_pos[db->changes_pos_next++ % DB_CHANGES_POS] = pos;
    pthread_mutex_unlock(&db->mu);
}

/* Sequence of the first record of WAL number, or UINT64_MAX when it has
 * none (empty, or gone). */
static int first_sequence(lsm_db *db, uint64_t number, uint64_t *out)
{
    *out = UINT64_MAX;
    char *path = db_wal_path(db, number);
    if (!path)
        return -ENOMEM;
    int rc = wal_reader_first_sequence(db->io, path, out);
    free(path);
    return rc == -ENOENT ? 0 : rc;
}

/* Chooses the WAL to start from: the newest whose first record is at or
 * below since + 1.  -ERANGE when the oldest one kept starts above it and
 * writes up to there exist (the WALs that held them are deleted). */
static int find_start(lsm_changes *c, uint64_t *start)
{
    lsm_db *db = c->db;
    uint64_t *wals;
    size_t n;
    int rc = db_list_wals(db->dir, 0, NULL, NULL, &wals, &n);
    if (rc != 0)
        return rc;
    uint64_t last = atomic_load_explicit(&db->last_seq, memory_order_acquire);
    bool found = false, any = false;
    uint64_t oldest_first = UINT64_MAX;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint64_t first;
        rc = first_sequence(db, wals[i], &first);
        if (rc != 0 || first == UINT64_MAX)
            continue;
        if (!any)
            oldest_first = first;
        any = true;
        if (first <= c->since + 1) {
            *start = wals[i];
            found = true;
        } else if (!found) {
            *start = wals[i];
        }
    }
    if (rc == 0 && !found) {
        if (c->since < last && (!any || oldest_first > c->since + 1)) {
            log_info("changes since %llu: the WALs from there on are deleted (oldest "
                     "kept starts at %llu; set wal_retention_seconds/_bytes to keep them)",
                     (unsigned long long)c->since, (unsigned long long)oldest_first);
            rc = -ERANGE;
        } else if (!any) {
            *start = n ? wals[n - 1] : 0;
        }
    }
    if (rc == 0 && *start == 0) {
        pthread_mutex_lock(&db->mu);
        *start = db->wal_number;
        pthread_mutex_unlock(&db->mu);
    }
    free(wals);
    return rc;
}

int lsm_changes_open(lsm_db *db, uint64_t since, lsm_changes **out)
{
    if (!db || !out)
        return -EINVAL;
    *out = NULL;
    if (since > atomic_load_explicit(&db->last_seq, memory_order_acquire))
        return -ERANGE; /* a sequence this database has not reached */
    lsm_changes *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->db = db;
    c->since = since;
    /* Pin everything while choosing, so nothing goes between the listing
     * and the open. */
    pthread_mutex_lock(&db->mu);
    c->pin.next = db->wal_pins;
    if (db->wal_pins)
        db->wal_pins->prev = &c->pin;
    db->wal_pins = &c->pin;
    /* A deletion under way may have chosen its WALs before the pin: let it
     * finish, so no WAL goes from under the reader from here on. */
    while (db->obsolete_running)
        pthread_cond_wait(&db->bg_cv, &db->mu);
    pthread_mutex_unlock(&db->mu);
    uint64_t start = 0;
    if (open_remembered(c)) {
        start = c->wal;
        set_pin(c, start);
        *out = c;
        return 0;
    }
    int rc = find_start(c, &start);
    if (rc == 0)
        rc = open_wal(c, start);
    if (rc != 0) {
        lsm_changes_close(c);
        return rc;
    }
    set_pin(c, start);
    *out = c;
    return 0;
}

/* The smallest WAL number above c->wal present, or 0. */
static int next_wal(lsm_changes *c, uint64_t *number)
{
    uint64_t *wals;
    size_t n;
    int rc = db_list_wals(c->db->dir, c->wal + 1, NULL, NULL, &wals, &n);
    if (rc != 0)
        return rc;
    *number = n ? wals[0] : 0;
    free(wals);
    return 0;
}

/* At the end of what c->r saw: a record appended since (1, in *rec), the
 * next WAL opened (2), or the live end (0); or an error. */
static int advance(lsm_changes *c, wal_record *rec)
{
    pthread_mutex_lock(&c->db->mu);
    uint64_t live = c->db->wal_number;
    pthread_mutex_unlock(&c->db->mu);
    int rc = wal_reader_refresh(c->r);
    if (rc == 0)
        rc = wal_reader_next(c->r, rec);
    if (rc != 0)
        return rc; /* 1: a record appended since; or an error */
    if (c->wal >= live)
        return 0;
    uint64_t number;
    if ((rc = next_wal(c, &number)) != 0)
        return rc;
    if (number == 0)
        return -ERANGE; /* cannot be while pinned; say so rather than loop */
    if ((rc = open_wal(c, number)) != 0)
        return rc;
    set_pin(c, number);
    return 2; /* the caller reads the new WAL's first record */
}

int lsm_changes_next(lsm_changes *c, lsm_change *out)
{
    if (!c || !out)
        return -EINVAL;
    for (;;) {
        if (c->status)
            return c->status;
        if (c->left > 0) {
            uint64_t last = atomic_load_explicit(&c->db->last_seq, memory_order_acquire);
            if (c->next_seq > last)
                return 0; /* written, not yet visible */
            /* The reader validated the payload (check_entries). */
            unsigned type = (unsigned char)c->p[BATCH_ENTRY_OFF_TYPE];
            uint32_t klen = batch_get_u32(c->p + BATCH_ENTRY_OFF_KLEN);
            uint32_t vlen = batch_get_u32(c->p + BATCH_ENTRY_OFF_VLEN);
            const char *key = c->p + BATCH_ENTRY_HEADER_SIZE;
            uint64_t seq = c->next_seq++;
            c->p = key + klen + vlen;
            c->left--;
            if (seq <= c->since)
                continue;
            out->seq = seq;
            out->type = type == BATCH_TYPE_PUT ? LSM_CHANGE_PUT : LSM_CHANGE_DELETE;
            out->key = key;
            out->klen = klen;
            out->value = key + klen;
            out->vlen = vlen;
            return 1;
        }
        wal_record rec;
        int rc = wal_reader_next(c->r, &rec);
        if (rc == 0)
            rc = advance(c, &rec);
        if (rc == 2)
            continue; /* a new WAL: read its first record */
        if (rc == 0)
            return 0;
        if (rc < 0) {
            c->status = rc;
            return rc;
        }
        c->rec_off = rec.offset;
        c->rec_seq = rec.sequence;
        if (rec.count && rec.sequence + rec.count - 1 <= c->since)
            continue; /* wholly before since */
        c->p = rec.payload.data;
        c->left = rec.count;
        c->next_seq = rec.sequence;
    }
}

void lsm_changes_close(lsm_changes *c)
{
    if (!c)
        return;
    remember(c);
    lsm_db *db = c->db;
    pthread_mutex_lock(&db->mu);
    if (c->pin.prev)
        c->pin.prev->next = c->pin.next;
    else
        db->wal_pins = c->pin.next;
    if (c->pin.next)
        c->pin.next->prev = c->pin.prev;
    pthread_mutex_unlock(&db->mu);
    wal_reader_close(c->r);
    free(c);
}
