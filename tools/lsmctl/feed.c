/*
 * feed.c — lsmctl's path out of (and into) a daemon: dump, load, changes.
 * The file format is dump_format.h (docs/dump-format.md).
 *
 *   dump [--snapshot ID] > FILE     the keys of one snapshot (a new one by
 *                                   default), with its sequence in the header
 *   changes --since SEQ | --after FILE [--follow]
 *                                   every write after SEQ, or after the
 *                                   sequence a dump or change file reaches
 *                                   (from the WALs the daemon retains);
 *                                   --follow keeps polling until
 *                                   SIGINT/SIGTERM, then ends the file
 *   load FILE|- [--sync]            applies a dump or a change stream, a
 *                                   block per atomic batch; a regular FILE
 *                                   is checked whole first, so a damaged one
 *                                   applies nothing
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dump_format.h"
#include "lsmctl.h"

/* Binary on a terminal helps no one. */
static int refuse_tty(const char *cmd)
{
    if (!isatty(STDOUT_FILENO))
        return 0;
    fprintf(stderr, "lsmctl: %s writes a binary file: redirect stdout (%s > FILE)\n", cmd, cmd);
    return 2;
}

static int write_failed(const char *cmd)
{
    fprintf(stderr, "lsmctl: %s: writing stdout: %s\n", cmd, strerror(errno));
    return 1;
}

/* ---- dump ------------------------------------------------------------------------ */

static int sequence_of(lsmd_conn *c, uint64_t id, uint64_t *seq)
{
    lsmd_snapshot_info *v = NULL;
    size_t n = 0, cap = 64;
    int rc;
    for (;;) {
        free(v);
        v = malloc(cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        rc = lsmd_snapshot_list(c, v, cap, &n);
        if (rc || n <= cap)
            break;
        cap = n + 64;
    }
    if (rc == 0) {
        rc = -ESRCH;
        for (size_t i = 0; i < n; i++)
            if (v[i].id == id) {
                *seq = v[i].sequence;
                rc = 0;
            }
    }
    free(v);
    return rc;
}

int cmd_dump(lsmd_conn *c, const cmd_args *a)
{
    if (a->npos != 0)
        return ctl_usage_err("dump [--snapshot ID] > FILE");
    int rc = refuse_tty("dump");
    if (rc)
        return rc;
    uint64_t id = a->snapshot, seq = 0;
    /* Our own hold: the iterator reads at a snapshot this connection holds. */
    rc = id ? lsmd_snapshot_hold(c, id) : lsmd_snapshot_acquire(c, &id);
    if (rc)
        return ctl_fail(a->snapshot ? "dump: hold snapshot" : "dump: snapshot", rc);
    rc = sequence_of(c, id, &seq);
    lsmd_iter *it = NULL;
    if (rc == 0)
        rc = lsmd_iter_new(c, id, NULL, 0, NULL, 0, &it);
    if (rc) {
        lsmd_snapshot_release(c, id);
        return ctl_fail("dump", rc);
    }
    dump_writer w;
    int io = dump_writer_start(&w, stdout, DUMP_KIND_SNAPSHOT, seq);
    for (; io == 0 && lsmd_iter_valid(it); lsmd_iter_next(it)) {
        size_t kl, vl;
        const void *k = lsmd_iter_key(it, &kl);
        const void *v = lsmd_iter_value(it, &vl);
        io = dump_writer_add(&w, 1, 0, k, kl, v, vl);
    }
    rc = lsmd_iter_status(it);
    lsmd_iter_free(it);
    lsmd_snapshot_release(c, id);
    uint64_t entries = w.entries;
    if (rc || io) {
        dump_writer_free(&w); /* no trailer: load refuses the file */
        return rc ? ctl_fail("dump", rc) : write_failed("dump");
    }
    if (dump_writer_finish(&w) != 0)
        return write_failed("dump");
    fprintf(stderr, "lsmctl: dumped %llu keys at sequence %llu (snapshot %llu)\n",
            (unsigned long long)entries, (unsigned long long)seq, (unsigned long long)id);
    return 0;
}

/* ---- changes ---------------------------------------------------------------------- */

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int add_change(void *arg, uint64_t seq, int type, const void *key, size_t klen,
                      const void *value, size_t vlen)
{
    return dump_writer_add(arg, type, seq, key, klen, value, vlen) ? -1 : 0;
}

/* The sequence a whole, valid dump or change file reaches: where the
 * changes that follow it start. */
static int sequence_after(const char *path, uint64_t *seq)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "lsmctl: changes --after %s: %s\n", path, strerror(errno));
        return 1;
    }
    dump_reader r;
    dump_header h;
    dump_block b;
    int got = dump_reader_start(&r, f, &h);
    if (got == 0)
        while ((got = dump_reader_next(&r, &b)) == 1)
            ;
    fclose(f);
    *seq = r.last_seq;
    dump_reader_free(&r);
    if (got != 0) {
        fprintf(stderr, "lsmctl: changes --after %s: %s\n", path, r.err);
        return 1;
    }
    return 0;
}

