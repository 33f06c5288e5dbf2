/* multi_get.c — lsmd_multi_get (lsmd.h): n keys in as few MULTI_GET
 * requests as the large region allows (docs/shm-protocol.md, "Multi-get").
 *
 * Each round packs pending keys into one request: keys whose value length
 * is already known (they came back LSM_ETOOSMALL) first, so the daemon's
 * greedy placement gives them room, then keys not asked yet, until the key
 * list reaches its budget (half the large region: the rest is for the
 * values) or SHM_MGET_MAX_KEYS.  The daemon answers every key, or -EAGAIN
 * for keys it did not look up because the output filled; those are asked
 * again next round.  A value too large for a request of its own is fetched
 * with lsmd_get (in pieces when it exceeds the large region).
 *
 * One view: with snapshot_id 0, a call that needs more than one request
 * acquires a snapshot first and reads every round at it (released before
 * returning), so the results are those of one moment, as lsm_multi_get's.
 * If the daemon refuses the snapshot (its limits), each request reads the
 * latest state instead. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "validate.h"

/* Per-key states while the call runs, kept in statuses[] (final statuses
 * are 0 or negative). */
#define PEND_FRESH 1 /* to ask; length unknown */
#define PEND_KNOWN 2 /* to ask; value_lens[i] is its length */
#define PEND_BIG 3   /* to fetch alone with GET */

typedef struct mg_call {
    lsmd_conn *c;
    size_t n;
    const void *const *keys;
    const size_t *key_lens;
    void **values;
    size_t *value_lens;
    int *statuses;
    uint64_t view;          /* snapshot id each request names */
    bool pinned;            /* view is a snapshot this call acquired */
    uint32_t key_budget;    /* largest key list per request */
    uint32_t *order;        /* this round's keys, in request order */
} mg_call;

static uint32_t entry_bytes(const mg_call *m, size_t i)
{
    return SHM_MGET_KEY_HDR + (uint32_t)m->key_lens[i];
}

/* Room a lone key's value has in a request: the large region less its key
 * list and one table entry. */
static uint64_t lone_cap(const mg_call *m, size_t i)
{
    return m->c->large_bytes - align8(entry_bytes(m, i)) - sizeof(struct shm_mget_res);
}

static void reset_values(mg_call *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->values[i]);
        m->values[i] = NULL;
    }
}

static int fail_all(mg_call *m, int err)
{
    reset_values(m);
    for (size_t i = 0; i < m->n; i++) {
        m->value_lens[i] = 0;
        m->statuses[i] = err;
    }
    return err;
}

static bool pending(int st)
{
    return st > 0;
}

/* Whether the keys cannot all go in one request. */
static bool needs_rounds(const mg_call *m)
{
    uint64_t bytes = 0, count = 0;
    for (size_t i = 0; i < m->n; i++)
        if (pending(m->statuses[i])) {
            bytes += entry_bytes(m, i);
            count++;
        }
    return count > SHM_MGET_MAX_KEYS || bytes > m->key_budget;
}

static void pin(mg_call *m)
{
    uint64_t id;
    if (m->view == 0 && !m->pinned && lsmd_snapshot_acquire(m->c, &id) == 0) {
        m->view = id;
        m->pinned = true;
    }
}

/* Packs this round's keys (pass 0: known lengths, pass 1: fresh) into the
 * large region.  Returns how many; *list_bytes is the key list's size. */
static uint32_t pack(mg_call *m, uint32_t *list_bytes)
{
    char *p = conn_large(m->c);
    uint32_t cnt = 0, bytes = 0;
    uint64_t outs = 0; /* value bytes promised to known keys */
    for (int pass = 0; pass < 2; pass++) {
        int want = pass == 0 ? PEND_KNOWN : PEND_FRESH;
        for (size_t i = 0; i < m->n && cnt < SHM_MGET_MAX_KEYS; i++) {
            if (m->statuses[i] != want)
                continue;
            if (want == PEND_KNOWN && m->value_lens[i] > lone_cap(m, i)) {
                m->statuses[i] = PEND_BIG;
                continue;
            }
            uint32_t e = entry_bytes(m, i);
            uint64_t v = want == PEND_KNOWN ? m->value_lens[i] : 0;
            uint64_t total = align8(bytes + e) + (uint64_t)(cnt + 1) * sizeof(struct shm_mget_res) +
                             outs + v;
            /* The first key always goes: it fits on its own (lone_cap). */
            if (cnt > 0 && (bytes + e > m->key_budget || total > m->c->large_bytes))
                goto done;
            uint32_t kl = (uint32_t)m->key_lens[i];
            memcpy(p + bytes, &kl, SHM_MGET_KEY_HDR);
            memcpy(p + bytes + SHM_MGET_KEY_HDR, m->keys[i], kl);
            bytes += e;
            outs += v;
            m->order[cnt++] = (uint32_t)i;
        }
    }
done:
    *list_bytes = bytes;
    return cnt;
}

/* Takes one reply apart.  Returns 0, 1 when the call must start over at a
 * snapshot (a value did not fit a request that read the latest state), or
 * the connection's death code. */
