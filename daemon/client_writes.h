/*
 * client_writes.h — the batcher's state about one client's writes, kept
 * inside its session (session.writes) so the batcher needs no table of
 * its own: writes taken and not yet acknowledged, and whether a large one
 * is being applied apart.
 *
 * Owner: batcher.c alone reads and changes these fields (batcher_pending
 * and batcher_held answer for others); session.c only zeroes them at
 * attach.
 *
 * Thread safety: atomics.  pending is raised by the serving worker when
 * it takes a write and lowered (release) by whichever thread acknowledges
 * it: a committer, the apart thread, or the worker itself; readers load
 * it with acquire (batcher_settle waits on it) or relaxed (wait policy).
 * alone is set by the worker (relaxed, before the apart thread is
 * signalled under its lock) and cleared by the apart thread (release,
 * paired with the acquire in batcher_held).
 */
#ifndef LSMD_CLIENT_WRITES_H
#define LSMD_CLIENT_WRITES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct client_writes {
    _Atomic uint32_t pending; /* writes taken, not yet acknowledged */
    _Atomic bool alone;       /* a large write is being applied apart: the
                                 worker takes none of the client's requests
                                 until it is acknowledged */
};

#endif
