/*
 * peer_auth.h — whether a connected peer may run admin operations (FLUSH,
 * COMPACT, SET_OPTION): its uid is the daemon's own or in admin_uids, or
 * its primary gid or one of its supplementary groups (SO_PEERGROUPS) is in
 * admin_gids (config.h).  Decided once per session, at attach
 * (session.admin); admin.h enforces it.  Whether the peer may attach at
 * all is config_peer_allowed's (config.h).
 *
 * Thread safety: any thread (reads the config, which is read-only once
 * the daemon runs, and the peer's socket).
 */
#ifndef LSMD_PEER_AUTH_H
#define LSMD_PEER_AUTH_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"

/* Whether the peer on sock (uid, primary gid) may run admin operations.
 * Reads the peer's supplementary groups with SO_PEERGROUPS only when
 * admin_gids is set and nothing else matched; where the kernel lacks it,
 * only the primary gid counts (logged, at most once a second). */
bool peer_auth_admin(const daemon_config *cfg, int sock, uid_t uid, gid_t gid);

#endif
