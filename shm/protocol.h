/*
 * protocol.h — the lsmd wire protocol: every constant and every fixed layout
 * shared by the daemon (daemon/, shm/server.h) and the client library
 * (libclient/).  The prose, diagrams, byte tables, the memory-ordering
 * argument and the hostile-client rules are in docs/shm-protocol.md; change
 * both together.
 *
 * Three things travel between a client and the daemon:
 *
 *   1. Over the Unix socket (SOCK_SEQPACKET, one message per hello): the
 *      client's shm_hello_req, then the daemon's shm_hello_rep carrying two
 *      file descriptors with SCM_RIGHTS: the client's private segment
 *      (read-write) and the daemon-wide snapshot directory (read-only).
 *      The socket then stays open and silent; its hang-up tells each side
 *      that the other is gone.
 *   2. In the client's segment: a header, a submission ring of shm_sqe
 *      (client -> daemon), a completion ring of shm_cqe (daemon -> client)
 *      and a data arena the descriptors point into.
 *   3. In the directory segment: the published snapshot registry.
 *
 * All integers are little-endian (both ends run on one machine) and every
 * layout uses fixed-width types with explicit padding; the static asserts
 * at the end pin sizes and offsets.  Magic numbers are the ASCII bytes of
 * their names read as a little-endian u64, so they are readable in a hex
 * dump ("LSMDHELO", "LSMDSEG1", "LSMDDIR1").
 *
 * Versioning: SHM_PROTO_VERSION changes on any incompatible change of this
 * file.  The hello carries it first thing; a daemon that does not speak the
 * client's version replies status -EPROTO with its own version and both
 * sides log "protocol version mismatch: client N, daemon M".  Fields marked
 * reserved are zero when written and, in descriptors, must be zero when
 * read (so a later version can give them a meaning).
 */
#ifndef LSM_SHM_PROTOCOL_H
#define LSM_SHM_PROTOCOL_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h> /* SOCK_SEQPACKET */

#define SHM_PROTO_VERSION 1u

#define SHM_CACHELINE 64u

/* ---- Socket and handshake (docs/shm-protocol.md, "Attach") -------------- */

/* The listening socket is AF_UNIX, SOCK_SEQPACKET: message boundaries make
 * the hello one recvmsg, and a hang-up reads as 0 bytes / POLLHUP. */
#define SHM_SOCK_TYPE SOCK_SEQPACKET

/* Default socket path: $XDG_RUNTIME_DIR/lsmd.sock when that variable is set
 * and non-empty, else /tmp/lsmd-$UID/lsmd.sock (directory mode 0700,
 * created by the daemon).  shm_default_socket_path() in hello.h builds it. */
#define SHM_SOCK_NAME "lsmd.sock"

#define SHM_HELLO_REQ_MAGIC UINT64_C(0x4f4c4548444d534c) /* "LSMDHELO" */
#define SHM_HELLO_REP_MAGIC UINT64_C(0x5045524c444d534c) /* "LSMDLREP" */

/* Client -> daemon, the first and only message the client sends. 64 bytes. */
struct shm_hello_req {
    uint64_t magic;         /* SHM_HELLO_REQ_MAGIC */
    uint32_t version;       /* SHM_PROTO_VERSION of the client */
    uint32_t size;          /* sizeof(struct shm_hello_req) as the client knows it */
    uint32_t pid;           /* informational; the daemon trusts SO_PEERCRED */
    int32_t cpu;            /* sched_getcpu() at connect, -1 unknown: NUMA placement */
    uint32_t queue_depth;   /* requested async depth, 0 = daemon default */
    uint32_t slot_bytes;    /* requested per-request arena slot, 0 = default */
    uint32_t large_bytes;   /* requested large-request region, 0 = default */
    uint32_t flags;         /* reserved, must be 0 */
    uint8_t reserved[24];   /* must be 0 */
};

/* Daemon -> client, exactly one reply, with two fds (SCM_RIGHTS) when status
 * is 0: fds[0] the client segment (O_RDWR memfd, sealed), fds[1] the
 * directory segment (O_RDONLY).  On failure no fds and a message. 192 bytes. */
