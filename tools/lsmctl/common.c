/* common.c — what every lsmctl command shares: error and JSON output
 * (lsmctl.h; the command line is args.c, keys and values bytes.c). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsmctl.h"

bool ctl_json;

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
