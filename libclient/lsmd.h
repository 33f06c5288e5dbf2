/*
 * lsmd.h — client library of the lsmd key-value service.
 *
 * The daemon `lsmd` owns the database; a client process attaches over a Unix
 * socket once (lsmd_connect) and then talks through a shared-memory segment:
 * requests and replies are descriptors in two rings, keys and values are
 * written straight into the segment, and nothing crosses a socket.  The calls
 * mirror the embedded API of lsm.h (lsm_put -> lsmd_put, ...), so a program
 * moves between embedded and service mode by renaming calls.
 * Protocol and layout: docs/shm-protocol.md.
 *
 * Return codes
 *   0 on success or a negative code, as in lsm.h: -errno, or LSM_ENOTFOUND,
 *   LSM_ECORRUPT, LSM_EREADONLY, LSM_ETOOSMALL (lsm.h), passed through from
 *   the daemon's engine.  Codes that come from the service itself:
 *     -ENOTCONN     the daemon is gone (exited, crashed, or ended this
 *                   session): every call on the connection fails with it from
 *                   then on, at once; no call ever hangs on a dead daemon
 *                   (sleeps are sliced and check the socket) and no access
 *                   faults (the segment is sealed against shrinking).
 *                   Disconnect and connect again.
 *     -EPROTO       the daemon speaks another protocol version (connect; the
 *                   message names both versions), or sent something invalid.
 *     -E2BIG        the request does not fit the segment: an encoded batch,
 *                   a multi-get's keys, option or stats text larger than
 *                   the large region of this connection
 *                   (lsmd_max_request_bytes(); 2 MiB by default, raise
 *                   with lsmd_conn_options.large_bytes or the environment
 *                   variable LSMD_LARGE_BYTES), or, for lsmd_submit_*, a
 *                   key + value larger than one slot; or a batch larger
 *                   than the daemon accepts (its max_request_bytes, 2 MiB
 *                   by default; the engine's limit is 1 GiB).  Keys and
 *                   values of any legal size (a 64 MiB value) go through
 *                   the synchronous put, get, scan and iterator calls:
 *                   larger than the region, they cross it in pieces
 *                   (docs/shm-protocol.md, "Big entries").
 *     -EBUSY        lsmd_submit_*: queue depth reached; lsmd_poll first.
 *                   Administration: this connection's previous request of
 *                   the same kind is still queued or running.
 *     -EPERM        administration (flush, compact, set option) refused:
 *                   the client is neither the daemon's uid nor listed in
 *                   its admin_uids / admin_gids.
 *     -ESRCH        snapshot id not published / not held by this connection.
 *     -ESHUTDOWN    the daemon is draining and refuses new work.
 *     -EINVAL       bad argument (sizes outside the lsm.h limits: keys 1 B ..
 *                   64 KiB, values up to 64 MiB; NULL pointers; unknown flag).
 *   lsmd_strerror() describes any code.
 *
 * Thread safety
 *   A connection is used by one thread at a time (it holds private ring
 *   state and is not locked), and by one process: after fork() only the
 *   parent may use it (the child connects anew).  Use one connection per thread; connections
 *   are cheap (one segment each).  Batches and iterators belong to one
 *   thread at a time; an iterator uses its connection, so the same rule
 *   covers both.  Different connections are fully independent.
 *   lsmd_connect never leaves signal handlers installed; write errors on the
 *   socket use MSG_NOSIGNAL (no SIGPIPE).
 */
#ifndef LSMD_H
#define LSMD_H

#include <stddef.h>
#include <stdint.h>

#include "lsm.h" /* LSM_SYNC, LSM_E* codes, size limits */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lsmd_conn lsmd_conn;
typedef struct lsmd_batch lsmd_batch;
typedef struct lsmd_iter lsmd_iter;

/* ---- Connecting ---------------------------------------------------------- */
typedef struct lsmd_conn_options {
    uint32_t queue_depth;   /* async requests in flight, default 32 (env
                               LSMD_QUEUE_DEPTH); the daemon may grant less */
    uint32_t slot_bytes;    /* per-request arena slot, default 32 KiB: key +
                               value of an async request must fit */
    uint32_t large_bytes;   /* region for bigger requests, default 2 MiB (env
                               LSMD_LARGE_BYTES: bytes, or with a K, M or G
                               suffix, e.g. 100M); values larger than it
                               still work, in pieces */
    uint64_t spin_ns;       /* busy-wait before sleeping on a reply, default
                               50 us (env LSMD_SPIN_NS); 0 sleeps at once */
    int connect_timeout_ms; /* handshake timeout, default 10000 */
} lsmd_conn_options;