struct shm_hello_rep {
    uint64_t magic;         /* SHM_HELLO_REP_MAGIC */
    uint32_t version;       /* SHM_PROTO_VERSION of the daemon */
    int32_t status;         /* 0, or -EPROTO (bad hello: version, magic,
                               size, flags, reserved bytes, fds), -EACCES
                               (peer credentials refused), -EAGAIN (too
                               many connections awaiting their hello),
                               -EMFILE (too many clients, or the daemon is
                               out of descriptors), -ENOMEM, -EINVAL (bad
                               sizes requested), -ESHUTDOWN */
    uint32_t size;          /* sizeof(struct shm_hello_rep) */
    uint32_t daemon_pid;
    uint64_t client_id;     /* unique for the daemon's lifetime, never 0 */
    uint64_t segment_bytes; /* size of fds[0]; must equal its header's */
    uint64_t directory_bytes; /* size of fds[1] */
    uint32_t queue_depth;   /* granted: at most this many requests in flight */
    uint32_t slot_bytes;    /* granted */
    uint32_t large_bytes;   /* granted */
    int32_t numa_node;      /* node serving this client, -1 = none */
    uint32_t max_queue_depth; /* daemon limits, so a client can say why */
    uint32_t max_large_bytes;
    uint8_t reserved[24];
    char message[96];       /* NUL-terminated reason when status != 0 */
};

/* ---- Client segment layout (docs/shm-protocol.md, "Segment") ------------ */

#define SHM_SEG_MAGIC UINT64_C(0x314745534d44534c) /* "LSMDSEG1" */

/*
 *  offset 0            header (SHM_HDR_BYTES)
 *  sq_off              sq_entries x struct shm_sqe (64 B)
 *  cq_off              cq_entries x struct shm_cqe (32 B)
 *  arena_off           arena: nslots x slot_bytes, then large_bytes
 *  segment_bytes       (page aligned)
 *
 * Every region starts on a page boundary.  The arena is the only place
 * descriptors point to; descriptor offsets are relative to arena_off.
 */
#define SHM_HDR_BYTES 4096u
#define SHM_PAGE 4096u

/* Defaults and hard limits (the daemon config may lower the maxima). */
#define SHM_DEFAULT_QUEUE_DEPTH 32u
#define SHM_MAX_QUEUE_DEPTH 1024u
#define SHM_DEFAULT_SLOT_BYTES (32u * 1024u)
#define SHM_MIN_SLOT_BYTES 4096u
#define SHM_MAX_SLOT_BYTES (1024u * 1024u)
/* The large region takes one request at a time: a put of a value (plus key)
 * larger than a slot, a get of such a value, a batch, stats, a big page.
 * The default lets a 1 MiB value with a 64 KiB key through; a client asks
 * for more in its hello (lsmd_conn_options.large_bytes, LSMD_LARGE_BYTES)
 * up to SHM_MAX_LARGE_BYTES or the daemon's configured maximum. */
#define SHM_DEFAULT_LARGE_BYTES (2u * 1024u * 1024u)
#define SHM_MIN_LARGE_BYTES (128u * 1024u)
#define SHM_MAX_LARGE_BYTES (256u * 1024u * 1024u)

/* Slots: a request in flight owns one slot; a completed get keeps its slot
 * until the client's next poll (the value is read in place), so the arena
 * has 2 x queue_depth slots and one large region (SHM_TAG_LARGE). */
#define SHM_SLOTS_PER_DEPTH 2u
/* Ring entries beyond queue_depth + 1 (the +1 is the synchronous request):
 * room for fire-and-forget requests (SHM_TAG_DISCARD) the client keeps at
 * most this many of in flight. */
#define SHM_SQ_SPARE 8u

/* Header field offsets: each index that one process writes often sits alone
 * in its cache line so producer and consumer never false-share. */
