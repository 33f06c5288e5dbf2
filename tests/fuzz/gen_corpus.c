/*
 * gen_corpus.c — writes the seed inputs in tests/fuzz/corpus/<target>/ with
 * the engine's own writers (WAL writer, SSTable builder, version set, batch
 * encoder), so every seed is a real file in the current format with the
 * flags byte each target expects in front.  Run by `make fuzz-corpus`
 * after a format change; the seeds are committed (each a few KiB at most).
 *
 *   gen_corpus OUTDIR     (OUTDIR/<target>/<name> for each seed)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal/batch.h"
#include "base/dbformat.h"
#include "fuzzkit.h"
#include "hello.h"
#include "io/io.h"
#include "lsm.h"
#include "protocol.h"
#include "validate.h"
#include "table/sstable_builder.h"
#include "version/version_edit.h"
#include "version/version_set.h"
#include "wal/wal_writer.h"

static const char *g_out;

static void *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    FK_CHECK(f != NULL, "open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(len > 0 ? (size_t)len : 1);
    FK_CHECK(buf && fread(buf, 1, (size_t)len, f) == (size_t)len, "read %s", path);
    fclose(f);
    *n = (size_t)len;
    return buf;
}

/* Writes OUT/target/name = flags byte (if flags >= 0) + body. */
static void seed(const char *target, const char *name, int flags, const void *body, size_t n)
{
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/%s", g_out, target);
    mkdir(g_out, 0755);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    uint8_t *buf = malloc(n + 1);
    FK_CHECK(buf != NULL, "oom");
    size_t off = 0;
    if (flags >= 0)
        buf[off++] = (uint8_t)flags;
    memcpy(buf + off, body, n);
    fk_write_file(path, buf, n + off);
    free(buf);
}

static void seed_file(const char *target, const char *name, int flags, const char *path,
                      size_t cut)
{
    size_t n;
    void *b = slurp(path, &n);
    seed(target, name, flags, b, cut && cut < n ? cut : n);
    free(b);
}

/* ---- WAL ------------------------------------------------------------------ */

static void gen_wal(void)
{
    const char *path = fk_path("000003.log");
    wal_writer *w;
    FK_CHECK(wal_writer_open(fk_io(), path, &w) == 0, "wal");
    lsm_batch *b = lsm_batch_new();
    uint64_t seq = 1;
    for (int r = 0; r < 4; r++) {
        lsm_batch_clear(b);
        for (int i = 0; i <= r; i++) {
            char k[16], v[40];
            int kn = sprintf(k, "key%d.%d", r, i), vn = sprintf(v, "value-%d-%d", r, i * 7);
            if (i == 1)
                lsm_batch_delete(b, k, (size_t)kn);
            else
                lsm_batch_put(b, k, (size_t)kn, v, (size_t)vn);
        }
        FK_CHECK(wal_writer_append(w, seq, batch_count(b), batch_payload(b), 0) == 0, "app");
        seq += batch_count(b);
    }
    wal_writer_close(w);
    seed_file("wal_reader", "records", 3, path, 0);
    seed_file("wal_reader", "records-nofix", 2, path, 0);
    seed_file("wal_reader", "records-manifest-mode", 1, path, 0);
    seed_file("wal_reader", "torn-tail", 3, path, 150);
    size_t n;
    uint8_t *img = slurp(path, &n);
    uint8_t *padded = calloc(1, n + 64);
    memcpy(padded, img, n);
    seed("wal_reader", "zero-tail", 3, padded, n + 64);
    img[30] ^= 0x40; /* a damaged first record followed by good ones */
    seed("wal_reader", "corrupt-middle", 2, img, n);
    free(padded);
    free(img);
    seed("wal_reader", "empty", 3, "", 0);
    lsm_batch_free(b);
}

/* ---- SSTable -------------------------------------------------------------- */

