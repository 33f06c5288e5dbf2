/* get_option.c — see get_option.h. */
#include "get_option.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lsm.h"

void get_option_serve(daemon_ctx *d, session *s, const struct shm_sqe *q, struct shm_cqe *c,
                      char *why, size_t cap)
{
    why[0] = '\0';
    /* Validation bounds key_len by SHM_MAX_OPTION_BYTES (4096). */
    char name[4097], text[LSM_OPTIONS_TEXT_MAX];
    char *arena = shm_session_arena(s->shm);
    /* Read once into private memory: the client may rewrite the arena. */
    memcpy(name, arena + q->key_off, q->key_len);
    name[q->key_len] = '\0';
    if (strlen(name) != q->key_len) {
        snprintf(why, cap, "option name with a NUL byte");
        c->status = -EINVAL;
        return;
    }
    int n = lsm_get_option(d->db, name, text, sizeof text);
    if (n < 0) {
        if (n == -EINVAL)
            snprintf(why, cap, "no such option: %.80s", name);
        c->status = n;
        return;
    }
    c->r0 = (uint64_t)n;
    if ((size_t)n > q->out_cap) {
        c->status = LSM_ETOOSMALL;
        return;
    }
    memcpy(arena + q->out_off, text, (size_t)n);
    c->status = 0;
}
