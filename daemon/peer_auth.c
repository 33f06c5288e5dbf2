/* peer_auth.c — see peer_auth.h. */
#include "peer_auth.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/log.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59 /* Linux 4.13; older headers lack the name */
#endif

bool peer_auth_admin(const daemon_config *cfg, int sock, uid_t uid, gid_t gid)
{
    if (config_peer_admin(cfg, uid, gid, NULL, 0))
        return true;
    if (cfg->n_admin_gids == 0)
        return false;
    gid_t small[32], *groups = small;
    socklen_t len = sizeof small;
    int rc = getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
    if (rc != 0 && errno == ERANGE && len > sizeof small) { /* len: the size needed */
        groups = malloc(len);
        rc = groups ? getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, groups, &len) : -1;
        if (!groups)
            errno = ENOMEM;
    }
    bool ok = false;
    if (rc == 0)
        ok = config_peer_admin(cfg, uid, gid, groups, len / sizeof *groups);
    else
        log_warn_limited("admin: SO_PEERGROUPS: %s; admin_gids match the primary gid only",
                         strerror(errno));
    if (groups != small)
        free(groups);
    return ok;
}
