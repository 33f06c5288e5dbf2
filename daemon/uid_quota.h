/*
 * uid_quota.h — each uid's share of the daemon: how many sessions,
 * iterators and snapshot pins its clients hold and how many bytes of
 * shared segment they were given, against a per-uid limit.
 *
 * The quotas keep uids from starving each other (one foreign uid cannot
 * take every client slot, iterator or snapshot).  One uid is exempt: the
 * daemon's own.  A process of that uid can signal the daemon, read its data
 * directory and is the usual (often the only) client, so a quota on it
 * would limit a single-uid deployment without protecting anything; it is
 * bounded by the global and per-session limits only.  The exempt uid is
 * still counted (uidq_used), never refused.
 *
 * Thread safety: every call is safe from any thread (one mutex, never held
 * while calling out).  Callers may hold their own locks around these calls
 * (the snapshot registry does); uidq takes no other lock.
 * Invariants: used[r] of a uid <= limit[r] unless the uid is exempt or the
 * limit is 0 (unlimited); a uid whose counts are all zero has no entry.
 */
#ifndef LSMD_UID_QUOTA_H
#define LSMD_UID_QUOTA_H

#include <stdint.h>
#include <sys/types.h>

typedef enum uidq_res {
    UIDQ_SESSIONS,      /* attached sessions */
    UIDQ_ITERS,         /* open iterators */
    UIDQ_SNAPSHOTS,     /* snapshot pins (acquires and holds, repeats counted) */
    UIDQ_ARENA_BYTES,   /* sum of the sessions' segment sizes */
    UIDQ_NRES
} uidq_res;

typedef struct uidq uidq;

/* limits[r]: the most one uid may hold of r, 0 = unlimited.  exempt: the
 * uid that is never refused (the daemon's effective uid).
 * Errors: -ENOMEM. */
int uidq_new(const uint64_t limits[UIDQ_NRES], uid_t exempt, uidq **out);

/* REQUIRES: nothing in use is still charged, or the caller no longer cares. */
void uidq_free(uidq *q);

/* Charges n of r to uid, all or nothing.  q may be NULL (no quotas: always
 * 0).  Errors: -EMFILE (a count would pass its limit), -ENOMEM (arena
 * bytes would pass their limit, or no memory for a new uid's entry). */
int uidq_take(uidq *q, uid_t uid, uidq_res r, uint64_t n);

/* Returns n of r that uid was charged.  REQUIRES: uid holds at least n
 * (giving back more than was taken is clamped to 0: counts never wrap). */
void uidq_give(uidq *q, uid_t uid, uidq_res r, uint64_t n);

/* What uid holds of r now (0 for an unknown uid or a NULL q). */
uint64_t uidq_used(uidq *q, uid_t uid, uidq_res r);

/* The limit of r (0 = unlimited). */
uint64_t uidq_limit(const uidq *q, uidq_res r);

/* The config key that sets r's limit, e.g. "max_iters_per_uid". */
const char *uidq_key(uidq_res r);

#endif
