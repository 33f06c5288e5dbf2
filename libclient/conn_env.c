/* conn_env.c — lsmd_conn_options_init and the environment overrides it
 * reads (conn.h "Options from the environment").  A misspelt override is
 * refused at connect, by name: silently connecting with the default (a
 * 2 MiB region after LSMD_LARGE_BYTES=100M, as once) hides the mistake
 * until a request fails far from its cause. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "wait.h" /* SHM_DEFAULT_SPIN_NS */

/* Reads digits with an optional K/M/G suffix (when sized) into *out.
 * 0, or -EINVAL for anything else, or a value above max. */
static int parse_u64(const char *s, bool sized, uint64_t max, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return -EINVAL; /* no sign, no blank, no empty */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -EINVAL;
    unsigned shift = 0;
    if (sized && *end) {
        switch (*end) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: return -EINVAL;
        }
        end++;
    }
    if (*end || v > (max >> shift))
        return -EINVAL;
    *out = (uint64_t)v << shift;
    return 0;
}

struct env_opt {
    const char *name;
    bool sized;
    uint64_t max;
    const char *expects;
};

static const struct env_opt env_depth = { "LSMD_QUEUE_DEPTH", false, SHM_MAX_QUEUE_DEPTH,
                                          "a number of requests, 1 to 1024" };
static const struct env_opt env_large = {
    "LSMD_LARGE_BYTES", true, SHM_MAX_LARGE_BYTES,
    "a size in bytes with an optional K, M or G suffix, at most 256M (e.g. 100M)"
};
static const struct env_opt env_spin = { "LSMD_SPIN_NS", false, UINT64_MAX - 1,
                                         "a number of nanoseconds" };

/* The variable's value, def when unset or empty, bad when unreadable. */
static uint64_t env_get(const struct env_opt *e, uint64_t def, uint64_t bad)
{
    const char *v = getenv(e->name);
    if (!v || !*v)
        return def;
    uint64_t x;
    return parse_u64(v, e->sized, e->max, &x) == 0 ? x : bad;
}

void lsmd_conn_options_init(lsmd_conn_options *o)
{
    memset(o, 0, sizeof(*o));
    o->queue_depth = (uint32_t)env_get(&env_depth, SHM_DEFAULT_QUEUE_DEPTH, CONN_OPT_BAD32);
    o->slot_bytes = SHM_DEFAULT_SLOT_BYTES;
    o->large_bytes = (uint32_t)env_get(&env_large, SHM_DEFAULT_LARGE_BYTES, CONN_OPT_BAD32);
    o->spin_ns = env_get(&env_spin, SHM_DEFAULT_SPIN_NS, CONN_OPT_BAD64);
    o->connect_timeout_ms = 10000;
}

static int refuse(const struct env_opt *e)
{
    const char *v = getenv(e->name);
    fprintf(stderr, "lsmd client: %s=%s is not %s\n", e->name, v ? v : "", e->expects);
    return -EINVAL;
}

int conn_options_check(const lsmd_conn_options *o)
{
    if (o->queue_depth == CONN_OPT_BAD32)
        return refuse(&env_depth);
    if (o->large_bytes == CONN_OPT_BAD32)
        return refuse(&env_large);
    if (o->spin_ns == CONN_OPT_BAD64)
        return refuse(&env_spin);
    return 0;
}
