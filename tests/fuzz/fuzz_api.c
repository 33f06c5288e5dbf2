/*
 * fuzz_api.c — differential target: a sequence of public API calls decoded
 * from the input runs against a real database (tiny memtables, blocks and
 * tables, so flushes, several levels and compactions happen within a few
 * hundred operations) and against an in-memory model.  Every get, scan and
 * snapshot read must equal the model; a reopen (and the final close+open)
 * must preserve everything.
 *
 * Input: 3 configuration bytes, then operations, each an opcode byte and
 * its arguments (see run_op).  Keys are 256 fixed strings of varied lengths
 * (key_of), so the model is an array: version number per key, 0 = absent;
 * values are a deterministic function of (key, version, length).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzzkit.h"
#include "lsm.h"
#include "base/slice.h"

#define NKEYS 256
#define MAX_OPS 300
#define MAX_REOPENS 4
#define MAX_SNAPS 2

typedef struct model {
    uint32_t ver[NKEYS];   /* 0 = absent */
    uint16_t vlen[NKEYS];
} model;

typedef struct ctx {
    const char *dir;
    lsm_options o;
    lsm_db *db;
    model m;
    struct {
        lsm_snapshot *s;
        model m;
    } snaps[MAX_SNAPS];
    int nsnaps;
    uint32_t next_ver;
    int sync;
    int reopens;
} ctx;

static int g_order[NKEYS]; /* key ids in key order */

/* Key id -> bytes: the id in decimal, zero-padded to a width that depends on
 * the id (so keys share prefixes and lengths vary), every 17th with a long
 * tail.  Distinct ids give distinct strings: the digits spell the id. */
static size_t key_of(char *buf, int id)
{
    int n = sprintf(buf, "%0*d", 1 + (id * 7) % 6, id);
    if (id % 17 == 0) {
        memset(buf + n, 'x', 120);
        n += 120;
    }
    return (size_t)n;
}

static size_t value_of(char *buf, int id, uint32_t ver, size_t len)
{
    uint32_t x = ver * 2654435761u ^ (uint32_t)id * 40503u;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (char)(x >> 16);
    }
    return len;
}

static int cmp_ids(const void *a, const void *b)
{
    char ka[200], kb[200];
    size_t na = key_of(ka, *(const int *)a), nb = key_of(kb, *(const int *)b);
    return slice_compare(slice_make(ka, na), slice_make(kb, nb));
}

static void init_order(void)
{
    if (g_order[1])
        return;
    for (int i = 0; i < NKEYS; i++)
        g_order[i] = i;
    qsort(g_order, NKEYS, sizeof g_order[0], cmp_ids);
}

/* Value lengths: mostly short, sometimes several blocks long. */
static size_t vlen_of(uint8_t b)
{
    return b < 200 ? b : (size_t)(b - 199) * 97;
}

/* ---- checks --------------------------------------------------------------- */

static void check_get(ctx *c, const lsm_snapshot *s, const model *m, int id)
{
    char k[200], want[6000];
    size_t kn = key_of(k, id);
    void *v = NULL;
    size_t n = 0;
    int rc = lsm_get(c->db, s, k, kn, &v, &n);
    if (m->ver[id] == 0) {
        FK_CHECK(rc == LSM_ENOTFOUND, "get %.*s: expected absent, got %d", (int)kn, k, rc);
        return;
    }
    FK_CHECK(rc == 0, "get %.*s: expected version %u, got %d", (int)kn, k, m->ver[id], rc);
    size_t wn = value_of(want, id, m->ver[id], m->vlen[id]);
    FK_CHECK(n == wn && (n == 0 || memcmp(v, want, n) == 0),
             "get %.*s: wrong value (%zu bytes, want %zu)", (int)kn, k, n, wn);
    lsm_free(v);
}

/* Position of the first key id in g_order whose key >= k (NKEYS if none). */
static int order_lower_bound(const char *k, size_t kn)
{
    for (int i = 0; i < NKEYS; i++) {
        char b[200];
        size_t bn = key_of(b, g_order[i]);
        if (slice_compare(slice_make(b, bn), slice_make(k, kn)) >= 0)
            return i;
    }
    return NKEYS;
}

