/* client.c — see client.h. */
#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lsmd.h"
#include "rng.h"

int client_rc_is_gone(int rc)
{
    return rc == -ENOTCONN || rc == -ESHUTDOWN || rc == -ECONNRESET || rc == -EPIPE;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- workload client ---------------------------------------------------- */

typedef struct wl {
    const client_params *p;
    uint64_t *state;
    oplog *log;
    lsmd_conn *c;
    lsmd_batch *b;
    th_rng r;
    uint64_t seq;
    char key[ORACLE_KEY_LEN + 1];
    char val[ORACLE_MAX_VALUE];
    char got[ORACLE_MAX_VALUE];
} wl;

static _Noreturn void wl_end(wl *w, int rc)
{
    atomic_store_explicit(&w->log->end_rc, rc, memory_order_relaxed);
    atomic_store_explicit(&w->log->finished, 1, memory_order_release);
    lsmd_batch_free(w->b);
    lsmd_disconnect(w->c);
    _exit(0);
}

static uint32_t pick_key(wl *w)
{
    uint32_t n = w->p->nkeys;
    if (n >= 16 && th_rng_below(&w->r, 1000) < w->p->hot_pm)
        return (uint32_t)th_rng_below(&w->r, n / 16);
    return (uint32_t)th_rng_below(&w->r, n);
}

/* Deletes mostly hit live keys: a delete of an absent key checks little. */
static uint32_t pick_delete_key(wl *w)
{
    uint32_t k = pick_key(w);
    for (int i = 0; i < 4 && w->state[k] == VID_ABSENT; i++)
        k = pick_key(w);
    return k;
}

static void mismatch(wl *w, const char *what, uint32_t key, uint64_t got, uint64_t want)
{
    if (w->log->read_mismatches++ == 0)
        snprintf(w->log->first_mismatch, sizeof w->log->first_mismatch,
                 "%s key %06u: got vid %#llx, want %#llx (0 = absent, ~0 = bad bytes)", what, key,
                 (unsigned long long)got, (unsigned long long)want);
}

/* A read failed: the daemon is gone (end), or a real error (counted). */
static void read_failed(wl *w, int rc, const char *what)
{
    if (client_rc_is_gone(rc))
        wl_end(w, rc);
    if (w->log->read_errors++ == 0 && w->log->read_mismatches == 0)
        snprintf(w->log->first_mismatch, sizeof w->log->first_mismatch, "%s failed: %s", what,
                 lsmd_strerror(rc));
}

static void do_write(wl *w)
{
    oplog *log = w->log;
    uint32_t n = atomic_load_explicit(&log->n_intent, memory_order_relaxed);
    if (n >= OPLOG_MAX_OPS || log->n_entries + ORACLE_MAX_BATCH > OPLOG_MAX_ENTRIES) {
        log->log_full = 1;
        return;
    }
    unsigned roll = (unsigned)th_rng_below(&w->r, 1000);
    oplog_op *op = &log->ops[n];
    oplog_entry *e = &log->entries[log->n_entries];
    op->seq = w->seq++;
    op->first = log->n_entries;
    op->sync = th_rng_below(&w->r, 1000) < w->p->sync_pm;
    if (roll < w->p->batch_pm) {
        op->kind = OP_BATCH;
        op->n = (uint16_t)(2 + th_rng_below(&w->r, ORACLE_MAX_BATCH - 1));
        for (unsigned i = 0; i < op->n; i++) {
            e[i].del = th_rng_below(&w->r, 4) == 0;
            e[i].key = e[i].del ? pick_delete_key(w) : pick_key(w);
        }
    } else {
        op->kind = roll < w->p->batch_pm + w->p->delete_pm ? OP_DELETE : OP_PUT;
        op->n = 1;
        e[0].del = op->kind == OP_DELETE;
        e[0].key = e[0].del ? pick_delete_key(w) : pick_key(w);
    }
    log->n_entries += op->n;
    /* Pairs with the driver's acquire load: the op is logged before it is
     * sent, so an op in flight at the crash is known. */
    atomic_store_explicit(&log->n_intent, n + 1, memory_order_release);

    int flags = op->sync ? LSM_SYNC : 0, rc;
    if (op->kind == OP_BATCH) {
        lsmd_batch_clear(w->b);
        rc = 0;
        for (unsigned i = 0; i < op->n && rc == 0; i++) {
            size_t kl = oracle_key(w->key, w->p->id, e[i].key);
            if (e[i].del) {
                rc = lsmd_batch_delete(w->b, w->key, kl);
            } else {
                size_t vl = oracle_value(w->val, w->p->id, e[i].key, vid_make(op->seq, i));
                rc = lsmd_batch_put(w->b, w->key, kl, w->val, vl);
            }
        }
        if (rc == 0)
            rc = lsmd_write(w->c, w->b, flags);
    } else {
        size_t kl = oracle_key(w->key, w->p->id, e[0].key);
        if (op->kind == OP_DELETE) {
            rc = lsmd_delete(w->c, w->key, kl, flags);
        } else {
            size_t vl = oracle_value(w->val, w->p->id, e[0].key, vid_make(op->seq, 0));
            rc = lsmd_put(w->c, w->key, kl, w->val, vl, flags);
        }
    }
    if (rc != 0)
        wl_end(w, rc);
    for (unsigned i = 0; i < op->n; i++)
        w->state[e[i].key] = e[i].del ? VID_ABSENT : vid_make(op->seq, i);
    atomic_store_explicit(&log->n_acked, n + 1, memory_order_release);
}

static void do_get(wl *w)
{
    uint32_t key = pick_key(w);
    size_t kl = oracle_key(w->key, w->p->id, key), vl = 0;
    int rc = lsmd_get_into(w->c, 0, w->key, kl, w->got, sizeof w->got, &vl);
    w->log->gets++;
    uint64_t got;
    if (rc == LSM_ENOTFOUND)
        got = VID_ABSENT;
    else if (rc == 0)
        got = oracle_value_vid(w->got, vl, w->p->id, key);
    else {
        read_failed(w, rc, "get");
        return;
    }
    if (got != w->state[key])
        mismatch(w, "get", key, got, w->state[key]);
}

/* Up to 8 gets in flight through the asynchronous interface. */
static void do_multi_get(wl *w)
{
    uint32_t keys[8];
    int n = 1 + (int)th_rng_below(&w->r, 8), sent = 0;
    for (int i = 0; i < n; i++) {
        keys[i] = pick_key(w);
        size_t kl = oracle_key(w->key, w->p->id, keys[i]);
        int tag = lsmd_submit_get(w->c, 0, w->key, kl, (uint64_t)i);
        if (tag == -EBUSY)
            break;
        if (tag < 0) {
            read_failed(w, tag, "submit_get");
            return;
        }
        sent++;
    }
    lsmd_completion done[8];
    int have = 0;
    while (have < sent) {
        int got = lsmd_poll(w->c, done + have, sent - have, sent - have);
        if (got < 0) {
            read_failed(w, got, "poll");
            return;
        }
        for (int i = have; i < have + got; i++) {
            const lsmd_completion *d = &done[i];
            uint32_t key = keys[d->user_data];
            uint64_t vid;
            w->log->gets++;
            if (d->status == LSM_ENOTFOUND) {
                vid = VID_ABSENT;
            } else if (d->status == 0) {
                vid = oracle_value_vid(d->val, d->vlen, w->p->id, key);
            } else {
                read_failed(w, d->status, "async get");
                continue;
            }
            if (vid != w->state[key])
                mismatch(w, "async get", key, vid, w->state[key]);
        }
        have += got;
    }
}

/* A scan of up to 200 keys, forward or backward, against the state. */
static void do_scan(wl *w)
{
    uint32_t n = w->p->nkeys, lo = (uint32_t)th_rng_below(&w->r, n);
    uint32_t hi = lo + 1 + (uint32_t)th_rng_below(&w->r, 200);
    if (hi > n)
        hi = n;
    char klo[ORACLE_KEY_LEN + 1], khi[ORACLE_KEY_LEN + 1];
    size_t lol = oracle_key(klo, w->p->id, lo), hil = oracle_key(khi, w->p->id, hi);
    int reverse = th_rng_below(&w->r, 4) == 0;
    lsmd_iter *it;
    int rc = lsmd_iter_new_ex(w->c, 0, klo, lol, khi, hil, reverse ? LSMD_ITER_REVERSE : 0, &it);
    if (rc == -EOPNOTSUPP && reverse)
        return;
    if (rc) {
        read_failed(w, rc, "iter_new");
        return;
    }
    w->log->scans++;
    /* next: the next key index expected in walk order. */
    long next = reverse ? (long)hi - 1 : (long)lo, step = reverse ? -1 : 1;
    for (; lsmd_iter_valid(it); lsmd_iter_next(it)) {
        size_t kl, vl;
        const void *k = lsmd_iter_key(it, &kl), *v = lsmd_iter_value(it, &vl);
        long key = oracle_parse_key(k, kl, w->p->id);
        if (key < lo || key >= hi || (key - next) * step < 0) {
            mismatch(w, "scan order/range", (uint32_t)(key < 0 ? 0 : key), 0, 0);
            break;
        }
        for (; next != key; next += step)
            if (w->state[next] != VID_ABSENT)
                mismatch(w, "scan skipped", (uint32_t)next, VID_ABSENT, w->state[next]);
        uint64_t vid = oracle_value_vid(v, vl, w->p->id, (uint32_t)key);
        if (vid != w->state[key])
            mismatch(w, "scan", (uint32_t)key, vid, w->state[key]);
        next += step;
        w->log->scanned++;
    }
    rc = lsmd_iter_status(it);
    lsmd_iter_free(it);
    if (rc) {
        read_failed(w, rc, "scan");
        return;
    }
    for (; next >= (long)lo && next < (long)hi; next += step)
        if (w->state[next] != VID_ABSENT)
            mismatch(w, "scan end", (uint32_t)next, VID_ABSENT, w->state[next]);
}

void client_run(const client_params *p, uint64_t *state, oplog *log)
{
    wl *w = calloc(1, sizeof *w);
    if (!w) {
        atomic_store(&log->end_rc, -ENOMEM);
        atomic_store(&log->finished, 1);
        _exit(0);
    }
    *w = (wl){ .p = p, .state = state, .log = log, .seq = p->next_seq };
    th_rng_seed(&w->r, p->seed);
    lsmd_conn_options co;
    lsmd_conn_options_init(&co);
    co.connect_timeout_ms = 3000;
    int rc = lsmd_connect_opts(p->socket, &co, &w->c);
    if (rc)
        wl_end(w, rc);
    w->b = lsmd_batch_new();
    if (!w->b)
        wl_end(w, -ENOMEM);
    for (;;) {
        unsigned roll = (unsigned)th_rng_below(&w->r, 1000);
        if (roll < p->get_pm)
            th_rng_below(&w->r, 4) ? do_get(w) : do_multi_get(w);
        else if (roll < p->get_pm + p->scan_pm)
            do_scan(w);
        else if (!log->log_full)
            do_write(w);
        else
            do_get(w);
    }
}

/* ---- admin client --------------------------------------------------------- */

static _Noreturn void admin_end(admin_log *log, lsmd_conn *c, int rc)
{
    log->end_rc = rc;
    atomic_store_explicit(&log->finished, 1, memory_order_release);
    lsmd_disconnect(c);
    _exit(0);
}

static void admin_check(admin_log *log, lsmd_conn *c, int rc, const char *what)
{
    if (rc == 0)
        return;
    if (client_rc_is_gone(rc))
        admin_end(log, c, rc);
    if (log->errors++ == 0)
        snprintf(log->first_error, sizeof log->first_error, "%s: %s", what, lsmd_strerror(rc));
}

static void admin_set(admin_log *log, lsmd_conn *c, const char *name, const char *value)
{
    char what[96];
    snprintf(what, sizeof what, "set %s %s", name, value);
    admin_check(log, c, lsmd_set_option(c, name, value), what);
    log->options++;
}

void admin_run(const admin_params *p, admin_log *log)
{
    th_rng r;
    th_rng_seed(&r, p->seed);
    lsmd_conn_options co;
    lsmd_conn_options_init(&co);
    co.connect_timeout_ms = 3000;
    lsmd_conn *c = NULL;
    log->switch_at = -1;
    int rc = lsmd_connect_opts(p->socket, &co, &c);
    if (rc)
        admin_end(log, NULL, rc);
    double t0 = now_s();
    uint64_t snaps[2] = { 0, 0 };
    int switched = p->switch_at < 0;
    for (;;) {
        double wait = p->busy ? 0.05 + (double)th_rng_below(&r, 400) / 1000 : 0.02;
        if (!switched && now_s() + wait > t0 + p->switch_at)
            wait = t0 + p->switch_at - now_s();
        if (wait > 0)
            usleep((useconds_t)(wait * 1e6));
        /* A ping keeps the idle loop noticing the daemon's death. */
        admin_check(log, c, lsmd_ping(c), "ping");
        if (!switched && now_s() >= t0 + p->switch_at) {
            admin_check(log, c, lsmd_set_option(c, "compaction_style", p->switch_to),
                        "set compaction_style");
            log->switch_at = now_s() - t0;
            snprintf(log->switched_to, sizeof log->switched_to, "%s", p->switch_to);
            log->switches++;
            switched = 1;
            continue;
        }
        if (!p->busy)
            continue;
        char v[32];
        switch (th_rng_below(&r, 10)) {
        case 0: case 1:
            admin_check(log, c, lsmd_flush(c), "flush");
            log->flushes++;
            break;
        case 2:
            admin_check(log, c, lsmd_compact(c, -1), "compact");
            log->compacts++;
            break;
        case 3:
            snprintf(v, sizeof v, "%u", 2 + (unsigned)th_rng_below(&r, 7));
            admin_set(log, c, "l0_compaction_trigger", v);
            break;
        case 4:
            snprintf(v, sizeof v, "%u", 2 + (unsigned)th_rng_below(&r, 4));
            admin_set(log, c, "tiered_min_merge", v);
            break;
        case 5:
            snprintf(v, sizeof v, "%uK", 32u << th_rng_below(&r, 6));
            admin_set(log, c, "sstable_target_bytes", v);
            break;
        case 6: case 7: {
            /* Hold up to two snapshots across flushes and compactions. */
            int i = (int)th_rng_below(&r, 2);
            if (snaps[i]) {
                admin_check(log, c, lsmd_snapshot_release(c, snaps[i]), "snapshot release");
                snaps[i] = 0;
            } else {
                admin_check(log, c, lsmd_snapshot_acquire(c, &snaps[i]), "snapshot acquire");
                log->snapshots++;
            }
            break;
        }
        default: {
            char *json = NULL;
            admin_check(log, c, lsmd_stats_json(c, &json), "stats");
            free(json);
            log->stats++;
        }
        }
    }
}
