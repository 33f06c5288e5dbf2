/* errors.c — lsm_strerror: one description for every code the library returns. */
#include <string.h>

#include "lsm.h"

const char *lsm_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case LSM_ENOTFOUND: return "key not found";
    case LSM_ECORRUPT: return "data corruption detected (checksum or format check failed)";
    case LSM_EREADONLY: return "database is read-only after a background error";
    case LSM_ETOOSMALL: return "buffer too small";
    case LSM_ECLOSED: return "database is closing";
    case LSM_EVERSION: return "unsupported file format version";
    default: break;
    }
    if (err < 0 && err > -4096)
        return strerror(-err); /* thread-safe for valid errnos in glibc */
    return "unknown error code";
}