struct shm_seg_header {
    /* lines 0-1: written once by the daemon before the fd is sent;
     * read-only afterwards (the client checks them against the hello reply
     * and shm_layout_compute). */
    uint64_t magic;         /* SHM_SEG_MAGIC */
    uint32_t version;       /* SHM_PROTO_VERSION */
    uint32_t header_bytes;  /* SHM_HDR_BYTES */
    uint64_t segment_bytes;
    uint64_t client_id;
    uint32_t sq_off, sq_entries; /* power of two >= queue_depth + 1 + SHM_SQ_SPARE */
    uint32_t cq_off, cq_entries; /* same count as the SQ */
    uint32_t arena_off, arena_bytes;
    uint32_t slot_bytes, nslots; /* nslots = SHM_SLOTS_PER_DEPTH x queue_depth */
    uint32_t large_off;     /* relative to the arena: nslots x slot_bytes */
    uint32_t large_bytes;
    uint32_t queue_depth;
    uint16_t sqe_size, cqe_size; /* 64, 32 */
    uint32_t daemon_pid;
    uint8_t reserved0[44];
    /* line 2: client writes (SQ producer), daemon reads */
    uint32_t sq_tail __attribute__((aligned(SHM_CACHELINE)));
    /* line 3: daemon writes (SQ consumer), client reads */
    uint32_t sq_head __attribute__((aligned(SHM_CACHELINE)));
    /* line 4: daemon writes (CQ producer), client reads */
    uint32_t cq_tail __attribute__((aligned(SHM_CACHELINE)));
    /* line 5: client writes (CQ consumer), daemon reads */
    uint32_t cq_head __attribute__((aligned(SHM_CACHELINE)));
    /* line 6: futex word "the daemon sleeps waiting for submissions".
     * The daemon sets it to 1 before it sleeps; the client, having
     * published a submission, exchanges it to 0 and wakes the daemon if it
     * was 1 (wait.h).  The daemon also stores 0 when it wakes by itself. */
    uint32_t daemon_sleeping __attribute__((aligned(SHM_CACHELINE)));
    /* line 7: futex word "the client sleeps waiting for completions"; the
     * mirror image: set to 1 by the client, exchanged to 0 by the daemon. */
    uint32_t client_sleeping __attribute__((aligned(SHM_CACHELINE)));
    /* line 8: daemon writes: nonzero once the daemon has ended this session
     * (shutdown, or the client broke the protocol); the value is a positive
     * errno (ESHUTDOWN, EPROTO); the daemon then wakes the client. */
    uint32_t daemon_gone __attribute__((aligned(SHM_CACHELINE)));
    uint8_t pad_end[SHM_CACHELINE - 4];
};

/* ---- Opcodes (docs/shm-protocol.md, "Operations") ----------------------- */
enum shm_op {
    SHM_OP_NOP = 0,           /* invalid: a zeroed descriptor is refused */
    SHM_OP_PING = 1,          /* r0 = daemon pid */
    SHM_OP_PUT = 2,           /* key, val; flags SYNC */
    SHM_OP_DELETE = 3,        /* key; flags SYNC */
    SHM_OP_GET = 4,           /* arg0 snapshot (0 latest), key, out ->
                                 value at out_off, r0 = length; value longer
                                 than out_cap: LSM_ETOOSMALL, r0 = length */
    SHM_OP_WRITE_BATCH = 5,   /* val = encoded batch (WAL payload format,
                                 docs/wal-format.md "Payload"), arg1 = entry
                                 count; flags SYNC */
    SHM_OP_SNAP_ACQUIRE = 6,  /* r0 = new snapshot id, r1 = its sequence */
    SHM_OP_SNAP_HOLD = 7,     /* arg0 = id; -ESRCH if not published */
    SHM_OP_SNAP_RELEASE = 8,  /* arg0 = id; -ESRCH if this client holds none */
    SHM_OP_SNAP_LIST = 9,     /* out <- shm_dir_entry[], r0 = count, r1 =
                                 total live (more than fit: LSM_ETOOSMALL) */
    SHM_OP_ITER_OPEN = 10,    /* arg0 snapshot, key = lo, val = hi (length 0
                                 = unbounded), flags REVERSE; r0 = iterator
                                 id; with out_cap > 0 also the first page */
    SHM_OP_ITER_NEXT = 11,    /* arg0 = iterator id, arg1 = max entries (0 =
                                 as many as fit); out <- page */
    SHM_OP_ITER_CLOSE = 12,   /* arg0 = iterator id */
    SHM_OP_FLUSH = 13,
    SHM_OP_COMPACT = 14,      /* arg0 = level as int64 (-1 = whole tree) */
    SHM_OP_SET_OPTION = 15,   /* key = name, val = value (no NULs) */
    SHM_OP_STATS = 16,        /* arg0 = SHM_STATS_* format; out <- the
                                 text (no NUL), r0 = length; too long:
                                 LSM_ETOOSMALL, r0 = needed */
    SHM_OP_MULTI_GET = 17,    /* arg0 snapshot (0 latest), arg1 = n keys,
                                 key = the encoded key list, out <- results
                                 table + values; see "Multi-get" below */
    SHM_OP_ITER_SCAN = 18,    /* ITER_OPEN with a seek key, a page limit
                                 and a byte budget: see "Scans" below */
    SHM_OP_CHECKPOINT = 19,   /* key = the checkpoint's directory: an
                                 absolute path (no NULs) that must not
                                 exist; admin only (lsm_checkpoint) */
    SHM_OP_CHANGES = 20,      /* arg0 = since (a sequence), arg1 = max
                                 entries (0 = as many as fit); out <- a
                                 page of changes: see "Changes" below */
    SHM_OP_GET_OPTION = 21,   /* key = option name (0 .. 4096 bytes, no
                                 NUL; empty = every option), out <- the
                                 value, or "name=value\n" lines (no NUL),
                                 r0 = length; too long: LSM_ETOOSMALL, r0
                                 = needed; unknown name: -EINVAL */
    SHM_OP_ITER_PIECE = 22,   /* arg0 = iterator id, arg1 = offset into the
                                 entry the iterator stands at; out <- the
                                 next bytes of it: see "Big entries" */
    SHM_OP_PUT_PIECE = 23,    /* key, val = a piece of the value, arg0 =
                                 the whole value's length, arg1 = the
                                 piece's offset in it; flags SYNC: see
                                 "Big entries" */
    SHM_OP_COUNT_ = 24        /* one past the last opcode */
};

