/* oracle.c — see oracle.h. */
#include "oracle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "rng.h"

/* ---- op log ----------------------------------------------------------------- */

oplog *oplog_map(void)
{
    /* MAP_NORESERVE: most of the arrays are never touched in a cycle. */
    void *p = mmap(NULL, sizeof(oplog), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void oplog_unmap(oplog *l)
{
    if (l)
        munmap(l, sizeof *l);
}

void oplog_reset(oplog *l)
{
    memset(l, 0, offsetof(oplog, ops));
}

/* ---- keys and values -------------------------------------------------------- */

size_t oracle_key(char *buf, unsigned client, uint32_t key)
{
    snprintf(buf, ORACLE_KEY_LEN + 1, "st%02u-%06u", client % 100, key % 1000000);
    return ORACLE_KEY_LEN;
}

size_t oracle_range(char *lo, char *hi, unsigned client)
{
    /* '.' sorts right after '-': [stCC-, stCC.) holds exactly the client's keys. */
    snprintf(lo, 8, "st%02u-", client % 100);
    snprintf(hi, 8, "st%02u.", client % 100);
    return 5;
}

long oracle_parse_key(const void *k, size_t klen, unsigned client)
{
    char want[8];
    snprintf(want, sizeof want, "st%02u-", client % 100);
    if (klen != ORACLE_KEY_LEN || memcmp(k, want, 5) != 0)
        return -1;
    const char *p = (const char *)k + 5;
    long v = 0;
    for (int i = 0; i < 6; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

#define VALUE_HDR 17 /* 16 hex digits of the vid and ':' */

size_t oracle_value(char *buf, unsigned client, uint32_t key, uint64_t vid)
{
    uint64_t h = th_mix64(vid ^ th_mix64(((uint64_t)client << 32) | key));
    uint64_t h2 = th_mix64(h);
    size_t len;
    unsigned r = (unsigned)(h % 1000);
    /* Mostly small values, some medium, 1% large (several blocks). */
    if (r < 10)
        len = 2048 + h2 % (ORACLE_MAX_VALUE - 2048 + 1);
    else if (r < 300)
        len = 128 + h2 % 897;
    else
        len = VALUE_HDR + h2 % 112;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++)
        buf[i] = hex[(vid >> (60 - 4 * i)) & 15];
    buf[16] = ':';
    th_rng s;
    th_rng_seed(&s, h2);
    size_t i = VALUE_HDR;
    for (; i + 8 <= len; i += 8) {
        uint64_t x = th_rng_next(&s);
        memcpy(buf + i, &x, 8);
    }
    for (uint64_t x = th_rng_next(&s); i < len; i++, x >>= 8)
        buf[i] = (char)x;
    return len;
}

uint64_t oracle_value_vid(const void *v, size_t vlen, unsigned client, uint32_t key)
{
    if (vlen < VALUE_HDR || vlen > ORACLE_MAX_VALUE || ((const char *)v)[16] != ':')
        return VID_CORRUPT;
    uint64_t vid = 0;
    for (int i = 0; i < 16; i++) {
        char c = ((const char *)v)[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return VID_CORRUPT;
        vid = vid << 4 | (uint64_t)d;
    }
    if (vid == VID_ABSENT || vid == VID_CORRUPT)
        return VID_CORRUPT;
    char want[ORACLE_MAX_VALUE];
    size_t n = oracle_value(want, client, key, vid);
    return n == vlen && memcmp(want, v, n) == 0 ? vid : VID_CORRUPT;
}

/* ---- expected state --------------------------------------------------------- */

int oracle_init(oracle *o, unsigned nclients, uint32_t nkeys)
{
    memset(o, 0, sizeof *o);
    o->nclients = nclients;
    o->nkeys = nkeys;
    o->state = calloc((size_t)nclients * nkeys, sizeof *o->state);
    o->next_seq = calloc(nclients, sizeof *o->next_seq);
    if (!o->state || !o->next_seq) {
        oracle_free(o);
        return -ENOMEM;
    }
    for (unsigned c = 0; c < nclients; c++)
        o->next_seq[c] = 1;
    return 0;
}

void oracle_free(oracle *o)
{
    free(o->state);
    free(o->next_seq);
    memset(o, 0, sizeof *o);
}

/* One write to one key, at history position op (1-based). */
struct event {
    uint32_t key, op, sub;
    uint64_t vid;
};

static int event_cmp(const void *a, const void *b)
{
    const struct event *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->op != y->op)
        return x->op < y->op ? -1 : 1;
    return x->sub < y->sub ? -1 : x->sub > y->sub;
}

static void fmt_vid(char *buf, size_t cap, uint64_t vid)
{
    if (vid == VID_ABSENT)
        snprintf(buf, cap, "absent");
    else if (vid == VID_CORRUPT)
        snprintf(buf, cap, "corrupt");
    else
        snprintf(buf, cap, "op#%llu.%u", (unsigned long long)vid_op(vid), (unsigned)(vid & 31));
}

/* Walks the events of one key (ev[0..n), sorted) and calls add(a, b) for
 * each p-range [a, b] where the expected value equals obs; returns the
 * expected value at prefix p. */
static uint64_t key_walk(const struct event *ev, size_t n, uint64_t base, uint64_t obs, uint32_t m,
                         int32_t *diff, uint64_t p)
{
    uint64_t cur = base, at_p = base;
    uint32_t seg = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && ev[i + 1].op == ev[i].op)
            continue; /* a batch wrote the key twice: its last entry wins */
        if (diff && cur == obs) {
            diff[seg]++;
            diff[ev[i].op]--;
        }
        cur = ev[i].vid;
        seg = ev[i].op;
        if (seg <= p)
            at_p = cur;
    }
    if (diff && cur == obs) {
        diff[seg]++;
        diff[m + 1]--;
    }
    return at_p;
}

static void report_key(FILE *diag, unsigned client, const struct event *ev, size_t n,
                       uint64_t obs, uint64_t want, uint64_t p)
{
    char o[32], w[32];
    fmt_vid(o, sizeof o, obs);
    fmt_vid(w, sizeof w, want);
    fprintf(diag, "  client %u key %06u: holds %s, prefix %llu says %s; writes this cycle:",
            client, ev[0].key, o, (unsigned long long)p, w);
    for (size_t i = 0; i < n && i < 8; i++) {
        char e[32];
        fmt_vid(e, sizeof e, ev[i].vid);
        fprintf(diag, " [%u]%s", ev[i].op, e);
    }
    fprintf(diag, "%s\n", n > 8 ? " ..." : "");
}

int oracle_verify(oracle *o, unsigned client, const oplog *log, const uint64_t *observed,
                  verify_result *r, FILE *diag)
{
    memset(r, 0, sizeof *r);
    uint32_t m = atomic_load_explicit(&log->n_intent, memory_order_acquire);
    uint32_t a = atomic_load_explicit(&log->n_acked, memory_order_acquire);
    uint64_t *base = oracle_state(o, client);
    size_t ne = 0;
    for (uint32_t i = 0; i < m; i++)
        ne += log->ops[i].n;
    struct event *ev = malloc((ne ? ne : 1) * sizeof *ev);
    int32_t *diff = calloc((size_t)m + 2, sizeof *diff);
    unsigned char *touched = calloc(o->nkeys, 1);
    if (!ev || !diff || !touched) {
        free(ev);
        free(diff);
        free(touched);
        return -ENOMEM;
    }
    size_t k = 0;
    for (uint32_t i = 0; i < m; i++) {
        const oplog_op *op = &log->ops[i];
        for (unsigned j = 0; j < op->n; j++) {
            const oplog_entry *e = &log->entries[op->first + j];
            ev[k++] = (struct event){ e->key, i + 1, j, e->del ? VID_ABSENT : vid_make(op->seq, j) };
        }
        if (i < a) {
            r->acked++;
            r->synced_acked += op->sync;
        }
    }
    qsort(ev, ne, sizeof *ev, event_cmp);
    r->intents = m;
    r->inflight = m > a;

    /* Count, for every prefix p, the touched keys that p explains. */
    uint32_t t = 0;
    for (size_t i = 0; i < ne;) {
        size_t j = i;
        while (j < ne && ev[j].key == ev[i].key)
            j++;
        uint32_t key = ev[i].key;
        touched[key] = 1;
        if (observed[key] == VID_CORRUPT) {
            r->corrupt++;
        } else {
            t++;
            key_walk(ev + i, j - i, base[key], observed[key], m, diff, 0);
        }
        i = j;
    }
    uint64_t best = 0;
    int32_t best_cnt = -1, run = 0;
    for (uint32_t p = 0; p <= m; p++) {
        run += diff[p];
        if (run >= best_cnt) { /* ties: the longest prefix */
            best_cnt = run;
            best = p;
        }
    }
    r->prefix = best;
    r->holes = t - (uint32_t)best_cnt;

    int shown = 0;
    if (r->holes || r->corrupt) {
        for (size_t i = 0; i < ne;) {
            size_t j = i;
            while (j < ne && ev[j].key == ev[i].key)
                j++;
            uint64_t obs = observed[ev[i].key];
            uint64_t want = key_walk(ev + i, j - i, base[ev[i].key], obs, m, NULL, best);
            if (obs != want && diag && shown++ < 10)
                report_key(diag, client, ev + i, j - i, obs, want, best);
            i = j;
        }
    }
    for (uint32_t key = 0; key < o->nkeys; key++) {
        if (touched[key] || observed[key] == base[key])
            continue;
        if (observed[key] == VID_CORRUPT)
            r->corrupt++;
        else
            r->holes++;
        if (diag && shown++ < 10) {
            char ob[32], w[32];
            fmt_vid(ob, sizeof ob, observed[key]);
            fmt_vid(w, sizeof w, base[key]);
            fprintf(diag, "  client %u key %06u: holds %s, untouched this cycle, expected %s\n",
                    client, key, ob, w);
        }
    }
    for (uint64_t i = best; i < a; i++) {
        if (log->ops[i].sync)
            r->lost_synced++;
        else
            r->lost_unsynced++;
    }
    r->inflight_landed = r->inflight && best == m;

    for (uint32_t key = 0; key < o->nkeys; key++)
        base[key] = observed[key] == VID_CORRUPT ? VID_ABSENT : observed[key];
    if (m > 0 && log->ops[m - 1].seq >= o->next_seq[client])
        o->next_seq[client] = log->ops[m - 1].seq + 1;
    free(ev);
    free(diff);
    free(touched);
    return 0;
}
