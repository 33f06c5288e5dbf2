/*
 * listen_addr.h — "HOST:PORT" for a TCP listener (metrics_listen), parsed
 * once at start-up so a bad value is a configuration error, not a failure
 * later in a thread.
 *
 *   127.0.0.1:9464     an IPv4 address
 *   [::1]:9464         an IPv6 address, in brackets
 *   :9464              every interface (0.0.0.0)
 * HOST must be numeric (no name lookups at start-up); PORT is 0..65535,
 * 0 meaning "any free port" (tests read the one chosen from the log).
 *
 * Thread safety: pure functions.
 */
#ifndef LSMD_LISTEN_ADDR_H
#define LSMD_LISTEN_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

typedef struct listen_addr {
    struct sockaddr_storage ss;
    socklen_t len;
} listen_addr;

/* Parses s into *out.  Returns 0, or -EINVAL with a static reason in
 * *why ("no port", "port out of range", ...). */
int listen_addr_parse(const char *s, listen_addr *out, const char **why);

/* "127.0.0.1:9464" / "[::1]:9464" for a in buf (cap >= 64 is enough). */
void listen_addr_format(const struct sockaddr *a, char *buf, size_t cap);

#endif