/* SHM_OP_STATS formats (arg0).  A daemon older than the format refuses
 * it with -EINVAL (validation: unused argument not zero). */
#define SHM_STATS_JSON 0u       /* the stats JSON (daemon/stats.h) */
#define SHM_STATS_PROMETHEUS 1u /* Prometheus text format 0.0.4 (daemon/metrics.h) */
#define SHM_STATS_FORMAT_MAX SHM_STATS_PROMETHEUS

/* Completion status codes (shm_cqe.status), the whole list:
 *   0               success
 *   LSM_ENOTFOUND   GET: key absent or deleted
 *   LSM_ETOOSMALL   out_cap too small: r0 (GET, STATS, GET_OPTION, SNAP_LIST) or r1
 *                   (pages) says how many bytes are needed
 *   LSM_EREADONLY, LSM_ECORRUPT, -EIO, -ENOSPC   engine errors, as lsm.h
 *   -EINVAL         descriptor refused by validation (offset/length out of
 *                   the arena, key/value size limits, reserved field or
 *                   flag set, missing key) or an engine -EINVAL
 *   -E2BIG          WRITE_BATCH payload above SHM_MAX_BATCH_BYTES
 *                   (validate.h) or the daemon's max_request_bytes;
 *                   MULTI_GET with more than SHM_MGET_MAX_KEYS keys or a
 *                   key list above the daemon's max_request_bytes
 *   -EOPNOTSUPP     unknown opcode, or an optional feature (REVERSE) the
 *                   daemon does not implement
 *   -ESRCH          snapshot id not published (HOLD) / not held by this
 *                   client (GET, ITER_OPEN, RELEASE at a snapshot)
 *   -EBADF          unknown iterator id
 *   -EMFILE         too many snapshots or iterators held by this client
 *   -ERANGE         CHANGES: the history after arg0 is deleted
 *   -ENOMEM         daemon out of memory
 *   -ESHUTDOWN      the daemon is draining and refuses new work
 * Anything else is -errno from the engine. */

/* Submission flags (shm_sqe.flags). */
#define SHM_SQ_SYNC 0x01u     /* = LSM_SYNC: PUT, DELETE, WRITE_BATCH */
#define SHM_SQ_REVERSE 0x02u  /* ITER_OPEN, ITER_SCAN: pages in descending
                                 key order */
#define SHM_SQ_ONE_PAGE 0x04u /* ITER_SCAN: the client wants this page only;
                                 the daemon closes the iterator after it */
#define SHM_SQ_UPTO 0x08u     /* ITER_SCAN: the entry limit is the whole
                                 scan: the daemon closes the iterator once
                                 a page reaches it */
#define SHM_SQ_PAST 0x10u     /* ITER_PIECE: then move the iterator past
                                 the entry */
#define SHM_SQ_FLAGS_ALL (SHM_SQ_SYNC | SHM_SQ_REVERSE | SHM_SQ_ONE_PAGE | SHM_SQ_UPTO | \
                          SHM_SQ_PAST)