static int unpack(mg_call *m, uint32_t cnt, const char *out, uint64_t cap,
                  const struct shm_cqe *cqe)
{
    if (cqe->r0 != cnt || shm_mget_reply_check(out, cap, cnt, cqe->r1)) {
        conn_kill(m->c, "invalid MULTI_GET reply");
        return m->c->dead;
    }
    uint64_t pos = (uint64_t)cnt * sizeof(struct shm_mget_res);
    int restart = 0;
    for (uint32_t j = 0; j < cnt; j++) {
        size_t i = m->order[j];
        struct shm_mget_res r;
        memcpy(&r, out + (uint64_t)j * sizeof r, sizeof r);
        if (r.status == 0) {
            void *v = malloc(r.value_len ? r.value_len : 1);
            if (!v)
                return -ENOMEM;
            memcpy(v, out + pos, r.value_len);
            pos += r.value_len;
            m->values[i] = v;
            m->value_lens[i] = r.value_len;
            m->statuses[i] = 0;
        } else if (r.status == LSM_ETOOSMALL) {
            /* Known already and still too small: the value changed under
             * a request without a snapshot; fetch it alone. */
            m->statuses[i] = m->statuses[i] == PEND_KNOWN ? PEND_BIG : PEND_KNOWN;
            m->value_lens[i] = r.value_len;
            if (!m->pinned && m->view == 0)
                restart = 1;
        } else if (r.status != -EAGAIN) {
            m->statuses[i] = r.status;
        }
    }
    return restart;
}

/* Starts over at a snapshot: every key is asked again (lengths learnt so
 * far stay as hints). */
static void restart_pinned(mg_call *m, const int *pre)
{
    pin(m);
    reset_values(m);
    for (size_t i = 0; i < m->n; i++) {
        if (pre[i] < 0)
            continue; /* refused before sending */
        if (m->statuses[i] != PEND_KNOWN) {
            m->statuses[i] = PEND_FRESH;
            m->value_lens[i] = 0;
        }
    }
}

static int run(mg_call *m, int *pre)
{
    bool restarted = false;
    for (;;) {
        uint32_t list;
        uint32_t cnt = pack(m, &list);
        if (cnt == 0)
            break;
        uint32_t out_off = align8(list);
        struct shm_sqe sqe = {
            .opcode = SHM_OP_MULTI_GET,
            .arg0 = m->view,
            .arg1 = cnt,
            .key_off = m->c->large_off,
            .key_len = list,
            .out_off = m->c->large_off + out_off,
            .out_cap = m->c->large_bytes - out_off,
        };
        struct shm_cqe cqe;
        int rc = conn_call(m->c, &sqe, &cqe);
        if (rc)
            return rc;
        if (cqe.status == -E2BIG) {
            /* The daemon's max_request_bytes is below our budget: more
             * requests, so one view for them (nothing was answered yet
             * unless the call is pinned already). */
            pin(m);
            if (cnt == 1)
                m->statuses[m->order[0]] = PEND_BIG;
            else
                m->key_budget = list / 2;
            continue;
        }
        if (cqe.status)
            return cqe.status;
        rc = unpack(m, cnt, conn_large(m->c) + out_off, sqe.out_cap, &cqe);
        if (rc < 0)
            return rc;
        if (rc == 1 && !restarted) {
            restarted = true;
            restart_pinned(m, pre);
        }
    }
    /* Values too large for a request of their own. */
    for (size_t i = 0; i < m->n; i++) {
        if (m->statuses[i] != PEND_BIG)
            continue;
        m->value_lens[i] = 0;
        int rc = lsmd_get(m->c, m->view, m->keys[i], m->key_lens[i], &m->values[i],
                          &m->value_lens[i]);
        if (rc == -ENOTCONN || rc == -ESRCH)
            return rc;
        m->statuses[i] = rc;
    }
    return 0;
}

int lsmd_multi_get(lsmd_conn *c, uint64_t snapshot_id, size_t n, const void *const *keys,
                   const size_t *key_lens, void **values, size_t *value_lens, int *statuses)
{
    if (!c || (n && (!keys || !key_lens || !values || !value_lens || !statuses)))
        return -EINVAL;
    if (n == 0)
        return 0;
    int rc = conn_alive(c);
    if (rc)
        return rc;
    mg_call m = {
        .c = c, .n = n, .keys = keys, .key_lens = key_lens, .values = values,
        .value_lens = value_lens, .statuses = statuses, .view = snapshot_id,
        .key_budget = c->large_bytes / 2,
    };
    int *pre = NULL;
    if (n > SIZE_MAX / sizeof(int) || !(m.order = malloc(
            (n < SHM_MGET_MAX_KEYS ? n : SHM_MGET_MAX_KEYS) * sizeof *m.order)) ||
        !(pre = malloc(n * sizeof *pre))) {
        free(m.order);
        for (size_t i = 0; i < n; i++) {
            values[i] = NULL;
            value_lens[i] = 0;
            statuses[i] = -ENOMEM;
        }
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        values[i] = NULL;
        value_lens[i] = 0;
        bool ok = keys[i] && key_lens[i] >= 1 && key_lens[i] <= LSM_MAX_KEY_SIZE;
        statuses[i] = pre[i] = ok ? PEND_FRESH : -EINVAL;
    }
    if (needs_rounds(&m))
        pin(&m);
    rc = run(&m, pre);
    if (rc)
        fail_all(&m, rc);
    if (m.pinned)
        lsmd_snapshot_release(c, m.view);
    free(m.order);
    free(pre);
    return rc;
}
