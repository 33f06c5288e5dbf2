/*
 * client_writes.h — the batcher's state about one client's writes, kept
 * inside its session (session.writes) so the batcher needs no table of
 * its own: writes taken and not yet acknowledged, how many of them wait
 * in the worker's filling group, and whether a large one is being applied
 * apart.
 *
 * Owner: batcher.c reads and changes these fields (batcher_pending and
 * batcher_held answer for others); wal_syncer.c lowers pending when it
 * acknowledges a synced write; session.c only zeroes them at attach.
 *
 * Thread safety: pending is raised by the serving worker when it takes a
 * write and lowered (release) by whichever thread acknowledges it: the
 * worker or the apart thread (unsynced writes and failed ones, once
 * applied) or the syncer (synced ones, once durable); it is read relaxed
 * (the worker's wait policy).  filling is the serving worker's alone.
 * synced_round is the syncer's (see the field).
 * alone is set by the worker (relaxed, before the apart thread is
 * signalled under its lock) and cleared by the apart thread (release,
 * paired with the acquire in batcher_held) once the write is applied.
 */
#ifndef LSMD_CLIENT_WRITES_H
#define LSMD_CLIENT_WRITES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct client_writes {
    _Atomic uint32_t pending; /* writes taken, not yet acknowledged */
    uint32_t filling;         /* of them, in the worker's filling group
                                 (not applied yet) */
    _Atomic bool alone;       /* a large write is being applied apart: the
                                 worker takes none of the client's requests
                                 until it is applied */
    uint64_t synced_round;    /* the last syncer round that acknowledged a
                                 synced write of this client: wal_syncer.c's
                                 alone (rounds are acknowledged one at a
                                 time, in order) */
};

#endif
