/* table_cache.c — see table_cache.h. */
#include "table/table_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/filenames.h"

/* Concurrent misses on one table wait for the first opener instead of
 * opening it again; tables map to stripes by number. */
#define LOAD_STRIPES 16

struct table_cache {
    lsm_io *io;
    char *dir;
    block_cache *bc;     /* data blocks, shared by every reader; may be NULL */
    block_cache *tables; /* key (number, 0) -> sst_reader *, charge 1 */
    _Atomic size_t max_open;
    _Atomic bool direct_io; /* readers open with SST_OPEN_DIRECT */
    _Atomic uint64_t opens, open_errors;
    _Atomic size_t open_count;
    pthread_mutex_t load_mu[LOAD_STRIPES];
};

#define RELAXED memory_order_relaxed

/* The tables cache's deleter: the reader left the cache and is unpinned. */
static void close_reader(void *data, void *arg)
{
    table_cache *tc = arg;
    sst_reader_close(data);
    atomic_fetch_sub_explicit(&tc->open_count, 1, RELAXED);
}

/* Shards of at least 64 tables, at most 16 shards: few enough that each
 * shard's LRU still means something, enough to spread the lock. */
static int shard_bits_for(size_t max_open)
{
    int bits = 0;
    for (size_t n = max_open / 64; n >= 2 && bits < 4; n >>= 1)
        bits++;
    return bits;
}

table_cache *table_cache_new(lsm_io *io, const char *dir, size_t max_open, block_cache *bc)
{
    if (max_open == 0)
        max_open = TABLE_CACHE_DEFAULT_MAX_OPEN;
    table_cache *tc = calloc(1, sizeof *tc);
    if (!tc)
        return NULL;
    tc->io = io;
    tc->bc = bc;
    atomic_init(&tc->max_open, max_open);
    if (!(tc->dir = strdup(dir)) ||
        !(tc->tables = block_cache_new_ex(max_open, shard_bits_for(max_open), close_reader, tc))) {
        free(tc->dir);
        free(tc);
        return NULL;
    }
    for (int i = 0; i < LOAD_STRIPES; i++)
        pthread_mutex_init(&tc->load_mu[i], NULL);
    return tc;
}

void table_cache_free(table_cache *tc)
{
    if (!tc)
        return;
    block_cache_free(tc->tables);
    for (int i = 0; i < LOAD_STRIPES; i++)
        pthread_mutex_destroy(&tc->load_mu[i]);
    free(tc->dir);
    free(tc);
}

/* Opens table number and inserts it, pinned.  REQUIRES: its stripe held. */
static int open_table(table_cache *tc, uint64_t number, cache_handle **out)
{
    char *path = filename_table(tc->dir, number);
    if (!path)
        return -ENOMEM;
    sst_reader *r;
    unsigned flags = atomic_load_explicit(&tc->direct_io, RELAXED) ? SST_OPEN_DIRECT : 0;
    int rc = sst_reader_open_flags(tc->io, path, number, tc->bc, flags, &r);
    free(path);
    if (rc) {
        atomic_fetch_add_explicit(&tc->open_errors, 1, RELAXED);
        return rc;
    }
    atomic_fetch_add_explicit(&tc->opens, 1, RELAXED);
    /* Counted before the insert: from then on the deleter may run. */
    atomic_fetch_add_explicit(&tc->open_count, 1, RELAXED);
    if (!(*out = block_cache_insert(tc->tables, number, 0, r, 0, 1))) {
        close_reader(r, tc);
        return -ENOMEM;
    }
    return 0;
}

int table_cache_get(table_cache *tc, uint64_t number, table_handle **h)
{
    cache_handle *ch = block_cache_lookup(tc->tables, number, 0);
    int rc = 0;
    if (!ch) {
        pthread_mutex_t *mu = &tc->load_mu[number % LOAD_STRIPES];
        pthread_mutex_lock(mu);
        ch = block_cache_lookup(tc->tables, number, 0); /* opened while we waited? */
        if (!ch)
            rc = open_table(tc, number, &ch);
        pthread_mutex_unlock(mu);
    }
    *h = (table_handle *)ch;
    return rc;
}

sst_reader *table_handle_reader(table_handle *h)
{
    return cache_handle_value((cache_handle *)h);
}

void table_cache_release(table_cache *tc, table_handle *h)
{
    block_cache_release(tc->tables, (cache_handle *)h);
}

void table_cache_evict(table_cache *tc, uint64_t number)
{
    block_cache_erase(tc->tables, number, 0);
}

static void release_cb(void *tc, void *h)
{
    table_cache_release(tc, h);
}

int table_cache_iter_new_ex(table_cache *tc, uint64_t number, unsigned flags, iter **out)
{
    table_handle *h;
    int rc = table_cache_get(tc, number, &h);
    if (rc)
        return rc;
    *out = sst_reader_iter_new_ex(table_handle_reader(h), flags, release_cb, tc, h);
    if (!*out) {
        table_cache_release(tc, h);
        return -ENOMEM;
    }
    return 0;
}

int table_cache_iter_new(table_cache *tc, uint64_t number, iter **out)
{
    return table_cache_iter_new_ex(tc, number, 0, out);
}

void table_cache_set_max_open(table_cache *tc, size_t max_open)
{
    if (max_open == 0)
        max_open = TABLE_CACHE_DEFAULT_MAX_OPEN;
    atomic_store_explicit(&tc->max_open, max_open, RELAXED);
    block_cache_set_capacity(tc->tables, max_open);
}

void table_cache_stats(const table_cache *tc, struct table_cache_stats *out)
{
    struct block_cache_stats s;
    block_cache_stats(tc->tables, &s);
    *out = (struct table_cache_stats){
        .opens = atomic_load_explicit(&tc->opens, RELAXED),
        .open_errors = atomic_load_explicit(&tc->open_errors, RELAXED),
        .hits = s.hits,
        .evictions = s.evictions,
        .open_count = atomic_load_explicit(&tc->open_count, RELAXED),
        .pinned = s.pinned_usage,
        .max_open = atomic_load_explicit(&tc->max_open, RELAXED),
    };
}

void table_cache_set_direct_io(table_cache *tc, bool on)
{
    atomic_store_explicit(&tc->direct_io, on, RELAXED);
}
