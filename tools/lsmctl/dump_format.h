/*
 * dump_format.h — the dump file of `lsmctl dump`, `lsmctl changes` and
 * `lsmctl load`: a versioned, binary-safe stream of writes.  The prose, a
 * diagram, the byte tables, the validity rules and a worked example are in
 * docs/dump-format.md; change both together.
 *
 *   file    = header block* trailer            (integers little-endian)
 *   header  = magic "LSMDDUMP" | version u32 | kind u32 | sequence u64
 *             | header_crc u32 | reserved u32                   32 bytes
 *   block   = tag "BLK1" | count u32 | length u32 | crc u32 | last_seq u64
 *             | payload (count entries, the WAL batch format)    24 + length
 *   trailer = tag "END1" | reserved u32 | entries u64 | last_seq u64
 *             | file_crc u32 | reserved u32                      32 bytes
 *   entry   = type u8 (1 put, 0 delete) | key_len u32 | value_len u32
 *             | key | value
 *
 * A block is what load applies as one atomic batch: a damaged block is
 * refused before any of it is written.  crc fields are CRC-32C
 * (Castagnoli) with no masking; file_crc covers every byte before it.
 * The format is read by tools that do not link the engine, so the
 * checksum is computed here (dump_crc32c), not taken from engine/base.
 *
 * Thread safety: a reader or writer belongs to one thread.
 */
#ifndef LSMCTL_DUMP_FORMAT_H
#define LSMCTL_DUMP_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DUMP_MAGIC "LSMDDUMP"   /* 8 bytes, no NUL: "LSM daemon dump" */
#define DUMP_VERSION 1u
#define DUMP_KIND_SNAPSHOT 1u   /* the keys of one snapshot, in key order;
                                   sequence = the snapshot's */
#define DUMP_KIND_CHANGES 2u    /* every write after sequence, in order */
#define DUMP_HEADER_BYTES 32u
#define DUMP_BLOCK_HEADER_BYTES 24u
#define DUMP_TRAILER_BYTES 32u
#define DUMP_BLOCK_TAG "BLK1"
#define DUMP_TRAILER_TAG "END1"
#define DUMP_ENTRY_HEADER_BYTES 9u
/* A writer closes a block once its payload reaches this (a single entry
 * may make one larger); a reader refuses blocks above DUMP_MAX_BLOCK. */
#define DUMP_BLOCK_TARGET (256u * 1024u)
#define DUMP_MAX_BLOCK (1u << 30)

/* CRC-32C of data appended to crc (0 to start). */
uint32_t dump_crc32c(uint32_t crc, const void *data, size_t n);

typedef struct dump_writer {
    FILE *f;
    uint32_t crc;        /* of every byte written so far */
    char *buf;           /* the open block's payload */
    size_t len, cap;
    uint32_t count;      /* entries in the open block */
    uint64_t entries;    /* in the whole file */
    uint64_t last_seq;   /* the next block's and the trailer's last_seq */
} dump_writer;

/* Each returns 0, or -1 with errno set (a write error, ENOMEM). */
int dump_writer_start(dump_writer *w, FILE *f, uint32_t kind, uint64_t sequence);
/* Adds an entry (type 1 put, 0 delete) and closes the block once it
 * reaches DUMP_BLOCK_TARGET.  Sets last_seq to seq when seq != 0. */
int dump_writer_add(dump_writer *w, int type, uint64_t seq, const void *key, size_t klen,
                    const void *val, size_t vlen);
/* Closes the open block, if any, and flushes f. */
int dump_writer_flush(dump_writer *w);
/* Closes the open block, writes the trailer and frees w's memory. */
int dump_writer_finish(dump_writer *w);
void dump_writer_free(dump_writer *w);

typedef struct dump_header {
    uint32_t version, kind;
    uint64_t sequence;
} dump_header;

typedef struct dump_block {
    const char *payload;   /* valid until the next read */
    uint32_t count, length;
    uint64_t last_seq;
} dump_block;

typedef struct dump_reader {
    FILE *f;
    uint32_t crc;
    uint64_t offset;       /* bytes consumed */
    char *buf;
    size_t cap;
    uint64_t entries, blocks, last_seq; /* read and checked so far */
    char err[200];         /* why the last call failed */
} dump_reader;

/* Reads and checks the header.  0, or -1 with r->err. */
int dump_reader_start(dump_reader *r, FILE *f, dump_header *h);
/* 1: a block, checked in full (CRC, every entry, count, length); 0: the
 * trailer, checked (entries, last_seq, file CRC, nothing after it); -1:
 * damage or a read error, with r->err naming the offset. */
int dump_reader_next(dump_reader *r, dump_block *b);
void dump_reader_free(dump_reader *r);

/* Walks a checked block's entries: fn gets each; a nonzero return stops
 * the walk and is returned. */
typedef int (*dump_entry_fn)(void *arg, int type, const void *key, size_t klen,
                             const void *val, size_t vlen);
int dump_block_walk(const dump_block *b, dump_entry_fn fn, void *arg);

#endif