/* Completion flags (shm_cqe.flags). */
#define SHM_CQ_ITER_END 0x01u /* page ops: the iterator is exhausted (the
                                 page may still hold entries) */
#define SHM_CQ_REASON 0x02u   /* a failed request (status < 0) whose reason
                                 the daemon wrote in the header's reason
                                 table: aux = its sequence (see "Reasons") */

/* Tags: the daemon echoes shm_sqe.tag in shm_cqe.tag without looking at it.
 * libclient uses the slot index (0 .. nslots-1) or SHM_TAG_LARGE. */
#define SHM_TAG_LARGE 0xfffffffeu
/* A request whose completion the client will ignore (e.g. closing an
 * iterator without waiting); the daemon treats it like any other tag. */
#define SHM_TAG_DISCARD 0xffffffffu

/* A submission descriptor: 64 bytes, one cache line.  The client writes it
 * (in the SQ entry it owns until it publishes sq_tail); the daemon copies it
 * once into private memory and validates only the copy (validate.h). */
struct shm_sqe {
    uint8_t opcode;         /* enum shm_op */
    uint8_t flags;          /* SHM_SQ_* */
    uint16_t reserved0;
    uint32_t tag;           /* echoed */
    uint64_t arg0;          /* snapshot id / iterator id / level */
    uint64_t arg1;          /* batch count / page max entries */
    uint32_t key_off, key_len; /* arena-relative */
    uint32_t val_off, val_len;
    uint32_t out_off, out_cap;
    union {
        uint64_t reserved1[2]; /* zero, except ITER_SCAN's seek key: */
        struct {
            uint32_t seek_off, seek_len; /* ITER_SCAN only, arena-relative */
            uint64_t reserved2;
        };
    };
};

/* A completion: 32 bytes.  Written by the daemon, published by cq_tail. */
struct shm_cqe {
    uint32_t tag;           /* the request's tag */
    int32_t status;         /* 0, -errno or an LSM_E* code */
    uint64_t r0;            /* per op: value length, id, needed size, ... */
    uint64_t r1;            /* per op: page bytes, sequence, ... */
    uint32_t flags;         /* SHM_CQ_* */
    uint32_t aux;           /* per op: entries in a page */
};

/* ---- Reasons (docs/shm-protocol.md, "Reasons") ---------------------------
 * Why a request failed, in words ("no such option: foo", "empty key"),
 * where the status alone (-EINVAL) would leave the user guessing.  The
 * completion has no room for text, so the daemon writes the reason into a
 * small table in the segment header, beside the lines above, and marks
 * the completion SHM_CQ_REASON with aux = the reason's sequence number.
 *
 *   header offset SHM_REASON_OFF: SHM_REASON_SLOTS x struct shm_reason;
 *   sequence n (1, 2, ...; never 0) goes to slot n % SHM_REASON_SLOTS.
 *
 * Written by the daemon only (under the session's completion lock), read
 * by the client, seqlock style:
 *   daemon: seq = 0 (relaxed); release fence; len, text; seq = n (release);
 *           then the completion, published by cq_tail (release).
 *   client: on a completion with SHM_CQ_REASON and aux = n: seq == n
 *           (acquire), copy len and text, acquire fence, seq == n again;
 *           else the slot was reused by a later failure (more than
 *           SHM_REASON_SLOTS failures completed before this one was read):
 *           the client falls back to the code's generic text.
 * A hostile client can scribble on the table: it only misleads itself;
 * the daemon never reads it.  An older daemon never sets SHM_CQ_REASON,
 * and an older client ignores it: no version change. */
#define SHM_REASON_OFF 1024u
#define SHM_REASON_SLOTS 24u
#define SHM_REASON_TEXT 120u  /* text bytes, NUL-terminated within */

struct shm_reason {           /* 128 bytes */
    uint32_t seq;             /* the sequence whose text this is; 0 = being written */
    uint32_t len;             /* bytes of text before its NUL (< SHM_REASON_TEXT) */
    char text[SHM_REASON_TEXT];
};