/* Fills defaults (including the environment overrides named above).  An
 * override it cannot read (LSMD_LARGE_BYTES=100X) makes lsmd_connect_opts
 * with these options fail with -EINVAL and a line on stderr naming it. */
void lsmd_conn_options_init(lsmd_conn_options *o);

/* Attaches to the daemon listening at socket_path; NULL = the default path
 * ($XDG_RUNTIME_DIR/lsmd.sock, else /tmp/lsmd-$UID/lsmd.sock; the
 * environment variable LSMD_SOCKET overrides the default).
 * On success *out is a connection the caller ends with lsmd_disconnect.
 * Errors: -ENOENT / -ECONNREFUSED (no daemon there), -EACCES (the daemon
 *   refused these credentials), -EPROTO (protocol version mismatch: logged
 *   on stderr with both versions, or an invalid reply/segment), -EMFILE
 *   (daemon's client limit, this uid's share of it, or the daemon is out of
 *   descriptors), -EAGAIN (too many connections were waiting for their
 *   hello: retried with a short pause until connect_timeout_ms, then
 *   returned), -ECONNRESET (the daemon closed the socket during the
 *   handshake), -ETIMEDOUT, -ENAMETOOLONG, -ENOMEM (also: this uid's share
 *   of shared-segment bytes is used up), -errno.  A refusal's reason is
 *   printed on stderr. */
int lsmd_connect(const char *socket_path, lsmd_conn **out);
int lsmd_connect_opts(const char *socket_path, const lsmd_conn_options *o,
                      lsmd_conn **out);

/* Detaches: closes the socket and unmaps the segment; the daemon then drops
 * this connection's snapshot holds and iterators.  Requests still in flight
 * are abandoned (a write may or may not be applied).  NULL is a no-op.
 * Iterators of c must be freed first. */
void lsmd_disconnect(lsmd_conn *c);

/* Round trip with nothing to do.  Errors: -ENOTCONN. */
int lsmd_ping(lsmd_conn *c);

/* What was granted at connect. */
uint64_t lsmd_client_id(const lsmd_conn *c);
uint32_t lsmd_queue_depth(const lsmd_conn *c);
/* Largest encoded batch (or key + value in one request) one request can
 * carry; larger puts and gets go in pieces. */
size_t lsmd_max_request_bytes(const lsmd_conn *c);

/* ---- Writes -------------------------------------------------------------- */
/* flags: 0 or LSM_SYNC (acknowledged only once durable), as lsm_put.
 * Any value up to LSM_MAX_VALUE_SIZE: one larger than the large region
 * goes in pieces the daemon stages, one round trip per region, and is
 * applied as one put after the last.
 * Errors: -EINVAL (key empty or above LSM_MAX_KEY_SIZE, value above
 * LSM_MAX_VALUE_SIZE, flags), -ENOMEM (also: the daemon's share of memory
 * for this uid, max_arena_bytes_per_uid, cannot stage the value),
 * -EOPNOTSUPP (a value larger than the region, to a daemon without
 * pieces), -ENOTCONN, -ESHUTDOWN, and the engine's (LSM_EREADONLY, -EIO,
 * -ENOSPC). */
int lsmd_put(lsmd_conn *c, const void *key, size_t klen, const void *val,
             size_t vlen, int flags);
int lsmd_delete(lsmd_conn *c, const void *key, size_t klen, int flags);

/* Batches (mirror lsm_batch_*): built in client memory, sent with
 * lsmd_write as one request, applied atomically (all or nothing, also
 * across crashes). */
lsmd_batch *lsmd_batch_new(void); /* NULL on ENOMEM */
/* Copies key and value.  Errors: -EINVAL (sizes), -ENOMEM. */
int lsmd_batch_put(lsmd_batch *b, const void *key, size_t klen, const void *val,
                   size_t vlen);