int check_changes(cmd_args *a)
{
    if (a->has_since == (a->after != NULL))
        return ctl_usage_err("changes takes one of --since SEQ and --after FILE");
    return 0;
}

int cmd_changes(lsmd_conn *c, const cmd_args *a)
{
    int rc = refuse_tty("changes");
    if (rc)
        return rc;
    uint64_t start = a->since;
    if (a->after && (rc = sequence_after(a->after, &start)) != 0)
        return rc;
    if (a->follow) {
        struct sigaction sa = { .sa_handler = on_stop };
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    dump_writer w;
    if (dump_writer_start(&w, stdout, DUMP_KIND_CHANGES, start) != 0)
        return write_failed("changes");
    uint64_t since = start;
    for (;;) {
        uint64_t next;
        int caught_up;
        rc = lsmd_changes(c, since, 0, add_change, &w, &next, &caught_up);
        if (rc)
            break;
        /* A page is a block: a follower's reader gets it now. */
        if (dump_writer_flush(&w) != 0) {
            dump_writer_free(&w);
            return write_failed("changes");
        }
        since = next;
        if (!caught_up)
            continue;
        if (!a->follow || g_stop)
            break;
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL); /* SIGINT/SIGTERM cut it short */
        if (g_stop)
            continue; /* one last page, then the trailer */
    }
    if (rc == -ERANGE) {
        dump_writer_free(&w);
        fprintf(stderr,
                "lsmctl: changes: the history after sequence %llu is gone (its WALs are "
                "deleted) or that sequence is in the future; set wal_retention_seconds or "
                "wal_retention_bytes and start again from a new dump\n",
                (unsigned long long)since);
        return 1;
    }
    if (rc) {
        dump_writer_free(&w);
        return ctl_fail("changes", rc);
    }
    uint64_t entries = w.entries;
    if (dump_writer_finish(&w) != 0)
        return write_failed("changes");
    fprintf(stderr, "lsmctl: %llu changes after sequence %llu, up to %llu\n",
            (unsigned long long)entries, (unsigned long long)start,
            (unsigned long long)since);
    return 0;
}

/* ---- load ------------------------------------------------------------------------- */

static int add_entry(void *arg, int type, const void *key, size_t klen, const void *val,
                     size_t vlen)
{
    return type == 1 ? lsmd_batch_put(arg, key, klen, val, vlen)
                     : lsmd_batch_delete(arg, key, klen);
}

typedef struct load_stats {
    dump_header h;
    uint64_t blocks, entries, last_seq;
} load_stats;

/* One pass over f: checks everything, and applies each block when c is
 * not NULL.  0, or the exit status after the message. */