static void build_table(const char *path, size_t block_bytes, int bloom, int n)
{
    sst_options o;
    sst_options_init(&o);
    o.block_bytes = block_bytes;
    o.restart_interval = 4;
    o.bloom_bits_per_key = bloom;
    sst_builder *b;
    FK_CHECK(sst_builder_new(fk_io(), path, &o, &b) == 0, "builder");
    for (int i = 0; i < n; i++) {
        char uk[32], ik[48], v[64];
        int kn = sprintf(uk, "user%04d", i / 2);
        /* Two versions per key: newer (put) first, older (delete or put). */
        uint64_t seq = (uint64_t)(1000 - i);
        enum value_type t = (i % 2 == 1 && i % 3 == 0) ? LSM_TYPE_DELETE : LSM_TYPE_PUT;
        size_t ikn = ikey_encode(ik, slice_make(uk, (size_t)kn), seq, t);
        int vn = t == LSM_TYPE_PUT ? sprintf(v, "value of %d", i) : 0;
        FK_CHECK(sst_builder_add(b, slice_make(ik, ikn), slice_make(v, (size_t)vn)) == 0, "add");
    }
    sst_props p;
    FK_CHECK(sst_builder_finish(b, &p) == 0, "finish");
    sst_props_free(&p);
}

static void gen_sstable(void)
{
    const char *path = fk_path("000005.sst");
    build_table(path, 64, 10, 24);
    seed_file("sstable", "small-blocks", 1, path, 0);
    seed_file("sstable", "small-blocks-cache", 3, path, 0);
    seed_file("sstable", "small-blocks-nofix", 0, path, 0);
    build_table(path, 4096, 0, 12);
    seed_file("sstable", "no-filter", 1, path, 0);
    build_table(path, 4096, 10, 0);
    seed_file("sstable", "empty-table", 1, path, 0);
    /* Build mode: options then entries (klen, key, seq u16, type, vlen u16). */
    static const uint8_t spec[] = {
        2, 3, 10,
        3, 'a', 'b', 'c', 5, 0, 1, 10, 0,
        3, 'a', 'b', 'c', 9, 0, 0,
        1, 'b', 7, 0, 1, 3, 1,
        6, 'a', 'a', 'a', 'a', 'a', 'a', 1, 0, 1, 40, 0,
        2, 'c', 'd', 2, 0, 1, 0, 0,
    };
    seed("sstable", "build", 4, spec, sizeof spec);
    seed("sstable", "build-cache", 6, spec, sizeof spec);
}

/* ---- MANIFEST ------------------------------------------------------------- */

static file_meta *mkfile(uint64_t number, const char *lo, const char *hi, uint64_t seq)
{
    file_meta *f = file_meta_new();
    char ik[64];
    f->number = number;
    f->size = 4096 + number;
    f->smallest_len = ikey_encode(ik, slice_make(lo, strlen(lo)), seq + 5, LSM_TYPE_PUT);
    f->smallest = malloc(f->smallest_len);
    memcpy(f->smallest, ik, f->smallest_len);
    f->largest_len = ikey_encode(ik, slice_make(hi, strlen(hi)), seq, LSM_TYPE_DELETE);
    f->largest = malloc(f->largest_len);
    memcpy(f->largest, ik, f->largest_len);
    f->min_seq = seq;
    f->max_seq = seq + 5;
    f->entries = 10;
    f->deletions = 2;
    f->created_unix = 1700000000;
    return f;
}

static void add(version_edit *e, int level, file_meta *f)
{
    FK_CHECK(version_edit_add_file(e, level, f) == 0, "add");
    file_meta_unref(f);
}

