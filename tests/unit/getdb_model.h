/*
 * getdb_model.h — a database for the batched and non-blocking get tests
 * (test_multi_get.c, test_getq.c), with a model of what every key holds
 * now and at a snapshot.  Keys "k%08u" for i < 2 * nkeys: the odd ones are
 * never written (absent); the even ones are spread, by random puts and
 * deletes in rounds, over a deep level (lsm_compact -1), two level-0
 * tables, a frozen memtable (its flush held back by a descriptor window of
 * the fault backend on ".sst" creation) and the live memtable; the
 * snapshot is taken after the level-0 rounds, so later overwrites and
 * deletes must not show through it.  The block cache is tiny, so reads go
 * to the file.
 *
 * Include once per test program, after helpers.h and rng.h.
 */
#ifndef GETDB_MODEL_H
#define GETDB_MODEL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db_impl.h"
#include "db/superversion.h"
#include "table/block_cache.h"
#include "io/io.h"
#include "lsm.h"
#include "table/table_cache.h"

typedef struct gm_db {
    char *dir;
    lsm_io *base, *fault;
    lsm_db *db;
    lsm_snapshot *snap;
    unsigned nkeys;       /* keys written: even i < 2 * nkeys */
    char **now, **then;   /* per key i < 2 * nkeys: value or NULL */
} gm_db;

static inline int gm_key(char *buf, unsigned i)
{
    return snprintf(buf, 16, "k%08u", i);
}

/* Values of varied lengths (0 included) naming the key and the round. */
static inline char *gm_value(unsigned i, unsigned round, th_rng *rng)
{
    size_t len = th_rng_below(rng, 8) == 0 ? 0 : 20 + th_rng_below(rng, 300);
    char *v = malloc(len + 32);
    int n = snprintf(v, len + 32, "v%u.%u.", i, round);
    for (size_t k = (size_t)n; k < len; k++)
        v[k] = (char)('a' + (i + k) % 26);
    v[len > (size_t)n ? len : (size_t)n] = '\0';
    if (len == 0)
        v[0] = '\0';
    return v;
}

/* One round: puts or deletes of a random fraction of the even keys. */
static inline void gm_round(gm_db *g, unsigned round, unsigned pct, th_rng *rng)
{
    char k[16];
    for (unsigned i = 0; i < 2 * g->nkeys; i += 2) {
        if (round > 0 && th_rng_below(rng, 100) >= pct)
            continue;
        int kl = gm_key(k, i);
        free(g->now[i]);
        g->now[i] = NULL;
        if (round > 0 && th_rng_below(rng, 3) == 0) {
            assert_int_equal(lsm_delete(g->db, k, (size_t)kl, 0), 0);
        } else {
            g->now[i] = gm_value(i, round, rng);
            assert_int_equal(lsm_put(g->db, k, (size_t)kl, g->now[i], strlen(g->now[i]), 0), 0);
        }
    }
}

/* Opens a fresh database in g->dir on a fault backend over LSMD_IO's. */
static inline void gm_open(gm_db *g)
{
    lsm_options o;
    lsm_options_init(&o);
    o.block_cache_bytes = 16 << 10;
    o.l0_compaction_trigger = 8; /* the two L0 tables stay there */
    o.io = g->fault;
    assert_int_equal(lsm_open(g->dir, &o, &g->db), 0);
}

/* Builds the layout above with nkeys even keys. */
static inline void gm_build(gm_db *g, unsigned nkeys, uint64_t seed)
{
    memset(g, 0, sizeof *g);
    th_rng rng;
    th_rng_seed(&rng, seed);
    g->dir = th_tempdir("getdb");
    g->nkeys = nkeys;
    g->now = calloc(2 * nkeys, sizeof *g->now);
    g->then = calloc(2 * nkeys, sizeof *g->then);
    assert_int_equal(io_new(NULL, &g->base), 0);
    assert_int_equal(io_fault_new(g->base, &g->fault), 0);
    gm_open(g);
    gm_round(g, 0, 100, &rng);
    assert_int_equal(lsm_flush(g->db), 0);
    assert_int_equal(lsm_compact(g->db, -1), 0); /* into the deepest level */
    for (unsigned r = 1; r <= 2; r++) {            /* two level-0 tables */
        gm_round(g, r, 30, &rng);
        assert_int_equal(lsm_flush(g->db), 0);
    }
    g->snap = lsm_snapshot_acquire(g->db);
    for (unsigned i = 0; i < 2 * nkeys; i++)
        g->then[i] = g->now[i] ? strdup(g->now[i]) : NULL;
    /* A frozen memtable: its flush cannot create its table. */
    gm_round(g, 3, 30, &rng);
    io_fault_fd_window(g->fault, EMFILE, IO_FAULT_CREATE, ".sst");
    assert_int_not_equal(lsm_flush(g->db), 0);
    assert_true(g->db->nimm >= 1);
    gm_round(g, 4, 20, &rng); /* the live memtable */
}

/* Lets the frozen memtable flush (needed before close). */
static inline void gm_release_flush(gm_db *g)
{
    io_fault_fd_window(g->fault, 0, 0, NULL);
}

static inline void gm_free(gm_db *g)
{
    gm_release_flush(g);
    if (g->snap)
        lsm_snapshot_release(g->db, g->snap);
    assert_int_equal(lsm_close(g->db), 0);
    for (unsigned i = 0; i < 2 * g->nkeys; i++) {
        free(g->now[i]);
        free(g->then[i]);
    }
    free(g->now);
    free(g->then);
    io_destroy(g->fault);
    io_destroy(g->base);
    th_rmrf_free(g->dir);
}

/* Readers opened from now on use O_DIRECT (what lsm_options.use_direct_io
 * will set); 0 when the file system refuses O_DIRECT (the test skips). */
static inline int gm_direct(gm_db *g)
{
    char *p;
    assert_true(asprintf(&p, "%s/odirect-probe", g->dir) > 0);
    int fd = open(p, O_CREAT | O_RDWR | O_DIRECT, 0600);
    if (fd >= 0)
        close(fd);
    unlink(p);
    free(p);
    if (fd < 0)
        return 0;
    table_cache_set_direct_io(g->db->table_cache, true);
    return 1;
}

/* Open .sst descriptors of this process, and how many have O_DIRECT. */
static inline void gm_sst_fds(int *total, int *direct)
{
    *total = *direct = 0;
    for (int fd = 0; fd < 4096; fd++) {
        char link[64], target[512];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (!strstr(target, ".sst"))
            continue;
        (*total)++;
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && (fl & O_DIRECT))
            (*direct)++;
    }
}

/* Drops every cached block. */
static inline void gm_drop_blocks(gm_db *g)
{
    block_cache_set_capacity(g->db->block_cache, 0);
    block_cache_set_capacity(g->db->block_cache, 16 << 10);
}

/* Drops every cached table reader and block (readers reopen, under the
 * current direct-I/O setting, and blocks are read again). */
static inline void gm_cold(gm_db *g)
{
    gm_drop_blocks(g);
    superversion *sv = db_sv_acquire(g->db);
    for (int l = 0; l < LSM_NUM_LEVELS; l++)
        for (size_t f = 0; f < sv->v->nfiles[l]; f++)
            table_cache_evict(g->db->table_cache, sv->v->files[l][f]->number);
    db_sv_release(sv);
}

/* The model's answer for key i at snap (NULL: now). */
static inline const char *gm_want(const gm_db *g, unsigned i, const lsm_snapshot *snap)
{
    return snap ? g->then[i] : g->now[i];
}

#endif
