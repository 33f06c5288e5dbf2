/*
 * metrics_http.h — GET /metrics over HTTP (libmicrohttpd), for Prometheus
 * to scrape: config key metrics_listen (config.h), off by default.
 *
 *   GET|HEAD /metrics   200, Content-Type: text/plain; version=0.0.4,
 *                       the text of metrics.h
 *   GET|HEAD /          200, a line pointing at /metrics
 *   other paths         404;  other methods  405;  a request body  400
 *   rendering failed    500 with the reason
 *
 * One thread (libmicrohttpd's internal polling thread, "lsmd-metrics")
 * serves every connection, so scrapes are rendered one at a time.  It
 * never touches a client ring and takes no lock a worker holds for
 * longer than a few loads (metrics.h, "Cost and bounds"): a slow or
 * hostile HTTP peer can stall only this thread.  Bounds: 16 connections
 * at once (4 per IP), 10 s idle timeout, 32 KiB of request state per
 * connection, responses of at most METRICS_MAX_BYTES.  No authentication
 * and no TLS: bind it to loopback or a network you trust.
 *
 * Start-up: metrics_http_bind runs before the engine opens, so a busy
 * port fails fast; metrics_http_start runs once the workers and admin
 * lanes exist.  Shutdown: metrics_http_stop before any of them stops.
 */
#ifndef LSMD_METRICS_HTTP_H
#define LSMD_METRICS_HTTP_H

#include <stddef.h>

#include "daemon.h"
#include "listen_addr.h"

typedef struct metrics_http metrics_http;

/* A listening TCP socket on a (SO_REUSEADDR, close-on-exec); the address
 * actually bound ("127.0.0.1:40123" when port 0 was asked) in bound.
 * Errors: -errno of socket/bind/listen (-EADDRINUSE, -EACCES, ...); the
 * log names the address. */
int metrics_http_bind(const listen_addr *a, int *fd, char *bound, size_t cap);

/* Serves /metrics on fd (which it owns from now on, even on failure).
 * Errors: -ENOMEM, -EIO (libmicrohttpd could not start; logged). */
int metrics_http_start(daemon_ctx *d, int fd, metrics_http **out);

/* Stops the thread, closes every connection and the socket.  NULL is
 * fine.  REQUIRES: no other thread calls it at the same time. */
void metrics_http_stop(metrics_http *h);

#endif