static void gen_manifest(void)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s", fk_path("mdb"));
    mkdir(dir, 0755);
    version_set *vs;
    FK_CHECK(version_set_create(fk_io(), dir, &vs) == 0, "create");
    version_edit e;
    /* A flush, another flush, a compaction of both into level 1. */
    version_edit_init(&e);
    add(&e, 0, mkfile(version_set_new_file_number(vs), "apple", "melon", 10));
    version_edit_set_last_sequence(&e, 20);
    FK_CHECK(version_set_log_and_apply(vs, &e) == 0, "edit 1");
    version_edit_free(&e);
    version_edit_init(&e);
    add(&e, 0, mkfile(version_set_new_file_number(vs), "banana", "zebra", 30));
    FK_CHECK(version_set_log_and_apply(vs, &e) == 0, "edit 2");
    version_edit_free(&e);
    version_edit_init(&e);
    FK_CHECK(version_edit_delete_file(&e, 0, 2) == 0 && version_edit_delete_file(&e, 0, 3) == 0,
             "del");
    add(&e, 1, mkfile(version_set_new_file_number(vs), "apple", "kiwi", 10));
    add(&e, 1, mkfile(version_set_new_file_number(vs), "lemon", "zebra", 12));
    FK_CHECK(version_set_log_and_apply(vs, &e) == 0, "edit 3");
    char mpath[700];
    snprintf(mpath, sizeof mpath, "%s/MANIFEST-%06llu", dir,
             (unsigned long long)version_set_manifest_number(vs));
    /* The same edit alone, for the decoder (and as a records-mode list). */
    char *enc;
    size_t len;
    FK_CHECK(version_edit_encode(&e, &enc, &len) == 0, "encode");
    seed("manifest", "edit-compaction", 0, enc, len);
    version_edit_free(&e);
    version_set_free(vs);

    seed_file("manifest", "manifest", 1, mpath, 0);
    seed_file("manifest", "manifest-fixcrc", 5, mpath, 0);
    seed_file("manifest", "manifest-torn", 5, mpath, 100);

    /* Records mode: the snapshot edit of a fresh MANIFEST, then the edit. */
    version_edit snap;
    version_edit_init(&snap);
    snap.header = true;
    version_edit_set_log_number(&snap, 0);
    version_edit_set_next_file(&snap, 2);
    version_edit_set_last_sequence(&snap, 0);
    char *senc;
    size_t slen;
    FK_CHECK(version_edit_encode(&snap, &senc, &slen) == 0, "encode snap");
    seed("manifest", "edit-snapshot", 0, senc, slen);
    uint8_t list[4096];
    size_t n = 0;
    list[n++] = (uint8_t)slen;
    list[n++] = (uint8_t)(slen >> 8);
    memcpy(list + n, senc, slen);
    n += slen;
    version_edit flush;
    version_edit_init(&flush);
    add(&flush, 0, mkfile(5, "k1", "k9", 40));
    version_edit_set_log_number(&flush, 4);
    version_edit_set_next_file(&flush, 7);
    version_edit_set_last_sequence(&flush, 50);
    FK_CHECK(version_edit_encode(&flush, &enc, &len) == 0 && n + 2 + len < sizeof list, "enc");
    list[n++] = (uint8_t)len;
    list[n++] = (uint8_t)(len >> 8);
    memcpy(list + n, enc, len);
    n += len;
    seed("manifest", "records", 2, list, n);
    version_edit_free(&flush);
    version_edit_free(&snap);
    free(enc);
    free(senc);
}

/* ---- shm descriptors ------------------------------------------------------ */

