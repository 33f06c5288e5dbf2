/* last_error.c — why the last call on a connection failed (lsmd_last_error
 * in lsmd.h): the daemon's reason, read from the segment's reason table
 * (shm/protocol.h, "Reasons"), or the library's own for what it refuses
 * before sending anything. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "last_error.h"
#include "lsm.h"
#include "validate.h"

int conn_error_set(conn_error *e, int code, const char *fmt, ...)
{
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
    return code;
}

int conn_error_check_key(conn_error *e, const void *key, size_t klen)
{
    if (key && klen >= 1 && klen <= LSM_MAX_KEY_SIZE)
        return 0;
    char why[SHM_REASON_TEXT];
    shm_key_reason(why, sizeof why, key ? klen : 0);
    return conn_error_set(e, -EINVAL, "%s", why);
}

void conn_error_clear(conn_error *e)
{
    e->code = 0;
    e->text[0] = '\0';
}

void conn_error_read_reason(const void *hdr, const struct shm_cqe *e, char *dst)
{
    dst[0] = '\0';
    if (!(e->flags & SHM_CQ_REASON) || e->status >= 0 || e->aux == 0)
        return;
    const struct shm_reason *r =
        (const struct shm_reason *)((const char *)hdr + SHM_REASON_OFF) +
        e->aux % SHM_REASON_SLOTS;
    /* Seqlock read: pairs with the daemon's release store of seq (the text
     * is complete) and its release fence before rewriting the slot. */
    if (__atomic_load_n(&r->seq, __ATOMIC_ACQUIRE) != e->aux)
        return;
    uint32_t len = __atomic_load_n(&r->len, __ATOMIC_RELAXED);
    if (len >= SHM_REASON_TEXT)
        return;
    char text[SHM_REASON_TEXT];
    for (uint32_t i = 0; i < len; i++)
        text[i] = __atomic_load_n(&r->text[i], __ATOMIC_RELAXED);
    text[len] = '\0';
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&r->seq, __ATOMIC_RELAXED) != e->aux)
        return; /* reused by a later failure while we copied */
    /* Printable text only: the segment is shared with whoever can write it. */
    for (uint32_t i = 0; i < len; i++)
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
            text[i] = '?';
    memcpy(dst, text, len + 1);
}

void conn_error_record(conn_error *err, const struct shm_cqe *e, const char *reason)
{
    if (e->status >= 0)
        return;
    err->code = e->status;
    snprintf(err->text, sizeof err->text, "%s", reason);
}

const char *conn_error_text(const conn_error *e)
{
    return e->text[0] ? e->text : NULL;
}
