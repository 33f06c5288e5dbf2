/*
 * last_error.h — why the last call on a connection failed: the state
 * lsmd_last_error (lsmd.h) reads, and the reasons the daemon leaves in the
 * segment's reason table (shm/protocol.h, "Reasons").  It knows nothing of
 * the connection: conn.h embeds a conn_error in lsmd_conn and wraps these
 * for it.  One thread at a time, as the connection.
 */
#ifndef LSMD_LAST_ERROR_H
#define LSMD_LAST_ERROR_H

#include <stddef.h>

#include "protocol.h"

typedef struct conn_error {
    int code;                   /* the last failure's code; 0: none */
    char text[SHM_REASON_TEXT]; /* its reason; "": none given */
} conn_error;

/* Records a refusal's reason; returns code. */
int conn_error_set(conn_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 0 for a key of 1 .. LSM_MAX_KEY_SIZE bytes, else conn_error_set(-EINVAL)
 * with the reason. */
int conn_error_check_key(conn_error *e, const void *key, size_t klen);
/* Forgets the last failure (a synchronous call starts). */
void conn_error_clear(conn_error *e);
/* Copies the reason of the failed completion cqe from the reason table of
 * the segment whose header is hdr into dst (SHM_REASON_TEXT bytes; "" when
 * it has none, or it was overwritten before we read it).  Call when
 * reaping cqe: the slot is reused after SHM_REASON_SLOTS more failures. */
void conn_error_read_reason(const void *hdr, const struct shm_cqe *cqe, char *dst);
/* Records cqe's failure (status < 0) and its reason as the last error. */
void conn_error_record(conn_error *e, const struct shm_cqe *cqe, const char *reason);
/* The last failure's reason, or NULL when it gave none (the caller then
 * describes e->code). */
const char *conn_error_text(const conn_error *e);

#endif
