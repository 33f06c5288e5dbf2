/* metrics_http.c — see metrics_http.h. */
#include "metrics_http.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "metrics.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_http {
    daemon_ctx *d;
    struct MHD_Daemon *mhd;
    bool named; /* [the MHD thread] its thread name is set */
};

int metrics_http_bind(const listen_addr *a, int *fd, char *bound, size_t cap)
{
    char want[80];
    listen_addr_format((const struct sockaddr *)&a->ss, want, sizeof want);
    int s = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        int e = errno;
        log_error("metrics_listen %s: socket: %s", want, strerror(e));
        return -e;
    }
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_storage got;
    socklen_t glen = sizeof got;
    if (bind(s, (const struct sockaddr *)&a->ss, a->len) != 0 || listen(s, 64) != 0 ||
        getsockname(s, (struct sockaddr *)&got, &glen) != 0) {
        int e = errno;
        log_error("metrics_listen %s: cannot listen: %s", want, strerror(e));
        close(s);
        return -e;
    }
    listen_addr_format((const struct sockaddr *)&got, bound, cap);
    *fd = s;
    return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                             const char *type)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *msg)
{
    char *body = strdup(msg);
    return body ? reply(c, status, body, strlen(body), "text/plain; charset=utf-8") : MHD_NO;
}

/* libmicrohttpd's request callback: runs on its one thread. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)version;
    (void)upload_data;
    metrics_http *h = cls;
    if (!h->named) { /* libmicrohttpd names no threads: for top -H and gdb */
        pthread_setname_np(pthread_self(), "lsmd-metrics");
        h->named = true;
    }
    if (*upload_data_size != 0)
        return reply_text(c, MHD_HTTP_BAD_REQUEST, "lsmd: a request body is not accepted\n");
    (void)req_cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "lsmd: only GET and HEAD\n");
    if (strcmp(url, "/") == 0)
        return reply_text(c, MHD_HTTP_OK, "lsmd: metrics are at /metrics\n");
    if (strcmp(url, "/metrics") != 0)
        return reply_text(c, MHD_HTTP_NOT_FOUND, "lsmd: not found (metrics are at /metrics)\n");
    char *text;
    size_t len;
    int rc = metrics_text(h->d, &text, &len);
    if (rc) {
        log_warn_limited("metrics: rendering failed: %s", lsm_strerror(rc));
        char msg[160];
        snprintf(msg, sizeof msg, "lsmd: rendering the metrics failed: %s\n", lsm_strerror(rc));
        return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
    }
    return reply(c, MHD_HTTP_OK, text, len, METRICS_CONTENT_TYPE);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_warn_limited("metrics http: %s", msg);
}

int metrics_http_start(daemon_ctx *d, int fd, metrics_http **out)
{
    metrics_http *h = calloc(1, sizeof *h);
    if (!h) {
        close(fd);
        return -ENOMEM;
    }
    h->d = d;
    h->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, /* first: see its doc */
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)4, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)10, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_END);
    if (!h->mhd) {
        log_error("metrics: libmicrohttpd did not start");
        close(fd);
        free(h);
        return -EIO;
    }
    *out = h;
    return 0;
}

void metrics_http_stop(metrics_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->mhd); /* joins its thread, closes the listening socket */
    free(h);
}