/* Scans [lo, hi) (id -1: open bound) forward or backward and compares. */
static void check_scan(ctx *c, const lsm_snapshot *s, const model *m, int lo, int hi,
                       int reverse)
{
    char lk[200], hk[200];
    size_t ln = lo >= 0 ? key_of(lk, lo) : 0, hn = hi >= 0 ? key_of(hk, hi) : 0;
    lsm_iter *it;
    int rc = lsm_iter_new(c->db, s, lo >= 0 ? lk : NULL, ln, hi >= 0 ? hk : NULL, hn, &it);
    FK_CHECK(rc == 0, "iter_new: %d", rc);
    int from = lo >= 0 ? order_lower_bound(lk, ln) : 0;
    int to = hi >= 0 ? order_lower_bound(hk, hn) : NKEYS;
    int want[NKEYS], nwant = 0;
    for (int i = from; i < to; i++)
        if (m->ver[g_order[i]])
            want[nwant++] = g_order[i];
    if (reverse)
        lsm_iter_last(it);
    else
        lsm_iter_first(it);
    for (int j = 0; j < nwant; j++) {
        int id = want[reverse ? nwant - 1 - j : j];
        FK_CHECK(lsm_iter_valid(it), "scan ended after %d of %d keys (status %d)", j, nwant,
                 lsm_iter_status(it));
        char k[200], v[6000];
        size_t kn = key_of(k, id), vn = value_of(v, id, m->ver[id], m->vlen[id]);
        size_t gk, gv;
        const void *pk = lsm_iter_key(it, &gk), *pv = lsm_iter_value(it, &gv);
        FK_CHECK(gk == kn && memcmp(pk, k, kn) == 0, "scan key %d: got %.*s, want %.*s", j,
                 (int)gk, (const char *)pk, (int)kn, k);
        FK_CHECK(gv == vn && (vn == 0 || memcmp(pv, v, vn) == 0), "scan value of %.*s",
                 (int)kn, k);
        if (reverse)
            lsm_iter_prev(it);
        else
            lsm_iter_next(it);
    }
    FK_CHECK(!lsm_iter_valid(it), "scan has more than the model's %d keys", nwant);
    FK_CHECK(lsm_iter_status(it) == 0, "scan status %d", lsm_iter_status(it));
    /* A seek inside the range lands on the first model key >= the target. */
    if (nwant > 0) {
        int id = want[nwant / 2];
        char k[200];
        size_t kn = key_of(k, id);
        lsm_iter_seek(it, k, kn);
        size_t gk;
        FK_CHECK(lsm_iter_valid(it), "seek to a present key");
        const void *pk = lsm_iter_key(it, &gk);
        FK_CHECK(gk == kn && memcmp(pk, k, kn) == 0, "seek landed elsewhere");
    }
    lsm_iter_free(it);
}

static void check_all(ctx *c)
{
    for (int id = 0; id < NKEYS; id++)
        check_get(c, NULL, &c->m, id);
    check_scan(c, NULL, &c->m, -1, -1, 0);
}

/* ---- database life -------------------------------------------------------- */

static void open_db(ctx *c)
{
    int rc = lsm_open(c->dir, &c->o, &c->db);
    FK_CHECK(rc == 0, "open: %d (%s)", rc, lsm_strerror(rc));
}

static void release_snaps(ctx *c)
{
    for (int i = 0; i < c->nsnaps; i++)
        lsm_snapshot_release(c->db, c->snaps[i].s);
    c->nsnaps = 0;
}

static void reopen(ctx *c)
{
    release_snaps(c);
    int rc = lsm_close(c->db);
    FK_CHECK(rc == 0, "close: %d", rc);
    c->db = NULL;
    open_db(c);
    check_all(c);
}

static void configure(ctx *c, fk_in *in)
{
    uint8_t a = fk_u8(in), b = fk_u8(in), d = fk_u8(in);
    lsm_options_init(&c->o);
    static const size_t memtable[] = { 4096, 8192, 16384, 65536 };
    static const int bloom[] = { 0, 1, 10, 20 };
    c->o.memtable_bytes = memtable[a & 3];
    c->o.memtable_impl = (a & 4) ? "vector" : "skiplist";
    c->o.compaction_style = (a & 8) ? "tiered" : "leveled";
    c->o.bloom_bits_per_key = bloom[(a >> 4) & 3];
    c->o.block_bytes = (a & 64) ? 4096 : 64 + (b & 7) * 64;
    c->sync = (a >> 7) & 1;
    c->o.l0_compaction_trigger = 1 + (b >> 3) % 4;
    c->o.block_restart_interval = 1 + (b >> 5);
    c->o.sstable_target_bytes = (d & 1) ? 4096 : 16384;
    c->o.level_base_bytes = (d & 2) ? 4096 : 32768;
    c->o.block_cache_bytes = (d & 4) ? 0 : 256 << 10;
    c->o.tiered_min_merge = 2 + (d >> 3) % 3;
    c->o.max_immutable_memtables = 1 + (d >> 5) % 2;
    c->o.io_backend = "posix"; /* a ring per short-lived thread costs more */
}

/* ---- operations ----------------------------------------------------------- */

static void do_put(ctx *c, lsm_batch *b, int id, size_t vlen)
{
    char k[200], v[6000];
    size_t kn = key_of(k, id);
    uint32_t ver = ++c->next_ver;
    value_of(v, id, ver, vlen);
    int rc = b ? lsm_batch_put(b, k, kn, v, vlen)
               : lsm_put(c->db, k, kn, v, vlen, c->sync ? LSM_SYNC : 0);
    FK_CHECK(rc == 0, "put: %d", rc);
}

static void do_delete(ctx *c, lsm_batch *b, int id)
{
    char k[200];
    size_t kn = key_of(k, id);
    int rc = b ? lsm_batch_delete(b, k, kn) : lsm_delete(c->db, k, kn, c->sync ? LSM_SYNC : 0);
    FK_CHECK(rc == 0, "delete: %d", rc);
}

