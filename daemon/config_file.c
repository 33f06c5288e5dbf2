/* config_file.c — see config_file.h. */
#include "config_file.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "config_keys.h"

struct ini_ctx {
    daemon_config *c;
    int err;
};

/* libinih handler: returns nonzero to continue. */
static int on_ini_line(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *x = user;
    int rc;
    char k[64];
    if (strcmp(section, "engine") == 0 &&
        !(config_key_normalize(name, k, sizeof k) && config_key_is_engine(k))) {
        log_error("config: [engine] %s is not an engine option (lsmd --help lists them)", name);
        rc = -EINVAL;
    } else if (strcmp(section, "engine") == 0)
        rc = config_set(x->c, name, value);
    else if (section[0] == '\0' || strcmp(section, "lsmd") == 0)
        rc = config_set(x->c, name, value);
    else {
        log_error("config: unknown section [%s]", section);
        rc = -EINVAL;
    }
    if (rc && !x->err)
        x->err = rc;
    return rc == 0;
}

int config_load_file(daemon_config *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        log_error("config: cannot open %s: %s", path, strerror(e));
        return -e;
    }
    char *copy = strdup(path);
    if (!copy) {
        fclose(f);
        return -ENOMEM;
    }
    free(c->config_path);
    c->config_path = copy;
    struct ini_ctx x = { c, 0 };
    int line = ini_parse_file(f, on_ini_line, &x);
    fclose(f);
    if (line != 0) {
        log_error("config: %s: error on line %d", path, line);
        return x.err ? x.err : -EINVAL;
    }
    return x.err;
}