int lsmd_batch_delete(lsmd_batch *b, const void *key, size_t klen);
void lsmd_batch_clear(lsmd_batch *b); /* empties, keeps capacity */
void lsmd_batch_free(lsmd_batch *b);  /* NULL is a no-op */
uint32_t lsmd_batch_count(const lsmd_batch *b);
/* Errors: as lsmd_put; -E2BIG when the encoded batch exceeds
 * lsmd_max_request_bytes(), or when the daemon refuses it as larger than
 * its max_request_bytes (2 MiB by default; nothing of it is applied): send
 * such a batch as several.  The batch is left unchanged. An empty batch
 * is a successful no-op. */
int lsmd_write(lsmd_conn *c, const lsmd_batch *b, int flags);

/* ---- Reads --------------------------------------------------------------- */
/* snapshot_id 0 reads the latest state; another id must be held by this
 * connection (lsmd_snapshot_acquire or _hold).  On success *val is a
 * malloc'd copy of *vlen bytes: free it with free().  Any value the
 * engine holds: one larger than the large region is read in pieces (a
 * scan of the one key: it reads the key as it is then, so a value
 * replaced meanwhile comes back as replaced, one deleted meanwhile is
 * LSM_ENOTFOUND; the scan's iterator counts against the connection's
 * iterators for the call).
 * Errors: LSM_ENOTFOUND, -ESRCH, -EINVAL, -EMFILE (a big value while the
 * connection holds the most iterators it may), -EOPNOTSUPP (a big value
 * from a daemon without pieces), -ENOMEM, -ENOTCONN, engine errors
 * (LSM_ECORRUPT, -EIO). */
int lsmd_get(lsmd_conn *c, uint64_t snapshot_id, const void *key, size_t klen,
             void **val, size_t *vlen);

/* As lsmd_get, into the caller's buffer, with no allocation: copies the
 * value and sets *vlen to its length; when cap is smaller than the value,
 * returns LSM_ETOOSMALL with *vlen set to the length and buf unchanged.
 * A value larger than the large region is read in pieces, as lsmd_get,
 * into a heap buffer first. */
int lsmd_get_into(lsmd_conn *c, uint64_t snapshot_id, const void *key,
                  size_t klen, void *buf, size_t cap, size_t *vlen);

/* n point lookups in as few round trips as the segment allows (one request
 * carries up to 4096 keys and half the large region of key bytes; more are
 * split transparently), read with the daemon's lsm_multi_get: the block
 * reads that miss its cache go to the disk together.  snapshot_id as
 * lsmd_get; with 0 every key reads one view taken by the daemon (a call
 * needing several requests acquires a snapshot for its duration; when the
 * daemon refuses one, -EMFILE, each request reads the latest state).
 * Per key, as lsm_multi_get: statuses[i] is 0 (values[i], a malloc'd copy
 * of value_lens[i] bytes, to free with free()), LSM_ENOTFOUND (values[i]
 * NULL), or a negative code for that key alone: -EINVAL (key NULL, empty
 * or longer than LSM_MAX_KEY_SIZE), the errors of lsmd_get for a value
 * larger than the large region (fetched as lsmd_get does), engine errors.  Duplicate keys are allowed.
 * Values that do not fit a reply are fetched again transparently.
 * Returns 0, or a negative code when the call as a whole failed (-EINVAL:
 * NULL arrays with n > 0; -ESRCH, -ENOMEM, -ENOTCONN): then every
 * statuses[i] is that code and every values[i] NULL. */
int lsmd_multi_get(lsmd_conn *c, uint64_t snapshot_id, size_t n, const void *const *keys,
                   const size_t *key_lens, void **values, size_t *value_lens, int *statuses);

/* ---- Snapshots (shared handles) ------------------------------------------ */
/* Pins the current state and publishes its id in the daemon's directory.
 * This connection holds it until lsmd_snapshot_release or disconnect.
 * Errors: -EMFILE (too many snapshots: this connection's limit, its uid's
 * share, or the daemon's max_snapshots; nothing listed is ever dropped to
 * make room), -ENOMEM, -ENOTCONN. */
int lsmd_snapshot_acquire(lsmd_conn *c, uint64_t *id);
/* Pins an id another client published (shows in lsmd_snapshot_list), so
 * this process reads the same view.  Holding twice counts twice, also
 * against the limits.
 * Errors: -ESRCH (not published, or already released by all), -EMFILE,
 * -ENOTCONN. */