static void model_put(model *m, int id, uint32_t ver, size_t vlen)
{
    m->ver[id] = ver;
    m->vlen[id] = (uint16_t)vlen;
}

static void run_op(ctx *c, fk_in *in)
{
    uint8_t op = fk_u8(in);
    switch (op % 16) {
    case 0: case 1: case 2: case 3: { /* put */
        int id = fk_u8(in);
        size_t vlen = vlen_of(fk_u8(in));
        do_put(c, NULL, id, vlen);
        model_put(&c->m, id, c->next_ver, vlen);
        break;
    }
    case 4: case 5: { /* delete */
        int id = fk_u8(in);
        do_delete(c, NULL, id);
        c->m.ver[id] = 0;
        break;
    }
    case 6: { /* batch: applied in order, all at once */
        lsm_batch *b = lsm_batch_new();
        FK_CHECK(b != NULL, "batch");
        model next = c->m;
        int n = 1 + fk_u8(in) % 8;
        for (int i = 0; i < n; i++) {
            uint8_t kind = fk_u8(in);
            int id = fk_u8(in);
            if (kind & 1) {
                size_t vlen = vlen_of(fk_u8(in));
                do_put(c, b, id, vlen);
                model_put(&next, id, c->next_ver, vlen);
            } else {
                do_delete(c, b, id);
                next.ver[id] = 0;
            }
        }
        int rc = lsm_write(c->db, b, c->sync ? LSM_SYNC : 0);
        FK_CHECK(rc == 0, "write: %d", rc);
        c->m = next;
        lsm_batch_free(b);
        break;
    }
    case 7: case 8: /* get */
        check_get(c, NULL, &c->m, fk_u8(in));
        break;
    case 9: { /* scan */
        uint8_t f = fk_u8(in);
        int lo = (f & 1) ? fk_u8(in) : -1;
        int hi = (f & 2) ? fk_u8(in) : -1;
        check_scan(c, NULL, &c->m, lo, hi, (f >> 2) & 1);
        break;
    }
    case 10: { /* flush */
        int rc = lsm_flush(c->db);
        FK_CHECK(rc == 0, "flush: %d", rc);
        break;
    }
    case 11: { /* compact a level or the whole tree */
        int level = (int)(fk_u8(in) % 8) - 1;
        int rc = lsm_compact(c->db, level);
        FK_CHECK(rc == 0, "compact %d: %d", level, rc);
        break;
    }
    case 12: /* reopen */
        if (c->reopens++ < MAX_REOPENS)
            reopen(c);
        break;
    case 13: { /* snapshot acquire, or release the oldest */
        if (c->nsnaps < MAX_SNAPS && !(fk_u8(in) & 1)) {
            lsm_snapshot *s = lsm_snapshot_acquire(c->db);
            FK_CHECK(s != NULL, "snapshot");
            c->snaps[c->nsnaps].s = s;
            c->snaps[c->nsnaps].m = c->m;
            c->nsnaps++;
        } else if (c->nsnaps > 0) {
            lsm_snapshot_release(c->db, c->snaps[0].s);
            for (int i = 1; i < c->nsnaps; i++)
                c->snaps[i - 1] = c->snaps[i];
            c->nsnaps--;
        }
        break;
    }
    case 14: { /* read at a snapshot */
        uint8_t f = fk_u8(in);
        int id = fk_u8(in);
        if (c->nsnaps == 0)
            break;
        int i = f % c->nsnaps;
        if (f & 8)
            check_scan(c, c->snaps[i].s, &c->snaps[i].m, (f & 16) ? id : -1, -1, (f >> 5) & 1);
        else
            check_get(c, c->snaps[i].s, &c->snaps[i].m, id);
        break;
    }
    default: { /* change an option at run time */
        uint8_t f = fk_u8(in);
        static const char *const names[] = { "compaction_style", "memtable_bytes",
                                             "l0_compaction_trigger", "tiered_min_merge" };
        static const char *const values[][2] = {
            { "leveled", "tiered" }, { "65536", "131072" }, { "1", "3" }, { "2", "4" } };
        const char *name = names[f & 3];
        int rc = lsm_set_option(c->db, name, values[f & 3][(f >> 2) & 1]);
        FK_CHECK(rc == 0, "set_option %s: %d", name, rc);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fk_init();
    init_order();
    static ctx c;
    memset(&c, 0, sizeof c);
    fk_in in = { data, size };
    configure(&c, &in);
    static char dir[600];
    snprintf(dir, sizeof dir, "%s", fk_path("db"));
    fk_clear_dir(dir);
    rmdir(dir);
    c.dir = dir;
    open_db(&c);
    for (int n = 0; in.n > 0 && n < MAX_OPS; n++)
        run_op(&c, &in);
    check_all(&c);
    /* Everything acknowledged survives close + open. */
    c.reopens = 0;
    reopen(&c);
    release_snaps(&c);
    FK_CHECK(lsm_close(c.db) == 0, "final close");
    fk_clear_dir(dir);
    rmdir(dir);
    return 0;
}
