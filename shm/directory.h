/*
 * directory.h — the snapshot directory segment: the daemon publishes its
 * snapshot registry here, every client maps it read-only
 * (protocol.h: struct shm_dir_header, struct shm_dir_entry).
 *
 * Writer (daemon): one writer at a time (the registry's lock).  A change is
 *   shm_dir_write_begin(d);            seq -> odd
 *   shm_dir_store(d, i, &entry) ...;   entries / count
 *   shm_dir_write_end(d, count);       seq -> even, generation++
 * Reader (client): shm_dir_read() copies the table under the seqlock,
 *   retrying while a write is in progress.
 *
 * Ordering: begin stores seq+1 then a release fence, so the odd value is
 * visible no later than any entry store; end stores seq+2 with release, so
 * every entry store is visible before the even value.  The reader loads seq
 * with acquire [R1], copies, issues an acquire fence, loads seq again [R2]:
 * R1 pairs with end's release (a stable even seq means the writes before it
 * are visible), the fence + R2 pairs with begin's fence (if any entry
 * copied came from a newer write, R2 sees the newer seq and the copy is
 * discarded).
 *
 * Thread safety: writer functions under the caller's lock; readers from
 * any thread and process.
 */
#ifndef LSM_SHM_DIRECTORY_H
#define LSM_SHM_DIRECTORY_H

#include <stdint.h>

#include "protocol.h"
#include "segment.h"

struct shm_dir {
    struct shm_segment seg; /* daemon: read-write; client: read-only */
    struct shm_dir_header *hdr;
    struct shm_dir_entry *table;
    uint32_t capacity;
};

/* ---- daemon ------------------------------------------------------------- */
/* Creates the directory for capacity entries (0 = default), sealed
 * SHRINK|GROW|FUTURE_WRITE|SEAL after mapping it writable.
 * Errors: -EINVAL (capacity > SHM_DIR_MAX_CAPACITY), -errno. */
int shm_dir_create(uint32_t capacity, struct shm_dir *out);
/* An O_RDONLY fd to pass to clients (caller closes), or -errno. */
int shm_dir_reader_fd(const struct shm_dir *d);
void shm_dir_write_begin(struct shm_dir *d);
/* REQUIRES: inside begin/end, i < capacity. */
void shm_dir_store(struct shm_dir *d, uint32_t i, const struct shm_dir_entry *e);
/* REQUIRES: inside begin/end; count <= capacity. */
void shm_dir_write_end(struct shm_dir *d, uint32_t count);
/* Replaces the whole table by n entries in one write (n <= capacity). */
void shm_dir_publish(struct shm_dir *d, const struct shm_dir_entry *e, uint32_t n);

/* ---- client ------------------------------------------------------------- */
/* Maps a received directory fd read-only (takes ownership of fd).  Checks
 * seals, magic, version, entry size and that capacity fits the size.
 * Errors: -EPROTO, -errno. */
int shm_dir_map(int fd, struct shm_dir *out);
/* Copies the live entries (flags & SHM_DIR_LIVE) into out[0..cap) and sets
 * *n to the number of live entries (may exceed cap: only cap copied).
 * *generation (may be NULL) gets the table generation.
 * Errors: -EAGAIN if no consistent copy after many tries (a writer died
 * mid-update or writes never pause). */
int shm_dir_read(const struct shm_dir *d, struct shm_dir_entry *out,
                 uint32_t cap, uint32_t *n, uint64_t *generation);

/* Unmaps and closes. */
void shm_dir_close(struct shm_dir *d);

#endif
