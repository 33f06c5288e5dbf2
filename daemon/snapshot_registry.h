/*
 * snapshot_registry.h — the daemon's table of shared snapshots.
 *
 * A snapshot is named by its ID: the engine's pinned sequence
 * (lsm_snapshot_id) plus one, so that no ID is 0, which the protocol
 * reserves for "the latest state" (a snapshot of an empty database pins
 * sequence 0).  Each entry holds one engine snapshot and the set of
 * holders (sessions) that pinned it, each with a count (a session may hold
 * an ID several times and must release it as often).  Any session may hold
 * an ID that is currently published; the pin ends when the last holder
 * releases it or dies (snapreg_drop_holder).  Readers in flight (a get at a
 * snapshot, an iterator bound to one) take a short reference so the engine
 * snapshot outlives them even if the last holder leaves meanwhile; such an
 * entry is no longer listed, only kept alive.
 *
 * Limits (snapreg_limits), each refusing with -EMFILE rather than letting
 * one client crowd out another:
 *   max_listed      IDs listed at once.  The directory every client reads
 *                   is sized for it, so every listed ID is published.  Only
 *                   an acquire can list a new ID; a hold never does.
 *   max_per_holder  pins of one holder, every acquire and hold counted,
 *                   repeats of one ID included.
 *   the uid quota   UIDQ_SNAPSHOTS pins per uid (uid_quota.h), when given.
 * Counts cannot wrap: a holder's count on an ID is at most max_per_holder
 * (< 2^32) and an ID's total is a 64-bit sum over its holders.
 *
 * After every change of the listed set the registry calls the publish
 * callback with the sorted list, under its lock, so publications are
 * serialized and in order (the daemon copies them into the read-only
 * directory segment every client maps).
 *
 * Thread safety: every call is safe from any thread (one mutex; the uid
 * quota's lock is taken under it, never the other way round).
 */
#ifndef LSMD_SNAPSHOT_REGISTRY_H
#define LSMD_SNAPSHOT_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include "lsm.h"
#include "uid_quota.h"

typedef struct snapreg snapreg;

/* ID <-> pinned sequence. */
static inline uint64_t snapreg_id_of(uint64_t sequence) { return sequence + 1; }
static inline uint64_t snapreg_sequence_of(uint64_t id) { return id - 1; }

/* One listed snapshot, as handed to the publish callback. */
typedef struct snapreg_info {
    uint64_t id;
    uint32_t holders;      /* distinct holders */
    uint32_t pins;         /* sum of the holders' counts (saturates) */
    uint64_t created_ns;   /* CLOCK_REALTIME at acquire */
    uint64_t creator;      /* holder that acquired it */
    uint32_t creator_pid;
} snapreg_info;

/* Called with the whole listed set, sorted by id, after each change.
 * Must not call back into the registry. */
typedef void (*snapreg_publish_fn)(void *ctx, const snapreg_info *list, size_t n);

typedef struct snapreg_limits {
    unsigned max_listed;      /* IDs listed at once (>= 1) */
    unsigned max_per_holder;  /* pins of one holder, repeats counted (>= 1) */
} snapreg_limits;

/* db (and quota, which may be NULL: no per-uid quota) must outlive the
 * registry.  Limits of 0 are taken as 1.  Errors: -ENOMEM. */
int snapreg_new(lsm_db *db, const snapreg_limits *lim, uidq *quota,
                snapreg_publish_fn publish, void *ctx, snapreg **out);

/* Releases every remaining engine snapshot and frees r (gives nothing back
 * to the uid quota: it goes away with the daemon).
 * REQUIRES: no reader references outstanding. */
void snapreg_free(snapreg *r);

/* Takes a new engine snapshot now, publishes it and pins it for holder,
 * whose processes run as uid (pid is recorded as the creator's, for
 * listings).  An acquire at the sequence of a listed ID pins that ID.
 * Errors: -ENOMEM, -EMFILE (a limit above; logged, rate-limited). */
int snapreg_acquire(snapreg *r, uint64_t holder, uid_t uid, uint32_t pid, uint64_t *id);

/* Pins a listed ID for holder (uid as above).  Errors: -ESRCH (not listed:
 * never created, or its last holder left), -EMFILE (max_per_holder or the
 * uid quota), -ENOMEM. */
int snapreg_hold(snapreg *r, uint64_t holder, uid_t uid, uint64_t id);

/* Drops one pin of holder on id.  Errors: -ESRCH (holder does not hold
 * it). */
int snapreg_release(snapreg *r, uint64_t holder, uint64_t id);

/* Drops every pin of holder (it died or detached).  Returns how many pins
 * were dropped. */
size_t snapreg_drop_holder(snapreg *r, uint64_t holder);

/* A reader reference for holder, which must hold id: *snap stays valid
 * until snapreg_unref(r, id), even across a concurrent last release.
 * Errors: -ESRCH (holder does not hold id). */
int snapreg_ref(snapreg *r, uint64_t holder, uint64_t id, const lsm_snapshot **snap);
void snapreg_unref(snapreg *r, uint64_t id);

/* Copies at most cap listed entries into out (sorted by id); returns the
 * total number listed. */
size_t snapreg_list(snapreg *r, snapreg_info *out, size_t cap);

#endif