static void gen_shm(void)
{
    struct {
        uint8_t op, flags;
        uint32_t key_off, key_len, val_off, val_len, out_off, out_cap;
        uint64_t arg0, arg1;
        uint32_t arena; /* 0: 4096 */
    } cases[] = {
        { SHM_OP_PUT, SHM_SQ_SYNC, 0, 8, 8, 32, 0, 0, 0, 0, 0 },
        { SHM_OP_DELETE, 0, 16, 4, 0, 0, 0, 0, 0, 0, 0 },
        { SHM_OP_GET, 0, 0, 8, 0, 0, 64, 256, 0, 0, 0 },
        { SHM_OP_WRITE_BATCH, 0, 0, 0, 0, 43, 0, 0, 0, 2, 0 },
        { SHM_OP_ITER_OPEN, SHM_SQ_REVERSE, 0, 3, 3, 3, 64, 128, 0, 10, 0 },
        { SHM_OP_ITER_NEXT, 0, 0, 0, 0, 0, 0, 512, 7, 0, 0 },
        { SHM_OP_COMPACT, 0, 0, 0, 0, 0, 0, 0, (uint64_t)-1, 0, 0 },
        { SHM_OP_SET_OPTION, 0, 0, 14, 14, 6, 0, 0, 0, 0, 0 },
        { SHM_OP_SNAP_HOLD, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0 },
        { 99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 },
        /* Batches at the limits: the engine's 1 GiB in a 4 GiB arena,
         * one byte more (-E2BIG), more entries than the payload holds. */
        { SHM_OP_WRITE_BATCH, 0, 0, 0, 0, SHM_MAX_BATCH_BYTES, 0, 0, 0, 2, UINT32_MAX },
        { SHM_OP_WRITE_BATCH, 0, 0, 0, 0, SHM_MAX_BATCH_BYTES + 1, 0, 0, 0, 2, UINT32_MAX },
        { SHM_OP_WRITE_BATCH, 0, 0, 0, 0, 43, 0, 0, 0, 5, 0 },
        /* GET_OPTION: one name, then every option (empty name). */
        { SHM_OP_GET_OPTION, 0, 0, 16, 0, 0, 16, 1024, 0, 0, 0 },
        { SHM_OP_GET_OPTION, 0, 0, 0, 0, 0, 0, 4096, 0, 0, 0 },
        /* Changes after sequence 1000, 16 at most, into a 1 KiB page. */
        { SHM_OP_CHANGES, 0, 0, 0, 0, 0, 64, 1024, 1000, 16, 0 },
        { SHM_OP_CHECKPOINT, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0 },
        /* A piece of iterator 7's entry from byte 100, then past it. */
        { SHM_OP_ITER_PIECE, SHM_SQ_PAST, 0, 0, 0, 0, 0, 1024, 7, 100, 0 },
        /* The last 32-byte piece of a 1000-byte value. */
        { SHM_OP_PUT_PIECE, SHM_SQ_SYNC, 0, 8, 8, 32, 0, 0, 1000, 968, 0 },
    };
    /* Arena bytes after the header: a valid 2-entry batch (put + delete) at
     * offset 0, which the WRITE_BATCH case points at. */
    lsm_batch *b = lsm_batch_new();
    lsm_batch_put(b, "key1", 4, "value1", 6);
    lsm_batch_delete(b, "key22", 5);
    slice payload = batch_payload(b);
    /* An iterator page with two entries: [kl][vl][k][v] ... */
    uint8_t page[64];
    size_t pn = 0;
    uint32_t kl = 3, vl = 5;
    memcpy(page + pn, &kl, 4), memcpy(page + pn + 4, &vl, 4), pn += 8;
    memcpy(page + pn, "abcvalue", 8), pn += 8;
    kl = 1, vl = 0;
    memcpy(page + pn, &kl, 4), memcpy(page + pn + 4, &vl, 4), pn += 8;
    page[pn++] = 'z';
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct shm_sqe q;
        memset(&q, 0, sizeof q);
        q.opcode = cases[i].op;
        q.flags = cases[i].flags;
        q.tag = (uint32_t)i;
        q.arg0 = cases[i].arg0;
        q.arg1 = cases[i].arg1;
        q.key_off = cases[i].key_off;
        q.key_len = cases[i].key_len;
        q.val_off = cases[i].val_off;
        q.val_len = cases[i].val_len;
        q.out_off = cases[i].out_off;
        q.out_cap = cases[i].out_cap;
        uint8_t buf[512];
        size_t n = 0;
        memcpy(buf, &q, sizeof q);
        n += sizeof q;
        uint32_t arena = cases[i].arena ? cases[i].arena : 4096;
        uint32_t count = q.opcode == SHM_OP_ITER_NEXT ? 2 : 0;
        memcpy(buf + n, &arena, 4), n += 4;
        memcpy(buf + n, &count, 4), n += 4;
        if (q.opcode == SHM_OP_ITER_NEXT) {
            memcpy(buf + n, page, pn);
            n += pn;
        } else {
            memcpy(buf + n, payload.data, payload.size);
            n += payload.size;
        }
        char name[32];
        const char *op = shm_op_name(q.opcode);
        snprintf(name, sizeof name, "%s-%zu", strcmp(op, "?") ? op : "UNKNOWN", i);
        seed("shm_validate", name, -1, buf, n);
    }
    lsm_batch_free(b);
    /* A MULTI_GET of three keys (one duplicated) whose list starts the
     * arena, and whose 8-byte count doubles as a results table for the
     * reply check. */
    uint8_t buf[256];
    struct shm_sqe q;
    memset(&q, 0, sizeof q);
    q.opcode = SHM_OP_MULTI_GET;
    q.arg1 = 3;
    size_t ln = 0;
    const char *mk[3] = { "key1", "k", "key1" };
    uint8_t list[64];
    for (int i = 0; i < 3; i++) {
        uint32_t l = (uint32_t)strlen(mk[i]);
        memcpy(list + ln, &l, 4), memcpy(list + ln + 4, mk[i], l), ln += 4 + l;
    }
    q.key_len = (uint32_t)ln;
    q.out_off = 64;
    q.out_cap = 256;
    size_t n = 0;
    memcpy(buf, &q, sizeof q), n += sizeof q;
    uint32_t arena = 4096, count = 3;
    memcpy(buf + n, &arena, 4), n += 4;
    memcpy(buf + n, &count, 4), n += 4;
    memcpy(buf + n, list, ln), n += ln;
    seed("shm_validate", "MULTI_GET-11", -1, buf, n);
}