/* ---- Iterator pages (docs/shm-protocol.md, "Pages") ---------------------
 * ITER_OPEN (with out_cap > 0) and ITER_NEXT write whole entries at out_off:
 *     [u32 key_len][u32 val_len][key][value]   back to back, no padding
 * cqe.r0 = iterator id, cqe.r1 = page bytes, cqe.aux = entries, and
 * SHM_CQ_ITER_END once the range is exhausted.  With ITER_END the daemon
 * has already closed the iterator (its id is dead; no ITER_CLOSE needed,
 * one would get -EBADF).  The daemon stops a page at arg1 entries (0 = no
 * limit) or when the next entry does not fit.  An entry larger than
 * out_cap with an empty page: status LSM_ETOOSMALL, r1 = bytes needed, the
 * iterator does not move (retry with more room).  For ITER_OPEN, r0 holds
 * a valid iterator id whenever status is 0 or LSM_ETOOSMALL; any other
 * status means no iterator was created. */
#define SHM_PAGE_ENTRY_HDR 8u

/* ---- Scans (docs/shm-protocol.md, "Scans") ------------------------------
 * ITER_SCAN opens an iterator and returns its first page in one round
 * trip; when that page is all the client wants, no iterator is left open.
 *   arg0      snapshot id (0 = latest)
 *   key, val  lo and hi bounds, as ITER_OPEN (length 0 = unbounded)
 *   seek_off, seek_len   where the page starts: the first key >= seek
 *             (REVERSE: the last key <= seek); length 0 = at lo (REVERSE:
 *             the last key below hi).  A seek below lo starts at lo.
 *   arg1      SHM_SCAN_ARG1(max, budget): max = entries in the page (0 =
 *             no limit); budget = soft page size in bytes (0 = out_cap):
 *             an entry is added while the page holds none or stays within
 *             the budget, so a budget smaller than one entry returns that
 *             one entry.  out_cap stays the hard limit (LSM_ETOOSMALL as
 *             for pages).
 *   out       the page (required)
 *   flags     REVERSE, ONE_PAGE, UPTO
 * Reply: as a page (r1 bytes, aux entries, ITER_END when the range is
 * exhausted), and r0 = the iterator id to continue with ITER_NEXT, or 0
 * when the daemon left no iterator open: the range is exhausted, or
 * ONE_PAGE was asked, or UPTO was asked and the page holds max entries.
 * LSM_ETOOSMALL (first entry above out_cap): r1 = bytes needed, r0 = an
 * open iterator at that entry, or 0 with ONE_PAGE. */
#define SHM_SCAN_ARG1(max, budget) ((uint64_t)(uint32_t)(max) | ((uint64_t)(uint32_t)(budget) << 32))
#define SHM_SCAN_MAX(arg1) ((uint32_t)(arg1))
#define SHM_SCAN_BUDGET(arg1) ((uint32_t)((arg1) >> 32))

/* ---- Big entries (docs/shm-protocol.md, "Big entries") -----------------
 * An entry larger than the large region (a 64 MiB value; the segment never
 * grows) is read in pieces from an iterator standing at it: a page that
 * could not hold it answered LSM_ETOOSMALL and left the iterator there
 * (ITER_SCAN, ITER_NEXT).  ITER_PIECE copies bytes [arg1, arg1 + n) of
 * the entry's key followed by its value to out_off, n = min(out_cap,
 * key_len + val_len - arg1).  Reply: r0 = key_len, r1 = val_len, aux = n.
 * With SHM_SQ_PAST the iterator then moves past the entry (REVERSE: to the
 * one before); when that exhausts it, SHM_CQ_ITER_END and the daemon has
 * closed it, as after a page.  Errors: -EBADF (unknown id), -EINVAL (arg1
 * above key_len + val_len), LSM_ENOTFOUND (the iterator stands at no
 * entry), engine errors.  lsmd_get reads a big value this way through a
 * scan of [key, key + "\0").
 *
 * A put whose key and value do not fit the large region goes as PUT_PIECE
 * requests: each carries the key, arg0 = the value's whole length (at
 * most LSM_MAX_VALUE_SIZE), arg1 = the offset of its piece (val) in the
 * value, pieces in order from offset 0 with no gap.  The daemon stages
 * them in one buffer per session (charged to the uid's
 * max_arena_bytes_per_uid); each piece but the last is answered at once
 * (r0 = bytes staged); the last (arg1 + val_len = arg0) is the put: it is
 * applied and answered as a PUT with the same flags.  A piece at offset 0
 * starts a new value (dropping one staged before); any other piece that
 * does not continue the staged value (another key or length, or a gap) is
 * -EINVAL and drops it.  Errors: -EINVAL, -ENOMEM (the uid's share of
 * memory is used up), and PUT's. */

