/*
 * reason.h — the reason behind the last refusal on this thread, which
 * lsm_last_error() (lsm.h) hands to the caller: a short sentence such as
 * "compaction_threads: 99 is above the maximum 16", where the code alone
 * (-EINVAL) would leave the caller guessing.
 *
 * A call that can give a reason clears it first (reason_clear) and sets it
 * where it refuses (reason_set, which returns the code for `return
 * reason_set(-EINVAL, ...)`).  The text is also logged at DEBUG: refusing a
 * caller's bad input is the caller's business, not the host's stderr.
 *
 * Thread safety: the reason is thread-local; no locks.
 */
#ifndef LSM_BASE_REASON_H
#define LSM_BASE_REASON_H

#include <stddef.h>
#include <stdio.h>

#include "lsm.h"

/* Longest reason kept, with its NUL; longer ones are cut. */
#define REASON_MAX 128

int reason_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reason_clear(void);
/* The reason set on this thread since the last reason_clear, or "". */
const char *reason_text(void);

/* The one wording of a key-size refusal, shared by the engine, the
 * daemon's descriptor checks (shm/validate.c) and the client library, so
 * a caller reads the same sentence whichever refuses first.  Writes
 * "empty key" or "key of N bytes exceeds the 65536-byte limit". */
static inline void reason_key_size(char *buf, size_t cap, size_t klen)
{
    if (klen == 0)
        snprintf(buf, cap, "empty key");
    else
        snprintf(buf, cap, "key of %zu bytes exceeds the %u-byte limit", klen,
                 LSM_MAX_KEY_SIZE);
}

/* The same for a value above LSM_MAX_VALUE_SIZE. */
static inline void reason_value_size(char *buf, size_t cap, size_t vlen)
{
    snprintf(buf, cap, "value of %zu bytes exceeds the %u-byte limit", vlen,
             LSM_MAX_VALUE_SIZE);
}

#endif
