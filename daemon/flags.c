/* flags.c — see flags.h. */
#include "flags.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_file.h"
#include "config_keys.h"

/* --socket or --socket=... among the flags. */
static bool socket_flag_given(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--socket") == 0 || strncmp(argv[i], "--socket=", 9) == 0)
            return true;
    return false;
}

int flags_parse(daemon_config *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0)
            return 2;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 1; i < argc; i++) {
            const char *a = argv[i];
            if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
                return 1;
            if (strncmp(a, "--", 2) != 0) {
                fprintf(stderr, "lsmd: unexpected argument '%s'\n", a);
                return -EINVAL;
            }
            char key[64];
            const char *val;
            const char *eq = strchr(a + 2, '=');
            size_t klen = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            if (klen == 0 || klen >= sizeof key) {
                fprintf(stderr, "lsmd: bad flag '%s'\n", a);
                return -EINVAL;
            }
            memcpy(key, a + 2, klen);
            key[klen] = '\0';
            if (eq) {
                val = eq + 1;
            } else if (config_key_is_switch(key) &&
                       (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)) {
                val = "1"; /* a switch standing alone */
            } else if (i + 1 < argc) {
                val = argv[++i];
            } else {
                fprintf(stderr, "lsmd: flag --%s needs a value\n", key);
                return -EINVAL;
            }
            bool is_config = strcmp(key, "config") == 0;
            int rc = 0;
            if (pass == 0 && is_config)
                rc = config_load_file(c, val);
            else if (pass == 1 && !is_config)
                rc = config_set(c, key, val);
            if (rc) {
                if (rc != -ENOMEM && !is_config)
                    fprintf(stderr, "lsmd: bad flag --%s %s (see the log line above)\n", key,
                            val);
                return rc == -ENOMEM ? rc : -EINVAL;
            }
        }
        /* LSMD_SOCKET after the file, before the flags: a --socket flag
         * wins over it, and it wins over the file (config.h). */
        const char *env = getenv("LSMD_SOCKET");
        if (pass == 0 && env && *env && !socket_flag_given(argc, argv)) {
            int rc = config_set(c, "socket", env);
            if (rc)
                return rc;
        }
    }
    return 0;
}