/* ---- Changes (docs/shm-protocol.md, "Changes") ----------------------------
 * CHANGES returns the writes with a sequence above arg0, oldest first, from
 * the daemon's WALs (lsm_changes_open, engine/lsm.h), as whole entries at
 * out_off:
 *     [u64 seq][u8 type][u32 key_len][u32 val_len][key][value]
 * back to back, no padding; type 1 put, 0 delete (val_len 0).  The page
 * stops at arg1 entries (0 = no limit) or when the next entry does not fit.
 * Reply: r0 = the sequence of the page's last entry (arg0 when empty): the
 * arg0 of the next request; r1 = page bytes; aux = entries;
 * SHM_CQ_ITER_END when the page holds every write visible now (ask again
 * later for newer ones).  Status -ERANGE: the WALs after arg0 are deleted
 * (or arg0 is above every sequence); LSM_ETOOSMALL: the first entry does
 * not fit, r1 = bytes needed.  Stateless: nothing stays open between
 * requests.  Open to every client (it shows what a scan shows). */
#define SHM_CHANGE_ENTRY_HDR 17u

/* ---- Multi-get (docs/shm-protocol.md, "Multi-get") ----------------------
 * Request: arg1 = n (1 .. SHM_MGET_MAX_KEYS) and the key range holds n
 * entries   [u32 key_len][key]   back to back, no padding, filling key_len
 * exactly; each key 1 .. LSM_MAX_KEY_SIZE bytes; duplicates allowed.
 * out_cap must hold at least the results table (n x 8 bytes).
 * Reply, with status 0: at out_off, n x struct shm_mget_res in key order,
 * then the values of the keys whose status is 0, in key order, back to
 * back; cqe.r0 = n, cqe.r1 = bytes written (table + values).  Per key:
 *   0               found: value_len bytes follow in the value area
 *   LSM_ENOTFOUND   absent or deleted
 *   LSM_ETOOSMALL   found, but its value_len bytes did not fit in what was
 *                   left of out_cap (values are placed greedily in key
 *                   order): ask again with more room
 *   -EAGAIN         not looked up: the output had filled up first
 *   other           an engine error for that key alone (-EIO, LSM_ECORRUPT)
 * Any other cqe.status (-ESRCH, -E2BIG, -EINVAL, -ENOMEM) refuses the
 * whole request: no results (the output's bytes are then unspecified).  All keys are read at one view: the
 * snapshot's, or one taken when the request is served. */
#define SHM_MGET_MAX_KEYS 4096u
#define SHM_MGET_KEY_HDR 4u     /* the u32 length before each key */

struct shm_mget_res {
    int32_t status;         /* see above */
    uint32_t value_len;     /* 0 and LSM_ETOOSMALL: the value's length */
};

/* ---- Directory segment (docs/shm-protocol.md, "Directory") --------------
 * One per daemon, written only by the daemon (one writer at a time, under
 * the registry's lock), mapped PROT_READ by every client through an
 * O_RDONLY fd; sealed F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_FUTURE_WRITE so no
 * one can ever map it writable again.  A seqlock guards the whole table:
 * the writer makes `seq` odd, changes entries/count, makes it even again;
 * a reader copies and retries while seq was odd or changed. */
#define SHM_DIR_MAGIC UINT64_C(0x31524944444d534c) /* "LSMDDIR1" */
#define SHM_DIR_DEFAULT_CAPACITY 1024u
#define SHM_DIR_MAX_CAPACITY 65536u

struct shm_dir_header {
    uint64_t magic;         /* SHM_DIR_MAGIC; written once */
    uint32_t version;       /* SHM_PROTO_VERSION; written once */
    uint32_t capacity;      /* entries in the table; written once */
    uint32_t entry_size;    /* sizeof(struct shm_dir_entry); written once */
    uint32_t daemon_pid;    /* written once */
    uint64_t reserved0;
    /* line 1: the seqlock and what it guards besides the entries */
    uint64_t seq __attribute__((aligned(SHM_CACHELINE))); /* odd = write in progress */
    uint32_t count;         /* entries [0, count) are meaningful */
    uint32_t reserved1;
    uint64_t generation;    /* bumped by every change (cheap "did it move?") */
    uint8_t pad[SHM_CACHELINE - 24];
};