int lsmd_snapshot_hold(lsmd_conn *c, uint64_t id);
/* Drops one hold; the pin ends when no client holds it.
 * Errors: -ESRCH (this connection holds no such id), -ENOTCONN. */
int lsmd_snapshot_release(lsmd_conn *c, uint64_t id);

typedef struct lsmd_snapshot_info {
    uint64_t id;
    uint64_t sequence;      /* engine sequence it pins */
    uint32_t holders;       /* clients holding it */
    uint32_t creator_pid;
    uint64_t creator_id;    /* client id of the acquirer */
    uint64_t created_ns;    /* CLOCK_REALTIME */
} lsmd_snapshot_info;

/* Lists published snapshots from the read-only directory the daemon
 * shares (no round trip).  Copies up to cap entries into out and sets *n
 * to the number published (may exceed cap).
 * Errors: -EAGAIN (directory kept changing), -ENOTCONN. */
int lsmd_snapshot_list(lsmd_conn *c, lsmd_snapshot_info *out, size_t cap,
                       size_t *n);

/* ---- Iterators ----------------------------------------------------------- */
/* An iterator over keys in [lo, hi) (NULL or length-0 bound = open) at
 * snapshot_id (0 = a consistent view taken now).  It lives in the daemon;
 * the client pulls pages of entries into its segment, so next() is a
 * memory walk except once per page.  It starts positioned on the first
 * entry (check lsmd_iter_valid): the open brings the first page (one
 * round trip, SHM_OP_ITER_SCAN), and a range that ends within it leaves
 * nothing open on the daemon.
 * An entry larger than the large region is read in pieces into the
 * iterator's own buffer (key and value then stay valid as for any entry).
 * Errors: -EINVAL, -ESRCH, -EMFILE (too many iterators for this
 * connection or its uid), -ENOMEM,
 * -ENOTCONN; later errors show in lsmd_iter_status. */
int lsmd_iter_new(lsmd_conn *c, uint64_t snapshot_id, const void *lo,
                  size_t lolen, const void *hi, size_t hilen, lsmd_iter **out);
#define LSMD_ITER_REVERSE 1 /* descending keys from just below hi */
/* As lsmd_iter_new with flags (0 or LSMD_ITER_REVERSE; -EOPNOTSUPP when
 * the daemon has no reverse scans). */
int lsmd_iter_new_ex(lsmd_conn *c, uint64_t snapshot_id, const void *lo,
                     size_t lolen, const void *hi, size_t hilen, int flags,
                     lsmd_iter **out);
int lsmd_iter_valid(const lsmd_iter *it);
/* REQUIRES: lsmd_iter_valid.  May fetch the next page (a round trip). */
void lsmd_iter_next(lsmd_iter *it);
/* Valid until the iterator moves or is freed.  REQUIRES: lsmd_iter_valid. */
const void *lsmd_iter_key(const lsmd_iter *it, size_t *klen);
const void *lsmd_iter_value(const lsmd_iter *it, size_t *vlen);
/* 0, or the first error met (then the iterator is not valid). */
int lsmd_iter_status(const lsmd_iter *it);
/* Closes the daemon's iterator.  NULL is a no-op. */
void lsmd_iter_free(lsmd_iter *it);

/* ---- Bounded scans --------------------------------------------------------
 * lsmd_scan reads up to max entries in one call, the first page in one
 * round trip (SHM_OP_ITER_SCAN, docs/shm-protocol.md "Scans"): when they
 * fit in it, the daemon leaves no iterator open and nothing else is sent.
 * Longer scans go on page by page and the iterator is closed at the end.
 *
 * fn is called for each entry in key order (descending with
 * LSMD_ITER_REVERSE); key and value point into the connection's segment
 * and are valid only during the call.  fn returns 0 to go on, anything
 * else to stop the scan there (lsmd_scan then returns 0).
 * REQUIRES: fn makes no call on c (the page it reads lives in c's
 * segment). */
typedef int (*lsmd_scan_fn)(void *arg, const void *key, size_t klen, const void *value,
                            size_t vlen);
#define LSMD_SCAN_ONE_PAGE 2 /* only what the first page holds; the daemon
                                closes the iterator itself */

