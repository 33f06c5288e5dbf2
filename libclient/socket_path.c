/* socket_path.c — which socket lsmd_connect tries (lsmd_socket_path in
 * lsmd.h): the caller's path, else LSMD_SOCKET, else the default. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "hello.h"
#include "lsmd.h"

int lsmd_socket_path(const char *socket_path, char *buf, size_t cap)
{
    if (!buf || !cap)
        return -EINVAL;
    if (!socket_path || !*socket_path) {
        const char *env = getenv("LSMD_SOCKET");
        if (!env || !*env)
            return shm_default_socket_path(buf, cap);
        socket_path = env;
    }
    int n = snprintf(buf, cap, "%s", socket_path);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}
