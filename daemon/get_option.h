/*
 * get_option.h — SHM_OP_GET_OPTION on a worker: the current value of one
 * engine option (key = its name), or every persisted option as
 * "name=value\n" lines (key empty), written into the client's arena
 * without a NUL; r0 = the length.  Read-only and quick (a copy of the
 * options under the engine's mutex), so any attached client may ask and
 * it is served in place, not on an admin lane.
 *
 * Thread safety: called on the worker thread that owns the session.
 */
#ifndef LSMD_GET_OPTION_H
#define LSMD_GET_OPTION_H

#include "daemon.h"
#include "protocol.h"
#include "session.h"

/* Fills *c: status 0 and r0 = length; LSM_ETOOSMALL and r0 = the length
 * needed when out_cap is too small (nothing written); -EINVAL for an
 * unknown name or a NUL inside it, with the reason in why (cap bytes;
 * "" when there is none). */
void get_option_serve(daemon_ctx *d, session *s, const struct shm_sqe *q, struct shm_cqe *c,
                      char *why, size_t cap);

#endif
