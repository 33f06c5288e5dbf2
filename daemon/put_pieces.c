/* put_pieces.c — see put_pieces.h. */
#include "put_pieces.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "server.h"
#include "uid_quota.h"

/* A value being staged: the key, then the value, in one buffer. */
struct put_staging {
    char *buf;
    uint32_t klen;
    uint64_t vlen, filled;
};

static uint64_t charge(const struct put_staging *st)
{
    return (uint64_t)st->klen + st->vlen;
}

void put_piece_drop(session *s)
{
    struct put_staging *st = s->staged;
    if (!st)
        return;
    uidq_give(s->d->quota, s->uid, UIDQ_ARENA_BYTES, charge(st));
    free(st->buf);
    free(st);
    s->staged = NULL;
}

/* A piece at offset 0: a new staged value (the key copied once). */
static int start(session *s, const struct shm_sqe *q)
{
    put_piece_drop(s);
    struct put_staging *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    st->klen = q->key_len;
    st->vlen = q->arg0;
    int rc = uidq_take(s->d->quota, s->uid, UIDQ_ARENA_BYTES, charge(st));
    if (rc) {
        log_warn_limited("client %llu (pid %d): a put of a %llu-byte value passes uid %u's "
                         "max_arena_bytes_per_uid", (unsigned long long)s->id, (int)s->pid,
                         (unsigned long long)st->vlen, (unsigned)s->uid);
        free(st);
        return -ENOMEM;
    }
    st->buf = malloc(charge(st) ? charge(st) : 1);
    if (!st->buf) {
        uidq_give(s->d->quota, s->uid, UIDQ_ARENA_BYTES, charge(st));
        free(st);
        return -ENOMEM;
    }
    memcpy(st->buf, shm_session_arena(s->shm) + q->key_off, q->key_len);
    s->staged = st;
    return 0;
}

/* Whether q continues the staged value: same key and length, no gap. */
static bool continues(const session *s, const struct shm_sqe *q)
{
    const struct put_staging *st = s->staged;
    return st && st->klen == q->key_len && st->vlen == q->arg0 && st->filled == q->arg1 &&
           memcmp(st->buf, shm_session_arena(s->shm) + q->key_off, q->key_len) == 0;
}

void put_piece_serve(batcher *wg, session *s, const struct shm_sqe *q)
{
    int rc = 0;
    if (q->arg1 == 0)
        rc = start(s, q);
    else if (!continues(s, q))
        rc = -EINVAL; /* out of sequence: what was staged is dropped */
    if (rc) {
        put_piece_drop(s);
        struct shm_cqe c = { .tag = q->tag, .status = rc };
        session_post(s, &c);
        s->need_wake = true;
        return;
    }
    struct put_staging *st = s->staged;
    /* Copied once, now: the client may rewrite its region meanwhile. */
    memcpy(st->buf + st->klen + st->filled, shm_session_arena(s->shm) + q->val_off,
           q->val_len);
    st->filled += q->val_len;
    if (st->filled < st->vlen) {
        struct shm_cqe c = { .tag = q->tag, .r0 = st->filled };
        session_post(s, &c);
        s->need_wake = true;
        return;
    }
    /* The last piece: the put itself.  The batcher owns the buffer now
     * (freed once applied); the charge ends here. */
    s->staged = NULL;
    uidq_give(s->d->quota, s->uid, UIDQ_ARENA_BYTES, charge(st));
    batcher_add_owned(wg, s, q, st->buf, st->klen, st->vlen);
    free(st);
}