#define SHM_DIR_LIVE 0x1u     /* entry in use (others: ignore) */

struct shm_dir_entry {        /* 64 bytes */
    uint64_t id;            /* snapshot id, what lsmd_snapshot_hold takes */
    uint64_t sequence;      /* the engine sequence it pins */
    uint32_t holders;       /* clients holding it (each counted once per hold) */
    uint32_t flags;         /* SHM_DIR_LIVE */
    uint64_t created_ns;    /* CLOCK_REALTIME at acquire */
    uint64_t creator_id;    /* client_id of the acquirer */
    uint32_t creator_pid;
    uint32_t reserved0;
    uint64_t reserved[2];
};

/* Directory segment size for a capacity: header line(s) then the table,
 * rounded to a page. */
#define SHM_DIR_TABLE_OFF SHM_PAGE
static inline uint64_t shm_dir_bytes(uint32_t capacity)
{
    uint64_t b = SHM_DIR_TABLE_OFF + (uint64_t)capacity * sizeof(struct shm_dir_entry);
    return (b + SHM_PAGE - 1) & ~(uint64_t)(SHM_PAGE - 1);
}

/* ---- Layout arithmetic shared by daemon (creates) and client (checks) ---- */
struct shm_layout {
    uint32_t queue_depth, nslots, slot_bytes, large_bytes;
    uint32_t sq_entries, cq_entries;
    uint32_t sq_off, cq_off, arena_off, arena_bytes, large_off;
    uint64_t segment_bytes;
};

/* Computes the layout for granted sizes.  Returns 0, or -EINVAL when a size
 * is outside the limits above or the arena would pass 4 GiB - 1 (descriptor
 * offsets are u32).  Implemented in segment.c. */
int shm_layout_compute(uint32_t queue_depth, uint32_t slot_bytes,
                       uint32_t large_bytes, struct shm_layout *out);

/* ---- Layout pins -------------------------------------------------------- */
static_assert(sizeof(struct shm_hello_req) == 64, "hello req size");
static_assert(sizeof(struct shm_hello_rep) == 192, "hello rep size");
static_assert(sizeof(struct shm_sqe) == 64, "sqe size");
static_assert(sizeof(struct shm_cqe) == 32, "cqe size");
static_assert(offsetof(struct shm_sqe, seek_off) == offsetof(struct shm_sqe, reserved1), "seek");
static_assert(sizeof(struct shm_seg_header) == 9 * SHM_CACHELINE, "seg header size");
static_assert(sizeof(struct shm_seg_header) <= SHM_HDR_BYTES, "seg header fits");
static_assert(offsetof(struct shm_seg_header, daemon_pid) == 80, "immutable block");
static_assert(offsetof(struct shm_seg_header, sq_tail) == 2 * SHM_CACHELINE, "sq_tail line");
static_assert(offsetof(struct shm_seg_header, sq_head) == 3 * SHM_CACHELINE, "sq_head line");
static_assert(offsetof(struct shm_seg_header, cq_tail) == 4 * SHM_CACHELINE, "cq_tail line");
static_assert(offsetof(struct shm_seg_header, cq_head) == 5 * SHM_CACHELINE, "cq_head line");
static_assert(offsetof(struct shm_seg_header, daemon_sleeping) == 6 * SHM_CACHELINE, "dsleep line");
static_assert(offsetof(struct shm_seg_header, client_sleeping) == 7 * SHM_CACHELINE, "csleep line");
static_assert(offsetof(struct shm_seg_header, daemon_gone) == 8 * SHM_CACHELINE, "gone line");
static_assert(sizeof(struct shm_dir_header) == 2 * SHM_CACHELINE, "dir header size");
static_assert(sizeof(struct shm_dir_entry) == 64, "dir entry size");
static_assert(sizeof(struct shm_mget_res) == 8, "mget result size");
static_assert(sizeof(struct shm_reason) == 128, "reason size");
static_assert(SHM_REASON_OFF >= sizeof(struct shm_seg_header), "reasons after the header lines");
static_assert(SHM_REASON_OFF + SHM_REASON_SLOTS * sizeof(struct shm_reason) <= SHM_HDR_BYTES,
              "reasons fit the header");

#endif