static int load_pass(lsmd_conn *c, FILE *f, const char *name, int flags, load_stats *st)
{
    dump_reader r;
    dump_block b;
    lsmd_batch *batch = c ? lsmd_batch_new() : NULL;
    int rc = c && !batch ? -ENOMEM : 0;
    if (rc == 0 && dump_reader_start(&r, f, &st->h) != 0) {
        fprintf(stderr, "lsmctl: load %s: %s; nothing loaded\n", name, r.err);
        lsmd_batch_free(batch);
        return 1;
    }
    int got = 0;
    while (rc == 0 && (got = dump_reader_next(&r, &b)) == 1) {
        if (!c)
            continue;
        lsmd_batch_clear(batch);
        rc = dump_block_walk(&b, add_entry, batch);
        if (rc == 0)
            rc = lsmd_write(c, batch, flags);
        if (rc == 0) {
            st->blocks++;
            st->entries += b.count;
            st->last_seq = b.last_seq;
        }
    }
    lsmd_batch_free(batch);
    if (rc == 0 && got < 0) {
        fprintf(stderr, "lsmctl: load %s: %s; %s\n", name, r.err,
                c ? "the blocks before it are applied (see below)" : "nothing loaded");
        rc = 1;
    } else if (rc) {
        fprintf(stderr, "lsmctl: load %s: applying block %llu: %s\n", name,
                (unsigned long long)st->blocks + 1, lsmd_strerror(rc));
        rc = 1;
    }
    if (rc && c && st->blocks)
        fprintf(stderr, "lsmctl: load %s: %llu blocks (%llu entries) applied, up to "
                "sequence %llu\n", name, (unsigned long long)st->blocks,
                (unsigned long long)st->entries, (unsigned long long)st->last_seq);
    if (!c)
        st->last_seq = r.last_seq;
    dump_reader_free(&r);
    return rc;
}

int check_load(cmd_args *a)
{
    if (a->in_shell && strcmp(a->pos[0], "-") == 0)
        return ctl_usage_err("load -: not in shell (its stdin holds the commands)");
    return ctl_check_nonempty(a);
}

int cmd_load(lsmd_conn *c, const cmd_args *a)
{
    const char *name = a->pos[0];
    bool std_in = strcmp(name, "-") == 0;
    FILE *f = std_in ? stdin : fopen(name, "rb");
    if (!f) {
        fprintf(stderr, "lsmctl: load %s: %s\n", name, strerror(errno));
        return 1;
    }
    int flags = a->sync ? LSM_SYNC : 0;
    load_stats st = { 0 };
    struct stat sb;
    int rc = 0;
    /* A file that can be read twice is checked whole first: a damaged
     * one loads nothing.  A pipe is checked block by block. */
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode)) {
        rc = load_pass(NULL, f, name, flags, &st);
        if (rc == 0 && fseek(f, 0, SEEK_SET) != 0) {
            fprintf(stderr, "lsmctl: load %s: %s\n", name, strerror(errno));
            rc = 1;
        }
        memset(&st, 0, sizeof st);
    }
    if (rc == 0)
        rc = load_pass(c, f, name, flags, &st);
    if (!std_in)
        fclose(f);
    if (rc)
        return rc;
    const char *kind = st.h.kind == DUMP_KIND_SNAPSHOT ? "dump" : "changes";
    if (ctl_json)
        printf("{\"kind\":\"%s\",\"sequence\":%llu,\"blocks\":%llu,\"entries\":%llu,"
               "\"last_sequence\":%llu}\n", kind, (unsigned long long)st.h.sequence,
               (unsigned long long)st.blocks, (unsigned long long)st.entries,
               (unsigned long long)st.last_seq);
    else
        printf("loaded %llu entries in %llu blocks (%s at sequence %llu; resume changes "
               "with --since %llu)\n", (unsigned long long)st.entries,
               (unsigned long long)st.blocks, kind, (unsigned long long)st.h.sequence,
               (unsigned long long)(st.blocks ? st.last_seq : st.h.sequence));
    return 0;
}
