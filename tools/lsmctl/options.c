/*
 * options.c — reading the engine's options back (GET_OPTION): `get-option
 * NAME` prints one value, `options` every option as NAME=VALUE lines, the
 * values the daemon runs with now and persists in DIR/OPTIONS
 * (docs/operations.md, "Options").  Open to every client.
 */
#include <stdlib.h>
#include <string.h>

#include "lsmctl.h"

int cmd_get_option(lsmd_conn *c, const cmd_args *a)
{
    char *v;
    int rc = lsmd_get_option(c, a->pos[0], &v);
    if (rc)
        return ctl_fail("get-option", rc);
    if (ctl_json) {
        printf("{\"name\":");
        ctl_json_bytes(stdout, a->pos[0], strlen(a->pos[0]));
        printf(",\"value\":");
        ctl_json_bytes(stdout, v, strlen(v));
        printf("}\n");
    } else {
        printf("%s\n", v);
    }
    free(v);
    return 0;
}

int cmd_options(lsmd_conn *c, const cmd_args *a)
{
    (void)a;
    char *all;
    int rc = lsmd_get_option(c, "", &all);
    if (rc)
        return ctl_fail("options", rc);
    if (!ctl_json) {
        fputs(all, stdout);
        free(all);
        return 0;
    }
    /* {"name":"value",...}: values stay strings, as the engine prints them. */
    putchar('{');
    const char *sep = "";
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        fputs(sep, stdout);
        ctl_json_bytes(stdout, line, (size_t)(eq - line));
        putchar(':');
        ctl_json_bytes(stdout, eq + 1, strlen(eq + 1));
        sep = ",";
    }
    puts("}");
    free(all);
    return 0;
}
