/* common.c — what every lsmctl command shares: argument parsing, error
 * and JSON output (lsmctl.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsmctl.h"

bool ctl_json;

void ctl_json_bytes(FILE *f, const void *p, size_t n)
{
    const unsigned char *s = p;
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            fprintf(f, "\\%c", s[i]);
        else if (s[i] < 0x20 || s[i] >= 0x7f)
            fprintf(f, "\\u%04x", s[i]);
        else
            fputc(s[i], f);
    }
    fputc('"', f);
}

lsmd_conn *ctl_conn;

/* Every failure is printed here: the daemon's (or liblsmd's) reason when
 * the failed call gave one, else the code's description. */
int ctl_fail(const char *what, int rc)
{
    const char *why = ctl_conn ? lsmd_last_error(ctl_conn) : NULL;
    /* No failure recorded (the error is lsmctl's own): the code says it. */
    if (!why || strcmp(why, lsmd_strerror(0)) == 0)
        why = lsmd_strerror(rc);
    fprintf(stderr, "lsmctl: %s: %s\n", what, why);
    return 1;
}

int ctl_connect_fail(const char *socket, int rc)
{
    char path[4096];
    if (lsmd_socket_path(socket, path, sizeof path) != 0)
        snprintf(path, sizeof path, "%s", socket ? socket : "the default socket");
    /* No socket file, or nobody listening on it: the usual first mistake. */
    bool absent = rc == -ENOENT || rc == -ECONNREFUSED;
    fprintf(stderr, "lsmctl: cannot attach to lsmd at %s: %s%s\n", path, lsmd_strerror(rc),
            absent ? " (is lsmd running?)" : "");
    return 1;
}

int ctl_ok_json(void)
{
    if (ctl_json)
        puts("{\"ok\":true}");
    return 0;
}

int ctl_usage_err(const char *msg)
{
    fprintf(stderr, "lsmctl: %s (lsmctl --help for usage)\n", msg);
    return 2;
}




int ctl_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

int ctl_parse_args(int argc, char **argv, cmd_args *a)
{
    memset(a, 0, sizeof *a);
    a->limit = -1;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        bool has_next = i + 1 < argc;
        uint64_t u;
        if (strcmp(s, "--sync") == 0) {
            a->sync = true;
        } else if (strcmp(s, "--reverse") == 0) {
            a->reverse = true;
        } else if (strcmp(s, "--values") == 0) {
            a->values = true;
        } else if (strcmp(s, "--json") == 0) {
            ctl_json = true;
        } else if (strcmp(s, "--snapshot") == 0 && has_next) {
            if (ctl_parse_u64(argv[++i], &a->snapshot))
                return ctl_usage_err("--snapshot takes an ID");
        } else if (strcmp(s, "--limit") == 0 && has_next) {
            if (ctl_parse_u64(argv[++i], &u))
                return ctl_usage_err("--limit takes a number");
            a->limit = (long)u;
        } else if (strcmp(s, "--hold") == 0 && has_next) {
            a->hold = strtol(argv[++i], NULL, 10);
        } else if (strcmp(s, "--svg") == 0 && has_next) {
            a->svg = argv[++i];
        } else if (strcmp(s, "--since") == 0 && has_next) {
            if (ctl_parse_u64(argv[++i], &a->since))
                return ctl_usage_err("--since takes a sequence");
            a->has_since = true;
        } else if (strcmp(s, "--after") == 0 && has_next) {
            a->after = argv[++i];
        } else if (strcmp(s, "--follow") == 0) {
            a->follow = true;
        } else if (strcmp(s, "--format") == 0 && has_next) {
            a->format = argv[++i];
        } else if (strncmp(s, "--", 2) == 0 && s[2]) {
            fprintf(stderr, "lsmctl: unknown option %s\n", s);
            return 2;
        } else {
            if (a->npos == MAX_POS)
                return ctl_usage_err("too many arguments");
            a->pos[a->npos++] = s;
        }
    }
    return 0;
}

void ctl_human_bytes(double b, char *out, size_t cap)
{
    const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int i = 0;
    while (b >= 1024 && i < 4) {
        b /= 1024;
        i++;
    }
    snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}
