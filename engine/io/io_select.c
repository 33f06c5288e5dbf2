/*
 * io_select.c — io_new: which backend a name (or LSMD_IO) picks, with its
 * log line.  Apart from io.c, which holds what every backend calls, so the
 * backends and the code that chooses among them do not call each other.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "io/io.h"

static int new_auto(lsm_io **out)
{
    const char *env = getenv("LSMD_IO");
    if (env && *env && strcmp(env, "auto") != 0) {
        int rc;
        if (strcmp(env, "uring") == 0)
            rc = io_uring_new(out);
        else if (strcmp(env, "posix") == 0)
            rc = io_posix_new(out);
        else {
            log_error("io: LSMD_IO=%s is not one of auto, uring, posix", env);
            return -EINVAL;
        }
        if (rc == 0)
            log_info("io: using the %s backend (LSMD_IO=%s)", (*out)->name, env);
        else
            log_error("io: LSMD_IO=%s: backend setup failed: %s", env, strerror(-rc));
        return rc;
    }
    int rc = io_uring_new(out);
    if (rc == 0) {
        log_info("io: using the io_uring backend");
        return 0;
    }
    int prc = io_posix_new(out);
    if (prc == 0)
        log_info("io: using the posix backend (io_uring unavailable: %s)", strerror(-rc));
    return prc;
}

int io_new(const char *name, lsm_io **out)
{
    int rc;
    if (!name || strcmp(name, "auto") == 0)
        return new_auto(out);
    if (strcmp(name, "uring") == 0)
        rc = io_uring_new(out);
    else if (strcmp(name, "posix") == 0)
        rc = io_posix_new(out);
    else
        return -EINVAL;
    if (rc == 0)
        log_info("io: using the %s backend", (*out)->name);
    else
        log_error("io: the %s backend failed to start: %s", name, strerror(-rc));
    return rc;
}