/* ---- hello ------------------------------------------------------------------ */

/* Flags byte: low 2 bits = fds sent with the message, the rest = a short
 * reason buffer's size (see fuzz_hello.c). */
static void gen_hello(void)
{
    struct shm_hello_req good;
    shm_hello_req_init(&good, 0, 0, 0);
    good.pid = 4242;
    good.cpu = 1;
    struct {
        const char *name;
        int flags;
        size_t len;
    } cases[] = {
        { "valid", 0, sizeof good },
        { "valid-short-reason", 12 << 2, sizeof good },
        { "one-fd", 1, sizeof good },
        { "three-fds", 3 | (5 << 2), sizeof good },
        { "truncated", 0, 40 },
        { "header-only", 0, 16 },
        { "oversized", 0, 96 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[128] = { 0 };
        memcpy(buf, &good, sizeof good);
        seed("hello", cases[i].name, cases[i].flags, buf, cases[i].len);
    }
    struct shm_hello_req r = good;
    r.size = 65;
    seed("hello", "size-field", 0, &r, sizeof r);
    r = good;
    r.version = SHM_PROTO_VERSION + 1;
    seed("hello", "version", 0, &r, sizeof r);
    r = good;
    r.magic ^= 0xff;
    seed("hello", "magic", 0, &r, sizeof r);
    r = good;
    r.flags = 1;
    seed("hello", "flags", 0, &r, sizeof r);
    r = good;
    r.reserved[23] = 1;
    seed("hello", "reserved", 20 << 2, &r, sizeof r);
}

/* ---- API sequences -------------------------------------------------------- */

static void gen_api(void)
{
    /* Configuration bytes, then ops (see fuzz_api.c run_op). */
    static const uint8_t basic[] = {
        0x00, 0x00, 0x00,
        0, 1, 10, 0, 2, 20, 0, 3, 250, 7, 1, 7, 2, 4, 2, 8, 2,
        6, 3, 1, 5, 30, 0, 1, 1, 9, 100, 9, 0, 9, 4, 10, 7, 5,
        12, 7, 9, 9, 4, 11, 0, 12,
    };
    seed("api", "basic", -1, basic, sizeof basic);
    static const uint8_t snaps[] = {
        0x91, 0x21, 0x05,
        0, 1, 50, 13, 0, 0, 1, 60, 4, 2, 14, 0, 1, 14, 8, 0, 10, 14, 24, 1,
        13, 1, 11, 0, 12, 9, 7, 3, 9,
    };
    seed("api", "snapshots", -1, snaps, sizeof snaps);
    uint8_t many[400];
    size_t n = 0;
    many[n++] = 0x08 | 0x40; /* tiered, 4 KiB blocks, 4 KiB memtable */
    many[n++] = 0x01;
    many[n++] = 0x03;
    for (int i = 0; n + 4 < sizeof many - 8; i++) {
        many[n++] = (uint8_t)(i % 4);          /* put */
        many[n++] = (uint8_t)(i * 37);         /* key */
        many[n++] = (uint8_t)(i % 5 ? 90 : 230);  /* value length */
        if (i % 25 == 24)
            many[n++] = 10;                   /* flush */
    }
    many[n++] = 15, many[n++] = 0;          /* style -> leveled */
    many[n++] = 11, many[n++] = 0;          /* compact all */
    many[n++] = 9, many[n++] = 3, many[n++] = 10, many[n++] = 200;
    seed("api", "many-puts", -1, many, n);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    g_out = argv[1];
    fk_init();
    gen_wal();
    gen_sstable();
    gen_manifest();
    gen_shm();
    gen_hello();
    gen_api();
    return 0;
}
