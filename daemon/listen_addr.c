/* listen_addr.c — see listen_addr.h. */
#include "listen_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *p, unsigned *out, const char **why)
{
    if (!*p) {
        *why = "no port after ':'";
        return -EINVAL;
    }
    unsigned long v = 0;
    for (const char *q = p; *q; q++) {
        if (*q < '0' || *q > '9' || v > 65535) {
            *why = *q < '0' || *q > '9' ? "port is not a number" : "port above 65535";
            return -EINVAL;
        }
        v = v * 10 + (unsigned long)(*q - '0');
    }
    if (v > 65535) {
        *why = "port above 65535";
        return -EINVAL;
    }
    *out = (unsigned)v;
    return 0;
}

int listen_addr_parse(const char *s, listen_addr *out, const char **why)
{
    char host[64];
    const char *port;
    memset(out, 0, sizeof *out);
    if (!s || !*s) {
        *why = "empty (expected HOST:PORT, e.g. 127.0.0.1:9464)";
        return -EINVAL;
    }
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') {
            *why = "IPv6 address needs the form [ADDR]:PORT";
            return -EINVAL;
        }
        size_t n = (size_t)(close - s - 1);
        if (n == 0 || n >= sizeof host) {
            *why = "bad IPv6 address";
            return -EINVAL;
        }
        memcpy(host, s + 1, n);
        host[n] = '\0';
        port = close + 2;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->ss;
        unsigned p;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
            *why = "bad IPv6 address";
            return -EINVAL;
        }
        if (parse_port(port, &p, why))
            return -EINVAL;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)p);
        out->len = sizeof *a6;
        return 0;
    }
    const char *colon = strrchr(s, ':');
    if (!colon) {
        *why = "no port (expected HOST:PORT, e.g. 127.0.0.1:9464)";
        return -EINVAL;
    }
    size_t n = (size_t)(colon - s);
    if (n >= sizeof host || memchr(s, ':', n)) {
        *why = "bad host (an IPv6 address goes in brackets: [::1]:9464)";
        return -EINVAL;
    }
    memcpy(host, s, n);
    host[n] = '\0';
    struct sockaddr_in *a4 = (struct sockaddr_in *)&out->ss;
    unsigned p;
    if (n == 0) {
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
        *why = "host is not a numeric IPv4 address (no name lookups: use 127.0.0.1, not "
               "localhost)";
        return -EINVAL;
    }
    if (parse_port(colon + 1, &p, why))
        return -EINVAL;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)p);
    out->len = sizeof *a4;
    return 0;
}

void listen_addr_format(const struct sockaddr *a, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
        inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof host);
        port = ntohs(a6->sin6_port);
        snprintf(buf, cap, "[%s]:%u", host, port);
        return;
    }
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
    inet_ntop(AF_INET, &a4->sin_addr, host, sizeof host);
    port = ntohs(a4->sin_port);
    snprintf(buf, cap, "%s:%u", host, port);
}
