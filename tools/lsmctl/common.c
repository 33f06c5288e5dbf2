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

int ctl_fail(const char *what, int rc)
{
    fprintf(stderr, "lsmctl: %s: %s\n", what, lsmd_strerror(rc));
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