/* Scans [lo, hi) (NULL or length-0 bound = open) at snapshot_id (0 = a
 * consistent view taken now), from the first key >= seek (NULL = from
 * lo; with LSMD_ITER_REVERSE: the last key <= seek, NULL = from just below
 * hi), calling fn for at most max entries (0 = all).  budget is the page
 * size in bytes (keys + values + 8 per entry; 0 = 256 KiB); a page always
 * holds at least one entry, however small the budget.  flags: 0,
 * LSMD_ITER_REVERSE, LSMD_SCAN_ONE_PAGE.  *visited (when not NULL) gets
 * the number of entries given to fn.
 * Errors: -EINVAL (bad bound or seek length, flags), -ESRCH (snapshot not
 * held), -EOPNOTSUPP (a daemon older than ITER_SCAN; lsmd_iter_new works
 * with it), -EMFILE (the scan outlives its first page and the connection or
 * its uid holds the most iterators it may), -EOPNOTSUPP (an entry larger
 * than the large region, from a daemon without pieces), -ENOMEM,
 * -ENOTCONN, engine errors.  An entry larger than the large region is read
 * in pieces into a heap buffer and given to fn from there. */
int lsmd_scan(lsmd_conn *c, uint64_t snapshot_id, const void *lo, size_t lolen,
              const void *hi, size_t hilen, const void *seek, size_t seeklen, uint64_t max,
              size_t budget, int flags, lsmd_scan_fn fn, void *arg, uint64_t *visited);

/* ---- Change feed ----------------------------------------------------------
 * lsmd_changes asks for the writes with a sequence above since, oldest
 * first, from the daemon's WALs (the engine's lsm_changes_open; the
 * daemon keeps WALs for this per its wal_retention_seconds /
 * wal_retention_bytes).  One request, one page (up to max entries, 0 = as
 * many as fit the large region): fn is called for each entry (type
 * LSM_CHANGE_PUT or LSM_CHANGE_DELETE, whose value is empty); key and
 * value point into the connection's segment, valid only during the call;
 * fn returns 0 to go on, else the call stops after that entry.
 * *next is the sequence to pass as since to continue (the last entry given
 * to fn, or since when none); *caught_up is 1 when the page held every
 * write visible at the daemon now (ask again later to follow).  A
 * snapshot's sequence (lsmd_snapshot_info.sequence) as since gives
 * exactly the writes the snapshot does not see.
 * REQUIRES: fn makes no call on c.
 * Errors: -ERANGE (the history after since is deleted, or since is above
 *   every sequence), -E2BIG (an entry larger than the large region),
 *   -EINVAL, -EOPNOTSUPP (an older daemon), -ENOTCONN, engine errors
 *   (LSM_ECORRUPT, -EIO). */
typedef int (*lsmd_change_fn)(void *arg, uint64_t seq, int type, const void *key,
                              size_t klen, const void *value, size_t vlen);
int lsmd_changes(lsmd_conn *c, uint64_t since, uint32_t max, lsmd_change_fn fn, void *arg,
                 uint64_t *next, int *caught_up);

/* ---- Administration (what lsmctl uses) ----------------------------------- */
/* As lsm_flush / lsm_compact / lsm_set_option; they wait until done.
 * Only for admins: others get -EPERM.  The daemon runs flush and compact in
 * one queue, set option and stats in another, so a set option or stats
 * never waits for a compaction; one request of each kind per connection
 * at a time (-EBUSY otherwise, seen only by raw ring users).
 * Errors: -EPERM, -EBUSY, -ENOTCONN, and the engine's. */
int lsmd_flush(lsmd_conn *c);
int lsmd_compact(lsmd_conn *c, int level); /* -1 = whole tree */
/* Errors: as above; -EINVAL (unknown name or bad value), -E2BIG (name +
 * value longer than the large region). */
int lsmd_set_option(lsmd_conn *c, const char *name, const char *value);
/* The daemon's statistics as a malloc'd NUL-terminated JSON object: free
 * with free().  Open to every client.  Errors: -E2BIG (larger than the large region), -ENOMEM,
 * -ENOTCONN. */
int lsmd_stats_json(lsmd_conn *c, char **json);
/* The current value of the engine option name (lsm_get_option's text:
 * "tiered", "8388608", "7.25", "0600"), or with name NULL or "" every
 * option as "name=value\n" lines, as a malloc'd NUL-terminated string in
 * *text: free with free().  Open to every client (read-only).
 * Errors: -EINVAL (unknown name, or longer than 4096 bytes), -E2BIG (the
 * reply is larger than the large region), -EOPNOTSUPP (a daemon older
 * than GET_OPTION), -ENOMEM, -ENOTCONN. */
