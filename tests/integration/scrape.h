/*
 * scrape.h — what the metrics tests share: a plain HTTP/1.0 GET on
 * loopback, running a program with its output captured, and reading one
 * sample out of Prometheus text.  Everything fails the current cmocka test
 * on unexpected errors.
 */
#ifndef LSMD_TEST_SCRAPE_H
#define LSMD_TEST_SCRAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

/* GET (or another method) http://127.0.0.1:port/path; the status code,
 * and the body (malloc'd, NUL-terminated; free()) in *body when body is
 * not NULL, the header block in *head when head is not NULL.  -1 when the
 * connection fails or no reply comes within timeout_ms. */
int scrape_http(int port, const char *method, const char *path, char **head, char **body,
                int timeout_ms);

/* The port of "lsmd: metrics on http://127.0.0.1:PORT/metrics" in d's log
 * (the daemon prints it once it serves). */
int scrape_daemon_port(const th_daemon *d);

/* Runs argv (argv[0] a path or a name looked up in PATH) with stdin from
 * in_path (NULL: /dev/null), stdout and stderr into *out (malloc'd;
 * free()); its exit code (128+signal when killed), killed after
 * timeout_ms. */
int scrape_run(const char *const *argv, const char *in_path, char **out, int timeout_ms);

/* true when name is an executable in PATH. */
bool scrape_have(const char *name);

/* The value of the sample line "NAME VALUE" ("name{labels}" included in
 * name) in Prometheus text; fails the test when absent. */
double scrape_value(const char *text, const char *name);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int scrape_free_port(void);

#endif