int lsmd_get_option(lsmd_conn *c, const char *name, char **text);

/* As lsm_checkpoint (engine/lsm.h): the daemon makes a consistent copy of
 * its database in dir, which must be an absolute path (the daemon's working
 * directory is not the caller's) that does not exist yet, on a file system
 * the daemon's user may write.  Returns once the copy is complete and
 * synced; `lsmd --dir` on it serves that copy.  Only for admins (the work
 * queue, with flush and compact).
 * Errors: -EINVAL (dir NULL, relative, or longer than 4096 bytes), -E2BIG
 *   (longer than the large region), -EPERM, -EBUSY, -ENOTCONN, and
 *   lsm_checkpoint's: -EEXIST (dir exists), -ENOENT (no parent), -EBUSY
 *   (another checkpoint into dir runs), -ENOTEMPTY, -ENOSPC, -EACCES, ... */
int lsmd_checkpoint(lsmd_conn *c, const char *dir);

/* Formats of lsmd_stats. */
#define LSMD_STATS_JSON 0       /* as lsmd_stats_json */
#define LSMD_STATS_PROMETHEUS 1 /* Prometheus text format 0.0.4, what the
                                   daemon's GET /metrics serves */
/* The daemon's statistics in a format, as a malloc'd NUL-terminated text
 * (free()).  Open to every client.  Errors: -EINVAL (unknown format, or a
 * daemon too old to know it), -E2BIG, -ENOMEM, -ENOTCONN. */
int lsmd_stats(lsmd_conn *c, int format, char **text);

/* ---- Asynchronous interface ---------------------------------------------- */
/* Up to lsmd_queue_depth() requests in flight; each key + value must fit a
 * slot (slot_bytes, 32 KiB by default; -E2BIG otherwise: use the
 * synchronous call).  The submit calls copy key and value into the segment
 * and return a tag (>= 0, unique among requests in flight) or an error
 * (-EBUSY: depth reached, -E2BIG, -EINVAL, -ENOTCONN).  The daemon is
 * woken only if it sleeps.  Synchronous calls may be mixed in: completions
 * arriving meanwhile are kept for lsmd_poll. */
typedef struct lsmd_completion {
    uint64_t user_data;     /* as given to submit */
    int tag;                /* as returned by submit */
    int status;             /* as the synchronous call would return */
    int op;                 /* LSMD_OP_GET / _PUT / _DELETE / _MULTI_GET /
                               _SCAN */
    const void *val;        /* get: the value, in the segment; valid until
                               the next lsmd_poll() or lsmd_disconnect();
                               multi-get: its results (read them with
                               lsmd_completion_multi_get); scan: its page
                               (lsmd_completion_scan) */
    size_t vlen;            /* get: value length (also when status is
                               LSM_ETOOSMALL: value longer than the slot;
                               fetch it with lsmd_get); multi-get: bytes of
                               its results; scan: bytes of its page (with
                               LSM_ETOOSMALL: bytes its first entry needs) */
    size_t count;           /* multi-get: keys (lsmd_completion_multi_get);
                               scan: entries */
} lsmd_completion;
#define LSMD_OP_GET 1
#define LSMD_OP_PUT 2
#define LSMD_OP_DELETE 3
#define LSMD_OP_MULTI_GET 4
#define LSMD_OP_SCAN 5

int lsmd_submit_get(lsmd_conn *c, uint64_t snapshot_id, const void *key,
                    size_t klen, uint64_t user_data);
int lsmd_submit_put(lsmd_conn *c, const void *key, size_t klen, const void *val,
                    size_t vlen, int flags, uint64_t user_data);
int lsmd_submit_delete(lsmd_conn *c, const void *key, size_t klen, int flags,
                       uint64_t user_data);

/* n keys in one request whose key list (4 + key length bytes per key),
 * results table (8 bytes per key) and values share one slot: -E2BIG when
 * n > 4096 or the keys and table alone do not fit the slot; -EINVAL for a
 * NULL, empty or too long key.  The completion (op LSMD_OP_MULTI_GET) has
 * status 0 or an error of the whole request (-ESRCH, -ENOMEM, ...); read
 * its keys' results with lsmd_completion_multi_get. */
int lsmd_submit_multi_get(lsmd_conn *c, uint64_t snapshot_id, size_t n,
                          const void *const *keys, const size_t *key_lens,
                          uint64_t user_data);

/* For a multi-get completion with status 0: fills, for each of its
 * cp->count keys in submission order, statuses[i] (0, LSM_ENOTFOUND, an
 * engine error, or: LSM_ETOOSMALL, the value of vlens[i] bytes did not fit
 * what was left of the slot; -EAGAIN, not looked up because the slot was
 * full; ask for those again, e.g. with lsmd_multi_get), vals[i] (found:
 * the value in the segment, valid as a get completion's val) and vlens[i].
 * Returns cp->count, or -EINVAL (not a successful multi-get completion). */
int lsmd_completion_multi_get(const lsmd_completion *cp, int *statuses, const void **vals,
                              size_t *vlens);

/* A short scan in flight (seekrandom, YCSB E): the entries from the first
 * key >= seek (NULL or length 0: from the first key; with
 * LSMD_ITER_REVERSE: the last key <= seek, or from the last key), at most
 * max of them (0 = as many as fit) and as many as fit the request's slot
 * after the seek key, at snapshot_id (0 = a consistent view taken when the
 * daemon serves it).  One request: the daemon opens, reads and closes its
 * iterator, so nothing is left to close.  The completion (op LSMD_OP_SCAN)
 * has count entries in a page read with lsmd_completion_scan.  count <
 * max means the scan reached the end or the slot was full: continue from
 * just after the last key (a completion with count 0 is the end).
 * Status LSM_ETOOSMALL: the first entry alone does not fit the slot (vlen
 * says how many bytes it needs): read it with lsmd_scan.  Errors at
 * submit as for lsmd_submit_get, and -EINVAL for other flags. */
int lsmd_submit_scan(lsmd_conn *c, uint64_t snapshot_id, const void *seek, size_t seeklen,
                     uint32_t max, int flags, uint64_t user_data);

/* Calls fn for each entry of a scan completion with status 0, in order
 * (key and value in the segment, valid as a get completion's value); fn
 * returns 0 to go on, else the walk stops after that entry.  Returns the
 * number of entries given to fn, or -EINVAL (not a successful scan
 * completion, or fn NULL). */
int lsmd_completion_scan(const lsmd_completion *cp, lsmd_scan_fn fn, void *arg);

/* Collects up to max completions into out, waiting until at least min_wait
 * are available (min_wait is capped at the number in flight; 0 never
 * waits).  Returns the number collected (>= 0) or -ENOTCONN (the requests
 * in flight are lost) or -EINVAL.  Values of get completions from the
 * previous call become invalid. */
int lsmd_poll(lsmd_conn *c, lsmd_completion *out, int max, int min_wait);

/* Requests submitted and not yet returned by lsmd_poll. */
int lsmd_inflight(const lsmd_conn *c);

/* ---- Misc ---------------------------------------------------------------- */
/* Describes any code returned by this library (never NULL). */
const char *lsmd_strerror(int err);

/* Why the last failed call on c failed, as one short line (at most 119
 * bytes) naming what was wrong: the daemon's reason carried back with the
 * reply ("no such option: no_such_option", "compaction_style: expected
 * leveled or tiered", "compaction_threads: 99 is above the maximum 16"),
 * or this library's for what it refuses before sending ("empty key",
 * "key of 65537 bytes exceeds the 65536-byte limit"); without a reason,
 * lsmd_strerror of the code.  Every synchronous call starts afresh; a
 * failed asynchronous request sets it when lsmd_poll returns its
 * completion (read it before the next poll).  The daemon keeps the last 24
 * reasons of a connection: when more failures complete before the library
 * collects them, the oldest have only the generic text.
 * Never NULL; valid until the next call on c.  Same thread rule as c. */
const char *lsmd_last_error(const lsmd_conn *c);

/* The socket lsmd_connect(socket_path, ...) tries, into buf (cap bytes):
 * socket_path itself, or for NULL or "" the environment variable
 * LSMD_SOCKET, else the default path (see lsmd_connect).  For messages
 * such as "cannot attach to lsmd at PATH".  Errors: -EINVAL,
 * -ENAMETOOLONG. */
int lsmd_socket_path(const char *socket_path, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* LSMD_H */
